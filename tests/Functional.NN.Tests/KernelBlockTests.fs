/// The kernel trainer's blocks (dense, activation, dropout, batch and layer normalisation,
/// residual) against the straightforward C# reference of blocks-spec (tests/Kernels.Reference,
/// BlockReference: plain loops in double, each block output and gradient rounded once to the
/// network's precision), on random networks of blocks in both precisions; and the dropout masks'
/// statistics and determinism.
///
/// Tolerances, |kernel - reference| <= tol (1 + |reference|) element-wise: float64 1e-10, float32
/// 1e-4 (as the other kernel tests). Both compute each block in double and round its output once,
/// so they differ only where sums run in another order (vectors of 8 or 16 lanes against one
/// running sum; float32 products accumulate in float32 in the kernels): a few ulps per value, which
/// a normalisation can scale by r = 1/sqrt(var + eps) (up to 1/sqrt(eps), ~30 to ~300 here) in dX.
/// Measured over these cases: all within 1e-13 (float64) and 1e-6 (float32). A formula off by
/// 0.1 % (a mutant of batch normalisation's dX) fails the float64 case.
module Functional.NN.Tests.KernelBlockTests

open System
open Expecto
open Functional.NN.Kernels
open Functional.NN.Tests.KernelTests

let blockConfig = { FsCheckConfig.defaultConfig with maxTest = 40 }

let tolOf (num: Num<'T>) = if num.Name = "float64" then 1e-10 else 1e-4

let withTol (num: Num<'T>) = { num with Tol = tolOf num }

let blockActivations =
    [| ActivationKind.Identity, 0.01; ActivationKind.Sigmoid, 0.01; ActivationKind.Tanh, 0.01; ActivationKind.ReLU, 0.01
       ActivationKind.LeakyReLU, 0.2; ActivationKind.Softplus, 0.01 |]

/// A random sequence of 1-4 blocks from width w (residual inner sequences keep their width);
/// with BatchNorm only when allowed. Returns the blocks and the output width.
let rec randomBlocks (rng: Random) (depth: int) (w: int) (keepWidth: bool) (count: int) : KernelBlock list * int =
    let widths = [| 1; 3; 8; 9; 17; 33 |]
    let mutable cur = w
    let blocks =
        [ for _ in 1 .. count do
            let kind = rng.Next(if depth < 2 then 7 else 6)
            match kind with
            | 0 | 1 ->
                let units = if keepWidth then cur else widths.[rng.Next widths.Length]
                let act, slope = blockActivations.[rng.Next blockActivations.Length]
                yield KernelBlock.NewDense(units, act, slope, rng.Next 4 <> 0)
                cur <- units
            | 2 ->
                let act, slope = blockActivations.[rng.Next blockActivations.Length]
                yield KernelBlock.NewActivation(act, slope)
            | 3 -> yield KernelBlock.NewDropout([| 0.0; 0.1; 0.5; 0.8 |].[rng.Next 4])
            | 4 -> yield KernelBlock.NewBatchNorm([| 0.1; 0.5 |].[rng.Next 2], [| 1e-5; 1e-3 |].[rng.Next 2])
            | 5 -> yield KernelBlock.NewLayerNorm([| 1e-5; 1e-3 |].[rng.Next 2])
            | _ ->
                let inner, _ = randomBlocks rng (depth + 1) cur true (rng.Next 3)
                yield KernelBlock.NewResidual(List.toArray inner) ]
    blocks, cur

/// Random parameters per segment (trainer order) and state (running mean, variance) per batch norm.
let randomParameters (rng: Random) (num: Num<'T>) (trainer: DenseTrainer<'T>) =
    let ps =
        [| for s in 0 .. trainer.ParameterSegmentCount - 1 ->
             Array.init (trainer.ParameterSegment(s).Length) (fun _ -> num.To (num.Of (rng.NextDouble() - 0.5))) |]
    // gamma near 1 (as trained networks have it): segments of normalisations come in gamma, beta pairs.
    let st =
        [| for s in 0 .. trainer.StateSegmentCount - 1 ->
             Array.init (trainer.StateSegment(s).Length) (fun _ ->
                 num.To (num.Of (if s % 2 = 0 then 0.4 * (rng.NextDouble() - 0.5) else 0.5 + rng.NextDouble()))) |]
    ps, st

let load (num: Num<'T>) (trainer: DenseTrainer<'T>) (ps: float[][]) (st: float[][]) =
    for s in 0 .. ps.Length - 1 do (Array.map num.Of ps.[s]).AsSpan().CopyTo(trainer.ParameterSegment s)
    for s in 0 .. st.Length - 1 do (Array.map num.Of st.[s]).AsSpan().CopyTo(trainer.StateSegment s)

/// Every pass of a trainer of these blocks against the reference: training-mode loss, gradients,
/// dL/dX and running statistics; inference output, one-row prediction and dL/dX; a fused SGD step.
/// Returns the training-mode gradients (per segment) for further checks.
let inline checkAgainstReference (num: Num<'T>) (rng: Random) (trainer: DenseTrainer<'T>) (blocks: KernelBlock[]) (inputs: int) (outputs: int)
                                 (loss: LossKind) (rows: int) (seed: int) =
    let ps, st = randomParameters rng num trainer
    load num trainer ps st
    let x = Array.init (rows * inputs) (fun _ -> num.To (num.Of (2.0 * rng.NextDouble() - 1.0)))
    let y =
        match loss with
        | LossKind.SoftmaxCrossEntropy -> Array.init (rows * outputs) (fun idx -> if idx % outputs = (idx / outputs) % outputs then 1.0 else 0.0)
        | _ -> Array.init (rows * outputs) (fun _ -> num.To (num.Of (rng.NextDouble())))
    let xs, ys = Array.map num.Of x, Array.map num.Of y
    let round (v: float) = num.To (num.Of v)
    let reference = BlockReference(inputs, blocks, Func<float, float> round)
    let key = Formulas.DropoutKey(int64 seed, 7L)
    let what = sprintf "%s rows=%d batch=%d %A %A" (String.Join(" ", blocks |> Array.map string)) rows trainer.BatchSize loss trainer.Parallelism
    let segs (a: float[][]) = a |> Array.map (Array.map num.Of)
    // Training mode: loss, every parameter gradient, dL/dX, running statistics after the pass.
    let r = reference.Run(ps, st, x, y, rows, loss, PassMode.Training, key)
    let value = trainer.ComputeGradients(ReadOnlySpan xs, ReadOnlySpan ys, rows, PassMode.Training, key, true)
    expectScalarClose num ("training loss " + what) r.Loss value
    let grads = [| for s in 0 .. ps.Length - 1 -> trainer.GradientSegment(s).ToArray() |]
    for s in 0 .. ps.Length - 1 do
        expectClose num (sprintf "gradient segment %d %s" s what) (segs r.Gradients).[s] grads.[s]
    let dx = if trainer.InputGradientsEnabled then trainer.InputGradients(rows).ToArray() else [||]
    if trainer.InputGradientsEnabled then
        expectClose num ("dL/dX " + what) (Array.map num.Of r.InputGradient) dx
    for s in 0 .. st.Length - 1 do
        expectClose num (sprintf "running statistics %d after a training pass %s" s what) (segs r.State).[s] (trainer.StateSegment(s).ToArray())
    // Inference mode from the original state: the output (batch and one row).
    load num trainer ps st
    let ri = reference.Run(ps, st, x, y, rows, loss, PassMode.Inference, key)
    expectClose num ("inference output " + what) (Array.map num.Of ri.Output) (trainer.Forward(ReadOnlySpan xs, rows).ToArray())
    let one = Array.zeroCreate<'T> outputs
    trainer.Predict(ReadOnlySpan(xs, 0, inputs), Span one)
    expectClose num ("one-row prediction " + what) (Array.map num.Of ri.Output.[0 .. outputs - 1]) one
    // Inference-mode gradients (explanations): dL/dX with the running statistics as constants.
    if trainer.InputGradientsEnabled then
        trainer.ComputeGradients(ReadOnlySpan xs, ReadOnlySpan ys, rows, PassMode.Inference, 0UL, false) |> ignore
        expectClose num ("inference dL/dX " + what) (Array.map num.Of ri.InputGradient) (trainer.InputGradients(rows).ToArray())
        for s in 0 .. st.Length - 1 do
            expectClose num (sprintf "running statistics %d unchanged by inference %s" s what) (segs st).[s] (trainer.StateSegment(s).ToArray())
    // A fused SGD step: theta - rate grad, the running statistics updated.
    load num trainer ps st
    let rate = 0.1
    let stepLoss = trainer.Step(ReadOnlySpan xs, ReadOnlySpan ys, rows, num.Of rate, key)
    expectScalarClose num ("step loss " + what) r.Loss stepLoss
    for s in 0 .. ps.Length - 1 do
        let expected = Array.map2 (fun p g -> num.Of (p - rate * g)) ps.[s] r.Gradients.[s]
        expectClose num (sprintf "parameter segment %d after a step %s" s what) expected (trainer.ParameterSegment(s).ToArray())
    for s in 0 .. st.Length - 1 do
        expectClose num (sprintf "running statistics %d after a step %s" s what) (segs r.State).[s] (trainer.StateSegment(s).ToArray())
    value, grads, dx

let inline blockCase (num0: Num<'T>) (seed: int) =
    let num = withTol num0
    let rng = Random seed
    let inputs = [| 1; 4; 8; 11; 20 |].[rng.Next 5]
    let blocks, outputs = randomBlocks rng 0 inputs false (1 + rng.Next 4)
    let blocks = Array.ofList blocks
    let loss = [| LossKind.SoftmaxCrossEntropy; LossKind.MeanSquaredError; LossKind.HalfMeanSquaredError |].[rng.Next 3]
    let batch = 2 + rng.Next 40
    let rows = if rng.Next 3 = 0 then 2 + rng.Next(batch - 1) else batch
    let trainer = DenseTrainer<'T>(inputs, blocks, loss, batch)
    trainer.Parallelism <- [| TrainerParallelism.Auto; TrainerParallelism.Kernels; TrainerParallelism.Batch; TrainerParallelism.None |].[rng.Next 4]
    trainer.InputGradientsEnabled <- rng.Next 2 = 0
    checkAgainstReference num rng trainer blocks inputs outputs loss rows seed |> ignore

/// Large batches: the element passes split over the worker pool (batch normalisation over
/// columns, the rest over rows) and, without batch normalisation, the batch split by rows. Each
/// equals the reference, and splitting the passes changes no bit (every element is computed
/// the same way whichever thread computes it; the matrix products are bit-identical threaded).
let inline largeBatches (num0: Num<'T>) =
    let num = withTol num0
    let inputs, width, rows = 20, 130, 300
    let withBatchNorm =
        [| KernelBlock.NewDense(width, ActivationKind.Identity); KernelBlock.NewBatchNorm(); KernelBlock.NewActivation ActivationKind.ReLU
           KernelBlock.NewDropout 0.2; KernelBlock.NewResidual [| KernelBlock.NewLayerNorm(); KernelBlock.NewDense(width, ActivationKind.Tanh) |]
           KernelBlock.NewDense 10 |]
    let run (blocks: KernelBlock[]) (parallelism: TrainerParallelism) =
        let t = DenseTrainer<'T>(inputs, blocks, LossKind.SoftmaxCrossEntropy, rows)
        t.Parallelism <- parallelism
        t.InputGradientsEnabled <- true
        checkAgainstReference num (Random 17) t blocks inputs 10 LossKind.SoftmaxCrossEntropy rows 17
    let l1, g1, d1 = run withBatchNorm TrainerParallelism.None
    let l2, g2, d2 = run withBatchNorm TrainerParallelism.Kernels
    Expect.equal (num.To (num.Of l2)) (num.To (num.Of l1)) "the loss split or not"
    for s in 0 .. g1.Length - 1 do
        Expect.isTrue ((Array.map num.To g1.[s]) = (Array.map num.To g2.[s])) (sprintf "%s gradient segment %d: split passes equal one thread bit for bit" num.Name s)
    Expect.isTrue ((Array.map num.To d1) = (Array.map num.To d2)) (sprintf "%s dL/dX: split passes equal one thread bit for bit" num.Name)
    // Without batch normalisation the batch itself is split by rows (partial gradients summed).
    let rowLocal =
        [| KernelBlock.NewDense(width, ActivationKind.ReLU); KernelBlock.NewLayerNorm(); KernelBlock.NewDropout 0.3
           KernelBlock.NewResidual [| KernelBlock.NewActivation ActivationKind.Tanh |]; KernelBlock.NewDense 10 |]
    run rowLocal TrainerParallelism.Batch |> ignore

/// Dense layers whose output only the next dense layer reads get their activation's derivative
/// in the epilogue of that layer's dX product, on the rows each thread computes (or on all rows
/// after the product where it is cut along its columns; so is a layer's bias and activation in
/// its forward product, and the first layer's forward product is cut so wherever it has two
/// panels of columns). Softplus's derivative differs in the last bits between the pass's vector
/// body and its scalar tail, so widths that leave tails (10 and 13 columns; 40 and 45, two or
/// three panels of columns with a tail in the last; 100 and 150, whose gradient products are cut
/// by columns in float32 and float64 respectively, Gemm.SplitAlongN), 40 rows (cut 20 / 20
/// between two threads, where the whole batch's tail falls elsewhere) and every product split
/// (ParallelThreshold 0) test that the bits do not depend on the split: the gradients and dL/dX
/// equal those of one thread bit for bit (and the reference within tolerance, checked by
/// checkAgainstReference).
let inline fusedDerivativeSplit (num0: Num<'T>) =
    let num = withTol num0
    let inputs, rows = 64, 40
    for first, second in [ 10, 13; 40, 45; 100, 45; 150, 10 ] do
        let blocks =
            [| KernelBlock.NewDense(first, ActivationKind.Softplus); KernelBlock.NewDense(second, ActivationKind.Softplus)
               KernelBlock.NewDense(7, ActivationKind.Tanh); KernelBlock.NewDense 5 |]
        let run (parallelism: TrainerParallelism) =
            let t = DenseTrainer<'T>(inputs, blocks, LossKind.SoftmaxCrossEntropy, rows)
            t.Parallelism <- parallelism
            t.InputGradientsEnabled <- true
            checkAgainstReference num (Random 19) t blocks inputs 5 LossKind.SoftmaxCrossEntropy rows 19
        let threshold = Gemm.ParallelThreshold
        Gemm.ParallelThreshold <- 0L
        try
            let _, g1, d1 = run TrainerParallelism.None
            let _, g2, d2 = run TrainerParallelism.Kernels
            for s in 0 .. g1.Length - 1 do
                Expect.isTrue ((Array.map num.To g1.[s]) = (Array.map num.To g2.[s]))
                    (sprintf "%s widths %d, %d, gradient segment %d: split products equal one thread bit for bit" num.Name first second s)
            Expect.isTrue ((Array.map num.To d1) = (Array.map num.To d2)) (sprintf "%s widths %d, %d, dL/dX: split products equal one thread bit for bit" num.Name first second)
        finally Gemm.ParallelThreshold <- threshold

/// The fraction of kept elements of n masks at rate p: within 5 binomial standard deviations of
/// 1 - p (a fixed key, so the test is deterministic; a fair generator fails it with probability ~6e-7).
let keepStatistics (p: float) =
    let key = Formulas.DropoutKey(42L, 3L)
    let rows, cols = 400, 500
    let mutable kept = 0
    for i in 0 .. rows - 1 do
        for j in 0 .. cols - 1 do
            if Formulas.DropoutKeep(key, 1, i, j, p) then kept <- kept + 1
    let n = float (rows * cols)
    let sigma = sqrt (n * p * (1.0 - p))
    let expected = n * (1.0 - p)
    Expect.isLessThanOrEqual (abs (float kept - expected)) (5.0 * sigma)
        (sprintf "kept %d of %.0f at p = %g; expected %.0f +- 5 x %.1f" kept n p expected sigma)

/// The trainer's vectorised masks equal Formulas.DropoutKeep element by element (a width with a
/// vector part and a scalar tail), and the output is x / (1 - p) where kept, 0 where dropped.
let inline trainerMasks (num: Num<'T>) =
    let p, rows, cols = 0.3, 6, 37
    let trainer = DenseTrainer<'T>(cols, [| KernelBlock.NewDropout p |], LossKind.MeanSquaredError, rows)
    let x = Array.init (rows * cols) (fun i -> num.Of (1.0 + float (i % 5)))
    let key = Formulas.DropoutKey(9L, 123L)
    let out = trainer.Forward(ReadOnlySpan x, rows, PassMode.Training, key).ToArray()
    for i in 0 .. rows - 1 do
        for j in 0 .. cols - 1 do
            let keep = Formulas.DropoutKeep(key, 0, i, j, p)
            // Expected: x (1 / (1 - p)) rounded once to the element type (the core's X o M, M = 1/(1-p) where kept).
            let expected = if keep then num.Of (num.To x.[i * cols + j] * (1.0 / (1.0 - p))) else num.Of 0.0
            Expect.equal (num.To out.[i * cols + j]) (num.To expected) (sprintf "%s element (%d, %d), kept %b" num.Name i j keep)
    // Inference: the identity.
    let inf = trainer.Forward(ReadOnlySpan x, rows).ToArray()
    Expect.sequenceEqual (Array.map num.To inf) (Array.map num.To x) "inference dropout is the identity"

/// Bytes allocated on this thread by 100 training steps (fused SGD, and gradients with the
/// running statistics updated), inference passes and one-row predictions of U1-blocks' network
/// (dense, batch normalisation, ReLU, dropout twice, then dense), after a warm-up.
let inline blockStepAllocations (num: Num<'T>) =
    let blocks =
        [| KernelBlock.NewDense 128; KernelBlock.NewBatchNorm(); KernelBlock.NewActivation ActivationKind.ReLU; KernelBlock.NewDropout 0.1
           KernelBlock.NewDense 64; KernelBlock.NewBatchNorm(); KernelBlock.NewActivation ActivationKind.ReLU; KernelBlock.NewDropout 0.1
           KernelBlock.NewDense 10 |]
    let batch = 128
    let trainer = DenseTrainer<'T>(64, blocks, LossKind.SoftmaxCrossEntropy, batch)
    trainer.InitializeGlorot 1
    let rng = Random 3
    let x = randomArray rng num (batch * 64)
    let y = Array.init (batch * 10) (fun idx -> if idx % 10 = (idx / 10) % 10 then num.Of 1.0 else num.Of 0.0)
    let rate = num.Of 0.01
    let one = Array.zeroCreate<'T> 10
    let run (count: int) =
        for s in 1 .. count do
            let key = Formulas.DropoutKey(1L, int64 s)
            trainer.Step(ReadOnlySpan x, ReadOnlySpan y, batch, rate, key) |> ignore
            trainer.ComputeGradients(ReadOnlySpan x, ReadOnlySpan y, batch, PassMode.Training, key, true) |> ignore
            trainer.EvaluateLoss(ReadOnlySpan x, ReadOnlySpan y, batch) |> ignore
            trainer.Predict(ReadOnlySpan(x, 0, 64), Span one)
    run 5
    let before = GC.GetAllocatedBytesForCurrentThread()
    run 100
    GC.GetAllocatedBytesForCurrentThread() - before

[<Tests>]
let tests =
    testList "Kernels.Blocks" [
        testPropertyWithConfig blockConfig "float64 random networks of blocks: loss, gradients, dX, running statistics, inference and a step equal the reference" (blockCase f64)
        testPropertyWithConfig blockConfig "float32 random networks of blocks: loss, gradients, dX, running statistics, inference and a step equal the reference" (blockCase f32)
        testCase "float64 large batches: split passes and the batch split equal the reference, split passes bit for bit" <| fun () -> largeBatches f64
        testCase "float32 large batches: split passes and the batch split equal the reference, split passes bit for bit" <| fun () -> largeBatches f32
        testCase "float64 softplus layers: the activation derivative fused into the next layer's dX product gives the same bits split or not" <| fun () -> fusedDerivativeSplit f64
        testCase "float32 softplus layers: the activation derivative fused into the next layer's dX product gives the same bits split or not" <| fun () -> fusedDerivativeSplit f32
        testSequenced <| testCase "float64 steps of a network of blocks allocate nothing" (fun () ->
            Expect.equal (blockStepAllocations f64) 0L "bytes allocated on the calling thread by 100 steps")
        testSequenced <| testCase "float32 steps of a network of blocks allocate nothing" (fun () ->
            Expect.equal (blockStepAllocations f32) 0L "bytes allocated on the calling thread by 100 steps")
        testCase "dropout keeps 1 - p of the elements (binomial bounds) at p = 0.1, 0.5, 0.9" <| fun () ->
            for p in [ 0.1; 0.5; 0.9 ] do keepStatistics p
        testCase "dropout masks are a function of (key, block, row, column) alone" <| fun () ->
            let k = Formulas.DropoutKey(5L, 11L)
            Expect.equal (Formulas.DropoutKey(5L, 11L)) k "the same seed and step give the same key"
            let keys = [ for s in 0L .. 999L -> Formulas.DropoutKey(5L, s) ] @ [ for seed in 0L .. 999L -> Formulas.DropoutKey(seed, 11L) ]
            Expect.equal (List.distinct keys).Length (keys.Length - 1) "2000 (seed, step) pairs, one repeated (5, 11), give 1999 keys"
            let mask key block = [| for i in 0 .. 19 do for j in 0 .. 19 -> Formulas.DropoutKeep(key, block, i, j, 0.5) |]
            Expect.equal (mask k 0) (mask k 0) "the same arguments give the same mask"
            Expect.notEqual (mask k 0) (mask k 1) "another block draws another mask"
            Expect.notEqual (mask k 0) (mask (Formulas.DropoutKey(5L, 12L)) 0) "another step draws another mask"
            Expect.isTrue (Array.forall id [| for i in 0 .. 9 -> Formulas.DropoutKeep(k, 0, i, 0, 0.0) |]) "rate 0 keeps everything"
        testCase "a dropout rate outside [0, 1) is refused" <| fun () ->
            for p in [ -0.1; 1.0; nan ] do
                Expect.throwsT<ArgumentOutOfRangeException> (fun () -> Formulas.DropoutThreshold p |> ignore) "bad rate of the vector test"
                Expect.throwsT<ArgumentOutOfRangeException> (fun () -> KernelBlock.NewDropout p |> ignore) "bad rate of a block"
        testCase "float64 trainer masks equal Formulas.DropoutKeep" <| fun () -> trainerMasks f64
        testCase "float32 trainer masks equal Formulas.DropoutKeep" <| fun () -> trainerMasks f32
        testCase "batch normalisation in training mode refuses a batch of one row" <| fun () ->
            let t = DenseTrainer<float>(3, [| KernelBlock.NewBatchNorm() |], LossKind.MeanSquaredError, 4)
            let x, y = Array.zeroCreate<float> 3, Array.zeroCreate<float> 3
            let oneRow () = t.ComputeGradients(ReadOnlySpan x, ReadOnlySpan y, 1) |> ignore
            Expect.throwsT<ArgumentOutOfRangeException> oneRow "one row"
            // Inference works on one row.
            Expect.equal (t.Forward(ReadOnlySpan x, 1).Length) 3 "one row of 3 outputs"
        testCase "a residual block whose inner blocks change the width is refused" <| fun () ->
            Expect.throwsT<ArgumentException> (fun () ->
                DenseTrainer<float>(3, [| KernelBlock.NewResidual [| KernelBlock.NewDense 4 |] |], LossKind.MeanSquaredError, 4) |> ignore) "width 3 -> 4"
        testCase "the flat parameter order: blocks in order, depth first, W then b, gamma then beta" <| fun () ->
            let blocks =
                [| KernelBlock.NewDense(4, ActivationKind.ReLU); KernelBlock.NewBatchNorm()
                   KernelBlock.NewResidual [| KernelBlock.NewLayerNorm(); KernelBlock.NewDense(4, bias = false) |]
                   KernelBlock.NewDense 2 |]
            let t = DenseTrainer<float>(3, blocks, LossKind.MeanSquaredError, 4)
            // Hand count: W 3x4, b 4, gamma 4, beta 4, gamma 4, beta 4, W 4x4 (no bias), W 4x2, b 2.
            let lengths = [ for s in 0 .. t.ParameterSegmentCount - 1 -> t.ParameterSegment(s).Length ]
            Expect.equal lengths [ 12; 4; 4; 4; 4; 4; 16; 8; 2 ] "segment lengths"
            Expect.equal t.ParameterCount 58 "parameter count"
            Expect.equal t.StateSegmentCount 2 "one batch norm: running mean, running variance"
            Expect.sequenceEqual (t.StateSegment(1).ToArray()) [| 1.0; 1.0; 1.0; 1.0 |] "running variance starts at 1"
            Expect.sequenceEqual (t.ParameterSegment(2).ToArray()) [| 1.0; 1.0; 1.0; 1.0 |] "gamma starts at 1"
    ]
