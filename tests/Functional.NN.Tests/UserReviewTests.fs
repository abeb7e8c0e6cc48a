/// A review by new users of the README and docs: softmax cross-entropy on one output column (which
/// learns nothing, silently) is refused on every path, messages count in the right number and name
/// losses by their public names, and the training results print a summary.
module Functional.NN.Tests.UserReviewTests

open System
open System.Globalization
open Expecto
open Functional.NN

let private expectArg = Expectations.expectArgument

/// 4 rows of 2 inputs, and a one-column target in [0, 1] (a valid cross-entropy target).
let private x = Mat.ofRows [ [| 0.0; 1.0 |]; [| 1.0; 0.0 |]; [| 1.0; 1.0 |]; [| 0.5; -0.5 |] ]
let private y1 = Mat.ofRows [ [| 1.0 |]; [| 0.0 |]; [| 1.0 |]; [| 0.0 |] ]

/// The message's words: the loss, the cause and the losses to use instead.
let private oneColumnWords = [ "SoftmaxCrossEntropy"; "one column"; "always 0"; "BinaryCrossEntropyWithLogits"; "BinaryCrossEntropy (on a sigmoid output)" ]

[<Tests>]
let tests =
    testList "UserReview" [
        testList "softmax cross-entropy on one output column" [
            test "the trainer refuses it on both backends, the loss, its gradient and gradient checks too (ParamName loss)" {
                let net = Network.init 2 [ LayerSpec.Of(1, Activation.Identity) ] 3L
                for backend in [ Backend.Reference; Backend.Kernels ] do
                    let options = TrainingOptions.Default.WithMaxEpochs(2).WithBackend(backend)
                    expectArg "loss" oneColumnWords (fun () -> Trainer.train options Loss.SoftmaxCrossEntropy (TrainingData.Of(x, y1)) net |> ignore) |> ignore
                expectArg "loss" oneColumnWords (fun () -> Network.loss net Loss.SoftmaxCrossEntropy x y1 |> ignore) |> ignore
                expectArg "loss" oneColumnWords (fun () -> Network.lossAndGradient net Loss.SoftmaxCrossEntropy x y1 |> ignore) |> ignore
                expectArg "loss" oneColumnWords (fun () -> GradientCheck.checkNetwork GradientCheckOptions.Default net Loss.SoftmaxCrossEntropy x y1 |> ignore) |> ignore
                // Before the fix: loss 0 and a zero gradient, whatever the weights (the softmax of one column is 1).
                // The losses meant for one column train it.
                for loss in [ Loss.BinaryCrossEntropyWithLogits; Loss.MeanSquaredError ] do
                    Expect.isTrue (Double.IsFinite (Network.loss net loss x y1)) (Loss.caseName loss)
                // Two columns or more are what softmax cross-entropy is for.
                let net2 = Network.init 2 [ LayerSpec.Of(2, Activation.Identity) ] 3L
                Expect.isGreaterThan (Network.loss net2 Loss.SoftmaxCrossEntropy x (Mat.oneHot 2 [| 0; 1; 1; 0 |])) 0.0 "two columns"
            }
            test "the C# facade refuses it naming its parameter loss" {
                let xa, ya = x.ToArray(), y1.ToArray()
                let net = FunctionalNN.NetworkBuilder(2).Dense(1, FunctionalNN.Activation.Identity).Build()
                let sce = FunctionalNN.Loss.SoftmaxCrossEntropy
                expectArg "loss" oneColumnWords (fun () -> FunctionalNN.Trainer.Train(net, xa, ya, sce) |> ignore) |> ignore
                expectArg "loss" oneColumnWords (fun () -> net.Loss(xa, ya, sce) |> ignore) |> ignore
                expectArg "loss" oneColumnWords (fun () -> net.LossAndGradient(xa, ya, sce) |> ignore) |> ignore
                expectArg "loss" oneColumnWords (fun () -> net.CheckGradients(xa, ya, sce) |> ignore) |> ignore
                expectArg "loss" oneColumnWords (fun () -> FunctionalNN.Autodiff.NetworkLoss(net, xa, ya, sce) |> ignore) |> ignore
            }
        ]

        testList "binary cross-entropy on outputs outside [0, 1]" [
            // Review: the loss clamps p to [1e-15, 1 - 1e-15], so an output of 1.5 for target 1 had a
            // loss of about 1e-15 and a gradient pushing it further up; training "converged" to
            // outputs of 100 and -100. Expected (PyTorch's BCELoss refuses such input too): a typed
            // error naming the value's row and column, or, for a network that does not end with the
            // sigmoid, the loss up front; networks ending with the sigmoid train as before.
            test "the loss and its gradient refuse an output outside [0, 1], naming the row and column (ParamName output)" {
                let out = Mat.ofRows [ [| 0.5 |]; [| 1.5 |] ]
                let y = Mat.ofRows [ [| 1.0 |]; [| 1.0 |] ]
                let words = [ "BinaryCrossEntropy"; "[0, 1]"; "1.5"; "row 1, column 0"; "BinaryCrossEntropyWithLogits" ]
                expectArg "output" words (fun () -> Loss.value Loss.BinaryCrossEntropy out y |> ignore) |> ignore
                expectArg "output" words (fun () -> Loss.gradient Loss.BinaryCrossEntropy out y |> ignore) |> ignore
                expectArg "output" [ "-0.5"; "row 0, column 0" ] (fun () -> Loss.value Loss.BinaryCrossEntropy (Mat.ofRows [ [| -0.5 |] ]) (Mat.ofRows [ [| 0.0 |] ]) |> ignore) |> ignore
                // Exactly 0 and 1 are probabilities (the clamp keeps log 0 away): each row's loss is -log(1 - 1e-15), by hand.
                Expect.floatClose Accuracy.high (Loss.value Loss.BinaryCrossEntropy (Mat.ofRows [ [| 1.0 |]; [| 0.0 |] ]) (Mat.ofRows [ [| 1.0 |]; [| 0.0 |] ])) (-(log (1.0 - 1e-15))) "0 and 1 on their own targets"
            }
            test "training refuses a network that does not end with the sigmoid, on both backends (ParamName loss); the network's loss refuses its outputs" {
                let net = Network.init 2 [ LayerSpec.Of(1, Activation.Identity) ] 3L
                let ends = [ "BinaryCrossEntropy"; "a dense layer with the identity activation"; "sigmoid"; "BinaryCrossEntropyWithLogits" ]
                for backend in [ Backend.Reference; Backend.Kernels ] do
                    let options = TrainingOptions.Default.WithMaxEpochs(2).WithBackend(backend)
                    expectArg "loss" ends (fun () -> Trainer.train options Loss.BinaryCrossEntropy (TrainingData.Of(x, y1)) net |> ignore) |> ignore
                let dense act = Block.Dense (Dense.create (Mat.ofRows [ [| 0.5 |]; [| -0.25 |] ]) (Some (MathNet.Numerics.LinearAlgebra.Vector<float>.Build.Dense [| 0.1 |])) act)
                let dropoutLast = Network.ofBlocks [ dense Activation.Sigmoid; Block.Dropout 0.5 ]
                expectArg "loss" [ "dropout" ] (fun () -> Trainer.train TrainingOptions.Default Loss.BinaryCrossEntropy (TrainingData.Of(x, y1)) dropoutLast |> ignore) |> ignore
                // x's rows give outputs outside [0, 1] through the identity (row 2: w1 + w2 + b).
                let big = Mat.ofRows [ [| 50.0; 50.0 |] ]
                expectArg "loss" [ "the network's output"; "row 0, column 0" ] (fun () -> Network.loss net Loss.BinaryCrossEntropy big (Mat.ofRows [ [| 1.0 |] ]) |> ignore) |> ignore
                expectArg "loss" [ "the network's output" ] (fun () -> Network.lossAndGradient net Loss.BinaryCrossEntropy big (Mat.ofRows [ [| 1.0 |] ]) |> ignore) |> ignore
                // The other paths that compute the loss: the gradient check in a mode, autodiff, gradient descent of 0 steps.
                expectArg "loss" [ "the network's output" ] (fun () -> GradientCheck.checkNetworkIn GradientCheckOptions.Default Mode.Inference net Loss.BinaryCrossEntropy big (Mat.ofRows [ [| 1.0 |] ]) |> ignore) |> ignore
                expectArg "loss" [ "the network's output" ] (fun () -> Functional.NN.Autodiff.NetworkGraph.lossAndGradient net Loss.BinaryCrossEntropy big (Mat.ofRows [ [| 1.0 |] ]) |> ignore) |> ignore
                expectArg "loss" ends (fun () -> GradientDescent.run 0.1 0 Loss.BinaryCrossEntropy x y1 net |> ignore) |> ignore
                Expect.throwsT<ArgumentNullException> (fun () -> GradientDescent.run 0.1 0 Loss.BinaryCrossEntropy x y1 (Unchecked.defaultof<Network>) |> ignore) "a null network: ArgumentNullException"
                // Autodiff checks the output in the mode asked for: dropout after the sigmoid leaves [0, 1] in training.
                let dropped = Network.ofBlocks [ dense Activation.Sigmoid; Block.Dropout 0.5 ]
                let rows = Mat.init 8 2 (fun i j -> float (i - 4 + j))
                let targets = Mat.init 8 1 (fun i _ -> float (i % 2))
                Functional.NN.Autodiff.NetworkGraph.lossAndGradient dropped Loss.BinaryCrossEntropy rows targets |> ignore
                expectArg "loss" [ "the network's output" ] (fun () -> Functional.NN.Autodiff.NetworkGraph.lossAndGradientIn (Mode.Training 0UL) dropped Loss.BinaryCrossEntropy rows targets |> ignore) |> ignore
                // The sigmoid as a dense layer's activation or as a block of its own: trains.
                for net in [ Network.init 2 [ LayerSpec.Of(1, Activation.Sigmoid) ] 3L
                             Network.ofBlocks [ dense Activation.Identity; Block.Activation Activation.Sigmoid ] ] do
                    let r = Trainer.train (TrainingOptions.Default.WithMaxEpochs 5) Loss.BinaryCrossEntropy (TrainingData.Of(x, y1)) net
                    Expect.isTrue (Double.IsFinite r.TrainLoss && r.TrainLoss > 0.0) "a sigmoid output trains"
            }
        ]

        testList "wording" [
            test "the task rule counts times in the right number" {
                let _, once = TargetRule.ofNumbers [| 1.0; 1.0; 1.0; 2.0 |]
                Expect.stringContains once "some integer value occurs only 1 time, fewer than 3" "singular"
                let _, twice = TargetRule.ofNumbers [| 1.0; 1.0; 1.0; 2.0; 2.0 |]
                Expect.stringContains twice "some integer value occurs only 2 times, fewer than 3" "plural"
                let data = FunctionalNN.Dataset.FromArrays(Array2D.init 4 1 (fun i _ -> float i), [| 1.0; 1.0; 1.0; 2.0 |])
                Expect.stringContains data.TaskReason "occurs only 1 time, fewer than 3" "Dataset.TaskReason"
                Expect.isFalse (data.TaskReason.Contains "(s)") data.TaskReason
            }
            test "Dataset.FromArrays counts feature names and columns in the right number" {
                let features = Array2D.init 4 2 (fun i j -> float (i + j))
                expectArg "featureNames" [ "featureNames holds 1 name but features has 2 columns" ] (fun () ->
                    FunctionalNN.Dataset.FromArrays(features, [| "a"; "b"; "a"; "b" |], [| "u" |]) |> ignore) |> ignore
                expectArg "featureNames" [ "featureNames holds 3 names but features has 1 column" ] (fun () ->
                    FunctionalNN.Dataset.FromArrays(Array2D.init 4 1 (fun i _ -> float i), [| "a"; "b"; "a"; "b" |], [| "u"; "v"; "w" |]) |> ignore) |> ignore
            }
            test "an overflowing loss is named by its public name (MeanSquaredError), in the core and in C#" {
                let big = Mat.ofRows [ [| 1e200 |]; [| 0.0 |]; [| 0.0 |]; [| 0.0 |] ]
                let net = Network.init 2 [ LayerSpec.Of(1, Activation.Identity) ] 3L
                expectArg "y" [ "The MeanSquaredError loss of row 0 overflows the double range" ] (fun () -> Network.loss net Loss.MeanSquaredError x big |> ignore) |> ignore
                let facadeNet = FunctionalNN.NetworkBuilder(2).Dense(1, FunctionalNN.Activation.Identity).Build()
                let e = expectArg "y" [ "The MeanSquaredError loss of row 0 overflows the double range" ] (fun () -> facadeNet.Loss(x.ToArray(), big.ToArray(), FunctionalNN.Loss.MeanSquaredError) |> ignore)
                Expect.isFalse (e.Message.Contains "mse") e.Message
            }
        ]

        test "the README says how to run the ONNX sample and what it prints (the lines OnnxTests checks)" {
            let readme = IO.File.ReadAllText(Repo.path [ "README.md" ]).Replace("\r\n", "\n")
            let sample = readme.IndexOf "// 1. Train in C#, export the whole pipeline"
            let before = readme.Substring(0, sample)
            let intro = before.Substring(before.LastIndexOf "The program below is tests/OnnxQuickStart.CSharp")
            Expect.stringContains intro "`Microsoft.ML.OnnxRuntime`" "the package to add"
            let fixture = "tests/fixtures/onnx/torch_family_f32.onnx"
            Expect.stringContains intro ("dotnet run --project tests/OnnxQuickStart.CSharp -c Release -- " + fixture) "the command"
            Expect.isTrue (IO.File.Exists(Repo.path [ "tests"; "fixtures"; "onnx"; "torch_family_f32.onnx" ])) "the fixture exists"
            // OnnxTests' "the README's ONNX example ... runs" asserts these lines of the program's output.
            for line in [ "pytorch 1.13.0: 6 layers, softmax at the end: True"; "logits: -0.0733 0.4495 -0.4908"; "read back: 198 parameters" ] do
                Expect.stringContains intro ("\n" + line + "\n") line
        }

        testList "text columns of data read for a model" [
            // Review (high): Dataset.Features held a text cell as the index of its category in the file's own
            // categories, so a file without one of the training categories (or with them in another order)
            // shifted the codes, and the array methods and predictors, which read the model's indices, gave
            // confident wrong answers (the file's [green; red] as codes 0, 1 against the model's
            // [blue; green; red]). Expected: data read for the model hold the model's index of each category,
            // taken from model.Categories (the model's own list, not the code under test), and the array
            // methods agree with the data set methods, which map categories by name.
            let training =
                let rng = Random 1
                let rows =
                    [ for i in 0 .. 299 ->
                        let c = [| "red"; "green"; "blue" |].[i % 3]
                        sprintf "%s,%s,%s" c ((rng.NextDouble()).ToString("F3", CultureInfo.InvariantCulture)) (if c = "red" then "stop" else "go") ]
                String.Join("\n", "color,size,label" :: rows)
            let model () =
                let options = FunctionalNN.PipelineOptions(Training = FunctionalNN.TrainingOptions(MaxEpochs = 60, Seed = 1L))
                FunctionalNN.Pipeline.Fit(FunctionalNN.Dataset.ParseCsv(training, target = "label"), options).Model
            let withFile (text: string) (f: string -> unit) =
                let path = IO.Path.Combine(IO.Path.GetTempPath(), sprintf "fnn-categories-%s.csv" (Guid.NewGuid().ToString "N"))
                IO.File.WriteAllText(path, text)
                try f path finally IO.File.Delete path
            test "LoadCsvForPrediction and LoadCsvForModel give the model's category indices, and the array methods agree" {
                let m = model ()
                let known = m.Categories.[0]
                Expect.equal (Array.sort known) [| "blue"; "green"; "red" |] "the model's categories"
                withFile "color,size\nred,0.5\ngreen,0.5\n" (fun path ->
                    let fresh = FunctionalNN.Dataset.LoadCsvForPrediction(path, m)
                    let x = fresh.Features
                    Expect.equal [| x.[0, 0]; x.[1, 0] |] [| float (Array.IndexOf(known, "red")); float (Array.IndexOf(known, "green")) |] "the model's indices"
                    Expect.equal x (m.FeaturesOf fresh) "the codes FeaturesOf maps by name"
                    Expect.equal (m.PredictClassNames x) (m.PredictClassNames fresh) "array and data set predictions"
                    Expect.equal (m.PredictClassNames fresh) [| "stop"; "go" |] "what the rows are"
                    Expect.equal (fresh.ToString()) "2 rows, 2 features, no target values" "its summary says it has no target"
                    let p = m.CreatePredictor()
                    Expect.equal (p.PredictClassName(ReadOnlySpan [| x.[1, 0]; x.[1, 1] |])) "go" "the predictor")
                withFile "color,size,label\ngreen,0.5,go\nred,0.5,stop\n" (fun path ->
                    let scored = FunctionalNN.Dataset.LoadCsvForModel(path, m)
                    Expect.equal scored.Features.[0, 0] (float (Array.IndexOf(known, "green"))) "LoadCsvForModel too"
                    Expect.equal (m.PredictClassNames scored.Features) [| "go"; "stop" |] "its array predictions")
            }
            test "a category the model does not know comes after the model's and is refused by both paths" {
                let m = model ()
                withFile "color,size\nplane,0.5\nred,0.5\n" (fun path ->
                    let fresh = FunctionalNN.Dataset.LoadCsvForPrediction(path, m)
                    Expect.equal fresh.Categories.[0] (Array.append m.Categories.[0] [| "plane" |]) "the model's categories, then the file's others"
                    Expect.equal fresh.Features.[0, 0] 3.0 "past the model's codes"
                    Expect.throwsT<ArgumentException> (fun () -> m.PredictClassNames fresh.Features |> ignore) "the array method"
                    let e = Expect.throwsC (fun () -> m.PredictClassNames fresh |> ignore) id
                    Expect.stringContains e.Message "'plane'" "the data set method names it")
            }
            // A review of the fix: text in a column the model reads as numbers still reached Features (its text's
            // codes read as numbers by the array methods); F# users' Csv.loadFeatures did not align; SaveCsv refused
            // aligned data whose unused model category reads as a number; fitting on aligned data ordered the
            // categories otherwise; SelectRows, splits and permutation importance failed on data without target
            // values. Expected values: the file's line and column, the model's own lists, the unaligned reads.
            test "text in a column the model reads as numbers is a DataFormatException naming the line and the column" {
                let m = model ()
                withFile "color,size\ngreen,0.5\nred,big\n" (fun path ->
                    for load in [ (fun () -> FunctionalNN.Dataset.LoadCsvForPrediction(path, m) |> ignore); (fun () -> FunctionalNN.Dataset.LoadCsvForModel(path, m) |> ignore) ] do
                        let e = Expect.throwsC load id
                        match e with
                        | :? FunctionalNN.DataFormatException as d ->
                            Expect.equal (d.Line, d.Column) (3, "size") "the first line with text there"
                            Expect.stringContains d.Message "'big' is not a finite number" "the text"
                        | e -> failtestf "expected DataFormatException, got %s: %s" (e.GetType().Name) e.Message)
            }
            test "F#: Pipeline.loadCsvFeatures aligns as the C# read does, and its array predictions are the data set's" {
                let m = (PipelineFit.fit (FitOptions.Default.WithEpochs 60) (Csv.loadText (CsvOptions.Default.WithTarget "label") training)).Pipeline
                withFile "color,size\nred,0.5\ngreen,0.5\n" (fun path ->
                    let data = Pipeline.loadCsvFeatures m CsvOptions.Default path
                    Expect.equal data.Categories.[0].[.. m.Preprocessor.Categories.[0].Length - 1] m.Preprocessor.Categories.[0] "the model's categories first"
                    Expect.equal (Pipeline.predictClasses m data.Features) (Pipeline.predictClasses m (Pipeline.featuresOf m data)) "array and by name"
                    let plain = Csv.loadFeatures (Pipeline.csvOptions m CsvOptions.Default) path
                    Expect.equal plain.Categories.[0] [| "green"; "red" |] "the reader alone: the file's own categories")
            }
            // A review of the fix: a numeric column the reader took for text without any text cell (numbers quoted in
            // every cell, or 'abc' only in a row Drop leaves out) was refused blaming TextColumns, with no line; the
            // evaluate path quoted the column's first cell ('1') as its text; a null format threw NullReferenceException.
            test "a column the model reads as numbers is read as numbers even quoted; a cell that is not one is named by its line" {
                let m = (PipelineFit.fit (FitOptions.Default.WithEpochs 5) (Csv.loadText (CsvOptions.Default.WithTarget "label") training)).Pipeline
                withFile "color,size\nred,\"0.5\"\ngreen,\"0.25\"\n" (fun path ->
                    let d = Pipeline.loadCsvFeatures m CsvOptions.Default path
                    Expect.equal (Dataset.categoriesOf d 1) [||] "a numeric column"
                    Expect.equal (d.Features.Column(1).ToArray()) [| 0.5; 0.25 |] "the values written in the file")
                withFile "color,size\nred,0.5\n,abc\ngreen,0.75\n" (fun path ->
                    let d = Pipeline.loadCsvFeatures m (CsvOptions.Default.WithMissing MissingPolicy.Drop) path
                    Expect.equal (d.Features.Column(1).ToArray()) [| 0.5; 0.75 |] "the rows Drop keeps, as numbers")
                // The reader's advice for such cells (a review): a decimal comma, a quoted missing-value marker.
                let refusal (text: string) =
                    let mutable message = ""
                    withFile text (fun path ->
                        match Expect.throwsC (fun () -> Pipeline.loadCsvFeatures m CsvOptions.Default path |> ignore) id with
                        | :? DataFormatException as e -> message <- e.Message
                        | e -> failtestf "expected DataFormatException, got %s: %s" (e.GetType().Name) e.Message)
                    message
                let comma = refusal "color;size\nred;\"1,5\"\ngreen;\"2,5\"\n"
                Expect.stringContains comma "Line 2, column 'size': '1,5' is not a finite number" comma
                Expect.stringContains comma "decimal comma" comma
                let marker = refusal "color,size\nred,\"1\"\ngreen,\"NA\"\n"
                Expect.stringContains marker "Line 3, column 'size': 'NA' is not a finite number" marker
                Expect.stringContains marker "it is in quotes, so it is the text 'NA', not a missing value" marker
                let labelled = Csv.loadText (CsvOptions.Default.WithTarget "label") "color,size,label\nred,1,stop\ngreen,abc,go\n"
                expectArg "data" [ "At line 3, column 'size': 'abc' is not a finite number" ] (fun () -> Pipeline.evaluate m labelled |> ignore) |> ignore
                expectArg "format" [] (fun () -> Pipeline.csvOptions m (Unchecked.defaultof<CsvOptions>) |> ignore) |> ignore
            }
            test "C#: data read plainly with a model's numeric column quoted are refused naming the C# readers, which read them" {
                let m = model ()
                withFile "color,size,label\nred,\"0.5\",stop\ngreen,\"0.25\",go\n" (fun path ->
                    let plain = FunctionalNN.Dataset.LoadCsv(path, target = "label")
                    let e = expectArg "data" [ "holds numbers as text categories"; "(Dataset.LoadCsvForModel or LoadCsvForPrediction)" ] (fun () -> m.Evaluate plain |> ignore)
                    Expect.isFalse (e.Message.Contains "Pipeline.loadCsv") "no F# name"
                    expectArg "target" [ "'size', one of the model's feature columns" ] (fun () -> FunctionalNN.Dataset.LoadCsvForModel(path, m, "size") |> ignore) |> ignore
                    expectArg "target" [ "blank" ] (fun () -> FunctionalNN.Dataset.LoadCsvForModel(path, m, " ") |> ignore) |> ignore
                    let forModel = FunctionalNN.Dataset.LoadCsvForModel(path, m, "label")
                    Expect.equal forModel.Features.[1, 1] 0.25 "read as the number"
                    Expect.equal (m.Evaluate(forModel).Classification.ConfusionMatrix |> Seq.cast<int> |> Seq.sum) 2 "both rows scored")
            }
            test "data read for a model save and read back, select rows, split, and refuse to be scored without target values" {
                // A model whose categories include one that reads as a number ("10"), which the file does not hold.
                let rows = [ for i in 0 .. 59 -> sprintf "%s,%d,%s" [| "S"; "M"; "10" |].[i % 3] (i % 7) (if i % 3 = 0 then "a" else "b") ]
                let options = FunctionalNN.PipelineOptions(Training = FunctionalNN.TrainingOptions(MaxEpochs = 5, Seed = 1L))
                let m = FunctionalNN.Pipeline.Fit(FunctionalNN.Dataset.ParseCsv(String.Join("\n", "code,n,label" :: rows), target = "label"), options).Model
                withFile "code,n\nS,1\nM,2\nS,3\nM,4\n" (fun path ->
                    let d = FunctionalNN.Dataset.LoadCsvForPrediction(path, m)
                    withFile "" (fun out ->
                        d.SaveCsv(out)
                        Expect.equal (IO.File.ReadAllText out) "code,n\nS,1\nM,2\nS,3\nM,4\n" "the file as read, no quotes needed")
                    let picked = d.SelectRows [| 3; 0 |]
                    Expect.equal picked.Features.[0, 0] d.Features.[3, 0] "the rows picked"
                    Expect.equal (picked.ToString()) "2 rows, 2 features, no target values" "still without target values"
                    let split = d.SplitStratified(0.5, 1L)
                    Expect.equal (split.Train.SampleCount + split.Test.SampleCount) 4 "a plain split of the rows"
                    Expect.equal (d.KFold(2, 1L).Count) 2 "two folds"
                    expectArg "dataset" [ "no target values" ] (fun () -> FunctionalNN.Explanations.PermutationImportance(m, d) |> ignore) |> ignore)
            }
            test "a pipeline fitted on data read for a model is the one fitted on the same file read plainly" {
                let m = model ()
                // "plane", which m does not know, is listed after m's categories when read for m: [blue; green; red; plane].
                withFile "color,size,label\nred,0.1,stop\ngreen,0.2,go\nplane,0.3,stop\ngreen,0.9,go\nred,0.5,stop\nplane,0.6,go\n" (fun path ->
                    let options = FunctionalNN.PipelineOptions(Training = FunctionalNN.TrainingOptions(MaxEpochs = 3, Seed = 2L))
                    let a = FunctionalNN.Pipeline.Fit(FunctionalNN.Dataset.LoadCsvForModel(path, m), options).Model
                    let b = FunctionalNN.Pipeline.Fit(FunctionalNN.Dataset.LoadCsv(path, target = "label"), options).Model
                    Expect.equal a.Categories.[0] [| "green"; "plane"; "red" |] "ordinal, as the reader's"
                    Expect.equal a.Categories b.Categories "the same lists"
                    let x = b.FeaturesOf(FunctionalNN.Dataset.LoadCsv(path, target = "label"))
                    Expect.equal (a.PredictProbabilities x) (b.PredictProbabilities x) "the same model")
            }
            test "Pipeline.alignCategories keeps numeric columns, missing cells and each cell's category" {
                // Column a: text with the categories [z; y] (codes 0, 1, NaN); b: numbers. The preprocessor knows
                // [x; y; z] for a and reads b as numbers: a's codes become y -> 1, z -> 2, b is untouched.
                let data =
                    { Features = Mat.ofRows [ [| 0.0; 5.0 |]; [| 1.0; 6.0 |]; [| nan; 7.0 |] ]; FeatureNames = [| "a"; "b" |]
                      TargetName = "t"; Target = Target.Values [| 1.0; 2.0; 3.0 |]; TargetReading = TargetReading.Given
                      Categories = [| [| "z"; "y" |]; [||] |]; Missing = MissingPolicy.Mean; Lines = [| 2; 3; 4 |]; Warnings = [||]; Dropped = DroppedRows.None }
                let p = Preprocessor.create [| [| "x"; "y"; "z" |]; [||] |] MissingPolicy.Mean [| 0.0; 6.0 |] UnknownCategory.Error
                let aligned = Preprocessor.alignCategories p [| "a"; "b" |] data
                Expect.equal aligned.Categories [| [| "x"; "y"; "z" |]; [||] |] "the model's list"
                Expect.equal (aligned.Features.Column(0).ToArray() |> Array.take 2) [| 2.0; 1.0 |] "z -> 2, y -> 1"
                Expect.isTrue (Double.IsNaN aligned.Features.[2, 0]) "a missing cell stays missing"
                Expect.equal (aligned.Features.Column(1).ToArray()) [| 5.0; 6.0; 7.0 |] "numbers untouched"
                Expect.equal aligned.Lines data.Lines "lines kept"
                Expect.equal (data.Features.[0, 0], data.Categories.[0]) (0.0, [| "z"; "y" |]) "the caller's data set unchanged"
                let cells (m: MathNet.Numerics.LinearAlgebra.Matrix<float>) = m.ToRowArrays() |> Array.map (Array.map (fun v -> if Double.IsNaN v then "NaN" else string v))
                Expect.equal (cells (Preprocessor.rawFeatures p [| "a"; "b" |] aligned)) (cells (Preprocessor.rawFeatures p [| "a"; "b" |] data)) "what the model reads"
            }
        ]

        testList "the matrix helpers refuse shapes they cannot use" [
            // A review by a student of the notes: Mat.ofRows (the README's F# quick start builds its data with it)
            // dropped the extra value of a longer second row (2x1 [1; 2] from [1] and [2; 3]) or threw
            // IndexOutOfRangeException; Mat.addRow ignored extra bias entries; Mat.selectRows threw MathNet's
            // 'row'. Expected: ArgumentException naming the parameter and the place, as every other check.
            test "Mat.ofRows refuses ragged, empty and null rows, naming the row (ParamName rows)" {
                expectArg "rows" [ "rows[1] has 2 values but rows[0] has 1 value" ] (fun () -> Mat.ofRows [ [| 1.0 |]; [| 2.0; 3.0 |] ] |> ignore) |> ignore
                expectArg "rows" [ "rows[1] has 1 value but rows[0] has 2 values" ] (fun () -> Mat.ofRows [ [| 1.0; 2.0 |]; [| 3.0 |] ] |> ignore) |> ignore
                expectArg "rows" [ "rows is empty" ] (fun () -> Mat.ofRows [] |> ignore) |> ignore
                expectArg "rows" [ "rows[0] is empty" ] (fun () -> Mat.ofRows [ [||] ] |> ignore) |> ignore
                expectArg "rows" [ "rows[1] is null" ] (fun () -> Mat.ofRows [ [| 1.0 |]; null ] |> ignore) |> ignore
                let m = Mat.ofRows [ [| 1.0; 2.0 |]; [| 3.0; 4.0 |] ]
                Expect.equal (m.ToArray()) (array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]) "rows of one length still make the matrix"
            }
            test "Mat.addRow and Mat.selectRows refuse a bias of another width and an index outside the rows" {
                let m = Mat.ofRows [ [| 1.0; 2.0 |]; [| 3.0; 4.0 |] ]
                let v (a: float[]) = MathNet.Numerics.LinearAlgebra.Vector<float>.Build.DenseOfArray a
                expectArg "b" [ "b has 3 entries"; "2x2" ] (fun () -> Mat.addRow (v [| 10.0; 20.0; 30.0 |]) m |> ignore) |> ignore
                expectArg "b" [ "b has 1 entry"; "2x2" ] (fun () -> Mat.addRow (v [| 10.0 |]) m |> ignore) |> ignore
                Expect.equal ((Mat.addRow (v [| 10.0; 20.0 |]) m).ToArray()) (array2D [ [ 11.0; 22.0 ]; [ 13.0; 24.0 ] ]) "by hand"
                expectArg "indices" [ "indices[1] = 2 is outside 0 .. 1" ] (fun () -> Mat.selectRows [| 0; 2 |] m |> ignore) |> ignore
                expectArg "indices" [ "indices[0] = -1" ] (fun () -> Mat.selectRows [| -1 |] m |> ignore) |> ignore
                Expect.equal ((Mat.selectRows [| 1; 0; 1 |] m).ToArray()) (array2D [ [ 3.0; 4.0 ]; [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]) "by hand"
            }
        ]

        testList "regression metrics of C# arrays" [
            // A user review: Metrics.R2(new double[] { 1, 2 }, new double[] { 1 }) said "actual has shape 1x1 but predicted
            // has shape 2x1". Expected: the arrays' lengths, ParamName actual; equal lengths score as before (by hand).
            test "arrays of different lengths are named by their lengths" {
                for score in [ (fun (p: float[]) (a: float[]) -> FunctionalNN.Metrics.R2(p, a) |> ignore)
                               (fun p a -> FunctionalNN.Metrics.MeanSquaredError(p, a) |> ignore)
                               (fun p a -> FunctionalNN.Metrics.MeanAbsoluteError(p, a) |> ignore) ] do
                    expectArg "actual" [ "actual has 1 value but predicted has 2 values" ] (fun () -> score [| 1.0; 2.0 |] [| 1.0 |]) |> ignore
                Expect.equal (FunctionalNN.Metrics.MeanSquaredError([| 1.0; 2.0 |], [| 1.0; 4.0 |])) 2.0 "(0 + 4) / 2"
                Expect.equal (FunctionalNN.Metrics.MeanAbsoluteError([| 1.0; 2.0 |], [| 1.0; 4.0 |])) 1.0 "(0 + 2) / 2"
            }
        ]

        testList "result summaries" [
            test "TrainingResult<Network>.ToString summarises the run, culture-invariant" {
                let saved = CultureInfo.CurrentCulture
                try
                    CultureInfo.CurrentCulture <- CultureInfo("de-DE")
                    let net = FunctionalNN.NetworkBuilder(2).Dense(1, FunctionalNN.Activation.Identity).Build()
                    let options = FunctionalNN.TrainingOptions(MaxEpochs = 3, Backend = FunctionalNN.Backend.Reference)
                    let r = FunctionalNN.Trainer.Train(net, x.ToArray(), y1.ToArray(), FunctionalNN.Loss.MeanSquaredError, options)
                    let text = r.ToString()
                    let expected =
                        sprintf "TrainingResult: stopped by MaxEpochs after 3 epochs (%d steps) on the Reference backend; training loss %s"
                            r.Steps (r.TrainLoss.ToString("G6", CultureInfo.InvariantCulture))
                    Expect.equal text expected "the summary"
                    Expect.isFalse (text.Contains "FunctionalNN.") "not the type name"
                finally
                    CultureInfo.CurrentCulture <- saved
            }
            test "PipelineFitResult.ToString summarises the run and the model, culture-invariant" {
                let saved = CultureInfo.CurrentCulture
                try
                    CultureInfo.CurrentCulture <- CultureInfo("de-DE")
                    let options = FunctionalNN.PipelineOptions(ValidationFraction = 0.2, Training = FunctionalNN.TrainingOptions(MaxEpochs = 2))
                    let r = FunctionalNN.Pipeline.Fit(FunctionalNN.Dataset.Embedded "iris", options)
                    let text = r.ToString()
                    // With a validation set the default plateau stop watches the validation loss, so the epoch limit
                    // returns the best epoch's network, and the summary names it and gives its record.
                    Expect.isTrue r.BestEpoch.HasValue "a best epoch returned"
                    let k = r.BestEpoch.Value
                    let best = r.History.[k - 1]
                    let g (v: float) = v.ToString("G6", CultureInfo.InvariantCulture)
                    Expect.stringStarts text (sprintf "PipelineFitResult: stopped by MaxEpochs after 2 epochs (%d steps) in " r.Steps) "the run"
                    Expect.stringContains text (sprintf " s on the %O backend; best epoch %d restored: training loss %s, validation loss %s, metric %s; model: %O" r.Backend k (g best.TrainLoss) (g best.ValidationLoss.Value) (g best.ValidationMetric.Value) r.Model) "losses and the model"
                finally
                    CultureInfo.CurrentCulture <- saved
            }
        ]
    ]
