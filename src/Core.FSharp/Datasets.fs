namespace Functional.NN

open System
open System.Globalization
open System.IO
open MathNet.Numerics.LinearAlgebra

/// A labelled classification data set: features (n x d, one sample per row), class indices and
/// the class names in index order.
type ClassificationData =
    { Features: Matrix<float>
      Labels: int[]
      ClassNames: string[]
      FeatureNames: string[] }

/// What a data set predicts: numbers (regression) or classes.
[<RequireQualifiedAccess>]
type Target =
    /// One number per sample: a regression target.
    | Values of values: float[]
    /// One class index per sample, and the class names in index order (the index of a name is
    /// its position in `classNames`).
    | Classes of labels: int[] * classNames: string[]

/// What a pipeline fitted on a data set does with its missing feature values (NaN cells).
[<RequireQualifiedAccess>]
type MissingPolicy =
    /// A missing value is an error that names its row and column (the default).
    | Error
    /// Rows with a missing value are left out (by the CSV reader, and before fitting).
    | Drop
    /// Filled with the column's mean over the training rows (text columns: the most frequent category).
    | Mean
    /// Filled with the column's median over the training rows (text columns: the most frequent category).
    | Median
    /// Filled with the column's most frequent value over the training rows (the smallest on a tie).
    | MostFrequent

/// How a data set's target came to be classes or numbers, so that its summary
/// (`TargetRule.explain`) can say why.
[<RequireQualifiedAccess>]
type TargetReading =
    /// By the target rule (the CSV reader under `TargetKind.Auto`): text holds classes, numbers
    /// are classes or values by `TargetRule.ofNumbers`.
    | Rule
    /// By the target rule's clause for quoted numbers (the CSV reader under `TargetKind.Auto`):
    /// every target cell is a number in quotes, in a file that does not quote every field, so the
    /// cells are class names as written ("007" and "7" are two classes).
    | QuotedNumbers
    /// Set by the caller: `TargetKind.Classification` or `Regression`, a model's class names, or
    /// data made in memory as classes or as values (and the embedded data sets).
    | Given

/// A column whose missing cells made the CSV reader leave rows out (`DroppedRows`).
type DroppedColumn =
    { /// The column's name, as the file's header spells it.
      Name: string
      /// How many of the rows left out have a missing cell in this column (a row with missing cells
      /// in two such columns is counted under both).
      Rows: int
      /// True for the target column (a missing target leaves its row out under every policy but
      /// `MissingPolicy.Error`); false for a feature column (only under `MissingPolicy.Drop`).
      IsTarget: bool }

/// The rows the CSV reader left out of a data set for a missing value, by its missing-value policy
/// (`CsvOptions.Missing`): under `MissingPolicy.Drop` every row with a missing cell in a column it
/// reads (a feature, or the target); under `Mean`, `Median` and `MostFrequent` every row whose
/// target is missing. A missing cell is the reader's (an empty field, or a marker not in quotes, or
/// in quotes in a file that quotes every field); the counts come from the reading itself.
type DroppedRows =
    { /// How many data rows of the file were left out (0: none).
      Count: int
      /// The columns whose missing cells left the rows out, each with how many of them miss a value
      /// there: the feature columns in the data set's order, then the target. A row counts under
      /// every such column it misses (so the counts may sum to more than `Count`); only columns
      /// with at least one such row are listed.
      Columns: DroppedColumn[] }
    /// No row left out (data from memory, or a read that dropped none).
    static member None = { Count = 0; Columns = [||] }

/// A table of samples: numeric features (n x d, one sample per row) with their column names,
/// and the target column's name and values. A text feature column holds category codes: cell
/// k means `Categories.[j].[k]`; a missing cell is NaN.
type Dataset =
    { /// n x d, one sample per row.
      Features: Matrix<float>
      /// The d feature columns' names.
      FeatureNames: string[]
      /// The target column's name.
      TargetName: string
      /// The target of each sample.
      Target: Target
      /// How the target's kind was decided (for `TargetRule.explain`).
      TargetReading: TargetReading
      /// For each feature column, its categories when it is a text column (the cells are codes
      /// 0 .. k-1 into them), empty for a numeric column.
      Categories: string[][]
      /// What a pipeline fitted on these data does with missing (NaN) feature cells.
      Missing: MissingPolicy
      /// The file line of each row when the data were read from a file or text (so messages say
      /// "line N"); empty for data from memory (messages then say "row index i", counting from 0).
      Lines: int[]
      /// Warnings about the reading that are not errors (e.g. a header whose every field is a
      /// number: probably a file without a header); shown by the data summary.
      Warnings: string[]
      /// The rows the CSV reader left out for a missing value, and the columns whose missing cells
      /// did (`DroppedRows`); `DroppedRows.None` for data from memory. Like `Lines` and `Warnings`
      /// it describes the reading: data derived from read data (`selectRows`, `selectFeatures`, a
      /// split) keep it as it is.
      Dropped: DroppedRows }
    /// n, the number of samples.
    member this.SampleCount = this.Features.RowCount
    /// Where row i is, for messages: "line N" (the file's line) for data read from a file, else
    /// "row index i" (counting from 0, as C# and F# arrays do).
    member this.RowPlace(i: int) =
        if this.Lines.Length = this.Features.RowCount && i >= 0 && i < this.Lines.Length then sprintf "line %d" this.Lines.[i]
        else sprintf "row index %d" i
    /// d, the number of features.
    member this.FeatureCount = this.Features.ColumnCount
    /// True when the target is a class.
    member this.IsClassification = match this.Target with Target.Classes _ -> true | Target.Values _ -> false
    /// The class names (empty for a regression target).
    member this.ClassNames = match this.Target with Target.Classes (_, names) -> Array.copy names | Target.Values _ -> [||]
    /// The class indices (raises InvalidOperationException for a regression target).
    member this.Labels =
        match this.Target with
        | Target.Classes (labels, _) -> Array.copy labels
        | Target.Values _ -> invalidOp (sprintf "The target %s is numeric (regression); it has no class labels." this.TargetName)
    /// The regression targets as an n x 1 matrix, or the one-hot class matrix (n x classes).
    member this.TargetMatrix =
        match this.Target with
        | Target.Values v -> Matrix<float>.Build.Dense(v.Length, 1, fun i _ -> v.[i])
        | Target.Classes (labels, names) -> Mat.oneHot names.Length labels

/// Operations on data sets that keep them whole (row selection, conversion).
module Dataset =

    /// The categories of feature column j (empty for a numeric column).
    let categoriesOf (data: Dataset) (j: int) : string[] =
        if isNull data.Categories || j >= data.Categories.Length || isNull data.Categories.[j] then [||] else data.Categories.[j]

    /// The category code of text cell (i, j), an index into `categoriesOf data j`. Raises
    /// ArgumentException (ParamName "data") naming the row and the column when the cell is not
    /// one of the codes 0 .. k-1 (a negative, fractional or too large number).
    let categoryIndex (data: Dataset) (i: int) (j: int) : int =
        let k = (categoriesOf data j).Length
        let v = data.Features.[i, j]
        if not (v >= 0.0 && v < float k && Math.Round v = v) then
            let name = if j < data.FeatureNames.Length then data.FeatureNames.[j] else string j
            Check.fail "data" (sprintf "At %s, column '%s': the text column's cell holds %s, but its cells must be category codes 0 .. %d (an index into its %d categories) or NaN for a missing value." (data.RowPlace i) name (string v) (k - 1) k)
        int v

    /// True when feature column j is a text column (its cells are category codes).
    let isText (data: Dataset) (j: int) = (categoriesOf data j).Length > 0

    /// A copy with another missing-value policy.
    let withMissing (policy: MissingPolicy) (data: Dataset) : Dataset = { data with Missing = policy }

    /// The first missing (NaN) feature cell as (row, column), if any.
    let firstMissing (data: Dataset) : (int * int) option =
        let x = data.Features
        let mutable found = None
        let mutable i = 0
        while found.IsNone && i < x.RowCount do
            for j in 0 .. x.ColumnCount - 1 do
                if found.IsNone && Double.IsNaN x.[i, j] then found <- Some (i, j)
            i <- i + 1
        found


    /// The rows whose indices are given, in that order, as a new data set.
    let selectRows (indices: int[]) (data: Dataset) : Dataset =
        Check.notNull "indices" indices
        indices |> Array.iteri (fun k i ->
            if i < 0 || i >= data.SampleCount then
                Check.fail "indices" (sprintf "indices[%d] = %d is outside 0 .. %d (the data set has %d rows)." k i (data.SampleCount - 1) data.SampleCount))
        { data with
            Features = Mat.selectRows indices data.Features
            Target =
                match data.Target with
                // A data set read for prediction has no target values: its rows keep none.
                | Target.Values v when v.Length = 0 -> Target.Values [||]
                | Target.Classes (labels, names) when labels.Length = 0 -> Target.Classes ([||], Array.copy names)
                | Target.Values v -> Target.Values (indices |> Array.map (fun i -> v.[i]))
                | Target.Classes (labels, names) -> Target.Classes (indices |> Array.map (fun i -> labels.[i]), Array.copy names)
            Lines = if data.Lines.Length = data.SampleCount then indices |> Array.map (fun i -> data.Lines.[i]) else [||] }

    /// The one rule by which a name means a column, the CSV reader's and a trained model's alike:
    /// the column spelled exactly so, else the one column spelled so after Unicode normalisation
    /// (NFC, as class names and categories are compared: 'café' with é or with e + U+0301), else the
    /// one column spelled so ignoring case (after NFC). `columnLookup columns` (built once for many
    /// names) gives Ok index, or Error with the columns the name matches ignoring case: none (no
    /// such column) or two or more (ambiguous: 'ab' with 'Ab' and 'aB'; never a guess).
    let columnLookup (columns: string[]) : string -> Result<int, string[]> =
        Check.notNull "columns" columns
        let exact = Collections.Generic.Dictionary<string, int>(StringComparer.Ordinal)
        // -1 for a spelling that two or more columns share after NFC, or ignoring case, such as 'A' and 'a'.
        let normal = Collections.Generic.Dictionary<string, int>(StringComparer.Ordinal)
        let loose = Collections.Generic.Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
        columns |> Array.iteri (fun j h ->
            exact.TryAdd(h, j) |> ignore
            let key = Check.nfc h
            if not (normal.TryAdd(key, j)) then normal.[key] <- -1
            if not (loose.TryAdd(key, j)) then loose.[key] <- -1)
        fun name ->
            match exact.TryGetValue name with
            | true, j -> Ok j
            | _ ->
                let key = Check.nfc name
                match normal.TryGetValue key with
                | true, j when j >= 0 -> Ok j
                | true, _ -> Error (columns |> Array.filter (fun h -> String.Equals(Check.nfc h, key, StringComparison.Ordinal)))
                | _ ->
                    match loose.TryGetValue key with
                    | true, j when j >= 0 -> Ok j
                    | true, _ -> Error (columns |> Array.filter (fun h -> String.Equals(Check.nfc h, key, StringComparison.OrdinalIgnoreCase)))
                    | _ -> Error [||]

    /// The named feature columns only, in the given order (by `columnLookup`: exact names, then
    /// ignoring case when only one column matches so; a name that matches several ignoring case and
    /// none exactly is refused; a null name raises ArgumentException, ParamName "names", naming its
    /// index).
    let selectFeatures (names: string[]) (data: Dataset) : Dataset =
        Check.notNull "names" names
        if names.Length = 0 then Check.fail "names" "Select at least one feature column."
        let lookup = columnLookup data.FeatureNames
        let cols =
            names |> Array.mapi (fun k n ->
                if isNull n then Check.fail "names" (sprintf "names[%d] is null; give the name of a feature column." k)
                match lookup n with
                | Ok j -> j
                | Error [||] -> Check.fail "names" (sprintf "There is no feature column '%s'; the feature columns are %s." n (String.Join(", ", data.FeatureNames)))
                | Error several ->
                    Check.fail "names" (sprintf "The name '%s' matches no feature column exactly and %d when case is ignored (%s); write it exactly as the column is named." n several.Length (String.Join(", ", several))))
        cols |> Array.iteri (fun k j ->
            match Array.tryFindIndex ((=) j) cols with
            | Some first when first < k ->
                Check.fail "names" (sprintf "names[%d] = '%s' selects the column '%s' again (names[%d]); select each feature column once." k names.[k] data.FeatureNames.[j] first)
            | _ -> ())
        { data with
            Features = Mat.init data.SampleCount cols.Length (fun i j -> data.Features.[i, cols.[j]])
            FeatureNames = cols |> Array.map (fun j -> data.FeatureNames.[j])
            Categories = cols |> Array.map (fun j -> Array.copy (categoriesOf data j)) }

    /// The rows without a missing (NaN) feature cell, as a new data set.
    let dropMissing (data: Dataset) : Dataset =
        let x = data.Features
        let keep = Array.init x.RowCount id |> Array.filter (fun i -> not (Seq.exists (fun j -> Double.IsNaN x.[i, j]) (seq { 0 .. x.ColumnCount - 1 })))
        if keep.Length = x.RowCount then data else selectRows keep data

    let private checkFeatures (features: float[,]) (featureNames: string[]) =
        Check.notNull "features" features
        let n, d = Array2D.length1 features, Array2D.length2 features
        if n = 0 || d = 0 then Check.fail "features" (sprintf "features has shape %dx%d; a data set needs at least one row and one column." n d)
        for i in 0 .. n - 1 do
            for j in 0 .. d - 1 do
                if Double.IsInfinity features.[i, j] then
                    Check.fail "features" (sprintf "features holds %s at row index %d, column %d; values must be finite (NaN marks a missing value)." (string features.[i, j]) i j)
        let names =
            if isNull featureNames then Array.init d (fun j -> sprintf "x%d" (j + 1))
            else
                if featureNames.Length <> d then
                    Check.fail "featureNames" (sprintf "featureNames holds %s but features has %s; give one name per column." (Check.counted featureNames.Length "name" "names") (Check.counted d "column" "columns"))
                featureNames |> Array.iteri (fun j name ->
                    if isNull name then Check.fail "featureNames" (sprintf "featureNames[%d] is null; every column needs a name." j)
                    if String.IsNullOrWhiteSpace name then Check.fail "featureNames" (sprintf "featureNames[%d] is empty; every column needs a name." j)
                    Check.unicodeText "featureNames" (sprintf "featureNames[%d]" j) name)
                match featureNames |> Array.countBy id |> Array.tryFind (fun (_, c) -> c > 1) with
                | Some (name, _) -> Check.fail "featureNames" (sprintf "The feature name '%s' appears more than once." name)
                | None -> Array.copy featureNames
        n, names, Matrix<float>.Build.DenseOfArray(Array2D.copy features)

    let private build targetName (names: string[]) x target =
        Check.unicodeText "targetName" "targetName" targetName
        if not (String.IsNullOrEmpty targetName) && Array.contains targetName names then
            Check.fail "targetName" (sprintf "The target's name '%s' is also a feature name; the target and the features need distinct names." targetName)
        if String.IsNullOrEmpty targetName && Array.contains "target" names then
            Check.fail "targetName" "The target's default name 'target' is also a feature name; give the target another name (targetName)."
        { Features = x; FeatureNames = names; TargetName = (if String.IsNullOrEmpty targetName then "target" else targetName)
          Target = target; TargetReading = TargetReading.Given; Categories = Array.create (Array.length names) [||]; Missing = MissingPolicy.Error; Lines = [||]; Warnings = [||]; Dropped = DroppedRows.None }

    let private checkLength (name: string) (n: int) (length: int) =
        if length <> n then Check.fail name (sprintf "%s has %d entries but features has %d rows; it needs one per row." name length n)

    /// A classification data set from numbers in memory: features (n x d; NaN marks a missing
    /// value), the class name of each row (compared after Unicode normalisation NFC; classes in
    /// `Csv.classOrder`-like order: numerically when every name is a number, else ordinal), the
    /// feature names (null: x1 .. xd; a null, blank or repeated name raises ArgumentException,
    /// ParamName "featureNames", naming its index or the name) and the target's name (null or
    /// empty: "target").
    let ofClassNames (featureNames: string[]) (targetName: string) (features: float[,]) (labels: string[]) : Dataset =
        let n, names, x = checkFeatures features featureNames
        Check.notNull "labels" labels
        checkLength "labels" n labels.Length
        let texts = labels |> Array.mapi (fun i s ->
            if String.IsNullOrWhiteSpace s then Check.fail "labels" (sprintf "labels[%d] is empty; every row needs a class name." i)
            Check.unicodeText "labels" (sprintf "labels[%d]" i) s
            Check.nfc (s.Trim()))
        let isNumber (s: string) = match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with | true, v -> Double.IsFinite v | _ -> false
        let distinct = Array.distinct texts
        let order =
            if distinct |> Array.forall isNumber then
                distinct |> Array.sortWith (fun a b ->
                    let c = compare (Double.Parse(a, CultureInfo.InvariantCulture)) (Double.Parse(b, CultureInfo.InvariantCulture))
                    if c <> 0 then c else String.CompareOrdinal(a, b))
            else distinct |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))
        let index = order |> Array.mapi (fun k c -> c, k) |> dict
        build targetName names x (Target.Classes (texts |> Array.map (fun t -> index.[t]), order))

    /// A classification data set with integer class labels: the classes are the distinct labels,
    /// in increasing order, named by their decimal text ("0", "1", ...).
    let ofClassLabels (featureNames: string[]) (targetName: string) (features: float[,]) (labels: int[]) : Dataset =
        Check.notNull "labels" labels
        ofClassNames featureNames targetName features (labels |> Array.map (fun l -> l.ToString(CultureInfo.InvariantCulture)))

    /// A regression data set from numbers in memory: features (n x d; NaN marks a missing value)
    /// and one finite target value per row.
    let ofValues (featureNames: string[]) (targetName: string) (features: float[,]) (values: float[]) : Dataset =
        let n, names, x = checkFeatures features featureNames
        Check.notNull "values" values
        checkLength "values" n values.Length
        values |> Array.iteri (fun i v -> if not (Double.IsFinite v) then Check.fail "values" (sprintf "values[%d] is %s; every target value must be finite." i (string v)))
        build targetName names x (Target.Values (Array.copy values))

    let private rowsOf (rows: seq<'T>) (features: 'T -> float[]) (featureNames: string[]) =
        Check.notNull "rows" rows
        Check.notNull "features" (box features)
        Check.notNull "featureNames" featureNames
        let items = Array.ofSeq rows
        if items.Length = 0 then Check.fail "rows" "rows is empty; a data set needs at least one row."
        let d = featureNames.Length
        let x = Array2D.zeroCreate items.Length d
        items |> Array.iteri (fun i item ->
            let v = features item
            if isNull v then Check.fail "features" (sprintf "The features of row index %d are null." i)
            if v.Length <> d then Check.fail "features" (sprintf "Row index %d has %d features but there are %d feature names." i v.Length d)
            for j in 0 .. d - 1 do x.[i, j] <- v.[j])
        items, x

    /// A classification data set from objects (as ML.NET's LoadFromEnumerable): `features` gives
    /// each row's feature values (as many as `featureNames`), `label` its class name.
    let ofSeqClasses (featureNames: string[]) (targetName: string) (features: 'T -> float[]) (label: 'T -> string) (rows: seq<'T>) : Dataset =
        Check.notNull "label" (box label)
        let items, x = rowsOf rows features featureNames
        ofClassNames featureNames targetName x (items |> Array.map label)

    /// A regression data set from objects: `features` gives each row's feature values, `value` its target.
    let ofSeqValues (featureNames: string[]) (targetName: string) (features: 'T -> float[]) (value: 'T -> float) (rows: seq<'T>) : Dataset =
        Check.notNull "value" (box value)
        let items, x = rowsOf rows features featureNames
        ofValues featureNames targetName x (items |> Array.map value)

    /// A classification data set as a Dataset (target name "class").
    let ofClassification (targetName: string) (data: ClassificationData) : Dataset =
        { Features = data.Features.Clone()
          FeatureNames = Array.copy data.FeatureNames
          TargetName = targetName
          Target = Target.Classes (Array.copy data.Labels, Array.copy data.ClassNames)
          TargetReading = TargetReading.Given
          Categories = Array.create data.FeatureNames.Length [||]
          Missing = MissingPolicy.Error
          Lines = [||]
          Warnings = [||]
          Dropped = DroppedRows.None }

/// The stated rule by which a column of numbers becomes classes: a target whose values are all
/// integers, with at most `maxClasses` distinct values that each occur at least `minCount`
/// times, holds class labels (0/1/2 labels); any other column of numbers (fractions, or a count
/// such as a number of visits with dozens of values or rare values) is a regression target. A
/// column with an integer of magnitude `maxExactInteger` or more is a regression target too: a
/// double cannot hold every integer from 2^53 on, so distinct labels there could read as one
/// number. A column with text in it holds classes. The CSV reader applies it when TargetKind is
/// Auto.
module TargetRule =

    /// At most this many distinct integer values make classes (20).
    let maxClasses = 20

    /// Each integer value must occur at least this often to make classes (3).
    let minCount = 3

    /// Integers of this magnitude or more (9e15, just below 2^53 = 9007199254740992) are not read
    /// as class labels: a double cannot hold every integer beyond 2^53, so two distinct labels
    /// there may read as one number.
    let maxExactInteger = 9.0e15

    /// Whether numbers are class labels by the rule, and why, in one phrase.
    let ofNumbers (values: float[]) : bool * string =
        if not (values |> Array.forall (fun v -> Double.IsFinite v && Math.Round v = v)) then
            false, "the values are numbers that are not all integers"
        elif values |> Array.exists (fun v -> abs v >= maxExactInteger) then
            false, "the values are integers, but some are 9e15 or more in magnitude (from 2^53, about 9.007e15, a double cannot hold every integer, so distinct labels could read as one number)"
        else
            let counts = values |> Array.countBy id
            let fewest = if counts.Length = 0 then 0 else counts |> Array.map snd |> Array.min
            if counts.Length < 2 then false, "the values are all the same number"
            elif counts.Length > maxClasses then false, sprintf "the integer values take %d distinct values, more than %d" counts.Length maxClasses
            elif fewest < minCount then false, sprintf "some integer value occurs only %s, fewer than %d" (Check.counted fewest "time" "times") minCount
            else true, sprintf "the values are %d distinct integers, each occurring at least %d times" counts.Length minCount

    /// The task a data set's target means, and why (for summaries): "classification (...)" or
    /// "regression (...)". A target whose kind was set against the rule says so; class names that
    /// are numbers kept as written (quoted in the file, or given so) are counted as written, never
    /// merged by value.
    let explain (data: Dataset) : string =
        let isNumber (s: string) = match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with | true, v -> Double.IsFinite v | _ -> false
        let valueOf (s: string) = let v = Double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture) in if v = 0.0 then 0.0 else v
        // The rule's reading of numbers as classes names each class by its value's shortest text ("1.0" is the
        // class "1"), so class names in that spelling are one per value, and the rule can be applied to them.
        let isValueName (s: string) = valueOf s |> fun v -> v.ToString("R", CultureInfo.InvariantCulture) = s
        match data.Target with
        | Target.Values v ->
            let classes, why = ofNumbers v
            if classes then sprintf "regression (set explicitly; by the rule it would be classes: %s)" why
            else sprintf "regression: %s" why
        | Target.Classes (_, names) when data.TargetReading = TargetReading.QuotedNumbers ->
            sprintf "classification: every target cell is a number in quotes, so each is a class name as written (%d classes)" names.Length
        | Target.Classes (labels, names) ->
            if names |> Array.forall isNumber then
                if names |> Array.forall isValueName then
                    let values = labels |> Array.map (fun l -> valueOf names.[l])
                    let classes, why = ofNumbers values
                    if classes then sprintf "classification: %s" why
                    else sprintf "classification (set explicitly; by the rule it would be regression: %s)" why
                else sprintf "classification (set explicitly; the class names are numbers kept as written, %d classes)" names.Length
            else sprintf "classification: the column holds text (%d classes)" names.Length

/// The data sets embedded in the library (the CSV files of Data/, origins in Data/README.md):
/// commute (the notes' linear-regression example), Iris and digits.
module Datasets =

    let private readResource (name: string) =
        let asm = typeof<ClassificationData>.Assembly
        use stream = asm.GetManifestResourceStream("Functional.NN.Data." + name)
        if isNull stream then invalidOp (sprintf "The embedded data set %s is missing from the assembly." name)
        use reader = new StreamReader(stream)
        reader.ReadToEnd()

    /// The lines of an embedded CSV: header and rows split on commas.
    let internal embeddedCsv (name: string) : string[] * string[][] =
        let lines =
            (readResource name).Split('\n')
            |> Array.map (fun l -> l.Trim())
            |> Array.filter (fun l -> l <> "")
        lines.[0].Split(','), lines.[1..] |> Array.map (fun l -> l.Split(','))

    /// A classification set from an embedded CSV whose last column is the class.
    /// Classes are numbered in order of first appearance.
    let internal classification (name: string) : ClassificationData =
        let header, rows = embeddedCsv name
        let d = header.Length - 1
        let classes = rows |> Array.map (fun r -> r.[d]) |> Array.distinct
        let index = classes |> Array.mapi (fun i c -> c, i) |> dict
        { Features = Mat.init rows.Length d (fun i j -> Double.Parse(rows.[i].[j], CultureInfo.InvariantCulture))
          Labels = rows |> Array.map (fun r -> index.[r.[d]])
          ClassNames = classes
          FeatureNames = header.[0 .. d - 1] }

    /// Fisher's Iris data: 150 samples, 4 measurements in cm, classes setosa, versicolor, virginica.
    let iris () = classification "iris.csv"

    /// The notes' commute example (ch. 1): features distance_km and weekday (1 on a weekday, 0 at
    /// the weekend) as a 5 x 2 matrix, the commute time in minutes as a 5 x 1 target, and the
    /// names of the two features.
    let commute () : Matrix<float> * Matrix<float> * string[] =
        let header, rows = embeddedCsv "commute.csv"
        let value (r: string[]) j = Double.Parse(r.[j], CultureInfo.InvariantCulture)
        Mat.init rows.Length 2 (fun i j -> value rows.[i] j),
        Mat.init rows.Length 1 (fun i _ -> value rows.[i] 2),
        header.[0 .. 1]

    /// The 8x8 handwritten digits (UCI, the test part that scikit-learn ships as load_digits):
    /// 1797 samples, 64 pixel intensities 0..16 (p0..p63, row by row), classes "0" .. "9".
    let digits () = classification "digits.csv"

    /// The names `load` accepts.
    let names = [| "commute"; "iris"; "digits" |]

    /// An embedded data set by name ("commute", "iris" or "digits", in any case) as a Dataset:
    /// commute is a regression on commute_min, iris a classification of species, digits of digit.
    /// Raises ArgumentException (ParamName "name") for any other name.
    let load (name: string) : Dataset =
        match (if isNull name then "" else name.Trim().ToLowerInvariant()) with
        | "iris" -> Dataset.ofClassification "species" (iris ())
        | "digits" -> Dataset.ofClassification "digit" (digits ())
        | "commute" ->
            let header, _ = embeddedCsv "commute.csv"
            let x, y, featureNames = commute ()
            { Features = x; FeatureNames = featureNames; TargetName = header.[2]; Target = Target.Values (y.Column(0).ToArray())
              TargetReading = TargetReading.Given; Categories = Array.create featureNames.Length [||]; Missing = MissingPolicy.Error; Lines = [||]; Warnings = [||]; Dropped = DroppedRows.None }
        | _ -> Check.fail "name" (sprintf "There is no embedded data set called '%s'; the embedded data sets are %s." name (String.Join(", ", names)))
