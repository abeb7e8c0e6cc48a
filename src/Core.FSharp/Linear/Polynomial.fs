namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Polynomial feature maps (notes, ch. 1.5: f(x) = W^T phi(x), phi(x) = [1, x, x^2, ..., x^m]),
/// after which ordinary least squares or ridge fit the polynomial unchanged.
module PolynomialFeatures =

    let private checkDegree (degree: int) =
        if degree < 1 then Check.fail "degree" (sprintf "degree must be at least 1, but is %d." degree)

    /// The most feature columns a polynomial map builds: 100,000 (`phi`'s m + 1, or the
    /// C(d + m, m) - 1 monomials of `exponents`, `monomials` and `names`). A larger degree raises
    /// ArgumentException (ParamName "degree") before anything is built.
    [<Literal>]
    let MaxColumns = 100000

    /// The number of monomials of total degree 1 .. m in d variables, C(d + m, m) - 1, or None
    /// when it is above MaxColumns (computed by C(d + k, k) = C(d + k - 1, k - 1) (d + k) / k in
    /// checked 64-bit arithmetic, stopping as soon as the count passes the limit).
    let columnCount (degree: int) (inputs: int) : int option =
        checkDegree degree
        Check.positiveInt "inputs" inputs
        let mutable c = 1L
        let mutable k = 1
        while k <= degree && c - 1L <= int64 MaxColumns do
            c <- Checked.(*) c (int64 inputs + int64 k) / int64 k
            k <- k + 1
        if c - 1L > int64 MaxColumns then None else Some (int (c - 1L))

    /// Raises ArgumentException (ParamName "degree") when degree m on d inputs gives more than
    /// MaxColumns monomials; else their number.
    let checkColumns (degree: int) (inputs: int) : int =
        match columnCount degree inputs with
        | Some c -> c
        | None ->
            Check.fail "degree" (sprintf "degree %d on %d input%s gives more than %d monomials (C(d + m, m) - 1 columns), the most a polynomial map builds; use a lower degree or fewer inputs." degree inputs (if inputs = 1 then "" else "s") MaxColumns)

    /// The most values (doubles) a polynomial map builds: the smaller of Array.MaxLength and a
    /// quarter of the memory available to the process (GC's TotalAvailableMemoryBytes, the
    /// machine's or the container's limit) in doubles; a fit holds a few copies of the map (the
    /// design, its centred and scaled copy for the QR).
    let maxValues () : int64 =
        min (int64 Array.MaxLength) (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4L / 8L)

    /// Raises ArgumentException (ParamName "degree") when `copies` maps of `rows` x `columns` values
    /// are together more than `limit` values (a map alone: copies = 1, limit = maxValues ()).
    let internal checkSizeWithin (limit: int64) (copies: int) (degree: int) (rows: int) (columns: int) =
        let values = int64 rows * int64 columns
        if values > limit / int64 copies then
            let builds = if copies = 1 then "a polynomial map builds" else sprintf "a polynomial fit builds (it holds about %d copies of the map: the standardised inputs, the monomials, the design and its scaled copy for the QR)" copies
            Check.fail "degree" (sprintf "degree %d on %d rows gives %d x %d = %d values (%.3g GB of doubles), more than %s here (%d values: the smaller of the largest array and a quarter of the %.3g GB of memory available to the process, divided by %d); use a lower degree or fewer rows." degree rows rows columns values (float values * 8e-9) builds (limit / int64 copies) (float (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes) * 1e-9) copies)

    /// The copies of the monomials a polynomial fit holds at once, for its size check.
    [<Literal>]
    let FitCopies = 8

    /// Raises ArgumentException (ParamName "degree") when a map of `rows` x `columns` values is
    /// larger than maxValues ().
    let private checkSize (degree: int) (rows: int) (columns: int) = checkSizeWithin (maxValues ()) 1 degree rows columns

    /// The notes' phi of one input: the n x (m + 1) matrix [1, x, x^2, ..., x^m], the constant
    /// column included (fit it with FitIntercept = false, or the constant appears twice). Raises
    /// ArgumentException (ParamName "degree") when m + 1 is above MaxColumns, and (ParamName "x")
    /// for no points or a point that is not finite.
    let phi (degree: int) (x: float[]) : Matrix<float> =
        checkDegree degree
        if degree >= MaxColumns then
            Check.fail "degree" (sprintf "degree is %d, which gives %d columns, more than the %d a polynomial map builds." degree (int64 degree + 1L) MaxColumns)
        Check.notNull "x" x
        if x.Length = 0 then Check.fail "x" "x is empty; phi needs at least one point (as monomials needs at least one row)."
        Check.finite2D "x" 1 x.Length (fun _ j -> x.[j])
        checkSize degree x.Length (degree + 1)
        let m = Matrix<float>.Build.Dense(x.Length, degree + 1, fun i j -> pown x.[i] j)
        for i in 0 .. x.Length - 1 do
            for j in 0 .. degree do
                if not (Double.IsFinite m.[i, j]) then
                    Check.fail "x" (sprintf "x[%d]^%d overflows the double range (x[%d] = %g): phi cannot be built. Scale x first (for example to [-1, 1])." i j i x.[i])
        m

    /// The exponent vectors of every monomial of total degree 1 .. m in d variables, in
    /// scikit-learn's PolynomialFeatures order (degree by degree; within a degree, the
    /// combinations with replacement of the variable indices in lexicographic order, which is the
    /// exponent vectors in decreasing lexicographic order: [k, 0, .., 0] first, [0, .., 0, k] last).
    /// For d = 2, m = 2: x0, x1, x0^2, x0 x1, x1^2. Generated iteratively, each vector from the one
    /// before it in O(d) steps (linear in the output's C(d + m, m) - 1 vectors of d entries; the
    /// recursion used before was as deep as the degree and took 27 s for degree 16,000 on one input).
    let exponents (degree: int) (inputs: int) : int[][] =
        let count = checkColumns degree inputs
        let result = Array.zeroCreate<int[]> count
        let mutable next = 0
        for m in 1 .. degree do
            // The largest vector of degree m, [m, 0, .., 0]; then repeatedly its successor: with i the
            // last index before d - 1 whose entry is positive, e_i decreases by 1, e_(i+1) becomes the
            // sum of e_(i+1) .. e_(d-1) plus 1, and the entries after i + 1 become 0. No such i: the
            // last vector [0, .., 0, m].
            let e = Array.zeroCreate<int> inputs
            e.[0] <- m
            let mutable go = true
            while go do
                result.[next] <- Array.copy e
                next <- next + 1
                let mutable i = inputs - 2
                while i >= 0 && e.[i] = 0 do i <- i - 1
                if i < 0 then go <- false
                else
                    let mutable tail = 0
                    for v in i + 1 .. inputs - 1 do
                        tail <- tail + e.[v]
                        e.[v] <- 0
                    e.[i] <- e.[i] - 1
                    e.[i + 1] <- tail + 1
        result

    /// `monomials`, with the message of the first overflow (row by row) given by `message i e`, e
    /// the monomial's exponents and i its row.
    let internal monomialsWith (message: int -> int[] -> string) (degree: int) (x: Matrix<float>) : Matrix<float> =
        Mat.checkBatch "x" x
        let e = exponents degree x.ColumnCount
        checkSize degree x.RowCount e.Length
        // Each monomial's variables with a positive exponent (at most min(d, m) of them), so that the
        // cost is that of the output times at most the degree, not times d.
        let nonzero = e |> Array.map (fun ej -> [| for v in 0 .. ej.Length - 1 do if ej.[v] > 0 then yield struct (v, ej.[v]) |])
        let n = x.RowCount
        let xs = x.ToColumnMajorArray()
        let values = Array.zeroCreate<float> (n * e.Length)
        let mutable overflow = false
        for j in 0 .. e.Length - 1 do
            let start = j * n
            for i in 0 .. n - 1 do
                let mutable p = 1.0
                for struct (v, power) in nonzero.[j] do p <- p * pown xs.[v * n + i] power
                values.[start + i] <- p
                if not (Double.IsFinite p) then overflow <- true
        let m = Matrix<float>.Build.Dense(n, e.Length, values)
        // Only after an overflow: the first one row by row is the one the message names.
        if overflow then
            for i in 0 .. m.RowCount - 1 do
                for j in 0 .. m.ColumnCount - 1 do
                    if not (Double.IsFinite m.[i, j]) then Check.fail "x" (message i e.[j])
        m

    /// The name of a monomial from its exponents, the inputs named `letter` 0, 1, ..: "x0^2 x1".
    let internal monomialName (letter: string) (e: int[]) =
        e |> Array.mapi (fun v p -> match p with 0 -> None | 1 -> Some (sprintf "%s%d" letter v) | p -> Some (sprintf "%s%d^%d" letter v p))
        |> Array.choose id |> String.concat " "

    /// Every monomial of total degree 1 .. m of the d columns of X (n x d), as columns, in the
    /// order of `exponents`: scikit-learn's PolynomialFeatures(degree, include_bias=False). The
    /// constant is left to the model's intercept. For d = 1 this is [x, x^2, ..., x^m]. Raises
    /// ArgumentException (ParamName "x", naming the monomial and the row) when a monomial overflows,
    /// and (ParamName "degree") when the map would be larger than the largest array.
    let monomials (degree: int) (x: Matrix<float>) : Matrix<float> =
        monomialsWith (fun i e -> sprintf "The monomial %s overflows the double range at row %d of x (shape %s): the monomials cannot be built. Scale x first (for example to [-1, 1])." (monomialName "x" e) i (Mat.shapeOf x)) degree x

    /// Names of the monomials ("x0", "x0^2", "x0 x1") from the names of the inputs, as scikit-learn's
    /// PolynomialFeatures.get_feature_names_out names them. Raises ArgumentException (ParamName
    /// "inputNames") for no names, a null or blank name, or a name given twice (the monomials' names
    /// would be blank, such as "^2", or repeated, so that they would not say which column is which).
    let names (degree: int) (inputNames: string[]) : string[] =
        Check.distinctNames "inputNames" inputNames
        if inputNames.Length = 0 then
            Check.fail "inputNames" "inputNames is empty; give one name per input (at least one)."
        inputNames |> Array.iteri (fun v n ->
            if String.IsNullOrWhiteSpace n then Check.fail "inputNames" (sprintf "inputNames[%d] is blank; every input needs a name for the monomials' names." v))
        exponents degree inputNames.Length
        |> Array.map (fun e ->
            e
            |> Array.mapi (fun v p -> match p with 0 -> None | 1 -> Some inputNames.[v] | p -> Some (sprintf "%s^%d" inputNames.[v] p))
            |> Array.choose id
            |> String.concat " ")

/// A polynomial regression model: each input x_v is first standardised to
/// u_v = x_v / s_v - c_v / s_v (c_v the midpoint of the fitted inputs' range, s_v a power of two
/// at least half that range, so |u_v| <= 1), then the monomials of degree 1 .. m of u (see
/// PolynomialFeatures.monomials) go into a linear model with an intercept. Standardising keeps
/// the monomial design well conditioned (the monomials of raw years 2000 .. 2020 are nearly
/// collinear) and its values in range; `PolynomialRegression.coefficients` gives the weights of
/// the raw monomials.
type PolynomialModel =
    { /// m, the highest total degree of the monomials.
      Degree: int
      /// The linear model on the monomials of the standardised inputs u (its FeatureNames name
      /// the monomials: "x0^2" is u_0^2).
      Linear: LinearModel
      /// c_v, the offset of each input (the midpoint of its range in the fitted data).
      Offset: float[]
      /// s_v, the scale of each input (a power of two, at least half its range).
      Scale: float[] }

/// Polynomial regression: least squares (or ridge) on monomial features.
module PolynomialRegression =

    let private inputNames (d: int) = Array.init d (fun v -> sprintf "x%d" v)

    /// u = x / s - c / s, column by column (division by a power of two is exact, and neither
    /// term overflows).
    let private standardised (offset: float[]) (scale: float[]) (x: Matrix<float>) : Matrix<float> =
        x.MapIndexed(fun _ v a -> a / scale.[v] - offset.[v] / scale.[v])

    /// Fits a polynomial of total degree m in the columns of X to Y by least squares (QR of the
    /// monomial design of the standardised inputs, see PolynomialModel, with the rank test at
    /// `rankTolerance`, NormalEquation.DefaultRankTolerance by default). The constant term is
    /// always fitted, as the intercept (w_0 of the notes' (1.8)). Raises ArgumentException
    /// (ParamName "degree") before building anything when the monomials are more than MaxColumns
    /// or more than the samples can determine (C(d + m, m) > n); (ParamName "x") when an input takes
    /// fewer than m + 1 distinct values (its powers are then linearly dependent; the message names
    /// the input and its values) or when the rank test fails otherwise (the message names the
    /// monomial of the standardised inputs u_v = (x_v - c_v) / s_v that the design holds); (ParamName
    /// "rankTolerance") for a tolerance outside (0, 1); and first, (ParamName "x" or "y", with the
    /// shapes of X and Y as given) when X or Y is empty or not finite or they have other row counts.
    let fit (degree: int) (rankTolerance: float) (x: Matrix<float>) (y: Matrix<float>) : PolynomialModel =
        LinearModel.checkData x y
        NormalEquation.checkTolerance "rankTolerance" rankTolerance
        let columns = PolynomialFeatures.checkColumns degree x.ColumnCount
        // The monomials and the intercept are columns + 1 unknowns: fewer samples cannot determine
        // them (least squares would refuse too, but only after building the whole design).
        if x.RowCount < columns + 1 then
            Check.fail "degree" (sprintf "degree %d on %d input%s gives %d monomials, which with the intercept are %d unknowns, but x has only %d rows (samples): least squares cannot determine more unknowns than samples. Use a lower degree or more samples." degree x.ColumnCount (if x.ColumnCount = 1 then "" else "s") columns (columns + 1) x.RowCount)
        PolynomialFeatures.checkSizeWithin (PolynomialFeatures.maxValues ()) PolynomialFeatures.FitCopies degree x.RowCount columns
        let d = x.ColumnCount
        let lo = Array.init d (fun v -> x.Column(v).Minimum())
        let hi = Array.init d (fun v -> x.Column(v).Maximum())
        let offset = Array.init d (fun v -> lo.[v] / 2.0 + hi.[v] / 2.0)
        let scale =
            Array.init d (fun v ->
                let half = hi.[v] / 2.0 - lo.[v] / 2.0
                // 2^1023 at most: half of a range at or above 2^1023 (x from -1e308 to 1e308)
                // would make 2^1024 = infinity; |x - offset| <= half < 2^1024 keeps |u| <= 2.
                if half > 0.0 then Math.ScaleB(1.0, min 1023 (Math.ILogB half + 1)) else 1.0)
        // On N distinct values the powers 1, x_v, .., x_v^m (all among the monomials with the
        // intercept) are linearly dependent when N < m + 1: say so in the caller's terms, before the
        // rank test would name a monomial of the standardised inputs.
        for v in 0 .. d - 1 do
            let distinct = Collections.Generic.HashSet<float>()
            let mutable i = 0
            while i < x.RowCount && distinct.Count <= degree do
                distinct.Add x.[i, v] |> ignore
                i <- i + 1
            let which = if d = 1 then "x" else sprintf "input %d of x (column %d)" v v
            if distinct.Count = 1 then
                Check.fail "x" (sprintf "%s takes only 1 distinct value (%s): its powers are constant, multiples of the intercept, so least squares has no unique solution at any degree. Remove the input (a constant adds nothing beyond the intercept), or give data in which it varies." which (string (Seq.head distinct)))
            if distinct.Count <= degree then
                let values = distinct |> Seq.sort |> Seq.map string |> String.concat ", "
                Check.fail "x" (sprintf "%s takes only %d distinct values (%s), fewer than degree + 1 = %d: on N distinct points the powers 1, x, .., x^m of a polynomial of degree m are linearly dependent when N < m + 1, so least squares has no unique solution. Use a degree of at most %d, data with more distinct values, or ridge regression (Ridge.fit with lambda > 0)." which distinct.Count values (degree + 1) (distinct.Count - 1))
        let features = PolynomialFeatures.monomials degree (standardised offset scale x)
        let names = PolynomialFeatures.names degree (inputNames d)
        // The rank test's messages name the monomials of the standardised inputs u_v, which the design holds.
        let uNames = PolynomialFeatures.names degree (Array.init d (fun v -> sprintf "u%d" v))
        let uDefinitions = String.concat ", " [ for v in 0 .. d - 1 -> sprintf "u%d = (x%d - %g) / %g" v v offset.[v] scale.[v] ]
        let columnName j =
            if j = 0 then "the intercept column of ones"
            else sprintf "feature %d, %s of the standardised input%s %s" (j - 1) uNames.[j - 1] (if d = 1 then "" else "s") uDefinitions
        let theta = NormalEquation.leastSquaresCentred rankTolerance columnName features y
        LinearModel.checkFitFinite "y" theta
        { Degree = degree; Linear = LinearModel.ofStacked true names theta; Offset = offset; Scale = scale }

    /// The notes' weights [w_0, w_1, ..., w_m] of output column k: the intercept, then the weight
    /// of each monomial of the raw inputs in the order of PolynomialFeatures.exponents (for one
    /// input, of x, x^2, .., x^m), expanded from the model on the standardised inputs
    /// (binomially: ((x - c) / s)^e = sum_f C(e, f) (-c / s)^(e - f) x^f / s^f). Each term, the
    /// model's weight times the binomial, the power and 1 / s^f, is formed with its factors held as
    /// mantissas and powers of two and rounded once, so a factor beyond the double range spoils no
    /// term that is within it ((x - 0.5)^1100 expands to finite weights). Raises ArgumentException
    /// (ParamName "model") for a scale that is not a positive power of two (a model made by hand). A weight
    /// beyond the double range comes out infinite (NaN where infinite terms of both signs meet), one
    /// below it 0. The expansion takes sum_j prod_v (e_jv + 1)
    /// terms over the monomials j (for one input and degree m, (m + 1)(m + 2) / 2 - 1: quadratic in
    /// the degree, though each term is O(1)).
    let coefficients (model: PolynomialModel) (output: int) : float[] =
        if output < 0 || output >= model.Linear.OutputSize then
            Check.fail "output" (sprintf "output must lie in 0 .. %d, but is %d." (model.Linear.OutputSize - 1) output)
        let d = model.Offset.Length
        let e = PolynomialFeatures.exponents model.Degree d
        let index = Collections.Generic.Dictionary<string, int>()
        e |> Array.iteri (fun j ex -> index.[String.Join(",", ex)] <- j + 1)
        let w = Array.zeroCreate (e.Length + 1)
        w.[0] <- model.Linear.Intercept.[output]
        // Each term is a product of a coefficient, a binomial C(e, f), a power c^(e - f) and 2^(-f log2 s), which
        // may each be beyond the double range while the term is not ((x - 0.5)^1100: C(1100, 550) overflows,
        // C(1100, 550) 0.5^550 does not). So every factor is held as a mantissa in [1, 2) (or 0) and a power of
        // two, x = m 2^k exactly, and only the term is rounded to a double: an infinite factor times 0 would be NaN.
        let split (x: float) : struct (float * int) =
            if x = 0.0 then struct (0.0, 0)
            else let k = Math.ILogB x in struct (Math.ScaleB(x, -k), k)
        let times (struct (m1: float, k1: int)) (struct (m2: float, k2: int)) =
            let struct (m, k) = split (m1 * m2)
            struct (m, k1 + k2 + k)
        // C(e, f) for f = 0 .. e/2, each from the one before: C(e, f + 1) = C(e, f) (e - f) / (f + 1) (exact while
        // the binomial's integer fits in 53 bits: the mantissa's scaling by powers of two changes no rounding),
        // and the other half by symmetry, C(e, e - f) = C(e, f), so that both ends are exact whatever the degree.
        let binomials (ev: int) =
            let b = Array.zeroCreate (ev + 1)
            b.[0] <- struct (1.0, 0)
            for f in 0 .. ev / 2 - 1 do
                let struct (m, k) = b.[f]
                let struct (m2, k2) = split (m * float (ev - f) / float (f + 1))
                b.[f + 1] <- struct (m2, k + k2)
            for f in ev / 2 + 1 .. ev do b.[f] <- b.[ev - f]
            b
        // c^q for q = 0 .. count, each from the one before.
        let powers (c: float) (count: int) =
            let p = Array.zeroCreate (count + 1)
            p.[0] <- struct (1.0, 0)
            let sc = split c
            for q in 1 .. count do p.[q] <- times p.[q - 1] sc
            p
        // s_v is a power of two (as every fit makes it): dividing by s_v^f subtracts f log2 s_v from the exponent.
        model.Scale |> Array.iteri (fun v sv ->
            if not (sv > 0.0 && Double.IsFinite sv && Math.ScaleB(1.0, Math.ILogB sv) = sv) then
                Check.fail "model" (sprintf "model.Scale[%d] is %s; the scales of a polynomial model are positive powers of two (as PolynomialRegression.fit makes them), which the expansion divides by exactly." v (string sv)))
        let scaleExponent = model.Scale |> Array.map (fun s -> Math.ILogB s)
        for j in 0 .. e.Length - 1 do
            let a = model.Linear.Coefficients.[j, output]
            // A monomial of weight 0 adds nothing (and 0 times an infinite term would be NaN).
            if a <> 0.0 then
                let f = Array.zeroCreate d
                let rec expand (v: int) (coef: struct (float * int)) =
                    if v = d then
                        let k = if Array.forall ((=) 0) f then 0 else index.[String.Join(",", f)]
                        let struct (m, ex) = coef
                        w.[k] <- w.[k] + Math.ScaleB(m, ex)
                    else
                        let ev = e.[j].[v]
                        let b = binomials ev
                        let p = powers (-model.Offset.[v] / model.Scale.[v]) ev
                        for fv in 0 .. ev do
                            f.[v] <- fv
                            let struct (m, ex) = times (times coef b.[fv]) p.[ev - fv]
                            expand (v + 1) (struct (m, ex - fv * scaleExponent.[v]))
                        f.[v] <- 0
                // The weight itself is a factor of the product: a tiny weight times a huge binomial is a term in range.
                expand 0 (split a)
        w

    /// The model's outputs for X (n x d, the raw inputs). Raises ArgumentException (ParamName "x")
    /// when x does not have one column per input, and when a row lies so far outside the range the
    /// model was fitted on that a monomial of the standardised inputs overflows (the message names
    /// the row, the inputs, their centre and scale and the range they were fitted on).
    let predict (model: PolynomialModel) (x: Matrix<float>) : Matrix<float> =
        Mat.checkBatch "x" x
        if x.ColumnCount <> model.Offset.Length then
            Check.fail "x" (sprintf "x has shape %s, but the model takes %d input%s." (Mat.shapeOf x) model.Offset.Length (if model.Offset.Length = 1 then "" else "s"))
        let u = standardised model.Offset model.Scale x
        // A monomial of inputs with |u_v| <= 1 is at most 1: an overflow comes from inputs outside [c - s, c + s],
        // which holds every fitted value (|u| <= 1 on the fitted data).
        let outside (i: int) (e: int[]) =
            let inputs =
                [ for v in 0 .. e.Length - 1 do
                    if e.[v] > 0 && abs u.[i, v] > 1.0 then
                        let c, s = model.Offset.[v], model.Scale.[v]
                        yield sprintf "x%d = %g (standardised u%d = (x%d - %g) / %g = %g; the fitted x%d lie within [%g, %g], where |u%d| <= 1)" v x.[i, v] v v c s u.[i, v] v (c - s) (c + s) v ]
            sprintf "Row %d of x (shape %s) lies too far outside the range the model was fitted on for its degree %d: %s. The monomial %s of the standardised inputs overflows the double range there, so the polynomial cannot be evaluated. Predict within or near the fitted range." i (Mat.shapeOf x) model.Degree (String.concat "; " inputs) (PolynomialFeatures.monomialName "u" e)
        LinearModel.predict model.Linear (PolynomialFeatures.monomialsWith outside model.Degree u)

    let private scored (score: Matrix<float> -> Matrix<float> -> float) (model: PolynomialModel) (x: Matrix<float>) (y: Matrix<float>) =
        LinearModel.checkData x y
        let prediction = predict model x
        LinearModel.checkOutputWidth prediction y
        score prediction y

    /// R^2 of the model on (X, Y) (Metrics.r2: NaN for a single row, where R^2 is undefined). Raises
    /// ArgumentException (ParamName "y") when Y is not a finite batch with one row per row of X and
    /// one column per output.
    let r2 (model: PolynomialModel) (x: Matrix<float>) (y: Matrix<float>) = scored Metrics.r2 model x y

    /// The plain mean squared error of the model on (X, Y), with the checks of `r2`.
    let meanSquaredError (model: PolynomialModel) (x: Matrix<float>) (y: Matrix<float>) = scored Metrics.meanSquaredError model x y
