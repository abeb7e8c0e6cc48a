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
