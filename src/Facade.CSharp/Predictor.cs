using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>
/// A single-sample predictor (<see cref="Network.CreatePredictor"/>): a network's outputs for one sample at a
/// time with low latency, from a private copy of its parameters. Thread-safe; the span overload allocates nothing.
/// </summary>
public sealed class Predictor
{
    private readonly FN.Predictor _core;

    internal Predictor(FN.Predictor core) => _core = core;

    /// <summary>The backend that computes (Reference or Kernels).</summary>
    public Backend Backend => EnumInterop.FromCore(_core.Backend);

    /// <summary>The network's precision.</summary>
    public Precision Precision => EnumInterop.FromCore(_core.Precision);

    /// <summary>The number of inputs a sample has.</summary>
    public int InputSize => _core.InputSize;

    /// <summary>The number of outputs.</summary>
    public int OutputSize => _core.OutputSize;

    /// <summary>Writes the outputs for the sample <paramref name="x"/> (<see cref="InputSize"/> values) into
    /// <paramref name="output"/> (<see cref="OutputSize"/> values). Allocates nothing.</summary>
    /// <exception cref="ArgumentException">A length is wrong, or x holds NaN or an infinity.</exception>
    public void Predict(ReadOnlySpan<double> x, Span<double> output) => _core.Predict(x, output);

    /// <summary>The outputs for the sample <paramref name="x"/>, as a new array.</summary>
    public double[] Predict(double[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return _core.Predict(x);
    }
}
