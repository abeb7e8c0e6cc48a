module Functional.NN.Tests.Main

open System
open System.IO
open System.Text
open System.Text.RegularExpressions
open Expecto
open Expecto.Impl

/// A writer that drops ANSI colour codes, for output that is not a terminal (CI reads it).
type private PlainWriter(inner: TextWriter) =
    inherit TextWriter()
    let ansi = Regex("\u001b\\[[0-9;]*m", RegexOptions.Compiled)
    override _.Encoding = inner.Encoding
    override _.Write(c: char) = if c <> '\u001b' then inner.Write c
    override _.Write(s: string) = if not (isNull s) then inner.Write(ansi.Replace(s, ""))
    override _.WriteLine(s: string) = inner.WriteLine(if isNull s then s else ansi.Replace(s, ""))
    override _.Flush() = inner.Flush()

/// Runs every [<Tests>] value of this assembly with Expecto, then prints, as the very last line,
/// the plain summary CI reads: "N passed, N failed" (errored tests count as failed).
[<EntryPoint>]
let main argv =
    if argv = [| "--determinism-probe" |] then
        // BackendTests runs this program again with FNN_THREADS=1 and compares the printed bits.
        Console.Out.WriteLine(Functional.NN.Tests.BackendTests.determinismProbe ())
        exit 0
    if argv = [| "--fingerprint-probe" |] then
        // BackendTests runs this program again with AVX-512 or AVX2 turned off and compares the fingerprints.
        Console.Out.WriteLine(Functional.NN.Tests.BackendTests.fingerprintProbe ())
        exit 0
    if Console.IsOutputRedirected then
        Console.SetOut(new PlainWriter(Console.Out))
    let mutable counts = None
    let record = SummaryHandler(fun (s: TestRunSummary) -> counts <- Some (s.passed.Length, s.failed.Length + s.errored.Length))
    let code = runTestsInAssemblyWithCLIArgs [ CLIArguments.Append_Summary_Handler record; CLIArguments.No_Spinner ] argv
    // Let Expecto's own logger finish before the last line.
    Threading.Thread.Sleep 200
    Console.Out.Flush()
    match counts with
    | Some (passed, failed) -> Console.Out.WriteLine(sprintf "%d passed, %d failed" passed failed)
    | None -> ()
    code
