namespace FunctionalNN.Cli;

/// <summary>fnn evaluate: a saved model's metrics on a labelled CSV file.</summary>
public static class EvaluateCommand
{
    /// <summary>Runs the command.</summary>
    public static int Run(Options o, TextWriter w)
    {
        var modelPath = o.Require("model", "MODEL");
        var dataPath = o.Require("data", "PATH");
        var target = o.GetColumnName("target");
        bool json = o.Flag("json");
        var format = o.DataFormat();
        if (LinearCommand.IsLinear(modelPath))
        {
            LinearCommand.RefusePipelineOptions(o, modelPath);
            o.CheckAllUsed();
            return LinearCommand.Evaluate(modelPath, dataPath, target, format, json, w);
        }
        var unknown = o.Unknown();
        o.CheckAllUsed();
        var model = PredictCommand.LoadPipeline("evaluate", "pipeline and linear models", modelPath);
        if (unknown is { } u) model = model.WithUnknownCategory(u);
        // Read for the model (its feature columns, text columns and classes, numbers in its numeric columns, missing
        // cells kept for its imputer): a class it never saw is an error naming its line.
        PredictCommand.CheckMissing(model, format);
        // A name that matches several columns ignoring case names where it came from: --target, or the model.
        var data = PredictCommand.ForModel(model, () => Cli.NamesFrom(() => Dataset.LoadCsvForModel(dataPath, model, target ?? model.TargetName, format),
            ("target: the column name '", target is null ? "the model's target '" : "--target: the column name '")));
        TrainCommand.WarnUnseen(model, data, "the metrics");
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
        Report.MissingForModel(w, data, model.Missing);
        if (e.IsClassification && e.Classification is { } cr) Report.Classification(w, cr, data.SampleCount, "");
        if (e.IsRegression && e.Regression is { } rr) Report.Regression(w, rr, data.SampleCount, "");
        return 0;
    }
}
