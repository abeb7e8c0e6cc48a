namespace FunctionalNN.Cli;

/// <summary>fnn linear: the notes' least squares (or ridge with --lambda, the intercept not penalised as in scikit-learn's
/// Ridge) on a CSV file, fitted on a training
/// split, with the coefficients by feature name and the training and test R^2. Its model files are read by
/// fnn evaluate and fnn predict.</summary>
public static class LinearCommand
{
    /// <summary>Runs the command.</summary>
    public static int Run(Options o, TextWriter w)
    {
        var dataPath = o.Get("data");
        var datasetName = o.Get("dataset");
        var target = o.GetColumnName("target");
        var features = o.List("features");
        double lambda = o.Double("lambda", 0.0);
        double testFraction = o.Double("test-fraction", 0.2);
        long seed = o.Long("seed", 0);
        var outPath = o.Get("out");
        var format = o.DataFormat();
        bool json = o.Flag("json");
        RefusePipelineOptions(o, null);
        o.CheckAllUsed();
        ImportCommand.CheckModelOut("linear", outPath);
        if (lambda < 0) throw new UsageException($"--lambda must not be negative, not {o.Get("lambda")}");
        if (!(testFraction >= 0 && testFraction < 1)) throw new UsageException($"--test-fraction must lie in [0, 1) (0: fit every row, no test rows), not {o.Get("test-fraction")}");
        if (dataPath is not null && datasetName is not null) throw new UsageException("give --data or --dataset, not both");
        if (datasetName is not null) Options.CheckEmbedded(format, target, datasetName);
        // --features as fnn train reads it: only those columns (and the target) are read, so an ID or text column left
        // out neither enters the fit nor blocks the reading; the model file keeps their names, which evaluate and predict read.
        TrainCommand.CheckFeatures(features);
        var data = dataPath is not null ? Cli.Warn(TrainCommand.LoadWithFeatures(() => LoadNumericTarget(dataPath, target, features, format)))
            : TrainCommand.SelectFeatures(Dataset.Embedded(datasetName ?? throw new UsageException("--data PATH (or --dataset commute) is required")), features);
        if (data.IsClassification) throw new UsageException($"the target {data.TargetName} holds classes; fnn linear fits a numeric target");
        // Text columns hold category indices, not amounts: a least-squares fit on them would be meaningless.
        var text = data.FeatureNames.Where((_, j) => data.Categories[j].Length > 0).ToArray();
        if (text.Length > 0)
            throw new ArgumentException($"fnn linear reads numeric features only, but the column '{text[0]}' holds text; {(features is null ? "leave it out by naming the numeric feature columns with --features A,B" : "name numeric columns only with --features")}, or use fnn train, which one-hot encodes text columns");
        Dataset train = data, test = data;
        if (testFraction > 0)
        {
            var split = data.SplitStratified(testFraction, seed);
            if (split.Test.SampleCount == 0)
                throw new UsageException($"--test-fraction {Fmt.G(testFraction)} leaves no test row of {data.SampleCount}; use a larger fraction, or 0 to fit every row");
            (train, test) = (split.Train, split.Test);
        }
        // --missing mean|median|most_frequent: the training rows' fill values (a pipeline's imputer, fitted as fnn train
        // fits it) fill the training and the test rows, and the model keeps them (below); Drop has left the rows out as
        // the file was read.
        bool imputes = data.Missing is MissingValues.Mean or MissingValues.Median or MissingValues.MostFrequent;
        var fittedOn = train;
        // The training and the test rows together are the data's rows: their missing cells are the data's.
        int filled = imputes ? Report.MissingCells(data) : 0;
        if (filled > 0) (train, test) = (train.FillMissing(fittedOn), test.FillMissing(fittedOn));
        LinearModel model;
        try
        {
            // Ridge as scikit-learn's Ridge fits it (the convention a user with a table expects): the intercept is not
            // penalised, cost 1/(2n) ||X w + b - y||^2 + lambda/2 ||w||^2 on the n training rows (alpha = n lambda).
            model = lambda > 0 ? LinearRegression.FitRidge(train.Features, train.Values, lambda, RidgeForm.InterceptUnpenalized, featureNames: train.FeatureNames)
                : LinearRegression.Fit(train.Features, train.Values, featureNames: train.FeatureNames);
        }
        catch (ArgumentException e) when (e.Message.Contains("use ridge regression (LinearRegression.FitRidge with lambda > 0)"))
        {
            // The library's advice names its C# member; on the command line, ridge regression is --lambda.
            throw new ArgumentException(e.Message.Replace(" (Parameter 'x')", "")
                .Replace("use ridge regression (LinearRegression.FitRidge with lambda > 0)", "use ridge regression (fnn linear --lambda L with L > 0, e.g. --lambda 0.01)")
                .Replace("(the C# members use the default tolerance, 1e-10, and have no option to lower it)", "(fnn linear uses the default tolerance, 1e-10, and has no option to lower it)")
                .Replace(" (for a polynomial, lower the degree)", "")
                .Replace("x has ", "the training data have ") + DroppedNote(data), e);
        }
        catch (ArgumentException e) when (lambda > 0 && e.ParamName == "lambda")
        {
            // The library's refusal of a lambda too small for the data, in the command's terms: --lambda, and each column by
            // its name (the centred design of the unpenalised form has no intercept column: design column j is feature j).
            var message = System.Text.RegularExpressions.Regex.Replace(e.Message.Replace(" (Parameter 'lambda')", ""), "^lambda = [^ ]+ is too small", $"--lambda {Fmt.G(lambda)} is too small")
                .Replace("increase lambda", "increase --lambda");
            for (int j = 0; j < train.FeatureCount; j++) message = message.Replace($"design column {j} (feature {j}, {train.FeatureNames[j]})", $"the column '{train.FeatureNames[j]}'");
            throw new ArgumentException(message, e);
        }
        // The file keeps the target's name, so fnn evaluate and fnn predict need no --target.
        model = model.WithTargetNames(data.TargetName);
        // The fill values go with the model (and its file), so fnn evaluate and fnn predict fill missing cells as the
        // training rows were filled, as a pipeline's imputer does.
        if (imputes) model = model.WithFillValues(fittedOn);
        var trainReport = Scores(model, train);
        var testReport = testFraction > 0 ? Scores(model, test) : null;
        if (outPath is not null) ModelFile.SaveLinear(model, outPath);
        var coef = model.Coefficients;
        if (json)
        {
            var fields = new List<KeyValuePair<string, object?>>
            {
                new("method", lambda > 0 ? "ridge" : "least_squares"),
                new("lambda", lambda),
                // Which weights the ridge penalty acts on: the features' only, never the intercept (null for least squares).
                new("ridge_form", lambda > 0 ? "intercept_unpenalized" : null),
                new("intercept", model.Intercept[0]),
            };
            for (int j = 0; j < data.FeatureCount; j++) fields.Add(new($"coefficient_{data.FeatureNames[j]}", coef[j, 0]));
            fields.Add(new("train_r2", trainReport.R2));
            fields.Add(new("train_mse", trainReport.MeanSquaredError));
            fields.Add(new("train_samples", train.SampleCount));
            // R^2 on a test split (null when it is undefined: fewer than 2 test rows, or none).
            fields.Add(new("r2", testReport?.R2));
            fields.Add(new("mse", testReport?.MeanSquaredError));
            fields.Add(new("test_samples", testFraction > 0 ? test.SampleCount : 0));
            // The missing-value policy, and how many feature cells of the training and test rows it filled (0 unless mean,
            // median or most_frequent).
            fields.Add(new("missing", Names.Snake(data.Missing)));
            fields.Add(new("missing_filled", filled));
            // The rows the policy left out as the file was read (a missing feature under drop, a missing target under any).
            fields.Add(new("missing_dropped", data.Dropped.Count));
            if (outPath is not null) fields.Add(new("model", outPath));
            Report.Json(w, fields);
            return 0;
        }
        w.WriteLine($"{(lambda > 0 ? $"ridge regression (lambda {Fmt.G(lambda)}, intercept not penalised)" : "least squares")} of {data.TargetName} on {Fmt.Count(data.FeatureCount, "feature")}, {Fmt.Count(train.SampleCount, "training row")}{(testFraction > 0 ? $" and {Fmt.Count(test.SampleCount, "test row")} (seed {seed})" : " (every row; no test rows)")}");
        Report.MissingForFit(w, data, filled);
        int width = Math.Max(11, data.FeatureNames.Max(n => n.Length) + 2);
        w.WriteLine($"{"(intercept)".PadRight(width)} {Fmt.G(model.Intercept[0])}");
        for (int j = 0; j < data.FeatureCount; j++) w.WriteLine($"{data.FeatureNames[j].PadRight(width)} {Fmt.G(coef[j, 0])}");
        w.WriteLine($"training {R2(trainReport, train.SampleCount, "training row")}");
        if (testReport is not null) w.WriteLine($"test {R2(testReport, test.SampleCount, "test row")}");
        if (outPath is not null) w.WriteLine($"model saved to {outPath} (fnn evaluate, fnn predict and fnn explain read it)");
        return 0;
    }

    /// <summary>Too few training rows (the library's refusal) because the missing-value policy left rows out of the file: says
    /// so ("--missing drop left out 4 rows of 6 (...)") and how to keep them; "" when it left none out.</summary>
    private static string DroppedNote(Dataset data) => Report.Dropped(data) is string dropped
        ? $" The file has {Fmt.Count(data.SampleCount + data.Dropped.Count, "row")}; --missing {Names.Snake(data.Missing)} left {data.SampleCount}: {dropped}" +
          (data.Missing == MissingValues.Drop ? ": fill the missing cells with --missing mean|median|most_frequent to keep those rows." : ".")
        : "";

    /// <summary>The file with a numeric target (and the --features columns, or all); a target of text (classes) is a usage error naming --target and fnn train,
    /// not a cell error.</summary>
    private static Dataset LoadNumericTarget(string dataPath, string? target, string[]? features, CsvFormat? format)
    {
        try
        {
            return Dataset.LoadCsv(dataPath, target, TargetKind.Regression, features, format: format);
        }
        catch (DataFormatException e) when (e.Line > 1 && TextTarget(dataPath, target, features, format) is { } t && t.TargetName == e.Column)
        {
            throw new UsageException($"linear regression needs a numeric target, but the target column {t.TargetName} (--target) holds text such as '{t.ClassNames[0]}': name a numeric column with --target, or use fnn train for classes");
        }
    }

    /// <summary>The file read by the target rule when that makes its target text classes (else null).</summary>
    private static Dataset? TextTarget(string dataPath, string? target, string[]? features, CsvFormat? format)
    {
        try
        {
            var d = Dataset.LoadCsv(dataPath, target, TargetKind.Auto, features, format: format);
            return d.IsClassification && d.ClassNames.Any(c => !double.TryParse(c, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)) ? d : null;
        }
        catch (DataFormatException) { return null; }
    }

    /// <summary>True when the model keeps fill values (fnn linear --missing mean|median|most_frequent).</summary>
    private static bool Imputes(LinearModel model) => model.FillValues.Count > 0;

    /// <summary>The rows' features, their missing cells filled with the model's fill values when it has them (a model
    /// without them gets the rows as they are, so a missing cell is the error it always was).</summary>
    private static double[,] Filled(LinearModel model, double[,] x) => Imputes(model) ? model.FillMissing(x) : x;

    /// <summary>"R^2 0.99, MSE 0.0016", or below 2 rows, where R^2 is undefined, fnn evaluate's wording: "R^2 undefined (1 training
    /// row; it needs at least 2), MSE 0".</summary>
    private static string R2(RegressionReport r, int rows, string noun) =>
        (rows < 2 ? $"R^2 undefined ({Fmt.Count(rows, noun)}; it needs at least 2)" : $"R^2 {Fmt.G(r.R2)}") + $", MSE {Fmt.G(r.MeanSquaredError)}";

    private static RegressionReport Scores(LinearModel model, Dataset d)
    {
        var yhat = model.PredictValues(Filled(model, d.Features));
        var y = d.Values;
        return new RegressionReport(Metrics.MeanSquaredError(yhat, y), Metrics.MeanAbsoluteError(yhat, y),
            y.Length < 2 ? double.NaN : Metrics.R2(yhat, y));
    }

    /// <summary>True when the model file holds a linear model (fnn linear --out).</summary>
    public static bool IsLinear(string modelPath) => !ImportCommand.IsOnnx(modelPath) && File.Exists(modelPath) && ModelFile.KindOf(modelPath) == "linear";

    /// <summary>Refuses, as a usage error, the options that go with pipeline models only when the model is linear:
    /// --unknown-category (a linear model reads numbers only, no text categories).</summary>
    /// <param name="o">The command's options.</param>
    /// <param name="modelPath">The linear model's file, or null for fnn linear, which fits one.</param>
    public static void RefusePipelineOptions(Options o, string? modelPath)
    {
        if (o.Has("unknown-category"))
            throw new UsageException($"--unknown-category goes with pipeline models, not linear models: {(modelPath is null ? "fnn linear fits a linear model" : $"{modelPath} holds a linear model")}, which reads numbers only (no text categories)");
    }

    /// <summary>Refuses an imputing --missing for a linear model without fill values (it would fail on the first missing
    /// cell), before any reading, as for a pipeline trained without imputation.</summary>
    private static void CheckMissing(LinearModel model, string modelPath, CsvFormat? format)
    {
        if (!Imputes(model) && format is { Missing: MissingValues.Mean or MissingValues.Median or MissingValues.MostFrequent })
            throw new UsageException($"--missing {Names.Snake(format.Missing)}: the linear model {modelPath} has no fill values (it was fitted with --missing error or drop), so it cannot fill missing values; use --missing drop to skip those rows, or refit it with fnn linear --missing mean|median|most_frequent");
    }

    /// <summary>Reads data for a linear model (<paramref name="load"/>); a missing cell that a model without fill values
    /// cannot fill gets the advice that works for this model (the reader's own advice is for training): the one
    /// message of evaluate, predict and explain.</summary>
    private static T ForModel<T>(LinearModel model, Func<T> load)
    {
        try { return load(); }
        catch (DataFormatException e) when (!Imputes(model) && e.Message.Contains("(CLI: --missing drop|mean|median|most_frequent)"))
        {
            var cut = e.Message.IndexOf("; set ", StringComparison.Ordinal);
            var what = cut >= 0 ? e.Message[..cut] : e.Message;
            throw new ModelDataException($"{what}; the linear model was fitted without fill values: use --missing drop to skip the rows with missing values, or refit it with fnn linear --missing mean|median|most_frequent", e);
        }
    }

    /// <summary>The model's feature columns of a file (no target: a target column is not read, whatever it holds), as
    /// numbers, missing cells kept (NaN) for a model with fill values; the data options as evaluate reads them.</summary>
    private static Dataset LoadFeatures(LinearModel model, string modelPath, string dataPath, CsvFormat? format)
    {
        if (model.FeatureNames.Count == 0)
            throw new ArgumentException($"the linear model {modelPath} has no feature names; refit it with fnn linear");
        CheckMissing(model, modelPath, format);
        return ForModel(model, () => Dataset.LoadCsvForPrediction(dataPath, model, format));
    }

    /// <summary>fnn explain's data for a linear model: the file's feature columns (its target not read; --row counts
    /// every row, or the rows kept after --missing drop) or, with <paramref name="labelled"/>, the columns and the
    /// model's target (for permutation importance), with the data options as evaluate reads them; a missing cell is
    /// filled with the model's fill values (an error with evaluate's advice for a model without them). Returns the data
    /// as read and the features as the model predicts from them.</summary>
    public static (Dataset Data, double[,] X) ForExplain(LinearModel model, string modelPath, string dataPath, CsvFormat? format, bool labelled)
    {
        var data = labelled ? Load(model, modelPath, dataPath, null, format) : LoadFeatures(model, modelPath, dataPath, format);
        return (data, Filled(model, data.Features));
    }

    private static Dataset Load(string modelPath, string dataPath, string? target, CsvFormat? format, out LinearModel model)
    {
        model = ModelFile.LoadLinear(modelPath);
        return Load(model, modelPath, dataPath, target, format);
    }

    private static Dataset Load(LinearModel model, string modelPath, string dataPath, string? target, CsvFormat? format)
    {
        var features = model.FeatureNames.Count > 0 ? model.FeatureNames.ToArray() : null;
        // The model's own target (files written by fnn linear keep it), unless --target names another column.
        var own = model.TargetNames.Count == 1 ? model.TargetNames[0] : null;
        // A model without fill values cannot fill a missing cell: an imputing --missing is refused before any reading,
        // as for a pipeline trained without imputation.
        CheckMissing(model, modelPath, format);
        // The features as numbers only (a text cell is the error fnn predict gives, naming its line, column and cell); a
        // model with fill values fills missing cells itself, as a pipeline that imputes does: they are read as missing
        // (unless --missing drop leaves their rows out).
        try
        {
            return ForModel(model, () => Dataset.LoadCsvForModel(dataPath, model, target, format));
        }
        catch (DataFormatException e) when (target is null && own is null && features is not null && e.Line == 1 && features.Contains(e.Column))
        {
            // An older file holds no target name, so the target defaults to the data's last column; when that column is one
            // of the model's features (fnn linear --target on a column other than the last), say which option names it.
            throw new UsageException($"the linear model {modelPath} holds no target name (it was saved by an older version) and the last column of {dataPath}, '{e.Column}', is one of its features: name the target with --target");
        }
    }

    /// <summary>fnn evaluate on a linear model: R^2, MSE and MAE on the file's target (--target, else the target the
    /// model file names, else, for a file saved before it kept the name, the last column; a usage error naming
    /// --target when that last column is one of the model's features).</summary>
    public static int Evaluate(string modelPath, string dataPath, string? target, CsvFormat? format, bool json, TextWriter w)
    {
        var data = Load(modelPath, dataPath, target, format, out var model);
        var r = Scores(model, data);
        if (json)
        {
            Report.Json(w, new List<KeyValuePair<string, object?>>
            {
                new("task", "regression"), new("r2", r.R2), new("mse", r.MeanSquaredError), new("mae", r.MeanAbsoluteError), new("samples", data.SampleCount),
            });
            return 0;
        }
        w.WriteLine($"model: {modelPath} (linear); data: {Path.GetFileName(dataPath)}, {data}");
        Report.MissingForModel(w, data, model.Missing);
        Report.Regression(w, r, data.SampleCount, "");
        return 0;
    }

    /// <summary>fnn predict on a linear model: the model's feature columns and a column predicted_&lt;target&gt;
    /// (the target the model file names, or --target; "predicted" for an older file without it). The data options are
    /// evaluate's: the file's separator, quote, header and missing-value markers, and --missing (drop leaves out the rows
    /// with a missing cell; a model with fill values fills them).</summary>
    public static int Predict(string modelPath, string dataPath, string? target, CsvFormat? format, string? outPath, TextWriter w)
    {
        var model = ModelFile.LoadLinear(modelPath);
        var names = model.FeatureNames.ToArray();
        // A model with fill values reads missing cells as missing and fills them (as a pipeline that imputes does; the
        // cell is written empty, as read); without them, the features must be numbers, every one (or --missing drop).
        var data = LoadFeatures(model, modelPath, dataPath, format);
        // Fewer predictions than the file has rows: said on stderr (stdout may be the predictions), as for a pipeline.
        Report.WarnDropped(data);
        var x = data.Features;
        var yhat = model.PredictValues(Filled(model, x));
        var own = target ?? (model.TargetNames.Count == 1 ? model.TargetNames[0] : null);
        var header = names.Append(own is null ? "predicted" : $"predicted_{own}");
        var rows = Enumerable.Range(0, yhat.Length)
            .Select(i => Enumerable.Range(0, names.Length).Select(j => double.IsNaN(x[i, j]) ? "" : Fmt.Cell(x[i, j])).Append(Fmt.Cell(yhat[i])).ToArray());
        var text = PredictCommand.CsvText(header, rows, format);
        if (outPath is null) w.Write(text);
        else
        {
            Functional.NN.ModelFile.writeAtomic(outPath, new System.Text.UTF8Encoding(false).GetBytes(text));
            Cli.Status($"{Fmt.Count(yhat.Length, "prediction")} written to {outPath}");
        }
        return 0;
    }
}
