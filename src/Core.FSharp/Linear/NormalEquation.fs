namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open MathNet.Numerics.LinearAlgebra.Factorization
open Functional.NN

/// Solvers of the normal equation, never by forming an inverse:
///
/// - least squares, X^T X W = X^T Y, by a thin QR factorisation X = Q R of the design itself
///   (W = R^-1 Q^T Y). Factorising X^T X (Cholesky) would square the condition number of X;
///   QR keeps it, so an ill-conditioned design (a polynomial of degree 5 on [0, 10]) loses
///   about half as many digits.
/// - ridge, (X^T X / n + lambda I) W = X^T Y / n with lambda > 0, by a Cholesky factorisation
///   A = L L^T of the regularised matrix, which is positive definite for every lambda > 0.
///
/// Rank test of least squares (the documented relative tolerance): R_jj^2 / ||x_j||^2 is the
/// fraction of the squared length of column j of X that lies outside the span of the columns
/// before it (sin^2 of the angle between them; it equals L_jj^2 / A_jj of the Cholesky factor
/// of A = X^T X). It does not depend on the scale of the column. When it is below `tolerance`
/// (Default 1e-10) for some j, column j is treated as a linear combination of the earlier ones
/// and X^T X as singular. Ridge has no rank test: X^T X / n + lambda I is invertible for every
/// lambda > 0; it only refuses a lambda so small against the scale of the data that
/// (lambda_max + lambda) / lambda, the bound on A's condition number, exceeds 1e14.
module NormalEquation =

    /// The default relative tolerance of the rank test: 1e-10 (a column is dependent when less
    /// than 1e-10 of its squared length, about 1e-5 of its length, lies outside the span of the
    /// columns before it). Rounding of a duplicated column gives about 1e-16 or less.
    [<Literal>]
    let DefaultRankTolerance = 1e-10

    /// The largest bound (lambda_max + lambda) / lambda on the condition number of
    /// X^T X / n + lambda I that ridge accepts: 1e14 (beyond it a Cholesky solve keeps fewer than
    /// about two correct digits).
    [<Literal>]
    let MaxRidgeCondition = 1e14

    /// Raises ArgumentException (ParamName `name`) unless lambda is a finite number >= 0. The one
    /// check of a ridge lambda (Ridge.fit and LinearCost both use it).
    let checkLambda (name: string) (lambda: float) =
        if Double.IsNaN lambda || Double.IsInfinity lambda || lambda < 0.0 then
            Check.fail name (sprintf "%s must be a finite number >= 0, but is %s." name (string lambda))

    /// The largest eigenvalue of a finite symmetric positive semi-definite matrix (X^T X / n and
    /// the like), computed on the matrix divided by its largest absolute entry s, with entries
    /// below 1e-150 in that scale set to 0, and scaled back; 0 for a zero matrix. MathNet's
    /// decomposition failed with IndexOutOfRange on entries near 1e308 (its sums of squares
    /// overflow) and on subnormal ones such as 5e-324 (they underflow); the scaling and the flush
    /// avoid both. The flush changes the result by at most n 1e-150 s (Weyl), against a largest
    /// eigenvalue of at least s (the largest entry of a PSD matrix is on its diagonal). The result
    /// is infinite when it lies beyond the double range.
    let largestEigenvalue (m: Matrix<float>) : float =
        let s = Mat.maxAbs m
        if s = 0.0 then 0.0
        else
            let scaled = m.Map(fun v -> let u = v / s in if abs u < 1e-150 then 0.0 else u)
            let eigen =
                try scaled.Evd(Symmetricity.Symmetric).EigenValues |> Seq.map (fun c -> c.Real) |> Array.ofSeq
                with :? IndexOutOfRangeException | :? ArithmeticException -> [||]
            if eigen.Length = 0 || eigen |> Array.exists Double.IsNaN then nan else s * Array.max eigen

    let private singular (p: int) (columnName: int -> string) (tolerance: float) (j: int) (ratio: float) =
        Check.fail "x" (sprintf "The design matrix is rank-deficient, so X^T X (%s) is singular and least squares has no unique solution: design column %d (%s) is a linear combination of the columns before it (%s; the relative tolerance is %g). This happens with a duplicated or constant feature, a feature that is a sum of others, or a constant column together with an intercept. Remove the dependent column, or use ridge regression (Ridge.fit with lambda > 0), whose matrix X^T X / n + lambda I is always invertible." (Check.shape p p) j (columnName j) (if ratio > 0.0 then sprintf "only %.3g of its squared length lies outside their span" ratio else "no part of it lies outside their span, up to rounding") tolerance)

    /// The least-squares solution W of min ||X W - Y||^2 (X^T X W = X^T Y) for a design X (n x p,
    /// n >= p) and targets Y (n x k), by one thin QR factorisation of X. `columnName j` names
    /// column j of the design for the message (for example "feature 0, distance_km" or "the
    /// intercept column of ones"). Raises ArgumentException (ParamName "x") that says which
    /// column is dependent and points to ridge regression when the rank test fails.
    let leastSquares (tolerance: float) (columnName: int -> string) (design: Matrix<float>) (y: Matrix<float>) : Matrix<float> =
        Check.positive "tolerance" tolerance
        let p = design.ColumnCount
        // Each column of the design (and of Y) is multiplied by a power of two 2^-e that brings
        // its largest |value| into [0.5, 1): exact in binary floating point (short of subnormals),
        // so the scaled problem has the same solution up to the inverse scaling of the weights,
        // and MathNet's Householder QR neither overflows (its sums of squares, entries >= 1e154)
        // nor underflows (entries <= 1e-154) on it. sin^2 of the rank test does not depend on a
        // column's scale, so the test is the same on the scaled design.
        let exponentOf (m: Matrix<float>) (j: int) =
            let big = m.Column(j).AbsoluteMaximum()
            if big > 0.0 && Double.IsFinite big then Math.ILogB big + 1 else 0
        let dExp = Array.init p (exponentOf design)
        let yExp = Array.init y.ColumnCount (exponentOf y)
        let scaled = design.MapIndexed(fun _ j v -> Math.ScaleB(v, -dExp.[j]))
        let ys = y.MapIndexed(fun _ k v -> Math.ScaleB(v, -yExp.[k]))
        let qr = scaled.QR(QRMethod.Thin)
        let r = qr.R
        let ratio j =
            let norm = scaled.Column(j).L2Norm()
            if norm > 0.0 then (r.[j, j] / norm) * (r.[j, j] / norm) else 0.0
        match Seq.init p id |> Seq.tryFind (fun j -> let q = ratio j in q < tolerance || Double.IsNaN q) with
        | Some j -> singular p columnName tolerance j (ratio j)
        | None ->
            // design = scaled D with D = diag(2^dExp), Y = Ys E with E = diag(2^yExp):
            // W = D^-1 Ws E, so weight [j, k] = Ws[j, k] 2^(yExp[k] - dExp[j]).
            qr.Solve ys |> fun ws -> ws.MapIndexed(fun j k v -> Math.ScaleB(v, yExp.[k] - dExp.[j]))

    /// The ridge solution W of (G + lambda I) W = B for G = X^T X / n (p x p, symmetric positive
    /// semi-definite), B = X^T Y / n and lambda > 0, by a Cholesky factorisation of G + lambda I.
    /// No rank test. Raises ArgumentException (ParamName "lambda") when lambda is too small for
    /// the scale of the data ((lambda_max + lambda) / lambda > MaxRidgeCondition, with lambda_max
    /// the largest eigenvalue of G) or the factorisation fails, naming the column with the
    /// largest mean square and suggesting to standardise the features or increase lambda.
    let ridge (lambda: float) (columnName: int -> string) (g: Matrix<float>) (b: Matrix<float>) : Matrix<float> =
        if not (lambda > 0.0) || Double.IsInfinity lambda then
            Check.fail "lambda" (sprintf "lambda must be a positive finite number for the ridge solver, but is %s." (string lambda))
        let p = g.RowCount
        let overflow (name: string) (what: string) (m: Matrix<float>) =
            if not (m.ForAll(fun v -> Double.IsFinite v)) then
                Check.fail name (sprintf "%s overflows the double range: %s holds values too large to square and sum in double precision (about 1e154 or more). Scale the data (for example standardise it) before fitting." what name)
        overflow "x" "X^T X / n" g
        overflow "y" "X^T Y / n" b
        let tooSmall (lambdaMax: float) =
            let j = Seq.init p id |> Seq.maxBy (fun j -> g.[j, j])
            Check.fail "lambda" (sprintf "lambda = %g is too small for the scale of column %d (%s) of the design: its mean square is %g and the largest eigenvalue of X^T X / n is %g, so X^T X / n + lambda I (%s) has a condition number up to %.3g (more than %g) and cannot be solved accurately. Standardise the features (subtract the mean, divide by the standard deviation of each column) or increase lambda." lambda j (columnName j) g.[j, j] lambdaMax (Check.shape p p) ((lambdaMax + lambda) / lambda) MaxRidgeCondition)
        let lambdaMax = largestEigenvalue g
        if not (Double.IsFinite lambdaMax) then
            Check.fail "x" (sprintf "The largest eigenvalue of X^T X / n (%s) cannot be computed in double precision: x holds values too large (about 1e154 or more) or the decomposition fails. Scale the data (for example standardise it) before fitting." (string lambdaMax))
        if (lambdaMax + lambda) / lambda > MaxRidgeCondition then tooSmall lambdaMax
        let a = g + lambda * Matrix<float>.Build.DenseIdentity p
        let chol = try Some (a.Cholesky()) with :? ArgumentException -> None
        match chol with
        | Some c -> c.Solve b
        | None -> tooSmall lambdaMax
