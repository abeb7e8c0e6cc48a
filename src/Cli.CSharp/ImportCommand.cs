using System.Globalization;

namespace FunctionalNN.Cli;

/// <summary>fnn import: an ONNX model's network (or a pipeline the library exported, whole) as a model file; and fnn
/// predict on an .onnx network.</summary>
public static class ImportCommand
{
    /// <summary>Runs the command.</summary>
    public static int Run(Options o, TextWriter w)
    {
        var onnxPath = o.Require("onnx", "ONNX");
        var outPath = o.Require("out", "MODEL");
        o.CheckAllUsed();
        CheckModelOut("import", outPath, onnxPath);
        if (OnnxModel.IsPipeline(onnxPath))
        {
            // A pipeline the library exported comes back whole: preprocessing, scaling, network, names.
            var pipeline = OnnxModel.ImportPipeline(onnxPath);
            pipeline.Save(outPath);
            var net = pipeline.Network;
            w.WriteLine($"imported {onnxPath} (a Functional.NN pipeline): {Fmt.Count(pipeline.FeatureNames.Length, "feature")}, {Fmt.Count(net.InputSize, "network input")}, {Fmt.Count(net.OutputSize, "output")}, {net.Precision}, {(pipeline.IsClassifier ? $"classes {string.Join(", ", pipeline.ClassNames)}" : $"target {pipeline.TargetName}")}");
            w.WriteLine($"saved to {outPath}");
            return 0;
        }
        var imported = OnnxModel.Import(onnxPath);
        ModelFile.SaveNetwork(imported.Network, outPath);
        var n = imported.Network;
        w.WriteLine($"imported {onnxPath} ({(imported.Producer == "" ? "unknown producer" : imported.Producer)}, opset {imported.Opset}): {Fmt.Count(n.InputSize, "input")}, {Fmt.Count(n.OutputSize, "output")}, {Fmt.Count(n.ParameterCount, "parameter")}, {n.Precision}");
        foreach (var line in n.Describe())
            w.WriteLine($"  {line}");
        if (imported.TrailingSoftmax && n.OutputSize == 1)
            w.WriteLine("the graph ends in a Softmax over its one output, which is 1 for every row: the saved network gives the output before it (a softmax cross-entropy needs two or more outputs; train a one-output network with bce_logits)");
        else if (imported.TrailingSoftmax)
            w.WriteLine("the graph ends in a Softmax: the saved network gives the logits (train it with cross_entropy; fnn predict --model on the .onnx file applies the softmax)");
        else
            w.WriteLine("the graph does not end in a Softmax: the saved network's outputs are the graph's outputs, unchanged");
        w.WriteLine($"saved to {outPath}");
        return 0;
    }

    /// <summary>True when a model path names an ONNX file (by its extension).</summary>
    public static bool IsOnnx(string path) => path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>Refuses before any work an --out path that cannot be written (<see cref="Cli.CheckOut"/>) and, as a usage error, one with the .onnx extension for a command that
    /// writes a Functional.NN model file: every reader of the CLI picks the format by the extension (<see cref="IsOnnx"/>),
    /// so such a file could not be read back. <paramref name="onnxSource"/> (fnn import's --onnx) is the ONNX file
    /// the model came from, when there is one.</summary>
    public static void CheckModelOut(string command, string? outPath, string? onnxSource = null)
    {
        Cli.CheckOut(outPath);
        if (outPath is null || !IsOnnx(outPath)) return;
        var fnnPath = Path.ChangeExtension(outPath, ".fnn");
        var advice = command switch
        {
            "linear" => "fnn export does not write linear models as ONNX",
            "import" => $"{onnxSource} is already ONNX; fnn export --model {fnnPath} --out M.onnx writes ONNX again",
            _ => $"for ONNX, run fnn export --model {fnnPath} --out {outPath} afterwards",
        };
        throw new UsageException($"--out {outPath}: fnn {command} writes a Functional.NN model file (.fnn), which the CLI would read as ONNX under that name; give a .fnn path such as {fnnPath} ({advice})");
    }

    /// <summary>True when the file at <paramref name="path"/> starts as a Functional.NN model file does ("FNNMODEL"),
    /// whatever its name: a model file named .onnx (which an older fnn train or fnn import could write).</summary>
    public static bool IsModelFile(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            using var stream = File.OpenRead(path);
            var head = new byte[8];
            return stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && head.AsSpan().SequenceEqual("FNNMODEL"u8);
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>fnn predict --model M.onnx: the network's outputs (softmax probabilities and the class index when the
    /// graph ends in a Softmax) for the CSV's feature columns: those of --features, or every column when their number
    /// is the network's input count. The file is read by the library's CSV reader, with --separator and --no-header
    /// as for the other commands.</summary>
    public static int Predict(string modelPath, string dataPath, string[]? features, CsvFormat? format, string? outPath, TextWriter w)
    {
        if (format is not null && (format.Missing != MissingValues.Error || format.MissingMarkers is not null || format.TextColumns is not null))
            throw new UsageException("--missing, --missing-values and --text-columns go with pipeline models; an ONNX network reads numbers only (fill or drop the missing values first)");
        // The data file is checked as the other commands check it (a folder is "a directory, not a file").
        Functional.NN.ModelFile.checkReadablePath("path", "data file", dataPath);
        var imported = OnnxModel.Import(modelPath);
        return Predict(imported.Network, imported.TrailingSoftmax, imported.OutputName, dataPath, features, format, outPath, w);
    }

    /// <summary>A network's outputs for the CSV's feature columns (<see cref="Predict(string, string, string[], CsvFormat, string, TextWriter)"/>);
    /// with <paramref name="softmax"/>, the softmax probabilities and the class index.</summary>
    public static int Predict(Network network, bool softmax, string outputName, string dataPath, string[]? features, CsvFormat? format, string? outPath, TextWriter w)
    {
        if (format is not null && (format.Missing != MissingValues.Error || format.MissingMarkers is not null || format.TextColumns is not null))
            throw new UsageException("--missing, --missing-values and --text-columns go with pipeline models; a network reads numbers only (fill or drop the missing values first)");
        Functional.NN.ModelFile.checkReadablePath("path", "data file", dataPath);
        var hasHeader = format?.HasHeader ?? true;
        var table = Functional.NN.Csv.readFileWith(Opt(format?.Separator), Opt(format?.Quote), hasHeader, dataPath);
        // A header whose every field is a number is most likely the first data row of a file without a header: the
        // warning the library's reader gives a data set (Csv.toDataset, printed by Cli.Warn on the pipeline path), by
        // its rule.
        if (hasHeader && Functional.NN.Csv.headerIsNumbers(table))
            Cli.Warn($"The header line ({NameList(table.Header)}) looks like data (its fields are numbers): the file probably has no header, so its first row was read as the column names; read it with --no-header.");
        if (features is null)
        {
            if (table.Header.Length != network.InputSize)
                throw new UsageException($"{dataPath} has {table.Header.Length} columns but the network takes {network.InputSize} inputs; name them with --features A,B,...");
            features = table.Header;
        }
        else if (features.Length != network.InputSize)
            throw new UsageException($"--features names {Fmt.Count(features.Length, "column")} but the network takes {network.InputSize} inputs");
        var x = Cli.NamesFrom(() => Functional.NN.Csv.numericColumns(features, table).ToArray(), ("names: the column name '", "--features: the column name '"));
        if (network.Precision == Precision.Float32) CheckFloat32Range(x, table, features);
        var y = network.Predict(x);
        int n = y.GetLength(0), k = y.GetLength(1);
        if (softmax) y = Softmax(y);
        var header = PredictCommand.Header(features, softmax
            ? Enumerable.Range(0, k).Select(j => $"p_{j}").Prepend("class_index")
            : Enumerable.Range(0, k).Select(j => $"{outputName}_{j}"));
        var rows = new List<string[]>();
        for (int i = 0; i < n; i++)
        {
            var row = Enumerable.Range(0, features.Length).Select(j => Fmt.Cell(x[i, j]));
            if (softmax)
            {
                var best = 0;
                for (int j = 1; j < k; j++) if (y[i, j] > y[i, best]) best = j;
                row = row.Append(best.ToString(CultureInfo.InvariantCulture));
            }
            rows.Add(row.Concat(Enumerable.Range(0, k).Select(j => Fmt.Cell(y[i, j]))).ToArray());
        }
        var text = PredictCommand.CsvText(header, rows);
        if (outPath is null) w.Write(text);
        else
        {
            // Saved as the pipeline path saves: atomically, through a symbolic link, keeping permissions, refusing a read-only file.
            Functional.NN.ModelFile.writeAtomic(outPath, new System.Text.UTF8Encoding(false).GetBytes(text));
            Cli.Status($"{Fmt.Count(n, "prediction")} written to {outPath}");
        }
        return 0;
    }

    // A float32 network takes values within float32's range only (about 3.4e38): a cell beyond it is a data error naming
    // the file's line, the column as the header names it and the cell's text, as every other cell the network cannot take
    // (the network's own check names x's row and column index).
    private static void CheckFloat32Range(double[,] x, Functional.NN.CsvTable table, string[] features)
    {
        for (int i = 0; i < x.GetLength(0); i++)
            for (int j = 0; j < x.GetLength(1); j++)
                if (Math.Abs(x[i, j]) > float.MaxValue)
                {
                    // The column as the reader resolved --features (Csv.columnIndex: exact, else NFC, else ignoring
                    // case), named as the header spells it, and the cell's own text.
                    var col = Functional.NN.Csv.columnIndex(table, features[j]);
                    var name = table.Header[col];
                    var text = table.Rows[i][col];
                    var line = table.Lines[i];
                    throw new Functional.NN.DataFormatException(
                        $"Line {line}, column '{Functional.NN.Csv.quoteText(name)}': '{Functional.NN.Csv.quoteText(text)}' is beyond the range of float32 (about 3.4e38), the network's precision.",
                        line, name);
                }
    }

    // Column names as the reader's messages list them: at most 12, then how many in all.
    private static string NameList(string[] names) =>
        string.Join(", ", names.Take(12).Select(Functional.NN.Csv.quoteText)) + (names.Length > 12 ? $", ... ({names.Length} columns in all)" : "");

    /// <summary>A character option as the core's reader takes it.</summary>
    internal static Microsoft.FSharp.Core.FSharpOption<char> Opt(char? c) =>
        c is char v ? Microsoft.FSharp.Core.FSharpOption<char>.Some(v) : Microsoft.FSharp.Core.FSharpOption<char>.None;

    /// <summary>Row-wise softmax, shifted by each row's maximum.</summary>
    private static double[,] Softmax(double[,] z)
    {
        int n = z.GetLength(0), k = z.GetLength(1);
        var p = new double[n, k];
        for (int i = 0; i < n; i++)
        {
            var m = double.NegativeInfinity;
            for (int j = 0; j < k; j++) m = Math.Max(m, z[i, j]);
            var s = 0.0;
            for (int j = 0; j < k; j++) s += p[i, j] = Math.Exp(z[i, j] - m);
            for (int j = 0; j < k; j++) p[i, j] /= s;
        }
        return p;
    }
}
