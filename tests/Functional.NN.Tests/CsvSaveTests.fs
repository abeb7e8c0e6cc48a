/// Writing data sets as CSV (Csv.ofDataset, Csv.save, C# Dataset.SaveCsv): what reads back, with
/// which options, on random data sets of both target kinds; the save's file semantics (those of
/// model files); and the reader's messages in C# words. Expected values are the data written (a
/// round trip), the documented options (docs/data-and-models.md, *Embedded data sets* and
/// *Saving is atomic*), or derived by hand in the comments.
module Functional.NN.Tests.CsvSaveTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto
open Functional.NN

/// POSIX link(2): a second name for a file, to tell a replaced file from one rewritten in place.
[<System.Runtime.InteropServices.DllImport("libc", SetLastError = true)>]
extern int private link(string existing, string added)

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "fnn-csvsave-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

/// A random data set: 1 to 25 rows; 1 to 3 numeric columns (integers, fractions, numbers from
/// 1e-300 to 1e300, subnormals; missing cells in all but the first); half the time a text column
/// whose categories include marker-like, numeric-looking and separator-holding texts; and a
/// target of class names (text, numbers, markers) or of values (half the time the integers 1, 2,
/// 3, which the target rule may read as classes).
let private randomData (rng: Random) : Dataset =
    let n = rng.Next(1, 26)
    let numeric = rng.Next(1, 4)
    let text = rng.Next 2 = 0
    let number () =
        match rng.Next 5 with
        | 0 -> float (rng.Next(-5, 6))
        | 1 -> rng.NextDouble() * 10.0 ** float (rng.Next(-300, 301))
        | 2 -> -rng.NextDouble()
        | 3 -> 5e-324 * float (rng.Next(1, 100))
        | _ -> Math.Round(rng.NextDouble() * 100.0, 2)
    let pick (pool: string[]) =
        let k = rng.Next(1, 5)
        pool |> Array.sortBy (fun _ -> rng.Next()) |> Array.take k
    let categories = pick [| "a"; "b c"; "NA"; "007"; "7"; "x,y"; "'q"; "null"; " sp"; "1.5" |]
    let width = numeric + (if text then 1 else 0)
    let x =
        Array2D.init n width (fun _ j ->
            if j > 0 && rng.NextDouble() < 0.15 then nan
            elif j < numeric then number ()
            else float (rng.Next categories.Length))
    let odd = [| "a,b"; "NA"; " s"; "q\"t"; "é" |].[rng.Next 5]
    let names = Array.init width (fun j -> if j = width - 1 && width > 1 then odd else sprintf "x%d" j)
    let targetName = if rng.Next 2 = 0 then "y" else "?"
    let data =
        if rng.Next 2 = 0 then
            let classes = pick [| "a"; "NA"; "1"; "2"; "10"; "007"; "1.0"; "x y"; "?"; "-3" |]
            Dataset.ofClassNames names targetName x (Array.init n (fun _ -> classes.[rng.Next classes.Length]))
        else
            let small = rng.Next 2 = 0
            Dataset.ofValues names targetName x (Array.init n (fun _ -> if small then float (rng.Next(1, 4)) else number ()))
    { data with Categories = Array.init width (fun j -> if text && j = numeric then Array.copy categories else [||]) }

/// The table a data set holds: its names, the text of each feature cell (a number in the "R"
/// format, a category, "" when missing), which columns with a present cell are text, and the class
/// name or value of each row.
let private expectSameTable (what: string) (expected: Dataset) (actual: Dataset) =
    let cells (d: Dataset) = Array.init d.SampleCount (fun i -> Array.init d.FeatureCount (fun j -> Csv.cellText d i j))
    let textColumns (d: Dataset) =
        Array.init d.FeatureCount (fun j ->
            Seq.init d.SampleCount (fun i -> d.Features.[i, j]) |> Seq.exists (Double.IsNaN >> not)
            && (Dataset.categoriesOf d j).Length > 0)
    let target (d: Dataset) =
        match d.Target with
        | Target.Classes (labels, names) -> Choice1Of2 (labels |> Array.map (fun l -> names.[l]))
        | Target.Values v -> Choice2Of2 v
    Expect.equal (actual.FeatureNames, actual.TargetName) (expected.FeatureNames, expected.TargetName) (what + ": the column names")
    Expect.equal (cells actual) (cells expected) (what + ": the feature cells")
    Expect.equal (textColumns actual) (textColumns expected) (what + ": the text columns")
    Expect.equal (target actual) (target expected) (what + ": the target of each row")

/// The message of the exception `f` raises.
let private messageOf (f: unit -> unit) = (Expect.throwsC f id).Message

[<Tests>]
let tests =
    testList "CSV saving" [
        test "ofDataset's text reads back as the same table with the options the docs name, on 600 random data sets of both target kinds" {
            // docs/data-and-models.md (Embedded data sets): the same table when read with TargetKind Regression for a
            // regression target and, with missing values, Missing Mean/Median/MostFrequent; with the default options when
            // no value is missing and the target is classes or numbers the rule reads as numbers. The rule's verdict on a
            // target of values is TargetRule.ofNumbers (the rule the reader applies, docs: "The target kind rule").
            let rng = Random 20240611
            let mutable cases = Map.empty
            let count key = cases <- cases.Add(key, 1 + defaultArg (cases.TryFind key) 0)
            for k in 1 .. 600 do
                let data = randomData rng
                let text = Csv.ofDataset data
                let what = sprintf "data set %d (file:\n%s)" k text
                let missing = data.Features.Enumerate() |> Seq.exists Double.IsNaN
                let fitting =
                    { CsvOptions.Default with
                        TargetKind = (if data.IsClassification then TargetKind.Auto else TargetKind.Regression)
                        Missing = (if missing then MissingPolicy.Mean else MissingPolicy.Error) }
                expectSameTable what data (Csv.loadText fitting text)
                if data.IsClassification then
                    expectSameTable (what + ", as classes") data (Csv.loadText { fitting with TargetKind = TargetKind.Classification } text)
                let ruleClasses = match data.Target with Target.Values v -> fst (TargetRule.ofNumbers v) | _ -> false
                if missing then
                    count "missing"
                    Expect.throwsT<DataFormatException> (fun () -> Csv.loadText CsvOptions.Default text |> ignore) (what + ": missing values are an error by default")
                elif ruleClasses then
                    count "values the rule reads as classes"
                    Expect.isTrue (Csv.loadText CsvOptions.Default text).IsClassification (what + ": by default the rule reads them as classes")
                else
                    count (if data.IsClassification then "classes" else "values")
                    expectSameTable (what + ", default options") data (Csv.loadText CsvOptions.Default text)
            // Every case the docs name came up (the generator's coverage, not a property of the writer).
            for key in [ "missing"; "values the rule reads as classes"; "classes"; "values" ] do
                Expect.isGreaterThan (defaultArg (cases.TryFind key) 0) 10 (sprintf "%s: %A" key cases)
        }
        test "C#: SaveCsv then LoadCsv gives back a regression target with targetKind Regression, missing cells with Missing Mean" {
            // y = 1, 2, 3 three times each: the rule's classes (3 integers, each 3 times), so the default read is a
            // classification, as the SaveCsv doc says; targetKind Regression reads the values back.
            let dir = tempDir ()
            try
                let path = Path.Combine(dir, "d.csv")
                let x = Array2D.init 9 2 (fun i j -> if i = 4 && j = 1 then nan else float (i * 10 + j))
                let y = Array.init 9 (fun i -> float (i % 3 + 1))
                let data = FunctionalNN.Dataset.FromArrays(x, y, [| "a"; "b" |], "y")
                data.SaveCsv path
                let keep = FunctionalNN.CsvFormat(Missing = FunctionalNN.MissingValues.Mean)
                let back = FunctionalNN.Dataset.LoadCsv(path, targetKind = FunctionalNN.TargetKind.Regression, format = keep)
                Expect.equal back.Values y "the values"
                Expect.equal (back.Features |> Seq.cast<float> |> Seq.map string |> Array.ofSeq) (x |> Seq.cast<float> |> Seq.map string |> Array.ofSeq) "the features, NaN in place"
                Expect.isTrue (FunctionalNN.Dataset.LoadCsv(path, format = keep)).IsClassification "Auto: the rule's classes"
                Expect.throwsT<FunctionalNN.DataFormatException> (fun () -> FunctionalNN.Dataset.LoadCsv path |> ignore) "the default Missing refuses the missing cell"
            finally Directory.Delete(dir, true)
        }
        test "Csv.save saves as model files are saved: a directory is an ArgumentException, the file is replaced, not rewritten, and a read-only one is kept" {
            // Csv.save was File.WriteAllText: a directory gave UnauthorizedAccessException ("Access to the path ... is
            // denied"), the old file was rewritten in place (a second name for it saw the new bytes), and a read-only
            // file was overwritten when the process may (root). Now it is AtomicFile.writeAtomicOptions, as a model's save.
            if OperatingSystem.IsWindows() then skiptest "link(2) and Unix modes"
            let dir = tempDir ()
            try
                let data = Datasets.load "commute"
                let expected = Csv.ofDataset data
                match Expect.throwsC (fun () -> Csv.save dir data) id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "path" e.Message
                    Expect.stringContains e.Message "is a directory" e.Message
                | e -> failtestf "ArgumentException expected, got %O" e
                let path = Path.Combine(dir, "d.csv")
                let older = Path.Combine(dir, "older.csv")
                File.WriteAllText(path, "old\n")
                Expect.equal (link(path, older)) 0 "a second name for the old file"
                Csv.save path data
                Expect.equal (File.ReadAllText path) expected "the path holds the data"
                Expect.equal (File.ReadAllText older) "old\n" "the old file is intact: a new file took its name (a crash leaves the old one or the new one)"
                // A read-only file: refused and left as it was; saveWith OverwriteReadOnly replaces it and keeps its mode.
                let readOnly = UnixFileMode.UserRead ||| UnixFileMode.GroupRead
                File.WriteAllText(path, "kept\n")
                File.SetUnixFileMode(path, readOnly)
                match Expect.throwsC (fun () -> Csv.save path data) id with
                | :? UnauthorizedAccessException as e -> Expect.stringContains e.Message "is read-only, so it was not replaced" e.Message
                | e -> failtestf "UnauthorizedAccessException expected, got %O" e
                Expect.equal (File.ReadAllText path) "kept\n" "the read-only file is unchanged"
                Csv.saveWith (SaveOptions.Default.WithOverwriteReadOnly true) path data
                Expect.equal (File.ReadAllText path, File.GetUnixFileMode path) (expected, readOnly) "replaced, still read-only"
                Expect.isEmpty (Directory.GetFiles(dir, "*.tmp")) "no temporary file left"
            finally Directory.Delete(dir, true)
        }
        test "C#: the reader's messages name format's members and the C# parameters, never the F# option names" {
            // Dataset.ParseCsv said "TextColumns names the column 'b', ..." (the F# field); the C# argument is
            // format.TextColumns. The same for the other options the reader's advice names.
            let parse (text: string) (format: FunctionalNN.CsvFormat) () = FunctionalNN.Dataset.ParseCsv(text, format = format) |> ignore
            let plain = FunctionalNN.CsvFormat()
            let bare (option: string) (m: string) = Regex.IsMatch(m, @"(?<!format\.)\b" + option + @"\b")
            let missingColumn = messageOf (parse "a,y\n1,2\n" (FunctionalNN.CsvFormat(TextColumns = [| "b" |])))
            Expect.stringStarts missingColumn "format.TextColumns names the column 'b', which the file does not have" missingColumn
            // A header of numbers with a repeated name (a first data row): the no-header advice.
            let repeated = messageOf (parse "1,1,2\n3,4,5\n" plain)
            Expect.stringContains repeated "read it with format.HasHeader = false (CLI: --no-header)" repeated
            // An unnamed first column over numbers: the saved-index advice (features), then the no-header one.
            let unnamed = messageOf (parse ",1,2\n3,4,5\n" plain)
            Expect.stringContains unnamed "leave it out with features, CLI: --features" unnamed
            Expect.stringContains unnamed "read the file with format.HasHeader = false, CLI: --no-header" unnamed
            // A field quoted with apostrophes that holds a comma: the row has one field too many.
            let ragged = messageOf (parse "a,b\n'x, y',1\n" plain)
            Expect.stringContains ragged "(format.Quote; CLI: --quote \"'\")" ragged
            // Numbers between apostrophes in every cell of a column.
            let apostrophes = messageOf (parse "a,y\n'1.5',1\n'2.5',2\n" plain)
            Expect.stringContains apostrophes "(format.Quote; CLI" apostrophes
            Expect.stringContains apostrophes "name the column in format.TextColumns to read its values as text" apostrophes
            // One bad cell among 20 numbers: numeric-looking, in a feature and in the target.
            let numbers = String.Join("", [ for i in 1 .. 20 -> sprintf "%d,%d\n" i (i % 7) ])
            let feature = messageOf (parse ("x,y\n" + numbers + "abc,1\n") plain)
            Expect.stringContains feature "add it to format.MissingMarkers (CLI: --missing-values)" feature
            let target = messageOf (parse ("x,y\n" + numbers + "1,abc\n") plain)
            Expect.stringContains target "or set targetKind (CLI: --task classification)" target
            // A few cells of one spelling without a digit among numbers, and a marker in a text column
            // (the reader's advice since pandas' spellings became the default markers).
            let spelled = messageOf (parse ("x,y\n" + numbers + "n.a.,1\nn.a.,2\n") plain)
            Expect.stringContains spelled "missing with format.MissingMarkers (CLI: --missing-values)" spelled
            let marker = messageOf (parse "c,y\nred,1\nN/A,2\nblue,1\n" plain)
            Expect.stringContains marker "set format.MissingMarkers to a list without it (CLI: --missing-values)" marker
            for m in [ missingColumn; repeated; unnamed; ragged; apostrophes; feature; target; spelled; marker ] do
                for option in [ "TextColumns"; "HasHeader"; "Quote"; "MissingMarkers"; "Features"; "TargetKind" ] do
                    Expect.isFalse (bare option m) (sprintf "%s: no bare F# name in: %s" option m)
            // fnn says the command line's options for the same messages, which it reads through the C# facade.
            let dir = tempDir ()
            try
                File.WriteAllText(Path.Combine(dir, "bad.csv"), "x,y\n" + numbers + "abc,1\n")
                File.WriteAllText(Path.Combine(dir, "head.csv"), "1,1,2\n3,4,5\n")
                File.WriteAllText(Path.Combine(dir, "index.csv"), ",1,2\n3,4,5\n")
                File.WriteAllText(Path.Combine(dir, "spelled.csv"), "x,y\n" + numbers + "n.a.,1\nn.a.,2\n")
                File.WriteAllText(Path.Combine(dir, "marker.csv"), "c,y\nred,1\nN/A,2\nblue,1\n")
                for file, advice in [ "bad.csv", [ "add it to --missing-values" ]; "head.csv", [ "read it with --no-header" ]
                                      "spelled.csv", [ "missing with --missing-values"; "name it in --text-columns" ]; "marker.csv", [ "give --missing-values a list without it" ]
                                      "index.csv", [ "leave it out with --features"; "read the file with --no-header" ] ] do
                    let code, _, err = Repo.runFnn dir [ "train"; "--data"; file; "--epochs"; "1" ] (TimeSpan.FromSeconds 60.0)
                    Expect.equal code 1 err
                    for a in advice do Expect.stringContains err a err
                    for option in [ "format."; "HasHeader"; "MissingMarkers"; "Features," ] do Expect.isFalse (err.Contains option) err
            finally Directory.Delete(dir, true)
        }

        test "fnn --text-columns reads a column of numbers as text categories, as CsvFormat.TextColumns does" {
            // A code column (3 distinct numbers) and a measurement: read as given, the code is one
            // numeric feature; named in --text-columns, 3 categories (one-hot). Expected from the file.
            let dir = tempDir ()
            try
                let rows = [ for i in 0 .. 59 -> sprintf "%d,%g,%s" (100 + i % 3) (float i / 10.0) (if i % 2 = 0 then "a" else "b") ]
                File.WriteAllText(Path.Combine(dir, "codes.csv"), "code,x,y\n" + String.Join("\n", rows) + "\n")
                let code, out, err = Repo.runFnn dir [ "train"; "--data"; "codes.csv"; "--epochs"; "1"; "--text-columns"; "code" ] (TimeSpan.FromSeconds 60.0)
                Expect.equal code 0 err
                Expect.stringContains out "code (3 categories)" out
                let code, out, err = Repo.runFnn dir [ "train"; "--data"; "codes.csv"; "--epochs"; "1" ] (TimeSpan.FromSeconds 60.0)
                Expect.equal code 0 err
                Expect.isFalse (out.Contains "code (3 categories)") out
                let code, _, err = Repo.runFnn dir [ "train"; "--dataset"; "iris"; "--epochs"; "1"; "--text-columns"; "code" ] (TimeSpan.FromSeconds 60.0)
                Expect.equal code 2 err
                Expect.stringContains err "--text-columns go with --data" err
            finally Directory.Delete(dir, true)
        }

        test "a saved model predicts a cell spelled like one of its categories as that category, whatever the markers (review of the session's reader)" {
            // A veneer column with the category N/A, trained with markers that leave N/A out and most-frequent imputation
            // (as a model trained before N/A became a default marker). Predicting with the default markers must give the
            // predictions of the training-time markers (expected: the same run with --missing-values "NA,?"), not impute N/A.
            let dir = tempDir ()
            try
                let kinds = [| "BrkFace"; "N/A"; "Stone" |]
                let rows = [ for i in 0 .. 59 -> sprintf "%s,%d,%g" kinds.[i % 3] (1 + i % 7) (float (i % 3) * 3.0 + float (1 + i % 7) * 0.5) ]
                File.WriteAllText(Path.Combine(dir, "house.csv"), "veneer,area,price\n" + String.Join("\n", rows) + "\n")
                File.WriteAllText(Path.Combine(dir, "new.csv"), "veneer,area\nN/A,5\nStone,2\nMarble,3\n")
                let code, _, err = Repo.runFnn dir [ "train"; "--data"; "house.csv"; "--target"; "price"; "--missing-values"; "NA,?"; "--missing"; "most_frequent"; "--epochs"; "5"; "--out"; "m.fnn"; "--quiet" ] (TimeSpan.FromSeconds 60.0)
                Expect.equal code 0 err
                let _, asTrained, err1 = Repo.runFnn dir [ "predict"; "--model"; "m.fnn"; "--data"; "new.csv"; "--missing-values"; "NA,?"; "--unknown-category"; "zeros" ] (TimeSpan.FromSeconds 60.0)
                let _, byDefault, err2 = Repo.runFnn dir [ "predict"; "--model"; "m.fnn"; "--data"; "new.csv"; "--unknown-category"; "zeros" ] (TimeSpan.FromSeconds 60.0)
                Expect.stringContains asTrained "\"N/A\",5," (asTrained + err1)
                Expect.equal byDefault asTrained (sprintf "the default markers predict as the training-time ones:\n%s\n%s" byDefault err2)
                // A model without imputation and an unseen category spelled like a marker: fnn's advice keeps the reader's way out.
                File.WriteAllText(Path.Combine(dir, "plain.csv"), "veneer,area,price\n" + String.Join("\n", rows |> List.map (fun r -> r.Replace("N/A", "Wood"))) + "\n")
                let code, _, err = Repo.runFnn dir [ "train"; "--data"; "plain.csv"; "--target"; "price"; "--epochs"; "5"; "--out"; "p.fnn"; "--quiet" ] (TimeSpan.FromSeconds 60.0)
                Expect.equal code 0 err
                let code, _, err = Repo.runFnn dir [ "predict"; "--model"; "p.fnn"; "--data"; "new.csv" ] (TimeSpan.FromSeconds 60.0)
                Expect.equal code 1 err
                Expect.stringContains err "the value is missing ('N/A')" err
                Expect.stringContains err "give --missing-values a list without it" err
                // --text-columns naming no column says so in fnn's words.
                let code, _, err = Repo.runFnn dir [ "train"; "--data"; "house.csv"; "--target"; "price"; "--text-columns"; "nope"; "--epochs"; "1" ] (TimeSpan.FromSeconds 60.0)
                Expect.equal code 1 err
                Expect.stringContains err "--text-columns names the column 'nope'" err
                Expect.isFalse (err.Contains "format.") err
            finally Directory.Delete(dir, true)
        }

        test "C#: CsvFormat.DefaultMissingMarkers is the reader's default list, a new array each time, without None" {
            let a = FunctionalNN.CsvFormat.DefaultMissingMarkers
            Expect.sequenceEqual a CsvOptions.Default.MissingMarkers "the reader's list"
            Expect.isFalse (Array.contains "None" a) "None is a category in many tables"
            a.[0] <- "changed"
            Expect.equal FunctionalNN.CsvFormat.DefaultMissingMarkers.[0] "NA" "a copy"
        }

        test "a damaged UTF-16 file is a DataFormatException at the bad half character, not .NET's decoder error" {
            // FF FE, then "a,b\n1," (UTF-16 LE: 12 bytes, offsets 2-13), then a lone high surrogate 00 D8 at offset 14, then "x\n".
            let text (s: string) = Text.Encoding.Unicode.GetBytes s
            let bytes = Array.concat [ [| 0xFFuy; 0xFEuy |]; text "a,b\n1,"; [| 0x00uy; 0xD8uy |]; text "x\n" ]
            let e = Expect.throwsC (fun () -> Csv.decode bytes |> ignore) id
            Expect.isTrue (e :? DataFormatException) (e.GetType().Name + ": " + e.Message)
            Expect.stringContains e.Message "Line 2: the bytes 00 D8 (offset 14 in the file, after '1,' on the line)" e.Message
        }
    ]
