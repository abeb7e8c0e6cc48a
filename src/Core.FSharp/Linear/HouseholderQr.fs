namespace Functional.NN.Linear

open System
open System.Numerics
open Functional.NN.Kernels

/// A blocked Householder QR factorisation X = Q R of an n x p matrix (n >= p) held column-major,
/// that never forms Q (LAPACK's dgeqrf scheme). Q = H_0 H_1 ... H_(p-1), each reflector
/// H_j = I - tau_j v_j v_j^T with v_j zero above row j and 1 at row j (LAPACK's dlarfg:
/// beta = -sign(alpha) ||x||, tau = (beta - alpha) / beta, v = x / (alpha - beta) below row j; a
/// column with nothing below its diagonal, a zero column among them, gives tau = 0, H = I).
///
/// The columns are factored by panels of `BlockSize` columns. A panel is factored recursively (its
/// left half, the left half's reflectors applied to its right half as one block, then its right
/// half; Elmroth and Gustavson's scheme, LAPACK's dgeqrt3) down to `LeafWidth` columns done one
/// reflector at a time; the product of a panel's reflectors is kept in the compact WY form
/// H_j0 ... H_(j0+b-1) = I - V T V^T (V the panel's n x b unit lower trapezoidal reflectors, T b x b
/// upper triangular, LAPACK's dlarft from the Gram matrix V^T V), and applied to the trailing
/// columns as C - V T^T (V^T C) by the kernels' blocked product (`Gemm`, LAPACK's dlarfb). Q^T Y is
/// applied the same way, panel by panel, and the solution of min ||X W - Y|| is R^-1 (Q^T Y)_(0..p-1)
/// by back substitution.
///
/// Deterministic: every sum has a fixed order (the kernels' Gemm computes each element of C as the
/// same sum in the same order whatever the number of threads; the vector loops here run on one
/// thread with a fixed vector width), so the result is the same bit for bit on every run on the same
/// machine. The norms are computed with a power-of-two scaling when a column's largest entry is below
/// 2^-300 or above 2^300, so neither overflow nor underflow occurs in them; the callers also scale
/// each column by a power of two to a largest entry in [0.5, 1) beforehand.
module internal HouseholderQr =

    /// The width of a panel of the blocked factorisation (LAPACK's nb).
    [<Literal>]
    let BlockSize = 32

    /// The width below which a panel is factored one reflector at a time.
    [<Literal>]
    let LeafWidth = 8

    /// A factorisation X = Q R of an n x p matrix (n >= p).
    type Factor =
        { /// n.
          Rows: int
          /// p.
          Columns: int
          /// Column-major n x p: R on and above the diagonal, each v_j below it (its 1 at row j implicit).
          Packed: float[]
          /// tau_j of each reflector.
          Tau: float[]
          /// The T of each panel (row-major b x b, upper triangular), panel k holding columns
          /// k BlockSize .. k BlockSize + b - 1.
          Blocks: float[][] }

    /// x . y over len entries from offsets xo and yo (vector lanes, then the lanes summed in order,
    /// then the tail).
    let private dot (x: float[]) (xo: int) (y: float[]) (yo: int) (len: int) : float =
        let vc = Vector<float>.Count
        let mutable acc0 = Vector<float>.Zero
        let mutable acc1 = Vector<float>.Zero
        let mutable i = 0
        while i + 2 * vc <= len do
            acc0 <- acc0 + Vector<float>(x, xo + i) * Vector<float>(y, yo + i)
            acc1 <- acc1 + Vector<float>(x, xo + i + vc) * Vector<float>(y, yo + i + vc)
            i <- i + 2 * vc
        if i + vc <= len then
            acc0 <- acc0 + Vector<float>(x, xo + i) * Vector<float>(y, yo + i)
            i <- i + vc
        let acc = acc0 + acc1
        let mutable s = 0.0
        for l in 0 .. vc - 1 do s <- s + acc.[l]
        while i < len do
            s <- s + x.[xo + i] * y.[yo + i]
            i <- i + 1
        s

    /// y <- y + a x over len entries from offsets xo and yo.
    let private axpy (a: float) (x: float[]) (xo: int) (y: float[]) (yo: int) (len: int) =
        let vc = Vector<float>.Count
        let va = Vector<float>(a)
        let mutable i = 0
        while i + vc <= len do
            (Vector<float>(y, yo + i) + va * Vector<float>(x, xo + i)).CopyTo(y, yo + i)
            i <- i + vc
        while i < len do
            y.[yo + i] <- y.[yo + i] + a * x.[xo + i]
            i <- i + 1

    /// The Euclidean norm of len entries of x from offset xo, without overflow or underflow: plain
    /// when the largest |entry| lies in [2^-300, 2^300], otherwise of the entries scaled by the power
    /// of two that brings it into [1, 2) (then scaled back). NaN when an entry is NaN.
    let norm2 (x: float[]) (xo: int) (len: int) : float =
        let mutable big = 0.0
        let mutable nan = false
        for i in xo .. xo + len - 1 do
            let v = abs x.[i]
            if Double.IsNaN v then nan <- true
            elif v > big then big <- v
        if nan then Double.NaN
        elif big = 0.0 || Double.IsInfinity big then big
        else
            let e = Math.ILogB big
            if e >= -300 && e <= 300 then sqrt (dot x xo x xo len)
            else
                let mutable s = 0.0
                for i in xo .. xo + len - 1 do
                    let v = Math.ScaleB(x.[i], -e)
                    s <- s + v * v
                Math.ScaleB(sqrt s, e)

    /// sqrt(a^2 + b^2) for a, b >= 0 without overflow or underflow.
    let private hypot (a: float) (b: float) : float =
        let big = max a b
        let small = min a b
        if big = 0.0 || Double.IsInfinity big then big
        else
            let r = small / big
            big * sqrt (1.0 + r * r)

    /// LAPACK's dlarfg on the len entries of a from offset o (alpha = a[o], x below it): overwrites
    /// a[o] with beta and x with v's entries below its leading 1; returns tau (0 when x is zero).
    let private reflector (a: float[]) (o: int) (len: int) : float =
        let alpha = a.[o]
        let xnorm = if len > 1 then norm2 a (o + 1) (len - 1) else 0.0
        if xnorm = 0.0 then 0.0
        else
            let beta = if alpha >= 0.0 then -(hypot (abs alpha) xnorm) else hypot (abs alpha) xnorm
            let tau = (beta - alpha) / beta
            let d = alpha - beta
            let inv = 1.0 / d
            if Double.IsFinite inv && inv <> 0.0 then
                for i in o + 1 .. o + len - 1 do a.[i] <- a.[i] * inv
            else
                for i in o + 1 .. o + len - 1 do a.[i] <- a.[i] / d
            a.[o] <- beta
            tau

    /// Factors columns j0 .. j0 + w - 1 (rows j0 .. n-1) one reflector at a time (LAPACK's dgeqr2),
    /// applying each reflector only to the columns of this range after it.
    let private unblocked (a: float[]) (n: int) (tau: float[]) (j0: int) (w: int) =
        for j in j0 .. j0 + w - 1 do
            let col = j * n
            let m = n - j
            let t = reflector a (col + j) m
            tau.[j] <- t
            if t <> 0.0 then
                for c in j + 1 .. j0 + w - 1 do
                    let cc = c * n + j
                    let s = t * (a.[cc] + dot a (col + j + 1) a (cc + 1) (m - 1))
                    a.[cc] <- a.[cc] - s
                    axpy (-s) a (col + j + 1) a (cc + 1) (m - 1)

    /// V^T stored row-major (b x m, m = n - j0), that is V (m x b) column-major: the reflectors of
    /// columns j0 .. j0 + b - 1 from row j0 on, with their unit diagonal and zeros above it.
    let private reflectors (a: float[]) (n: int) (j0: int) (b: int) : float[] =
        let m = n - j0
        let vt = Array.zeroCreate (b * m)
        for c in 0 .. b - 1 do
            vt.[c * m + c] <- 1.0
            Array.blit a ((j0 + c) * n + j0 + c + 1) vt (c * m + c + 1) (m - c - 1)
        vt

    /// T (b x b, row-major, upper triangular) of I - V T V^T = H_j0 ... H_(j0+b-1) (LAPACK's dlarft,
    /// forward, columnwise), from the Gram matrix V^T V computed by Gemm.
    let private blockT (vt: float[]) (m: int) (b: int) (tau: float[]) (j0: int) : float[] =
        let g = Array.zeroCreate (b * b)
        Gemm.Multiply(false, true, b, b, m, 1.0, ReadOnlySpan(vt), m, ReadOnlySpan(vt), m, 0.0, Span(g), b)
        let t = Array.zeroCreate (b * b)
        let z = Array.zeroCreate b
        for i in 0 .. b - 1 do
            let ti = tau.[j0 + i]
            t.[i * b + i] <- ti
            if ti <> 0.0 then
                // T[0..i-1, i] = T[0..i-1, 0..i-1] (-tau_i V[:, 0..i-1]^T v_i)
                for r in 0 .. i - 1 do z.[r] <- -ti * g.[r * b + i]
                for r in 0 .. i - 1 do
                    let mutable s = 0.0
                    for q in r .. i - 1 do s <- s + t.[r * b + q] * z.[q]
                    t.[r * b + i] <- s
        t

    /// C <- (I - V T V^T)^T C = C - V T^T (V^T C) for C the rows r0 .. r0 + m - 1 of the columns
    /// c0 .. c0 + nc - 1 of the column-major array c (leading dimension ldc), V given as vt (V^T
    /// row-major, b x m). On the row-major storage of C^T (nc x m, row stride ldc), by two Gemm calls:
    /// W^T = C^T V (nc x b), then C^T <- C^T - (W^T T) V^T (LAPACK's dlarfb).
    let private applyBlock (vt: float[]) (m: int) (b: int) (t: float[]) (c: float[]) (ldc: int) (r0: int) (c0: int) (nc: int) =
        if nc > 0 then
            let off = c0 * ldc + r0
            let len = (nc - 1) * ldc + m
            let wt = Array.zeroCreate (nc * b)
            Gemm.Multiply(false, true, nc, b, m, 1.0, ReadOnlySpan(c, off, len), ldc, ReadOnlySpan(vt), m, 0.0, Span(wt), b)
            // W^T T (T upper triangular), in place from the last column of T to the first.
            for r in 0 .. nc - 1 do
                let o = r * b
                for col in b - 1 .. -1 .. 0 do
                    let mutable s = 0.0
                    for i in 0 .. col do s <- s + wt.[o + i] * t.[i * b + col]
                    wt.[o + col] <- s
            Gemm.Multiply(false, false, nc, m, b, -1.0, ReadOnlySpan(wt), b, ReadOnlySpan(vt), m, 1.0, Span(c, off, len), ldc)

    /// Factors columns j0 .. j0 + w - 1 (rows j0 .. n-1), touching only those columns: recursively,
    /// left half, its block reflector applied to the right half, right half.
    let rec private factorPanel (a: float[]) (n: int) (tau: float[]) (j0: int) (w: int) =
        if w <= LeafWidth then unblocked a n tau j0 w
        else
            let h = w / 2
            factorPanel a n tau j0 h
            let m = n - j0
            let vt = reflectors a n j0 h
            applyBlock vt m h (blockT vt m h tau j0) a n j0 (j0 + h) (w - h)
            factorPanel a n tau (j0 + h) (w - h)

    /// Factors the n x p column-major matrix `a` (n >= p) in place: `a` becomes the factor's Packed
    /// storage, so the caller must own it (pass a copy).
    let factorInPlace (n: int) (p: int) (a: float[]) : Factor =
        if n < p then invalidArg "a" (sprintf "HouseholderQr needs n >= p, but n = %d and p = %d." n p)
        if a.Length <> n * p then invalidArg "a" (sprintf "a has %d entries; an n x p = %d x %d matrix has %d." a.Length n p (n * p))
        let tau = Array.zeroCreate p
        let blocks =
            [| for j0 in 0 .. BlockSize .. p - 1 do
                let b = min BlockSize (p - j0)
                factorPanel a n tau j0 b
                let m = n - j0
                let vt = reflectors a n j0 b
                let t = blockT vt m b tau j0
                applyBlock vt m b t a n j0 (j0 + b) (p - j0 - b)
                t |]
        { Rows = n; Columns = p; Packed = a; Tau = tau; Blocks = blocks }

    /// Factors a copy of m (n x p, n >= p); m itself is not changed.
    let factor (m: MathNet.Numerics.LinearAlgebra.Matrix<float>) : Factor =
        factorInPlace m.RowCount m.ColumnCount (m.ToColumnMajorArray())

    /// R_jj, j = 0 .. p-1.
    let rDiagonal (f: Factor) : float[] =
        Array.init f.Columns (fun j -> f.Packed.[j * f.Rows + j])

    /// ||column j of R|| (the norm of column j of the factored matrix, up to rounding).
    let rColumnNorm (f: Factor) (j: int) : float =
        norm2 f.Packed (j * f.Rows) (j + 1)

    /// R (p x p, upper triangular).
    let r (f: Factor) : float[,] =
        Array2D.init f.Columns f.Columns (fun i j -> if i <= j then f.Packed.[j * f.Rows + i] else 0.0)

    /// Overwrites y (n x k, column-major, leading dimension n) with Q^T y, panel by panel as the
    /// factorisation applied them.
    let applyQtInPlace (f: Factor) (k: int) (y: float[]) =
        let n = f.Rows
        if y.Length <> n * k then invalidArg "y" (sprintf "y has %d entries; an n x k = %d x %d matrix has %d." y.Length n k (n * k))
        f.Blocks |> Array.iteri (fun panel t ->
            let j0 = panel * BlockSize
            let b = min BlockSize (f.Columns - j0)
            let m = n - j0
            applyBlock (reflectors f.Packed n j0 b) m b t y n j0 0 k)

    /// W (p x k) with R W = (Q^T Y)_(0..p-1), given qty = Q^T Y (n x k, column-major), by back
    /// substitution along R's columns. R_jj = 0 gives infinities or NaN (the callers' rank test and
    /// condition estimate come first).
    let backSubstitute (f: Factor) (k: int) (qty: float[]) : MathNet.Numerics.LinearAlgebra.Matrix<float> =
        let n, p = f.Rows, f.Columns
        let w = Array.zeroCreate (p * k)
        for q in 0 .. k - 1 do
            let o = q * p
            Array.blit qty (q * n) w o p
            for j in p - 1 .. -1 .. 0 do
                let x = w.[o + j] / f.Packed.[j * n + j]
                w.[o + j] <- x
                if j > 0 then axpy (-x) f.Packed (j * n) w o j
        MathNet.Numerics.LinearAlgebra.Matrix<float>.Build.Dense(p, k, w)

    /// The least-squares solution W (p x k) of min ||X W - Y|| for the factored X and Y (n x k),
    /// which is not changed.
    let solve (f: Factor) (y: MathNet.Numerics.LinearAlgebra.Matrix<float>) : MathNet.Numerics.LinearAlgebra.Matrix<float> =
        if y.RowCount <> f.Rows then invalidArg "y" (sprintf "y has %d rows; the factored matrix has %d." y.RowCount f.Rows)
        let values = y.ToColumnMajorArray()
        applyQtInPlace f y.ColumnCount values
        backSubstitute f y.ColumnCount values
