using Microsoft.FSharp.Core;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>One dense layer as the facade shows it.</summary>
/// <param name="InputSize">d_in.</param>
/// <param name="OutputSize">d_out.</param>
/// <param name="Activation">The layer's activation.</param>
/// <param name="HasBias">Whether the layer adds a bias row.</param>
public sealed record LayerInfo(int InputSize, int OutputSize, Activation Activation, bool HasBias);

/// <summary>The loss of a batch and its gradient with respect to every layer's weights and bias.</summary>
public sealed class LossAndGradient
{
    internal LossAndGradient(double loss, FN.Gradients gradients)
    {
        Loss = loss;
        CoreGradients = gradients;
        WeightGradients = gradients.Layers.Select(g => g.Weights.ToArray()).ToArray();
        BiasGradients = gradients.Layers.Select(g => Interop.OrNull(g.Bias)?.ToArray()).ToArray();
    }

    internal FN.Gradients CoreGradients { get; }

    /// <summary>The loss of the batch.</summary>
    public double Loss { get; }

    /// <summary>dL/dW of each layer, shaped like its weights (d_in x d_out).</summary>
    public IReadOnlyList<double[,]> WeightGradients { get; }

    /// <summary>dL/db of each layer, or null for a layer without bias.</summary>
    public IReadOnlyList<double[]?> BiasGradients { get; }
}

/// <summary>An immutable dense network. Build one with <see cref="NetworkBuilder"/>. Every method returns
/// new values; none changes the network or the arrays passed to it. A batch has one sample per row.</summary>
public sealed class Network
{
    internal Network(FN.Network core) => Core = core;

    internal FN.Network Core { get; }

    /// <summary>The number of inputs of the first layer.</summary>
    public int InputSize => Core.InputSize;

    /// <summary>The number of outputs of the last layer.</summary>
    public int OutputSize => Core.OutputSize;

    /// <summary>The number of weights and biases.</summary>
    public int ParameterCount => Core.ParameterCount;

    /// <summary>The precision of the network's parameters and of everything it computes (Float64 unless set).</summary>
    public Precision Precision => EnumInterop.FromCore(Core.Precision);

    /// <summary>
    /// The network in another precision (PyTorch's <c>model.float()</c> / <c>model.double()</c>): a new network whose
    /// weights and biases are rounded to <paramref name="precision"/> and which computes in it from then on. Widening
    /// Float32 to Float64 is exact. A Float32 network rounds its inputs and targets to float32 and keeps every value it
    /// computes (activations, loss, gradients, optimiser state, updated parameters) a float32 value.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An unknown precision.</exception>
    /// <exception cref="ArgumentException">A parameter beyond float32's range (about 3.4e38).</exception>
    public Network WithPrecision(Precision precision) =>
        new(FN.NetworkModule.withPrecision(precision.ToCore(), Core));

    /// <summary>The layers, first to last.</summary>
    public IReadOnlyList<LayerInfo> Layers =>
        Core.Layers.Select(l => new LayerInfo(l.InputSize, l.OutputSize, EnumInterop.FromCore(l.Activation), l.Bias != null)).ToArray();

    /// <summary>A copy of layer <paramref name="layer"/>'s weights (d_in x d_out).</summary>
    public double[,] GetWeights(int layer) => LayerAt(layer).Weights.ToArray();

    /// <summary>A copy of layer <paramref name="layer"/>'s bias, or null when it has none.</summary>
    public double[]? GetBias(int layer) => Interop.OrNull(LayerAt(layer).Bias)?.ToArray();

    /// <summary>A network with layer <paramref name="layer"/>'s weights and bias replaced (copied).</summary>
    public Network WithLayerParameters(int layer, double[,] weights, double[]? bias)
    {
        var old = LayerAt(layer);
        var w = Interop.ToMatrix(weights, nameof(weights));
        if (w.RowCount != old.InputSize || w.ColumnCount != old.OutputSize)
            throw new ArgumentException($"weights has shape {w.RowCount}x{w.ColumnCount} but layer {layer} has shape {old.InputSize}x{old.OutputSize}.", nameof(weights));
        if ((bias is null) != (old.Bias == null))
            throw new ArgumentException(old.Bias == null ? $"Layer {layer} has no bias; pass null." : $"Layer {layer} has a bias; pass one of length {old.OutputSize}.", nameof(bias));
        var b = bias is null ? null : Interop.ToVector(bias, nameof(bias));
        var replaced = FN.DenseModule.create(w, Interop.Some(b), old.Activation);
        var layers = Core.Layers.Select((l, i) => i == layer ? replaced : l);
        // Keeps the network's precision; a Float32 network rounds the new values to float32.
        return new Network(FN.NetworkModule.withPrecision(Core.Precision, FN.NetworkModule.create(layers)));
    }

    /// <summary>The network's output for a batch x (n x InputSize): an n x OutputSize array.</summary>
    /// <exception cref="ArgumentException">x is empty, holds NaN or infinity, or has the wrong width.</exception>
    public double[,] Predict(double[,] x, Backend backend = Backend.Auto) =>
        FN.NetworkModule.predictWith(backend.ToCore(), Core, Interop.ToMatrix(x, nameof(x))).ToArray();

    /// <summary>
    /// A low-latency predictor for one sample at a time, with a private copy of the parameters (this network is
    /// not changed): <c>Predict(x, output)</c> writes the outputs for one sample, the values of <see cref="Predict(double[,], Backend)"/>
    /// on a one-row batch, and allocates nothing. Thread-safe.
    /// </summary>
    public Predictor CreatePredictor(Backend backend = Backend.Auto) => new(FN.NetworkModule.predictorWith(backend.ToCore(), Core));

    /// <summary>The loss of the batch (x, y).</summary>
    /// <exception cref="ArgumentException">Bad shapes or values, or a loss that overflows the double range from finite
    /// inputs (ParamName "y", naming the row).</exception>
    public double Loss(double[,] x, double[,] y, Loss loss)
    {
        var (xm, ym, l) = (Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y)), loss.ToCore());
        var value = FN.NetworkModule.loss(Core, l, xm, ym);
        return double.IsFinite(value) ? value : FN.LossModule.failOverflow<double>("y", l, FN.NetworkModule.predict(Core, xm), ym);
    }

    /// <summary>The loss of the batch (x, y) and its gradient by backpropagation.</summary>
    public LossAndGradient LossAndGradient(double[,] x, double[,] y, Loss loss)
    {
        var result = FN.NetworkModule.lossAndGradient(Core, loss.ToCore(), Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y)));
        return new LossAndGradient(result.Item1, result.Item2);
    }

    /// <summary>One gradient-descent step, theta - learningRate * gradient, as a new network.</summary>
    public Network GradientDescentStep(LossAndGradient gradient, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        return new Network(FN.GradientDescent.step(learningRate, Core, gradient.CoreGradients));
    }

    /// <summary>Full-batch gradient descent for <paramref name="steps"/> steps, as a new network.</summary>
    /// <exception cref="Functional.NN.TrainingDivergedException">The loss or a weight stopped being finite;
    /// its LastGood is the last finite <see cref="Network"/>.</exception>
    public Network TrainGradientDescent(double[,] x, double[,] y, Loss loss, double learningRate, int steps)
    {
        var xm = Interop.ToMatrix(x, nameof(x));
        var ym = Interop.ToMatrix(y, nameof(y));
        return Interop.Diverging(
            () => new Network(FN.GradientDescent.run(learningRate, steps, loss.ToCore(), xm, ym, Core).Item1),
            good => good is FN.Network n ? new Network(n) : good);
    }

    /// <summary>Compares backpropagation with central differences over every weight and bias.</summary>
    public GradientCheckResult CheckGradients(double[,] x, double[,] y, Loss loss, double epsilon = 1e-4, double relativeFloor = 1e-4) =>
        new(FN.GradientCheck.checkNetwork(new FN.GradientCheckOptions(epsilon, FN.DifferenceScheme.FourPoint, relativeFloor), Core, loss.ToCore(), Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y))));

    /// <summary>One line per layer: sizes, activation, bias and parameter count.</summary>
    public IReadOnlyList<string> Describe() => FN.NetworkModule.describe(Core).ToArray();

    private FN.Dense LayerAt(int layer)
    {
        var count = Core.Layers.Length;
        if (layer < 0 || layer >= count)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"The network has {count} layers (0 .. {count - 1}).");
        return Core.Layers[layer];
    }
}

/// <summary>Builds a <see cref="Network"/>: an input width, a chain of <see cref="Dense"/> calls and a seed.</summary>
/// <example><code>
/// var net = new NetworkBuilder(inputs: 4).Dense(16, Activation.ReLU).Dense(3, Activation.Identity).Seed(42).Build();
/// </code></example>
public sealed class NetworkBuilder
{
    private readonly int inputs;
    private readonly List<FN.LayerSpec> layers = new();
    private long seed = 0;
    private FN.Precision precision = FN.Precision.Float64;

    /// <summary>A builder for a network with <paramref name="inputs"/> inputs.</summary>
    public NetworkBuilder(int inputs)
    {
        if (inputs <= 0) throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "inputs must be positive.");
        this.inputs = inputs;
    }

    /// <summary>Adds a dense layer of <paramref name="units"/> outputs.</summary>
    /// <param name="units">The layer's width.</param>
    /// <param name="activation">Its activation.</param>
    /// <param name="bias">Whether it adds a bias row.</param>
    /// <param name="initializer">How its weights are drawn.</param>
    /// <param name="leakySlope">The slope for z &lt; 0 of a leaky ReLU.</param>
    public NetworkBuilder Dense(int units, Activation activation = Activation.ReLU, bool bias = true,
        Initializer initializer = Initializer.Default, double leakySlope = 0.01)
    {
        if (units <= 0) throw new ArgumentOutOfRangeException(nameof(units), units, "units must be positive.");
        var fanIn = layers.Count == 0 ? inputs : layers[^1].Units;
        if ((long)fanIn * units > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(units), units,
                $"A layer of {units} units after {fanIn} inputs needs {(long)fanIn * units} weights; a layer holds at most {Array.MaxLength} weights.");
        var init = initializer.ToCore();
        layers.Add(new FN.LayerSpec(units, activation.ToCore(leakySlope), bias,
            init is null ? FSharpOption<FN.Initializer>.None : FSharpOption<FN.Initializer>.Some(init)));
        return this;
    }

    /// <summary>The seed of the library's random generator that draws the weights (default 0).</summary>
    public NetworkBuilder Seed(long seed)
    {
        this.seed = seed;
        return this;
    }

    /// <summary>The network's precision (default Float64). A Float32 network's weights are drawn as for Float64
    /// and rounded to float32 (<see cref="Network.WithPrecision"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An unknown precision.</exception>
    public NetworkBuilder Precision(Precision precision)
    {
        this.precision = precision.ToCore();
        return this;
    }

    /// <summary>The network. The same builder and seed always give the same weights.</summary>
    public Network Build()
    {
        if (layers.Count == 0) throw new InvalidOperationException("Add at least one layer with Dense(...) before Build().");
        return new Network(FN.NetworkModule.withPrecision(precision, FN.NetworkModule.init(inputs, layers, seed)));
    }
}

/// <summary>The result of comparing an analytic gradient with central differences.</summary>
public sealed class GradientCheckResult
{
    internal GradientCheckResult(FN.GradientCheckResult r)
    {
        MaxAbsoluteError = r.MaxAbsoluteError;
        MaxRelativeError = r.MaxRelativeError;
        WorstIndex = r.WorstIndex;
        Analytic = r.Analytic;
        Numeric = r.Numeric;
    }

    /// <summary>The largest |analytic - numeric|.</summary>
    public double MaxAbsoluteError { get; }

    /// <summary>The largest |analytic - numeric| / max(|analytic|, |numeric|, floor).</summary>
    public double MaxRelativeError { get; }

    /// <summary>The parameter index of the largest relative error (-1 when there are no parameters).</summary>
    public int WorstIndex { get; }

    /// <summary>The analytic gradient.</summary>
    public IReadOnlyList<double> Analytic { get; }

    /// <summary>The central-difference gradient.</summary>
    public IReadOnlyList<double> Numeric { get; }

    /// <summary>True when <see cref="MaxRelativeError"/> is at most <paramref name="tolerance"/>.</summary>
    public bool Passes(double tolerance) => MaxRelativeError <= tolerance;
}

/// <summary>Gradient checking of any function of a parameter vector.</summary>
public static class GradientChecker
{
    /// <summary>Compares <paramref name="gradient"/> with central differences of <paramref name="function"/> at <paramref name="parameters"/>.</summary>
    /// <param name="function">The function f(theta).</param>
    /// <param name="gradient">Its gradient as the user computes it.</param>
    /// <param name="parameters">The point theta (not changed).</param>
    /// <param name="epsilon">The central-difference step h.</param>
    /// <param name="relativeFloor">Entries smaller than this are compared relative to it.</param>
    public static GradientCheckResult Check(Func<double[], double> function, Func<double[], double[]> gradient, double[] parameters,
        double epsilon = 1e-4, double relativeFloor = 1e-4)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(gradient);
        ArgumentNullException.ThrowIfNull(parameters);
        for (var i = 0; i < parameters.Length; i++)
            if (!double.IsFinite(parameters[i]))
                throw new ArgumentException($"parameters[{i}] is {parameters[i]}; a gradient is checked at finite parameters.", nameof(parameters));
        var f = FuncConvert.FromFunc(function);
        var g = FuncConvert.FromFunc(gradient);
        return new GradientCheckResult(FN.GradientCheck.check(new FN.GradientCheckOptions(epsilon, FN.DifferenceScheme.FourPoint, relativeFloor), f, g, parameters));
    }
}

/// <summary>Helpers for class labels.</summary>
public static class Labels
{
    /// <summary>An n x classes one-hot array: row i has a 1 in column labels[i].</summary>
    public static double[,] OneHot(int[] labels, int classes) => FN.Mat.oneHot(classes, labels).ToArray();

    /// <summary>The column of the largest value in each row.</summary>
    /// <exception cref="ArgumentException">A row holds NaN (ParamName "scores", naming the row).</exception>
    public static int[] ArgMax(double[,] scores) => FN.Mat.argmaxRowsNamed(nameof(scores), Interop.ToMatrix(scores, nameof(scores)));
}
