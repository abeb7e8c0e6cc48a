/// The command-line tool as a user runs it: the built fnn.dll in its own process (this test project
/// builds it through a project reference), its exit code, stdout and stderr.
module Functional.NN.Tests.CliTests

open System
open System.Diagnostics
open System.IO
open System.Text.Json
open Expecto

/// Runs fnn with arguments in a folder; returns (exit code, stdout, stderr, seconds).
let private run (dir: string) (args: string list) =
    let clock = Stopwatch.StartNew()
    let code, out, err = Repo.runFnn dir args (TimeSpan.FromSeconds 120.0)
    code, out, err, clock.Elapsed.TotalSeconds

/// POSIX kill(2), to send SIGINT (2) as Ctrl-C does.
[<System.Runtime.InteropServices.DllImport("libc", SetLastError = true)>]
extern int private kill(int pid, int signal)

/// POSIX signal(2), to give SIGINT back its default action.
[<System.Runtime.InteropServices.DllImport("libc", SetLastError = true)>]
extern nativeint private signal(int signum, nativeint handler)

/// A child inherits an ignored SIGINT, and then Ctrl-C does not reach it (as it should not: that is
/// what nohup and a shell's background job without job control ask for). When this test process
/// was started that way, `start` runs with SIGINT at its default action, so that the child under
/// test starts as from a terminal, and SIGINT is ignored again as soon as the child has started.
/// Where SIGINT is handled (the usual case) nothing changes.
let private withSigintDefault (start: unit -> unit) =
    let sigIgn =
        File.ReadAllLines "/proc/self/status"
        |> Array.pick (fun l -> if l.StartsWith "SigIgn:" then Some(Convert.ToUInt64(l.Substring(7).Trim(), 16)) else None)
    if sigIgn &&& 2UL <> 0UL then
        signal (2, 0n) |> ignore
        try start () finally signal (2, 1n) |> ignore   // SIG_IGN = 1
    else start ()

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

/// The number after a report line's prefix ("test accuracy: 0.966667 (30 samples)" -> 0.966667).
let private metric (out: string) (prefix: string) =
    let line = out.Split('\n') |> Array.find (fun l -> l.StartsWith prefix)
    Double.Parse(line.Substring(prefix.Length).Split([| ' '; ',' |]).[0], Globalization.CultureInfo.InvariantCulture)

/// True when a number's text is what C's %g prints for its value (F#'s sprintf "%g", an implementation
/// independent of the tool's): at most 6 significant digits, no trailing zeros, e+XX beyond 1e6 and below 1e-4.
let private isPercentG (text: string) =
    match Double.TryParse(text, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
    | true, v -> sprintf "%g" v = text
    | _ -> false

let private isPng (path: string) =
    let b = File.ReadAllBytes path
    b.Length > 5000 && b.[0] = 0x89uy && b.[1] = byte 'P' && b.[2] = byte 'N' && b.[3] = byte 'G'

/// The share of a PNG's pixels that are tinted (their largest and smallest RGB channels at least 20 apart: not white,
/// grey or black), decoded here (8-bit RGB or RGBA, not interlaced; the five row filters of the PNG standard), so that
/// a test can tell a plot with shaded regions from one with white space and a few dots.
let private tintedShare (path: string) =
    let b = File.ReadAllBytes path
    let be (o: int) = (int b.[o] <<< 24) ||| (int b.[o + 1] <<< 16) ||| (int b.[o + 2] <<< 8) ||| int b.[o + 3]
    let width, height, depth, colour = be 16, be 20, int b.[24], int b.[25]
    Expect.isTrue (depth = 8 && (colour = 2 || colour = 6) && b.[28] = 0uy) (sprintf "%s: an 8-bit RGB(A) PNG without interlacing" path)
    use idat = new MemoryStream()
    let mutable o = 8
    while o < b.Length do
        let length = be o
        if Text.Encoding.ASCII.GetString(b, o + 4, 4) = "IDAT" then idat.Write(b, o + 8, length)
        o <- o + 12 + length
    use z = new Compression.ZLibStream(new MemoryStream(idat.ToArray()), Compression.CompressionMode.Decompress)
    use inflated = new MemoryStream()
    z.CopyTo inflated
    let raw = inflated.ToArray()
    let bpp = if colour = 6 then 4 else 3
    let stride = width * bpp
    let px = Array.zeroCreate<byte> (height * stride)
    for y in 0 .. height - 1 do
        let filter = raw.[y * (stride + 1)]
        for x in 0 .. stride - 1 do
            let r = int raw.[y * (stride + 1) + 1 + x]
            let a = if x >= bpp then int px.[y * stride + x - bpp] else 0
            let up = if y > 0 then int px.[(y - 1) * stride + x] else 0
            let c = if x >= bpp && y > 0 then int px.[(y - 1) * stride + x - bpp] else 0
            let predicted =
                match filter with
                | 0uy -> 0
                | 1uy -> a
                | 2uy -> up
                | 3uy -> (a + up) / 2
                | _ ->
                    let p = a + up - c
                    let pa, pb, pc = abs (p - a), abs (p - up), abs (p - c)
                    if pa <= pb && pa <= pc then a elif pb <= pc then up else c
            px.[y * stride + x] <- byte ((r + predicted) &&& 0xFF)
    let tinted =
        Seq.init (width * height) id
        |> Seq.filter (fun i -> let p = px.[i * bpp .. i * bpp + 2] in int (Array.max p) - int (Array.min p) >= 20)
        |> Seq.length
    float tinted / float (width * height)

/// A folder with the models the CLI makes (a pipeline, its ONNX export, an ONNX network and its model file made by
/// fnn import, a linear model) and their data, for the tests of the commands that read them.
let private withModels (f: string -> unit) =
    let dir = tempDir ()
    try
        let write name (text: string) = File.WriteAllText(Path.Combine(dir, name), text)
        File.WriteAllText(Path.Combine(dir, "iris.csv"), File.ReadAllText(Repo.path [ "src"; "Core.FSharp"; "Data"; "iris.csv" ]))
        let code, _, err, _ = run dir [ "train"; "--data"; "iris.csv"; "--epochs"; "5"; "--out"; "cls.fnn"; "--quiet" ]
        Expect.equal code 0 err
        let code, _, err, _ = run dir [ "export"; "--model"; "cls.fnn"; "--out"; "cls.onnx" ]
        Expect.equal code 0 err
        // A 2-input network as ONNX, and its model file made by fnn import.
        let net = FunctionalNN.NetworkBuilder(2).Dense(3, FunctionalNN.Activation.Tanh).Dense(1, FunctionalNN.Activation.Identity).Build()
        FunctionalNN.OnnxExtensions.ExportOnnx(net, Path.Combine(dir, "mlp.onnx"), FunctionalNN.OnnxModel.DefaultOpset)
        let code, _, err, _ = run dir [ "import"; "--onnx"; "mlp.onnx"; "--out"; "mlp.fnn" ]
        Expect.equal code 0 err
        let rows = [ for i in 0 .. 39 -> let a, b = float (i % 7), float ((i * 3) % 11) in sprintf "%g,%g,%g" a b (1.0 + 2.0 * a - 3.0 * b) ]
        write "lin.csv" ("a,b,y\n" + String.Join("\n", rows) + "\n")
        let code, _, err, _ = run dir [ "linear"; "--data"; "lin.csv"; "--out"; "lin.fnn" ]
        Expect.equal code 0 err
        write "semi.csv" "p;q;r\n1;2;9\n3;4;9\n"
        write "quoted.csv" "\"p\",\"q,x\",r\n1,2,3\n"
        write "missfeat.csv" "sepal_length,sepal_width,petal_length,petal_width,species\n5.1,,1.4,0.2,setosa\n6.0,3.0,4.5,1.5,versicolor\n"
        f dir
    finally Directory.Delete(dir, true)

[<Tests>]
let tests =
    testSequenced <| testList "CLI" [
        test "with no arguments: trains on Iris, test accuracy >= 0.93" {
            let code, out, err, seconds = run Repo.root []
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.isGreaterThanOrEqual (metric out "test accuracy: ") 0.93 out
            // A hang guard, not a performance measure (the run takes about a second; the benchmark measures speed).
            Expect.isLessThan seconds 60.0 "wall time of the whole process"
            // The library's defaults (TrainingOptions.Default): Adam 1e-3, batches of 32, at most 200 epochs, the plateau stop.
            for part in [ "layer 0: dense 4 -> 16, tanh, W 4x16 + b 16 = 80 parameters"; "total: 131 parameters"; "training: adam"; "at most 200 epochs"; "epoch 1/200: loss"; "confusion matrix" ] do
                Expect.stringContains out part "the report"
        }
        test "--dataset digits with a 64-32-10 network reaches test accuracy >= 0.95 (plain gradient descent)" {
            // The notes' gradient descent, stated option by option (the defaults are Adam with the plateau stop).
            let code, out, err, _ = run Repo.root [ "--dataset"; "digits"; "--layers"; "32"; "--optimizer"; "sgd"; "--batch-size"; "full"; "--lr"; "0.5"; "--epochs"; "500"; "--patience"; "off"; "--json" ]
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
                Expect.equal lines.[0] "petal_length,petal_width,predicted_species,p_setosa,p_versicolor,p_virginica" "header (the prediction column is predicted_<target>, docs/cli.md)"
                Expect.equal lines.Length 151 "one line per row"
                Expect.stringContains lines.[1] ",setosa," "the first flower is a setosa"
                // Setosa rows only (iris.csv's first 50 rows after the header): the other two classes are neither true
                // nor predicted (petal length under 2 cm is setosa's alone), so they have no scores, printed "-" and
                // left out of the macro F1 (scikit-learn's f1_score(average='macro') over unique_labels: 1.0).
                File.WriteAllLines(Path.Combine(dir, "setosa.csv"), File.ReadAllLines(Path.Combine(dir, "iris.csv")) |> Array.truncate 51)
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "iris.fnn"; "--data"; "setosa.csv" ]
                Expect.equal code 0 (sprintf "evaluate on setosa rows (stderr: %s)" err)
                Expect.stringContains out "macro F1: 1" "only setosa is true or predicted, and every row is right"
                let rows = out.Split('\n') |> Array.map (fun l -> l.Trim())
                for c in [ "versicolor"; "virginica" ] do
                    let row = rows |> Array.find (fun l -> l.StartsWith(c + " "))
                    Expect.equal (row.Split(' ', StringSplitOptions.RemoveEmptyEntries)) [| c; "-"; "-"; "-"; "0" |] (sprintf "%s has no scores and no support" c)
                Expect.stringContains out "has no scores; the macro F1 leaves it out" "the line saying why"
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
        test "one epoch reads '1 epoch'; a folder that takes no file is named without the tool's probe file" {
            let dir = tempDir ()
            // Iris has 120 training rows after the default split, 4 batches of 32: "1 epoch (4 steps)".
            let code, out, err, _ = run dir [ "train"; "--dataset"; "iris"; "--epochs"; "1" ]
            Expect.equal code 0 err
            Expect.stringContains out "after 1 epoch (4 steps)" "singular epoch"
            // /proc takes no new file (for root too): one line naming --out and the folder, not the probe's name.
            expectError dir [ "train"; "--dataset"; "iris"; "--epochs"; "1"; "--quiet"; "--out"; "/proc/m.fnn" ] 1 [ "--out /proc/m.fnn: the folder /proc does not take a new file" ] |> ignore
            let _, _, err, _ = run dir [ "train"; "--dataset"; "iris"; "--epochs"; "1"; "--quiet"; "--out"; "/proc/m.fnn" ]
            Expect.isFalse (err.Contains ".fnn-probe") (sprintf "no probe file named: %s" err)
        }
        test "after early stopping restored the best epoch, loss is that epoch's training loss and the restored epoch is named" {
            // The review's case: the plateau stop ends the run at epoch 200 and restores an earlier epoch k. The loss
            // reported must be the saved model's, that is, the loss printed by an independent run of exactly k epochs
            // (its last epoch is epoch k, bit for bit: same seed, split and batches), not epoch 200's.
            let args = [ "--dataset"; "iris"; "--validation-fraction"; "0.3"; "--patience"; "3"; "--lr"; "0.05"; "--optimizer"; "sgd"; "--seed"; "2" ]
            let code, out, err, _ = run Repo.root (args @ [ "--json" ])
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let j = json out
            Expect.equal (j.GetProperty("stop_reason").GetString()) "early_stopping" out
            let epochs = j.GetProperty("epochs").GetInt32()
            let k = j.GetProperty("best_epoch").GetInt32()
            Expect.equal k (epochs - 3) "the best epoch is patience epochs before the last"
            let code, shorter, err, _ = run Repo.root (args @ [ "--epochs"; string k; "--json" ])
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let s = json shorter
            Expect.equal (s.GetProperty("stop_reason").GetString()) "max_epochs" "the k-epoch run ends at its limit"
            // Epoch k improved on the best before it (it is the long run's best), so it is the k-epoch run's best too,
            // which the epoch limit returns as well: best_epoch k, its last.
            Expect.equal (s.GetProperty("best_epoch").GetInt32()) k "the k-epoch run's best epoch is its last"
            Expect.equal (s.GetProperty("log_loss").GetDouble()) (j.GetProperty("log_loss").GetDouble()) "the same model is evaluated"
            Expect.equal (j.GetProperty("loss").GetDouble()) (s.GetProperty("loss").GetDouble()) "the restored epoch's training loss"
            let code, text, err, _ = run Repo.root args
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let loss = s.GetProperty("loss").GetDouble().ToString("G6", Globalization.CultureInfo.InvariantCulture)
            Expect.stringContains text (sprintf "backend; best epoch %d restored; final training loss %s" k loss) "the stopped: line"
        }
        test "linear prints the notes' least-squares coefficients of the commute data by name" {
            // The notes fit all 5 rows: --test-fraction 0 (the default holds out 20% for a test R^2).
            let code, out, err, _ = run Repo.root [ "linear"; "--dataset"; "commute"; "--test-fraction"; "0" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let code, jsonText, err, _ = run Repo.root [ "linear"; "--dataset"; "commute"; "--test-fraction"; "0"; "--json" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let j = json jsonText
            // W* = [6.08613445378149, 6.53361344537816, 2.11274509803922] (Data/README.md, the notes' example):
            // printed as %g (6 significant digits), every digit in the JSON.
            for name, key, value, printed in [ "(intercept)", "intercept", 6.08613445378149, "6.08613"
                                               "distance_km", "coefficient_distance_km", 6.53361344537816, "6.53361"
                                               "weekday", "coefficient_weekday", 2.11274509803922, "2.11275" ] do
                let line = out.Split('\n') |> Array.find (fun l -> l.StartsWith name)
                Expect.equal (line.Substring(name.Length).Trim()) printed name
                Expect.floatClose { absolute = 1e-10; relative = 1e-10 } (j.GetProperty(key).GetDouble()) value name
        }
        test "linear refuses the data options and --target with --dataset, as train and explain do" {
            for args in [ [ "--separator"; ";" ]; [ "--no-header" ]; [ "--missing"; "mean" ]; [ "--missing-values"; "NA" ] ] do
                for cmd in [ [ "linear" ]; [ "train" ]; [ "explain"; "--model"; "none.fnn" ] ] do
                    expectError Repo.root (cmd @ [ "--dataset"; "commute" ] @ args) 2
                        [ "--separator, --quote, --no-header, --missing, --missing-values and --text-columns go with --data" ] |> ignore
            for cmd in [ "linear"; "train" ] do
                expectError Repo.root [ cmd; "--dataset"; "commute"; "--target"; "y" ] 2
                    [ "--target goes with --data; an embedded data set has its own target" ] |> ignore
        }
        test "linear --missing mean fills an empty feature cell with the training rows' mean before the fit" {
            let dir = tempDir ()
            try
                // x2 is missing on line 3. By hand: the mean of x2's present values 2, 1, 4, 7 is 3.5, and every y is
                // 1 + 2 x1 + 3 x2 with that 3.5 in its place (line 3: 1 + 4 + 10.5 = 15.5), so the fit of every row is
                // exact: intercept 1, x1 2, x2 3, training R^2 1. The median (3) would not fit exactly.
                File.WriteAllText(Path.Combine(dir, "m.csv"), "x1,x2,y\n1,2,9\n2,,15.5\n3,1,10\n4,4,21\n5,7,32\n")
                let code, out, err, _ = run dir [ "linear"; "--data"; "m.csv"; "--missing"; "mean"; "--test-fraction"; "0"; "--json" ]
                Expect.equal code 0 (sprintf "linear --missing mean (stderr: %s)" err)
                let j = json out
                let close what expected (name: string) = Expect.floatClose { absolute = 1e-9; relative = 1e-9 } (j.GetProperty(name).GetDouble()) expected what
                close "intercept" 1.0 "intercept"
                close "x1" 2.0 "coefficient_x1"
                close "x2" 3.0 "coefficient_x2"
                close "exact fit" 1.0 "train_r2"
                Expect.equal (j.GetProperty("train_samples").GetInt32()) 5 "no row dropped"
                let code, out, err, _ = run dir [ "linear"; "--data"; "m.csv"; "--missing"; "mean"; "--test-fraction"; "0" ]
                Expect.equal code 0 err
                Expect.stringContains out "missing values: 1 cell filled with the training rows' mean" "the report says so"
                // --median fills 3 (of 1, 2, 4, 7): no longer an exact fit. --missing drop fits the 4 complete rows exactly.
                let code, out, err, _ = run dir [ "linear"; "--data"; "m.csv"; "--missing"; "median"; "--test-fraction"; "0"; "--json" ]
                Expect.equal code 0 err
                Expect.isLessThan ((json out).GetProperty("train_r2").GetDouble()) 0.999 "median fill"
                let code, out, err, _ = run dir [ "linear"; "--data"; "m.csv"; "--missing"; "drop"; "--test-fraction"; "0"; "--json" ]
                Expect.equal code 0 err
                Expect.equal ((json out).GetProperty("train_samples").GetInt32()) 4 "drop"
                // With a test split the test rows are filled too (from the training rows), so both R^2 are numbers.
                let code, out, err, _ = run dir [ "linear"; "--data"; "m.csv"; "--missing"; "mean"; "--test-fraction"; "0.4"; "--json" ]
                Expect.equal code 0 err
                Expect.isTrue (Double.IsFinite((json out).GetProperty("mse").GetDouble())) "test MSE"
            finally Directory.Delete(dir, true)
        }
        test "linear --missing mean keeps its fill values: evaluate and predict of its file fill missing cells as the training rows were" {
            let dir = tempDir ()
            try
                // x2 is missing on line 3; the training means (by hand) are x1: 3 (of 1..5), x2: 3.5 (of 2, 1, 4, 7), and
                // the filled rows fit y = 1 + 2 x1 + 3 x2 exactly (as in the test above).
                File.WriteAllText(Path.Combine(dir, "m.csv"), "x1,x2,y\n1,2,9\n2,,15.5\n3,1,10\n4,4,21\n5,7,32\n")
                let code, out, err, _ = run dir [ "linear"; "--data"; "m.csv"; "--missing"; "mean"; "--test-fraction"; "0"; "--out"; "m.fnn"; "--json" ]
                Expect.equal code 0 err
                let j = json out
                Expect.equal (j.GetProperty("missing").GetString()) "mean" "the policy in the JSON"
                Expect.equal (j.GetProperty("missing_filled").GetInt32()) 1 "one cell filled, in the JSON"
                let code, out, err, _ = run dir [ "linear"; "--data"; "m.csv"; "--missing"; "mean"; "--test-fraction"; "0" ]
                Expect.equal code 0 err
                Expect.stringContains out "missing values: 1 cell filled with the training rows' mean (the model keeps the fill values" "the report"
                Expect.isFalse (out.Contains "keeps no fill values") "no longer says the file keeps none"
                // Row 1 has x2 missing, row 2 the same row with the training mean 3.5 typed in, row 3 has x1 missing (3).
                // By hand: 1 + 2 * 4 + 3 * 3.5 = 19.5 for rows 1 and 2, 1 + 2 * 3 + 3 * 1 = 10 for row 3. The file's
                // target column, empty on row 1, is not read: no row is dropped.
                File.WriteAllText(Path.Combine(dir, "new.csv"), "x1,x2,y\n4,NA,\n4,3.5,\n,1,\n")
                let code, out, err, _ = run dir [ "predict"; "--model"; "m.fnn"; "--data"; "new.csv" ]
                Expect.equal code 0 (sprintf "predict fills the missing cells (stderr: %s)" err)
                let lines = out.Trim().Split('\n')
                Expect.equal lines.[0] "x1,x2,predicted_y" "the header"
                Expect.equal lines.Length 4 "one line per row"
                let cells = lines.[1..] |> Array.map (fun l -> l.Split(','))
                Expect.equal (cells |> Array.map (fun c -> c.[0], c.[1])) [| "4", ""; "4", "3.5"; "", "1" |] "the feature cells as read, a missing one empty"
                let predicted = cells |> Array.map (fun c -> Double.Parse(c.[2], Globalization.CultureInfo.InvariantCulture))
                Expect.equal predicted.[0] predicted.[1] "a missing cell predicts as the training mean typed in, bit for bit"
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } predicted.[0] 19.5 "1 + 8 + 10.5"
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } predicted.[2] 10.0 "1 + 6 + 3"
                // evaluate fills them too (every y below is the model's exact prediction, by hand as above); --missing drop
                // leaves the rows with a missing cell out, and --missing median still fills with the model's means.
                File.WriteAllText(Path.Combine(dir, "lab.csv"), "x1,x2,y\n4,NA,19.5\n,1,10\n2,3,14\n")
                for extra, samples in [ [], 3; [ "--missing"; "median" ], 3; [ "--missing"; "drop" ], 1 ] do
                    let code, out, err, _ = run dir ([ "evaluate"; "--model"; "m.fnn"; "--data"; "lab.csv"; "--json" ] @ extra)
                    Expect.equal code 0 (sprintf "evaluate %A (stderr: %s)" extra err)
                    let j = json out
                    Expect.equal (j.GetProperty("samples").GetInt32()) samples (sprintf "rows evaluated, %A" extra)
                    Expect.floatClose { absolute = 1e-12; relative = 0.0 } (j.GetProperty("mse").GetDouble()) 0.0 (sprintf "exact predictions, %A" extra)
                // A model fitted with --missing drop keeps no fill values: a missing cell is the error it always was.
                let code, out, err, _ = run dir [ "linear"; "--data"; "m.csv"; "--missing"; "drop"; "--test-fraction"; "0"; "--out"; "d.fnn"; "--json" ]
                Expect.equal code 0 err
                Expect.equal ((json out).GetProperty("missing").GetString(), (json out).GetProperty("missing_filled").GetInt32()) ("drop", 0) "nothing filled"
                // The same for a file of the earlier format: m.fnn without its 'missing' and 'fill' entries.
                let c = Functional.NN.ModelContainer.read (File.ReadAllBytes(Path.Combine(dir, "m.fnn")))
                Expect.isTrue (c.Entries |> List.exists (fun (n, _) -> n = "fill")) "m.fnn keeps its fill values"
                File.WriteAllBytes(Path.Combine(dir, "older.fnn"), Functional.NN.ModelContainer.write { c with Entries = c.Entries |> List.filter (fun (n, _) -> n <> "missing" && n <> "fill") })
                for model in [ "d.fnn"; "older.fnn" ] do
                    // The first bad cell row by row: 'NA' on line 2, a missing-value marker as evaluate reads it (review
                    // finding: predict called it "not a finite number"), before the empty x1 on line 4.
                    // Review finding: predict said "every feature needs a number." without evaluate's advice; now both
                    // give the one message (predict takes --missing drop as evaluate does).
                    expectError dir [ "predict"; "--model"; model; "--data"; "new.csv" ] 1 [ "Line 2, column 'x2': the value is missing ('NA'); the linear model was fitted without fill values: use --missing drop to skip the rows with missing values, or refit it with fnn linear --missing mean|median|most_frequent" ] |> ignore
                    // Any case, as the reader takes markers; in quotes (in a file that quotes not every field) "NA" is text.
                    File.WriteAllText(Path.Combine(dir, "na.csv"), "x1,x2,y\n1,2,3\n2,nUlL,5\n")
                    expectError dir [ "predict"; "--model"; model; "--data"; "na.csv" ] 1 [ "Line 3, column 'x2': the value is missing ('nUlL'); the linear model was fitted without fill values: use --missing drop to skip the rows with missing values, or refit it with fnn linear --missing mean|median|most_frequent" ] |> ignore
                    File.WriteAllText(Path.Combine(dir, "quoted.csv"), "x1,x2,y\n1,2,3\n2,\"NA\",5\n")
                    expectError dir [ "predict"; "--model"; model; "--data"; "quoted.csv" ] 1 [ "Line 3, column 'x2': 'NA' is not a finite number." ] |> ignore
                    // The first missing cell row by row: 'NA' in x2 on line 2 (before the empty x1 on line 3).
                    expectError dir [ "evaluate"; "--model"; model; "--data"; "lab.csv" ] 1 [ "Line 2, column 'x2': the value is missing ('NA')"; "use --missing drop"; "refit it with fnn linear --missing mean|median|most_frequent" ] |> ignore
                    let _, _, evaluateErr, _ = run dir [ "evaluate"; "--model"; model; "--data"; "lab.csv" ]
                    let _, _, predictErr, _ = run dir [ "predict"; "--model"; model; "--data"; "lab.csv" ]
                    Expect.equal predictErr evaluateErr "predict and evaluate give the same line for the same missing cell"
                    let code, out, err, _ = run dir [ "evaluate"; "--model"; model; "--data"; "lab.csv"; "--missing"; "drop"; "--json" ]
                    Expect.equal code 0 err
                    Expect.equal ((json out).GetProperty("samples").GetInt32()) 1 "drop still drops"
            finally Directory.Delete(dir, true)
        }
        test "a linear model reads numbers only: evaluate refuses a text feature as predict does, naming the first cell that is not a number; without fill values --missing mean is a usage error" {
            let dir = tempDir ()
            try
                File.WriteAllText(Path.Combine(dir, "lin.csv"), "a,b,y\n1,2,3\n2,,5\n3,1,4\n4,3,8\n5,2,9\n6,4,12\n7,,13\n8,5,16\n")
                for policy, file in [ "mean", "lin.fnn"; "drop", "lin0.fnn" ] do
                    let code, _, err, _ = run dir [ "linear"; "--data"; "lin.csv"; "--missing"; policy; "--test-fraction"; "0"; "--out"; file ]
                    Expect.equal code 0 err
                // Column b of evtxt.csv is text: its first cell, 'x' on line 2, is no number. Column b of late.csv holds the
                // numbers 2 and 4 first; its first cell that is not a number is 'x' on line 4.
                File.WriteAllText(Path.Combine(dir, "evtxt.csv"), "a,b,y\n1,x,3\n2,z,5\n3,x,4\n")
                File.WriteAllText(Path.Combine(dir, "late.csv"), "a,b,y\n1,2,3\n3,4,5\n5,x,6\n")
                for data, cell in [ "evtxt.csv", "Line 2, column 'b': 'x' is not a finite number."; "late.csv", "Line 4, column 'b': 'x' is not a finite number." ] do
                    for model in [ "lin.fnn"; "lin0.fnn" ] do
                        for command in [ "evaluate"; "predict" ] do
                            expectError dir [ command; "--model"; model; "--data"; data ] 1 [ cell ] |> ignore
                // Review finding: a missing cell (b, line 3) before a text cell (b, line 4). Without fill values the first
                // bad cell row by row is the missing one, at evaluate as at predict (evaluate named line 4); with fill
                // values the missing cell is filled and the text cell is the error.
                File.WriteAllText(Path.Combine(dir, "gap.csv"), "a,b,y\n1,2,3\n2,,5\n3,x,8\n")
                expectError dir [ "evaluate"; "--model"; "lin0.fnn"; "--data"; "gap.csv" ] 1
                            [ "Line 3, column 'b': the value is missing (an empty field); the linear model was fitted without fill values" ] |> ignore
                expectError dir [ "predict"; "--model"; "lin0.fnn"; "--data"; "gap.csv" ] 1
                            [ "Line 3, column 'b': the value is missing (an empty field); the linear model was fitted without fill values" ] |> ignore
                for command in [ "evaluate"; "predict" ] do
                    expectError dir [ command; "--model"; "lin.fnn"; "--data"; "gap.csv" ] 1 [ "Line 4, column 'b': 'x' is not a finite number." ] |> ignore
                // Row by row, not column by column: an empty b on line 2 before an empty a on line 3 (predict read column a
                // first and named line 3).
                File.WriteAllText(Path.Combine(dir, "gap2.csv"), "a,b,y\n1,,3\n,2,5\n")
                expectError dir [ "predict"; "--model"; "lin0.fnn"; "--data"; "gap2.csv" ] 1 [ "Line 2, column 'b': the value is missing (an empty field)" ] |> ignore
                expectError dir [ "evaluate"; "--model"; "lin0.fnn"; "--data"; "gap2.csv" ] 1 [ "Line 2, column 'b': the value is missing (an empty field)" ] |> ignore
                // A model without fill values: an imputing --missing is refused before the data are read (exit 2, as for a
                // pipeline trained without imputation); by default a missing cell (b on line 3) is an error naming its line
                // and column, whose advice is what works for this model.
                for policy in [ "mean"; "median"; "most_frequent" ] do
                    for command in [ "evaluate"; "predict" ] do
                        expectError dir [ command; "--model"; "lin0.fnn"; "--data"; "lin.csv"; "--missing"; policy ] 2 [ sprintf "--missing %s:" policy; "lin0.fnn has no fill values"; "use --missing drop" ] |> ignore
                let err = expectError dir [ "evaluate"; "--model"; "lin0.fnn"; "--data"; "lin.csv" ] 1 [ "Line 3, column 'b': the value is missing (an empty field)"; "use --missing drop" ]
                Expect.isFalse (err.Contains "x holds NaN") "not the matrix check's message"
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "lin0.fnn"; "--data"; "lin.csv"; "--missing"; "drop"; "--json" ]
                Expect.equal code 0 err
                Expect.equal ((json out).GetProperty("samples").GetInt32()) 6 "the 6 complete rows"
            finally Directory.Delete(dir, true)
        }
        test "predict of a linear model takes the data options of its evaluate; --unknown-category goes with pipeline models" {
            let dir = tempDir ()
            try
                // Review finding: predict of a linear model refused --no-header ("unknown option"). No header, ';', the
                // target first: y = 1 + 2a - 3b exactly (a = i mod 4, b = 3i mod 5), so the fit is y = 1 + 2 column2 - 3 column3.
                let rows = [ for i in 0 .. 9 -> let a, b = i % 4, (i * 3) % 5 in sprintf "%d;%d;%d" (1 + 2 * a - 3 * b) a b ]
                File.WriteAllText(Path.Combine(dir, "nh.csv"), String.Join("\n", rows) + "\n")
                let code, _, err, _ = run dir [ "linear"; "--data"; "nh.csv"; "--no-header"; "--separator"; ";"; "--target"; "column1"; "--test-fraction"; "0"; "--out"; "nh.fnn" ]
                Expect.equal code 0 err
                // '?' is a missing-value marker of --missing-values here; --missing drop leaves its row out (the target
                // column is not read). By hand: 1 + 4 - 3 = 2 and 1 + 6 - 0 = 7.
                File.WriteAllText(Path.Combine(dir, "new.csv"), "5;2;1\n?;1;?\n7;3;0\n")
                let code, out, err, _ = run dir [ "predict"; "--model"; "nh.fnn"; "--data"; "new.csv"; "--no-header"; "--separator"; ";"; "--missing-values"; "?"; "--missing"; "drop" ]
                Expect.equal code 0 (sprintf "predict with the data options (stderr: %s)" err)
                let lines = out.Trim().Split('\n')
                Expect.equal lines.[0] "column2,column3,predicted_column1" "the header names the columns as read without a header"
                let predicted = lines.[1..] |> Array.map (fun l -> Double.Parse(l.Split(',').[2], Globalization.CultureInfo.InvariantCulture))
                Expect.equal predicted.Length 2 "the row with a missing cell is left out"
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } predicted.[0] 2.0 "1 + 2*2 - 3*1"
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } predicted.[1] 7.0 "1 + 2*3 - 3*0"
                // --quote: every cell quoted with '. By hand: 1 + 2*2 - 3*1 = 2, 1 + 2*1 - 3*2 = -3.
                File.WriteAllText(Path.Combine(dir, "quoted.csv"), "'5';'2';'1'\n'0';'1';'2'\n")
                let code, out, err, _ = run dir [ "predict"; "--model"; "nh.fnn"; "--data"; "quoted.csv"; "--no-header"; "--separator"; ";"; "--quote"; "'" ]
                Expect.equal code 0 (sprintf "predict with --quote (stderr: %s)" err)
                let predicted = out.Trim().Split('\n').[1..] |> Array.map (fun l -> Double.Parse(l.Split(',').[2], Globalization.CultureInfo.InvariantCulture))
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } predicted.[0] 2.0 "first row"
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } predicted.[1] -3.0 "second row"
                // Without --missing drop the marker is a missing cell: evaluate's message (line 2, column3; column1 is the target).
                expectError dir [ "predict"; "--model"; "nh.fnn"; "--data"; "new.csv"; "--no-header"; "--separator"; ";"; "--missing-values"; "?" ] 1
                    [ "Line 2, column 'column3': the value is missing ('?'); the linear model was fitted without fill values: use --missing drop" ] |> ignore
                // --unknown-category has nothing to act on in a linear model: a usage error saying whose option it is.
                for command in [ [ "predict" ]; [ "evaluate" ]; [ "explain" ] ] do
                    expectError dir (command @ [ "--model"; "nh.fnn"; "--data"; "nh.csv"; "--no-header"; "--separator"; ";"; "--unknown-category"; "zeros" ]) 2
                        [ "--unknown-category goes with pipeline models, not linear models" ] |> ignore
                expectError dir [ "linear"; "--data"; "nh.csv"; "--no-header"; "--unknown-category"; "zeros" ] 2 [ "--unknown-category goes with pipeline models, not linear models" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "linear --features fits the named columns only, leaving out an ID and a text column; evaluate and predict read them by name" {
            let dir = tempDir ()
            try
                // An ID column and a text column (as modechoice's mode read as air/train/bus/car) beside the numeric x1, x2.
                let x1 = [| 1; 2; 3; 4; 5; 6; 7; 8 |]
                let x2 = [| 2; 1; 4; 3; 6; 5; 8; 9 |]
                let y = [| "3.1"; "4.9"; "7.2"; "8.8"; "11.1"; "13.0"; "15.2"; "16.7" |]
                let modes = [| "air"; "train"; "bus"; "car" |]
                let rows = [ for i in 0 .. 7 -> sprintf "%d;%s;%d;%d;%s" (100 + i) modes.[i % 4] x1.[i] x2.[i] y.[i] ]
                File.WriteAllText(Path.Combine(dir, "mc.csv"), "individual;mode;x1;x2;y\n" + String.Join("\n", rows) + "\n")
                // Without --features the text column is refused, and the message points to --features.
                expectError dir [ "linear"; "--data"; "mc.csv"; "--target"; "y" ] 1 [ "the column 'mode' holds text"; "--features" ] |> ignore
                let code, out, err, _ = run dir [ "linear"; "--data"; "mc.csv"; "--target"; "y"; "--features"; "x1,x2"; "--test-fraction"; "0"; "--out"; "mc.fnn"; "--json" ]
                Expect.equal code 0 (sprintf "linear --features (stderr: %s)" err)
                let j = json out
                // Expected values: scikit-learn's LinearRegression().fit on the columns x1, x2 and y above (numpy.linalg.lstsq
                // with an intercept column agrees to 1e-15): intercept 1.092156862745096, coefficients 1.8843137254901967 and
                // 0.09019607843137238, R^2 0.9989972722002034.
                let close (name: string) (expected: float) = Expect.floatClose { absolute = 1e-10; relative = 1e-10 } (j.GetProperty(name).GetDouble()) expected name
                close "intercept" 1.092156862745096
                close "coefficient_x1" 1.8843137254901967
                close "coefficient_x2" 0.09019607843137238
                close "train_r2" 0.9989972722002034
                Expect.isFalse (out.Contains "coefficient_individual") "the ID column is not a feature"
                // evaluate and predict of the model read x1 and x2 by name from the file with the text column in it.
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "mc.fnn"; "--data"; "mc.csv"; "--json" ]
                Expect.equal code 0 (sprintf "evaluate (stderr: %s)" err)
                Expect.floatClose { absolute = 1e-10; relative = 0.0 } ((json out).GetProperty("r2").GetDouble()) 0.9989972722002034 "scikit-learn's R^2"
                File.WriteAllText(Path.Combine(dir, "new.csv"), "mode;x2;x1\nbus;3;2.5\n")
                let code, out, err, _ = run dir [ "predict"; "--model"; "mc.fnn"; "--data"; "new.csv" ]
                Expect.equal code 0 (sprintf "predict (stderr: %s)" err)
                let lines = out.Trim().Split('\n')
                Expect.equal lines.[0] "x1,x2,predicted_y" "the model's columns, by name"
                // scikit-learn's predict([[2.5, 3.0]]) = 6.073529411764706.
                Expect.floatClose { absolute = 1e-10; relative = 0.0 } (Double.Parse(lines.[1].Split(',').[2], Globalization.CultureInfo.InvariantCulture)) 6.073529411764706 "the prediction"
                // As fnn train's --features: a name that finds no column, a column named twice, a text column named.
                expectError dir [ "linear"; "--data"; "mc.csv"; "--target"; "y"; "--features"; "x1,nope" ] 1 [ "--features: the column name 'nope' matches no column" ] |> ignore
                expectError dir [ "linear"; "--data"; "mc.csv"; "--target"; "y"; "--features"; "x1,x1" ] 2 [ "--features names the column 'x1' twice" ] |> ignore
                expectError dir [ "linear"; "--data"; "mc.csv"; "--target"; "y"; "--features"; "x1,mode" ] 1 [ "the column 'mode' holds text"; "name numeric columns only with --features" ] |> ignore
                // The embedded commute data: weekday alone. By hand: the weekday rows' mean commute minus the weekend's.
                let code, out, err, _ = run dir [ "linear"; "--dataset"; "commute"; "--features"; "weekday"; "--test-fraction"; "0"; "--json" ]
                Expect.equal code 0 err
                Expect.isFalse (out.Contains "coefficient_distance_km") "distance_km left out"
                // commute.csv: weekday rows 25, 33, 45 (mean 103/3), weekend rows 15, 22 (mean 18.5): 103/3 - 18.5 = 95/6.
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } ((json out).GetProperty("coefficient_weekday").GetDouble()) (95.0 / 6.0) "the difference of the means"
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } ((json out).GetProperty("intercept").GetDouble()) 18.5 "the weekend mean"
            finally Directory.Delete(dir, true)
        }
        test "explain of a linear model: attributions w_i (x_i - b_i) from the data's mean, permutation importance in R^2" {
            let dir = tempDir ()
            try
                // y = 1 + 2a - 3b exactly (a = i mod 7, b = 3i mod 11, 40 rows): the least-squares coefficients are 2 and -3.
                let ab = [ for i in 0 .. 39 -> float (i % 7), float ((i * 3) % 11) ]
                let rows = [ for a, b in ab -> sprintf "%g,%g,%g" a b (1.0 + 2.0 * a - 3.0 * b) ]
                File.WriteAllText(Path.Combine(dir, "lin.csv"), "a,b,y\n" + String.Join("\n", rows) + "\n")
                let code, _, err, _ = run dir [ "linear"; "--data"; "lin.csv"; "--test-fraction"; "0"; "--out"; "lin.fnn" ]
                Expect.equal code 0 err
                // Review finding: "explain takes pipeline models; lin.fnn holds a linear model". By hand: the baseline is the
                // columns' means, and row 5 (a = 5, b = 4) gets 2 (5 - mean a) and -3 (4 - mean b).
                let meanA, meanB = ab |> List.averageBy fst, ab |> List.averageBy snd
                for methodName in [ "integrated_gradients"; "gradient_x_input" ] do
                    let code, out, err, _ = run dir [ "explain"; "--model"; "lin.fnn"; "--data"; "lin.csv"; "--row"; "5"; "--method"; methodName; "--json" ]
                    Expect.equal code 0 (sprintf "explain %s (stderr: %s)" methodName err)
                    let j = json out
                    let features = j.GetProperty("features").EnumerateArray() |> Seq.toArray
                    Expect.equal (features |> Array.map (fun f -> f.GetProperty("name").GetString())) [| "a"; "b" |] "the model's features"
                    let get (k: int) (name: string) = features.[k].GetProperty(name).GetDouble()
                    let close (actual: float) (expected: float) what = Expect.floatClose { absolute = 1e-9; relative = 0.0 } actual expected what
                    close (get 0 "baseline") meanA "a's baseline: its mean"
                    close (get 1 "baseline") meanB "b's baseline: its mean"
                    close (get 0 "attribution") (2.0 * (5.0 - meanA)) "2 (a - mean a)"
                    close (get 1 "attribution") (-3.0 * (4.0 - meanB)) "-3 (b - mean b)"
                    close (j.GetProperty("f_x").GetDouble()) (1.0 + 2.0 * 5.0 - 3.0 * 4.0) "f(x) = 1 + 10 - 12"
                    Expect.equal (j.GetProperty("output").GetString()) "predicted y" "the target's prediction"
                    Expect.stringContains (j.GetProperty("baseline").GetString()) "the mean of the 40 rows of lin.csv" "the baseline said"
                let code, out, err, _ = run dir [ "explain"; "--model"; "lin.fnn"; "--data"; "lin.csv"; "--row"; "5" ]
                Expect.equal code 0 err
                Expect.stringContains out "Integrated gradients of predicted y" "the text names the target"
                // Permutation importance: the exact fit scores R^2 = 1; shuffling a column j changes the prediction by
                // w_j (x_pi - x), whose expected square sum over uniform shuffles is w_j^2 2 n var(x_j) (population
                // variance), so the expected drop is 2 w_j^2 var(x_j) / var(y): checked to 20% with 200 repeats.
                let code, out, err, _ = run dir [ "explain"; "--model"; "lin.fnn"; "--data"; "lin.csv"; "--method"; "permutation"; "--repeats"; "200"; "--json" ]
                Expect.equal code 0 (sprintf "explain --method permutation (stderr: %s)" err)
                let j = json out
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } (j.GetProperty("baseline_score").GetDouble()) 1.0 "R^2 of the exact fit"
                let var (xs: float list) = let m = List.average xs in xs |> List.averageBy (fun x -> (x - m) ** 2.0)
                let ys = [ for a, b in ab -> 1.0 + 2.0 * a - 3.0 * b ]
                let expected = [| 2.0 * 4.0 * var (List.map fst ab) / var ys; 2.0 * 9.0 * var (List.map snd ab) / var ys |]
                let means = j.GetProperty("features").EnumerateArray() |> Seq.map (fun f -> f.GetProperty("mean").GetDouble()) |> Seq.toArray
                for k in 0 .. 1 do
                    Expect.floatClose { absolute = 0.0; relative = 0.2 } means.[k] expected.[k] (sprintf "feature %d's mean drop near 2 w^2 var(x) / var(y)" k)
                // The options with nothing to act on in a linear model are usage errors saying so.
                for extra, fragment in [ [ "--steps"; "4" ], "--steps goes with pipeline models, not linear models"
                                         [ "--tolerance"; "1e-3" ], "--tolerance goes with pipeline models, not linear models"
                                         [ "--backend"; "kernels" ], "--backend goes with pipeline models, not linear models"
                                         [ "--class"; "y" ], "--class is for classifiers; a linear model is a regressor"
                                         [ "--output"; "logit" ], "--output is for classifiers" ] do
                    expectError dir ([ "explain"; "--model"; "lin.fnn"; "--data"; "lin.csv" ] @ extra) 2 [ fragment ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "linear holds out a test split and reports its R^2; its model file works with evaluate and predict" {
            let dir = tempDir ()
            try
                // y = 1 + 2a - 3b exactly, 40 rows: least squares recovers it, so every R^2 is 1 up to rounding (hand derivation).
                let rows = [ for i in 0 .. 39 -> let a, b = float (i % 7), float ((i * 3) % 11) in sprintf "%g,%g,%g" a b (1.0 + 2.0 * a - 3.0 * b) ]
                File.WriteAllText(Path.Combine(dir, "lin.csv"), "a,b,y\n" + String.Join("\n", rows) + "\n")
                let code, out, err, _ = run dir [ "linear"; "--data"; "lin.csv"; "--out"; "lin.fnn"; "--json" ]
                Expect.equal code 0 err
                let j = json out
                Expect.equal (j.GetProperty("train_samples").GetInt32(), j.GetProperty("test_samples").GetInt32()) (32, 8) "80/20 split of 40 rows"
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } (j.GetProperty("r2").GetDouble()) 1.0 "test R^2"
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "lin.fnn"; "--data"; "lin.csv"; "--json" ]
                Expect.equal code 0 err
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } ((json out).GetProperty("r2").GetDouble()) 1.0 "evaluate reads the linear model"
                // The model file keeps the target's name: predict names its column without --target.
                let code, out, err, _ = run dir [ "predict"; "--model"; "lin.fnn"; "--data"; "lin.csv" ]
                Expect.equal code 0 err
                let lines = out.Trim().Split('\n')
                Expect.equal lines.[0] "a,b,predicted_y" "the header names the model's target"
                // Row 2: a = 1, b = 3, y = 1 + 2 - 9 = -6.
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } (Double.Parse(lines.[2].Split(',').[2], Globalization.CultureInfo.InvariantCulture)) -6.0 "a prediction"
                // The target first (y,a,b): the model file keeps the target's name, so evaluate needs no --target, as for a
                // network (R^2 1, as above); predict names the column predicted_y.
                File.WriteAllText(Path.Combine(dir, "first.csv"), "y,a,b\n" + String.Join("\n", rows |> List.map (fun r -> let p = r.Split(',') in String.Join(",", p.[2], p.[0], p.[1]))) + "\n")
                let code, _, err, _ = run dir [ "linear"; "--data"; "first.csv"; "--target"; "y"; "--out"; "first.fnn" ]
                Expect.equal code 0 err
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "first.fnn"; "--data"; "first.csv"; "--json" ]
                Expect.equal code 0 err
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } ((json out).GetProperty("r2").GetDouble()) 1.0 "evaluate without --target"
                let code, out, err, _ = run dir [ "predict"; "--model"; "first.fnn"; "--data"; "first.csv" ]
                Expect.equal code 0 err
                Expect.equal (out.Split('\n').[0]) "a,b,predicted_y" "predict's header"
                // A file of the earlier format holds no target name (the same entries without "targets"): evaluate without
                // --target would read the last column b, a feature: a usage error naming --target; with --target y it evaluates.
                let c = Functional.NN.ModelContainer.read (File.ReadAllBytes(Path.Combine(dir, "first.fnn")))
                File.WriteAllBytes(Path.Combine(dir, "older.fnn"), Functional.NN.ModelContainer.write { c with Entries = c.Entries |> List.filter (fun (n, _) -> n <> "targets") })
                expectError dir [ "evaluate"; "--model"; "older.fnn"; "--data"; "first.csv" ] 2 [ "holds no target name"; "'b', is one of its features"; "--target" ] |> ignore
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "older.fnn"; "--data"; "first.csv"; "--target"; "y"; "--json" ]
                Expect.equal code 0 err
                Expect.floatClose { absolute = 1e-9; relative = 0.0 } ((json out).GetProperty("r2").GetDouble()) 1.0 "evaluate with --target"
            finally Directory.Delete(dir, true)
        }
        test "predict and evaluate read a model's numeric column as numbers even quoted in every cell, and name a cell that is not a finite number by its line" {
            // A review: predict read "1" quoted in every cell as the number 1, while evaluate refused the same file
            // (its reader took the column for text categories) and advised F# functions. Expected: both read it;
            // "inf" (not finite) is named by its line and column in both.
            let dir = tempDir ()
            try
                let rows = [ for i in 0 .. 59 -> sprintf "%s,%d,%s" [| "red"; "green" |].[i % 2] (i % 9) (if i % 2 = 0 then "stop" else "go") ]
                File.WriteAllText(Path.Combine(dir, "t.csv"), String.Join("\n", "color,size,label" :: rows) + "\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "t.csv"; "--target"; "label"; "--epochs"; "3"; "--out"; "m.fnn"; "--quiet" ]
                Expect.equal code 0 err
                File.WriteAllText(Path.Combine(dir, "q.csv"), "color,size,label\nred,\"1\",stop\ngreen,\" 7.5 \",go\n")
                let code, out, err, _ = run dir [ "predict"; "--model"; "m.fnn"; "--data"; "q.csv" ]
                Expect.equal code 0 err
                Expect.equal (out.Trim().Split('\n').Length) 3 "a header and two rows"
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "m.fnn"; "--data"; "q.csv"; "--json" ]
                Expect.equal code 0 err
                Expect.equal ((json out).GetProperty("samples").GetInt32()) 2 "both rows evaluated"
                File.WriteAllText(Path.Combine(dir, "inf.csv"), "color,size,label\nred,\"inf\",stop\ngreen,\"7\",go\n")
                for command in [ "predict"; "evaluate" ] do
                    expectError dir [ command; "--model"; "m.fnn"; "--data"; "inf.csv" ] 1 [ "Line 2, column 'size': 'inf' is not a finite number" ] |> ignore
                // Reviews: a target name that matches two columns ignoring case names where it came from (the model, or
                // --target); an empty --target is a usage error naming the option (it said 'target is null or blank', exit 1).
                File.WriteAllText(Path.Combine(dir, "amb.csv"), "color,size,Label,LABEL,Truth,TRUTH\nred,1,stop,stop,stop,stop\n")
                expectError dir [ "evaluate"; "--model"; "m.fnn"; "--data"; "amb.csv" ] 1 [ "the model's target 'label' matches no column exactly and 2 columns" ] |> ignore
                expectError dir [ "evaluate"; "--model"; "m.fnn"; "--data"; "amb.csv"; "--target"; "truth" ] 1 [ "--target: the column name 'truth' matches no column exactly and 2 columns" ] |> ignore
                for args in [ [ "evaluate"; "--model"; "m.fnn"; "--data"; "q.csv" ]; [ "train"; "--data"; "t.csv" ]; [ "linear"; "--data"; "t.csv" ] ] do
                    expectError dir (args @ [ "--target"; "" ]) 2 [ "--target is empty" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        testCase "packaging: tests/pack-tool.sh packs the three packages, installs fnn from them and runs it (FNN_SLOW_TESTS=1)" <| fun () ->
            if Environment.GetEnvironmentVariable "FNN_SLOW_TESTS" <> "1" then skiptest "slow: set FNN_SLOW_TESTS=1 (or run tests/pack-tool.sh)"
            let code, output = Repo.run "bash" [ Repo.path [ "tests"; "pack-tool.sh" ] ] Repo.root (TimeSpan.FromMinutes 5.0)
            Expect.equal code 0 output
            Expect.stringContains output "the installed fnn reached test accuracy" output
        test "a semicolon CSV with a BOM, CRLF, a text feature, missing values and integer labels trains with --missing mean; an unseen category at predict is a one-line error, or zeros by option" {
            let dir = tempDir ()
            try
                // 60 rows, labels 1, 2, 3 (20 each: classes by the target rule); color follows the label
                // (1 red, 2 green, 3 blue), size = 10 x label + row mod 5, every 7th size NA, every 11th color empty.
                let rows =
                    [ for i in 0 .. 59 ->
                        let label = i % 3 + 1
                        let size = if i % 7 = 3 then "NA" else string (10 * label + i % 5)
                        let color = if i % 11 = 5 then "" else [| "red"; "green"; "blue" |].[label - 1]
                        sprintf "%s;%s;%d" size color label ]
                let text = "size;color;label\r\n" + String.Join("\r\n", rows) + "\r\n"
                File.WriteAllBytes(Path.Combine(dir, "shapes.csv"), Array.append [| 0xEFuy; 0xBBuy; 0xBFuy |] (Text.Encoding.UTF8.GetBytes text))
                let code, out, err, _ = run dir [ "train"; "--data"; "shapes.csv"; "--target"; "label"; "--missing"; "mean"; "--out"; "shapes.fnn" ]
                Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                Expect.stringContains out "task: classification: the values are 3 distinct integers" "the rule's reason is printed"
                Expect.stringContains out "text columns, one-hot" "the summary shows the encoder"
                // color alone decides the label, so the test rows are classified well.
                Expect.isGreaterThanOrEqual (metric out "test accuracy: ") 0.9 out
                // evaluate reads the training file's dialect and text column, and the model imputes its missing sizes.
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "shapes.fnn"; "--data"; "shapes.csv"; "--json" ]
                Expect.equal code 0 (sprintf "evaluate (stderr: %s)" err)
                Expect.isGreaterThanOrEqual ((json out).GetProperty("accuracy").GetDouble()) 0.9 "accuracy on all 60 rows"
                File.WriteAllText(Path.Combine(dir, "new.csv"), "size;color\r\n12;red\r\n25;purple\r\nNA;blue\r\n")
                // purple is on the file's line 3 (the header is line 1): a file's rows are named by their line.
                expectError dir [ "predict"; "--model"; "shapes.fnn"; "--data"; "new.csv" ] 1 [ "At line 3"; "column 'color'"; "'purple'"; "; use --unknown-category zeros to encode it as all zeros." ] |> ignore
                let code, _, err, _ = run dir [ "predict"; "--model"; "shapes.fnn"; "--data"; "new.csv"; "--unknown-category"; "zeros"; "--out"; "p.csv" ]
                Expect.equal code 0 (sprintf "predict with zeros (stderr: %s)" err)
                let lines = File.ReadAllLines(Path.Combine(dir, "p.csv"))
                Expect.equal lines.[0] "size,color,predicted_label,p_1,p_2,p_3" "header: the features, predicted_<target>, probabilities"
                Expect.equal lines.Length 4 "one line per row"
                Expect.stringStarts lines.[1] "12,red,1," "a red shape is class 1"
                Expect.stringStarts lines.[3] ",blue,3," "the missing size is imputed and written empty; a blue shape is class 3"
                // explain's table names what the model was given: the unseen purple (its one-hot inputs all zeros)
                // and the missing size (filled by the imputer) are not shown as a code (-1) or as the baseline's "(mean)".
                let cells row feature =
                    let code, out, err, _ = run dir [ "explain"; "--model"; "shapes.fnn"; "--data"; "new.csv"; "--row"; string row; "--unknown-category"; "zeros" ]
                    Expect.equal code 0 (sprintf "explain row %d (stderr: %s)" row err)
                    let line = out.Split('\n') |> Array.find (fun l -> l.StartsWith(feature + " "))
                    line.Split(' ', StringSplitOptions.RemoveEmptyEntries) |> Array.take 3
                Expect.equal (cells 1 "color") [| "color"; "(unseen)"; "(mean)" |] "row 1: purple is unseen; the baseline is the categories' mean"
                Expect.equal (cells 2 "size").[1] "(missing)" "row 2: the size NA is missing"
                Expect.equal (cells 2 "color").[1] "blue" "row 2: a seen category is named"
            finally Directory.Delete(dir, true)
        }
        test "the task: line agrees with the target: line (quoted numbers are class names as written; integers of 9e15 or more are numbers)" {
            let dir = tempDir ()
            try
                // 30 rows, the target cycling through three labels, 10 rows each.
                let write name (labels: string[]) =
                    File.WriteAllText(Path.Combine(dir, name), "a,y\n" + String.Join("", [ for i in 0 .. 29 -> sprintf "%d,%s\n" (i % 7) labels.[i % 3] ]))
                let summary name (extra: string list) =
                    let code, out, err, _ = run dir ([ "train"; "--data"; name; "--epochs"; "1" ] @ extra)
                    Expect.equal code 0 (sprintf "train %s (stderr: %s)" name err)
                    let line (prefix: string) = out.Split('\n') |> Array.find (fun l -> l.StartsWith prefix) |> fun l -> l.TrimEnd()
                    line "task: ", line "target: "
                // docs/data-and-models.md: numbers quoted in every target cell are class names kept as written,
                // so "007" and "7" are two of three classes, and the reason counts three.
                write "quoted.csv" [| "\"007\""; "\"7\""; "\"10\"" |]
                Expect.equal (summary "quoted.csv" [])
                    ("task: classification: every target cell is a number in quotes, so each is a class name as written (3 classes)",
                     "target: y, 3 classes (007, 7, 10)") "quoted numbers"
                // Integers of magnitude 9e15 or more count as numbers (a double cannot hold every integer from 2^53):
                // a regression target, and the reason says so rather than that they are not integers.
                write "ids.csv" [| "12345678901234567"; "12345678901234569"; "12345678901234571" |]
                Expect.equal (summary "ids.csv" [])
                    ("task: regression: the values are integers, but some are 9e15 or more in magnitude (from 2^53, about 9.007e15, a double cannot hold every integer, so distinct labels could read as one number)",
                     "target: y (regression)") "17-digit integers"
                // --task classification reads them as three classes, each spelled as written.
                Expect.equal (summary "ids.csv" [ "--task"; "classification" ])
                    ("task: classification (set explicitly; the class names are numbers kept as written, 3 classes)",
                     "target: y, 3 classes (12345678901234567, 12345678901234569, 12345678901234571)") "set as classes"
            finally Directory.Delete(dir, true)
        }
        test "fnn --help names what each command's parser reads, and docs/cli.md has a row for every option of train and every data option it lists" {
            let code, out, err, _ = run Repo.root [ "--help" ]
            Expect.equal (code, err) (0, "") "fnn --help"
            // evaluate reads --target; linear and explain read --dataset as well as --data.
            Expect.stringContains out "fnn evaluate --model MODEL --data PATH [--target COLUMN] [data options] [--json]" "evaluate's line"
            Expect.stringContains out "fnn linear (--data PATH | --dataset commute) [--target COLUMN]" "linear's line"
            Expect.stringContains out "fnn explain --model MODEL (--data PATH | --dataset NAME) [--row N]" "explain's line"
            // The options listed under fnn [train] (its own and the data options), one per line from "--".
            let lines = out.Replace("\r\n", "\n").Split('\n') |> Array.map (fun l -> l.Trim())
            let first = lines |> Array.findIndex (fun l -> l.StartsWith "fnn [train]")
            let last = lines |> Array.findIndex (fun l -> l.StartsWith "fnn evaluate")
            let options = lines.[first + 1 .. last - 1] |> Array.filter (fun l -> l.StartsWith "--") |> Array.map (fun l -> l.Split(' ').[0])
            Expect.isGreaterThan options.Length 25 (sprintf "the usage's train options: %A" options)
            let doc = File.ReadAllText(Repo.path [ "docs"; "cli.md" ]).Replace("\r\n", "\n")
            let missing = options |> Array.filter (fun o -> not (doc.Contains("\n| `" + o + " ") || doc.Contains("\n| `" + o + "`")))
            Expect.isEmpty missing "options of the usage without a row in docs/cli.md's tables"
        }
        test "predict with --missing-values quotes a category spelled like the marker, so the output reads back with that option" {
            let dir = tempDir ()
            try
                // The category "-" is quoted in the file, so with --missing-values - it is the text "-" (a bare - would be missing).
                let rows = [ for i in 0 .. 29 -> sprintf "%s,%d,%s" (match i % 3 with 0 -> "\"-\"" | 1 -> "red" | _ -> "blue") i (if i % 2 = 0 then "a" else "b") ]
                File.WriteAllText(Path.Combine(dir, "d.csv"), "color,x,y\n" + String.Join("\n", rows) + "\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "d.csv"; "--missing-values"; "-"; "--epochs"; "2"; "--out"; "m.fnn" ]
                Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                File.WriteAllText(Path.Combine(dir, "new.csv"), "color,x\n\"-\",1\nred,2\n")
                let code, _, err, _ = run dir [ "predict"; "--model"; "m.fnn"; "--data"; "new.csv"; "--missing-values"; "-"; "--out"; "p.csv" ]
                Expect.equal code 0 (sprintf "predict (stderr: %s)" err)
                let text = File.ReadAllText(Path.Combine(dir, "p.csv"))
                Expect.stringContains text "\n\"-\",1," "the category - written in quotes"
                let back = FunctionalNN.Dataset.LoadCsv(Path.Combine(dir, "p.csv"), target = "predicted_y", format = FunctionalNN.CsvFormat(MissingMarkers = [| "-" |], TextColumns = [| "color" |]))
                Expect.equal (back.CellText(0, 0), back.CellText(1, 0)) ("-", "red") "read back with the marker: the same categories"
            finally Directory.Delete(dir, true)
        }
        test "explain --method permutation refuses one row (every shuffle is the identity; R^2 needs two rows): exit 1, no plot" {
            let dir = tempDir ()
            try
                let rows = [ for i in 0 .. 59 -> sprintf "%d,%d,%g" i (i % 7) (0.5 * float i + float (i % 7)) ]
                File.WriteAllText(Path.Combine(dir, "reg.csv"), "a,b,y\n" + String.Join("\n", rows) + "\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "reg.csv"; "--target"; "y"; "--epochs"; "5"; "--out"; "reg.fnn" ]
                Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                File.WriteAllText(Path.Combine(dir, "one.csv"), "a,b,y\n3,3,4.5\n")
                // Review finding: this exited 0 with null (NaN) figures and a plot of NaNs.
                for extra in [ [ "--json" ]; [ "--plots"; "plots" ] ] do
                    let out = expectError dir ([ "explain"; "--model"; "reg.fnn"; "--data"; "one.csv"; "--method"; "permutation" ] @ extra) 1
                                          [ "needs at least 2 rows"; "one.csv has 1"; "identity" ]
                    Expect.equal out "" "nothing printed"
                Expect.isFalse (File.Exists(Path.Combine(dir, "plots", "importance.png"))) "no plot drawn"
                // Two rows are scored.
                File.WriteAllText(Path.Combine(dir, "two.csv"), "a,b,y\n3,3,4.5\n8,1,5\n")
                let code, out, err, _ = run dir [ "explain"; "--model"; "reg.fnn"; "--data"; "two.csv"; "--method"; "permutation"; "--json" ]
                Expect.equal code 0 (sprintf "explain (stderr: %s)" err)
                Expect.equal ((json out).GetProperty("baseline_score").ValueKind) JsonValueKind.Number "a finite R^2"
                // Review finding: under --missing drop the refusal said "two.csv has 1", though the file has 2 rows; 1 is
                // what --missing drop leaves.
                File.WriteAllText(Path.Combine(dir, "gap.csv"), "a,b,y\n3,3,4.5\n8,,5\n")
                expectError dir [ "explain"; "--model"; "reg.fnn"; "--data"; "gap.csv"; "--method"; "permutation"; "--missing"; "drop" ] 1
                    [ "needs at least 2 rows, but 1 row of gap.csv is left after --missing drop" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "explain of a pipeline without a standard scaler refuses one row (the baseline, the rows' mean, would be the row): exit 1, as for a linear model" {
            // A review: a min-max model explained a file of one row from that row's mean, printed all-zero attributions and exited 0.
            let dir = tempDir ()
            try
                let rows = [ for i in 0 .. 59 -> sprintf "%d,%d,%g" i (i % 7) (0.5 * float i + float (i % 7)) ]
                File.WriteAllText(Path.Combine(dir, "reg.csv"), "a,b,y\n" + String.Join("\n", rows) + "\n")
                File.WriteAllText(Path.Combine(dir, "one.csv"), "a,b,y\n3,3,4.5\n")
                File.WriteAllText(Path.Combine(dir, "gap.csv"), "a,b,y\n3,3,4.5\n8,,5\n")
                File.WriteAllText(Path.Combine(dir, "two.csv"), "a,b,y\n3,3,4.5\n8,1,5\n")
                for scaling, words in [ "minmax", "min-max scaling"; "none", "no scaling" ] do
                    let model = scaling + ".fnn"
                    let code, _, err, _ = run dir [ "train"; "--data"; "reg.csv"; "--target"; "y"; "--scaling"; scaling; "--epochs"; "5"; "--out"; model ]
                    Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                    for methodName in [ "integrated_gradients"; "gradient_x_input" ] do
                        for extra in [ []; [ "--json" ] ] do
                            let out = expectError dir ([ "explain"; "--model"; model; "--data"; "one.csv"; "--method"; methodName ] @ extra) 1
                                                  [ words; "takes as baseline the mean of the rows explained"; "one.csv has only 1 row"; "every attribution would be 0" ]
                            Expect.equal out "" "nothing printed"
                    // Under --missing drop, the one row left.
                    expectError dir [ "explain"; "--model"; model; "--data"; "gap.csv"; "--missing"; "drop" ] 1
                        [ "only 1 row of gap.csv is left after --missing drop" ] |> ignore
                    // Two rows are explained.
                    let code, out, err, _ = run dir [ "explain"; "--model"; model; "--data"; "two.csv"; "--json" ]
                    Expect.equal code 0 (sprintf "two rows (stderr: %s)" err)
                    Expect.stringContains ((json out).GetProperty("baseline").GetString()) "the mean of the 2 rows of two.csv" "the baseline said"
                // A standard scaler keeps the training mean, the baseline: one row is explained.
                let code, _, err, _ = run dir [ "train"; "--data"; "reg.csv"; "--target"; "y"; "--epochs"; "5"; "--out"; "std.fnn" ]
                Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                let code, out, err, _ = run dir [ "explain"; "--model"; "std.fnn"; "--data"; "one.csv"; "--json" ]
                Expect.equal code 0 (sprintf "standard scaler, one row (stderr: %s)" err)
                Expect.equal ((json out).GetProperty("baseline").GetString()) "the training rows' mean" "the training mean"
            finally Directory.Delete(dir, true)
        }
        test "explain --tolerance is relative to the output's scale: targets near 1e10 converge without a warning, near 1e-7 to the accuracy of --steps 512; bad values are usage errors" {
            // A review: the tolerance was an absolute 1e-6, so an output of 1e10 ran the adaptive rule to 1024 nodes and
            // warned "not converged" at a relative gap of 1e-15, and an output of 1e-7 stopped at 2 nodes, 1e-3 off.
            let dir = tempDir ()
            try
                let attributions (j: JsonElement) = j.GetProperty("features").EnumerateArray() |> Seq.map (fun f -> f.GetProperty("attribution").GetDouble()) |> Array.ofSeq
                for name, s in [ "big", 1e10; "small", 1e-7 ] do
                    let rows = [ for i in 0 .. 59 ->
                                    let a, b = float ((11 * i) % 17) / 8.0 - 1.0, float ((7 * i) % 23) / 11.0 - 1.0
                                    sprintf "%g,%g,%s" a b ((s * (tanh (2.0 * a) + 0.5 * b * b)).ToString("R", Globalization.CultureInfo.InvariantCulture)) ]
                    File.WriteAllText(Path.Combine(dir, name + ".csv"), "a,b,y\n" + String.Join("\n", rows) + "\n")
                    let code, _, err, _ = run dir [ "train"; "--data"; name + ".csv"; "--target"; "y"; "--layers"; "4"; "--epochs"; "20"; "--out"; name + ".fnn"; "--quiet" ]
                    Expect.equal code 0 (sprintf "%s: train (stderr: %s)" name err)
                    let explain extra = run dir ([ "explain"; "--model"; name + ".fnn"; "--data"; name + ".csv"; "--row"; "3"; "--json" ] @ extra)
                    let code, out, err, _ = explain []
                    Expect.equal code 0 (sprintf "%s: explain (stderr: %s)" name err)
                    Expect.equal err "" (sprintf "%s: no warning" name)
                    let j = json out
                    Expect.isTrue (j.GetProperty("converged").GetBoolean()) (sprintf "%s: converged" name)
                    Expect.equal (j.GetProperty("tolerance").GetDouble()) 1e-6 "the default tolerance"
                    // The scale: at least |f(x) - f(baseline)| and sum |a_i|, the size of the target's changes.
                    let scale = j.GetProperty("scale").GetDouble()
                    Expect.isGreaterThanOrEqual scale (max (abs (j.GetProperty("f_x").GetDouble() - j.GetProperty("f_baseline").GetDouble())) (attributions j |> Array.sumBy abs)) (sprintf "%s: scale" name)
                    Expect.isLessThanOrEqual (abs (j.GetProperty("gap").GetDouble())) (1e-6 * scale) (sprintf "%s: the gap within 1e-6 of the scale" name)
                    Expect.isLessThan (j.GetProperty("steps").GetInt32()) 1024 (sprintf "%s: fewer than the adaptive rule's most nodes" name)
                    // Expected: the 512-node rule (the quadrature of a smooth path, exact to rounding there).
                    let code, fine, err, _ = explain [ "--steps"; "512" ]
                    Expect.equal code 0 (sprintf "%s: --steps 512 (stderr: %s)" name err)
                    Array.iteri2 (fun i (a: float) e -> Expect.isLessThanOrEqual (abs (a - e)) (1e-6 * scale) (sprintf "%s: a_%d = %g vs %g at 512 nodes" name i a e))
                        (attributions j) (attributions (json fine))
                    // A larger --tolerance stops no later, and is reported; one node warns in the relative terms.
                    let code, out, err, _ = explain [ "--tolerance"; "0.01" ]
                    Expect.equal code 0 (sprintf "%s: --tolerance 0.01 (stderr: %s)" name err)
                    let loose = json out
                    Expect.equal (loose.GetProperty("tolerance").GetDouble()) 0.01 "the tolerance given"
                    Expect.isTrue (loose.GetProperty("converged").GetBoolean()) (sprintf "%s: --tolerance 0.01 converged" name)
                    Expect.isLessThanOrEqual (loose.GetProperty("steps").GetInt32()) (j.GetProperty("steps").GetInt32()) (sprintf "%s: no more steps" name)
                    let code, _, err, _ = explain [ "--steps"; "1" ]
                    Expect.equal code 0 err
                    for part in [ "fnn: warning: the integrated gradients have not converged: the gap"; "is above the tolerance (1e-06 of the output's scale"; "with --steps 1" ] do
                        Expect.stringContains err part (sprintf "%s: --steps 1 warns" name)
                // Bad values: usage errors naming --tolerance (exit 2), before the model is read.
                for value, fragment in [ "0", "--tolerance must be positive"; "-1e-6", "--tolerance must be positive"
                                         "abc", "--tolerance needs a number, not 'abc'"; "inf", "--tolerance needs a number, not 'inf'"; "NaN", "--tolerance needs a number" ] do
                    expectError dir [ "explain"; "--model"; "no-such.fnn"; "--data"; "big.csv"; "--tolerance"; value ] 2 [ fragment ] |> ignore
                for methodName in [ "gradient_x_input"; "permutation" ] do
                    expectError dir [ "explain"; "--model"; "no-such.fnn"; "--data"; "big.csv"; "--method"; methodName; "--tolerance"; "1e-3" ] 2
                        [ "--tolerance is for --method integrated_gradients"; sprintf "--method %s takes none" methodName ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "explain --method permutation of a pipeline that fills missing values takes a missing cell, as evaluate and predict do" {
            // Review finding: it exited 1 with "x holds NaN at row 2, column 1 (shape 3x3); every value must be finite."
            let dir = tempDir ()
            try
                let colours = [| "r"; "g"; "b" |]
                let rows = [ for i in 0 .. 39 -> sprintf "%g,%g,%s,%g" (0.1 * float i) (float (i % 5)) colours.[i % 3] (0.2 * float i + float (i % 5)) ]
                File.WriteAllText(Path.Combine(dir, "reg.csv"), "a,b,c,y\n" + String.Join("\n", rows) + "\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "reg.csv"; "--target"; "y"; "--missing"; "mean"; "--epochs"; "5"; "--out"; "reg.fnn" ]
                Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                File.WriteAllText(Path.Combine(dir, "three.csv"), "a,b,c,y\n0.1,0.2,r,1\n0.5,0.3,g,2\n0.5,,g,2\n")
                for args in [ [ "evaluate" ]; [ "explain"; "--method"; "permutation"; "--json" ] ] do
                    let code, out, err, _ = run dir (args @ [ "--model"; "reg.fnn"; "--data"; "three.csv" ])
                    Expect.equal code 0 (sprintf "%A (stderr: %s)" args err)
                    Expect.isTrue (out.Length > 0) "a report"
                let _, out, _, _ = run dir [ "explain"; "--model"; "reg.fnn"; "--data"; "three.csv"; "--method"; "permutation"; "--json" ]
                let names = [ for f in (json out).GetProperty("features").EnumerateArray() -> f.GetProperty("name").GetString() ]
                Expect.equal names [ "a"; "b"; "c" ] "one importance per column"
            finally Directory.Delete(dir, true)
        }
        test "--separator, --no-header, --missing drop, --missing-values and --task set the reading; bad data are refused before training" {
            let dir = tempDir ()
            try
                // Tab-separated, no header, '-' marks missing; the target 0/1 would be classes by the rule.
                let rows = [ for i in 0 .. 29 -> sprintf "%s\t%d\t%d" (if i = 4 then "-" else string i) (i % 4) (i % 2) ]
                File.WriteAllText(Path.Combine(dir, "plain.tsv"), String.Join("\n", rows) + "\n")
                let code, out, err, _ =
                    run dir [ "train"; "--data"; "plain.tsv"; "--separator"; "tab"; "--no-header"; "--missing"; "drop"; "--missing-values"; "-"
                              "--task"; "regression"; "--epochs"; "5"; "--json" ]
                Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                Expect.equal ((json out).GetProperty("task").GetString()) "regression" "--task overrides the rule"
                Expect.equal ((json out).GetProperty("test_samples").GetInt32()) 6 "29 rows after the drop, 20% of them (5.8 -> 6) tested"
                File.WriteAllText(Path.Combine(dir, "one.csv"), "a,b\n1,x\n2,x\n3,x\n4,x\n5,x\n")
                // A single class, an empty test part and --batch-size 0 are refused before the summary and any training.
                Expect.equal (expectError dir [ "train"; "--data"; "one.csv" ] 1 [ "only 1 class (x) of the target 'b'"; "at least two classes" ]) "" "nothing on stdout"
                File.WriteAllText(Path.Combine(dir, "single.csv"), "a,b\n1,x\n2,y\n3,z\n")
                Expect.equal (expectError dir [ "train"; "--data"; "single.csv" ] 1 [ "--test-fraction 0.2 leaves no test row"; "add rows" ]) "" "nothing on stdout"
                Expect.equal (expectError dir [ "train"; "--data"; "one.csv"; "--batch-size"; "0" ] 2 [ "--batch-size must be a positive number of rows" ]) "" "nothing on stdout"
                expectError dir [ "train"; "--data"; "one.csv"; "--missing"; "sometimes" ] 2 [ "--missing needs error, drop, mean, median or most_frequent" ] |> ignore
                File.WriteAllText(Path.Combine(dir, "mixed.csv"), "size,color,price\n1,red,3\n2,blue,5\n3,red,7\n")
                expectError dir [ "linear"; "--data"; "mixed.csv" ] 1 [ "column 'color' holds text" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "review wording: linear on a text target, --plots that cannot be made, --layers 0, one category, a header of numbers" {
            let dir = tempDir ()
            try
                let iris = File.ReadAllLines(Repo.path [ "src"; "Core.FSharp"; "Data"; "iris.csv" ])
                File.WriteAllText(Path.Combine(dir, "iris.csv"), String.Join("\n", iris) + "\n")
                // iris's last column, species, holds class names: linear regression needs numbers.
                expectError dir [ "linear"; "--data"; "iris.csv" ] 2 [ "linear regression needs a numeric target"; "species (--target)"; "'setosa'"; "fnn train" ] |> ignore
                // /proc takes no new folder; .NET says "Could not find file", which is not what the user needs to hear.
                let err = expectError dir [ "train"; "--data"; "iris.csv"; "--plots"; "/proc/fnn-plots" ] 1 [ "--plots /proc/fnn-plots"; "cannot be created or written" ]
                Expect.isFalse (err.Contains "Could not find") "no misleading file-not-found"
                expectError dir [ "train"; "--data"; "iris.csv"; "--layers"; "0" ] 2 [ "--layers needs positive widths, not '0'"; "--layers none" ] |> ignore
                // A text feature with a single category: "(1 category)", not "(1 categories)".
                File.WriteAllText(Path.Combine(dir, "one.csv"), "size,color,label\n" + String.Join("\n", [ for i in 0 .. 19 -> sprintf "%d,red,%s" i (if i % 2 = 0 then "p" else "q") ]) + "\n")
                let code, out, err, _ = run dir [ "train"; "--data"; "one.csv"; "--epochs"; "1" ]
                Expect.equal code 0 err
                Expect.stringContains out "color (1 category)" "singular"
                Expect.isFalse (out.Contains "1 categories") "no '1 categories'"
                // iris without its header, read without --no-header: trains, with one warning line on stderr naming --no-header.
                File.WriteAllText(Path.Combine(dir, "headless.csv"), String.Join("\n", iris.[1..]) + "\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "headless.csv"; "--epochs"; "1"; "--quiet" ]
                Expect.equal code 0 err
                let lines = err.Trim().Split('\n')
                Expect.equal lines.Length 1 (sprintf "one line on stderr: %s" err)
                Expect.stringStarts lines.[0] "fnn: warning: The header line (5.1, 3.5, 1.4, 0.2, setosa) looks like data" "the warning"
                Expect.stringContains lines.[0] "--no-header" "names the option"
                let code, _, err, _ = run dir [ "train"; "--data"; "headless.csv"; "--no-header"; "--epochs"; "1"; "--quiet" ]
                Expect.equal (code, err) (0, "") "no warning with --no-header"
            finally Directory.Delete(dir, true)
        }
        test "train --dropout --normalization --residual: the summary lists every block, the model file reads back" {
            let dir = tempDir ()
            try
                File.WriteAllText(Path.Combine(dir, "iris.csv"), File.ReadAllText(Repo.path [ "src"; "Core.FSharp"; "Data"; "iris.csv" ]))
                let code, out, err, _ =
                    run dir [ "train"; "--data"; "iris.csv"; "--target"; "species"; "--layers"; "8,8"; "--dropout"; "0.1"; "--normalization"; "batch"
                              "--residual"; "--optimizer"; "adam"; "--lr"; "0.01"; "--batch-size"; "16"; "--epochs"; "40"; "--out"; "iris.fnn" ]
                Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                // Hand counts: dense 4*8+8 = 40; batch norm gamma and beta 2*8 = 16 (and 16 running statistics);
                // the residual's dense 8*8+8 = 72 and batch norm 16 = 88; output dense 8*3+3 = 27. Total 171, 32 statistics.
                for part in [ "block 0: dense 4 -> 8, identity, W 4x8 + b 8 = 40 parameters"
                              "block 1: batch normalisation 8 -> 8, gamma 8 + beta 8 = 16 parameters, running mean 8 + variance 8"
                              "block 2: activation tanh, 8 -> 8"
                              "block 3: dropout 0.1, 8 -> 8 (training only)"
                              "block 4: residual 8 -> 8, x + f(x) over 3 blocks = 88 parameters"
                              "  block 4.0: dense 8 -> 8, identity, W 8x8 + b 8 = 72 parameters"
                              "  block 4.2: activation tanh, 8 -> 8"
                              "block 5: dropout 0.1, 8 -> 8 (training only)"
                              "block 6: dense 8 -> 3, identity, W 8x3 + b 3 = 27 parameters"
                              "total: 171 parameters and 32 running statistics" ] do
                    Expect.stringContains out part "the summary"
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "iris.fnn"; "--data"; "iris.csv"; "--json" ]
                Expect.equal code 0 (sprintf "evaluate (stderr: %s)" err)
                Expect.isGreaterThanOrEqual ((json out).GetProperty("accuracy").GetDouble()) 0.85 "the saved network of blocks classifies all rows"
                expectError dir [ "train"; "--dropout"; "1" ] 2 [ "--dropout"; "[0, 1)"; "'1'" ] |> ignore
                expectError dir [ "train"; "--dropout"; "lots" ] 2 [ "--dropout"; "'lots'" ] |> ignore
                expectError dir [ "train"; "--normalization"; "group" ] 2 [ "--normalization needs none, batch or layer"; "'group'" ] |> ignore
                expectError dir [ "train"; "--residual"; "--layers"; "16,8" ] 2 [ "--residual"; "equal width"; "16,8" ] |> ignore
                expectError dir [ "train"; "--normalization"; "batch"; "--batch-size"; "1" ] 2 [ "--normalization batch"; "--batch-size 2" ] |> ignore
                // Batches of 7 on the default run's 120 training rows leave a last batch of 1 row (120 = 17 x 7 + 1): a usage
                // error naming --batch-size (a review: it was the library's message about "the options"), and the batch
                // normalisation by the number the summary printed for it (both count from 0).
                let summary = expectError dir [ "train"; "--normalization"; "batch"; "--batch-size"; "7"; "--epochs"; "2" ] 2 [ "--normalization batch (block 1) needs at least 2 rows"; "--batch-size 7 gives batches of 7 on 120 samples, whose last batch has 1 row"; "choose another --batch-size" ]
                Expect.stringContains summary "block 1: batch normalisation" "the summary's number for the same block"
                // With 10 % held out for validation, 108 of the 120 rows train: batches of 107 leave 1 row.
                expectError dir [ "train"; "--normalization"; "batch"; "--validation-fraction"; "0.1"; "--batch-size"; "107"; "--epochs"; "2" ] 2 [ "--batch-size 107 gives batches of 107 on 108 samples" ] |> ignore
                expectError dir [ "train"; "--dropout"; "0.5"; "--layers"; "none" ] 2 [ "--dropout"; "--layers" ] |> ignore
                expectError dir [ "train"; "--residual"; "--layers"; "none" ] 2 [ "--residual"; "--layers gives no hidden layer" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "errors are one line on stderr and a non-zero exit, never a stack trace" {
            let dir = tempDir ()
            try
                let write name (text: string) = File.WriteAllText(Path.Combine(dir, name), text)
                write "ragged.csv" "a,b,c\n1,2,x\n3,4\n"
                // 20 numbers and one 'four': a numeric-looking column with a bad cell (docs/data-and-models.md).
                write "text.csv" ("a,b,c\n" + String.Join("", [ for i in 1 .. 20 -> sprintf "%d,%d,x\n" i i ]) + "3,four,y\n")
                write "empty.csv" ""
                write "train.csv" "a,b,c\n1,2,x\n3,4,y\n1,3,x\n4,4,y\n1,1,x\n5,4,y\n"
                write "unseen.csv" "a,b,c\n1,2,x\n3,4,z\n"
                expectError dir [ "train"; "--data"; "missing.csv" ] 1 [ "missing.csv"; "does not exist" ] |> ignore
                expectError dir [ "train"; "--data"; "ragged.csv" ] 1 [ "Line 3 has 2 fields"; "3 columns" ] |> ignore
                expectError dir [ "train"; "--data"; "text.csv" ] 1 [ "Line 22, column 'b': 'four'" ] |> ignore
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
                // An option followed by another takes no value from it (it made a model file named --json), and an
                // unknown option at the end is unknown, not one that "needs a value".
                expectError dir [ "train"; "--data"; "train.csv"; "--out"; "--json" ] 2 [ "--out needs a value: the next argument, --json, is an option"; "--out=--json" ] |> ignore
                Expect.isFalse (File.Exists(Path.Combine(dir, "--json"))) "no file named --json"
                expectError dir [ "train"; "--data"; "train.csv"; "--bogus" ] 2 [ "unknown option --bogus" ] |> ignore
                expectError dir [ "train"; "--patience"; "0" ] 2 [ "--patience needs a positive number of epochs, or 'off'" ] |> ignore
                expectError dir [ "train"; "--batch-size"; "0" ] 2 [ "--batch-size must be a positive number of rows, or 'full'" ] |> ignore
                expectError dir [ "explode" ] 2 [ "unknown command 'explode'" ] |> ignore
                // Output paths are checked before training: a missing folder or a file given as --plots fails at once.
                let code, out, err, seconds = run dir [ "train"; "--dataset"; "digits"; "--epochs"; "100000"; "--out"; Path.Combine("no-such-folder", "m.fnn") ]
                Expect.equal code 1 err
                Expect.stringContains err "no-such-folder" "names the folder"
                Expect.isFalse (out.Contains "epoch 1/") "before any training"
                let code, out, err, _ = run dir [ "train"; "--dataset"; "iris"; "--epochs"; "100000"; "--plots"; "train.csv" ]
                Expect.equal code 1 err
                Expect.stringContains err "--plots train.csv is a file" "the reason"
                // A read-only model file would be refused by the save (docs/data-and-models.md): refused before training.
                File.WriteAllText(Path.Combine(dir, "ro.fnn"), "")
                File.SetUnixFileMode(Path.Combine(dir, "ro.fnn"), IO.UnixFileMode.UserRead)
                let code, out, err, _ = run dir [ "train"; "--dataset"; "digits"; "--epochs"; "100000"; "--out"; "ro.fnn" ]
                Expect.equal code 1 err
                Expect.stringContains err "--out ro.fnn is read-only" "the reason"
                Expect.isFalse (out.Contains "epoch 1/") "before any training"
                // Typos get the nearest option or command the command reads (edit distance, issue 13).
                expectError dir [ "train"; "--optimiser"; "adam" ] 2 [ "unknown option --optimiser"; "did you mean --optimizer?" ] |> ignore
                expectError dir [ "train"; "--epoch"; "3" ] 2 [ "did you mean --epochs?" ] |> ignore
                expectError dir [ "evaluate"; "--modle"; "m.fnn"; "--data"; "train.csv" ] 2 [ "did you mean --model?" ] |> ignore
                expectError dir [ "trian" ] 2 [ "unknown command 'trian'; did you mean 'train'?" ] |> ignore
                // --help after a command prints the usage (exit 0), as fnn --help does, instead of "--help needs a value".
                for cmd in [ "train"; "predict"; "linear" ] do
                    let code, out, err, _ = run dir [ cmd; "--help" ]
                    Expect.equal (code, err) (0, "") (sprintf "fnn %s --help" cmd)
                    Expect.stringStarts out "fnn: train, evaluate and run" "the usage"
                let _, _, err, _ = run dir [ "train"; "--colour"; "blue" ]
                Expect.isFalse (err.Contains "did you mean") "no hint when nothing is near"
            finally Directory.Delete(dir, true)
        }
        test "piped output prints at most 21 progress lines; --quiet prints none and no summary" {
            let code, out, err, _ = run Repo.root [ "--dataset"; "iris"; "--epochs"; "100"; "--patience"; "off" ]
            Expect.equal code 0 err
            let epochs = out.Split('\n') |> Array.filter (fun l -> l.StartsWith "epoch ")
            // The first epoch and every ceil(100 / 20) = 5th: 1, 5, 10, ..., 100 (21 lines).
            Expect.equal (epochs |> Array.map (fun l -> l.Split(':').[0])) [| yield "epoch 1/100"; for k in 5 .. 5 .. 100 -> sprintf "epoch %d/100" k |] "the lines"
            let code, out, err, _ = run Repo.root [ "--dataset"; "iris"; "--epochs"; "20"; "--quiet" ]
            Expect.equal code 0 err
            Expect.isFalse (out.Contains "epoch 1/") "no progress"
            Expect.isFalse (out.Contains "layer 0:") "no summary"
            Expect.stringContains out "test accuracy: " "the results"
        }
        test "numbers print as C's %g; a regressor's losses are in the target's units; R^2 of one test row is undefined; a constant target is refused before training" {
            let dir = tempDir ()
            try
                // y in the thousands (standard deviation about 1,000): a loss left on the standardised target would be
                // about 1e6 times smaller than the test MSE.
                let rows = [ for i in 0 .. 149 -> let a, b = float (i % 10), sin (float i) in sprintf "%g,%g,%g" a b (5000.0 + 300.0 * a + 500.0 * b + 40.0 * cos (3.0 * float i)) ]
                File.WriteAllText(Path.Combine(dir, "prices.csv"), "a,b,price\n" + String.Join("\n", rows) + "\n")
                let code, out, err, _ = run dir [ "train"; "--data"; "prices.csv"; "--epochs"; "60"; "--patience"; "off"; "--validation-fraction"; "0.2" ]
                Expect.equal code 0 err
                // Every number of the progress lines and the report, as %g prints it.
                let numbers =
                    [ for l in out.Split('\n') do
                        if l.StartsWith "epoch " || l.StartsWith "test " || l.StartsWith "stopped: " then
                            for m in Text.RegularExpressions.Regex.Matches(l, @"(?<=(loss|R\^2:|MSE:|MAE:|in) )-?[0-9][0-9.e+-]*") -> m.Value ]
                Expect.isGreaterThan numbers.Length 40 "the losses, metrics and seconds were found"
                for t in numbers do Expect.isTrue (isPercentG t) (sprintf "'%s' is printed as %%g" t)
                let finalLoss = Text.RegularExpressions.Regex.Match(out, @"final training loss ([0-9.e+-]+) \(MSE in the target's units\)")
                Expect.isTrue finalLoss.Success "the final loss says its units"
                let trainMse = Double.Parse(finalLoss.Groups.[1].Value, Globalization.CultureInfo.InvariantCulture)
                let testMse = metric out "test MSE: "
                Expect.isGreaterThan testMse 1000.0 "the test MSE of a rough fit of a target in the thousands"
                // The same quantity on other rows: within a factor of 5, where scaled units would differ by about 1e6.
                Expect.isTrue (trainMse > testMse / 5.0 && trainMse < testMse * 5.0) (sprintf "training MSE %g against test MSE %g" trainMse testMse)
                // One test row (commute's 5 rows, 20% held out): R^2 needs the rows' variance, so it is undefined, not 0.
                let code, out, err, _ = run dir [ "train"; "--dataset"; "commute"; "--epochs"; "5"; "--quiet" ]
                Expect.equal code 0 err
                Expect.stringContains out "test R^2: undefined (1 sample; it needs at least 2)" out
                let code, out, err, _ = run dir [ "train"; "--dataset"; "commute"; "--epochs"; "5"; "--json" ]
                Expect.equal code 0 err
                Expect.equal ((json out).GetProperty("r2").ValueKind) JsonValueKind.Null "JSON: r2 null"
                // A target with one value (a regression by the rule) is refused before the summary and any training.
                File.WriteAllText(Path.Combine(dir, "flat.csv"), "a,y\n" + String.Join("", [ for i in 1 .. 20 -> sprintf "%d,7\n" i ]))
                let out = expectError dir [ "train"; "--data"; "flat.csv" ] 1 [ "the target 'y' is 7 in every training row"; "nothing to learn" ]
                Expect.equal out "" "nothing printed before the refusal"
            finally Directory.Delete(dir, true)
        }
        test "class names are NFC: explain --class takes a name typed in the decomposed form" {
            let dir = tempDir ()
            try
                // "café" with U+00E9 in the file; the option writes it e + U+0301 (as some keyboards and file systems do).
                let rows = [ for i in 0 .. 29 -> sprintf "%d,%s\n" i (if i % 2 = 0 then "caf\u00e9" else "tea") ]
                File.WriteAllText(Path.Combine(dir, "drinks.csv"), "x,drink\n" + String.Join("", rows))
                let code, _, err, _ = run dir [ "train"; "--data"; "drinks.csv"; "--epochs"; "2"; "--out"; "d.fnn"; "--quiet" ]
                Expect.equal code 0 err
                let code, out, err, _ = run dir [ "explain"; "--model"; "d.fnn"; "--data"; "drinks.csv"; "--row"; "1"; "--class"; "cafe\u0301"; "--json" ]
                Expect.equal code 0 err
                Expect.equal ((json out).GetProperty("class").GetString()) "caf\u00e9" "the model's class, in form C"
            finally Directory.Delete(dir, true)
        }
        test "SIGINT (Ctrl-C) mid-training stops at the next step, saves the model to --out, reports and exits 130; the model loads and evaluates" {
            let dir = tempDir ()
            try
                let model = Path.Combine(dir, "m.fnn")
                // A run far longer than the test: 100,000 epochs without the plateau stop.
                let psi = ProcessStartInfo("dotnet", [ Repo.fnn; "train"; "--dataset"; "digits"; "--epochs"; "100000"; "--patience"; "off"; "--out"; model ],
                                           RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir, UseShellExecute = false)
                psi.Environment.["DOTNET_CLI_TELEMETRY_OPTOUT"] <- "1"
                use p = new Process(StartInfo = psi)
                let out = Text.StringBuilder()
                let firstEpoch = new Threading.ManualResetEventSlim(false)
                p.OutputDataReceived.Add(fun e ->
                    if not (isNull e.Data) then
                        lock out (fun () -> out.AppendLine e.Data |> ignore)
                        if e.Data.StartsWith "epoch 1/" then firstEpoch.Set())
                withSigintDefault (fun () -> p.Start() |> ignore)
                p.BeginOutputReadLine()
                let errText = p.StandardError.ReadToEndAsync()
                Expect.isTrue (firstEpoch.Wait(TimeSpan.FromSeconds 60.0)) "the first epoch ended within 60 s"
                Expect.equal (kill(p.Id, 2)) 0 "SIGINT sent"
                if not (p.WaitForExit 30000) then
                    p.Kill true
                    failtest "fnn did not stop within 30 s of SIGINT"
                p.WaitForExit()
                let text = lock out (fun () -> out.ToString())
                Expect.equal p.ExitCode 130 (sprintf "exit code 130 (stdout: %s, stderr: %s)" text errText.Result)
                for part in [ "interrupted (Ctrl-C)"; "stopped: cancelled"; "test accuracy: "; "model saved to" ] do
                    Expect.stringContains text part "the report of the interrupted run"
                // The saved model loads and evaluates on the digits (at least one epoch of Adam: well above chance, 0.1).
                let code, json, err2, _ = run dir [ "evaluate"; "--model"; model; "--data"; Repo.path [ "src"; "Core.FSharp"; "Data"; "digits.csv" ]; "--json" ]
                Expect.equal code 0 err2
                let accuracy = JsonDocument.Parse(json.Trim()).RootElement.GetProperty("accuracy").GetDouble()
                Expect.isGreaterThan accuracy 0.3 "the interrupted model learnt something"
            finally Directory.Delete(dir, true)
        }
        test "predict on an ONNX network reads the header with the library's CSV reader (--separator, quoted names) and checks the path" {
            withModels <| fun dir ->
                expectError dir [ "predict"; "--model"; "mlp.onnx"; "--data"; "semi.csv" ] 2 [ "semi.csv has 3 columns but the network takes 2 inputs"; "--features" ] |> ignore
                expectError dir [ "predict"; "--model"; "mlp.onnx"; "--data"; "quoted.csv" ] 2 [ "quoted.csv has 3 columns" ] |> ignore
                expectError dir [ "predict"; "--model"; "mlp.onnx"; "--data"; "semi.csv"; "--features"; "p" ] 2 [ "--features names 1 column but the network takes 2 inputs" ] |> ignore
                expectError dir [ "predict"; "--model"; "mlp.onnx"; "--data"; "." ] 1 [ "is a directory, not a file" ] |> ignore
                let code, out, err, _ = run dir [ "predict"; "--model"; "mlp.onnx"; "--data"; "semi.csv"; "--features"; "p,q"; "--separator"; ";" ]
                Expect.equal code 0 err
                Expect.equal (out.Split('\n').[0]) "p,q,output_0" "the named columns and the output"
                Expect.equal (out.Trim().Split('\n').Length) 3 "one line per row"
        }
        test "import says whether the graph ends in a Softmax, either way" {
            withModels <| fun dir ->
                // mlp.onnx: dense, tanh, dense (no Softmax); PyTorch's family fixture ends in nn.Softmax (OnnxTests).
                let softmaxLines (out: string) = out.Split('\n') |> Array.filter (fun l -> l.Contains "Softmax") |> Array.map (fun l -> l.TrimEnd())
                let code, out, err, _ = run dir [ "import"; "--onnx"; "mlp.onnx"; "--out"; "again.fnn" ]
                Expect.equal code 0 err
                Expect.equal (softmaxLines out) [| "the graph does not end in a Softmax: the saved network's outputs are the graph's outputs, unchanged" |] "no Softmax"
                let code, out, err, _ = run dir [ "import"; "--onnx"; Repo.path [ "tests"; "fixtures"; "onnx"; "torch_family_f64.onnx" ]; "--out"; "family.fnn" ]
                Expect.equal code 0 err
                Expect.equal (softmaxLines out) [| "the graph ends in a Softmax: the saved network gives the logits (train it with cross_entropy; fnn predict --model on the .onnx file applies the softmax)" |] "a Softmax"
        }
        test "train, import and linear refuse an --out named .onnx before any work (they write model files, which the CLI reads by extension)" {
            withModels <| fun dir ->
                let exists name = File.Exists(Path.Combine(dir, name))
                let out = expectError dir [ "train"; "--dataset"; "iris"; "--epochs"; "2"; "--quiet"; "--out"; "trained.onnx" ] 2 [ "--out trained.onnx"; "fnn train writes a Functional.NN model file (.fnn)"; "trained.fnn"; "fnn export --model trained.fnn --out trained.onnx" ]
                Expect.equal out "" "nothing trained or printed"
                Expect.isFalse (exists "trained.onnx") "no file written"
                expectError dir [ "import"; "--onnx"; "mlp.onnx"; "--out"; "back.ONNX" ] 2 [ "fnn import writes a Functional.NN model file (.fnn)"; "back.fnn"; "mlp.onnx is already ONNX"; "fnn export" ] |> ignore
                Expect.isFalse (exists "back.ONNX") "no file written"
                expectError dir [ "linear"; "--dataset"; "commute"; "--out"; "lin.onnx" ] 2 [ "fnn linear writes a Functional.NN model file (.fnn)"; "lin.fnn" ] |> ignore
                Expect.isFalse (exists "lin.onnx") "no file written"
                // A model file named .onnx (as an older fnn wrote one) is named as what it is by the readers.
                File.Copy(Path.Combine(dir, "mlp.fnn"), Path.Combine(dir, "old.onnx"))
                expectError dir [ "predict"; "--model"; "old.onnx"; "--data"; "semi.csv"; "--features"; "p,q"; "--separator"; ";" ] 1 [ "Functional.NN model file"; "rename it to .fnn, the name fnn reads model files by" ] |> ignore
                // The command line's words only: not the API's ModelFile functions.
                let _, _, err, _ = run dir [ "evaluate"; "--model"; "old.onnx"; "--data"; "semi.csv"; "--separator"; ";" ]
                Expect.stringContains err "rename it to .fnn" "evaluate names the file as what it is"
                Expect.isFalse (err.Contains "ModelFile") (sprintf "the command line's words only: %s" err)
                expectError dir [ "export"; "--model"; "old.onnx"; "--out"; "new.onnx" ] 2 [ "old.onnx is a Functional.NN model file named .onnx"; "rename it to old.fnn" ] |> ignore
                // The names the advice gives work: train to .fnn, export to .onnx, predict and export read them.
                let code, _, err, _ = run dir [ "import"; "--onnx"; "mlp.onnx"; "--out"; "back.fnn" ]
                Expect.equal code 0 err
                let code, _, err, _ = run dir [ "export"; "--model"; "back.fnn"; "--out"; "back.onnx" ]
                Expect.equal code 0 err
                let code, _, err, _ = run dir [ "predict"; "--model"; "back.onnx"; "--data"; "semi.csv"; "--features"; "p,q"; "--separator"; ";" ]
                Expect.equal code 0 err
        }
        test "every library advice that names an API option and then the command line's reads with the command line's words only in fnn" {
            // Each literal of the core (and the facade, which renames some of the core's words) holding "(CLI: ...)".
            let sources =
                [ yield! Directory.GetFiles(Repo.path [ "src"; "Core.FSharp" ], "*.fs", SearchOption.AllDirectories)
                  yield! Directory.GetFiles(Repo.path [ "src"; "Facade.CSharp" ], "*.cs") ]
            let literals =
                [ for f in sources do
                    for m in Text.RegularExpressions.Regex.Matches(File.ReadAllText f, "\"([^\"\n]*\\(CLI: [^\"\n]*)\"") do
                        yield Path.GetFileName f, m.Groups.[1].Value ]
            Expect.isGreaterThanOrEqual literals.Length 8 "the advice literals are found"
            // The tool's table (Cli.Advice: the API's phrase, the command line's), which Cli.CommandLineAdvice applies to
            // every error and warning it prints; the tests above and below run the tool on two of them.
            let table =
                [ for m in Text.RegularExpressions.Regex.Matches(File.ReadAllText(Repo.path [ "src"; "Cli.CSharp"; "Cli.cs" ]), "\\(\"([^\"\n]*\\(CLI: [^\"\n]*)\",\\s*\"([^\"\n]*)\"\\)") ->
                    m.Groups.[1].Value, m.Groups.[2].Value ]
            Expect.isGreaterThanOrEqual table.Length 8 "the table is found"
            for _, commandLine in table do Expect.isFalse (commandLine.Contains "(CLI:") commandLine
            for file, text in literals do
                let shown = table |> List.fold (fun (t: string) (api, commandLine) -> t.Replace(api, commandLine)) text
                Expect.isFalse (shown.Contains "(CLI:") (sprintf "%s: fnn's table rewords %s (it leaves %s)" file text shown)
        }
        test "docs/cli.md quotes the missing-value error as the CLI prints it" {
            let dir = tempDir ()
            try
                File.WriteAllText(Path.Combine(dir, "miss.csv"), "a,b,c\n1,,x\n2,3,y\n3,4,x\n4,5,y\n5,6,x\n6,7,y\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "miss.csv" ]
                Expect.equal code 1 err
                let line = err.Trim()
                Expect.equal line "fnn: the data cannot be read: Line 2, column 'b': the value is missing (an empty field); use --missing drop|mean|median|most_frequent to drop or impute missing values." "the line"
                let doc = File.ReadAllText(Repo.path [ "docs"; "cli.md" ])
                Expect.stringContains doc ("| 1 | a missing value | `" + line.Replace("|", "\\|") + "` |") "the Errors table quotes it word for word"
            finally Directory.Delete(dir, true)
        }
        test "predict, evaluate, explain and export take the models the CLI makes, or refuse them with a usage error naming the kind" {
            withModels <| fun dir ->
                // The network model file fnn import made predicts as its .onnx file does (the same numbers).
                let _, fromOnnx, _, _ = run dir [ "predict"; "--model"; "mlp.onnx"; "--data"; "semi.csv"; "--features"; "p,q" ]
                let code, fromFnn, err, _ = run dir [ "predict"; "--model"; "mlp.fnn"; "--data"; "semi.csv"; "--features"; "p,q" ]
                Expect.equal code 0 err
                Expect.equal fromFnn fromOnnx "the .fnn network predicts as the .onnx network"
                expectError dir [ "evaluate"; "--model"; "mlp.fnn"; "--data"; "iris.csv" ] 2 [ "fnn: evaluate takes pipeline and linear models"; "holds a network model" ] |> ignore
                expectError dir [ "explain"; "--model"; "mlp.fnn"; "--data"; "iris.csv" ] 2 [ "fnn: explain takes pipeline and linear models"; "holds a network model" ] |> ignore
                let code, _, err, _ = run dir [ "explain"; "--model"; "lin.fnn"; "--data"; "lin.csv" ]
                Expect.equal code 0 (sprintf "explain takes a linear model (stderr: %s)" err)
                expectError dir [ "export"; "--model"; "cls.onnx"; "--out"; "again.onnx" ] 2 [ "fnn: export writes ONNX"; "already ONNX"; "fnn import" ] |> ignore
                // The library's own pipeline export is evaluated and explained as its .fnn file is.
                let _, viaFnn, _, _ = run dir [ "evaluate"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--json" ]
                let code, viaOnnx, err, _ = run dir [ "evaluate"; "--model"; "cls.onnx"; "--data"; "iris.csv"; "--json" ]
                Expect.equal code 0 err
                Expect.floatClose Accuracy.high ((json viaOnnx).GetProperty("accuracy").GetDouble()) ((json viaFnn).GetProperty("accuracy").GetDouble()) "the same accuracy"
                let code, _, err, _ = run dir [ "explain"; "--model"; "cls.onnx"; "--data"; "iris.csv"; "--json" ]
                Expect.equal code 0 err
        }
        test "a missing value under a model trained without imputation gets advice that works; explain takes the data options" {
            withModels <| fun dir ->
                for cmd in [ "evaluate"; "predict"; "explain" ] do
                    expectError dir [ cmd; "--model"; "cls.fnn"; "--data"; "missfeat.csv" ] 1 [ "'sepal_width'"; "--missing drop"; "retrain with --missing" ] |> ignore
                    expectError dir [ cmd; "--model"; "cls.fnn"; "--data"; "missfeat.csv"; "--missing"; "mean" ] 2 [ "--missing mean"; "without imputation"; "--missing drop" ] |> ignore
                    // The advice given works.
                    let code, _, err, _ = run dir [ cmd; "--model"; "cls.fnn"; "--data"; "missfeat.csv"; "--missing"; "drop" ]
                    Expect.equal code 0 (sprintf "fnn %s --missing drop (stderr: %s)" cmd err)
                let code, out, err, _ = run dir [ "explain"; "--model"; "cls.fnn"; "--data"; "missfeat.csv"; "--missing"; "drop"; "--unknown-category"; "zeros"; "--json" ]
                Expect.equal code 0 err
                Expect.equal ((json out).GetProperty("row").GetInt32()) 0 "explain takes the data options"
        }
        test "--out /dev/stdout writes the predictions into the pipe, for a pipeline and for a network" {
            // The atomic write replaced the path: a pipe has none ("Could not find file"). The rows come from the data:
            // one per row of iris.csv (150) after the header, whose columns the pipeline's predictions name.
            withModels <| fun dir ->
                let code, out, err, _ = run dir [ "predict"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--out"; "/dev/stdout" ]
                Expect.equal code 0 err
                let lines = out.Split('\n') |> Array.filter (fun l -> l.Contains ",")
                Expect.stringContains lines.[0] "predicted_species" "the header"
                Expect.equal lines.Length 151 "the header and one line per row"
                File.WriteAllText(Path.Combine(dir, "xy.csv"), "a,b\n0.5,1\n-1,2\n")
                let code, out, err, _ = run dir [ "predict"; "--model"; "mlp.fnn"; "--data"; "xy.csv"; "--out"; "/dev/stdout" ]
                Expect.equal code 0 err
                Expect.equal (out.Split('\n') |> Array.filter (fun l -> l.Contains ",") |> Array.length) 3 "the header and two rows"
        }
        test "predict --out: the status line goes to stderr, so --out /dev/stdout gives exactly the CSV that --out FILE writes" {
            // The status line "150 predictions written to /dev/stdout" went to stdout, after the CSV it had written there:
            // the piped file had a 152nd line of one field, which the reader refused. Each kind of model (a pipeline, a
            // network, a linear model) writes its predictions; the rows are those of the data (iris.csv 150, xy.csv 2,
            // lin.csv 40, as withModels writes them; one.csv 1, for the singular).
            withModels <| fun dir ->
                File.WriteAllText(Path.Combine(dir, "xy.csv"), "a,b\n0.5,1\n-1,2\n")
                File.WriteAllText(Path.Combine(dir, "one.csv"), "a,b\n0.5,1\n")
                for model, data, rows in [ "cls.fnn", "iris.csv", 150; "mlp.fnn", "xy.csv", 2; "lin.fnn", "lin.csv", 40; "mlp.fnn", "one.csv", 1 ] do
                    let code, out, err, _ = run dir [ "predict"; "--model"; model; "--data"; data; "--out"; "/dev/stdout" ]
                    Expect.equal code 0 err
                    let noun = if rows = 1 then "prediction" else "predictions"
                    Expect.equal (err.Replace("\r\n", "\n")) (sprintf "%d %s written to /dev/stdout\n" rows noun) (model + ": the status line, on stderr")
                    let code, _, err, _ = run dir [ "predict"; "--model"; model; "--data"; data; "--out"; "p.csv" ]
                    Expect.equal code 0 err
                    Expect.equal (err.Replace("\r\n", "\n")) (sprintf "%d %s written to p.csv\n" rows noun) (model + ": the same line for a file")
                    Expect.equal out (File.ReadAllText(Path.Combine(dir, "p.csv"))) (model + ": stdout is the file's CSV, and nothing else")
                    Expect.equal (Functional.NN.Csv.parse out).Rows.Length rows (model + ": it reads back, one row per prediction")
        }
        test "numeric options out of range are usage errors (exit 2) naming the option, before any summary or training" {
            withModels <| fun dir ->
                Expect.equal (expectError dir [ "train"; "--data"; "iris.csv"; "--validation-fraction"; "1" ] 2 [ "--validation-fraction"; "[0, 1)" ]) "" "nothing printed"
                Expect.equal (expectError dir [ "train"; "--data"; "iris.csv"; "--validation-fraction"; "-0.1" ] 2 [ "--validation-fraction" ]) "" "nothing printed"
                // --steps, --repeats and widths too large for memory: usage errors as the others (exit 2), naming the option.
                Expect.equal (expectError dir [ "explain"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--steps"; "0" ] 2 [ "--steps must be at least 1" ]) "" "nothing printed"
                Expect.equal (expectError dir [ "explain"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--method"; "permutation"; "--repeats"; "0" ] 2 [ "--repeats must be at least 1" ]) "" "nothing printed"
                // Above Explanations.MaxSteps: the option and its limit, not the library's member (which gave exit 1).
                let code, out, err, _ = run dir [ "explain"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--method"; "gradient_x_input"; "--steps"; "5000" ]
                Expect.equal code 2 err
                Expect.equal out "" "nothing printed"
                Expect.stringContains err "--steps must be at most 4096" "the option and its limit"
                Expect.isFalse (err.Contains "Explanations.MaxSteps") "not the library's member"
                let out = expectError dir [ "train"; "--data"; "iris.csv"; "--layers"; "2147483647" ] 2 [ "--layers 2147483647"; "2147483647 units" ]
                Expect.equal out "" "nothing printed"
                // An option the method does not use is refused, not ignored (as --backend with permutation).
                Expect.equal (expectError dir [ "explain"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--method"; "permutation"; "--steps"; "64" ] 2 [ "--steps is for --method integrated_gradients" ]) "" "nothing printed"
                Expect.equal (expectError dir [ "explain"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--method"; "gradient_x_input"; "--steps"; "64" ] 2 [ "--method gradient_x_input takes none" ]) "" "nothing printed"
                Expect.equal (expectError dir [ "explain"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--repeats"; "3" ] 2 [ "--repeats is for --method permutation" ]) "" "nothing printed"
                // Review: --seed with a gradient method was silently ignored (the attributions draw nothing at random).
                for methodName in [ "integrated_gradients"; "gradient_x_input" ] do
                    Expect.equal (expectError dir [ "explain"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--method"; methodName; "--seed"; "3" ] 2
                                      [ "--seed is for --method permutation"; sprintf "--method %s draws nothing at random" methodName ]) "" "nothing printed"
                // Review: a loss that does not suit the target, and an unknown embedded data set, were data errors
                // (exit 1) in the library's words; they are option mistakes, named in the command line's terms.
                let out = expectError dir [ "train"; "--dataset"; "commute"; "--loss"; "cross_entropy" ] 2 [ "--loss cross_entropy is a classification loss"; "commute_min"; "--loss mse"; "--task classification" ]
                Expect.equal out "" "nothing printed"
                for args in [ [ "train"; "--dataset"; "mnist" ]; [ "linear"; "--dataset"; "mnist" ]; [ "explain"; "--model"; "cls.fnn"; "--dataset"; "mnist" ] ] do
                    Expect.equal (expectError dir args 2 [ "--dataset: there is no embedded data set called 'mnist'"; "iris" ]) "" (sprintf "%A: nothing printed" args)
        }
        test "a model trained on labels spelled 1.0/2.0 predicts, evaluates and explains on its own file; a quote-all file's NA is missing" {
            let dir = tempDir ()
            try
                // 40 rows, labels 1.0/2.0 by the sign of a - b: the rule reads two classes, named 1 and 2.
                let rows = [ for i in 0 .. 39 -> sprintf "%d,%d,%s" (i % 7) (i % 5) (if i % 7 > i % 5 then "1.0" else "2.0") ]
                File.WriteAllText(Path.Combine(dir, "c.csv"), "a,b,label\n" + String.Join("\n", rows) + "\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "c.csv"; "--epochs"; "5"; "--quiet"; "--out"; "c.model" ]
                Expect.equal code 0 err
                for args in [ [ "evaluate"; "--model"; "c.model"; "--data"; "c.csv" ]
                              [ "predict"; "--model"; "c.model"; "--data"; "c.csv" ]
                              [ "explain"; "--model"; "c.model"; "--data"; "c.csv" ] ] do
                    let code, _, err, _ = run dir args
                    Expect.equal code 0 (sprintf "fnn %s (stderr: %s)" (String.Join(" ", args)) err)
                // Python's csv.QUOTE_ALL: every field quoted, "NA" in a numeric column is missing and imputed.
                let quoted = [ for i in 0 .. 29 -> sprintf "\"%s\",\"%d\",\"%s\"" (if i = 4 then "NA" else string (i % 6)) (i % 4) (if i % 2 = 0 then "p" else "q") ]
                File.WriteAllText(Path.Combine(dir, "qa.csv"), "\"a\",\"b\",\"y\"\n" + String.Join("\n", quoted) + "\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "qa.csv"; "--missing"; "mean"; "--epochs"; "2"; "--quiet" ]
                Expect.equal code 0 (sprintf "train on the quote-all file (stderr: %s)" err)
            finally Directory.Delete(dir, true)
        }
        test "fnn linear --lambda fits ridge with the intercept unpenalised (scikit-learn's convention)" {
            let dir = tempDir ()
            try
                // 60 rows, y = 1000 + 3a - 20b + e (e in -0.3 .. 0.3), written in tenths so the file is exact.
                let tenths (v: int) = sprintf "%d.%d" (v / 10) (v % 10)
                let row i =
                    let a, b10, e10 = (i * 7) % 11, 10 * ((i * 3) % 5) + 5 * (i % 4), (i * 13) % 7 - 3
                    sprintf "%d,%s,%s\n" a (tenths b10) (tenths (10000 + 30 * a - 20 * b10 + e10))
                let rows = List.init 60 row
                File.WriteAllText(Path.Combine(dir, "r.csv"), "a,b,y\n" + String.Join("", rows))
                let code, out, err, _ = run dir [ "linear"; "--data"; "r.csv"; "--lambda"; "0.01"; "--test-fraction"; "0"; "--json" ]
                Expect.equal code 0 err
                let j = json out
                // Expected (numpy): centre X and y, solve the augmented least squares [Xc; sqrt(n lambda) I] w = [yc; 0] with
                // np.linalg.lstsq, b = mean y - mean x . w: the minimiser of 1/(2n) ||X w + b - y||^2 + lambda/2 ||w||^2.
                // The notes' form (intercept penalised) gives 941.48, 7.125, -9.667 and R^2 0.42 here (numpy's closed form).
                let close (what: string) (expected: float) =
                    let v = j.GetProperty(what).GetDouble()
                    if abs (v - expected) > 1e-9 * abs expected then failtestf "%s: %.17g, numpy %.17g" what v expected
                close "intercept" 999.775464785513
                close "coefficient_a" 2.992643703338845
                close "coefficient_b" -19.903112980822883
                close "train_r2" 0.999938555052782
                Expect.equal (j.GetProperty("ridge_form").GetString()) "intercept_unpenalized" "the JSON says the form"
                let code, out, err, _ = run dir [ "linear"; "--data"; "r.csv"; "--lambda"; "0.01"; "--test-fraction"; "0" ]
                Expect.equal code 0 err
                Expect.stringContains out "ridge regression (lambda 0.01, intercept not penalised)" "the report says the form"
                // A column of scale 1e7 next to one of scale 1 (12 rows: b = 1e7 i + 1e6 (i mod 3)): the equilibrated matrix has
                // condition number 6.6e3 (numpy), so ridge fits; numpy's values as above with lambda = 0.001.
                let rows = [ for i in 0 .. 11 -> sprintf "%d,%d,%d.%d%d\n" i (i * 10000000 + (i % 3) * 1000000) (2 * i) (i % 3) (i % 2) ]
                File.WriteAllText(Path.Combine(dir, "big.csv"), "a,b,y\n" + String.Join("", rows))
                let code, out, err, _ = run dir [ "linear"; "--data"; "big.csv"; "--lambda"; "0.001"; "--test-fraction"; "0"; "--json" ]
                Expect.equal code 0 err
                let j = json out
                let close (what: string) (expected: float) (tol: float) =
                    let v = j.GetProperty(what).GetDouble()
                    if abs (v - expected) > tol * abs expected then failtestf "%s: %.17g, numpy %.17g" what v expected
                // The intercept is mean y - mean x . w = 11.005 - 11.01 (cancellation), so it keeps fewer relative digits.
                close "intercept" -0.005154305624689215 1e-6
                close "coefficient_a" 0.8636137381781973 1e-9
                close "coefficient_b" 1.1357640617222512e-07 1e-9
            finally Directory.Delete(dir, true)
        }
        test "fnn linear --lambda too small for the data: the message names --lambda and the columns by name" {
            let dir = tempDir ()
            try
                // a2 is a copy of a: with --lambda 1e-20 the equilibrated matrix is singular in double precision.
                let rows = [ for i in 0 .. 11 -> sprintf "%d,%d,%d.%d\n" i i (2 * i) (i % 3) ]
                File.WriteAllText(Path.Combine(dir, "dup.csv"), "a,a2,y\n" + String.Join("", rows))
                let _, _, err, _ = run dir [ "linear"; "--data"; "dup.csv"; "--lambda"; "1e-20"; "--test-fraction"; "0" ]
                expectError dir [ "linear"; "--data"; "dup.csv"; "--lambda"; "1e-20"; "--test-fraction"; "0" ] 1
                    [ "--lambda 1e-20 is too small"; "the column 'a' and the column 'a2'"; "or increase --lambda" ] |> ignore
                Expect.isFalse (err.Contains "(feature 0" || err.Contains "lambda = " || err.Contains "Standardise") err
            finally Directory.Delete(dir, true)
        }
        test "fnn linear on a rank-deficient design advises --lambda, not the library's member" {
            withModels <| fun dir ->
                // b = 2a: the design is rank-deficient.
                File.WriteAllText(Path.Combine(dir, "rank.csv"), "a,b,y\n1,2,3\n2,4,5\n3,6,7\n4,8,9\n5,10,12\n6,12,13\n")
                let _, _, err, _ = run dir [ "linear"; "--data"; "rank.csv"; "--test-fraction"; "0" ]
                Expect.isFalse (err.Contains "Ridge.fit" || err.Contains "FitRidge") err
                expectError dir [ "linear"; "--data"; "rank.csv"; "--test-fraction"; "0" ] 1 [ "rank-deficient"; "fnn linear --lambda" ] |> ignore
                let code, _, err, _ = run dir [ "linear"; "--data"; "rank.csv"; "--test-fraction"; "0"; "--lambda"; "0.01" ]
                Expect.equal code 0 (sprintf "the advice works (stderr: %s)" err)
                // b = 2a + 1e-7 on every other row: full rank, but about 4e-17 of b's squared length lies outside the span
                // of the intercept and a (by hand: (0.5e-7)^2 against a mean b^2 near 60), below the rank tolerance 1e-10
                // and above rounding: "numerically rank-deficient", with no advice to lower a polynomial's degree.
                let near = [ for i in 1 .. 8 -> sprintf "%d,%s,%d\n" i ((2.0 * float i + (if i % 2 = 0 then 1e-7 else 0.0)).ToString("R", Globalization.CultureInfo.InvariantCulture)) (3 * i) ]
                File.WriteAllText(Path.Combine(dir, "near.csv"), "a,b,y\n" + String.Join("", near))
                expectError dir [ "linear"; "--data"; "near.csv"; "--test-fraction"; "0" ] 1 [ "numerically rank-deficient"; "fnn linear --lambda" ] |> ignore
                let _, _, err, _ = run dir [ "linear"; "--data"; "near.csv"; "--test-fraction"; "0" ]
                Expect.isFalse (err.Contains "lower the degree" || err.Contains "LeastSquaresOptions") err
        }
        test "fnn linear: R^2 of one row is undefined in evaluate's words, and a --lambda (any number option) that underflows to 0 is refused" {
            let dir = tempDir ()
            try
                // One training row: R^2 compares with the rows' own variance, which one row does not have (fnn evaluate:
                // "R^2: undefined (1 sample; it needs at least 2)"); it printed "training R^2 nan" and "1 training rows".
                File.WriteAllText(Path.Combine(dir, "single.csv"), "a,y\n1.5,2\n")
                let code, out, err, _ = run dir [ "linear"; "--data"; "single.csv"; "--test-fraction"; "0"; "--lambda"; "1e-3" ]
                Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                Expect.stringContains out "on 1 feature, 1 training row (every row; no test rows)" "singular row count"
                Expect.stringContains out "training R^2 undefined (1 training row; it needs at least 2), MSE 0" "evaluate's wording"
                Expect.isFalse (out.ToLowerInvariant().Contains "nan") out
                // One test row (30 rows, --test-fraction 0.04): the test line says the same.
                let rows = [ for i in 0 .. 29 -> sprintf "%d,%d\n" i (3 * i + i % 4) ]
                File.WriteAllText(Path.Combine(dir, "line.csv"), "a,y\n" + String.Join("", rows))
                let code, out, err, _ = run dir [ "linear"; "--data"; "line.csv"; "--test-fraction"; "0.04" ]
                Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                Expect.stringContains out "29 training rows and 1 test row (seed 0)" "counts"
                Expect.stringContains out "test R^2 undefined (1 test row; it needs at least 2), MSE " "the test line"
                // 1e-400 reads as 0 in doubles: least squares, not the ridge asked for (as the library refuses an alpha whose
                // lambda = alpha / n underflows). 0e-400 is zero, least squares as asked.
                expectError dir [ "linear"; "--data"; "line.csv"; "--test-fraction"; "0"; "--lambda"; "1e-400" ] 2
                    [ "--lambda 1e-400 is so small that it underflows to 0 in double precision"; "give a larger value, or 0" ] |> ignore
                // Every number option reads so: --test-fraction 1e-400 took no test rows, --lr 1e-400 was refused as 0.
                expectError dir [ "linear"; "--data"; "line.csv"; "--test-fraction"; "1e-400" ] 2
                    [ "--test-fraction 1e-400 is so small that it underflows to 0 in double precision" ] |> ignore
                expectError dir [ "train"; "--data"; "line.csv"; "--lr"; "0.5e-330" ] 2
                    [ "--lr 0.5e-330 is so small that it underflows to 0 in double precision" ] |> ignore
                let code, out, err, _ = run dir [ "linear"; "--data"; "line.csv"; "--test-fraction"; "0"; "--lambda"; "0e-400" ]
                Expect.equal code 0 (sprintf "0e-400 is zero (stderr: %s)" err)
                Expect.stringStarts out "least squares of y" "least squares"
            finally Directory.Delete(dir, true)
        }
        test "predict and explain --row read the model's features only: a blank, unseen or text target cell neither fails nor drops a row" {
            let dir = tempDir ()
            try
                let write name (text: string) = File.WriteAllText(Path.Combine(dir, name), text)
                // 40 rows: y = 2a + b (a regression), label hi when a > b (two classes).
                let ab = [ for i in 0 .. 39 -> i % 7, (i * 3) % 5 ]
                write "reg.csv" ("a,b,y\n" + String.Join("", [ for a, b in ab -> sprintf "%d,%d,%d\n" a b (2 * a + b) ]))
                write "cls.csv" ("a,b,label\n" + String.Join("", [ for a, b in ab -> sprintf "%d,%d,%s\n" a b (if a > b then "hi" else "lo") ]))
                for data, model, extra in [ "reg.csv", "reg.fnn", []; "reg.csv", "regm.fnn", [ "--missing"; "mean" ]
                                            "cls.csv", "cls.fnn", []; "cls.csv", "clsm.fnn", [ "--missing"; "mean" ] ] do
                    let code, _, err, _ = run dir ([ "train"; "--data"; data; "--epochs"; "3"; "--quiet"; "--out"; model ] @ extra)
                    Expect.equal code 0 err
                // Three rows to predict; the target column holds a value, a blank and a text the models never saw (a
                // regressor reads numbers, a classifier knows hi and lo). The same rows without the target column are the
                // expected predictions: the target plays no part in a prediction.
                write "features.csv" "a,b\n1,2\n3,1\n2,2\n"
                write "newreg.csv" "a,b,y\n1,2,4\n3,1,\n2,2,unknown\n"
                write "newcls.csv" "a,b,label\n1,2,lo\n3,1,\n2,2,zzz\n"
                for model, fresh in [ "reg.fnn", "newreg.csv"; "regm.fnn", "newreg.csv"; "cls.fnn", "newcls.csv"; "clsm.fnn", "newcls.csv" ] do
                    let code, expected, err, _ = run dir [ "predict"; "--model"; model; "--data"; "features.csv" ]
                    Expect.equal code 0 err
                    let code, out, err, _ = run dir [ "predict"; "--model"; model; "--data"; fresh ]
                    Expect.equal code 0 (sprintf "predict --model %s --data %s (stderr: %s)" model fresh err)
                    Expect.equal (out.Trim().Split('\n').Length) 4 (sprintf "%s: the header and one prediction per row" model)
                    Expect.equal out expected (sprintf "%s: the predictions of the features alone" model)
                    // explain --row 2 reaches the third row (the one with the unseen target), and explains the output predict gave.
                    let code, out, err, _ = run dir [ "explain"; "--model"; model; "--data"; fresh; "--row"; "2"; "--json" ]
                    Expect.equal code 0 (sprintf "explain --model %s --row 2 (stderr: %s)" model err)
                    let features = (json out).GetProperty("features")
                    Expect.equal [ for f in features.EnumerateArray() -> f.GetProperty("value").GetDouble() ] [ 2.0; 2.0 ] "row 2's features"
                // evaluate still reads the target with the model's classes: the unseen class is an error naming it.
                expectError dir [ "evaluate"; "--model"; "cls.fnn"; "--data"; "newcls.csv"; "--missing"; "drop" ] 1 [ "'zzz' is not one of the model's classes" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "train saves the model first, and a test row's unseen category is all zeros in the report with a warning (also in --json)" {
            let dir = tempDir ()
            try
                // 190 rows of red, green, blue and one row each of 10 rare colours: some of them fall in the test rows only.
                let colours = Array.append [| for i in 0 .. 189 -> [| "red"; "green"; "blue" |].[i % 3] |] [| "purple"; "teal"; "navy"; "olive"; "maroon"; "cyan"; "lime"; "pink"; "gold"; "gray" |]
                let rows = colours |> Array.mapi (fun i c -> sprintf "%g,%s,%s" (float ((i * 37) % 100) / 10.0) c (if (i * 7) % 3 = 0 then "yes" else "no"))
                let path = Path.Combine(dir, "rare.csv")
                File.WriteAllText(path, "size,color,label\n" + String.Join("\n", rows) + "\n")
                // The expected unseen categories, from the data: the library's split (seed 1, 20 % tested, as train draws
                // it) and the colours written above; a test row's colour that no training row has, counted.
                let split = FunctionalNN.Dataset.LoadCsv(path).SplitStratified(0.2, 1L)
                let trained = set [ for i in split.TrainRows -> colours.[i] ]
                let expected =
                    split.TestRows |> Array.map (fun i -> colours.[i]) |> Array.filter (trained.Contains >> not)
                    |> Array.countBy id |> Array.sortWith (fun (a, _) (b, _) -> String.CompareOrdinal(a, b)) |> List.ofArray
                Expect.isNonEmpty expected "the data put some rare colour in the test rows only"
                let code, out, err, _ = run dir [ "train"; "--data"; "rare.csv"; "--quiet"; "--json"; "--seed"; "1"; "--epochs"; "20"; "--out"; "rare.fnn" ]
                Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                Expect.isTrue (File.Exists(Path.Combine(dir, "rare.fnn"))) "the model is saved"
                let j = json out
                Expect.equal (j.GetProperty("test_samples").GetInt32()) split.TestRows.Length "the test rows"
                let unseen = [ for u in j.GetProperty("unseen_categories").EnumerateArray() -> u.GetProperty("category").GetString(), u.GetProperty("test_rows").GetInt32() ]
                Expect.equal unseen expected "unseen_categories: each category and its test rows"
                for u in j.GetProperty("unseen_categories").EnumerateArray() do Expect.equal (u.GetProperty("column").GetString()) "color" "the column"
                let warning = err.Trim().Split('\n')
                Expect.equal warning.Length 1 (sprintf "one warning line for the one column: %s" err)
                Expect.stringStarts warning.[0] "fnn: warning: the test rows of column 'color' hold" "the warning names the column"
                for c, k in expected do Expect.stringContains warning.[0] (sprintf "'%s' (%d test row" c k) "each category and its count"
                // The test report: the saved model, its unseen categories as zeros, on the test rows, evaluated by fnn evaluate.
                let lines = File.ReadAllLines path
                File.WriteAllLines(Path.Combine(dir, "test.csv"), Array.append [| lines.[0] |] [| for i in split.TestRows -> lines.[i + 1] |])
                let code, ev, err, _ = run dir [ "evaluate"; "--model"; "rare.fnn"; "--data"; "test.csv"; "--unknown-category"; "zeros"; "--json" ]
                Expect.equal code 0 err
                Expect.equal ((json ev).GetProperty("accuracy").GetDouble()) (j.GetProperty("accuracy").GetDouble()) "the same test accuracy"
                // The saved model keeps its own rule (--unknown-category error, the default): evaluate refuses the rows as documented.
                expectError dir [ "evaluate"; "--model"; "rare.fnn"; "--data"; "test.csv" ] 1 [ "column 'color'"; "--unknown-category zeros" ] |> ignore
                // The text report says it too, on stderr, and prints the metrics.
                let code, out, err, _ = run dir [ "train"; "--data"; "rare.csv"; "--quiet"; "--seed"; "1"; "--epochs"; "20" ]
                Expect.equal code 0 err
                Expect.stringContains out "test accuracy: " "the report"
                Expect.stringContains err "column 'color'" "the warning"
                // The order itself: a report that cannot be written (stdout on /dev/full: no space left) fails the command
                // after the training, and the model is saved all the same; were the save after the report, there would be
                // no file. (No data make the test evaluation itself fail now that unseen categories are zeros, so a save
                // between the evaluation and the report would go unseen here.)
                let full = Path.Combine(dir, "full.fnn")
                let code, _, err =
                    Repo.runSplit [] "sh" [ "-c"; "exec dotnet \"$0\" \"$@\" > /dev/full"; Repo.fnn; "train"; "--data"; "rare.csv"; "--quiet"; "--json"; "--seed"; "1"; "--epochs"; "20"; "--out"; full ] dir (TimeSpan.FromSeconds 120.0)
                Expect.equal code 1 (sprintf "the report could not be written (stderr: %s)" err)
                Expect.stringContains err "No space left on device" "the write error is the reason"
                Expect.isTrue (File.Exists full) "the model was saved before the report"
                Expect.equal (FunctionalNN.Pipeline.Load(full).FeatureNames) [| "size"; "color" |] "the saved model reads back"
            finally Directory.Delete(dir, true)
        }
        test "--plots: a text feature skips regions.png with a note; missing values draw the regions over the finite range; a failing plot loses nothing" {
            let dir = tempDir ()
            try
                // x in [0, 10), code one of 007, 008, 010, A12 (a text column: A12 is no number), label by row parity.
                let codes = [ for i in 0 .. 119 -> sprintf "%g,%s,%s" (float ((i * 37) % 100) / 10.0) [| "007"; "008"; "010"; "A12" |].[i % 4] (if i % 2 = 0 then "yes" else "no") ]
                File.WriteAllText(Path.Combine(dir, "codes.csv"), "x,code,label\n" + String.Join("\n", codes) + "\n")
                let code, out, err, _ = run dir [ "train"; "--data"; "codes.csv"; "--features"; "x,code"; "--plots"; "pl"; "--epochs"; "5"; "--out"; "codes.fnn" ]
                Expect.equal code 0 (sprintf "train (stderr: %s)" err)
                Expect.stringContains out "test accuracy: " "the report"
                Expect.stringContains out "model saved to codes.fnn" "the model"
                for png in [ "loss.png"; "confusion.png" ] do Expect.isTrue (isPng (Path.Combine(dir, "pl", png))) png
                Expect.isFalse (File.Exists(Path.Combine(dir, "pl", "regions.png"))) "no regions for a text feature"
                Expect.equal (err.Trim().Split('\n')) [| "fnn: warning: --plots: regions.png is not drawn: the feature 'code' is a text column (categories, not an axis of numbers), and the regions need two numeric features" |] "one note"
                // x missing in every 13th row, imputed (--missing mean); the label is x > y. The regions fill the plane:
                // most of the picture is shaded (with a NaN range nothing but the dots and the frame would be).
                let rows = [ for i in 0 .. 119 -> let x, y = float ((i * 37) % 100) / 10.0, float ((i * 53) % 100) / 10.0 in sprintf "%s,%g,%s" (if i % 13 = 3 then "" else sprintf "%g" x) y (if x > y then "yes" else "no") ]
                File.WriteAllText(Path.Combine(dir, "miss.csv"), "x,y,label\n" + String.Join("\n", rows) + "\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "miss.csv"; "--missing"; "mean"; "--plots"; "pm"; "--epochs"; "30"; "--quiet" ]
                Expect.equal (code, err) (0, "") "train with missing values"
                Expect.isGreaterThan (tintedShare (Path.Combine(dir, "pm", "regions.png"))) 0.4 "the regions are shaded"
                // A folder named loss.png stands where the plot goes: that plot fails in one line, after the report and the
                // saved model, and the other plots are written (exit 1: not everything asked for was written).
                Directory.CreateDirectory(Path.Combine(dir, "pf", "loss.png")) |> ignore
                let code, out, err, _ = run dir [ "train"; "--data"; "miss.csv"; "--missing"; "mean"; "--plots"; "pf"; "--epochs"; "5"; "--out"; "pf.fnn"; "--json" ]
                Expect.equal code 1 err
                Expect.isGreaterThan ((json out).GetProperty("accuracy").GetDouble()) 0.0 "the JSON report is printed"
                Expect.isTrue (File.Exists(Path.Combine(dir, "pf.fnn"))) "the model is saved"
                let lines = err.Trim().Split('\n')
                Expect.equal lines.Length 1 err
                Expect.stringStarts lines.[0] "fnn: --plots pf: loss.png could not be written" "the failing plot"
                for png in [ "confusion.png"; "regions.png" ] do Expect.isTrue (isPng (Path.Combine(dir, "pf", png))) png
            finally Directory.Delete(dir, true)
        }
        test "predict --out writes a file predict reads back with the same values: a category NA, separators and spaces are quoted" {
            let dir = tempDir ()
            try
                // grade's categories in quotes (the text NA, a semicolon, a leading space), as docs/data-and-models.md says
                // quoted markers are text.
                let grades = [| "\"NA\""; "\"a;b\""; "plain"; "\" sp\"" |]
                let rows = [ for i in 0 .. 59 -> sprintf "%d,%s,%s" (i % 7) grades.[i % 4] (if i % 2 = 0 then "p" else "q") ]
                File.WriteAllText(Path.Combine(dir, "na.csv"), "x,grade,label\n" + String.Join("\n", rows) + "\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "na.csv"; "--epochs"; "3"; "--quiet"; "--out"; "na.fnn" ]
                Expect.equal code 0 err
                let code, _, err, _ = run dir [ "predict"; "--model"; "na.fnn"; "--data"; "na.csv"; "--out"; "p.csv" ]
                Expect.equal code 0 err
                let first = File.ReadAllLines(Path.Combine(dir, "p.csv"))
                // The first four rows' features as the input had them: NA, a;b and ' sp' need quotes, plain does not.
                Expect.equal [ for l in first.[1..4] -> String.Join(",", l.Split(',').[0..1]) ] [ "0,\"NA\""; "1,\"a;b\""; "2,plain"; "3,\" sp\"" ] "the quoted features"
                let code, _, err, _ = run dir [ "predict"; "--model"; "na.fnn"; "--data"; "p.csv"; "--out"; "p2.csv" ]
                Expect.equal code 0 (sprintf "predict reads its own output (stderr: %s)" err)
                Expect.equal (File.ReadAllLines(Path.Combine(dir, "p2.csv"))) first "the same features, so the same predictions"
            finally Directory.Delete(dir, true)
        }
        test "explain --plots names the option when the folder cannot be made, as train does" {
            withModels <| fun dir ->
                // /proc takes no new folder; .NET says "Could not find file '/proc/fnn-plots'", which names no option.
                let out = expectError dir [ "explain"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--plots"; "/proc/fnn-plots" ] 1 [ "--plots /proc/fnn-plots: the folder cannot be created or written"; "give a writable folder" ]
                Expect.equal out "" "nothing explained"
        }
        test "a column that is not there names --target or --features, the nearest column name, or the separator the header holds" {
            let dir = tempDir ()
            try
                // A semicolon-separated file (as modechoice.csv is published): read with --separator , its header is one column.
                let rows = [ for i in 0 .. 29 -> sprintf "%d;%d;%d;%d\n" (i / 4) (1 + i % 4) (i % 2) (20 + (i * 7) % 50) ]
                File.WriteAllText(Path.Combine(dir, "mc.csv"), "individual;mode;choice;ttme\n" + String.Join("", rows))
                expectError dir [ "train"; "--data"; "mc.csv"; "--target"; "mode"; "--separator"; ","; "--quiet" ] 1
                    [ "--target: there is no target column 'mode'"; "the file looks separated by ';'"; "give --separator ';'" ] |> ignore
                // 'modee' is one insertion from 'mode' (the option hints' rule: at most 2 edits for 5 letters).
                expectError dir [ "train"; "--data"; "mc.csv"; "--target"; "modee"; "--quiet" ] 1 [ "--target: there is no target column 'modee'"; "did you mean 'mode'?" ] |> ignore
                expectError dir [ "train"; "--data"; "mc.csv"; "--target"; "choice"; "--features"; "modee,ttme"; "--quiet" ] 1 [ "--features: the column name 'modee' matches no column"; "did you mean 'mode'?" ] |> ignore
                expectError dir [ "train"; "--data"; "mc.csv"; "--target"; "mode"; "--features"; "mode,ttme"; "--quiet" ] 1
                    [ "--features names the column 'mode', which is the target (--target)"; "leave it out of --features" ] |> ignore
                // A far name gets no guess: the columns are listed.
                let out = expectError dir [ "train"; "--data"; "mc.csv"; "--target"; "price"; "--quiet" ] 1 [ "--target: there is no target column 'price'" ]
                Expect.equal out "" "nothing on stdout"
                let code, _, err, _ = run dir [ "train"; "--data"; "mc.csv"; "--target"; "choice"; "--epochs"; "2"; "--quiet"; "--out"; "mc.fnn" ]
                Expect.equal code 0 err
                expectError dir [ "evaluate"; "--model"; "mc.fnn"; "--data"; "mc.csv"; "--target"; "choise" ] 1 [ "--target: there is no target column 'choise'"; "did you mean 'choice'?" ] |> ignore
                expectError dir [ "evaluate"; "--model"; "mc.fnn"; "--data"; "mc.csv"; "--target"; "ttme" ] 1 [ "--target ttme is one of the model's feature columns"; "name the column of the target with --target" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "numeric options out of range echo the value given; --out to a missing folder is one message for every command" {
            withModels <| fun dir ->
                expectError dir [ "train"; "--data"; "iris.csv"; "--lr"; "0" ] 2 [ "--lr must be positive (the step size), not 0" ] |> ignore
                expectError dir [ "train"; "--data"; "iris.csv"; "--epochs"; "-3" ] 2 [ "--epochs must be positive, not -3" ] |> ignore
                expectError dir [ "train"; "--data"; "iris.csv"; "--test-fraction"; "1.5" ] 2 [ "--test-fraction must lie strictly between 0 and 1, not 1.5" ] |> ignore
                // A folder under the test's own folder that the test never makes.
                let folder = Path.Combine(dir, "nofolder")
                let target (name: string) = Path.Combine(folder, name)
                let expected (name: string) = [ sprintf "--out %s: the folder %s does not exist" (target name) folder ]
                expectError dir [ "train"; "--data"; "iris.csv"; "--out"; target "m.fnn" ] 1 (expected "m.fnn") |> ignore
                expectError dir [ "linear"; "--data"; "lin.csv"; "--out"; target "l.fnn" ] 1 (expected "l.fnn") |> ignore
                expectError dir [ "import"; "--onnx"; "mlp.onnx"; "--out"; target "n.fnn" ] 1 (expected "n.fnn") |> ignore
                expectError dir [ "export"; "--model"; "cls.fnn"; "--out"; target "c.onnx" ] 1 (expected "c.onnx") |> ignore
                expectError dir [ "predict"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--out"; target "p.csv" ] 1 (expected "p.csv") |> ignore
                Expect.isFalse (Directory.Exists folder) "no folder made"
        }
        test "evaluate and predict under --unknown-category zeros warn per column of the categories the model never saw, as train does" {
            let dir = tempDir ()
            try
                let colours = [| "red"; "green"; "blue" |]
                let rows = [ for i in 0 .. 59 -> sprintf "%d,%s,%s\n" (i % 10) colours.[i % 3] (if i % 2 = 0 then "yes" else "no") ]
                File.WriteAllText(Path.Combine(dir, "t.csv"), "size,color,label\n" + String.Join("", rows))
                // Two rows of purple and one of teal, colours no training row has (the file above has red, green and blue only).
                File.WriteAllText(Path.Combine(dir, "new.csv"), "size,color,label\n1,purple,yes\n2,red,no\n3,purple,no\n4,teal,yes\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "t.csv"; "--epochs"; "2"; "--quiet"; "--out"; "t.fnn" ]
                Expect.equal code 0 err
                for command, results in [ "evaluate", "the metrics"; "predict", "the predictions" ] do
                    let code, _, err, _ = run dir [ command; "--model"; "t.fnn"; "--data"; "new.csv"; "--unknown-category"; "zeros" ]
                    Expect.equal code 0 err
                    let lines = err.Trim().Split('\n')
                    Expect.equal lines.Length 1 (sprintf "%s: one warning line for the one column: %s" command err)
                    Expect.stringStarts lines.[0] "fnn: warning: the rows of column 'color' hold categories the model's training rows did not: 'purple' (2 rows), 'teal' (1 row); " command
                    Expect.stringContains lines.[0] (results + " encode them as all zeros in the column's one-hot inputs (--unknown-category zeros)") command
            finally Directory.Delete(dir, true)
        }
        test "train says how many rows --missing dropped and how many cells it filled; --missing drop that leaves no row names it" {
            let dir = tempDir ()
            try
                let rows = [ for i in 0 .. 39 -> sprintf "%d,%d,%d" (i % 7) ((i * 3) % 11) (1 + i % 5) ]
                let write name (body: string list) = File.WriteAllText(Path.Combine(dir, name), "a,b,y\n" + String.Join("\n", body) + "\n")
                // One empty cell of the feature b (row 5), and, in the second file, one empty target cell (row 8).
                write "feat.csv" (rows |> List.mapi (fun i r -> if i = 5 then "3,,2" else r))
                write "targ.csv" (rows |> List.mapi (fun i r -> if i = 8 then "3,4," else r))
                let train file missing =
                    let code, out, err, _ = run dir [ "train"; "--data"; file; "--target"; "y"; "--missing"; missing; "--epochs"; "1" ]
                    Expect.equal code 0 err
                    out
                Expect.stringContains (train "feat.csv" "drop") "missing values: 1 row dropped (a missing value in 'b')" "drop: the row and its column"
                let mean = train "feat.csv" "mean"
                Expect.stringContains mean "missing values: 1 cell filled with the training rows' mean" "mean: the cell, in fnn linear's words"
                Expect.isFalse (mean.Contains "dropped") "mean drops no row for a missing feature"
                Expect.stringContains (train "targ.csv" "mean") "missing values: 1 row dropped (a missing value in the target 'y')" "a missing target drops its row under mean"
                Expect.isFalse ((train "targ.csv" "mean").Contains "cell filled") "no feature cell is missing"
                // A file that quotes every field (Python's csv.QUOTE_ALL): there "NA" in quotes is missing (the reader's rule), so
                // row 5 (line 7) is dropped for b and the report names b (a re-read with a rule of its own named no column).
                let quoteAll = rows |> List.mapi (fun i r -> if i = 5 then "3,NA,2" else r) |> List.map (fun r -> String.Join(",", r.Split(',') |> Array.map (sprintf "\"%s\"")))
                File.WriteAllText(Path.Combine(dir, "quoted.csv"), "\"a\",\"b\",\"y\"\n" + String.Join("\n", quoteAll) + "\n")
                Expect.stringContains (train "quoted.csv" "drop") "missing values: 1 row dropped (a missing value in 'b')" "quote-all: the column, by the reader's rule"
                // A model, then a file whose every row misses a feature value.
                let code, _, err, _ = run dir [ "train"; "--data"; "feat.csv"; "--target"; "y"; "--missing"; "drop"; "--epochs"; "1"; "--quiet"; "--out"; "m.fnn" ]
                Expect.equal code 0 err
                File.WriteAllText(Path.Combine(dir, "none.csv"), "a,b,y\n1,,2\n,3,1\n")
                expectError dir [ "predict"; "--model"; "m.fnn"; "--data"; "none.csv"; "--missing"; "drop" ] 1 [ "every row has a missing value"; "--missing drop leaves no row" ] |> ignore
                let code, out, err, _ = run dir [ "predict"; "--model"; "m.fnn"; "--data"; "feat.csv"; "--missing"; "drop" ]
                Expect.equal code 0 err
                Expect.equal (err.Trim()) "fnn: warning: 1 row dropped (a missing value in 'b'): no prediction for it" "predict says the row it drops"
                // 40 rows in the file, one dropped: 39 predictions and the header.
                Expect.equal (out.Trim().Split('\n').Length) 40 "39 predictions"
            finally Directory.Delete(dir, true)
        }
        test "plurals, the quadrature that applies, a plain apostrophe in JSON, and the outputs export writes" {
            withModels <| fun dir ->
                // mlp.onnx: 2 inputs, 1 output (NetworkBuilder(2).Dense(3).Dense(1) above), 2*3+3 + 3*1+1 = 13 parameters.
                let code, out, err, _ = run dir [ "import"; "--onnx"; "mlp.onnx"; "--out"; "again.fnn" ]
                Expect.equal code 0 err
                Expect.stringContains out ": 2 inputs, 1 output, 13 parameters," "one output, not 1 outputs"
                let code, out, err, _ = run dir [ "train"; "--data"; "iris.csv"; "--epochs"; "1" ]
                Expect.equal code 0 err
                Expect.stringContains out "at most 1 epoch;" "one epoch"
                // cls.fnn: iris with the defaults, tanh hidden layers and an identity output: no kink, no layer normalisation.
                let code, out, err, _ = run dir [ "explain"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--row"; "3" ]
                Expect.equal code 0 err
                Expect.stringContains out "quadrature: Gauss-Legendre on the whole path (the network has no ReLU kink or layer normalisation to cut it at)" "tanh: neither"
                let code, _, err, _ = run dir [ "train"; "--data"; "iris.csv"; "--epochs"; "2"; "--activation"; "relu"; "--quiet"; "--out"; "relu.fnn" ]
                Expect.equal code 0 err
                let code, out, err, _ = run dir [ "explain"; "--model"; "relu.fnn"; "--data"; "iris.csv"; "--row"; "3" ]
                Expect.equal code 0 err
                Expect.stringContains out "quadrature: Gauss-Legendre on each segment between the ReLU kinks of the path," "relu: the kinks only"
                let code, out, err, _ = run dir [ "explain"; "--model"; "cls.fnn"; "--data"; "iris.csv"; "--row"; "3"; "--json" ]
                Expect.equal code 0 err
                Expect.stringContains out "\"baseline\":\"the training rows' mean\"" "a plain apostrophe"
                Expect.equal ((json out).GetProperty("baseline").GetString()) "the training rows' mean" "valid JSON with the same text"
                // The ONNX export's rule (docs/onnx.md): probabilities for a softmax cross-entropy classifier, none under MSE.
                let code, out, err, _ = run dir [ "export"; "--model"; "cls.fnn"; "--out"; "c2.onnx" ]
                Expect.equal code 0 err
                Expect.stringContains out "outputs 'outputs', 'probabilities' and 'class_index'" "cross-entropy: probabilities"
                let code, _, err, _ = run dir [ "train"; "--data"; "iris.csv"; "--epochs"; "2"; "--loss"; "mse"; "--quiet"; "--out"; "mse.fnn" ]
                Expect.equal code 0 err
                let code, out, err, _ = run dir [ "export"; "--model"; "mse.fnn"; "--out"; "mse.onnx" ]
                Expect.equal code 0 err
                Expect.stringContains out "outputs 'outputs' and 'class_index' (no 'probabilities'" "mse: none"
        }
        test "the linear paths say the rows --missing dropped and the cells it filled; linear explain refuses one row, marks a missing cell, writes a plain apostrophe" {
            let dir = tempDir ()
            try
                // By hand: 7 rows; y is empty on line 6 and NA on line 7 (2 rows dropped for the target under mean); of the
                // 5 rows left, x2 is empty on lines 3 and 8 (2 cells filled); line 7 also misses x1 but is dropped for y.
                File.WriteAllText(Path.Combine(dir, "m.csv"), "x1,x2,note,y\n1,2,a,9\n2,,b,15.5\n3,1,c,10\n4,4,d,21\n5,7,e,\n,3,f,NA\n6,,g,20\n")
                let code, out, err, _ = run dir [ "linear"; "--data"; "m.csv"; "--target"; "y"; "--features"; "x1,x2"; "--missing"; "mean"; "--test-fraction"; "0"; "--out"; "mm.fnn" ]
                Expect.equal code 0 err
                Expect.stringContains out "missing values: 2 rows dropped (a missing value in the target 'y')" "linear: the dropped rows"
                Expect.stringContains out "missing values: 2 cells filled" "linear: the filled cells"
                Expect.stringContains out "on 2 features, 5 training rows" "the counts"
                Expect.stringContains out "(fnn evaluate, fnn predict and fnn explain read it)" "explain reads it too"
                let code, out, err, _ = run dir [ "linear"; "--data"; "m.csv"; "--target"; "y"; "--features"; "x1,x2"; "--missing"; "mean"; "--test-fraction"; "0"; "--json" ]
                Expect.equal code 0 err
                Expect.equal ((json out).GetProperty("missing_dropped").GetInt32()) 2 "the JSON's count"
                let code, out, err, _ = run dir [ "evaluate"; "--model"; "mm.fnn"; "--data"; "m.csv" ]
                Expect.equal code 0 err
                Expect.stringContains out "missing values: 2 rows dropped (a missing value in the target 'y')" "evaluate: the dropped rows"
                Expect.stringContains out "missing values: 2 cells filled with the training rows' mean (the model's fill values)" "evaluate: the filled cells"
                // --missing drop at predict: lines 3, 7 and 8 miss a feature (x2, x1, x2): 3 rows, no prediction for them.
                let code, out, err, _ = run dir [ "predict"; "--model"; "mm.fnn"; "--data"; "m.csv"; "--missing"; "drop" ]
                Expect.equal code 0 err
                Expect.equal (err.Trim()) "fnn: warning: 3 rows dropped (missing values in 'x1' (1 row), 'x2' (2 rows)): no prediction for them" "predict warns"
                Expect.equal (out.Trim().Split('\n').Length) 5 "4 predictions and the header"
                let code, out, err, _ = run dir [ "explain"; "--model"; "mm.fnn"; "--data"; "m.csv"; "--method"; "permutation" ]
                Expect.equal code 0 err
                Expect.stringContains out "missing values: 2 rows dropped (a missing value in the target 'y')" "permutation: the dropped rows"
                // Row 1 (line 3) misses x2: the value column says so, as a pipeline's table does.
                let code, out, err, _ = run dir [ "explain"; "--model"; "mm.fnn"; "--data"; "m.csv"; "--row"; "1" ]
                Expect.equal code 0 err
                Expect.stringContains out "the mean of the 7 rows of m.csv (the rows explained: the model file keeps no training mean)" "the baseline said"
                Expect.isTrue (out.Split('\n') |> Array.exists (fun l -> l.StartsWith "x2" && l.Contains "(missing)")) "the missing cell marked"
                let code, out, err, _ = run dir [ "explain"; "--model"; "mm.fnn"; "--data"; "m.csv"; "--row"; "1"; "--json" ]
                Expect.equal code 0 err
                Expect.stringContains out "the model's fill values" "a plain apostrophe in the linear JSON"
                let j = json out
                Expect.equal (j.GetProperty("features").[1].GetProperty("value").ValueKind) JsonValueKind.Null "a missing value is null"
                // One row: the baseline would be the row itself, every attribution 0.
                File.WriteAllText(Path.Combine(dir, "one.csv"), "x1,x2,note,y\n1,2,a,9\n")
                expectError dir [ "explain"; "--model"; "mm.fnn"; "--data"; "one.csv" ] 1 [ "has only 1 row"; "every attribution would be 0"; "several rows" ] |> ignore
                // Too few rows left by --missing drop: 5 rows, 4 dropped (x2 missing on 3, y on 1), 1 row for 3 unknowns.
                File.WriteAllText(Path.Combine(dir, "few.csv"), "x1,x2,y\n1,2,9\n2,,15.5\n3,,10\n4,,21\n5,7,\n")
                expectError dir [ "linear"; "--data"; "few.csv"; "--missing"; "drop"; "--test-fraction"; "0" ] 1 [ "The file has 5 rows; --missing drop left 1: 4 rows dropped" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "linear's option messages: --target a feature at evaluate, --features entries and the embedded data set's columns, empty --features, the value echoed" {
            let dir = tempDir ()
            try
                File.WriteAllText(Path.Combine(dir, "d.csv"), "a,b,y\n1,2,3\n2,1,4\n3,5,9\n4,2,7\n5,5,11\n")
                let code, _, err, _ = run dir [ "linear"; "--data"; "d.csv"; "--target"; "y"; "--test-fraction"; "0"; "--out"; "l.fnn" ]
                Expect.equal code 0 err
                // The pipeline's message and exit code (1, as fnn evaluate of a pipeline gives it; Cli.cs), now the linear model's too.
                expectError dir [ "evaluate"; "--model"; "l.fnn"; "--data"; "d.csv"; "--target"; "a" ] 1 [ "--target a is one of the model's feature columns" ] |> ignore
                expectError dir [ "linear"; "--data"; "d.csv"; "--target"; "y"; "--features"; "a,A" ] 1 [ "entries 1 and 2 of --features" ] |> ignore
                expectError dir [ "linear"; "--dataset"; "commute"; "--features"; "weekdy" ] 2 [ "--features"; "did you mean 'weekday'?" ] |> ignore
                expectError dir [ "linear"; "--dataset"; "commute"; "--features"; "commute_min" ] 2 [ "--features names the column 'commute_min', which is the target" ] |> ignore
                expectError dir [ "linear"; "--data"; "d.csv"; "--features"; "" ] 2 [ "--features names no column" ] |> ignore
                expectError dir [ "linear"; "--data"; "d.csv"; "--lambda"; "-1" ] 2 [ "--lambda must not be negative, not -1" ] |> ignore
                expectError dir [ "linear"; "--data"; "d.csv"; "--test-fraction"; "1.5" ] 2 [ "not 1.5" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "an attribution of exactly zero prints 0, not -0; export names the loss as --loss spells it" {
            let dir = tempDir ()
            try
                // y = 10 - x1 + x2 on three rows (by hand: 10, 13, 9), fitted exactly; row 1's x1 is 2, the mean of 1, 2, 3,
                // so its attribution is (negative coefficient) x 0, a negative zero in IEEE arithmetic.
                File.WriteAllText(Path.Combine(dir, "z.csv"), "x1,x2,y\n1,1,10\n2,5,13\n3,2,9\n")
                let code, _, err, _ = run dir [ "linear"; "--data"; "z.csv"; "--test-fraction"; "0"; "--out"; "z.fnn" ]
                Expect.equal code 0 err
                let code, out, err, _ = run dir [ "explain"; "--model"; "z.fnn"; "--data"; "z.csv"; "--row"; "1" ]
                Expect.equal code 0 err
                let x1 = out.Split('\n') |> Array.find (fun l -> l.StartsWith "x1 ")
                Expect.equal (x1.Split(' ', StringSplitOptions.RemoveEmptyEntries) |> Array.last) "0" "a zero attribution without its sign"
                // A two-class file trained with --loss hinge: its export has no probabilities, said with --loss's name.
                File.WriteAllText(Path.Combine(dir, "bin.csv"), "a,b,label\n1,2,p\n2,1,q\n3,3,p\n4,1,q\n5,2,p\n1,5,q\n2,2,p\n3,4,q\n4,4,p\n5,5,q\n")
                let code, _, err, _ = run dir [ "train"; "--data"; "bin.csv"; "--target"; "label"; "--loss"; "hinge"; "--epochs"; "2"; "--quiet"; "--out"; "h.fnn" ]
                Expect.equal code 0 err
                let code, out, err, _ = run dir [ "export"; "--model"; "h.fnn"; "--out"; "h.onnx" ]
                Expect.equal code 0 err
                Expect.stringContains out "(no 'probabilities': the loss hinge gives none)" "the CLI's name of the loss"
            finally Directory.Delete(dir, true)
        }
        test "predict refuses to write predictions with a repeated column name (the reader would refuse the file), naming --features" {
            withModels <| fun dir ->
                // mlp.onnx takes 2 inputs: p twice gives the header p,p,output_0, which no CSV reader of the library reads back.
                expectError dir [ "predict"; "--model"; "mlp.onnx"; "--data"; "semi.csv"; "--separator"; ";"; "--features"; "p,p" ] 1 [ "two columns named 'p'"; "--features" ] |> ignore
        }
        test "train refuses a Latin-1 file and a numeric column with an unknown missing spelling, naming the line and the way out" {
            // The review at 8df006c: the Latin-1 file trained with the classes 'blue' and 'r\uFFFDd' (réd and rèd merged), and
            // randhie's disea with 10 % N/A became 'disea (13 categories)'. Latin-1: é = E9 (ISO 8859-1).
            let dir = tempDir ()
            try
                let rows = [ for i in 0 .. 39 -> sprintf "%d,%s" i [| "réd"; "rèd"; "blue" |].[i % 3] ]
                File.WriteAllBytes(Path.Combine(dir, "latin.csv"), Text.Encoding.Latin1.GetBytes("x,label\n" + String.Join("\n", rows) + "\n"))
                // Line 2 is "0,r\xE9d": the E9 at offset 8 + 3 = 11.
                expectError dir [ "train"; "--data"; "latin.csv"; "--epochs"; "2" ] 1
                    [ "fnn: the data cannot be read: Line 2: the byte E9 (offset 11 in the file, after '0,r' on the line) is not UTF-8 text"; "save it as UTF-8" ] |> ignore
                let lines = File.ReadAllLines(Repo.path [ "tests"; "data"; "randhie.csv" ]) |> Array.truncate 2001
                let disea = Array.IndexOf(lines.[0].Split ',', "disea")
                let spell (marker: string) =
                    String.Join("\n", lines |> Array.mapi (fun i l ->
                        if i > 0 && i % 10 = 0 then String.Join(",", l.Split ',' |> Array.mapi (fun j f -> if j = disea then marker else f)) else l)) + "\n"
                File.WriteAllText(Path.Combine(dir, "na.csv"), spell "N/A")
                let code, out, err, _ = run dir [ "train"; "--data"; "na.csv"; "--target"; "mdvis"; "--missing"; "mean"; "--epochs"; "1" ]
                Expect.equal code 0 err
                Expect.isFalse (out.Contains "disea (") (sprintf "disea is no text column: %s" out)
                File.WriteAllText(Path.Combine(dir, "dots.csv"), spell "n.a.")
                expectError dir [ "train"; "--data"; "dots.csv"; "--target"; "mdvis"; "--missing"; "mean"; "--epochs"; "1" ] 1
                    [ "Line 11, column 'disea': 'n.a.' is not a number, though 1800 of the column's 2000 values are"; "declare it missing with --missing-values" ] |> ignore
            finally Directory.Delete(dir, true)
        }
    ]
