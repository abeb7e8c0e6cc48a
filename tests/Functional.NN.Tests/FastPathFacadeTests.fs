/// The facade's fast path (FastPath.TrainFast / PredictFast) against the facade's reference
/// methods (Network.Predict, Network.TrainGradientDescent). Tolerances as in FastPathTests:
/// 1e-12 (float64) and 1e-4 (float32) relative, |fast - ref| <= tol (1 + |ref|).
module Functional.NN.Tests.FastPathFacadeTests

open System
open Expecto
open FunctionalNN

let private close (tol: float) (what: string) (expected: double[,]) (actual: double[,]) =
    Expect.equal (Array2D.length1 actual, Array2D.length2 actual) (Array2D.length1 expected, Array2D.length2 expected) (what + ": shape")
    expected |> Array2D.iteri (fun i j e ->
        let a = actual.[i, j]
        if not (abs (a - e) <= tol * (1.0 + abs e)) then
            failtestf "%s: [%d, %d] is %s, the reference %s (tolerance %g)" what i j (a.ToString "R") (e.ToString "R") tol)

let private net () = NetworkBuilder(3).Dense(5, Activation.Tanh).Dense(4, Activation.ReLU).Dense(2, Activation.Identity).Seed(11L).Build()
let private x = Array2D.init 6 3 (fun i j -> sin (float (3 * i + j)))
let private y = Array2D.init 6 2 (fun i j -> cos (float (2 * i + j)))

[<Tests>]
let tests =
    testList "FastPathFacade" [
        for precision, tol in [ Precision.Float64, 1e-12; Precision.Float32, 1e-4 ] do
            test (sprintf "%A: PredictFast equals Predict, and one full-batch epoch equals one TrainGradientDescent step" precision) {
                let n = net ()
                let x0 = Array2D.copy x
                close tol "predict" (n.Predict x) (n.PredictFast(x, precision))
                // Full batch (6 rows), one epoch: exactly one gradient-descent step of rate 0.1.
                let fast = n.TrainFast(x, y, Loss.MeanSquaredError, 0.1, 6, 1, 0L, precision)
                let reference = n.TrainGradientDescent(x, y, Loss.MeanSquaredError, 0.1, 1)
                for l in 0 .. 2 do
                    close tol (sprintf "weights %d" l) (reference.GetWeights l) (fast.Network.GetWeights l)
                    close tol (sprintf "bias %d" l) (array2D [ reference.GetBias l ]) (array2D [ fast.Network.GetBias l ])
                Expect.equal fast.EpochLosses.Count 1 "one epoch"
                Expect.equal x x0 "x unchanged"
            }

        test "an unsupported loss is an ArgumentException with ParamName loss; divergence carries a facade Network" {
            let n = net ()
            let e = Expect.throwsC (fun () -> n.TrainFast(x, y, Loss.Hinge, 0.1, 2, 1) |> ignore) id
            Expect.equal (e :?> ArgumentException).ParamName "loss" "ParamName"
            // One identity unit, y = 1000 x, rate 10: the error grows by |1 - 20 x^2| per step (hand derivation).
            let lin = NetworkBuilder(1).Dense(1, Activation.Identity).Seed(1L).Build()
            let xs = Array2D.init 8 1 (fun i _ -> 1.0 + float i)
            let ys = Array2D.map (fun v -> 1000.0 * v) xs
            let e = Expect.throwsC (fun () -> lin.TrainFast(xs, ys, Loss.MeanSquaredError, 10.0, 8, 1000) |> ignore) id
            match e with
            | :? Functional.NN.TrainingDivergedException as d -> Expect.isTrue (d.LastGood :? Network) "LastGood is a facade Network"
            | other -> failtestf "expected TrainingDivergedException, got %O" other
        }
    ]
