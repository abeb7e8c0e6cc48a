namespace FunctionalNN.Cli;

/// <summary>fnn explain: why a saved model (a pipeline, or a linear model of fnn linear) decided what it decided. Per
/// row: integrated gradients (default) or gradient x input, per feature, toward the predicted class (or --class);
/// globally: permutation importance.</summary>
public static class ExplainCommand
{
    /// <summary>Runs the command.</summary>
    public static int Run(Options o, TextWriter w)
    {
        var modelPath = o.Require("model", "MODEL");
        var dataPath = o.Get("data");
        var datasetName = o.Get("dataset");
        var method = o.Get("method", "integrated_gradients")!;
        // The one check of --method, for pipelines and linear models alike, before the options that depend on it.
        if (method is not ("integrated_gradients" or "gradient_x_input" or "permutation"))
            throw new UsageException($"unknown --method '{method}'; use integrated_gradients, gradient_x_input or permutation");
        bool rowGiven = o.Has("row");
        int row = o.Int("row", 0);
        var className = o.Get("class");
        int? steps = o.Has("steps") ? o.Int("steps", 0) : null;
        bool toleranceGiven = o.Has("tolerance");
        double tolerance = o.Double("tolerance", DefaultTolerance);
        bool repeatsGiven = o.Has("repeats");
        int repeats = o.Int("repeats", 5);
        bool seedGiven = o.Has("seed");
        long seed = o.Long("seed", 0);
        bool json = o.Flag("json");
        var plots = o.Get("plots");
        bool outputGiven = o.Has("output");
        var output = o.Get("output", "probability")!;
        if (output is not ("probability" or "logit")) throw new UsageException($"--output '{output}': use probability or logit");
        var backendText = o.Get("backend");
        var backend = (backendText ?? "auto").Trim().ToLowerInvariant() switch
        {
            "auto" => Backend.Auto,
            "kernels" => Backend.Kernels,
            "reference" => Backend.Reference,
            _ => throw new UsageException($"--backend needs auto, kernels or reference, not '{backendText}'"),
        };
        // Usage errors naming the option, before the model is read (the library's own checks would name its parameters
        // and members, Explanations.MaxSteps and MaxRepeats, after the data were read).
        if (steps is < 1) throw new UsageException($"--steps must be at least 1, not {steps}");
        if (steps is > Explanations.MaxSteps)
            throw new UsageException($"--steps must be at most {Explanations.MaxSteps} (Gauss-Legendre nodes per segment; past a few hundred the rule is exact to rounding), not {steps}");
        // (o.Double refuses a value that is not a finite number, naming --tolerance.)
        if (!(tolerance > 0))
            throw new UsageException($"--tolerance must be positive (the completeness gap the quadrature stops at, relative to the output's scale), not {Fmt.G(tolerance)}");
        if (repeats < 1) throw new UsageException($"--repeats must be at least 1, not {repeats}");
        if (repeats > Explanations.MaxRepeats)
            throw new UsageException($"--repeats must be at most {Explanations.MaxRepeats} (shuffles per feature; the mean drop's standard error falls as 1/sqrt(repeats)), not {repeats}");
        // An option the method does not use is a usage error, not silently ignored (as --backend with permutation).
        if (steps is not null && method is "gradient_x_input" or "permutation")
            throw new UsageException($"--steps is for --method integrated_gradients (its Gauss-Legendre nodes per segment); --method {method} takes none");
        if (toleranceGiven && method is "gradient_x_input" or "permutation")
            throw new UsageException($"--tolerance is for --method integrated_gradients (the gap its quadrature stops at, relative to the output's scale); --method {method} takes none");
        if (repeatsGiven && method is "integrated_gradients" or "gradient_x_input")
            throw new UsageException($"--repeats is for --method permutation (shuffles per feature); --method {method} takes none");
        if (seedGiven && method is "integrated_gradients" or "gradient_x_input")
            throw new UsageException($"--seed is for --method permutation (the seed of its shuffles); --method {method} draws nothing at random and takes none");
        if (method is "permutation")
        {
            // Permutation importance scores the whole data against the target: no row, no class, no output to choose.
            var unused = new[] { (rowGiven, "--row"), (className is not null, "--class"), (outputGiven, "--output") }.Where(u => u.Item1).Select(u => u.Item2).ToArray();
            if (unused.Length > 0)
                throw new UsageException($"{string.Join(", ", unused)} {(unused.Length == 1 ? "is" : "are")} for the gradient methods (integrated_gradients, gradient_x_input), which explain one row; --method permutation scores every row against the target and takes none");
        }
        // The data options, as fnn predict and fnn evaluate read them.
        var format = o.DataFormat();
        var unknown = o.Unknown();
        o.CheckAllUsed();
        if (dataPath is null && datasetName is null) throw new UsageException("--data PATH (or --dataset NAME) is required");
        if (dataPath is not null && datasetName is not null) throw new UsageException("give --data or --dataset, not both");
        if (datasetName is not null) Options.CheckEmbedded(format, name: datasetName);
        if (LinearCommand.IsLinear(modelPath))
            return Linear(w, modelPath, dataPath, datasetName, format, o, method, row, className, steps, toleranceGiven, outputGiven, backendText, repeats, seed, json, plots);
        var model = PredictCommand.LoadPipeline("explain", "pipeline and linear models", modelPath);
        // Before the data are read: --output would be ignored on a regressor.
        if (outputGiven && !model.IsClassifier)
            throw new UsageException($"--output is for classifiers (a class's probability or logit); this model is a regressor, explained in the target's units");
        if (unknown is { } u) model = model.WithUnknownCategory(u);
        PredictCommand.CheckMissing(model, format);
        var dataName = dataPath is not null ? Path.GetFileName(dataPath) : datasetName!;
        // The folder is made, or refused in one line naming --plots, as fnn train does it.
        if (plots is not null) TrainCommand.PreparePlotsFolder(plots);
        switch (method)
        {
            case "permutation":
                if (backendText is not null)
                    throw new UsageException("--backend is for the gradient methods (integrated_gradients, gradient_x_input); permutation importance predicts on the auto backend");
                var labelled = LoadLabelled(model, dataPath, datasetName, format);
                return Permutation(w, labelled, model.Missing, dataName, repeats, seed, json, plots, () => model.PermutationImportance(labelled, repeats, seed));
            default:
                var m = method == "integrated_gradients" ? AttributionMethod.IntegratedGradients : AttributionMethod.GradientTimesInput;
                // The model's columns as it reads them: text columns as their categories, missing cells kept for its imputer;
                // the target column is not read (as fnn predict reads the rows), so --row counts every row.
                var rows = dataPath is not null ? PredictCommand.ForModel(model, () => Dataset.LoadCsvForPrediction(dataPath, model, format)) : Dataset.Embedded(datasetName!);
                return Row(w, model, rows, dataName, row, m, className, steps, tolerance, output == "probability", outputGiven, json, plots, backend);
        }
    }

    /// <summary>fnn explain of a linear model (fnn linear --out), f(x) = x w + b in the target's units: integrated gradients
    /// and gradient x input both give w_i (x_i - b_i), exactly, from the baseline b, the mean of the data's rows (the
    /// model keeps no training mean); permutation importance is the drop in R^2 on the model's target. Missing cells are
    /// filled with the model's fill values. The options of a pipeline's explanation that have nothing to act on are
    /// usage errors: --class and --output (a linear model is a regressor), --steps and --tolerance (no quadrature), --backend
    /// and --unknown-category.</summary>
    private static int Linear(TextWriter w, string modelPath, string? dataPath, string? datasetName, CsvFormat? format, Options o, string method,
        int row, string? className, int? steps, bool toleranceGiven, bool outputGiven, string? backendText, int repeats, long seed, bool json, string? plots)
    {
        LinearCommand.RefusePipelineOptions(o, modelPath);
        if (className is not null) throw new UsageException("--class is for classifiers; a linear model is a regressor, explained in the target's units");
        if (outputGiven) throw new UsageException("--output is for classifiers (a class's probability or logit); a linear model is a regressor, explained in the target's units");
        if (steps is not null)
            throw new UsageException("--steps goes with pipeline models, not linear models: a linear model's integrated gradients are exact, w_i (x_i - b_i), with no quadrature to refine");
        if (toleranceGiven)
            throw new UsageException("--tolerance goes with pipeline models, not linear models: a linear model's integrated gradients are exact, w_i (x_i - b_i), with no quadrature to stop");
        if (backendText is not null)
            throw new UsageException("--backend goes with pipeline models, not linear models: a linear model's attributions are w_i (x_i - b_i), exact on either backend");
        var model = ModelFile.LoadLinear(modelPath);
        if (model.OutputSize != 1)
            throw new UsageException($"fnn explain takes linear models of one output (fnn linear's); {modelPath} has {model.OutputSize}");
        var target = model.TargetNames.Count == 1 ? model.TargetNames[0] : null;
        var dataName = dataPath is not null ? Path.GetFileName(dataPath) : datasetName!;
        Dataset data;
        double[,] x;
        if (dataPath is not null) (data, x) = LinearCommand.ForExplain(model, modelPath, dataPath, format, method == "permutation");
        else
        {
            // An embedded data set: the model's features by name, in its order.
            var embedded = Dataset.Embedded(datasetName!);
            try { data = embedded.SelectFeatures(model.FeatureNames.ToArray()); }
            catch (ArgumentException ex) when (ex.ParamName == "names")
            {
                throw new UsageException($"the linear model {modelPath} reads the columns {string.Join(", ", model.FeatureNames)}, which the embedded data set {datasetName} does not all have (its features: {string.Join(", ", embedded.FeatureNames)}); give --data PATH");
            }
            if (method == "permutation" && data.IsClassification)
                throw new UsageException($"--method permutation scores a linear model's predictions against a numeric target, but the target of {datasetName}, {data.TargetName}, holds classes");
            x = data.Features;
        }
        if (plots is not null) TrainCommand.PreparePlotsFolder(plots);
        if (method == "permutation")
            return Permutation(w, data, model.Missing, dataName, repeats, seed, json, plots, () => model.PermutationImportance(x, data.Values, repeats, seed));
        int n = x.GetLength(0), d = x.GetLength(1);
        // The baseline is the mean of the rows given (the model file keeps no training mean): of one row it is that row,
        // and every attribution would be 0, which explains nothing.
        if (n == 1)
            throw new ArgumentException($"fnn explain of a linear model takes as baseline the mean of the rows explained (the model file keeps no training mean), but {(data.Dropped.Count > 0 ? $"only 1 row of {dataName} is left after --missing {Names.Snake(data.Missing)} ({Report.Dropped(data)})" : $"{dataName} has only 1 row")}, so that mean is the row itself and every attribution would be 0: explain the row within a file of several rows (the training data, say, with the row added) and pick it with --row");
        if (row < 0 || row >= n) throw new UsageException($"--row {row} is outside the data's rows 0 .. {n - 1}");
        var values = Enumerable.Range(0, d).Select(j => x[row, j]).ToArray();
        // The baseline: the mean of the data's rows as the model sees them (missing cells filled with its fill values).
        var baseline = Enumerable.Range(0, d).Select(j => Enumerable.Range(0, n).Average(i => x[i, j])).ToArray();
        var raw = data.Features;
        var baselineText = $"the mean of the {Fmt.Count(n, "row")} of {dataName} (the rows explained: the model file keeps no training mean)" + (Report.MissingCells(raw) > 0 ? ", missing cells filled with the model's fill values" : "");
        var m = method == "integrated_gradients" ? AttributionMethod.IntegratedGradients : AttributionMethod.GradientTimesInput;
        var e = model.Explain(values, 0, m, baseline);
        // The output explained: the model's prediction of its target.
        var outputName = target is null ? "the prediction" : $"predicted {target}";
        var written = new List<string>();
        if (plots is not null)
        {
            var bars = Path.Combine(plots, $"attributions-row-{row}.png");
            Plots.AttributionBars(e.Names, e.Values, null, $"Row {row}: {Label(m)} of {outputName}", $"attribution (f(x) = {Fmt.G(e.Output, 4)}, f(baseline) = {Fmt.G(e.BaselineOutput, 4)})", bars);
            written.Add(bars);
        }
        if (json)
        {
            var obj = new Dictionary<string, object?>
            {
                ["row"] = row,
                ["method"] = method,
                ["output"] = outputName,
                ["class"] = null,
                ["f_x"] = e.Output,
                ["f_baseline"] = e.BaselineOutput,
                ["gap"] = e.Gap,
                ["converged"] = m == AttributionMethod.IntegratedGradients ? e.Converged : null,
                ["steps"] = e.Steps,
                ["baseline"] = baselineText,
                // A missing cell's value is null, as for a pipeline (the model filled it with its fill value).
                ["features"] = Enumerable.Range(0, e.Names.Count).Select(i => new Dictionary<string, object?>
                {
                    ["name"] = e.Names[i], ["value"] = double.IsNaN(raw[row, i]) ? null : Finite(e.Input[i]), ["baseline"] = Finite(e.Baseline[i]), ["attribution"] = e.Values[i],
                }).ToArray(),
                ["plots"] = written.ToArray(),
            };
            Report.JsonObject(w, obj);
            return 0;
        }
        w.WriteLine($"{dataName}, row {row}; baseline: {baselineText}");
        Report.MissingForModel(w, data, model.Missing);
        // The table's first line names the library's output ("output 0"); the command line names the target. A missing
        // cell's value (the model's fill value, which the attributions use) is "(missing)", as a pipeline's table prints it.
        var table = MarkMissing(e, raw, row);
        var generic = $" of {e.OutputName}: ";
        int at = table.IndexOf(generic, StringComparison.Ordinal);
        w.Write(at >= 0 ? table[..at] + $" of {outputName}: " + table[(at + generic.Length)..] : table);
        w.WriteLine("a linear model's attributions are exact: w_i (x_i - b_i), each coefficient times the feature's distance from the baseline");
        foreach (var p in written) w.WriteLine($"plot: {p}");
        return 0;
    }

    /// <summary>A linear model's attribution table (<see cref="FeatureAttribution.ToString"/>) with the value of each
    /// feature whose cell of the row is missing (filled with the model's fill value) printed "(missing)", as the table
    /// of a pipeline, whose own imputer fills it, prints it.</summary>
    private static string MarkMissing(FeatureAttribution e, double[,] raw, int row)
    {
        var lines = e.ToString().Split('\n');
        int width = Math.Max(7, e.Names.Max(n => n.Length));
        for (int j = 0; j < e.Names.Count; j++)
        {
            if (!double.IsNaN(raw[row, j])) continue;
            // The table's row of feature j: its name padded to the widest, then the value right-aligned in 12 (the same %g).
            var prefix = $"{e.Names[j].PadRight(width)}  {Fmt.G(e.Input[j]),12}";
            int k = Array.FindIndex(lines, 2, l => l.StartsWith(prefix, StringComparison.Ordinal));
            if (k >= 0) lines[k] = $"{e.Names[j].PadRight(width)}  {"(missing)",12}" + lines[k][prefix.Length..];
        }
        return string.Join('\n', lines);
    }

    private static Dataset LoadLabelled(Pipeline model, string? path, string? name, CsvFormat? format)
    {
        if (path is null) return Dataset.Embedded(name!);
        // The model's columns as it reads them (text columns as text), and its target with its classes.
        var data = PredictCommand.ForModel(model, () => Dataset.LoadCsvForModel(path, model, format));
        if (data.SampleCount > 0 && data.Labels.Length == 0 && data.Values.Length == 0)
            throw new UsageException($"--method permutation scores the model against the target, but {Path.GetFileName(path)} has no column '{model.TargetName}'");
        return data;
    }

    private static int Row(TextWriter w, Pipeline model, Dataset data, string dataName, int row, AttributionMethod method, string? className,
        int? steps, double tolerance, bool probability, bool outputGiven, bool json, string? plots, Backend backend)
    {
        var x = model.FeaturesOf(data);
        int n = x.GetLength(0), d = x.GetLength(1);
        // Without a standard scaler the baseline is the mean of the rows given (below): of one row it is that row, and every
        // attribution would be 0, which explains nothing (as a linear model's explanation refuses it).
        if (n == 1 && model.Scaling != Scaling.Standard)
            throw new ArgumentException($"fnn explain of a model with {(model.Scaling == Scaling.MinMax ? "min-max scaling" : "no scaling")} takes as baseline the mean of the rows explained (the model keeps no training mean), but {(data.Dropped.Count > 0 ? $"only 1 row of {dataName} is left after --missing {Names.Snake(data.Missing)} ({Report.Dropped(data)})" : $"{dataName} has only 1 row")}, so that mean is the row itself and every attribution would be 0: explain the row within a file of several rows (the training data, say, with the row added) and pick it with --row");
        if (row < 0 || row >= n) throw new UsageException($"--row {row} is outside the data's rows 0 .. {n - 1}");
        var values = Enumerable.Range(0, d).Select(j => x[row, j]).ToArray();
        int? target = null;
        if (className is not null)
        {
            if (!model.IsClassifier) throw new UsageException("--class is for classifiers; this model is a regressor");
            // Class names are kept in Unicode normalisation form C, as the data were read; a name typed in another form matches.
            int c = Array.IndexOf(model.ClassNames, className.Normalize(System.Text.NormalizationForm.FormC));
            if (c < 0) throw new UsageException($"--class '{className}' is not one of the model's classes ({string.Join(", ", model.ClassNames)})");
            target = c;
        }
        // The training rows' mean is the default baseline; a model without a standard scaler does not keep it, so the
        // mean of the data's rows stands in, taken as the network sees them before scaling (the library's baselineRows:
        // missing cells filled as the model fills them, a text column's one-hot inputs averaged into its categories'
        // frequencies), and the output says so.
        double[,]? baselineRows = null;
        var baselineText = "the training rows' mean";
        if (model.Scaling != Scaling.Standard)
        {
            baselineRows = x;
            var how = new List<string>();
            if (Report.MissingCells(x) > 0) how.Add("missing cells filled as the model fills them");
            if (model.Categories.Any(c => c.Length > 0)) how.Add("text columns as their categories' frequencies");
            baselineText = $"the mean of the {Fmt.Count(n, "row")} of {dataName}" + (how.Count > 0 ? ", " + string.Join(", ", how) : "");
        }
        var e = model.Explain(values, method, target, null, steps, tolerance, probability: probability, backend: backend, baselineRows: baselineRows);
        // --output probability given on a classifier whose loss gives no probabilities (mean squared error, hinge: fnn predict
        // prints no p_ columns) explained the class's score: refused, as --output on a regressor is, not ignored. (Asked once
        // the row is explained, so that a row the model refuses is named as the explanation names it.)
        bool scores = model.IsClassifier && model.PredictProbabilities(Matrix(values)) is null;
        if (outputGiven && probability && scores)
            throw new UsageException($"--output probability: this model's loss ({Names.LossName(model.Loss)}) gives no class probabilities (fnn predict prints none), so it is explained by each class's score; leave out --output");
        var written = new List<string>();
        if (plots is not null)
        {
            var bars = Path.Combine(plots, $"attributions-row-{row}.png");
            Plots.AttributionBars(e.Names, e.Values, null, $"Row {row}: {Label(method)} of {e.OutputName}", $"attribution (f(x) = {Fmt.G(e.Output, 4)}, f(baseline) = {Fmt.G(e.BaselineOutput, 4)})", bars);
            written.Add(bars);
            int side = (int)Math.Round(Math.Sqrt(d));
            if (model.IsClassifier && side * side == d && side >= 4)
            {
                var perClass = Enumerable.Range(0, model.ClassNames.Length)
                    .Select(c => model.Explain(values, method, c, null, steps, tolerance, probability: probability, backend: backend, baselineRows: baselineRows).Values.ToArray()).ToList();
                var images = Path.Combine(plots, $"attributions-row-{row}-classes.png");
                Plots.AttributionImages(model.ClassNames, perClass, side, $"Row {row}: {Label(method)} of each class's {(scores ? "score" : probability ? "probability" : "logit")}", images, values);
                written.Add(images);
            }
        }
        // A quadrature that did not meet the tolerance (relative to the output's scale), on stderr in both forms: a gap the
        // rule could not close (the attributions do not add up to f(x) - f(baseline)), or attributions still moving.
        if (method == AttributionMethod.IntegratedGradients && !e.Converged)
        {
            var bound = $"{Fmt.G(tolerance, 3)} of the output's scale {Fmt.G(e.Scale, 3)}";
            bool gapOpen = !(Math.Abs(e.Gap) <= tolerance * e.Scale);
            Cli.Warn("the integrated gradients have not converged: " +
                     (gapOpen
                         ? $"the gap {Fmt.G(e.Gap, 3)} is above the tolerance ({bound})"
                         : $"the attributions still moved by more than the tolerance ({bound}) between the last two rules, though the gap {Fmt.G(e.Gap, 3)} is within it") +
                     (steps is null
                         ? $" after {e.NodesPerSegment} nodes per segment, the most the adaptive rule tries (the gradient changes sharply along the path, as where a unit saturates steeply; a larger --tolerance accepts it)"
                         : $" with --steps {steps} (more steps, or none for the adaptive rule, close it)") +
                     (gapOpen ? ", so the attributions do not add up to f(x) - f(baseline); read them with care" : "; read them with care"));
        }
        if (json)
        {
            var obj = new Dictionary<string, object?>
            {
                ["row"] = row,
                ["method"] = method == AttributionMethod.IntegratedGradients ? "integrated_gradients" : "gradient_x_input",
                ["output"] = e.OutputName,
                ["class"] = e.ClassIndex >= 0 ? model.ClassNames[e.ClassIndex] : null,
                ["f_x"] = e.Output,
                ["f_baseline"] = e.BaselineOutput,
                ["gap"] = e.Gap,
                // Integrated gradients only: whether the quadrature met the tolerance (gradient x input's gap is no quadrature error).
                ["converged"] = method == AttributionMethod.IntegratedGradients ? e.Converged : null,
                // The tolerance is relative: converged means |gap| <= tolerance x scale (and the attributions settled).
                ["tolerance"] = method == AttributionMethod.IntegratedGradients ? tolerance : null,
                ["scale"] = method == AttributionMethod.IntegratedGradients ? e.Scale : null,
                ["steps"] = e.Steps,
                ["backend"] = e.Backend.ToString().ToLowerInvariant(),
                ["baseline"] = baselineText,
                // A text column's value is its category; its default baseline (the training frequencies of
                // its categories) is no single value, so null (JSON has no NaN).
                ["features"] = Enumerable.Range(0, e.Names.Count).Select(i => new Dictionary<string, object?>
                {
                    ["name"] = e.Names[i], ["value"] = Cell(model, i, e.Input[i]), ["baseline"] = Cell(model, i, e.Baseline[i]), ["attribution"] = e.Values[i],
                }).ToArray(),
                ["plots"] = written.ToArray(),
            };
            Report.JsonObject(w, obj);
            return 0;
        }
        w.WriteLine($"{dataName}, row {row}; baseline: {baselineText}");
        w.Write(e.ToString());
        if (method == AttributionMethod.IntegratedGradients)
            w.WriteLine($"quadrature: {e.Quadrature}, {Fmt.Count(e.Segments, "segment")} x {Fmt.Count(e.NodesPerSegment, "node")}");
        w.WriteLine($"input gradients on the {e.Backend.ToString().ToLowerInvariant()} backend");
        foreach (var p in written) w.WriteLine($"plot: {p}");
        return 0;
    }

    /// <summary>One row as a 1 x d matrix.</summary>
    private static double[,] Matrix(double[] row)
    {
        var m = new double[1, row.Length];
        for (int j = 0; j < row.Length; j++) m[0, j] = row[j];
        return m;
    }

    /// <summary>The value, or null when it is NaN or infinite (JSON has no such numbers).</summary>
    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static int Permutation(TextWriter w, Dataset data, MissingValues policy, string dataName, int repeats, long seed, bool json, string? plots, Func<PermutationImportanceResult> importance)
    {
        // One row measures nothing (every permutation is the identity; R^2 of one row is undefined): refused before any
        // scoring or plot, as the library refuses it.
        // Under --missing drop the count is of the rows left, not of the file's rows (the reader left the others out).
        if (data.SampleCount < Explanations.MinRows)
        {
            var rows = Fmt.Count(data.SampleCount, "row");
            var has = data.Missing == MissingValues.Drop
                ? $"{rows} of {dataName} {(data.SampleCount == 1 ? "is" : "are")} left after --missing drop (the rows with a missing cell are left out)"
                : $"{dataName} has {data.SampleCount}";
            throw new ArgumentException($"--method permutation needs at least {Explanations.MinRows} rows, but {has}: with one row every shuffle is the identity, so it measures nothing (and R² needs two rows)");
        }
        var imp = importance();
        var written = new List<string>();
        if (plots is not null)
        {
            var path = Path.Combine(plots, "importance.png");
            Plots.AttributionBars(imp.Names, imp.Means, imp.StandardDeviations,
                $"Permutation importance on {dataName} ({imp.Repeats} repeats, seed {seed})", $"drop in {imp.Scorer} (baseline {Fmt.G(imp.BaselineScore, 4)}); bars: +-1 std", path);
            written.Add(path);
        }
        if (json)
        {
            var obj = new Dictionary<string, object?>
            {
                ["method"] = "permutation",
                ["scorer"] = imp.Scorer,
                // A score that is not a number would be written null, as Report.Json writes it (the default scorers give
                // finite scores on the two or more rows taken above).
                ["baseline_score"] = Finite(imp.BaselineScore),
                ["repeats"] = imp.Repeats,
                ["seed"] = seed,
                ["features"] = Enumerable.Range(0, imp.Names.Count).Select(i => new Dictionary<string, object?>
                {
                    ["name"] = imp.Names[i], ["mean"] = Finite(imp.Means[i]), ["std"] = Finite(imp.StandardDeviations[i]),
                }).ToArray(),
                ["plots"] = written.ToArray(),
            };
            Report.JsonObject(w, obj);
            return 0;
        }
        w.WriteLine($"data: {dataName}, {Fmt.Count(data.SampleCount, "row")}; seed {seed}");
        Report.MissingForModel(w, data, policy);
        w.Write(imp.ToString());
        foreach (var p in written) w.WriteLine($"plot: {p}");
        return 0;
    }

    /// <summary>A raw cell for JSON: a text column's category, a number, or null when it is not finite.</summary>
    private static object? Cell(Pipeline model, int column, double v)
    {
        if (!double.IsFinite(v)) return null;
        var categories = model.Categories[column];
        if (categories.Length == 0) return v;
        int k = (int)v;
        return k >= 0 && k < categories.Length ? categories[k] : null;
    }

    /// <summary>The default of --tolerance: the library's (the gap the adaptive rule stops at, relative to the output's
    /// scale).</summary>
    private static readonly double DefaultTolerance = Functional.NN.AttributionOptions.Default.Tolerance;

    private static string Label(AttributionMethod m) => m == AttributionMethod.IntegratedGradients ? "integrated gradients" : "gradient x input";
}
