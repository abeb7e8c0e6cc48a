/// Where the repository is, for tests that read its files or run its scripts.
module Functional.NN.Tests.Repo

open System
open System.Diagnostics
open System.IO

/// The repository's root: the first folder above the test binary that holds Functional.NN.sln.
let root =
    let rec up (d: DirectoryInfo) =
        if isNull d then failwith "Functional.NN.sln not found above the test binary"
        elif File.Exists(Path.Combine(d.FullName, "Functional.NN.sln")) then d.FullName
        else up d.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

/// A path below the root.
let path (parts: string list) = Path.Combine(Array.ofList (root :: parts))

/// Runs a program to its end (or kills it after the timeout) with extra environment variables, and
/// returns (exit code, stdout, stderr).
let runSplit (environment: (string * string) list) (fileName: string) (args: string list) (workingDir: string) (timeout: TimeSpan) : int * string * string =
    let psi = ProcessStartInfo(fileName, args, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDir, UseShellExecute = false)
    psi.Environment.["DOTNET_CLI_TELEMETRY_OPTOUT"] <- "1"
    psi.Environment.["DOTNET_NOLOGO"] <- "1"
    for name, value in environment do psi.Environment.[name] <- value
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    if not (p.WaitForExit(int timeout.TotalMilliseconds)) then
        p.Kill true
        -1, out.Result, sprintf "timed out after %O\n%s" timeout err.Result
    else
        p.WaitForExit()
        p.ExitCode, out.Result, err.Result

/// Runs a program to its end (or kills it after the timeout) and returns (exit code, stdout + stderr).
let run (fileName: string) (args: string list) (workingDir: string) (timeout: TimeSpan) : int * string =
    let code, out, err = runSplit [] fileName args workingDir timeout
    code, out + err

/// The command-line tool as the test project builds it (Debug or Release, as the tests).
let fnn =
    let configuration = if AppContext.BaseDirectory.Contains(string Path.DirectorySeparatorChar + "Debug" + string Path.DirectorySeparatorChar) then "Debug" else "Release"
    path [ "src"; "Cli.CSharp"; "bin"; configuration; "net10.0"; "linux-x64"; "fnn.dll" ]

/// Runs fnn as a user does, in a folder; returns (exit code, stdout, stderr). A run that does not end
/// within the timeout is killed and raises, naming the command.
let runFnn (workingDir: string) (args: string list) (timeout: TimeSpan) : int * string * string =
    let code, out, err = runSplit [] "dotnet" (fnn :: args) workingDir timeout
    if code = -1 && err.StartsWith "timed out" then failwithf "fnn %s did not finish in %O" (String.Join(" ", args)) timeout
    code, out, err
