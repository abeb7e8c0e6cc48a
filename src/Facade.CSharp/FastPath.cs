using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>The result of <see cref="FastPath.TrainFast"/>: the trained network and the loss per epoch.</summary>
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
            () => new FastTrainingResult(FN.FastTrainer.train(ToCore(precision), loss.ToCore(), learningRate, batchSize, epochs, seed, xm, ym, core)),
            good => good is FN.Network n ? new Network(n) : good);
    }

    /// <summary>The network's output for a batch x (n x InputSize) through the kernels: an n x OutputSize array.</summary>
    /// <param name="network">The network (not changed).</param>
    /// <param name="x">Inputs, one sample per row.</param>
    /// <param name="precision">The arithmetic's precision.</param>
    /// <exception cref="ArgumentException">A bad x or an unsupported layer.</exception>
    public static double[,] PredictFast(this Network network, double[,] x, Precision precision = Precision.Float64)
    {
        ArgumentNullException.ThrowIfNull(network);
        return FN.FastTrainer.predict(ToCore(precision), network.Core, Interop.ToMatrix(x, nameof(x))).ToArray();
    }

    private static FN.Precision ToCore(Precision precision) => precision switch
    {
        Precision.Float64 => FN.Precision.Float64,
        Precision.Float32 => FN.Precision.Float32,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "Unknown precision."),
    };
}
