module Functional.NN.Tests.LinearReviewTests

open System
open Expecto
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Linear

/// |actual - expected| <= relative |expected|, printing both numbers in full.
let private rel (relative: float) (actual: float) (expected: float) (what: string) =
    if not (abs (actual - expected) <= relative * abs expected) then
        failtestf "%s: expected %.17g, got %.17g (relative tolerance %g)" what expected actual relative

let private argError (f: unit -> 'a) : ArgumentException =
    match Expect.throwsC (fun () -> f () |> ignore) id with
    | :? ArgumentException as e -> e
    | e -> failtestf "expected ArgumentException, got %O" e

let private col (values: float[]) = LinearModel.column values

[<Tests>]
let tests =
    testList "LinearReview" [
        testList "least squares at extreme feature scales" [
            // By hand, with u = x / s for s = 1e200 (u = 1, 2, 3) and y = 1, 2, 3.1: mean u = 2,
            // mean y = 6.1 / 3; slope in u = sum (u - 2)(y - ybar) / sum (u - 2)^2
            // = (1.0333.. + 1.0666..) / 2 = 1.05, intercept = 6.1/3 - 2.1 = -0.0666..; the
            // residuals 1/60, -1/30, 1/60 give SS_res = 1/600, SS_tot = 2.2066.., R^2 = 0.999244712.
            // In x the slope is 1.05 / s. Without an intercept: sum u y / sum u^2 = 14.3 / 14.
            for s in [ 1e200; 1e154; 1e160; 1e300; 1e-200 ] do
                testCase (sprintf "x = [1; 2; 3] * %g" s) <| fun () ->
                    let x = col [| 1.0 * s; 2.0 * s; 3.0 * s |]
                    let y = col [| 1.0; 2.0; 3.1 |]
                    let m = LeastSquares.fit LeastSquaresOptions.Default x y
                    rel 1e-12 m.Coefficients.[0, 0] (1.05 / s) "slope"
                    rel 1e-12 m.Intercept.[0] (-0.2 / 3.0) "intercept"
                    rel 1e-12 (LinearModel.r2 m x y) (1.0 - (1.0 / 600.0) / (2.0 + 0.62 / 3.0)) "R^2"
                    let m0 = LeastSquares.fit (LeastSquaresOptions.Default.WithFitIntercept false) x y
                    rel 1e-12 m0.Coefficients.[0, 0] (14.3 / 14.0 / s) "slope without intercept"
            testCase "a duplicated column at scale 1e200 is still rank-deficient" <| fun () ->
                let x = Matrix<float>.Build.DenseOfArray(array2D [ [ 1e200; 2e200 ]; [ 2e200; 4e200 ]; [ 3e200; 6e200 ]; [ 4e200; 8.5e200 ] ])
                let e = argError (fun () -> LeastSquares.fit (LeastSquaresOptions.Default.WithFitIntercept false) (x.SubMatrix(0, 4, 0, 1).Append(x.SubMatrix(0, 4, 0, 1) * 2.0)) (col [| 1.0; 2.0; 3.0; 4.0 |]))
                Expect.equal e.ParamName "x" "ParamName"
                Expect.stringContains e.Message "rank-deficient" "message"
        ]
    ]
