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

    /// The mean of column j, summed as a running mean (m_k = m_{k-1} + (x_k - m_{k-1}) / k), so
    /// that it stays finite for values near the largest double (a constant column of 1e308 has
    /// mean 1e308 exactly).
    let private columnMean (x: Matrix<float>) (j: int) =
        let mutable m = 0.0
        for i in 0 .. x.RowCount - 1 do
            m <- m + (x.[i, j] - m) / float (i + 1)
        m

    let private overflow (j: int) (what: string) : 'a =
        Check.fail "x" (sprintf "Column %d of x spans more than the range of a double: its %s overflows; rescale the column first (e.g. divide it by 1e300)." j what)

    /// Standardisation fitted on x: offset_j = mean_j = 1/n sum_i x_ij, scale_j =
    /// sqrt(1/n sum_i (x_ij - mean_j)^2) (the population form, as scikit-learn's StandardScaler).
    /// The mean is a running mean and the deviations are summed relative to the largest one, so
    /// values near the double range do not overflow; a column whose spread itself overflows
    /// (from -1e308 to 1e308) raises ArgumentException (ParamName "x").
    let fitStandard (x: Matrix<float>) : Scaler =
        Mat.checkBatch "x" x
        let n = float x.RowCount
        let mean = Array.init x.ColumnCount (fun j ->
            let m = columnMean x j
            // The running mean passes through an infinity (then NaN) when partial means overflow.
            if not (Double.IsFinite m) then overflow j "running mean"
            m)
        let sd = Array.init x.ColumnCount (fun j ->
            let mutable big = 0.0
            for i in 0 .. x.RowCount - 1 do
                let d = abs (x.[i, j] - mean.[j])
                if not (Double.IsFinite d) then overflow j "deviation from the mean"
                if d > big then big <- d
            if big = 0.0 then 1.0
            else
                let mutable s = 0.0
                for i in 0 .. x.RowCount - 1 do
                    let d = (x.[i, j] - mean.[j]) / big
                    s <- s + d * d
                orOne (big * sqrt (s / n)))
        { Kind = ScalingKind.Standard; Offset = mean; Scale = sd }

    /// Min-max scaling fitted on x: offset_j = min_i x_ij, scale_j = max_i x_ij - min_i x_ij, so
    /// that the training data fall in [0, 1] (scikit-learn's MinMaxScaler). A range that
    /// overflows raises ArgumentException (ParamName "x").
    let fitMinMax (x: Matrix<float>) : Scaler =
        Mat.checkBatch "x" x
        let lo = Array.init x.ColumnCount (fun j -> x.Column(j).Minimum())
        let hi = Array.init x.ColumnCount (fun j -> x.Column(j).Maximum())
        Array.iteri2 (fun j a b -> if Double.IsInfinity (b - a) then overflow j "range (max - min)") lo hi
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

    /// Column j's value v in the original units (v * Scale[j] + Offset[j]), as `inverse` maps each entry.
    let inverseValue (scaler: Scaler) (j: int) (v: float) : float = v * scaler.Scale.[j] + scaler.Offset.[j]

    /// x' scale + offset, column by column: the inverse of `transform`.
    let inverse (scaler: Scaler) (x: Matrix<float>) : Matrix<float> =
        checkWidth scaler x
        Mat.init x.RowCount x.ColumnCount (fun i j -> inverseValue scaler j x.[i, j])

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

/// What a pipeline does with a text category its training rows did not have.
[<RequireQualifiedAccess>]
type UnknownCategory =
    /// An ArgumentException naming the row, the column and the category (the default).
    | Error
    /// The category's one-hot columns are all zero.
    | Zeros

/// The first stage of a pipeline, fitted on the training rows: the categories of each text
/// column (one-hot encoded, one column per category, in the categories' order) and the values
/// that fill missing cells (the imputer). Its input has one column per raw feature: a number,
/// or for a text column the category's index in `Categories.[j]` (-1 for an unseen category),
/// and NaN for a missing value.
type Preprocessor =
    { /// For each input column, its categories (a text column) or empty (a numeric column).
      Categories: string[][]
      /// How it was fitted: Error and Drop fill nothing; Mean, Median and MostFrequent fill.
      Missing: MissingPolicy
      /// For each input column, the value a missing cell becomes (a category index for a text
      /// column); empty when Missing is Error or Drop (nothing is filled).
      Fill: float[]
      /// What an unseen category becomes.
      UnknownCategory: UnknownCategory }
    /// The number of input columns.
    member this.Width = this.Categories.Length
    /// The number of columns it outputs (a numeric column gives one, a text column one per category).
    member this.OutputWidth = this.Categories |> Array.sumBy (fun c -> if c.Length = 0 then 1 else c.Length)
    /// True when it changes nothing: no text column and no imputation.
    member this.IsIdentity =
        this.Categories |> Array.forall (fun c -> c.Length = 0) && this.Missing = MissingPolicy.Error

/// Fitting and applying the imputer and one-hot encoder of text columns.
module Preprocessor =

    /// The name of a policy in files and on the command line: error, drop, mean, median, most_frequent.
    let missingName (p: MissingPolicy) =
        match p with
        | MissingPolicy.Error -> "error"
        | MissingPolicy.Drop -> "drop"
        | MissingPolicy.Mean -> "mean"
        | MissingPolicy.Median -> "median"
        | MissingPolicy.MostFrequent -> "most_frequent"

    /// Parses a name written by `missingName` (also "most-frequent", "mostfrequent", "mode").
    let tryParseMissing (text: string) : MissingPolicy option =
        match (if isNull text then "" else text.Trim().ToLowerInvariant()) with
        | "error" -> Some MissingPolicy.Error
        | "drop" -> Some MissingPolicy.Drop
        | "mean" -> Some MissingPolicy.Mean
        | "median" -> Some MissingPolicy.Median
        | "most_frequent" | "most-frequent" | "mostfrequent" | "mode" -> Some MissingPolicy.MostFrequent
        | _ -> None

    /// The name of an unknown-category rule: error or zeros.
    let unknownName (u: UnknownCategory) = match u with UnknownCategory.Error -> "error" | UnknownCategory.Zeros -> "zeros"

    /// Parses "error" or "zeros".
    let tryParseUnknown (text: string) : UnknownCategory option =
        match (if isNull text then "" else text.Trim().ToLowerInvariant()) with
        | "error" -> Some UnknownCategory.Error
        | "zeros" | "zero" -> Some UnknownCategory.Zeros
        | _ -> None

    let internal imputes (p: MissingPolicy) = not (p = MissingPolicy.Error || p = MissingPolicy.Drop)

    /// The preprocessor of `width` numeric columns that changes nothing.
    let identity (width: int) : Preprocessor =
        { Categories = Array.create width [||]; Missing = MissingPolicy.Error; Fill = [||]; UnknownCategory = UnknownCategory.Error }

    /// A preprocessor from its parts, checked: one entry per column in each; categories distinct
    /// and non-empty texts; one finite fill per column when the policy imputes (a text column's
    /// fill a category index), no fill otherwise.
    let create (categories: string[][]) (missing: MissingPolicy) (fill: float[]) (unknown: UnknownCategory) : Preprocessor =
        Check.notNull "categories" categories
        Check.notNull "fill" fill
        if imputes missing && fill.Length <> categories.Length then
            Check.fail "fill" (sprintf "fill has %d entries but there are %d columns; it needs one per column." fill.Length categories.Length)
        if not (imputes missing) && fill.Length <> 0 then
            Check.fail "fill" (sprintf "fill has %d entries; it must be empty when the policy (%s) does not impute." fill.Length (missingName missing))
        categories |> Array.iteri (fun j c ->
            if isNull c then Check.fail "categories" (sprintf "categories[%d] is null." j)
            if c |> Array.exists String.IsNullOrEmpty then Check.fail "categories" (sprintf "categories[%d] holds an empty name." j)
            if (Array.distinct c).Length <> c.Length then Check.fail "categories" (sprintf "categories[%d] holds a name twice." j))
        fill |> Array.iteri (fun j v ->
            if not (Double.IsFinite v) then Check.fail "fill" (sprintf "fill[%d] is %s; an imputer's fill values must be finite." j (string v))
            let k = categories.[j].Length
            if k > 0 && (v < 0.0 || v >= float k || Math.Round v <> v) then
                Check.fail "fill" (sprintf "fill[%d] is %s; a text column's fill is the index of one of its %d categories." j (string v) k))
        { Categories = categories |> Array.map Array.copy; Missing = missing; Fill = Array.copy fill; UnknownCategory = unknown }

    /// A copy with another unknown-category rule.
    let withUnknown (unknown: UnknownCategory) (p: Preprocessor) = { p with UnknownCategory = unknown }

    /// The output columns' names: a numeric column's own name, "name=category" for each category of a text column.
    let outputNames (p: Preprocessor) (names: string[]) : string[] =
        [| for j in 0 .. p.Width - 1 do
             if p.Categories.[j].Length = 0 then yield names.[j]
             else for c in p.Categories.[j] -> names.[j] + "=" + c |]

    let private mostFrequent (values: float seq) =
        values |> Seq.countBy id |> Seq.sortBy (fun (v, c) -> -c, v) |> Seq.head |> fst

    /// The median: the middle value, or the mean of the two middle values.
    let private median (values: float[]) =
        let s = Array.sort values
        let m = s.Length / 2
        if s.Length % 2 = 1 then s.[m] else s.[m - 1] + (s.[m] - s.[m - 1]) / 2.0

    /// The raw input matrix of a data set for `names` (the preprocessor's columns, taken by name as
    /// the CSV reader takes them: exactly, else the one column spelled so ignoring case):
    /// numbers as they are, a text column's categories as indices into `p.Categories` (a data set's
    /// own codes mapped by name), NaN for a missing cell. An unseen category is -1 under Zeros, an
    /// ArgumentException (ParamName "data") naming the row, the column and the category under Error.
    let rawFeatures (p: Preprocessor) (names: string[]) (data: Dataset) : MathNet.Numerics.LinearAlgebra.Matrix<float> =
        Check.notNull "data" (box data)
        // Each name by the reader's rule (Dataset.columnLookup): the column spelled exactly so, else the one column
        // spelled so ignoring case; two or more such columns (and none exact) are an error naming them.
        let lookup = Dataset.columnLookup data.FeatureNames
        let cols =
            names |> Array.map (fun name ->
                match lookup name with
                | Ok j -> j
                | Error matches when matches.Length > 1 ->
                    Check.fail "data" (sprintf "The model's feature '%s' matches no column of the data exactly and %d columns when case is ignored (%s); rename the columns so that one is spelled '%s'." (Csv.quoteText name) matches.Length (String.Join(", ", matches |> Array.map Csv.quoteText)) (Csv.quoteText name))
                | Error _ ->
                    let shown = data.FeatureNames |> Array.truncate 12
                    Check.fail "data" (sprintf "The data have no feature column '%s', which the model reads; their columns are %s%s." name (String.Join(", ", shown)) (if data.FeatureNames.Length > 12 then ", ..." else "")))
        let n = data.SampleCount
        let x = Matrix<float>.Build.Dense(n, names.Length)
        for k in 0 .. names.Length - 1 do
            let j = cols.[k]
            let own = Dataset.categoriesOf data j
            let wanted = if k < p.Width then p.Categories.[k] else [||]
            if wanted.Length = 0 then
                if own.Length > 0 then
                    // The first cell that is not a number (a column of numbers quoted in every cell reads as text too).
                    let textAt i = if Double.IsNaN data.Features.[i, j] then None else Some own.[Dataset.categoryIndex data i j]
                    match Seq.init n id |> Seq.tryFind (fun i -> match textAt i with Some t -> (Csv.finite t).IsNone | None -> false) with
                    | Some i -> Check.fail "data" (sprintf "At %s, column '%s': '%s' is not a finite number, but the model reads the column as numbers." (data.RowPlace i) names.[k] (Csv.quoteText (textAt i).Value))
                    | None -> Check.fail "data" (sprintf "The column '%s' holds numbers as text categories (%s), but the model reads it as numbers; read the file for the model (Pipeline.loadCsv or loadCsvFeatures), which reads such a column as numbers." names.[k] (String.Join(", ", own |> Array.truncate 5 |> Array.map Csv.quoteText)))
                for i in 0 .. n - 1 do x.[i, k] <- data.Features.[i, j]
            else
                let map = Collections.Generic.Dictionary<string, int>(StringComparer.Ordinal)
                wanted |> Array.iteri (fun c name -> map.[name] <- c)
                for i in 0 .. n - 1 do
                    let v = data.Features.[i, j]
                    if Double.IsNaN v then x.[i, k] <- nan
                    else
                        let text = if own.Length > 0 then own.[Dataset.categoryIndex data i j] else Csv.formatNumber v
                        match map.TryGetValue text with
                        | true, c -> x.[i, k] <- float c
                        | _ ->
                            match p.UnknownCategory with
                            | UnknownCategory.Zeros -> x.[i, k] <- -1.0
                            | UnknownCategory.Error ->
                                Check.fail "data" (sprintf "At %s, column '%s': the category '%s' is not among the %d categories of the training rows (%s); set UnknownCategory to Zeros (CLI: --unknown-category zeros) to encode it as all zeros." (data.RowPlace i) names.[k] (Csv.quoteText text) wanted.Length (String.Join(", ", wanted |> Array.truncate 12 |> Array.map Csv.quoteText)))
        x

    /// A copy of a data set whose text columns that the preprocessor reads as text (taken by name
    /// as `rawFeatures` takes them) list the preprocessor's categories first, in its order, then the
    /// column's other categories in the data set's own order. A cell's code is then the model's
    /// index of its category wherever the model knows the category, so the data set's `Features`
    /// are the raw inputs the model's array methods read; a category the model does not know gets
    /// a code past the model's, which those methods refuse, and `rawFeatures` treats as before
    /// (each cell keeps its category: only the codes and the category lists change). A column the
    /// data set holds as numbers, or the model reads as numbers, is kept as it is.
    let alignCategories (p: Preprocessor) (names: string[]) (data: Dataset) : Dataset =
        Check.notNull "data" (box data)
        Check.notNull "names" names
        let lookup = Dataset.columnLookup data.FeatureNames
        let categories = Array.init data.FeatureCount (Dataset.categoriesOf data)
        let mutable x = data.Features
        let mutable changed = false
        let done' = Collections.Generic.HashSet<int>()
        for k in 0 .. min names.Length p.Width - 1 do
            match lookup names.[k] with
            | Ok j when p.Categories.[k].Length > 0 && categories.[j].Length > 0 && done'.Add j ->
                let wanted = p.Categories.[k]
                let own = categories.[j]
                if own <> wanted then
                    let known = Collections.Generic.HashSet<string>(wanted, StringComparer.Ordinal)
                    let merged = Array.append wanted (own |> Array.filter (known.Contains >> not))
                    let position = Collections.Generic.Dictionary<string, int>(StringComparer.Ordinal)
                    merged |> Array.iteri (fun c name -> position.[name] <- c)
                    let code = own |> Array.map (fun name -> float position.[name])
                    if not changed then
                        x <- x.Clone()
                        changed <- true
                    for i in 0 .. x.RowCount - 1 do
                        if not (Double.IsNaN x.[i, j]) then x.[i, j] <- code.[Dataset.categoryIndex data i j]
                    categories.[j] <- merged
            | _ -> ()
        if changed then { data with Features = x; Categories = categories } else data

    /// Fitted on the training rows of a data set, by its Missing policy: the categories of each
    /// text column that occur in these rows (ordinal order), and the fill values (Mean, Median:
    /// the column's mean or median of the present values; MostFrequent, and every text column:
    /// the most frequent value, the smallest on a tie). Raises ArgumentException (ParamName
    /// "data") when a column to impute has no value in the training rows.
    let fit (data: Dataset) : Preprocessor =
        Check.notNull "data" (box data)
        let x = data.Features
        let d = data.FeatureCount
        let categories =
            Array.init d (fun j ->
                let own = Dataset.categoriesOf data j
                if own.Length = 0 then [||]
                else
                    let seen = Array.zeroCreate own.Length
                    for i in 0 .. x.RowCount - 1 do
                        let v = x.[i, j]
                        if not (Double.IsNaN v) then seen.[Dataset.categoryIndex data i j] <- true
                    // Ordinal order whatever the data set's own (the CSV reader's is ordinal; data read for a model
                    // list the model's categories first), so that the same rows make the same model.
                    own |> Array.indexed |> Array.filter (fun (c, _) -> seen.[c]) |> Array.map snd
                    |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b)))
        let p0 = { Categories = categories; Missing = data.Missing; Fill = [||]; UnknownCategory = UnknownCategory.Error }
        if not (imputes data.Missing) then p0
        else
            let raw = rawFeatures p0 data.FeatureNames data
            let fill =
                Array.init d (fun j ->
                    let present = [| for i in 0 .. raw.RowCount - 1 do if not (Double.IsNaN raw.[i, j]) then yield raw.[i, j] |]
                    if present.Length = 0 then
                        Check.fail "data" (sprintf "The column '%s' has no value in the training rows, so its missing values cannot be imputed." data.FeatureNames.[j])
                    if categories.[j].Length > 0 then mostFrequent present
                    else
                        match data.Missing with
                        | MissingPolicy.Mean ->
                            let mutable m = 0.0
                            present |> Array.iteri (fun k v -> m <- m + (v - m) / float (k + 1))
                            m
                        | MissingPolicy.Median -> median present
                        | _ -> mostFrequent present)
            { p0 with Fill = fill }

    /// A copy of a data set whose missing (NaN) feature cells hold the preprocessor's fill values (its columns
    /// taken by name; a text column's fill as the data's own code of that category), for a model that reads
    /// the raw columns without the preprocessor (a least-squares fit); the data as they are when the
    /// preprocessor fills nothing (Error, Drop). A text column's fill category is looked up only when the
    /// column has a missing cell; a category the data lack (test rows without the training rows' most
    /// frequent category) is added to the column's categories at its ordinal place (the other cells' codes
    /// follow it), so that the filled cell holds it. Raises ArgumentException (ParamName "data") for a column
    /// the preprocessor was not fitted on, or read otherwise (text against numbers).
    let fillMissing (p: Preprocessor) (names: string[]) (data: Dataset) : Dataset =
        Check.notNull "data" (box data)
        Check.notNull "names" names
        if p.Fill.Length = 0 then data
        else
            let x = data.Features.Clone()
            let categories = Array.init data.FeatureCount (Dataset.categoriesOf data)
            for j in 0 .. data.FeatureCount - 1 do
                let name = data.FeatureNames.[j]
                let k = Array.IndexOf(names, name)
                if k < 0 || k >= p.Width then
                    Check.fail "data" (sprintf "The data's column '%s' is not one of the columns the imputer was fitted on." name)
                let own = Dataset.categoriesOf data j
                if (own.Length > 0) <> (p.Categories.[k].Length > 0) then
                    Check.fail "data" (sprintf "The column '%s' holds %s, but the imputer was fitted on it as %s." name (if own.Length > 0 then "text" else "numbers") (if own.Length > 0 then "numbers" else "text"))
                let hasMissing = Seq.exists (fun i -> Double.IsNaN x.[i, j]) (seq { 0 .. x.RowCount - 1 })
                if hasMissing then
                    let fill =
                        if own.Length = 0 then p.Fill.[k]
                        else
                            let category = p.Categories.[k].[int p.Fill.[k]]
                            match Array.IndexOf(own, category) with
                            | c when c >= 0 -> float c
                            | _ ->
                                // Added where ordinal order puts it (before the first category that sorts after it); the
                                // codes from there on move up by one.
                                let at = match Array.tryFindIndex (fun (c: string) -> String.CompareOrdinal(c, category) > 0) own with Some a -> a | None -> own.Length
                                categories.[j] <- Array.concat [ own.[.. at - 1]; [| category |]; own.[at ..] ]
                                for i in 0 .. x.RowCount - 1 do
                                    if not (Double.IsNaN x.[i, j]) && x.[i, j] >= float at then x.[i, j] <- x.[i, j] + 1.0
                                float at
                    for i in 0 .. x.RowCount - 1 do
                        if Double.IsNaN x.[i, j] then x.[i, j] <- fill
            { data with Features = x; Categories = categories }

    /// The linear model with the fill values of `p` (fitted, as by `fit`, on the columns `names`),
    /// each taken by the model's feature name, and p's policy: the model then fills a missing cell of
    /// a feature as `fillMissing p names` fills that column (`LinearModel.fillMissing`), so rows at
    /// prediction time are imputed as the training rows were. The model without fill values when p
    /// fills nothing (Error, Drop). Raises ArgumentException: ParamName "model" for a model without
    /// feature names (its fill values could not be matched to columns); "data" for a feature of the
    /// model that is not one of `names`, or that p reads as text (a linear model reads numbers).
    let fillLinear (p: Preprocessor) (names: string[]) (model: Linear.LinearModel) : Linear.LinearModel =
        Check.notNull "model" (box model)
        Check.notNull "names" names
        if p.Fill.Length = 0 then { model with Fill = None }
        else
            if model.FeatureNames.Length = 0 then
                Check.fail "model" "The model has no feature names, so fill values cannot be matched to its features by name; fit it with feature names."
            let values =
                model.FeatureNames |> Array.map (fun name ->
                    let k = Array.IndexOf(names, name)
                    if k < 0 || k >= p.Width then
                        Check.fail "data" (sprintf "The model's feature '%s' is not one of the columns the imputer was fitted on (%s)." name (String.Join(", ", names |> Array.truncate 12)))
                    if p.Categories.[k].Length > 0 then
                        Check.fail "data" (sprintf "The column '%s' holds text; a linear model reads numbers, so it has no fill value for it." name)
                    p.Fill.[k])
            Linear.LinearModel.withFill p.Missing values model

    /// The network's input before scaling: each numeric column as it is (a missing cell filled),
    /// each text column one-hot (an unseen category, -1, all zeros under Zeros). Raises
    /// ArgumentException (ParamName "x") for the wrong width, a missing value the preprocessor
    /// does not fill, an infinity, or a category index out of range.
    let transform (p: Preprocessor) (names: string[]) (x: Matrix<float>) : Matrix<float> =
        Check.notNull "x" x
        if x.ColumnCount <> p.Width then
            Check.fail "x" (sprintf "x has shape %s but the model reads %d columns; x needs %d columns." (Check.shape x.RowCount x.ColumnCount) p.Width p.Width)
        if x.RowCount = 0 then Check.fail "x" "x has no rows."
        let starts = Array.scan (fun s (c: string[]) -> s + (if c.Length = 0 then 1 else c.Length)) 0 p.Categories
        let out = Matrix<float>.Build.Dense(x.RowCount, p.OutputWidth)
        let name j = if j < names.Length then names.[j] else string j
        for i in 0 .. x.RowCount - 1 do
            for j in 0 .. p.Width - 1 do
                let mutable v = x.[i, j]
                if Double.IsNaN v then
                    if p.Fill.Length = 0 then
                        Check.fail "x" (sprintf "x at row index %d, column %d (%s) is missing (NaN); the model was fitted with the missing-value policy '%s', which fills nothing: load the data with Missing set to Mean, Median or MostFrequent (CLI: --missing) and train again, or supply a value." i j (name j) (missingName p.Missing))
                    v <- p.Fill.[j]
                if Double.IsInfinity v then Check.fail "x" (sprintf "x holds %s at row index %d, column %d (%s); every value must be finite." (string v) i j (name j))
                let k = p.Categories.[j].Length
                if k = 0 then out.[i, starts.[j]] <- v
                elif v = -1.0 then
                    if p.UnknownCategory = UnknownCategory.Error then
                        Check.fail "x" (sprintf "x at row index %d, column %d (%s) is an unseen category (-1); set UnknownCategory to Zeros to encode it as all zeros." i j (name j))
                elif v < 0.0 || v >= float k || Math.Round v <> v then
                    Check.fail "x" (sprintf "x at row index %d, column %d (%s) is %s, but that text column's cells are category indices 0 .. %d (or -1 for an unseen category)." i j (name j) (string v) (k - 1))
                else out.[i, starts.[j] + int v] <- 1.0
        out
