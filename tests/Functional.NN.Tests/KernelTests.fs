/// Equivalence of the fast kernels (Functional.NN.Kernels) with simple reference loops, in float64
/// and float32, on random shapes including the awkward ones (1, 7, 33, 130, ...).
///
/// Tolerances: |fast - reference| <= tol * (1 + |reference|) element-wise, with tol = 1e-12 for
/// float64 and 1e-4 for float32 (the reference is computed in double). Products use k <= 300
/// values in [-1, 1], so the rounding error of either path is far below these bounds.
module Functional.NN.Tests.KernelTests

#nowarn "9" // NativePtr: the row-vector test calls Gemm.Run on pinned arrays, as the trainer does

open System
open Expecto
open Functional.NN.Kernels

/// Conversions between an element type and double, so one test body serves both precisions.
type Num<'T> = { Of: float -> 'T; To: 'T -> float; Tol: float; Name: string }

let f64: Num<float> = { Of = id; To = id; Tol = 1e-12; Name = "float64" }
let f32: Num<float32> = { Of = float32; To = float; Tol = 1e-4; Name = "float32" }

let config = { FsCheckConfig.defaultConfig with maxTest = 25 }

/// Sizes that exercise the edges of the 12-row and 16/32-column register tiles and of the blocks.
let awkward = [| 1; 2; 7; 11; 12; 13; 16; 17; 31; 33; 64; 130 |]

let pickSize (rng: Random) maxSize =
    if rng.NextDouble() < 0.6 then awkward.[rng.Next awkward.Length] else 1 + rng.Next maxSize

let randomArray (rng: Random) (num: Num<'T>) (n: int) : 'T[] =
    Array.init n (fun _ -> num.Of (2.0 * rng.NextDouble() - 1.0))

/// Fails with both numbers in full at the worst element.
let expectClose (num: Num<'T>) (what: string) (expected: 'T[]) (actual: 'T[]) =
    Expect.equal actual.Length expected.Length (sprintf "%s: length" what)
    let mutable worst = -1
    let mutable worstExcess = 0.0
    for i in 0 .. expected.Length - 1 do
        let e = num.To expected.[i]
        let a = num.To actual.[i]
        let excess = abs (a - e) - num.Tol * (1.0 + abs e)
        if Double.IsNaN a <> Double.IsNaN e || excess > worstExcess then
            worst <- i
            worstExcess <- (if Double.IsNaN excess then infinity else excess)
    if worst >= 0 then
        failtestf "%s (%s): element %d is %s, the reference %s (tolerance %g relative)" what num.Name worst
            ((num.To actual.[worst]).ToString "R") ((num.To expected.[worst]).ToString "R") num.Tol

let expectScalarClose (num: Num<'T>) (what: string) (expected: float) (actual: float) =
    if not (abs (actual - expected) <= num.Tol * (1.0 + abs expected)) then
        failtestf "%s (%s): %s, the reference %s (tolerance %g relative)" what num.Name (actual.ToString "R") (expected.ToString "R") num.Tol

// ---------------------------------------------------------------------------------------------
// Matrix product

let inline gemmCase (num: Num<'T>) (seed: int) =
    let rng = Random seed
    let m, n, k = pickSize rng 150, pickSize rng 150, pickSize rng 300
    let ta, tb = rng.Next 2 = 1, rng.Next 2 = 1
    // Row strides a little larger than the stored column counts, sometimes.
    let pad () = if rng.Next 3 = 0 then rng.Next(1, 5) else 0
    let aRows, aCols = (if ta then k, m else m, k)
    let bRows, bCols = (if tb then n, k else k, n)
    let lda, ldb, ldc = aCols + pad (), bCols + pad (), n + pad ()
    let a = randomArray rng num ((aRows - 1) * lda + aCols)
    let b = randomArray rng num ((bRows - 1) * ldb + bCols)
    let alphas = [| 1.0; -0.5; 2.5 |]
    let betas = [| 0.0; 1.0; -0.75 |]
    let alpha = num.Of alphas.[rng.Next alphas.Length]
    let beta = num.Of betas.[rng.Next betas.Length]
    let c0 = randomArray rng num ((m - 1) * ldc + n)
    // With beta = 0, C is not read: NaN there must not reach the result.
    if num.To beta = 0.0 then c0.[0] <- num.Of nan
    let expected = Array.copy c0
    Reference.Gemm(ta, tb, m, n, k, alpha, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, beta, Span expected, ldc)
    let actual = Array.copy c0
    Gemm.MultiplySpan(ta, tb, m, n, k, alpha, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, beta, Span actual, ldc)
    // Compare the m x n entries only (the gaps between rows are untouched by both).
    let pick (c: 'T[]) = [| for i in 0 .. m - 1 do for j in 0 .. n - 1 -> c.[i * ldc + j] |]
    expectClose num (sprintf "C = %g op(A) op(B) + %g C, m=%d n=%d k=%d ta=%b tb=%b" (num.To alpha) (num.To beta) m n k ta tb)
        (pick expected) (pick actual)
    // Gaps between rows are not written.
    for i in 0 .. m - 2 do
        for j in n .. ldc - 1 do
            Expect.equal (num.To actual.[i * ldc + j]) (num.To c0.[i * ldc + j]) "gap between rows of C was written"

let inline gemmLarge (num: Num<'T>) (m, n, k) =
    let rng = Random(m * 7 + n * 3 + k)
    let a = randomArray rng num (m * k)
    let b = randomArray rng num (k * n)
    for ta, tb in [ false, false; true, false; false, true; true, true ] do
        let expected = Array.zeroCreate<'T> (m * n)
        Reference.Gemm(ta, tb, m, n, k, num.Of 1.0, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan b, (if tb then k else n), num.Of 0.0, Span expected, n)
        let actual = Array.zeroCreate<'T> (m * n)
        Gemm.Multiply(ta, tb, m, n, k, ReadOnlySpan a, ReadOnlySpan b, Span actual)
        expectClose num (sprintf "C = op(A) op(B), m=%d n=%d k=%d ta=%b tb=%b" m n k ta tb) expected actual

/// C = alpha op(A) op(B) + beta C through Gemm.Run on pinned copies, on the calling thread only
/// (threaded = false, what FNN_THREADS=1 runs) or split over the worker pool (threaded = true)
/// with the given cut.
let gemmRunCut (cut: GemmCut) (ta, tb) (m, n, k) (alpha: 'T) (a: 'T[]) (b: 'T[]) (beta: 'T) (c0: 'T[]) (threaded: bool) : 'T[] =
    let c = Array.copy c0
    let hx = Runtime.InteropServices.GCHandle.Alloc(a, Runtime.InteropServices.GCHandleType.Pinned)
    let hb = Runtime.InteropServices.GCHandle.Alloc(b, Runtime.InteropServices.GCHandleType.Pinned)
    let hc = Runtime.InteropServices.GCHandle.Alloc(c, Runtime.InteropServices.GCHandleType.Pinned)
    try
        Gemm.Run(ta, tb, m, n, k, alpha, NativeInterop.NativePtr.ofNativeInt (hx.AddrOfPinnedObject()), nativeint (if ta then m else k),
                 NativeInterop.NativePtr.ofNativeInt (hb.AddrOfPinnedObject()), nativeint (if tb then k else n), beta,
                 NativeInterop.NativePtr.ofNativeInt (hc.AddrOfPinnedObject()), nativeint n, threaded, null, cut)
    finally hx.Free(); hb.Free(); hc.Free()
    c

/// gemmRunCut with the cut of least work (GemmCut.Auto).
let gemmRun (ta, tb) (m, n, k) (alpha: 'T) (a: 'T[]) (b: 'T[]) (beta: 'T) (c0: 'T[]) (threaded: bool) : 'T[] =
    gemmRunCut GemmCut.Auto (ta, tb) (m, n, k) alpha a b beta c0 threaded

/// Products across this machine's blocks (Gemm.BlockingOf: m > MC with k > KC, n > NC), the
/// shapes that the work split cuts along m (square) and along n (W1's 128 x 256 layer), W1's first
/// layer (forward 128 x 256 x 784 and the update's 784 x 256 x 128 with A transposed) and a
/// product of 20 columns (one panel of columns in float32, two in float64 on AVX-512 machines):
/// each equals the triple loop (Reference.Gemm) within rounding, and the threaded result, with
/// the cut of least work and with the cut by columns (GemmCut.Columns, which falls back to rows
/// where there is one panel of columns), equals the single-threaded one bit for bit (each
/// element is the same sum in the same order however the work is cut).
let inline gemmAcrossBlocks (num: Num<'T>) =
    let bl = Gemm.BlockingOf<'T>()
    let shapes =
        [ (bl.MC + 13, 70, min 1100 (bl.KC + 37)), [ false, false; true, true ]
          (13, bl.NC + 40, 37), [ false, false; false, true ]
          (256, 256, 256), [ false, false; true, false ]
          (128, 256, 292), [ false, false; false, true ]
          (128, 256, 784), [ false, false ]
          (784, 256, 128), [ true, false ]
          (200, 20, 300), [ false, false; true, false ] ]
    for (m, n, k), transposes in shapes do
        let rng = Random(m + 5 * n + 11 * k)
        let a, b, c0 = randomArray rng num (m * k), randomArray rng num (k * n), randomArray rng num (m * n)
        for ta, tb in transposes do
            for alpha, beta in [ 1.0, 0.0; 0.5, -1.25 ] do
                let expected = Array.copy c0
                Reference.Gemm(ta, tb, m, n, k, num.Of alpha, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan b, (if tb then k else n), num.Of beta, Span expected, n)
                let single = gemmRun (ta, tb) (m, n, k) (num.Of alpha) a b (num.Of beta) c0 false
                let threaded = gemmRun (ta, tb) (m, n, k) (num.Of alpha) a b (num.Of beta) c0 true
                let what = sprintf "%s m=%d n=%d k=%d ta=%b tb=%b alpha=%g beta=%g (%A)" num.Name m n k ta tb alpha beta bl
                expectClose num what expected single
                Expect.isTrue ((Array.map num.To threaded) = (Array.map num.To single)) (what + ": threaded equals single-threaded bit for bit")
                let byColumns = gemmRunCut GemmCut.Columns (ta, tb) (m, n, k) (num.Of alpha) a b (num.Of beta) c0 true
                Expect.isTrue ((Array.map num.To byColumns) = (Array.map num.To single)) (what + ": threaded and cut by columns equals single-threaded bit for bit")

// ---------------------------------------------------------------------------------------------
// Element-wise passes

let activations =
    [| ActivationKind.Identity, 0.0; ActivationKind.Sigmoid, 0.0; ActivationKind.Tanh, 0.0
       ActivationKind.ReLU, 0.0; ActivationKind.LeakyReLU, 0.01; ActivationKind.LeakyReLU, 0.3
       ActivationKind.LeakyReLU, -0.2; ActivationKind.Softplus, 0.0 |]

let inline activationCase (num: Num<'T>) (seed: int) =
    let rng = Random seed
    let rows, cols = pickSize rng 40, pickSize rng 70
    let kind, slope = activations.[rng.Next activations.Length]
    let slopeT = num.Of slope
    // Values up to +-40 reach the saturated ends; a few exact zeros sit on the kinks.
    let z0 = Array.init (rows * cols) (fun _ -> if rng.Next 10 = 0 then num.Of 0.0 else num.Of (40.0 * (2.0 * rng.NextDouble() - 1.0) ** 3.0))
    let bias = randomArray rng num cols
    let zRef, aRef = Array.copy z0, Array.zeroCreate<'T> (rows * cols)
    Reference.BiasActivate(Span zRef, Span aRef, rows, cols, ReadOnlySpan bias, kind, slopeT)
    // Separate buffers: z keeps the pre-activation.
    let z, a = Array.copy z0, Array.zeroCreate<'T> (rows * cols)
    Activations.BiasActivate(Span z, Span a, rows, cols, ReadOnlySpan bias, kind, slopeT)
    expectClose num (sprintf "pre-activation %A %dx%d" kind rows cols) zRef z
    expectClose num (sprintf "s(z + b) %A(%g) %dx%d" kind slope rows cols) aRef a
    // In place.
    let x = Array.copy z0
    Activations.BiasActivate(Span x, rows, cols, ReadOnlySpan bias, kind, slopeT)
    expectClose num (sprintf "s(z + b) in place %A %dx%d" kind rows cols) aRef x
    // Derivative: G <- G o s'(Z), given the reference Z and A (z only where the kernel needs it).
    let g0 = randomArray rng num (rows * cols)
    let gRef = Array.copy g0
    Reference.MultiplyByDerivative(Span gRef, ReadOnlySpan aRef, ReadOnlySpan zRef, kind, slopeT)
    let g = Array.copy g0
    let zArg = if Activations.DerivativeFromOutput(kind, slope) then ReadOnlySpan<'T>.Empty else ReadOnlySpan zRef
    Activations.MultiplyByDerivative(Span g, ReadOnlySpan aRef, zArg, kind, slopeT)
    expectClose num (sprintf "G o s'(Z) %A(%g) %dx%d" kind slope rows cols) gRef g

/// NaN at one position of rows of widths 1 to 20: in the vector body of a row or in its scalar
/// tail. Every activation must give NaN there (torch.relu(nan) = nan; by hand for the others), as
/// the reference does, on both fused passes (bias + activation, activation alone); the derivatives
/// must agree with the reference's (0 for ReLU, the slope for the leaky ReLU, NaN for the others).
let inline nanActivationCase (num: Num<'T>) =
    for kind, slope in activations do
        let slopeT = num.Of slope
        for cols in 1 .. 20 do
            for at in 0 .. cols - 1 do
                let rows = 2
                let z0 = Array.init (rows * cols) (fun k -> num.Of (if k = cols + at then nan else float (k % 5) - 2.0))
                let bias = Array.init cols (fun j -> num.Of (0.25 * float j))
                let zRef, aRef = Array.copy z0, Array.zeroCreate<'T> (rows * cols)
                Reference.BiasActivate(Span zRef, Span aRef, rows, cols, ReadOnlySpan bias, kind, slopeT)
                Expect.isTrue (Double.IsNaN (num.To aRef.[cols + at])) (sprintf "reference %A(NaN)" kind)
                let what = sprintf "%A(%g) NaN at column %d of %d" kind slope at cols
                let x = Array.copy z0
                Activations.BiasActivate(Span x, rows, cols, ReadOnlySpan bias, kind, slopeT)
                expectClose num ("s(z + b) " + what) aRef x
                let a = Array.zeroCreate<'T> (rows * cols)
                Activations.Apply(ReadOnlySpan zRef, Span a, rows, cols, kind, slopeT)
                expectClose num ("s(z) " + what) aRef a
                let g0 = Array.init (rows * cols) (fun k -> num.Of (1.0 + 0.125 * float k))
                let gRef = Array.copy g0
                Reference.MultiplyByDerivative(Span gRef, ReadOnlySpan aRef, ReadOnlySpan zRef, kind, slopeT)
                let g = Array.copy g0
                let zArg = if Activations.DerivativeFromOutput(kind, slope) then ReadOnlySpan<'T>.Empty else ReadOnlySpan zRef
                Activations.MultiplyByDerivative(Span g, ReadOnlySpan aRef, zArg, kind, slopeT)
                expectClose num ("G o s'(Z) " + what) gRef g

let inline columnSumsCase (num: Num<'T>) (seed: int) =
    let rng = Random seed
    let rows, cols = pickSize rng 200, pickSize rng 150
    let x = randomArray rng num (rows * cols)
    let alpha, beta = num.Of (if rng.Next 2 = 0 then 1.0 else -0.1), num.Of (if rng.Next 2 = 0 then 0.0 else 1.0)
    let s0 = randomArray rng num cols
    if num.To beta = 0.0 then s0.[0] <- num.Of nan
    let expected, actual = Array.copy s0, Array.copy s0
    Reference.ColumnSums(ReadOnlySpan x, rows, cols, Span expected, alpha, beta)
    Reductions.ColumnSums(ReadOnlySpan x, rows, cols, Span actual, alpha, beta)
    expectClose num (sprintf "column sums %dx%d alpha=%g beta=%g" rows cols (num.To alpha) (num.To beta)) expected actual

let inline softmaxCase (num: Num<'T>) (seed: int) =
    let rng = Random seed
    let rows, cols = pickSize rng 60, pickSize rng 40
    // Logits up to +-30, and sometimes huge (1e4) to check that nothing overflows.
    let scale = if rng.Next 4 = 0 then 1e4 else 30.0
    let z = Array.init (rows * cols) (fun _ -> num.Of (scale * (2.0 * rng.NextDouble() - 1.0)))
    // One-hot rows, or probability rows.
    let y = Array.zeroCreate<'T> (rows * cols)
    let oneHot = rng.Next 2 = 0
    for i in 0 .. rows - 1 do
        if oneHot then y.[i * cols + rng.Next cols] <- num.Of 1.0
        else
            let w = Array.init cols (fun _ -> rng.NextDouble())
            let s = Array.sum w
            for j in 0 .. cols - 1 do y.[i * cols + j] <- num.Of (w.[j] / s)
    let gRef = Array.zeroCreate<'T> (rows * cols)
    let lossRef = Reference.SoftmaxCrossEntropy(ReadOnlySpan z, ReadOnlySpan y, Span gRef, rows, cols)
    let g = Array.zeroCreate<'T> (rows * cols)
    let loss = Losses.SoftmaxCrossEntropy(ReadOnlySpan z, ReadOnlySpan y, Span g, rows, cols)
    Expect.isTrue (Double.IsFinite loss) (sprintf "softmax CE loss is finite with logits up to %g" scale)
    expectScalarClose num (sprintf "softmax CE loss %dx%d (logits to %g)" rows cols scale) lossRef loss
    expectClose num (sprintf "softmax CE gradient %dx%d" rows cols) gRef g
    // In place: the gradient over the logits.
    let zz = Array.copy z
    let loss2 = Losses.SoftmaxCrossEntropy(ReadOnlySpan zz, ReadOnlySpan y, Span zz, rows, cols)
    expectScalarClose num "softmax CE loss in place" lossRef loss2
    expectClose num "softmax CE gradient in place" gRef zz

let inline mseCase (num: Num<'T>) (seed: int) =
    let rng = Random seed
    let rows, cols = pickSize rng 100, pickSize rng 40
    let yhat, y = randomArray rng num (rows * cols), randomArray rng num (rows * cols)
    for half in [ false; true ] do
        let gRef, g = Array.zeroCreate<'T> (rows * cols), Array.zeroCreate<'T> (rows * cols)
        let lossRef = Reference.MeanSquaredError(ReadOnlySpan yhat, ReadOnlySpan y, Span gRef, rows, cols, half)
        let loss = Losses.MeanSquaredError(ReadOnlySpan yhat, ReadOnlySpan y, Span g, rows, cols, half)
        expectScalarClose num (sprintf "MSE (half=%b) %dx%d" half rows cols) lossRef loss
        expectClose num (sprintf "MSE gradient (half=%b) %dx%d" half rows cols) gRef g

// ---------------------------------------------------------------------------------------------
// The trainer against a plain implementation in double, written here with naive loops.

/// s(z) as the core's notes define it.
let actValue (kind: ActivationKind) (slope: float) (z: float) =
    match kind with
    | ActivationKind.Identity -> z
    | ActivationKind.Sigmoid -> 1.0 / (1.0 + exp (-z))
    | ActivationKind.Tanh -> tanh z
    | ActivationKind.ReLU -> max z 0.0
    | ActivationKind.LeakyReLU -> if z > 0.0 then z else slope * z
    | ActivationKind.Softplus -> if z > 0.0 then z + log (1.0 + exp (-z)) else log (1.0 + exp z)
    | _ -> failwith "unknown activation"

/// s'(z).
let actDerivative (kind: ActivationKind) (slope: float) (z: float) =
    match kind with
    | ActivationKind.Identity -> 1.0
    | ActivationKind.Sigmoid -> let s = 1.0 / (1.0 + exp (-z)) in s * (1.0 - s)
    | ActivationKind.Tanh -> let t = tanh z in 1.0 - t * t
    | ActivationKind.ReLU -> if z > 0.0 then 1.0 else 0.0
    | ActivationKind.LeakyReLU -> if z > 0.0 then 1.0 else slope
    | ActivationKind.Softplus -> 1.0 / (1.0 + exp (-z))
    | _ -> failwith "unknown activation"

/// One plain SGD step: returns (loss, dW, db) and updates w, b in place when rate <> 0.
let referenceStep (sizes: int[]) (acts: (ActivationKind * float)[]) (loss: LossKind)
                  (w: float[][]) (b: float[][]) (x: float[]) (y: float[]) (rows: int) (rate: float) =
    let layers = acts.Length
    let aOut = Array.zeroCreate (layers + 1)
    let zs = Array.zeroCreate layers
    aOut.[0] <- x
    for l in 0 .. layers - 1 do
        let din, dout = sizes.[l], sizes.[l + 1]
        let kind, slope = acts.[l]
        let z = Array.init (rows * dout) (fun idx ->
            let i, j = idx / dout, idx % dout
            let mutable s = b.[l].[j]
            for p in 0 .. din - 1 do s <- s + aOut.[l].[i * din + p] * w.[l].[p * dout + j]
            s)
        zs.[l] <- z
        aOut.[l + 1] <- Array.map (actValue kind slope) z
    let k = sizes.[layers]
    let out = aOut.[layers]
    let n = float rows
    // The loss and dL/dOutput.
    let value, g =
        match loss with
        | LossKind.SoftmaxCrossEntropy ->
            let g = Array.zeroCreate (rows * k)
            let mutable total = 0.0
            for i in 0 .. rows - 1 do
                let row = out.[i * k .. i * k + k - 1]
                let mx = Array.max row
                let e = row |> Array.map (fun v -> exp (v - mx))
                let s = Array.sum e
                let sy = Array.sum y.[i * k .. i * k + k - 1]
                for j in 0 .. k - 1 do
                    total <- total - y.[i * k + j] * log (e.[j] / s)
                    g.[i * k + j] <- (e.[j] / s * sy - y.[i * k + j]) / n
            total / n, g
        | LossKind.MeanSquaredError ->
            (Array.fold2 (fun acc p t -> acc + (p - t) * (p - t)) 0.0 out y) / n,
            Array.map2 (fun p t -> 2.0 * (p - t) / n) out y
        | _ ->
            (Array.fold2 (fun acc p t -> acc + (p - t) * (p - t)) 0.0 out y) / (2.0 * n),
            Array.map2 (fun p t -> (p - t) / n) out y
    let dws = Array.zeroCreate layers
    let dbs = Array.zeroCreate layers
    let mutable gCur = g
    for l in layers - 1 .. -1 .. 0 do
        let din, dout = sizes.[l], sizes.[l + 1]
        let kind, slope = acts.[l]
        let d = Array.init (rows * dout) (fun idx -> gCur.[idx] * actDerivative kind slope zs.[l].[idx])
        let a = aOut.[l]
        dws.[l] <- Array.init (din * dout) (fun idx ->
            let p, j = idx / dout, idx % dout
            let mutable s = 0.0
            for i in 0 .. rows - 1 do s <- s + a.[i * din + p] * d.[i * dout + j]
            s)
        dbs.[l] <- Array.init dout (fun j -> Seq.sum (seq { for i in 0 .. rows - 1 -> d.[i * dout + j] }))
        gCur <- Array.init (rows * din) (fun idx ->
            let i, p = idx / din, idx % din
            let mutable s = 0.0
            for j in 0 .. dout - 1 do s <- s + d.[i * dout + j] * w.[l].[p * dout + j]
            s)
    if rate <> 0.0 then
        for l in 0 .. layers - 1 do
            for i in 0 .. w.[l].Length - 1 do w.[l].[i] <- w.[l].[i] - rate * dws.[l].[i]
            for j in 0 .. b.[l].Length - 1 do b.[l].[j] <- b.[l].[j] - rate * dbs.[l].[j]
    value, out, dws, dbs

let inline randomNetwork (num: Num<'T>) (rng: Random) =
    let layers = 1 + rng.Next 3
    let widths = [| 1; 3; 7; 10; 16; 33 |]
    let sizes = Array.init (layers + 1) (fun _ -> widths.[rng.Next widths.Length])
    let loss = [| LossKind.SoftmaxCrossEntropy; LossKind.MeanSquaredError; LossKind.HalfMeanSquaredError |].[rng.Next 3]
    let acts = Array.init layers (fun l ->
        if l = layers - 1 && loss = LossKind.SoftmaxCrossEntropy then ActivationKind.Identity, 0.0
        else activations.[rng.Next activations.Length])
    let batch = 1 + rng.Next 100
    let rows = if rng.Next 3 = 0 then 1 + rng.Next batch else batch
    let specs = acts |> Array.mapi (fun l (kind, slope) -> DenseLayerSpec(sizes.[l + 1], kind, slope))
    let trainer = DenseTrainer<'T>(sizes.[0], specs, loss, batch)
    // Every way of using the cores computes the same step (Batch splits batches of 64 rows or more).
    trainer.Parallelism <- [| TrainerParallelism.Auto; TrainerParallelism.Kernels; TrainerParallelism.Batch; TrainerParallelism.None |].[rng.Next 4]
    let w = Array.init layers (fun l -> Array.init (sizes.[l] * sizes.[l + 1]) (fun _ -> num.To (num.Of (rng.NextDouble() - 0.5))))
    let b = Array.init layers (fun l -> Array.init sizes.[l + 1] (fun _ -> num.To (num.Of (0.2 * (rng.NextDouble() - 0.5)))))
    for l in 0 .. layers - 1 do
        trainer.SetParameters(l, ReadOnlySpan(Array.map num.Of w.[l]), ReadOnlySpan(Array.map num.Of b.[l]))
    let x = Array.init (rows * sizes.[0]) (fun _ -> num.To (num.Of (2.0 * rng.NextDouble() - 1.0)))
    let k = sizes.[layers]
    let y =
        match loss with
        | LossKind.SoftmaxCrossEntropy -> Array.init (rows * k) (fun idx -> if idx % k = (idx / k) % k then 1.0 else 0.0)
        | _ -> Array.init (rows * k) (fun _ -> num.To (num.Of (rng.NextDouble())))
    sizes, acts, loss, trainer, w, b, x, y, rows

let inline trainerStepCase (num: Num<'T>) (seed: int) =
    let rng = Random seed
    let sizes, acts, loss, trainer, w, b, x, y, rows = randomNetwork num rng
    let xs, ys = Array.map num.Of x, Array.map num.Of y
    let xCopy, yCopy = Array.copy xs, Array.copy ys
    let what = sprintf "%A %A %A rows=%d %A" sizes acts loss rows trainer.Parallelism
    // Gradients without an update.
    let lossG = trainer.ComputeGradients(ReadOnlySpan xs, ReadOnlySpan ys, rows)
    let lossRef, outRef, dwRef, dbRef = referenceStep sizes acts loss w b x y rows 0.0
    expectScalarClose num ("loss " + what) lossRef lossG
    for l in 0 .. acts.Length - 1 do
        expectClose num (sprintf "dW[%d] %s" l what) (Array.map num.Of dwRef.[l]) (trainer.WeightGradients(l).ToArray())
        expectClose num (sprintf "db[%d] %s" l what) (Array.map num.Of dbRef.[l]) (trainer.BiasGradients(l).ToArray())
    // Forward and the one-sample prediction.
    let out = trainer.Forward(ReadOnlySpan xs, rows).ToArray()
    expectClose num ("forward " + what) (Array.map num.Of outRef) out
    let k = sizes.[sizes.Length - 1]
    let one = Array.zeroCreate<'T> k
    trainer.Predict(ReadOnlySpan(xs, 0, sizes.[0]), Span one)
    expectClose num ("predict " + what) (Array.map num.Of outRef.[0 .. k - 1]) one
    // The single-sample predictor (column panels) on the same parameters.
    let rowPredictor = RowPredictor<'T>(sizes.[0], acts |> Array.mapi (fun l (kind, slope) -> DenseLayerSpec(sizes.[l + 1], kind, slope)))
    for l in 0 .. acts.Length - 1 do rowPredictor.SetParameters(l, ReadOnlySpan(Array.map num.Of w.[l]), ReadOnlySpan(Array.map num.Of b.[l]))
    let one2 = Array.zeroCreate<'T> k
    rowPredictor.Predict(ReadOnlySpan(xs, 0, sizes.[0]), Span one2, true)
    expectClose num ("RowPredictor " + what) (Array.map num.Of outRef.[0 .. k - 1]) one2
    // One SGD step.
    let rate = 0.1
    let lossS = trainer.Step(ReadOnlySpan xs, ReadOnlySpan ys, rows, num.Of rate)
    let lossRef2, _, _, _ = referenceStep sizes acts loss w b x y rows rate
    expectScalarClose num ("step loss " + what) lossRef2 lossS
    for l in 0 .. acts.Length - 1 do
        expectClose num (sprintf "W[%d] after a step %s" l what) (Array.map num.Of w.[l]) (trainer.Weights(l).ToArray())
        expectClose num (sprintf "b[%d] after a step %s" l what) (Array.map num.Of b.[l]) (trainer.Biases(l).ToArray())
    // The caller's batch is not mutated.
    Expect.sequenceEqual xs xCopy "x was mutated by the trainer"
    Expect.sequenceEqual ys yCopy "y was mutated by the trainer"

/// Bytes allocated by 100 training steps after a warm-up, on this thread and in the process.
let inline stepAllocations (num: Num<'T>) =
    let sizes = [| 784; 256; 128; 10 |]
    let specs = [| DenseLayerSpec(256, ActivationKind.ReLU); DenseLayerSpec(128, ActivationKind.ReLU); DenseLayerSpec(10, ActivationKind.Identity) |]
    let batch = 64
    let trainer = DenseTrainer<'T>(sizes.[0], specs, LossKind.SoftmaxCrossEntropy, batch)
    trainer.InitializeGlorot 1
    let rng = Random 3
    let x = randomArray rng num (batch * 784)
    let y = Array.init (batch * 10) (fun idx -> if idx % 10 = (idx / 10) % 10 then num.Of 1.0 else num.Of 0.0)
    let rate = num.Of 0.01
    let one = Array.zeroCreate<'T> 10
    for _ in 1 .. 5 do
        trainer.Step(ReadOnlySpan x, ReadOnlySpan y, rate) |> ignore
        trainer.Predict(ReadOnlySpan(x, 0, 784), Span one)
    let thread0 = GC.GetAllocatedBytesForCurrentThread()
    let total0 = GC.GetTotalAllocatedBytes true
    for _ in 1 .. 100 do
        trainer.Step(ReadOnlySpan x, ReadOnlySpan y, rate) |> ignore
        trainer.Predict(ReadOnlySpan(x, 0, 784), Span one)
    let thread1 = GC.GetAllocatedBytesForCurrentThread()
    let total1 = GC.GetTotalAllocatedBytes true
    thread1 - thread0, total1 - total0

[<Tests>]
let tests =
    testList "Kernels" [
        testList "Gemm" [
            testPropertyWithConfig config "float64 equals the triple loop on random shapes, transposes, strides, alpha, beta" (gemmCase f64)
            testPropertyWithConfig config "float32 equals the triple loop on random shapes, transposes, strides, alpha, beta" (gemmCase f32)
            testCase "float64 blocked and parallel (k > 512, m > 192) equals the triple loop" <| fun () -> gemmLarge f64 (200, 130, 600)
            testCase "float32 blocked and parallel (k > 512, m > 192) equals the triple loop" <| fun () -> gemmLarge f32 (203, 97, 590)
            testCase "float32 wider than one column block (n > 4096) equals the triple loop" <| fun () ->
                let m, n, k = 13, 4100, 5
                let rng = Random 11
                let a, b = randomArray rng f32 (m * k), randomArray rng f32 (k * n)
                let expected, actual = Array.zeroCreate<float32> (m * n), Array.zeroCreate<float32> (m * n)
                Reference.Gemm(false, false, m, n, k, 1.0f, ReadOnlySpan a, k, ReadOnlySpan b, n, 0.0f, Span expected, n)
                Gemm.Multiply(false, false, m, n, k, ReadOnlySpan a, ReadOnlySpan b, Span actual)
                expectClose f32 "C = A B, n = 4100" expected actual
            testCase "row-vector products cut along k (B larger than Gemm.KSplitBytes) equal the triple loop, threaded or not, bit for bit" <| fun () ->
                // m = 1 with B of 784 x 256 (1.6 MB in float64, 0.8 MB in float32, both over the
                // 512 KB cut): the k-blocked path of the one-sample prediction. The expected
                // values come from Reference.Gemm; threaded and single-threaded results must be
                // identical because the cut depends on the sizes only.
                let check (num: Num<'T>) =
                    let n, k = 256, 784
                    let rng = Random 17
                    let x, b = randomArray rng num k, randomArray rng num (k * n)
                    for alpha, beta in [ 1.0, 0.0; -0.5, 0.75 ] do
                        let c0 = randomArray rng num n
                        let expected = Array.copy c0
                        Reference.Gemm(false, false, 1, n, k, num.Of alpha, ReadOnlySpan x, k, ReadOnlySpan b, n, num.Of beta, Span expected, n)
                        let run threaded =
                            let c = Array.copy c0
                            let hx = Runtime.InteropServices.GCHandle.Alloc(x, Runtime.InteropServices.GCHandleType.Pinned)
                            let hb = Runtime.InteropServices.GCHandle.Alloc(b, Runtime.InteropServices.GCHandleType.Pinned)
                            let hc = Runtime.InteropServices.GCHandle.Alloc(c, Runtime.InteropServices.GCHandleType.Pinned)
                            try
                                Gemm.Run(false, false, 1, n, k, num.Of alpha, NativeInterop.NativePtr.ofNativeInt (hx.AddrOfPinnedObject()), nativeint k,
                                         NativeInterop.NativePtr.ofNativeInt (hb.AddrOfPinnedObject()), nativeint n, num.Of beta,
                                         NativeInterop.NativePtr.ofNativeInt (hc.AddrOfPinnedObject()), nativeint n, threaded)
                            finally hx.Free(); hb.Free(); hc.Free()
                            c
                        let single, threaded = run false, run true
                        expectClose num (sprintf "y = %g x B + %g y, 1 x %d x %d" alpha beta n k) expected single
                        Expect.sequenceEqual (Array.map num.To threaded) (Array.map num.To single) (sprintf "%s: threaded equals single-threaded bit for bit" num.Name)
                check f64
                check f32
            testCase "float64 across the machine's blocks and work splits equals the triple loop, threaded or not bit for bit" <| fun () -> gemmAcrossBlocks f64
            testCase "float32 across the machine's blocks and work splits equals the triple loop, threaded or not bit for bit" <| fun () -> gemmAcrossBlocks f32
            testCase "cache sizes are read from a sysfs-like directory, with the fallback for what is missing" <| fun () ->
                // Hand-made directory in Linux's layout (index*/level, type, size); expected bytes by hand:
                // 48K = 49152, 2048K = 2097152, 32M = 33554432; the instruction cache (index1) is skipped.
                let dir = IO.Path.Combine(IO.Path.GetTempPath(), sprintf "fnn-cache-%d" (Guid.NewGuid().GetHashCode()))
                let write (index: string) (level: string) (kind: string) (size: string) =
                    let d = IO.Path.Combine(dir, index)
                    IO.Directory.CreateDirectory d |> ignore
                    IO.File.WriteAllText(IO.Path.Combine(d, "level"), level + "\n")
                    IO.File.WriteAllText(IO.Path.Combine(d, "type"), kind + "\n")
                    IO.File.WriteAllText(IO.Path.Combine(d, "size"), size + "\n")
                try
                    write "index0" "1" "Data" "48K"
                    write "index1" "1" "Instruction" "32K"
                    write "index2" "2" "Unified" "2048K"
                    write "index3" "3" "Unified" "32M"
                    let c = CacheSizes.Read dir
                    Expect.equal (c.L1Data, c.L2, c.L3) (49152L, 2097152L, 33554432L) "L1d, L2, L3 in bytes"
                    IO.Directory.Delete(IO.Path.Combine(dir, "index3"), true)
                    let partial = CacheSizes.Read dir
                    Expect.equal partial.L3 CacheSizes.Fallback.L3 "a missing L3 takes the fallback's 8 MiB"
                    Expect.equal partial.L2 2097152L "the levels present are kept"
                finally
                    if IO.Directory.Exists dir then IO.Directory.Delete(dir, true)
                let none = CacheSizes.Read(IO.Path.Combine(IO.Path.GetTempPath(), "fnn-no-such-directory"))
                Expect.equal (none.L1Data, none.L2, none.L3) (32768L, 524288L, 8388608L) "no directory: the fallback 32 KiB, 512 KiB, 8 MiB"
                Expect.equal none.Source "fallback" "the fallback says so"
                Expect.equal (CacheSizes.ParseSize "1G", CacheSizes.ParseSize "512", CacheSizes.ParseSize "x", CacheSizes.ParseSize null) (1073741824L, 512L, 0L, 0L) "sizes with and without a unit; 0 when unreadable"
            testCase "the blocking follows the cache sizes" <| fun () ->
                // Hand derivation from GemmBlocking.For's rule (KC = 2 L1d / (nr size) to a multiple of 16;
                // MC = L2 / 4 / (KC size) to a multiple of mr; NC = L3 / (4 threads) / (KC size) to a multiple of nr).
                let zen4 = CacheSizes(32768L, 1048576L, 33554432L, "test")
                // float, 12 x 32 tiles, 2 threads: KC = 65536 / 128 = 512; MC = 262144 / 2048 = 128 -> 120; NC = 4194304 / 2048 = 2048.
                Expect.equal (GemmBlocking.For(zen4, 4, 12, 32, 2)) (GemmBlocking(512, 120, 2048)) "float on a Zen 4 core"
                // double, 12 x 16 tiles: KC = 65536 / 128 = 512; MC = 262144 / 4096 = 64 -> 60; NC = 4194304 / 4096 = 1024.
                Expect.equal (GemmBlocking.For(zen4, 8, 12, 16, 2)) (GemmBlocking(512, 60, 1024)) "double on a Zen 4 core"
                // A 48 KiB L1d, 2 MiB L2 (as on recent Intel cores), 1 thread, float 12 x 32: KC = 98304 / 128 = 768;
                // MC = 524288 / 3072 = 170 -> 168; NC = 8388608 / 3072 = 2730 -> 2720.
                Expect.equal (GemmBlocking.For(CacheSizes(49152L, 2097152L, 33554432L, "test"), 4, 12, 32, 1)) (GemmBlocking(768, 168, 2720)) "float with 48 KiB L1d"
                // Tiny caches hit the lower bounds: KC 64, MC = mr, NC = nr.
                Expect.equal (GemmBlocking.For(CacheSizes(1024L, 1024L, 1024L, "test"), 8, 6, 8, 1)) (GemmBlocking(64, 6, 8)) "the lower bounds"
            testCase "a bad element size for the blocking names the parameter" <| fun () ->
                try
                    GemmBlocking.For(CacheSizes.Fallback, 2, 12, 32, 2) |> ignore
                    failtest "no exception"
                with :? ArgumentOutOfRangeException as e -> Expect.equal e.ParamName "elementSize" "ParamName"
            testCase "k = 0 scales C by beta" <| fun () ->
                let c = [| 1.0; 2.0; 3.0; 4.0 |]
                Gemm.Multiply(false, false, 2, 2, 0, 1.0, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 2, 0.5, Span c, 2)
                Expect.sequenceEqual c [| 0.5; 1.0; 1.5; 2.0 |] "C = beta C"
            testCase "a short operand is rejected with its name" <| fun () ->
                Expect.throwsT<ArgumentException> (fun () ->
                    Gemm.Multiply(false, false, 2, 2, 2, 1.0, ReadOnlySpan(Array.zeroCreate<float> 3), 2, ReadOnlySpan(Array.zeroCreate<float> 4), 2, 0.0, Span(Array.zeroCreate<float> 4), 2)) "a has 3 of 4 elements"
        ]
        testList "Activations" [
            testPropertyWithConfig config "float64 bias + activation and derivative equal the reference" (activationCase f64)
            testPropertyWithConfig config "float32 bias + activation and derivative equal the reference" (activationCase f32)
            testCase "float64: NaN stays NaN in the vector body and the scalar tail of every activation, as in the reference" <| fun () -> nanActivationCase f64
            testCase "float32: NaN stays NaN in the vector body and the scalar tail of every activation, as in the reference" <| fun () -> nanActivationCase f32
        ]
        testList "WorkerPool" [
            testCase "every part runs once, also with more parts than threads" <| fun () ->
                for parts in [ 1; 2; 3; 7; 64 ] do
                    let counts = Array.zeroCreate<int> parts
                    let job = { new IParallelJob with
                                  member _.Execute(part, total) =
                                      Expect.equal total parts "parts passed to Execute"
                                      Threading.Interlocked.Increment(&counts.[part]) |> ignore }
                    for _ in 1 .. 50 do WorkerPool.Run(job, parts)
                    Expect.sequenceEqual counts (Array.create parts 50) (sprintf "each of %d parts ran once per run" parts)
            testCase "with affinity every part runs once, part 0 on the calling thread" <| fun () ->
                // Parts up to the 16 that affinity allows; the caller always runs part 0 (its own
                // part, claimed before any worker may take another's), and every part runs once.
                let caller = Threading.Thread.CurrentThread.ManagedThreadId
                for parts in [ 1; 2; 3; 16 ] do
                    let counts = Array.zeroCreate<int> parts
                    let partZeroElsewhere = ref 0
                    let job = { new IParallelJob with
                                  member _.Execute(part, total) =
                                      Expect.equal total parts "parts passed to Execute"
                                      if part = 0 && Threading.Thread.CurrentThread.ManagedThreadId <> caller then
                                          Threading.Interlocked.Increment(&partZeroElsewhere.contents) |> ignore
                                      Threading.Interlocked.Increment(&counts.[part]) |> ignore }
                    for _ in 1 .. 200 do WorkerPool.Run(job, parts, true)
                    Expect.sequenceEqual counts (Array.create parts 200) (sprintf "each of %d parts ran once per run" parts)
                    Expect.equal partZeroElsewhere.Value 0 "part 0 ran on the calling thread"
            testCase "an exception in a part reaches the caller after all parts finish" <| fun () ->
                let finished = ref 0
                let job = { new IParallelJob with
                              member _.Execute(part, _) =
                                  if part = 1 then invalidOp "part 1 fails"
                                  Threading.Interlocked.Increment(&finished.contents) |> ignore }
                Expect.throwsT<InvalidOperationException> (fun () -> WorkerPool.Run(job, 4)) "the part's exception"
                Expect.equal finished.Value 3 "the other parts ran"
            testSequenced <| testCase "background work: every part runs once (idle workers take parts, Finish runs the rest) while jobs run as usual" (fun () ->
                // Each background part spins 20 us, so that workers take some between the jobs
                // run meanwhile; whoever runs them, each part runs once, and the jobs are whole.
                for parts in [ 1; 2; 64 ] do
                    let counts = Array.zeroCreate<int> parts
                    let work = { new IParallelJob with
                                   member _.Execute(part, total) =
                                       Expect.equal total parts "parts passed to Execute"
                                       let t0 = Diagnostics.Stopwatch.GetTimestamp()
                                       while Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds < 0.02 do ()
                                       Threading.Interlocked.Increment(&counts.[part]) |> ignore }
                    let posted = WorkerPool.Post(work, parts)
                    Expect.equal posted (WorkerPool.Threads > 1) "posted exactly when there is a worker"
                    let jobCounts = Array.zeroCreate<int> 4
                    let job = { new IParallelJob with member _.Execute(part, _) = Threading.Interlocked.Increment(&jobCounts.[part]) |> ignore }
                    for _ in 1 .. 20 do WorkerPool.Run(job, 4)
                    Expect.sequenceEqual jobCounts (Array.create 4 20) "the jobs run meanwhile are whole"
                    // An idle worker takes parts on its own: wait (at most 2 s) for the first one.
                    if posted then
                        let t0 = Diagnostics.Stopwatch.GetTimestamp()
                        while Array.sum counts = 0 && Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds < 2.0 do Threading.Thread.Yield() |> ignore
                        Expect.isGreaterThan (Array.sum counts) 0 "a worker ran a part before Finish"
                    if posted then WorkerPool.Finish work
                    else for p in 0 .. parts - 1 do work.Execute(p, parts)
                    Expect.sequenceEqual counts (Array.create parts 1) (sprintf "each of %d background parts ran once" parts))
            testSequenced <| testCase "background work under stress: posts from two threads, jobs between, failing parts; each part runs exactly once" (fun () ->
                // Each poster posts work of 1 to 1000 short parts (one part in 25 throws), runs jobs or
                // waits a little, then finishes it, or runs it all itself when its post is refused
                // (the other thread's work is posted). Expected: every part but the failing one ran
                // exactly once, and Finish threw exactly when a part did.
                let errors = Collections.Concurrent.ConcurrentQueue<string>()
                let poster (seed: int) () =
                    let rng = Random(seed)
                    let counts = Array.zeroCreate<int> 1000
                    let mutable fail = -1
                    let work = { new IParallelJob with
                                   member _.Execute(part, _) =
                                       if part = fail then invalidOp "fails"
                                       // A short part, so that the worker and the poster claim at the same time.
                                       Threading.Thread.SpinWait 30
                                       Threading.Interlocked.Increment(&counts.[part]) |> ignore }
                    let job = { new IParallelJob with member _.Execute(_, _) = () }
                    for it in 1 .. 3000 do
                        let parts = if rng.Next 10 = 0 then rng.Next(1, 1001) else rng.Next(1, 65)
                        Array.Clear(counts, 0, parts)
                        fail <- if rng.Next 25 = 0 then rng.Next parts else -1
                        let posted = WorkerPool.Post(work, parts)
                        if rng.Next 3 = 0 then WorkerPool.Run(job, 2)
                        if rng.Next 5 = 0 then Threading.Thread.SpinWait(rng.Next 2000)
                        let threw =
                            if posted then
                                try WorkerPool.Finish work; false
                                with :? InvalidOperationException -> true
                            else
                                for p in 0 .. parts - 1 do (try work.Execute(p, parts) with :? InvalidOperationException -> ())
                                fail >= 0
                        if threw <> (fail >= 0) then errors.Enqueue(sprintf "poster %d, post %d: threw %b, failing part %d" seed it threw fail)
                        for p in 0 .. parts - 1 do
                            if counts.[p] <> (if p = fail then 0 else 1) then errors.Enqueue(sprintf "poster %d, post %d: part %d of %d ran %d times" seed it p parts counts.[p])
                let threads = [| for seed in 1 .. 2 -> Threading.Thread(Threading.ThreadStart(poster seed)) |]
                for t in threads do t.Start()
                for t in threads do t.Join()
                Expect.isEmpty (List.ofSeq errors |> List.truncate 5) "every part ran exactly once")
            testSequenced <| testCase "background work: one at a time, Finish rethrows a part's exception and frees the pool for the next" (fun () ->
                if WorkerPool.Threads > 1 then
                    let finished = ref 0
                    let failing = { new IParallelJob with
                                      member _.Execute(part, _) =
                                          if part = 3 then invalidOp "part 3 fails"
                                          Threading.Interlocked.Increment(&finished.contents) |> ignore }
                    let other = { new IParallelJob with member _.Execute(_, _) = failtest "a refused post must not run" }
                    Expect.isTrue (WorkerPool.Post(failing, 8)) "the first post"
                    // Another thread's post is refused while this one is posted; finishing a job that
                    // is not the posted one does nothing.
                    let refused = Threading.Tasks.Task.Run(fun () -> WorkerPool.Post(other, 2)).Result
                    Expect.isFalse refused "a second post while one is posted"
                    WorkerPool.Finish other
                    Expect.throwsT<InvalidOperationException> (fun () -> WorkerPool.Finish failing) "the part's exception"
                    Expect.equal finished.Value 7 "the other parts ran"
                    let ran = ref 0
                    let next = { new IParallelJob with member _.Execute(_, _) = Threading.Interlocked.Increment(&ran.contents) |> ignore }
                    Expect.isTrue (WorkerPool.Post(next, 3)) "the pool is free again"
                    WorkerPool.Finish next
                    Expect.equal ran.Value 3 "every part of the next work ran")
        ]
        testList "Layout" [
            testCase "column-major to row-major equals the element-by-element transpose, and finds every bad value" <| fun () ->
                // Expected values: dst[i, j] = src[j rows + i] converted alone (the definition), for
                // shapes on both sides of the 8 x 8 blocks of the vector path, of its 32-row bands and
                // of the size (65536 values) from which both cores share the work.
                for rows, cols in [ 1, 1; 7, 9; 8, 8; 13, 17; 33, 40; 70, 3; 300, 257; 8192, 9; 517, 131 ] do
                    let rng = Random(rows * 1000 + cols)
                    let src = Array.init (rows * cols) (fun _ -> 1e3 * (2.0 * rng.NextDouble() - 1.0))
                    let d64 = Array.zeroCreate<float> (rows * cols)
                    let d32 = Array.zeroCreate<float32> (rows * cols)
                    Expect.isTrue (Layout.ColumnMajorToRowMajor(ReadOnlySpan src, rows, cols, Span d64)) "finite values are finite (float64)"
                    Expect.isTrue (Layout.ColumnMajorToRowMajor(ReadOnlySpan src, rows, cols, Span d32)) "finite values are finite (float32)"
                    for i in 0 .. rows - 1 do
                        for j in 0 .. cols - 1 do
                            if d64.[i * cols + j] <> src.[j * rows + i] then failtestf "float64 %d x %d: [%d, %d]" rows cols i j
                            if d32.[i * cols + j] <> float32 src.[j * rows + i] then failtestf "float32 %d x %d: [%d, %d]" rows cols i j
                    // One bad value at a time: the first and last element, one inside a block, one in
                    // the tails; NaN and an infinity in both precisions, 1e39 (beyond float32) in float32 only.
                    let places = [ 0; rows * cols - 1; (rows / 2) + rows * (cols / 2); (rows - 1) + rows * (cols / 3) ] |> List.distinct
                    for place in places do
                        for bad, in64 in [ nan, false; infinity, false; 1e39, true ] do
                            let s = Array.copy src
                            s.[place] <- bad
                            Expect.equal (Layout.ColumnMajorToRowMajor(ReadOnlySpan s, rows, cols, Span d64)) in64
                                (sprintf "float64 %d x %d, %g at %d" rows cols bad place)
                            Expect.isFalse (Layout.ColumnMajorToRowMajor(ReadOnlySpan s, rows, cols, Span d32))
                                (sprintf "float32 %d x %d, %g at %d" rows cols bad place)
            testCase "gathering rows copies the indexed rows in order and rejects an index out of range" <| fun () ->
                for rows, cols, count in [ 5, 3, 4; 300, 784, 128; 1000, 10, 1000 ] do
                    let rng = Random(rows + cols)
                    let src = randomArray rng f32 (rows * cols)
                    let index = Array.init count (fun _ -> rng.Next rows)
                    let dst = Array.zeroCreate<float32> (count * cols)
                    Layout.GatherRows(ReadOnlySpan src, cols, ReadOnlySpan index, Span dst)
                    for r in 0 .. count - 1 do
                        for j in 0 .. cols - 1 do
                            if dst.[r * cols + j] <> src.[index.[r] * cols + j] then failtestf "%d x %d: row %d, column %d" rows cols r j
                Expect.throwsT<ArgumentOutOfRangeException> (fun () ->
                    Layout.GatherRows(ReadOnlySpan(Array.zeroCreate<float> 6), 3, ReadOnlySpan [| 0; 2 |], Span(Array.zeroCreate<float> 6)))
                    "row 2 of a 2-row source is out of range"
            testSequenced <| testCase "batches gathered ahead hold the indexed rows: epochs reshuffled in place, a short last batch, a replay, a bad index" (fun () ->
                // Expected values: row r of a batch is row order[offset + r] of each table (the
                // definition), read straight from the tables. The order is reshuffled in place between
                // epochs, as the trainer does (nothing is gathered ahead past an epoch's last batch);
                // a replay asks for earlier batches again. Only the 784-wide case's batches reach the
                // 32 KiB from which rows are gathered ahead; the others are gathered when asked for.
                // The tables are longer than their rows (as a pooled array is): no row past them is read.
                let check (name: string) (num: Num<'T>) =
                    for n, d, k, b in [ 1000, 784, 10, 128; 37, 5, 3, 8; 64, 1, 1, 64 ] do
                        let rng = Random(n + d)
                        let x = randomArray rng num ((n + 3) * d)
                        let y = randomArray rng num ((n + 5) * k)
                        let buffer cols = Array.zeroCreate<'T> (b * cols)
                        use g = new BatchGather<'T>(x, d, y, k, n, b, buffer d, buffer k, buffer d, buffer k)
                        let order = Array.init n id
                        let expectBatch (offset: int) (count: int) =
                            g.Next(order, offset, count)
                            for r in 0 .. count - 1 do
                                for j in 0 .. d - 1 do
                                    if g.X.[r * d + j] <> x.[order.[offset + r] * d + j] then failtestf "%s %d x %d: x row %d column %d at offset %d" name n d r j offset
                                for j in 0 .. k - 1 do
                                    if g.Y.[r * k + j] <> y.[order.[offset + r] * k + j] then failtestf "%s %d x %d: y row %d column %d at offset %d" name n d r j offset
                        for epoch in 1 .. 3 do
                            for i in n - 1 .. -1 .. 1 do
                                let j = rng.Next(i + 1)
                                let t = order.[i]
                                order.[i] <- order.[j]
                                order.[j] <- t
                            let mutable offset = 0
                            while offset < n do
                                let count = min b (n - offset)
                                expectBatch offset count
                                offset <- offset + count
                        // A replay: the first batches again, after the last one's; a batch of the
                        // size gathered ahead but other rows (a skip, and a reshuffle in place while
                        // rows are gathered ahead).
                        expectBatch 0 (min b n)
                        expectBatch (min b n / 2) (min b n / 2 |> max 1)
                        if n >= 3 * b then
                            expectBatch 0 b
                            expectBatch (2 * b) b
                            expectBatch 0 b
                            Array.Reverse order
                            expectBatch b b
                        // An index out of range is named when its batch is asked for.
                        if n >= 2 * b then
                            order.[b] <- n
                            expectBatch 0 b
                            Expect.throwsT<ArgumentOutOfRangeException> (fun () -> g.Next(order, b, b)) (sprintf "%s: row %d is out of range" name n)
                        Expect.throwsT<ArgumentOutOfRangeException> (fun () -> g.Next(order, n - 1, 2)) "a batch past the order's end"
                    let gone = new BatchGather<'T>(Array.zeroCreate 4, 2, Array.zeroCreate 2, 1, 2, 1, Array.zeroCreate 2, Array.zeroCreate 1, Array.zeroCreate 2, Array.zeroCreate 1)
                    gone.Next([| 1; 0 |], 0, 1)
                    gone.Dispose()
                    Expect.throwsT<ObjectDisposedException> (fun () -> gone.Next([| 1; 0 |], 1, 1)) "after Dispose"
                check "float64" f64
                check "float32" f32)
        ]
        testList "Reductions" [
            testCase "axpy equals the loop" <| fun () ->
                for n in [ 0; 1; 7; 16; 33; 130 ] do
                    let rng = Random n
                    let x, y = randomArray rng f64 n, randomArray rng f64 n
                    let expected = Array.map2 (fun a b -> -0.3 * a + b) x y
                    let actual = Array.copy y
                    Reductions.Axpy(-0.3, ReadOnlySpan x, Span actual)
                    expectClose f64 (sprintf "axpy n=%d" n) expected actual
            testPropertyWithConfig config "float64 column sums equal the reference" (columnSumsCase f64)
            testPropertyWithConfig config "float32 column sums equal the reference" (columnSumsCase f32)
        ]
        testList "Losses" [
            testPropertyWithConfig config "float64 fused softmax cross-entropy equals the textbook formulas" (softmaxCase f64)
            testPropertyWithConfig config "float32 fused softmax cross-entropy equals the textbook formulas" (softmaxCase f32)
            testPropertyWithConfig config "float64 MSE equals the reference" (mseCase f64)
            testPropertyWithConfig config "float32 MSE equals the reference" (mseCase f32)
        ]
        testList "DenseTrainer" [
            testPropertyWithConfig config "float64 gradients, forward, predict and an SGD step equal naive loops" (trainerStepCase f64)
            testPropertyWithConfig config "float32 gradients, forward, predict and an SGD step equal naive loops" (trainerStepCase f32)
            testCase "RowPredictor: layers split over the cores give the one-thread result bit for bit, equal to naive loops, on shapes that pad panels" <| fun () ->
                // Layer sizes chosen so that panels are padded (97, 13 outputs), d_in is odd (301, 97),
                // and the first layer's weights (301 x 97 float64, 228 KiB) pass RowPredictor.ParallelBytes (96 KiB).
                let sizes = [| 301; 97; 13; 3 |]
                let specs = [| DenseLayerSpec(97, ActivationKind.Tanh); DenseLayerSpec(13, ActivationKind.LeakyReLU, 0.2); DenseLayerSpec(3, ActivationKind.Identity, 0.01, false) |]
                let rng = Random 11
                let w = Array.init 3 (fun l -> Array.init (sizes.[l] * sizes.[l + 1]) (fun _ -> rng.NextDouble() - 0.5))
                let b = Array.init 3 (fun l -> if l = 2 then [||] else Array.init sizes.[l + 1] (fun _ -> rng.NextDouble() - 0.5))
                let p = RowPredictor<float>(301, specs)
                for l in 0 .. 2 do p.SetParameters(l, ReadOnlySpan w.[l], ReadOnlySpan b.[l])
                for trial in 0 .. 4 do
                    let x = Array.init 301 (fun _ -> 2.0 * rng.NextDouble() - 1.0)
                    // The naive forward pass: a_l = s(a_{l-1} W_l + b_l).
                    let mutable a = x
                    for l in 0 .. 2 do
                        let z = Array.init sizes.[l + 1] (fun j -> (if l = 2 then 0.0 else b.[l].[j]) + Seq.sum (seq { for i in 0 .. sizes.[l] - 1 -> a.[i] * w.[l].[i * sizes.[l + 1] + j] }))
                        a <- z |> Array.map (fun v -> match l with 0 -> tanh v | 1 -> (if v > 0.0 then v else 0.2 * v) | _ -> v)
                    let one, both = Array.zeroCreate 3, Array.zeroCreate 3
                    p.Predict(ReadOnlySpan x, Span one, false)
                    p.Predict(ReadOnlySpan x, Span both, true)
                    Expect.sequenceEqual both one (sprintf "trial %d: threaded equals one thread" trial)
                    expectClose f64 (sprintf "trial %d: naive loops" trial) a one
            testCase "RowPredictor: the first two layers fused into units (both large, the only large ones) give the one-thread bits in both orders, equal to naive loops, float64 and float32" <| fun () ->
                // 301 -> 97 -> d -> 3: the first layer (301 x 97) is large in both precisions, and
                // d = 130 (float64) or 260 (float32) makes the second (97 x d, 100,880 bytes) pass
                // RowPredictor.ParallelBytes (96 KiB) too, so the threads share units of a panel of the
                // first layer and the second layer's sums over its outputs. 97 outputs leave a last
                // panel of one real output (an odd number of rows for the second layer's sums), and
                // d pads the second layer's last panel. Expected: naive loops of
                // a_l = s(a_{l-1} W_l + b_l) within the precision's tolerance, and the one-thread bits
                // (the same sums in the same order) for every split call, in both panel orders.
                let check (num: Num<'T>) d =
                    let sizes = [| 301; 97; d; 3 |]
                    let specs = [| DenseLayerSpec(97, ActivationKind.Tanh); DenseLayerSpec(d, ActivationKind.ReLU); DenseLayerSpec(3, ActivationKind.Identity) |]
                    let rng = Random 23
                    let w = Array.init 3 (fun l -> Array.init (sizes.[l] * sizes.[l + 1]) (fun _ -> (rng.NextDouble() - 0.5) * 0.3))
                    let b = Array.init 3 (fun l -> Array.init sizes.[l + 1] (fun _ -> rng.NextDouble() - 0.5))
                    let p = RowPredictor<'T>(301, specs)
                    for l in 0 .. 2 do p.SetParameters(l, ReadOnlySpan (Array.map num.Of w.[l]), ReadOnlySpan (Array.map num.Of b.[l]))
                    for trial in 0 .. 3 do
                        let x = Array.init 301 (fun _ -> num.Of (2.0 * rng.NextDouble() - 1.0))
                        let mutable a = Array.map num.To x
                        for l in 0 .. 2 do
                            a <- Array.init sizes.[l + 1] (fun j ->
                                let z = b.[l].[j] + Seq.sum (seq { for i in 0 .. sizes.[l] - 1 -> a.[i] * num.To (num.Of w.[l].[i * sizes.[l + 1] + j]) })
                                match l with 0 -> tanh z | 1 -> max z 0.0 | _ -> z)
                        let one = Array.zeroCreate<'T> 3
                        p.Predict(ReadOnlySpan x, Span one, false)
                        expectClose num (sprintf "%s trial %d: naive loops" num.Name trial) (Array.map num.Of a) one
                        for call in 0 .. 3 do
                            let both = Array.zeroCreate<'T> 3
                            p.Predict(ReadOnlySpan x, Span both, true)
                            Expect.sequenceEqual (Array.map num.To both) (Array.map num.To one) (sprintf "%s trial %d, call %d: split equals one thread" num.Name trial call)
                check f64 130
                check f32 260
            testCase "RowPredictor: every other call reads the panels in reverse order, with the same bits, one thread or split" <| fun () ->
                // 301 x 97 float64 (228 KiB, past ParallelBytes: split) and 97 x 70: several panels a
                // layer, the last ones padded. Expected: the first call's bits (the test above checks a
                // call against naive loops), for every call after it, three inputs in turn (so that
                // each input is predicted in both orders: the order flips on every call); and naive
                // loops within the float64 tolerance for both orders.
                let sizes = [| 301; 97; 70 |]
                let specs = [| DenseLayerSpec(97, ActivationKind.Tanh); DenseLayerSpec(70, ActivationKind.Sigmoid) |]
                let rng = Random 17
                let w = Array.init 2 (fun l -> Array.init (sizes.[l] * sizes.[l + 1]) (fun _ -> rng.NextDouble() - 0.5))
                let b = Array.init 2 (fun l -> Array.init sizes.[l + 1] (fun _ -> rng.NextDouble() - 0.5))
                let p = RowPredictor<float>(301, specs)
                for l in 0 .. 1 do p.SetParameters(l, ReadOnlySpan w.[l], ReadOnlySpan b.[l])
                let xs = Array.init 3 (fun _ -> Array.init 301 (fun _ -> 2.0 * rng.NextDouble() - 1.0))
                let naive (x: float[]) =
                    let mutable a = x
                    for l in 0 .. 1 do
                        a <- Array.init sizes.[l + 1] (fun j ->
                            let z = b.[l].[j] + Seq.sum (seq { for i in 0 .. sizes.[l] - 1 -> a.[i] * w.[l].[i * sizes.[l + 1] + j] })
                            if l = 0 then tanh z else 1.0 / (1.0 + exp -z))
                    a
                for split in [ false; true ] do
                    let first = xs |> Array.map (fun x -> let o = Array.zeroCreate 70 in p.Predict(ReadOnlySpan x, Span o, split); o)
                    for call in 0 .. 8 do
                        let i = call % 3
                        let o = Array.zeroCreate 70
                        p.Predict(ReadOnlySpan xs.[i], Span o, split)
                        Expect.sequenceEqual (Array.map BitConverter.DoubleToInt64Bits o) (Array.map BitConverter.DoubleToInt64Bits first.[i]) (sprintf "split %b, call %d: the first call's bits" split call)
                        expectClose f64 (sprintf "split %b, call %d: naive loops" split call) (naive xs.[i]) o
            testCase "RowPredictor.PredictFromDoubles (each thread rounds the float64 input itself) gives Predict's bits on the row rounded first, float32 and float64, split or not" <| fun () ->
                // A float32 layer of 784 x 256 (784 KiB) passes ParallelBytes (96 KiB), so the split
                // path converts the row in every part; 301 inputs are not a multiple of 16, so the
                // vector conversion's tail runs. Expected: Predict on x rounded by float32 (and on x
                // itself in float64), one thread, which the test above checks against naive loops.
                for inputs in [ 784; 301 ] do
                    let specs = [| DenseLayerSpec(256, ActivationKind.ReLU); DenseLayerSpec(10, ActivationKind.Identity) |]
                    let rng = Random 13
                    let w0 = Array.init (inputs * 256) (fun _ -> rng.NextDouble() - 0.5)
                    let w1 = Array.init 2560 (fun _ -> rng.NextDouble() - 0.5)
                    let b0, b1 = Array.init 256 (fun _ -> rng.NextDouble()), Array.init 10 (fun _ -> rng.NextDouble())
                    let p32 = RowPredictor<float32>(inputs, specs)
                    p32.SetParameters(0, ReadOnlySpan (Array.map float32 w0), ReadOnlySpan (Array.map float32 b0))
                    p32.SetParameters(1, ReadOnlySpan (Array.map float32 w1), ReadOnlySpan (Array.map float32 b1))
                    let p64 = RowPredictor<float>(inputs, specs)
                    p64.SetParameters(0, ReadOnlySpan w0, ReadOnlySpan b0)
                    p64.SetParameters(1, ReadOnlySpan w1, ReadOnlySpan b1)
                    for trial in 0 .. 3 do
                        // Values that float32 rounds (not exactly representable), some large.
                        let x = Array.init inputs (fun _ -> (2.0 * rng.NextDouble() - 1.0) * (if trial = 3 then 1e3 else 1.0))
                        let expected32 = Array.zeroCreate<float32> 10
                        p32.Predict(ReadOnlySpan (Array.map float32 x), Span expected32, false)
                        let expected64 = Array.zeroCreate<float> 10
                        p64.Predict(ReadOnlySpan x, Span expected64, false)
                        for split in [ false; true ] do
                            let o32 = Array.zeroCreate<float32> 10
                            Expect.isTrue (p32.PredictFromDoubles(ReadOnlySpan x, Span o32, split)) "float32: a good input passes the check"
                            Expect.sequenceEqual o32 expected32 (sprintf "%d inputs, trial %d, split %b: float32" inputs trial split)
                            let o64 = Array.zeroCreate<float> 10
                            Expect.isTrue (p64.PredictFromDoubles(ReadOnlySpan x, Span o64, split)) "float64: a good input passes the check"
                            Expect.sequenceEqual o64 expected64 (sprintf "%d inputs, trial %d, split %b: float64" inputs trial split)
                    // A bad value anywhere (the conversion's 16-value vectors and its tail: 784 = 49 x 16,
                    // 301 = 18 x 16 + 13) makes it return false. float32's largest value itself is good;
                    // beyond float32's range only (good for float64): 1e39, and float32's largest plus
                    // 1e30, which still rounds to that largest value (half of float32's spacing there is
                    // 2^103, about 1.01e31) and is refused as the core refuses it (|x| > 3.4028235e38), and so
                    // is the next float64 above it (Math.BitIncrement).
                    let largest = float Single.MaxValue
                    let good = Array.init inputs (fun j -> if j % 10 = 0 then largest elif j % 10 = 5 then -largest else 1.0)
                    let goodOutput32, goodOutput64 = Array.zeroCreate<float32> 10, Array.zeroCreate<float> 10
                    Expect.isTrue (p32.PredictFromDoubles(ReadOnlySpan good, Span goodOutput32, true)) "float32: its largest value passes"
                    Expect.isTrue (p64.PredictFromDoubles(ReadOnlySpan good, Span goodOutput64, true)) "float64: float32's largest value passes"
                    for value in [ nan; infinity; -infinity; 1e39; largest + 1e30; -(largest + 1e30); Math.BitIncrement largest ] do
                        let beyondFloat32Only = Double.IsFinite value
                        for j in [ 0; 15; 16; inputs - 14; inputs - 13; inputs - 1 ] do
                            let x = Array.copy good
                            x.[j] <- value
                            for split in [ false; true ] do
                                let ok32 = p32.PredictFromDoubles(ReadOnlySpan x, Span (Array.zeroCreate<float32> 10), split)
                                Expect.isFalse ok32 (sprintf "float32, %d inputs: %g at %d, split %b" inputs value j split)
                                let ok64 = p64.PredictFromDoubles(ReadOnlySpan x, Span (Array.zeroCreate<float> 10), split)
                                Expect.equal ok64 beyondFloat32Only (sprintf "float64, %d inputs: %g at %d, split %b" inputs value j split)
                    // A good input after the bad ones passes again, with the same output (no state kept).
                    for split in [ false; true ] do
                        let o32, o64 = Array.zeroCreate<float32> 10, Array.zeroCreate<float> 10
                        Expect.isTrue (p32.PredictFromDoubles(ReadOnlySpan good, Span o32, split)) "float32: good after bad"
                        // Bits: values of 3.4e38 overflow the layers, so outputs may be infinite or NaN.
                        Expect.sequenceEqual (Array.map BitConverter.SingleToInt32Bits o32) (Array.map BitConverter.SingleToInt32Bits goodOutput32) "float32: the same output after bad inputs"
                        Expect.isTrue (p64.PredictFromDoubles(ReadOnlySpan good, Span o64, split)) "float64: good after bad"
                        Expect.sequenceEqual (Array.map BitConverter.DoubleToInt64Bits o64) (Array.map BitConverter.DoubleToInt64Bits goodOutput64) "float64: the same output after bad inputs"
            testCase "RowPredictor: one fork for several large layers (a small one between them) gives the one-thread bits, also when the pool runs the parts one after another" <| fun () ->
                // float64 layers 300 x 170 (408 KB) and 40 x 330 (106 KB) pass RowPredictor.ParallelBytes
                // (96 KB), the 170 x 40 layer between them (54 KB) does not: the threads share the first
                // and third layers' panels, one of them computes the second, and each waits for the
                // others' outputs between layers. Expected values: the naive loops of a_l = s(a_{l-1} W_l + b_l).
                let sizes = [| 300; 170; 40; 330; 5 |]
                let specs = [| DenseLayerSpec(170, ActivationKind.ReLU); DenseLayerSpec(40, ActivationKind.Tanh)
                               DenseLayerSpec(330, ActivationKind.LeakyReLU, 0.1); DenseLayerSpec(5, ActivationKind.Identity) |]
                let act l (v: float) = match l with 0 -> max v 0.0 | 1 -> tanh v | 2 -> (if v > 0.0 then v else 0.1 * v) | _ -> v
                let rng = Random 12
                let w = Array.init 4 (fun l -> Array.init (sizes.[l] * sizes.[l + 1]) (fun _ -> (rng.NextDouble() - 0.5) * 0.2))
                let b = Array.init 4 (fun l -> Array.init sizes.[l + 1] (fun _ -> rng.NextDouble() - 0.5))
                let p = RowPredictor<float>(300, specs)
                for l in 0 .. 3 do p.SetParameters(l, ReadOnlySpan w.[l], ReadOnlySpan b.[l])
                let xs = Array.init 6 (fun _ -> Array.init 300 (fun _ -> 2.0 * rng.NextDouble() - 1.0))
                for trial in 0 .. xs.Length - 1 do
                    let x = xs.[trial]
                    let mutable a = x
                    for l in 0 .. 3 do
                        a <- Array.init sizes.[l + 1] (fun j -> act l (b.[l].[j] + Seq.sum (seq { for i in 0 .. sizes.[l] - 1 -> a.[i] * w.[l].[i * sizes.[l + 1] + j] })))
                    let one, both = Array.zeroCreate 5, Array.zeroCreate 5
                    p.Predict(ReadOnlySpan x, Span one, false)
                    p.Predict(ReadOnlySpan x, Span both, true)
                    Expect.sequenceEqual both one (sprintf "trial %d: threaded equals one thread" trial)
                    expectClose f64 (sprintf "trial %d: naive loops" trial) a one
                    // From inside a job of the pool, the pool runs the parts on this thread one after
                    // another: part 0 must take part 1's share rather than wait for it.
                    let nested = Array.zeroCreate 5
                    WorkerPool.Run({ new IParallelJob with member _.Execute(part, _) = if part = 0 then p.Predict(ReadOnlySpan x, Span nested, true) }, 2)
                    Expect.sequenceEqual nested one (sprintf "trial %d: inside a job equals one thread" trial)
                // Several callers at once, each with its own predictor: all but one find the pool busy.
                let ps = Array.init 3 (fun _ ->
                    let q = RowPredictor<float>(300, specs)
                    for l in 0 .. 3 do q.SetParameters(l, ReadOnlySpan w.[l], ReadOnlySpan b.[l])
                    q)
                let predict (q: RowPredictor<float>) (x: float[]) split =
                    let o = Array.zeroCreate 5
                    q.Predict(ReadOnlySpan x, Span o, split)
                    o
                let expected = xs |> Array.map (fun x -> predict p x false)
                let got = Array.Parallel.init 3 (fun t -> Array.init 60 (fun i -> predict ps.[t] xs.[i % 6] true))
                for t in 0 .. 2 do
                    for i in 0 .. 59 do Expect.sequenceEqual got.[t].[i] expected.[i % 6] (sprintf "caller %d, call %d" t i)
            // Other tests run in parallel and allocate, so only this thread's count is checked here;
            // the benchmark (bench/) also reports the process-wide count, where nothing else runs.
            testSequenced <| testCase "float64 training steps and predictions allocate nothing" (fun () ->
                let thread, _ = stepAllocations f64
                Expect.equal thread 0L "bytes allocated on the calling thread by 100 steps")
            testSequenced <| testCase "float32 training steps and predictions allocate nothing" (fun () ->
                let thread, _ = stepAllocations f32
                Expect.equal thread 0L "bytes allocated on the calling thread by 100 steps")
        ]
    ]
