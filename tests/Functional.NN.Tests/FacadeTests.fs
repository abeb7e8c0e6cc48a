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

let private expectArg (param: string) (fragments: string list) (f: unit -> unit) =
    match Expect.throwsC f id with
    | :? ArgumentException as e ->
        Expect.equal e.ParamName param (sprintf "ParamName of: %s" e.Message)
        for fr in fragments do Expect.stringContains e.Message fr "message"
    | e -> failtestf "expected ArgumentException, got %O" e

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
    ]
