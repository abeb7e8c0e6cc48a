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
