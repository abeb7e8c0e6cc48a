namespace FunctionalNN.Cli;

/// <summary>fnn evaluate: a saved model's metrics on a labelled CSV file.</summary>
public static class EvaluateCommand
{
    /// <summary>Runs the command.</summary>
    public static int Run(Options o, TextWriter w)
    {
        var modelPath = o.Require("model", "MODEL");
        var dataPath = o.Require("data", "PATH");
        var target = o.Get("target");
        bool json = o.Flag("json");
        var format = o.DataFormat();
        var unknown = o.Unknown();
        o.CheckAllUsed();
        if (LinearCommand.IsLinear(modelPath)) return LinearCommand.Evaluate(modelPath, dataPath, target, format, json, w);
        var model = PredictCommand.LoadPipeline("evaluate", "pipeline and linear models", modelPath);
        if (unknown is { } u) model = model.WithUnknownCategory(u);
        // The model's own feature columns and classes: a class it never saw is an error naming its line.
        var textColumns = model.FeatureNames.Where((_, j) => model.Categories[j].Length > 0).ToArray();
        var imputes = model.Missing is MissingValues.Mean or MissingValues.Median or MissingValues.MostFrequent;
        var f = (format ?? new CsvFormat()) with { TextColumns = textColumns };
        if (imputes && f.Missing == MissingValues.Error) f = f with { Missing = MissingValues.Mean };
        PredictCommand.CheckMissing(model, format);
        // A name that matches several columns ignoring case names where it came from: --target, or the model.
        var data = PredictCommand.ForModel(model, () => Cli.NamesFrom(() => model.IsClassifier
                ? Dataset.LoadCsv(dataPath, target ?? model.TargetName, TargetKind.Classification, model.FeatureNames, model.ClassNames, f)
                : Dataset.LoadCsv(dataPath, target ?? model.TargetName, TargetKind.Regression, model.FeatureNames, format: f),
            ("target: the column name '", target is null ? "the model's target '" : "--target: the column name '"),
            ("features: the column name '", "the model's feature '")));
        var e = model.Evaluate(data);
        if (json)
        {
            var fields = new List<KeyValuePair<string, object?>> { new("task", model.IsClassifier ? "classification" : "regression") };
            if (e.IsClassification && e.Classification is { } c)
            {
                fields.Add(new("accuracy", c.Accuracy));
                fields.Add(new("macro_f1", c.MacroF1));
                fields.Add(new("log_loss", c.LogLoss));
                fields.Add(new("classes", c.ClassNames));
                fields.Add(new("confusion_matrix", c.ConfusionMatrix));
            }
            if (e.IsRegression && e.Regression is { } r)
            {
                fields.Add(new("r2", Report.R2(r, data.SampleCount)));
                fields.Add(new("mse", r.MeanSquaredError));
                fields.Add(new("mae", r.MeanAbsoluteError));
            }
            fields.Add(new("samples", data.SampleCount));
            Report.Json(w, fields);
            return 0;
        }
        w.WriteLine($"model: {modelPath}; data: {Path.GetFileName(dataPath)}, {data}");
        if (e.IsClassification && e.Classification is { } cr) Report.Classification(w, cr, data.SampleCount, "");
        if (e.IsRegression && e.Regression is { } rr) Report.Regression(w, rr, data.SampleCount, "");
        return 0;
    }
}
