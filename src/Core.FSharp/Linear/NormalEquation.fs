namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open MathNet.Numerics.LinearAlgebra.Factorization
open Functional.NN.Kernels
open Functional.NN

/// Solvers of the normal equation, never by forming an inverse:
///
/// - least squares, X^T X W = X^T Y, by a thin QR factorisation X = Q R of the design itself
///   (W = R^-1 Q^T Y; HouseholderQr, a blocked Householder QR whose products run on the kernels'
///   Gemm and which never forms Q). Factorising X^T X (Cholesky) would square the condition number of X;
///   QR keeps it, so an ill-conditioned design (a polynomial of degree 5 on [0, 10]) loses
///   about half as many digits.
/// - ridge, (X^T X / n + lambda I) W = X^T Y / n with lambda > 0, by a Cholesky factorisation
///   A = L L^T of the regularised matrix (positive definite for every lambda > 0) scaled to unit
///   diagonal when its condition number is small, otherwise by a thin QR of the stacked system
///   [X; sqrt(n lambda) I] (ridgeLeastSquares), which does not lose the digits that forming X^T X
///   loses at large n.
///
/// Rank test of least squares (the documented relative tolerance): R_jj^2 / ||x_j||^2 is the
/// fraction of the squared length of column j of X that lies outside the span of the columns
/// before it (sin^2 of the angle between them; it equals L_jj^2 / A_jj of the Cholesky factor
/// of A = X^T X). It does not depend on the scale of the column. When it is below `tolerance`
/// (Default 1e-10) for some j, column j is treated as a linear combination of the earlier ones
/// and X^T X as singular. With an intercept (leastSquaresCentred) the test runs on the design with
/// its feature columns centred, so that a feature's offset does not count against it. Ridge has no rank test: X^T X / n + lambda I is invertible for every
/// lambda > 0; it only refuses a lambda so small that the solver's own error bound exceeds about
/// 1% (1e14 u, u = 2^-53). The bound is written with the condition number kappa of the matrix
/// scaled to unit diagonal (D^-1/2 A D^-1/2, D = diag A; Hager's 1-norm estimate from a triangular
/// factor), which, not A's own, governs the accuracy, so columns of very different scales are no
/// reason to refuse: for the Cholesky solver it is kappa u (refused above kappa = 1e14), for the QR
/// of the stacked system u (2 sqrt(kappa) + kappa sin(theta)) relative to |W| / cos(theta) (see ridgeLeastSquares).
module NormalEquation =

    /// The default relative tolerance of the rank test: 1e-10 (a column is dependent when less
    /// than 1e-10 of its squared length, about 1e-5 of its length, lies outside the span of the
    /// columns before it). Rounding of a duplicated column gives about 1e-16 or less.
    [<Literal>]
    let DefaultRankTolerance = 1e-10

    /// The largest condition number kappa of X^T X / n + lambda I scaled to unit diagonal
    /// (D^-1/2 (X^T X / n + lambda I) D^-1/2, D its diagonal) that the Cholesky solver of ridge
    /// (ridgeNamed) accepts: 1e14, where its relative error bound kappa u (u = 2^-53) reaches about
    /// 1.1e-2 (fewer than about two correct digits). It compares Hager's estimate of the 1-norm
    /// condition number with it (a lower bound of that condition number, usually within a factor of
    /// a few of it and of the 2-norm one). The QR solver of ridgeLeastSquares does not lose the
    /// digits a Cholesky solve loses: it compares its own error bound, in units of u, with this
    /// limit (the same 1e14 u, about 1.1e-2), which allows a kappa well above 1e14 on most data.
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
    /// Raises ArgumentException (ParamName "m") for an empty or non-square matrix.
    let largestEigenvalue (m: Matrix<float>) : float =
        Mat.checkShape "m" m
        if m.RowCount <> m.ColumnCount then
            Check.fail "m" (sprintf "m has shape %s; an eigenvalue needs a square matrix." (Mat.shapeOf m))
        let s = Mat.maxAbs m
        if s = 0.0 then 0.0
        else
            let scaled = m.Map(fun v -> let u = v / s in if abs u < 1e-150 then 0.0 else u)
            let eigen =
                try scaled.Evd(Symmetricity.Symmetric).EigenValues |> Seq.map (fun c -> c.Real) |> Array.ofSeq
                with :? IndexOutOfRangeException | :? ArithmeticException -> [||]
            if eigen.Length = 0 || eigen |> Array.exists Double.IsNaN then nan else s * Array.max eigen

    /// Raises ArgumentException (ParamName `name`) unless the rank tolerance lies strictly between 0
    /// and 1: the rank test compares it with sin^2 of an angle, a fraction in [0, 1], so a tolerance
    /// of 1 or more would refuse every design.
    let checkTolerance (name: string) (tolerance: float) =
        if not (tolerance > 0.0 && tolerance < 1.0) then
            Check.fail name (sprintf "%s must lie strictly between 0 and 1, but is %s: the rank test compares it with the fraction of a column's squared length that lies outside the span of the columns before it, a number in [0, 1], so a tolerance of 1 or more refuses every design. The default is %g." name (string tolerance) DefaultRankTolerance)

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
            Check.fail "x" (sprintf "The design matrix is numerically rank-deficient at the rank tolerance %g: design column %d (%s) is nearly a linear combination of the columns before it (only %.3g of its squared length lies outside their span, less than the tolerance), so least squares cannot determine its weight reliably. The design may have full rank in exact arithmetic (a polynomial of high degree on many points is such a design), but its columns are numerically dependent: at this tolerance X^T X (%s) is numerically singular, too ill-conditioned for least squares. Remove the column (for a polynomial, lower the degree) or use ridge regression (Ridge.fit with lambda > 0), whose matrix X^T X / n + lambda I is always invertible; or, if the column is wanted, lower the tolerance (LeastSquaresOptions.RankTolerance, or the rankTolerance argument of PolynomialRegression.fit)." tolerance j (columnName j) ratio (Check.shape p p))

    /// The exponents e_j that bring the largest |value| of each column j of m into [0.5, 1) when the
    /// column is multiplied by 2^-e_j (0 for a zero or non-finite column). Both QR solvers (least
    /// squares and ridge's stacked system) scale by them: multiplying by a power of two is exact in
    /// binary floating point (short of subnormals), so the scaled problem has the same solution up to
    /// the inverse scaling of the weights, and the Householder QR (HouseholderQr) works on entries of
    /// at most 1 in size: its sums of squares and products neither overflow (entries >= 1e154 would)
    /// nor underflow (entries <= 1e-154) but for entries far below their column's largest. (Its norms
    /// are safe on any scale by their own power-of-two scaling; MathNet's QR, used before, was not, and
    /// needed this.) sin^2 of the rank test does not depend on a column's scale, so the test is the
    /// same on the scaled design.
    let private columnExponents (m: Matrix<float>) : int[] =
        Array.init m.ColumnCount (fun j ->
            let big = m.Column(j).AbsoluteMaximum()
            if big > 0.0 && Double.IsFinite big then Math.ILogB big + 1 else 0)

    /// The column-major storage of m with column j multiplied by 2^-e_j, in a new array (m is not
    /// changed): what the Householder QR factors or applies Q^T to in place.
    let private scaledStorage (e: int[]) (m: Matrix<float>) : float[] =
        let a = m.ToColumnMajorArray()
        let n = m.RowCount
        for j in 0 .. e.Length - 1 do
            let s = -e.[j]
            if s <> 0 then
                for i in j * n .. j * n + n - 1 do a.[i] <- Math.ScaleB(a.[i], s)
        a


    /// The solution W of the unscaled problem from the solution Ws of the scaled one: the design is
    /// scaled D with D = diag(2^dExp) and Y = Ys E with E = diag(2^yExp), so W = D^-1 Ws E and
    /// weight [j, k] = Ws[j, k] 2^(yExp[k] - dExp[j]).
    let private unscaleSolution (dExp: int[]) (yExp: int[]) (ws: Matrix<float>) : Matrix<float> =
        ws.MapIndexed(fun j k v -> Math.ScaleB(v, yExp.[k] - dExp.[j]))

    /// The least-squares solution of the unscaled problem from the factor of the scaled design
    /// (columns scaled by 2^-dExp) and the unscaled targets y: Q^T applied to a copy of y with its
    /// columns scaled by 2^-yExp, back substitution with R, then unscaleSolution.
    let private solveScaled (qr: HouseholderQr.Factor) (dExp: int[]) (yExp: int[]) (y: Matrix<float>) : Matrix<float> =
        let ys = scaledStorage yExp y
        HouseholderQr.applyQtInPlace qr y.ColumnCount ys
        unscaleSolution dExp yExp (HouseholderQr.backSubstitute qr y.ColumnCount ys)

    /// The factorisation, rank test and solve of leastSquares, with `constantValue k` = Some c when
    /// design column k stands for a column that holds c in every row (for the message).
    let private leastSquaresWith (tolerance: float) (columnName: int -> string) (constantValue: int -> float option) (design: Matrix<float>) (y: Matrix<float>) : Matrix<float> =
        checkTolerance "tolerance" tolerance
        let n = design.RowCount
        let p = design.ColumnCount
        let dExp = columnExponents design
        let yExp = columnExponents y
        let scaled = scaledStorage dExp design
        // The norms of the scaled design's columns, before the factorisation overwrites them.
        let norms = Array.init p (fun j -> HouseholderQr.norm2 scaled (j * n) n)
        let qr = HouseholderQr.factorInPlace n p scaled
        let rDiagonal = HouseholderQr.rDiagonal qr
        let ratio j =
            let norm = norms.[j]
            let rjj = rDiagonal.[j]
            if norm > 0.0 then (rjj / norm) * (rjj / norm) else 0.0
        match Seq.init p id |> Seq.tryFind (fun j -> let q = ratio j in q < tolerance || Double.IsNaN q) with
        | Some j -> singular p columnName constantValue tolerance j (ratio j)
        | None -> solveScaled qr dExp yExp y

    /// The value c when every entry of column k of m is c.
    let private constantColumn (m: Matrix<float>) (k: int) : float option =
        let c = m.[0, k]
        if m.Column(k).ForAll(fun v -> v = c) then Some c else None

    /// Raises ArgumentException (ParamName "x") when n rows (samples) are fewer than `unknowns`
    /// (`what` lists them): X^T X then has rank at most n and is singular. `solver` says whose
    /// unknowns ("least squares", "the model"), `change` what to remove ("columns", "features"),
    /// `ridgeRemark` ends the advice to use ridge regression ("" or a clause).
    let internal checkEnoughRows (n: int) (unknowns: int) (solver: string) (what: string) (change: string) (ridgeRemark: string) =
        if n < unknowns then
            Check.fail "x" (sprintf "x has %d row%s (samples) but %s has %d unknowns (%s): with fewer samples than unknowns X^T X (%s) has rank at most %d, so it is singular and least squares has no unique solution. Add samples, remove %s, or use ridge regression (Ridge.fit with lambda > 0)%s." n (if n = 1 then "" else "s") solver unknowns what (Check.shape unknowns unknowns) n change ridgeRemark)

    /// Checks the data of a solver: X and Y non-empty and finite with the same number of rows
    /// (LinearModel.checkData: ParamName "x" or "y", both shapes), and, for least squares, at least
    /// `unknowns` rows (checkEnoughRows).
    let private checkSystem (unknowns: int) (what: string) (x: Matrix<float>) (y: Matrix<float>) =
        LinearModel.checkData x y
        checkEnoughRows x.RowCount unknowns "least squares" what "columns" ""

    /// The least-squares solution W of min ||X W - Y||^2 (X^T X W = X^T Y) for a design X (n x p,
    /// n >= p) and targets Y (n x k), by one blocked Householder QR factorisation of X (HouseholderQr:
    /// Q^T Y applied by panels, then back substitution with R). `columnName j` names
    /// column j of the design for the message (for example "feature 0, distance_km" or "the
    /// intercept column of ones"). Raises ArgumentException (ParamName "x") that says which
    /// column is dependent and points to ridge regression when the rank test fails, and
    /// (ParamName "tolerance") for a tolerance that is not in (0, 1) (see checkTolerance); first,
    /// for X or Y empty or not finite or with other row counts (ParamName "x" or "y", both shapes),
    /// and for fewer rows than columns (ParamName "x").
    let leastSquares (tolerance: float) (columnName: int -> string) (x: Matrix<float>) (y: Matrix<float>) : Matrix<float> =
        checkSystem x.ColumnCount (sprintf "one per column of x, %s" (Mat.shapeOf x)) x y
        leastSquaresWith tolerance columnName (constantColumn x) x y

    /// The column means of m (n x c) scaled by 2^-e_j (column j's entries scaled to below 1 in size,
    /// see columnExponents): the scaled columns (column-major, a new array) and their means, each
    /// the mean plus the mean of the deviations from it (two passes), kept within the column's
    /// smallest and largest value, so that a constant column's mean is its value exactly.
    let private scaledMeans (e: int[]) (m: Matrix<float>) : float[] * float[] =
        let n = m.RowCount
        let a = scaledStorage e m
        let means =
            Array.init m.ColumnCount (fun j ->
                let start = j * n
                let mutable sum = 0.0
                let mutable lo = infinity
                let mutable hi = -infinity
                for i in start .. start + n - 1 do
                    sum <- sum + a.[i]
                    lo <- min lo a.[i]
                    hi <- max hi a.[i]
                let first = sum / float n
                let mutable deviation = 0.0
                for i in start .. start + n - 1 do deviation <- deviation + (a.[i] - first)
                max lo (min hi (first + deviation / float n)))
        a, means

    /// The column means of m (n x c) and m with them subtracted (a new matrix), computed on the columns
    /// scaled by powers of two as scaledMeans does, so that no sum overflows (values near 1e308 are
    /// fine) and a constant column centres to zeros exactly. Raises ArgumentException (ParamName
    /// `name`) naming `what j` and a row when a centred value is beyond the double range (a column
    /// spanning more than the largest double, such as -1e308 and 1e308).
    let internal centredColumns (name: string) (what: int -> string) (m: Matrix<float>) : float[] * Matrix<float> =
        let n = m.RowCount
        let e = columnExponents m
        let a, means = scaledMeans e m
        let centred = Matrix<float>.Build.Dense(n, m.ColumnCount, fun i j -> Math.ScaleB(a.[j * n + i] - means.[j], e.[j]))
        for j in 0 .. m.ColumnCount - 1 do
            for i in 0 .. n - 1 do
                if not (Double.IsFinite centred.[i, j]) then
                    Check.fail name (sprintf "%s minus its mean (%s) is beyond the double range at row %d (value %s): its values span more than the largest double. Scale the data (for example standardise it) before fitting." (what j) (string (Math.ScaleB(means.[j], e.[j]))) i (string m.[i, j]))
        Array.init m.ColumnCount (fun j -> Math.ScaleB(means.[j], e.[j])), centred

    /// The least-squares fit with an intercept, W and b minimising ||X W + 1 b - Y||^2 for X (n x d,
    /// n >= d + 1) and Y (n x k), returned as the stacked (1 + d) x k matrix [b; W]: the notes'
    /// design [1 X] with the feature columns and the targets centred first. With the column means
    /// mx of X and my of Y, [1 (X - 1 mx)] spans the same columns as [1 X], so the fit of
    /// Y - 1 my on it has the same W and the intercept b' + my - mx W; the rank test (see
    /// leastSquares) runs on the centred design. On the uncentred design a feature whose mean is
    /// large against its spread (timestamps near 1.7e9 over an hour) is nearly parallel to the
    /// column of ones (sin^2 of the angle is (spread / root mean square)^2) and would be refused,
    /// although the centred problem is well conditioned. The centring is done on the columns
    /// scaled by powers of two (as the QR scales them), so that no sum overflows, and the
    /// weights are scaled back at the end. The messages name the caller's columns: design column 0
    /// is the intercept column of ones, column j + 1 is feature j; a constant feature (a column of
    /// zeros once centred) is reported as constant, with its value, a multiple of the intercept column.
    /// X or Y empty or not finite or with other row counts, or fewer rows than d + 1, raise
    /// ArgumentException (ParamName "x" or "y") before anything is computed, as for leastSquares.
    let leastSquaresCentred (tolerance: float) (columnName: int -> string) (x: Matrix<float>) (y: Matrix<float>) : Matrix<float> =
        checkSystem (x.ColumnCount + 1) (sprintf "the intercept and one weight per column of x, %s" (Mat.shapeOf x)) x y
        checkTolerance "tolerance" tolerance
        let n = x.RowCount
        let d = x.ColumnCount
        let k = y.ColumnCount
        let xExp = columnExponents x
        let yExp = columnExponents y
        let xs, mx = scaledMeans xExp x
        let ys, my = scaledMeans yExp y
        let design = Matrix<float>.Build.Dense(n, d + 1, fun i j -> if j = 0 then 1.0 else xs.[(j - 1) * n + i] - mx.[j - 1])
        let target = Matrix<float>.Build.Dense(n, k, fun i c -> ys.[c * n + i] - my.[c])
        let constantValue j = if j = 0 then Some 1.0 else constantColumn x (j - 1)
        // ys - my = b' + (xs - mx) Ws, with xs = x 2^-xExp and ys = y 2^-yExp: W = Ws 2^(yExp - xExp)
        // and b = 2^yExp (my + b' - mx Ws).
        let ws = leastSquaresWith tolerance columnName constantValue design target
        Matrix<float>.Build.Dense(d + 1, k, fun r c ->
            if r = 0 then
                let mutable sum = my.[c] + ws.[0, c]
                for j in 0 .. d - 1 do sum <- sum - mx.[j] * ws.[j + 1, c]
                Math.ScaleB(sum, yExp.[c])
            else Math.ScaleB(ws.[r, c], yExp.[c] - xExp.[r - 1]))

    /// x with U x = b for an upper triangular U (p x p) whose diagonal is `pivot` (U's own diagonal,
    /// or with its zeros replaced, see conditionEstimate); reads U by rows.
    let private solveUpper (u: float[,]) (pivot: float[]) (b: float[]) : float[] =
        let p = b.Length
        let x = Array.copy b
        for i in p - 1 .. -1 .. 0 do
            let mutable sum = x.[i]
            for j in i + 1 .. p - 1 do sum <- sum - u.[i, j] * x.[j]
            x.[i] <- sum / pivot.[i]
        x

    /// x with U^T x = b (U as in solveUpper), by columns of U^T, that is by rows of U.
    let private solveUpperTransposed (u: float[,]) (pivot: float[]) (b: float[]) : float[] =
        let p = b.Length
        let x = Array.copy b
        for j in 0 .. p - 1 do
            x.[j] <- x.[j] / pivot.[j]
            let xj = x.[j]
            for i in j + 1 .. p - 1 do x.[i] <- x.[i] - u.[j, i] * xj
        x

    /// U^T (U v) for an upper triangular U, in O(p^2).
    let private gramTimes (u: float[,]) (v: float[]) : float[] =
        let p = v.Length
        let uv = Array.init p (fun i -> let mutable sum = 0.0 in (for j in i .. p - 1 do sum <- sum + u.[i, j] * v.[j]); sum)
        let out = Array.zeroCreate p
        for j in 0 .. p - 1 do
            let a = uv.[j]
            for i in j .. p - 1 do out.[i] <- out.[i] + u.[j, i] * a
        out

    /// Hager's estimate of the 1-norm ||A||_1 of a symmetric p x p operator A given only as v -> A v
    /// (Higham's refinement, the algorithm of LAPACK's xLACN2 / dtrcon for a symmetric A, whose
    /// transpose is itself): at most 5 steps of a gradient ascent of ||A x||_1 over the unit 1-ball,
    /// each two products with A, then Higham's extra test vector. A lower bound of ||A||_1, in
    /// practice within a factor of about 3 and often exact. Returns the estimate and the vector A x
    /// of the best x (for A = S^-1, the direction S nearly annihilates); infinity when a product is
    /// not finite.
    let private norm1Estimate (p: int) (apply: float[] -> float[]) : float * float[] =
        let l1 (v: float[]) = Array.sumBy abs v
        let finite (v: float[]) = Array.forall Double.IsFinite v
        let mutable x = Array.create p (1.0 / float p)
        let mutable y = apply x
        let mutable best = y
        let mutable estimate = if finite y then l1 y else infinity
        let mutable go = Double.IsFinite estimate
        let mutable step = 0
        let mutable lastJ = -1
        while go && step < 5 do
            step <- step + 1
            let z = apply (y |> Array.map (fun v -> if v >= 0.0 then 1.0 else -1.0))
            if not (finite z) then
                estimate <- infinity
                go <- false
            else
                let j = z |> Array.mapi (fun i v -> i, abs v) |> Array.maxBy snd |> fst
                let zx = Array.fold2 (fun acc a b -> acc + a * b) 0.0 z x
                if step > 1 && (abs z.[j] <= zx || j = lastJ) then go <- false
                else
                    lastJ <- j
                    x <- Array.init p (fun i -> if i = j then 1.0 else 0.0)
                    y <- apply x
                    if not (finite y) then
                        estimate <- infinity
                        best <- y
                        go <- false
                    elif l1 y <= estimate then go <- false
                    else
                        estimate <- l1 y
                        best <- y
        if Double.IsFinite estimate && p > 1 then
            let alt = Array.init p (fun i -> (if i % 2 = 0 then 1.0 else -1.0) * (1.0 + float i / float (p - 1)))
            let ya = apply alt
            let ea = if finite ya then 2.0 * l1 ya / (3.0 * float p) else infinity
            if ea > estimate then ea, ya else estimate, best
        else estimate, best

    /// The estimated 1-norm condition number ||S||_1 ||S^-1||_1 of S = U^T U (U upper triangular,
    /// p x p: the transposed Cholesky factor of S, or the R factor of a QR with unit columns), from
    /// two Hager estimates (norm1Estimate), each a few O(p^2) products and triangular solves instead
    /// of an O(p^3) eigendecomposition. Both are lower bounds, so the result is a lower bound of the
    /// 1-norm condition number of S, usually within a factor of a few of it and of the 2-norm one
    /// (largest / smallest eigenvalue; for the symmetric S the two differ by at most a factor p), but
    /// not bounded below by either: over 6000 random unit-diagonal matrices (p = 2 to 41) the lowest
    /// ratio of the estimate to the 2-norm condition number was 0.22. Also returns S^-1 applied to the maximising vector, which approximates the
    /// eigenvector of S's smallest eigenvalue (its near-singular direction). A diagonal entry of U
    /// below 1e-30 of the largest (S singular to double precision) gives infinity; the vector is then
    /// computed with such entries raised to that floor, so that it still points to the dependence.
    let private conditionEstimate (u: float[,]) : float * float[] =
        let p = Array2D.length1 u
        let diag = Array.init p (fun i -> u.[i, i])
        let top = diag |> Array.map abs |> Array.max
        let floor = 1e-30 * top
        let singular = not (top > 0.0 && Double.IsFinite top) || diag |> Array.exists (fun d -> not (abs d >= floor))
        let pivot = diag |> Array.map (fun d -> if abs d >= floor then d elif d < 0.0 then -floor else floor)
        let normS, _ = norm1Estimate p (gramTimes u)
        let normInverse, direction = norm1Estimate p (fun v -> solveUpper u pivot (solveUpperTransposed u pivot v))
        (if singular then infinity else normS * normInverse), direction

    /// The design columns that dominate a near-singular direction v of the unit-diagonal matrix: those
    /// whose |v_j| is at least 0.1 of the largest, at most 4, largest first, sizes equal to 3 digits
    /// (the two copies of a duplicated column, whose entries differ by rounding) in column order; none
    /// when v is not finite.
    let private dependentColumns (v: float[]) : int list =
        let big = if Array.forall Double.IsFinite v then Array.fold (fun m x -> max m (abs x)) 0.0 v else 0.0
        if not (big > 0.0) then []
        else
            [ 0 .. v.Length - 1 ]
            |> List.filter (fun j -> abs v.[j] >= 0.1 * big)
            |> List.sortBy (fun j -> -Math.Round(abs v.[j] / big, 3), j)
            |> List.truncate 4

    /// Numbers as the docs write them: 1e14 and 1.13e15, not .NET's 1e+14.
    let private number (v: float) = (sprintf "%.3g" v).Replace("e+", "e")

    /// The refusal of a too small penalty: ArgumentException (ParamName `lambdaName`) saying `why`
    /// (which condition number or error bound is too large) and naming the design columns of the
    /// near-singular direction.
    let private refuseSmallPenalty (lambdaName: string) (lambdaText: string) (columnName: int -> string) (why: string) (direction: float[]) =
        let dependent = dependentColumns direction
        let columns =
            match dependent |> List.map (fun j -> sprintf "design column %d (%s)" j (columnName j)) |> List.rev with
            | last :: (_ :: _ as rest) -> String.concat ", " (List.rev rest) + " and " + last
            | one -> String.concat "" one
        let where = if dependent.Length > 1 then sprintf " Its near-singular direction involves %s: these columns are nearly linearly dependent (a duplicated or nearly duplicated feature, or a feature that is nearly a sum of others)." columns elif dependent.Length = 1 then sprintf " Its near-singular direction is %s." columns else ""
        Check.fail lambdaName (sprintf "%s is too small for these data: %s%s Remove or combine the dependent columns, or increase %s." lambdaText why where lambdaName)

    /// The Cholesky solver's reason to refuse: S's estimated condition number above MaxRidgeCondition.
    let private choleskyRefusal (p: int) (condition: float) =
        let limit = number MaxRidgeCondition
        let conditionText =
            if Double.IsNaN condition then sprintf "an estimated condition number that cannot be computed (the limit is %s)" limit
            // Above 1 / u (u = 2^-53, about 9e15) the estimate is rounding's: the matrix is singular to double precision.
            elif Double.IsInfinity condition || condition > Math.ScaleB(1.0, 53) then sprintf "an estimated condition number beyond 9e15 = 1/u (singular to double precision; the limit is %s)" limit
            else sprintf "an estimated condition number of %s (more than the limit %s)" (number condition) limit
        sprintf "X^T X / n + lambda I (%s), scaled to unit diagonal (whose condition number governs the accuracy of the solve, whatever the scale of each column), has %s, so it cannot be solved accurately." (Check.shape p p) conditionText

    /// Refuses (ParamName `lambdaName`) a penalty that is not positive and finite.
    let private checkPenalty (lambdaName: string) (lambdaText: string) (lambda: float) =
        if not (lambda > 0.0) || Double.IsInfinity lambda then
            Check.fail lambdaName (sprintf "The ridge solver needs a positive finite penalty, but %s." lambdaText)

    /// True when G = X^T X / n, B = X^T Y / n and the diagonal of G + lambda I are finite (they can
    /// be equilibrated and factorised by Cholesky).
    let private finiteNormalEquation (lambda: float) (g: Matrix<float>) (b: Matrix<float>) =
        g.ForAll(fun v -> Double.IsFinite v) && b.ForAll(fun v -> Double.IsFinite v)
        && Seq.init g.RowCount id |> Seq.forall (fun j -> Double.IsFinite(g.[j, j] + lambda))

    /// Refuses a G = X^T X / n (ParamName "x") or B = X^T Y / n (ParamName "y") that is not finite,
    /// or a diagonal of G + lambda I that overflows, naming the design columns (and for B the target
    /// column) of the first such entry: the normal equation of ridgeNamed cannot be formed.
    let private checkNormalEquation (lambda: float) (columnName: int -> string) (g: Matrix<float>) (b: Matrix<float>) =
        let advice = "Scale the data (for example standardise it) before fitting, or fit from X and Y (Ridge.fit), whose QR solver scales each column itself."
        let p = g.RowCount
        let entry (m: Matrix<float>) = Seq.allPairs (Seq.init m.RowCount id) (Seq.init m.ColumnCount id) |> Seq.tryFind (fun (i, j) -> not (Double.IsFinite m.[i, j]))
        match entry g with
        | Some (i, j) when i = j ->
            Check.fail "x" (sprintf "X^T X / n (%s) is not finite at entry (%d, %d) (%s): design column %d (%s) holds values too large to square and sum in double precision (about 1e154 or more). %s" (Check.shape p p) i j (string g.[i, j]) j (columnName j) advice)
        | Some (i, j) ->
            Check.fail "x" (sprintf "X^T X / n (%s) is not finite at entry (%d, %d) (%s): the products of design column %d (%s) and design column %d (%s) are too large to sum in double precision. %s" (Check.shape p p) i j (string g.[i, j]) (min i j) (columnName (min i j)) (max i j) (columnName (max i j)) advice)
        | None -> ()
        match entry b with
        | Some (i, k) ->
            Check.fail "y" (sprintf "X^T Y / n (%s) is not finite at entry (%d, %d) (%s): the products of design column %d (%s) and target column %d are too large to sum in double precision. %s" (Check.shape b.RowCount b.ColumnCount) i k (string b.[i, k]) i (columnName i) k advice)
        | None -> ()
        for j in 0 .. p - 1 do
            if not (Double.IsFinite(g.[j, j] + lambda)) then
                Check.fail "x" (sprintf "X^T X / n + lambda I (%s) overflows the double range at entry (%d, %d): design column %d (%s) holds values whose mean square plus lambda is beyond the largest double. %s" (Check.shape p p) j j j (columnName j) advice)

    /// The equilibration of the normal equation, for finite G, B and diagonal of G + lambda I
    /// (finiteNormalEquation): S = D^-1/2 (G + lambda I) D^-1/2 with D = diag(G + lambda I),
    /// D^-1/2 B and the entries of D^-1/2.
    let private equilibrate (lambda: float) (g: Matrix<float>) (b: Matrix<float>) =
        let p = g.RowCount
        // D = diag(G + lambda I) > 0. |G_ij| <= sqrt(G_ii G_jj) (G is PSD), so every entry of S lies in
        // [-1, 1] and G_ij r_i is at most sqrt(G_jj): no intermediate overflows. |B_ik| r_i is at most
        // the root mean square of Y's column k (Cauchy-Schwarz), so the scaled right-hand side is finite.
        let d = Array.init p (fun j -> g.[j, j] + lambda)
        let r = d |> Array.map (fun v -> 1.0 / sqrt v)
        let s = Matrix<float>.Build.Dense(p, p, fun i j -> if i = j then g.[i, i] * r.[i] * r.[i] + lambda * r.[i] * r.[i] else g.[i, j] * r.[i] * r.[j])
        s, b.MapIndexed(fun i _ v -> v * r.[i]), r

    /// The Cholesky factor L of S (S = L L^T), or None when S is not numerically positive definite.
    let private cholesky (s: Matrix<float>) = try Some (s.Cholesky()) with :? ArgumentException -> None

    /// Hager's estimate of S's condition number and S's near-singular direction, from S's Cholesky factor.
    let private choleskyCondition (c: Cholesky<float>) = conditionEstimate (c.Factor.Transpose().ToArray())

    /// W = D^-1/2 Z from S Z = D^-1/2 B (`bs`), given S's Cholesky factor and the entries `r` of D^-1/2.
    let private solveEquilibrated (c: Cholesky<float>) (bs: Matrix<float>) (r: float[]) =
        (c.Solve bs).MapIndexed(fun i _ v -> v * r.[i])

    /// The ridge solution W of (G + lambda I) W = B for G = X^T X / n (p x p, symmetric positive
    /// semi-definite), B = X^T Y / n and lambda > 0, given G and B (Ridge.fit uses ridgeLeastSquares,
    /// which is given X and Y and is more accurate near the refusal bound), by a Cholesky
    /// factorisation of the matrix equilibrated to unit diagonal: with D = diag(G + lambda I),
    /// S = D^-1/2 (G + lambda I) D^-1/2, S Z = D^-1/2 B and W = D^-1/2 Z. No rank test. The accuracy
    /// of a Cholesky solve is governed by the condition number of S, not of G + lambda I (van der
    /// Sluis: Jacobi scaling is within a factor p of the best diagonal scaling, and Cholesky's
    /// rounding errors do not depend on such a scaling), so columns of very different scales (1e8 and
    /// 1e-8) are fine. Raises ArgumentException (ParamName `lambdaName`) when the estimated condition
    /// number of S exceeds MaxRidgeCondition or the factorisation fails, naming the design columns of
    /// S's near-singular direction and suggesting to remove or combine them or to increase the
    /// penalty. The condition number is Hager's estimate of the 1-norm condition number from the
    /// Cholesky factor (a few O(p^2) triangular solves; a lower bound, usually within a factor of a
    /// few, which the rule therefore uses), and the near-singular direction is the estimate's vector.
    /// `lambdaText` says the penalty in the caller's terms ("lambda = 1e-20", "alpha = 0.05
    /// (lambda = alpha / n = 0.0125)"); the message ends "or increase `lambdaName`". A G or B that is
    /// not finite (features of about 1e154 or more) raises ArgumentException (ParamName "x" or "y")
    /// naming the design column (and target column) of the first such entry.
    /// G must be a non-empty square p x p matrix and B have p rows and at least one column
    /// (ParamName "g" or "b", with both shapes).
    let ridgeNamed (lambdaName: string) (lambdaText: string) (lambda: float) (columnName: int -> string) (g: Matrix<float>) (b: Matrix<float>) : Matrix<float> =
        Mat.checkShape "g" g
        Mat.checkShape "b" b
        if g.RowCount <> g.ColumnCount then
            Check.fail "g" (sprintf "g has shape %s, but X^T X / n is square (p x p, p the number of design columns)." (Mat.shapeOf g))
        if b.RowCount <> g.RowCount then
            Check.fail "b" (sprintf "b has shape %s but g has shape %s; X^T Y / n has one row per design column (p x k)." (Mat.shapeOf b) (Mat.shapeOf g))
        checkPenalty lambdaName lambdaText lambda
        checkNormalEquation lambda columnName g b
        let s, bs, r = equilibrate lambda g b
        let p = s.RowCount
        match cholesky s with
        | Some c ->
            let condition, direction = choleskyCondition c
            if not (condition <= MaxRidgeCondition) then refuseSmallPenalty lambdaName lambdaText columnName (choleskyRefusal p condition) direction
            solveEquilibrated c bs r
        | None ->
            // S is singular to double precision. Its near-singular direction, to name the columns, from the
            // factor of S slightly shifted (2^-40 I, far above rounding and far below S's unit diagonal).
            let direction =
                match cholesky (s + Matrix<float>.Build.DenseIdentity(p) * Math.ScaleB(1.0, -40)) with
                | Some c -> snd (choleskyCondition c)
                | None -> [||]
            refuseSmallPenalty lambdaName lambdaText columnName (choleskyRefusal p infinity) direction

    /// `ridgeNamed` for a lambda the caller calls lambda (ParamName "lambda", "lambda = ...").
    let ridge (lambda: float) (columnName: int -> string) (g: Matrix<float>) (b: Matrix<float>) : Matrix<float> =
        ridgeNamed "lambda" (sprintf "lambda = %g" lambda) lambda columnName g b

    /// The bound below which ridgeLeastSquares keeps the Cholesky solve of the formed normal equation:
    /// kappa sqrt(n) u, the typical size of the relative error that forming X^T X / n adds (kappa the
    /// estimated condition number of S, n the rows, u = 2^-53; the rounding errors of a sum of n terms
    /// typically grow like sqrt n, the worst-case bound like n), must not exceed 1e-6. Measured at
    /// n = 100,000 and kappa = 6.7e13: the formed solve's error was 8.6e-2, 27 times below this
    /// estimate's 2.3, so the estimate errs on the side of the QR.
    let private formedErrorBound = 1e-6

    /// A^T B for A (n x p) and B (n x k), by the kernels' blocked product (`Gemm`) on the matrices'
    /// column-major storage: the same multiply-adds as MathNet's TransposeThisAndMultiply, summed in
    /// blocks of 512 along n (the kernels' k-blocks, the same order on every run and every thread
    /// count), at the kernels' speed (forming X^T X for n = 4000, p = 2000 took 13 to 26 s with
    /// MathNet's managed product).
    let private transposeTimes (a: Matrix<float>) (b: Matrix<float>) : Matrix<float> =
        let n, p, k = a.RowCount, a.ColumnCount, b.ColumnCount
        let storage (m: Matrix<float>) = match m.AsColumnMajorArray() with null -> m.ToColumnMajorArray() | values -> values
        // Column-major A is row-major A^T (p x n), column-major B is row-major B^T (k x n): the row-major
        // k x p product B^T A is the column-major p x k matrix A^T B.
        let c = Array.zeroCreate (p * k)
        if n > 0 && p > 0 && k > 0 then
            Gemm.Multiply(false, true, k, p, n, ReadOnlySpan(storage b), ReadOnlySpan(storage a), Span(c))
        Matrix<float>.Build.Dense(p, k, c)

    /// The ridge solution W minimising 1/(2n) ||X W - Y||^2 + lambda/2 ||W||^2 for a design X (n x p,
    /// any n >= 1) and targets Y (n x k), lambda > 0: the W of (X^T X / n + lambda I) W = X^T Y / n.
    /// `lambdaName`, `lambdaText` and `columnName` as in ridgeNamed. Two solvers, chosen by the
    /// condition number:
    ///
    /// - It forms G = X^T X / n and B = X^T Y / n, equilibrates G + lambda I to unit diagonal (S) and
    ///   factorises S by Cholesky, as ridgeNamed. Forming G rounds each entry by up to about n u
    ///   (u = 2^-53) of its size in the worst case, typically sqrt(n) u, an error the solve multiplies
    ///   by the condition number kappa of S; when Hager's estimate of kappa (from the Cholesky
    ///   factor, O(p^2)) keeps kappa sqrt(n) u <= 1e-6 (the typical size of that error), that solve
    ///   is the answer.
    /// - Otherwise (or when the Cholesky factorisation fails, or G or B is not finite: features of
    ///   about 1e154 or more, whose squares overflow) it solves the equivalent least-squares
    ///   problem of the stacked system [X; sqrt(n lambda) I] W = [Y; 0] by the blocked Householder QR
    ///   of leastSquares (HouseholderQr), with its power-of-two column scaling (so features of any
    ///   finite size are fine), without forming X^T X: the R factor with its columns scaled to unit
    ///   norm is the Cholesky factor of S (S = R^T R), so the same Hager estimate of S's condition
    ///   number comes from R. The QR is backward stable, so its relative error in W is bounded, to
    ///   first order, by u (2 sqrt(kappa) / cos(theta) + kappa tan(theta)) (Golub and Van Loan,
    ///   Matrix Computations, Theorem 5.3.1: sqrt(kappa) is the condition number of the stacked
    ///   matrix with unit columns, tan(theta) the ratio of the stacked system's residual to its fit,
    ///   both read off Q^T [Y; 0]; the largest over Y's columns). Measured against |W| / cos(theta),
    ///   the size of weights that would explain all of Y's column, the same bound is u (2 sqrt(kappa)
    ///   + kappa sin(theta)), which does not blow up for a target nearly unrelated to X (W near 0). It
    ///   refuses a lambda for which that bound exceeds MaxRidgeCondition u (about 1.1e-2, the Cholesky solver's bound at its limit),
    ///   or for which R is singular to double precision, naming the columns of the estimate's
    ///   near-singular direction; it never refuses for kappa alone. The bound is a worst case: on
    ///   nearly duplicated columns the QR's actual error is usually far smaller (their rounding
    ///   errors are nearly equal and cancel in their difference). Its error does not grow with n as
    ///   the rounding of X^T X does.
    ///
    /// X or Y empty or not finite, or with other row counts, raise ArgumentException (ParamName "x"
    /// or "y", both shapes) before anything is computed.
    let ridgeLeastSquares (lambdaName: string) (lambdaText: string) (lambda: float) (columnName: int -> string) (design: Matrix<float>) (y: Matrix<float>) : Matrix<float> =
        LinearModel.checkData design y
        checkPenalty lambdaName lambdaText lambda
        let n = design.RowCount
        let p = design.ColumnCount
        let k = y.ColumnCount
        let g = transposeTimes design design / float n
        let b = transposeTimes design y / float n
        let formed =
            if not (finiteNormalEquation lambda g b) then None
            else
                let s, bs, r = equilibrate lambda g b
                match cholesky s with
                | Some c ->
                    let condition, _ = choleskyCondition c
                    if condition * sqrt (float n) * Math.ScaleB(1.0, -53) <= formedErrorBound then
                        Some (solveEquilibrated c bs r)
                    else None
                | None -> None
        match formed with
        | Some w -> w
        | None ->
            // sqrt n sqrt lambda rather than sqrt (n lambda): n lambda may overflow. The columns of the
            // stacked matrix are then scaled by powers of two as in leastSquares.
            let m = design.Stack(Matrix<float>.Build.DenseDiagonal(p, p, sqrt (float n) * sqrt lambda))
            let rhs = y.Stack(Matrix<float>.Build.Dense(p, k))
            let dExp = columnExponents m
            let yExp = columnExponents rhs
            let qr = HouseholderQr.factorInPlace (n + p) p (scaledStorage dExp m)
            // Column j of R has the norm of column j of the scaled stacked matrix (> 0: it holds the scaled
            // sqrt(n lambda)); R with unit columns is the Cholesky factor of S, up to the signs of its rows.
            let norms = Array.init p (HouseholderQr.rColumnNorm qr)
            let rf = HouseholderQr.r qr
            let u = Array2D.init p p (fun i j -> rf.[i, j] / norms.[j])
            let condition, direction = conditionEstimate u
            if not (Double.IsFinite condition) then
                refuseSmallPenalty lambdaName lambdaText columnName
                    (sprintf "X^T X / n + lambda I (%s), scaled to unit diagonal, is singular to double precision (the triangular factor of the QR of the stacked system [X; sqrt(n lambda) I] has a diagonal entry below 1e-30 of its largest), so it cannot be solved." (Check.shape p p))
                    direction
            // Q^T [Y; 0], column by column (each scaled by a power of two, which changes no ratio): its first p
            // entries are the fit's coordinates, the other n the residual's.
            let qty = scaledStorage yExp rhs
            HouseholderQr.applyQtInPlace qr k qty
            let rows = n + p
            let bound, tangent =
                Seq.init k (fun c ->
                    let fit = HouseholderQr.norm2 qty (c * rows) p
                    let residual = HouseholderQr.norm2 qty (c * rows + p) n
                    // A column whose fit is exactly 0 has W = 0 exactly (back substitution of zeros).
                    if fit = 0.0 then 2.0 * sqrt condition, 0.0
                    else
                        // The bound times cos(theta): u (2 sqrt(kappa) / cos(theta) + kappa tan(theta)) |W| is
                        // u (2 sqrt(kappa) + kappa sin(theta)) |W| / cos(theta), an error measured against
                        // |W| / cos(theta), the size of weights that would explain all of the column of Y. Against
                        // |W| itself a target nearly unrelated to X (cos(theta) at rounding level, W near 0) would
                        // be refused for an error far below the data's scale.
                        let tan = residual / fit
                        let sin = if Double.IsFinite tan then tan / sqrt (1.0 + tan * tan) else 1.0
                        2.0 * sqrt condition + condition * sin, tan)
                |> Seq.maxBy fst
            if not (bound <= MaxRidgeCondition) then
                let u = Math.ScaleB(1.0, -53)
                refuseSmallPenalty lambdaName lambdaText columnName
                    (sprintf "the QR of the stacked least-squares system [X; sqrt(n lambda) I] W = [Y; 0] that solves it has an error bound of %s relative to |W| / cos(theta) (the size of weights that would explain all of the target), more than the limit %s (1e14 u), so the weights may not have two correct digits. The bound is u (2 sqrt(kappa) + kappa sin(theta)) with u = 2^-53, kappa = %s the estimated condition number of X^T X / n + lambda I (%s) scaled to unit diagonal, and tan(theta) = %s the ratio of the stacked system's residual to its fit."
                        (number (bound * u)) (number (MaxRidgeCondition * u)) (number condition) (Check.shape p p) (number tangent))
                    direction
            unscaleSolution dExp yExp (HouseholderQr.backSubstitute qr k qty)
