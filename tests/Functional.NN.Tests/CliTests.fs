/// The command-line tool as a user runs it: the built fnn.dll in its own process (this test project
/// builds it through a project reference), its exit code, stdout and stderr.
module Functional.NN.Tests.CliTests

open System
open System.Diagnostics
open System.IO
open System.Text.Json
open Expecto

/// The built tool (the test project's reference to src/Cli.CSharp builds it in the same configuration).
let private fnn =
    let configuration = if AppContext.BaseDirectory.Contains(string Path.DirectorySeparatorChar + "Debug" + string Path.DirectorySeparatorChar) then "Debug" else "Release"
    Repo.path [ "src"; "Cli.CSharp"; "bin"; configuration; "net10.0"; "linux-x64"; "fnn.dll" ]

/// Runs fnn with arguments in a folder; returns (exit code, stdout, stderr, seconds).
let private run (dir: string) (args: string list) =
    let psi = ProcessStartInfo("dotnet", fnn :: args, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir, UseShellExecute = false)
    psi.Environment.["DOTNET_CLI_TELEMETRY_OPTOUT"] <- "1"
    let clock = Stopwatch.StartNew()
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    if not (p.WaitForExit 120000) then
        p.Kill true
        failtestf "fnn %s did not finish in 120 s" (String.Join(" ", args))
    p.WaitForExit()
    p.ExitCode, out.Result, err.Result, clock.Elapsed.TotalSeconds

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "fnn-cli-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

/// The one-line error of a failing command: its exit code and the fragments its stderr line must hold.
let private expectError (dir: string) (args: string list) (code: int) (fragments: string list) =
    let exit, out, err, _ = run dir args
    Expect.equal exit code (sprintf "exit code of fnn %s (stderr: %s)" (String.Join(" ", args)) err)
    let lines = err.Trim().Split('\n')
    Expect.equal lines.Length 1 (sprintf "one line on stderr, got:\n%s" err)
    Expect.stringStarts lines.[0] "fnn: " "the line names the tool"
    Expect.isFalse (err.Contains "   at ") "no stack trace"
    for f in fragments do Expect.stringContains err f "stderr"
    out

let private json (text: string) = JsonDocument.Parse(text.Trim()).RootElement

let private isPng (path: string) =
    let b = File.ReadAllBytes path
    b.Length > 5000 && b.[0] = 0x89uy && b.[1] = byte 'P' && b.[2] = byte 'N' && b.[3] = byte 'G'

[<Tests>]
let tests =
    testSequenced <| testList "CLI" [
        test "with no arguments: trains on Iris, test accuracy >= 0.93, in under 10 seconds" {
            let code, out, err, seconds = run Repo.root []
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let line = out.Split('\n') |> Array.find (fun l -> l.StartsWith "test accuracy: ")
            let accuracy = Double.Parse(line.Substring(15, 6), Globalization.CultureInfo.InvariantCulture)
            Expect.isGreaterThanOrEqual accuracy 0.93 line
            Expect.isLessThan seconds 10.0 "wall time of the whole process"
            for part in [ "layer 1: dense 4 -> 16, tanh, W 4x16 + b 16 = 80 parameters"; "total: 131 parameters"; "epoch 500/500: loss"; "confusion matrix" ] do
                Expect.stringContains out part "the report"
        }
        test "--dataset digits with a 64-32-10 network reaches test accuracy >= 0.95 (plain gradient descent)" {
            let code, out, err, _ = run Repo.root [ "--dataset"; "digits"; "--layers"; "32"; "--json" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let j = json out
            Expect.isGreaterThanOrEqual (j.GetProperty("accuracy").GetDouble()) 0.95 out
            Expect.equal (j.GetProperty("stop_reason").GetString()) "max_epochs" "stop reason"
            Expect.equal (j.GetProperty("epochs").GetInt32()) 500 "epochs"
        }
        test "train --out --plots --json, then evaluate and predict with the saved model" {
            let dir = tempDir ()
            try
                File.WriteAllText(Path.Combine(dir, "iris.csv"), File.ReadAllText(Repo.path [ "src"; "Core.FSharp"; "Data"; "iris.csv" ]))
                let code, out, err, _ =
                    run dir [ "train"; "--data"; "iris.csv"; "--target"; "species"; "--features"; "petal_length,petal_width"
                              "--optimizer"; "adam"; "--batch-size"; "16"; "--epochs"; "40"; "--validation-fraction"; "0.2"
                              "--out"; "iris.fnn"; "--plots"; "plots"; "--json" ]
                Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                let j = json out
                Expect.isGreaterThanOrEqual (j.GetProperty("accuracy").GetDouble()) 0.9 "two petal features separate Iris well"
                for name in [ "loss"; "epochs"; "stop_reason"; "seconds"; "confusion_matrix" ] do
                    Expect.isTrue (j.TryGetProperty(name) |> fst) (sprintf "JSON has %s" name)
                for png in [ "loss.png"; "confusion.png"; "regions.png" ] do
                    Expect.isTrue (isPng (Path.Combine(dir, "plots", png))) (sprintf "%s is a PNG" png)
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "iris.fnn"; "--data"; "iris.csv"; "--json" ]
                Expect.equal code 0 (sprintf "evaluate (stderr: %s)" err)
                Expect.isGreaterThanOrEqual ((json out).GetProperty("accuracy").GetDouble()) 0.9 "accuracy on all rows"
                let code, _, err, _ = run dir [ "predict"; "--model"; "iris.fnn"; "--data"; "iris.csv"; "--out"; "predictions.csv" ]
                Expect.equal code 0 (sprintf "predict (stderr: %s)" err)
                let lines = File.ReadAllLines(Path.Combine(dir, "predictions.csv"))
                Expect.equal lines.[0] "petal_length,petal_width,species,p_setosa,p_versicolor,p_virginica" "header"
                Expect.equal lines.Length 151 "one line per row"
                Expect.stringContains lines.[1] ",setosa," "the first flower is a setosa"
            finally Directory.Delete(dir, true)
        }
        test "--patience stops early on the validation loss and says so in the JSON" {
            let code, out, err, _ = run Repo.root [ "--dataset"; "digits"; "--layers"; "32"; "--optimizer"; "adam"; "--batch-size"; "32"; "--epochs"; "200"; "--validation-fraction"; "0.1"; "--patience"; "3"; "--json" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let j = json out
            Expect.equal (j.GetProperty("stop_reason").GetString()) "early_stopping" out
            Expect.isLessThan (j.GetProperty("epochs").GetInt32()) 200 "stopped before the epoch limit"
            Expect.isGreaterThanOrEqual (j.GetProperty("accuracy").GetDouble()) 0.95 "the best epoch's weights"
        }
        test "linear prints the notes' least-squares coefficients of the commute data by name" {
            let code, out, err, _ = run Repo.root [ "linear"; "--dataset"; "commute" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            // W* = [6.08613445378149, 6.53361344537816, 2.11274509803922] (Data/README.md, the notes' example).
            for name, value in [ "(intercept)", 6.08613445378149; "distance_km", 6.53361344537816; "weekday", 2.11274509803922 ] do
                let line = out.Split('\n') |> Array.find (fun l -> l.StartsWith name)
                let v = Double.Parse(line.Substring(name.Length).Trim(), Globalization.CultureInfo.InvariantCulture)
                Expect.floatClose { absolute = 1e-10; relative = 1e-10 } v value name
        }
        testCase "packaging: tests/pack-tool.sh packs the three packages, installs fnn from them and runs it (FNN_SLOW_TESTS=1)" <| fun () ->
            if Environment.GetEnvironmentVariable "FNN_SLOW_TESTS" <> "1" then skiptest "slow: set FNN_SLOW_TESTS=1 (or run tests/pack-tool.sh)"
            let code, output = Repo.run "bash" [ Repo.path [ "tests"; "pack-tool.sh" ] ] Repo.root (TimeSpan.FromMinutes 5.0)
            Expect.equal code 0 output
            Expect.stringContains output "the installed fnn reached test accuracy" output
        test "errors are one line on stderr and a non-zero exit, never a stack trace" {
            let dir = tempDir ()
            try
                let write name (text: string) = File.WriteAllText(Path.Combine(dir, name), text)
                write "ragged.csv" "a,b,c\n1,2,x\n3,4\n"
                write "text.csv" "a,b,c\n1,2,x\n3,four,y\n"
                write "empty.csv" ""
                write "train.csv" "a,b,c\n1,2,x\n3,4,y\n1,3,x\n4,4,y\n1,1,x\n5,4,y\n"
                write "unseen.csv" "a,b,c\n1,2,x\n3,4,z\n"
                expectError dir [ "train"; "--data"; "missing.csv" ] 1 [ "missing.csv"; "does not exist" ] |> ignore
                expectError dir [ "train"; "--data"; "ragged.csv" ] 1 [ "Line 3 has 2 fields"; "3 columns" ] |> ignore
                expectError dir [ "train"; "--data"; "text.csv" ] 1 [ "Line 3, column 'b': 'four'" ] |> ignore
                expectError dir [ "train"; "--data"; "empty.csv" ] 1 [ "empty" ] |> ignore
                expectError dir [ "train"; "--data"; "train.csv"; "--target"; "label" ] 1 [ "no target column 'label'" ] |> ignore
                let code, _, err, _ = run dir [ "train"; "--data"; "train.csv"; "--epochs"; "5"; "--test-fraction"; "0.34"; "--out"; "m.fnn" ]
                Expect.equal code 0 (sprintf "a small model to evaluate (stderr: %s)" err)
                expectError dir [ "evaluate"; "--model"; "m.fnn"; "--data"; "unseen.csv" ] 1 [ "Line 3, column 'c'"; "'z' is not one of the model's classes" ] |> ignore
                File.WriteAllBytes(Path.Combine(dir, "damaged.fnn"), File.ReadAllBytes(Path.Combine(dir, "m.fnn")).[.. 99])
                expectError dir [ "evaluate"; "--model"; "damaged.fnn"; "--data"; "train.csv" ] 1 [ "model file cannot be read"; "damaged or truncated" ] |> ignore
                expectError dir [ "predict"; "--model"; "nothing.fnn"; "--data"; "train.csv" ] 1 [ "nothing.fnn" ] |> ignore
                expectError dir [ "train"; "--optimizer"; "magic" ] 2 [ "unknown optimizer 'magic'" ] |> ignore
                expectError dir [ "train"; "--colour"; "blue" ] 2 [ "unknown option --colour" ] |> ignore
                expectError dir [ "train"; "--epochs" ] 2 [ "--epochs needs a value" ] |> ignore
                expectError dir [ "train"; "--patience"; "3" ] 2 [ "--patience (early stopping) needs --validation-fraction" ] |> ignore
                expectError dir [ "explode" ] 2 [ "unknown command 'explode'" ] |> ignore
            finally Directory.Delete(dir, true)
        }
    ]
