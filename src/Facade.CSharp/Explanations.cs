using System.Globalization;
using System.Text;
using MathNet.Numerics.LinearAlgebra;
using Microsoft.FSharp.Core;
using FN = Functional.NN;
using FL = Functional.NN.Linear;

namespace FunctionalNN;

/// <summary>How a prediction is explained.</summary>
public enum AttributionMethod
{
    /// <summary>Integrated gradients (Sundararajan, Taly and Yan, 2017): a_i = (x_i - b_i) times the mean of
    /// df/dx_i along the straight path from the baseline b to x (Gauss-Legendre on each segment between ReLU kinks and layer normalisations' variance minima).</summary>
    IntegratedGradients,

    /// <summary>Gradient times input: a_i = (x_i - b_i) df/dx_i at x.</summary>
    GradientTimesInput,
}

/// <summary>One prediction's attributions per feature: what each feature added to the output, from the baseline.
/// <see cref="ToString"/> prints a table.</summary>
public sealed class FeatureAttribution
{
    internal FeatureAttribution(string[] names, double[] values, FN.Attribution a, double[] input, double[] baseline, string outputName,
        int classIndex, string[][]? categories = null)
    {
        this.categories = categories;
        Names = Array.AsReadOnly((string[])names.Clone());
        Values = Array.AsReadOnly((double[])values.Clone());
        Input = Array.AsReadOnly((double[])input.Clone());
        Baseline = Array.AsReadOnly((double[])baseline.Clone());
        OutputName = outputName;
        ClassIndex = classIndex;
        Output = a.Output;
        BaselineOutput = a.BaselineOutput;
        Gap = a.Gap;
        Scale = a.Scale;
        Converged = a.Converged;
        Steps = a.Steps;
        Segments = a.Segments;
        NodesPerSegment = a.NodesPerSegment;
        Quadrature = a.Quadrature;
        Method = a.Method.IsIntegratedGradients ? AttributionMethod.IntegratedGradients : AttributionMethod.GradientTimesInput;
        Backend = EnumInterop.FromCore(a.Backend);
    }

    private readonly string[][]? categories;

    /// <summary>The features' (original columns') names.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The attribution of each feature, in the output's units.</summary>
    public IReadOnlyList<double> Values { get; }

    /// <summary>The row explained (a text column's value is its category's index, -1 for a category the model never saw
    /// under <c>UnknownCategory.Zeros</c>; NaN is a missing cell, which the model fills as its imputer says).</summary>
    public IReadOnlyList<double> Input { get; }

    /// <summary>The baseline (NaN for a text column under the default baseline or baselineRows: its categories' frequencies,
    /// which no single value states; NaN too where a given baseline's cell is missing, which the model fills as its imputer
    /// says).</summary>
    public IReadOnlyList<double> Baseline { get; }

    /// <summary>What the output is ("P(species = setosa)", "output 0", ...).</summary>
    public string OutputName { get; }

    /// <summary>The class explained (-1 when the output is not a class).</summary>
    public int ClassIndex { get; }

    /// <summary>f(x).</summary>
    public double Output { get; }

    /// <summary>f(baseline).</summary>
    public double BaselineOutput { get; }

    /// <summary>The completeness gap: the sum of the attributions minus (f(x) - f(baseline)).</summary>
    public double Gap { get; }

    /// <summary>The output's scale, to which the tolerance is relative, measured from the baseline's output: the largest of
    /// |f(x) - f(baseline)|, |f - f(baseline)| at the path's nodes (integrated gradients) and the sum of the magnitudes of
    /// the attributions to the model's inputs (for a pipeline, before a text column's one-hot inputs are summed into
    /// <see cref="Values"/>). A constant added to f leaves it unchanged, as it leaves the attributions.</summary>
    public double Scale { get; }

    /// <summary>Integrated gradients: whether the quadrature met the tolerance, |<see cref="Gap"/>| &lt;= tolerance x
    /// <see cref="Scale"/> and (adaptive steps) no attribution moved by more than that from the rule before; false when the
    /// adaptive rule reached its most nodes per segment, or a fixed steps was too few. Gradient times input: true (it has no
    /// quadrature, and its gap is no quadrature error).</summary>
    public bool Converged { get; }

    /// <summary>The path nodes of the rule whose values these are: <see cref="NodesPerSegment"/> x <see cref="Segments"/> (1 for
    /// gradient times input). Not the whole cost: an adaptive run also evaluated the smaller rules before it (about as many
    /// nodes again), the gradients at x and the baseline, and the search of the path for kinks.</summary>
    public int Steps { get; }

    /// <summary>Segments of the path (split at ReLU kinks, and around the points where a layer normalisation's input nearly loses its variance).</summary>
    public int Segments { get; }

    /// <summary>Gauss-Legendre nodes per segment.</summary>
    public int NodesPerSegment { get; }

    /// <summary>The quadrature rule, in words.</summary>
    public string Quadrature { get; }

    /// <summary>The method used.</summary>
    public AttributionMethod Method { get; }

    /// <summary>The backend that computed the input gradients (<see cref="FunctionalNN.Backend.Kernels"/> or
    /// <see cref="FunctionalNN.Backend.Reference"/>).</summary>
    public Backend Backend { get; }

    /// <summary>A table: f(x), f(baseline) and the gap, then feature, value, baseline, attribution (largest magnitude first).
    /// A text column's value is its category, "(unseen)" for one the model never saw; a missing cell is "(missing)", in a
    /// numeric column's baseline too; a text column's default baseline is "(mean)" (its categories' frequencies).</summary>
    public override string ToString()
    {
        // C's %g, except that a negative zero (an attribution w_i (x_i - b_i) with a negative w_i and x_i = b_i) prints 0.
        static string N(double v, int digits = 6) => (v == 0.0 ? 0.0 : v).ToString("G" + digits, CultureInfo.InvariantCulture).Replace('E', 'e');
        var sb = new StringBuilder();
        var method = Method == AttributionMethod.IntegratedGradients ? "Integrated gradients" : "Gradient x input";
        // A text column's cell as its category (-1: a category the model never saw, under UnknownCategory.Zeros);
        // its default baseline (NaN) as the categories' mean. A missing input cell (NaN), which the model fills
        // as its imputer says, is "(missing)" in any column, and in a numeric column's baseline (whose computed
        // baselines, means of filled cells, are never NaN: a NaN there is a given baseline's missing cell).
        bool Text(int j) => categories is { } c && j < c.Length && c[j].Length > 0;
        string Cell(int j, double v, bool baseline) =>
            double.IsNaN(v) && (!baseline || !Text(j)) ? "(missing)"
            : Text(j)
                ? (double.IsNaN(v) ? "(mean)" : v == -1.0 ? "(unseen)" : v >= 0 && v < categories![j].Length ? categories[j][(int)v] : N(v))
                : N(v);
        sb.AppendLine($"{method} of {OutputName}: f(x) = {N(Output)}, f(baseline) = {N(BaselineOutput)}, gap = {N(Gap, 3)} ({Steps} {(Steps == 1 ? "step" : "steps")})");
        int w = Math.Max(7, Names.Max(n => n.Length));
        sb.AppendLine($"{"feature".PadRight(w)}  {"value",12}  {"baseline",12}  {"attribution",12}");
        foreach (var i in Enumerable.Range(0, Names.Count).OrderByDescending(i => Math.Abs(Values[i])))
            sb.AppendLine($"{Names[i].PadRight(w)}  {Cell(i, Input[i], false),12}  {Cell(i, Baseline[i], true),12}  {N(Values[i]),12}");
        return sb.ToString();
    }
}

/// <summary>Permutation importance: the score drop when one feature is shuffled, mean and standard deviation over
/// repeats. <see cref="ToString"/> prints a table.</summary>
public sealed class PermutationImportanceResult
{
    internal PermutationImportanceResult(FN.PermutationImportance core)
    {
        Names = Array.AsReadOnly((string[])core.Names.Clone());
        Scorer = core.Scorer;
        BaselineScore = core.BaselineScore;
        Means = Array.AsReadOnly((double[])core.Means.Clone());
        StandardDeviations = Array.AsReadOnly((double[])core.StandardDeviations.Clone());
        Repeats = core.Repeats;
        var s = new double[core.Scores.Length, core.Repeats];
        for (int c = 0; c < core.Scores.Length; c++)
            for (int r = 0; r < core.Repeats; r++) s[c, r] = core.Scores[c][r];
        scores = s;
    }

    private readonly double[,] scores;

    /// <summary>The features' names.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The scorer ("accuracy", "r2" or the given name).</summary>
    public string Scorer { get; }

    /// <summary>The score on the unshuffled data.</summary>
    public double BaselineScore { get; }

    /// <summary>The mean score drop per feature.</summary>
    public IReadOnlyList<double> Means { get; }

    /// <summary>The standard deviation (1/repeats form, as numpy) of the score drop per feature.</summary>
    public IReadOnlyList<double> StandardDeviations { get; }

    /// <summary>Shuffles per feature.</summary>
    public int Repeats { get; }

    /// <summary>The score with feature c shuffled by repeat r (features x repeats), a copy.</summary>
    public double[,] Scores => (double[,])scores.Clone();

    /// <summary>A table: feature, mean drop, standard deviation (largest mean first).</summary>
    public override string ToString()
    {
        static string N(double v, int digits = 6) => v.ToString("G" + digits, CultureInfo.InvariantCulture).Replace('E', 'e'); // C's %g
        var sb = new StringBuilder();
        sb.AppendLine($"Permutation importance ({Scorer}, baseline {N(BaselineScore)}, {Repeats} repeats)");
        int w = Math.Max(7, Names.Max(n => n.Length));
        sb.AppendLine($"{"feature".PadRight(w)}  {"mean drop",12}  {"std",12}");
        foreach (var i in Enumerable.Range(0, Names.Count).OrderByDescending(i => Means[i]))
            sb.AppendLine($"{Names[i].PadRight(w)}  {N(Means[i]),12}  {N(StandardDeviations[i]),12}");
        return sb.ToString();
    }
}

/// <summary>Explanations of pipelines, networks and linear models: per-prediction attributions and permutation importance.</summary>
public static class Explanations
{
    /// <summary>The most Gauss-Legendre nodes per path segment an explanation takes (<c>steps</c>): 4096. A larger
    /// <c>steps</c> throws ArgumentOutOfRangeException; past a few hundred nodes the rule is exact to rounding.</summary>
    public const int MaxSteps = FN.AttributionModule.StepLimit;

    /// <summary>The most shuffles per feature permutation importance takes (<c>repeats</c>): 10,000. A larger
    /// <c>repeats</c> throws ArgumentOutOfRangeException (ParamName "repeats") before any scoring; the mean drop's
    /// standard error falls as 1/sqrt(repeats), so 10,000 repeats make it 1% of one shuffle's spread.</summary>
    public const int MaxRepeats = FN.Importance.RepeatLimit;

    /// <summary>The fewest rows permutation importance takes (2): with one row every permutation is the identity, so
    /// shuffling a column changes nothing (and R^2 needs two rows). Fewer rows raise ArgumentException naming x
    /// (a pipeline's: dataset), for every scorer.</summary>
    public const int MinRows = FN.Importance.MinRows;

    // The core's selector is the C# softmax flag and output index: its refusal of the softmax of a one-output network
    // names softmax, in C# words.
    private static readonly (string Core, string Facade)[] SoftmaxNames = { ("selector", "softmax") };
    private static readonly (string Core, string Facade)[] SoftmaxWords =
    {
        // (The message's first word is already the C# parameter's name.)
        ("softmax is Softmax 0 but the network has one output", "softmax is true but the network has one output"),
        ("explain the raw output, or its sigmoid for a binary logit.", "explain the raw output (softmax: false)."),
    };

    /// <summary>The names "0", "1", ... of the classes a model of <paramref name="outputs"/> outputs predicts (two for one
    /// output). From the model, not from the labels: the core refuses a label outside them, and a label such as 30,000,000
    /// made 30 million names (1.5 GB, 3 s) before that refusal.</summary>
    private static string[] ClassNames(int outputs) =>
        Enumerable.Range(0, Math.Max(2, outputs)).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>"1 output (index 0)" or "n outputs (0 .. n - 1)", as the core's messages of an output out of range say it.</summary>
    private static string OutputsText(int n) => n == 1 ? "1 output (index 0)" : $"{n} outputs (0 .. {n - 1})";

    private static FN.AttributionOptions Options(AttributionMethod method, double[]? baseline, int? steps, double tolerance, bool probability,
        Backend backend = Backend.Auto)
    {
        if (method != AttributionMethod.IntegratedGradients && method != AttributionMethod.GradientTimesInput)
            throw new ArgumentOutOfRangeException(nameof(method),
                $"method is {(int)method}, which is not an AttributionMethod (IntegratedGradients or GradientTimesInput).");
        var o = FN.AttributionOptions.Default
            .WithBackend(backend.ToCore())
            .WithMethod(method == AttributionMethod.IntegratedGradients ? FN.AttributionMethod.IntegratedGradients : FN.AttributionMethod.GradientTimesInput)
            .WithTolerance(tolerance)
            .WithProbability(probability);
        if (steps is int s) o = o.WithSteps(s);
        if (baseline is not null) o = o.WithBaseline(baseline);
        return o;
    }

    /// <summary>Explains a pipeline's prediction for one raw row, per feature (the scaler folded in).</summary>
    /// <param name="pipeline">The model.</param>
    /// <param name="row">The raw features, in <see cref="Pipeline.FeatureNames"/> order.</param>
    /// <param name="method">Integrated gradients (default) or gradient times input.</param>
    /// <param name="targetClass">The class explained (null: the predicted one); ignored for a regressor.</param>
    /// <param name="baseline">The baseline (null: the mean of <paramref name="baselineRows"/> when given, else the training
    /// rows' mean, kept by a standard scaler).</param>
    /// <param name="steps">Gauss-Legendre nodes per path segment (null: adaptive, 1, 2, 4, ... nodes until |gap| &lt;= tolerance x
    /// <see cref="FeatureAttribution.Scale"/> and no attribution moved by more than that from the rule before).</param>
    /// <param name="tolerance">The gap, and the change of each attribution between successive rules, at which adaptive steps stop,
    /// relative to the output's scale (<see cref="FeatureAttribution.Scale"/>); a positive finite number.</param>
    /// <param name="probability">Explain the class probability (true) or its logit or score (false).</param>
    /// <param name="backend">Which backend computes the input gradients (Auto: the kernels wherever they support the
    /// network); the result's <see cref="FeatureAttribution.Backend"/> says which ran.</param>
    /// <param name="baselineRows">Raw rows (rows x features, <see cref="Pipeline.FeatureNames"/> order; for example the
    /// training rows) whose mean is the baseline, taken as the network sees them before scaling: missing cells filled as the
    /// model fills them, a text column one-hot, so its baseline is its categories' frequencies in these rows
    /// (<see cref="FeatureAttribution.Baseline"/> then holds NaN for it, and for a numeric column the mean used). Any
    /// scaler; not together with <paramref name="baseline"/>.</param>
    /// <exception cref="ArgumentException">A row or baseline of the wrong width, with an infinity, or with NaN (a missing cell)
    /// when the model fills no missing values (a model that fills them takes it: <see cref="FeatureAttribution.Input"/>), steps &lt; 1,
    /// a class out of range, no baseline for a model without a standard scaler, baselineRows of the wrong width, without
    /// rows, with a cell the model cannot encode or together with a baseline (ParamName names which).</exception>
    public static FeatureAttribution Explain(this Pipeline pipeline, double[] row, AttributionMethod method = AttributionMethod.IntegratedGradients,
        int? targetClass = null, double[]? baseline = null, int? steps = null, double tolerance = 1e-6, bool probability = true,
        Backend backend = Backend.Auto, double[,]? baselineRows = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(row);
        var target = targetClass is int c ? FSharpOption<int>.Some(c) : FSharpOption<int>.None;
        var options = Options(method, baseline, steps, tolerance, probability, backend);
        var e = baselineRows is null
            ? FN.AttributionModule.explainPipeline(pipeline.Core, options, target, row)
            : Errors.Run(() => FN.AttributionModule.explainPipelineAgainst(pipeline.Core, options, target, Interop.ToMatrix(baselineRows, nameof(baselineRows)), row),
                new[] { ("reference", nameof(baselineRows)) },
                // (The message's first word is already the C# parameter's name.)
                new[] { ("baselineRows rows and a baseline were both given", "baselineRows and baseline were both given"), ("mean of the reference rows", "mean of baselineRows"),
                        ("reference", nameof(baselineRows)) });
        return new FeatureAttribution(e.Names, e.Values, e.Attribution, e.Input, e.Baseline, e.OutputName, e.ClassIndex, pipeline.Categories);
    }

    /// <summary>Permutation importance of a pipeline on labelled data: accuracy drop for a classifier, R^2 drop for a
    /// regressor, <paramref name="repeats"/> shuffles per feature drawn from <paramref name="seed"/>. Missing cells are
    /// taken when the pipeline fills missing values (a shuffled column carries them along).</summary>
    /// <exception cref="ArgumentException">repeats &lt; 1, data that do not fit the model, or a data set of fewer than
    /// <see cref="MinRows"/> rows (ParamName "dataset"); a value the pipeline refuses (a missing cell it does not fill,
    /// an infinity), with the message its predictions give, naming the row and the column (ParamName "dataset").</exception>
    /// <exception cref="ArgumentOutOfRangeException">repeats above <see cref="MaxRepeats"/>.</exception>
    public static PermutationImportanceResult PermutationImportance(this Pipeline pipeline, Dataset dataset, int repeats = 5, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(dataset);
        // The core refuses a cell the pipeline refuses with the pipeline's own error, whose x is the dataset's features here.
        return new(Errors.Run(() => FN.Importance.ofPipeline(pipeline.Core, dataset.Core, repeats, seed), ("data", nameof(dataset)), ("x", nameof(dataset))));
    }

    /// <summary>Permutation importance of a pipeline with a given scorer of its raw features (rows x FeatureNames; NaN where a
    /// cell is missing). The raw features are checked as the other overload checks them, before the scorer is called.
    /// An exception the scorer throws passes unchanged.</summary>
    /// <exception cref="ArgumentException">As the other overload; or the scorer returned NaN or an infinity, for the data as
    /// given or a shuffled copy (ParamName "scorer", naming the feature's column and the repeat).</exception>
    public static PermutationImportanceResult PermutationImportance(this Pipeline pipeline, Dataset dataset, Func<double[,], double> scorer,
        string scorerName, int repeats = 5, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(scorer);
        var f = FuncConvert.FromFunc<Matrix<double>, double>(m => Errors.Caller(() => scorer(m.ToArray())));
        return new(Errors.Run(() => FN.Importance.ofPipelineWith(scorerName ?? "score", f, pipeline.Core, dataset.Core, repeats, seed),
            ("data", nameof(dataset)), ("x", nameof(dataset)), ("score", nameof(scorer))));
    }

    /// <summary>The gradient, in raw units, of a pipeline's output with respect to each raw row of x (rows x features):
    /// the probability (or, with <paramref name="probability"/> false, the logit or score) of
    /// <paramref name="targetClass"/> (null: each row's predicted class), or a regressor's value in the target's units.</summary>
    /// <exception cref="ArgumentException">x of the wrong width, with an infinity, or with NaN when the model fills no missing
    /// values (ParamName "x"; a missing cell the model fills has gradient 0), a class out of range ("targetClass"), a model with
    /// text columns, whose category indices have no gradient ("pipeline": explain the row instead).</exception>
    public static double[,] InputGradient(this Pipeline pipeline, double[,] x, int? targetClass = null, bool probability = true,
        Backend backend = Backend.Auto)
    {
        var b = backend.ToCore();
        ArgumentNullException.ThrowIfNull(pipeline);
        var m = Interop.ToMatrix(x, nameof(x));
        if (!pipeline.IsClassifier) return FN.AttributionModule.pipelineInputGradientWith(b, pipeline.Core, probability, -1, m).Gradient.ToArray();
        if (targetClass is int c)
        {
            if (c < 0 || c >= pipeline.ClassNames.Length)
                throw new ArgumentException($"targetClass is {c} but the model has {pipeline.ClassNames.Length} classes (0 .. {pipeline.ClassNames.Length - 1}).", nameof(targetClass));
            return FN.AttributionModule.pipelineInputGradientWith(b, pipeline.Core, probability, c, m).Gradient.ToArray();
        }
        // Each row toward its predicted class: one batch per class predicted.
        var predicted = FN.PipelineModule.predictClasses(pipeline.Core, m);
        var result = new double[m.RowCount, m.ColumnCount];
        foreach (var k in predicted.Distinct())
        {
            var g = FN.AttributionModule.pipelineInputGradientWith(b, pipeline.Core, probability, k, m).Gradient;
            for (int i = 0; i < m.RowCount; i++)
                if (predicted[i] == k)
                    for (int j = 0; j < m.ColumnCount; j++) result[i, j] = g[i, j];
        }
        return result;
    }

    /// <summary>Explains a network's output <paramref name="output"/> (its raw value, or its softmax probability with
    /// <paramref name="softmax"/>) for one input row, per input (baseline: zeros unless given).</summary>
    /// <exception cref="ArgumentException">A row or baseline of the wrong width or with NaN, an output out of range, or a row
    /// or baseline where the network's output (as <see cref="Network.Predict"/> checks it) or an attribution is not finite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">steps outside 1 .. <see cref="MaxSteps"/>, or a method that is not an
    /// <see cref="AttributionMethod"/>.</exception>
    public static FeatureAttribution Explain(this Network network, double[] row, int output = 0, bool softmax = false,
        AttributionMethod method = AttributionMethod.IntegratedGradients, double[]? baseline = null, int? steps = null, double tolerance = 1e-6,
        Backend backend = Backend.Auto)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(row);
        if (output < 0 || output >= network.OutputSize)
            throw new ArgumentException($"output is {output} but the network has {OutputsText(network.OutputSize)}.", nameof(output));
        var selector = softmax ? FN.OutputSelector.NewSoftmax(output) : FN.OutputSelector.NewOutput(output);
        var a = Errors.Run(() => FN.AttributionModule.explain(network.Core, selector, Options(method, baseline, steps, tolerance, true, backend), row),
            SoftmaxNames, SoftmaxWords);
        var names = Enumerable.Range(0, network.InputSize).Select(i => $"x{i}").ToArray();
        return new FeatureAttribution(names, a.Values, a, a.Input, a.Baseline, softmax ? $"softmax output {output}" : $"output {output}", softmax ? output : -1);
    }

    /// <summary>The gradient of a network's output (or its softmax probability) with respect to each input row
    /// (rows x inputs), from one forward and one backward pass of the batch on the backend (Auto: the kernels wherever they support
    /// the network).</summary>
    public static double[,] InputGradient(this Network network, double[,] x, int output = 0, bool softmax = false, Backend backend = Backend.Auto)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (output < 0 || output >= network.OutputSize)
            throw new ArgumentException($"output is {output} but the network has {OutputsText(network.OutputSize)}.", nameof(output));
        var selector = softmax ? FN.OutputSelector.NewSoftmax(output) : FN.OutputSelector.NewOutput(output);
        var m = Interop.ToMatrix(x, nameof(x));
        return Errors.Run(() => FN.AttributionModule.inputGradientWith(backend.ToCore(), network.Core, selector, m).Gradient.ToArray(), SoftmaxNames, SoftmaxWords);
    }

    /// <summary>Permutation importance of a network on (x, class labels): accuracy of the argmax (one output: class 1
    /// when it is above 1/2 for a sigmoid output, a probability, else when it is positive).</summary>
    public static PermutationImportanceResult PermutationImportance(this Network network, double[,] x, int[] labels, int repeats = 5, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(labels);
        var target = FN.Target.NewClasses((int[])labels.Clone(), ClassNames(network.OutputSize));
        return new(Errors.Run(() => FN.Importance.ofNetwork(network.Core, null, Interop.ToMatrix(x, nameof(x)), target, repeats, seed), ("target", nameof(labels))));
    }

    /// <summary>Permutation importance of a network on (x, y values): R^2.</summary>
    public static PermutationImportanceResult PermutationImportance(this Network network, double[,] x, double[] y, int repeats = 5, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(y);
        return new(Errors.Run(() => FN.Importance.ofNetwork(network.Core, null, Interop.ToMatrix(x, nameof(x)), FN.Target.NewValues((double[])y.Clone()), repeats, seed), ("target", nameof(y))));
    }

    /// <summary>Explains a linear model's output for one row: integrated gradients and gradient times input both give
    /// w_i (x_i - b_i) (baseline: zeros unless given).</summary>
    public static FeatureAttribution Explain(this LinearModel model, double[] row, int output = 0,
        AttributionMethod method = AttributionMethod.IntegratedGradients, double[]? baseline = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(row);
        var a = FN.AttributionModule.explainLinear(model.Core, output, Options(method, baseline, null, 1e-6, true), row);
        var names = model.FeatureNames.Count == model.InputSize ? model.FeatureNames.ToArray() : Enumerable.Range(0, model.InputSize).Select(i => $"x{i}").ToArray();
        return new FeatureAttribution(names, a.Values, a, a.Input, a.Baseline, $"output {output}", -1);
    }

    /// <summary>Permutation importance of a linear regression model on (x, y): R^2.</summary>
    public static PermutationImportanceResult PermutationImportance(this LinearModel model, double[,] x, double[] y, int repeats = 5, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(y);
        return new(Errors.Run(() => FN.Importance.ofLinearModel(model.Core, Interop.ToMatrix(x, nameof(x)), FN.Target.NewValues((double[])y.Clone()), repeats, seed), ("target", nameof(y))));
    }

    /// <summary>Permutation importance of a linear classifier on (x, labels -1/+1 or class indices): accuracy of
    /// sign(x w + b) (one output) or the argmax.</summary>
    public static PermutationImportanceResult PermutationImportance(this LinearModel model, double[,] x, int[] labels, int repeats = 5, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(labels);
        // The C# convention for one output is -1/+1 (or 0/1); the core's classes are 0 and 1.
        var mapped = model.OutputSize == 1 ? labels.Select(l => l == -1 ? 0 : l).ToArray() : (int[])labels.Clone();
        var target = FN.Target.NewClasses(mapped, ClassNames(model.OutputSize));
        return new(Errors.Run(() => FN.Importance.ofLinearModel(model.Core, Interop.ToMatrix(x, nameof(x)), target, repeats, seed), ("target", nameof(labels))));
    }
}
