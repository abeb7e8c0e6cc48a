/// The fast path (FastTrainer, through the managed kernels) against the reference path
/// (Network.predict, Network.lossAndGradient + GradientDescent.step, Trainer.train with plain SGD),
/// on random networks and batches restricted to what the kernels support.
///
/// Tolerances: |fast - reference| <= tol * (1 + |reference|) element-wise, tol = 1e-12 for float64
/// (the two paths differ only in the order of their sums) and 1e-4 for float32 (the reference is
/// computed in double; float32 rounding is about 6e-8 per operation on values of order 1).
/// Expected values all come from the reference path, never from the fast path.
module Functional.NN.Tests.FastPathTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Tests.Generators

/// The activations the kernels support (every differentiable one of the core).
let private supported = differentiableActivations

/// The losses the kernels support.
let private losses = [ Loss.SoftmaxCrossEntropy; Loss.MeanSquaredError; Loss.HalfMeanSquaredError ]

/// 1 to 3 layers of widths 1 to 8, biases everywhere, a batch of 1 to 24 rows; cases with a
/// ReLU/leaky-ReLU pre-activation within 2e-3 of its kink are drawn again (float32 rounding, or a
/// few steps, could otherwise move a value across the kink and change the derivative).
let private genFastCase : Gen<Case> =
    gen {
        let! depth = Gen.choose (1, 3)
        let! inputs = Gen.choose (1, 8)
        let! widths = Gen.listOfLength depth (Gen.choose (1, 8))
        let! acts = Gen.listOfLength depth (Gen.elements supported)
        let! loss = Gen.elements losses
        let! n = Gen.choose (1, 24)
        let! seed = Gen.choose (0, 1_000_000)
        let specs = List.map2 (fun w a -> { Units = w; Activation = a; UseBias = true; Initializer = Some Initializer.GlorotUniform }) widths acts
        let net0 = Network.init inputs specs (int64 seed)
        let rng = Rng.create (int64 seed + 7L)
        let values, rng = Rng.many (depth * 8) (Rng.nextUniform -0.5 0.5) rng
        let net = net0 |> Network.mapLayers (fun i l -> { l with Bias = l.Bias |> Option.map (fun b -> b.MapIndexed(fun j _ -> values.[i * 8 + j])) })
        let xs, _ = Rng.many (n * inputs) (Rng.nextUniform -1.0 1.0) rng
        let x = Mat.init n inputs (fun i j -> xs.[i * inputs + j])
        let! y = genTarget loss n (List.last widths)
        return { Network = net; Loss = loss; X = x; Y = y }
    }
    |> Gen.filter (fun c -> not (nearKink 2e-3 { c with Loss = Loss.HalfMeanSquaredError }))

type FastCaseArb =
    static member Case() = Arb.fromGen genFastCase

let private config maxTest =
    { FsCheckConfig.defaultConfig with maxTest = maxTest; arbitrary = [ typeof<FastCaseArb> ] }

let private tolerance precision = match precision with Precision.Float64 -> 1e-12 | Precision.Float32 -> 1e-4

/// Fails with both values in full at the worst element.
let private expectClose (precision: Precision) (what: string) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length (what + ": length")
    let tol = tolerance precision
    for i in 0 .. expected.Length - 1 do
        let e, a = expected.[i], actual.[i]
        if not (abs (a - e) <= tol * (1.0 + abs e)) then
            failtestf "%s (%A): element %d is %s, the reference %s (tolerance %g relative)" what precision i (a.ToString "R") (e.ToString "R") tol

let private flat (net: Network) = (Parameters.ofNetwork net).ToArray()
let private values (m: Matrix<float>) = m.ToRowMajorArray()
let private bits (xs: float[]) = xs |> Array.map BitConverter.DoubleToInt64Bits

/// Runs f, expecting an exception of type 'E, and returns it.
let private catch<'E when 'E :> exn> (f: unit -> unit) : 'E =
    try
        f ()
        failtestf "expected %s, but nothing was raised" typeof<'E>.Name
    with
    | :? 'E as e -> e

let private precisions = [ Precision.Float64; Precision.Float32 ]

/// Plain SGD with minibatches of b without replacement, constant rate, for `epochs` epochs: the
/// reference trainer's configuration that the fast path reproduces.
let private referenceOptions (rate: float) (b: int) (epochs: int) (seed: int64) =
    TrainingOptions.Default
        .WithBatching(Batching.MiniBatch(b, Sampling.WithoutReplacement))
        .WithSchedule(Schedule.Constant rate)
        .WithSeed(seed)
        .WithMaxEpochs(epochs)


/// The kernel activation of a supported layer (the fast path's documented mapping).
let private kernelActivation (a: Activation) : Kernels.ActivationKind * float =
    match a with
    | Activation.Identity -> Kernels.ActivationKind.Identity, 0.01
    | Activation.Sigmoid -> Kernels.ActivationKind.Sigmoid, 0.01
    | Activation.Tanh -> Kernels.ActivationKind.Tanh, 0.01
    | Activation.ReLU -> Kernels.ActivationKind.ReLU, 0.01
    | Activation.LeakyReLU s -> Kernels.ActivationKind.LeakyReLU, s
    | Activation.Softplus -> Kernels.ActivationKind.Softplus, 0.01
    | a -> failwithf "unsupported activation %A" a

let private kernelLoss (loss: Loss) =
    match loss with
    | Loss.SoftmaxCrossEntropy -> Kernels.LossKind.SoftmaxCrossEntropy
    | Loss.MeanSquaredError -> Kernels.LossKind.MeanSquaredError
    | Loss.HalfMeanSquaredError -> Kernels.LossKind.HalfMeanSquaredError
    | l -> failwithf "unsupported loss %A" l

/// How a per-step run ended: trained (network, epoch losses) or diverged (epoch, step, last good network).
type private PerStep =
    | Trained of Network * float[]
    | Diverged of epoch: int * step: int * lastGood: Network

/// The fast path's training written out slowly, with the per-step divergence rule of Trainer.train
/// (and of FastTrainer before it checked once per epoch): a DenseTrainer on the same batches
/// (Batching.epoch from Rng.create seed), and before every step a copy of all parameters; the run
/// stops at the first step whose loss, or whose new parameters, are not finite, and the copy
/// taken before that step is the last good network. Independent of FastTrainer's code.
let private perStep<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> Numerics.IFloatingPointIeee754<'T>>
        (loss: Loss) (rate: float) (batchSize: int) (epochs: int) (seed: int64) (x: Matrix<float>) (y: Matrix<float>) (net: Network) : PerStep =
    let toT (a: float[]) = a |> Array.map (fun v -> 'T.CreateTruncating v)
    let ofT (a: 'T[]) = a |> Array.map (fun v -> Double.CreateTruncating v)
    let n, d, k = x.RowCount, net.InputSize, net.OutputSize
    let b = min batchSize n
    let specs = net.Layers |> List.map (fun l -> let a, s = kernelActivation l.Activation in Kernels.DenseLayerSpec(l.OutputSize, a, s)) |> Array.ofList
    let trainer = Kernels.DenseTrainer<'T>(d, specs, kernelLoss loss, b)
    net.Layers |> List.iteri (fun i l -> trainer.SetParameters(i, ReadOnlySpan(toT (l.Weights.ToRowMajorArray())), ReadOnlySpan(toT (l.Bias.Value.ToArray()))))
    let layers = net.Layers.Length
    let parameters () = Array.init layers (fun l -> trainer.Weights(l).ToArray(), trainer.Biases(l).ToArray())
    // The result keeps the network's precision (docs/fastpath.md), its values rounded to it.
    let keep = Precision.roundArray net.Precision
    let networkOf (ps: ('T[] * 'T[])[]) : Network =
        { Layers = net.Layers |> List.mapi (fun i (l: Dense) ->
            { l with Weights = Matrix<float>.Build.DenseOfRowMajor(l.InputSize, l.OutputSize, keep (ofT (fst ps.[i])))
                     Bias = Some (Vector<float>.Build.DenseOfArray(keep (ofT (snd ps.[i])))) })
          Precision = net.Precision }
    let finite (ps: ('T[] * 'T[])[]) = ps |> Array.forall (fun (w, bs) -> Array.forall 'T.IsFinite w && Array.forall 'T.IsFinite bs)
    let xs, ys = toT (x.ToRowMajorArray()), toT (y.ToRowMajorArray())
    let rateT = 'T.CreateTruncating rate
    let losses = Array.zeroCreate epochs
    let mutable rng = Rng.create seed
    let mutable step = 0
    let mutable result = None
    let mutable epoch = 1
    while result.IsNone && epoch <= epochs do
        let batches, r = Batching.epoch (Batching.miniBatch b) n rng
        rng <- r
        let mutable total = 0.0
        let mutable i = 0
        while result.IsNone && i < batches.Length do
            let batch = batches.[i]
            step <- step + 1
            let xb = Array.concat [ for s in batch -> Array.sub xs (s * d) d ]
            let yb = Array.concat [ for s in batch -> Array.sub ys (s * k) k ]
            let before = parameters ()
            let value = trainer.Step(ReadOnlySpan xb, ReadOnlySpan yb, batch.Length, rateT)
            if not (Double.IsFinite value) || not (finite (parameters ())) then result <- Some (Diverged (epoch, step, networkOf before))
            total <- total + value * float batch.Length
            i <- i + 1
        losses.[epoch - 1] <- total / float n
        epoch <- epoch + 1
    match result with
    | Some r -> r
    | None -> Trained (networkOf (parameters ()), losses)

/// FastTrainer.train's outcome in the same form as perStep's.
let private fastOutcome (run: unit -> FastTrainingResult) : PerStep =
    try
        let r = run ()
        Trained (r.Network, r.EpochLosses)
    with :? TrainingDivergedException as e -> Diverged (e.Epoch, e.Step, e.LastGood :?> Network)

/// The same outcome, bit for bit (epoch, step, every parameter and loss).
let private expectSameOutcome (what: string) (expected: PerStep) (actual: PerStep) =
    match expected, actual with
    | Trained (n1, l1), Trained (n2, l2) ->
        Expect.equal (bits (flat n2)) (bits (flat n1)) (what + ": parameters")
        Expect.equal (bits l2) (bits l1) (what + ": losses")
    | Diverged (e1, s1, g1), Diverged (e2, s2, g2) ->
        Expect.equal (e2, s2) (e1, s1) (what + ": epoch and step")
        Expect.equal (bits (flat g2)) (bits (flat g1)) (what + ": LastGood bit for bit")
        Expect.isTrue (flat g2 |> Array.forall Double.IsFinite) (what + ": LastGood is finite")
    | _ -> failtestf "%s: the per-step rule gave %A, the fast path %A" what expected actual

/// The fewest bytes allocated on this thread by 100 calls of `call`, over five runs of 100 calls
/// (also used by FastPathFacadeTests for the facade's predictor). A plain function: loops inside a
/// test's computation expression allocate closures of their own, and invoking `call` allocates
/// nothing. The fewest, because a call can, once, grow a per-thread buffer of the kernels (when
/// the calling thread first runs a part of a split product meant for a worker that the busy
/// machine has not scheduled); a per-call allocation would show in every run.
let fewestBytesOf100 (call: unit -> unit) : int64 =
    let mutable fewest = Int64.MaxValue
    for _ in 1 .. 5 do
        let mutable i = 0
        let start = GC.GetAllocatedBytesForCurrentThread()
        while i < 100 do
            call ()
            i <- i + 1
        fewest <- min fewest (GC.GetAllocatedBytesForCurrentThread() - start)
    fewest

/// The per-step rule in the precision's element type.
let private perStepIn (precision: Precision) =
    match precision with
    | Precision.Float64 -> perStep<float>
    | Precision.Float32 -> perStep<float32>

[<Tests>]
let tests =
    testList "FastPath" [
        for precision in precisions do
            testPropertyWithConfig (config 40) (sprintf "%A predict equals Network.predict" precision) <| fun (c: Case) ->
                let expected = Network.predict c.Network c.X
                let actual = FastTrainer.predict precision c.Network c.X
                expectClose precision "output" (values expected) (values actual)

            testPropertyWithConfig (config 40) (sprintf "%A one full-batch step equals GradientDescent.step of the reference gradient" precision) <| fun (c: Case) ->
                let rate = 0.1
                let loss0, g = Network.lossAndGradient c.Network c.Loss c.X c.Y
                let expected = GradientDescent.step rate c.Network g
                let r = FastTrainer.train precision c.Loss rate c.X.RowCount 1 3L c.X c.Y c.Network
                expectClose precision "parameters" (flat expected) (flat r.Network)
                // One batch of all n rows: the epoch's loss is the loss before the step.
                expectClose precision "loss" [| loss0 |] r.EpochLosses

            testPropertyWithConfig (config 25) (sprintf "%A three epochs of minibatch SGD equal Trainer.train with the same batches" precision) <| fun (c: Case, b: int, seed: int) ->
                let b = 1 + abs b % 8
                let rate = 0.05
                let expected = Trainer.train (referenceOptions rate b 3 (int64 seed)) c.Loss (TrainingData.Of(c.X, c.Y)) c.Network
                let r = FastTrainer.train precision c.Loss rate b 3 (int64 seed) c.X c.Y c.Network
                expectClose precision "parameters" (flat expected.Model) (flat r.Network)
                Expect.equal r.EpochLosses.Length 3 "one loss per epoch"

        testPropertyWithConfig (config 20) "the network and matrices passed in are unchanged bit for bit by train, predict, prepare, trainOn and predictor" <| fun (c: Case) ->
            let before = bits (flat c.Network), bits (values c.X), bits (values c.Y)
            for precision in precisions do
                fastOutcome (fun () -> FastTrainer.train precision c.Loss 0.1 4 2 1L c.X c.Y c.Network) |> ignore
                FastTrainer.predict precision c.Network c.X |> ignore
                let data = FastTrainer.prepare precision c.X c.Y
                fastOutcome (fun () -> FastTrainer.trainOn c.Loss 0.1 4 2 1L data c.Network) |> ignore
                (FastTrainer.predictor precision c.Network).Predict(c.X.Row(0).ToArray()) |> ignore
            let after = bits (flat c.Network), bits (values c.X), bits (values c.Y)
            Expect.equal after before "inputs unchanged"

        testPropertyWithConfig (config 20) "the same seed gives bit-identical networks and losses" <| fun (c: Case, seed: int) ->
            for precision in precisions do
                let run () = fastOutcome (fun () -> FastTrainer.train precision c.Loss 0.1 3 3 (int64 seed) c.X c.Y c.Network)
                expectSameOutcome "second run" (run ()) (run ())

        for precision in precisions do
            testPropertyWithConfig (config 100) (sprintf "%A trainOn on prepared data equals train bit for bit, and one FastData serves several calls" precision) <| fun (c: Case, b: int, seed: int) ->
                let b = 1 + abs b % 8
                let seed = int64 seed
                let data = FastTrainer.prepare precision c.X c.Y
                let fresh () = FastTrainer.prepare precision c.X c.Y
                // Outcomes compared bit for bit, a divergence (epoch, step, LastGood) included.
                let same (what: string) (expected: unit -> FastTrainingResult) (actual: unit -> FastTrainingResult) =
                    expectSameOutcome what (fastOutcome expected) (fastOutcome actual)
                let train rate b epochs seed net = fun () -> FastTrainer.train precision c.Loss rate b epochs seed c.X c.Y net
                let trainOn rate b epochs seed data net = fun () -> FastTrainer.trainOn c.Loss rate b epochs seed data net
                // Several calls on one FastData (which lends its trainer from call to call when the
                // shape and batch size agree), each against train and against a fresh FastData.
                same "prepared vs train" (train 0.05 b 3 seed c.Network) (trainOn 0.05 b 3 seed data c.Network)
                same "second call on the same data vs fresh data" (trainOn 0.2 b 2 (seed + 1L) (fresh ()) c.Network) (trainOn 0.2 b 2 (seed + 1L) data c.Network)
                same "third call vs train" (train 0.2 b 2 (seed + 1L) c.Network) (trainOn 0.2 b 2 (seed + 1L) data c.Network)
                same "another batch size vs train" (train 0.05 (b + 1) 3 seed c.Network) (trainOn 0.05 (b + 1) 3 seed data c.Network)
                same "after it, the first call again" (train 0.05 b 3 seed c.Network) (trainOn 0.05 b 3 seed data c.Network)
                match fastOutcome (train 0.05 b 1 seed c.Network) with
                | Trained (trained, _) ->
                    same "from a trained network, vs fresh data" (trainOn 0.05 b 3 seed (fresh ()) trained) (trainOn 0.05 b 3 seed data trained)
                | Diverged _ -> ()
                Expect.equal (data.SampleCount, data.InputSize, data.OutputSize, data.Precision) (c.X.RowCount, c.X.ColumnCount, c.Y.ColumnCount, precision) "FastData's shape"

            testPropertyWithConfig (config 40) (sprintf "%A predictor equals Network.predict sample by sample, through both overloads" precision) <| fun (c: Case) ->
                let expected = Network.predict c.Network c.X
                let p = FastTrainer.predictor precision c.Network
                Expect.equal (p.InputSize, p.OutputSize, p.Precision) (c.Network.InputSize, c.Network.OutputSize, precision) "predictor's shape"
                let output = Array.create p.OutputSize nan
                for i in 0 .. c.X.RowCount - 1 do
                    let row = c.X.Row(i).ToArray()
                    expectClose precision (sprintf "row %d (array)" i) (expected.Row(i).ToArray()) (p.Predict row)
                    p.Predict(ReadOnlySpan row, Span output)
                    expectClose precision (sprintf "row %d (span)" i) (expected.Row(i).ToArray()) output

            testPropertyWithConfig (config 200) (sprintf "%A divergence gives the epoch, step and LastGood of the per-step rule, bit for bit" precision) <| fun (c: Case, b: int, seed: int, r: int) ->
                // Rates from harmless to explosive, so that runs end both ways and at various steps.
                let rate = [| 1.0; 1e2; 1e4; 1e8; 1e16; 1e32 |].[(r % 6 + 6) % 6]
                let b = 1 + abs b % 8
                let expected = perStepIn precision c.Loss rate b 12 (int64 seed) c.X c.Y c.Network
                expectSameOutcome "train" expected (fastOutcome (fun () -> FastTrainer.train precision c.Loss rate b 12 (int64 seed) c.X c.Y c.Network))
                let data = FastTrainer.prepare precision c.X c.Y
                expectSameOutcome "trainOn" expected (fastOutcome (fun () -> FastTrainer.trainOn c.Loss rate b 12 (int64 seed) data c.Network))
                // Again on the same data, whose trainer the diverged call has left to it.
                expectSameOutcome "trainOn again" expected (fastOutcome (fun () -> FastTrainer.trainOn c.Loss rate b 12 (int64 seed) data c.Network))

        test "divergence found only by the end-of-epoch scan, and mid-epoch by the loss, match the per-step rule" {
            // One linear unit w = 1, b = 0, x = 1, y = 0, MSE, full batch: the loss before step 1 is
            // (1 + 0 - 0)^2 = 1 (finite) and the step sets w = 1 - rate * 2 (hand derivation), which
            // overflows for rate 1e308 (float64) and 3e38 (float32): only the parameter scan at the end
            // of epoch 1 sees it, and the per-step rule names step 1 with LastGood = the start.
            let unit : Network = { Layers = [ { Weights = Mat.init 1 1 (fun _ _ -> 1.0); Bias = Some (Vector<float>.Build.Dense(1)); Activation = Activation.Identity } ]; Precision = Precision.Float64 }
            let x1 = Mat.init 1 1 (fun _ _ -> 1.0)
            let y1 = Mat.init 1 1 (fun _ _ -> 0.0)
            for precision, rate in [ Precision.Float64, 1e308; Precision.Float32, 3e38 ] do
                let expected = perStepIn precision Loss.MeanSquaredError rate 1 3 0L x1 y1 unit
                match expected with
                | Diverged (1, 1, good) -> Expect.equal (flat good) [| 1.0; 0.0 |] "the per-step rule: LastGood is the start"
                | other -> failtestf "the hand derivation says step 1 diverges, the per-step rule gave %A" other
                let e = catch<TrainingDivergedException> (fun () -> FastTrainer.train precision Loss.MeanSquaredError rate 1 3 0L x1 y1 unit |> ignore)
                Expect.stringContains e.Message "a parameter became NaN or infinite" "the parameter rule fired"
                expectSameOutcome (sprintf "%A end-of-epoch scan" precision) expected (Diverged (e.Epoch, e.Step, e.LastGood :?> Network))
            // y = 1000 x, rate 10, MSE, batches of 2 of 8 samples (4 steps per epoch): the error grows by
            // about |1 - 20 x^2| per step (hand derivation for one linear unit), so a batch loss overflows
            // within a few epochs; the fast path finds it mid-run and replays that epoch.
            let x = Mat.init 8 1 (fun i _ -> 1.0 + float i)
            let y = x * 1000.0
            let net = Network.init 1 [ LayerSpec.Of(1, Activation.Identity) ] 1L
            for precision in precisions do
                let expected = perStepIn precision Loss.MeanSquaredError 10.0 2 1000 0L x y net
                match expected with
                | Diverged (epoch, step, _) -> Expect.isGreaterThan step 1 (sprintf "diverges after the first step (epoch %d)" epoch)
                | other -> failtestf "the hand derivation says it diverges, the per-step rule gave %A" other
                expectSameOutcome (sprintf "%A mid-epoch" precision) expected (fastOutcome (fun () -> FastTrainer.train precision Loss.MeanSquaredError 10.0 2 1000 0L x y net))
        }

        test "the predictor's span overload allocates nothing per call; the predictor keeps its own copy" {
            // W1's network (784-256-128-10), whose first layer is large enough to be split over the cores.
            let net = Network.init 784 [ LayerSpec.Of(256, Activation.ReLU); LayerSpec.Of(128, Activation.ReLU); LayerSpec.Of(10, Activation.Identity) ] 1L
            let before = bits (flat net)
            let x = Array.init 784 (fun j -> sin (float j))
            let output = Array.zeroCreate 10
            for precision in precisions do
                let p = FastTrainer.predictor precision net
                // Warm-up: past the JIT's tiering (30 calls) and its rejit of the hot methods.
                for _ in 1 .. 1000 do p.Predict(ReadOnlySpan x, Span output)
                let bytes = fewestBytesOf100 (fun () -> p.Predict(ReadOnlySpan x, Span output))
                Expect.equal bytes 0L (sprintf "%A: bytes allocated by 100 calls (the fewest of five runs)" precision)
                expectClose precision "W1 output" (values (Network.predict net (Mat.init 1 784 (fun _ j -> x.[j])))) output
            Expect.equal (bits (flat net)) before "network unchanged"
        }

        test "trainOn allocates nothing per training step: 9 more epochs cost only their 9 loss values" {
            // Issue 7: nothing allocated per step once training is under way. A call allocates its
            // result (the new network, the loss array) and one permutation buffer; so the bytes of
            // a 10-epoch call (640 steps) minus those of a 1-epoch call must be the 9 extra float64
            // losses, 72 bytes (an array grows by 8 bytes per element), within 64 bytes of slack
            // for the allocator's rounding; one int[] per epoch (the old batch lists, 32 KB here)
            // or a few bytes per step would exceed that.
            let net = Network.init 20 [ LayerSpec.Of(16, Activation.ReLU); LayerSpec.Of(4, Activation.Identity) ] 5L
            let x = Mat.init 8192 20 (fun i j -> sin (float (i * 20 + j)))
            let y = Mat.init 8192 4 (fun i j -> if (i + j) % 4 = 0 then 1.0 else 0.0)
            for precision in precisions do
                let data = FastTrainer.prepare precision x y
                let run epochs = FastTrainer.trainOn Loss.SoftmaxCrossEntropy 0.01 128 epochs 3L data net |> ignore
                run 1; run 10
                let fewest epochs =
                    let mutable best = Int64.MaxValue
                    for _ in 1 .. 3 do
                        let start = GC.GetAllocatedBytesForCurrentThread()
                        run epochs
                        best <- min best (GC.GetAllocatedBytesForCurrentThread() - start)
                    best
                let extra = fewest 10 - fewest 1
                Expect.isLessThanOrEqual extra (72L + 64L) (sprintf "%A: bytes of 9 more epochs (576 steps)" precision)
        }

        test "one predictor and one FastData used from several threads at once give the one-thread results" {
            let net = Network.init 40 [ LayerSpec.Of(30, Activation.Tanh); LayerSpec.Of(3, Activation.Identity) ] 7L
            let x = Mat.init 64 40 (fun i j -> sin (float (i * 40 + j)))
            let y = Mat.init 64 3 (fun i j -> cos (float (3 * i + j)))
            for precision in precisions do
                let p = FastTrainer.predictor precision net
                let rows = Array.init 64 (fun i -> x.Row(i).ToArray())
                let expected = rows |> Array.map (fun r -> bits (p.Predict r))
                let data = FastTrainer.prepare precision x y
                let alone = FastTrainer.trainOn Loss.MeanSquaredError 0.05 8 2 3L data net
                let results =
                    Array.init 4 (fun t ->
                        Threading.Tasks.Task.Run(fun () ->
                            let outputs = Array.init 200 (fun c -> let i = (c * 7 + t) % 64 in i, bits (p.Predict rows.[i]))
                            outputs, FastTrainer.trainOn Loss.MeanSquaredError 0.05 8 2 3L data net))
                    |> Array.map (fun task -> task.Result)
                for outputs, trained in results do
                    for i, out in outputs do Expect.equal out expected.[i] (sprintf "%A: row %d predicted on another thread" precision i)
                    Expect.equal (bits (flat trained.Network)) (bits (flat alone.Network)) (sprintf "%A: trained on another thread" precision)
        }

        test "prepare, trainOn and predictor reject bad arguments, naming them" {
            let x = Mat.init 4 2 (fun i j -> float (i + j) / 4.0)
            let y = Mat.init 4 1 (fun i _ -> float i)
            let ok = Network.init 2 [ LayerSpec.Of(1, Activation.Identity) ] 1L
            let e = catch<ArgumentException> (fun () -> FastTrainer.prepare Precision.Float64 x (Mat.init 3 1 (fun _ _ -> 0.0)) |> ignore)
            Expect.equal e.ParamName "y" "rows differ"
            Expect.stringContains e.Message "3x1" "y's shape"
            Expect.stringContains e.Message "4x2" "x's shape"
            let bad = x.Clone()
            bad.[1, 0] <- infinity
            let e = catch<ArgumentException> (fun () -> FastTrainer.prepare Precision.Float32 bad y |> ignore)
            Expect.equal e.ParamName "x" "infinite x"
            Expect.stringContains e.Message "row 1, column 0" "names the row and column"
            let wide = Network.init 3 [ LayerSpec.Of(1, Activation.Identity) ] 1L
            let data = FastTrainer.prepare Precision.Float64 x y
            let e = catch<ArgumentException> (fun () -> FastTrainer.trainOn Loss.MeanSquaredError 0.1 2 1 0L data wide |> ignore)
            Expect.equal e.ParamName "data" "widths differ"
            // y holds 2 and 3, outside [0, 1]: fine for MSE, not for cross-entropy (as Loss.checkTarget).
            FastTrainer.trainOn Loss.MeanSquaredError 0.1 2 1 0L data ok |> ignore
            let e = catch<ArgumentException> (fun () -> FastTrainer.trainOn Loss.SoftmaxCrossEntropy 0.1 2 1 0L data ok |> ignore)
            Expect.equal e.ParamName "data" "target outside [0, 1]"
            Expect.stringContains e.Message "row 2, column 0" "names the first bad target"
            let p = FastTrainer.predictor Precision.Float32 ok
            let e = catch<ArgumentException> (fun () -> p.Predict([| 1.0 |]) |> ignore)
            Expect.equal e.ParamName "x" "short x"
            let e = catch<ArgumentException> (fun () -> p.Predict(ReadOnlySpan [| 1.0; 2.0 |], Span (Array.zeroCreate 2)))
            Expect.equal e.ParamName "output" "long output"
            let e = catch<ArgumentException> (fun () -> p.Predict([| 1.0; nan |]) |> ignore)
            Expect.equal e.ParamName "x" "NaN in x"
            Expect.stringContains e.Message "index 1" "names the index"
            let e = catch<ArgumentException> (fun () -> FastTrainer.predictor Precision.Float64 (Network.init 2 [ LayerSpec.Of(1, Activation.Step) ] 1L) |> ignore)
            Expect.equal e.ParamName "net" "unsupported layer"
        }

        test "a layer without bias, a step activation and an unsupported loss are ArgumentExceptions naming them" {
            let x = Mat.init 4 2 (fun i j -> float (i + j) / 4.0)
            let y = Mat.init 4 1 (fun i _ -> float i)
            let noBias = Network.init 2 [ { LayerSpec.Of(3, Activation.Tanh) with UseBias = false }; LayerSpec.Of(1, Activation.Identity) ] 1L
            let e = catch<ArgumentException> (fun () -> FastTrainer.train Precision.Float64 Loss.MeanSquaredError 0.1 2 1 0L x y noBias |> ignore)
            Expect.equal e.ParamName "net" "ParamName"
            Expect.stringContains e.Message "Layer 0" "names the layer"
            let step = Network.init 2 [ LayerSpec.Of(3, Activation.Tanh); LayerSpec.Of(1, Activation.Step) ] 1L
            let e = catch<ArgumentException> (fun () -> FastTrainer.predict Precision.Float32 step x |> ignore)
            Expect.stringContains e.Message "Layer 1" "names the layer"
            let ok = Network.init 2 [ LayerSpec.Of(1, Activation.Identity) ] 1L
            let e = catch<ArgumentException> (fun () -> FastTrainer.train Precision.Float64 Loss.Hinge 0.1 2 1 0L x (Mat.init 4 1 (fun _ _ -> 1.0)) ok |> ignore)
            Expect.equal e.ParamName "loss" "ParamName"
            // A NaN in x: the reference check's message (row and column), from the fast path's boundary.
            let bad = x.Clone()
            bad.[2, 1] <- nan
            let e = catch<ArgumentException> (fun () -> FastTrainer.train Precision.Float64 Loss.MeanSquaredError 0.1 2 1 0L bad y ok |> ignore)
            Expect.equal e.ParamName "x" "ParamName"
            let e = catch<ArgumentException> (fun () -> FastTrainer.predict Precision.Float64 ok (Mat.init 4 3 (fun _ _ -> 0.0)) |> ignore)
            Expect.equal e.ParamName "x" "ParamName (wrong width)"
        }

        test "divergence raises TrainingDivergedException with the epoch, step and a finite last good network" {
            // y = 1000 x with rate 10 on MSE: each step multiplies the error by |1 - 2 * 10 * x^2| >> 1
            // (hand derivation for one linear unit), so the parameters overflow within a few hundred steps.
            let x = Mat.init 8 1 (fun i _ -> 1.0 + float i)
            let y = x * 1000.0
            let net = Network.init 1 [ LayerSpec.Of(1, Activation.Identity) ] 1L
            for precision in precisions do
                let e = catch<TrainingDivergedException> (fun () -> FastTrainer.train precision Loss.MeanSquaredError 10.0 8 1000 0L x y net |> ignore)
                Expect.isGreaterThanOrEqual e.Step 1 "step"
                Expect.equal e.Epoch e.Step "one step per epoch (full batch)"
                let good = e.LastGood :?> Network
                Expect.isTrue (flat good |> Array.forall Double.IsFinite) "last good is finite"
        }
    ]
