// Issue 13, must-show 1: every default against scikit-learn's default MLP on the same splits.
//
//   dotnet build -c Release && dotnet fsi bench/defaults_vs_sklearn.fsx [PYTHON] [--layers 64] [--activation tanh] [--seeds 0,1,2]
//
// --layers / --activation measure another hidden layer in place of FitOptions.Default's (on both the
// CLI and the library side; every other default unchanged): how the default was chosen (the
// candidates' table in bench/results/defaults_vs_sklearn.md). --seeds: other seeds than 0, 1, 2.
//
// For iris, digits, commute, randhie (target mdvis) and modechoice (target mode) and seeds 0, 1, 2:
// - `fnn train --data F --target T --seed S --json` (nothing else: every training default);
// - PipelineFit.fit with FitOptions.Default and only the seed set (what `Pipeline.Fit(data)` runs:
//   the C# PipelineOptions take these values), on the CLI's split (80/20, stratified for classes,
//   drawn from the seed);
// - tests/reference/mlp_sklearn.py: StandardScaler + MLPClassifier() / MLPRegressor() (every
//   default, random_state = seed) on the same training and test rows, written out here.
// Prints a markdown table: the task detected, each side's test accuracy or R^2, the epochs and stop
// reason, and whether Functional.NN is no worse than scikit-learn minus 0.02. commute has 5 rows
// (1 test row, where R^2 is undefined): both sides fit and score all 5 (in-sample), and the CLI
// line shows only that it trains without diverging.
#load "../scripts/load.fsx"

open System
open System.Diagnostics
open System.Globalization
open System.IO
open System.Text.Json
open Functional.NN

let inv = CultureInfo.InvariantCulture
let root = Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, ".."))
let args = List.ofArray fsi.CommandLineArgs.[1..]
let rec option name = function
    | n :: v :: _ when n = name -> Some v
    | _ :: rest -> option name rest
    | [] -> None
let positional =
    let rec go = function
        | (n: string) :: _ :: rest when n.StartsWith "--" -> go rest
        | p :: rest -> p :: go rest
        | [] -> []
    go args
let python = match positional with [ p ] -> p | _ -> "/usr/bin/python3"
let layersArg = option "--layers" args
let activationArg = option "--activation" args
let fitDefaults =
    let d = FitOptions.Default
    let d = match layersArg with Some l -> d.WithHiddenLayers(l.Split(',') |> Array.map int) | None -> d
    match activationArg with
    | Some a -> d.WithActivation(match Activation.tryParse a with Some x -> x | None -> failwithf "unknown activation '%s'" a)
    | None -> d
let cliNetwork =
    (match layersArg with Some l -> [ "--layers"; l ] | None -> []) @ (match activationArg with Some a -> [ "--activation"; a ] | None -> [])
let fnnDll = Path.Combine(root, "src", "Cli.CSharp", "bin", "Release", "net10.0", "linux-x64", "fnn.dll")

let tables =
    [ "iris", "src/Core.FSharp/Data/iris.csv", "species"
      "digits", "src/Core.FSharp/Data/digits.csv", "digit"
      "commute", "src/Core.FSharp/Data/commute.csv", "commute_min"
      "randhie", "tests/data/randhie.csv", "mdvis"
      "modechoice", "tests/data/modechoice.csv", "mode" ]
let seeds = match option "--seeds" args with Some t -> t.Split(',') |> Array.map int64 |> List.ofArray | None -> [ 0L; 1L; 2L ]

let run (fileName: string) (args: string list) =
    let psi = ProcessStartInfo(fileName, args, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = root)
    psi.Environment.["DOTNET_CLI_TELEMETRY_OPTOUT"] <- "1"
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    p.WaitForExit()
    p.ExitCode, out.Result, err.Result

let score (e: Evaluation) = match e with Evaluation.Classification c -> c.Accuracy | Evaluation.Regression r -> r.R2

let writeCsv (path: string) (d: Dataset) =
    use w = new StreamWriter(path)
    w.WriteLine(String.Join(",", Array.append d.FeatureNames [| "target" |]))
    for i in 0 .. d.SampleCount - 1 do
        let target =
            match d.Target with
            | Target.Classes (labels, _) -> string labels.[i]
            | Target.Values v -> v.[i].ToString("R", inv)
        w.WriteLine(String.Join(",", Array.append [| for j in 0 .. d.Features.ColumnCount - 1 -> d.Features.[i, j].ToString("R", inv) |] [| target |]))

let folder = Directory.CreateTempSubdirectory("fnn-defaults-vs-sklearn").FullName
type Row = { Table: string; Seed: int64; Task: string; Rows: string; Cli: string; Library: float; Epochs: string }
let rows = ResizeArray<Row>()
for name, file, target in tables do
    let path = Path.Combine(root, file)
    let data = Csv.load { CsvOptions.Default with Target = Some target } path
    let task = if data.IsClassification then "classification" else "regression"
    for seed in seeds do
        // The CLI, with nothing but data, target and seed (and a candidate's --layers / --activation).
        let code, out, err = run "dotnet" ([ fnnDll; "train"; "--data"; path; "--target"; target; "--seed"; string seed; "--json" ] @ cliNetwork)
        let cli =
            if code <> 0 then sprintf "exit %d: %s" code (err.Trim())
            else
                let j = JsonDocument.Parse(out.Trim()).RootElement
                let cliTask = j.GetProperty("task").GetString()
                // r2 is null where it is undefined (commute's one test row).
                let value (p: JsonElement) = if p.ValueKind = JsonValueKind.Number then p.GetDouble() else nan
                let metric = value (j.GetProperty(if cliTask = "classification" then "accuracy" else "r2"))
                let note = if cliTask <> task then sprintf " (CLI task %s)" cliTask else ""
                if name = "commute" then sprintf "trained, %s%s" (j.GetProperty("stop_reason").GetString()) note
                else sprintf "%.4f%s" metric note
        // The library's defaults on the CLI's split (commute: all 5 rows, in-sample).
        let train, test =
            if data.SampleCount < 20 then data, data
            else
                let rng = Rng.create seed
                let split, _ =
                    if data.IsClassification then Split.stratified 0.2 data.Labels rng else Split.shuffled 0.2 data.SampleCount rng
                Dataset.selectRows split.Train data, Dataset.selectRows split.Test data
        let options = fitDefaults.WithSeed(seed).WithTraining(TrainingOptions.Default.WithSeed seed)
        let fit = PipelineFit.fit options train
        let library = score (Pipeline.evaluate fit.Pipeline test)
        let key = sprintf "%s-%d" name seed
        writeCsv (Path.Combine(folder, key + "-train.csv")) train
        writeCsv (Path.Combine(folder, key + "-test.csv")) test
        File.WriteAllText(Path.Combine(folder, key + ".task"), sprintf "%s %d" task seed)
        rows.Add { Table = name; Seed = seed; Task = task; Rows = sprintf "%d/%d" train.SampleCount test.SampleCount; Cli = cli; Library = library
                   Epochs = sprintf "%d (%A)" fit.Training.Epochs fit.Training.StopReason }
        eprintfn "%s seed %d: CLI %s, library %.4f" name seed cli library

let code, out, err = run python [ Path.Combine(root, "tests", "reference", "mlp_sklearn.py"); folder ]
if code <> 0 then failwithf "mlp_sklearn.py exited with %d: %s" code err
let sklearn =
    out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
    |> Array.map (fun l -> let p = l.Split(' ') in p.[0], (Double.Parse(p.[1], inv), int p.[2]))
    |> Map.ofArray

printfn "| table | seed | task detected | train/test rows | `fnn train` (defaults) | `Pipeline.Fit` (defaults) | epochs (stop) | scikit-learn MLP | iterations | library - sklearn | no worse than sklearn - 0.02 |"
printfn "|---|---|---|---|---|---|---|---|---|---|---|"
for r in rows do
    let sk, iters = sklearn.[sprintf "%s-%d" r.Table r.Seed]
    let metric = if r.Task = "classification" then "accuracy" else "R^2"
    printfn "| %s | %d | %s | %s%s | %s | %.4f | %s | %.4f | %d | %+.4f | %s |" r.Table r.Seed r.Task r.Rows (if r.Table = "commute" then " (in-sample)" else "")
        r.Cli r.Library r.Epochs sk iters (r.Library - sk) (if r.Library >= sk - 0.02 then "yes" else "NO")
    ignore metric
Directory.Delete(folder, true)
