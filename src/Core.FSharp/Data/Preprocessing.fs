namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// How a Scaler was fitted (kept for the record and for files; the transform is the same
/// formula for every kind).
[<RequireQualifiedAccess>]
type ScalingKind =
    /// No scaling: offset 0, scale 1.
    | Identity
    /// Standardisation: offset = the column's mean, scale = its standard deviation (1/n form).
    | Standard
    /// Min-max scaling to [0, 1]: offset = the column's minimum, scale = max - min.
    | MinMax

/// A per-column affine scaling fitted on training data: x' = (x - Offset) / Scale, column by
/// column; the inverse is x = x' Scale + Offset. A column whose spread is zero gets scale 1
/// (as scikit-learn does), so a constant column becomes 0 rather than NaN.
type Scaler =
    { /// How it was fitted.
      Kind: ScalingKind
      /// One offset per column.
      Offset: float[]
      /// One positive scale per column.
      Scale: float[] }
    /// The number of columns it scales.
    member this.Width = this.Offset.Length

/// Fitting and applying scalers. Fit on the training rows only, then apply the same scaler to
/// validation, test and new data (so no statistic of the test data leaks into the model).
module Scaler =

    /// A scaler from its parts, checked: equal lengths, finite offsets, positive finite scales.
    let create (kind: ScalingKind) (offset: float[]) (scale: float[]) : Scaler =
        Check.notNull "offset" offset
        Check.notNull "scale" scale
        if offset.Length <> scale.Length then
            Check.fail "scale" (sprintf "scale has %d entries but offset has %d; they need one entry per column each." scale.Length offset.Length)
        offset |> Array.iteri (fun j v -> if not (Double.IsFinite v) then Check.fail "offset" (sprintf "offset[%d] is %s; it must be finite." j (string v)))
        scale |> Array.iteri (fun j v -> if not (v > 0.0 && Double.IsFinite v) then Check.fail "scale" (sprintf "scale[%d] is %s; it must be positive and finite." j (string v)))
        { Kind = kind; Offset = Array.copy offset; Scale = Array.copy scale }

    /// The scaler that changes nothing, for `width` columns.
    let identity (width: int) : Scaler =
        if width < 0 then Check.fail "width" (sprintf "width must not be negative, but is %d." width)
        { Kind = ScalingKind.Identity; Offset = Array.zeroCreate width; Scale = Array.create width 1.0 }

    let private orOne (s: float) = if s > 0.0 && Double.IsFinite s then s else 1.0

    /// Standardisation fitted on x: offset_j = mean_j = 1/n sum_i x_ij, scale_j =
    /// sqrt(1/n sum_i (x_ij - mean_j)^2) (the population form, as scikit-learn's StandardScaler).
    let fitStandard (x: Matrix<float>) : Scaler =
        Mat.checkBatch "x" x
        let n = float x.RowCount
        let mean = Array.init x.ColumnCount (fun j -> x.Column(j).Sum() / n)
        let sd = Array.init x.ColumnCount (fun j ->
            let mutable s = 0.0
            for i in 0 .. x.RowCount - 1 do
                let d = x.[i, j] - mean.[j]
                s <- s + d * d
            orOne (sqrt (s / n)))
        { Kind = ScalingKind.Standard; Offset = mean; Scale = sd }

    /// Min-max scaling fitted on x: offset_j = min_i x_ij, scale_j = max_i x_ij - min_i x_ij, so
    /// that the training data fall in [0, 1] (scikit-learn's MinMaxScaler).
    let fitMinMax (x: Matrix<float>) : Scaler =
        Mat.checkBatch "x" x
        let lo = Array.init x.ColumnCount (fun j -> x.Column(j).Minimum())
        let hi = Array.init x.ColumnCount (fun j -> x.Column(j).Maximum())
        { Kind = ScalingKind.MinMax; Offset = lo; Scale = Array.map2 (fun a b -> orOne (b - a)) lo hi }

    /// A scaler of the given kind fitted on x.
    let fit (kind: ScalingKind) (x: Matrix<float>) : Scaler =
        match kind with
        | ScalingKind.Identity -> Mat.checkBatch "x" x; identity x.ColumnCount
        | ScalingKind.Standard -> fitStandard x
        | ScalingKind.MinMax -> fitMinMax x

    let private checkWidth (scaler: Scaler) (x: Matrix<float>) =
        Mat.checkBatch "x" x
        if x.ColumnCount <> scaler.Width then
            Check.fail "x" (sprintf "x has shape %s but the scaler was fitted on %d columns; x needs %d columns." (Mat.shapeOf x) scaler.Width scaler.Width)

    /// (x - offset) / scale, column by column, as a new matrix.
    let transform (scaler: Scaler) (x: Matrix<float>) : Matrix<float> =
        checkWidth scaler x
        Mat.init x.RowCount x.ColumnCount (fun i j -> (x.[i, j] - scaler.Offset.[j]) / scaler.Scale.[j])

    /// x' scale + offset, column by column: the inverse of `transform`.
    let inverse (scaler: Scaler) (x: Matrix<float>) : Matrix<float> =
        checkWidth scaler x
        Mat.init x.RowCount x.ColumnCount (fun i j -> x.[i, j] * scaler.Scale.[j] + scaler.Offset.[j])

    /// The name used in files and on the command line: "none", "standard" or "minmax".
    let kindName (kind: ScalingKind) =
        match kind with
        | ScalingKind.Identity -> "none"
        | ScalingKind.Standard -> "standard"
        | ScalingKind.MinMax -> "minmax"

    /// Parses a name written by `kindName` (also "identity", "standardize", "min-max").
    let tryParseKind (text: string) : ScalingKind option =
        match (if isNull text then "" else text.Trim().ToLowerInvariant()) with
        | "none" | "identity" -> Some ScalingKind.Identity
        | "standard" | "standardize" | "standardise" | "zscore" -> Some ScalingKind.Standard
        | "minmax" | "min-max" | "min_max" -> Some ScalingKind.MinMax
        | _ -> None

/// One-hot encoding of class targets: a label k of `classes` classes becomes a row with a 1 in
/// column k; decoding takes the column of the largest score in each row.
module OneHot =

    /// The n x classes one-hot matrix of the labels.
    let encode (classes: int) (labels: int[]) : Matrix<float> = Mat.oneHot classes labels

    /// The class of each row of scores (probabilities or logits): its argmax, the first on a tie.
    let decode (scores: Matrix<float>) : int[] =
        Check.notNull "scores" scores
        Mat.argmaxRows scores
