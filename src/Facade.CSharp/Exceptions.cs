using System.Runtime.CompilerServices;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>Training stopped because the loss or a weight became NaN or infinite, or the epoch's loss so far grew past
/// <see cref="TrainingOptions.DivergenceFactor"/> (or <see cref="LinearSgdOptions.DivergenceFactor"/>) times the loss at the
/// start. Catch <see cref="TrainingDivergedException{TModel}"/> for the last finite model.</summary>
public class TrainingDivergedException : Exception
{
    internal TrainingDivergedException(int epoch, int step, string message, Exception inner) : base(message, inner)
    {
        Epoch = epoch;
        Step = step;
    }

    /// <summary>The epoch (from 1) of the failing step.</summary>
    public int Epoch { get; }

    /// <summary>The failing step (from 1, counted over the whole run): the step that made the bad parameters (not finite,
    /// or whose loss, measured by the next step's batch or with <see cref="TrainingOptions.ExactEpochLoss"/> on the whole
    /// set, is not finite or too large).</summary>
    public int Step { get; }
}

/// <summary>A <see cref="TrainingDivergedException"/> with the last finite model: a <see cref="Network"/> for
/// <see cref="Trainer.Train"/> and <see cref="Pipeline.Fit"/>, a <c>double[]</c> for <see cref="Trainer.TrainVector"/>.</summary>
/// <typeparam name="TModel">The model type.</typeparam>
public sealed class TrainingDivergedException<TModel> : TrainingDivergedException
{
    internal TrainingDivergedException(int epoch, int step, TModel lastGood, string message, Exception inner)
        : base(epoch, step, message, inner) => LastGood = lastGood;

    /// <summary>The parameters before the failing step; they hold no NaN or infinity. (In a resumed run whose first step
    /// finds the checkpoint's parameters bad, the checkpoint's model: the parameters before it are not kept.)</summary>
    public TModel LastGood { get; }
}

/// <summary>A data file or text that cannot be read as a table: ragged rows, a bad number, a missing value
/// under the error policy, an unknown class or category.</summary>
public sealed class DataFormatException : Exception
{
    internal DataFormatException(string message, int line, string column, Exception inner) : base(message, inner)
    {
        Line = line;
        Column = column;
    }

    /// <summary>The line (from 1) where reading failed, or 0 when the error concerns no single line.</summary>
    public int Line { get; }

    /// <summary>The column's name, or empty.</summary>
    public string Column { get; }
}

/// <summary>A model file that cannot be read: damaged, truncated, of an unknown version, or inconsistent.</summary>
public class ModelFormatException : Exception
{
    internal ModelFormatException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>An ONNX file that cannot be imported (a <see cref="ModelFormatException"/>): not ONNX, or using what the
/// importer does not support.</summary>
public sealed class OnnxFormatException : ModelFormatException
{
    internal OnnxFormatException(string message, string nodeName, string operatorType, Exception? inner = null) : base(message, inner)
    {
        NodeName = nodeName;
        OperatorType = operatorType;
    }

    /// <summary>The name of the node the error concerns, or empty (no node, or a node the file leaves unnamed, which the
    /// message names by its operator and first output: "The unnamed Relu node giving 'h': ...").</summary>
    public string NodeName { get; }

    /// <summary>The node's operator type, or empty.</summary>
    public string OperatorType { get; }
}

/// <summary>The core's errors as the facade shows them: its exception types, and its member names in
/// ParamName and messages where the core's differ.</summary>
internal static class Errors
{
    // Core parameter names -> the facade's members (TrainingOptions, PipelineOptions, method parameters).
    private static readonly Dictionary<string, string> ParamNames = new()
    {
        ["schedule"] = nameof(TrainingOptions.Schedule),
        ["optimizer"] = nameof(TrainingOptions.Optimizer),
        ["batching"] = nameof(TrainingOptions.Batching),
        ["Patience"] = nameof(TrainingOptions.EarlyStoppingPatience),
        ["MinDelta"] = nameof(TrainingOptions.EarlyStoppingMinDelta),
        ["EarlyStopping"] = nameof(TrainingOptions.EarlyStoppingPatience),
        ["options.HiddenLayers"] = nameof(PipelineOptions.HiddenLayers),
        ["options.Dropout"] = nameof(PipelineOptions.Dropout),
        ["options.Normalization"] = nameof(PipelineOptions.Normalization),
        ["options.Residual"] = nameof(PipelineOptions.Residual),
        ["net"] = "network",
        ["theta0"] = "parameters",
        ["objective"] = "lossAndGradient",
        ["checkpoint.Model"] = "checkpoint",
        ["checkpoint.OptimizerState"] = "checkpoint",
        ["PendingBatches"] = "checkpoint",
    };

    // Core function and option names in messages -> the facade's.
    private static readonly (string Core, string Facade)[] Words =
    {
        ("CsvOptions.Missing, Dataset.withMissing", "CsvFormat.Missing, Dataset.WithMissing"),
        ("set the option Missing (CLI", "set CsvFormat.Missing (CLI"),
        ("use predictValues", "use PredictValues"),
        // Trainer.Resume: a checkpoint trained with other settings.
        ("resume from Checkpoint.withoutSetup checkpoint.", "resume from checkpoint.WithoutSetup()."),
        // Trainer.TrainVector: the objective is the lossAndGradient delegate.
        ("The objective's loss at the starting parameters", "The loss lossAndGradient gave at the starting parameters"),
        ("check the objective and the starting parameters", "check lossAndGradient and the starting parameters"),
        ("use predictClasses", "use PredictClasses"),
        ("options.HiddenLayers", "HiddenLayers"),
        ("Ridge.fit", "LinearRegression.FitRidge"),
        // Dataset.SaveCsv refusing data whose every cell would be quoted: the writer of fields is Dataset.FormatCsv.
        ("or save the columns with Csv.format.", "or save the columns with Dataset.FormatCsv."),
        // The rank tolerance of least squares: the C# members use the default (LeastSquaresOptions is the F# core's).
        ("; or, if the column is wanted, lower the tolerance (LeastSquaresOptions.RankTolerance, or the rankTolerance argument of PolynomialRegression.fit).",
         " (the C# members use the default tolerance, 1e-10, and have no option to lower it)."),
        // LinearRegression.FitByGradientDescent: the automatic rate is LinearGradientDescentOptions.LearningRate = null.
        ("use AutoLearningRate or a smaller rate", "leave LearningRate null (the automatic rate 1/L) or give a smaller rate"),
        // Node.Backward and the shape errors of Node's members (the core's functions take the node as a, the facade's members act on this node).
        ("backward needs a 1x1 output", "Backward needs a 1x1 output"),
        ("reduce it with Node.sum or Node.mean", "reduce it with Sum() or Mean()"),
        ("matMul needs a's columns to equal b's rows, but a is ", "MatMul needs this node's columns to equal other's rows, but this node is "),
        ("broadcastRows needs a 1xc row, but row is ", "BroadcastRows needs a 1xc node, but this node is "),
        ("addRow needs a ", "AddRow needs a "),
        // The element-wise operators of two nodes.
        ("add needs operands of one shape", "operator + needs operands of one shape"),
        ("subtract needs operands of one shape", "operator - needs operands of one shape"),
        ("multiply needs operands of one shape", "operator * needs operands of one shape"),
        ("divide needs operands of one shape", "operator / needs operands of one shape"),
        // ModelFile's save options.
        ("save with OverwriteReadOnly to replace it", "save with overwriteReadOnly: true to replace it"),
        (" row for a of shape ", " row for this node of shape "),
        // OnnxModel.ImportPipeline refusing a pipeline export without the guard for refused rows: export it again.
        ("(fnn export --model <file>.fnn --out <file>.onnx, or Onnx.exportPipeline)",
         "(fnn export --model <file>.fnn --out <file>.onnx, or Pipeline.Load(\"<file>.fnn\").ExportOnnx(\"<file>.onnx\"))"),
        // OnnxModel.Import and OnnxModel.ImportPipeline point to each other.
        ("read it with Onnx.importPipeline", "read it with OnnxModel.ImportPipeline"),
        ("read its network with Onnx.importNetwork", "read its network with OnnxModel.Import"),
        // Network.ImportOnnx refusing a trailing Softmax (Onnx.importNetworkExact).
        ("(F# Onnx.importNetwork or loadNetwork, C# OnnxModel.Import: TrailingSoftmax)", "(OnnxModel.Import: TrailingSoftmax)"),
        // A model file's reader given an ONNX model.
        ("(Onnx.loadNetwork, or Onnx.loadPipeline for a pipeline export;", "(OnnxModel.Import, or OnnxModel.ImportPipeline for a pipeline export;"),
        // PipelinePredictor: a classifier's class member, and a classifier's member for its network's outputs
        // (a regressor's, PredictValue, has the same name in C#).
        ("This pipeline is a classifier; use PredictClass.", "This pipeline is a classifier; use PredictClassIndex."),
        ("; use Predict for its outputs.", "; use PredictOutputs for its outputs."),
        // A model's numeric column read as text categories: the readers for a model.
        ("(Pipeline.loadCsv or loadCsvFeatures)", "(Dataset.LoadCsvForModel or LoadCsvForPrediction)"),
    };

    // Options properties a core message can start with when its ParamName names the whole options record or one of
    // its parts ("WeightDecay must be a non-negative finite number" under ParamName "optimizer"): the property set.
    private static readonly HashSet<string> OptionProperties =
        typeof(TrainingOptions).GetProperties().Select(p => p.Name).Concat(typeof(PipelineOptions).GetProperties().Select(p => p.Name)).ToHashSet();

    internal static string Message(string message, (string Core, string Facade)[]? words = null)
    {
        if (words is not null) foreach (var (core, facade) in words) message = message.Replace(core, facade);
        foreach (var (core, facade) in Words) message = message.Replace(core, facade);
        return message;
    }

    /// <summary>The facade's exception for a core one, or null when <paramref name="e"/> needs no translation.</summary>
    /// <param name="e">The core's exception.</param>
    /// <param name="names">ParamNames of this call only (the core's parameter -> the C# member's parameter, or "" for
    /// none: the node the member acts on), before the shared map.</param>
    /// <param name="words">Message words of this call only, before the shared ones.</param>
    internal static Exception? Translate(Exception e, (string Core, string Facade)[]? names = null, (string Core, string Facade)[]? words = null)
    {
        // The caller's own exception (from its progress callback or objective) passes unchanged, whatever its ParamName.
        if (ThrownByCaller.TryGetValue(e, out _)) return null;
        string? Local(string? p) => p is null || names is null ? null : names.Where(n => n.Core == p).Select(n => n.Facade).FirstOrDefault();
        if (e is ArgumentException { ParamName: { } lp } la && Local(lp) is { } local)
        {
            var text = StripParam(la.Message, lp);
            // The message's first word when it is the parameter ("validationInputs has shape ..."); elsewhere the call's words.
            text = Message(local != "" && text.StartsWith(lp + " ", StringComparison.Ordinal) ? local + text[lp.Length..] : text, words);
            return la switch
            {
                ArgumentNullException => new ArgumentNullException(local == "" ? null : local, text),
                ArgumentOutOfRangeException => new ArgumentOutOfRangeException(local == "" ? null : local, text),
                _ => local == "" ? new ArgumentException(text, la) : new ArgumentException(text, local, la),
            };
        }
        switch (e)
        {
            case FN.TrainingDivergedException d:
                return d.LastGood switch
                {
                    FN.Network n => new TrainingDivergedException<Network>(d.Epoch, d.Step, new Network(n), Message(d.Message), d),
                    double[] v => new TrainingDivergedException<double[]>(d.Epoch, d.Step, (double[])v.Clone(), Message(d.Message), d),
                    _ => new TrainingDivergedException(d.Epoch, d.Step, Message(d.Message), d),
                };
            case FN.DataFormatException f:
                return new DataFormatException(Message(f.Message, words), f.Line, f.Column, f);
            case FN.OnnxFormatException o:
                return new OnnxFormatException(Message(o.Message), o.NodeName, o.OperatorType, o);
            case FN.ModelFormatException m:
                return new ModelFormatException(Message(m.Message), m);
            case ArgumentNullException n when n.ParamName is { } p && ParamNames.TryGetValue(p, out var name):
                return new ArgumentNullException(name, Message(StripParam(n.Message, p)));
            case ArgumentOutOfRangeException:
                return null;
            case ArgumentException a when a.ParamName is { } p:
            {
                var name = ParamNames.TryGetValue(p, out var mapped) ? mapped
                    : p == "options" && a.Message.Contains("ValidationFraction") ? nameof(PipelineOptions.ValidationFraction)
                    : p;
                var text = StripParam(a.Message, p);
                // A message about one property of the options (WeightDecay under the optimizer's settings) names that property.
                if (name is "options" or nameof(TrainingOptions.Optimizer) or nameof(TrainingOptions.Schedule) or nameof(TrainingOptions.Batching)
                    && text.Split(' ', 2)[0] is var first && first != name && OptionProperties.Contains(first))
                    name = first;
                // "Patience must be positive" names the core's field: the message names the facade's member, as ParamName does.
                var translated = Message(name != p && text.StartsWith(p + " ", StringComparison.Ordinal) ? name + text[p.Length..] : text, words);
                return name == p && translated == text ? null : new ArgumentException(translated, name, a);
            }
            case InvalidOperationException i when Message(i.Message, words) != i.Message:
                return new InvalidOperationException(Message(i.Message, words), i);
            case UnauthorizedAccessException u when Message(u.Message, words) != u.Message:
                return new UnauthorizedAccessException(Message(u.Message, words), u);
            default:
                return null;
        }
    }

    private static string StripParam(string message, string param) => message.Replace($" (Parameter '{param}')", "");

    /// <summary>The exceptions thrown by the caller's own code, kept aside (weakly: an entry lives as long as its
    /// exception), so that the caller's object is not touched (its <see cref="Exception.Data"/> may be read-only).</summary>
    private static readonly ConditionalWeakTable<Exception, object?> ThrownByCaller = new();

    /// <summary>Runs the caller's own code (a progress callback, an objective) inside the core: an exception it throws is
    /// noted, so that <see cref="Translate"/> lets it through as the caller threw it (the same object, its stack trace).</summary>
    internal static void Caller(Action f)
    {
        try { f(); }
        catch (Exception e) { ThrownByCaller.AddOrUpdate(e, null); throw; }
    }

    /// <summary>As <see cref="Caller(Action)"/>, for code that returns a value.</summary>
    internal static T Caller<T>(Func<T> f)
    {
        try { return f(); }
        catch (Exception e) { ThrownByCaller.AddOrUpdate(e, null); throw; }
    }

    /// <summary>Runs <paramref name="f"/>, translating the core's exceptions.</summary>
    internal static T Run<T>(Func<T> f)
    {
        try { return f(); }
        catch (Exception e) when (Translate(e) is { } t) { throw t; }
    }

    /// <summary>Runs <paramref name="f"/>, translating the core's exceptions with this call's parameter names first
    /// (the core's -> the C# member's; "" when the member has no such parameter).</summary>
    internal static T Run<T>(Func<T> f, params (string Core, string Facade)[] names)
    {
        try { return f(); }
        catch (Exception e) when (Translate(e, names) is { } t) { throw t; }
    }

    /// <summary>Runs <paramref name="f"/>, translating the core's exceptions with this call's parameter names and
    /// message words first.</summary>
    internal static T Run<T>(Func<T> f, (string Core, string Facade)[] names, (string Core, string Facade)[] words)
    {
        try { return f(); }
        catch (Exception e) when (Translate(e, names, words) is { } t) { throw t; }
    }

    /// <summary>Runs <paramref name="f"/>, translating the core's exceptions.</summary>
    internal static void Run(Action f)
    {
        try { f(); }
        catch (Exception e) when (Translate(e) is { } t) { throw t; }
    }
}
