/// A review (medium): a training checkpoint did not record how it was trained, so a resume with
/// other settings (AdamW for Adam, other betas, batch size 5 for 8, full batches, seed 99 for 3,
/// MSE for half MSE, other data of the same shape, 30 rows for 40) was accepted and silently made a
/// run that is not the continuation it claims to be. A checkpoint now records its setup
/// (`TrainedWith`), in memory and in its file, and a resume that differs is refused naming the field
/// and both values; what is meant to change between runs (limits, stopping rules, the history's
/// options, the divergence factor, the backend) may; `Checkpoint.withoutSetup` drops the record to
/// change the rest deliberately; a file from before the record resumes unchecked.
module Functional.NN.Tests.CheckpointSetupTests

open System
open System.IO
open Expecto
open MathNet.Numerics.LinearAlgebra
open Functional.NN

let private expectArg = Expectations.expectArgument

/// The fingerprint the record must hold for a matrix, computed here from its values column by
/// column (the kernels' function; the trainer reads it from its own conversions or the storage).
let private fingerprintOf (m: Matrix<float>) = Kernels.Layout.Fingerprint(ReadOnlySpan(m.ToColumnMajorArray()))

let private bits (n: Network) = Parameters.modelOf n |> Array.map BitConverter.DoubleToInt64Bits

/// The review's run: 40 rows, 3 inputs, 2 targets (exact binary fractions), a 3-6-2 network with
/// dropout between its layers (so the seed also draws masks), half MSE, Adam at 0.01 on minibatches
/// of 8 without replacement (5 per epoch), seed 3, 4 epochs; cut by cancellation after 7 steps,
/// mid-way through epoch 2 (3 batches pending).
let private x = Mat.init 40 3 (fun i j -> float ((i * 7 + j * 5) % 13) / 8.0 - 0.75)
let private y = Mat.init 40 2 (fun i j -> float ((i * 3 + j * 2) % 5) / 4.0 - 0.5)
let private net =
    let dense = Network.init 3 [ LayerSpec.Of(6, Activation.ReLU); LayerSpec.Of(2, Activation.Identity) ] 5L
    Network.ofBlocks [ dense.Blocks.[0]; Block.Dropout 0.25; dense.Blocks.[1] ]
let private options (backend: Backend) =
    { TrainingOptions.Default with
        Batching = Batching.MiniBatch(8, Sampling.WithoutReplacement)
        Schedule = Schedule.Constant 0.01
        Optimizer = { OptimizerSettings.Default with Optimizer = Optimizer.Adam(0.9, 0.999, 1e-8) }
        Seed = 3L
        MaxEpochs = 4
        EarlyStopping = None
        Backend = backend }
let private loss = Loss.HalfMeanSquaredError
let private data = TrainingData.Of(x, y)

/// A validation set of 10 rows, for the validation fields.
let private vx = Mat.init 10 3 (fun i j -> float ((i * 5 + j * 3) % 11) / 8.0 - 0.5)
let private vy = Mat.init 10 2 (fun i j -> float ((i + j) % 3) / 2.0 - 0.5)

/// Stops after `steps` steps (ShouldStop is asked before each).
let private stopAfter (steps: int) =
    let mutable asked = 0
    { TrainingHooks.None with ShouldStop = fun () -> asked <- asked + 1; asked > steps }

/// The run cut after 7 steps.
let private cut (options: TrainingOptions) (data: TrainingData) =
    let r = Trainer.trainWith (stopAfter 7) options loss data net
    Expect.equal (r.Steps, r.Checkpoint.PendingBatches.Length) (7, 3) "cut mid-epoch: 7 steps, 3 batches pending"
    r.Checkpoint

/// Resumes, counting the times ShouldStop is asked (0 when the resume is refused before training).
let private resumeCounting (options: TrainingOptions) (loss: Loss) (data: TrainingData) (c: Checkpoint<Network>) (asked: int ref) =
    Trainer.resumeWith { TrainingHooks.None with ShouldStop = fun () -> asked.Value <- asked.Value + 1; false } options loss data c

/// How often a message says "The checkpoint was taken": one sentence per difference.
let private sentences (message: string) =
    let mutable count, at = 0, message.IndexOf "The checkpoint was taken"
    while at >= 0 do
        count <- count + 1
        at <- message.IndexOf("The checkpoint was taken", at + 1)
    count

/// x with one value changed, two rows swapped, or the first 30 rows.
let private xChanged = let m = x.Clone() in m.[17, 1] <- m.[17, 1] + 0.5; m
let private xSwapped = let m = x.Clone() in m.SetRow(3, x.Row 4); m.SetRow(4, x.Row 3); m
let private yChanged = let m = y.Clone() in m.[22, 0] <- m.[22, 0] - 0.25; m

/// The changes of one recorded field each, without a validation set in the checkpoint: the name, the
/// changed (options, loss, data), and the sentence the refusal must hold (written here by hand from
/// the values; fingerprints computed by fingerprintOf).
let private changes (o: TrainingOptions) : (string * (TrainingOptions * Loss * TrainingData) * string) list =
    let settings f = o.WithOptimizerSettings(f o.Optimizer)
    let adam = "Adam(beta1 0.9, beta2 0.999, epsilon 1E-08)"
    [ "AdamW for Adam", (o.WithOptimizer Optimizer.adamW, loss, data),
      sprintf "The checkpoint was taken with the optimiser %s; the options give AdamW(beta1 0.9, beta2 0.999, epsilon 1E-08, weightDecay 0.01)." adam
      "Adam with other betas", (o.WithOptimizer(Optimizer.Adam(0.8, 0.99, 1e-8)), loss, data),
      sprintf "The checkpoint was taken with the optimiser %s; the options give Adam(beta1 0.8, beta2 0.99, epsilon 1E-08)." adam
      "Adam with another epsilon", (o.WithOptimizer(Optimizer.Adam(0.9, 0.999, 1e-7)), loss, data),
      sprintf "The checkpoint was taken with the optimiser %s; the options give Adam(beta1 0.9, beta2 0.999, epsilon 1E-07)." adam
      "SGD (buffers that do not fit)", (o.WithOptimizer Optimizer.Sgd, loss, data),
      sprintf "The checkpoint was taken with the optimiser %s; the options give Sgd." adam
      "L2 weight decay", (settings (fun s -> s.WithWeightDecay 0.001), loss, data),
      "The checkpoint was taken with weight decay 0; the options give 0.001."
      "clipping", (settings (fun s -> s.WithClipNorm 1.5), loss, data),
      "The checkpoint was taken with clip norm 0; the options give 1.5."
      "another step size", (o.WithSchedule(Schedule.Constant 0.02), loss, data),
      "The checkpoint was taken with the schedule Constant(eta 0.01); the options give Constant(eta 0.02)."
      "another schedule", (o.WithSchedule(Schedule.Cosine(0.01, 0.0, 20)), loss, data),
      "The checkpoint was taken with the schedule Constant(eta 0.01); the options give Cosine(etaMax 0.01, etaMin 0, period 20)."
      "batch size 5", (o.WithBatching(Batching.MiniBatch(5, Sampling.WithoutReplacement)), loss, data),
      "The checkpoint was taken with batch size 8; the options give 5."
      "full batches", (o.WithBatching Batching.FullBatch, loss, data),
      "The checkpoint was taken with minibatches of 8; the options give full batches."
      "one sample per step", (o.WithBatching(Batching.Stochastic Sampling.WithoutReplacement), loss, data),
      "The checkpoint was taken with minibatches of 8; the options give one sample per step."
      "sampling with replacement", (o.WithBatching(Batching.MiniBatch(8, Sampling.WithReplacement)), loss, data),
      "The checkpoint was taken with sampling without replacement; the options give with replacement."
      "seed 99", (o.WithSeed 99L, loss, data),
      "The checkpoint was taken with seed 3; the options give 99."
      "the loss", (o, Loss.MeanSquaredError, data),
      "The checkpoint was taken with the loss HalfMeanSquaredError; this run's is MeanSquaredError."
      "30 rows of the 40", (o, loss, TrainingData.Of(x.SubMatrix(0, 30, 0, 3), y.SubMatrix(0, 30, 0, 2))),
      "The checkpoint was taken on 40 training rows; x has 30."
      "one input value", (o, loss, TrainingData.Of(xChanged, y)),
      sprintf "The checkpoint was taken on inputs of fingerprint %016x; x has fingerprint %016x (the same shape, other values)." (fingerprintOf x) (fingerprintOf xChanged)
      "two input rows swapped", (o, loss, TrainingData.Of(xSwapped, y)),
      sprintf "The checkpoint was taken on inputs of fingerprint %016x; x has fingerprint %016x (the same shape, other values)." (fingerprintOf x) (fingerprintOf xSwapped)
      "one target value", (o, loss, TrainingData.Of(x, yChanged)),
      sprintf "The checkpoint was taken on targets of fingerprint %016x; y has fingerprint %016x (the same shape, other values)." (fingerprintOf y) (fingerprintOf yChanged)
      "a validation set added", (o, loss, data.WithValidation(vx, vy)),
      "The checkpoint was taken without a validation set; this run has one." ]

/// The changes of the validation set, for a checkpoint taken with (vx, vy).
let private validationChanges (o: TrainingOptions) : (string * (TrainingOptions * Loss * TrainingData) * string) list =
    let vxChanged = let m = vx.Clone() in m.[2, 2] <- m.[2, 2] + 1.0; m
    let vyChanged = let m = vy.Clone() in m.[9, 1] <- 0.125; m
    let vx12 = Mat.init 12 3 (fun i j -> if i < 10 then vx.[i, j] else 0.0)
    let vy12 = Mat.init 12 2 (fun i j -> if i < 10 then vy.[i, j] else 0.0)
    [ "the validation set removed", (o, loss, data),
      "The checkpoint was taken with a validation set; this run has none."
      "12 validation rows", (o, loss, data.WithValidation(vx12, vy12)),
      "The checkpoint was taken on 10 validation rows; the validation inputs have 12."
      "one validation input", (o, loss, data.WithValidation(vxChanged, vy)),
      sprintf "The checkpoint was taken on validation inputs of fingerprint %016x; the validation inputs have fingerprint %016x (the same shape, other values)." (fingerprintOf vx) (fingerprintOf vxChanged)
      "one validation target", (o, loss, data.WithValidation(vx, vyChanged)),
      sprintf "The checkpoint was taken on validation targets of fingerprint %016x; the validation targets have fingerprint %016x (the same shape, other values)." (fingerprintOf vy) (fingerprintOf vyChanged) ]

/// The advice every refusal ends with.
let private advice = "resume from Checkpoint.withoutSetup checkpoint."

let private backends = [ Backend.Reference; Backend.Kernels ]

/// The record a run of the review's options on (x, y) and the validation set, if any, must hold:
/// written field by field from the options and the data.
let private expectedSetup (validation: (Matrix<float> * Matrix<float>) option) : TrainingSetup =
    let record (a: Matrix<float>, b: Matrix<float>) =
        { Rows = a.RowCount; InputWidth = a.ColumnCount; TargetWidth = b.ColumnCount; InputsFingerprint = fingerprintOf a; TargetsFingerprint = fingerprintOf b }
    { Optimizer = { Optimizer = Optimizer.Adam(0.9, 0.999, 1e-8); WeightDecay = 0.0; ClipNorm = 0.0 }
      Schedule = Schedule.Constant 0.01
      Batching = Batching.MiniBatch(8, Sampling.WithoutReplacement)
      Seed = 3L
      SampleCount = 40
      HasValidation = validation.IsSome
      Network = Some { Loss = Loss.HalfMeanSquaredError; Data = record (x, y); Validation = validation |> Option.map record } }

/// The fixture written by the library before the record (tests/fixtures/checkpoint, see its script):
/// the same data and options as the script's.
let private fixturePath = Repo.path [ "tests"; "fixtures"; "checkpoint"; "pre_record_mid_epoch.ckpt" ]
let private fixtureX = Mat.init 24 3 (fun i j -> float ((i * 7 + j * 3) % 11) / 8.0 - 0.5)
let private fixtureY = Mat.init 24 2 (fun i j -> float ((i * 5 + j) % 7) / 4.0 - 0.75)
let private fixtureOptions =
    { TrainingOptions.Default with
        Batching = Batching.miniBatch 5
        Schedule = Schedule.Constant 0.05
        Optimizer = { OptimizerSettings.Default with Optimizer = Optimizer.Momentum(0.9, 0.0) }
        Seed = 11L
        MaxEpochs = 4
        EarlyStopping = None
        Backend = Backend.Reference }

[<Tests>]
let tests =
    testList "Checkpoint setup" [
        test "each recorded field changed alone is refused before training, naming the field and both values (one sentence), on both backends" {
            for backend in backends do
                let o = options backend
                let c = cut o data
                for what, (o', loss', data'), sentence in changes o do
                    let asked = ref 0
                    let e = expectArg "checkpoint" [ sentence; advice ] (fun () -> resumeCounting o' loss' data' c asked |> ignore)
                    Expect.equal (sentences e.Message) 1 (sprintf "%A, %s: one difference named (%s)" backend what e.Message)
                    Expect.equal asked.Value 0 (sprintf "%A, %s: refused before any step" backend what)
                let cv = cut o (data.WithValidation(vx, vy))
                for what, (o', loss', data'), sentence in validationChanges o do
                    let e = expectArg "checkpoint" [ sentence; advice ] (fun () -> Trainer.resume o' loss' data' cv |> ignore)
                    Expect.equal (sentences e.Message) 1 (sprintf "%A, %s: one difference named (%s)" backend what e.Message)
        }
        test "other input or target widths are refused by the data's own check, naming x or y and both widths" {
            // The network takes 3 inputs and gives 2 outputs: data of other widths do not reach the
            // record's comparison. Expected: the data check's ArgumentException.
            let c = cut (options Backend.Reference) data
            expectArg "x" [ "x has shape 40x4 but the network takes 3 inputs" ] (fun () -> Trainer.resume (options Backend.Reference) loss (TrainingData.Of(Mat.init 40 4 (fun _ _ -> 0.5), y)) c |> ignore) |> ignore
            expectArg "y" [ "y has shape 40x3 but the output has shape 40x2" ] (fun () -> Trainer.resume (options Backend.Reference) loss (TrainingData.Of(x, Mat.init 40 3 (fun _ _ -> 0.5))) c |> ignore) |> ignore
        }
        test "several differences are all named, one sentence each" {
            let o = options Backend.Reference
            let c = cut o data
            let e =
                expectArg "checkpoint"
                    [ "The checkpoint was taken with batch size 8; the options give 5."
                      "The checkpoint was taken with seed 3; the options give 99."
                      "The checkpoint was taken with the loss HalfMeanSquaredError; this run's is MeanSquaredError." ]
                    (fun () -> Trainer.resume (o.WithBatching(Batching.miniBatch 5).WithSeed 99L) Loss.MeanSquaredError data c |> ignore)
            Expect.equal (sentences e.Message) 3 "three differences"
        }
        test "TrainingSetup.differences names the widths and validation widths too, with both values" {
            // Fields the trainer's data check covers first (see above), compared here on records.
            let r = expectedSetup (Some (vx, vy))
            let n = r.Network.Value
            let withData f = { r with Network = Some { n with Data = f n.Data } }
            let withValidation f = { r with Network = Some { n with Validation = Some (f n.Validation.Value) } }
            for given, sentence in
                [ withData (fun d -> { d with InputWidth = 4 }), "The checkpoint was taken on inputs of 3 columns; x has 4."
                  withData (fun d -> { d with TargetWidth = 1 }), "The checkpoint was taken on targets of 2 columns; y has 1."
                  withValidation (fun d -> { d with InputWidth = 5 }), "The checkpoint was taken on validation inputs of 3 columns; the validation inputs have 5."
                  withValidation (fun d -> { d with TargetWidth = 3 }), "The checkpoint was taken on validation targets of 2 columns; the validation targets have 3."
                  { r with SampleCount = 39 }, "The checkpoint was taken on 40 training rows; x has 39." ] do
                Expect.equal (TrainingSetup.differences r given) [ sentence ] sentence
            Expect.isEmpty (TrainingSetup.differences r r) "a setup does not differ from itself"
        }
        test "a checkpoint records the setup it was trained with, the same on both backends and precisions, also through a file and after a resume" {
            for validation in [ None; Some (vx, vy) ] do
                let d = match validation with Some (a, b) -> data.WithValidation(a, b) | None -> data
                let expected = expectedSetup validation
                for backend in backends do
                    for precision in [ Precision.Float64; Precision.Float32 ] do
                        let r = Trainer.trainWith (stopAfter 7) (options backend) loss d (Network.withPrecision precision net)
                        let what = sprintf "%A %A, validation %b" backend precision validation.IsSome
                        Expect.equal r.Checkpoint.TrainedWith (Some expected) what
                        let back = ModelFile.checkpointOfBytes (ModelFile.checkpointToBytes r.Checkpoint)
                        Expect.equal back.TrainedWith (Some expected) (what + ": through a file")
                        let more = Trainer.resume ((options backend).WithMaxEpochs 5) loss d back
                        Expect.equal more.Checkpoint.TrainedWith (Some expected) (what + ": the resumed run's checkpoint")
        }
        test "the kernels record the fingerprint of the data as read: a cached conversion checked while training, a sparse matrix, a matrix changed in place between runs" {
            // 2000 x 40 inputs (80,000 values): from the second run on, the kernels start on their
            // cached conversion and check its fingerprint while they train. Expected: fingerprintOf.
            let rng = Random(11)
            let bigX = Mat.init 2000 40 (fun _ _ -> rng.NextDouble() - 0.5)
            let bigY = Mat.init 2000 1 (fun i _ -> bigX.[i, 0] - bigX.[i, 1])
            let big = Network.init 40 [ LayerSpec.Of(4, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 2L
            let o = TestOptions.sgd.WithBackend(Backend.Kernels).WithMaxSteps(2)
            let recorded (m: Matrix<float>) =
                let r = Trainer.train o Loss.MeanSquaredError (TrainingData.Of(m, bigY)) big
                (r.Checkpoint.TrainedWith.Value.Network.Value.Data).InputsFingerprint
            for run in 1 .. 2 do Expect.equal (recorded bigX) (fingerprintOf bigX) (sprintf "run %d on the same matrix" run)
            bigX.[1999, 39] <- bigX.[1999, 39] + 1.0
            Expect.equal (recorded bigX) (fingerprintOf bigX) "after a value changed in place: the new values"
            let sparse = Matrix<float>.Build.SparseOfMatrix bigX
            Expect.equal (recorded sparse) (fingerprintOf bigX) "a sparse matrix: the fingerprint of its values"
        }
        test "the unchanged setup resumes bit for bit as before, and what may change between runs is accepted" {
            for backend in backends do
                let o = options backend
                let straight = Trainer.train (o.WithMaxEpochs 6) loss data net
                let c = cut o data
                let resumed = Trainer.resume (o.WithMaxEpochs 6) loss data c
                Expect.equal (bits resumed.Model) (bits straight.Model) (sprintf "%A: resumed = straight, bit for bit" backend)
                let viaFile = Trainer.resume (o.WithMaxEpochs 6) loss data (ModelFile.checkpointOfBytes (ModelFile.checkpointToBytes c))
                Expect.equal (bits viaFile.Model) (bits straight.Model) (sprintf "%A: through a file" backend)
                // Equal matrices that are other objects are the same data.
                let copies = TrainingData.Of(x.Clone(), y.Clone())
                Expect.equal (bits (Trainer.resume (o.WithMaxEpochs 6) loss copies c).Model) (bits straight.Model) (sprintf "%A: copies of the data" backend)
                let other = if backend = Backend.Kernels then Backend.Reference else Backend.Kernels
                for what, o' in
                    [ "MaxSteps", o.WithMaxSteps 12
                      "TargetLoss", o.WithTargetLoss 0.01
                      "ParameterTolerance", o.WithParameterTolerance 1e-9
                      "EarlyStopping", o.WithEarlyStopping(EarlyStopping.Default.WithPatience 2)
                      "ExactEpochLoss", o.WithExactEpochLoss true
                      "RecordGradientNorm", o.WithGradientNorm true
                      "DivergenceFactor", o.WithDivergenceFactor 0.0
                      "Backend", o.WithBackend other ] do
                    let r = Trainer.resume o' loss data c
                    Expect.isGreaterThan r.Steps c.Step (sprintf "%A, %s changed: resumed and trained" backend what)
        }
        test "a checkpoint without its record resumes with changed settings deliberately; its result records the new ones; the checkpoint passed in is unchanged" {
            let o = options Backend.Reference
            let c = cut o data
            let changed = o.WithBatching(Batching.miniBatch 5).WithSchedule(Schedule.Constant 0.005).WithMaxEpochs 5
            let other = TrainingData.Of(xChanged, y)
            let free = Checkpoint.withoutSetup c
            Expect.isNone free.TrainedWith "no record"
            Expect.isSome c.TrainedWith "the checkpoint passed in keeps its record"
            let r = Trainer.resume changed loss other free
            Expect.isGreaterThan r.Steps c.Step "resumed and trained"
            let expected = { expectedSetup None with Batching = Batching.miniBatch 5; Schedule = Schedule.Constant 0.005 }
            let expected = { expected with Network = Some { expected.Network.Value with Data = { expected.Network.Value.Data with InputsFingerprint = fingerprintOf xChanged } } }
            Expect.equal r.Checkpoint.TrainedWith (Some expected) "the new run's setup"
            // The new record holds from then on: the old settings are now the change.
            expectArg "checkpoint" [ "The checkpoint was taken with batch size 5; the options give 8." ]
                (fun () -> Trainer.resume (o.WithSchedule(Schedule.Constant 0.005).WithMaxEpochs 6) loss other r.Checkpoint |> ignore) |> ignore
        }
        test "a checkpoint file from before the record loads without one and resumes unchecked, as before: with its own options, the continuation of its run" {
            let bytes = File.ReadAllBytes fixturePath
            let entries = (ModelContainer.read bytes).Entries |> List.map fst
            Expect.isFalse (entries |> List.exists (fun n -> n.StartsWith "trained.")) "the fixture is of the older format"
            let c = ModelFile.checkpointOfBytes bytes
            Expect.isNone c.TrainedWith "no record"
            Expect.equal (c.Step, c.PendingBatches.Length) (7, 3) "the script's cut: 7 steps, 3 batches pending"
            let d = TrainingData.Of(fixtureX, fixtureY)
            let resumed = Trainer.resume fixtureOptions Loss.MeanSquaredError d c
            // The straight run from the file's initial network. The fixture's first 7 steps were
            // computed on the machine that wrote it, so equal within 1e-12 rather than bit for bit.
            let straight = Trainer.train fixtureOptions Loss.MeanSquaredError d c.Initial
            Expect.equal (resumed.Steps, resumed.Epochs) (straight.Steps, straight.Epochs) "steps and epochs"
            let a, b = Parameters.modelOf resumed.Model, Parameters.modelOf straight.Model
            for i in 0 .. a.Length - 1 do
                Expect.isLessThanOrEqual (abs (a.[i] - b.[i])) (1e-12 * max 1.0 (abs b.[i])) (sprintf "parameter %d" i)
            Expect.isSome resumed.Checkpoint.TrainedWith "the resumed run's checkpoint records its setup"
            // Unchecked: other options are accepted, as they were before the record.
            let other = Trainer.resume (fixtureOptions.WithBatching(Batching.miniBatch 4).WithSeed 12L) Loss.MeanSquaredError d c
            Expect.isGreaterThan other.Steps c.Step "another batch size and seed: resumed"
            // Saved again, it stays without a record (no "trained." entries).
            let again = ModelFile.checkpointToBytes c
            Expect.isFalse ((ModelContainer.read again).Entries |> List.exists (fun (n, _) -> n.StartsWith "trained.")) "no record written"
            Expect.isNone (ModelFile.checkpointOfBytes again).TrainedWith "and none read"
        }
        test "damaged record entries in a checkpoint file are a ModelFormatException naming the entry" {
            let c = cut (options Backend.Reference) (data.WithValidation(vx, vy))
            let container = ModelContainer.read (ModelFile.checkpointToBytes c)
            let set name value = container.Entries |> List.map (fun (n, v) -> if n = name then n, value else n, v)
            let drop name = container.Entries |> List.filter (fun (n, _) -> n <> name)
            // An integer list entry with the value at `at` replaced.
            let withAt name (at: int) (value: int64) =
                match container.Entries |> List.find (fun (n, _) -> n = name) |> snd with
                | ModelValue.Ints v -> let v = Array.copy v in v.[at] <- value; v
                | v -> failtestf "%s: %A" name v
            for what, entries, fragment in
                [ "an unknown optimiser", set "trained.optimizer" (ModelValue.Text "lion"), "'trained.optimizer' is 'lion'"
                  "a constant short", set "trained.optimizer.constants" (ModelValue.Floats([| 2 |], [| 0.9; 0.999 |])), "trained.optimizer.constants"
                  "a beta of 1", set "trained.optimizer.constants" (ModelValue.Floats([| 3 |], [| 0.9; 1.0; 1e-8 |])), "beta2"
                  "no schedule", drop "trained.schedule", "trained.schedule"
                  "batch size 0", set "trained.batch_size" (ModelValue.Int 0L), "'trained.batch_size' is 0"
                  "rows other than the samples", set "trained.samples" (ModelValue.Int 41L), "'trained.data' gives 40 rows but 'trained.samples' 41"
                  "validation data without a validation set", set "trained.has_validation" (ModelValue.Int 0L), "trained.validation_data"
                  "a data record short", set "trained.data" (ModelValue.Ints [| 40L; 3L; 2L |]), "'trained.data' has 3 values"
                  // A review (low): damaged records that loaded (the whole record dropped, or blamed on the caller's data at resume).
                  "no optimiser entry (the rest of the record there)", drop "trained.optimizer", "but no entry 'trained.optimizer'"
                  "no loss entry (the data records there)", drop "trained.loss", "no entry 'trained.loss'"
                  "7 input columns for a network of 3 inputs", set "trained.data" (ModelValue.Ints (withAt "trained.data" 1 7L)), "The entry 'trained.data' gives 7 input columns but the network takes 3 inputs."
                  "4 target columns for 2 outputs", set "trained.data" (ModelValue.Ints (withAt "trained.data" 2 4L)), "The entry 'trained.data' gives 4 target columns but the network gives 2 outputs."
                  "validation inputs of 5 columns", set "trained.validation_data" (ModelValue.Ints (withAt "trained.validation_data" 1 5L)), "The entry 'trained.validation_data' gives 5 input columns but the network takes 3 inputs."
                  "a pending index of row 40 of 40", set "pending.indices" (ModelValue.Ints (withAt "pending.indices" 5 40L)), "The entry 'pending.indices' holds 40, but 'trained.samples' is 40" ] do
                match Expect.throwsC (fun () -> ModelFile.checkpointOfBytes (ModelContainer.write { container with Entries = entries }) |> ignore) id with
                | :? ModelFormatException as e -> Expect.stringContains e.Message fragment what
                | e -> failtestf "%s: expected ModelFormatException, got %O" what e
            // Without any "trained." entry it loads, recording nothing (a file from before the record).
            let none = container.Entries |> List.filter (fun (n, _) -> not (n.StartsWith "trained."))
            Expect.isNone (ModelFile.checkpointOfBytes (ModelContainer.write { container with Entries = none })).TrainedWith "no record"
        }
        test "a parameter vector's checkpoint records the options and sample count, and a resume with others is refused naming them" {
            // w x_i ~ y_i on 20 points, as a mean of squared residuals over the batch.
            let objective (n: int) : Objective =
                { SampleCount = n
                  LossAndGradient = fun w rows ->
                      let mutable l = 0.0
                      let mutable g = 0.0
                      for i in rows do
                          let r = w.[0] * float i / 20.0 - 1.0
                          l <- l + r * r
                          g <- g + 2.0 * r * float i / 20.0
                      l / float rows.Length, [| g / float rows.Length |]
                  Validation = None }
            let o = { TestOptions.sgd with Batching = Batching.miniBatch 6; Seed = 8L; MaxEpochs = 3 }
            let first = Trainer.trainVectorWith (stopAfter 5) o (objective 20) [| 0.0 |]
            Expect.equal first.Checkpoint.TrainedWith (Some { Optimizer = OptimizerSettings.Default; Schedule = Schedule.Constant 0.01; Batching = Batching.miniBatch 6; Seed = 8L; SampleCount = 20; HasValidation = false; Network = None }) "the record"
            expectArg "checkpoint" [ "The checkpoint was taken with seed 8; the options give 9."; advice ] (fun () -> Trainer.resumeVector (o.WithSeed 9L) (objective 20) first.Checkpoint |> ignore) |> ignore
            expectArg "checkpoint" [ "The checkpoint was taken on 20 samples; this run has 19." ] (fun () -> Trainer.resumeVector o (objective 19) first.Checkpoint |> ignore) |> ignore
            let withValidation = { objective 20 with Validation = Some (fun w -> w.[0], w.[0]) }
            expectArg "checkpoint" [ "The checkpoint was taken without a validation function; this run has one." ] (fun () -> Trainer.resumeVector o withValidation first.Checkpoint |> ignore) |> ignore
            let straight = Trainer.trainVector o (objective 20) [| 0.0 |]
            Expect.equal (Trainer.resumeVector o (objective 20) first.Checkpoint).Model straight.Model "the same setup: the straight run"
        }
        test "a mid-epoch checkpoint without its record, resumed on fewer rows: the message names the index and says how to go on (finish the epoch on the old data, then drop the record)" {
            // The review's run: 300 x 5, Adam, minibatches of 16 (19 per epoch: 18 of 16 and one of
            // 12), seed 7, stopped by MaxSteps 25: epoch 1 done, 6 steps of epoch 2 taken, 13 batches pending.
            let x300 = Mat.init 300 5 (fun i j -> float ((i * 11 + j * 7) % 17) / 8.0 - 1.0)
            let y300 = Mat.init 300 1 (fun i _ -> float ((i * 5) % 9) / 4.0 - 1.0)
            let net5 = Network.init 5 [ LayerSpec.Of(4, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 2L
            for backend in backends do
                let o =
                    { TrainingOptions.Default with
                        Batching = Batching.miniBatch 16; Schedule = Schedule.Constant 0.01
                        Optimizer = { OptimizerSettings.Default with Optimizer = Optimizer.adam }
                        Seed = 7L; MaxSteps = 25; MaxEpochs = 5; EarlyStopping = None; Backend = backend }
                let r = Trainer.train o loss (TrainingData.Of(x300, y300)) net5
                Expect.equal (r.Checkpoint.Epoch, r.Checkpoint.PendingBatches.Length) (1, 13) "mid-epoch 2: 13 batches pending"
                // The first pending index the 200 rows lack, found by scanning the batches here.
                let b, i =
                    r.Checkpoint.PendingBatches |> Array.indexed |> Array.pick (fun (b, batch) -> batch |> Array.tryFind (fun i -> i >= 200) |> Option.map (fun i -> b, i))
                let fewer = TrainingData.Of(x300.SubMatrix(0, 200, 0, 5), y300.SubMatrix(0, 200, 0, 1))
                let free = Checkpoint.withoutSetup r.Checkpoint
                let e =
                    expectArg "checkpoint"
                        [ sprintf "The checkpoint's pending batch %d holds sample index %d, but the data have 200 samples (0 .. 199)." b i
                          "The checkpoint was taken during epoch 2"
                          "Finish that epoch on those data (resume with them and MaxEpochs 2); then, to go on with other data, resume from Checkpoint.withoutSetup checkpoint." ]
                        (fun () -> Trainer.resume { o with MaxSteps = 0 } loss fewer free |> ignore)
                Expect.isFalse (e.Message.Contains "resume with the data the checkpoint was taken on.") "no advice that contradicts withoutSetup"
                // The advice works: the epoch finished on the old data, then the record dropped.
                let finished = Trainer.resume { o with MaxSteps = 0; MaxEpochs = 2 } loss (TrainingData.Of(x300, y300)) r.Checkpoint
                Expect.equal (finished.Epochs, finished.Checkpoint.PendingBatches.Length) (2, 0) "epoch 2 finished, nothing pending"
                let tuned = Trainer.resume { o with MaxSteps = 0 } loss fewer (Checkpoint.withoutSetup finished.Checkpoint)
                Expect.equal tuned.Epochs 5 (sprintf "%A: fine-tuned on 200 rows to epoch 5" backend)
        }
        test "C#: the pending-batch refusal names checkpoint.WithoutSetup() and MaxEpochs" {
            let xs = Array2D.init 300 5 (fun i j -> float ((i * 11 + j * 7) % 17) / 8.0 - 1.0)
            let ys = Array2D.init 300 1 (fun i _ -> float ((i * 5) % 9) / 4.0 - 1.0)
            let built = FunctionalNN.NetworkBuilder(5).Dense(4, FunctionalNN.Activation.Tanh).Dense(1, FunctionalNN.Activation.Identity).Seed(2L).Build()
            let options (steps: int) =
                FunctionalNN.TrainingOptions(Optimizer = FunctionalNN.Optimizer.Adam(), Batching = FunctionalNN.Batching.MiniBatch(16),
                                             Seed = 7L, MaxSteps = steps, MaxEpochs = 5, EarlyStoppingPatience = Nullable())
            let c = FunctionalNN.Trainer.Train(built, xs, ys, FunctionalNN.Loss.MeanSquaredError, options 25).Checkpoint
            let x200, y200 = Array2D.init 200 5 (fun i j -> xs.[i, j]), Array2D.init 200 1 (fun i j -> ys.[i, j])
            let e =
                expectArg "checkpoint"
                    [ "but the data have 200 samples (0 .. 199)."; "resume with them and MaxEpochs 2"; "resume from checkpoint.WithoutSetup()." ]
                    (fun () -> FunctionalNN.Trainer.Resume(c.WithoutSetup(), x200, y200, FunctionalNN.Loss.MeanSquaredError, options 0) |> ignore)
            Expect.isTrue (e.Message.StartsWith "The checkpoint's pending batch ") e.Message
            Expect.isFalse (e.Message.Contains "Checkpoint.withoutSetup") "no F# name"
        }
        test "a NaN or infinity in the data resumed with a record is the data's error, naming the matrix, row and column, on both backends (not a fingerprint difference)" {
            let xNaN = let m = x.Clone() in m.[17, 1] <- nan; m
            let vxInf = let m = vx.Clone() in m.[3, 0] <- infinity; m
            for backend in backends do
                let o = options backend
                let c = cut o (data.WithValidation(vx, vy))
                let e = expectArg "x" [ "at row 17, column 1" ] (fun () -> Trainer.resume o loss (TrainingData.Of(xNaN, y).WithValidation(vx, vy)) c |> ignore)
                Expect.isFalse (e.Message.Contains "fingerprint") (sprintf "%A: %s" backend e.Message)
                let e = expectArg "validationInputs" [ "at row 3, column 0" ] (fun () -> Trainer.resume o loss (data.WithValidation(vxInf, vy)) c |> ignore)
                Expect.isFalse (e.Message.Contains "fingerprint") (sprintf "%A: %s" backend e.Message)
                // As a fresh run reports it.
                expectArg "x" [ "at row 17, column 1" ] (fun () -> Trainer.train o loss (TrainingData.Of(xNaN, y)) net |> ignore) |> ignore
        }
        test "C#: Trainer.Resume refuses other settings naming them in C# terms; WithoutSetup resumes; RecordsSetup says which; an older file has none" {
            let xs = Array2D.init 40 3 (fun i j -> x.[i, j])
            let ys = Array2D.init 40 2 (fun i j -> y.[i, j])
            let built = FunctionalNN.NetworkBuilder(3).Dense(6, FunctionalNN.Activation.ReLU).Dropout(0.25).Dense(2, FunctionalNN.Activation.Identity).Seed(5L).Build()
            let options (batch: int) (epochs: int) =
                FunctionalNN.TrainingOptions(Optimizer = FunctionalNN.Optimizer.Adam(), Schedule = FunctionalNN.Schedule.Constant 0.01,
                                             Batching = FunctionalNN.Batching.MiniBatch(batch), Seed = 3L, MaxEpochs = epochs, EarlyStoppingPatience = Nullable())
            let first = FunctionalNN.Trainer.Train(built, xs, ys, FunctionalNN.Loss.HalfMeanSquaredError, options 8 2)
            Expect.isTrue first.Checkpoint.RecordsSetup "a new checkpoint records its setup"
            let e =
                expectArg "checkpoint" [ "The checkpoint was taken with batch size 8; the options give 5."; "resume from checkpoint.WithoutSetup()." ]
                    (fun () -> FunctionalNN.Trainer.Resume(first.Checkpoint, xs, ys, FunctionalNN.Loss.HalfMeanSquaredError, options 5 3) |> ignore)
            Expect.isFalse (e.Message.Contains "Checkpoint.withoutSetup") "no F# name"
            let free = first.Checkpoint.WithoutSetup()
            Expect.isFalse free.RecordsSetup "the copy records nothing"
            Expect.isTrue first.Checkpoint.RecordsSetup "the checkpoint itself is unchanged"
            let r = FunctionalNN.Trainer.Resume(free, xs, ys, FunctionalNN.Loss.HalfMeanSquaredError, options 5 3)
            Expect.equal r.Epochs 3 "resumed with batches of 5"
            Expect.isFalse (FunctionalNN.ModelFile.LoadCheckpoint fixturePath).RecordsSetup "a file from before the record"
            // The validation set in the facade's names (the parameters validationX, validationY).
            let vxs = Array2D.init 10 3 (fun i j -> vx.[i, j])
            let vys = Array2D.init 10 2 (fun i j -> vy.[i, j])
            let withValidation = FunctionalNN.Trainer.Train(built, xs, ys, FunctionalNN.Loss.HalfMeanSquaredError, options 8 2, vxs, vys)
            let vx12 = Array2D.init 12 3 (fun i j -> if i < 10 then vxs.[i, j] else 0.0)
            let vy12 = Array2D.init 12 2 (fun i j -> if i < 10 then vys.[i, j] else 0.0)
            let e =
                expectArg "checkpoint" [ "The checkpoint was taken on 10 validation rows; validationX has 12." ]
                    (fun () -> FunctionalNN.Trainer.Resume(withValidation.Checkpoint, xs, ys, FunctionalNN.Loss.HalfMeanSquaredError, options 8 3, vx12, vy12) |> ignore)
            Expect.isFalse (e.Message.Contains "the validation inputs") e.Message
            let vysChanged = Array2D.copy vys
            vysChanged.[9, 1] <- 0.125
            let e =
                expectArg "checkpoint" [ "validationY has fingerprint" ]
                    (fun () -> FunctionalNN.Trainer.Resume(withValidation.Checkpoint, xs, ys, FunctionalNN.Loss.HalfMeanSquaredError, options 8 3, vxs, vysChanged) |> ignore)
            Expect.isFalse (e.Message.Contains "the validation targets") e.Message
        }
    ]
