/// A review of the trainer's divergence rule and of the C# facade's errors, docs and equality:
/// false divergence on finite data, parameter names in errors, enum and NaN options, value
/// equality of the options, culture-independent summaries, Pipeline.Untrained's checks.
module Functional.NN.Tests.FacadeReviewTests

open System
open System.Globalization
open Expecto
open FsCheck
open FunctionalNN

/// The core's trainer (the facade's Trainer is in scope under its name).
let private coreTrainVector options objective theta0 = Functional.NN.Trainer.trainVector options objective theta0

let private expectArg = Expectations.expectArgument

/// The regression data of the review: x = i / 20, y = 1 + x for i = 0 .. 19, one target y[7] = 300.
let private outlierX = Array2D.init 20 1 (fun i _ -> float i / 20.0)
let private outlierY = Array.init 20 (fun i -> if i = 7 then 300.0 else 1.0 + float i / 20.0)

/// Least squares of a line through the origin, w x_i ~ y_i, as a parameter-vector objective: the mean
/// of (w x_i - y_i)^2 / 2 over the batch (never negative) and its gradient.
let private lineObjective (x: float[]) (y: float[]) : Functional.NN.Objective =
    { SampleCount = x.Length
      LossAndGradient = fun w rows ->
          let mutable l = 0.0
          let mutable g = 0.0
          for i in rows do
              let r = w.[0] * x.[i] - y.[i]
              l <- l + r * r / 2.0
              g <- g + r * x.[i]
          l / float rows.Length, [| g / float rows.Length |]
      Validation = None }

[<Tests>]
let tests =
    testList "FacadeReview" [
        testList "divergence growth rule" [
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 }
                "parameters that do not move never trip the growth rule, whatever the batching and however far one target lies out" <| fun (seed: int, size: int, kind: int, power: int) ->
                // Derivation (docs/training.md, Divergence): with the parameters at their start, an
                // epoch's batches are part of the set (each sample once without replacement; with
                // replacement at most n <= 50 < 1e4 draws of one sample), so the epoch's loss so far
                // S / n is at most n * L0 / n * (draws of a sample) < 1e4 * L0 for a loss >= 0. A step of
                // 1e-300 moves w by about 1e-300 * |g|, which changes no loss here (relative 1e-290).
                // The former rule compared one sample's loss with the first one's (here up to 1e12 times).
                let n = 2 + abs (size % 49)
                let rng = Random(seed)
                let x = Array.init n (fun i -> 1.0 + float i / float n)
                let y = Array.init n (fun i -> 1.0 + 0.1 * float i)
                y.[rng.Next n] <- 10.0 ** float (1 + abs (power % 6))
                let batching =
                    match abs (kind % 5) with
                    | 0 -> Functional.NN.Batching.FullBatch
                    | 1 -> Functional.NN.Batching.Stochastic Functional.NN.Sampling.WithoutReplacement
                    | 2 -> Functional.NN.Batching.Stochastic Functional.NN.Sampling.WithReplacement
                    | 3 -> Functional.NN.Batching.MiniBatch(1 + rng.Next 4, Functional.NN.Sampling.WithoutReplacement)
                    | _ -> Functional.NN.Batching.MiniBatch(1 + rng.Next 4, Functional.NN.Sampling.WithReplacement)
                let options =
                    Functional.NN.TrainingOptions.Default
                        .WithBatching(batching).WithSchedule(Functional.NN.Schedule.Constant 1e-300)
                        .WithOptimizerSettings(Functional.NN.OptimizerSettings.Default).WithoutEarlyStopping()
                        .WithMaxEpochs(3).WithSeed(int64 seed)
                let r = coreTrainVector options (lineObjective x y) [| 0.0 |]
                Expect.equal r.StopReason Functional.NN.StopReason.MaxEpochs "trained to the epoch cap"

            test "the review's reproductions: one outlying target does not stop SGD with batch size 1" {
                // Trainer.Train on targets 0 .. 3000, one sample per step ("diverged" for 3 of 10 seeds).
                let x = Array2D.init 31 1 (fun i _ -> float i / 30.0)
                let y = Array2D.init 31 1 (fun i _ -> 100.0 * float i)
                for seed in 0L .. 9L do
                    let net = NetworkBuilder(1).Dense(8, Activation.Tanh).Dense(1, Activation.Identity).Seed(seed).Build()
                    let r = Trainer.Train(net, x, y, Loss.MeanSquaredError, TrainingOptions(Batching = Batching.Stochastic(), Seed = seed, MaxEpochs = 5))
                    Expect.isTrue (Double.IsFinite r.TrainLoss) (sprintf "seed %d trained" seed)
                // Each ran into "Training diverged ... grew past 10000 times its starting value" before:
                // FitBySgd with its defaults, and with Schedule.Constant(1e-4) for 19 of 20 seeds.
                let r = LinearRegression.FitBySgd(outlierX, outlierY)
                Expect.isTrue (r.Costs |> Seq.forall Double.IsFinite) "finite costs"
                for seed in 0L .. 19L do
                    let r = LinearRegression.FitBySgd(outlierX, outlierY, LinearSgdOptions(Schedule = Schedule.Constant 1e-4, Seed = seed))
                    // Steps of 1e-4 lower the cost slowly (a small enough step on a convex cost never
                    // raises C by more than rounding over an epoch), so the last epoch's cost is at most C(0).
                    Expect.isLessThanOrEqual (Seq.last r.Costs) r.Costs.[0] (sprintf "seed %d: the cost did not grow" seed)
            }

            test "L0 costs a pass over the set only when the epoch's loss passes DivergenceFactor" {
                // The whole set is evaluated (a call with all n rows; the batches hold 2) only to measure L0, and only once
                // the epoch's loss so far passes 1e4, the least the bound 1e4 * max(L0, 1) can be. Targets near 1 keep every
                // loss below 1 (no pass: a one-epoch call costs one epoch); targets of 1e4 give losses near 5e7 at w = 0, so
                // the first step passes 1e4 and L0 is measured, once; steps of 1e-300 do not move w, so nothing diverges.
                let whole (y: float[]) =
                    let x = Array.init 10 (fun i -> 1.0 + float i / 10.0)
                    let inner = lineObjective x y
                    let mutable calls = 0
                    let counting = { inner with LossAndGradient = fun w rows -> (if rows.Length = 10 then calls <- calls + 1); inner.LossAndGradient w rows }
                    let options =
                        Functional.NN.TrainingOptions.Default
                            .WithBatching(Functional.NN.Batching.MiniBatch(2, Functional.NN.Sampling.WithoutReplacement)).WithSchedule(Functional.NN.Schedule.Constant 1e-300)
                            .WithOptimizerSettings(Functional.NN.OptimizerSettings.Default).WithoutEarlyStopping().WithMaxEpochs(4)
                    let r = coreTrainVector options counting [| 0.0 |]
                    Expect.equal r.StopReason Functional.NN.StopReason.MaxEpochs "trained to the epoch cap"
                    calls, r.Checkpoint.LossBaseline
                let calls, baseline = whole (Array.init 10 (fun i -> 1.0 + 0.01 * float i))
                Expect.equal calls 0 "small losses: no pass over the whole set"
                Expect.isTrue (Double.IsNaN baseline) "L0 never measured"
                let calls, baseline = whole (Array.create 10 1e4)
                Expect.equal calls 1 "large losses: one pass, for L0"
                Expect.equal baseline 5e7 "L0 = (0 - 1e4)^2 / 2 at w = 0"
            }

            test "a resumed run measures L0 where the first run started, so it ends as the uninterrupted run (vectors, and networks through a file)" {
                // The review's case: theta = [a; c], every sample's loss a^2; c is a clock (gradient -1, so +1 a step
                // at rate 1) and the gradient on a is a while c < 10 (a step to 0), then -1 (a up by 1 a step). Ten
                // samples, one a step: epoch 1 takes a from 7 to 0 and c to 10; epochs 2 and 3 raise a to 10 and 20.
                // L0 = 7^2 = 49, the bound 10 * 49 = 490; the epochs' losses so far stay below (at most 1450 / 10 = 145,
                // by hand), so nothing diverges. Measured at the checkpoint after epoch 1 (a = 0) L0 would be 0 and the
                // bound 10: epoch 2 passes it at its 8th step (0 + 1 + ... + 49 = 140 > 100).
                let objective : Functional.NN.Objective =
                    { SampleCount = 10
                      LossAndGradient = fun w _ -> w.[0] * w.[0], [| (if w.[1] < 10.0 then w.[0] else -1.0); -1.0 |]
                      Validation = None }
                let options =
                    Functional.NN.TrainingOptions.Default
                        .WithBatching(Functional.NN.Batching.Stochastic Functional.NN.Sampling.WithoutReplacement).WithSchedule(Functional.NN.Schedule.Constant 1.0)
                        .WithOptimizerSettings(Functional.NN.OptimizerSettings.Default).WithoutEarlyStopping().WithDivergenceFactor(10.0)
                let whole = coreTrainVector (options.WithMaxEpochs 3) objective [| 7.0; 0.0 |]
                Expect.equal whole.Model [| 20.0; 30.0 |] "uninterrupted: a = 20, c = 30 (by hand)"
                let first = coreTrainVector (options.WithMaxEpochs 1) objective [| 7.0; 0.0 |]
                Expect.equal first.Model [| 0.0; 10.0 |] "after epoch 1 (by hand)"
                Expect.isTrue (Double.IsNaN first.Checkpoint.LossBaseline) "L0 not yet needed"
                let resumed = Functional.NN.Trainer.resumeVector (options.WithMaxEpochs 3) objective first.Checkpoint
                Expect.equal resumed.Model whole.Model "resumed: the uninterrupted result"
                Expect.equal resumed.Checkpoint.LossBaseline 49.0 "L0 at the first run's start"
                // A network's checkpoint file keeps the initial network until L0 is measured, and reads it back.
                let net = Functional.NN.Network.init 2 [ Functional.NN.LayerSpec.Of(2, Functional.NN.Activation.Tanh); Functional.NN.LayerSpec.Of(1, Functional.NN.Activation.Identity) ] 3L
                let x = MathNet.Numerics.LinearAlgebra.Matrix<float>.Build.Dense(8, 2, fun i j -> float (i + j) / 8.0)
                let y = MathNet.Numerics.LinearAlgebra.Matrix<float>.Build.Dense(8, 1, fun i _ -> float i / 8.0)
                let run = Functional.NN.Trainer.train (Functional.NN.TrainingOptions.Default.WithMaxEpochs 2) Functional.NN.Loss.MeanSquaredError (Functional.NN.TrainingData.Of(x, y)) net
                Expect.isTrue (Double.IsNaN run.Checkpoint.LossBaseline) "L0 not needed"
                let back = Functional.NN.ModelFile.checkpointOfBytes (Functional.NN.ModelFile.checkpointToBytes run.Checkpoint)
                Expect.equal (Functional.NN.Parameters.ofNetwork back.Initial) (Functional.NN.Parameters.ofNetwork net) "the initial network, read back"
                Expect.notEqual (Functional.NN.Parameters.ofNetwork back.Model) (Functional.NN.Parameters.ofNetwork net) "not the trained one"
                // A hand-made checkpoint whose initial network has another precision is refused at resume (its file
                // could not be read back), as one of another shape is.
                let mixed = { Functional.NN.Checkpoint.map (Functional.NN.Network.withPrecision Functional.NN.Precision.Float32) run.Checkpoint with Initial = net }
                expectArg "checkpoint" [ "shape and precision" ] (fun () ->
                    Functional.NN.Trainer.resume (Functional.NN.TrainingOptions.Default.WithMaxEpochs 3) Functional.NN.Loss.MeanSquaredError (Functional.NN.TrainingData.Of(x, y)) mixed |> ignore) |> ignore
            }

            test "a loss that grows 4x per step is stopped at the step the rule's bound gives, naming the epoch and step" {
                // f(w) = w^2 / 2 from w = 1 with plain SGD at step 3: w <- -2 w, so the loss before step t
                // is 4^(t-1) / 2 (hand derivation). Full batch: the epoch's loss so far is that loss, L0 =
                // 1/2, the bound 1e4 * max(1/2, 1) = 1e4: step 8 has 8192, step 9 has 32768, the first above.
                // That loss is at the parameters step 8 made, so step 8 fails (docs/training.md) and
                // LastGood is w before step 8: (-2)^7.
                let options =
                    Functional.NN.TrainingOptions.Default
                        .WithBatching(Functional.NN.Batching.FullBatch).WithSchedule(Functional.NN.Schedule.Constant 3.0)
                        .WithOptimizerSettings(Functional.NN.OptimizerSettings.Default).WithoutEarlyStopping().WithMaxEpochs(100)
                let objective : Functional.NN.Objective =
                    { SampleCount = 1; LossAndGradient = (fun w _ -> 0.5 * w.[0] * w.[0], [| w.[0] |]); Validation = None }
                match Expect.throwsC (fun () -> coreTrainVector options objective [| 1.0 |] |> ignore) id with
                | :? Functional.NN.TrainingDivergedException as e ->
                    Expect.equal (e.Epoch, e.Step) (8, 8) "epoch and step 8"
                    Expect.stringContains e.Message "epoch 8, step 8" "named in the message"
                    Expect.stringContains e.Message "(TrainingOptions.DivergenceFactor)" "the option"
                    Expect.stringContains e.Message "32768 grew past 10000 times max(L0, 1) = 10000, where L0 = 0.5" "the bound the rule used"
                    Expect.equal (e.LastGood :?> float[]) [| -128.0 |] "LastGood is w before step 8: (-2)^7"
                | other -> failtestf "expected TrainingDivergedException, got %O" other
            }

            test "a growth-rule trip at the first step is a divergence at the initial parameters, not a bad starting loss" {
                // Per-sample losses 100 (1 + w^2) and -99 (1 + w^2), w = 0, stochastic steps: L0 = 1/2,
                // the bound 10 * max(1/2, 1) = 10; when sample 0 comes first, the epoch's loss so far
                // after step 1 is 100 / 2 = 50 > 10 (hand derivation), at parameters no step made. A
                // review found it reported as the objective's bad starting loss (an ArgumentException).
                let c = [| 100.0; -99.0 |]
                let mutable first : int[] = null
                let objective : Functional.NN.Objective =
                    { SampleCount = 2
                      LossAndGradient = (fun w batch ->
                          if isNull first then first <- Array.copy batch
                          let m = batch |> Array.averageBy (fun i -> c.[i])
                          m * (1.0 + w.[0] * w.[0]), [| 2.0 * m * w.[0] |])
                      Validation = None }
                let tried =
                    [ for seed in 0L .. 9L do
                        first <- null
                        let options =
                            Functional.NN.TrainingOptions.Default
                                .WithBatching(Functional.NN.Batching.Stochastic Functional.NN.Sampling.WithoutReplacement)
                                .WithSchedule(Functional.NN.Schedule.Constant 0.1).WithOptimizerSettings(Functional.NN.OptimizerSettings.Default)
                                .WithoutEarlyStopping().WithMaxEpochs(1).WithDivergenceFactor(10.0).WithSeed(seed)
                        let outcome = try Choice1Of2 (coreTrainVector options objective [| 0.0 |]) with e -> Choice2Of2 e
                        yield first.[0], outcome ]
                let sampleZeroFirst = tried |> List.filter (fun (s, _) -> s = 0)
                Expect.isNonEmpty sampleZeroFirst "some seed draws sample 0 first"
                for _, outcome in sampleZeroFirst do
                    match outcome with
                    | Choice2Of2 (:? Functional.NN.TrainingDivergedException as e) ->
                        Expect.equal (e.Epoch, e.Step) (1, 1) "epoch 1, step 1"
                        Expect.stringContains e.Message "grew past 10 times max(L0, 1) = 10" "the growth rule"
                        Expect.stringContains e.Message "step 1: at the initial parameters, the epoch's loss so far" "where"
                        Expect.stringContains e.Message "is the loss at the start (TrainingOptions.DivergenceFactor). The last finite" "the option last"
                        Expect.equal (e.LastGood :?> float[]) [| 0.0 |] "LastGood: the start"
                    | other -> failtestf "expected TrainingDivergedException, got %A" other
            }

            test "batch losses whose sum passes the double range fail the step before, and say so" {
                // Four equal samples of loss 0.5e300 w^2 from w = 1.8e4 at rate 0.5e-300: w halves each step
                // (hand derivation); the loss before step 1 is 1.62e308 and before step 2 4.05e307, finite,
                // but their sum 2.025e308 passes the double range (about 1.797e308): the epoch's mean would
                // be infinite. A review found it reported as "the training loss on the whole set became
                // Infinity" at the epoch's last step, whose whole-set loss was finite.
                let objective : Functional.NN.Objective =
                    { SampleCount = 4
                      LossAndGradient = (fun w _ -> 0.5e300 * w.[0] * w.[0], [| 1e300 * w.[0] |])
                      Validation = None }
                let options =
                    Functional.NN.TrainingOptions.Default
                        .WithBatching(Functional.NN.Batching.Stochastic Functional.NN.Sampling.WithoutReplacement)
                        .WithSchedule(Functional.NN.Schedule.Constant 0.5e-300).WithOptimizerSettings(Functional.NN.OptimizerSettings.Default)
                        .WithoutEarlyStopping().WithMaxEpochs(3).WithDivergenceFactor(0.0)
                match Expect.throwsC (fun () -> coreTrainVector options objective [| 1.8e4 |] |> ignore) id with
                | :? Functional.NN.TrainingDivergedException as e ->
                    Expect.equal (e.Epoch, e.Step) (1, 1) "step 1 made the parameters whose loss passed the range"
                    Expect.stringContains e.Message "summed past the double range" "says what happened"
                    Expect.isFalse (e.Message.Contains "whole set") "not the whole set's loss"
                    Expect.equal (e.LastGood :?> float[]) [| 1.8e4 |] "LastGood: the start"
                | other -> failtestf "expected TrainingDivergedException, got %O" other
            }

            test "linear SGD: DivergenceFactor is an option of LinearSgdOptions (F# and C#), named in the message, 0 turns it off" {
                // The commute data at a constant rate of 10, far above 2/L (L = 13.3): the cost grows by
                // orders of magnitude per step (LinearTests: it diverges).
                let x = array2D [ [ 2.7; 1.0 ]; [ 4.1; 1.0 ]; [ 1.0; 0.0 ]; [ 5.2; 1.0 ]; [ 2.8; 0.0 ] ]
                let y = [| 25.0; 33.0; 15.0; 45.0; 22.0 |]
                let on = Expect.throwsC (fun () -> LinearRegression.FitBySgd(x, y, LinearSgdOptions(Schedule = Schedule.Constant 10.0)) |> ignore) id
                Expect.isTrue (on :? TrainingDivergedException<LinearModel>) "LinearModel LastGood"
                Expect.stringContains on.Message "(LinearSgdOptions.DivergenceFactor)" "the API's own option"
                Expect.isFalse (on.Message.Contains "TrainingOptions") "not the trainer's options"
                // Off, only NaN or infinity stops the same run, later.
                let off = Expect.throwsC (fun () -> LinearRegression.FitBySgd(x, y, LinearSgdOptions(Schedule = Schedule.Constant 10.0, DivergenceFactor = 0.0)) |> ignore) id :?> TrainingDivergedException
                Expect.isFalse (off.Message.Contains "DivergenceFactor") "no growth rule"
                Expect.isGreaterThan off.Step (on :?> TrainingDivergedException).Step "later"
                // A larger factor fires later (the cost grows monotonically here), never after infinity does.
                let huge = Expect.throwsC (fun () -> LinearRegression.FitBySgd(x, y, LinearSgdOptions(Schedule = Schedule.Constant 10.0, DivergenceFactor = 1e300)) |> ignore) id :?> TrainingDivergedException
                Expect.isGreaterThan huge.Step (on :?> TrainingDivergedException).Step "1e300 fires later than 1e4"
                Expect.isLessThanOrEqual huge.Step off.Step "and no later than infinity"
                // Out of range: C# names the property (the message its path); F# names the field.
                for bad in [ 0.5; 1.0; -1.0; nan; infinity ] do
                    expectArg "DivergenceFactor" [ "options.DivergenceFactor" ] (fun () -> LinearRegression.FitBySgd(x, y, LinearSgdOptions(DivergenceFactor = bad)) |> ignore) |> ignore
                    expectArg "DivergenceFactor" [ "options.Sgd.DivergenceFactor" ] (fun () ->
                        LinearClassifier.Fit(x, [| 1; 1; -1; 1; -1 |], LinearClassifierOptions(Sgd = LinearSgdOptions(DivergenceFactor = bad))) |> ignore) |> ignore
                    let core = { Functional.NN.Linear.LinearSgdOptions.Default with DivergenceFactor = bad }
                    let xm = Functional.NN.Mat.init 5 2 (fun i j -> x.[i, j])
                    let ym = Functional.NN.Mat.init 5 1 (fun i _ -> y.[i])
                    match Expect.throwsC (fun () -> Functional.NN.Linear.Sgd.fit core (Functional.NN.Linear.LinearCost.LeastSquares true) xm ym |> ignore) id with
                    | :? ArgumentOutOfRangeException as e -> Expect.equal e.ParamName "divergenceFactor" "F# field"
                    | e -> failtestf "expected ArgumentOutOfRangeException, got %O" e
                Expect.equal (LinearSgdOptions().DivergenceFactor) Functional.NN.TrainingOptions.Default.DivergenceFactor "the trainer's default"
            }
        ]

        test "TrainingResult.TrainLoss is, as documented, the last epoch's mean batch loss by default and the whole set's loss with ExactEpochLoss" {
            let x = Array2D.init 40 2 (fun i j -> sin (float (3 * i + j)))
            let y = Array2D.init 40 1 (fun i _ -> cos (float i))
            let net = NetworkBuilder(2).Dense(6, Activation.Tanh).Dense(1, Activation.Identity).Seed(3L).Build()
            let opts exact = TrainingOptions(Batching = Batching.MiniBatch 8, MaxEpochs = 5, EarlyStoppingPatience = Nullable(), ExactEpochLoss = exact)
            let options = opts false
            let batches = Trainer.Train(net, x, y, Loss.MeanSquaredError, options)
            Expect.equal batches.TrainLoss (Seq.last batches.History).TrainLoss "default: the last epoch's record"
            // The model's own loss on the whole set (Network.Loss, not the trainer) differs: the weights moved.
            Expect.notEqual batches.TrainLoss (batches.Model.Loss(x, y, Loss.MeanSquaredError)) "not the model's loss"
            let exact = Trainer.Train(net, x, y, Loss.MeanSquaredError, opts true)
            Expect.floatClose Accuracy.veryHigh exact.TrainLoss (exact.Model.Loss(x, y, Loss.MeanSquaredError)) "ExactEpochLoss: the model's loss"
        }

        test "StopReason.EarlyStopping without validation data keeps the last weights, with validation data restores the best" {
            let x = Array2D.init 30 1 (fun i _ -> float i / 30.0)
            let y = Array2D.init 30 1 (fun i _ -> float (i % 2))
            let net = NetworkBuilder(1).Dense(4, Activation.Tanh).Dense(1, Activation.Identity).Seed(1L).Build()
            // MinDelta 1: no epoch improves on the first by 1 (losses below 1), so patience 2 stops at epoch 3.
            let options = TrainingOptions(Batching = Batching.FullBatch, Schedule = Schedule.Constant 0.01, EarlyStoppingPatience = Nullable 2, EarlyStoppingMinDelta = 1.0)
            let weights (n: Network) = [| for l in 0 .. n.Layers.Count - 1 do yield! Seq.cast<float> (n.GetWeights l); yield! n.GetBias l |]
            let r = Trainer.Train(net, x, y, Loss.MeanSquaredError, options)
            Expect.equal (r.StopReason, r.Epochs) (StopReason.EarlyStopping, 3) "stopped by the plateau rule at epoch 3"
            Expect.equal (weights r.Model) (weights r.Checkpoint.Model) "the last weights"
            let v = Trainer.Train(net, x, y, Loss.MeanSquaredError, options, x, y)
            Expect.equal v.StopReason StopReason.EarlyStopping "with validation data"
            Expect.notEqual (weights v.Model) (weights v.Checkpoint.Model) "the best (epoch 1) weights, not the last"
        }

        testList "a review of the facade and the gradient check (2026-12-07)" [
            test "a regressor's single-row predictor gives its value in the target's units; its errors point to C# members" {
                // Review: a regressor's predictor had only PredictOutputs (the network's standardised
                // output), and its errors pointed there. Expected: Pipeline.PredictValues on the same
                // rows, to rounding (the single-row path sums in another order).
                let fit = Pipeline.Fit(Dataset.Embedded("commute"), PipelineOptions(Training = TrainingOptions(MaxEpochs = 3)))
                let p = fit.Model.CreatePredictor()
                let rows = array2D [ [ 1.0; 1.0 ]; [ 5.0; 0.0 ]; [ 12.0; 1.0 ] ]
                let expected = fit.Model.PredictValues rows
                for i in 0 .. 2 do
                    let v = p.PredictValue(ReadOnlySpan [| rows.[i, 0]; rows.[i, 1] |])
                    Expect.floatClose Accuracy.high v expected.[i] (sprintf "row %d" i)
                let e = Expect.throwsC (fun () -> p.PredictClassIndex(ReadOnlySpan [| 1.0; 1.0 |]) |> ignore) id
                Expect.stringContains e.Message "use PredictValue" "a regressor's class: points to PredictValue"
                let classifier = Pipeline.Fit(Dataset.Embedded("iris"), PipelineOptions(Training = TrainingOptions(MaxEpochs = 2))).Model.CreatePredictor()
                let e = Expect.throwsC (fun () -> classifier.PredictValue(ReadOnlySpan [| 5.0; 3.0; 1.5; 0.2 |]) |> ignore) id
                Expect.isTrue (e :? InvalidOperationException) "InvalidOperationException"
                Expect.stringContains e.Message "use PredictClassIndex" "a classifier's value: points to PredictClassIndex"
            }
            test "Dataset.SelectRows and Dataset.Embedded name their C# parameters; the nodes' operators their C# names" {
                let e = Expectations.expectArgument "rows" [ "150" ] (fun () -> Dataset.Embedded("iris").SelectRows([| 0; 150 |]) |> ignore)
                Expect.isFalse (e.Message.Contains "indices") "no F# parameter name"
                let e = Expect.throwsC (fun () -> Dataset.Embedded(null) |> ignore) id
                Expect.isTrue (e :? ArgumentNullException && (e :?> ArgumentNullException).ParamName = "name") (sprintf "ArgumentNullException name, got %O" e)
                let a, b = Autodiff.Variable("a", array2D [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ]), Autodiff.Variable("b", array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ]; [ 5.0; 6.0 ] ])
                for name, op in [ "+", (fun () -> a + b); "-", (fun () -> a - b); "*", (fun () -> a * b); "/", (fun () -> a / b) ] do
                    let e = Expectations.expectArgument "b" [ sprintf "operator %s needs operands of one shape" name ] (fun () -> op () |> ignore)
                    Expect.isFalse (e.Message.StartsWith "add" || e.Message.StartsWith "subtract" || e.Message.StartsWith "multiply" || e.Message.StartsWith "divide") "no F# function name"
            }
            test "a linear classifier's accuracy names x's rows against the labels, not an internal array" {
                let m = LinearModel.Create(array2D [ [ 1.0 ] ], [| 0.0 |])
                for f in [ (fun () -> m.Accuracy(array2D [ [ 1.0 ]; [ 2.0 ] ], [| 1 |])); (fun () -> m.ZeroOneError(array2D [ [ 1.0 ]; [ 2.0 ] ], [| 1 |])) ] do
                    let e = Expectations.expectArgument "labels" [ "There are 1 labels for the 2 rows of x" ] (fun () -> f () |> ignore)
                    Expect.isFalse (e.Message.Contains "predicted") "no internal name"
            }
            test "saving over a read-only file names the C# parameter overwriteReadOnly" {
                let dir = IO.Path.Combine(IO.Path.GetTempPath(), "fnn-ro-" + Guid.NewGuid().ToString "N")
                IO.Directory.CreateDirectory dir |> ignore
                try
                    let net = NetworkBuilder(2).Dense(1, Activation.Identity).Seed(1L).Build()
                    let path = IO.Path.Combine(dir, "net.fnn")
                    let csv = IO.Path.Combine(dir, "iris.csv")
                    ModelFile.SaveNetwork(net, path)
                    Dataset.Embedded("iris").SaveCsv(csv)
                    let onnx = IO.Path.Combine(dir, "net.onnx")
                    let pipelineOnnx = IO.Path.Combine(dir, "pipeline.onnx")
                    let pipeline = Pipeline.Fit(Dataset.Embedded("iris"), PipelineOptions(Training = TrainingOptions(MaxEpochs = 1))).Model
                    net.ExportOnnx(onnx)
                    pipeline.ExportOnnx(pipelineOnnx)
                    for p in [ path; csv; onnx; pipelineOnnx ] do IO.File.SetAttributes(p, IO.FileAttributes.ReadOnly)
                    for what, save in [ "SaveNetwork", (fun () -> ModelFile.SaveNetwork(net, path)); "SaveCsv", (fun () -> Dataset.Embedded("iris").SaveCsv(csv))
                                        "network ExportOnnx", (fun () -> net.ExportOnnx(onnx)); "pipeline ExportOnnx", (fun () -> pipeline.ExportOnnx(pipelineOnnx)) ] do
                        let e = Expect.throwsC save id
                        Expect.isTrue (e :? UnauthorizedAccessException) (sprintf "%s: UnauthorizedAccessException, got %O" what e)
                        Expect.stringContains e.Message "overwriteReadOnly: true" (sprintf "%s: the C# parameter" what)
                        Expect.isFalse (e.Message.Contains "OverwriteReadOnly") (sprintf "%s: not the F# option" what)
                    // The option the message names replaces the file.
                    net.ExportOnnx(onnx, overwriteReadOnly = true)
                    pipeline.ExportOnnx(pipelineOnnx, overwriteReadOnly = true)
                finally
                    for f in IO.Directory.GetFiles dir do IO.File.SetAttributes(f, IO.FileAttributes.Normal)
                    IO.Directory.Delete(dir, true)
            }
            test "a network predictor's array overload refuses null arrays by name, gives the span overload's values and allocates nothing" {
                // Review: a null array converted to an empty span and was reported as a length error.
                let net = NetworkBuilder(4).Dense(3, Activation.Tanh).Dense(2, Activation.Identity).Seed(2L).Build()
                let p = net.CreatePredictor()
                let x = [| 0.5; -1.0; 2.0; 0.25 |]
                for name, call in [ "x", (fun () -> p.Predict((null: float[]), Array.zeroCreate<float> 2)); "output", (fun () -> p.Predict(x, (null: float[]))) ] do
                    let e = Expect.throwsC call id
                    Expect.isTrue (e :? ArgumentNullException && (e :?> ArgumentNullException).ParamName = name) (sprintf "ArgumentNullException %s, got %O" name e)
                let e = Expect.throwsC (fun () -> p.Predict((null: float32[]), Array.zeroCreate<float32> 2)) id
                Expect.isTrue (e :? ArgumentNullException) "float32: ArgumentNullException"
                let bySpan, byArray = Array.zeroCreate<float> 2, Array.zeroCreate<float> 2
                p.Predict(ReadOnlySpan x, Span bySpan)
                p.Predict(x, byArray)
                Expect.equal byArray bySpan "the span overload's values"
                for _ in 1 .. 1000 do p.Predict(x, byArray)
                let fewest =
                    [ for _ in 1 .. 5 ->
                        let before = GC.GetAllocatedBytesForCurrentThread()
                        for _ in 1 .. 100 do p.Predict(x, byArray)
                        GC.GetAllocatedBytesForCurrentThread() - before ] |> List.min
                Expect.equal fewest 0L "bytes allocated by 100 calls (the fewest of five runs)"
            }
            test "the four-point difference does not overflow where the two-point differences do not" {
                // Review: (4 D(h) - D(2h)) / 3 overflowed for D near 4.5e307 and reported a correct gradient
                // of 1e308 x as infinitely wrong. Expected: f = 1e308 x has derivative 1e308 exactly.
                let r = GradientChecker.Check((fun t -> 1e308 * t.[0]), (fun _ -> [| 1e308 |]), [| 0.5 |])
                Expect.isLessThan r.MaxRelativeError 1e-10 (sprintf "relative error %g, numeric %A" r.MaxRelativeError r.Numeric)
            }
        ]

        testList "errors name the C# parameter" [
            test "WithLayerParameters on a Float32 network names weights or bias; WithPrecision names precision and the weight" {
                let f32 = NetworkBuilder(2).Dense(3, Activation.Identity).Precision(Precision.Float32).Seed(1L).Build()
                let w = Array2D.init 2 3 (fun i j -> if (i, j) = (1, 2) then 1e300 else 0.5)
                expectArg "weights" [ "weights[1, 2]"; "1E+300"; "float32" ] (fun () -> f32.WithLayerParameters(0, w, Array.zeroCreate 3) |> ignore) |> ignore
                expectArg "bias" [ "bias[1]"; "float32" ] (fun () -> f32.WithLayerParameters(0, Array2D.create 2 3 0.5, [| 0.0; -1e39; 0.0 |]) |> ignore) |> ignore
                // The same values are fine for a Float64 network, which then has no float32 form.
                let f64 = NetworkBuilder(2).Dense(3, Activation.Identity).Seed(1L).Build().WithLayerParameters(0, w, Array.zeroCreate 3)
                expectArg "precision" [ "weights[1, 2]"; "1E+300"; "float32" ] (fun () -> f64.WithPrecision(Precision.Float32) |> ignore) |> ignore
                let linear = LinearRegression.Fit(array2D [ [ 0.0 ]; [ 1.0 ]; [ 2.0 ] ], [| 0.0; 1e300; 2e300 |])
                expectArg "precision" [ "coefficient [0, 0]"; "float32" ] (fun () -> linear.WithPrecision(Precision.Float32) |> ignore) |> ignore
            }

            test "enum options name the property, as Activation, Scaling and Normalization do" {
                let x = Array2D.init 6 1 (fun i _ -> float i)
                let y = Array2D.init 6 1 (fun i _ -> float i)
                let net = NetworkBuilder(1).Dense(1, Activation.Identity).Build()
                let e = Expect.throwsC (fun () -> Trainer.Train(net, x, y, Loss.MeanSquaredError, TrainingOptions(Backend = enum<Backend> 99)) |> ignore) id
                Expect.equal (e :?> ArgumentOutOfRangeException).ParamName "Backend" "TrainingOptions.Backend"
                let data = Dataset.FromArrays(x, [| "a"; "b"; "a"; "b"; "a"; "b" |])
                for name, options in [ "Loss", PipelineOptions(Loss = Nullable(enum<Loss> 99))
                                       "Precision", PipelineOptions(Precision = enum<Precision> 9)
                                       "Activation", PipelineOptions(Activation = enum<Activation> 99)
                                       "Scaling", PipelineOptions(Scaling = enum<Scaling> 99)
                                       "Normalization", PipelineOptions(Normalization = enum<Normalization> 99) ] do
                    for what, f in [ "Fit", (fun () -> Pipeline.Fit(data, options) |> ignore); "Untrained", (fun () -> Pipeline.Untrained(data, options) |> ignore) ] do
                        match Expect.throwsC f id with
                        | :? ArgumentOutOfRangeException as e ->
                            Expect.equal e.ParamName name (sprintf "%s: %s" what name)
                            Expect.stringContains e.Message (name + " is ") "the message names it too"
                        | e -> failtestf "%s %s: expected ArgumentOutOfRangeException, got %O" what name e
                // A method's parameter keeps its own (lowercase) name.
                let e = Expect.throwsC (fun () -> net.Predict(x, enum<Backend> 99) |> ignore) id
                Expect.equal (e :?> ArgumentOutOfRangeException).ParamName "backend" "Predict's parameter"
            }

            test "LinearClassifier.Fit names BatchSize (ParamName) and options.Sgd.BatchSize (message)" {
                let x = array2D [ [ 1.0 ]; [ 2.0 ]; [ 3.0 ] ]
                expectArg "BatchSize" [ "options.Sgd.BatchSize" ] (fun () ->
                    LinearClassifier.Fit(x, [| 1; -1; 1 |], LinearClassifierOptions(Sgd = LinearSgdOptions(BatchSize = 0))) |> ignore) |> ignore
                // FitBySgd's options are the LinearSgdOptions themselves.
                expectArg "BatchSize" [ "options.BatchSize" ] (fun () -> LinearRegression.FitBySgd(x, [| 1.0; 2.0; 3.0 |], LinearSgdOptions(BatchSize = 0)) |> ignore) |> ignore
            }

            test "Batching.MiniBatch and TrainingOptions.GradientDescent refuse bad values by the core's checks, with the value and the C# parameter" {
                let e = expectArg "size" [ "The batch size must be positive, but is 0." ] (fun () -> Batching.MiniBatch(0) |> ignore)
                Expect.isNotNull e "batch size 0"
                let e = expectArg "rate" [ "step size must be a positive finite number, but is -1." ] (fun () -> TrainingOptions.GradientDescent(-1.0, 5) |> ignore)
                Expect.isNotNull e "rate -1"
                let e = expectArg "epochs" [ "epochs must be positive, but is 0." ] (fun () -> TrainingOptions.GradientDescent(0.1, 0) |> ignore)
                Expect.isNotNull e "epochs 0"
            }

            test "momentum 0 with dampening is refused (torch.optim.SGD ignores dampening without momentum), naming dampening" {
                // torch 1.13, SGD([p], lr=0.1, momentum=0, dampening=0.5) on p^2/2 from p = 1: 0.9, 0.81, 0.729
                // (plain SGD); the heavy-ball rule with mu = 0 would give 0.9, 0.855, 0.81225.
                let e = expectArg "dampening" [ "dampening 0.5 with momentum 0"; "torch.optim.SGD ignores dampening" ] (fun () -> Optimizer.Momentum(0.0, 0.5) |> ignore)
                Expect.isNotNull e "refused in C#"
                let options = Functional.NN.TrainingOptions.Default.WithOptimizer(Functional.NN.Optimizer.Momentum(0.0, 0.5))
                match Expect.throwsC (fun () -> coreTrainVector options (lineObjective [| 0.0; 1.0 |] [| 0.0; 1.0 |]) [| 0.0 |] |> ignore) id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "optimizer" "the core's field"
                    Expect.stringContains e.Message "dampening 0.5 with momentum 0" "names both"
                | e -> failtestf "expected ArgumentException, got %O" e
                // Momentum 0 without dampening is plain SGD, and momentum with dampening stays allowed.
                Expect.isNotNull (Optimizer.Momentum(0.0, 0.0)) "momentum 0, dampening 0"
                Expect.isNotNull (Optimizer.Momentum(0.9, 0.5)) "momentum 0.9, dampening 0.5"
            }

            test "epsilon 0 is refused by the adaptive optimisers (F# and C#), naming epsilon" {
                // At epsilon 0 a parameter whose gradient is 0 computes 0 / (sqrt 0 + 0) = NaN.
                for name, f in [ "Adam", (fun () -> Optimizer.Adam(epsilon = 0.0) |> ignore)
                                 "AdamW", (fun () -> Optimizer.AdamW(epsilon = 0.0) |> ignore)
                                 "AdaGrad", (fun () -> Optimizer.AdaGrad(epsilon = 0.0) |> ignore)
                                 "RMSProp", (fun () -> Optimizer.RMSProp(epsilon = -1e-8) |> ignore) ] do
                    let e = expectArg "epsilon" [ "epsilon must be a positive" ] f
                    Expect.isNotNull e (name + " refused")
                for opt in [ Functional.NN.Optimizer.Adam(0.9, 0.999, 0.0); Functional.NN.Optimizer.AdaGrad(0.0, 0.0)
                             Functional.NN.Optimizer.RMSProp(0.99, 0.0, 0.0, false); Functional.NN.Optimizer.AdamW(0.9, 0.999, 0.0, 0.01) ] do
                    let options = Functional.NN.TrainingOptions.Default.WithOptimizer opt
                    match Expect.throwsC (fun () -> coreTrainVector options (lineObjective [| 0.0; 1.0 |] [| 0.0; 1.0 |]) [| 0.0 |] |> ignore) id with
                    | :? ArgumentException as e ->
                        Expect.equal e.ParamName "optimizer" "the core's field"
                        Expect.stringContains e.Message "epsilon" "names epsilon"
                    | e -> failtestf "expected ArgumentException, got %O" e
                // The defaults (1e-8, 1e-10) train a parameter with a zero gradient without trouble: x = 0
                // gives gradient 0 for that weight on every step.
                let r = coreTrainVector (Functional.NN.TrainingOptions.Default.WithOptimizer(Functional.NN.Optimizer.adam).WithMaxEpochs 3) (lineObjective [| 0.0; 0.0 |] [| 0.0; 0.0 |]) [| 1.0 |]
                Expect.equal r.Model [| 1.0 |] "a zero gradient leaves the weight"
            }

            test "TargetLoss NaN is refused in C# (null is off), and the infinity message says null" {
                let x = Array2D.init 4 1 (fun i _ -> float i)
                let net = NetworkBuilder(1).Dense(1, Activation.Identity).Build()
                for bad in [ nan; infinity; -infinity ] do
                    let e = expectArg "TargetLoss" [ "null for off" ] (fun () -> Trainer.Train(net, x, x, Loss.MeanSquaredError, TrainingOptions(TargetLoss = Nullable bad)) |> ignore)
                    Expect.isFalse (e.Message.Contains "NaN for off") "not the F# convention"
                let r = Trainer.Train(net, x, x, Loss.MeanSquaredError, TrainingOptions(TargetLoss = Nullable(), MaxEpochs = 2))
                Expect.equal r.Epochs 2 "null: off"
            }
        ]

        testList "low items: C# overloads, labels, scorers, names" [
            test "C#: CheckGradients(x, y, loss, 0) binds to epsilon (and 0 is refused by name); the documented calls bind as before" {
                // Review: C# converts the literal 0 to double and to any enum, so CheckGradients(x, y, loss, 0)
                // was error CS0121 (ambiguous with the NetworkMode overload). FacadeCalls.CSharp holds the calls
                // as C# code writes them, so the C# compiler picks each overload; which one ran shows in the
                // length of the vectors: the parameters only, or the parameters and then every input value.
                let net = NetworkBuilder(2).Dense(3, Activation.Tanh).Dense(1, Activation.Identity).Seed(5L).Build()
                let x = array2D [ [ 0.1; 0.2 ]; [ 0.3; -0.4 ]; [ 0.5; 0.6 ] ]
                let y = array2D [ [ 1.0 ]; [ 0.0 ]; [ 0.5 ] ]
                // Counted by hand: (2 x 3 weights + 3 biases) + (3 x 1 + 1) = 13 parameters; x holds 3 x 2 = 6 inputs.
                Expect.equal net.ParameterCount 13 "parameters, by hand"
                for literal, call in [ "0", FacadeCalls.CheckGradientsCalls.EpsilonLiteralZero; "0.0", FacadeCalls.CheckGradientsCalls.EpsilonLiteralZeroPointZero ] do
                    let e = expectArg "epsilon" [ "epsilon must be a positive finite number" ] (fun () -> call (net, x, y) |> ignore)
                    Expect.isNotNull e (sprintf "CheckGradients(x, y, loss, %s): epsilon 0, refused" literal)
                for name, call in [ "no fourth argument", FacadeCalls.CheckGradientsCalls.Default; "1", FacadeCalls.CheckGradientsCalls.EpsilonLiteralOne
                                    "epsilon and floor by position", FacadeCalls.CheckGradientsCalls.EpsilonAndFloor
                                    "epsilon by name", FacadeCalls.CheckGradientsCalls.NamedEpsilon ] do
                    Expect.equal (call (net, x, y)).Numeric.Count 13 (sprintf "%s: the parameters only" name)
                for name, call in [ "NetworkMode.Training", FacadeCalls.CheckGradientsCalls.Training
                                    "a NetworkMode variable", (fun (n, a, b) -> FacadeCalls.CheckGradientsCalls.InMode(n, a, b, NetworkMode.Inference))
                                    "the mode by position, the rest by name", FacadeCalls.CheckGradientsCalls.TrainingNamed
                                    "every argument by name", FacadeCalls.CheckGradientsCalls.AllNamed ] do
                    Expect.equal (call (net, x, y)).Numeric.Count (13 + 6) (sprintf "%s: the parameters and the inputs" name)
            }
            test "BinaryLabels refuses a positive class that occurs nowhere, naming positive and the classes that occur (C# and F#)" {
                // Review: positive 5 among classes 0, 1, 2 gave all -1, silently (a problem without a positive sample).
                let classes = [| 0; 2; 1; 2; 0 |]
                for what, f in [ "C#", (fun () -> LinearClassifier.BinaryLabels(classes, 5) |> ignore)
                                 "F#", (fun () -> Functional.NN.Linear.LinearClassifier.binaryLabels 5 classes |> ignore) ] do
                    let e = expectArg "positive" [ "positive is 5"; "does not occur among the classes (0, 1, 2)" ] f
                    Expect.isNotNull e what
                // More than ten classes: the first ten and the count.
                expectArg "positive" [ "(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... (12 classes))" ] (fun () ->
                    LinearClassifier.BinaryLabels(Array.init 24 (fun i -> i % 12), 20) |> ignore) |> ignore
                // By the definition (+1 for class 2, -1 for the others); no samples: no labels.
                Expect.equal (LinearClassifier.BinaryLabels(classes, 2)) [| -1; 1; -1; 1; -1 |] "class 2 against the rest"
                Expect.equal (LinearClassifier.BinaryLabels([||], 5)) [||] "an empty array gives an empty array"
            }
            test "permutation importance: a scorer that gives NaN or an infinity is refused naming scorer (F#: score), the column and the repeat" {
                // Review: a custom scorer's NaN made every importance NaN, printed as such. The calls come in
                // the documented order (Importance.fs, shuffled): the baseline, then column by column,
                // repeat by repeat; iris's columns are sepal_length, sepal_width, petal_length, petal_width.
                let iris = Dataset.Embedded("iris")
                let model = Pipeline.Untrained(iris)
                let failingAt (call: int) (bad: float) =
                    let mutable calls = 0
                    Func<float[,], float>(fun _ -> calls <- calls + 1; if calls = call then bad else 0.5)
                expectArg "scorer" [ "scorer ('auc') gave NaN for the data as given (the baseline)"; "finite" ]
                    (fun () -> model.PermutationImportance(iris, failingAt 1 nan, "auc", 2, 1L) |> ignore) |> ignore
                // Call 4 with 2 repeats: column 0 repeats 0 and 1 are calls 2 and 3, so column 1, repeat 0.
                for bad, text in [ nan, "NaN"; infinity, "Infinity"; -infinity, "-Infinity" ] do
                    expectArg "scorer" [ sprintf "scorer ('auc') gave %s with column 1 ('sepal_width') shuffled by repeat 0 (of 0 .. 1)" text ]
                        (fun () -> model.PermutationImportance(iris, failingAt 4 bad, "auc", 2, 1L) |> ignore) |> ignore
                // The scorer's own exception passes unchanged (its ParamName is not taken for the core's data).
                let mine = ArgumentException("the scorer's own error", "data")
                let e = Expect.throwsC (fun () -> model.PermutationImportance(iris, Func<float[,], float>(fun _ -> raise mine), "own", 2, 1L) |> ignore) id
                Expect.isTrue (obj.ReferenceEquals(e, mine)) (sprintf "the scorer's exception itself, got %O" e)
                // F#: the core's score, in each function that takes one.
                let x = Functional.NN.Mat.init 4 2 (fun i j -> float (i + 3 * j))
                let map = Functional.NN.FeatureMap.identity [| "a"; "b" |]
                let perms = Functional.NN.Importance.permutationsFromSeed 2 4 3 1L
                let coreModel = Functional.NN.PipelineFit.untrained Functional.NN.FitOptions.Default (Functional.NN.Datasets.load "iris")
                for what, f in [ "permutation", (fun () -> Functional.NN.Importance.permutation "s" (fun _ -> nan) map x 3 1L |> ignore)
                                 "withPermutations", (fun () -> Functional.NN.Importance.withPermutations "s" (fun _ -> nan) map x 3 (fun c r -> perms.[c].[r]) |> ignore)
                                 "ofPipelineWith", (fun () -> Functional.NN.Importance.ofPipelineWith "s" (fun _ -> nan) coreModel (Functional.NN.Datasets.load "iris") 3 1L |> ignore) ] do
                    let e = expectArg "score" [ "score ('s') gave NaN for the data as given (the baseline)" ] f
                    Expect.isNotNull e what
            }
            test "a null feature name is refused as null, naming the parameter and the index (it was reported as empty, or as 'key')" {
                // Review: Dataset.FromArrays with featureNames [| "f"; null |] said "featureNames[1] is empty", and
                // SelectFeatures with a null name threw ArgumentNullException for a dictionary's 'key'.
                let x = array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]
                let names = [| "f"; null |]
                for what, f in [ "class names", (fun () -> Dataset.FromArrays(x, [| "a"; "b" |], names) |> ignore)
                                 "class labels", (fun () -> Dataset.FromArrays(x, [| 0; 1 |], names) |> ignore)
                                 "values", (fun () -> Dataset.FromArrays(x, [| 1.0; 2.0 |], names) |> ignore)
                                 "enumerable", (fun () -> Dataset.FromEnumerable([ [| 1.0; 2.0 |] ], (fun r -> r), (fun _ -> 1.0), names) |> ignore) ] do
                    let e = expectArg "featureNames" [ "featureNames[1] is null" ] f
                    Expect.isFalse (e.Message.Contains "empty") (sprintf "%s: not called empty" what)
                // An empty or blank name is still called empty.
                expectArg "featureNames" [ "featureNames[0] is empty" ] (fun () -> Dataset.FromArrays(x, [| 1.0; 2.0 |], [| " "; "g" |]) |> ignore) |> ignore
                let e = Expect.throwsC (fun () -> Dataset.Embedded("iris").SelectFeatures("sepal_width", null) |> ignore) id
                Expect.isTrue (e :? ArgumentException && not (e :? ArgumentNullException)) (sprintf "ArgumentException, got %O" e)
                expectArg "names" [ "names[1] is null" ] (fun () -> Dataset.Embedded("iris").SelectFeatures("sepal_width", null) |> ignore) |> ignore
                // F#: the explanations' column tables, and a network's permutation importance given input names.
                expectArg "names" [ "names[1] is null" ] (fun () -> Functional.NN.FeatureMap.identity names |> ignore) |> ignore
                expectArg "columns" [ "columns[0] is null" ] (fun () -> Functional.NN.FeatureMap.create [| null |] [| 0 |] |> ignore) |> ignore
                let coreNet = Functional.NN.Network.init 2 [ Functional.NN.LayerSpec.Of(1, Functional.NN.Activation.Identity) ] 1L
                expectArg "names" [ "names[1] is null" ] (fun () ->
                    Functional.NN.Importance.ofNetwork coreNet names (Functional.NN.Mat.init 3 2 (fun i j -> float (i * j))) (Functional.NN.Target.Values [| 1.0; 2.0; 3.0 |]) 2 1L |> ignore) |> ignore
            }
            test "a pipeline's permutation importance names dataset, not the core's x, for a cell the pipeline refuses (both overloads)" {
                // Review: a missing cell in a pipeline that fills none was refused with ParamName "x", which
                // PermutationImportance(pipeline, dataset, ...) does not have. Expected: the pipeline's own
                // message (PredictValues of the same raw features gives it, naming its x), under dataset.
                let strict = Pipeline.Untrained(Dataset.ParseCsv("a,b,y\n0.1,0.2,1\n0.5,0.3,2\n0.9,0.7,3\n", "y"))
                let data = Dataset.ParseCsv("a,b,y\n0.1,0.2,1\n0.5,,2\n0.9,0.7,3\n", "y", format = CsvFormat(Missing = MissingValues.Mean))
                let predictError = expectArg "x" [ "missing" ] (fun () -> strict.PredictValues(array2D [ [ 0.1; 0.2 ]; [ 0.5; nan ]; [ 0.9; 0.7 ] ]) |> ignore)
                for what, f in [ "default scorer", (fun () -> strict.PermutationImportance(data, 2, 1L) |> ignore)
                                 "given scorer", (fun () -> strict.PermutationImportance(data, Func<float[,], float>(fun _ -> 1.0), "one", 2, 1L) |> ignore) ] do
                    let e = expectArg "dataset" [ "missing"; "row index 1, column 1 (b)" ] f
                    Expect.equal (e.Message.Replace("dataset", "x")) predictError.Message (sprintf "%s: the pipeline's own message, naming dataset" what)
            }
        ]

        test "options compare by value: Batching, Schedule, Optimizer, TrainingOptions and PipelineOptions (HiddenLayers by contents)" {
            Expect.isTrue (Batching.MiniBatch 32 = Batching.MiniBatch 32 && Batching.MiniBatch(32).Equals(Batching.MiniBatch 32)) "batching"
            Expect.isFalse (Batching.MiniBatch 32 = Batching.MiniBatch 16 || Batching.Stochastic() = Batching.Stochastic(Sampling.WithReplacement)) "other batching"
            Expect.isTrue (Schedule.Constant 0.1 = Schedule.Constant 0.1 && Schedule.Constant(0.1).GetHashCode() = Schedule.Constant(0.1).GetHashCode()) "schedule"
            Expect.isFalse (Schedule.Constant 0.1 = Schedule.InverseSqrt 0.1) "other schedule"
            Expect.isTrue (Optimizer.Adam().Equals(Optimizer.Adam()) && not (Optimizer.Adam().Equals(Optimizer.Adam(beta1 = 0.8)))) "optimizer"
            // The C# operators (op_Equality, op_Inequality), as C# code calls them.
            let op (name: string) (t: Type) (a: obj) (b: obj) =
                match t.GetMethod(name, [| t; t |]) with
                | null -> failtestf "%s has no %s" t.Name name
                | m -> m.Invoke(null, [| a; b |]) :?> bool
            for t, make in [ typeof<Batching>, (fun () -> box (Batching.MiniBatch 7)); typeof<Schedule>, (fun () -> box (Schedule.Constant 0.1))
                             typeof<Optimizer>, (fun () -> box (Optimizer.Sgd())); typeof<TrainingOptions>, (fun () -> box (TrainingOptions()))
                             typeof<PipelineOptions>, (fun () -> box (PipelineOptions(HiddenLayers = [| 8; 4 |]))) ] do
                Expect.isTrue (op "op_Equality" t (make ()) (make ())) (sprintf "%s: == of two made alike" t.Name)
                Expect.isFalse (op "op_Inequality" t (make ()) (make ())) (sprintf "%s: !=" t.Name)
                Expect.isTrue (op "op_Inequality" t (make ()) null) (sprintf "%s: != null" t.Name)
                Expect.equal ((make ()).GetHashCode()) ((make ()).GetHashCode()) (sprintf "%s: equal hashes" t.Name)
            // Every property takes part: a copy with any one property changed is unequal.
            let changed (t: Type) (current: obj) : obj =
                if t = typeof<int[]> then box [| 99 |]
                elif t = typeof<int> then box ((current :?> int) + 1)
                elif t = typeof<int64> then box ((current :?> int64) + 1L)
                elif t = typeof<float> then box ((current :?> float) + 0.25)
                elif t = typeof<bool> then box (not (current :?> bool))
                elif t = typeof<Nullable<int>> then box (Nullable 77)
                elif t = typeof<Nullable<float>> then box (Nullable 0.125)
                elif t = typeof<Nullable<Loss>> then box (Nullable Loss.Hinge)
                elif t.IsEnum then Enum.ToObject(t, (Convert.ToInt32 current + 1) % Enum.GetValues(t).Length)
                elif t = typeof<Batching> then box (Batching.MiniBatch 3)
                elif t = typeof<Schedule> then box (Schedule.Constant 0.7)
                elif t = typeof<Optimizer> then box (Optimizer.Nesterov())
                elif t = typeof<TrainingOptions> then box (TrainingOptions(MaxEpochs = 3))
                else failwithf "no changed value for %s" t.Name
            for make in [ (fun () -> box (TrainingOptions())); (fun () -> box (PipelineOptions())) ] do
                for p in (make ()).GetType().GetProperties() |> Array.filter (fun p -> p.CanWrite && p.GetIndexParameters().Length = 0 && p.Name <> "EqualityContract") do
                    let a, b = make (), make ()
                    Expect.isTrue (a.Equals b) "fresh defaults are equal"
                    p.SetValue(b, changed p.PropertyType (p.GetValue b))
                    Expect.isFalse (a.Equals b) (sprintf "%s.%s takes part" (a.GetType().Name) p.Name)
        }

        test "Summary is culture-invariant (de-DE)" {
            // 229 * (6 + 1) = 1603 parameters of 8 bytes: 12824 bytes = 12.52 KiB.
            let net = NetworkBuilder(6).Dense(229, Activation.Identity).Build()
            let saved = CultureInfo.CurrentCulture
            try
                CultureInfo.CurrentCulture <- CultureInfo("de-DE")
                Expect.stringContains (net.Summary()) "Total params: 1,603 (float64, 12.5 KiB)" "invariant figures"
            finally
                CultureInfo.CurrentCulture <- saved
        }

        test "Pipeline.Untrained refuses the options Fit refuses, with the same error" {
            let data = Dataset.FromArrays(Array2D.init 8 2 (fun i j -> float (i * j)), [| "a"; "b"; "a"; "b"; "a"; "b"; "a"; "b" |])
            for name, options in [ "ValidationFraction", PipelineOptions(ValidationFraction = nan)
                                   "ValidationFraction", PipelineOptions(ValidationFraction = 1.0)
                                   "MaxEpochs", PipelineOptions(Training = TrainingOptions(MaxEpochs = 0))
                                   "TargetLoss", PipelineOptions(Training = TrainingOptions(TargetLoss = Nullable nan))
                                   "WeightDecay", PipelineOptions(Training = TrainingOptions(Optimizer = Optimizer.Sgd(), WeightDecay = -1.0)) ] do
                let fit = Expect.throwsC (fun () -> Pipeline.Fit(data, options) |> ignore) id
                let untrained = Expect.throwsC (fun () -> Pipeline.Untrained(data, options) |> ignore) id
                Expect.equal (untrained.GetType(), untrained.Message) (fit.GetType(), fit.Message) (sprintf "%s: the same error" name)
                Expect.equal (untrained :?> ArgumentException).ParamName (fit :?> ArgumentException).ParamName (sprintf "%s: the same ParamName" name)
        }

        testList "a second review of the facade (2026-12-07)" [
            test "Pipeline.Evaluate names data, not the metrics' predicted, for a score beyond the double range" {
                // Review: Evaluate threw ParamName "predicted", a parameter of the core's metrics. The commute
                // targets (15 .. 45 minutes) times 1e160 against a model trained on minutes (predictions of tens):
                // each squared error is about (2.5e161)^2 = 6e322, beyond the double range (1.8e308), by hand.
                let commute = Dataset.Embedded("commute")
                let model = Pipeline.Fit(commute, PipelineOptions(Training = TrainingOptions(MaxEpochs = 3))).Model
                let huge = Dataset.FromArrays(commute.Features, commute.Values |> Array.map (fun v -> v * 1e160), commute.FeatureNames, commute.TargetName)
                let e = expectArg "data" [ "The mean squared error of the model's predictions on data is larger than the largest double"; "rescale" ] (fun () -> model.Evaluate huge |> ignore)
                Expect.equal (e.GetType()) typeof<ArgumentException> "an ArgumentException"
                Expect.isFalse (e.Message.Contains "predicted") (sprintf "no core parameter in the message: %s" e.Message)
                // F#'s Pipeline.evaluate names its own parameter too: the same data through the core.
                let core = Functional.NN.Datasets.load "commute"
                let fsModel = (Functional.NN.PipelineFit.fit (Functional.NN.FitOptions.Default.WithEpochs(3)) core).Pipeline
                let fsHuge = { core with Target = Functional.NN.Target.Values (Array.init core.SampleCount (fun i -> huge.Values.[i])) }
                let fe = Expect.throwsC (fun () -> Functional.NN.Pipeline.evaluate fsModel fsHuge |> ignore) id
                Expect.equal (fe.GetType()) typeof<ArgumentException> "F#: an ArgumentException"
                Expect.equal (fe :?> ArgumentException).ParamName "data" "F#: ParamName data"
                Expect.stringContains fe.Message "The mean squared error of the model's predictions on data is larger than the largest double" "F#: the message"
            }

            test "a regression target whose standard deviation passes 1.34e152 is refused before training (F# and C#); below it the losses are finite" {
                // Review: targets of 1e154 and more fitted, reporting TrainLoss and every History loss as
                // infinity (the loss on the standardised target times s^2 overflows). The limit is
                // sqrt(Double.MaxValue / 1e4) = sqrt(1.7976931348623157e308) / 100 = 1.3407807929942596e152.
                Expect.floatClose Accuracy.high Functional.NN.PipelineFit.maxTargetScale 1.3407807929942596e152 "the limit, by hand"
                // y = i * k for i = 0 .. 9: mean 4.5 k, population standard deviation sqrt(8.25) k = 2.872 k (by hand).
                let x = Array2D.init 10 1 (fun i _ -> float i / 10.0)
                let ys (k: float) = Array.init 10 (fun i -> float i * k)
                let fsharpFit (k: float) (hooks: Functional.NN.TrainingHooks) =
                    let data = Functional.NN.Dataset.ofValues [| "x" |] "y" x (ys k)
                    Functional.NN.PipelineFit.fitWith hooks (Functional.NN.FitOptions.Default.WithEpochs 3) data
                for k, s, power in [ 1e152, "2.87", 153; 1e160, "2.87", 161 ] do
                    // s = 2.87e152 and 2.87e160: above the limit. The largest value is y[9] = 9k, at row index 9.
                    let mutable epochs = 0
                    let hooks = { Functional.NN.TrainingHooks.None with OnEpoch = fun _ -> epochs <- epochs + 1 }
                    let fragments = [ "The target 'y' is too large to fit"; sprintf "its values reach %s (at row index 9)" (string (9.0 * k)); "standard deviation s is " + s
                                      "1.34E+152"; sprintf "divide it by 1e%d" power ]
                    expectArg "data" fragments (fun () -> fsharpFit k hooks |> ignore) |> ignore
                    Expect.equal epochs 0 (sprintf "k = %g: no epoch ran (F#)" k)
                    let progress = { new IProgress<EpochRecord> with member _.Report _ = epochs <- epochs + 1 }
                    expectArg "data" fragments (fun () ->
                        Pipeline.Fit(Dataset.FromArrays(x, ys k, [| "x" |], "y"), PipelineOptions(Training = TrainingOptions(MaxEpochs = 3)), progress) |> ignore) |> ignore
                    Expect.equal epochs 0 (sprintf "k = %g: no epoch ran (C#)" k)
                    // With a validation split the row named is still the caller's (it counted the shuffled training rows).
                    let split = (Functional.NN.FitOptions.Default.WithEpochs 3).WithValidationFraction 0.3
                    // (s is then the training rows' standard deviation, another number.)
                    let named = fragments |> List.filter (fun f -> not (f.StartsWith "standard deviation"))
                    expectArg "data" named (fun () -> Functional.NN.PipelineFit.fit split (Functional.NN.Dataset.ofValues [| "x" |] "y" x (ys k)) |> ignore) |> ignore
                // s = 2.87e151 is below the limit: the fit runs and every loss it reports is finite.
                let r = fsharpFit 1e151 Functional.NN.TrainingHooks.None
                Expect.isTrue (Double.IsFinite r.TrainLoss && r.History |> Array.forall (fun e -> Double.IsFinite e.TrainLoss)) (sprintf "finite losses: %A" r.TrainLosses)
                let c = Pipeline.Fit(Dataset.FromArrays(x, ys 1e151, [| "x" |], "y"), PipelineOptions(Training = TrainingOptions(MaxEpochs = 3)))
                Expect.isTrue (Double.IsFinite c.TrainLoss && c.History |> Seq.forall (fun e -> Double.IsFinite e.TrainLoss)) "finite losses (C#)"
            }

            test "Dataset.ParseCsvForPrediction reads rows with a text column for a model, as LoadCsvForPrediction reads them from a file" {
                // Review: one in-memory row with a text column could not be predicted: ParseCsv("a,color\n1,red\n")
                // took color for the target. Expected: what LoadCsvForPrediction reads from the same text in a file.
                let train = Dataset.ParseCsv("a,color,y\n1,red,p\n2,blue,q\n3,red,p\n4,blue,q\n1.5,red,p\n2.5,blue,q\n", "y")
                let model = Pipeline.Fit(train, PipelineOptions(Training = TrainingOptions(MaxEpochs = 20))).Model
                let path = IO.Path.Combine(IO.Path.GetTempPath(), "fnn-predict-" + Guid.NewGuid().ToString("N") + ".csv")
                try
                    for text in [ "a,color\n1,red\n"; "color,a\nblue,3.5\nred,0.5\n"; "a,color,y\n2,red,\n4,blue,never-seen\n" ] do
                        IO.File.WriteAllText(path, text)
                        let fromText = Dataset.ParseCsvForPrediction(text, model)
                        let fromFile = Dataset.LoadCsvForPrediction(path, model)
                        Expect.equal fromText.Features fromFile.Features (sprintf "%A: the same features" text)
                        Expect.equal fromText.FeatureNames [| "a"; "color" |] "the model's feature columns"
                        Expect.equal (model.PredictClassNames fromText) (model.PredictClassNames fromFile) (sprintf "%A: the same classes" text)
                        Expect.equal fromText.SampleCount (text.Split('\n').Length - 2) "one row per data row"
                    // Errors as for the file: a missing feature column.
                    IO.File.WriteAllText(path, "a\n1\n")
                    let fileError = Expect.throwsC (fun () -> Dataset.LoadCsvForPrediction(path, model) |> ignore) id
                    let textError = Expect.throwsC (fun () -> Dataset.ParseCsvForPrediction("a\n1\n", model) |> ignore) id
                    Expect.equal (textError.GetType(), textError.Message) (fileError.GetType(), fileError.Message) "the same error"
                    Expect.isTrue (textError :? DataFormatException) (sprintf "DataFormatException, got %O" textError)
                finally IO.File.Delete path
                Expect.throwsT<ArgumentNullException> (fun () -> Dataset.ParseCsvForPrediction(null, model) |> ignore) "null text"
            }

            test "Dataset.SaveCsv of data whose every cell would be quoted points to Dataset.FormatCsv, not the F# Csv.format" {
                // A text column of numeric-looking categories and numeric class names: every cell would be quoted
                // (Csv.ofDataset's rule), so the save is refused; the message named the F# function.
                let data = Dataset.ParseCsv("c,y\n007,1\n010,2\n", "y", TargetKind.Classification, format = CsvFormat(TextColumns = [| "c" |]))
                let path = IO.Path.Combine(IO.Path.GetTempPath(), "fnn-save-" + Guid.NewGuid().ToString("N") + ".csv")
                try
                    let e = expectArg "data" [ "Every cell of the CSV text would be in quotes"; "or save the columns with Dataset.FormatCsv." ] (fun () -> data.SaveCsv path)
                    Expect.isFalse (e.Message.Contains "Csv.format") (sprintf "no F# name: %s" e.Message)
                    Expect.isFalse (IO.File.Exists path) "nothing written"
                finally IO.File.Delete path
            }

            test "PipelineOptions.ToString prints HiddenLayers by its contents, and every property" {
                // Review: the record's generated ToString printed "HiddenLayers = System.Int32[]".
                let text = PipelineOptions(HiddenLayers = [| 16; 8 |], Dropout = 0.25).ToString()
                Expect.stringContains text "PipelineOptions { HiddenLayers = [16, 8], Activation = Tanh, " "the widths"
                Expect.isFalse (text.Contains "System.Int32") text
                for p in typeof<PipelineOptions>.GetProperties() do
                    if p.Name <> "EqualityContract" then Expect.stringContains text (p.Name + " = ") (sprintf "%s is printed" p.Name)
                Expect.stringContains (PipelineOptions(HiddenLayers = [||]).ToString()) "HiddenLayers = [], " "no hidden layers"
            }

            test "GradientChecker.Check and CheckNear refuse a function that returns NaN or an infinity, naming function and the point (F#: f)" {
                // Review: Check with a function returning NaN gave MaxRelativeError = Infinity, as if the gradient
                // were wrong. The four-point differences at 0.5 with h = 1e-4 evaluate 0.5 + 1e-4 first (by the formula).
                let grad = Func<float[], float[]>(fun _ -> [| 1.0 |])
                expectArg "function" [ "function returned NaN"; "parameter 0 moved from 0.5 to 0.5001" ]
                    (fun () -> GradientChecker.Check(Func<float[], float>(fun _ -> nan), grad, [| 0.5 |]) |> ignore) |> ignore
                // Finite at the point, infinite a step to the left: the point named is 0.5 - 1e-4.
                let leftInfinite = Func<float[], float>(fun t -> if t.[0] < 0.49995 then infinity else t.[0])
                expectArg "function" [ "function returned Infinity"; "moved from 0.5 to 0.4999" ]
                    (fun () -> GradientChecker.Check(leftInfinite, grad, [| 0.5 |]) |> ignore) |> ignore
                expectArg "function" [ "function returned NaN" ]
                    (fun () -> GradientChecker.CheckNear(Func<float[], float>(fun _ -> nan), grad, [| 0.5 |], 0.1, 3) |> ignore) |> ignore
                expectArg "f" [ "f returned NaN"; "parameter 0 moved from 0.5 to 0.5001" ]
                    (fun () -> Functional.NN.GradientCheck.check Functional.NN.GradientCheckOptions.Default (fun _ -> nan) (fun _ -> [| 1.0 |]) [| 0.5 |] |> ignore) |> ignore
                // The caller's own exception passes unchanged, and a finite function is checked as before: t has derivative 1.
                let mine = ArgumentException("the caller's own error", "theta")
                let e = Expect.throwsC (fun () -> GradientChecker.Check(Func<float[], float>(fun _ -> raise mine), grad, [| 0.5 |]) |> ignore) id
                Expect.isTrue (obj.ReferenceEquals(e, mine)) (sprintf "the caller's exception itself, got %O" e)
                Expect.isLessThan (GradientChecker.Check(Func<float[], float>(fun t -> t.[0]), grad, [| 0.5 |])).MaxRelativeError 1e-10 "f(t) = t"
            }
        ]
    ]
