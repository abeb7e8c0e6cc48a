/// The two backends of the one trainer (issue 11): the kernels (Backend.Kernels) against the
/// reference core (Backend.Reference), on random networks of every activation and loss, with and
/// without bias, for every optimiser, schedule and batching mode; determinism (runs, checkpoints,
/// thread counts); the divergence rule; allocation; purity; bad input.
///
/// Tolerances: |kernels - reference| <= tol * (1 + |reference|) element-wise. The two backends
/// compute the same formulas (Functional.NN.Kernels.Formulas) and differ only in the order of the
/// sums of their matrix products (float64: tol = 1e-9 after a few steps), and, for Float32
/// networks, in the arithmetic itself: the reference accumulates every product in float64 and
/// rounds once to float32, the kernels accumulate in float32 (tol = 2e-3 after a few steps; one
/// float32 rounding is 6e-8 relative). Expected values all come from the reference backend, from
/// an independent loop written here, or from a hand derivation; never from the kernels.
module Functional.NN.Tests.BackendTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Tests.Generators

let private precisions = [ Precision.Float64; Precision.Float32 ]

let private tolerance precision = match precision with Precision.Float64 -> 1e-9 | Precision.Float32 -> 2e-3

/// Fails with both values in full at the worst element.
let private expectClose (tol: float) (what: string) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length (what + ": length")
    for i in 0 .. expected.Length - 1 do
        let e, a = expected.[i], actual.[i]
        if not (abs (a - e) <= tol * (1.0 + abs e)) then
            failtestf "%s: element %d is %s, the reference %s (tolerance %g relative)" what i (a.ToString "R") (e.ToString "R") tol

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

/// A training configuration drawn for the equivalence property: an optimiser with its settings,
/// a schedule and a batching mode, and a step limit.
type TrainingCase =
    { Case: Case
      Options: TrainingOptions }
    override this.ToString() = sprintf "%O; %s, %s, %A, %d steps" this.Case (Optimizer.name this.Options.Optimizer.Optimizer) (Schedule.describe this.Options.Schedule) this.Options.Batching this.Options.MaxSteps

let private genOptimizer : Gen<Optimizer> =
    Gen.elements
        [ Optimizer.Sgd; Optimizer.Momentum(0.9, 0.0); Optimizer.Momentum(0.5, 0.3); Optimizer.Nesterov 0.9
          Optimizer.AdaGrad(1e-10, 0.1); Optimizer.RMSProp(0.99, 1e-8, 0.0, false); Optimizer.RMSProp(0.9, 1e-6, 0.5, true)
          Optimizer.Adam(0.9, 0.999, 1e-8); Optimizer.AdamW(0.9, 0.999, 1e-8, 1e-2) ]

let private genTrainingCase : Gen<TrainingCase> =
    gen {
        let! c = genSmoothCase
        let! opt = genOptimizer
        let! decay = Gen.elements [ 0.0; 0.0; 1e-3 ]
        let! clip = Gen.elements [ 0.0; 0.0; 0.5 ]
        let adaptive = match opt with Optimizer.Sgd | Optimizer.Momentum _ | Optimizer.Nesterov _ -> false | _ -> true
        let rate = if adaptive then 1e-3 else 0.05
        let! schedule = Gen.elements [ Schedule.Constant rate; Schedule.InverseSqrt rate; Schedule.Exponential(rate, 0.9); Schedule.Cosine(rate, rate / 10.0, 5) ]
        let! batching = Gen.elements [ Batching.FullBatch; Batching.Stochastic Sampling.WithoutReplacement; Batching.MiniBatch(3, Sampling.WithoutReplacement); Batching.MiniBatch(4, Sampling.WithReplacement) ]
        let! steps = Gen.choose (1, 4)
        let! seed = Gen.choose (0, 1000)
        let options =
            TestOptions.sgd
                .WithOptimizerSettings({ Optimizer = opt; WeightDecay = decay; ClipNorm = clip })
                .WithSchedule(schedule).WithBatching(batching).WithMaxSteps(steps).WithMaxEpochs(1000).WithSeed(int64 seed)
        return { Case = c; Options = options }
    }

type TrainingCaseArb =
    static member Case() = Arb.fromGen genTrainingCase

let private trainingConfig maxTest =
    { FsCheckConfig.defaultConfig with maxTest = maxTest; arbitrary = [ typeof<TrainingCaseArb>; typeof<CaseArb> ] }

/// The options with the adaptive rules' epsilon at least 1e-4. An adaptive rule moves a parameter
/// by about eta whatever its gradient's size (g / sqrt(v) is about +-1), so a gradient element
/// that is zero up to rounding can step either way, by up to eta, on one backend and not the
/// other; float32 rounding (6e-8 relative) makes such elements common. With eps = 1e-4 such an
/// element moves by about eta |g| / eps instead, and the comparison measures the arithmetic.
let private robustEpsilon (options: TrainingOptions) =
    let e eps = max eps 1e-4
    let rule =
        match options.Optimizer.Optimizer with
        | Optimizer.AdaGrad (eps, s0) -> Optimizer.AdaGrad(e eps, s0)
        | Optimizer.RMSProp (a, eps, mu, c) -> Optimizer.RMSProp(a, e eps, mu, c)
        | Optimizer.Adam (b1, b2, eps) -> Optimizer.Adam(b1, b2, e eps)
        | Optimizer.AdamW (b1, b2, eps, wd) -> Optimizer.AdamW(b1, b2, e eps, wd)
        | other -> other
    options.WithOptimizer rule

/// The case's network in a precision.
let private inPrecision (p: Precision) (c: Case) = Network.withPrecision p c.Network

/// How a run ended: trained (network, epoch losses) or diverged (epoch, step, last good network).
type private Outcome =
    | Trained of Network * float[]
    | Diverged of epoch: int * step: int * lastGood: Network

let private outcomeOf (run: unit -> TrainingResult<Network>) : Outcome =
    try
        let r = run ()
        Trained (r.Model, r.History |> List.map (fun e -> e.TrainLoss) |> Array.ofList)
    with :? TrainingDivergedException as e -> Diverged (e.Epoch, e.Step, e.LastGood :?> Network)

/// The same outcome, bit for bit (epoch, step, every parameter and loss).
let private expectSameOutcome (what: string) (expected: Outcome) (actual: Outcome) =
    match expected, actual with
    | Trained (n1, l1), Trained (n2, l2) ->
        Expect.equal (bits (flat n2)) (bits (flat n1)) (what + ": parameters")
        Expect.equal (bits l2) (bits l1) (what + ": losses")
    | Diverged (e1, s1, g1), Diverged (e2, s2, g2) ->
        Expect.equal (e2, s2) (e1, s1) (what + ": epoch and step")
        Expect.equal (bits (flat g2)) (bits (flat g1)) (what + ": LastGood bit for bit")
        Expect.isTrue (flat g2 |> Array.forall Double.IsFinite) (what + ": LastGood is finite")
    | _ -> failtestf "%s: expected %A, got %A" what expected actual

/// Plain SGD with minibatches of b without replacement, constant rate, `epochs` epochs, no growth rule.
let private sgdOptions (rate: float) (b: int) (epochs: int) (seed: int64) (backend: Backend) =
    TestOptions.sgd
        .WithBatching(Batching.MiniBatch(b, Sampling.WithoutReplacement))
        .WithSchedule(Schedule.Constant rate)
        .WithSeed(seed)
        .WithMaxEpochs(epochs)
        .WithBackend(backend)
        .WithDivergenceFactor(0.0)

/// The kernels' SGD training written out slowly with the per-step divergence rule: a DenseTrainer
/// on the same batches (Batching.epoch from Rng.create seed), and before every step a copy of all
/// parameters; the run stops at the first step whose loss, or whose new parameters, are not finite,
/// and the copy taken before that step is the last good network. After `epochs` epochs, or
/// `maxSteps` steps when it is not 0, the last step's parameters are returned only when the loss of
/// its batch measured again with them (inference mode) is finite. Independent of the trainer's code
/// (it uses the kernels' fused SGD step, as the kernels backend does for plain SGD).
let private perStep<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> Numerics.IFloatingPointIeee754<'T>>
        (loss: Loss) (rate: float) (batchSize: int) (epochs: int) (maxSteps: int) (seed: int64) (x: Matrix<float>) (y: Matrix<float>) (net: Network) : Outcome =
    let toT (a: float[]) = a |> Array.map (fun v -> 'T.CreateTruncating v)
    let ofT (a: 'T[]) = a |> Array.map (fun v -> Double.CreateTruncating v)
    let n, d, k = x.RowCount, net.InputSize, net.OutputSize
    let b = min batchSize n
    let specs = net.Layers |> List.map (fun l -> let a, s = Activation.kernel l.Activation in Kernels.DenseLayerSpec(l.OutputSize, a, s)) |> Array.ofList
    let trainer = Kernels.DenseTrainer<'T>(d, specs, Loss.kernel loss, b)
    net.Layers |> List.iteri (fun i l -> trainer.SetParameters(i, ReadOnlySpan(toT (l.Weights.ToRowMajorArray())), ReadOnlySpan(toT (l.Bias.Value.ToArray()))))
    let layers = net.Layers.Length
    let parameters () = Array.init layers (fun l -> trainer.Weights(l).ToArray(), trainer.Biases(l).ToArray())
    let networkOf (ps: ('T[] * 'T[])[]) : Network =
        { Blocks = net.Layers |> List.mapi (fun i (l: Dense) ->
            Block.Dense
                { l with Weights = Matrix<float>.Build.DenseOfRowMajor(l.InputSize, l.OutputSize, ofT (fst ps.[i]))
                         Bias = Some (Vector<float>.Build.DenseOfArray(ofT (snd ps.[i]))) })
          Precision = net.Precision }
    let finite (ps: ('T[] * 'T[])[]) = ps |> Array.forall (fun (w, bs) -> Array.forall 'T.IsFinite w && Array.forall 'T.IsFinite bs)
    let xs, ys = toT (x.ToRowMajorArray()), toT (y.ToRowMajorArray())
    let rateT = 'T.CreateTruncating rate
    let losses = Array.zeroCreate epochs
    let mutable rng = Rng.create seed
    let mutable step = 0
    let mutable result = None
    let mutable epoch = 1
    // The step before: its epoch, its number and the parameters before it.
    let mutable previous = None
    // The last step: its epoch, its batch's inputs, targets and rows, and the parameters before it.
    let mutable last = None
    let mutable completed = 0
    let more () = maxSteps = 0 || step < maxSteps
    while result.IsNone && epoch <= epochs && more () do
        let batches, r = Batching.epoch (Batching.miniBatch b) n rng
        rng <- r
        let mutable total = 0.0
        let mutable i = 0
        while result.IsNone && i < batches.Length && more () do
            let batch = batches.[i]
            step <- step + 1
            let xb = Array.concat [ for s in batch -> Array.sub xs (s * d) d ]
            let yb = Array.concat [ for s in batch -> Array.sub ys (s * k) k ]
            let before = parameters ()
            // The batch loss is a value of the network's precision (docs/precision.md): a float32
            // network's loss of 1e39 is float32's infinity, a divergence at this step (a replayed
            // seed found the unrounded check one step late).
            let value = trainer.Step(ReadOnlySpan xb, ReadOnlySpan yb, batch.Length, rateT) |> Precision.round net.Precision
            // The docs' rule (docs/training.md, "Divergence"): a step fails when the batch loss the next
            // step measures at its parameters is not finite (LastGood: the parameters before it), or
            // when its own parameters are not (LastGood: those before it). The generated cases start
            // from a finite loss (a loss that is not finite at the start is a data error).
            if not (Double.IsFinite value) then
                match previous with
                | Some (e, s, ps) -> result <- Some (Diverged (e, s, networkOf ps))
                | None -> failwith "the loss at the initial parameters is not finite: not a divergence case"
            elif not (finite (parameters ())) then result <- Some (Diverged (epoch, step, networkOf before))
            previous <- Some (epoch, step, before)
            last <- Some (epoch, xb, yb, batch.Length, before)
            total <- total + Precision.round net.Precision value * float batch.Length
            i <- i + 1
        if i = batches.Length then
            // The epoch's mean batch loss, a value of the network's precision as the history's.
            losses.[epoch - 1] <- Precision.round net.Precision (total / float n)
            completed <- epoch
        epoch <- epoch + 1
    // The parameters the last step made: its batch's loss measured again with them.
    match result, last with
    | None, Some (e, xb, yb, rows, before) ->
        let value = trainer.EvaluateLoss(ReadOnlySpan xb, ReadOnlySpan yb, rows) |> Precision.round net.Precision
        if not (Double.IsFinite value) then result <- Some (Diverged (e, step, networkOf before))
    | _ -> ()
    match result with
    | Some r -> r
    | None -> Trained (networkOf (parameters ()), Array.sub losses 0 completed)

let private perStepIn (precision: Precision) =
    match precision with
    | Precision.Float64 -> perStep<float>
    | Precision.Float32 -> perStep<float32>

/// The ReLU interpolant of sin at 2049 equally spaced points of [0, 1] (2048 hidden units), and the
/// same network with an identity custom block of that width between its layers that records the most
/// rows one inference pass (training false) is given, with that count.
let private recordingInterpolant () =
    let interp = Approximation.ReluInterpolant.ofFunction sin 0.0 1.0 2049
    let most = ref 0
    let recorder =
        { new ICustomBlock with
            member _.Name = "recorder"
            member _.InputSize = 2048
            member _.OutputSize = 2048
            member _.Parameters = [||]
            member this.WithParameters _ = this
            member _.Forward(x, training) = (if not training then lock most (fun () -> most.Value <- max most.Value x.RowCount)); x
            member _.Backward(_, _, g, _) = g, [||] }
    interp, Network.ofBlocks [ interp.Blocks.[0]; Block.Custom recorder; interp.Blocks.[1] ], most

/// The fewest bytes allocated on this thread by 100 calls of `call`, over five runs of 100 calls.
/// The fewest, because a call can, once, grow a per-thread buffer of the kernels (when the calling
/// thread first runs a part of a split product meant for a worker that the busy machine has not
/// scheduled); a per-call allocation would show in every run.
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

/// SGD networks for the divergence and determinism tests: biases everywhere, kernel activations,
/// the kernels' SGD losses.
let private genSgdCase : Gen<Case> =
    genSmoothCase
    |> Gen.map (fun c ->
        let net = c.Network |> Network.mapLayers (fun _ l -> { l with Bias = Some (defaultArg l.Bias (Vector<float>.Build.Dense l.OutputSize)) })
        { c with Network = net })

type SgdCaseArb =
    static member Case() = Arb.fromGen genSgdCase

let private sgdConfig maxTest =
    { FsCheckConfig.defaultConfig with maxTest = maxTest; arbitrary = [ typeof<SgdCaseArb> ] }

/// W1-like training for the allocation and thread tests: 20-16-4, 8192 samples.
let private allocationData () =
    let net = Network.init 20 [ LayerSpec.Of(16, Activation.ReLU); LayerSpec.Of(4, Activation.Identity) ] 5L
    let x = Mat.init 8192 20 (fun i j -> sin (float (i * 20 + j)))
    let y = Mat.init 8192 4 (fun i j -> if (i + j) % 4 = 0 then 1.0 else 0.0)
    net, x, y

/// The determinism probe: fixed training runs on the kernels whose parameters' bits, as hex, are
/// printed by the test program when run with --determinism-probe (see Main.fs), so that a run with
/// FNN_THREADS=1 can be compared with this process's. The 64-96-48-5 network on batches of 128
/// is split by rows of the batch (DenseTrainer: 11 K weights, 27 K values), with Adam (gradients,
/// then the update) and with plain SGD (the fused step); the 256-512-5 network (134 K weights,
/// 99 K values) splits each product over the cores, its first layer's by the weights' columns,
/// with plain SGD.
let determinismProbe () : string =
    let run (inputs: int) (layers: LayerSpec list) (optimizer: Optimizer) (rate: float) =
        let net = Network.init inputs layers 3L
        let x = Mat.init 512 inputs (fun i j -> sin (float (i * inputs + j) * 0.37))
        let y = Mat.oneHot 5 (Array.init 512 (fun i -> (i * 7) % 5))
        let options = TestOptions.sgd.WithOptimizer(optimizer).WithSchedule(Schedule.Constant rate).WithBatching(Batching.miniBatch 128).WithMaxEpochs(3).WithBackend(Backend.Kernels)
        [ for p in precisions ->
            let r = Trainer.train options Loss.SoftmaxCrossEntropy (TrainingData.Of(x, y)) (Network.withPrecision p net)
            let predicted = Network.predictWith Backend.Kernels r.Model x
            Array.append (flat r.Model) (values predicted) |> Array.map (fun v -> BitConverter.DoubleToInt64Bits(v).ToString "x16") |> String.concat "" ]
    let small = [ LayerSpec.Of(96, Activation.Tanh); LayerSpec.Of(48, Activation.ReLU); LayerSpec.Of(5, Activation.Identity) ]
    let parts =
        run 64 small Optimizer.adam 1e-3
        @ run 64 small Optimizer.Sgd 0.05
        @ run 256 [ LayerSpec.Of(512, Activation.ReLU); LayerSpec.Of(5, Activation.Identity) ] Optimizer.Sgd 0.05
    String.Join("|", parts)

/// The fingerprint probe: the vectors the runtime accelerates ("512 256": which of Vector512 and
/// Vector256, as true/false), then `Layout.Fingerprint` of fixed arrays (empty, shorter than a
/// block, not a whole number of blocks, past PendingFingerprint.ParallelFrom) and
/// `PendingFingerprint` of the largest, as hex; printed by the test program when run with
/// --fingerprint-probe (see Main.fs), so that a process with other vectors (AVX-512 or AVX2 turned
/// off) can be compared with this one.
let fingerprintProbe () : string =
    let accelerated = sprintf "%b %b" Runtime.Intrinsics.Vector512.IsHardwareAccelerated Runtime.Intrinsics.Vector256.IsHardwareAccelerated
    let values (count: int) = Array.init count (fun i -> BitConverter.Int64BitsToDouble(int64 (uint64 i * 0x9E3779B97F4A7C15UL ^^^ (uint64 i <<< 52))))
    let sizes = [ 0; 1; 15; 16; 17; 47; 4097; 70001 ]
    let direct = sizes |> List.map (fun n -> Kernels.Layout.Fingerprint(ReadOnlySpan(values n)))
    let pending =
        let v = values 70001
        use p = new Kernels.PendingFingerprint(v, v.Length)
        for _ in 1 .. 7 do p.RunChunk 1 |> ignore
        p.Complete()
    accelerated + " | " + ((direct @ [ pending ]) |> List.map (fun h -> h.ToString "x16") |> String.concat " ")

/// A probe of this test program (--determinism-probe or --fingerprint-probe) in another process, with extra environment variables:
/// (exit code, the probe's output, stderr).
let private probeOf (probe: string) (environment: (string * string) list) =
    let exe = Reflection.Assembly.GetExecutingAssembly().Location
    let code, out, err = Repo.runSplit environment "dotnet" [ exe; probe ] Repo.root (TimeSpan.FromMinutes 2.0)
    code, out.Trim(), err

/// The determinism probe in another process (see probeOf).
let private probeIn (environment: (string * string) list) = probeOf "--determinism-probe" environment

/// For each row of x, the predictor's float32 overloads (array and span) give, bit for bit, its
/// float64 overload's output on the row rounded to float32 and widened back, rounded to float32:
/// for a float32 network both compute the same float32 values (the float64 overload rounds x,
/// then widens its float32 output exactly); for a float64 network the float32 overload widens x.
let expectFloat32OverloadMatches (p: Predictor) (x: Matrix<float>) (what: string) =
    let output = Array.create p.OutputSize Single.NaN
    for i in 0 .. x.RowCount - 1 do
        let row32 = x.Row(i).ToArray() |> Array.map float32
        let expected = p.Predict(Array.map float row32) |> Array.map (float32 >> BitConverter.SingleToInt32Bits)
        Expect.sequenceEqual (p.Predict row32 |> Array.map BitConverter.SingleToInt32Bits) expected (sprintf "%s, row %d (array)" what i)
        p.Predict(ReadOnlySpan row32, Span output)
        Expect.sequenceEqual (output |> Array.map BitConverter.SingleToInt32Bits) expected (sprintf "%s, row %d (span)" what i)

[<Tests>]
let tests =
    testList "Backends" [
        test "a batch too large for one matrix: the reference's forward pass and loss gradients refuse it naming x with both numbers" {
            // Review finding: predictWith Backend.Reference on 65536 rows through 65537 hidden units
            // (65536 x 65537 = 4,295,032,832 entries, by hand, above Array.MaxLength = 2,147,483,591)
            // failed inside MathNet with an untyped AggregateException / IndexOutOfRangeException.
            let net = Approximation.ReluInterpolant.ofFunction sin 0.0 1.0 65538
            Expect.equal (Network.widest net) 65537 "65538 points, 65537 hidden units"
            let x = Mat.init 65536 1 (fun i _ -> float i / 65536.0)
            let y = Mat.zeros 65536 1
            let expectTooLarge (what: string) (f: unit -> unit) =
                match Expect.throwsC f id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "x" (what + ": ParamName")
                    for part in [ "65536 rows"; "65537 units"; "4295032832"; "2147483591" ] do
                        Expect.stringContains e.Message part (what + ": the message")
                | e -> failtestf "%s: expected ArgumentException naming x, got %O" what e
            expectTooLarge "forward" (fun () -> Network.forward net x |> ignore)
            expectTooLarge "lossAndGradient" (fun () -> Network.lossAndGradient net Loss.MeanSquaredError x y |> ignore)
            expectTooLarge "lossAndGradientIn (training mode)" (fun () -> Network.lossAndGradientIn (Mode.Training 1UL) net Loss.MeanSquaredError x y |> ignore)
            // (Network.loss predicts on the auto backend, here the kernels, in chunks of 256 rows: it takes the batch.)
            // The bound itself: Array.MaxLength / 65537 = 32767 rows (integer division, by hand) fit, one more does not.
            Network.checkBatchEntries net "x" 32767
            expectTooLarge "checkBatchEntries" (fun () -> Network.checkBatchEntries net "x" 65536)
            Expect.throwsT<ArgumentException> (fun () -> Network.checkBatchEntries net "x" 32768) "one row above the bound"
        }

        test "predictWith Backend.Reference passes a batch of more than ReferenceChunkEntries entries in chunks of rows, with the same answer" {
            // The ReLU interpolant of sin at 2049 equally spaced points of [0, 1] (2048 hidden units),
            // with an identity custom block of that width between its layers that records the most
            // rows one forward pass is given. 4096 rows x 2048 units = 8,388,608 entries, above
            // ReferenceChunkEntries = 4,194,304: chunks of 4194304 / 2048 = 2048 rows (by hand).
            let interp, net, most = recordingInterpolant ()
            let n = 4096
            let x = Mat.init n 1 (fun i _ -> (float i + 0.5) / float n)
            let out = Network.predictWith Backend.Reference net x
            Expect.equal most.Value 2048 "no forward pass saw more than 2048 rows"
            Expect.equal (out.RowCount, out.ColumnCount) (n, 1) "one output per row"
            // Expected: the piecewise linear interpolation of sin between the knots k / 2048, written
            // here from its definition (what the interpolant computes, note 000), independent of the network.
            let h = 1.0 / 2048.0
            for i in 0 .. n - 1 do
                let t = x.[i, 0]
                let k = min 2047 (int (t / h))
                let x0, x1 = float k * h, float (k + 1) * h
                let expected = sin x0 + (t - x0) / (x1 - x0) * (sin x1 - sin x0)
                Expect.isLessThanOrEqual (abs (out.[i, 0] - expected)) 1e-12 (sprintf "row %d" i)
            // The kernels (chunks of 256 rows) on the interpolant itself, within their float64 tolerance.
            let r = Network.predictWith Backend.Reference interp x
            let kernels = Network.predictWith Backend.Kernels interp x
            for i in 0 .. n - 1 do
                Expect.isLessThanOrEqual (abs (r.[i, 0] - kernels.[i, 0])) (1e-9 * (1.0 + abs r.[i, 0])) (sprintf "kernels, row %d" i)
                Expect.equal r.[i, 0] out.[i, 0] "the recorder changes nothing"
            Expect.equal Network.ReferenceChunkEntries 4194304 "the documented chunk size"
        }

        test "reference training's whole-set losses (ExactEpochLoss, validation) pass a large set in chunks of rows, with the same answer" {
            // A review: a whole set whose rows x widest layer passes one array was refused with the
            // batch guard's message though training's batches were small. The interpolant network with
            // a recorder of the rows one inference pass is given (as above): 4096 rows x 2048 units,
            // chunks of 2048 rows by hand. Expected losses: the test's own unchunked forward pass.
            let _, net, most = recordingInterpolant ()
            let n = 4096
            let x = Mat.init n 1 (fun i _ -> (float i + 0.5) / float n)
            let y = Mat.init n 1 (fun i _ -> sin x.[i, 0])
            let options = TestOptions.sgd.WithSchedule(Schedule.Constant 1e-3).WithBatching(Batching.miniBatch 1024).WithMaxEpochs(1).WithExactEpochLoss(true).WithBackend(Backend.Reference)
            let r = Trainer.train options Loss.MeanSquaredError (TrainingData.Of(x, y).WithValidation(x, y)) net
            Expect.equal most.Value 2048 "no inference pass saw more than 2048 rows"
            let whole = Loss.valueUnchecked Loss.MeanSquaredError (Network.forward r.Model x).Output y
            Expect.equal r.TrainLoss whole "the training loss: the whole set's, unchunked"
            Expect.equal r.History.Head.ValidationLoss (Some whole) "the validation loss: the same set's"
        }

        for precision in precisions do
            testPropertyWithConfig (config 300) (sprintf "%A: the kernels' predictions equal the reference's on random networks of every activation, with and without bias" precision) <| fun (c: Case) ->
                let net = inPrecision precision c
                let expected = Network.predictWith Backend.Reference net c.X
                expectClose (tolerance precision / 100.0) "output" (values expected) (values (Network.predictWith Backend.Kernels net c.X))
                // Auto picks the kernels for every differentiable activation.
                Expect.equal (bits (values (Network.predict net c.X))) (bits (values (Network.predictWith Backend.Kernels net c.X))) "Auto is the kernels"

            testPropertyWithConfig (trainingConfig 600) (sprintf "%A: Trainer.train on the kernels equals the reference for every optimiser, schedule, batching mode, activation and loss" precision) <| fun (t: TrainingCase) ->
                let net = inPrecision precision t.Case
                let data = TrainingData.Of(t.Case.X, t.Case.Y)
                let options = if precision = Precision.Float32 then robustEpsilon t.Options else t.Options
                let reference = Trainer.train (options.WithBackend Backend.Reference) t.Case.Loss data net
                let kernels = Trainer.train (options.WithBackend Backend.Kernels) t.Case.Loss data net
                Expect.equal (reference.Backend, kernels.Backend) (Backend.Reference, Backend.Kernels) "the result says which backend ran"
                Expect.equal kernels.Steps reference.Steps "steps"
                expectClose (tolerance precision) "parameters" (flat reference.Model) (flat kernels.Model)
                expectClose (tolerance precision) "final training loss" [| reference.TrainLoss |] [| kernels.TrainLoss |]
                expectClose (tolerance precision) "optimiser state"
                    (Array.concat [ reference.Checkpoint.OptimizerState.Velocity; reference.Checkpoint.OptimizerState.FirstMoment; reference.Checkpoint.OptimizerState.SecondMoment ])
                    (Array.concat [ kernels.Checkpoint.OptimizerState.Velocity; kernels.Checkpoint.OptimizerState.FirstMoment; kernels.Checkpoint.OptimizerState.SecondMoment ])
                if precision = Precision.Float32 then
                    Expect.isTrue (flat kernels.Model |> Array.forall (Precision.isRepresentable Precision.Float32)) "a Float32 network stays float32"

        testPropertyWithConfig (trainingConfig 100) "each backend is bit-identical across three runs and across a checkpoint, also through a file" <| fun (t: TrainingCase) ->
            let data = TrainingData.Of(t.Case.X, t.Case.Y)
            for precision in precisions do
                let net = inPrecision precision t.Case
                for backend in [ Backend.Reference; Backend.Kernels ] do
                    let options = t.Options.WithBackend(backend).WithMaxSteps(0).WithMaxEpochs(3)
                    let run () = outcomeOf (fun () -> Trainer.train options t.Case.Loss data net)
                    let first = run ()
                    expectSameOutcome (sprintf "%A %A second run" precision backend) first (run ())
                    expectSameOutcome (sprintf "%A %A third run" precision backend) first (run ())
                    // Stop after a few steps (mid-epoch for minibatches), resume, directly and through a file.
                    match first with
                    | Trained _ ->
                        let part = Trainer.train (options.WithMaxSteps t.Options.MaxSteps) t.Case.Loss data net
                        let resumed = outcomeOf (fun () -> Trainer.resume options t.Case.Loss data part.Checkpoint)
                        expectSameOutcome (sprintf "%A %A resumed" precision backend) first resumed
                        let reloaded = ModelFile.checkpointOfBytes (ModelFile.checkpointToBytes part.Checkpoint)
                        let resumedFile = outcomeOf (fun () -> Trainer.resume options t.Case.Loss data reloaded)
                        expectSameOutcome (sprintf "%A %A resumed through a file" precision backend) first resumedFile
                    | Diverged _ -> ()

        test "the kernels give the same bits with one thread as with two (FNN_THREADS=1 in a separate process)" {
            let here = determinismProbe ()
            let code, output, err = probeIn [ "FNN_THREADS", "1" ]
            Expect.equal code 0 (sprintf "the probe ran (%s)" err)
            Expect.isTrue (Kernels.WorkerPool.Threads >= 1) "this process's pool"
            Expect.equal output here "parameters and predictions, bit for bit, one thread against this process's"
        }

        test "the kernels agree across instruction sets: AVX-512 off (AVX2) and AVX2 off (scalar) within the stated tolerance" {
            // The probe's parameters and predictions, in processes whose runtime is told to use no
            // AVX-512 (DOTNET_EnableAVX512=0; .NET 10 ignores DOTNET_EnableAVX512F, which this test set before, so it had run the AVX-512 kernels twice), and no AVX2 either (DOTNET_EnableAVX2=0), against this
            // process's. Bits may differ (other micro-kernels, other orders of the sums); the values
            // agree within the backends' tolerances (docs/backends.md).
            let parse (text: string) =
                text.Split('|') |> Array.map (fun part ->
                    Array.init (part.Length / 16) (fun i -> BitConverter.Int64BitsToDouble(Convert.ToInt64(part.Substring(16 * i, 16), 16))))
            let here = parse (determinismProbe ())
            for variable in [ "DOTNET_EnableAVX512"; "DOTNET_EnableAVX2" ] do
                let code, output, err = probeIn [ variable, "0" ]
                Expect.equal code 0 (sprintf "the probe ran with %s=0 (%s)" variable err)
                let there = parse output
                Expect.equal there.Length here.Length "float64 and float32 parts"
                expectClose (tolerance Precision.Float64) (sprintf "float64, %s=0" variable) here.[0] there.[0]
                expectClose (tolerance Precision.Float32) (sprintf "float32, %s=0" variable) here.[1] there.[1]
        }

        test "the data fingerprint is the same whatever the vectors: AVX-512 off (256-bit vectors) and AVX2 off (none) give this process's values" {
            // A checkpoint file stores fingerprints of the training data, and a resume on another
            // machine compares them with its own: they must not depend on the vector width.
            // Expected: this process's values (the rule itself is checked against a scalar
            // implementation in the test above). The probe says which vectors its runtime
            // accelerates, so that a variable the runtime ignores is seen (.NET 10 reads
            // DOTNET_EnableAVX512, not DOTNET_EnableAVX512F).
            let split (probe: string) = let parts = probe.Split(" | ") in parts.[0], parts.[1]
            let _, here = split (fingerprintProbe ())
            for variable, vectors in [ "DOTNET_EnableAVX512", sprintf "false %b" Runtime.Intrinsics.Vector256.IsHardwareAccelerated; "DOTNET_EnableAVX2", "false false" ] do
                let code, output, err = probeOf "--fingerprint-probe" [ variable, "0" ]
                Expect.equal code 0 (sprintf "the probe ran with %s=0 (%s)" variable err)
                let accelerated, there = split output
                Expect.equal accelerated vectors (sprintf "Vector512 and Vector256 accelerated with %s=0" variable)
                Expect.equal there here (sprintf "the fingerprints with %s=0" variable)
        }

        for precision in precisions do
            testPropertyWithConfig (sgdConfig 150) (sprintf "%A: divergence on the kernels gives the epoch, step and LastGood of the per-step rule, bit for bit" precision) <| fun (c: Case, b: int, seed: int, r: int) ->
                match c.Loss with
                | Loss.SoftmaxCrossEntropy | Loss.MeanSquaredError | Loss.HalfMeanSquaredError ->
                    let net = inPrecision precision c
                    // Rates from harmless to explosive, so that runs end both ways and at various steps.
                    let rate = [| 1.0; 1e2; 1e4; 1e8; 1e16; 1e32 |].[(r % 6 + 6) % 6]
                    let b = 1 + abs b % 8
                    let expected = perStepIn precision c.Loss rate b 12 0 (int64 seed) c.X c.Y net
                    let actual = outcomeOf (fun () -> Trainer.train (sgdOptions rate b 12 (int64 seed) Backend.Kernels) c.Loss (TrainingData.Of(c.X, c.Y)) net)
                    match expected, actual with
                    | Trained (n1, _), Trained (n2, _) -> Expect.equal (bits (flat n2)) (bits (flat n1)) "parameters"
                    | _ -> expectSameOutcome "divergence" expected actual
                | _ -> ()

        test "divergence found only by the end-of-epoch scan, and mid-epoch by the loss, match the per-step rule on both backends" {
            // One linear unit w = 1, b = 0, x = 1, y = 0, MSE, full batch: the loss before step 1 is
            // (1 + 0 - 0)^2 = 1 (finite) and the step sets w = 1 - rate * 2 (hand derivation), which
            // overflows for rate 1e308 (float64) and 3e38 (float32): only the parameter scan at the end
            // of epoch 1 sees it, and the per-step rule names step 1 with LastGood = the start.
            let unit : Network = { Blocks = [ Block.Dense { Weights = Mat.init 1 1 (fun _ _ -> 1.0); Bias = Some (Vector<float>.Build.Dense(1)); Activation = Activation.Identity } ]; Precision = Precision.Float64 }
            let x1 = Mat.init 1 1 (fun _ _ -> 1.0)
            let y1 = Mat.init 1 1 (fun _ _ -> 0.0)
            for precision, rate in [ Precision.Float64, 1e308; Precision.Float32, 3e38 ] do
                let net = Network.withPrecision precision unit
                for backend in [ Backend.Reference; Backend.Kernels ] do
                    let e = catch<TrainingDivergedException> (fun () -> Trainer.train (sgdOptions rate 1 3 0L backend) Loss.MeanSquaredError (TrainingData.Of(x1, y1)) net |> ignore)
                    Expect.stringContains e.Message "a parameter became NaN or infinite" "the parameter rule fired"
                    Expect.equal (e.Epoch, e.Step) (1, 1) (sprintf "%A %A: epoch 1, step 1 (hand derivation)" precision backend)
                    Expect.equal (flat (e.LastGood :?> Network)) [| 1.0; 0.0 |] "LastGood is the start"
            // y = 1000 x, rate 10, MSE, batches of 2 of 8 samples (4 steps per epoch): the error grows by
            // about |1 - 20 x^2| per step (hand derivation for one linear unit), so a batch loss overflows
            // within a few epochs; the trainer finds it mid-run and replays that epoch.
            let x = Mat.init 8 1 (fun i _ -> 1.0 + float i)
            let y = x * 1000.0
            let net = Network.init 1 [ LayerSpec.Of(1, Activation.Identity) ] 1L
            for precision in precisions do
                let net = Network.withPrecision precision net
                let expected = perStepIn precision Loss.MeanSquaredError 10.0 2 1000 0 0L x y net
                match expected with
                | Diverged (epoch, step, _) -> Expect.isGreaterThan step 1 (sprintf "diverges after the first step (epoch %d)" epoch)
                | other -> failtestf "the hand derivation says it diverges, the per-step rule gave %A" other
                expectSameOutcome (sprintf "%A mid-epoch" precision) expected
                    (outcomeOf (fun () -> Trainer.train (sgdOptions 10.0 2 1000 0L Backend.Kernels) Loss.MeanSquaredError (TrainingData.Of(x, y)) net))
        }

        test "a run stopped by MaxSteps at the step that made diverged parameters raises there, as the per-step rule's check of the last step's batch says" {
            // The run above (y = 1000 x, rate 10, batches of 2 of 8), stopped by MaxSteps at the step
            // the full run names, and at every step of that epoch before it: the parameters the last
            // step made are measured on its batch (a gathered minibatch, mid-epoch) before they are
            // returned. Expected: the per-step rule's outcome stopped there (the kernels bit for bit;
            // the reference's epoch and step, and LastGood as its own run stopped one step before).
            let x = Mat.init 8 1 (fun i _ -> 1.0 + float i)
            let y = x * 1000.0
            let data = TrainingData.Of(x, y)
            let net = Network.init 1 [ LayerSpec.Of(1, Activation.Identity) ] 1L
            for precision in precisions do
                let net = Network.withPrecision precision net
                let failing =
                    match perStepIn precision Loss.MeanSquaredError 10.0 2 1000 0 0L x y net with
                    | Diverged (_, step, _) -> step
                    | other -> failtestf "the hand derivation says it diverges, the per-step rule gave %A" other
                let mutable raised = 0
                for k in [ ((failing - 1) / 4) * 4 + 1 .. failing ] do
                    let expected = perStepIn precision Loss.MeanSquaredError 10.0 2 1000 k 0L x y net
                    let options backend = (sgdOptions 10.0 2 1000 0L backend).WithMaxSteps k
                    let what = sprintf "%A, stopped after step %d" precision k
                    expectSameOutcome what expected (outcomeOf (fun () -> Trainer.train (options Backend.Kernels) Loss.MeanSquaredError data net))
                    match expected, outcomeOf (fun () -> Trainer.train (options Backend.Reference) Loss.MeanSquaredError data net) with
                    | Diverged (e1, s1, _), Diverged (e2, s2, good) ->
                        raised <- raised + 1
                        Expect.equal (e2, s2) (e1, s1) (what + ", reference: epoch and step")
                        let before = if k = 1 then net else (Trainer.train ((options Backend.Reference).WithMaxSteps (k - 1)) Loss.MeanSquaredError data net).Model
                        Expect.equal (bits (flat good)) (bits (flat before)) (what + ", reference: LastGood")
                    | Trained _, Trained _ -> ()
                    | e, a -> failtestf "%s, reference: expected %A, got %A" what e a
                Expect.isGreaterThan raised 0 (sprintf "%A: a run stopped in that epoch raises" precision)
        }

        test "a loss that grows past DivergenceFactor stops training on every optimiser and backend, naming epoch and step" {
            // A 2-4-3 softmax classifier at a learning rate of 1e6: every optimiser sends the logits
            // far beyond the starting loss of about log 3 within a few steps (issue 14's lr 1e6 runs
            // ended "normally" with a loss of 1.3e6 before this rule).
            let net = Network.init 2 [ LayerSpec.Of(4, Activation.Tanh); LayerSpec.Of(3, Activation.Identity) ] 2L
            let x = Mat.init 30 2 (fun i j -> sin (float (2 * i + j)))
            let y = Mat.oneHot 3 (Array.init 30 (fun i -> i % 3))
            for opt in [ Optimizer.Sgd; Optimizer.momentum; Optimizer.nesterov; Optimizer.adaGrad; Optimizer.rmsProp; Optimizer.adam; Optimizer.adamW ] do
                for backend in [ Backend.Reference; Backend.Kernels ] do
                    let options = TestOptions.sgd.WithOptimizer(opt).WithSchedule(Schedule.Constant 1e6).WithBatching(Batching.miniBatch 10).WithMaxEpochs(50).WithBackend(backend)
                    let e = catch<TrainingDivergedException> (fun () -> Trainer.train options Loss.SoftmaxCrossEntropy (TrainingData.Of(x, y)) net |> ignore)
                    Expect.isGreaterThanOrEqual e.Step 1 (sprintf "%s %A: a step is named" (Optimizer.name opt) backend)
                    Expect.stringContains e.Message (sprintf "epoch %d, step %d" e.Epoch e.Step) "the message names epoch and step"
                    Expect.isTrue (flat (e.LastGood :?> Network) |> Array.forall Double.IsFinite) "LastGood is finite"
                    // Off, the same run ends without an exception when nothing becomes infinite, or with the NaN rule.
                    try Trainer.train (options.WithDivergenceFactor 0.0) Loss.SoftmaxCrossEntropy (TrainingData.Of(x, y)) net |> ignore
                    with :? TrainingDivergedException as e2 -> Expect.stringContains e2.Message "NaN" "only the NaN rule"
        }

        test "Trainer.train on the kernels allocates nothing per step for every optimiser: 9 more epochs cost only their history" {
            // Issue 11: zero bytes per step in steady state. A run allocates its result (the network,
            // the history), so the bytes of a 10-epoch run (640 steps) minus those of a 1-epoch run
            // must be the 9 extra history records (an EpochRecord and its list cell, about 130 bytes
            // each), within a bound of 300 bytes per epoch; a mutant that allocates a permutation per
            // epoch (32 KB here) or an object per step (640 steps) exceeds it.
            let net, x, y = allocationData ()
            let data = TrainingData.Of(x, y)
            for precision in precisions do
                let net = Network.withPrecision precision net
                for opt in [ Optimizer.Sgd; Optimizer.momentum; Optimizer.nesterov; Optimizer.adaGrad; Optimizer.rmsProp; Optimizer.adam; Optimizer.adamW ] do
                    let options = TestOptions.sgd.WithOptimizer(opt).WithSchedule(Schedule.Constant 1e-3).WithBatching(Batching.miniBatch 128).WithBackend(Backend.Kernels)
                    let run epochs = Trainer.train (options.WithMaxEpochs epochs) Loss.SoftmaxCrossEntropy data net |> ignore
                    run 1; run 10
                    let fewest epochs =
                        let mutable best = Int64.MaxValue
                        for _ in 1 .. 3 do
                            let start = GC.GetAllocatedBytesForCurrentThread()
                            run epochs
                            best <- min best (GC.GetAllocatedBytesForCurrentThread() - start)
                        best
                    let extra = fewest 10 - fewest 1
                    // Plus 2 KiB for one-off structures that one run of a busy full test run can create on
                    // this thread (seen once: 340 bytes over); a per-epoch permutation (288 KB for 9
                    // epochs) or one object per step (576 x 24 bytes at least) still exceeds it.
                    Expect.isLessThanOrEqual extra (9L * 300L + 2048L) (sprintf "%A %s: bytes of 9 more epochs (576 steps)" precision (Optimizer.name opt))
        }

        test "a matrix another thread writes while a run starts does not poison later runs on it once restored" {
            // Review: the kernels cached their conversion of x under a fingerprint taken in an
            // earlier pass, so a value written between the two passes stayed in the cache, and every
            // later run on the restored (unchanged) x trained on it (about 1 iteration in 20).
            // Expected: a run on the restored x equals, bit for bit, a run on a fresh copy of it.
            let net = Network.init 50 [ LayerSpec.Of(8, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 3L
            let options = TrainingOptions.GradientDescent(0.1, 2).WithBackend(Backend.Kernels)
            let train (x: Matrix<float>) y = Parameters.modelOf (Trainer.train options Loss.MeanSquaredError (TrainingData.Of(x, y)) net).Model
            let rng = Random(11)
            let mutable poisoned = 0
            for _ in 1 .. 120 do
                let x = Mat.init 4000 50 (fun _ _ -> 2.0 * rng.NextDouble() - 1.0)
                let y = Mat.init 4000 1 (fun _ _ -> rng.NextDouble())
                let storage = x.AsColumnMajorArray()
                let v1 = storage.[0]
                let stop = ref false
                let writer = Threading.Thread(fun () ->
                    while not stop.Value do
                        storage.[0] <- v1 + 0.5
                        Threading.Thread.SpinWait 20
                        storage.[0] <- v1
                        Threading.Thread.SpinWait 20)
                writer.Start()
                train x y |> ignore
                stop.Value <- true
                writer.Join()
                storage.[0] <- v1
                if train x y <> train (x.Clone()) y then poisoned <- poisoned + 1
            Expect.equal poisoned 0 "runs on the restored matrix that differ from a run on its copy"
        }

        test "minibatches on the kernels from a sparse input matrix train as from its dense copy, bit for bit" {
            // A matrix that is not dense storage is converted into a pooled array, longer than its
            // values; the batches must come from its rows only. Expected: the run on the dense copy.
            let rng = Random(5)
            let dense = Mat.init 100 3 (fun _ _ -> rng.NextDouble())
            let sparse = Matrix<float>.Build.SparseOfMatrix dense
            let y = Mat.init 100 1 (fun i _ -> dense.[i, 0] + dense.[i, 1])
            let net = Network.init 3 [ LayerSpec.Of(4, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 7L
            for precision in precisions do
                let options = TestOptions.sgd.WithBatching(Batching.miniBatch 10).WithMaxEpochs(3).WithBackend(Backend.Kernels)
                let run x = Trainer.train options Loss.MeanSquaredError (TrainingData.Of(x, y)) (Network.withPrecision precision net)
                Expect.equal (bits (flat (run sparse).Model)) (bits (flat (run dense).Model)) (sprintf "%A: sparse and dense inputs" precision)
        }

        test "a checkpoint's pending batches larger than the new options' batches resume on the kernels as on the reference" {
            // Stopped after one step of batches of 32, resumed with batches of 16 (a deliberate
            // change, so from the checkpoint without its record): the pending batches of 32 come
            // first. Expected: the reference backend's resumed run, within the backends' tolerance.
            let x = Mat.init 100 3 (fun i j -> sin (float (i * 3 + j)))
            let y = Mat.init 100 1 (fun i _ -> cos (float i))
            let net = Network.init 3 [ LayerSpec.Of(4, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 7L
            let data = TrainingData.Of(x, y)
            for precision in precisions do
                let net = Network.withPrecision precision net
                let resumed backend =
                    let options = TestOptions.sgd.WithBatching(Batching.miniBatch 32).WithMaxEpochs(3).WithBackend(backend)
                    let part = Trainer.train (options.WithMaxSteps 1) Loss.MeanSquaredError data net
                    Trainer.resume (options.WithBatching(Batching.miniBatch 16)) Loss.MeanSquaredError data (Checkpoint.withoutSetup part.Checkpoint)
                let reference, kernels = resumed Backend.Reference, resumed Backend.Kernels
                Expect.equal kernels.Steps reference.Steps (sprintf "%A: steps" precision)
                expectClose (tolerance precision) (sprintf "%A: parameters" precision) (flat reference.Model) (flat kernels.Model)
        }

        testPropertyWithConfig (config 30) "the network and matrices passed in are unchanged bit for bit by training, prediction and predictors on both backends" <| fun (c: Case) ->
            let before = bits (flat c.Network), bits (values c.X), bits (values c.Y)
            for backend in [ Backend.Reference; Backend.Kernels ] do
                let options = TestOptions.sgd.WithOptimizer(Optimizer.adam).WithMaxEpochs(2).WithBackend(backend)
                outcomeOf (fun () -> Trainer.train options c.Loss (TrainingData.Of(c.X, c.Y)) c.Network) |> ignore
                Network.predictWith backend c.Network c.X |> ignore
                (Network.predictorWith backend c.Network).Predict(c.X.Row(0).ToArray()) |> ignore
            let after = bits (flat c.Network), bits (values c.X), bits (values c.Y)
            Expect.equal after before "inputs unchanged"

        testPropertyWithConfig (config 30) "data changed in place between runs are trained on as changed: the kernels' cached conversion is checked every run" <| fun (c: Case) ->
            // The kernels keep a converted copy of a data matrix for the next run and use it only if
            // the matrix's values are those it was made from. The expected result is a run on a
            // fresh copy of the changed matrices (which no cache has seen).
            for precision in precisions do
                let net = Network.withPrecision precision c.Network
                let options = TestOptions.sgd.WithOptimizer(Optimizer.adam).WithMaxEpochs(2).WithBackend(Backend.Kernels)
                let x, y = c.X.Clone(), c.Y.Clone()
                let run (x: Matrix<float>) (y: Matrix<float>) = outcomeOf (fun () -> Trainer.train options c.Loss (TrainingData.Of(x, y)) net)
                run x y |> ignore
                // One value of x changed; then two rows of y swapped (still valid targets).
                x.[x.RowCount - 1, 0] <- x.[x.RowCount - 1, 0] + 0.5
                expectSameOutcome (sprintf "%A: one value of x changed" precision) (run (x.Clone()) (y.Clone())) (run x y)
                if y.RowCount > 1 then
                    let first = y.Row 0
                    y.SetRow(0, y.Row(y.RowCount - 1))
                    y.SetRow(y.RowCount - 1, first)
                    expectSameOutcome (sprintf "%A: two rows of y swapped" precision) (run (x.Clone()) (y.Clone())) (run x y)

        test "the pending fingerprint gives Layout.Fingerprint's value however waiting threads cut its chunks, and that value follows its documented rule" {
            // Expected: a scalar implementation, written here, of the rule Layout.Fingerprint
            // documents: two halves; in each, 16 lanes (lanes 0-7 seeded with the half's seed, 8-15
            // with seed + 2) that run h = xorshift29((h ^ bits) * K) over whole blocks of 16; the
            // lanes folded in pairs (l, l + 8) with SplitMix64's finaliser, then the tail one by one;
            // then the halves and the length. The same on every machine (no vector width in it).
            let k = 0x9E3779B97F4A7C15UL
            let mix (x: uint64) =
                let x = (x ^^^ (x >>> 30)) * 0xBF58476D1CE4E5B9UL
                let x = (x ^^^ (x >>> 27)) * 0x94D049BB133111EBUL
                x ^^^ (x >>> 31)
            let width = 16
            let half (v: uint64[]) (count: int) (part: int) =
                let i0, i1 = int (int64 count * int64 part / 2L), int (int64 count * int64 (part + 1) / 2L)
                let seed = uint64 part + 1UL
                let lane = Array.init width (fun l -> if l < 8 then seed else seed + 2UL)
                let mutable i = i0
                while i + width <= i1 do
                    for l in 0 .. width - 1 do
                        let a = (lane.[l] ^^^ v.[i + l]) * k
                        lane.[l] <- a ^^^ (a >>> 29)
                    i <- i + width
                let mutable h = seed
                for l in 0 .. 7 do h <- mix (mix (h ^^^ lane.[l]) ^^^ lane.[l + 8])
                while i < i1 do
                    h <- mix (h ^^^ v.[i])
                    i <- i + 1
                h
            let rule (v: uint64[]) (count: int) = if count = 0 then mix 0UL else mix (mix (half v count 0 ^^^ uint64 count) ^^^ half v count 1)
            let rng = Random(23)
            let other = Array.init 300000 (fun i -> float i)
            for count in [ 0; 1; 15; 16; 17; 33; 4097; 65535; 65536; 65537; 200003 ] do
                // Any bits, NaN payloads and negative zeros included; three values past the count.
                let raw = Array.init (count + 3) (fun _ -> uint64 (rng.NextInt64()) ^^^ (uint64 (rng.Next 2) <<< 63))
                let values = raw |> Array.map (fun b -> BitConverter.Int64BitsToDouble(int64 b))
                let expected = rule raw count
                Expect.equal (Kernels.Layout.Fingerprint(ReadOnlySpan(values, 0, count))) expected (sprintf "%d values: Layout.Fingerprint" count)
                for trial in 1 .. 3 do
                    use p = new Kernels.PendingFingerprint(values, count)
                    for _ in 1 .. rng.Next(0, 200) do p.RunChunk(rng.Next 2) |> ignore
                    if trial = 3 then
                        // Set as the pool's idle work: the caller waiting for a job's last part and
                        // the worker between jobs read chunks of it.
                        Kernels.WorkerPool.SetIdle p
                        for _ in 1 .. 5 do Kernels.Layout.Fingerprint(ReadOnlySpan other) |> ignore
                    Expect.equal (p.Complete()) expected (sprintf "%d values, trial %d: PendingFingerprint" count trial)
                    Expect.isFalse (p.RunChunk 0 || p.RunChunk 1) "nothing left to read once complete"
                    p.Dispose()
                    Expect.isFalse (p.RunChunk 0) "nothing read once disposed"
        }

        test "a run on inputs changed in place since the kernels cached them is made again on them: as a run on a copy, each epoch reported once" {
            // 2000 x 40 inputs (80,000 values): the kernels start on their cached conversion and check
            // it while they train. Expected: runs on fresh copies of the data, which no cache has seen.
            let rng = Random(17)
            let x = Mat.init 2000 40 (fun _ _ -> 2.0 * rng.NextDouble() - 1.0)
            let y = Mat.init 2000 1 (fun i _ -> sin (x.[i, 0] + x.[i, 1]))
            let net0 = Network.init 40 [ LayerSpec.Of(8, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 3L
            for precision in precisions do
                let net = Network.withPrecision precision net0
                let options = TestOptions.sgd.WithOptimizer(Optimizer.adam).WithSchedule(Schedule.Constant 1e-3).WithBatching(Batching.miniBatch 100).WithMaxEpochs(3).WithBackend(Backend.Kernels)
                let run (x: Matrix<float>) =
                    let records = Collections.Generic.List<EpochRecord>()
                    let asked = ref 0
                    let hooks = { OnEpoch = records.Add; ShouldStop = fun () -> asked.Value <- asked.Value + 1; false }
                    let r = Trainer.trainWith hooks options Loss.MeanSquaredError (TrainingData.Of(x, y)) net
                    bits (flat r.Model), [ for e in records -> e.Epoch, e.Step, BitConverter.DoubleToInt64Bits e.TrainLoss ], asked.Value
                let x = x.Clone()
                run x |> ignore
                let model, records, asked = run (x.Clone())
                let restarts = Restarts.Count
                let model', records', asked' = run x
                Expect.equal (model', records', asked') (model, records, asked) (sprintf "%A: unchanged inputs, cached: as a copy" precision)
                Expect.equal Restarts.Count restarts (sprintf "%A: unchanged inputs: one attempt" precision)
                x.[1999, 39] <- x.[1999, 39] + 0.5
                let model, records, asked = run (x.Clone())
                let restarts = Restarts.Count
                let model', records', asked' = run x
                Expect.equal model' model (sprintf "%A: one value changed: the parameters of a run on a copy" precision)
                Expect.equal records' records (sprintf "%A: one value changed: each epoch reported once, as on a copy" precision)
                Expect.equal records'.Length 3 "three epochs"
                Expect.equal asked' asked (sprintf "%A: one value changed: ShouldStop asked once per step, as on a copy" precision)
                Expect.equal Restarts.Count (restarts + 1) (sprintf "%A: one value changed: the run on the cached copy was made, found out and made again" precision)
        }

        test "a run on inputs changed in place that a cancellation or MaxSteps stops inside its first epoch stops where a run on a copy does" {
            // Review: the dropped run on the stale copy asked ShouldStop, and the run made again asked
            // from the first step, so a cancellation that stays set stopped it at once (0 steps).
            // Expected: runs on fresh copies, with hooks alike (each a new flag set at its 11th call,
            // or a count of 70 calls; MaxSteps 12 without hooks).
            let rng = Random(29)
            let x = Mat.init 2048 32 (fun _ _ -> 2.0 * rng.NextDouble() - 1.0)
            let y = Mat.init 2048 1 (fun i _ -> cos (x.[i, 0] - x.[i, 1]))
            let net0 = Network.init 32 [ LayerSpec.Of(8, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 7L
            let sticky () =
                let calls = ref 0
                fun () -> calls.Value <- calls.Value + 1; calls.Value >= 11
            let counted () =
                let calls = ref 0
                fun () -> calls.Value <- calls.Value + 1; calls.Value = 70
            for precision in precisions do
                let net = Network.withPrecision precision net0
                let options = TestOptions.sgd.WithSchedule(Schedule.Constant 0.05).WithBatching(Batching.miniBatch 64).WithMaxEpochs(3).WithBackend(Backend.Kernels)
                for what, options, hook in [ "a cancellation set at the 11th step", options, Some sticky
                                             "ShouldStop true at its 70th call only", options, Some counted
                                             "MaxSteps 12", options.WithMaxSteps 12, None ] do
                    let run (x: Matrix<float>) =
                        let hooks = match hook with Some make -> { TrainingHooks.None with ShouldStop = make () } | None -> TrainingHooks.None
                        let r = Trainer.trainWith hooks options Loss.MeanSquaredError (TrainingData.Of(x, y)) net
                        r.Steps, r.StopReason, bits (flat r.Model), bits (flat r.Checkpoint.Model)
                    let x = x.Clone()
                    run x |> ignore
                    x.[2047, 31] <- x.[2047, 31] + 0.5
                    let expected = run (x.Clone())
                    let steps, _, _, _ = expected
                    Expect.isGreaterThan steps 0 "the case stops after some steps"
                    let restarts = Restarts.Count
                    Expect.equal (run x) expected (sprintf "%A, %s: steps, stop reason, model and checkpoint of a run on a copy" precision what)
                    Expect.equal Restarts.Count (restarts + 1) (sprintf "%A, %s: made again" precision what)
        }

        test "a run on inputs changed in place whose ShouldStop throws ends with that exception where a run on a copy does" {
            // Review: the run made again asked the hook afresh after the dropped run's answers, so a
            // hook that threw once (a budget) answered false the second time and the exception was lost.
            // Expected: a run on a fresh copy with a hook alike (it throws at its 5th call).
            let rng = Random(31)
            let x = Mat.init 2048 32 (fun _ _ -> 2.0 * rng.NextDouble() - 1.0)
            let y = Mat.init 2048 1 (fun i _ -> cos (x.[i, 0] - x.[i, 1]))
            let net = Network.init 32 [ LayerSpec.Of(8, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 7L
            let options = TestOptions.sgd.WithSchedule(Schedule.Constant 0.05).WithBatching(Batching.miniBatch 64).WithMaxEpochs(3).WithBackend(Backend.Kernels)
            let run (x: Matrix<float>) =
                let calls = ref 0
                let hooks = { TrainingHooks.None with ShouldStop = fun () -> (calls.Value <- calls.Value + 1; if calls.Value = 5 then raise (TimeoutException "budget")); false }
                let outcome =
                    try Trainer.trainWith hooks options Loss.MeanSquaredError (TrainingData.Of(x, y)) net |> ignore; "returned"
                    with :? TimeoutException as e -> "threw " + e.Message
                outcome, calls.Value
            let x = x.Clone()
            run x |> ignore
            x.[2047, 31] <- x.[2047, 31] + 0.5
            let expected = run (x.Clone())
            Expect.equal expected ("threw budget", 5) "the case: the hook's exception ends a run on a copy"
            let restarts = Restarts.Count
            Expect.equal (run x) expected "the same exception, the hook asked as often"
            Expect.equal Restarts.Count (restarts + 1) "made again"
        }

        test "idle work that throws is dropped: no worker ends, jobs still join" {
            // IIdleWork must not throw; if it does, the pool clears it and carries on.
            let thrown = ref 0
            let work = { new Kernels.IIdleWork with member _.RunChunk(_) = Threading.Interlocked.Increment thrown |> ignore; failwith "idle work threw" }
            let values = Array.init 1_000_000 float
            let expected = Kernels.Layout.Fingerprint(ReadOnlySpan values)
            // Set again until a thread has run it (a test running at the same time may set its own).
            let mutable tries = 0
            while thrown.Value = 0 && tries < 1000 do
                Kernels.WorkerPool.SetIdle work
                Expect.equal (Kernels.Layout.Fingerprint(ReadOnlySpan values)) expected "a job run while the idle work throws"
                tries <- tries + 1
            Expect.isGreaterThan thrown.Value 0 "the idle work ran"
            for _ in 1 .. 50 do Expect.equal (Kernels.Layout.Fingerprint(ReadOnlySpan values)) expected "a job run after it threw"
            Expect.isLessThanOrEqual thrown.Value Kernels.WorkerPool.Threads "cleared once it threw (each thread may have taken it once before)"
            Kernels.WorkerPool.ClearIdle work
        }

        test "inputs changed in place to values refused, or that make training diverge, or back, end as on a copy" {
            // A linear model (40 -> 1) with plain SGD at rate 0.1: it trains on inputs in [-1, 1] and
            // diverges on the same inputs times 1000. Expected: runs on fresh copies.
            let rng = Random(19)
            let x = Mat.init 2000 40 (fun _ _ -> 2.0 * rng.NextDouble() - 1.0)
            let y = Mat.init 2000 1 (fun i _ -> x.[i, 0] - x.[i, 1])
            let net0 = Network.init 40 [ LayerSpec.Of(1, Activation.Identity) ] 5L
            for precision in precisions do
                let net = Network.withPrecision precision net0
                let options = TestOptions.sgd.WithSchedule(Schedule.Constant 0.1).WithBatching(Batching.miniBatch 100).WithMaxEpochs(2).WithBackend(Backend.Kernels)
                let run (x: Matrix<float>) = outcomeOf (fun () -> Trainer.train options Loss.MeanSquaredError (TrainingData.Of(x, y)) net)
                let x = x.Clone()
                let normal = x.Clone()
                let scaled = x * 1000.0
                match run (normal.Clone()), run (scaled.Clone()) with
                | Trained _, Diverged _ -> ()
                | a, b -> failtestf "%A: the case needs inputs that train and inputs that diverge, got %A and %A" precision a b
                run x |> ignore
                x.SetSubMatrix(0, 0, scaled)
                expectSameOutcome (sprintf "%A: cached as trained, changed to diverge" precision) (run (x.Clone())) (run x)
                x.SetSubMatrix(0, 0, normal)
                expectSameOutcome (sprintf "%A: cached as diverged, changed back" precision) (run (x.Clone())) (run x)
                x.[7, 3] <- nan
                let expected = catch<ArgumentException> (fun () -> run (x.Clone()) |> ignore)
                let actual = catch<ArgumentException> (fun () -> run x |> ignore)
                Expect.equal (actual.ParamName, actual.Message) (expected.ParamName, expected.Message) (sprintf "%A: cached, then a NaN written: the copy's error" precision)
                Expect.stringContains actual.Message "row 7" "names the row"
        }

        for precision in precisions do
            testPropertyWithConfig (config 40) (sprintf "%A: the predictor equals Network.predict sample by sample, through both overloads" precision) <| fun (c: Case) ->
                let net = inPrecision precision c
                let expected = Network.predictWith Backend.Reference net c.X
                for backend in [ Backend.Reference; Backend.Kernels ] do
                    let p = Network.predictorWith backend net
                    Expect.equal (p.InputSize, p.OutputSize, p.Precision, p.Backend) (net.InputSize, net.OutputSize, precision, backend) "predictor's shape"
                    let output = Array.create p.OutputSize nan
                    for i in 0 .. c.X.RowCount - 1 do
                        let row = c.X.Row(i).ToArray()
                        expectClose (tolerance precision / 100.0) (sprintf "row %d (array)" i) (expected.Row(i).ToArray()) (p.Predict row)
                        p.Predict(ReadOnlySpan row, Span output)
                        expectClose (tolerance precision / 100.0) (sprintf "row %d (span)" i) (expected.Row(i).ToArray()) output

            testPropertyWithConfig (config 40) (sprintf "%A: the predictor's float32 overload gives the float64 overload's output, rounded to float32, bit for bit" precision) <| fun (c: Case) ->
                // Expected: the float64 overload (checked against Network.predict above), see
                // expectFloat32OverloadMatches.
                let net = inPrecision precision c
                for backend in [ Backend.Reference; Backend.Kernels ] do
                    expectFloat32OverloadMatches (Network.predictorWith backend net) c.X (sprintf "%A" backend)

        test "the predictor's span overload allocates nothing per call; it keeps its own copy" {
            // W1's network (784-256-128-10), whose first layer is large enough to be split over the cores.
            let net = Network.init 784 [ LayerSpec.Of(256, Activation.ReLU); LayerSpec.Of(128, Activation.ReLU); LayerSpec.Of(10, Activation.Identity) ] 1L
            let before = bits (flat net)
            let x = Array.init 784 (fun j -> sin (float j))
            let output = Array.zeroCreate 10
            for precision in precisions do
                let net = Network.withPrecision precision net
                let p = Network.predictor net
                Expect.equal p.Backend Backend.Kernels "Auto: the kernels"
                // Warm-up: past the JIT's tiering (30 calls) and its rejit of the hot methods.
                for _ in 1 .. 1000 do p.Predict(ReadOnlySpan x, Span output)
                let bytes = fewestBytesOf100 (fun () -> p.Predict(ReadOnlySpan x, Span output))
                Expect.equal bytes 0L (sprintf "%A: bytes allocated by 100 calls (the fewest of five runs)" precision)
                // The float32 overload too.
                let x32, output32 = Array.map float32 x, Array.zeroCreate<float32> 10
                for _ in 1 .. 1000 do p.Predict(ReadOnlySpan x32, Span output32)
                let bytes32 = fewestBytesOf100 (fun () -> p.Predict(ReadOnlySpan x32, Span output32))
                Expect.equal bytes32 0L (sprintf "%A: bytes allocated by 100 float32 calls (the fewest of five runs)" precision)
                expectClose (tolerance precision / 100.0) "W1 output" (values (Network.predictWith Backend.Reference net (Mat.init 1 784 (fun _ j -> x.[j])))) output
            Expect.equal (bits (flat (Network.init 784 [ LayerSpec.Of(256, Activation.ReLU); LayerSpec.Of(128, Activation.ReLU); LayerSpec.Of(10, Activation.Identity) ] 1L))) before "network unchanged"
        }

        test "one predictor, one network and one data set used from several threads at once give the one-thread results" {
            let net = Network.init 40 [ LayerSpec.Of(30, Activation.Tanh); LayerSpec.Of(3, Activation.Identity) ] 7L
            let x = Mat.init 64 40 (fun i j -> sin (float (i * 40 + j)))
            let y = Mat.init 64 3 (fun i j -> cos (float (3 * i + j)))
            let options = TestOptions.sgd.WithOptimizer(Optimizer.adam).WithBatching(Batching.miniBatch 8).WithMaxEpochs(2)
            for precision in precisions do
                let net = Network.withPrecision precision net
                let p = Network.predictor net
                let rows = Array.init 64 (fun i -> x.Row(i).ToArray())
                let expected = rows |> Array.map (fun r -> bits (p.Predict r))
                let batch = bits (values (Network.predict net x))
                let alone = Trainer.train options Loss.MeanSquaredError (TrainingData.Of(x, y)) net
                let results =
                    Array.init 4 (fun t ->
                        Threading.Tasks.Task.Run(fun () ->
                            let outputs = Array.init 200 (fun c -> let i = (c * 7 + t) % 64 in i, bits (p.Predict rows.[i]))
                            outputs, bits (values (Network.predict net x)), Trainer.train options Loss.MeanSquaredError (TrainingData.Of(x, y)) net))
                    |> Array.map (fun task -> task.Result)
                for outputs, predicted, trained in results do
                    for i, out in outputs do Expect.equal out expected.[i] (sprintf "%A: row %d predicted on another thread" precision i)
                    Expect.equal predicted batch (sprintf "%A: batch predicted on another thread" precision)
                    Expect.equal (bits (flat trained.Model)) (bits (flat alone.Model)) (sprintf "%A: trained on another thread" precision)
        }

        test "bad input keeps its typed errors on both backends, validated from shapes" {
            let x = Mat.init 4 2 (fun i j -> float (i + j) / 4.0)
            let y = Mat.init 4 1 (fun i _ -> float i)
            let ok = Network.init 2 [ LayerSpec.Of(3, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 1L
            for backend in [ Backend.Reference; Backend.Kernels; Backend.Auto ] do
                let options = TestOptions.sgd.WithBackend backend
                let train (x: Matrix<float>) (y: Matrix<float>) loss = Trainer.train options loss (TrainingData.Of(x, y)) ok |> ignore
                let e = catch<ArgumentException> (fun () -> train x (Mat.init 3 1 (fun _ _ -> 0.0)) Loss.MeanSquaredError)
                Expect.equal e.ParamName "y" "rows differ"
                Expect.stringContains e.Message "3x1" "y's shape"
                Expect.stringContains e.Message "4x1" "the output's shape"
                let bad = x.Clone()
                bad.[1, 0] <- infinity
                let e = catch<ArgumentException> (fun () -> train bad y Loss.MeanSquaredError)
                Expect.equal e.ParamName "x" "infinite x"
                Expect.stringContains e.Message "row 1, column 0" "names the row and column"
                let e = catch<ArgumentException> (fun () -> train (Mat.init 4 3 (fun _ _ -> 0.0)) y Loss.MeanSquaredError)
                Expect.equal e.ParamName "x" "wrong width"
                // y holds 2 and 3, outside [0, 1]: fine for MSE, not for cross-entropy.
                let e = catch<ArgumentException> (fun () -> train x y Loss.BinaryCrossEntropyWithLogits)
                Expect.equal e.ParamName "y" "target outside [0, 1]"
                Expect.stringContains e.Message "row 2, column 0" "names the first bad target"
                let e = catch<ArgumentException> (fun () -> Network.predictWith backend ok (Mat.init 4 3 (fun _ _ -> 0.0)) |> ignore)
                Expect.equal e.ParamName "x" "predict: wrong width"
                let p = Network.predictorWith backend ok
                let e = catch<ArgumentException> (fun () -> p.Predict([| 1.0 |]) |> ignore)
                Expect.equal e.ParamName "x" "short x"
                let e = catch<ArgumentException> (fun () -> p.Predict(ReadOnlySpan [| 1.0; 2.0 |], Span (Array.zeroCreate 2)))
                Expect.equal e.ParamName "output" "long output"
                let e = catch<ArgumentException> (fun () -> p.Predict([| 1.0; nan |]) |> ignore)
                Expect.equal e.ParamName "x" "NaN in x"
                Expect.stringContains e.Message "index 1" "names the index"
                // The float32 overload: the same errors; a bad value leaves the output untouched.
                let e = catch<ArgumentException> (fun () -> p.Predict([| 1.0f |]) |> ignore)
                Expect.equal e.ParamName "x" "float32: short x"
                let e = catch<ArgumentException> (fun () -> p.Predict(ReadOnlySpan [| 1.0f; 2.0f |], Span (Array.zeroCreate<float32> 2)))
                Expect.equal e.ParamName "output" "float32: long output"
                for value in [ Single.NaN; Single.PositiveInfinity; Single.NegativeInfinity ] do
                    let out32 = [| 7.0f |]
                    let e = catch<ArgumentException> (fun () -> p.Predict(ReadOnlySpan [| 1.0f; value |], Span out32))
                    Expect.equal e.ParamName "x" (sprintf "float32: %g in x" value)
                    Expect.stringContains e.Message "index 1" "float32: names the index"
                    Expect.equal out32.[0] 7.0f "float32: the output is untouched"
            // The step activation: the kernels refuse it by name, Auto falls back to the reference.
            let step = Network.init 2 [ LayerSpec.Of(3, Activation.Tanh); LayerSpec.Of(1, Activation.Step) ] 1L
            let e = catch<ArgumentException> (fun () -> Network.predictWith Backend.Kernels step x |> ignore)
            Expect.stringContains e.Message "layer 1" "names the layer"
            Expect.equal (Network.predictor step).Backend Backend.Reference "Auto falls back to the reference"
            // A checkpoint taken with another optimiser (issue 14: an IndexOutOfRangeException before):
            // named by the checkpoint's record of its setup, and, for a checkpoint without one (a
            // file from before the record, Checkpoint.withoutSetup), by its buffers that do not fit.
            let sgd = Trainer.train (TestOptions.sgd.WithMaxSteps 3) Loss.MeanSquaredError (TrainingData.Of(x, y)) ok
            for opt, described in [ Optimizer.momentum, "Momentum(momentum 0.9, dampening 0)"; Optimizer.adam, "Adam(beta1 0.9, beta2 0.999, epsilon 1E-08)" ] do
                let e = catch<ArgumentException> (fun () -> Trainer.resume (TestOptions.sgd.WithOptimizer opt) Loss.MeanSquaredError (TrainingData.Of(x, y)) sgd.Checkpoint |> ignore)
                Expect.equal e.ParamName "checkpoint" (sprintf "SGD -> %s" (Optimizer.name opt))
                Expect.stringContains e.Message (sprintf "taken with the optimiser Sgd; the options give %s." described) "says why"
                let e = catch<ArgumentException> (fun () -> Trainer.resume (TestOptions.sgd.WithOptimizer opt) Loss.MeanSquaredError (TrainingData.Of(x, y)) (Checkpoint.withoutSetup sgd.Checkpoint) |> ignore)
                Expect.equal e.ParamName "checkpoint" (sprintf "SGD -> %s, no record" (Optimizer.name opt))
                Expect.stringContains e.Message "another optimiser" "says why, without a record"
            let adam = Trainer.train (TestOptions.sgd.WithOptimizer(Optimizer.adam).WithMaxSteps 3) Loss.MeanSquaredError (TrainingData.Of(x, y)) ok
            for c in [ adam.Checkpoint; Checkpoint.withoutSetup adam.Checkpoint ] do
                let e = catch<ArgumentException> (fun () -> Trainer.resume (TestOptions.sgd.WithOptimizer Optimizer.momentum) Loss.MeanSquaredError (TrainingData.Of(x, y)) c |> ignore)
                Expect.equal e.ParamName "checkpoint" "Adam -> momentum"
        }

        test "fnn train runs on the kernels backend and says so; --backend reference runs the reference" {
            let run (args: string list) = Repo.runSplit [] "dotnet" (Repo.fnn :: args) Repo.root (TimeSpan.FromMinutes 2.0)
            let code, out, err = run [ "train"; "--dataset"; "iris"; "--epochs"; "20" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out "on the kernels backend" "the main job says which backend ran"
            let code, out, err = run [ "train"; "--dataset"; "iris"; "--epochs"; "20"; "--backend"; "reference"; "--json" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out "\"backend\":\"reference\"" "JSON names the backend"
            let code, _, err = run [ "train"; "--dataset"; "iris"; "--backend"; "gpu" ]
            Expect.equal code 2 "an unknown backend is a usage error"
            Expect.stringContains err "--backend needs auto, kernels or reference, not 'gpu'" "and says why"
            // Issue 14: --lr 1e6 exits non-zero with one line naming epoch and step and the option to lower, on every optimiser.
            for opt in [ "sgd"; "momentum"; "nesterov"; "adagrad"; "rmsprop"; "adam"; "adamw" ] do
                let code, _, err = run [ "train"; "--dataset"; "iris"; "--lr"; "1e6"; "--optimizer"; opt; "--epochs"; "20" ]
                Expect.equal code 1 (sprintf "%s: exit code" opt)
                let line = err.Trim()
                Expect.isFalse (line.Contains "\n") (sprintf "%s: one line" opt)
                Expect.stringContains line "training diverged at epoch" (sprintf "%s: the divergence line" opt)
                Expect.stringContains line "lower --lr" (sprintf "%s: the option to lower" opt)
                Expect.isFalse (line.Contains "LastGood") (sprintf "%s: no LastGood for a command-line user" opt)
                Expect.isFalse (line.Contains "TrainingOptions") (sprintf "%s: no library option name" opt)
            // The growth rule at full batch, rate 1e5 (as a review found at 1e3): the line gives the rule and no
            // library option name (its message puts the option after where the loss was measured).
            let code, _, err = run [ "train"; "--dataset"; "digits"; "--layers"; "32"; "--optimizer"; "sgd"; "--batch-size"; "full"; "--lr"; "1e5"; "--epochs"; "50"; "--patience"; "off" ]
            Expect.equal code 1 "growth: exit code"
            Expect.stringContains err "grew past" "growth: the rule"
            Expect.isFalse (err.Contains "TrainingOptions") (sprintf "growth: no library option name in %s" err)
        }

        test "Pipeline.Fit runs on either backend; the two pipelines agree on Iris" {
            let data = Datasets.load "iris"
            let fit backend =
                let options = FitOptions.Default.WithHiddenLayers([| 8 |]).WithTraining(TestOptions.sgd.WithOptimizer(Optimizer.adam).WithSchedule(Schedule.Constant 0.01).WithBatching(Batching.miniBatch 16).WithMaxEpochs(40).WithBackend(backend))
                PipelineFit.fit options data
            let r, k = fit Backend.Reference, fit Backend.Kernels
            Expect.equal (r.Training.Backend, k.Training.Backend) (Backend.Reference, Backend.Kernels) "each ran on its backend"
            expectClose 1e-9 "parameters after 40 epochs" (flat r.Pipeline.Network) (flat k.Pipeline.Network)
            match Pipeline.evaluate r.Pipeline data, Pipeline.evaluate k.Pipeline data with
            | Evaluation.Classification a, Evaluation.Classification b ->
                Expect.equal b.Accuracy a.Accuracy "the same accuracy"
                Expect.isGreaterThanOrEqual a.Accuracy 0.95 "and a good one (training rows)"
            | _ -> failtest "Iris is a classification"
        }

        test "a pipeline's single-row predictor equals Pipeline.probabilities, outputs and predictClasses, allocates nothing, and refuses bad rows" {
            let data = Datasets.load "iris"
            let options = FitOptions.Default.WithHiddenLayers([| 8 |]).WithTraining(TestOptions.sgd.WithOptimizer(Optimizer.adam).WithSchedule(Schedule.Constant 0.01).WithBatching(Batching.miniBatch 16).WithMaxEpochs(10))
            let pipeline = (PipelineFit.fit options data).Pipeline
            let x = data.Features
            for backend in [ Backend.Reference; Backend.Kernels ] do
                let p = PipelinePredictor.createWith backend pipeline
                Expect.equal p.Backend backend "the predictor's backend"
                // The batch path (Pipeline.*) on the same backend is the expected value: the same
                // scaling and softmax formulas, the network's outputs within the backends' tolerance.
                let outputs = Pipeline.outputs pipeline x
                let probabilities = (Pipeline.probabilities pipeline x).Value
                let classes = Pipeline.predictClasses pipeline x
                let probs = Array.zeroCreate 3
                let out = Array.zeroCreate 3
                for i in 0 .. x.RowCount - 1 do
                    let row = x.Row(i).ToArray()
                    p.PredictProbabilities(ReadOnlySpan row, Span probs)
                    expectClose 1e-12 (sprintf "%A row %d probabilities" backend i) (probabilities.Row(i).ToArray()) probs
                    p.Predict(ReadOnlySpan row, Span out)
                    expectClose 1e-12 (sprintf "%A row %d outputs" backend i) (outputs.Row(i).ToArray()) out
                    Expect.equal (p.PredictClass(ReadOnlySpan row)) classes.[i] (sprintf "%A row %d class" backend i)
                let row = x.Row(0).ToArray()
                // The kernels' path allocates nothing; the reference's builds its matrices.
                if backend = Backend.Kernels then
                    for _ in 1 .. 1000 do p.PredictProbabilities(ReadOnlySpan row, Span probs)
                    Expect.equal (fewestBytesOf100 (fun () -> p.PredictProbabilities(ReadOnlySpan row, Span probs))) 0L (sprintf "%A: bytes of 100 calls" backend)
                let e = catch<ArgumentException> (fun () -> p.PredictProbabilities([| 1.0; 2.0 |]) |> ignore)
                Expect.equal e.ParamName "row" "a short row"
                let e = catch<ArgumentException> (fun () -> p.PredictProbabilities([| 1.0; 2.0; nan; 4.0 |]) |> ignore)
                Expect.equal e.ParamName "row" "NaN"
                Expect.stringContains e.Message "index 2" "names the index"
                let e = catch<ArgumentException> (fun () -> p.PredictProbabilities(ReadOnlySpan row, Span (Array.zeroCreate 2)))
                Expect.equal e.ParamName "probabilities" "a short output"
        }

        test "finite inputs whose outputs overflow, targets whose loss overflows, and float32 inputs beyond float32 are typed errors naming the row (issue 14)" {
            // A 2-3-1 tanh network: an input of 1e308 times weights of order 1 overflows the first
            // layer's product (|w x| > 1.8e308 for |w| > 1.8; the weights are set to 2 here), so the
            // output is not finite though the input is (hand derivation).
            let net = Network.init 2 [ LayerSpec.Of(3, Activation.Identity); LayerSpec.Of(1, Activation.Identity) ] 1L
                      |> Network.mapLayers (fun _ l -> { l with Weights = l.Weights.Map(fun _ -> 2.0) })
            let x = Mat.ofRows [ [| 1.0; 2.0 |]; [| 1e308; 1e308 |] ]
            for backend in [ Backend.Reference; Backend.Kernels ] do
                let e = catch<ArgumentException> (fun () -> Network.predictWith backend net x |> ignore)
                Expect.equal e.ParamName "x" (sprintf "%A: ParamName" backend)
                Expect.stringContains e.Message "row 1" (sprintf "%A: names the row" backend)
                let p = Network.predictorWith backend net
                let e = catch<ArgumentException> (fun () -> p.Predict [| 1e308; 1e308 |] |> ignore)
                Expect.equal e.ParamName "x" (sprintf "%A: the predictor" backend)
            // Targets of 1e308 against outputs near 0: (y - yhat)^2 = 1e616 overflows (hand derivation).
            let small = Mat.ofRows [ [| 0.1; 0.2 |]; [| 0.3; 0.4 |] ]
            let e = catch<ArgumentException> (fun () -> Network.loss net Loss.MeanSquaredError small (Mat.ofRows [ [| 0.0 |]; [| 1e308 |] ]) |> ignore)
            Expect.equal e.ParamName "y" "Network.loss: ParamName"
            Expect.stringContains e.Message "row 1" "Network.loss: names the row"
            // A Float32 network and an input of 1e39, beyond float32's largest value 3.4e38.
            let f32 = Network.withPrecision Precision.Float32 net
            let big = Mat.ofRows [ [| 1.0; 2.0 |]; [| 1.0; 1e39 |] ]
            for backend in [ Backend.Reference; Backend.Kernels ] do
                let e = catch<ArgumentException> (fun () -> Network.predictWith backend f32 big |> ignore)
                Expect.stringContains e.Message "row 1, column 1" (sprintf "%A: names the row and column" backend)
                Expect.stringContains e.Message "float32" (sprintf "%A: says why" backend)
                let options = TestOptions.sgd.WithBackend backend
                let e = catch<ArgumentException> (fun () -> Trainer.train options Loss.MeanSquaredError (TrainingData.Of(big, Mat.ofRows [ [| 0.0 |]; [| 1.0 |] ])) f32 |> ignore)
                Expect.equal e.ParamName "x" (sprintf "%A: training names x" backend)
                Expect.stringContains e.Message "row 1, column 1" (sprintf "%A: training names the row and column" backend)
                let e = catch<ArgumentException> (fun () -> (Network.predictorWith backend f32).Predict [| 1.0; 1e39 |] |> ignore)
                Expect.stringContains e.Message "index 1" (sprintf "%A: the predictor names the index" backend)
        }

        test "the predictors find a bad input value at every position: in the vector body of the check and in its tail" {
            // 37 inputs: the float64 check's four 8-lane vectors and a tail of 5 (nine 4-lane vectors and
            // 1 without AVX-512); the float32 conversion's two 16-value blocks and a tail of 5. Each bad
            // value is put at each position in turn into an otherwise good input (values up to
            // float32's largest, 3.4028235e38, itself included); the error must name that index, and
            // the caller's output must be left as it was. float32's largest plus 1e30 still rounds to
            // that largest value (half of float32's spacing there is 2^103, about 1.01e31) but is
            // beyond the range, and is refused as before; so is the next float64 above it.
            let wide = Network.init 37 [ LayerSpec.Of(2, Activation.Tanh) ] 5L
            let good = Array.init 37 (fun j -> if j % 3 = 0 then float Single.MaxValue elif j % 3 = 1 then -3e38 else float j - 18.0)
            for precision in [ Precision.Float64; Precision.Float32 ] do
                let net = Network.withPrecision precision wide
                for backend in [ Backend.Reference; Backend.Kernels ] do
                    let p = Network.predictorWith backend net
                    p.Predict good |> ignore
                    let bad = [ nan; infinity; -infinity ] @ (if precision = Precision.Float32 then [ 1e39; -3.5e38; float Single.MaxValue + 1e30; Math.BitIncrement(float Single.MaxValue) ] else [])
                    for value in bad do
                        for j in 0 .. 36 do
                            let x = Array.copy good
                            x.[j] <- value
                            let output = Array.create 2 1234.5
                            let e = catch<ArgumentException> (fun () -> p.Predict(ReadOnlySpan x, Span output))
                            Expect.equal e.ParamName "x" "ParamName"
                            Expect.stringContains e.Message (sprintf "index %d" j) (sprintf "%A %A: %g at %d" precision backend value j)
                            Expect.sequenceEqual output [| 1234.5; 1234.5 |] (sprintf "%A %A: the output is not written" precision backend)
                    // A good input after the bad ones is predicted again.
                    p.Predict good |> ignore
        }

        test "a pipeline with a text column and imputation is explained per original column: one-hot inputs summed, completeness kept" {
            // color is one-hot encoded (two network inputs), size has a missing cell imputed by its mean.
            let text = "size,color,kind\n1,red,a\n2,blue,b\nNA,red,a\n4,blue,b\n5,red,a\n6,blue,b\n7,red,a\n8,blue,b\n"
            let data = Csv.loadText { CsvOptions.Default with Target = Some "kind"; Missing = MissingPolicy.Mean } text
            let options = FitOptions.Default.WithHiddenLayers([| 3 |]).WithEpochs(5)
            let p = (PipelineFit.fit options data).Pipeline
            Expect.isFalse p.Preprocessor.IsIdentity "the pipeline one-hot encodes color and imputes size"
            let map = FeatureMap.ofPipeline p
            Expect.equal map.ColumnOf [| 0; 1; 1 |] "size is one input, color two"
            for method in [ AttributionMethod.IntegratedGradients; AttributionMethod.GradientTimesInput ] do
                // red (category 0 in order of appearance) at size 3, explained against the training mean.
                let row = [| 3.0; 0.0 |]
                let e = Attribution.explainPipeline p (AttributionOptions.Default.WithMethod(method).WithTolerance 1e-9) (Some 1) row
                Expect.equal e.Names [| "size"; "color" |] "one attribution per original column"
                Expect.equal e.Values.[1] (e.Attribution.Values.[1] + e.Attribution.Values.[2]) "color's attribution is the sum of its one-hot inputs'"
                Expect.isTrue (Double.IsNaN e.Baseline.[1]) "the mean row's color is a mix of categories: no raw value"
                if method = AttributionMethod.IntegratedGradients then
                    // Expected f(x) - f(b) from Pipeline.probabilities on the row and, for the baseline
                    // (the training mean of every network input), the network on the scaled zero row.
                    let fx = (Pipeline.probabilities p (Mat.ofRows [ row ])).Value.[0, 1]
                    let out = Network.predict p.Network (Mat.zeros 1 3)
                    let fb = exp out.[0, 1] / (exp out.[0, 0] + exp out.[0, 1])
                    Expect.floatClose { absolute = 1e-8; relative = 1e-8 } (Array.sum e.Values) (fx - fb) "completeness through the preprocessor"
            // A missing size is filled as in prediction, and a missing cell has no gradient.
            let e = Attribution.explainPipeline p AttributionOptions.Default (Some 1) [| nan; 1.0 |]
            Expect.isTrue (Array.forall Double.IsFinite e.Values) "a missing cell is imputed"
            let e = catch<ArgumentException> (fun () -> Attribution.pipelineInputGradient p true 1 (Mat.ofRows [ [| 1.0; 0.0 |] ]) |> ignore)
            Expect.equal e.ParamName "pipeline" "the raw gradient of a text column is a typed error"
            let e = catch<ArgumentException> (fun () -> Attribution.explainPipeline p AttributionOptions.Default None [| 1.0; 5.0 |] |> ignore)
            Expect.equal e.ParamName "row" "a category index out of range names the row"
            Expect.stringContains e.Message "column 1 (color)" "and the column"
        }

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "the kernels' optimiser update is Optimizer.stepIn's bit for bit, for every rule, with decay and clipping, in both precisions" <| fun (seed: int) ->
            // Optimizers.Update evaluates each element as stepIn does (double, the same order of
            // operations, rounded once to the precision): same inputs, same bits (docs/backends.md).
            let n = 37   // not a multiple of 8: the vector groups and the tail both run
            let values, _ = Rng.many (6 * n) (Rng.nextUniform -2.0 2.0) (Rng.create (int64 seed))
            let rules =
                [ Optimizer.Sgd, Kernels.OptimizerRule(Kernels.OptimizerKind.Sgd)
                  Optimizer.Momentum(0.9, 0.2), Kernels.OptimizerRule(Kernels.OptimizerKind.Momentum, Momentum = 0.9, Dampening = 0.2)
                  Optimizer.Nesterov 0.8, Kernels.OptimizerRule(Kernels.OptimizerKind.Nesterov, Momentum = 0.8)
                  Optimizer.AdaGrad(1e-10, 0.1), Kernels.OptimizerRule(Kernels.OptimizerKind.AdaGrad, Epsilon = 1e-10)
                  Optimizer.RMSProp(0.99, 1e-8, 0.5, true), Kernels.OptimizerRule(Kernels.OptimizerKind.RMSProp, Alpha = 0.99, Epsilon = 1e-8, Momentum = 0.5, Centered = true)
                  Optimizer.RMSProp(0.9, 1e-6, 0.0, false), Kernels.OptimizerRule(Kernels.OptimizerKind.RMSProp, Alpha = 0.9, Epsilon = 1e-6)
                  Optimizer.Adam(0.9, 0.999, 1e-8), Kernels.OptimizerRule(Kernels.OptimizerKind.Adam, Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8)
                  Optimizer.AdamW(0.9, 0.99, 1e-8, 1e-2), Kernels.OptimizerRule(Kernels.OptimizerKind.AdamW, Beta1 = 0.9, Beta2 = 0.99, Epsilon = 1e-8, DecoupledDecay = 1e-2) ]
            for precision in precisions do
                let r = Precision.roundArray precision
                for (rule, kernelRule) in rules do
                    for decay, clip in [ 0.0, 0.0; 1e-3, 0.0; 0.0, 0.5; 1e-2, 0.3 ] do
                        let settings = { Optimizer = rule; WeightDecay = decay; ClipNorm = clip }
                        let k = kernelRule
                        let kernelRule = Kernels.OptimizerRule(k.Kind, k.Momentum, k.Dampening, k.Alpha, k.Epsilon, k.Centered, k.Beta1, k.Beta2, k.DecoupledDecay, decay)
                        let mutable state = Optimizer.roundState precision (Optimizer.init settings n)
                        let mutable theta = r values.[.. n - 1]
                        // The kernels' buffers: the same values in the element type.
                        let kt = Array.copy theta
                        let kv = Array.copy state.Velocity
                        let km = Array.copy state.FirstMoment
                        let ks = Array.copy state.SecondMoment
                        let kt32, kv32, km32, ks32 = Array.map float32 kt, Array.map float32 kv, Array.map float32 km, Array.map float32 ks
                        for t in 1 .. 4 do
                            let g = r values.[t * n .. t * n + n - 1]
                            let state', theta' = Optimizer.stepIn precision settings 0.05 state theta g
                            // Clipping: the caller's scale, min(1, maxNorm / (|g|_2 + 1e-6)), as the session computes it.
                            let scale = if clip > 0.0 then (let c = clip / (Optimizer.globalNorm g + 1e-6) in if c < 1.0 then c else 1.0) else 1.0
                            let what = sprintf "%A %s decay %g clip %g step %d" precision (Optimizer.name rule) decay clip t
                            match precision with
                            | Precision.Float64 ->
                                Kernels.Optimizers.Update(kernelRule, t, 0.05, scale, Span kt, ReadOnlySpan g, Span kv, Span km, Span ks)
                                Expect.equal (bits kt) (bits theta') (what + ": parameters")
                                Expect.equal (bits (Array.concat [ kv; km; ks ])) (bits (Array.concat [ state'.Velocity; state'.FirstMoment; state'.SecondMoment ])) (what + ": state")
                            | Precision.Float32 ->
                                Kernels.Optimizers.Update(kernelRule, t, 0.05, scale, Span kt32, ReadOnlySpan (Array.map float32 g), Span kv32, Span km32, Span ks32)
                                Expect.equal (bits (Array.map float kt32)) (bits theta') (what + ": parameters")
                                Expect.equal (bits (Array.map float (Array.concat [ kv32; km32; ks32 ]))) (bits (Array.concat [ state'.Velocity; state'.FirstMoment; state'.SecondMoment ])) (what + ": state")
                            state <- state'
                            theta <- theta'

        test "the kernels' softplus is the core's: log1p keeps e^z for very negative z" {
            // softplus(-40) = log(1 + e^-40) = e^-40 - e^-80/2 + ... = 4.248354255291589e-18 (the
            // series; e^-40 from Math.Exp). log(1 + e^-40) computed naively is log(1) = 0.
            let expected = exp -40.0 - exp -80.0 / 2.0
            let z = Array.create 16 -40.0
            let a = Array.zeroCreate 16
            Kernels.Activations.BiasActivate(Span z, Span a, 1, 16, ReadOnlySpan.Empty, Kernels.ActivationKind.Softplus, 0.01)
            for v in a do Expect.floatClose { absolute = 0.0; relative = 1e-12 } v expected "kernel softplus(-40)"
            Expect.floatClose { absolute = 0.0; relative = 1e-15 } (Activation.value Activation.Softplus -40.0) expected "core softplus(-40)"
        }
    ]
