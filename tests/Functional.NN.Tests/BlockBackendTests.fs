/// The two backends on networks of blocks (issue 12): Trainer.train on the kernels against the
/// reference core on random networks of dense, activation, dropout, batch and layer
/// normalisation and residual blocks (FsCheck), same seed: same steps, parameters, running
/// statistics and losses within a tolerance; the same dropout masks; inference predictions;
/// which backend a network runs on.
///
/// Tolerances, |kernels - reference| <= tol (1 + |reference|) element-wise, as BackendTests and
/// for the same reasons: float64 1e-9 (the backends sum in different orders, ~1e-15 per value,
/// grown over at most 4 steps and scaled by a normalisation's 1/sqrt(var + eps) <= 1/sqrt(1e-5)
/// ~ 300), float32 2e-3 (the kernels accumulate products in float32, the reference in float64
/// rounded once: ~1e-6 relative per product over widths <= 8, scaled as above). Expected values
/// come from the reference backend, never from the kernels. They hold for the cases drawn here
/// (widths <= 8, 2 to 15 rows, at most 4 steps), not for ill-conditioned training: batch
/// normalisation on 2-row batches over more steps can exceed them (docs/backends.md).
module Functional.NN.Tests.BlockBackendTests

open System
open Expecto
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Tests.Expectations

let private tolerance precision = match precision with Precision.Float64 -> 1e-9 | Precision.Float32 -> 2e-3

let private expectClose (tol: float) (what: string) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length (what + ": length")
    for i in 0 .. expected.Length - 1 do
        let e, a = expected.[i], actual.[i]
        if not (abs (a - e) <= tol * (1.0 + abs e)) then
            failtestf "%s: element %d is %s, the reference %s (tolerance %g relative)" what i (a.ToString "R") (e.ToString "R") tol

let private activations =
    [| Activation.Identity; Activation.Sigmoid; Activation.Tanh; Activation.ReLU; Activation.LeakyReLU 0.1; Activation.Softplus |]

/// Random block specifications from width w: 1 to `count` blocks (residual inner ones keep the width).
let rec private randomSpecs (rng: Random) (depth: int) (w: int) (keepWidth: bool) (count: int) : BlockSpec list * int =
    let mutable cur = w
    let specs =
        [ for _ in 1 .. count do
            match rng.Next(if depth < 2 then 7 else 6) with
            | 0 | 1 ->
                let units = if keepWidth then cur else 1 + rng.Next 8
                yield BlockSpec.Dense { Units = units; Activation = activations.[rng.Next activations.Length]; UseBias = rng.Next 4 <> 0; Initializer = Some Initializer.GlorotUniform }
                cur <- units
            | 2 -> yield BlockSpec.Activation activations.[rng.Next activations.Length]
            | 3 -> yield BlockSpec.Dropout [| 0.0; 0.2; 0.5 |].[rng.Next 3]
            | 4 -> yield BlockSpec.BatchNorm
            | 5 -> yield BlockSpec.LayerNorm
            | _ ->
                let inner, _ = randomSpecs rng (depth + 1) cur true (1 + rng.Next 2)
                yield BlockSpec.Residual inner ]
    specs, cur

/// A random network of blocks (a dense layer first) with its normalisations' parameters and
/// running statistics moved off their initial values, and data of n rows (n >= 2: batch
/// normalisation trains on two rows or more).
let private randomCase (seed: int) =
    let rng = Random seed
    let inputs = 1 + rng.Next 6
    let first = BlockSpec.Dense { Units = 1 + rng.Next 8; Activation = activations.[rng.Next activations.Length]; UseBias = true; Initializer = None }
    let w0 = match first with BlockSpec.Dense s -> s.Units | _ -> 0
    let rest, _ = randomSpecs rng 0 w0 false (1 + rng.Next 4)
    let net0 = Network.initBlocks inputs (first :: rest) (int64 seed)
    let theta = (Parameters.ofNetwork net0).ToArray() |> Array.map (fun v -> v + 0.2 * (rng.NextDouble() - 0.5))
    let net1 = Parameters.toNetwork net0 (Vector<float>.Build.DenseOfArray theta)
    let state = Array.init net1.StateCount (fun i -> 0.5 + rng.NextDouble())
    let net = Parameters.withState net1 state
    let n = 2 + rng.Next 14
    let x = Mat.init n inputs (fun _ _ -> 2.0 * rng.NextDouble() - 1.0)
    let k = net.OutputSize
    // Softmax cross-entropy needs two output columns or more (Loss.checkOutputWidth).
    let loss = if rng.Next 2 = 0 || k = 1 then Loss.MeanSquaredError else Loss.SoftmaxCrossEntropy
    let y =
        match loss with
        | Loss.SoftmaxCrossEntropy -> Mat.oneHot k (Array.init n (fun i -> i % k))
        | _ -> Mat.init n k (fun _ _ -> rng.NextDouble())
    net, loss, x, y, rng

let private model (net: Network) = Parameters.modelOf net

let private config = { FsCheckConfig.defaultConfig with maxTest = 150 }

[<Tests>]
let tests =
    testList "Backends.Blocks" [
        for precision in [ Precision.Float64; Precision.Float32 ] do
            testPropertyWithConfig config (sprintf "%A: Trainer.train on the kernels equals the reference on random networks of blocks (parameters, running statistics, losses)" precision) <| fun (seed: int) ->
                let net, loss, x, y, rng = randomCase seed
                let net = Network.withPrecision precision net
                let n = x.RowCount
                // Batches of 2 rows or more (batch normalisation), the last one too.
                let batching =
                    match rng.Next 3 with
                    | 0 -> Batching.FullBatch
                    | _ -> let b = 2 + rng.Next 3 in if n % b = 1 then Batching.FullBatch else Batching.MiniBatch(b, Sampling.WithoutReplacement)
                let optimizer = [| Optimizer.Sgd; Optimizer.Momentum(0.9, 0.0); Optimizer.Adam(0.9, 0.999, 1e-4) |].[rng.Next 3]
                let rate = match optimizer with Optimizer.Adam _ -> 1e-3 | _ -> 0.05
                let options =
                    TrainingOptions.Default.WithOptimizer(optimizer).WithSchedule(Schedule.Constant rate).WithBatching(batching)
                        .WithMaxSteps(1 + rng.Next 4).WithMaxEpochs(1000).WithSeed(int64 (rng.Next 1000)).WithDivergenceFactor(0.0)
                let data = TrainingData.Of(x, y)
                let reference = Trainer.train (options.WithBackend Backend.Reference) loss data net
                let kernels = Trainer.train (options.WithBackend Backend.Kernels) loss data net
                let what = sprintf "%s; %A %A" (String.Join("; ", Network.describe net)) batching optimizer
                Expect.equal (reference.Backend, kernels.Backend) (Backend.Reference, Backend.Kernels) "the result says which backend ran"
                Expect.equal kernels.Steps reference.Steps "steps"
                expectClose (tolerance precision) ("parameters and running statistics " + what) (model reference.Model) (model kernels.Model)
                expectClose (tolerance precision) ("training losses " + what)
                    (reference.History |> List.map (fun e -> e.TrainLoss) |> Array.ofList) (kernels.History |> List.map (fun e -> e.TrainLoss) |> Array.ofList)
                expectClose (tolerance precision) ("final training loss " + what) [| reference.TrainLoss |] [| kernels.TrainLoss |]
                // Inference: the trained network predicts the same on both backends.
                expectClose (tolerance precision / 10.0) ("inference predictions " + what)
                    ((Network.predictWith Backend.Reference reference.Model x).ToRowMajorArray())
                    ((Network.predictWith Backend.Kernels reference.Model x).ToRowMajorArray())

        for precision in [ Precision.Float64; Precision.Float32 ] do
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 60 } (sprintf "%A: the predictor's float32 overload gives the float64 overload's outputs rounded to float32 on random networks of blocks, both backends" precision) <| fun (seed: int) ->
                // Networks of blocks (normalisations, dropout, residuals) run on the kernels' batch-of-one
                // trainer, not the row predictor. Expected: the float64 overload on x rounded to float32
                // and widened, its outputs rounded to float32 (BackendTests.expectFloat32OverloadMatches).
                let net, _, x, _, _ = randomCase seed
                let net = Network.withPrecision precision net
                for backend in [ Backend.Reference; Backend.Kernels ] do
                    BackendTests.expectFloat32OverloadMatches (Network.predictorWith backend net) x
                        (sprintf "%A, %s" backend (String.Join("; ", Network.describe net)))

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 30 } "on the kernels, networks of blocks train bit-identically across runs and across a checkpoint and resume (masks and running statistics included)" <| fun (seed: int) ->
            let net, loss, x, y, rng = randomCase seed
            let n = x.RowCount
            let batching = let b = 2 + rng.Next 3 in if n % b = 1 then Batching.FullBatch else Batching.MiniBatch(b, Sampling.WithoutReplacement)
            let options =
                TrainingOptions.Default.WithOptimizer(Optimizer.Adam(0.9, 0.999, 1e-4)).WithSchedule(Schedule.Constant 1e-3).WithBatching(batching)
                    .WithMaxEpochs(3).WithSeed(int64 seed).WithDivergenceFactor(0.0).WithBackend(Backend.Kernels)
            let data = TrainingData.Of(x, y)
            let bits (r: TrainingResult<Network>) = model r.Model |> Array.map BitConverter.DoubleToInt64Bits
            let first = Trainer.train options loss data net
            Expect.equal (bits (Trainer.train options loss data net)) (bits first) "a second run"
            let part = Trainer.train (options.WithMaxSteps 2) loss data net
            Expect.equal (bits (Trainer.resume options loss data part.Checkpoint)) (bits first) "stopped after 2 steps and resumed"

        testCase "a NaN made inside a network reaches the output on both backends and is refused (ReLU turned it into a finite value)" <| fun () ->
            // inf - inf = NaN inside the network. By hand: x = [1e308, 1e308] times [[1, -1], [1, -1]]
            // is [inf, -inf] (1e308 + 1e308 overflows); a ReLU layer of all-ones weights then has
            // z = inf - inf = NaN; torch.relu(nan) = nan, so the output is NaN, not the last bias 0.5.
            let dense (w: float[,]) (b: float[]) act = Block.Dense (Dense.create (Matrix<float>.Build.DenseOfArray w) (Some (Vector<float>.Build.DenseOfArray b)) act)
            let net = Network.ofBlocks [ dense (array2D [ [ 1.0; -1.0 ]; [ 1.0; -1.0 ] ]) [| 0.0; 0.0 |] Activation.Identity
                                         dense (Array2D.create 2 3 1.0) [| 0.0; 0.0; 0.0 |] Activation.ReLU
                                         dense (Array2D.create 3 1 1.0) [| 0.5 |] Activation.Identity ]
            let x = Matrix<float>.Build.DenseOfArray (array2D [ [ 1e308; 1e308 ] ])
            for backend in [ Backend.Reference; Backend.Kernels ] do
                expectArgument "x" [ "not finite" ] (fun () -> Network.predictWith backend net x |> ignore) |> ignore
                let out = Array.zeroCreate<float> 1
                expectArgument "x" [ "not finite" ] (fun () -> (Network.predictorWith backend net).Predict(ReadOnlySpan [| 1e308; 1e308 |], Span out)) |> ignore
            // Widths that put the NaN in the kernels' vector body (8), in both body and tail (9, 17),
            // in the tail only (3): Dense 1 -> w of weights [1e308, -1e308, 1, ...] at x = 10 gives
            // [inf, -inf, 10, ...]; layer normalisation's mean is then NaN in every column; ReLU keeps
            // it. Both backends refuse every width (they disagreed: zeros, NaN and zeros, an error).
            for w in [ 3; 8; 9; 17 ] do
                let weights = Array2D.init 1 w (fun _ j -> match j with 0 -> 1e308 | 1 -> -1e308 | _ -> 1.0)
                let net = Network.ofBlocks [ dense weights (Array.zeroCreate w) Activation.Identity; Block.LayerNorm (LayerNorm.create w); Block.Activation Activation.ReLU ]
                let x = Matrix<float>.Build.Dense(1, 1, 10.0)
                for backend in [ Backend.Reference; Backend.Kernels ] do
                    expectArgument "x" [ "not finite" ] (fun () -> Network.predictWith backend net x |> ignore) |> ignore

        testCase "both backends draw the same dropout masks: the first step's training loss (before any update) agrees to 1e-12" <| fun () ->
            // A wide dropout layer at p = 0.5 between dense layers: another mask changes the loss by
            // O(10 %); the same mask leaves only the order of sums (~1e-15).
            let net =
                Network.initBlocks 5 [ BlockSpec.Dense (LayerSpec.Of(64, Activation.Tanh)); BlockSpec.Dropout 0.5; BlockSpec.Dense (LayerSpec.Of(3, Activation.Identity)) ] 3L
            let rng = Random 5
            let x = Mat.init 40 5 (fun _ _ -> rng.NextDouble())
            let y = Mat.init 40 3 (fun _ _ -> rng.NextDouble())
            for seed in [ 0L; 1L; 77L ] do
                let options = TrainingOptions.Default.WithBatching(Batching.FullBatch).WithMaxSteps(1).WithSeed(seed)
                let first backend = (Trainer.train (options.WithBackend backend) Loss.MeanSquaredError (TrainingData.Of(x, y)) net).History.Head.TrainLoss
                let r, k = first Backend.Reference, first Backend.Kernels
                Expect.isLessThanOrEqual (abs (r - k)) (1e-12 * r) (sprintf "seed %d: reference %s, kernels %s" seed (r.ToString "R") (k.ToString "R"))
                let inference = Loss.value Loss.MeanSquaredError (Network.predict net x) y
                Expect.isGreaterThan (abs (r - inference)) (1e-3 * inference) "dropout changed the training loss (the mask is not the identity)"

        testCase "networks with custom blocks or the step activation run on the reference, the rest on the kernels" <| fun () ->
            let dense = Network.initBlocks 3 [ BlockSpec.Dense (LayerSpec.Of(4, Activation.ReLU)); BlockSpec.BatchNorm; BlockSpec.Dropout 0.1; BlockSpec.LayerNorm
                                               BlockSpec.Residual [ BlockSpec.Activation Activation.Tanh ]; BlockSpec.Dense (LayerSpec.Of(2, Activation.Identity)) ] 1L
            let x = Mat.init 6 3 (fun i j -> float (i + j) / 10.0)
            Expect.equal (Network.predictor dense).Backend Backend.Kernels "built-in blocks: the kernels"
            let step = Network.initBlocks 3 [ BlockSpec.Dense (LayerSpec.Of(4, Activation.ReLU)); BlockSpec.Residual [ BlockSpec.Activation Activation.Step ] ] 1L
            Expect.equal (Network.predictor step).Backend Backend.Reference "the step activation: the reference"
            let e = Expect.throwsT<ArgumentException> (fun () -> Network.predictWith Backend.Kernels step x |> ignore) "Kernels on the step activation"
            ignore e
    ]
