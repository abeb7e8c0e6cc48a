/// Issue 14: garbage is refused with a typed error that names the parameter (or the row, or the
/// file), fits never return NaN or infinite parameters, and nothing is saved that could not be
/// loaded back. Each test below failed before the fix it covers (checked by running it on the
/// commit before) and passes now; each expected value says where it comes from.
module Functional.NN.Tests.RobustnessTests

open System
open System.Buffers.Binary
open System.IO
open Expecto
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Linear
open Functional.NN.Approximation

/// The exception f raises, which must be an ArgumentException (or a subclass) with this ParamName
/// and a message holding every fragment.
/// `Expectations.expectArgument`, for statements.
let private expectArg (param: string) (fragments: string list) (f: unit -> unit) = Expectations.expectArgument param fragments f |> ignore

let private expectFormat (fragments: string list) (f: unit -> unit) =
    match Expect.throwsC f id with
    | :? ModelFormatException as e -> for fr in fragments do Expect.stringContains e.Message fr "message"
    | e -> failtestf "expected ModelFormatException, got %s: %s" (e.GetType().Name) e.Message

let private col (xs: float[]) = LinearModel.column xs

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "fnn-robust-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

/// A container of one float array whose declared shape is `shape`, with `payload` bytes of
/// values after it and a correct checksum: what a damaged or hostile file can declare.
let private fileWithShape (shape: int[]) (payload: int) =
    use ms = new MemoryStream()
    let w = new BinaryWriter(ms)
    w.Write(ModelContainer.magic)
    w.Write(1us)
    w.Write(7); w.Write("network"B)
    w.Write(1)
    w.Write(7); w.Write("weights"B)
    w.Write(4uy)
    w.Write(byte shape.Length)
    for d in shape do w.Write(d)
    w.Write(Array.zeroCreate<byte> payload)
    w.Flush()
    let body = ms.ToArray()
    let crc = ModelContainer.crc32 body body.Length
    Array.append body (BitConverter.GetBytes crc)

/// Runs the built fnn tool (as CliTests does) and returns its exit code and stderr.
let private runCli (args: string list) =
    let code, _, err = Repo.runFnn Repo.root args (TimeSpan.FromSeconds 60.0)
    code, err

[<Tests>]
let tests =
    testList "Robustness" [
        test "gradient descent on an input of 1e160: the Hessian overflows; a typed error naming x, not IndexOutOfRange" {
            // x^2 = 1e320 > 1.8e308 (the largest double), so X^T X / n is infinite: no 1/L exists.
            let x = Mat.ofRows [ [| 1e160 |]; [| 2.0 |]; [| 3.0 |] ]
            expectArg "x" [ "overflow" ] (fun () -> LinearGradientDescent.fit LinearGradientDescentOptions.Default LinearCost.Default x (col [| 1.0; 2.0; 3.0 |]) |> ignore)
            expectArg "x" [ "overflow" ] (fun () -> LinearCost.smoothness LinearCost.Default x |> ignore)
        }
        test "model-file dimensions whose product passes 2^31 or 2^63: ModelFormatException, not 'The input must be non-negative'" {
            // 2^16 x 2^16 = 2^32 floats; in unchecked int64 arithmetic 2^16 x 2^16 x 2^16 x 2^16 = 2^64
            // wraps to 0 and 2^16 x 2^16 x 2^16 x (2^15 + 1) = 2^63 + 2^48 wraps negative (hand values).
            for shape in [ [| 65536; 65536 |]; [| 65536; 65536; 65536; 65536 |]; [| 65536; 65536; 65536; 32769 |]; [| Int32.MaxValue; Int32.MaxValue; Int32.MaxValue; Int32.MaxValue |] ] do
                expectFormat [ "weights" ] (fun () -> ModelContainer.read (fileWithShape shape 64) |> ignore)
        }
        test "layer widths whose product overflows an int: a typed error before allocating, in the core and the facade" {
            // 100000 x 100000 = 1e10 weights > Array.MaxLength (2,147,483,591), the documented limit.
            expectArg "units" [ "100000"; "2147483591" ] (fun () -> Network.init 100000 [ LayerSpec.Of(100000, Activation.ReLU) ] 1L |> ignore)
            let before = GC.GetTotalAllocatedBytes false
            expectArg "units" [ "100000" ] (fun () -> FunctionalNN.NetworkBuilder(100000).Dense(100000).Build() |> ignore)
            Expect.isLessThan (GC.GetTotalAllocatedBytes false - before) 100_000_000L "nothing near 80 GB was allocated"
        }
        test "least squares with targets of 1e308 overflows: a typed error naming y, not a NaN intercept" {
            // x = 1, 2, 3 and y = 1e308, 1.7e308, -1e308: the exact fit has slope (y_3 - y_1) / 2 =
            // -1e308 and intercept mean(y) - 2 slope = 2.33e307 + 2e308 = 2.23e308, beyond the
            // largest double (1.797e308) (hand derivation): there is no finite answer to return.
            let x = Mat.ofRows [ [| 1.0 |]; [| 2.0 |]; [| 3.0 |] ]
            expectArg "y" [ "overflow" ] (fun () -> LeastSquares.fit LeastSquaresOptions.Default x (col [| 1e308; 1.7e308; -1e308 |]) |> ignore)
            expectArg "y" [ "overflow" ] (fun () -> FunctionalNN.LinearRegression.Fit(array2D [ [ 1.0 ]; [ 2.0 ]; [ 3.0 ] ], [| 1e308; 1.7e308; -1e308 |]) |> ignore)
            // Where the answer is finite it is returned: y = 1e308, -1e308, 1e308 has slope 0 and
            // intercept mean(y) = 1e308 / 3 (hand derivation), though sums of squares of y overflow.
            let m = LeastSquares.fit LeastSquaresOptions.Default x (col [| 1e308; -1e308; 1e308 |])
            Expect.floatClose Accuracy.high m.Intercept.[0] (1e308 / 3.0) "intercept 3.33e307"
        }
        test "the perceptron with a step of 1e308: a typed error naming learningRate, not NaN weights" {
            // One update adds eta (y - yhat) x = 2e308 x: beyond the double range.
            let x = Mat.ofRows [ [| 1.0; 2.0 |]; [| -1.0; -3.0 |] ]
            expectArg "learningRate" [ "overflow" ] (fun () -> Perceptron.fit (PerceptronOptions.Default.WithLearningRate 1e308) x [| 1; -1 |] |> ignore)
        }
        test "a leaky ReLU slope of NaN is refused at build time (core init and facade builder)" {
            expectArg "slope" [ "NaN" ] (fun () -> Network.init 2 [ LayerSpec.Of(3, Activation.LeakyReLU nan) ] 1L |> ignore)
            expectArg "leakySlope" [ "NaN" ] (fun () -> FunctionalNN.NetworkBuilder(2).Dense(3, FunctionalNN.Activation.LeakyReLU, leakySlope = nan) |> ignore)
        }
        test "one feature name for two features, or a null name, is refused at fit and create time" {
            let x = Mat.ofRows [ [| 1.0; 0.0 |]; [| 0.0; 1.0 |]; [| 1.0; 1.0 |]; [| 2.0; 1.0 |] ]
            expectArg "featureNames" [ "'a'"; "0"; "1" ] (fun () -> LeastSquares.fitNamed LeastSquaresOptions.Default [| "a"; "a" |] x (col [| 1.0; 2.0; 3.0; 4.0 |]) |> ignore)
            expectArg "featureNames" [ "null" ] (fun () -> LinearModel.create (Mat.init 2 1 (fun _ _ -> 1.0)) (Vector<float>.Build.Dense 1) true [| "a"; null |] |> ignore)
            expectArg "featureNames" [ "'a'" ] (fun () -> FunctionalNN.LinearModel.Create(Array2D.create 2 1 1.0, [| 0.0 |], true, [| "a"; "a" |]) |> ignore)
        }
        test "save validates what load validates: a model the reader would refuse is refused at save time, naming what is wrong" {
            // A model record built around the checked constructors (as a caller's `{ m with ... }` can):
            // a NaN intercept, and duplicate feature names; each would save a file that loads as damaged.
            let good = LinearModel.create (Mat.init 2 1 (fun i _ -> float i)) (Vector<float>.Build.Dense 1) true [| "a"; "b" |]
            let nanModel = { good with Intercept = Vector<float>.Build.Dense(1, nan) }
            expectArg "model" [ "intercept" ] (fun () -> ModelFile.linearToBytes nanModel |> ignore)
            let dupModel = { good with FeatureNames = [| "a"; "a" |] }
            expectArg "model" [ "featureNames" ] (fun () -> ModelFile.linearToBytes dupModel |> ignore)
            let dir = tempDir ()
            try
                let path = Path.Combine(dir, "m.fnn")
                expectArg "model" [ "featureNames" ] (fun () -> ModelFile.saveLinear path dupModel)
                Expect.isEmpty (Directory.GetFiles dir) "no file was written"
            finally Directory.Delete(dir, true)
            let net = Network.create [ Dense.create (Mat.init 2 2 (fun _ _ -> 0.5)) None Activation.Tanh ]
            let badNet = { net with Blocks = [ Block.Dense { net.Layers.Head with Activation = Activation.LeakyReLU nan } ] }
            expectArg "net" [ "leaky_relu(NaN)" ] (fun () -> ModelFile.networkToBytes badNet |> ignore)
        }
        test "Loss with targets of 1e308: a typed error naming the row, not infinity" {
            // (0 - 1e308)^2 = 1e616 overflows; row 1 holds it (row 0 is fine).
            let out = Mat.ofRows [ [| 0.0 |]; [| 0.0 |] ]
            let y = Mat.ofRows [ [| 1.0 |]; [| 1e308 |] ]
            for loss in [ Loss.MeanSquaredError; Loss.HalfMeanSquaredError ] do
                expectArg "target" [ "row 1" ] (fun () -> Loss.value loss out y |> ignore)
                // The half-MSE gradient (yhat - y)/n = -1e308/2 is finite there and returned; the MSE
                // gradient is computed as 2 (yhat - y) / n, whose 2 (yhat - y) = -2e308 overflows,
                // so it is refused naming the row (hand values). Both overflow when yhat - y
                // itself does: 1.5e308 - (-1.5e308) = 3e308.
                if loss = Loss.HalfMeanSquaredError then
                    Expect.equal (Loss.gradient loss out y).[1, 0] (-0.5e308) "a finite gradient is returned"
                else expectArg "target" [ "row 1" ] (fun () -> Loss.gradient loss out y |> ignore)
                expectArg "target" [ "row 1" ] (fun () -> Loss.gradient loss (Mat.ofRows [ [| 0.0 |]; [| 1.5e308 |] ]) (Mat.ofRows [ [| 0.0 |]; [| -1.5e308 |] ]) |> ignore)
            // |yhat - y| = 1.2e154 per row: each squared error is 1.44e308 (finite), their sum
            // 2.88e308 passes the largest double, 1.797e308 (hand values).
            let big = 1.2e154
            expectArg "target" [ "sum" ] (fun () -> Loss.value Loss.HalfMeanSquaredError (Mat.ofRows [ [| big |]; [| big |] ]) (Mat.ofRows [ [| 0.0 |]; [| 0.0 |] ]) |> ignore)
            let net = FunctionalNN.NetworkBuilder(1).Dense(1, FunctionalNN.Activation.Identity).Seed(1L).Build()
            expectArg "y" [ "row 1" ] (fun () -> net.Loss(array2D [ [ 0.0 ]; [ 0.0 ] ], array2D [ [ 1.0 ]; [ 1e308 ] ], FunctionalNN.Loss.MeanSquaredError) |> ignore)
            // Where the value is finite, no error: softmax cross-entropy of logits of 1e308 is
            // computed by log-sum-exp.
            let v = Loss.value Loss.SoftmaxCrossEntropy (Mat.ofRows [ [| 1e308; 0.0 |] ]) (Mat.ofRows [ [| 0.0; 1.0 |] ])
            // lse(1e308, 0) = 1e308; minus z_1 = 0 gives 1e308 (hand derivation).
            Expect.equal v 1e308 "softmax cross-entropy of logits (1e308, 0) for class 1 is 1e308"
        }
        test "the gradient checker refuses a negative or NaN relative floor and NaN parameters" {
            let f (t: float[]) = t.[0] * t.[0]
            let g (t: float[]) = [| 2.0 * t.[0] |]
            expectArg "relativeFloor" [ "-1" ] (fun () -> GradientCheck.check (GradientCheckOptions.Default.WithRelativeFloor -1.0) f g [| 1.0 |] |> ignore)
            expectArg "relativeFloor" [ "NaN" ] (fun () -> GradientCheck.check (GradientCheckOptions.Default.WithRelativeFloor nan) f g [| 1.0 |] |> ignore)
            expectArg "theta" [ "NaN"; "0" ] (fun () -> GradientCheck.check GradientCheckOptions.Default f g [| nan |] |> ignore)
            expectArg "parameters" [ "NaN" ] (fun () -> FunctionalNN.GradientChecker.Check(Func<float[], float> f, Func<float[], float[]> g, [| nan |]) |> ignore)
            expectArg "relativeFloor" [ "-1" ] (fun () -> FunctionalNN.GradientChecker.Check(Func<float[], float> f, Func<float[], float[]> g, [| 1.0 |], relativeFloor = -1.0) |> ignore)
        }
        test "ArgMax of a NaN row is refused, naming the row" {
            expectArg "scores" [ "row 1" ] (fun () -> FunctionalNN.Labels.ArgMax(array2D [ [ 1.0; 2.0 ]; [ nan; 0.0 ] ]) |> ignore)
            expectArg "m" [ "row 0" ] (fun () -> Mat.argmaxRows (Mat.ofRows [ [| 0.0; nan |] ]) |> ignore)
        }
        test "log loss of a probability of -5 or 1.5 is refused, naming the row and column" {
            expectArg "probabilities" [ "row 0"; "column 1"; "-5" ] (fun () -> ClassificationMetrics.logLoss (Mat.ofRows [ [| 0.5; -5.0 |] ]) [| 0 |] |> ignore)
            expectArg "probabilities" [ "row 1"; "1.5" ] (fun () -> FunctionalNN.Metrics.LogLoss(array2D [ [ 0.5; 0.5 ]; [ 1.5; 0.0 ] ], [| 0; 1 |]) |> ignore)
        }
        test "log loss of a row that is no distribution is refused, naming the row and its sum" {
            // 0.5 + 0.4 = 0.9 (row 1); a float32 softmax row of 1000 classes sums to 1 within 1e-5 and passes.
            expectArg "probabilities" [ "row 1"; "0.9" ] (fun () -> ClassificationMetrics.logLoss (Mat.ofRows [ [| 0.5; 0.5 |]; [| 0.5; 0.4 |] ]) [| 0; 1 |] |> ignore)
            expectArg "probabilities" [ "row 0"; "sums to 2" ] (fun () -> FunctionalNN.Metrics.LogLoss(array2D [ [ 1.0; 1.0 ] ], [| 0 |]) |> ignore)
            let rnd = Random 4
            let scores = Array.init 1000 (fun _ -> float32 (rnd.NextDouble()))
            let total = Array.sum scores
            let row = scores |> Array.map (fun v -> float (v / total))
            let l = ClassificationMetrics.logLoss (Mat.ofRows [ row ]) [| 7 |]
            Expect.floatClose Accuracy.high l (-(log row.[7])) "a float32-rounded distribution is accepted"
        }
        test "duplicate or null class names are refused in metrics, reports and pipelines" {
            expectArg "classNames" [ "'a'" ] (fun () -> ClassificationMetrics.report [| "a"; "a" |] [| 0; 1 |] [| 0; 1 |] None |> ignore)
            expectArg "classNames" [ "null" ] (fun () -> FunctionalNN.Metrics.Classification([| "a"; null |], [| 0; 1 |], [| 0; 1 |]) |> ignore)
            let net = Network.create [ Dense.create (Mat.init 2 2 (fun _ _ -> 0.5)) None Activation.Identity ]
            let scaler = Scaler.create ScalingKind.Standard [| 0.0; 0.0 |] [| 1.0; 1.0 |]
            let noTarget = Scaler.identity 0
            expectArg "classNames" [ "null" ] (fun () -> Pipeline.create [| "u"; "v" |] scaler net Loss.SoftmaxCrossEntropy "t" [| "a"; null |] noTarget |> ignore)
            expectArg "featureNames" [ "'u'" ] (fun () -> Pipeline.create [| "u"; "u" |] scaler net Loss.SoftmaxCrossEntropy "t" [| "a"; "b" |] noTarget |> ignore)
        }
        test "a negative or NaN second-derivative bound is refused" {
            expectArg "maxSecondDerivative" [ "-1" ] (fun () -> ReluInterpolant.errorBound 0.0 1.0 5 -1.0 |> ignore)
            expectArg "maxSecondDerivative" [ "NaN" ] (fun () -> FunctionalNN.UniversalApproximation.ErrorBound(0.0, 1.0, 5, nan) |> ignore)
            // The bound itself, h^2/8 M with h = 1/4, M = 2: 0.0625 / 8 * 2 = 0.015625 (hand value).
            Expect.floatClose Accuracy.veryHigh (ReluInterpolant.errorBound 0.0 1.0 5 2.0) 0.015625 "h^2/8 M"
        }
        test "k-fold with k greater than the rows names k (plain and stratified)" {
            expectArg "k" [ "5"; "3" ] (fun () -> Split.kFold 5 3 (Rng.create 1L) |> ignore)
            expectArg "k" [ "5"; "3" ] (fun () -> Split.stratifiedKFold 5 [| 0; 1; 0 |] (Rng.create 1L) |> ignore)
        }
        test "a directory given as a model or data file is said to be a directory, not missing" {
            let dir = tempDir ()
            try
                expectArg "path" [ "is a directory" ] (fun () -> ModelFile.loadPipeline dir |> ignore)
                expectArg "path" [ "is a directory" ] (fun () -> FunctionalNN.ModelFile.KindOf dir |> ignore)
                expectArg "path" [ "is a directory" ] (fun () -> FunctionalNN.Dataset.LoadCsv dir |> ignore)
                expectArg "path" [ "is a directory" ] (fun () -> FunctionalNN.Dataset.LoadCsvFeatures(dir, [| "a" |]) |> ignore)
                // The core's own CSV entry point (before: FileNotFoundException, "does not exist").
                expectArg "path" [ "is a directory" ] (fun () -> Csv.readText dir |> ignore)
            finally Directory.Delete(dir, true)
        }
        test "an empty or blank path is refused by a load as by a save (ParamName path), not as a missing file" {
            // Before: FileNotFoundException "The model file '' does not exist." for a load, while a
            // save said "path is empty".
            let model = LinearModel.create (Mat.init 1 1 (fun _ _ -> 2.0)) (Vector<float>.Build.Dense(1, 1.0)) true [| "x" |]
            for path in [ ""; "   " ] do
                expectArg "path" [ "path is empty" ] (fun () -> ModelFile.saveLinear path model)
                expectArg "path" [ "path is empty"; "model file" ] (fun () -> ModelFile.loadLinear path |> ignore)
                expectArg "path" [ "path is empty" ] (fun () -> ModelFile.loadNetwork path |> ignore)
                expectArg "path" [ "path is empty" ] (fun () -> ModelFile.loadPipeline path |> ignore)
                expectArg "path" [ "path is empty" ] (fun () -> ModelFile.loadCheckpoint path |> ignore)
                expectArg "path" [ "path is empty" ] (fun () -> FunctionalNN.ModelFile.LoadLinear path |> ignore)
                expectArg "path" [ "path is empty" ] (fun () -> FunctionalNN.ModelFile.LoadNetwork path |> ignore)
                expectArg "path" [ "path is empty" ] (fun () -> FunctionalNN.ModelFile.LoadPipeline path |> ignore)
                expectArg "path" [ "path is empty" ] (fun () -> FunctionalNN.ModelFile.LoadCheckpoint path |> ignore)
                expectArg "path" [ "path is empty" ] (fun () -> FunctionalNN.ModelFile.KindOf path |> ignore)
                expectArg "path" [ "path is empty" ] (fun () -> FunctionalNN.ModelFile.SaveLinear(FunctionalNN.LinearModel.Create(Array2D.create 1 1 1.0, [| 0.0 |]), path))
                // The data readers share the check.
                expectArg "path" [ "path is empty"; "data file" ] (fun () -> FunctionalNN.Dataset.LoadCsv path |> ignore)
                expectArg "path" [ "path is empty"; "data file" ] (fun () -> Csv.readText path |> ignore)
        }
        test "saving under a file (its parent is a file) says it is a file, not a missing folder" {
            let dir = tempDir ()
            try
                let file = Path.Combine(dir, "a.fnn")
                File.WriteAllText(file, "not a folder")
                let model = LinearModel.create (Mat.init 1 1 (fun _ _ -> 2.0)) (Vector<float>.Build.Dense(1, 1.0)) true [| "x" |]
                for path in [ Path.Combine(file, "m.fnn"); Path.Combine(file, "sub", "m.fnn") ] do
                    let e = Expectations.expectArgument "path" [ path; "'" + file + "' is a file, not a folder" ] (fun () -> ModelFile.saveLinear path model)
                    Expect.isFalse (e.Message.Contains "does not exist") "not a missing folder"
                    expectArg "path" [ "is a file, not a folder" ] (fun () -> FunctionalNN.ModelFile.SaveLinear(FunctionalNN.LinearModel.Create(Array2D.create 1 1 1.0, [| 0.0 |]), path))
                Expect.equal (File.ReadAllText file) "not a folder" "the file is untouched"
                Expect.equal (Directory.GetFiles dir) [| file |] "nothing else written"
                // A folder that really is missing is still a DirectoryNotFoundException.
                Expect.throwsT<DirectoryNotFoundException> (fun () -> ModelFile.saveLinear (Path.Combine(dir, "missing", "m.fnn")) model) "a missing folder"
            finally Directory.Delete(dir, true)
        }
        test "a device file (an endless stream of zeros) is capped by the bytes actually read" {
            if File.Exists "/dev/zero" then
                let before = GC.GetAllocatedBytesForCurrentThread()
                let clock = Diagnostics.Stopwatch.StartNew()
                // /dev/zero reports a length of 0; before the fix its 1 GiB cap was never applied.
                expectFormat [ "4096 bytes" ] (fun () -> ModelFile.readBytesCapped 4096L "/dev/zero" |> ignore)
                // The reader stops one chunk (64 KiB) after the cap: far below 1 MB for a 4 KiB cap.
                Expect.isLessThan (GC.GetAllocatedBytesForCurrentThread() - before) 1_000_000L "allocation bounded by the cap"
                Expect.isLessThan clock.Elapsed.TotalSeconds 1.0 "stops at once"
                Expect.equal ModelFile.maxFileBytes (1L <<< 30) "the documented cap of model files, 1 GiB"
        }
        test "saving follows a symbolic link to its target and keeps the link" {
            let dir = tempDir ()
            try
                let target = Path.Combine(dir, "real.fnn")
                let link = Path.Combine(dir, "link.fnn")
                File.WriteAllText(target, "old")
                File.CreateSymbolicLink(link, target) |> ignore
                let model = LinearModel.create (Mat.init 1 1 (fun _ _ -> 2.0)) (Vector<float>.Build.Dense(1, 1.0)) true [| "x" |]
                ModelFile.saveLinear link model
                Expect.isNotNull (FileInfo(link).LinkTarget) "the link is still a link"
                Expect.equal (ModelFile.loadLinear target) model "the target holds the model"
                Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName |> Array.sort) [| "link.fnn"; "real.fnn" |] "no other file"
            finally Directory.Delete(dir, true)
        }
        test "saving keeps the replaced file's permissions and refuses a read-only file unless asked" {
            if not (OperatingSystem.IsWindows()) then
                let dir = tempDir ()
                try
                    let path = Path.Combine(dir, "m.fnn")
                    let model = LinearModel.create (Mat.init 1 1 (fun _ _ -> 2.0)) (Vector<float>.Build.Dense(1, 1.0)) true [| "x" |]
                    ModelFile.saveLinear path model
                    let rw = UnixFileMode.UserRead ||| UnixFileMode.UserWrite ||| UnixFileMode.GroupRead
                    File.SetUnixFileMode(path, rw)
                    ModelFile.saveLinear path model
                    Expect.equal (File.GetUnixFileMode path) rw "the mode 0640 is kept (before the fix: 0644 from the umask)"
                    let ro = UnixFileMode.UserRead ||| UnixFileMode.GroupRead
                    File.SetUnixFileMode(path, ro)
                    let old = File.ReadAllBytes path
                    let other = { model with Intercept = Vector<float>.Build.Dense(1, 5.0) }
                    match Expect.throwsC (fun () -> ModelFile.saveLinear path other) id with
                    | :? UnauthorizedAccessException as e ->
                        Expect.stringContains e.Message path "names the user's path"
                        Expect.stringContains e.Message "read-only" "says why"
                    | e -> failtestf "expected UnauthorizedAccessException, got %O" e
                    Expect.equal (File.ReadAllBytes path) old "the read-only file is untouched"
                    ModelFile.saveLinearWith (SaveOptions.Default.WithOverwriteReadOnly true) path other
                    Expect.equal (ModelFile.loadLinear path) other "replaced when asked"
                    Expect.equal (File.GetUnixFileMode path) ro "and still read-only"
                    // The facade's option.
                    Expect.throwsT<UnauthorizedAccessException> (fun () -> FunctionalNN.ModelFile.SaveLinear(FunctionalNN.LinearModel.Create(Array2D.create 1 1 1.0, [| 0.0 |]), path)) "facade refuses"
                    FunctionalNN.ModelFile.SaveLinear(FunctionalNN.LinearModel.Create(Array2D.create 1 1 1.0, [| 0.0 |]), path, overwriteReadOnly = true)
                    Expect.isEmpty (Directory.GetFiles dir |> Array.filter (fun f -> f.EndsWith ".tmp")) "no temporary file left"
                finally Directory.Delete(dir, true)
        }
        test "a legal 240-character (and 255-byte) file name saves: the temporary name stays within 255 bytes" {
            let dir = tempDir ()
            try
                let model = LinearModel.create (Mat.init 1 1 (fun _ _ -> 2.0)) (Vector<float>.Build.Dense(1, 1.0)) true [| "x" |]
                // 240 ASCII characters, and 85 three-byte characters (255 UTF-8 bytes): both legal names.
                for name in [ String.replicate 236 "m" + ".fnn"; String.replicate 85 "\u20ac" ] do
                    let path = Path.Combine(dir, name)
                    ModelFile.saveLinear path model
                    Expect.equal (ModelFile.loadLinear path) model (sprintf "a %d-character name" name.Length)
                for name in [ "a"; String.replicate 255 "m"; String.replicate 85 "\u20ac"; String.replicate 63 "\U0001F600" ] do
                    let t = ModelFile.tempNameFor name
                    Expect.isLessThanOrEqual (Text.Encoding.UTF8.GetByteCount t) 255 (sprintf "temporary name of a %d-char name" name.Length)
                    Expect.isFalse (t |> Seq.exists Char.IsSurrogate && not (t |> Seq.pairwise |> Seq.forall (fun (a, b) -> Char.IsHighSurrogate a = Char.IsLowSurrogate b))) "no broken surrogate pair"
            finally Directory.Delete(dir, true)
        }
        test "a failed save removes its temporary file and names the user's path, not the temporary one" {
            let dir = tempDir ()
            try
                let path = Path.Combine(dir, "m.fnn")
                let e = Expect.throwsC (fun () -> ModelFile.writeAtomicWith (fun _ -> raise (IOException "disk full")) path [| 1uy; 2uy |]) id
                Expect.isTrue (e :? IOException) "an IOException"
                Expect.stringContains e.Message path "the user's path"
                Expect.isEmpty (Directory.GetFiles dir) "no temporary file left"
                // A refusal of the folder (as a read-only folder gives; simulated, since tests may
                // run as root) names the user's path and not the temporary one.
                let e = Expect.throwsC (fun () -> ModelFile.writeAtomicWith (fun _ -> raise (UnauthorizedAccessException "Access to the path '/x/.m.fnn.0123.tmp' is denied.")) path [| 1uy |]) id
                Expect.isTrue (e :? UnauthorizedAccessException) "an UnauthorizedAccessException"
                Expect.stringContains e.Message path "the user's path"
                Expect.isFalse (e.Message.Contains ".tmp") "not the temporary path"
                Expect.isEmpty (Directory.GetFiles dir) "no temporary file left"
                // A directory in place of the file.
                expectArg "path" [ "is a directory" ] (fun () -> ModelFile.writeAtomic dir [| 1uy |])
            finally Directory.Delete(dir, true)
        }
        test "the CLI refuses --layers 100000,100000 with one line before allocating, and a directory as --data" {
            let exit, err = runCli [ "train"; "--dataset"; "iris"; "--layers"; "100000,100000"; "--epochs"; "1" ]
            // A usage error (exit 2, as every bad option value; not 70, an internal error), naming the option.
            Expect.equal exit 2 (sprintf "exit code 2, a usage error (stderr: %s)" err)
            Expect.stringContains err "--layers 100000,100000" "names the option"
            Expect.stringContains err "2147483591" "states the limit"
            let dir = tempDir ()
            try
                let exit, err = runCli [ "train"; "--data"; dir ]
                Expect.equal exit 1 (sprintf "exit code (stderr: %s)" err)
                Expect.stringContains err "is a directory" "says it is a directory"
            finally Directory.Delete(dir, true)
        }
        test "fnn predict on a network warns when a header of numbers is probably a data row, and writes --out atomically" {
            let dir = tempDir ()
            try
                // y = x0 + 2 x1 (a dense identity layer set by hand), as a network model file and as ONNX.
                let net = Network.create [ Dense.create (Mat.ofRows [ [| 1.0 |]; [| 2.0 |] ]) None Activation.Identity ]
                let fnnPath, onnxPath = Path.Combine(dir, "net.fnn"), Path.Combine(dir, "net.onnx")
                ModelFile.saveNetwork fnnPath net
                Onnx.saveNetwork onnxPath 17 net
                // Two data rows and no header: without --no-header the first row is read as the column names.
                let data = Path.Combine(dir, "f.csv")
                File.WriteAllText(data, "1.5,2.5\n3,4\n")
                for model in [ fnnPath; onnxPath ] do
                    let exit, err = runCli [ "predict"; "--model"; model; "--data"; data ]
                    Expect.equal exit 0 err
                    Expect.stringContains err "fnn: warning: The header line (1.5, 2.5) looks like data" (sprintf "%s: the reader's warning" model)
                    Expect.stringContains err "read it with --no-header" "the option to use"
                    // With --no-header, or a header of names, there is nothing to warn about.
                    let exit, err = runCli [ "predict"; "--model"; model; "--data"; data; "--no-header" ]
                    Expect.equal (exit, err) (0, "") "no warning with --no-header"
                let named = Path.Combine(dir, "named.csv")
                File.WriteAllText(named, "a,b\n1.5,2.5\n")
                let exit, err = runCli [ "predict"; "--model"; fnnPath; "--data"; named ]
                Expect.equal (exit, err) (0, "") "no warning for a header of names"
                // --out: a read-only file is refused and left as it was (ModelFile.writeAtomic, as the pipeline path
                // writes it; File.WriteAllText replaced it, as the tests may run as root); a writable one gets the rows.
                let out = Path.Combine(dir, "p.csv")
                File.WriteAllText(out, "old")
                File.SetAttributes(out, FileAttributes.ReadOnly)
                let exit, err = runCli [ "predict"; "--model"; fnnPath; "--data"; data; "--no-header"; "--out"; out ]
                Expect.equal exit 1 err
                Expect.stringContains err "is read-only, so it was not replaced" "the refusal"
                Expect.equal (File.ReadAllText out) "old" "the read-only file is unchanged"
                File.SetAttributes(out, FileAttributes.Normal)
                let exit, err = runCli [ "predict"; "--model"; fnnPath; "--data"; data; "--no-header"; "--out"; out ]
                Expect.equal (exit, err.Replace("\r\n", "\n")) (0, sprintf "2 predictions written to %s\n" out) "written; the status line on stderr"
                // y = x0 + 2 x1: 1.5 + 5 = 6.5 and 3 + 8 = 11 (hand arithmetic).
                Expect.equal (File.ReadAllText out) "column1,column2,output_0\n1.5,2.5,6.5\n3,4,11\n" "the predictions"
                Expect.isEmpty (Directory.GetFiles(dir, "*.tmp")) "no temporary file left"
            finally Directory.Delete(dir, true)
        }
        test "the largest eigenvalue of X^T X / n with subnormal or near-1e154 inputs: a value or a typed error, not IndexOutOfRange" {
            // Found by the facade fuzz (FuzzTests.fs): MathNet's decomposition failed on these.
            // x = [5e-324, 1] with an intercept: H = v v^T for v = (1, 5e-324, 1), whose largest
            // eigenvalue is |v|^2 = 2 (hand derivation).
            Expect.floatClose Accuracy.veryHigh (LinearCost.smoothness LinearCost.Default (Mat.ofRows [ [| 5e-324; 1.0 |] ])) 2.0 "lambda_max = 2"
            // x = [1e154, 2]: v = (1, 1e154, 2), |v|^2 = 1 + 1e308 + 4 = 1e308 in double (hand derivation).
            Expect.floatClose Accuracy.high (LinearCost.smoothness LinearCost.Default (Mat.ofRows [ [| 1e154; 2.0 |] ])) 1e308 "lambda_max = 1e308"
            // Ridge on such a design: X^T X / n overflows, which was an error naming x; since ridge takes
            // the stacked QR there (on scaled columns, which does not square them) it is a fit. Either is
            // a value or a typed error; a fit must hold finite coefficients.
            let x = Mat.ofRows [ [| 1e160; 0.0; -3.0 |]; [| 5e-324; 0.0; 1.0 |] ]
            match (try Ok (Ridge.fit { RidgeOptions.Default with Lambda = 1.0 } x (col [| 0.5; -3.0 |])) with :? ArgumentException as e -> Error e) with
            | Ok m ->
                Expect.isTrue (m.Coefficients.Enumerate() |> Seq.forall Double.IsFinite) "finite coefficients"
                Expect.isTrue (m.Intercept.Enumerate() |> Seq.forall Double.IsFinite) "a finite intercept"
            | Error e -> Expect.equal e.ParamName "x" e.Message
        }
    ]
