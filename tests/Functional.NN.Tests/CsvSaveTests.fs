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

/// The message of the exception `f` raises.
let private messageOf (f: unit -> unit) = (Expect.throwsC f id).Message

[<Tests>]
let tests =
    testList "CSV saving" [
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
            for m in [ missingColumn; repeated; unnamed; ragged; apostrophes; feature; target ] do
                for option in [ "TextColumns"; "HasHeader"; "Quote"; "MissingMarkers"; "Features"; "TargetKind" ] do
                    Expect.isFalse (bare option m) (sprintf "%s: no bare F# name in: %s" option m)
            // fnn says the command line's options for the same messages, which it reads through the C# facade.
            let dir = tempDir ()
            try
                File.WriteAllText(Path.Combine(dir, "bad.csv"), "x,y\n" + numbers + "abc,1\n")
                File.WriteAllText(Path.Combine(dir, "head.csv"), "1,1,2\n3,4,5\n")
                File.WriteAllText(Path.Combine(dir, "index.csv"), ",1,2\n3,4,5\n")
                for file, advice in [ "bad.csv", [ "add it to --missing-values" ]; "head.csv", [ "read it with --no-header" ]
                                      "index.csv", [ "leave it out with --features"; "read the file with --no-header" ] ] do
                    let code, _, err = Repo.runFnn dir [ "train"; "--data"; file; "--epochs"; "1" ] (TimeSpan.FromSeconds 60.0)
                    Expect.equal code 1 err
                    for a in advice do Expect.stringContains err a err
                    for option in [ "format."; "HasHeader"; "MissingMarkers"; "Features," ] do Expect.isFalse (err.Contains option) err
            finally Directory.Delete(dir, true)
        }
    ]
