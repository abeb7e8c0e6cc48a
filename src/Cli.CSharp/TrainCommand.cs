namespace FunctionalNN.Cli;

/// <summary>fnn train: data -> split -> fit -> test metrics (+ model file, plots, JSON).</summary>
public static class TrainCommand
{
    /// <summary>Runs the command.</summary>
    public static int Run(Options o, TextWriter w)
    {
        var dataPath = o.Get("data");
        var datasetName = o.Get("dataset");
        var target = o.GetColumnName("target");
        var task = Names.ParseTask(o.Get("task", "auto")!);
        var features = o.List("features");
        // Every default is the library's (PipelineOptions' and TrainingOptions', the core's); an option given replaces one.
        var fitDefaults = new PipelineOptions();
        var layersText = o.Get("layers", string.Join(",", fitDefaults.HiddenLayers))!;
        var activation = o.Get("activation") is string an ? Names.ParseActivation(an) : fitDefaults.Activation;
        var loss = o.Get("loss") is string ln ? Names.ParseLoss(ln) : (Loss?)null;
        var defaults = new TrainingOptions();
        var optimizer = o.Get("optimizer") is string optimizerName ? Names.ParseOptimizer(optimizerName) : defaults.Optimizer;
        var batchText = o.Get("batch-size");
        bool fullBatch = batchText?.Trim().ToLowerInvariant() is "full" or "all";
        int batchSize = batchText is null || fullBatch ? 0 : o.Int("batch-size", 0);
        if (batchText is not null && !fullBatch && batchSize <= 0)
            throw new UsageException($"--batch-size must be a positive number of rows, or 'full' for full-batch gradient descent, not '{batchText}'");
        double? lr = o.Has("lr") ? o.Double("lr", 0) : null;
        int epochs = o.Int("epochs", defaults.MaxEpochs);
        var scaling = o.Get("scaling") is string sn ? Names.ParseScaling(sn) : fitDefaults.Scaling;
        long seed = o.Long("seed", fitDefaults.Seed);
        double testFraction = o.Double("test-fraction", 0.2);
        double validationFraction = o.Double("validation-fraction", fitDefaults.ValidationFraction);
        var patienceText = o.Get("patience");
        int? patience = patienceText is null ? defaults.EarlyStoppingPatience
            : patienceText.Trim().ToLowerInvariant() is "off" or "none" ? null
            : o.Int("patience", 0) is var pv && pv > 0 ? pv
            : throw new UsageException($"--patience needs a positive number of epochs, or 'off', not '{patienceText}'");
        var precisionText = o.Get("precision", "float64")!;
        var precision = precisionText.Trim().ToLowerInvariant() switch
        {
            "float64" or "double" => Precision.Float64,
            "float32" or "single" or "float" => Precision.Float32,
            _ => throw new UsageException($"--precision needs float64 or float32, not '{precisionText}'"),
        };
        var backendText = o.Get("backend", "auto")!;
        var backend = backendText.Trim().ToLowerInvariant() switch
        {
            "auto" => Backend.Auto,
            "kernels" => Backend.Kernels,
            "reference" => Backend.Reference,
            _ => throw new UsageException($"--backend needs auto, kernels or reference, not '{backendText}'"),
        };
        var dropoutText = o.Get("dropout");
        var normalizationText = o.Get("normalization");
        bool residual = o.Flag("residual");
        var outPath = o.Get("out");
        var plots = o.Get("plots");
        var format = o.DataFormat();
        var unknown = o.Unknown();
        bool json = o.Flag("json");
        bool quiet = o.Flag("quiet");
        o.CheckAllUsed();
        ImportCommand.CheckModelOut("train", outPath);

        if (dataPath is not null && datasetName is not null) throw new UsageException("give --data or --dataset, not both");
        if (epochs <= 0) throw new UsageException($"--epochs must be positive, not {o.Get("epochs")}");
        if (lr is double lrv && !(lrv > 0)) throw new UsageException($"--lr must be positive (the step size), not {o.Get("lr")}");
        // Checked before the data are read and the summary is printed, naming the option (not the library's property).
        if (!(testFraction > 0 && testFraction < 1)) throw new UsageException($"--test-fraction must lie strictly between 0 and 1, not {o.Get("test-fraction")}");
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new UsageException($"--validation-fraction must lie in [0, 1) (the share of training rows held out for the validation loss), not {Fmt.G(validationFraction)}");
        int[] layers;
        try
        {
            // "0" is refused below (a width of 0 is no layer, not a way to say none): "none" or "" means no hidden layer.
            layers = layersText.Trim().ToLowerInvariant() is "" or "none" ? Array.Empty<int>()
                : layersText.Split(',', StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        }
        catch (FormatException) { throw new UsageException($"--layers needs widths like 16,16, not '{layersText}'"); }
        catch (OverflowException) { throw new UsageException($"--layers needs widths like 16,16, not '{layersText}'"); }
        if (layers.Any(x => x <= 0))
            throw new UsageException($"--layers needs positive widths, not '{layersText}' (for no hidden layer, a linear model of the scaled features, give --layers none)");
        var (dropout, normalization) = Blocks(dropoutText, normalizationText, residual, layers, batchSize);

        // The output paths are checked before any training, so that a typo costs no training run.
        if (outPath is not null)
        {
            // A folder, or a folder that does not exist, is refused by CheckModelOut above (Cli.CheckOut).
            var full = Path.GetFullPath(outPath);
            var folder = Path.GetDirectoryName(full);
            // A read-only model file is not replaced by the save (ModelFile's rule); refused here, not after training.
            if (File.Exists(full) && IsReadOnly(full))
                throw new IOException($"--out {outPath} is read-only, so the trained model could not replace it; make it writable or give another path");
            if (folder is not null) CheckWritable(folder, $"--out {outPath}");
        }
        if (plots is not null) PreparePlotsFolder(plots);

        CheckFeatures(features);
        Dataset data;
        if (dataPath is not null)
            data = Cli.Warn(LoadWithFeatures(() => Dataset.LoadCsv(dataPath, target, task, features, format: format)));
        else
        {
            Options.CheckEmbedded(format, target, datasetName);
            data = SelectFeatures(Dataset.Embedded(datasetName ?? "iris"), features);
        }
        // A loss that does not suit the target, named in the command line's terms (exit 2), before any split or work.
        if (loss is Loss l && !data.IsClassification && l is not (Loss.MeanSquaredError or Loss.HalfMeanSquaredError))
            throw new UsageException($"--loss {o.Get("loss")!.Trim()} is a classification loss, but the target '{data.TargetName}' is numeric (regression); use --loss mse or half_mse, or --task classification to read the target as classes");
        var split = Split(data, testFraction, seed);
        // The rows the network is trained on: the training part less the validation rows the fit holds out (the same
        // split: PipelineFit.splitValidation draws it with the seed from the training part, stratified for classes, as
        // SplitStratified does), so that the check below sees what is learnt from.
        var fitRows = split.Train;
        if (validationFraction > 0)
        {
            try { fitRows = split.Train.SplitStratified(validationFraction, seed).Train; }
            catch (Exception e) when (e is ArgumentException { ParamName: "testFraction" } or InvalidOperationException)
            {
                throw new ArgumentException($"--validation-fraction {Fmt.G(validationFraction)} leaves no validation row: the {split.Train.SampleCount} training rows{(split.Train.IsClassification ? " hold no class with 2 rows or more" : " are too few")}; add rows, or give --validation-fraction 0 for no validation set");
            }
        }
        RefuseNothingToLearn(fitRows, validationFraction > 0 ? $" (after --validation-fraction {Fmt.G(validationFraction)} holds out {split.Train.SampleCount - fitRows.SampleCount} of the {split.Train.SampleCount} training rows)" : "");

        var options = new PipelineOptions
        {
            HiddenLayers = layers,
            Activation = activation,
            Loss = loss,
            Scaling = scaling,
            Seed = seed,
            ValidationFraction = validationFraction,
            Precision = precision,
            Dropout = dropout,
            Normalization = normalization,
            Residual = residual,
            Training = defaults with
            {
                Batching = fullBatch ? Batching.FullBatch : batchSize > 0 ? Batching.MiniBatch(batchSize) : defaults.Batching,
                Schedule = lr is double rate ? Schedule.Constant(rate) : defaults.Schedule,
                Optimizer = optimizer,
                MaxEpochs = epochs,
                Seed = seed,
                EarlyStoppingPatience = patience,
                Backend = backend,
            },
        };
        var name = dataPath is not null ? Path.GetFileName(dataPath) : datasetName ?? "iris";
        // The network is drawn before anything is printed, so that layers too wide for memory are a usage error naming
        // --layers (exit code 2, as every bad option value), not the library's property.
        Pipeline untrained;
        try { untrained = Pipeline.Untrained(split.Train, options); }
        catch (ArgumentException e) when (e.ParamName == nameof(PipelineOptions.HiddenLayers))
        {
            throw new UsageException($"--layers {layersText}: {e.Message.Replace($" (Parameter '{e.ParamName}')", "")}");
        }
        if (!json && !quiet)
        {
            w.WriteLine($"data: {name}, {data}; {split.Train.SampleCount} training and {split.Test.SampleCount} test rows (seed {seed})");
            w.WriteLine($"task: {data.TaskReason}");
            Report.Summary(w, untrained);
            foreach (var line in untrained.Describe().Where(l => l.StartsWith("text columns") || l.StartsWith("missing values"))) w.WriteLine(line);
            // What the missing-value policy did: the rows it left out, the cells the imputer fills (training and test rows).
            Report.MissingForFit(w, data, Report.MissingCells(data));
            var t = options.Training;
            var plateau = t.EarlyStoppingPatience is int pt
                ? $"; stop after {Fmt.Count(pt, "epoch")} without an improvement of {Fmt.G(t.EarlyStoppingMinDelta)} in the {(validationFraction > 0 ? "validation" : "training")} loss"
                : "";
            w.WriteLine($"training: {optimizer}, step {t.Schedule}, {t.Batching}, at most {Fmt.Count(epochs, "epoch")}{plateau}");
        }
        var progress = new EpochProgress(w, epochs, terminal: !Console.IsOutputRedirected && ReferenceEquals(w, Console.Out), quiet: json || quiet);
        // Ctrl-C (SIGINT) stops training before the next step; what was trained is saved and reported below,
        // and the exit code is 130. A second Ctrl-C is left to end the process.
        using var interrupt = new CancellationTokenSource();
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, ctx =>
        {
            if (interrupt.IsCancellationRequested) return;
            ctx.Cancel = true;
            interrupt.Cancel();
        });
        PipelineFitResult fit;
        try { fit = Pipeline.Fit(split.Train, options, progress, interrupt.Token); }
        catch (ArgumentException e) when (e.ParamName == nameof(TrainingOptions.Batching) && normalization == Normalization.Batch)
        {
            // The library's refusal of a batch of one row for batch normalisation (a last batch of 1 row: the training
            // rows, after the test and validation rows are held out, leave 1 row over), in the command line's words.
            var why = e.Message.Replace($" (Parameter '{e.ParamName}')", "");
            int at = why.IndexOf("the options give ", StringComparison.Ordinal);
            var what = at >= 0 ? why[(at + "the options give ".Length)..].Split(". ")[0] : why;
            // The block by the number the summary printed for it ("Block 1 holds batch normalisation").
            var block = System.Text.RegularExpressions.Regex.Match(why, @"^Block (\d+) ");
            throw new UsageException($"--normalization batch{(block.Success ? $" (block {block.Groups[1].Value})" : "")} needs at least 2 rows in every training batch (it normalises by the batch's variance), but --batch-size {(fullBatch ? "full" : batchSize > 0 ? batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture) : "(the default)")} gives {what}; choose another --batch-size, or --normalization layer");
        }
        progress.Finish(fit.Epochs);
        bool interrupted = fit.StopReason == StopReason.Cancelled;
        var model = unknown is { } u ? fit.Model.WithUnknownCategory(u) : fit.Model;
        // The model is saved first: nothing after the training (the test report, the plots) can lose it.
        if (outPath is not null) model.Save(outPath);
        // A category of the test rows that the training rows lack is all zeros in the test metrics, as the fit encodes
        // the validation rows (the saved model keeps its own rule, --unknown-category), and a warning says so.
        var unseen = UnseenCategories(model, split.Test);
        WarnUnseen(unseen, "test row", "the training rows do not", "the test metrics",
            model.UnknownCategory == UnknownCategory.Zeros
                ? ", as the saved model encodes them (--unknown-category zeros)"
                : ", though the saved model refuses them (--unknown-category error; give --unknown-category zeros to predict such rows)");
        var evaluation = model.WithUnknownCategory(UnknownCategory.Zeros).Evaluate(split.Test);
        // The training loss of the model evaluated and saved (the best epoch's under the plateau stop on a validation
        // loss, whatever rule ended the run), in the
        // units of the printed losses.
        double finalLoss = fit.TrainLoss;
        var restored = fit.BestEpoch is int be ? $"; best epoch {be} restored" : "";

        if (json)
        {
            var fields = new List<KeyValuePair<string, object?>>
            {
                new("task", model.IsClassifier ? "classification" : "regression"),
            };
            if (evaluation.IsClassification && evaluation.Classification is { } c)
            {
                fields.Add(new("accuracy", c.Accuracy));
                fields.Add(new("macro_f1", c.MacroF1));
                fields.Add(new("log_loss", c.LogLoss));
                fields.Add(new("classes", c.ClassNames));
                fields.Add(new("confusion_matrix", c.ConfusionMatrix));
            }
            if (evaluation.IsRegression && evaluation.Regression is { } r)
            {
                fields.Add(new("r2", Report.R2(r, split.Test.SampleCount)));
                fields.Add(new("mse", r.MeanSquaredError));
                fields.Add(new("mae", r.MeanAbsoluteError));
            }
            fields.Add(new("loss", finalLoss));
            fields.Add(new("best_epoch", fit.BestEpoch));
            fields.Add(new("epochs", fit.Epochs));
            fields.Add(new("stop_reason", Names.Snake(fit.StopReason)));
            fields.Add(new("backend", fit.Backend.ToString().ToLowerInvariant()));
            fields.Add(new("seconds", fit.Seconds));
            fields.Add(new("test_samples", split.Test.SampleCount));
            fields.Add(new("unseen_categories", unseen.Select(x => new Dictionary<string, object> { ["column"] = x.Column, ["category"] = x.Category, ["test_rows"] = x.Rows }).ToArray()));
            if (outPath is not null) fields.Add(new("model", outPath));
            Report.Json(w, fields);
            // The plots after the report: a plot that fails loses neither the model nor the report.
            bool plotted = WritePlots(plots, fit, evaluation, split, null);
            return interrupted ? 130 : plotted ? 0 : 1;
        }
        if (interrupted) w.WriteLine($"interrupted (Ctrl-C) in epoch {fit.Epochs + 1}: the model trained so far{(validationFraction > 0 && patience is not null ? " (its best epoch by the validation loss)" : "")} is reported{(outPath is not null ? " and saved" : "")}");
        w.WriteLine($"stopped: {Names.Snake(fit.StopReason)} after {Fmt.Count(fit.Epochs, "epoch")} ({Fmt.Count(fit.Steps, "step")}) in {Fmt.G(fit.Seconds, 3)} s on the {fit.Backend.ToString().ToLowerInvariant()} backend{restored}; final training loss {Fmt.G(finalLoss)}{LossUnits(model)}");
        w.WriteLine();
        if (evaluation.IsClassification && evaluation.Classification is { } cr) Report.Classification(w, cr, split.Test.SampleCount, "test");
        if (evaluation.IsRegression && evaluation.Regression is { } rr) Report.Regression(w, rr, split.Test.SampleCount, "test");
        if (outPath is not null) w.WriteLine($"\nmodel saved to {outPath}");
        bool written = WritePlots(plots, fit, evaluation, split, w);
        return interrupted ? 130 : written ? 0 : 1;
    }

    /// <summary>Writes the plots of --plots after the report: each written one is listed on <paramref name="w"/> (the
    /// text report; null for --json), a plot that does not suit the data is skipped with a warning, and one that fails
    /// is an error line on stderr. False when one failed (the exit code is then 1; the model and the report are out).</summary>
    private static bool WritePlots(string? plots, PipelineFitResult fit, Evaluation evaluation, DatasetSplit split, TextWriter? w)
    {
        if (plots is null) return true;
        var result = Plots.ForTraining(plots, fit, evaluation, split);
        foreach (var p in result.Written) w?.WriteLine($"plot written: {p}");
        foreach (var note in result.Skipped) Cli.Warn(note);
        foreach (var failure in result.Failed) Cli.Error(failure);
        return result.Failed.Count == 0;
    }

    /// <summary>A text category of the rows (train's test rows; evaluate's and predict's data) that the model's
    /// training rows did not have, and how many rows hold it.</summary>
    /// <param name="Column">The model's text column.</param>
    /// <param name="Category">The category.</param>
    /// <param name="Rows">How many rows hold it.</param>
    public sealed record Unseen(string Column, string Category, int Rows);

    /// <summary>The rows' categories that the model's training rows lack, per text column (the model's order),
    /// each column's categories in ordinal order; missing cells are not categories. The rows are train's test rows or
    /// data read for the model (its feature columns, in its order).</summary>
    public static List<Unseen> UnseenCategories(Pipeline model, Dataset test)
    {
        var found = new List<Unseen>();
        var known = model.Categories;
        for (int k = 0; k < model.FeatureNames.Length; k++)
        {
            if (known[k].Length == 0) continue;
            // Data read for the model hold its columns in its order (named as the file spells them).
            int j = test.FeatureCount == model.FeatureNames.Length ? k : Array.IndexOf(test.FeatureNames, model.FeatureNames[k]);
            if (j < 0) continue;
            var categories = new HashSet<string>(known[k], StringComparer.Ordinal);
            var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < test.SampleCount; i++)
            {
                var text = test.CellText(i, j);
                if (text.Length == 0 || categories.Contains(text)) continue;
                counts[text] = counts.TryGetValue(text, out var c) ? c + 1 : 1;
            }
            found.AddRange(counts.Select(p => new Unseen(model.FeatureNames[k], p.Key, p.Value)));
        }
        return found;
    }

    /// <summary>One warning line per text column whose rows hold categories the model's training rows lack: the column,
    /// the categories (at most 12 named) with their rows, and what the results (<paramref name="results"/>, "the test
    /// metrics") and the model (<paramref name="rule"/>) do with them. The one wording of train (its test rows),
    /// evaluate and predict (their data, under --unknown-category zeros).</summary>
    /// <param name="unseen">The categories (<see cref="UnseenCategories"/>).</param>
    /// <param name="row">What a row is called: "test row", or "row".</param>
    /// <param name="known">Whom the categories are unknown to: "the training rows do not".</param>
    /// <param name="results">What encodes them: "the test metrics", "the metrics", "the predictions".</param>
    /// <param name="rule">The end of the line: what the model does with them.</param>
    public static void WarnUnseen(List<Unseen> unseen, string row, string known, string results, string rule)
    {
        foreach (var column in unseen.GroupBy(x => x.Column))
        {
            var all = column.ToArray();
            var named = string.Join(", ", all.Take(12).Select(x => $"'{x.Category}' ({Fmt.Count(x.Rows, row)})"));
            if (all.Length > 12) named += $", ... ({all.Length} categories in {Fmt.Count(all.Sum(x => x.Rows), row)} in all)";
            Cli.Warn($"the {row}s of column '{column.Key}' hold {(all.Length == 1 ? "a category" : "categories")} {known}: {named}; {results} encode {(all.Length == 1 ? "it" : "them")} as all zeros in the column's one-hot inputs{rule}");
        }
    }

    /// <summary>Under --unknown-category zeros (given, or the model's own), one warning line per text column of
    /// <paramref name="data"/> (read for the model by evaluate or predict) with categories the model was not trained on,
    /// as train warns for its test rows.</summary>
    public static void WarnUnseen(Pipeline model, Dataset data, string results)
    {
        if (model.UnknownCategory != UnknownCategory.Zeros) return;
        WarnUnseen(UnseenCategories(model, data), "row", "the model's training rows did not", results, " (--unknown-category zeros)");
    }

    /// <summary>What a regressor's printed loss is (the pipeline reports squared losses in the target's units,
    /// PipelineFitResult.History); nothing for a classifier.</summary>
    private static string LossUnits(Pipeline model) => model.IsClassifier ? "" : model.Loss switch
    {
        Loss.MeanSquaredError => " (MSE in the target's units)",
        Loss.HalfMeanSquaredError => " (half MSE in the target's units)",
        _ => " (on the standardised target)",
    };

    /// <summary>Refuses a --features list that names a column twice (fnn train and fnn linear).</summary>
    public static void CheckFeatures(string[]? features)
    {
        if (features is null) return;
        // --features '' (or only commas) names no column: not "every column" and not a reading error about the file.
        if (features.Length == 0)
            throw new UsageException("--features names no column; give the feature columns, e.g. --features A,B, or leave --features out to use every column but the target");
        for (int k = 1; k < features.Length; k++)
            if (Array.IndexOf(features, features[k], 0, k) is var first && first >= 0)
                throw new UsageException($"--features names the column '{features[k]}' twice (entries {first + 1} and {k + 1}); name each feature once");
    }

    /// <summary>Reads a file with the --features columns (<paramref name="load"/> passes them to the reader, as
    /// <c>LoadCsv(..., features:)</c> reads them: only those columns and the target are read, so a column the model does not
    /// use neither blocks the reading, with a missing cell or text, nor drops rows under --missing drop); a name that
    /// finds no column, or several ignoring case, is an error naming --features (fnn train and fnn linear).</summary>
    public static Dataset LoadWithFeatures(Func<Dataset> load)
    {
        try { return Cli.NamesFrom(load, ("features: the column name '", "--features: the column name '")); }
        catch (DataFormatException e) when (e.Message.Contains("features[", StringComparison.Ordinal))
        {
            // The reader's parameter entries (a name selected twice ignoring case: "(features[0] and features[1])") as
            // the entries of --features, counted from 1 as CheckFeatures counts them.
            throw new ModelDataException(FeatureEntries(e.Message, "features"), e);
        }
    }

    /// <summary>A library message about entries of a list parameter (<c>features[0]</c>, <c>names[1]</c>) with the entries
    /// of --features instead, counted from 1: "(entries 1 and 2 of --features)", "entry 2 of --features".</summary>
    private static string FeatureEntries(string message, string parameter)
    {
        var p = System.Text.RegularExpressions.Regex.Escape(parameter);
        message = System.Text.RegularExpressions.Regex.Replace(message, $@"{p}\[(\d+)\] and {p}\[(\d+)\]",
            m => $"entries {int.Parse(m.Groups[1].Value) + 1} and {int.Parse(m.Groups[2].Value) + 1} of --features");
        return System.Text.RegularExpressions.Regex.Replace(message, $@"{p}\[(\d+)\]", m => $"entry {int.Parse(m.Groups[1].Value) + 1} of --features");
    }

    /// <summary>The --features columns of an embedded data set (all when <paramref name="features"/> is null); an unknown
    /// name is an error naming its entry of --features (fnn train and fnn linear).</summary>
    public static Dataset SelectFeatures(Dataset data, string[]? features)
    {
        if (features is null) return data;
        // The checks of the --data path, against the data set's columns: the target named as a feature, a name that is
        // no column (with the column it is probably a typo of).
        foreach (var f in features)
        {
            if (string.Equals(f, data.TargetName, StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--features names the column '{f}', which is the target of the data set (its target is {data.TargetName}); a column cannot be both a feature and the target: leave it out of --features.");
            if (!data.FeatureNames.Any(n => string.Equals(n, f, StringComparison.OrdinalIgnoreCase)))
            {
                var near = Options.DidYouMean(f, data.FeatureNames.ToArray());
                throw new UsageException($"--features: the column name '{f}' matches no column of the data set; its feature columns are {string.Join(", ", data.FeatureNames)}{(near is null ? "" : $"; did you mean '{near}'?")}");
            }
        }
        try { return data.SelectFeatures(features); }
        catch (ArgumentException e) when (e.ParamName == "names")
        {
            throw new ArgumentException(FeatureEntries(e.Message.Replace($" (Parameter '{e.ParamName}')", ""), "names"));
        }
    }

    /// <summary>Makes the folder of --plots (or refuses it in one line naming the option): a path that is a file, a
    /// folder that cannot be created (a read-only file system, /proc, no permission) or that takes no new file. fnn train
    /// calls it before training, fnn explain before reading the data.</summary>
    public static void PreparePlotsFolder(string plots)
    {
        if (File.Exists(plots)) throw new IOException($"--plots {plots} is a file; give a folder");
        try { Directory.CreateDirectory(plots); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // .NET reports a refused mkdir in /proc as "Could not find file": say what it means for the option instead.
            var why = e switch
            {
                UnauthorizedAccessException => "permission denied",
                FileNotFoundException or DirectoryNotFoundException => "the file system does not allow a new folder there",
                _ => e.Message,
            };
            throw new IOException($"--plots {plots}: the folder cannot be created or written ({why}); give a writable folder");
        }
        CheckWritable(plots, $"--plots {plots}");
    }

    /// <summary>True when a file may not be written (its owner's write permission, or Windows' read-only attribute).</summary>
    private static bool IsReadOnly(string path)
    {
        if (OperatingSystem.IsWindows()) return File.GetAttributes(path).HasFlag(FileAttributes.ReadOnly);
        return !File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserWrite);
    }

    /// <summary>Creates and deletes a probe file in <paramref name="folder"/>, so that a folder that takes no new file
    /// fails before training rather than at the save.</summary>
    private static void CheckWritable(string folder, string option)
    {
        var probePath = Path.Combine(folder, $".fnn-probe-{Guid.NewGuid():N}");
        try
        {
            using var probe = new FileStream(probePath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The reason without the probe's own name, which the user never gave ("Access to the path '...' is denied.").
            var reason = e is FileNotFoundException
                ? "the file system does not allow a new file there"
                : e.Message.Replace($" : '{probePath}'", "").Replace($" '{probePath}'", "").Replace(probePath, "the new file");
            throw new IOException($"{option}: the folder {folder} does not take a new file ({reason})");
        }
    }

    /// <summary>Refuses, before the summary and any training, training rows with nothing to learn: a single class
    /// (a classifier needs two), or a numeric target with one value in every row (its R^2 is undefined). An empty
    /// test part is refused by the split itself, and --batch-size 0 by the option's parsing.</summary>
    /// <param name="train">The rows the network is fitted on (after the validation rows are held out).</param>
    /// <param name="held">How the validation split made them, for the message ("" without one).</param>
    private static void RefuseNothingToLearn(Dataset train, string held)
    {
        if (train.IsClassification)
        {
            var present = train.Labels.Distinct().Select(k => train.ClassNames[k]).ToArray();
            if (present.Length < 2)
                throw new ArgumentException($"the training rows{held} hold only {present.Length} class ({string.Join(", ", present)}) of the target '{train.TargetName}'; a classifier needs at least two classes");
        }
        else if (train.Values is { Length: > 0 } y && y.All(v => v.Equals(y[0])))
            throw new ArgumentException($"the target '{train.TargetName}' is {Fmt.G(y[0])} in {(y.Length == 1 ? "the only training row" : $"every training row ({y.Length} rows)")}{held}: there is nothing to learn (a regression needs a target that varies; a classifier needs at least two classes)");
    }

    /// <summary>The train/test split of --test-fraction; a split that leaves no test row is refused naming what the
    /// command line offers (more rows, another --test-fraction), not the library's other splits.</summary>
    private static DatasetSplit Split(Dataset data, double testFraction, long seed)
    {
        try { return data.SplitStratified(testFraction, seed); }
        catch (ArgumentException e) when (e.ParamName is "testFraction" or "data" && data.IsClassification)
        {
            throw new ArgumentException($"--test-fraction {Fmt.G(testFraction)} leaves no test row: no class of the {data.SampleCount} rows has 2 rows or more, and the split (stratified by class) never takes a class's only row; add rows");
        }
    }

    /// <summary>Checks --dropout, --normalization and --residual against --layers and --batch-size.</summary>
    private static (double Dropout, Normalization Normalization) Blocks(string? dropoutText, string? normalizationText, bool residual, int[] layers, int batchSize)
    {
        double dropout = 0;
        if (dropoutText is not null)
        {
            if (!double.TryParse(dropoutText, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out dropout))
                throw new UsageException($"--dropout needs a rate in [0, 1), not '{dropoutText}'");
            if (!(dropout >= 0 && dropout < 1))
                throw new UsageException($"--dropout needs a rate in [0, 1) (the fraction of values dropped in training), not '{dropoutText}'");
        }
        var normalization = normalizationText?.Trim().ToLowerInvariant() switch
        {
            null or "none" => Normalization.None,
            "batch" or "batchnorm" => Normalization.Batch,
            "layer" or "layernorm" => Normalization.Layer,
            _ => throw new UsageException($"--normalization needs none, batch or layer, not '{normalizationText}'"),
        };
        if (layers.Length == 0)
        {
            if (dropout > 0) throw new UsageException("--dropout goes after hidden layers, but --layers gives none");
            if (normalization != Normalization.None) throw new UsageException("--normalization goes before hidden activations, but --layers gives no hidden layer");
        }
        if (residual && !layers.Zip(layers.Skip(1)).Any(p => p.First == p.Second))
            throw new UsageException($"--residual adds skip connections around consecutive hidden layers of equal width, but {(layers.Length == 0 ? "--layers gives no hidden layer" : $"--layers {string.Join(",", layers)} has none")} (try --layers 16,16,16)");
        if (normalization == Normalization.Batch && batchSize == 1)
            throw new UsageException("--normalization batch needs batches of at least 2 rows (it normalises by the batch's variance); use --batch-size 2 or more, or --normalization layer");
        return (dropout, normalization);
    }
}
