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

        testPropertyWithConfig (config 20) "the network and matrices passed in are unchanged bit for bit, in both precisions" <| fun (c: Case) ->
            let before = bits (flat c.Network), bits (values c.X), bits (values c.Y)
            for precision in precisions do
                FastTrainer.train precision c.Loss 0.1 4 2 1L c.X c.Y c.Network |> ignore
                FastTrainer.predict precision c.Network c.X |> ignore
            let after = bits (flat c.Network), bits (values c.X), bits (values c.Y)
            Expect.equal after before "inputs unchanged"

        testPropertyWithConfig (config 20) "the same seed gives bit-identical networks and losses" <| fun (c: Case, seed: int) ->
            for precision in precisions do
                let run () = FastTrainer.train precision c.Loss 0.1 3 3 (int64 seed) c.X c.Y c.Network
                let r1, r2 = run (), run ()
                Expect.equal (bits (flat r2.Network)) (bits (flat r1.Network)) "parameters"
                Expect.equal (bits r2.EpochLosses) (bits r1.EpochLosses) "losses"

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
