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

    /// The notes' phi of one input: the n x (m + 1) matrix [1, x, x^2, ..., x^m], the constant
    /// column included (fit it with FitIntercept = false, or the constant appears twice). Raises
    /// ArgumentException (ParamName "degree") when m + 1 is above MaxColumns.
    let phi (degree: int) (x: float[]) : Matrix<float> =
        checkDegree degree
        if degree >= MaxColumns then
            Check.fail "degree" (sprintf "degree is %d, which gives %d columns, more than the %d a polynomial map builds." degree (int64 degree + 1L) MaxColumns)
        Check.notNull "x" x
        Check.finite2D "x" 1 x.Length (fun _ j -> x.[j])
        Matrix<float>.Build.Dense(x.Length, degree + 1, fun i j -> pown x.[i] j)

    /// The exponent vectors of every monomial of total degree 1 .. m in d variables, in
    /// scikit-learn's PolynomialFeatures order (degree by degree; within a degree, the
    /// combinations with replacement of the variable indices in lexicographic order).
    /// For d = 2, m = 2: x0, x1, x0^2, x0 x1, x1^2.
    let exponents (degree: int) (inputs: int) : int[][] =
        checkColumns degree inputs |> ignore
        let rec combos (start: int) (k: int) : int list list =
            if k = 0 then [ [] ]
            else [ for i in start .. inputs - 1 do for rest in combos i (k - 1) -> i :: rest ]
        [| for m in 1 .. degree do
             for c in combos 0 m do
                 let e = Array.zeroCreate inputs
                 for i in c do e.[i] <- e.[i] + 1
                 yield e |]

    /// Every monomial of total degree 1 .. m of the d columns of X (n x d), as columns, in the
    /// order of `exponents`: scikit-learn's PolynomialFeatures(degree, include_bias=False). The
    /// constant is left to the model's intercept. For d = 1 this is [x, x^2, ..., x^m].
    let monomials (degree: int) (x: Matrix<float>) : Matrix<float> =
        Mat.checkBatch "x" x
        let e = exponents degree x.ColumnCount
        Matrix<float>.Build.Dense(x.RowCount, e.Length, fun i j ->
            let mutable p = 1.0
            for v in 0 .. x.ColumnCount - 1 do
                if e.[j].[v] > 0 then p <- p * pown x.[i, v] e.[j].[v]
            p)

    /// Names of the monomials ("x0", "x0^2", "x0 x1") from the names of the inputs.
    let names (degree: int) (inputNames: string[]) : string[] =
        Check.notNull "inputNames" inputNames
        exponents degree inputNames.Length
        |> Array.map (fun e ->
            e
            |> Array.mapi (fun v p -> match p with 0 -> None | 1 -> Some inputNames.[v] | p -> Some (sprintf "%s^%d" inputNames.[v] p))
            |> Array.choose id
            |> String.concat " ")

/// A polynomial regression model: the monomials of degree 1 .. m of the inputs (see
/// PolynomialFeatures.monomials) followed by a linear model with an intercept.
type PolynomialModel =
    { /// m, the highest total degree of the monomials.
      Degree: int
      /// The linear model on the monomial features (its FeatureNames name the monomials).
      Linear: LinearModel }

/// Polynomial regression: least squares (or ridge) on monomial features.
module PolynomialRegression =

    let private inputNames (d: int) = Array.init d (fun v -> sprintf "x%d" v)

    /// Fits a polynomial of total degree m in the columns of X to Y by least squares (QR of the
    /// monomial design, with the rank test at `rankTolerance`, NormalEquation.DefaultRankTolerance
    /// by default). The constant term is always fitted, as the intercept (w_0 of the notes'
    /// (1.8)); with one input, the coefficients are w_1 .. w_m. Raises ArgumentException (ParamName
    /// "degree") before building anything when the monomials are more than MaxColumns or more
    /// than the samples can determine (C(d + m, m) > n).
    let fit (degree: int) (rankTolerance: float) (x: Matrix<float>) (y: Matrix<float>) : PolynomialModel =
        Mat.checkBatch "x" x
        let columns = PolynomialFeatures.checkColumns degree x.ColumnCount
        // The monomials and the intercept are columns + 1 unknowns: fewer samples cannot determine
        // them (least squares would refuse too, but only after building the whole design).
        if x.RowCount < columns + 1 then
            Check.fail "degree" (sprintf "degree %d on %d input%s gives %d monomials, which with the intercept are %d unknowns, but x has only %d rows (samples): least squares cannot determine more unknowns than samples. Use a lower degree or more samples." degree x.ColumnCount (if x.ColumnCount = 1 then "" else "s") columns (columns + 1) x.RowCount)
        let features = PolynomialFeatures.monomials degree x
        let linear =
            LeastSquares.fitNamed { FitIntercept = true; RankTolerance = rankTolerance } (PolynomialFeatures.names degree (inputNames x.ColumnCount)) features y
        { Degree = degree; Linear = linear }

    /// The notes' weights [w_0, w_1, ..., w_m] of a one-input polynomial (output column k).
    let coefficients (model: PolynomialModel) (output: int) : float[] =
        if output < 0 || output >= model.Linear.OutputSize then
            Check.fail "output" (sprintf "output must lie in 0 .. %d, but is %d." (model.Linear.OutputSize - 1) output)
        Array.append [| model.Linear.Intercept.[output] |] (model.Linear.Coefficients.Column(output).ToArray())

    /// The model's outputs for X (n x d, the raw inputs).
    let predict (model: PolynomialModel) (x: Matrix<float>) : Matrix<float> =
        Mat.checkBatch "x" x
        let e = PolynomialFeatures.exponents model.Degree x.ColumnCount
        if e.Length <> model.Linear.InputSize then
            Check.fail "x" (sprintf "x has shape %s, which gives %d monomials of degree <= %d, but the model has %d." (Mat.shapeOf x) e.Length model.Degree model.Linear.InputSize)
        LinearModel.predict model.Linear (PolynomialFeatures.monomials model.Degree x)

    let private scored (score: Matrix<float> -> Matrix<float> -> float) (model: PolynomialModel) (x: Matrix<float>) (y: Matrix<float>) =
        LinearModel.checkData x y
        let prediction = predict model x
        LinearModel.checkOutputWidth prediction y
        score prediction y

    /// R^2 of the model on (X, Y). Raises ArgumentException (ParamName "y") when Y is not a
    /// finite batch with one row per row of X and one column per output.
    let r2 (model: PolynomialModel) (x: Matrix<float>) (y: Matrix<float>) = scored Metrics.r2 model x y

    /// The plain mean squared error of the model on (X, Y), with the checks of `r2`.
    let meanSquaredError (model: PolynomialModel) (x: Matrix<float>) (y: Matrix<float>) = scored Metrics.meanSquaredError model x y
