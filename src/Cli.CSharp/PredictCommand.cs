namespace FunctionalNN.Cli;

/// <summary>fnn predict: a saved model's predictions for each row of a CSV file.</summary>
public static class PredictCommand
{
    /// <summary>Runs the command.</summary>
    public static int Run(Options o, TextWriter w)
    {
        var modelPath = o.Require("model", "MODEL");
        var dataPath = o.Require("data", "PATH");
        var outPath = o.Get("out");
        Cli.CheckOut(outPath);
        // An .onnx network predicts through ImportCommand.Predict; an .onnx pipeline the library exported is read
        // back as a pipeline and predicts as its .fnn file would.
        bool onnxPipeline = ImportCommand.IsOnnx(modelPath) && OnnxModel.IsPipeline(modelPath);
        if (ImportCommand.IsOnnx(modelPath) && !onnxPipeline) { var features = o.List("features"); var csv = o.DataFormat(); o.CheckAllUsed(); return ImportCommand.Predict(modelPath, dataPath, features, csv, outPath, w); }
        if (!onnxPipeline && LinearCommand.IsLinear(modelPath))
        {
            // The data options of fnn evaluate of the same model (--unknown-category is a pipeline's: a usage error).
            var target = o.GetColumnName("target");
            var csv = o.DataFormat();
            LinearCommand.RefusePipelineOptions(o, modelPath);
            o.CheckAllUsed();
            return LinearCommand.Predict(modelPath, dataPath, target, csv, outPath, w);
        }
        if (!onnxPipeline && File.Exists(modelPath) && ModelFile.KindOf(modelPath) == "network")
        {
            // A network model file (fnn import of an ONNX network) predicts as its .onnx file does.
            var features = o.List("features");
            var csv = o.DataFormat();
            o.CheckAllUsed();
            return ImportCommand.Predict(ModelFile.LoadNetwork(modelPath), false, "output", dataPath, features, csv, outPath, w);
        }
        var format = o.DataFormat();
        var unknown = o.Unknown();
        o.CheckAllUsed();
        var model = LoadPipeline("predict", "pipeline, linear and network models", modelPath);
        if (unknown is { } u) model = model.WithUnknownCategory(u);
        CheckMissing(model, format);
        // The model's feature columns only: a target column in the file is not read, whatever it holds (one prediction per row).
        var data = ForModel(model, () => Dataset.LoadCsvForPrediction(dataPath, model, format));
        TrainCommand.WarnUnseen(model, data, "the predictions");
        // Fewer predictions than the file has rows: said on stderr (stdout may be the predictions).
        Report.WarnDropped(data);
        var rows = new List<string[]>();
        int n = data.SampleCount, d = model.FeatureNames.Length;
        // The reader gives the model's features in the model's order (each found by the reader's rule: exactly, else the
        // one column spelled so ignoring case), so feature j of the data is the model's feature j.
        if (data.FeatureCount != d)
            throw new InvalidOperationException($"the data read for the model have {data.FeatureCount} feature columns; the model reads {d}");
        IEnumerable<string> Features(int i) => Enumerable.Range(0, d).Select(j => data.CellText(i, j));
        var predicted = $"predicted_{model.TargetName}";
        List<string> header;
        if (model.IsClassifier)
        {
            var names = model.PredictClassNames(data);
            var p = model.PredictProbabilities(data);
            header = Header(model.FeatureNames, p is null ? [predicted] : model.ClassNames.Select(c => $"p_{c}").Prepend(predicted));
            for (int i = 0; i < n; i++)
            {
                var row = Features(i).Append(names[i]);
                if (p is not null) row = row.Concat(Enumerable.Range(0, p.GetLength(1)).Select(k => Fmt.Cell(p[i, k])));
                rows.Add(row.ToArray());
            }
        }
        else
        {
            var v = model.PredictValues(data);
            header = Header(model.FeatureNames, [predicted]);
            for (int i = 0; i < n; i++) rows.Add(Features(i).Append(Fmt.Cell(v[i])).ToArray());
        }
        var text = CsvText(header, rows, format);
        if (outPath is null) w.Write(text);
        else
        {
            // Saved as model files are: atomically, through a symbolic link, keeping permissions, refusing a read-only file.
            Functional.NN.ModelFile.writeAtomic(outPath, new System.Text.UTF8Encoding(false).GetBytes(text));
            Cli.Status($"{Fmt.Count(n, "prediction")} written to {outPath}");
        }
        return 0;
    }

    /// <summary>The pipeline of a model file or of a pipeline's ONNX export (fnn export); another kind of model is a
    /// usage error naming the kinds <paramref name="command"/> takes.</summary>
    public static Pipeline LoadPipeline(string command, string takes, string modelPath)
    {
        if (ImportCommand.IsOnnx(modelPath))
            return OnnxModel.IsPipeline(modelPath) ? OnnxModel.ImportPipeline(modelPath)
                : throw new UsageException($"fnn {command} takes {takes}; {modelPath} holds an ONNX network, not a pipeline (fnn predict runs it)");
        if (File.Exists(modelPath) && ModelFile.KindOf(modelPath) is var kind && kind != "pipeline")
            throw new UsageException($"fnn {command} takes {takes}; {modelPath} holds a {kind} model");
        return Pipeline.Load(modelPath);
    }

    /// <summary>Refuses an imputing --missing for a model that imputes nothing (it would fail on the first missing
    /// value), before any reading.</summary>
    public static void CheckMissing(Pipeline model, CsvFormat? format)
    {
        if (format is { Missing: MissingValues.Mean or MissingValues.Median or MissingValues.MostFrequent } && model.Missing is MissingValues.Error or MissingValues.Drop)
            throw new UsageException($"--missing {Names.Snake(format.Missing)}: the model was trained without imputation (missing-value policy '{Names.Snake(model.Missing)}'), so it cannot fill missing values; use --missing drop to skip those rows, or retrain with --missing mean|median|most_frequent");
    }

    /// <summary>Reads data for a saved model; a missing value the model cannot fill gets advice that works at
    /// prediction time (the reader's own advice is for training).</summary>
    public static T ForModel<T>(Pipeline model, Func<T> load)
    {
        try { return load(); }
        catch (DataFormatException e) when (e.Message.Contains("(CLI: --missing drop|mean|median|most_frequent)"))
        {
            var cut = e.Message.IndexOf("; set ", StringComparison.Ordinal);
            var what = cut >= 0 ? e.Message[..cut] : e.Message;
            // The reader's way out for a value spelled like a marker ("(or, if 'N/A' is a value here, ...)") holds at
            // prediction time too: it is kept.
            var marker = cut >= 0 ? e.Message.IndexOf(" (or, if '", cut, StringComparison.Ordinal) : -1;
            var keep = marker >= 0 ? e.Message[marker..].TrimEnd('.') : "";
            throw new ModelDataException($"{what}; the model was trained without imputation (missing-value policy '{Names.Snake(model.Missing)}'): use --missing drop to skip the rows with missing values, or retrain with --missing mean|median|most_frequent{keep}", e);
        }
    }

    /// <summary>The output's header: the feature columns, then the prediction columns, each prediction column that a
    /// feature (or an earlier prediction column) is already named renamed with the first free suffix _1, _2, ... (a
    /// model may read a feature named predicted_y or p_a, which cannot be renamed); a rename is said in one line on
    /// stderr. Repeated feature names are left for <see cref="CsvText"/> to refuse.</summary>
    public static List<string> Header(IEnumerable<string> features, IEnumerable<string> predictions)
    {
        var header = new List<string>(features);
        var taken = new HashSet<string>(header, StringComparer.Ordinal);
        var renamed = new List<string>();
        foreach (var name in predictions)
        {
            var unique = name;
            for (int k = 1; !taken.Add(unique); k++) unique = $"{name}_{k}";
            if (unique != name) renamed.Add($"'{name}' as '{unique}'");
            header.Add(unique);
        }
        if (renamed.Count > 0)
            Cli.Warn($"the data have a column named like a prediction column, so the predictions are written under other names: {string.Join(", ", renamed)}");
        return header;
    }

    /// <summary>CSV text by the library's writing rules (<c>Dataset.FormatCsv</c> with the markers of --missing-values), so that every file the CLI
    /// writes reads back with the same values: a field is quoted when it holds a separator (',', ';', tab), a quote, a
    /// line break or edge spaces, or is a missing-value marker (a category "NA" stays the text NA). A column name that
    /// would appear twice (a column selected twice: prediction columns are made unique by <see cref="Header"/>) is
    /// refused in one line, as the reader would refuse the file.</summary>
    public static string CsvText(IEnumerable<string> header, IEnumerable<string[]> rows, CsvFormat? format = null)
    {
        var names = header.ToArray();
        var repeated = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (repeated is not null)
            throw new ArgumentException($"the predictions would have two columns named '{repeated}', and a CSV file with a repeated column name cannot be read back: name each column once (--features)");
        // A marker of --missing-values is quoted as the default ones are, so the file reads back the same with that option.
        return Dataset.FormatCsv(names, rows, format?.MissingMarkers);
    }
}
