/// The data, metrics, pipeline and model-file facade as a C# user meets it, and the quick starts of
/// docs/data-and-models.md (its C# block is tests/DataQuickStart.CSharp/Program.cs, its F# block
/// scripts/data-quickstart.fsx after the #load line; both are compiled and run by the tests).
module Functional.NN.Tests.DataFacadeTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto
open FunctionalNN

/// `Expectations.expectArgument`, for statements.
let private expectArg (param: string) (fragments: string list) (f: unit -> unit) = Expectations.expectArgument param fragments f |> ignore

let private normalise (s: string) = s.Replace("\r\n", "\n").Trim()

let private docBlocks (language: string) =
    let doc = normalise (File.ReadAllText(Repo.path [ "docs"; "data-and-models.md" ]))
    Regex.Matches(doc, "```" + language + "\n(.*?)\n```", RegexOptions.Singleline) |> Seq.map (fun m -> normalise m.Groups.[1].Value) |> List.ofSeq

let private bits (a: double[,]) = a |> Seq.cast<double> |> Seq.map BitConverter.DoubleToInt64Bits |> Array.ofSeq

[<Tests>]
let tests =
    testList "Data facade" [
        test "CSV text -> fit -> evaluate -> save -> load -> predict, bit-identical probabilities" {
            let iris = Dataset.Embedded "iris"
            let dir = Path.Combine(Path.GetTempPath(), "fnn-facade-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            try
                let csv = Path.Combine(dir, "iris.csv")
                iris.SaveCsv csv
                let data = Dataset.LoadCsv(csv, target = "species")
                Expect.equal data.Features iris.Features "SaveCsv then LoadCsv gives the same numbers"
                Expect.equal data.ClassNames iris.ClassNames "and the same classes"
                let split = data.SplitStratified(0.2, 3L)
                let fit = Pipeline.Fit(split.Train, PipelineOptions(HiddenLayers = [| 8 |], Training = TrainingOptions.GradientDescent(0.5, 200)))
                Expect.equal fit.History.Count 200 "one record per epoch"
                let e = fit.Model.Evaluate split.Test
                Expect.isTrue e.IsClassification "a classifier"
                Expect.isGreaterThanOrEqual e.Classification.Accuracy 0.9 "test accuracy"
                let path = Path.Combine(dir, "m.fnn")
                fit.Model.Save path
                Expect.equal (ModelFile.KindOf path) "pipeline" "kind"
                let loaded = Pipeline.Load path
                Expect.equal (bits (loaded.PredictProbabilities split.Test.Features)) (bits (fit.Model.PredictProbabilities split.Test.Features)) "probabilities bit for bit"
                Expect.equal (loaded.ClassNames, loaded.FeatureNames, loaded.Scaling) (fit.Model.ClassNames, fit.Model.FeatureNames, Scaling.Standard) "class names, features, scaling"
            finally Directory.Delete(dir, true)
        }
        test "a regressor's history and progress report losses in the target's units (MSE times the target scale squared)" {
            // y in the thousands (standard deviation about 1,400): the network learns the standardised target, so a
            // loss left in its units would be about 2e6 times smaller than the target's MSE.
            let n = 120
            let x = Array2D.init n 2 (fun i j -> if j = 0 then float (i % 10) else sin (float i))
            let y = Array.init n (fun i -> 5000.0 + 400.0 * x.[i, 0] + 900.0 * x.[i, 1] + 50.0 * cos (3.0 * float i))
            let data = Dataset.FromArrays(x, y, [| "a"; "b" |], "price")
            let seen = Collections.Generic.List<EpochRecord>()
            // ExactEpochLoss: each record's training loss is the loss on all training rows at the epoch's end; no
            // plateau stop, so the model returned is the last epoch's.
            let options = PipelineOptions(HiddenLayers = [| 8 |], Training = TrainingOptions(MaxEpochs = 30, EarlyStoppingPatience = Nullable(), ExactEpochLoss = true))
            let fit = Pipeline.Fit(data, options, { new IProgress<EpochRecord> with member _.Report r = seen.Add r })
            Expect.equal (List.ofSeq seen) (List.ofSeq fit.History) "the progress callback gets the history's records"
            // The oracle: the returned model's mean squared error on the training rows, computed here from its predictions
            // (the definition of MSE, 1/n sum (yhat - y)^2, in the target's units).
            let yhat = fit.Model.PredictValues(data.Features)
            let mse = Array.fold2 (fun s p t -> s + (p - t) * (p - t)) 0.0 yhat y / float n
            Expect.isGreaterThan mse 1000.0 "the target's units (the standardised loss would be below 10)"
            Expect.floatClose { absolute = 0.0; relative = 1e-9 } fit.History.[29].TrainLoss mse "last epoch's training loss = the model's MSE on its rows"
            // With a validation set, the validation RMSE (the metric of the squared losses) is sqrt of the validation
            // MSE in the same units: scaling one and not the other (s^2 against s) breaks it.
            let fit = Pipeline.Fit(data, PipelineOptions(HiddenLayers = [| 8 |], ValidationFraction = 0.25, Training = TrainingOptions(MaxEpochs = 5, EarlyStoppingPatience = Nullable())))
            for r in fit.History do
                Expect.floatClose { absolute = 0.0; relative = 1e-9 } r.ValidationMetric.Value (sqrt r.ValidationLoss.Value) (sprintf "epoch %d: RMSE = sqrt(MSE)" r.Epoch)
                Expect.isGreaterThan r.ValidationLoss.Value 1000.0 "validation loss in the target's units"
        }
        test "a regression pipeline predicts in the target's units" {
            let commute = Dataset.Embedded "commute"
            let fit = Pipeline.Fit(commute, PipelineOptions(HiddenLayers = [||], Training = TrainingOptions.GradientDescent(0.1, 2000)))
            let r = fit.Model.Evaluate(commute).Regression
            // The least-squares fit of the notes has R^2 = 0.9546 (fnn linear prints it; 1 - SS_res/SS_tot of Data/README.md's Y*).
            Expect.floatClose { absolute = 1e-3; relative = 0.0 } r.R2 0.9546 "R^2 of the linear fit"
            Expect.isFalse fit.Model.IsClassifier "a regressor"
        }
        test "facade errors: ParamName and the shapes or names" {
            let model = Pipeline.Untrained(Dataset.Embedded "iris", PipelineOptions())
            expectArg "x" [ "2x3"; "4 columns" ] (fun () -> model.PredictClasses(Array2D.zeroCreate 2 3) |> ignore)
            expectArg "name" [ "mnist" ] (fun () -> Dataset.Embedded "mnist" |> ignore)
            expectArg "names" [ "petal_size"; "petal_length" ] (fun () -> (Dataset.Embedded "iris").SelectFeatures("petal_size") |> ignore)
            let e = Expect.throwsC (fun () -> Dataset.ParseCsv("a,b\n1,x\n2\n") |> ignore) id
            // The facade's own type, reachable with `using FunctionalNN;` (issue 13), with the line.
            match e with
            | :? FunctionalNN.DataFormatException as d -> Expect.equal d.Line 3 "the line"
            | other -> failtestf "CSV errors are FunctionalNN.DataFormatException, not %s" (other.GetType().FullName)
            Expect.stringContains e.Message "Line 3" "names the line"
        }
        test "the facade shows C# names: ParamName and messages name its members, not the core's" {
            let iris = Dataset.Embedded "iris"
            // The core checks options.HiddenLayers, Patience and the options record; the facade names its own members
            // (in ParamName and in the message: "EarlyStoppingPatience must be positive", not the core's "Patience").
            expectArg "HiddenLayers" [ "HiddenLayers" ] (fun () -> Pipeline.Fit(iris, PipelineOptions(HiddenLayers = [| 0 |])) |> ignore)
            expectArg "EarlyStoppingPatience" [ "EarlyStoppingPatience must be positive" ] (fun () -> Pipeline.Fit(iris, PipelineOptions(Training = TrainingOptions(EarlyStoppingPatience = Nullable 0))) |> ignore)
            expectArg "ValidationFraction" [ "ValidationFraction" ] (fun () -> Pipeline.Fit(iris, PipelineOptions(ValidationFraction = 1.5)) |> ignore)
            let withNaN = Dataset.FromArrays(array2D [ [ 1.0; nan ]; [ 2.0; 3.0 ]; [ 3.0; 4.0 ]; [ 4.0; 5.0 ] ], [| "x"; "z"; "x"; "z" |])
            let e = Expect.throwsC (fun () -> Pipeline.Fit(withNaN) |> ignore) id
            Expect.stringContains e.Message "CsvFormat.Missing, Dataset.WithMissing" "the C# members to set"
            Expect.isFalse (e.Message.Contains "withMissing") "no F# function name"
            let regressor = Pipeline.Untrained(Dataset.Embedded "commute", PipelineOptions())
            match Expect.throwsC (fun () -> regressor.PredictClasses(array2D [ [ 1.0; 1.0 ] ]) |> ignore) id with
            | :? InvalidOperationException as o -> Expect.stringContains o.Message "use PredictValues" "the C# method"
            | other -> failtestf "expected InvalidOperationException, got %O" other
        }
        test "an evaluation cannot be misread: the other report is a clear error; reports print as tables" {
            let commute = Dataset.Embedded "commute"
            let e = (Pipeline.Fit(commute, PipelineOptions(HiddenLayers = [||], Training = TrainingOptions.GradientDescent(0.1, 50)))).Model.Evaluate(commute)
            Expect.isTrue (e.IsRegression && not e.IsClassification) "a regressor's"
            match Expect.throwsC (fun () -> e.Classification.Accuracy |> ignore) id with
            | :? InvalidOperationException as o -> Expect.stringContains o.Message "read Evaluation.Regression" "says what to read"
            | other -> failtestf "expected InvalidOperationException, got %O" other
            Expect.stringStarts (string e) "R^2 " "a regression report prints its scores"
            // scikit-learn 1.2.1: classification_report([0,0,1,1], [0,1,1,1], target_names=['a','b']), verbatim.
            let report = Metrics.Classification([| "a"; "b" |], [| 0; 1; 1; 1 |], [| 0; 0; 1; 1 |])
            let sklearn =
                "              precision    recall  f1-score   support\n\n           a       1.00      0.50      0.67         2\n           b       0.67      1.00      0.80         2\n\n    accuracy                           0.75         4\n   macro avg       0.83      0.75      0.73         4\nweighted avg       0.83      0.75      0.73         4\n"
            Expect.equal (report.ToString()) sklearn "scikit-learn's classification_report"
            // A class predicted but never true (c) counts in the averages with zeros; one neither true nor predicted (d)
            // prints NaN and is left out. scikit-learn 1.2.1: classification_report([0,0,1,1], [0,2,1,1],
            // target_names=['a','b','c']) has the rows a, b, c and the averages below (its labels are unique_labels,
            // {0, 1, 2}; by hand: macro P (1 + 1 + 0)/3, R (1/2 + 1 + 0)/3, F1 (2/3 + 1 + 0)/3; weighted by the
            // supports 2, 2, 0: P 1, R 3/4, F1 5/6).
            let report = Metrics.Classification([| "a"; "b"; "c"; "d" |], [| 0; 2; 1; 1 |], [| 0; 0; 1; 1 |])
            let text = report.ToString()
            for row in [ "           c       0.00      0.00      0.00         0\n"
                         "           d        NaN       NaN       NaN         0\n"
                         "   macro avg       0.67      0.50      0.56         4\n"
                         "weighted avg       1.00      0.75      0.83         4\n" ] do
                Expect.stringContains text row "a row of the report"
            Expect.floatClose Accuracy.veryHigh report.MacroF1 (5.0 / 9.0) "MacroF1"
        }
        test "Summary() on networks and pipelines, like Keras' model.summary(); ToString() says what it is" {
            let model = Pipeline.Untrained(Dataset.Embedded "iris", PipelineOptions())
            let summary = model.Summary()
            // 4 -> 16 tanh: 4*16 + 16 = 80 parameters; 16 -> 3: 16*3 + 3 = 51; 131 in all (hand count).
            for part in [ "Layer (activation)"; "Output shape"; "Param #"; "dense_1 (tanh)"; "(n, 16)"; "dense_2 (identity)"; "(n, 3)"; "Total params: 131"; "3 classes of 'species'" ] do
                Expect.stringContains summary part "the summary"
            Expect.isTrue (Regex.IsMatch(summary, @"dense_1 \(tanh\)\s+\(n, 16\)\s+80\n")) "a row: name, shape, parameters"
            Expect.equal (string model) "Pipeline: classifier of 'species' (3 classes) from 4 features, 131 parameters" "ToString"
            Expect.equal (string model.Network) "Network 4 -> 16 -> 3 (131 parameters, float64)" "the network's ToString"
            Expect.stringContains (model.Network.Summary()) "Total params: 131" "the network's summary"
        }
        test "FitAsync gives Fit's result bit for bit, reports progress, and stops on cancellation with what it trained" {
            let iris = Dataset.Embedded "iris"
            let options = PipelineOptions(Training = TrainingOptions(MaxEpochs = 5, EarlyStoppingPatience = Nullable()))
            let sync = Pipeline.Fit(iris, options)
            let seen = Collections.Concurrent.ConcurrentBag<int>()
            let progress = { new IProgress<EpochRecord> with member _.Report r = seen.Add r.Epoch }
            let asyncFit = Pipeline.FitAsync(iris, options, progress).Result
            Expect.equal (bits (asyncFit.Model.PredictProbabilities iris.Features)) (bits (sync.Model.PredictProbabilities iris.Features)) "bit for bit"
            Expect.equal (Seq.sort seen |> List.ofSeq) [ 1 .. 5 ] "every epoch reported"
            use cts = new Threading.CancellationTokenSource()
            let stopAt = { new IProgress<EpochRecord> with member _.Report r = if r.Epoch = 2 then cts.Cancel() }
            let cancelled = Pipeline.FitAsync(iris, PipelineOptions(Training = TrainingOptions(MaxEpochs = 100, EarlyStoppingPatience = Nullable())), stopAt, cts.Token).Result
            Expect.equal (cancelled.StopReason, cancelled.Epochs) (StopReason.Cancelled, 2) "stopped after the epoch that cancelled"
        }
        test "FitAsync and TrainAsync with a token cancelled before they start: a cancelled task, nothing trained" {
            use cts = new Threading.CancellationTokenSource()
            cts.Cancel()
            let iris = Dataset.Embedded "iris"
            let task = Pipeline.FitAsync(iris, PipelineOptions(Training = TrainingOptions(MaxEpochs = 5)), null, cts.Token)
            // The .NET convention (Task.FromCanceled): the task is Canceled, and waiting on it throws TaskCanceledException.
            Expect.isTrue task.IsCanceled "FitAsync: a cancelled task"
            let e = Expect.throwsC (fun () -> task.GetAwaiter().GetResult() |> ignore) id
            Expect.isTrue (e :? Threading.Tasks.TaskCanceledException) (sprintf "TaskCanceledException, got %s" (e.GetType().Name))
            let net = Pipeline.Untrained(iris).Network
            let train = Trainer.TrainAsync(net, iris.Features, Array2D.create iris.SampleCount 3 0.0, Loss.MeanSquaredError, cancellationToken = cts.Token)
            Expect.isTrue train.IsCanceled "TrainAsync: a cancelled task"
        }
        test "row numbers: data from memory name the row index from 0, data from a file the file's line" {
            // The NaN is in the second row: index 1 (counting from 0), as C# arrays count.
            let x = array2D [ [ 1.0 ]; [ nan ]; [ 3.0 ]; [ 4.0 ] ]
            expectArg "data" [ "At row index 1"; "column 'x1'"; "missing" ] (fun () ->
                Pipeline.Fit(Dataset.FromArrays(x, [| "a"; "b"; "a"; "b" |]), PipelineOptions(Training = TrainingOptions(MaxEpochs = 1))) |> ignore)
            let model = Pipeline.Fit(Dataset.FromArrays(array2D [ [ 1.0 ]; [ 2.0 ]; [ 3.0 ]; [ 4.0 ] ], [| "a"; "b"; "a"; "b" |]), PipelineOptions(Training = TrainingOptions(MaxEpochs = 1))).Model
            // The first row of the array (index 0) is missing a value.
            expectArg "x" [ "row index 0"; "column 0 (x1)"; "missing" ] (fun () -> model.PredictClasses(array2D [ [ nan ]; [ 1.0 ] ]) |> ignore)
            // The same NaN read from a file: the file's line (header line 1, the empty cell on line 3).
            let fromText = Dataset.ParseCsv("x1,y\n1,a\n,b\n3,a\n4,b\n", format = CsvFormat(Missing = MissingValues.Drop)).WithMissing(MissingValues.Error)
            Expect.equal fromText.SampleCount 3 "the row with the empty cell was dropped at reading"
            let kept = Dataset.ParseCsv("x1,y\n1,a\nNA,b\n3,a\n4,b\n", format = CsvFormat(Missing = MissingValues.Mean)).WithMissing(MissingValues.Error)
            expectArg "data" [ "At line 3"; "column 'x1'" ] (fun () -> Pipeline.Fit(kept, PipelineOptions(Training = TrainingOptions(MaxEpochs = 1))) |> ignore)
        }
        test "Dataset.Dropped: the rows the reader left out and the columns whose missing cells did, for every reader" {
            let columns (d: Dataset) = d.Dropped.Columns |> List.ofSeq
            // By hand (header line 1): line 3 misses a (empty), line 4 the target y (empty), line 5 b ("NA" bare); line 6
            // holds "NA" in quotes, the text NA, so b reads as text there and line 6 is whole.
            let text = "a,b,y\n1,u,p\n,v,q\n5,w,\n7,NA,p\n8,\"NA\",q\n"
            let drop = Dataset.ParseCsv(text, format = CsvFormat(Missing = MissingValues.Drop))
            Expect.equal drop.Dropped.Count 3 "lines 3, 4, 5"
            Expect.equal (columns drop) [ DroppedColumn("a", 1, false); DroppedColumn("b", 1, false); DroppedColumn("y", 1, true) ] "a, b, then the target"
            let mean = Dataset.ParseCsv(text, format = CsvFormat(Missing = MissingValues.Mean))
            Expect.equal (mean.Dropped.Count, columns mean) (1, [ DroppedColumn("y", 1, true) ]) "an imputing policy drops the missing target's row only (line 4)"
            Expect.equal (Dataset.ParseCsv("a,y\n1,p\n2,q\n").Dropped.Count, columns (Dataset.ParseCsv("a,y\n1,p\n2,q\n"))) (0, []) "none"
            let memory = Dataset.FromArrays(array2D [ [ 1.0 ]; [ 2.0 ] ], [| "p"; "q" |])
            Expect.equal (memory.Dropped.Count, columns memory) (0, []) "data from memory: none"
            Expect.equal (drop.SelectRows([| 0 |]).Dropped.Count) 3 "SelectRows keeps the reading's count"
            // The model-aligned readers: a model of the numeric columns a, b (trained on data from memory).
            let train = Dataset.FromArrays(array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ]; [ 5.0; 6.0 ]; [ 7.0; 8.0 ] ], [| "p"; "q"; "p"; "q" |], [| "a"; "b" |], "y")
            let model = Pipeline.Fit(train, PipelineOptions(Training = TrainingOptions(MaxEpochs = 1))).Model
            let path = Path.Combine(Path.GetTempPath(), "fnn-dropped-" + Guid.NewGuid().ToString("N") + ".csv")
            // Line 3 misses a, line 4 the target, line 5 b.
            File.WriteAllText(path, "a,b,y\n1,2,p\n,4,q\n5,6,\n7,NA,p\n9,10,q\n")
            try
                let fmt = CsvFormat(Missing = MissingValues.Drop)
                let forModel = Dataset.LoadCsvForModel(path, model, fmt)
                Expect.equal (forModel.Dropped.Count, columns forModel) (3, [ DroppedColumn("a", 1, false); DroppedColumn("b", 1, false); DroppedColumn("y", 1, true) ]) "LoadCsvForModel"
                let withTarget = Dataset.LoadCsvForModel(path, model, "y", fmt)
                Expect.equal (withTarget.Dropped.Count, columns withTarget) (3, columns forModel) "LoadCsvForModel with a target"
                // The target is not read for prediction: only lines 3 and 5 go.
                let forPrediction = Dataset.LoadCsvForPrediction(path, model, fmt)
                Expect.equal (forPrediction.Dropped.Count, columns forPrediction) (2, [ DroppedColumn("a", 1, false); DroppedColumn("b", 1, false) ]) "LoadCsvForPrediction"
                Expect.equal forPrediction.SampleCount 3 "5 rows less 2"
            finally File.Delete path
        }
        test "Dataset.FillMissing fills the cells as the pipeline's imputer fitted on the training rows would" {
            let fmt = CsvFormat(Missing = MissingValues.Mean)
            let train = Dataset.ParseCsv("x1,c,y\n1,red,1\nNA,red,2\n3,blue,3\n5,,4\n", targetKind = TargetKind.Regression, format = fmt)
            // By hand: the mean of x1's present values 1, 3, 5 is 3; c's most frequent category is red (2 of 3).
            let filled = train.FillMissing(train)
            Expect.equal (filled.CellText(1, 0), filled.CellText(3, 1)) ("3", "red") "the training rows"
            Expect.equal (filled.CellText(0, 0), filled.CellText(2, 1)) ("1", "blue") "present cells unchanged"
            let test = Dataset.ParseCsv("x1,c,y\nNA,red,9\n7,,8\n", targetKind = TargetKind.Regression, format = fmt)
            let t = test.FillMissing(train)
            Expect.equal (t.CellText(0, 0), t.CellText(1, 1)) ("3", "red") "other rows get the training rows' values, not their own"
            let median = train.WithMissing(MissingValues.Median).FillMissing(train.WithMissing(MissingValues.Median))
            Expect.equal (median.CellText(1, 0)) "3" "the median of 1, 3, 5"
            let notFilled = train.WithMissing(MissingValues.Error).FillMissing(train.WithMissing(MissingValues.Error))
            Expect.equal (notFilled.CellText(1, 0)) "" "Error fills nothing"
            let empty = Dataset.ParseCsv("x1,y\nNA,1\nNA,2\n", targetKind = TargetKind.Regression, format = fmt)
            expectArg "data" [ "column 'x1' has no value in the training rows" ] (fun () -> empty.FillMissing(empty) |> ignore)
        }
        test "LinearModel.WithFillValues keeps the training rows' fill values; FillMissing and LoadCsvForPrediction use them" {
            let fmt = CsvFormat(Missing = MissingValues.Mean)
            // x2 is missing on the second row; by hand the means are x1: 3 (of 1..5), x2: 3.5 (of 2, 1, 4, 7).
            let train = Dataset.ParseCsv("x1,x2,y\n1,2,9\n2,NA,15.5\n3,1,10\n4,4,21\n5,7,32\n", format = fmt)
            let filled = train.FillMissing(train)
            let fitted = LinearRegression.Fit(filled.Features, filled.Values, featureNames = filled.FeatureNames)
            Expect.equal (fitted.Missing, fitted.FillValues.Count) (MissingValues.Error, 0) "a fit keeps no fill values"
            let model = fitted.WithFillValues(train)
            Expect.equal (model.Missing, List.ofSeq model.FillValues) (MissingValues.Mean, [ 3.0; 3.5 ]) "the policy and the means, by feature"
            Expect.equal (List.ofSeq (model.WithTargetNames("y").FillValues)) [ 3.0; 3.5 ] "kept by the other With* copies"
            let x = model.FillMissing(array2D [ [ 4.0; nan ] ])
            Expect.equal x (array2D [ [ 4.0; 3.5 ] ]) "the mean typed in"
            Expect.equal (bits (array2D [ [ model.PredictValues(x).[0] ] ])) (bits (array2D [ [ model.PredictValues(array2D [ [ 4.0; 3.5 ] ]).[0] ] ])) "the same prediction"
            expectArg "x" [ "row index 0"; "column 1 (x2)"; "no fill values" ] (fun () -> fitted.FillMissing(array2D [ [ 4.0; nan ] ]) |> ignore)
            let dropped = Dataset.ParseCsv("x1,x2,y\n1,2,9\n3,1,10\n", format = CsvFormat(Missing = MissingValues.Drop))
            Expect.equal (fitted.WithFillValues(dropped).FillValues.Count) 0 "Drop fills nothing"
            expectArg "trainingRows" [ "'x2'" ] (fun () -> fitted.WithFillValues(train.SelectFeatures("x1")) |> ignore)
            // A model without feature names: the instance cannot take fill values (no parameter is at fault).
            let unnamed = LinearRegression.Fit(filled.Features, filled.Values)
            match Expect.throwsC (fun () -> unnamed.WithFillValues(train) |> ignore) id with
            | :? InvalidOperationException as e -> Expect.stringContains e.Message "This model has no feature names" e.Message
            | e -> failtestf "expected InvalidOperationException, got %O" e
            Expect.equal (unnamed.WithFillValues(dropped).FillValues.Count) 0 "Drop fills nothing, names or not"
            // The file read for predictions: the features only (the empty y on line 2 drops no row), a missing cell NaN.
            let dir = Path.Combine(Path.GetTempPath(), "fnn-fill-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            try
                let path = Path.Combine(dir, "new.csv")
                File.WriteAllText(path, "x2,y,x1\nNA,,4\n1,5,2\n")
                let d = Dataset.LoadCsvForPrediction(path, model)
                Expect.equal (d.FeatureNames, d.SampleCount) ([| "x1"; "x2" |], 2) "the model's features, every row"
                Expect.isTrue (Double.IsNaN d.Features.[0, 1]) "the missing cell"
                Expect.equal (model.FillMissing(d.Features)) (array2D [ [ 4.0; 3.5 ]; [ 2.0; 1.0 ] ]) "filled"
                // Without fill values a missing cell is an error naming its line and column; a text column too.
                match Expect.throwsC (fun () -> Dataset.LoadCsvForPrediction(path, fitted) |> ignore) id with
                | :? DataFormatException as e -> Expect.equal (e.Line, e.Column) (2, "x2") e.Message
                | e -> failtestf "expected DataFormatException, got %O" e
                File.WriteAllText(path, "x1,x2\n1,a\n2,b\n")
                match Expect.throwsC (fun () -> Dataset.LoadCsvForPrediction(path, model) |> ignore) id with
                | :? DataFormatException as e -> Expect.stringContains e.Message "Line 2, column 'x2': 'a' is not a finite number." e.Message
                | e -> failtestf "expected DataFormatException, got %O" e
                // A column that holds numbers first: both prediction readers (with and without fill values) and the
                // scoring reader name its first cell that is not a number, 'b' on line 4, never its first cell.
                File.WriteAllText(path, "x1,x2,y\n1,2,3\n2,5,4\nb,7,5\n3,a,6\n")
                let readers : (string * (unit -> unit)) list =
                    [ "LoadCsvForPrediction, fill values", (fun () -> Dataset.LoadCsvForPrediction(path, model) |> ignore)
                      "LoadCsvFeatures", (fun () -> Dataset.LoadCsvFeatures(path, [| "x1"; "x2" |]) |> ignore)
                      "LoadCsvForModel, fill values", (fun () -> Dataset.LoadCsvForModel(path, model) |> ignore)
                      "LoadCsvForModel, no fill values", (fun () -> Dataset.LoadCsvForModel(path, fitted, "y") |> ignore) ]
                for name, read in readers do
                    match Expect.throwsC read id with
                    | :? DataFormatException as e ->
                        Expect.equal (e.Line, e.Column, e.Message) (4, "x1", "Line 4, column 'x1': 'b' is not a finite number.") name
                    | e -> failtestf "%s: expected DataFormatException, got %O" name e
            finally Directory.Delete(dir, true)
        }
        test "a header line of numbers (a headerless file read with a header) is a warning in the data's summary, not an error" {
            // Every header field a number: 1,2,3 is data. Read as a header, the data keep 2 rows and a warning.
            let d = Dataset.ParseCsv("1,2,3\n4,5,6\n7,8,9\n", targetKind = TargetKind.Regression)
            Expect.equal d.SampleCount 2 "the first line became the header"
            Expect.equal d.Warnings.Count 1 "one warning"
            // In C#'s words: the member of format (the core's warning says HasHeader, its F# option).
            Expect.stringContains d.Warnings.[0] "read it with format.HasHeader = false (CLI: --no-header)" "names the option as C# sets it"
            Expect.stringContains (string d) "1 warning: The header line" "the summary shows it"
            Expect.stringContains (string d) "format.HasHeader" "the summary in C#'s words too"
            // iris without its header: numbers and a class name that occurs in the target column.
            let iris = File.ReadAllLines(Repo.path [ "src"; "Core.FSharp"; "Data"; "iris.csv" ])
            let headless = Dataset.ParseCsv(String.Join("\n", iris.[1..]) + "\n")
            Expect.equal headless.Warnings.Count 1 "iris without a header"
            Expect.equal (Dataset.ParseCsv("1,2,3\n4,5,6\n", format = CsvFormat(HasHeader = false)).Warnings.Count) 0 "no warning with HasHeader false"
            Expect.equal (Dataset.ParseCsv(String.Join("\n", iris) + "\n").Warnings.Count) 0 "no warning for a real header"
            Expect.equal (Dataset.FromArrays(array2D [ [ 1.0 ] ], [| 1.0 |]).Warnings.Count) 0 "no warning for data from memory"
        }
        test "LinearModel.WithTargetNames: the names survive SaveLinear and LoadLinear; a wrong count names targetNames" {
            let m = LinearModel.Create(array2D [ [ 2.0 ] ], [| 1.0 |], featureNames = [| "a" |]).WithTargetNames("y")
            let path = Path.Combine(Path.GetTempPath(), "fnn-linear-" + Guid.NewGuid().ToString("N") + ".fnn")
            try
                ModelFile.SaveLinear(m, path)
                let back = ModelFile.LoadLinear path
                Expect.equal (List.ofSeq back.TargetNames, List.ofSeq back.FeatureNames) ([ "y" ], [ "a" ]) "names round-trip"
            finally File.Delete path
            expectArg "targetNames" [ "2 names"; "1 outputs" ] (fun () -> m.WithTargetNames("y", "z") |> ignore)
        }
        test "FeatureScaler as scikit-learn's scalers (values of DataTests)" {
            let x = array2D [ [ 1.0; 5.0 ]; [ 2.0; 5.0 ]; [ 4.0; 5.0 ]; [ 9.0; 5.0 ] ]
            let s = FeatureScaler.Fit(x, Scaling.Standard)
            // scikit-learn StandardScaler: mean [4, 5], scale [3.082207001484488, 1].
            Expect.equal s.Offset [| 4.0; 5.0 |] "means"
            Expect.floatClose Accuracy.veryHigh s.Scale.[0] 3.082207001484488 "sd"
            Expect.equal (s.Transform(x).[3, 1]) 0.0 "constant column"
            let m = FeatureScaler.Fit(x, Scaling.MinMax)
            // scikit-learn MinMaxScaler: the new row [10, 6] -> [1.125, 1].
            Expect.equal (m.Transform(array2D [ [ 10.0; 6.0 ] ])) (array2D [ [ 1.125; 1.0 ] ]) "min-max on new data"
            expectArg "x" [ "2 columns" ] (fun () -> s.Transform(Array2D.zeroCreate 1 3) |> ignore)
        }
        test "metrics through the facade agree with the core (scikit-learn values of MetricsTests)" {
            let r = Metrics.Classification([| "a"; "b"; "c" |], [| 0; 1; 0; 1; 1; 2; 1; 2; 0; 2 |], [| 0; 0; 0; 1; 1; 1; 1; 2; 2; 2 |])
            Expect.equal r.Accuracy 0.7 "accuracy (scikit-learn 0.7)"
            Expect.isNull (box r.LogLoss) "no probabilities, no log-loss"
            Expect.floatClose Accuracy.veryHigh (Metrics.R2([| 2.5; 0.0; 2.0; 8.0; 3.9 |], [| 3.0; -0.5; 2.0; 7.0; 4.2 |])) 0.9480256276150627 "R^2 (scikit-learn)"
        }
        test "a checkpoint saved and loaded through the facade resumes like a run never interrupted" {
            let iris = Dataset.Embedded "iris"
            let x = iris.Features
            let y = Labels.OneHot(iris.Labels, 3)
            let net = NetworkBuilder(4).Dense(6, Activation.Tanh).Dense(3, Activation.Identity).Seed(2L).Build()
            let options epochs = TrainingOptions(Optimizer = Optimizer.Adam(), Schedule = Schedule.Constant 0.01, Batching = Batching.MiniBatch(32), MaxEpochs = epochs, Seed = 4L)
            let half = Trainer.Train(net, x, y, Loss.SoftmaxCrossEntropy, options 3)
            let path = Path.Combine(Path.GetTempPath(), "fnn-ckpt-" + Guid.NewGuid().ToString("N") + ".ckpt")
            try
                ModelFile.SaveCheckpoint(half.Checkpoint, path)
                let resumed = Trainer.Resume(ModelFile.LoadCheckpoint path, x, y, Loss.SoftmaxCrossEntropy, options 6)
                let whole = Trainer.Train(net, x, y, Loss.SoftmaxCrossEntropy, options 6)
                Expect.equal (bits (resumed.Model.GetWeights 0)) (bits (whole.Model.GetWeights 0)) "weights bit for bit"
            finally File.Delete path
        }
        testSequenced <| test "docs/data-and-models.md: its C# block is tests/DataQuickStart.CSharp/Program.cs, which runs" {
            let program = normalise (File.ReadAllText(Repo.path [ "tests"; "DataQuickStart.CSharp"; "Program.cs" ]))
            Expect.contains (docBlocks "csharp") program "the document shows the compiled quick start word for word"
            let entry = Reflection.Assembly.Load("DataQuickStart.CSharp").EntryPoint
            let saved = Console.Out
            use capture = new StringWriter()
            Console.SetOut capture
            try entry.Invoke(null, [| box ([||]: string[]) |]) |> ignore
            finally Console.SetOut saved
            Expect.stringContains (capture.ToString()) "loaded model agrees: True" (capture.ToString())
        }
        testSequenced <| test "the data-in-memory quick start (tests/MemoryQuickStart.CSharp) is in the docs and the README, and runs" {
            let program = normalise (File.ReadAllText(Repo.path [ "tests"; "MemoryQuickStart.CSharp"; "Program.cs" ]))
            Expect.contains (docBlocks "csharp") program "docs/data-and-models.md shows it word for word"
            Expect.contains (ReadmeTests.blocks "csharp") program "README.md shows it word for word"
            let entry = Reflection.Assembly.Load("MemoryQuickStart.CSharp").EntryPoint
            let saved = Console.Out
            use capture = new StringWriter()
            Console.SetOut capture
            try entry.Invoke(null, [| box ([||]: string[]) |]) |> ignore
            finally Console.SetOut saved
            let out = capture.ToString()
            // Integer labels 0/1, three rows each: classes by the target rule; prices: 6 distinct values, regression.
            Expect.stringContains out "from arrays: 6 rows, 2 features, target kind (2 classes); classification: the values are 2 distinct integers" out
            Expect.stringContains out "from objects: 6 rows, 2 features, target price (numeric); regression" out
            // The two probes lie inside the two groups of the training rows (hand: (0.1, 0.1) among the 0s, (0.9, 0.8) among the 1s).
            Expect.stringContains out "classifier predicts: 0 1" out
            // Hand bound: a 90 m2 house lies between the 80 m2 (230,000) and 100 m2 (280,000) houses.
            let line = out.Split('\n') |> Array.find (fun l -> l.StartsWith "regressor: ")
            let price = Double.Parse(line.Substring(line.LastIndexOf ' ' + 1), Globalization.CultureInfo.InvariantCulture)
            Expect.isTrue (price > 200000.0 && price < 310000.0) line
        }
        test "C# data from arrays and objects: shapes and selectors checked with C# parameter names" {
            expectArg "labels" [ "2 entries"; "3 rows" ] (fun () -> Dataset.FromArrays(Array2D.zeroCreate 3 1, [| "a"; "b" |]) |> ignore)
            expectArg "features" [ "Row index 1 has 1 features" ] (fun () ->
                Dataset.FromEnumerable([ [| 1.0; 2.0 |]; [| 3.0 |] ], Func<float[], float[]>(id), Func<float[], float>(fun r -> r.[0]), [| "a"; "b" |]) |> ignore)
            let d = Dataset.FromEnumerable([ [| 1.0; 2.0 |]; [| 3.0; 4.0 |]; [| 5.0; 6.0 |] ], Func<float[], float[]>(id), Func<float[], int>(fun r -> int r.[0] % 2), [| "a"; "b" |])
            // Labels 1 % 2 = 1, 3 % 2 = 1, 5 % 2 = 1: one class "1".
            Expect.equal (d.ClassNames, d.Labels) ([| "1" |], [| 0; 0; 0 |]) "integer labels by selector"
            let withNaN = Dataset.FromArrays(array2D [ [ 1.0 ]; [ nan ]; [ 3.0 ]; [ 5.0 ] ], [| 1.0; 2.0; 3.0; 4.0 |]).WithMissing(MissingValues.Mean)
            Expect.equal withNaN.Missing MissingValues.Mean "the policy"
            let model = Pipeline.Fit(withNaN, PipelineOptions(Training = TrainingOptions(MaxEpochs = 2))).Model
            Expect.equal model.Missing MissingValues.Mean "the pipeline imputes"
            Expect.equal (model.PredictValues(array2D [ [ nan ] ]).Length) 1 "a NaN input is filled"
        }
        test "C# CSV formats: a set separator, no header, imputed missing values, a model's text columns and an unseen category" {
            let dir = Path.Combine(Path.GetTempPath(), "fnn-format-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            try
                let train = Path.Combine(dir, "train.csv")
                File.WriteAllText(train, "1;red;p\n2;;q\nNA;green;p\n4;red;q\n5;green;p\n6;red;q\n")
                let format = CsvFormat(Separator = Nullable ';', HasHeader = false, Missing = MissingValues.MostFrequent)
                let data = Dataset.LoadCsv(train, format = format)
                Expect.equal (data.FeatureNames, data.TargetName) ([| "column1"; "column2" |], "column3") "no header: column1 .. column3"
                // color's categories in ordinal order; the empty cell and NA are missing (NaN).
                Expect.equal data.Categories.[1] [| "green"; "red" |] "categories"
                Expect.isTrue (Double.IsNaN data.Features.[1, 1] && Double.IsNaN data.Features.[2, 0]) "missing cells are NaN"
                Expect.equal data.TaskReason "classification: the column holds text (2 classes)" "the task and why"
                let model = Pipeline.Fit(data, PipelineOptions(Training = TrainingOptions(MaxEpochs = 3))).Model
                Expect.equal (model.Missing, model.Categories.[1]) (MissingValues.MostFrequent, [| "green"; "red" |]) "the imputer and the encoder in the model"
                let fresh = Path.Combine(dir, "new.csv")
                File.WriteAllText(fresh, "3;purple\n;red\n")
                let unseen = Dataset.LoadCsvForModel(fresh, model, CsvFormat(Separator = Nullable ';', HasHeader = false))
                Expect.equal unseen.SampleCount 2 "both rows, the missing cell kept for the imputer"
                // No header: purple is on the file's line 1.
                expectArg "data" [ "At line 1"; "column 'column2'"; "'purple'" ] (fun () -> model.PredictClassNames unseen |> ignore)
                let zeros = model.WithUnknownCategory(UnknownCategory.Zeros)
                Expect.equal (zeros.PredictClassNames(unseen).Length) 2 "all zeros for purple, the mode for the missing size"
                Expect.equal model.UnknownCategory UnknownCategory.Error "the original model is unchanged"
            finally Directory.Delete(dir, true)
        }
        test "docs/data-and-models.md: its F# block is scripts/data-quickstart.fsx (which the script tests run)" {
            let script = File.ReadAllLines(Repo.path [ "scripts"; "data-quickstart.fsx" ])
            Expect.equal script.[0] "#load \"load.fsx\"" "the script's first line loads the core"
            Expect.contains (docBlocks "fsharp") (normalise (String.Join("\n", script.[1..]))) "the document shows the script word for word"
        }
        test "SaveCsv then LoadCsv: marker-like and quoted class names, integer labels" {
            let dir = Path.Combine(Path.GetTempPath(), "fnn-facade-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            try
                let path = Path.Combine(dir, "d.csv")
                let x = Array2D.init 6 1 (fun i _ -> float i)
                // Class names that a reader takes for missing values, or for quoted text.
                let named = Dataset.FromArrays(x, [| "NA"; "?"; "null"; "NaN"; "'a'"; "nan" |])
                named.SaveCsv path
                let back = Dataset.LoadCsv path
                Expect.equal (back.ClassNames, back.Labels) (named.ClassNames, named.Labels) "the same classes and labels"
                // Integer labels 0,1,0,1 (2 rows each: by the rule a bare column would be a regression target).
                let ints = Dataset.FromArrays(Array2D.init 4 1 (fun i _ -> float i), [| 0; 1; 0; 1 |])
                ints.SaveCsv path
                let back = Dataset.LoadCsv path
                Expect.isTrue back.IsClassification "classification again"
                Expect.equal (back.ClassNames, back.Labels) ([| "0"; "1" |], [| 0; 1; 0; 1 |]) "the same classes and labels"
                // A text category NA (quoted in the text) survives the round trip too.
                let text = Dataset.ParseCsv("c,y\n\"NA\",1.5\nb,2.5\n")
                text.SaveCsv path
                Expect.equal (Dataset.LoadCsv path).Categories text.Categories "categories NA and b"
            finally Directory.Delete(dir, true)
        }
        test "FromArrays with a target named as a feature, and SelectFeatures with a name twice, are refused" {
            expectArg "targetName" [ "'a'" ] (fun () -> Dataset.FromArrays(Array2D.zeroCreate 2 2, [| 1.0; 2.0 |], featureNames = [| "a"; "b" |], targetName = "a") |> ignore)
            expectArg "names" [ "names[1]" ] (fun () -> Dataset.Embedded("iris").SelectFeatures("sepal_length", "sepal_length") |> ignore)
        }
        test "null entries, repeated class names and unknown text columns are refused with C# names" {
            let text = "a,b,y\n1,2,p\n3,4,q\n"
            expectArg "features" [ "features[1]" ] (fun () -> Dataset.ParseCsv(text, features = [| "a"; null |]) |> ignore)
            expectArg "classNames" [ "classNames[1]" ] (fun () -> Dataset.ParseCsv(text, classNames = [| "p"; null |]) |> ignore)
            // A feature selected twice: the reader's DataFormatException, in C# words.
            match Expect.throwsC (fun () -> Dataset.ParseCsv(text, features = [| "a"; "a" |]) |> ignore) id with
            | :? DataFormatException as e ->
                Expect.stringContains e.Message "(features[0] and features[1])" "the C# parameter's entries"
                Expect.isFalse (e.Message.Contains "Features") "no F# option name"
            | e -> failtestf "DataFormatException expected, got %O" e
            // The core's check (Csv.checkOptions) with the C# names: the repeat's index, not the first one's.
            expectArg "classNames" [ "classNames[1] = 'p' appears more than once" ] (fun () -> Dataset.ParseCsv(text, classNames = [| "p"; "p"; "q" |]) |> ignore)
            expectArg "target" [ "target is null or blank"; "(or null for the last column)" ] (fun () -> Dataset.ParseCsv(text, target = " ") |> ignore)
            expectArg "format" [ "format.TextColumns[0]" ] (fun () -> Dataset.ParseCsv(text, format = CsvFormat(TextColumns = [| null |])) |> ignore)
            expectArg "format" [ "format.MissingMarkers[1]" ] (fun () -> Dataset.ParseCsv(text, format = CsvFormat(MissingMarkers = [| "NA"; null |])) |> ignore)
            let e = Expect.throwsC (fun () -> Dataset.ParseCsv(text, format = CsvFormat(TextColumns = [| "nope" |])) |> ignore) id
            Expect.stringContains e.Message "TextColumns" "names the option"
            Expect.stringContains e.Message "'nope'" "and the column"
            let path = Path.Combine(Path.GetTempPath(), "fnn-facade-" + Guid.NewGuid().ToString("N") + ".csv")
            File.WriteAllText(path, text)
            try
                expectArg "features" [ "features[0]" ] (fun () -> Dataset.LoadCsvFeatures(path, [| null |]) |> ignore)
                expectArg "features" [ "features[1]" ] (fun () -> Dataset.LoadCsv(path, features = [| "a"; null |]) |> ignore)
            finally File.Delete path
        }
        test "an unknown Scaling names the C# parameter or property" {
            expectArg "scaling" [ "8" ] (fun () -> FeatureScaler.Fit(array2D [ [ 1.0 ]; [ 2.0 ] ], enum<Scaling> 8) |> ignore)
            expectArg "Scaling" [ "8" ] (fun () -> Pipeline.Fit(Dataset.Embedded "iris", PipelineOptions(Scaling = enum<Scaling> 8)) |> ignore)
        }
        test "an unknown MissingValues names the C# parameter or property" {
            expectArg "Missing" [ "9" ] (fun () -> Dataset.ParseCsv("a,y\n1,p\n2,q\n", format = CsvFormat(Missing = enum<MissingValues> 9)) |> ignore)
            expectArg "missing" [ "9" ] (fun () -> Dataset.Embedded("iris").WithMissing(enum<MissingValues> 9) |> ignore)
        }
        test "Metrics.Classification refuses probabilities of another width than the class names" {
            expectArg "probabilities" [ "2x3"; "2x2" ] (fun () ->
                Metrics.Classification([| "a"; "b" |], [| 0; 1 |], [| 0; 1 |], array2D [ [ 0.5; 0.25; 0.25 ]; [ 0.1; 0.8; 0.1 ] ]) |> ignore)
        }
        test "LoadCsvForPrediction reads a model's features only: the target column's blanks, unseen classes and text keep every row" {
            let dir = Path.Combine(Path.GetTempPath(), "fnn-predict-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            try
                let data = Dataset.ParseCsv("a,color,label\n" + String.Join("", [ for i in 0 .. 29 -> sprintf "%d,%s,%s\n" (i % 5) [| "red"; "blue" |].[i % 2] (if i % 3 = 0 then "x" else "y") ]), format = CsvFormat(Missing = MissingValues.Mean))
                let model = Pipeline.Fit(data, PipelineOptions(Training = TrainingOptions(MaxEpochs = 2))).Model
                let path = Path.Combine(dir, "new.csv")
                // The target cells: a class, a blank (missing), a class the model never saw, a marker; a missing feature too.
                File.WriteAllText(path, "a,color,label\n1,red,x\n2,blue,\n3,red,zzz\nNA,blue,NA\n")
                let rows = Dataset.LoadCsvForPrediction(path, model)
                Expect.equal rows.SampleCount 4 "every row"
                // The features as written (a's NA missing for the imputer; color by name).
                Expect.equal [ for i in 0 .. 3 -> rows.CellText(i, 0), rows.CellText(i, 1) ] [ "1", "red"; "2", "blue"; "3", "red"; "", "blue" ] "the feature cells"
                Expect.equal (rows.Labels, rows.ClassNames) ([||], [| "x"; "y" |]) "no labels; the model's classes"
                Expect.equal (model.PredictClassNames(rows).Length) 4 "one prediction per row"
                // The labelled read refuses the unseen class (and would drop the blank): it is for scoring, not predicting.
                Expect.throwsT<DataFormatException> (fun () -> Dataset.LoadCsvForModel(path, model) |> ignore) "LoadCsvForModel reads the target"
                // A file that quotes every non-empty field (PostgreSQL's FORCE_QUOTE *, its empty cells bare): its quoted NA
                // is missing in the features, as the labelled read takes it, whatever the target column holds.
                File.WriteAllText(path, "\"a\",\"color\",\"label\"\n\"1\",\"red\",\"x\"\n\"NA\",\"blue\",\n")
                let quoted = Dataset.LoadCsvForPrediction(path, model)
                Expect.equal [ for i in 0 .. 1 -> quoted.CellText(i, 0) ] [ "1"; "" ] "QUOTE_ALL: a quoted NA is missing"
                // No target column at all: the same features.
                File.WriteAllText(path, "color,a\nred,1\n")
                let only = Dataset.LoadCsvForPrediction(path, model)
                Expect.equal (only.FeatureNames, only.CellText(0, 0), only.CellText(0, 1)) ([| "a"; "color" |], "1", "red") "the model's columns by name"
            finally Directory.Delete(dir, true)
        }
        test "FormatCsv writes by the library's rules: ParseCsv reads back every text, markers and separators included" {
            // Texts that need quotes (a marker, separators, a quote, a line break, edge spaces, a leading single quote)
            // and some that do not; "" is a missing value.
            let texts = [| "NA"; "nan"; "?"; "null"; "a;b"; "a,b"; "tab\there"; "say \"hi\""; "two\nlines"; " edge "; "'quoted'"; "plain"; "1.5"; "" |]
            let rows = texts |> Array.mapi (fun i t -> [| string i; t; (if i % 2 = 0 then "NA" else "b;c") |])
            let text = Dataset.FormatCsv([| "id"; "text"; "class" |], rows |> Array.map (fun r -> r :> Collections.Generic.IReadOnlyList<string>))
            let data = Dataset.ParseCsv(text, target = "class", format = CsvFormat(TextColumns = [| "text" |], Missing = MissingValues.MostFrequent))
            Expect.equal [ for i in 0 .. texts.Length - 1 -> data.CellText(i, 1) ] (List.ofArray texts) "every text as written"
            Expect.equal [ for i in 0 .. texts.Length - 1 -> data.ClassNames.[data.Labels.[i]] ] [ for i in 0 .. texts.Length - 1 -> if i % 2 = 0 then "NA" else "b;c" ] "the class NA is a class"
            Expect.stringStarts text "id,text,class\n0,\"NA\",\"NA\"\n" "quoted where needed only"
            expectArg "rows" [ "rows[0]"; "2 fields"; "3 columns" ] (fun () -> Dataset.FormatCsv([| "a"; "b"; "c" |], [| [| "1"; "2" |] :> Collections.Generic.IReadOnlyList<string> |]) |> ignore)
            expectArg "rows" [ "rows[0][1]" ] (fun () -> Dataset.FormatCsv([| "a"; "b" |], [| [| "1"; null |] :> Collections.Generic.IReadOnlyList<string> |]) |> ignore)
            expectArg "header" [ "header[1]"; "more than once" ] (fun () -> Dataset.FormatCsv([| "a"; "a" |], [||]) |> ignore)
        }
        test "FormatCsv with missing markers quotes them, so the text reads back the same with those markers" {
            // The reader takes a bare marker for a missing value and a quoted one for text (DataFacadeTests above):
            // a category "-" written bare would come back missing from a read with the marker "-".
            let rows = [| [| "-"; "1" |]; [| "x"; "2" |]; [| ""; "3" |]; [| " - "; "4" |]; [| "MISSING"; "5" |] |] |> Array.map (fun r -> r :> Collections.Generic.IReadOnlyList<string>)
            let markers = [| "-"; "missing" |]
            let text = Dataset.FormatCsv([| "c"; "y" |], rows, markers)
            Expect.equal text "c,y\n\"-\",1\nx,2\n,3\n\" - \",4\n\"MISSING\",5\n" "markers quoted (ignoring case), other texts bare"
            let data = Dataset.ParseCsv(text, target = "y", format = CsvFormat(TextColumns = [| "c" |], MissingMarkers = markers, Missing = MissingValues.MostFrequent))
            Expect.equal [ for i in 0 .. 4 -> data.CellText(i, 0) ] [ "-"; "x"; ""; " - "; "MISSING" ] "every text as written; the empty field missing"
            // Without the markers the same rows written bare: the marker comes back missing (what the overload prevents).
            let bare = Dataset.FormatCsv([| "c"; "y" |], rows)
            let lost = Dataset.ParseCsv(bare, target = "y", format = CsvFormat(TextColumns = [| "c" |], MissingMarkers = markers, Missing = MissingValues.MostFrequent))
            Expect.equal (lost.CellText(0, 0)) "" "bare, the marker reads as missing"
            expectArg "missingMarkers" [ "missingMarkers[1]" ] (fun () -> Dataset.FormatCsv([| "a" |], [||], [| "-"; null |]) |> ignore)
        }
    ]
