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
    ]
