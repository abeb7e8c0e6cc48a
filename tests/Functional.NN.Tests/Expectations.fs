/// Expectations shared by the test files.
module Functional.NN.Tests.Expectations

open System
open Expecto

/// Runs f, which must throw an ArgumentException (or a subclass) whose ParamName is `param` and whose
/// message holds every fragment; returns the exception for further checks.
let expectArgument (param: string) (fragments: string list) (f: unit -> unit) : ArgumentException =
    match Expect.throwsC f id with
    | :? ArgumentException as e ->
        Expect.equal e.ParamName param (sprintf "ParamName of: %s" e.Message)
        for fr in fragments do Expect.stringContains e.Message fr "message"
        e
    | e -> failtestf "expected ArgumentException (ParamName %s), got %s: %s" param (e.GetType().Name) e.Message

/// The time one fuzz case (a damaged file, a random call) may take before the test calls it a hang:
/// a guard against a case that never ends or blows up, not a performance measure (cases take
/// milliseconds; the host's stalls and a full garbage collection can take a second).
let hangGuardSeconds = 10.0

/// The DataFormatException of reading a CSV text with `Functional.NN.Csv.loadText`: at `line`, its
/// message on one line and holding every fragment; returns it for further checks.
let csvError (options: Functional.NN.CsvOptions) (text: string) (line: int) (fragments: string list) : Functional.NN.DataFormatException =
    match Expect.throwsC (fun () -> Functional.NN.Csv.loadText options text |> ignore) id with
    | :? Functional.NN.DataFormatException as e ->
        Expect.equal e.Line line (sprintf "line of: %s" e.Message)
        for f in fragments do Expect.stringContains e.Message f "message"
        Expect.isFalse (e.Message.Contains "\n") (sprintf "one line: %s" e.Message)
        e
    | e -> failtestf "expected DataFormatException, got %s: %s" (e.GetType().Name) e.Message
