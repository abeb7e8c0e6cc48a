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

/// A table of samples: numeric features (n x d, one sample per row) with their column names,
/// and the target column's name and values.
type Dataset =
    { /// n x d, one sample per row.
      Features: Matrix<float>
      /// The d feature columns' names.
      FeatureNames: string[]
      /// The target column's name.
      TargetName: string
      /// The target of each sample.
      Target: Target }
    /// n, the number of samples.
    member this.SampleCount = this.Features.RowCount
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
                | Target.Values v -> Target.Values (indices |> Array.map (fun i -> v.[i]))
                | Target.Classes (labels, names) -> Target.Classes (indices |> Array.map (fun i -> labels.[i]), Array.copy names) }

    /// The named feature columns only, in the given order (exact names, then ignoring case).
    let selectFeatures (names: string[]) (data: Dataset) : Dataset =
        Check.notNull "names" names
        if names.Length = 0 then Check.fail "names" "Select at least one feature column."
        let cols =
            names |> Array.map (fun n ->
                match Array.tryFindIndex ((=) n) data.FeatureNames with
                | Some j -> j
                | None ->
                    match Array.tryFindIndex (fun (f: string) -> String.Equals(f, n, StringComparison.OrdinalIgnoreCase)) data.FeatureNames with
                    | Some j -> j
                    | None -> Check.fail "names" (sprintf "There is no feature column '%s'; the feature columns are %s." n (String.Join(", ", data.FeatureNames))))
        { data with
            Features = Mat.init data.SampleCount cols.Length (fun i j -> data.Features.[i, cols.[j]])
            FeatureNames = cols |> Array.map (fun j -> data.FeatureNames.[j]) }

    /// A classification data set as a Dataset (target name "class").
    let ofClassification (targetName: string) (data: ClassificationData) : Dataset =
        { Features = data.Features.Clone()
          FeatureNames = Array.copy data.FeatureNames
          TargetName = targetName
          Target = Target.Classes (Array.copy data.Labels, Array.copy data.ClassNames) }

/// The data sets embedded in the library (shared/data of the repository; origins in
/// Data/README.md): commute (the notes' linear-regression example), Iris and digits.
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
            { Features = x; FeatureNames = featureNames; TargetName = header.[2]; Target = Target.Values (y.Column(0).ToArray()) }
        | _ -> Check.fail "name" (sprintf "There is no embedded data set called '%s'; the embedded data sets are %s." name (String.Join(", ", names)))
