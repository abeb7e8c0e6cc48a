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
/// lambda > 0; it only refuses a lambda so small that the matrix scaled to unit diagonal
/// (D^-1/2 A D^-1/2, D = diag A) has a condition number above 1e14. That scaled condition number,
/// not A's own, governs the accuracy of the Cholesky solve, so columns of very different scales
/// are no reason to refuse.
module NormalEquation =

    /// The default relative tolerance of the rank test: 1e-10 (a column is dependent when less
    /// than 1e-10 of its squared length, about 1e-5 of its length, lies outside the span of the
    /// columns before it). Rounding of a duplicated column gives about 1e-16 or less.
    [<Literal>]
    let DefaultRankTolerance = 1e-10

    /// The largest condition number of X^T X / n + lambda I scaled to unit diagonal
    /// (D^-1/2 (X^T X / n + lambda I) D^-1/2, D its diagonal) that ridge accepts: 1e14 (beyond it a
    /// Cholesky solve keeps fewer than about two correct digits).
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

    /// Below this fraction of its squared length outside the span of the columns before it (sin of the
    /// angle below 1e-10, a million times double precision's rounding), a column that fails the rank test
    /// is reported as a linear combination of them up to rounding; above it, as nearly one (numerically
    /// dependent at the tolerance: the design may have full rank in exact arithmetic).
    let private roundingLevel = 1e-20

    /// The message of a failed rank test at design column j. `constantValue k` is Some c when design
    /// column k holds c in every row.
    let private singular (p: int) (columnName: int -> string) (constantValue: int -> float option) (tolerance: float) (j: int) (ratio: float) =
        let remedy = "Remove the dependent column, or use ridge regression (Ridge.fit with lambda > 0), whose matrix X^T X / n + lambda I is always invertible."
        let exact (what: string) (detail: string) =
            Check.fail "x" (sprintf "The design matrix is rank-deficient, so X^T X (%s) is singular and least squares has no unique solution: design column %d (%s) %s (%sthe relative tolerance is %g). This happens with a duplicated or constant feature, a feature that is a sum of others, or a constant column together with an intercept. %s" (Check.shape p p) j (columnName j) what detail tolerance remedy)
        let earlierConstant = Seq.init j id |> Seq.tryFind (fun k -> match constantValue k with Some c -> c <> 0.0 | None -> false)
        match constantValue j, earlierConstant with
        | Some c, _ when c = 0.0 -> exact "holds only zeros, so nothing determines its weight" ""
        | Some c, Some k -> exact (sprintf "is constant (every value is %s), so it is a multiple of design column %d (%s)" (string c) k (columnName k)) ""
        | _ when ratio < roundingLevel ->
            exact "is a linear combination of the columns before it" (if ratio > 0.0 then sprintf "only %.3g of its squared length lies outside their span, which is rounding; " ratio else "no part of it lies outside their span, up to rounding; ")
        | _ ->
            Check.fail "x" (sprintf "The design matrix is numerically rank-deficient at the rank tolerance %g: design column %d (%s) is nearly a linear combination of the columns before it (only %.3g of its squared length lies outside their span, less than the tolerance), so least squares cannot determine its weight reliably. The design may have full rank in exact arithmetic (a polynomial of high degree on many points is such a design), but its columns are numerically dependent: at this tolerance X^T X (%s) is numerically singular, too ill-conditioned for least squares. Lower the tolerance (LeastSquaresOptions.RankTolerance, or the rankTolerance argument of PolynomialRegression.fit) if the column is wanted, remove it (for a polynomial, lower the degree), or use ridge regression (Ridge.fit with lambda > 0), whose matrix X^T X / n + lambda I is always invertible." tolerance j (columnName j) ratio (Check.shape p p))

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
        | Some j ->
            let constantValue k =
                let c = design.[0, k]
                if design.Column(k).ForAll(fun v -> v = c) then Some c else None
            singular p columnName constantValue tolerance j (ratio j)
        | None ->
            // design = scaled D with D = diag(2^dExp), Y = Ys E with E = diag(2^yExp):
            // W = D^-1 Ws E, so weight [j, k] = Ws[j, k] 2^(yExp[k] - dExp[j]).
            qr.Solve ys |> fun ws -> ws.MapIndexed(fun j k v -> Math.ScaleB(v, yExp.[k] - dExp.[j]))

    /// Entries of a matrix whose magnitude is below 1e-150 set to 0 (see largestEigenvalue: MathNet's
    /// symmetric eigendecomposition fails on subnormal entries).
    let private flushTiny (m: Matrix<float>) = m.Map(fun v -> if abs v < 1e-150 then 0.0 else v)

    /// The ridge solution W of (G + lambda I) W = B for G = X^T X / n (p x p, symmetric positive
    /// semi-definite), B = X^T Y / n and lambda > 0, by a Cholesky factorisation of the matrix
    /// equilibrated to unit diagonal: with D = diag(G + lambda I), S = D^-1/2 (G + lambda I) D^-1/2,
    /// S Z = D^-1/2 B and W = D^-1/2 Z. No rank test. The accuracy of a Cholesky solve is governed
    /// by the condition number of S, not of G + lambda I (van der Sluis: Jacobi scaling is within a
    /// factor p of the best diagonal scaling, and Cholesky's rounding errors do not depend on such a
    /// scaling), so columns of very different scales (1e8 and 1e-8) are fine. Raises
    /// ArgumentException (ParamName `lambdaName`) when the condition number of S (from its
    /// eigenvalues) exceeds MaxRidgeCondition or the factorisation fails, naming the design columns
    /// of S's near-singular direction and suggesting to remove or combine them or to increase the
    /// penalty. `lambdaText` says the penalty in the caller's terms ("lambda = 1e-20", "alpha = 0.05
    /// (lambda = alpha / n = 0.0125)"); the message ends "or increase `lambdaName`".
    let ridgeNamed (lambdaName: string) (lambdaText: string) (lambda: float) (columnName: int -> string) (g: Matrix<float>) (b: Matrix<float>) : Matrix<float> =
        if not (lambda > 0.0) || Double.IsInfinity lambda then
            Check.fail lambdaName (sprintf "The ridge solver needs a positive finite penalty, but %s." lambdaText)
        let p = g.RowCount
        let overflow (name: string) (what: string) (m: Matrix<float>) =
            if not (m.ForAll(fun v -> Double.IsFinite v)) then
                Check.fail name (sprintf "%s overflows the double range: %s holds values too large to square and sum in double precision (about 1e154 or more). Scale the data (for example standardise it) before fitting." what name)
        overflow "x" "X^T X / n" g
        overflow "y" "X^T Y / n" b
        // D = diag(G + lambda I) > 0. |G_ij| <= sqrt(G_ii G_jj) (G is PSD), so every entry of S lies in
        // [-1, 1] and G_ij r_i is at most sqrt(G_jj): no intermediate overflows. |B_ik| r_i is at most
        // the root mean square of Y's column k (Cauchy-Schwarz), so the scaled right-hand side is finite.
        let d = Array.init p (fun j -> g.[j, j] + lambda)
        if d |> Array.exists (fun v -> not (Double.IsFinite v)) then
            overflow "x" "X^T X / n + lambda I" (Matrix<float>.Build.Dense(1, 1, infinity))
        let r = d |> Array.map (fun v -> 1.0 / sqrt v)
        let s = Matrix<float>.Build.Dense(p, p, fun i j -> if i = j then g.[i, i] * r.[i] * r.[i] + lambda * r.[i] * r.[i] else g.[i, j] * r.[i] * r.[j])
        let bs = b.MapIndexed(fun i _ v -> v * r.[i])
        // The eigenvalues of S (symmetric, entries in [-1, 1], largest eigenvalue in [1, p]): its condition
        // number, and the eigenvector of the smallest one, the near-dependence to name when refusing.
        let evd = try Some ((flushTiny s).Evd(Symmetricity.Symmetric)) with :? IndexOutOfRangeException | :? ArithmeticException -> None
        let eigen = evd |> Option.map (fun e -> e.EigenValues |> Seq.map (fun c -> c.Real) |> Array.ofSeq)
        let condition =
            match eigen with
            | Some ev when ev.Length > 0 && not (ev |> Array.exists Double.IsNaN) ->
                let lo, hi = Array.min ev, Array.max ev
                if lo > 0.0 then hi / lo else infinity
            | _ -> nan
        let tooSmall () =
            let dependent =
                match evd, eigen with
                | Some e, Some ev when ev.Length > 0 && not (ev |> Array.exists Double.IsNaN) ->
                    let k = ev |> Array.mapi (fun i v -> i, v) |> Array.minBy snd |> fst
                    let v = e.EigenVectors.Column k
                    let big = v.AbsoluteMaximum()
                    [ 0 .. p - 1 ] |> List.filter (fun j -> abs v.[j] >= 0.1 * big) |> List.sortByDescending (fun j -> abs v.[j]) |> List.truncate 4
                | _ -> []
            let columns =
                match dependent |> List.map (fun j -> sprintf "design column %d (%s)" j (columnName j)) |> List.rev with
                | last :: (_ :: _ as rest) -> String.concat ", " (List.rev rest) + " and " + last
                | one -> String.concat "" one
            let where = if dependent.Length > 1 then sprintf " Its near-singular direction involves %s: these columns are nearly linearly dependent (a duplicated or nearly duplicated feature, or a feature that is nearly a sum of others)." columns elif dependent.Length = 1 then sprintf " Its near-singular direction is %s." columns else ""
            Check.fail lambdaName (sprintf "%s is too small for these data: X^T X / n + lambda I (%s), scaled to unit diagonal (whose condition number governs the accuracy of the Cholesky solve, whatever the scale of each column), has a condition number of %s (more than %g), so it cannot be solved accurately.%s Remove or combine the dependent columns, or increase %s." lambdaText (Check.shape p p) (if Double.IsNaN condition then "that cannot be computed" elif Double.IsInfinity condition then "beyond 1e16 (its smallest eigenvalue is 0 to double precision)" else sprintf "%.3g" condition) MaxRidgeCondition where lambdaName)
        if not (condition <= MaxRidgeCondition) then tooSmall ()
        let chol = try Some (s.Cholesky()) with :? ArgumentException -> None
        match chol with
        | Some c -> c.Solve bs |> fun z -> z.MapIndexed(fun i _ v -> v * r.[i])
        | None -> tooSmall ()

    /// `ridgeNamed` for a lambda the caller calls lambda (ParamName "lambda", "lambda = ...").
    let ridge (lambda: float) (columnName: int -> string) (g: Matrix<float>) (b: Matrix<float>) : Matrix<float> =
        ridgeNamed "lambda" (sprintf "lambda = %g" lambda) lambda columnName g b
