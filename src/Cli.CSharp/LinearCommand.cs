using System.Globalization;

namespace FunctionalNN.Cli;

/// <summary>fnn linear: the notes' least squares (or ridge with --lambda) on a CSV file, with the
/// coefficients by feature name.</summary>
public static class LinearCommand
{
    /// <summary>Runs the command.</summary>
    public static int Run(Options o, TextWriter w)
    {
        var dataPath = o.Get("data");
        var datasetName = o.Get("dataset");
        var target = o.Get("target");
        double lambda = o.Double("lambda", 0.0);
        var outPath = o.Get("out");
        bool json = o.Flag("json");
        o.CheckAllUsed();
        if (lambda < 0) throw new UsageException("--lambda must not be negative");
        if (dataPath is not null && datasetName is not null) throw new UsageException("give --data or --dataset, not both");
        var data = dataPath is not null ? Dataset.LoadCsv(dataPath, target, TargetKind.Regression)
            : Dataset.Embedded(datasetName ?? throw new UsageException("--data PATH (or --dataset commute) is required"));
        if (data.IsClassification) throw new UsageException($"the target {data.TargetName} holds classes; fnn linear fits a numeric target");
        // Text columns hold category indices, not amounts: a least-squares fit on them would be meaningless.
        var text = data.FeatureNames.Where((_, j) => data.Categories[j].Length > 0).ToArray();
        if (text.Length > 0)
            throw new ArgumentException($"fnn linear reads numeric features only, but the column '{text[0]}' holds text; use fnn train, which one-hot encodes text columns");
        var x = data.Features;
        var y = data.Values;
        var model = lambda > 0 ? LinearRegression.FitRidge(x, y, lambda) : LinearRegression.Fit(x, y, featureNames: data.FeatureNames);
        var predicted = model.Predict(x);
        var yhat = Enumerable.Range(0, y.Length).Select(i => predicted[i, 0]).ToArray();
        double r2 = Metrics.R2(yhat, y), mse = Metrics.MeanSquaredError(yhat, y);
        if (outPath is not null) ModelFile.SaveLinear(model, outPath);
        var coef = model.Coefficients;
        if (json)
        {
            var fields = new List<KeyValuePair<string, object?>>
            {
                new("method", lambda > 0 ? "ridge" : "least_squares"),
                new("lambda", lambda),
                new("intercept", model.Intercept[0]),
            };
            for (int j = 0; j < data.FeatureCount; j++) fields.Add(new($"coefficient_{data.FeatureNames[j]}", coef[j, 0]));
            fields.Add(new("r2", r2));
            fields.Add(new("mse", mse));
            fields.Add(new("samples", y.Length));
            Report.Json(w, fields);
            return 0;
        }
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine($"{(lambda > 0 ? $"ridge regression (lambda {lambda.ToString(inv)})" : "least squares")} of {data.TargetName} on {data.FeatureCount} features, {y.Length} rows");
        int width = Math.Max(11, data.FeatureNames.Max(n => n.Length) + 2);
        w.WriteLine($"{"(intercept)".PadRight(width)} {model.Intercept[0].ToString("R", inv)}");
        for (int j = 0; j < data.FeatureCount; j++) w.WriteLine($"{data.FeatureNames[j].PadRight(width)} {coef[j, 0].ToString("R", inv)}");
        w.WriteLine($"training R^2 {r2.ToString("F6", inv)}, MSE {mse.ToString("G6", inv)}");
        if (outPath is not null) w.WriteLine($"model saved to {outPath}");
        return 0;
    }
}
