/// Column names as the reader, a trained model and fnn resolve them (one rule: exact, then the one
/// column spelled so ignoring case), the messages that name where an ambiguous name came from, the
/// header advice for a pandas file with a saved index, and files written so that they read back.
module Functional.NN.Tests.ColumnNameTests

open System
open System.IO
open Expecto
open FunctionalNN

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "fnn-names-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private fnn (dir: string) (args: string list) = Repo.runFnn dir args (TimeSpan.FromSeconds 120.0)

let private dataError (f: unit -> unit) =
    match Expect.throwsC f id with
    | :? DataFormatException as e -> e.Message
    | e -> failtestf "expected DataFormatException, got %O" e

/// The file of the review: 'ab' matches 'Ab' and 'aB' ignoring case, neither exactly.
let private amb = "Ab,aB,y\n1,2,3\n2,3,4\n3,5,6\n4,1,2\n5,0,1\n"

let private small = TrainingOptions(MaxEpochs = 5)

[<Tests>]
let tests =
    testSequenced <| testList "Column names" [
        test "C#: an ambiguous name is named by the parameter it came from (target, features, format.TextColumns), never the F# option" {
            let m = dataError (fun () -> Dataset.ParseCsv("Ab,aB,y\n1,2,3\n", target = "ab") |> ignore)
            Expect.stringStarts m "target: the column name 'ab' matches no column exactly and 2 columns when case is ignored (Ab, aB)" m
            let m = dataError (fun () -> Dataset.ParseCsv(amb, features = [| "ab" |]) |> ignore)
            Expect.stringStarts m "features: the column name 'ab'" m
            let m = dataError (fun () -> Dataset.ParseCsv(amb, format = CsvFormat(TextColumns = [| "ab" |])) |> ignore)
            Expect.stringStarts m "format.TextColumns: the column name 'ab'" m
            let m = dataError (fun () -> Dataset.LoadCsvFeatures((let d = tempDir () in let p = Path.Combine(d, "amb.csv") in File.WriteAllText(p, amb); p), [| "ab" |]) |> ignore)
            Expect.stringStarts m "features: the column name 'ab'" m
            // A name no column has is named by its parameter too (the review's low item: it was "There is no column 'x'").
            let m = dataError (fun () -> Dataset.ParseCsv(amb, features = [| "zz" |]) |> ignore)
            Expect.stringStarts m "features: the column name 'zz' matches no column; the columns are Ab, aB, y." m
            let m = dataError (fun () -> Dataset.LoadCsvFeatures((let d = tempDir () in let p = Path.Combine(d, "amb.csv") in File.WriteAllText(p, amb); p), [| "Ab"; "zz" |]) |> ignore)
            Expect.stringStarts m "features: the column name 'zz' matches no column" m
            // The F# reader keeps its own option names.
            match Expect.throwsC (fun () -> Functional.NN.Csv.loadText (Functional.NN.CsvOptions.Default.WithTarget "ab") "Ab,aB,y\n1,2,3\n" |> ignore) id with
            | :? Functional.NN.DataFormatException as e -> Expect.stringStarts e.Message "Target: the column name 'ab'" e.Message
            | e -> failtestf "expected the core's DataFormatException, got %O" e
        }
        test "C#: a name from a model is the model's feature (LoadCsvForModel, LoadCsvForPrediction)" {
            let dir = tempDir ()
            try
                let model = Pipeline.Fit(Dataset.ParseCsv("ab,y\n1,3\n2,4\n3,6\n4,2\n5,1\n"), PipelineOptions(Training = small)).Model
                let path = Path.Combine(dir, "amb.csv")
                File.WriteAllText(path, amb)
                for load in [ (fun () -> Dataset.LoadCsvForModel(path, model) |> ignore); (fun () -> Dataset.LoadCsvForPrediction(path, model) |> ignore) ] do
                    let m = dataError load
                    Expect.stringStarts m "the model's feature 'ab' matches no column exactly and 2 columns when case is ignored (Ab, aB)" m
                // A file without the model's column at all.
                let none = Path.Combine(dir, "none.csv")
                File.WriteAllText(none, "cd,y\n1,2\n")
                for load in [ (fun () -> Dataset.LoadCsvForModel(none, model) |> ignore); (fun () -> Dataset.LoadCsvForPrediction(none, model) |> ignore) ] do
                    let m = dataError load
                    Expect.stringStarts m "the model's feature 'ab' matches no column; the columns are cd, y." m
            finally Directory.Delete(dir, true)
        }
        test "fnn: an ambiguous --target is named --target; a model's feature is the model's" {
            let dir = tempDir ()
            try
                File.WriteAllText(Path.Combine(dir, "amb.csv"), amb)
                for command in [ "linear"; "train" ] do
                    let code, _, err = fnn dir [ command; "--data"; "amb.csv"; "--target"; "ab" ]
                    Expect.equal code 1 err
                    Expect.stringStarts (err.Trim()) "fnn: the data cannot be read: --target: the column name 'ab' matches no column exactly and 2 columns when case is ignored (Ab, aB)" err
                File.WriteAllText(Path.Combine(dir, "ab.csv"), "ab,y\n1,3\n2,4\n3,6\n4,2\n5,1\n")
                let code, _, err = fnn dir [ "train"; "--data"; "ab.csv"; "--epochs"; "2"; "--quiet"; "--out"; "ab.fnn" ]
                Expect.equal code 0 err
                for command in [ "predict"; "evaluate" ] do
                    let code, _, err = fnn dir [ command; "--model"; "ab.fnn"; "--data"; "amb.csv" ]
                    Expect.equal code 1 err
                    Expect.stringStarts (err.Trim()) "fnn: the data cannot be read: the model's feature 'ab' matches no column exactly" err
            finally Directory.Delete(dir, true)
        }
        test "a trained pipeline finds its features as the reader does: exactly, else the one column spelled so ignoring case" {
            let dir = tempDir ()
            try
                let rows = "5.1,3.5,setosa\n4.9,3.0,setosa\n7.0,3.2,versicolor\n6.4,3.2,versicolor\n6.3,3.3,virginica\n5.8,2.7,virginica\n"
                File.WriteAllText(Path.Combine(dir, "lower.csv"), "sepal_length,sepal_width,species\n" + rows)
                File.WriteAllText(Path.Combine(dir, "upper.csv"), "SEPAL_LENGTH,SEPAL_WIDTH,SPECIES\n" + rows)
                let code, _, err = fnn dir [ "train"; "--data"; "lower.csv"; "--epochs"; "3"; "--quiet"; "--out"; "m.fnn" ]
                Expect.equal code 0 err
                let code, lower, err = fnn dir [ "predict"; "--model"; "m.fnn"; "--data"; "lower.csv" ]
                Expect.equal code 0 err
                let code, upper, err = fnn dir [ "predict"; "--model"; "m.fnn"; "--data"; "upper.csv" ]
                Expect.equal code 0 (sprintf "the upper-case header is read (stderr: %s)" err)
                Expect.equal upper lower "the same predictions, written under the model's names"
                // The facade's pipeline on a data set whose names differ in case only.
                let model = Pipeline.Load(Path.Combine(dir, "m.fnn"))
                let p = model.PredictProbabilities(Dataset.LoadCsv(Path.Combine(dir, "upper.csv")))
                Expect.equal p (model.PredictProbabilities(Dataset.LoadCsv(Path.Combine(dir, "lower.csv")))) "the same probabilities"
                // Two columns spelled so ignoring case, none exactly: an error naming both.
                let ab = Pipeline.Fit(Dataset.ParseCsv("ab,y\n1,3\n2,4\n3,6\n4,2\n5,1\n"), PipelineOptions(Training = small)).Model
                match Expect.throwsC (fun () -> ab.PredictValues(Dataset.ParseCsv(amb)) |> ignore) id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "data" e.Message
                    Expect.stringContains e.Message "The model's feature 'ab' matches no column of the data exactly and 2 columns when case is ignored (Ab, aB)" e.Message
                | e -> failtestf "expected ArgumentException, got %O" e
            finally Directory.Delete(dir, true)
        }
        test "a header ',0,1,2' (pandas' to_csv of an unnamed DataFrame) gets the saved-index advice first, not --no-header" {
            let text = ",0,1,2\n0,1.5,2.5,a\n1,2.5,3.5,b\n2,1.0,0.5,a\n3,2.0,1.5,b\n"
            let m =
                match Expect.throwsC (fun () -> Functional.NN.Csv.parse text |> ignore) id with
                | :? Functional.NN.DataFormatException as e -> e.Message
                | e -> failtestf "expected DataFormatException, got %O" e
            Expect.stringContains m "saved row index" m
            let index, header = m.IndexOf "index=False", m.IndexOf "HasHeader = false"
            Expect.isTrue (index >= 0 && (header < 0 || index < header)) (sprintf "index=False comes first: %s" m)
            let dir = tempDir ()
            try
                File.WriteAllText(Path.Combine(dir, "pdidx.csv"), text)
                let code, _, err = fnn dir [ "train"; "--data"; "pdidx.csv" ]
                Expect.equal code 1 err
                Expect.stringStarts (err.Trim()) "fnn: the data cannot be read: Line 1 (the header): column 1 has no name. An unnamed first column is most likely a saved row index" err
            finally Directory.Delete(dir, true)
            // A header of numbers without an empty first name keeps the --no-header advice.
            match Expect.throwsC (fun () -> Functional.NN.Csv.parse "1,,2\n3,4,5\n" |> ignore) id with
            | :? Functional.NN.DataFormatException as e -> Expect.stringContains e.Message "HasHeader = false (CLI: --no-header)" e.Message
            | e -> failtestf "expected DataFormatException, got %O" e
        }
        test "macroF1 of no scores, or of classes none of which has scores, is an ArgumentException naming scores" {
            for scores in [ [||]; [| ({ ClassName = "a"; Precision = nan; Recall = nan; F1 = nan; Support = 0 } : Functional.NN.ClassScores) |] ] do
                match Expect.throwsC (fun () -> Functional.NN.ClassificationMetrics.macroF1 scores |> ignore) id with
                | :? ArgumentException as e -> Expect.equal e.ParamName "scores" e.Message
                | e -> failtestf "expected ArgumentException, got %O" e
        }
        test "a one-column row of one empty field is written \"\" and reads back as a row with that field empty" {
            let text = Dataset.FormatCsv([ "a" ], [ [| "" |] :> Collections.Generic.IReadOnlyList<string>; [| "1" |]; [| "" |] ])
            Expect.equal text "a\n\"\"\n1\n\"\"\n" "the empty field in quotes"
            let table = Functional.NN.Csv.parse text
            Expect.equal table.Rows [| [| "" |]; [| "1" |]; [| "" |] |] "three rows, read back"
            // A blank line is still no row; a two-column row of empty fields is written bare.
            Expect.equal (Functional.NN.Csv.parse "a\n\n1\n").Rows [| [| "1" |] |] "a blank line is skipped"
            Expect.equal (Dataset.FormatCsv([ "a"; "b" ], [ [| ""; "" |] :> Collections.Generic.IReadOnlyList<string> ])) "a,b\n,\n" "two empty fields"
            // As a data set: the empty feature is a missing value (dropped under Drop).
            let d = Dataset.ParseCsv(Dataset.FormatCsv([ "x"; "y" ], [ [| ""; "1" |] :> Collections.Generic.IReadOnlyList<string>; [| "2"; "3" |]; [| "4"; "5" |] ]), format = CsvFormat(Missing = MissingValues.Drop))
            Expect.equal d.SampleCount 2 "the row with the empty feature is dropped"
        }
        test "fnn predict: a feature named like a prediction column keeps its name; the prediction column is made unique, said on stderr" {
            let dir = tempDir ()
            try
                File.WriteAllText(Path.Combine(dir, "py.csv"), "a,predicted_y,y\n1,2,3\n2,3,5\n3,1,4\n4,3,8\n5,2,9\n")
                let code, _, err = fnn dir [ "train"; "--data"; "py.csv"; "--target"; "y"; "--epochs"; "2"; "--quiet"; "--out"; "pyp.fnn" ]
                Expect.equal code 0 err
                let code, out, err = fnn dir [ "predict"; "--model"; "pyp.fnn"; "--data"; "py.csv" ]
                Expect.equal code 0 (sprintf "predict (stderr: %s)" err)
                let lines = out.Trim().Split('\n')
                Expect.equal lines.[0] "a,predicted_y,predicted_y_1" "the header"
                Expect.equal [ for l in lines.[1..] -> l.Split(',').[1] ] [ "2"; "3"; "1"; "3"; "2" ] "the feature column as in the file"
                let errLines = err.Trim().Split('\n')
                Expect.equal errLines.Length 1 err
                Expect.stringStarts errLines.[0] "fnn: warning: " err
                Expect.stringContains errLines.[0] "'predicted_y' as 'predicted_y_1'" err
                // The written file reads back, the predictions by their new name.
                let code, _, err = fnn dir [ "predict"; "--model"; "pyp.fnn"; "--data"; "py.csv"; "--out"; "out.csv" ]
                Expect.equal code 0 err
                let back = Dataset.LoadCsv(Path.Combine(dir, "out.csv"), target = "predicted_y_1")
                Expect.equal back.SampleCount 5 "five predictions"
            finally Directory.Delete(dir, true)
        }
    ]
