/// The trainer review's findings: which epoch a restored result holds (the core's and the C# BestEpoch,
/// the summaries' figures), the data a run trains on when the caller changes its matrices during the
/// run, and what a throwing progress callback does.
module Functional.NN.Tests.TrainingReviewTests

open System
open System.Globalization
open Expecto
open MathNet.Numerics.LinearAlgebra
open Functional.NN

let private bits (a: float[]) = a |> Array.map BitConverter.DoubleToInt64Bits

/// Epoch, step and the losses of each record, as bits (not the wall time).
let private historyBits (r: TrainingResult<Network>) =
    r.History |> List.map (fun h ->
        h.Epoch, h.Step, BitConverter.DoubleToInt64Bits h.TrainLoss,
        h.ValidationLoss |> Option.map BitConverter.DoubleToInt64Bits, h.ValidationMetric |> Option.map BitConverter.DoubleToInt64Bits)

/// 1/2 t^2 from t = 1 with full-batch steps of 0.5: t_k = 0.5^k (TrainingTests' halving objective).
let private halving (validation: (float[] -> float * float) option) : Objective =
    { SampleCount = 1; LossAndGradient = (fun t _ -> 0.5 * t.[0] * t.[0], [| t.[0] |]); Validation = validation }

let private halvingOptions =
    { TestOptions.sgd with Batching = Batching.FullBatch; Schedule = Schedule.Constant 0.5; MaxEpochs = 50 }

/// 50 rows of 4 features, 3 classes, and 20 validation rows (seeded).
let private data () =
    let rnd = Random 5
    let label (x: Matrix<float>) i = if x.[i, 0] + x.[i, 1] * x.[i, 2] > 0.0 then 1 elif x.[i, 3] > 0.3 then 2 else 0
    let x = Mat.init 50 4 (fun _ _ -> rnd.NextDouble() * 2.0 - 1.0)
    let xv = Mat.init 20 4 (fun _ _ -> rnd.NextDouble() * 2.0 - 1.0)
    x, Mat.oneHot 3 (Array.init 50 (label x)), xv, Mat.oneHot 3 (Array.init 20 (label xv))

/// Raised by the test callbacks: a type the library never raises.
exception private CallbackFailed of string

/// An XOR-like 2-feature problem for the C# facade: 60 training and 30 validation rows (seeded).
let private quadrants () =
    let rnd = Random 3
    let x = Array2D.init 60 2 (fun _ _ -> rnd.NextDouble() * 2.0 - 1.0)
    let y = Array2D.init 60 1 (fun i _ -> if x.[i, 0] * x.[i, 1] > 0.0 then 1.0 else 0.0)
    let xv = Array2D.init 30 2 (fun _ _ -> rnd.NextDouble() * 2.0 - 1.0)
    let yv = Array2D.init 30 1 (fun i _ -> if xv.[i, 0] * xv.[i, 1] > 0.0 then 1.0 else 0.0)
    x, y, xv, yv

let private g (v: float) = v.ToString("G6", CultureInfo.InvariantCulture).Replace('E', 'e')

/// A caller's exception whose Data refuses writes (Exception.Data is virtual): the facade must not
/// touch the caller's object to let it through.
type private ReadOnlyDataException() =
    inherit Exception("the caller's exception, read-only Data")
    override _.Data = Collections.ObjectModel.ReadOnlyDictionary<obj, obj>(Collections.Generic.Dictionary<obj, obj>()) :> Collections.IDictionary

[<Tests>]
let tests =
    testList "Training review" [
        testList "the restored epoch" [
            test "BestEpoch is the restored epoch, and with MinDelta > 0 not the lowest validation loss" {
                // Validation loss t_k = 0.5^k: 0.5, 0.25, 0.125, 0.0625, 0.03125 (hand derivation). With MinDelta 0.1
                // and patience 2: epochs 2 and 3 beat the best by more than 0.1 (0.25 < 0.4, 0.125 < 0.15); epoch 4
                // (0.0625) is not below 0.125 - 0.1 = 0.025, nor epoch 5 (0.03125): stop at 5, epoch 3 restored,
                // although epoch 5 has the lowest validation loss (Keras's rule for min_delta).
                let v = Some (fun (t: float[]) -> t.[0], 0.0)
                let options = halvingOptions.WithEarlyStopping({ Patience = 2; MinDelta = 0.1 })
                let r = Trainer.trainVector options (halving v) [| 1.0 |]
                Expect.equal (r.StopReason, r.Epochs, r.BestEpoch, r.Model) (StopReason.EarlyStopping, 5, Some 3, [| 0.125 |]) "epoch 3 restored"
                let lowest = r.History |> List.minBy (fun h -> h.ValidationLoss.Value)
                Expect.equal lowest.Epoch 5 "the lowest validation loss is epoch 5's"
                Expect.equal r.TrainLoss (r.History.[2].TrainLoss) "the restored epoch's training loss"
            }
            test "BestEpoch is None when the result holds the last weights" {
                let v = Some (fun (t: float[]) -> (t.[0] - 0.1) ** 2.0, 0.0)
                let byEpochs = Trainer.trainVector (halvingOptions.WithMaxEpochs 3) (halving v) [| 1.0 |]
                Expect.equal halvingOptions.EarlyStopping None "no plateau stop"
                Expect.equal (byEpochs.StopReason, byEpochs.BestEpoch, byEpochs.Model) (StopReason.MaxEpochs, None, [| 0.125 |]) "without the plateau stop nothing is restored"
                // Without validation the plateau stop watches the training loss and keeps the last weights.
                let noValidation = Trainer.trainVector (halvingOptions.WithEarlyStopping(EarlyStopping.Default.WithPatience 2)) (halving None) [| 1.0 |]
                Expect.equal noValidation.StopReason StopReason.EarlyStopping "stopped by the plateau"
                Expect.isSome noValidation.Checkpoint.Best "a best epoch is tracked"
                Expect.equal noValidation.BestEpoch None "but not restored"
            }
            // Under the plateau stop watching a validation loss, every rule that ends the run returns the best epoch's
            // weights (Keras' EarlyStopping(restore_best_weights=True) restores them in on_train_end whatever ended
            // training; scikit-learn's MLP with early_stopping=True sets coefs_ = _best_coefs after its loop), and the
            // checkpoint the last. The halving run (t_k = 0.5^k, hand derivation) with validation (t - 0.1)^2:
            // 0.16, 0.0225, 0.000625, 0.00140625, 0.0047265625, 0.00712890625, ... Epochs 2 and 3 beat the best by
            // more than MinDelta 1e-4, no later one does: the best is epoch 3, t_3 = 0.125. Patience 100 never fires.
            let towardsTenth = Some (fun (t: float[]) -> (t.[0] - 0.1) ** 2.0, 0.0)
            let watching = halvingOptions.WithEarlyStopping(EarlyStopping.Default.WithPatience 100)
            test "the epoch limit returns the best epoch's weights under the plateau stop" {
                let r = Trainer.trainVector (watching.WithMaxEpochs 5) (halving towardsTenth) [| 1.0 |]
                Expect.equal (r.StopReason, r.Epochs, r.BestEpoch, r.Model) (StopReason.MaxEpochs, 5, Some 3, [| 0.125 |]) "epoch 3 restored"
                Expect.equal r.Checkpoint.Model [| 0.03125 |] "the checkpoint keeps t_5"
                // Epoch 3's mean batch loss: 1/2 t_2^2 = 0.03125, measured before its step.
                Expect.equal r.TrainLoss 0.03125 "the restored epoch's training loss"
            }
            test "the step limit returns the best epoch's weights under the plateau stop, also inside an epoch" {
                // Two samples, one per step (two steps an epoch), each step halving t: t = 0.5^s after step s, so
                // the epochs end at 0.25, 0.0625, 0.015625 with validation 0.0225, 0.00140625, 0.00712890625: the
                // best is epoch 2 (t = 0.0625). Step 7 is the first of epoch 4, after which the limit stops the run
                // at t = 0.5^7 = 0.0078125.
                let twoSamples = { halving towardsTenth with SampleCount = 2 }
                let options = (watching.WithBatching(Batching.Stochastic Sampling.WithoutReplacement)).WithMaxSteps 7
                let r = Trainer.trainVector options twoSamples [| 1.0 |]
                Expect.equal (r.StopReason, r.Steps, r.Epochs, r.BestEpoch, r.Model) (StopReason.MaxSteps, 7, 3, Some 2, [| 0.0625 |]) "epoch 2 restored"
                Expect.equal r.Checkpoint.Model [| 0.0078125 |] "the checkpoint keeps t after step 7"
                Expect.equal r.Checkpoint.PendingBatches.Length 1 "and the rest of epoch 4"
            }
            test "the target loss returns the best epoch's weights under the plateau stop" {
                // Epoch k's mean batch loss is 1/2 t_(k-1)^2 = 0.5^(2k-1): 0.5^13 = 1.22e-4 at epoch 7, 0.5^15 =
                // 3.05e-5 <= 1e-4 at epoch 8, where the target stops the run at t_8 = 0.00390625.
                let r = Trainer.trainVector (watching.WithTargetLoss 1e-4) (halving towardsTenth) [| 1.0 |]
                Expect.equal (r.StopReason, r.Epochs, r.BestEpoch, r.Model) (StopReason.TargetLoss, 8, Some 3, [| 0.125 |]) "epoch 3 restored"
                Expect.equal r.Checkpoint.Model [| 0.00390625 |] "the checkpoint keeps t_8"
            }
            test "the parameter tolerance returns the best epoch's weights under the plateau stop" {
                // Step k moves t by 0.5^k: below 0.01 first at step 7 (0.0078125), where the run stops at t_7.
                let r = Trainer.trainVector (watching.WithParameterTolerance 0.01) (halving towardsTenth) [| 1.0 |]
                Expect.equal (r.StopReason, r.Steps, r.BestEpoch, r.Model) (StopReason.ParameterTolerance, 7, Some 3, [| 0.125 |]) "epoch 3 restored"
                Expect.equal r.Checkpoint.Model [| 0.0078125 |] "the checkpoint keeps t_7"
            }
            for backend in [ Backend.Reference; Backend.Kernels ] do
                test (sprintf "%s: a network run ended by the epoch limit returns the best epoch's network, and resumes bit for bit" (Backend.name backend)) {
                    // The best epoch k is the last to improve, so a run stopped at epoch k (by the epoch limit) ends
                    // on it: its checkpoint's network is the one a longer run must return (the same steps, bit for bit).
                    let x, y, xv, yv = data ()
                    let net = Network.init 4 [ LayerSpec.Of(16, Activation.Tanh); LayerSpec.Of(3, Activation.Identity) ] 2L
                    let d = TrainingData.Of(x, y).WithValidation(xv, yv)
                    let options n =
                        { TestOptions.sgd with Batching = Batching.miniBatch 10; Schedule = Schedule.Constant 0.05; MaxEpochs = n; Backend = backend }
                            .WithOptimizer(Optimizer.adam).WithEarlyStopping(EarlyStopping.Default.WithPatience 1000)
                    let r = Trainer.train (options 60) Loss.SoftmaxCrossEntropy d net
                    Expect.equal (r.StopReason, r.Backend) (StopReason.MaxEpochs, backend) "stopped by the epoch limit"
                    Expect.isSome r.BestEpoch "a best epoch returned"
                    let k = r.BestEpoch.Value
                    Expect.isLessThan k 50 "the validation loss rose for more than 10 epochs (the test can tell the epochs apart)"
                    let upToBest = Trainer.train (options k) Loss.SoftmaxCrossEntropy d net
                    let weights (n: Network) = bits ((Parameters.ofNetwork n).ToArray())
                    Expect.equal (weights r.Model) (weights upToBest.Checkpoint.Model) "the best epoch's network"
                    let noPlateau = Trainer.train ((options 60).WithoutEarlyStopping()) Loss.SoftmaxCrossEntropy d net
                    Expect.equal (weights r.Checkpoint.Model) (weights noPlateau.Model) "the checkpoint keeps the last network"
                    Expect.equal r.TrainLoss r.History.[k - 1].TrainLoss "the best epoch's training loss"
                    // Resumed to 80 epochs from the 60-epoch checkpoint = 80 epochs straight.
                    let straight = Trainer.train (options 80) Loss.SoftmaxCrossEntropy d net
                    let resumed = Trainer.resume (options 80) Loss.SoftmaxCrossEntropy d r.Checkpoint
                    Expect.equal (weights resumed.Model, resumed.BestEpoch) (weights straight.Model, straight.BestEpoch) "the returned network and its epoch"
                    Expect.equal (weights resumed.Checkpoint.Model) (weights straight.Checkpoint.Model) "the last network"
                    Expect.equal (historyBits resumed) (historyBits straight) "the history"
                }
            test "a cancellation under the plateau stop names the best epoch so far" {
                // As TrainingTests: validation (t - 0.1)^2 is lowest at epoch 3 of 5; cancelled before step 6.
                let v = Some (fun (t: float[]) -> (t.[0] - 0.1) ** 2.0, 0.0)
                let mutable asked = 0
                let hooks = { TrainingHooks.None with ShouldStop = fun () -> asked <- asked + 1; asked > 5 }
                let r = Trainer.trainVectorWith hooks (halvingOptions.WithEarlyStopping(EarlyStopping.Default.WithPatience 100)) (halving v) [| 1.0 |]
                Expect.equal (r.StopReason, r.BestEpoch, r.Model) (StopReason.Cancelled, Some 3, [| 0.125 |]) "epoch 3 kept"
            }
            test "C#: BestEpoch, TrainLoss and ToString are the restored epoch's" {
                let x, y, xv, yv = quadrants ()
                let net = FunctionalNN.NetworkBuilder(2).Dense(8, FunctionalNN.Activation.Tanh).Dense(1, FunctionalNN.Activation.Sigmoid).Seed(1L).Build()
                let options =
                    FunctionalNN.TrainingOptions(MaxEpochs = 400, Batching = FunctionalNN.Batching.MiniBatch 8, Optimizer = FunctionalNN.Optimizer.Sgd(),
                                                 Schedule = FunctionalNN.Schedule.Constant 0.5, EarlyStoppingPatience = Nullable 5,
                                                 Backend = FunctionalNN.Backend.Reference)
                let r = FunctionalNN.Trainer.Train(net, x, y, FunctionalNN.Loss.BinaryCrossEntropy, options, xv, yv)
                Expect.equal r.StopReason FunctionalNN.StopReason.EarlyStopping "stopped by the plateau"
                Expect.isTrue r.BestEpoch.HasValue "an epoch restored"
                let k = r.BestEpoch.Value
                // Patience 5: the run stops after 5 epochs in a row without improvement, so the best is 5 before the end.
                Expect.equal k (r.Epochs - 5) "the best epoch is patience epochs before the last"
                let best = r.History.[k - 1]
                let last = r.History.[r.History.Count - 1]
                // The returned model's own validation loss (an independent pass) is the restored epoch's record.
                Expect.floatClose Accuracy.veryHigh (r.Model.Loss(xv, yv, FunctionalNN.Loss.BinaryCrossEntropy)) best.ValidationLoss.Value "the model is epoch k's"
                Expect.equal r.TrainLoss best.TrainLoss "TrainLoss is epoch k's"
                Expect.notEqual (g best.ValidationLoss.Value) (g last.ValidationLoss.Value) "the last epoch's validation loss differs (the test can tell them apart)"
                let text = r.ToString()
                Expect.stringContains text
                    (sprintf "; best epoch %d restored: training loss %s, validation loss %s, metric %s" k (g best.TrainLoss) (g best.ValidationLoss.Value) (g best.ValidationMetric.Value))
                    "the summary names the restored epoch and gives its figures"
                Expect.isFalse (text.Contains(g last.ValidationLoss.Value)) "not the last epoch's validation loss"
                let plain = FunctionalNN.Trainer.Train(net, x, y, FunctionalNN.Loss.BinaryCrossEntropy, FunctionalNN.TrainingOptions(MaxEpochs = 3), xv, yv)
                // The epoch limit under the default plateau stop (patience 10, not reached in 3 epochs) returns the
                // best epoch's network too (Keras' restore_best_weights restores whatever ended training).
                Expect.equal plain.StopReason FunctionalNN.StopReason.MaxEpochs "stopped by the epoch limit"
                Expect.isTrue plain.BestEpoch.HasValue "the epoch limit restores the best epoch"
                Expect.floatClose Accuracy.veryHigh (plain.Model.Loss(xv, yv, FunctionalNN.Loss.BinaryCrossEntropy))
                    plain.History.[plain.BestEpoch.Value - 1].ValidationLoss.Value "the model is the best epoch's"
                // The checkpoint carries the plateau stop's best epoch and the history, also through a file.
                let file = IO.Path.GetTempFileName()
                try
                    FunctionalNN.ModelFile.SaveCheckpoint(r.Checkpoint, file)
                    for c in [ r.Checkpoint; FunctionalNN.ModelFile.LoadCheckpoint file ] do
                        Expect.equal c.BestEpoch (Nullable k) "the checkpoint's best epoch is the restored one"
                        Expect.equal (c.History |> Seq.map (fun h -> h.Epoch, g h.TrainLoss) |> List.ofSeq)
                                     (r.History |> Seq.map (fun h -> h.Epoch, g h.TrainLoss) |> List.ofSeq) "the checkpoint's history is the run's"
                finally IO.File.Delete file
                let none = FunctionalNN.Trainer.Train(net, x, y, FunctionalNN.Loss.BinaryCrossEntropy,
                                                      FunctionalNN.TrainingOptions(MaxEpochs = 3, EarlyStoppingPatience = Nullable()), xv, yv)
                Expect.isFalse none.Checkpoint.BestEpoch.HasValue "no plateau stop, no best epoch in the checkpoint"
                Expect.equal none.Checkpoint.History.Count 3 "three epochs recorded"
            }
            test "C#: PipelineFitResult's TrainLoss, BestEpoch and ToString are the returned model's" {
                let options =
                    FunctionalNN.PipelineOptions(ValidationFraction = 0.3, Seed = 2L,
                        Training = FunctionalNN.TrainingOptions(Optimizer = FunctionalNN.Optimizer.Sgd(), Schedule = FunctionalNN.Schedule.Constant 0.05,
                                                                EarlyStoppingPatience = Nullable 3, MaxEpochs = 1000, Seed = 2L))
                let r = FunctionalNN.Pipeline.Fit(FunctionalNN.Dataset.Embedded "iris", options)
                Expect.equal r.StopReason FunctionalNN.StopReason.EarlyStopping "stopped by the plateau"
                let k = r.BestEpoch.Value
                Expect.equal k (r.Epochs - 3) "patience 3"
                let best = r.History.[k - 1]
                let last = r.History.[r.History.Count - 1]
                Expect.equal r.TrainLoss best.TrainLoss "the restored epoch's training loss"
                Expect.notEqual (g best.TrainLoss) (g last.TrainLoss) "the last epoch's differs (the test can tell them apart)"
                Expect.stringContains (r.ToString())
                    (sprintf "best epoch %d restored: training loss %s, validation loss %s, metric %s; model: " k (g best.TrainLoss) (g best.ValidationLoss.Value) (g best.ValidationMetric.Value))
                    "the summary"
            }
        ]
        testList "refusals that name the argument" [
            test "training a network with the step activation is an ArgumentException naming the network, on every backend" {
                // The step's derivative is 0 almost everywhere (note 003), so the network is a bad argument for the trainer:
                // ParamName is the argument that holds it (F# net, C# network; a resume's checkpoint), the message kept.
                let step = Network.init 2 [ LayerSpec.Of(3, Activation.Step); LayerSpec.Of(1, Activation.Identity) ] 1L
                let d = TrainingData.Of(Mat.init 4 2 (fun i j -> float (i + j)), Mat.init 4 1 (fun i _ -> float i))
                let message = [ "Block 0 uses the step activation"; "cannot be trained by gradient"; "Use the Perceptron" ]
                for backend in [ Backend.Auto; Backend.Reference; Backend.Kernels ] do
                    let options = TestOptions.sgd.WithBackend backend
                    Expectations.expectArgument "net" message (fun () -> Trainer.train options Loss.MeanSquaredError d step |> ignore) |> ignore
                    Expectations.expectArgument "checkpoint" message (fun () ->
                        Trainer.resume options Loss.MeanSquaredError d (Checkpoint.start options 0 step) |> ignore) |> ignore
                let facadeStep = FunctionalNN.NetworkBuilder(2).Dense(3, FunctionalNN.Activation.Step).Dense(1, FunctionalNN.Activation.Identity).Seed(1L).Build()
                for backend in [ FunctionalNN.Backend.Auto; FunctionalNN.Backend.Kernels ] do
                    Expectations.expectArgument "network" message (fun () ->
                        FunctionalNN.Trainer.Train(facadeStep, array2D [ [ 0.0; 1.0 ]; [ 1.0; 0.0 ] ], array2D [ [ 1.0 ]; [ 0.0 ] ],
                                                   FunctionalNN.Loss.MeanSquaredError, FunctionalNN.TrainingOptions(Backend = backend)) |> ignore) |> ignore
            }
            test "the kernels' refusal names the backend as the caller wrote it: the options' Backend, predictWith's backend" {
                // The options' field is Backend (as MaxEpochs, Batching, ...: F# TrainingOptions.Backend, C#
                // TrainingOptions.Backend); predictWith's and Predict's argument is backend.
                let custom = Fixtures.scalingBlock "double" 3 2.0
                let net0 = Network.init 2 [ LayerSpec.Of(3, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 3L
                let withCustom = { net0 with Blocks = net0.Blocks.Head :: Block.Custom custom :: net0.Blocks.Tail }
                let x = Mat.init 4 2 (fun i j -> float (i - j))
                let d = TrainingData.Of(x, Mat.init 4 1 (fun i _ -> float i))
                let refused = [ "The kernels backend does not support"; "use Backend.Auto or Backend.Reference" ]
                Expectations.expectArgument "Backend" ("custom block 'double'" :: refused) (fun () ->
                    Trainer.train (TestOptions.sgd.WithBackend Backend.Kernels) Loss.MeanSquaredError d withCustom |> ignore) |> ignore
                let step = Network.init 2 [ LayerSpec.Of(3, Activation.Step); LayerSpec.Of(1, Activation.Identity) ] 1L
                for net in [ step; withCustom ] do
                    Expectations.expectArgument "backend" refused (fun () -> Network.predictWith Backend.Kernels net x |> ignore) |> ignore
                    Expectations.expectArgument "backend" refused (fun () -> Network.predictorWith Backend.Kernels net |> ignore) |> ignore
                let facadeStep = FunctionalNN.NetworkBuilder(2).Dense(3, FunctionalNN.Activation.Step).Dense(1, FunctionalNN.Activation.Identity).Seed(1L).Build()
                Expectations.expectArgument "backend" refused (fun () -> facadeStep.Predict(array2D [ [ 0.0; 1.0 ] ], FunctionalNN.Backend.Kernels) |> ignore) |> ignore
                Expectations.expectArgument "backend" refused (fun () -> facadeStep.CreatePredictor(FunctionalNN.Backend.Kernels) |> ignore) |> ignore
            }
        ]
        testList "the caller's data changed during the run" [
            for backend in [ Backend.Reference; Backend.Kernels ] do
              for precision in [ Precision.Float64; Precision.Float32 ] do
                test (sprintf "%A %A: the run trains on the data as they were at its start" backend precision) {
                    let x, y, xv, yv = data ()
                    let net = Network.init 4 [ LayerSpec.Of(8, Activation.Tanh); LayerSpec.Of(3, Activation.Identity) ] 2L |> Network.withPrecision precision
                    let options = TrainingOptions.Default.WithBatching(Batching.miniBatch 8).WithMaxEpochs(5).WithBackend(backend).WithoutEarlyStopping()
                    let plain = Trainer.train options Loss.SoftmaxCrossEntropy (TrainingData.Of(x.Clone(), y.Clone()).WithValidation(xv.Clone(), yv.Clone())) net
                    let xq, yq, xvq, yvq = x.Clone(), y.Clone(), xv.Clone(), yv.Clone()
                    let change (h: EpochRecord) =
                        if h.Epoch = 2 then
                            xq.[0, 0] <- 100.0
                            xvq.[1, 1] <- 3.0
                            // Row 0's label moves to the next class (still one-hot).
                            let row = Array.init 3 (fun j -> yq.[0, j])
                            for j in 0 .. 2 do yq.[0, j] <- row.[(j + 2) % 3]
                            let vrow = Array.init 3 (fun j -> yvq.[0, j])
                            for j in 0 .. 2 do yvq.[0, j] <- vrow.[(j + 2) % 3]
                    let changed = Trainer.trainWith { TrainingHooks.None with OnEpoch = change } options Loss.SoftmaxCrossEntropy (TrainingData.Of(xq, yq).WithValidation(xvq, yvq)) net
                    Expect.equal xq.[0, 0] 100.0 "the caller's x did change"
                    Expect.equal (bits (Parameters.modelOf changed.Model)) (bits (Parameters.modelOf plain.Model)) "the same parameters, bit for bit"
                    Expect.equal (historyBits changed) (historyBits plain) "the same history (training and validation losses), bit for bit"
                }
        ]
        testList "a progress callback that throws" [
            for backend in [ Backend.Reference; Backend.Kernels ] do
                test (sprintf "%A: OnEpoch's and ShouldStop's exceptions propagate unchanged, and the next run is unaffected" backend) {
                    let x, y, xv, yv = data ()
                    let d = TrainingData.Of(x, y).WithValidation(xv, yv)
                    let net = Network.init 4 [ LayerSpec.Of(8, Activation.Tanh); LayerSpec.Of(3, Activation.Identity) ] 2L
                    let options = TrainingOptions.Default.WithBatching(Batching.miniBatch 8).WithMaxEpochs(4).WithBackend(backend)
                    let thrown = CallbackFailed "epoch"
                    let onEpoch = { TrainingHooks.None with OnEpoch = fun h -> if h.Epoch = 2 then raise thrown }
                    let e = Expect.throwsC (fun () -> Trainer.trainWith onEpoch options Loss.SoftmaxCrossEntropy d net |> ignore) id
                    Expect.isTrue (obj.ReferenceEquals(e, thrown)) (sprintf "the callback's own exception, got %O" e)
                    let stopThrown = InvalidOperationException "stop"
                    let shouldStop = { TrainingHooks.None with ShouldStop = fun () -> raise stopThrown }
                    let e = Expect.throwsC (fun () -> Trainer.trainWith shouldStop options Loss.SoftmaxCrossEntropy d net |> ignore) id
                    Expect.isTrue (obj.ReferenceEquals(e, stopThrown)) (sprintf "ShouldStop's own exception, got %O" e)
                    // The session was disposed (its pooled buffers returned): a run after is the same as one before.
                    let a = Trainer.train options Loss.SoftmaxCrossEntropy d net
                    let b = Trainer.train options Loss.SoftmaxCrossEntropy d net
                    Expect.equal (bits (Parameters.modelOf a.Model)) (bits (Parameters.modelOf b.Model)) "runs after the throw agree"
                }
            test "C#: IProgress's exception propagates unchanged (Trainer.Train and Pipeline.Fit)" {
                let x, y, xv, yv = quadrants ()
                let net = FunctionalNN.NetworkBuilder(2).Dense(4, FunctionalNN.Activation.Tanh).Dense(1, FunctionalNN.Activation.Sigmoid).Seed(1L).Build()
                let thrown = TimeoutException "progress"
                let progress = { new IProgress<FunctionalNN.EpochRecord> with member _.Report r = if r.Epoch = 2 then raise thrown }
                let e = Expect.throwsC (fun () -> FunctionalNN.Trainer.Train(net, x, y, FunctionalNN.Loss.BinaryCrossEntropy, FunctionalNN.TrainingOptions(MaxEpochs = 5), xv, yv, progress) |> ignore) id
                Expect.isTrue (obj.ReferenceEquals(e, thrown)) (sprintf "Trainer.Train: the callback's own exception, got %O" e)
                let e = Expect.throwsC (fun () -> FunctionalNN.Pipeline.Fit(FunctionalNN.Dataset.Embedded "iris", FunctionalNN.PipelineOptions(), progress) |> ignore) id
                Expect.isTrue (obj.ReferenceEquals(e, thrown)) (sprintf "Pipeline.Fit: the callback's own exception, got %O" e)
                // An ArgumentException of the caller's whose ParamName is one the facade renames in the core's errors
                // (net -> network, optimizer -> Optimizer: Exceptions.cs's ParamNames) comes out as thrown too, not translated.
                let own = ReadOnlyDataException()
                let readOnly = { new IProgress<FunctionalNN.EpochRecord> with member _.Report r = if r.Epoch = 2 then raise own }
                let e = Expect.throwsC (fun () -> FunctionalNN.Trainer.Train(net, x, y, FunctionalNN.Loss.BinaryCrossEntropy, FunctionalNN.TrainingOptions(MaxEpochs = 5), xv, yv, readOnly) |> ignore) id
                Expect.isTrue (obj.ReferenceEquals(e, own)) (sprintf "read-only Data: the callback's own exception, got %O" e)
                for name in [ "net"; "optimizer" ] do
                    let own = ArgumentException("the caller's own check", name)
                    let progress = { new IProgress<FunctionalNN.EpochRecord> with member _.Report r = if r.Epoch = 2 then raise own }
                    let e = Expect.throwsC (fun () -> FunctionalNN.Trainer.Train(net, x, y, FunctionalNN.Loss.BinaryCrossEntropy, FunctionalNN.TrainingOptions(MaxEpochs = 5), xv, yv, progress) |> ignore) id
                    Expect.isTrue (obj.ReferenceEquals(e, own)) (sprintf "Trainer.Train, ParamName %s: the callback's own exception, got %O" name e)
                    let e = Expect.throwsC (fun () -> FunctionalNN.Pipeline.Fit(FunctionalNN.Dataset.Embedded "iris", FunctionalNN.PipelineOptions(), progress) |> ignore) id
                    Expect.isTrue (obj.ReferenceEquals(e, own)) (sprintf "Pipeline.Fit, ParamName %s: the callback's own exception, got %O" name e)
            }
        ]
        testList "resuming mid-epoch" [
            test "the epoch in progress is finished even when MaxEpochs is already reached" {
                // 10 rows in batches of 2: 5 steps an epoch (by hand). MaxSteps 9 stops at step 9,
                // inside epoch 2 with one batch pending; resumed with MaxEpochs 1 (already passed),
                // the run finishes epoch 2 (step 10) and stops there: 2 epochs, the same as a run of
                // 2 epochs straight.
                let x, y, _, _ = data ()
                let x, y = x.SubMatrix(0, 10, 0, 4), y.SubMatrix(0, 10, 0, 3)
                let net = Network.init 4 [ LayerSpec.Of(3, Activation.Tanh); LayerSpec.Of(3, Activation.Identity) ] 2L
                let options = { TestOptions.sgd with Batching = Batching.MiniBatch(2, Sampling.WithoutReplacement) }
                let d = TrainingData.Of(x, y)
                let cut = Trainer.train ((options.WithMaxEpochs 5).WithMaxSteps 9) Loss.SoftmaxCrossEntropy d net
                Expect.equal (cut.StopReason, cut.Steps, cut.Epochs, cut.Checkpoint.PendingBatches.Length) (StopReason.MaxSteps, 9, 1, 1) "cut at step 9 in epoch 2, one batch pending"
                let resumed = Trainer.resume (options.WithMaxEpochs 1) Loss.SoftmaxCrossEntropy d cut.Checkpoint
                Expect.equal (resumed.StopReason, resumed.Steps, resumed.Epochs) (StopReason.MaxEpochs, 10, 2) "epoch 2 finished: 10 steps, 2 epochs"
                let straight = Trainer.train (options.WithMaxEpochs 2) Loss.SoftmaxCrossEntropy d net
                Expect.equal (bits (Parameters.modelOf resumed.Model)) (bits (Parameters.modelOf straight.Model)) "the weights of 2 epochs straight"
                Expect.equal (historyBits resumed) (historyBits straight) "the history of 2 epochs straight"
            }
        ]
    ]
