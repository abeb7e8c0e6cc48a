using MathNet.Numerics.LinearAlgebra;
using FN = Functional.NN;
using FL = Functional.NN.Linear;

namespace FunctionalNN;

/// <summary>A fitted linear model f(x) = x W + b (one sample per row): for an n x d batch it predicts
/// X W + b, n x k. Regressors, ridge, the margin classifiers and the perceptron all return one. Immutable:
/// every property returns a copy.</summary>
public sealed class LinearModel
{
    internal LinearModel(FL.LinearModel core) => Core = core;

    internal FL.LinearModel Core { get; }

    /// <summary>W, d x k: one row per feature, one column per output (a copy).</summary>
    public double[,] Coefficients => Core.Coefficients.ToArray();

    /// <summary>b, one entry per output; zeros when the model has no intercept (a copy).</summary>
    public double[] Intercept => Core.Intercept.ToArray();

    /// <summary>True when the intercept was fitted.</summary>
    public bool HasIntercept => Core.HasIntercept;

    /// <summary>The feature names (empty when unknown).</summary>
    public IReadOnlyList<string> FeatureNames => (string[])Core.FeatureNames.Clone();

    /// <summary>The names of the outputs, the targets the model was fitted on (empty when unknown; one per output
    /// otherwise). A model file keeps them, so evaluating a saved model needs no target option.</summary>
    public IReadOnlyList<string> TargetNames => (string[])Core.TargetNames.Clone();

    /// <summary>The model with names for its outputs: none, or one per output (for one output, the target's name).</summary>
    /// <exception cref="ArgumentException">The count is neither 0 nor <see cref="OutputSize"/>, or a name is empty or
    /// given twice (ParamName "targetNames").</exception>
    public LinearModel WithTargetNames(params string[] targetNames)
    {
        ArgumentNullException.ThrowIfNull(targetNames);
        return new(Errors.Run(() => FL.LinearModelModule.withTargetNames(targetNames, Core)));
    }

    /// <summary>The missing-value policy its fill values were fitted by (<see cref="MissingValues.Mean"/>,
    /// <see cref="MissingValues.Median"/> or <see cref="MissingValues.MostFrequent"/>); <see cref="MissingValues.Error"/>
    /// when the model has no fill values (every fit: see <see cref="WithFillValues"/>).</summary>
    public MissingValues Missing => Core.Fill is { } f ? DataInterop.FromCore(f.Value.Missing) : MissingValues.Error;

    /// <summary>The values that fill a missing cell, one per feature in the order of <see cref="FeatureNames"/>
    /// (a copy); empty when the model has none. A model file keeps them.</summary>
    public IReadOnlyList<double> FillValues => Core.Fill is { } f ? (double[])f.Value.Values.Clone() : Array.Empty<double>();

    /// <summary>The model with the fill values that <see cref="Dataset.FillMissing"/> fits on
    /// <paramref name="trainingRows"/> (by their policy, <see cref="Dataset.Missing"/>), each taken by this model's
    /// feature name: fit on <c>train.FillMissing(train)</c>, then keep the values with
    /// <c>model.WithFillValues(train)</c>, and <see cref="FillMissing"/> (and <c>fnn evaluate</c> and
    /// <c>fnn predict</c> of its file) fills new rows as the training rows were filled. The model without fill values
    /// when the policy is Error or Drop.</summary>
    /// <param name="trainingRows">The rows the fill values are fitted on, with a column for each of the model's features.</param>
    /// <exception cref="InvalidOperationException">This model has no feature names (its fill values could not be matched
    /// to columns), and the training rows' policy fills missing values.</exception>
    /// <exception cref="ArgumentException">A feature of the model is not a column of <paramref name="trainingRows"/>, is
    /// a text column there, or has no value in them (ParamName "trainingRows").</exception>
    public LinearModel WithFillValues(Dataset trainingRows)
    {
        ArgumentNullException.ThrowIfNull(trainingRows);
        if (FeatureNames.Count == 0 && trainingRows.Missing is MissingValues.Mean or MissingValues.Median or MissingValues.MostFrequent)
            throw new InvalidOperationException("This model has no feature names, so fill values cannot be matched to its features by name; fit it on a Dataset (whose columns name its features) before calling WithFillValues.");
        return new(Errors.Run(() => FN.PreprocessorModule.fillLinear(FN.PreprocessorModule.fit(trainingRows.Core), trainingRows.Core.FeatureNames, Core),
            ("data", nameof(trainingRows))));
    }

    /// <summary>A copy of x (n x d) whose missing (NaN) cells hold the model's <see cref="FillValues"/> (cell [i, j]
    /// gets FillValues[j]), ready for <see cref="Predict"/>, which reads complete rows.</summary>
    /// <exception cref="ArgumentException">x has the wrong width, or holds a missing cell and the model has no fill
    /// values (ParamName "x", naming the row and the feature).</exception>
    public double[,] FillMissing(double[,] x)
    {
        var m = Interop.ToMatrix(x, nameof(x));
        return Errors.Run(() => FL.LinearModelModule.fillMissing(Core, m).ToArray());
    }

    /// <summary>d, the number of features.</summary>
    public int InputSize => Core.InputSize;

    /// <summary>k, the number of outputs.</summary>
    public int OutputSize => Core.OutputSize;

    /// <summary>The precision of the coefficients and predictions (every fit gives <see cref="Precision.Float64"/>).</summary>
    public Precision Precision => EnumInterop.FromCore(Core.Precision);

    /// <summary>
    /// The model in another precision: a new model whose coefficients and intercept are rounded to
    /// <paramref name="precision"/> and whose predictions are computed in it (inputs rounded, each output
    /// accumulated in float64 and rounded once). The fits solve in float64, so the float32 model of a fit
    /// is the float32 rounding of its float64 solution. Widening is exact.
    /// </summary>
    /// <param name="precision">The precision of the new model.</param>
    /// <exception cref="ArgumentOutOfRangeException">An unknown precision.</exception>
    /// <exception cref="ArgumentException">A coefficient or the intercept of this model is beyond the range of the
    /// requested precision (float32's, about 3.4e38), so the model has no form in it: ParamName "precision" (the
    /// argument this model's content cannot take), the message naming the coefficient and its position.</exception>
    public LinearModel WithPrecision(Precision precision) =>
        new(Errors.Run(() => FL.LinearModelModule.withPrecision(precision.ToCore(), Core), ("model", nameof(precision))));

    /// <summary>The notes' stacked weights [b; W], (1 + d) x k with the intercept row first (W alone
    /// without an intercept). For the commute example this is the notes' W* = [w0, w1, w2].</summary>
    public double[,] StackedWeights() => FL.LinearModelModule.stacked(Core).ToArray();

    /// <summary>A model from its coefficients (d x k) and intercept (length k).</summary>
    /// <exception cref="ArgumentException">The shapes disagree or a value is not finite.</exception>
    public static LinearModel Create(double[,] coefficients, double[] intercept, bool hasIntercept = true, string[]? featureNames = null) =>
        new(FL.LinearModelModule.create(Interop.ToMatrix(coefficients, nameof(coefficients)), Interop.ToVector(intercept, nameof(intercept)),
            hasIntercept, featureNames ?? Array.Empty<string>()));

    /// <summary>X W + b for a batch x (n x d): n x k.</summary>
    /// <exception cref="ArgumentException">x is empty, not finite, or has the wrong width.</exception>
    public double[,] Predict(double[,] x) => FL.LinearModelModule.predict(Core, Interop.ToMatrix(x, nameof(x))).ToArray();

    /// <summary>The predictions of a one-output model, one per row of x.</summary>
    public double[] PredictValues(double[,] x)
    {
        RequireOneOutput();
        return FL.LinearModelModule.predict(Core, Interop.ToMatrix(x, nameof(x))).Column(0).ToArray();
    }

    /// <summary>R^2 (scikit-learn's r2_score) of a one-output model on (x, y). With a single row R^2 is undefined and
    /// the result is NaN (scikit-learn returns NaN with a warning).</summary>
    /// <exception cref="ArgumentException">x or y is empty or not finite, y does not have one entry per row of x
    /// (ParamName "y", both shapes), or x has the wrong width (ParamName "x").</exception>
    public double R2(double[,] x, double[] y) =>
        FL.LinearModelModule.r2(Core, Interop.ToMatrix(x, nameof(x)), LinearInterop.Column(y, nameof(y)));

    /// <summary>R^2 on (x, y), averaged over the output columns; NaN for a single row (R^2 is undefined there).</summary>
    public double R2(double[,] x, double[,] y) =>
        FL.LinearModelModule.r2(Core, Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y)));

    /// <summary>The mean squared error 1/n sum (yhat - y)^2 of a one-output model on (x, y).</summary>
    public double MeanSquaredError(double[,] x, double[] y) =>
        FL.LinearModelModule.meanSquaredError(Core, Interop.ToMatrix(x, nameof(x)), LinearInterop.Column(y, nameof(y)));

    /// <summary>The mean squared error on (x, y), summed over the output columns.</summary>
    public double MeanSquaredError(double[,] x, double[,] y) =>
        FL.LinearModelModule.meanSquaredError(Core, Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y)));

    /// <summary>The classifier scores x W + b, one per row (one-output models).</summary>
    /// <exception cref="InvalidOperationException">The model has more than one output.</exception>
    public double[] Decision(double[,] x)
    {
        RequireOneOutput();
        return FL.LinearClassifier.decision(Core, Interop.ToMatrix(x, nameof(x)));
    }

    /// <summary>The predicted labels: +1 where the score is &gt; 0, -1 elsewhere (one-output models).</summary>
    /// <exception cref="InvalidOperationException">The model has more than one output.</exception>
    public int[] Classify(double[,] x)
    {
        RequireOneOutput();
        return FL.LinearClassifier.predict(Core, Interop.ToMatrix(x, nameof(x)));
    }

    /// <summary>The fraction of labels (-1 or +1) classified correctly (one-output models).</summary>
    /// <exception cref="InvalidOperationException">The model has more than one output.</exception>
    public double Accuracy(double[,] x, int[] labels)
    {
        RequireOneOutput();
        return FL.LinearClassifier.accuracy(Core, Interop.ToMatrix(x, nameof(x)), LinearInterop.NotNull(labels, nameof(labels)));
    }

    /// <summary>The 0-1 error, 1 - accuracy (one-output models).</summary>
    /// <exception cref="InvalidOperationException">The model has more than one output.</exception>
    public double ZeroOneError(double[,] x, int[] labels)
    {
        RequireOneOutput();
        return FL.LinearClassifier.zeroOneError(Core, Interop.ToMatrix(x, nameof(x)), LinearInterop.NotNull(labels, nameof(labels)));
    }

    private void RequireOneOutput()
    {
        if (Core.OutputSize != 1)
            throw new InvalidOperationException($"The model has {Core.OutputSize} outputs, but this member needs a one-output model; use Predict (and the double[,] overloads) for a multi-output model.");
    }
}

/// <summary>What an iterative fit (gradient descent, SGD, a margin classifier) returns.</summary>
public sealed class LinearFitResult
{
    internal LinearFitResult(FL.LinearFitResult core)
    {
        Model = new LinearModel(core.Model);
        Steps = core.Steps;
        StopReason = core.StopReason switch
        {
            FL.LinearStopReason.GradientTolerance => LinearStopReason.GradientTolerance,
            FL.LinearStopReason.StepTolerance => LinearStopReason.StepTolerance,
            _ => LinearStopReason.StepCap,
        };
        Costs = (double[])core.Costs.Clone();
        LearningRate = core.LearningRate;
    }

    /// <summary>The fitted model.</summary>
    public LinearModel Model { get; }

    /// <summary>The number of weight updates.</summary>
    public int Steps { get; }

    /// <summary>The rule that stopped the fit (only <see cref="LinearStopReason.GradientTolerance"/> means converged, and only
    /// to an absolute tolerance in the data's units: on badly scaled features it can stop far from the minimum).</summary>
    public LinearStopReason StopReason { get; }

    /// <summary>The cost on the whole training data: first at the starting weights (before any update), then after
    /// each update (gradient descent: Steps + 1 entries) or after each epoch (SGD; when a stopping rule ends an epoch
    /// early, the last entry is the cost after the final update).</summary>
    public IReadOnlyList<double> Costs { get; }

    /// <summary>The learning rate of the first step (1/L with the automatic rate; eta_1 of an SGD schedule).</summary>
    public double LearningRate { get; }
}

/// <summary>Which weights the ridge penalty acts on.</summary>
public enum RidgeForm
{
    /// <summary>The notes' form: every weight, the intercept included, is penalised;
    /// W* = (X1^T X1 / n + lambda I)^-1 X1^T Y / n with X1 = [1 X].</summary>
    PenalizeAll,
    /// <summary>The common (scikit-learn) form: the intercept is not penalised (centred data).
    /// scikit-learn's Ridge(alpha) is this form with lambda = alpha / n.</summary>
    InterceptUnpenalized,
}

/// <summary>Why an iterative linear fit stopped.</summary>
public enum LinearStopReason
{
    /// <summary>Gradient descent: the gradient's Euclidean norm fell below GradientTolerance, an absolute tolerance in the
    /// data's units (converged for well scaled features; on features of tiny scale it can stop far from the minimum, see
    /// <see cref="LinearGradientDescentOptions.GradientTolerance"/>).</summary>
    GradientTolerance,
    /// <summary>SGD: the notes' rule fired: one step moved no weight by StepTolerance or more
    /// (max_i |W_i(t+1) - W_i(t)| &lt; tol). The steps became small; this is not convergence.</summary>
    StepTolerance,
    /// <summary>The cap was reached: MaxSteps (gradient descent) or Epochs (SGD).</summary>
    StepCap,
}

internal static class LinearInterop
{
    internal static T NotNull<T>(T value, string paramName) where T : class
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        return value;
    }

    internal static Matrix<double> Column(double[] values, string paramName)
    {
        ArgumentNullException.ThrowIfNull(values, paramName);
        return Matrix<double>.Build.Dense(values.Length, 1, (i, _) => values[i]);
    }

    /// <summary>The core's form; throws ArgumentOutOfRangeException (ParamName <paramref name="paramName"/>) for a
    /// value that is not a RidgeForm.</summary>
    internal static FL.RidgeForm ToCore(this RidgeForm form, string paramName = "form") => form switch
    {
        RidgeForm.PenalizeAll => FL.RidgeForm.PenalizeAll,
        RidgeForm.InterceptUnpenalized => FL.RidgeForm.InterceptUnpenalized,
        _ => throw new ArgumentOutOfRangeException(paramName, form, $"{(int)form} is not a RidgeForm (PenalizeAll or InterceptUnpenalized)."),
    };

    /// <summary>Throws ArgumentException with ParamName <paramref name="paramName"/> (the options argument) and the
    /// property in the message.</summary>
    internal static void Option(bool ok, string paramName, string message)
    {
        if (!ok) throw new ArgumentException(message, paramName);
    }

    /// <summary>Converts the core's LastGood (a LinearModel) to the facade's, for <see cref="Interop.Diverging"/>.</summary>
    internal static LinearModel LastGood(object good) => new((FL.LinearModel)good);
}
