namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// The values with which a linear model fills a missing input cell: those of the imputer that
/// filled its training rows (`Preprocessor.fit`, by the rows' missing-value policy), kept so that
/// new rows are filled the same way (`LinearModel.fillMissing`; `fnn linear --missing mean` keeps
/// them in the model file, and `fnn evaluate` and `fnn predict` fill with them).
type LinearFill =
    { /// The policy the values were fitted by: Mean, Median or MostFrequent.
      Missing: MissingPolicy
      /// One finite value per feature, in the order of the coefficients' rows (of FeatureNames):
      /// Values.[j] fills a missing cell of feature j.
      Values: float[] }

/// A fitted linear model f(x) = x W + b in the batch layout (one sample per row): for an n x d
/// batch X it predicts X W + 1 b, an n x k matrix. The notes' column form f(x) = W'^T x with
/// x_0 = 1 is the same model with W' = [b; W] (see `LinearModel.stacked`).
/// Plain data, so that it can be saved and loaded: every field is a value.
type LinearModel =
    { /// W, d x k: one row per input feature, one column per output.
      Coefficients: Matrix<float>
      /// b, length k; all zeros when the model was fitted without an intercept.
      Intercept: Vector<float>
      /// True when the intercept was fitted (false: it is fixed at zero).
      HasIntercept: bool
      /// The names of the d input features (may be empty when unknown).
      FeatureNames: string[]
      /// The names of the k outputs, the targets (may be empty when unknown; `LinearModel.withTargetNames`
      /// sets them, and a model file keeps them so that evaluating and predicting need no target option).
      TargetNames: string[]
      /// The precision of the coefficients, the intercept and the predictions (Float64 for every
      /// fit; `LinearModel.withPrecision` gives a Float32 model, see docs/precision.md).
      Precision: Precision
      /// The values that fill a missing input cell, when the model was fitted on rows whose missing
      /// cells were imputed (`LinearModel.withFill`, `Preprocessor.fillLinear`); None otherwise (every
      /// fit). `predict` reads complete rows; `fillMissing` fills a batch's missing (NaN) cells with
      /// these values first. A model file keeps them.
      Fill: LinearFill option }
    /// d, the number of input features.
    member this.InputSize = this.Coefficients.RowCount
    /// k, the number of outputs.
    member this.OutputSize = this.Coefficients.ColumnCount

/// Construction, prediction and scoring of linear models, and the design matrix they share.
module LinearModel =

    /// A copy of the feature names, or no names for null (the one place that maps null to empty).
    /// Raises ArgumentException (ParamName "featureNames") for a null name or a name given twice
    /// (a model file could not be read back: each name must say which column it is).
    let names (featureNames: string[]) : string[] =
        if isNull featureNames then [||]
        else
            Check.distinctNames "featureNames" featureNames
            Array.copy featureNames

    /// `names`, and none or one name per feature: raises ArgumentException (ParamName
    /// "featureNames", with both counts) when names are given for another number of features than
    /// the data's `width` (a model whose names do not match its coefficients could not be saved).
    let namesFor (width: int) (featureNames: string[]) : string[] =
        let n = names featureNames
        if n.Length <> 0 && n.Length <> width then
            Check.fail "featureNames" (sprintf "featureNames has %d names but the data have %d features (columns); give one name per feature, or none." n.Length width)
        n

    /// Raises ArgumentException (ParamName `name`) when a fit's stacked weights are not finite: the
    /// solvers scale the data so that no intermediate overflows, so the weights themselves lie beyond
    /// the double range.
    let checkFitFinite (name: string) (theta: Matrix<float>) =
        for i in 0 .. theta.RowCount - 1 do
            for j in 0 .. theta.ColumnCount - 1 do
                if not (Double.IsFinite theta.[i, j]) then
                    Check.fail name (sprintf "The solution overflows the double range: weight [%d, %d] comes out %s, because the weight the data ask for is larger in magnitude than the largest double (about 1.8e308): the targets are too large against the features (targets near 1e308, or a feature of tiny values, such as 1e-300, with targets of ordinary size, which needs a weight of about 1e300 or more). Rescale the data (for example standardise the features, or divide the targets by a constant) before fitting." i j (string theta.[i, j]))

    /// A model from its coefficients (d x k) and intercept (length k), checked and copied.
    let create (coefficients: Matrix<float>) (intercept: Vector<float>) (hasIntercept: bool) (featureNames: string[]) : LinearModel =
        Mat.checkBatch "coefficients" coefficients
        Check.notNull "intercept" intercept
        if intercept.Count <> coefficients.ColumnCount then
            Check.fail "intercept" (sprintf "intercept has length %d but coefficients has shape %s; the intercept needs one entry per output (%d)." intercept.Count (Mat.shapeOf coefficients) coefficients.ColumnCount)
        Check.finite2D "intercept" 1 intercept.Count (fun _ j -> intercept.[j])
        if not hasIntercept && intercept.Exists(fun v -> v <> 0.0) then
            Check.fail "intercept" "intercept must be all zeros when hasIntercept is false."
        let names = names featureNames
        if names.Length <> 0 && names.Length <> coefficients.RowCount then
            Check.fail "featureNames" (sprintf "featureNames has %d names but coefficients has %d rows (one per feature, shape %s)." names.Length coefficients.RowCount (Mat.shapeOf coefficients))
        { Coefficients = coefficients.Clone(); Intercept = intercept.Clone(); HasIntercept = hasIntercept; FeatureNames = names
          TargetNames = [||]; Precision = Precision.Float64; Fill = None }

    /// The model with names for its k outputs (the targets it was fitted on): none (empty or null)
    /// or one per output, each non-empty and given once. Raises ArgumentException (ParamName
    /// "targetNames") otherwise.
    let withTargetNames (targetNames: string[]) (model: LinearModel) : LinearModel =
        Check.notNull "model" (box model)
        let t = if isNull targetNames then [||] else (Check.distinctNames "targetNames" targetNames; Array.copy targetNames)
        if t.Length <> 0 && t.Length <> model.OutputSize then
            Check.fail "targetNames" (sprintf "targetNames has %d names but the model has %d outputs (coefficients %s); give one name per output, or none." t.Length model.OutputSize (Mat.shapeOf model.Coefficients))
        t |> Array.iteri (fun j n -> if String.IsNullOrWhiteSpace n then Check.fail "targetNames" (sprintf "targetNames[%d] is empty; a target's name is the column it was read from." j))
        { model with TargetNames = t }

    /// The model with fill values for its missing input cells: one finite value per feature (in the
    /// order of the coefficients' rows, of FeatureNames) and the policy they were fitted by, Mean,
    /// Median or MostFrequent (`Preprocessor.fillLinear` takes them from a fitted imputer by feature
    /// name). Raises ArgumentException: ParamName "missing" for Error or Drop (they fill nothing),
    /// "values" for another count than the model's features or a value that is not finite.
    let withFill (missing: MissingPolicy) (values: float[]) (model: LinearModel) : LinearModel =
        Check.notNull "model" (box model)
        Check.notNull "values" values
        match missing with
        | MissingPolicy.Mean | MissingPolicy.Median | MissingPolicy.MostFrequent -> ()
        | _ -> Check.fail "missing" (sprintf "missing is %A, which fills nothing; fill values go with Mean, Median or MostFrequent." missing)
        if values.Length <> model.InputSize then
            Check.fail "values" (sprintf "values has %d entries but the model has %d features (coefficients %s); give one fill value per feature." values.Length model.InputSize (Mat.shapeOf model.Coefficients))
        values |> Array.iteri (fun j v ->
            if not (Double.IsFinite v) then Check.fail "values" (sprintf "values[%d] is %s; a fill value must be finite." j (string v)))
        { model with Fill = Some { Missing = missing; Values = Array.copy values } }

    /// A copy of the batch X (n x d) whose missing (NaN) cells hold the model's fill values (cell
    /// [i, j] gets Fill.Values.[j]), for `predict`. Raises ArgumentException (ParamName "x") for the
    /// wrong width, and, for a model without fill values, for a missing cell (naming its row and
    /// feature). Other values are left as they are, for `predict` to check.
    let fillMissing (model: LinearModel) (x: Matrix<float>) : Matrix<float> =
        Check.notNull "model" (box model)
        Check.notNull "x" x
        if x.ColumnCount <> model.InputSize then
            Check.fail "x" (sprintf "x has shape %s but the model takes %d features (coefficients %s)." (Mat.shapeOf x) model.InputSize (Mat.shapeOf model.Coefficients))
        let name j = if j < model.FeatureNames.Length then sprintf "%d (%s)" j model.FeatureNames.[j] else string j
        let filled = x.Clone()
        for i in 0 .. x.RowCount - 1 do
            for j in 0 .. x.ColumnCount - 1 do
                if Double.IsNaN x.[i, j] then
                    match model.Fill with
                    | Some f -> filled.[i, j] <- f.Values.[j]
                    | None ->
                        Check.fail "x" (sprintf "x at row index %d, column %s is missing (NaN), and the model has no fill values (it was fitted without imputation): supply a value, or fit the model on imputed rows and keep their fill values (CLI: fnn linear --missing mean|median|most_frequent)." i (name j))
        filled

    /// The model in another precision: a new model whose coefficients and intercept are rounded
    /// to p (`Precision.round`) and whose predictions are computed in p from then on. Widening a
    /// Float32 model is exact. The fits solve in float64 (QR or the normal equations in float32
    /// would lose half their digits or all of them, docs/precision.md), so the Float32 model of a
    /// fit is the float32 rounding of the float64 solution: `fit ... |> withPrecision Float32`.
    /// A coefficient beyond float32's range raises ArgumentException (ParamName "model", the
    /// message naming the coefficient or intercept and its position).
    let withPrecision (p: Precision) (model: LinearModel) : LinearModel =
        Check.notNull "model" (box model)
        let w = Precision.roundMatrix p model.Coefficients
        let b = Precision.roundVector p model.Intercept
        let fail (what: string) (v: float) =
            Check.fail "model" (sprintf "The model's %s = %s is beyond the range of %s (about 3.4e38), so the model has no %s form." what (string v) (Precision.name p) (Precision.name p))
        for i in 0 .. w.RowCount - 1 do
            for j in 0 .. w.ColumnCount - 1 do
                if not (Double.IsFinite w.[i, j]) then fail (sprintf "coefficient [%d, %d]" i j) model.Coefficients.[i, j]
        for j in 0 .. b.Count - 1 do
            if not (Double.IsFinite b.[j]) then fail (sprintf "intercept [%d]" j) model.Intercept.[j]
        { model with Coefficients = w; Intercept = b; Precision = p }

    /// The design matrix: X itself, or [1 X] (a column of ones first, the notes' x_0 = 1) when
    /// `intercept` is true. A new matrix.
    let design (intercept: bool) (x: Matrix<float>) : Matrix<float> =
        if intercept then
            Matrix<float>.Build.Dense(x.RowCount, x.ColumnCount + 1, fun i j -> if j = 0 then 1.0 else x.[i, j - 1])
        else x.Clone()

    /// The notes' stacked weights W' = [b; W], (1 + d) x k, intercept row first; W alone when the
    /// model has no intercept. `design model.HasIntercept X * stacked model` = `predict model X`.
    let stacked (model: LinearModel) : Matrix<float> =
        if model.HasIntercept then
            Matrix<float>.Build.Dense(model.InputSize + 1, model.OutputSize, fun i j ->
                if i = 0 then model.Intercept.[j] else model.Coefficients.[i - 1, j])
        else model.Coefficients.Clone()

    /// The model whose stacked weights (see `stacked`) are theta.
    let ofStacked (hasIntercept: bool) (featureNames: string[]) (theta: Matrix<float>) : LinearModel =
        if hasIntercept then
            let d = theta.RowCount - 1
            { Coefficients = theta.SubMatrix(1, d, 0, theta.ColumnCount)
              Intercept = theta.Row 0
              HasIntercept = true
              FeatureNames = names featureNames
              TargetNames = [||]
              Precision = Precision.Float64
              Fill = None }
        else
            { Coefficients = theta.Clone()
              Intercept = Vector<float>.Build.Dense theta.ColumnCount
              HasIntercept = false
              FeatureNames = names featureNames
              TargetNames = [||]
              Precision = Precision.Float64
              Fill = None }

    /// Raises unless X is a non-empty finite batch with as many columns as the model has inputs.
    let checkInput (model: LinearModel) (name: string) (x: Matrix<float>) =
        Mat.checkBatch name x
        if x.ColumnCount <> model.InputSize then
            Check.fail name (sprintf "%s has shape %s but the model takes %d features (coefficients %s)." name (Mat.shapeOf x) model.InputSize (Mat.shapeOf model.Coefficients))

    /// Checks a regression pair: X and Y non-empty, finite, with the same number of rows.
    let checkData (x: Matrix<float>) (y: Matrix<float>) =
        Mat.checkBatch "x" x
        Mat.checkBatch "y" y
        if x.RowCount <> y.RowCount then
            Check.fail "y" (sprintf "y has shape %s but x has shape %s; they need one row per sample each (the same number of rows)." (Mat.shapeOf y) (Mat.shapeOf x))

    /// Checks (X, Y) for scoring or a cost of the model: a regression pair (checkData), X as wide
    /// as the model's inputs, Y as wide as its outputs (ParamName "y", with both shapes).
    let checkTargets (model: LinearModel) (x: Matrix<float>) (y: Matrix<float>) =
        checkData x y
        checkInput model "x" x
        if y.ColumnCount <> model.OutputSize then
            Check.fail "y" (sprintf "y has shape %s but the model has %d outputs (coefficients %s); y needs one column per output." (Mat.shapeOf y) model.OutputSize (Mat.shapeOf model.Coefficients))

    /// `predict`, with outputs of +-infinity allowed when `allowInfinite` (a classifier's label
    /// needs only the score's sign, which an overflow to one infinity keeps); NaN (overflows of
    /// both signs meeting) always raises.
    let internal outputs (allowInfinite: bool) (model: LinearModel) (x: Matrix<float>) : Matrix<float> =
        checkInput model "x" x
        let p = model.Precision
        let out = Mat.addRow model.Intercept (Precision.roundMatrix p x * model.Coefficients) |> Precision.roundMatrix p
        for i in 0 .. out.RowCount - 1 do
            for k in 0 .. out.ColumnCount - 1 do
                if Double.IsNaN out.[i, k] || (not allowInfinite && Double.IsInfinity out.[i, k]) then
                    Check.fail "x" (sprintf "x at row %d gives output %d = %s: the values of x times the model's weights overflow the %s range (about %s), so the output cannot be computed. Scale x (and refit) so that its values times the weights stay within range." i k (string out.[i, k]) (Precision.name p) (if p = Precision.Float32 then "3.4e38" else "1.8e308"))
        out

    /// X W + 1 b: the model's outputs, n x k. For a Float32 model X is rounded to float32 first
    /// and each output, accumulated in float64, is rounded once to float32. Raises
    /// ArgumentException (ParamName "x", naming the row) when an output of finite inputs is not
    /// finite: the products or their sum overflow the range of the model's precision (never a
    /// silent Infinity or NaN).
    let predict (model: LinearModel) (x: Matrix<float>) : Matrix<float> = outputs false model x

    /// Checks targets Y against a model's outputs `prediction` for X (scored by Metrics): Y as
    /// wide as the outputs (ParamName "y", with both shapes). `checkData x y` checks the rest.
    let checkOutputWidth (prediction: Matrix<float>) (y: Matrix<float>) =
        if y.ColumnCount <> prediction.ColumnCount then
            Check.fail "y" (sprintf "y has shape %s but the model has %d outputs; y needs one column per output." (Mat.shapeOf y) prediction.ColumnCount)

    /// The plain mean squared error of the model on (X, Y). Raises ArgumentException (ParamName
    /// "y", both shapes) when Y does not match X or the model (see checkTargets).
    let meanSquaredError (model: LinearModel) (x: Matrix<float>) (y: Matrix<float>) : float =
        checkTargets model x y
        Metrics.meanSquaredError (predict model x) y

    /// R^2 of the model on (X, Y) (see Metrics.r2: NaN for a single row), with the checks of checkTargets.
    let r2 (model: LinearModel) (x: Matrix<float>) (y: Matrix<float>) : float =
        checkTargets model x y
        Metrics.r2 (predict model x) y

    /// A one-column n x 1 matrix from a vector of targets.
    let column (values: float[]) : Matrix<float> =
        Check.notNull "values" values
        Matrix<float>.Build.Dense(values.Length, 1, fun i _ -> values.[i])

