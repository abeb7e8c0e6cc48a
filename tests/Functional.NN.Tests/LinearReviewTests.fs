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
        testList "R^2 of constant and tiny targets" [
            testCase "a constant target scores 0 unless predicted exactly, then 1 (the documented rule)" <| fun () ->
                // 0.1 + 0.1 + 0.1 = 0.30000000000000004, so a computed mean is not 0.1 and SS_tot was a
                // tiny non-zero number; the rule (Metrics.r2's doc comment) says 0 and 1.
                for c in [ 0.2; 0.1; 1e-300; 3e300 ] do
                    let t = col [| c; c; c |]
                    Expect.equal (Metrics.r2 (col [| 0.1; 0.1; 0.1 |]) t) (if c = 0.1 then 1.0 else 0.0) (sprintf "constant %g vs 0.1" c)
                    Expect.equal (Metrics.r2 (col [| c; c; c |]) t) 1.0 (sprintf "constant %g predicted exactly" c)
                    Expect.equal (Metrics.r2 (col [| c; c; c * 0.5 |]) t) 0.0 (sprintf "constant %g, one prediction off" c)
            testCase "targets [1; 2; 3.1] * s, predictions [0.9; 2.1; 3.0] * s score the same at every scale s" <| fun () ->
                for s in [ 1.0; 1e-161; 1e-300; 1e300 ] do
                    // By hand: mean 6.1/3, SS_tot = 2 + 0.62/3 (deviations -1.0333, -0.0333, 1.0667),
                    // SS_res = 3 * 0.01 = 0.03, R^2 = 1 - 0.03 / 2.20667 = 0.98640483.. at every scale.
                    let r = Metrics.r2 (col [| 0.9 * s; 2.1 * s; 3.0 * s |]) (col [| 1.0 * s; 2.0 * s; 3.1 * s |])
                    rel 1e-9 r (1.0 - 0.03 / (2.0 + 0.62 / 3.0)) (sprintf "R^2 at scale %g" s)
        ]
        testList "predict never returns a silent NaN or Infinity" [
            let model = LinearModel.create (Matrix<float>.Build.DenseOfArray(array2D [ [ 2.0 ]; [ -2.0 ] ])) (Vector<float>.Build.Dense 1) false [||]
            testCase "x W overflows: ArgumentException naming x and the row" <| fun () ->
                // 2e308 - 2e308: the true output is 0 (by hand) but each product overflows to Infinity.
                for x in [ array2D [ [ 1.0; 1.0 ]; [ 1e308; 1e308 ] ]; array2D [ [ 1.0; 1.0 ]; [ 1e308; 0.0 ] ] ] do
                    let x = Matrix<float>.Build.DenseOfArray x
                    let e = argError (fun () -> LinearModel.predict model x)
                    Expect.equal e.ParamName "x" "ParamName"
                    Expect.stringContains e.Message "row 1" "the row"
                    Expect.stringContains e.Message "overflow" "says why"
                    let c = argError (fun () -> LinearClassifier.predict model x)
                    Expect.equal c.ParamName "x" "the classifier raises instead of labelling NaN -1"
                // Finite outputs are unchanged.
                let x = Matrix<float>.Build.DenseOfArray(array2D [ [ 1e307; 1e307 ]; [ 3.0; 1.0 ] ])
                Expect.equal ((LinearModel.predict model x).Column(0).ToArray()) [| 0.0; 4.0 |] "2 x0 - 2 x1 (by hand)"
        ]
        testList "ParamNames of the parameters that exist" [
            testCase "LinearClassifier.cost with one label for five rows: labels" <| fun () ->
                let model = LinearModel.create (Matrix<float>.Build.Dense(1, 1, 1.0)) (Vector<float>.Build.Dense 1) true [||]
                let x = col [| 1.0; 2.0; 3.0; 4.0; 5.0 |]
                let e = argError (fun () -> LinearClassifier.cost Loss.Hinge model x [| 1 |])
                Expect.equal e.ParamName "labels" "ParamName"
                Expect.stringContains e.Message "1 entries" "the count"
            testCase "PolynomialModel.R2 with 2 targets for 4 rows, or a NaN target: y" <| fun () ->
                let xs = [| 0.0; 1.0; 2.0; 3.0 |]
                let m = FunctionalNN.PolynomialRegression.Fit(xs, [| 1.0; 2.0; 5.0; 10.0 |], 2)
                let e = argError (fun () -> m.R2(xs, [| 1.0; 2.0 |]))
                Expect.equal e.ParamName "y" "wrong length"
                let e = argError (fun () -> m.R2(xs, [| 1.0; nan; 5.0; 10.0 |]))
                Expect.equal e.ParamName "y" "NaN target"
                let e = argError (fun () -> PolynomialRegression.meanSquaredError (PolynomialRegression.fit 2 1e-10 (col xs) (col [| 1.0; 2.0; 5.0; 10.0 |])) (col xs) (col [| 1.0 |]))
                Expect.equal e.ParamName "y" "core meanSquaredError"
            testCase "SigmoidRegression.r2 with targets of another length: y" <| fun () ->
                let net = SigmoidRegression.create 1 1 7L
                let e = argError (fun () -> SigmoidRegression.r2 net (col [| 0.0; 1.0; 2.0 |]) (col [| 0.5 |]))
                Expect.equal e.ParamName "y" "ParamName"
                let e = argError (fun () -> SigmoidRegression.meanSquaredError net (col [| 0.0; 1.0 |]) (col [| 0.5; nan |]))
                Expect.equal e.ParamName "y" "NaN target"
            testCase "C# rank errors name the C# calls, not Ridge.fit" <| fun () ->
                // Two distinct x values cannot determine a quadratic: x^2 = 3x - 2 on x in {1, 2}.
                let e = argError (fun () -> FunctionalNN.PolynomialRegression.Fit([| 1.0; 1.0; 2.0; 2.0 |], [| 1.0; 1.1; 2.0; 2.1 |], 2))
                Expect.isFalse (e.Message.Contains "Ridge.fit") "no core name"
                Expect.stringContains e.Message "LinearRegression.FitRidge" "the C# ridge"
                let dup = array2D [ [ 1.0; 2.0 ]; [ 2.0; 4.0 ]; [ 3.0; 6.0 ]; [ 4.0; 8.0 ] ]
                let e = argError (fun () -> FunctionalNN.LinearRegression.FitRidge(dup, [| 1.0; 2.0; 3.0; 5.0 |], 0.0))
                Expect.isFalse (e.Message.Contains "Ridge.fit") "FitRidge: no core name"
                Expect.stringContains e.Message "LinearRegression.FitRidge" "FitRidge: the C# name"
        ]
    ]
