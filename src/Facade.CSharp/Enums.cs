namespace FunctionalNN;

/// <summary>Element-wise activation functions of a dense layer.</summary>
public enum Activation
{
    /// <summary>s(z) = z.</summary>
    Identity,
    /// <summary>s(z) = 1 / (1 + e^-z).</summary>
    Sigmoid,
    /// <summary>s(z) = tanh z.</summary>
    Tanh,
    /// <summary>s(z) = max(0, z).</summary>
    ReLU,
    /// <summary>s(z) = z for z &gt; 0, slope * z otherwise (slope 0.01 unless given).</summary>
    LeakyReLU,
    /// <summary>s(z) = log(1 + e^z).</summary>
    Softplus,
    /// <summary>The unit step: 1 for z &gt;= 0 (1 at 0, where the perceptron labels -1), else 0; it cannot be trained by gradient.</summary>
    Step,
}

/// <summary>Losses of a batch; each sums over outputs and averages over samples.</summary>
public enum Loss
{
    /// <summary>The notes' 1/(2n) sum (yhat - y)^2.</summary>
    HalfMeanSquaredError,
    /// <summary>1/n sum (yhat - y)^2.</summary>
    MeanSquaredError,
    /// <summary>Binary cross-entropy on probabilities: an output outside [0, 1] is refused, and a network trained with
    /// it must end with the sigmoid activation (use <see cref="BinaryCrossEntropyWithLogits"/> on raw outputs).</summary>
    BinaryCrossEntropy,
    /// <summary>Binary cross-entropy on logits (numerically stable).</summary>
    BinaryCrossEntropyWithLogits,
    /// <summary>Softmax cross-entropy on logits with one-hot targets (log-sum-exp).</summary>
    SoftmaxCrossEntropy,
    /// <summary>max(0, 1 - y yhat) for labels -1 and +1.</summary>
    Hinge,
    /// <summary>1/2 max(0, 1 - y yhat)^2 for labels -1 and +1.</summary>
    SquaredHinge,
    /// <summary>log(1 + e^(-y yhat)) for labels -1 and +1.</summary>
    Logistic,
}

/// <summary>How a layer's weights are drawn.</summary>
public enum Initializer
{
    /// <summary>He uniform for ReLU and leaky ReLU layers, Glorot uniform otherwise.</summary>
    Default,
    /// <summary>U(-a, a), a = sqrt(6 / (fanIn + fanOut)).</summary>
    GlorotUniform,
    /// <summary>N(0, 2 / (fanIn + fanOut)).</summary>
    GlorotNormal,
    /// <summary>U(-a, a), a = sqrt(6 / fanIn).</summary>
    HeUniform,
    /// <summary>N(0, 2 / fanIn).</summary>
    HeNormal,
    /// <summary>All zeros.</summary>
    Zeros,
}

/// <summary>Conversions of the facade's enums to the core's unions.</summary>
/// <summary>
/// The floating-point precision of a <see cref="Network"/> (set with <see cref="NetworkBuilder.Precision"/> or
/// <see cref="Network.WithPrecision"/>): of its parameters and of every value it computes. Arrays in and out are always double.
/// </summary>
public enum Precision
{
    /// <summary>Double precision (the default). The kernels backend agrees with the reference to rounding (about 1e-12 relative).</summary>
    Float64,
    /// <summary>Single precision: a Float32 network holds and computes only float32 values (products and sums
    /// accumulated in double and rounded once on the reference backend, in float32 on the kernels backend,
    /// whose matrix products agree with the reference's to about 1e-6 relative or better; training moves the two
    /// further apart, by about 2e-5 after 5 epochs of Adam on Iris; docs/backends.md).</summary>
    Float32,
}

/// <summary>
/// Which implementation computes a network's training steps and predictions (see docs/backends.md).
/// </summary>
public enum Backend
{
    /// <summary>The kernels wherever they support the network (every activation but the step), else the reference. The default.</summary>
    Auto,
    /// <summary>The reference core: products accumulated in double and rounded once to the network's precision; the oracle.</summary>
    Reference,
    /// <summary>The managed SIMD kernels, in the network's precision; a network they do not support is an error.</summary>
    Kernels,
}

internal static class EnumInterop
{
    // Each converter names the C# parameter (the method's, by default) or the options property (passed by the options'
    // ToCore: "Backend", "Loss", "Precision", as Activation, Scaling and Normalization) that gave the unknown value.
    internal static Functional.NN.Backend ToCore(this Backend backend, string paramName = "backend") => backend switch
    {
        Backend.Auto => Functional.NN.Backend.Auto,
        Backend.Reference => Functional.NN.Backend.Reference,
        Backend.Kernels => Functional.NN.Backend.Kernels,
        _ => throw new ArgumentOutOfRangeException(paramName, backend, $"{paramName} is {(int)backend}, not a Backend (Auto, Reference or Kernels)."),
    };

    internal static Backend FromCore(Functional.NN.Backend backend) =>
        backend.IsKernels ? Backend.Kernels : backend.IsReference ? Backend.Reference : Backend.Auto;

    internal static Functional.NN.Precision ToCore(this Precision precision, string paramName = "precision") => precision switch
    {
        Precision.Float64 => Functional.NN.Precision.Float64,
        Precision.Float32 => Functional.NN.Precision.Float32,
        _ => throw new ArgumentOutOfRangeException(paramName, precision, $"{paramName} is {(int)precision}, not a Precision (Float64 or Float32)."),
    };

    internal static Precision FromCore(Functional.NN.Precision precision) =>
        precision.IsFloat32 ? Precision.Float32 : Precision.Float64;

    internal static Functional.NN.Activation ToCore(this Activation activation, double leakySlope = 0.01, string paramName = "activation") => activation switch
    {
        Activation.Identity => Functional.NN.Activation.Identity,
        Activation.Sigmoid => Functional.NN.Activation.Sigmoid,
        Activation.Tanh => Functional.NN.Activation.Tanh,
        Activation.ReLU => Functional.NN.Activation.ReLU,
        Activation.LeakyReLU => double.IsFinite(leakySlope) ? Functional.NN.Activation.NewLeakyReLU(leakySlope)
            : throw new ArgumentOutOfRangeException(nameof(leakySlope), leakySlope, $"leakySlope must be finite, but is {leakySlope}."),
        Activation.Softplus => Functional.NN.Activation.Softplus,
        Activation.Step => Functional.NN.Activation.Step,
        _ => throw new ArgumentOutOfRangeException(paramName, activation, $"{paramName} is {(int)activation}, not an Activation."),
    };

    internal static Activation FromCore(Functional.NN.Activation activation) => activation.Tag switch
    {
        Functional.NN.Activation.Tags.Identity => Activation.Identity,
        Functional.NN.Activation.Tags.Sigmoid => Activation.Sigmoid,
        Functional.NN.Activation.Tags.Tanh => Activation.Tanh,
        Functional.NN.Activation.Tags.ReLU => Activation.ReLU,
        Functional.NN.Activation.Tags.LeakyReLU => Activation.LeakyReLU,
        Functional.NN.Activation.Tags.Softplus => Activation.Softplus,
        _ => Activation.Step,
    };

    internal static Functional.NN.Loss ToCore(this Loss loss, string paramName = "loss") => loss switch
    {
        Loss.HalfMeanSquaredError => Functional.NN.Loss.HalfMeanSquaredError,
        Loss.MeanSquaredError => Functional.NN.Loss.MeanSquaredError,
        Loss.BinaryCrossEntropy => Functional.NN.Loss.BinaryCrossEntropy,
        Loss.BinaryCrossEntropyWithLogits => Functional.NN.Loss.BinaryCrossEntropyWithLogits,
        Loss.SoftmaxCrossEntropy => Functional.NN.Loss.SoftmaxCrossEntropy,
        Loss.Hinge => Functional.NN.Loss.Hinge,
        Loss.SquaredHinge => Functional.NN.Loss.SquaredHinge,
        Loss.Logistic => Functional.NN.Loss.Logistic,
        _ => throw new ArgumentOutOfRangeException(paramName, loss, $"{paramName} is {(int)loss}, not a Loss."),
    };

    // The C# parameter is NetworkBuilder.Dense's initializer.
    internal static Functional.NN.Initializer? ToCore(this Initializer initializer) => initializer switch
    {
        Initializer.Default => null,
        Initializer.GlorotUniform => Functional.NN.Initializer.GlorotUniform,
        Initializer.GlorotNormal => Functional.NN.Initializer.GlorotNormal,
        Initializer.HeUniform => Functional.NN.Initializer.HeUniform,
        Initializer.HeNormal => Functional.NN.Initializer.HeNormal,
        Initializer.Zeros => Functional.NN.Initializer.Zeros,
        _ => throw new ArgumentOutOfRangeException(nameof(initializer), initializer, "Unknown initializer."),
    };
}
