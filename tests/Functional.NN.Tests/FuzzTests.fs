/// Issue 14, must-show 1 (facade part): random bad inputs at the public entry points of the C#
/// facade, drawn by FsCheck generators: NaN, infinities, huge and tiny values, wrong and empty
/// shapes, nulls, duplicate and null names, negative and huge sizes. Every outcome must be a
/// correct result or a typed error (the ArgumentException family naming a parameter,
/// ModelFormatException, DataFormatException, InvalidOperationException with a message,
/// TrainingDivergedException), never IndexOutOfRange, NullReference, Overflow, DivideByZero,
/// InvalidCast, KeyNotFound or OutOfMemory; each call within 1 s (a hang guard).
module Functional.NN.Tests.FuzzTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalNN

/// One draw of bad (and good) inputs; each entry point takes what it needs.
type BadInputs =
    { A: double[,]; B: double[,]; V: double[]; W: double[]; D: double; E: double
      Size: int; Small: int; Labels: int[]; Labels2: int[]; Names: string[]; Flag: bool }
    override this.ToString() =
        let m (a: double[,]) = if isNull a then "null" else sprintf "%dx%d %A" (Array2D.length1 a) (Array2D.length2 a) a
        let v (a: 'T[]) = if isNull a then "null" else sprintf "%A" a
        sprintf "A=%s B=%s V=%s W=%s D=%g E=%g Size=%d Small=%d Labels=%s Labels2=%s Names=%s Flag=%b"
            (m this.A) (m this.B) (v this.V) (v this.W) this.D this.E this.Size this.Small (v this.Labels) (v this.Labels2) (v this.Names) this.Flag

/// Values that break naive code: NaN, infinities, the extremes of double, subnormals, zero,
/// values whose squares overflow, and ordinary ones.
let private genDouble =
    Gen.frequency
        [ 4, Gen.elements [ 0.0; 1.0; -1.0; 0.5; 2.0; -3.0 ]
          1, Gen.elements [ nan; infinity; -infinity ]
          1, Gen.elements [ 1e308; -1e308; Double.MaxValue; 1e154; 1e160; 1e-308; 5e-324; -0.0 ] ]

let private genMatrix =
    Gen.frequency
        [ 1, Gen.constant null
          1, Gen.elements [ Array2D.zeroCreate<double> 0 0; Array2D.zeroCreate<double> 0 3; Array2D.zeroCreate<double> 2 0 ]
          8, gen {
                let! rows = Gen.choose (1, 4)
                let! cols = Gen.choose (1, 4)
                let! xs = Gen.arrayOfLength (rows * cols) genDouble
                return Array2D.init rows cols (fun i j -> xs.[i * cols + j]) } ]

let private genVector =
    Gen.frequency [ 1, Gen.constant null; 1, Gen.constant [||]; 8, Gen.choose (1, 5) |> Gen.bind (fun n -> Gen.arrayOfLength n genDouble) ]

/// Sizes: negative, zero, small, large, and the extremes of int.
let private genSize = Gen.elements [ Int32.MinValue; -5; -1; 0; 1; 2; 3; 4; 7; 100000; Int32.MaxValue ]

let private genLabels =
    Gen.frequency
        [ 1, Gen.constant null; 1, Gen.constant [||]
          8, Gen.choose (1, 5) |> Gen.bind (fun n -> Gen.arrayOfLength n (Gen.elements [ -1; 0; 1; 2; 3; Int32.MaxValue ])) ]

let private genNames =
    Gen.frequency
        [ 1, Gen.constant null; 1, Gen.constant [||]
          1, Gen.elements [ [| "a"; "a" |]; [| "a"; null |]; [| null |]; [| "" |] ]
          4, Gen.choose (1, 4) |> Gen.map (fun n -> Array.init n (sprintf "c%d")) ]

let private genInputs =
    gen {
        let! a = genMatrix
        let! b = genMatrix
        let! v = genVector
        let! w = genVector
        let! d = genDouble
        let! e = genDouble
        let! size = genSize
        let! small = Gen.elements [ -1; 0; 1; 2; 3 ]
        let! labels = genLabels
        let! labels2 = genLabels
        let! names = genNames
        let! flag = Gen.elements [ true; false ]
        return { A = a; B = b; V = v; W = w; D = d; E = e; Size = size; Small = small; Labels = labels; Labels2 = labels2; Names = names; Flag = flag }
    }

type BadInputsArb =
    static member Inputs() = Arb.fromGen genInputs

let private net = lazy (NetworkBuilder(2).Dense(3, Activation.Tanh).Dense(2, Activation.Identity).Seed(3L).Build())
let private iris = lazy (Dataset.Embedded "iris")
let private irisModel = lazy (Pipeline.Untrained(iris.Value, PipelineOptions(HiddenLayers = [| 3 |])))
let private commute = lazy (Dataset.Embedded "commute")
let private commuteModel = lazy (Pipeline.Untrained(commute.Value, PipelineOptions(HiddenLayers = [| 3 |])))
let private tempFolder = lazy (let d = IO.Path.Combine(IO.Path.GetTempPath(), "fnn-fuzz-paths") in IO.Directory.CreateDirectory d |> ignore; d)
/// Paths that are not model files: null, empty, blank, a folder, a missing file, an illegal name.
let private path (i: BadInputs) =
    match abs i.Small % 6 with
    | 0 -> null
    | 1 -> ""
    | 2 -> "   "
    | 3 -> tempFolder.Value
    | 4 -> IO.Path.Combine(tempFolder.Value, "missing.fnn")
    | _ -> IO.Path.Combine(tempFolder.Value, "bad\u0000name.fnn")
let private allLosses = Enum.GetValues<Loss>()

/// The facade's public entry points, each fed from one draw.
let private entryPoints : (string * (BadInputs -> unit)) list =
    let loss (i: BadInputs) = allLosses.[abs (i.Small + 1) % allLosses.Length]
    [ "NetworkBuilder.Dense.Build", fun i -> NetworkBuilder(i.Size).Dense(i.Size, Activation.LeakyReLU, leakySlope = i.D).Build() |> ignore
      "NetworkBuilder width after width", fun i -> NetworkBuilder(max 1 i.Size).Dense(max 1 i.Size).Dense(3).Build() |> ignore
      "Network.Predict", fun i -> net.Value.Predict(i.A) |> ignore
      "Network.Loss", fun i -> net.Value.Loss(i.A, i.B, loss i) |> ignore
      "Network.LossAndGradient", fun i -> net.Value.LossAndGradient(i.A, i.B, loss i) |> ignore
      "Network.CheckGradients", fun i -> net.Value.CheckGradients(i.A, i.B, loss i, i.D, i.E) |> ignore
      "Network.WithLayerParameters", fun i -> net.Value.WithLayerParameters(i.Small, i.A, i.V) |> ignore
      "Network.GetWeights", fun i -> net.Value.GetWeights(i.Size) |> ignore
      "Network.TrainGradientDescent", fun i -> net.Value.TrainGradientDescent(i.A, i.B, loss i, i.D, i.Small) |> ignore
      "Network.WithPrecision.Predict", fun i -> net.Value.WithPrecision(Precision.Float32).Predict(i.A) |> ignore
      "Labels.ArgMax", fun i -> Labels.ArgMax(i.A) |> ignore
      "Labels.OneHot", fun i -> Labels.OneHot(i.Labels, i.Size) |> ignore
      "Metrics.Accuracy", fun i -> Metrics.Accuracy(i.Labels, i.Labels2) |> ignore
      "Metrics.ConfusionMatrix", fun i -> Metrics.ConfusionMatrix(i.Labels, i.Labels2, i.Size) |> ignore
      "Metrics.Classification", fun i -> Metrics.Classification(i.Names, i.Labels, i.Labels2, i.A) |> ignore
      "Metrics.LogLoss", fun i -> Metrics.LogLoss(i.A, i.Labels) |> ignore
      "Metrics.MeanSquaredError", fun i -> Metrics.MeanSquaredError(i.V, i.W) |> ignore
      "Metrics.MeanAbsoluteError", fun i -> Metrics.MeanAbsoluteError(i.V, i.W) |> ignore
      "Metrics.R2", fun i -> Metrics.R2(i.V, i.W) |> ignore
      "LinearRegression.Fit", fun i -> LinearRegression.Fit(i.A, i.V, i.Flag, i.Names) |> ignore
      "LinearRegression.Fit (matrix)", fun i -> LinearRegression.Fit(i.A, i.B, i.Flag) |> ignore
      "LinearRegression.FitRidge", fun i -> LinearRegression.FitRidge(i.A, i.V, i.D) |> ignore
      "LinearRegression.FitRidgeLikeScikitLearn", fun i -> LinearRegression.FitRidgeLikeScikitLearn(i.A, i.V, i.D) |> ignore
      "LinearRegression.FitByGradientDescent", fun i ->
          LinearRegression.FitByGradientDescent(i.A, i.V, LinearGradientDescentOptions(MaxSteps = 200 * abs i.Small, LearningRate = (if i.Flag then Nullable i.D else Nullable()))) |> ignore
      "PolynomialRegression.Fit", fun i -> PolynomialRegression.Fit(i.V, i.W, i.Small) |> ignore
      "PolynomialRegression.Phi", fun i -> PolynomialRegression.Phi(i.V, i.Small) |> ignore
      "Perceptron.Fit", fun i -> Perceptron.Fit(i.A, i.Labels, i.D, i.Small) |> ignore
      "LinearClassifier.Fit", fun i -> LinearClassifier.Fit(i.A, i.Labels) |> ignore
      "LinearClassifier.BinaryLabels", fun i -> LinearClassifier.BinaryLabels(i.Labels, i.Size) |> ignore
      "LinearModel.Create.Predict", fun i -> LinearModel.Create(i.A, i.V, i.Flag, i.Names).Predict(i.B) |> ignore
      "LinearModel.Create.MeanSquaredError", fun i -> LinearModel.Create(i.A, i.V, i.Flag).MeanSquaredError(i.B, i.W) |> ignore
      "LinearModel.Create.Accuracy", fun i -> LinearModel.Create(i.A, i.V, i.Flag).Accuracy(i.B, i.Labels) |> ignore
      "FeatureScaler.Fit.Transform", fun i -> FeatureScaler.Fit(i.A).Transform(i.B) |> ignore
      "UniversalApproximation.Knots", fun i -> UniversalApproximation.Knots(i.D, i.E, i.Size) |> ignore
      "UniversalApproximation.ErrorBound", fun i -> UniversalApproximation.ErrorBound(i.D, i.E, i.Size, i.D) |> ignore
      "UniversalApproximation.ReluInterpolant", fun i -> UniversalApproximation.ReluInterpolant((fun x -> x * i.D), i.D, i.E, min i.Size 1000).Predict(i.A) |> ignore
      "GradientChecker.Check", fun i ->
          GradientChecker.Check((fun t -> Array.sum t * i.D), (fun t -> Array.create t.Length i.D), i.V, i.E, i.D) |> ignore
      "Autodiff.Evaluate", fun i -> (Autodiff.Variable("a", i.A) * Autodiff.Constant(i.B)).Sum().Evaluate() |> ignore
      "Autodiff.MatMul.Backward", fun i -> Autodiff.Variable("a", i.A).MatMul(Autodiff.Variable("b", i.B)).Sum().Backward().Gradient("a") |> ignore
      "Autodiff.Log.Pow.Backward", fun i -> Autodiff.Variable("a", i.A).Log().Pow(i.D).Mean().Backward() |> ignore
      "Autodiff.Activate", fun i -> Autodiff.Variable("a", i.A).Activate(Activation.LeakyReLU, i.D).Evaluate() |> ignore
      "Autodiff.NetworkLoss", fun i -> Autodiff.NetworkLoss(net.Value, i.A, i.B, loss i).Evaluate() |> ignore
      "Dataset.SelectRows", fun i -> iris.Value.SelectRows(i.Labels) |> ignore
      "Dataset.SelectFeatures", fun i -> iris.Value.SelectFeatures(i.Names) |> ignore
      "Dataset.SplitStratified", fun i -> iris.Value.SplitStratified(i.D, 1L) |> ignore
      "Dataset.KFold", fun i -> (if i.Flag then iris.Value else commute.Value).KFold(i.Size, 1L) |> ignore
      "Pipeline.PredictClasses", fun i -> irisModel.Value.PredictClasses(i.A) |> ignore
      "Pipeline.PredictClassNames", fun i -> irisModel.Value.PredictClassNames(i.A) |> ignore
      "Pipeline.PredictProbabilities", fun i -> irisModel.Value.PredictProbabilities(i.A) |> ignore
      "Pipeline.PredictValues", fun i -> (if i.Flag then commuteModel.Value else irisModel.Value).PredictValues(i.A) |> ignore
      "Pipeline.Untrained", fun i -> Pipeline.Untrained(iris.Value, PipelineOptions(HiddenLayers = i.Labels, ValidationFraction = i.D)) |> ignore
      "ModelFile.KindOf", fun i -> ModelFile.KindOf(path i) |> ignore
      "ModelFile.LoadNetwork", fun i -> ModelFile.LoadNetwork(path i) |> ignore
      "ModelFile.LoadPipeline", fun i -> ModelFile.LoadPipeline(path i) |> ignore
      "ModelFile.SaveNetwork", fun i -> ModelFile.SaveNetwork(net.Value, (if abs i.Small % 6 = 4 then IO.Path.Combine(tempFolder.Value, "no-folder", "m.fnn") else path i)) |> ignore
      "Dataset.LoadCsv", fun i -> Dataset.LoadCsv(path i) |> ignore
      "Trainer.Train", fun i ->
          Trainer.Train(net.Value, i.A, i.B, loss i, TrainingOptions(MaxEpochs = abs i.Small, Schedule = Schedule.Constant(i.D), ClipNorm = (if i.Flag then i.E else 0.0))) |> ignore
      "Dataset.ParseCsv", fun i ->
          let text = if isNull i.Names then null else String.Join(",", i.Names) + "\n" + (if isNull i.V then "" else String.Join(",", i.V |> Array.map string))
          Dataset.ParseCsv(text) |> ignore ]

/// True for the typed errors the house rules allow.
let private typed (e: exn) =
    match e with
    | :? ArgumentException as a -> not (String.IsNullOrEmpty a.ParamName)
    // The facade's own types (namespace FunctionalNN): the core's never reach a C# caller (issue 13).
    | :? FunctionalNN.ModelFormatException | :? FunctionalNN.DataFormatException | :? FunctionalNN.TrainingDivergedException -> true
    | :? InvalidOperationException as o -> o.Message.Length > 10
    // A missing file or folder: the file system's typed errors.
    | :? IO.FileNotFoundException | :? IO.DirectoryNotFoundException -> true
    | _ -> false

/// Draws per entry point; the whole list takes a few seconds.
let private drawsPerEntry = 400

[<Tests>]
let tests =
    testList "Fuzz (facade)" [
        for name, call in entryPoints do
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = drawsPerEntry; arbitrary = [ typeof<BadInputsArb> ] } name <| fun (i: BadInputs) ->
                let started = Diagnostics.Stopwatch.GetTimestamp()
                let outcome =
                    try call i; None
                    with e -> Some e
                let seconds = Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds
                match outcome with
                | Some e when not (typed e) ->
                    failtestf "%s threw %s: %s\n%s" name (e.GetType().FullName) e.Message e.StackTrace
                | _ -> ()
                // A hang guard, not a performance measure.
                if seconds > Expectations.hangGuardSeconds then failtestf "%s took %.2f s" name seconds
    ]
