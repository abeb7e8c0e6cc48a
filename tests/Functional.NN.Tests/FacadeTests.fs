/// The C# facade as a C# user meets it: arrays in and out, ParamName on argument errors, no F#
/// types in any public signature.
module Functional.NN.Tests.FacadeTests

open System
open System.Reflection
open Expecto
open FunctionalNN

let private facade = typeof<NetworkBuilder>.Assembly

/// True when a type is, or is built from, an F# type a C# user should not meet.
let rec private isFSharpType (t: Type) =
    if t.IsArray || t.IsByRef then isFSharpType (t.GetElementType())
    elif t.IsGenericType && (t.GetGenericArguments() |> Array.exists isFSharpType) then true
    else
        let name = if t.IsGenericType then t.GetGenericTypeDefinition().FullName else t.FullName
        not (isNull name)
        && (name.StartsWith "Microsoft.FSharp." || name.StartsWith "System.Tuple" || name.StartsWith "System.ValueTuple")

/// `Expectations.expectArgument`, for statements.
let private expectArg (param: string) (fragments: string list) (f: unit -> unit) = Expectations.expectArgument param fragments f |> ignore

[<Tests>]
let tests =
    let net = NetworkBuilder(3).Dense(4, Activation.Tanh).Dense(2, Activation.Identity).Seed(5L).Build()
    testList "Facade" [
        test "no public member of the facade names an F# type (list, option, tuple, Result, function)" {
            let offenders =
                [ for t in facade.GetExportedTypes() do
                    if isFSharpType t then yield t.FullName
                    for m in t.GetMembers(BindingFlags.Public ||| BindingFlags.Instance ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly) do
                        match m with
                        | :? MethodInfo as mi ->
                            if isFSharpType mi.ReturnType || (mi.GetParameters() |> Array.exists (fun p -> isFSharpType p.ParameterType)) then
                                yield sprintf "%s.%s" t.Name mi.Name
                        | :? PropertyInfo as p when isFSharpType p.PropertyType -> yield sprintf "%s.%s" t.Name p.Name
                        | :? ConstructorInfo as c when c.GetParameters() |> Array.exists (fun p -> isFSharpType p.ParameterType) ->
                            yield sprintf "%s..ctor" t.Name
                        | _ -> () ]
            Expect.isEmpty offenders "members with F# types"
        }
        test "the builder gives the described shapes, and the same seed the same weights" {
            Expect.equal (net.InputSize, net.OutputSize, net.ParameterCount) (3, 2, 3 * 4 + 4 + 4 * 2 + 2) "sizes"
            let again = NetworkBuilder(3).Dense(4, Activation.Tanh).Dense(2, Activation.Identity).Seed(5L).Build()
            Expect.equal (again.GetWeights 0) (net.GetWeights 0) "same seed, same weights"
            Expect.equal net.Layers.[1] (LayerInfo(4, 2, Activation.Identity, true)) "layer info"
        }
        test "wrong shapes are ArgumentExceptions with ParamName and both shapes" {
            expectArg "x" [ "2x5"; "3x4" ] (fun () -> net.Predict(Array2D.zeroCreate 2 5) |> ignore)
            expectArg "y" [ "2x3"; "2x2" ] (fun () -> net.LossAndGradient(Array2D.zeroCreate 2 3, Array2D.zeroCreate 2 3, Loss.MeanSquaredError) |> ignore)
            expectArg "weights" [ "3x3"; "3x4" ] (fun () -> net.WithLayerParameters(0, Array2D.zeroCreate 3 3, Array.zeroCreate 4) |> ignore)
        }
        test "NaN and infinity name the row and column; empty batches and null arrays are refused" {
            let x = Array2D.zeroCreate 2 3
            x.[1, 0] <- Double.NaN
            expectArg "x" [ "row 1, column 0" ] (fun () -> net.Predict x |> ignore)
            expectArg "x" [ "empty" ] (fun () -> net.Predict(Array2D.zeroCreate 0 3) |> ignore)
            expectArg "x" [] (fun () -> net.Predict(null) |> ignore)
        }
        test "the predictor's float overloads give the double overloads' outputs rounded to float, and name bad input" {
            // Expected: the double overload on the same values widened, rounded to float (exact for a
            // float32 network, whose double overload widens a float result).
            for n in [ net; net.WithPrecision Precision.Float32 ] do
                let p = n.CreatePredictor()
                for i in 0 .. 4 do
                    let x = Array.init 3 (fun j -> float32 (sin (float (3 * i + j))))
                    let expected = p.Predict(Array.map float x) |> Array.map float32
                    Expect.equal (p.Predict x) expected (sprintf "%A, sample %d (array)" n.Precision i)
                    let output = Array.zeroCreate<float32> 2
                    p.Predict(ReadOnlySpan x, Span output)
                    Expect.equal output expected (sprintf "%A, sample %d (span)" n.Precision i)
                expectArg "x" [ "index 2" ] (fun () -> p.Predict([| 0.0f; 1.0f; Single.NaN |]) |> ignore)
                expectArg "x" [ "2 values"; "3 inputs" ] (fun () -> p.Predict([| 0.0f; 1.0f |]) |> ignore)
                expectArg "x" [] (fun () -> p.Predict(null: float32[]) |> ignore)
        }
        test "arrays in and out are copies: changing them does not change the network" {
            let w = net.GetWeights 0
            w.[0, 0] <- 1e9
            Expect.notEqual (net.GetWeights 0).[0, 0] 1e9 "weights copied out"
            let x = Array2D.init 2 3 (fun i j -> float (i + j))
            let before = Array2D.copy x
            net.LossAndGradient(x, Array2D.zeroCreate 2 2, Loss.MeanSquaredError) |> ignore
            Expect.equal x before "input unchanged"
        }
        test "gradients from the facade equal the core's, and the gradient check passes" {
            let x = Array2D.init 5 3 (fun i j -> sin (float (i * 3 + j)))
            let y = Array2D.init 5 2 (fun i j -> cos (float (i + j)))
            let g = net.LossAndGradient(x, y, Loss.HalfMeanSquaredError)
            let r = net.CheckGradients(x, y, Loss.HalfMeanSquaredError)
            Expect.isTrue (r.Passes 1e-8) (sprintf "relative error %g" r.MaxRelativeError)
            // The facade's flattening order (weights then bias, layer by layer) matches the check's.
            let flat = [| for l in 0 .. 1 do
                            yield! Seq.cast<float> g.WeightGradients.[l]
                            yield! g.BiasGradients.[l] |]
            Expect.sequenceEqual flat r.Analytic "same gradient"
        }
        test "the public gradient check takes C# delegates" {
            let f = Func<float[], float>(fun t -> t.[0] * t.[0] * t.[0])
            let g = Func<float[], float[]>(fun t -> [| 3.0 * t.[0] * t.[0] |])
            let r = GradientChecker.Check(f, g, [| 2.0 |])
            Expect.isTrue (r.Passes 1e-10) "x^3"
        }
        test "LossAndGradient refuses a loss that overflows as Loss does, and a step refuses a non-finite result" {
            let n = NetworkBuilder(2).Dense(1, Activation.Identity).Seed(3L).Build()
            let x = array2D [ [ 1e200; 1e200 ] ]
            let y = array2D [ [ 1.0 ] ]
            // Expected: the same ArgumentException (ParamName "y") that net.Loss gives for this batch,
            // whose squared error (about 1e400) is beyond the double range.
            let lossError = Expect.throwsC (fun () -> n.Loss(x, y, Loss.MeanSquaredError) |> ignore) id
            Expect.equal (lossError :?> ArgumentException).ParamName "y" "Loss names y"
            expectArg "y" [ "overflows" ] (fun () -> n.LossAndGradient(x, y, Loss.MeanSquaredError) |> ignore)
            // x = 1e100 gives a finite loss (about 1e200) and gradient (about 1e200); a step of
            // 1e200 times it (about 1e400) is beyond the double range.
            let g = n.LossAndGradient(array2D [ [ 1e100; 1e100 ] ], array2D [ [ 0.0 ] ], Loss.HalfMeanSquaredError)
            Expect.isTrue (Double.IsFinite g.Loss && g.Gradient |> Array.forall Double.IsFinite) "finite loss and gradient"
            expectArg "gradient" [ "learningRate" ] (fun () -> n.GradientDescentStep(g, 1e200) |> ignore)
            // A step of a reasonable size still works: theta - 1e-300 g, every value finite.
            let stepped = n.GradientDescentStep(g, 1e-300)
            Expect.isTrue (stepped.GetWeights 0 |> Seq.cast<float> |> Seq.forall Double.IsFinite) "a small step"
        }
        test "TrainGradientDescent raises TrainingDivergedException when the last step's network diverged, instead of returning it" {
            // The review's case: 5 steps at 0.1 on the raw commute data returned a network whose first
            // weight was 1.4e97 and whose Loss threw. Expected from the facade's own single steps
            // (LossAndGradient and GradientDescentStep, not the trainer): the network after 4 steps has
            // a finite loss, the one after 5 a loss beyond the double range (Loss throws, naming y).
            let commute = Dataset.Embedded "commute"
            let x = commute.Features
            let y = Array2D.init 5 1 (fun i _ -> commute.Values.[i])
            let net = NetworkBuilder(2).Dense(4, Activation.Identity).Dense(1, Activation.Identity).Seed(1L).Build()
            let step (n: Network) = n.GradientDescentStep(n.LossAndGradient(x, y, Loss.MeanSquaredError), 0.1)
            let four = step (step (step (step net)))
            Expect.isTrue (Double.IsFinite (four.Loss(x, y, Loss.MeanSquaredError))) "4 steps: a finite loss"
            Expect.equal (Expect.throwsC (fun () -> (step four).Loss(x, y, Loss.MeanSquaredError) |> ignore) id :?> ArgumentException).ParamName "y" "5 steps: the loss overflows"
            let after4 = net.TrainGradientDescent(x, y, Loss.MeanSquaredError, 0.1, 4)
            match Expect.throwsC (fun () -> net.TrainGradientDescent(x, y, Loss.MeanSquaredError, 0.1, 5) |> ignore) id with
            | :? TrainingDivergedException<Network> as e ->
                Expect.equal (e.Epoch, e.Step) (5, 5) "the fifth step made the network"
                Expect.stringContains e.Message "epoch 5, step 5: after the last step" "named in the message"
                Expect.equal (e.LastGood.GetWeights 0) (after4.GetWeights 0) "LastGood: the network after 4 steps"
                Expect.equal (e.LastGood.GetWeights 1) (after4.GetWeights 1) "LastGood: the network after 4 steps (output layer)"
            | other -> failtestf "expected TrainingDivergedException<Network>, got %O" other
            // One step at 1e300 made weights of about 1e299, returned: its loss overflows too.
            match Expect.throwsC (fun () -> net.TrainGradientDescent(x, y, Loss.MeanSquaredError, 1e300, 1) |> ignore) id with
            | :? TrainingDivergedException<Network> as e ->
                Expect.equal (e.Epoch, e.Step) (1, 1) "the only step"
                Expect.equal (e.LastGood.GetWeights 0) (net.GetWeights 0) "LastGood: the initial network"
            | other -> failtestf "expected TrainingDivergedException<Network>, got %O" other
        }
        test "Explain refuses steps above Explanations.MaxSteps, an undefined method, and outputs Predict refuses" {
            let row = [| 0.5; -0.25; 1.0 |]
            let outOfRange (param: string) (f: unit -> unit) =
                match Expect.throwsC f id with
                | :? ArgumentOutOfRangeException as e -> Expect.equal e.ParamName param (sprintf "ParamName of: %s" e.Message)
                | e -> failtestf "expected ArgumentOutOfRangeException for %s, got %O" param e
            outOfRange "steps" (fun () -> net.Explain(row, steps = Nullable Int32.MaxValue) |> ignore)
            outOfRange "steps" (fun () -> net.Explain(row, steps = Nullable(Explanations.MaxSteps + 1)) |> ignore)
            outOfRange "steps" (fun () -> net.Explain(row, steps = Nullable 0) |> ignore)
            // The limit itself is accepted; integrated gradients then satisfy completeness (the sum of
            // the attributions is f(x) - f(baseline)) to rounding.
            let a = net.Explain(row, steps = Nullable Explanations.MaxSteps)
            let fx = (net.Predict(array2D [ row ])).[0, 0]
            let fb = (net.Predict(Array2D.zeroCreate 1 3)).[0, 0]
            Expect.floatClose Accuracy.high (a.Values |> Seq.cast<float> |> Seq.sum) (fx - fb) "completeness at the limit"
            outOfRange "method" (fun () -> net.Explain(row, method = enum<AttributionMethod> 9) |> ignore)
            // A 1 -> 1 identity network with weight 1e300: at x = 1e10 the output (1e310) is not
            // finite, and Predict refuses it; Explain must not return Infinity instead.
            let big = NetworkBuilder(1).Dense(1, Activation.Identity, false).Build().WithLayerParameters(0, array2D [ [ 1e300 ] ], null)
            expectArg "x" [ "not finite" ] (fun () -> big.Predict(array2D [ [ 1e10 ] ]) |> ignore)
            for m in [ AttributionMethod.IntegratedGradients; AttributionMethod.GradientTimesInput ] do
                expectArg "row" [ "not finite" ] (fun () -> big.Explain([| 1e10 |], method = m) |> ignore)
            // Finite output (1e300 at x = 1) but the baseline too far away: the baseline is named.
            expectArg "baseline" [ "not finite" ] (fun () -> big.Explain([| 1.0 |], baseline = [| -1e10 |]) |> ignore)
        }
        test "ArgMax refuses scores with no columns" {
            expectArg "scores" [ "2x0" ] (fun () -> Labels.ArgMax(Array2D.zeroCreate 2 0) |> ignore)
            // A real argmax still works (the first of a tie).
            Expect.equal (Labels.ArgMax(array2D [ [ 1.0; 3.0; 3.0 ]; [ 2.0; 0.0; -1.0 ] ])) [| 1; 0 |] "argmax"
        }
        test "WithPrecision names its precision argument (C#; the network has no such parameter) and the weight when a parameter is beyond float32's range" {
            // 1e39 is above float32's largest finite value, about 3.4e38.
            let big = NetworkBuilder(1).Dense(1, Activation.Identity).Seed(1L).Build().WithLayerParameters(0, array2D [ [ 1e39 ] ], [| 0.0 |])
            expectArg "precision" [ "beyond the range of float32"; "weights[0, 0]" ] (fun () -> big.WithPrecision(Precision.Float32) |> ignore)
        }
        test "PermutationImportance checks labels against the model's outputs and names the C# parameters" {
            let x = Array2D.init 6 3 (fun i j -> sin (float (3 * i + j)))
            // net has 2 outputs: classes 0 and 1.
            expectArg "labels" [ "label -1"; "row 2"; "2 outputs" ] (fun () -> net.PermutationImportance(x, [| 0; 1; -1; 0; 1; 0 |]) |> ignore)
            let three = NetworkBuilder(3).Dense(3, Activation.Identity).Seed(2L).Build()
            expectArg "labels" [ "label 7"; "row 1"; "3 outputs" ] (fun () -> three.PermutationImportance(x, [| 0; 7; 2; 0; 1; 0 |]) |> ignore)
            expectArg "labels" [ "5 labels"; "6 rows" ] (fun () -> three.PermutationImportance(x, [| 0; 1; 2; 0; 1 |]) |> ignore)
            expectArg "y" [ "5 values"; "6 rows" ] (fun () -> net.PermutationImportance(x, [| 1.0; 2.0; 3.0; 4.0; 5.0 |]) |> ignore)
            // Valid labels work: accuracy is in [0, 1], so every mean drop is within [-1, 1].
            let r = three.PermutationImportance(x, [| 0; 1; 2; 0; 1; 2 |], 2, 1L)
            Expect.isTrue (r.Means |> Seq.cast<float> |> Seq.forall (fun m -> m >= -1.0 && m <= 1.0)) "accuracy drops"
            // A linear model with one output takes -1/+1 (or 0/1); -2 is no label.
            let lm = LinearModel.Create(array2D [ [ 1.0 ]; [ -1.0 ]; [ 0.5 ] ], [| 0.0 |])
            expectArg "labels" [ "label -2"; "row 0"; "class 0 or 1" ] (fun () -> lm.PermutationImportance(x, [| -2; 1; 1; -1; 1; -1 |]) |> ignore)
            lm.PermutationImportance(x, [| -1; 1; 1; -1; 1; -1 |], 2, 1L) |> ignore
            expectArg "y" [ "5 values" ] (fun () -> lm.PermutationImportance(x, [| 1.0; 2.0; 3.0; 4.0; 5.0 |]) |> ignore)
            // Review: the class names were made from the largest label, so a label of 10,000,000 built ten million names
            // (about 500 MB) before the refusal (Int32.MaxValue - 1: two billion, out of memory). The refusal
            // allocates little now: the bound, 50 MB, is a tenth of what the names took.
            let allocated (f: unit -> unit) =
                let before = GC.GetAllocatedBytesForCurrentThread()
                f ()
                GC.GetAllocatedBytesForCurrentThread() - before
            for call in [ (fun () -> expectArg "labels" [ "label 10000000"; "row 1"; "3 outputs" ] (fun () -> three.PermutationImportance(x, [| 0; 10000000; 2; 0; 1; 0 |]) |> ignore))
                          (fun () -> expectArg "labels" [ "label 10000000"; "row 1"; "class 0 or 1" ] (fun () -> lm.PermutationImportance(x, [| 1; 10000000; 1; -1; 1; -1 |]) |> ignore)) ] do
                let bytes = allocated call
                Expect.isLessThan bytes 50_000_000L (sprintf "bytes allocated refusing a large label: %d" bytes)
        }
        test "feature names must fit x at fit time; target names are named targetNames" {
            let x = array2D [ [ 1.0; 2.0 ]; [ 2.0; 1.0 ]; [ 3.0; 5.0 ]; [ 4.0; 3.0 ] ]
            let y = [| 1.0; 2.0; 4.0; 3.0 |]
            expectArg "featureNames" [ "1 names"; "2 features" ] (fun () -> LinearRegression.Fit(x, y, featureNames = [| "a" |]) |> ignore)
            expectArg "featureNames" [ "1 names"; "2 rows" ] (fun () -> LinearModel.Create(array2D [ [ 1.0 ]; [ 2.0 ] ], [| 0.0 |], featureNames = [| "a" |]) |> ignore)
            let lm = LinearRegression.Fit(x, y, featureNames = [| "a"; "b" |])
            Expect.sequenceEqual lm.FeatureNames [| "a"; "b" |] "one name per column is kept"
            expectArg "targetNames" [ "targetNames[0]" ] (fun () -> lm.WithTargetNames([| (null: string) |]) |> ignore)
        }
        test "polynomial features refuse a degree whose columns are too many before building them" {
            // C(20 + 10, 10) - 1 = 30,045,014 monomials (the binomial coefficient), above the limit.
            expectArg "degree" [ "100000" ] (fun () -> PolynomialRegression.Monomials(Array2D.zeroCreate 1 20, 10) |> ignore)
            expectArg "degree" [ "100000" ] (fun () -> PolynomialRegression.Phi([| 1.0 |], Int32.MaxValue) |> ignore)
            // Degree 300 on 2 inputs: C(302, 2) - 1 = 45,450 monomials, under the limit but more
            // than 3 samples can determine.
            let x = array2D [ [ 0.0; 1.0 ]; [ 1.0; 0.0 ]; [ 2.0; 2.0 ] ]
            expectArg "degree" [ "45450 monomials"; "3 rows" ] (fun () -> PolynomialRegression.Fit(x, [| 1.0; 2.0; 3.0 |], 300) |> ignore)
            // At the edge: degree 1 on 2 inputs is 2 monomials + intercept = 3 unknowns, 3 samples.
            let m = PolynomialRegression.Fit(x, [| 1.0; 2.0; 3.0 |], 1)
            Expect.floatClose Accuracy.high (m.Predict(array2D [ [ 2.0; 2.0 ] ]).[0, 0]) 3.0 "interpolates its 3 samples"
        }
    ]
