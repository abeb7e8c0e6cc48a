module Functional.NN.Tests.HouseholderQrTests

open System
open System.Numerics
open Expecto
open MathNet.Numerics.LinearAlgebra
open MathNet.Numerics.LinearAlgebra.Factorization
open Functional.NN.Kernels
open Functional.NN.Linear

// Tolerances. u = 2^-53. Householder QR is backward stable (Higham, Accuracy and Stability of
// Numerical Algorithms, 2nd ed., Thm 19.4 and 19.13): the computed R is the exact R of X + E with
// ||e_j|| <= gamma ||x_j|| for each column, gamma = c n p u, c a small constant, and the computed
// least-squares solution is the exact one of a problem perturbed the same way (the blocked form only
// changes c). We take c = 2 and add n u for the test's own X^T X (a sum of n products) and 16 u
// of slack for the smallest sizes: gamma(n, p) = (2 n p + n + 16) u. Then
// - R^T R - X^T X = E^T X + X^T E + E^T E, so |(R^T R - X^T X)_ij| <= 2.1 gamma ||x_i|| ||x_j||;
// - the least-squares perturbation bound (Higham Thm 20.1) gives a relative error of the solution of
//   at most gamma (kappa + kappa^2 ||r|| / (||X||_2 ||w||)) (kappa = sigma_max / sigma_min of X, r the
//   residual) for each of two backward-stable solvers, so they differ by at most twice that.
// Measured on the seeded panel-boundary cases: the Gram error 0 to 0.023 of its bound, the solution's
// difference 2e-6 to 0.11 of its bound (the 0.11 at 1 x 1; the bounds grow like n p, typical errors
// like sqrt(n p)), while a wrong reflector or block T gives errors of order 1.

let private u = Math.ScaleB(1.0, -53)
let private gamma (n: int) (p: int) = float (2 * n * p + n + 16) * u

/// A seeded n x p matrix of uniform entries in [-1, 1).
let private random (seed: int) (n: int) (p: int) =
    let rng = Random(seed)
    Matrix<float>.Build.Dense(n, p, fun _ _ -> 2.0 * rng.NextDouble() - 1.0)

let private factorOf (x: Matrix<float>) = HouseholderQr.factor x
let private rOf (f: HouseholderQr.Factor) = Matrix<float>.Build.DenseOfArray(HouseholderQr.r f)

/// |R^T R - X^T X|_ij <= 2.1 gamma ||x_i|| ||x_j|| for every i, j.
let private expectGram (what: string) (x: Matrix<float>) (r: Matrix<float>) =
    let n, p = x.RowCount, x.ColumnCount
    let norms = Array.init p (fun j -> x.Column(j).L2Norm())
    let rtr = r.TransposeThisAndMultiply r
    let xtx = x.TransposeThisAndMultiply x
    let bound = 2.1 * gamma n p
    for i in 0 .. p - 1 do
        for j in 0 .. p - 1 do
            let d = abs (rtr.[i, j] - xtx.[i, j])
            if not (d <= bound * norms.[i] * norms.[j]) then
                failtestf "%s: (R^T R - X^T X)[%d, %d] = %g, above the bound %g ||x_i|| ||x_j|| = %g" what i j d bound (bound * norms.[i] * norms.[j])

/// The bound on the relative error (2-norm, column by column) of a backward-stable least-squares
/// solution w of min ||X w - y||: gamma (kappa + kappa^2 ||r|| / (||X||_2 ||w||)).
let private solutionBound (x: Matrix<float>) (y: Vector<float>) (w: Vector<float>) =
    let s = x.Svd(false).S
    let sigmaMax, sigmaMin = s.[0], s.[s.Count - 1]
    let kappa = sigmaMax / sigmaMin
    let residual = (x * w - y).L2Norm()
    gamma x.RowCount x.ColumnCount * (kappa + kappa * kappa * residual / (sigmaMax * w.L2Norm()))

/// Each column of `actual` within `factor` times solutionBound of the column of `expected`.
let private expectSolution (what: string) (factor: float) (x: Matrix<float>) (y: Matrix<float>) (expected: Matrix<float>) (actual: Matrix<float>) =
    for k in 0 .. y.ColumnCount - 1 do
        let e = expected.Column k
        let bound = factor * solutionBound x (y.Column k) e
        let err = (actual.Column k - e).L2Norm() / e.L2Norm()
        if not (err <= bound) then
            failtestf "%s, column %d of Y: relative error %g against MathNet's QR, above the bound %g" what k err bound

let private mathNetSolve (x: Matrix<float>) (y: Matrix<float>) = x.QR(QRMethod.Thin).Solve y

/// The factorisation's checks on X (n x p) and a random Y (n x 2): R^T R against X^T X, Q^T Y's
/// solution against MathNet's QR, and the caller's X not changed.
let private checkAll (what: string) (seed: int) (x: Matrix<float>) =
    let copy = x.Clone()
    let f = factorOf x
    Expect.isTrue (x.Equals copy) (what + ": the factored matrix is not changed")
    expectGram what x (rOf f)
    let y = random (seed + 1) x.RowCount 2
    expectSolution what 2.0 x y (mathNetSolve x y) (HouseholderQr.solve f y)

/// An exact rational p / q (BigInteger), for the exact least-squares solution (public: F# resolves
/// the operators of a private record type only inside it).
[<CustomEquality; NoComparison>]
type Fraction =
    { Num: BigInteger; Den: BigInteger }
    static member Of(p: BigInteger, q: BigInteger) =
        let g = BigInteger.GreatestCommonDivisor(p, q)
        let g = if q.Sign < 0 then -g else g
        { Num = p / g; Den = q / g }
    static member (+) (a: Fraction, b: Fraction) = Fraction.Of(a.Num * b.Den + b.Num * a.Den, a.Den * b.Den)
    static member (-) (a: Fraction, b: Fraction) = Fraction.Of(a.Num * b.Den - b.Num * a.Den, a.Den * b.Den)
    static member (*) (a: Fraction, b: Fraction) = Fraction.Of(a.Num * b.Num, a.Den * b.Den)
    static member (/) (a: Fraction, b: Fraction) = Fraction.Of(a.Num * b.Den, a.Den * b.Num)
    override this.Equals(o) = match o with :? Fraction as f -> this.Num = f.Num && this.Den = f.Den | _ -> false
    override this.GetHashCode() = hash (this.Num, this.Den)
    member this.ToFloat() = float this.Num / float this.Den

/// The exact solution of X^T X w = X^T y for an integer design and targets, by Gauss-Jordan
/// elimination in rationals (X^T X is positive definite for a full-rank X, so no pivot is 0).
let private exactLeastSquares (x: int[][]) (y: int[]) : Fraction[] =
    let n, p = x.Length, x.[0].Length
    let fr (v: int) = Fraction.Of(BigInteger v, BigInteger.One)
    let a = Array.init p (fun i -> Array.init (p + 1) (fun j ->
        if j < p then fr (Seq.sum (Seq.init n (fun r -> x.[r].[i] * x.[r].[j])))
        else fr (Seq.sum (Seq.init n (fun r -> x.[r].[i] * y.[r])))))
    for c in 0 .. p - 1 do
        let pivot = a.[c].[c]
        a.[c] <- a.[c] |> Array.map (fun v -> v / pivot)
        for r in 0 .. p - 1 do
            if r <> c then
                let factor = a.[r].[c]
                a.[r] <- Array.map2 (fun v w -> v - factor * w) a.[r] a.[c]
    Array.init p (fun i -> a.[i].[p])

[<Tests>]
let tests =
    testList "HouseholderQr" [
        testList "panel boundaries (least squares)" [
            let nb = HouseholderQr.BlockSize
            for p in [ 1; 2; nb - 1; nb; nb + 1; 2 * nb + 3 ] do
                for n in [ p; p + 1; 3 * p + 5 ] do
                    testCase (sprintf "n = %d, p = %d" n p) <| fun () ->
                        checkAll (sprintf "%d x %d" n p) (1000 * n + p) (random (n * 7919 + p) n p)
        ]

        testCase "a tall 3000 x 100 matrix, several panels with the parallel Gemm" <| fun () ->
            checkAll "3000 x 100" 5 (random 4 3000 100)

        testCase "a zero column gives tau = 0 and R_jj = 0, and R^T R still equals X^T X" <| fun () ->
            let x = random 11 50 40
            x.SetColumn(33, Array.zeroCreate 50)
            let f = factorOf x
            Expect.equal f.Tau.[33] 0.0 "tau of the zero column"
            Expect.equal (abs (HouseholderQr.rDiagonal f).[33]) 0.0 "R_33"
            expectGram "zero column" x (rOf f)
            // Through least squares: the rank test names the zero column.
            let e = Expect.throwsC (fun () -> NormalEquation.leastSquares 1e-10 (sprintf "c%d") x (random 12 50 1) |> ignore) id
            Expect.stringContains e.Message "design column 33 (c33) holds only zeros" "the message"

        testCase "the last column of a square matrix has nothing below its diagonal: tau = 0" <| fun () ->
            let x = random 13 5 5
            let f = factorOf x
            Expect.equal f.Tau.[4] 0.0 "tau"
            expectGram "5 x 5" x (rOf f)

        testList "columns scaled by 1e150 and 1e-150" [
            // The factorisation itself (the callers scale columns to [0.5, 1) first; these reach its
            // norms' scaled path, entries beyond 2^300 or below 2^-300): R(X D) = R(X) D and
            // w(X D) = D^-1 w(X) in exact arithmetic, so R's columns and the solution scaled back
            // must agree with the unscaled ones within the bounds above.
            let scales = [| 1e150; 1e-150; 1.0; 1e150; 1e-150; 3.0 |]
            for n, p in [ 60, 40; 200, 70 ] do
                testCase (sprintf "HouseholderQr on %d x %d" n p) <| fun () ->
                    let x = random (n + p) n p
                    let d = Array.init p (fun j -> scales.[j % scales.Length])
                    let xd = x.MapIndexed(fun _ j v -> v * d.[j])
                    let y = random (n - p) n 1
                    let plain, scaled = factorOf x, factorOf xd
                    let r, rd = rOf plain, rOf scaled
                    let bound = 2.0 * gamma n p * (x.Svd(false).ConditionNumber)
                    for j in 0 .. p - 1 do
                        let err = (rd.Column(j) / d.[j] - r.Column(j)).L2Norm() / x.Column(j).L2Norm()
                        if not (err <= bound) then failtestf "column %d of R (scale %g): relative difference %g above %g" j d.[j] err bound
                    let w = HouseholderQr.solve plain y
                    let wd = (HouseholderQr.solve scaled y).MapIndexed(fun j _ v -> v * d.[j])
                    expectSolution "scaled columns" 2.0 x y w wd
                    expectSolution "unscaled" 2.0 x y (mathNetSolve x y) w
            testCase "NormalEquation.leastSquares with such columns agrees with the unscaled solution" <| fun () ->
                let n, p = 90, 36
                let x = random 77 n p
                let d = Array.init p (fun j -> scales.[j % scales.Length])
                let xd = x.MapIndexed(fun _ j v -> v * d.[j])
                let y = random 78 n 2
                let w = NormalEquation.leastSquares 1e-10 string x y
                let wd = (NormalEquation.leastSquares 1e-10 string xd y).MapIndexed(fun j _ v -> v * d.[j])
                expectSolution "leastSquares, scaled back" 2.0 x y w wd
                expectSolution "leastSquares against MathNet" 2.0 x y (mathNetSolve x y) w
        ]

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 40 } "random rectangular sizes: R^T R = X^T X and the solution of MathNet's QR" <| fun (seed: int, a: int, b: int) ->
            let p = 1 + abs (a % 80)
            let n = p + abs (b % 150)
            checkAll (sprintf "%d x %d, seed %d" n p seed) seed (random seed n p)

        testCase "an integer design's exact rational least-squares solution" <| fun () ->
            // By hand first: X = [1 0; 1 1; 1 2; 1 3], y = [1; 3; 2; 5]: X^T X = [4 6; 6 14],
            // X^T y = [11; 22], det = 20, w = [14 -6; -6 4] [11; 22] / 20 = [22; 22] / 20 = [1.1; 1.1].
            let small = Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; 0.0 ]; [ 1.0; 1.0 ]; [ 1.0; 2.0 ]; [ 1.0; 3.0 ] ])
            let ys = Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0 ]; [ 3.0 ]; [ 2.0 ]; [ 5.0 ] ])
            let w = HouseholderQr.solve (factorOf small) ys
            for j in 0 .. 1 do
                Expect.floatClose { absolute = 0.0; relative = 16.0 * gamma 4 2 } w.[j, 0] 1.1 (sprintf "w_%d of the 4 x 2 design" j)
            // Then a quadratic design on x = -3 .. 6 (columns 1, x, x^2, x^3) whose solution is computed
            // exactly in System.Numerics.BigInteger fractions (exactLeastSquares), through
            // NormalEquation.leastSquares (scaling, rank test, factorisation, Q^T y, back substitution).
            let rows = [| for t in -3 .. 6 -> [| 1; t; t * t; t * t * t |] |]
            let y = [| 4; -1; 0; 2; 7; 3; -5; 8; 1; 9 |]
            let exact = exactLeastSquares rows y
            let x = Matrix<float>.Build.Dense(rows.Length, 4, fun i j -> float rows.[i].[j])
            let yv = Matrix<float>.Build.Dense(rows.Length, 1, fun i _ -> float y.[i])
            let w = NormalEquation.leastSquares 1e-10 string x yv
            let expected = Vector<float>.Build.DenseOfArray(exact |> Array.map (fun f -> f.ToFloat()))
            // One solver's bound plus the rounding of each exact value to double.
            let bound = solutionBound x (yv.Column 0) expected + u
            let err = (w.Column 0 - expected).L2Norm() / expected.L2Norm()
            if not (err <= bound) then failtestf "relative error %g against the exact solution %A, above %g" err expected bound

        testSequenced (testCase "bit for bit: two runs, and the Gemm products on one thread against the worker pool" (fun () ->
            let x = random 21 2500 90
            let y = random 22 2500 3
            let bits (f: HouseholderQr.Factor) (w: Matrix<float>) =
                Array.concat [ f.Packed; f.Tau; Array.concat f.Blocks; w.ToColumnMajorArray() ] |> Array.map BitConverter.DoubleToInt64Bits
            let run () = let f = factorOf x in bits f (HouseholderQr.solve f y)
            let first = run ()
            Expect.sequenceEqual (run ()) first "a second run"
            let parallelThreshold, vectorThreshold = Gemm.ParallelThreshold, Gemm.VectorParallelThreshold
            try
                Gemm.ParallelThreshold <- Int64.MaxValue
                Gemm.VectorParallelThreshold <- Int64.MaxValue
                Expect.sequenceEqual (run ()) first (sprintf "every product on the calling thread, against the pool's %d threads" WorkerPool.Threads)
            finally
                Gemm.ParallelThreshold <- parallelThreshold
                Gemm.VectorParallelThreshold <- vectorThreshold))
    ]
