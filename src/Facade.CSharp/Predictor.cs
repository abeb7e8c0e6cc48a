using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>
/// A single-sample predictor (<see cref="Network.CreatePredictor"/>): a network's outputs for one sample at a
/// time with low latency, from a private copy of its parameters. Thread-safe (calls are serialised by a lock; for parallel throughput, give each thread its own predictor); on the kernels backend (the default wherever it runs the network) the span overloads (double and float)
/// allocate nothing; the reference backend's predictor (a network with a custom block or the step activation) builds its
/// matrices on each call.
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

    /// <summary>As <see cref="Predict(ReadOnlySpan{double}, Span{double})"/> for arrays, which must not be null.
    /// Allocates nothing.</summary>
    /// <exception cref="ArgumentNullException">x or output is null.</exception>
    public void Predict(double[] x, double[] output)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(output);
        _core.Predict(x, output);
    }

    /// <summary>The outputs for the sample <paramref name="x"/>, as a new array.</summary>
    public double[] Predict(double[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return _core.Predict(x);
    }

    /// <summary>Writes the outputs for the float32 sample <paramref name="x"/> (<see cref="InputSize"/> values) into
    /// <paramref name="output"/> (<see cref="OutputSize"/> values), for samples held as float (as ONNX Runtime and
    /// PyTorch hold them). A float32 network reads and writes them with no conversion, with the bits of the double
    /// overload on the same values; a float64 network computes on x widened and rounds its outputs to float.
    /// Allocates nothing on the kernels.</summary>
    /// <exception cref="ArgumentException">A length is wrong, or x holds NaN or an infinity.</exception>
    public void Predict(ReadOnlySpan<float> x, Span<float> output) => _core.Predict(x, output);

    /// <summary>As <see cref="Predict(ReadOnlySpan{float}, Span{float})"/> for arrays, which must not be null.</summary>
    /// <exception cref="ArgumentNullException">x or output is null.</exception>
    public void Predict(float[] x, float[] output)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(output);
        _core.Predict(x, output);
    }

    /// <summary>The outputs for the float32 sample <paramref name="x"/>, as a new array (see
    /// <see cref="Predict(ReadOnlySpan{float}, Span{float})"/>).</summary>
    public float[] Predict(float[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return _core.Predict(x);
    }
}

/// <summary>
/// A single-row predictor of a <see cref="Pipeline"/> (<see cref="Pipeline.CreatePredictor"/>): one row of raw
/// features at a time, scaled as the pipeline scales them, through the network's single-sample predictor.
/// Thread-safe (calls are serialised by a lock; for parallel throughput, give each thread its own predictor); on the kernels backend the span overloads allocate nothing for a pipeline without text columns or
/// imputation (the reference backend's predictor builds its matrices on each call).
/// </summary>
public sealed class PipelinePredictor
{
    private readonly FN.PipelinePredictor _core;
    private readonly IReadOnlyList<string> _classNames;

    internal PipelinePredictor(FN.PipelinePredictor core, IReadOnlyList<string> classNames)
    {
        _core = core;
        _classNames = classNames;
    }

    /// <summary>The backend that computes the network (Reference or Kernels).</summary>
    public Backend Backend => EnumInterop.FromCore(_core.Backend);

    /// <summary>The number of raw features a row has.</summary>
    public int InputSize => _core.InputSize;

    /// <summary>The number of classes (0 for a regressor).</summary>
    public int ClassCount => _core.ClassCount;

    /// <summary>Writes a classifier's class probabilities for <paramref name="row"/> into <paramref name="probabilities"/>
    /// (<see cref="ClassCount"/> values), as <see cref="Pipeline.PredictProbabilities(double[,])"/> on one row (to rounding: the
    /// single-row products add in another order).</summary>
    /// <exception cref="ArgumentException">A length is wrong, or the row holds NaN or an infinity.</exception>
    /// <exception cref="InvalidOperationException">The pipeline is a regressor.</exception>
    public void PredictProbabilities(ReadOnlySpan<double> row, Span<double> probabilities)
    {
        try { _core.PredictProbabilities(row, probabilities); }
        catch (Exception e) when (Errors.Translate(e) is { } t) { throw t; }
    }

    /// <summary>A classifier's class probabilities for <paramref name="row"/>, as a new array.</summary>
    public double[] PredictProbabilities(double[] row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return Errors.Run(() => _core.PredictProbabilities(row));
    }

    /// <summary>A classifier's predicted class index for <paramref name="row"/>.</summary>
    public int PredictClassIndex(ReadOnlySpan<double> row)
    {
        try { return _core.PredictClass(row); }
        catch (Exception e) when (Errors.Translate(e) is { } t) { throw t; }
    }

    /// <summary>A classifier's predicted class name for <paramref name="row"/>.</summary>
    public string PredictClassName(ReadOnlySpan<double> row) => _classNames[PredictClassIndex(row)];

    /// <summary>A regressor's prediction for <paramref name="row"/> in the target's units, as
    /// <see cref="Pipeline.PredictValues(double[,])"/> on one row (to rounding).</summary>
    /// <exception cref="ArgumentException">The row's length is wrong, or it holds an infinity, or NaN where the pipeline
    /// does not fill missing values.</exception>
    /// <exception cref="InvalidOperationException">The pipeline is a classifier.</exception>
    public double PredictValue(ReadOnlySpan<double> row)
    {
        try { return _core.PredictValue(row); }
        catch (Exception e) when (Errors.Translate(e) is { } t) { throw t; }
    }

    /// <summary>Writes the network's raw outputs for <paramref name="row"/> (logits, probabilities, or a regressor's
    /// standardised values: <see cref="PredictValue"/> gives a regressor's prediction in the target's units) into
    /// <paramref name="output"/>.</summary>
    public void PredictOutputs(ReadOnlySpan<double> row, Span<double> output) => _core.Predict(row, output);
}
