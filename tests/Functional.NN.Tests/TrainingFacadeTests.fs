/// The training facade as a C# user meets it: options with defaults, IProgress, CancellationToken,
/// results that equal the core's bit for bit.
module Functional.NN.Tests.TrainingFacadeTests

open System
open System.Threading
open Expecto
open FunctionalNN
open Functional.NN.Tests.Expectations

/// An IProgress that reports synchronously (Progress<T> posts to a thread pool).
type private Collect() =
    member val Seen = Collections.Generic.List<EpochRecord>()
    interface IProgress<EpochRecord> with
        member this.Report r = this.Seen.Add r

let private xorX = array2D [ [ 0.0; 0.0 ]; [ 0.0; 1.0 ]; [ 1.0; 0.0 ]; [ 1.0; 1.0 ] ]
let private xorY = array2D [ [ 0.0 ]; [ 1.0 ]; [ 1.0 ]; [ 0.0 ] ]
let private xorNet () = NetworkBuilder(2).Dense(2, Activation.Sigmoid).Dense(1, Activation.Sigmoid).Seed(7L).Build()

let private weights (n: Network) = [| for l in 0 .. n.Layers.Count - 1 do yield! Seq.cast<float> (n.GetWeights l); yield! n.GetBias l |]

[<Tests>]
let tests =
    testList "TrainingFacade" [
        // The network training tests, once per backend (issue 11).
        for backend, coreBackend in [ Backend.Reference, Functional.NN.Backend.Reference; Backend.Kernels, Functional.NN.Backend.Kernels ] do
          testList (string backend) [
            test "C# training equals core training bit for bit, and reports every epoch" {
                let options = TrainingOptions(Batching = Batching.FullBatch, Optimizer = Optimizer.Adam(), Schedule = Schedule.Constant 0.05, MaxEpochs = 200, EarlyStoppingPatience = Nullable(), Backend = backend)
                let progress = Collect()
                let r = Trainer.Train(xorNet (), xorX, xorY, Loss.BinaryCrossEntropy, options, progress = progress)
                let core =
                    Functional.NN.Trainer.train
                        ({ TestOptions.sgd with Batching = Functional.NN.Batching.FullBatch; Schedule = Functional.NN.Schedule.Constant 0.05; MaxEpochs = 200 }
                            .WithOptimizer(Functional.NN.Optimizer.adam).WithBackend(coreBackend))
                        Functional.NN.Loss.BinaryCrossEntropy
                        (Functional.NN.TrainingData.Of(Functional.NN.Mat.ofArray2D xorX, Functional.NN.Mat.ofArray2D xorY))
                        (Functional.NN.Network.init 2 [ Functional.NN.LayerSpec.Of(2, Functional.NN.Activation.Sigmoid); Functional.NN.LayerSpec.Of(1, Functional.NN.Activation.Sigmoid) ] 7L)
                Expect.equal (weights r.Model) ((Functional.NN.Parameters.ofNetwork core.Model).ToArray()) "same weights"
                Expect.equal r.Backend backend "the backend asked for ran"
                Expect.equal (r.StopReason, r.Epochs, r.History.Count, progress.Seen.Count) (StopReason.MaxEpochs, 200, 200, 200) "epochs"
                Expect.equal progress.Seen.[199] r.History.[199] "progress saw the history's records"
                Expect.isFalse r.History.[0].ValidationLoss.HasValue "no validation data, no validation loss"
            }
            test "validation data fills the history; early stopping stops" {
                let options = TrainingOptions(Batching = Batching.FullBatch, Optimizer = Optimizer.Adam(), Schedule = Schedule.Constant 0.05, MaxEpochs = 5000, EarlyStoppingPatience = Nullable 5, Backend = backend)
                // Validation targets opposite to training: validation loss rises as training learns.
                let flipped = Array2D.map (fun v -> 1.0 - v) xorY
                let r = Trainer.Train(xorNet (), xorX, xorY, Loss.BinaryCrossEntropy, options, xorX, flipped)
                Expect.equal r.StopReason StopReason.EarlyStopping "stopped early"
                Expect.isTrue r.History.[0].ValidationMetric.HasValue "validation accuracy recorded"
            }
            test "a cancelled token returns the untrained network; resume continues bit for bit" {
                let opts epochs = TrainingOptions(Batching = Batching.MiniBatch(2), Optimizer = Optimizer.Momentum(), Schedule = Schedule.InverseSqrt 0.5, MaxEpochs = epochs, Seed = 3L, Backend = backend)
                let options = opts 30
                use cts = new CancellationTokenSource()
                cts.Cancel()
                let cut = Trainer.Train(xorNet (), xorX, xorY, Loss.BinaryCrossEntropy, options, cancellationToken = cts.Token)
                Expect.equal (cut.StopReason, cut.Steps) (StopReason.Cancelled, 0) "nothing trained"
                Expect.equal (weights cut.Model) (weights (xorNet ())) "weights unchanged"
                let straight = Trainer.Train(xorNet (), xorX, xorY, Loss.BinaryCrossEntropy, options)
                let half = Trainer.Train(xorNet (), xorX, xorY, Loss.BinaryCrossEntropy, opts 12)
                let resumed = Trainer.Resume(half.Checkpoint, xorX, xorY, Loss.BinaryCrossEntropy, options)
                Expect.equal (weights resumed.Model) (weights straight.Model) "resumed = straight"
                Expect.equal (half.Checkpoint.Epoch, half.Checkpoint.Step) (12, 24) "checkpoint position"
            }
            test "divergence raises TrainingDivergedException carrying the facade's Network" {
                let options = TrainingOptions(Batching = Batching.Stochastic(), Schedule = Schedule.Constant 1e6, Backend = backend)
                let x = Array2D.init 20 3 (fun i j -> float ((i * 7 + j * 3) % 5) - 2.0)
                let y = Array2D.init 20 1 (fun i _ -> float (i % 3))
                let net = NetworkBuilder(3).Dense(8, Activation.Tanh).Dense(1, Activation.Identity).Seed(1L).Build()
                try
                    Trainer.Train(net, x, y, Loss.MeanSquaredError, options) |> ignore
                    failtest "did not diverge"
                with :? TrainingDivergedException<Network> as e ->
                    // The facade's type (namespace FunctionalNN) with a typed LastGood (issue 13).
                    Expect.isGreaterThanOrEqual e.Epoch 1 "an epoch is named"
                    Expect.isTrue (weights e.LastGood |> Array.forall Double.IsFinite) "finite"
                    Expect.isTrue (e.InnerException :? Functional.NN.TrainingDivergedException) "the core's exception is the inner one"
            }
          ]
        test "the facade's defaults are the core's: TrainingOptions, PipelineOptions, GradientDescent" {
            let c = Functional.NN.TrainingOptions.Default
            let o = TrainingOptions()
            Expect.equal (string o.Optimizer, string o.Schedule, string o.Batching) ("adam", "constant 0.001", "minibatches of 32") "Adam 1e-3 on batches of 32"
            Expect.equal (o.MaxEpochs, o.EarlyStoppingPatience, o.EarlyStoppingMinDelta) (c.MaxEpochs, Nullable c.EarlyStopping.Value.Patience, c.EarlyStopping.Value.MinDelta) "epochs and plateau stop"
            Expect.equal (o.Seed, o.WeightDecay, o.ClipNorm, o.DivergenceFactor, o.TargetLoss) (c.Seed, 0.0, 0.0, c.DivergenceFactor, Nullable()) "the rest"
            let p = PipelineOptions()
            let f = Functional.NN.FitOptions.Default
            Expect.equal (p.HiddenLayers, string p.Training.Optimizer, p.Training.MaxEpochs, p.ValidationFraction, p.Seed) (f.HiddenLayers, "adam", c.MaxEpochs, f.ValidationFraction, f.Seed) "the pipeline's"
            let gd = TrainingOptions.GradientDescent(0.5, 500)
            Expect.equal (string gd.Optimizer, string gd.Schedule, string gd.Batching, gd.MaxEpochs, gd.EarlyStoppingPatience) ("sgd", "constant 0.5", "full batch", 500, Nullable()) "the notes' gradient descent"
        }
        test "a parameter vector's divergence carries a typed double[] LastGood" {
            // f(w) = w^2 / 2 with step 3: w <- w - 3 w = -2 w, so |w| doubles and the loss grows 4x per step
            // past DivergenceFactor 1e4 times the first loss (hand derivation).
            let f = Func<float[], int[], BatchLossAndGradient>(fun w _ -> BatchLossAndGradient(0.5 * w.[0] * w.[0], [| w.[0] |]))
            let options = TrainingOptions(Batching = Batching.FullBatch, Schedule = Schedule.Constant 3.0, Optimizer = Optimizer.Sgd(), MaxEpochs = 100)
            match Expect.throwsC (fun () -> Trainer.TrainVector([| 1.0 |], 1, f, options) |> ignore) id with
            | :? TrainingDivergedException<float[]> as e ->
                Expect.isTrue (e.LastGood |> Array.forall Double.IsFinite) "finite"
                Expect.isGreaterThan e.Step 1 "a step is named"
            | other -> failtestf "expected TrainingDivergedException<double[]>, got %O" other
        }
        test "a parameter vector whose loss is NaN at the start, before any step, is an ArgumentException naming lossAndGradient, not a divergence" {
            // No step was taken, so no step size is to blame (the review's case: a constant NaN loss).
            let f = Func<float[], int[], BatchLossAndGradient>(fun _ _ -> BatchLossAndGradient(Double.NaN, [| 1.0; 1.0 |]))
            let e = expectArgument "lossAndGradient" [ "The loss lossAndGradient gave at the starting parameters is NaN, before any step"; "check lossAndGradient" ] (fun () ->
                        Trainer.TrainVector([| 1.0; -1.0 |], 4, f) |> ignore)
            Expect.isFalse (e.Message.Contains "objective") (sprintf "C# names only: %s" e.Message)
            // A gradient of the wrong length names the delegate too.
            let g = Func<float[], int[], BatchLossAndGradient>(fun _ _ -> BatchLossAndGradient(1.0, [| 1.0 |]))
            match Expect.throwsC (fun () -> Trainer.TrainVector([| 1.0; -1.0 |], 4, g) |> ignore) id with
            | :? InvalidOperationException as e -> Expect.equal e.Message "lossAndGradient returned a gradient of length 1 for 2 parameters." "the message"
            | other -> failtestf "expected InvalidOperationException, got %O" other
        }
        test "a parameter vector trains through a C# delegate (the notes' least squares)" {
            let xs = [| [| 1.0; 2.7; 1.0 |]; [| 1.0; 4.1; 1.0 |]; [| 1.0; 1.0; 0.0 |]; [| 1.0; 5.2; 1.0 |]; [| 1.0; 2.8; 0.0 |] |]
            let ys = [| 25.0; 33.0; 15.0; 45.0; 22.0 |]
            let f = Func<float[], int[], BatchLossAndGradient>(fun w idx ->
                let g = Array.zeroCreate 3
                let mutable l = 0.0
                for i in idx do
                    let r = Array.fold2 (fun s a b -> s + a * b) 0.0 xs.[i] w - ys.[i]
                    l <- l + r * r
                    for j in 0 .. 2 do g.[j] <- g.[j] + r * xs.[i].[j]
                BatchLossAndGradient(l / (2.0 * float idx.Length), g |> Array.map (fun v -> v / float idx.Length)))
            // Full-batch gradient descent, constant step 0.1 (below 2 / 13.32, the largest eigenvalue of X^T X / n).
            let options = TrainingOptions(Batching = Batching.FullBatch, Schedule = Schedule.Constant 0.1, Optimizer = Optimizer.Sgd(), EarlyStoppingPatience = Nullable(), MaxEpochs = 20000, ParameterTolerance = 1e-12)
            let r = Trainer.TrainVector([| 0.0; 0.0; 0.0 |], 5, f, options)
            // The notes' W* (ch. 1.7).
            let wStar = [| 6.08613445378149; 6.53361344537816; 2.11274509803922 |]
            Expect.isLessThan (Array.map2 (fun a b -> abs (a - b)) r.Model wStar |> Array.max) 1e-9 (sprintf "W = %A after %d steps (%O)" r.Model r.Steps r.StopReason)
        }
        test "option errors name their parameter" {
            let e = Expect.throwsC (fun () -> Batching.MiniBatch 0 |> ignore) id
            Expect.equal (e :?> ArgumentException).ParamName "size" "batch size"
            let e = Expect.throwsC (fun () -> Schedule.Constant -1.0 |> ignore) id
            Expect.equal (e :?> ArgumentException).ParamName "eta" "Schedule.Constant's parameter"
            let e = Expect.throwsC (fun () -> Trainer.Train(xorNet (), xorX, xorY, Loss.BinaryCrossEntropy, TrainingOptions(MaxEpochs = 0)) |> ignore) id
            Expect.equal (e :?> ArgumentException).ParamName "MaxEpochs" "max epochs"
            let e = Expect.throwsC (fun () -> Trainer.Train(xorNet (), xorX, xorY, Loss.BinaryCrossEntropy, null, xorX) |> ignore) id
            Expect.equal (e :?> ArgumentException).ParamName "validationY" "validation pair"
        }
    ]

[<Tests>]
let docsTests =
    test "docs/training.md's F# example is scripts/training-example.fsx after its #load line (which the script tests run)" {
        let normalise (s: string) = s.Replace("\r\n", "\n").Trim()
        let doc = normalise (IO.File.ReadAllText(Repo.path [ "docs"; "training.md" ]))
        let script = IO.File.ReadAllLines(Repo.path [ "scripts"; "training-example.fsx" ])
        Expect.equal script.[0] "#load \"load.fsx\"" "the script's first line loads the core"
        let body = normalise (String.Join("\n", script.[1..]))
        Expect.stringContains doc ("```fsharp\n" + body + "\n```") "the docs' F# block is the script"
    }

/// The facade's errors name what a C# user wrote: its members in messages, its parameters and properties in
/// ParamName (never the core's F# names).
[<Tests>]
let facadeNames =
    testList "TrainingFacade names" [
        test "errors name the C# member, parameter or property the user set" {
            // Every case is checked and every mismatch listed, so that a failure shows each case that is wrong.
            let failures = Collections.Generic.List<string>()
            let check (what: string) (f: unit -> obj) (param: string) (fragments: string list) (absent: string list) =
                match (try f () |> ignore; None with e -> Some e) with
                | None -> failures.Add(sprintf "%s: no exception" what)
                | Some e ->
                    let actual = match e with :? ArgumentException as a -> a.ParamName | _ -> null
                    if actual <> param then failures.Add(sprintf "%s: ParamName '%s', expected '%s' (%s: %s)" what actual param (e.GetType().Name) e.Message)
                    for s in fragments do if not (e.Message.Contains s) then failures.Add(sprintf "%s: no '%s' in: %s" what s e.Message)
                    for s in absent do if e.Message.Contains s then failures.Add(sprintf "%s: '%s' in: %s" what s e.Message)
            let x = Array2D.init 5 2 (fun i _ -> float i)
            check "LinearRegression.Fit, rank-deficient" (fun () -> box (LinearRegression.Fit(x, [| 1.0; 2.0; 3.0; 4.0; 5.0 |]))) "x" [ "LinearRegression.FitRidge" ] [ "Ridge.fit" ]
            check "FitByGradientDescent diverging" (fun () -> box (LinearRegression.FitByGradientDescent(Array2D.init 5 1 (fun i _ -> float i), [| 1.0; 2.0; 3.0; 4.0; 5.0 |], LinearGradientDescentOptions(LearningRate = Nullable 10.0)))) null [ "LearningRate null" ] [ "AutoLearningRate" ]
            let m = Autodiff.Variable("m", Array2D.zeroCreate 2 3)
            check "Backward" (fun () -> box (m.Backward())) null [ "Sum() or Mean()" ] [ "Node.sum" ]
            check "MatMul" (fun () -> box (m.MatMul m)) "other" [ "MatMul needs"; "other is 2x3" ] [ "matMul"; "b is" ]
            check "BroadcastRows" (fun () -> box (m.BroadcastRows 3)) null [ "BroadcastRows needs"; "this node is 2x3" ] [ "broadcastRows" ]
            check "AddRow" (fun () -> box (m.AddRow m)) "row" [ "AddRow needs"; "for this node of shape" ] [ "addRow" ]
            let net = NetworkBuilder(2).Dense(3, Activation.Tanh).Dense(1, Activation.Identity).Build()
            check "Train validationX" (fun () -> box (Trainer.Train(net, x, Array2D.zeroCreate 5 1, Loss.MeanSquaredError, null, Array2D.zeroCreate 3 5, Array2D.zeroCreate 3 1))) "validationX" [ "validationX" ] [ "validationInputs" ]
            check "Train validationY" (fun () -> box (Trainer.Train(net, x, Array2D.zeroCreate 5 1, Loss.MeanSquaredError, null, Array2D.zeroCreate 3 2, Array2D.zeroCreate 2 1))) "validationY" [ "validationY" ] [ "validationTargets" ]
            check "WeightDecay" (fun () -> box (Trainer.Train(net, x, Array2D.zeroCreate 5 1, Loss.MeanSquaredError, TrainingOptions(WeightDecay = -1.0)))) "WeightDecay" [ "WeightDecay" ] []
            check "Dense initializer" (fun () -> box (NetworkBuilder(2).Dense(3, Activation.Tanh, true, enum<Initializer> 42))) "initializer" [] []
            check "MiniBatch sampling" (fun () -> box (Batching.MiniBatch(2, enum<Sampling> 5))) "sampling" [] []
            check "Schedule.Constant" (fun () -> box (Schedule.Constant -1.0)) "eta" [] []
            check "Schedule.StepDecay" (fun () -> box (Schedule.StepDecay(0.1, 0.5, 0))) "every" [] []
            check "Optimizer.Momentum" (fun () -> box (Optimizer.Momentum 1.5)) "momentum" [] []
            check "Optimizer.Adam" (fun () -> box (Optimizer.Adam(0.9, 1.5))) "beta2" [] []
            check "ReluInterpolant" (fun () -> box (UniversalApproximation.ReluInterpolant((fun v -> if v > 0.5 then 1e308 else -1e308), 0.0, 1.0, 5))) "f" [ "f's values" ] []
            let iris = Dataset.Embedded "iris"
            check "PipelineOptions.Activation" (fun () -> box (Pipeline.Fit(iris, PipelineOptions(Activation = enum<Activation> 77)))) "Activation" [] []
            check "PipelineOptions.HiddenLayers" (fun () -> box (Pipeline.Fit(iris, PipelineOptions(HiddenLayers = [| Int32.MaxValue |])))) "HiddenLayers" [] []
            let reg = Pipeline.Fit(Dataset.Embedded "commute", PipelineOptions(Training = TrainingOptions(MaxEpochs = 1))).Model
            let p = reg.CreatePredictor()
            check "PipelinePredictor on a regressor" (fun () -> box (p.PredictProbabilities [| 1.0; 2.0 |])) null [ "use PredictValue" ] []
            let dir = IO.Path.Combine(IO.Path.GetTempPath(), "fnn-names-" + Guid.NewGuid().ToString "N")
            IO.Directory.CreateDirectory dir |> ignore
            try
                let pipe, plain = IO.Path.Combine(dir, "p.onnx"), IO.Path.Combine(dir, "n.onnx")
                Pipeline.Fit(iris, PipelineOptions(Training = TrainingOptions(MaxEpochs = 1))).Model.ExportOnnx pipe
                net.ExportOnnx plain
                check "OnnxModel.Import of a pipeline" (fun () -> box (OnnxModel.Import pipe)) null [ "OnnxModel.ImportPipeline" ] [ "Onnx.importPipeline" ]
                check "OnnxModel.ImportPipeline of a network" (fun () -> box (OnnxModel.ImportPipeline plain)) null [ "OnnxModel.Import" ] [ "Onnx.importNetwork" ]
            finally IO.Directory.Delete(dir, true)
            Expect.isEmpty failures (String.Join("\n", failures))
        }
    ]
