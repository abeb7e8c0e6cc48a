using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>The result of <c>FastPath.TrainFast</c>: the trained network and the loss per epoch.</summary>
public sealed class FastTrainingResult
{
    internal FastTrainingResult(FN.FastTrainingResult core)
    {
        Network = new Network(core.Network);
        EpochLosses = (double[])core.EpochLosses.Clone();
    }

    /// <summary>The trained network (a new value; the network trained from is not changed).</summary>
    public Network Network { get; }

    /// <summary>For each epoch, the mean of its minibatch losses weighted by the batch sizes, each taken before its step.</summary>
    public IReadOnlyList<double> EpochLosses { get; }
}

/// <summary>
/// Training data prepared once for the fast path: the samples checked (shapes, finite values) and
/// copied into the kernels' layout and precision, so that every
/// <see cref="FastPath.TrainFast(Network, FastData, Loss, double, int, int, long)"/> on it starts
/// training at once. Immutable; the arrays it was made from are neither kept nor changed.
/// </summary>
public sealed class FastData
{
    /// <summary>Checks and converts the samples: inputs x (n x InputSize) and targets y (n x OutputSize), one sample per row.</summary>
    /// <param name="x">Inputs, one sample per row (finite).</param>
    /// <param name="y">Targets, one row per sample (finite).</param>
    /// <param name="precision">The element type the values are stored in, which is the arithmetic's precision when training on them.</param>
    /// <exception cref="ArgumentException">An empty or non-finite array, or a different number of rows (ParamName x or y).</exception>
    public FastData(double[,] x, double[,] y, Precision precision = Precision.Float64)
    {
        var xm = Interop.ToMatrix(x, nameof(x));
        var ym = Interop.ToMatrix(y, nameof(y));
        Core = FN.FastTrainer.prepare(precision.ToCore(), xm, ym);
        Precision = precision;
    }

    internal FN.FastData Core { get; }

    /// <summary>The precision the values are stored and trained in.</summary>
    public Precision Precision { get; }

    /// <summary>The number of samples n.</summary>
    public int SampleCount => Core.SampleCount;

    /// <summary>The number of inputs per sample.</summary>
    public int InputSize => Core.InputSize;

    /// <summary>The number of targets per sample.</summary>
    public int OutputSize => Core.OutputSize;
}

/// <summary>
/// A low-latency predictor for one sample at a time (<see cref="FastPath.CreatePredictor"/>): it holds
/// its own copy of the network's parameters and the kernels' buffers, so the network stays unchanged.
/// Thread-safe (calls are serialised); the span overload allocates nothing.
/// </summary>
public sealed class FastPredictor
{
    private readonly FN.FastPredictor _core;

    internal FastPredictor(FN.FastPredictor core, Precision precision)
    {
        _core = core;
        Precision = precision;
    }

    /// <summary>The arithmetic's precision.</summary>
    public Precision Precision { get; }

    /// <summary>The number of inputs of a sample.</summary>
    public int InputSize => _core.InputSize;

    /// <summary>The number of outputs.</summary>
    public int OutputSize => _core.OutputSize;

    /// <summary>Writes the network's output for one sample into <paramref name="output"/>, as <see cref="Network.Predict(double[,])"/> on one row. Allocates nothing.</summary>
    /// <param name="x">The sample: exactly <see cref="InputSize"/> finite values.</param>
    /// <param name="output">Exactly <see cref="OutputSize"/> values, overwritten.</param>
    /// <exception cref="ArgumentException">A wrong length or a non-finite input (ParamName x or output).</exception>
    public void Predict(ReadOnlySpan<double> x, Span<double> output) => _core.Predict(x, output);

    /// <summary>The network's output for one sample, as a new array of <see cref="OutputSize"/> values.</summary>
    /// <param name="x">The sample: exactly <see cref="InputSize"/> finite values.</param>
    /// <exception cref="ArgumentException">A wrong length or a non-finite input (ParamName x).</exception>
    public double[] Predict(double[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return _core.Predict(x);
    }
}

/// <summary>
/// The fast path on a <see cref="Network"/>: plain minibatch SGD and prediction through the managed
/// kernels, in float64 or float32. Every layer needs a bias and one of the activations identity,
/// sigmoid, tanh, ReLU, leaky ReLU or softplus.
/// </summary>
public static class FastPath
{
    /// <summary>
    /// Trains a copy of the network by plain minibatch SGD through the kernels: each epoch is a fresh
    /// permutation of the samples (from <paramref name="seed"/>, the same batches as the reference
    /// trainer's minibatches without replacement) cut into batches of <paramref name="batchSize"/>,
    /// one step W &lt;- W - learningRate dL/dW per batch.
    /// </summary>
    /// <param name="network">The network to start from (not changed).</param>
    /// <param name="x">Inputs, n x InputSize, one sample per row.</param>
    /// <param name="y">Targets, n x OutputSize.</param>
    /// <param name="loss">SoftmaxCrossEntropy, MeanSquaredError or HalfMeanSquaredError.</param>
    /// <param name="learningRate">The step size (&gt; 0).</param>
    /// <param name="batchSize">Samples per step (&gt;= 1; capped at n).</param>
    /// <param name="epochs">Passes over the data (&gt;= 1).</param>
    /// <param name="seed">Seed of the batch order.</param>
    /// <param name="precision">The arithmetic's precision.</param>
    /// <exception cref="ArgumentException">A bad argument, an unsupported layer or loss (ParamName names it).</exception>
    /// <exception cref="FN.TrainingDivergedException">A loss or parameter stopped being finite; LastGood is a <see cref="Network"/>.</exception>
    public static FastTrainingResult TrainFast(this Network network, double[,] x, double[,] y, Loss loss, double learningRate,
        int batchSize, int epochs, long seed = 0, Precision precision = Precision.Float64)
    {
        ArgumentNullException.ThrowIfNull(network);
        var xm = Interop.ToMatrix(x, nameof(x));
        var ym = Interop.ToMatrix(y, nameof(y));
        var core = network.Core;
        return Interop.Diverging(
            () => new FastTrainingResult(FN.FastTrainer.train(precision.ToCore(), loss.ToCore(), learningRate, batchSize, epochs, seed, xm, ym, core)),
            good => good is FN.Network n ? new Network(n) : good);
    }

    /// <summary>
    /// As <see cref="TrainFast(Network, double[,], double[,], Loss, double, int, int, long, Precision)"/>, on
    /// data prepared once (<see cref="FastData"/>), in the data's precision: bit for bit the same result,
    /// without checking and converting the arrays again on every call.
    /// </summary>
    /// <param name="network">The network to start from (not changed).</param>
    /// <param name="data">The samples, prepared once; their widths must be the network's input and output sizes.</param>
    /// <param name="loss">SoftmaxCrossEntropy (targets in [0, 1]), MeanSquaredError or HalfMeanSquaredError.</param>
    /// <param name="learningRate">The step size (&gt; 0).</param>
    /// <param name="batchSize">Samples per step (&gt;= 1; capped at n).</param>
    /// <param name="epochs">Passes over the data (&gt;= 1).</param>
    /// <param name="seed">Seed of the batch order.</param>
    /// <exception cref="ArgumentException">A bad argument, data of other widths, an unsupported layer or loss (ParamName names it).</exception>
    /// <exception cref="FN.TrainingDivergedException">A loss or parameter stopped being finite; LastGood is a <see cref="Network"/>.</exception>
    public static FastTrainingResult TrainFast(this Network network, FastData data, Loss loss, double learningRate,
        int batchSize, int epochs, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        var core = network.Core;
        return Interop.Diverging(
            () => new FastTrainingResult(FN.FastTrainer.trainOn(loss.ToCore(), learningRate, batchSize, epochs, seed, data.Core, core)),
            good => good is FN.Network n ? new Network(n) : good);
    }

    /// <summary>
    /// A predictor for one sample at a time through the kernels, with its own copy of the network's
    /// parameters: for serving single requests with low latency (a few microseconds for small networks).
    /// </summary>
    /// <param name="network">The network (not changed; later predictions do not see any other network).</param>
    /// <param name="precision">The arithmetic's precision.</param>
    /// <exception cref="ArgumentException">An unsupported layer (ParamName net).</exception>
    public static FastPredictor CreatePredictor(this Network network, Precision precision = Precision.Float64)
    {
        ArgumentNullException.ThrowIfNull(network);
        return new FastPredictor(FN.FastTrainer.predictor(precision.ToCore(), network.Core), precision);
    }

    /// <summary>The network's output for a batch x (n x InputSize) through the kernels: an n x OutputSize array.</summary>
    /// <param name="network">The network (not changed).</param>
    /// <param name="x">Inputs, one sample per row.</param>
    /// <param name="precision">The arithmetic's precision.</param>
    /// <exception cref="ArgumentException">A bad x or an unsupported layer.</exception>
    public static double[,] PredictFast(this Network network, double[,] x, Precision precision = Precision.Float64)
    {
        ArgumentNullException.ThrowIfNull(network);
        return FN.FastTrainer.predict(precision.ToCore(), network.Core, Interop.ToMatrix(x, nameof(x))).ToArray();
    }
}
