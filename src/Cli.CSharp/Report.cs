using System.Globalization;
using System.Text.Json;

namespace FunctionalNN.Cli;

/// <summary>Human and JSON reports of networks and metrics.</summary>
public static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static string Prefix(string what) => what == "" ? "" : what + " ";

    /// <summary>The JSON output's encoder: a text is written as it is (an apostrophe as ', not \u0027; letters beyond
    /// ASCII as UTF-8), only what JSON requires escaped (quotes, backslashes, control characters).</summary>
    public static readonly System.Text.Encodings.Web.JavaScriptEncoder JsonEncoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>The serializer options of the JSON output (<see cref="JsonEncoder"/>).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JsonEncoder };

    /// <summary>R^2 for the JSON reports: null below 2 rows, where it is undefined.</summary>
    public static double? R2(RegressionReport r, int samples) => samples < 2 ? null : r.R2;

    /// <summary>The network summary: one line per block with its shapes and parameter count ("layer i" for the dense
    /// layers of a network of dense layers only, "block i" otherwise, "block i.j" inside a residual block), then the total.
    /// Blocks are numbered from 0, as the library's messages and Network.Blocks number them (an error about "Block 1" is
    /// the summary's line 1, as PyTorch prints a model's modules from 0).</summary>
    public static void Summary(TextWriter w, Pipeline model)
    {
        var net = model.Network;
        w.WriteLine($"inputs: {model.FeatureNames.Length} features ({string.Join(", ", model.FeatureNames)}), scaling {model.Scaling.ToString().ToLowerInvariant()}");
        Blocks(w, net.Blocks, net.IsDense ? "layer " : "block ", "");
        var precision = net.Precision == Precision.Float32 ? ", float32" : "";
        var state = net.StateCount > 0 ? $" and {net.StateCount} running statistics" : "";
        w.WriteLine($"total: {net.ParameterCount} parameters{state}{precision}, loss {model.Loss}");
        w.WriteLine(model.IsClassifier ? $"target: {model.TargetName}, {model.ClassNames.Length} classes ({string.Join(", ", model.ClassNames)})" : $"target: {model.TargetName} (regression)");
    }

    private static void Blocks(TextWriter w, IReadOnlyList<BlockInfo> blocks, string label, string prefix)
    {
        for (int i = 0; i < blocks.Count; i++)
        {
            var b = blocks[i];
            var number = $"{prefix}{i}";
            var indent = new string(' ', 2 * prefix.Count(c => c == '.'));
            w.WriteLine($"{indent}{label}{number}: {BlockLine(b)}");
            if (b.Kind == BlockKind.Residual) Blocks(w, b.Inner, label, number + ".");
        }
    }

    /// <summary>One block's line: kind, widths, and its parameters.</summary>
    public static string BlockLine(BlockInfo b)
    {
        var width = $"{b.InputSize} -> {b.OutputSize}";
        switch (b.Kind)
        {
            case BlockKind.Dense:
                var l = b.Layer!;
                var bias = l.HasBias ? $" + b {l.OutputSize}" : "";
                return $"dense {width}, {l.Activation.ToString().ToLowerInvariant()}, W {l.InputSize}x{l.OutputSize}{bias} = {Fmt.Count(b.ParameterCount, "parameter")}";
            case BlockKind.Activation:
                return $"activation {b.Activation.ToString()!.ToLowerInvariant()}, {width}";
            case BlockKind.Dropout:
                return $"dropout {Fmt.G(b.DropoutRate!.Value)}, {width} (training only)";
            case BlockKind.BatchNorm:
                return $"batch normalisation {width}, gamma {b.InputSize} + beta {b.InputSize} = {Fmt.Count(b.ParameterCount, "parameter")}, running mean {b.InputSize} + variance {b.InputSize}";
            case BlockKind.LayerNorm:
                return $"layer normalisation {width}, gamma {b.InputSize} + beta {b.InputSize} = {Fmt.Count(b.ParameterCount, "parameter")}";
            case BlockKind.Residual:
                return $"residual {width}, x + f(x) over {b.Inner.Count} blocks = {Fmt.Count(b.ParameterCount, "parameter")}";
            default:
                return $"custom '{b.Name}' {width} = {Fmt.Count(b.ParameterCount, "parameter")}";
        }
    }

    /// <summary>Accuracy, log-loss, per-class scores and the confusion matrix.</summary>
    public static void Classification(TextWriter w, ClassificationReport r, int samples, string what)
    {
        w.WriteLine($"{Prefix(what)}accuracy: {Fmt.G(r.Accuracy)} ({Fmt.Count(samples, "sample")})");
        w.WriteLine($"{Prefix(what)}macro F1: {Fmt.G(r.MacroF1)}" + (r.LogLoss is double l ? $", log-loss: {Fmt.G(l)}" : ""));
        int width = Math.Max(9, r.ClassNames.Max(n => n.Length) + 1);
        w.WriteLine();
        w.WriteLine($"{"class".PadRight(width)} precision    recall        F1  support");
        // A class neither in these rows nor predicted has no scores (NaN): "-", left out of the macro F1.
        static string Score(double v) => double.IsNaN(v) ? "-" : Fmt.G(v);
        foreach (var s in r.PerClass)
            w.WriteLine($"{s.ClassName.PadRight(width)} {Score(s.Precision),9} {Score(s.Recall),9} {Score(s.F1),9} {s.Support,8}");
        if (r.PerClass.Any(s => double.IsNaN(s.F1)))
            w.WriteLine("(-: a class that is neither in these rows nor predicted has no scores; the macro F1 leaves it out)");
        w.WriteLine();
        w.WriteLine("confusion matrix (rows: true class, columns: predicted class)");
        int k = r.ClassNames.Length;
        int cell = Math.Max(5, r.ClassNames.Max(n => n.Length) + 1);
        w.WriteLine(new string(' ', width) + string.Concat(r.ClassNames.Select(n => n.PadLeft(cell))));
        for (int t = 0; t < k; t++)
            w.WriteLine(r.ClassNames[t].PadRight(width) + string.Concat(Enumerable.Range(0, k).Select(p => r.ConfusionMatrix[t, p].ToString(Inv).PadLeft(cell))));
    }

    /// <summary>MSE, MAE and R^2.</summary>
    public static void Regression(TextWriter w, RegressionReport r, int samples, string what)
    {
        // R^2 compares with the rows' own variance, which one row does not have: undefined below 2 rows (as fnn linear says).
        w.WriteLine(samples < 2 ? $"{Prefix(what)}R^2: undefined ({Fmt.Count(samples, "sample")}; it needs at least 2)" : $"{Prefix(what)}R^2: {Fmt.G(r.R2)} ({Fmt.Count(samples, "sample")})");
        w.WriteLine($"{Prefix(what)}MSE: {Fmt.G(r.MeanSquaredError)}, MAE: {Fmt.G(r.MeanAbsoluteError)}");
    }

    /// <summary>How many feature cells an imputing --missing filled, as the reports say it ("1 cell filled with the
    /// training rows' mean"): the one wording of fnn train, fnn linear and fnn evaluate.</summary>
    public static string Filled(int cells, MissingValues policy) => $"{Fmt.Count(cells, "cell")} filled with the training rows' {Names.Snake(policy)}";

    /// <summary>The missing feature cells of the data (NaN), which an imputer fills.</summary>
    public static int MissingCells(Dataset data) => MissingCells(data.Features);

    /// <summary>The missing cells (NaN) of a feature matrix as read: the one count of the reports and of fnn explain.</summary>
    public static int MissingCells(double[,] x)
    {
        int n = 0;
        foreach (var v in x) if (double.IsNaN(v)) n++;
        return n;
    }

    /// <summary>What the missing-value policy did to data read for a saved model, as fnn evaluate and fnn explain say it
    /// (pipelines and linear models alike): "missing values: 2 rows dropped (...)" and "missing values: 3 cells filled
    /// with the training rows' mean (the model's fill values)"; nothing when it did nothing.</summary>
    /// <param name="w">The report.</param>
    /// <param name="data">The data as read (missing cells kept for the model to fill).</param>
    /// <param name="policy">The model's missing-value policy (whose fill values fill the cells).</param>
    public static void MissingForModel(TextWriter w, Dataset data, MissingValues policy) =>
        Missing(w, data, MissingCells(data), policy, "the model's fill values");

    /// <summary>What the missing-value policy did to the data a model is fitted on, as fnn train and fnn linear say it:
    /// the rows it left out and the <paramref name="cells"/> the imputer fills (training and test rows), with the note
    /// that the model keeps the fill values; nothing when it did nothing.</summary>
    public static void MissingForFit(TextWriter w, Dataset data, int cells) =>
        Missing(w, data, cells, data.Missing, "the model keeps the fill values: evaluate and predict of its file fill missing cells with them");

    /// <summary>The "missing values:" lines of <see cref="MissingForModel"/> and <see cref="MissingForFit"/>: the rows
    /// dropped, then the cells filled with <paramref name="note"/> in parentheses.</summary>
    private static void Missing(TextWriter w, Dataset data, int cells, MissingValues policy, string note)
    {
        if (Dropped(data) is string dropped) w.WriteLine($"missing values: {dropped}");
        if (cells > 0) w.WriteLine($"missing values: {Filled(cells, policy)} ({note})");
    }

    /// <summary>Warns on stderr of the rows the reader left out of data to predict from (stdout may be the predictions):
    /// "fnn: warning: 3 rows dropped (...): no prediction for them" (fnn predict of a pipeline or a linear model).</summary>
    public static void WarnDropped(Dataset data)
    {
        if (Dropped(data) is string dropped)
            Cli.Warn($"{dropped}: no prediction for {(data.Dropped.Count == 1 ? "it" : "them")}");
    }

    /// <summary>One JSON object (a dictionary of named values, nested arrays and dictionaries) on one line, with the
    /// encoder of every JSON output (<see cref="JsonOptions"/>: an apostrophe written as it is): fnn explain's writer.</summary>
    public static void JsonObject(TextWriter w, object obj) => w.WriteLine(JsonSerializer.Serialize(obj, JsonOptions));

    /// <summary>The rows the reader left out of <paramref name="data"/> for a missing value (under --missing drop a row
    /// with a missing value in a column read; under an imputing --missing a row whose target is missing), as the reports
    /// say it: "1 row dropped (a missing value in 'x')"; null when none was. The count and the columns are the reader's
    /// own (<see cref="Dataset.Dropped"/>): one column named alone, the target as "the target 'y'" under an imputing
    /// --missing; several each with their rows (a row missing two of them counts under both).</summary>
    public static string? Dropped(Dataset data)
    {
        var dropped = data.Dropped;
        if (dropped.Count == 0) return null;
        var columns = dropped.Columns;
        string Column(DroppedColumn c) => c.IsTarget && data.Missing != MissingValues.Drop ? $"the target '{c.Name}'" : $"'{c.Name}'";
        var why = columns.Count == 0 ? "a missing value"
            : columns.Count == 1 ? $"a missing value in {Column(columns[0])}"
            : "missing values in " + string.Join(", ", columns.Select(c => $"'{c.Name}' ({Fmt.Count(c.Rows, "row")})"));
        return $"{Fmt.Count(dropped.Count, "row")} dropped ({why})";
    }

    /// <summary>One JSON object of named values (numbers, strings, nulls, int matrices, string arrays).</summary>
    public static void Json(TextWriter w, IEnumerable<KeyValuePair<string, object?>> fields)
    {
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JsonEncoder }))
        {
            j.WriteStartObject();
            foreach (var (name, value) in fields)
            {
                j.WritePropertyName(name);
                switch (value)
                {
                    case null: j.WriteNullValue(); break;
                    case double d when !double.IsFinite(d): j.WriteNullValue(); break;
                    case double d: j.WriteNumberValue(d); break;
                    case int i: j.WriteNumberValue(i); break;
                    case string s: j.WriteStringValue(s); break;
                    case string[] ss: j.WriteStartArray(); foreach (var s in ss) j.WriteStringValue(s); j.WriteEndArray(); break;
                    case int[,] m:
                        j.WriteStartArray();
                        for (int r = 0; r < m.GetLength(0); r++)
                        {
                            j.WriteStartArray();
                            for (int c = 0; c < m.GetLength(1); c++) j.WriteNumberValue(m[r, c]);
                            j.WriteEndArray();
                        }
                        j.WriteEndArray();
                        break;
                    // An array of objects (train's unseen_categories): each a JSON object of its entries.
                    case Dictionary<string, object>[] objects: JsonSerializer.Serialize(j, objects); break;
                    default: j.WriteStringValue(value.ToString()); break;
                }
            }
            j.WriteEndObject();
        }
        w.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }
}
