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
                    if Double.IsNaN(2.0 * x.[1, 0] - 2.0 * x.[1, 1]) then
                        let c = argError (fun () -> LinearClassifier.predict model x)
                        Expect.equal c.ParamName "x" "the classifier raises instead of labelling NaN -1"
                    else
                        // One infinity keeps the score's sign: row 0's score is 0 (label -1), row 1's +infinity (+1).
                        Expect.equal (LinearClassifier.predict model x) [| -1; 1 |] "the classifier labels by the sign"
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
        testList "polynomial regression of years (standardised inputs)" [
            testCase "C# Fit(years 2000..2020, 3 + 0.5 (t - 2000) + 0.02 (t - 2000)^2, 2) fits" <| fun () ->
                // By hand: in t the polynomial is 0.02 t^2 + (0.5 - 0.04 * 2000) t + (3 - 0.5 * 2000 + 0.02 * 2000^2)
                // = 0.02 t^2 - 79.5 t + 79003; at t = 2025 it is 3 + 12.5 + 12.5 = 28.
                let t = Array.init 21 (fun i -> 2000.0 + float i)
                let y = t |> Array.map (fun t -> 3.0 + 0.5 * (t - 2000.0) + 0.02 * (t - 2000.0) * (t - 2000.0))
                let m = FunctionalNN.PolynomialRegression.Fit(t, y, 2)
                rel 1e-9 (m.Predict [| 2025.0 |]).[0] 28.0 "prediction at 2025"
                rel 1e-12 (m.R2(t, y)) 1.0 "R^2"
                let c = m.Coefficients()
                rel 1e-6 c.[0] 79003.0 "w0"
                rel 1e-6 c.[1] -79.5 "w1"
                rel 1e-6 c.[2] 0.02 "w2"
            testCase "two inputs: raw monomial weights expand back exactly enough" <| fun () ->
                // y = 1 + 2 a - b + 0.5 a^2 + 3 a b (exponent order x0, x1, x0^2, x0 x1, x1^2) on a grid
                // with a in 2000 .. 2004, b in 1000 .. 1003, both far from 0 (the raw monomials fail the
                // rank test: a^2 is nearly 4004 a - const on this range).
                let pts = [| for a in 2000.0 .. 2004.0 do for b in 1000.0 .. 1003.0 -> a, b |]
                let x = Matrix<float>.Build.DenseOfRowArrays(pts |> Array.map (fun (a, b) -> [| a; b |]))
                let y = col (pts |> Array.map (fun (a, b) -> 1.0 + 2.0 * a - b + 0.5 * a * a + 3.0 * a * b))
                let m = PolynomialRegression.fit 2 NormalEquation.DefaultRankTolerance x y
                let w = PolynomialRegression.coefficients m 0
                // The raw weights are ill-conditioned in themselves (y ~ 1.2e7 is a sum of terms that cancel),
                // so weight k of total degree g is held to 1e-8 max|y| / 2000^g (1.2e-1 for w0, 3e-8 for a^2).
                let maxY = y.Column(0).AbsoluteMaximum()
                Array.iteri2 (fun i (a: float) (e: float, g: int) ->
                    if abs (a - e) > 1e-8 * maxY / Math.Pow(2000.0, float g) then failtestf "w[%d] = %.17g, expected %g" i a e)
                    w [| 1.0, 0; 2.0, 1; -1.0, 1; 0.5, 2; 3.0, 2; 0.0, 2 |]
            testCase "inputs spanning 2^1024 and more (-1e308 .. 1e308) fit: the scale stays finite" <| fun () ->
                // By hand: y = 2 + 1e-308 x exactly at x = -1e308, 0, 1e308, 5e307 (y = 1, 2, 3, 2.5); half the
                // range is 1e308 >= 2^1023, whose next power of two (2^1024) is infinity.
                let x = [| -1e308; 0.0; 1e308; 5e307 |]
                let m = PolynomialRegression.fit 1 NormalEquation.DefaultRankTolerance (col x) (col [| 1.0; 2.0; 3.0; 2.5 |])
                let p = PolynomialRegression.predict m (col [| 2e307 |])
                rel 1e-12 p.[0, 0] 2.2 "prediction at 2e307"
        ]
        testList "ridge with lambda = 0, intercept unpenalised" [
            testCase "a constant feature is refused as by least squares (C# FitRidgeLikeScikitLearn)" <| fun () ->
                // Column 0 is 0.1 in every row: with the unpenalised intercept it is a multiple of the
                // column of ones, so there is no unique solution (LeastSquares.fit refuses it too).
                let x = array2D [ [ 0.1; 1.0 ]; [ 0.1; 2.0 ]; [ 0.1; 3.0 ] ]
                let e = argError (fun () -> FunctionalNN.LinearRegression.FitRidgeLikeScikitLearn(x, [| 1.0; 2.5; 2.9 |], 0.0))
                Expect.equal e.ParamName "x" "ParamName"
                Expect.stringContains e.Message "rank-deficient" "the rank error"
                let e = argError (fun () -> Ridge.fit { RidgeOptions.Default with Lambda = 0.0; Form = RidgeForm.InterceptUnpenalized } (Matrix<float>.Build.DenseOfArray x) (col [| 1.0; 2.5; 2.9 |]))
                Expect.stringContains e.Message "feature 0" "names the constant column"
        ]
        testList "ridge conditioning and the solvers' messages" [
            testCase "an alpha so small that alpha / n underflows to 0 is refused naming alpha, not fitted as least squares" <| fun () ->
                // 5e-324 / 8 rounds to 0 in doubles (the smallest subnormal halved and less), which would be least squares.
                let x = Matrix<float>.Build.Dense(8, 2, fun i j -> float (i + j * i))
                let y = Matrix<float>.Build.Dense(8, 1, fun i _ -> float i)
                match Expect.throwsC (fun () -> Ridge.fitLikeScikitLearn 5e-324 x y |> ignore) id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "alpha" "ParamName"
                    Expect.stringContains e.Message "underflows" "says why"
                | e -> failtestf "expected ArgumentException, got %O" e
            testCase "ridge on columns of scale 1e8, 1e-8 and 1 fits (the equilibrated matrix is well conditioned)" <| fun () ->
                // X^T X / n + lambda I has condition number 1.5e17 here, but scaled to unit diagonal only 1.9 (numpy:
                // np.linalg.cond of G / outer(d, d)); the old bound on the raw matrix refused it ("lambda = 0.125 is too small").
                let n = 8
                let x = Matrix<float>.Build.Dense(n, 3, fun i j -> match j with 0 -> 1e8 * float ((i * 3) % 5) | 1 -> 1e-8 * float ((i * 5) % 7) | _ -> float (i % 3) - 0.5 * float i)
                let y = Matrix<float>.Build.Dense(n, 1, fun i _ -> 1.0 + float i * 0.3 - float ((i * 5) % 7))
                let m = Ridge.fitLikeScikitLearn 1.0 x y
                // Expected: the exact solution of (Xc^T Xc + alpha I) w = Xc^T yc, b = mean y - mean x . w, in exact rational
                // arithmetic (Python fractions) on these doubles' exact values; numpy's lstsq of the column-scaled augmented
                // system [Xc; sqrt(alpha) I] agrees to 6e-9 relative in w_1 (-2.574158637e-07), 1e-15 elsewhere.
                // Measured: relative differences <= 4e-16.
                let expected = [| -5.358173076923066e-09; -2.5741586538461465e-07; -1.1274038461538443 |]
                for j in 0 .. 2 do rel 1e-12 m.Coefficients.[j, 0] expected.[j] (sprintf "w_%d" j)
                rel 1e-12 m.Intercept.[0] -0.6237980769230704 "intercept"
            testCase "ridge near the refusal bound at n = 100,000: weights within 1e-6 (QR of the stacked system, not X^T X / n)" <| fun () ->
                // Two columns equal up to 1e-8 (x2 - x1 = 1e-8 (((31 i) mod 17) - 8)), no intercept, lambda = 8.8e-15: the
                // matrix X^T X / n + lambda I scaled to unit diagonal has condition number 6.66e13, just below 1e14 (where the QR refused before it refused by its error bound).
                // Expected: the exact solution of (X^T X / n + lambda I) w = X^T y / n in rational arithmetic (Python
                // fractions) on these doubles' exact values (each is a correctly rounded operation, the same in Python),
                // rounded to double; the condition number from the exact entries with mpmath (50 digits).
                // Measured: relative error 2.4e-9 with the stacked blocked QR (2.3e-8 with MathNet's QR, used before); 8.6e-2 with the old solver (Cholesky of the formed
                // X^T X / n), which fails this test.
                let n = 100000
                let x = Matrix<float>.Build.Dense(n, 2, fun i j ->
                    let x1 = float ((i * 7919) % 1000) / 1000.0
                    if j = 0 then x1 else x1 + 1e-8 * (float ((i * 31) % 17) - 8.0))
                let y = Matrix<float>.Build.Dense(n, 1, fun i _ -> x.[i, 0] + float ((i * 13) % 11) / 11.0)
                let m = Ridge.fit { Lambda = 8.8e-15; Form = RidgeForm.PenalizeAll; FitIntercept = false } x y
                let expected = [| -205.92096909893033; 207.60313271722566 |]
                let error = sqrt ((m.Coefficients.[0, 0] - expected.[0]) ** 2.0 + (m.Coefficients.[1, 0] - expected.[1]) ** 2.0) / sqrt (expected.[0] ** 2.0 + expected.[1] ** 2.0)
                Expect.isLessThanOrEqual error 1e-6 (sprintf "relative error of the weights %g" error)
            testCase "NormalEquation.ridge given X^T X / n refuses a tiny lambda on duplicated columns and names both" <| fun () ->
                // G of the design [1 t t] for t = 1 .. 4 (hand arithmetic: mean t = 2.5, mean t^2 = 7.5): the two copies make
                // the unit-diagonal matrix singular to double precision for lambda = 1e-20 (off-diagonal entry of the copies
                // 1 - lambda / (7.5 + lambda), which rounds to 1; measured estimate 2.1e17), so the solve is refused; the
                // refusal names the copies (design columns 1 and 2, equal in the near-singular direction up to sign), not the
                // intercept column.
                let g = Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; 2.5; 2.5 ]; [ 2.5; 7.5; 7.5 ]; [ 2.5; 7.5; 7.5 ] ])
                let b = Matrix<float>.Build.Dense(3, 1, 1.0)
                let e = argError (fun () -> NormalEquation.ridge 1e-20 (fun j -> sprintf "c%d" j) g b)
                Expect.equal e.ParamName "lambda" "ParamName"
                Expect.stringContains e.Message "lambda = 1e-20 is too small for these data" "says lambda is too small"
                Expect.stringContains e.Message "design column 1 (c1) and design column 2 (c2)" "names the two copies"
                // An estimate beyond 1 / u = 2^53 (here 2.1e17) is rounding's, not a condition number to print.
                Expect.stringContains e.Message "has an estimated condition number beyond 9e15 = 1/u (singular to double precision; the limit is 1e14), so it cannot be solved accurately." "singular, not a number, and the limit"
                Expect.isFalse (e.Message.Contains "e+17") "no meaningless estimate"
                Expect.isFalse (e.Message.Contains "(c0)") "not the intercept column"
                Expect.stringContains e.Message "Remove or combine the dependent columns, or increase lambda" "the advice"
                // lambda = 1e-3 fits: the two copies share the weight (their rows of G + lambda I are equal but for the
                // diagonal, so the solution gives them equal weights).
                let w = NormalEquation.ridge 1e-3 (fun j -> sprintf "c%d" j) g b
                rel 1e-12 w.[1, 0] w.[2, 0] "equal weights of the copies"
            testCase "NormalEquation.ridge refuses a finite condition number above 1e14 and quotes it beside the limit" <| fun () ->
                // G = [[1, r], [r, 1]] with r = 1 - 2^-49 already has unit diagonal, and lambda = 1e-30 does not change it
                // (1 + 1e-30 rounds to 1), so S = G. Hand arithmetic: ||S||_1 = 1 + r, S^-1 = [[1, -r], [-r, 1]] / (1 - r^2),
                // ||S^-1||_1 = 1 / (1 - r), so the 1-norm condition number is (1 + r) / (1 - r) = 2^50 - 1 = 1.13e15: above the
                // limit 1e14 and below 1 / u = 2^53 (9e15), so it is quoted as a number.
                let r = 1.0 - Math.ScaleB(1.0, -49)
                let g = Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; r ]; [ r; 1.0 ] ])
                let b = Matrix<float>.Build.Dense(2, 1, 1.0)
                let e = argError (fun () -> NormalEquation.ridge 1e-30 (fun j -> sprintf "c%d" j) g b)
                Expect.equal e.ParamName "lambda" "ParamName"
                Expect.stringContains e.Message "has an estimated condition number of 1.13e15 (more than the limit 1e14), so it cannot be solved accurately." "the estimate beside the limit"
            testCase "FitRidgeLikeScikitLearn names alpha when alpha is too small" <| fun () ->
                // Two identical columns: with alpha = 1e-20 the scaled matrix is singular in double precision (its
                // off-diagonal entry 1 - lambda / (g + lambda) rounds to 1), so the solve is refused.
                let x = array2D [ [ 1.0; 1.0 ]; [ 2.0; 2.0 ]; [ 3.0; 3.0 ]; [ 4.0; 4.0 ] ]
                let e = argError (fun () -> FunctionalNN.LinearRegression.FitRidgeLikeScikitLearn(x, [| 1.0; 2.0; 3.0; 4.5 |], 1e-20))
                Expect.equal e.ParamName "alpha" "ParamName: the C# parameter"
                Expect.stringContains e.Message "alpha = 1e-20 (lambda = alpha / n = 2.5e-21 with n = 4) is too small" "says alpha, and lambda = alpha / n"
                Expect.stringContains e.Message "or increase alpha" "the advice names alpha"
                Expect.isFalse (e.Message.StartsWith "lambda") "does not start with lambda"
            testCase "a refusal stays for a genuinely ill-conditioned ridge problem at any column scale" <| fun () ->
                // The same two identical columns, both scaled by 1e8: the equilibrated matrix does not change, so neither
                // does the refusal (lambda = 1e-4 is 1e-20 against their mean square 7.5e16).
                let x = Matrix<float>.Build.Dense(4, 2, fun i _ -> 1e8 * float (i + 1))
                let e = argError (fun () -> Ridge.fit (RidgeOptions.Default.WithLambda 1e-4) x (col [| 1.0; 2.0; 3.0; 4.5 |]))
                Expect.equal e.ParamName "lambda" "ParamName"
                Expect.stringContains e.Message "design column 1 (feature 0) and design column 2 (feature 1)" "names the two copies"
            testCase "a degree-20 polynomial on 40 points: numerically dependent at the tolerance, not singular" <| fun () ->
                // numpy: Polynomial.fit(x, sin x, 20) has rank 21 (full) and residual 1.6e-32; the Vandermonde matrix of
                // 2x - 1 has condition number 2.7e7 (np.linalg.cond), so a column's squared sine to the span of the others
                // (4.8e-11, measured) falls below the default tolerance 1e-10 without the design being singular.
                let xs = Array.init 40 (fun i -> float i / 39.0)
                let ys = Array.map sin xs
                let e = argError (fun () -> PolynomialRegression.fit 20 NormalEquation.DefaultRankTolerance (col xs) (col ys))
                Expect.equal e.ParamName "x" "ParamName"
                Expect.stringContains e.Message "numerically rank-deficient at the rank tolerance 1e-10" "says numerically, and the tolerance"
                Expect.stringContains e.Message "LeastSquaresOptions.RankTolerance, or the rankTolerance argument of PolynomialRegression.fit" "the options that set it"
                Expect.stringContains e.Message "lower the degree" "the polynomial's remedy"
                Expect.isFalse (e.Message.Contains "has no unique solution") "does not claim the design singular"
                Expect.isFalse (e.Message.Contains "is a linear combination of the columns before it") "nor the column a linear combination"
                // The advice works: at tolerance 1e-13 the same data fit, and the fit reproduces sin at the points
                // (sin is within 1/21! = 2e-20 of its degree-20 Taylor polynomial on [0, 1]; measured 1.2e-15).
                let m = PolynomialRegression.fit 20 1e-13 (col xs) (col ys)
                let p = PolynomialRegression.predict m (col xs)
                for i in 0 .. 39 do if abs (p.[i, 0] - ys.[i]) > 1e-12 then failtestf "point %d: %g vs sin %g" i p.[i, 0] ys.[i]
                // The C# members have no tolerance option: their message does not point to one.
                let e = argError (fun () -> FunctionalNN.PolynomialRegression.Fit(xs, ys, 20))
                Expect.stringContains e.Message "numerically rank-deficient" "C#: says numerically"
                Expect.isFalse (e.Message.Contains "LeastSquaresOptions") "C#: no F# option"
            testCase "a constant feature with the intercept unpenalised and lambda = 0 is named constant, X^T X has one row per unknown" <| fun () ->
                let x = Matrix<float>.Build.DenseOfArray(array2D [ [ 0.1; 1.0 ]; [ 0.1; 2.0 ]; [ 0.1; 3.0 ] ])
                let e = argError (fun () -> Ridge.fit { RidgeOptions.Default with Lambda = 0.0; Form = RidgeForm.InterceptUnpenalized } x (col [| 1.0; 2.5; 2.9 |]))
                Expect.equal e.ParamName "x" "ParamName"
                // Three unknowns (the intercept and two weights): X^T X is 3x3; column 1 of the design [1 X] is feature 0.
                Expect.stringContains e.Message "X^T X (3x3)" "3 unknowns"
                Expect.stringContains e.Message "design column 1 (feature 0) is constant (every value is 0.1), so it is a multiple of design column 0 (the intercept column of ones)" "says constant"
                // Least squares says the same.
                let e2 = argError (fun () -> LeastSquares.fit LeastSquaresOptions.Default x (col [| 1.0; 2.5; 2.9 |]))
                Expect.equal e2.Message e.Message "as least squares"
            testCase "a weight beyond the double range is said so, not blamed on large y" <| fun () ->
                // By hand: y = 1, 2, 3.5 at x = 1e-310, 2e-310, 3e-310 has slope 1.25 / 1e-310 = 1.25e310 > 1.8e308.
                let e = argError (fun () -> LeastSquares.fit LeastSquaresOptions.Default (col [| 1e-310; 2e-310; 3e-310 |]) (col [| 1.0; 2.0; 3.5 |]))
                Expect.stringContains e.Message "the weight the data ask for is larger in magnitude than the largest double" "says the weight itself overflows"
                Expect.stringContains e.Message "a feature of tiny values" "names the tiny feature as a cause"
                Expect.isFalse (e.Message.Contains "y holds values too large") "does not blame y's size"
        ]
        testList "polynomial features that overflow or are too large" [
            testCase "monomials and phi of 1e200 name x, the monomial and the row" <| fun () ->
                let x = col [| 1e200; 2e200; 3e200; 4e200 |]
                let e = argError (fun () -> PolynomialFeatures.monomials 2 x)
                Expect.equal e.ParamName "x" "ParamName"
                Expect.stringContains e.Message "x0^2 overflows" "the monomial"
                Expect.stringContains e.Message "row 0" "the row"
                Expect.isFalse (e.Message.Contains "column 1") "no column that x does not have"
                let e = argError (fun () -> PolynomialFeatures.phi 2 [| 1.0; 1e200 |])
                Expect.equal e.ParamName "x" "phi: ParamName"
                Expect.stringContains e.Message "x[1]^2" "phi: the entry and power"
            testCase "C# PolynomialRegression.Fit at 1e200 fits (the inputs are standardised)" <| fun () ->
                // y = x / 1e200 exactly on the points 1e200 .. 4e200 (by hand): a straight line.
                let m = FunctionalNN.PolynomialRegression.Fit([| 1e200; 2e200; 3e200; 4e200 |], [| 1.0; 2.0; 3.0; 4.0 |], 2)
                rel 1e-12 (m.Predict [| 2.5e200 |]).[0] 2.5 "prediction"
            testCase "phi with more values than an array holds names degree" <| fun () ->
                // 30,000 rows x 99,999 columns = 2,999,970,000 > Array.MaxLength (2,147,483,591).
                let e = argError (fun () -> PolynomialFeatures.phi 99998 (Array.create 30000 0.5))
                Expect.equal e.ParamName "degree" "ParamName"
        ]
        testList "second review: least squares with an intercept on offset features" [
            // The timestamps of the review's item 1 made deterministic: t_k = 1.7e9 + off_k (an hour in
            // steps of 72 s), y_k = 3 + 0.002 off_k + noise_k. Expected values: exact rational
            // arithmetic on these doubles (Python fractions): slope 0.0020046652111510607, intercept
            // -3407927.8692092816; scikit-learn 1.2.1 LinearRegression gives 0.0020046652111510603,
            // -3407927.869209281 and R^2 0.9991212919499965.
            let offsets = Array.init 50 (fun k -> 72.0 * float k + float ((k * 37) % 11))
            let t = offsets |> Array.map (fun o -> 1.7e9 + o)
            let ys = offsets |> Array.mapi (fun k o -> 3.0 + 0.002 * o + float ((k * 7) % 13 - 6) / 60.0)
            let slope, intercept = 0.0020046652111510607, -3407927.8692092816
            testCase "timestamps near 1.7e9 over an hour fit as scikit-learn does (no rank error)" <| fun () ->
                let m = LeastSquares.fitNamed LeastSquaresOptions.Default [| "timestamp" |] (col t) (col ys)
                rel 1e-12 m.Coefficients.[0, 0] slope "slope"
                rel 1e-12 m.Intercept.[0] intercept "intercept"
                rel 1e-12 (LinearModel.r2 m (col t) (col ys)) 0.9991212919499965 "R^2"
                let r = Ridge.fit (RidgeOptions.Default.WithLambda(0.0).WithForm RidgeForm.InterceptUnpenalized) (col t) (col ys)
                rel 1e-12 r.Coefficients.[0, 0] slope "ridge with lambda = 0: slope"
                rel 1e-12 r.Intercept.[0] intercept "ridge with lambda = 0: intercept"
                let c = FunctionalNN.LinearRegression.Fit(Array2D.init 50 1 (fun i _ -> t.[i]), ys)
                rel 1e-12 (c.StackedWeights()).[1, 0] slope "C#: slope"
            testCase "x = 1e8 + {0, 1e-7, 3e-7, 0} has full rank: the exact slope, not a rounding message" <| fun () ->
                // Exact rational arithmetic on the four doubles (Python fractions), y = 1, 2, 3, 4:
                // slope 1635267.5388940957, intercept -163526753889407.22 (scikit-learn 1.2.1 gives
                // 1633736.4, off in the third digit: its rounded mean).
                let x = col [| 1e8; 1e8 + 1e-7; 1e8 + 3e-7; 1e8 |]
                let m = LeastSquares.fit LeastSquaresOptions.Default x (col [| 1.0; 2.0; 3.0; 4.0 |])
                rel 1e-9 m.Coefficients.[0, 0] 1635267.5388940957 "slope"
                rel 1e-9 m.Intercept.[0] -163526753889407.22 "intercept"
            testCase "rank messages at an offset still name the caller's constant, duplicated and dependent columns" <| fun () ->
                let names = [| "t"; "flag"; "u"; "v" |]
                let x (f: int -> float[]) = Matrix<float>.Build.DenseOfRowArrays(Array.init 50 f)
                let fit (m: Matrix<float>) = argError (fun () -> LeastSquares.fitNamed LeastSquaresOptions.Default names m (col ys))
                // A constant 0.1 (whose computed mean is not 0.1: 0.1 * 50 / 50 rounds) next to the intercept.
                let e = fit (x (fun k -> [| t.[k]; 0.1; float k; float (k % 7) |]))
                Expect.equal e.ParamName "x" "constant: ParamName"
                Expect.stringContains e.Message "design column 2 (feature 1, flag) is constant (every value is 0.1), so it is a multiple of design column 0 (the intercept column of ones)" "constant"
                // u a copy of t.
                let e = fit (x (fun k -> [| t.[k]; float (k % 3); t.[k]; float (k % 7) |]))
                Expect.stringContains e.Message "design column 3 (feature 2, u) is a linear combination of the columns before it" "duplicate"
                // v = t + 2 flag - 5 (a combination of earlier columns and the ones).
                let e = fit (x (fun k -> [| t.[k]; float (k % 3); float (k % 5); t.[k] + 2.0 * float (k % 3) - 5.0 |]))
                Expect.stringContains e.Message "design column 4 (feature 3, v)" "dependent"
                Expect.stringContains e.Message "linear combination" "dependent: why"
                // A column of zeros.
                let e = fit (x (fun k -> [| t.[k]; 0.0; float k; float (k % 7) |]))
                Expect.stringContains e.Message "design column 2 (feature 1, flag) holds only zeros" "zeros"
            testCase "fnn linear on the timestamps prints scikit-learn's fit" <| fun () ->
                let dir = IO.Path.Combine(IO.Path.GetTempPath(), "fnn-ts-" + Guid.NewGuid().ToString("N"))
                IO.Directory.CreateDirectory dir |> ignore
                try
                    let rows = Array.map2 (fun (a: float) (b: float) -> a.ToString("R", Globalization.CultureInfo.InvariantCulture) + "," + b.ToString("R", Globalization.CultureInfo.InvariantCulture)) t ys
                    IO.File.WriteAllText(IO.Path.Combine(dir, "ts.csv"), "timestamp,reading\n" + String.Join("\n", rows) + "\n")
                    let code, out, err = Repo.runFnn dir [ "linear"; "--data"; "ts.csv"; "--test-fraction"; "0"; "--json" ] (TimeSpan.FromSeconds 120.0)
                    Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                    let j = Text.Json.JsonDocument.Parse(out).RootElement
                    rel 1e-12 (j.GetProperty("coefficient_timestamp").GetDouble()) slope "slope"
                    rel 1e-12 (j.GetProperty("intercept").GetDouble()) intercept "intercept"
                finally IO.Directory.Delete(dir, true)
        ]
        testList "second review: polynomial maps linear in their size" [
            testCase "exponents 3 3 are scikit-learn's powers_" <| fun () ->
                // scikit-learn 1.2.1: PolynomialFeatures(3, include_bias=False).fit(np.zeros((1, 3))).powers_
                let expected = "100;010;001;200;110;101;020;011;002;300;210;201;120;111;102;030;021;012;003"
                let actual = PolynomialFeatures.exponents 3 3 |> Array.map (fun e -> String.Join("", e)) |> String.concat ";"
                Expect.equal actual expected "order"
                // C(5 + 4, 4) - 1 = 125 monomials of degree 1 .. 4 in 5 variables, each once, degree by degree.
                let e = PolynomialFeatures.exponents 4 5
                Expect.equal e.Length 125 "count"
                Expect.equal (e |> Array.map (fun v -> String.Join(",", v)) |> Array.distinct |> Array.length) 125 "distinct"
                Expect.equal (e |> Array.map Array.sum) (Array.sortBy id (e |> Array.map Array.sum)) "by degree"
            testCase "monomials, names and exponents of degree 20,000 on one input end within the hang guard" <| fun () ->
                // A hang guard, not a timing: before the fix (AMD EPYC, loaded) exponents 16000 1 took 27 s and
                // monomials 20000 43 s; after it the three take milliseconds (docs/linear-models.md).
                let clock = Diagnostics.Stopwatch.StartNew()
                let m = PolynomialFeatures.monomials 20000 (col [| 1.0 |])
                let names = PolynomialFeatures.names 20000 [| "x" |]
                let e = PolynomialFeatures.exponents 20000 1
                Expect.isLessThan clock.Elapsed.TotalSeconds Expectations.hangGuardSeconds "seconds"
                Expect.equal (m.ColumnCount, names.[19999], e.[19999].[0]) (20000, "x^20000", 20000) "the last monomial"
            testCase "coefficients of (x - 0.5)^1100 are finite: binomials beyond the double range spoil no term" <| fun () ->
                // A hand-made model: weight 1 on u^1100, u = (x - 0.5) / 1, so w_k = C(1100, k) (-1/2)^(1100 - k). Python's
                // math.comb and fractions: the largest |w_k| is w_733 = -1.279064882403821e192, w_1000 =
                // 1.1225231726833567e114, w_700 = 1.3342861603260359e191, w_1099 = -550; w_0 = 2^-1100 rounds to 0.
                let unit = PolynomialRegression.fit 1 1e-10 (col [| 0.0; 1.0; 2.0 |]) (col [| 0.0; 1.0; 2.0 |])
                let w = Matrix<float>.Build.Dense(1100, 1)
                w.[1099, 0] <- 1.0
                let model =
                    { unit with Degree = 1100; Offset = [| 0.5 |]; Scale = [| 1.0 |]
                                Linear = { unit.Linear with Coefficients = w; Intercept = Vector<float>.Build.Dense 1; FeatureNames = PolynomialFeatures.names 1100 [| "x0" |] } }
                let c = PolynomialRegression.coefficients model 0
                Expect.isTrue (Array.forall Double.IsFinite c) "every weight finite"
                Expect.equal (c.[1100], c.[1099]) (1.0, -550.0) (sprintf "the ends: %.17g, %.17g" c.[1100] c.[1099])
                Expect.equal c.[0] 0.0 (sprintf "w_0 underflows to 0: %.17g" c.[0])
                for k, expected in [ 733, -1.279064882403821e192; 1000, 1.1225231726833567e114; 700, 1.3342861603260359e191 ] do
                    Expect.floatClose { absolute = 0.0; relative = 1e-12 } c.[k] expected (sprintf "w_%d" k)
            testCase "coefficients: the weight is a factor of the term, so a tiny weight times a huge binomial stays finite" <| fun () ->
                // Weight 1e-300 on u^1100 with u = x - 1: w_k = 1e-300 C(1100, k) (-1)^(1100 - k); Python's math.comb and
                // fractions (the double 1e-300 times the exact binomial): w_550 = 3.2669331367788505e29 (C(1100, 550) alone, 3.3e329, is beyond the double range).
                let unit = PolynomialRegression.fit 1 1e-10 (col [| 0.0; 1.0; 2.0 |]) (col [| 0.0; 1.0; 2.0 |])
                let w = Matrix<float>.Build.Dense(1100, 1)
                w.[1099, 0] <- 1e-300
                let model =
                    { unit with Degree = 1100; Offset = [| 1.0 |]; Scale = [| 1.0 |]
                                Linear = { unit.Linear with Coefficients = w; Intercept = Vector<float>.Build.Dense 1; FeatureNames = PolynomialFeatures.names 1100 [| "x0" |] } }
                let c = PolynomialRegression.coefficients model 0
                Expect.isTrue (Array.forall Double.IsFinite c) "every weight finite"
                Expect.floatClose { absolute = 0.0; relative = 1e-12 } c.[550] 3.2669331367788505e29 "w_550"
                // A scale that is no power of two (a model made by hand) is refused, not expanded wrongly.
                let e = argError (fun () -> PolynomialRegression.coefficients { model with Scale = [| 3.0 |] } 0)
                Expect.equal e.ParamName "model" "ParamName"
                Expect.stringContains e.Message "Scale[0] is 3" "names the scale"
            testCase "a fit refuses a map of more than its share of the memory, naming degree (a fixed limit)" <| fun () ->
                // The size check with a limit of 8000 values: a fit holds 8 copies, so 1000 values at most.
                PolynomialFeatures.checkSizeWithin 8000L PolynomialFeatures.FitCopies 3 250 4
                let e = argError (fun () -> PolynomialFeatures.checkSizeWithin 8000L PolynomialFeatures.FitCopies 3 251 4)
                Expect.equal e.ParamName "degree" "ParamName"
                for fragment in [ "251 x 4 = 1004 values"; "a polynomial fit builds"; "8 copies"; "1000 values" ] do
                    Expect.stringContains e.Message fragment fragment
            testCase "a constant input is refused as constant, not with a degree of 0" <| fun () ->
                let e = argError (fun () -> PolynomialRegression.fit 1 1e-10 (Matrix<float>.Build.DenseOfRowArrays [| [| 1.0; 2.0 |]; [| 1.0; 3.0 |]; [| 1.0; 4.0 |]; [| 1.0; 5.0 |] |]) (col [| 1.0; 2.0; 3.0; 4.0 |]) |> ignore)
                Expect.equal e.ParamName "x" "ParamName"
                Expect.stringContains e.Message "input 0 of x (column 0) takes only 1 distinct value (1)" "names the input"
                Expect.stringContains e.Message "Remove the input" "the remedy"
                Expect.isFalse (e.Message.Contains "degree of at most 0") "no impossible degree"
            testCase "a map larger than a quarter of the available memory is refused before it is built" <| fun () ->
                let limit = PolynomialFeatures.maxValues ()
                if limit < int64 Array.MaxLength then
                    let rows = int (limit / 90000L) + 1
                    let e = argError (fun () -> PolynomialFeatures.monomials 90000 (Matrix<float>.Build.Dense(rows, 1, 0.5)))
                    Expect.equal e.ParamName "degree" "ParamName"
                    Expect.stringContains e.Message "memory available to the process" "says why"
        ]
        testList "second review: iterative fits on targets that overflow the cost" [
            // By hand: ||y||^2 = (1 + 4 + 9) 1e400 overflows the double range, so the cost at W = 0 is infinite.
            let x = Array2D.init 3 1 (fun i _ -> float (i + 1))
            let y = [| 1e200; 2e200; 3e200 |]
            let check (e: ArgumentException) (what: string) =
                Expect.equal e.ParamName "y" (what + ": ParamName")
                Expect.stringContains e.Message "overflows the double range" (what + ": says the cost overflows")
                Expect.stringContains e.Message "Rescale the data" (what + ": says to rescale")
                Expect.isFalse (e.Message.Contains "learning rate is above") (what + ": does not blame the rate")
            testCase "C# gradient descent and SGD name y, not the learning rate" <| fun () ->
                check (argError (fun () -> FunctionalNN.LinearRegression.FitByGradientDescent(x, y))) "gradient descent"
                check (argError (fun () -> FunctionalNN.LinearRegression.FitBySgd(x, y))) "SGD"
            testCase "F# gradient descent and SGD name y" <| fun () ->
                let xm, ym = Matrix<float>.Build.DenseOfArray x, col y
                check (argError (fun () -> LinearGradientDescent.fit LinearGradientDescentOptions.Default (LinearCost.LeastSquares true) xm ym)) "gradient descent"
                check (argError (fun () -> Sgd.fit LinearSgdOptions.Default (LinearCost.LeastSquares true) xm ym)) "SGD"
            testCase "the closed form fits the same data (y = 1e200 x, by hand)" <| fun () ->
                let m = FunctionalNN.LinearRegression.Fit(x, y)
                rel 1e-12 (m.StackedWeights()).[1, 0] 1e200 "slope"
        ]
        testList "second review: perceptron overflow" [
            testCase "features of 1e308 name x and say to scale them" <| fun () ->
                // By hand: sample 0 (score 0, label +1) is wrong, w = 2e308 = infinity at the first update.
                let e = argError (fun () -> FunctionalNN.Perceptron.Fit(array2D [ [ 1e308 ]; [ -1e308 ]; [ 1e308 ] ], [| 1; -1; -1 |]))
                Expect.equal e.ParamName "x" "ParamName"
                Expect.stringContains e.Message "Scale the features" "remedy"
                Expect.isFalse (e.Message.Contains "a learning rate of 1 gives the same classifier") "no pointless advice"
                // A smaller rate does avoid the overflow (the review's data: 1e-10 and 1e-300 fit).
                Expect.stringContains e.Message "or lower learningRate" "the other remedy"
                Expect.isFalse (e.Message.Contains "does not help") "no false advice"
                let small = FunctionalNN.Perceptron.Fit(array2D [ [ 1e308 ]; [ -1e308 ]; [ 1e308 ] ], [| 1; -1; -1 |], learningRate = 1e-10)
                Expect.isNotNull (box small) "a smaller rate fits"
            testCase "a learning rate above 1 is still named when 1 would do" <| fun () ->
                // By hand: 2 * 1e300 * 1e10 = 2e310 overflows; with eta = 1 the update is 2e300.
                let e = argError (fun () -> Perceptron.fit (PerceptronOptions.Default.WithLearningRate 1e10) (Matrix<float>.Build.DenseOfArray(array2D [ [ 1e300 ]; [ -1e300 ] ])) [| 1; -1 |])
                Expect.equal e.ParamName "learningRate" "ParamName"
                // Only a power-of-two rate gives the same classifier in doubles (third review).
                Expect.stringContains e.Message "use a power-of-two rate such as 1 or 0.5" "the advice"
                Expect.isFalse (e.Message.Contains "a learning rate of 1 gives the same classifier") "no claim that any rate gives the same classifier"
        ]
        testList "third review: the perceptron's learning rate in doubles" [
            // The review's data. From zero weights eta only scales W and b; multiplying by a power
            // of two is exact in doubles (barring overflow and underflow), so every score at
            // eta = 0.5 is exactly half the score at eta = 1, its sign the same, and the run is
            // the same with W and b halved. The counts and weights at eta = 1 and 0.1 were computed
            // independently, by a few lines of Python with the same float operations in the same
            // order (eta = 1: 35 updates, W = [-6, 2], b = -10; eta = 0.1: 61 updates, W = [-0.6, 0.4],
            // b = -1.8 to rounding, since a score exactly 0 at eta = 1 becomes about +-1e-16).
            let x = Matrix<float>.Build.DenseOfArray(array2D [ [ -3.0; 2.0 ]; [ -1.0; 3.0 ]; [ -1.0; 2.0 ] ])
            let y = [| 1; 1; -1 |]
            let fit eta = Perceptron.fit { LearningRate = eta; MaxEpochs = 200 } x y
            let weightsOf (r: PerceptronResult) = [| r.Model.Coefficients.[0, 0]; r.Model.Coefficients.[1, 0]; r.Model.Intercept.[0] |]
            testCase "power-of-two rates give the same classifier, W and b scaled exactly" <| fun () ->
                let one = fit 1.0
                Expect.equal (one.Updates, one.Converged) (35, true) "eta = 1: 35 updates, converged"
                Expect.equal (weightsOf one) [| -6.0; 2.0; -10.0 |] "eta = 1: W and b"
                for eta in [ 0.5; 0.25; 2.0 ** -20.0 ] do
                    let r = fit eta
                    Expect.equal (r.Updates, r.Epochs, r.Converged) (one.Updates, one.Epochs, one.Converged) (sprintf "eta = %g: the same run" eta)
                    Expect.equal (weightsOf r) (weightsOf one |> Array.map (fun v -> v * eta)) (sprintf "eta = %g: W and b times eta, bit for bit" eta)
            testCase "another rate may break a tie at score 0 differently" <| fun () ->
                let r = fit 0.1
                Expect.equal (r.Updates, r.Converged) (61, true) "eta = 0.1: 61 updates, converged"
                Array.iter2 (fun a e -> rel 1e-12 a e "eta = 0.1: W and b") (weightsOf r) [| -0.6; 0.4; -1.8 |]
        ]
        testList "second review: polynomial rank errors in the caller's terms" [
            testCase "x with fewer distinct values than degree + 1 says so, not u's constant 0.25 or zeros" <| fun () ->
                // By hand: x = 1, 1, 1, 2 has 2 distinct values; degree 2 needs 3 (a parabola through 2 points is not unique).
                let e = argError (fun () -> FunctionalNN.PolynomialRegression.Fit([| 1.0; 1.0; 1.0; 2.0 |], [| 1.0; 2.0; 3.0; 4.0 |], 2))
                Expect.equal e.ParamName "x" "ParamName"
                Expect.stringContains e.Message "x takes only 2 distinct values (1, 2), fewer than degree + 1 = 3" "the caller's x"
                Expect.isFalse (e.Message.Contains "0.25") "not the standardised value"
                let e = argError (fun () -> FunctionalNN.PolynomialRegression.Fit([| 3.0; 3.0; 3.0; 3.0 |], [| 1.0; 2.0; 3.0; 4.0 |], 1))
                Expect.stringContains e.Message "x takes only 1 distinct value (3)" "constant x"
                Expect.stringContains e.Message "Remove the input" "constant x: the remedy is no lower degree"
                Expect.isFalse (e.Message.Contains "holds only zeros") "not u's zeros"
                // Two inputs, the second 0/1 only: its square equals itself.
                let x2 = Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; 0.0 ]; [ 2.0; 0.0 ]; [ 3.0; 1.0 ]; [ 4.0; 1.0 ]; [ 5.0; 0.0 ]; [ 6.0; 1.0 ]; [ 7.0; 1.0 ] ])
                let e = argError (fun () -> PolynomialRegression.fit 2 NormalEquation.DefaultRankTolerance x2 (col [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0; 7.0 |]))
                Expect.stringContains e.Message "input 1 of x (column 1) takes only 2 distinct values (0, 1)" "names the input"
            testCase "a numerical rank failure names the monomial of the standardised input and how u is made" <| fun () ->
                // x in [0, 1]: midpoint 0.5, half range 0.5, scale the power of two 2^(ilogb 0.5 + 1) = 1 (by hand).
                let xs = Array.init 40 (fun i -> float i / 39.0)
                let e = argError (fun () -> PolynomialRegression.fit 20 NormalEquation.DefaultRankTolerance (col xs) (col (Array.map sin xs)))
                Expect.stringContains e.Message "of the standardised input u0 = (x0 - 0.5) / 1)" "u named and defined"
            testCase "the C# message of a numerical rank failure is not garbled" <| fun () ->
                let xs = Array.init 40 (fun i -> float i / 39.0)
                let e = argError (fun () -> FunctionalNN.PolynomialRegression.Fit(xs, Array.map sin xs, 20))
                Expect.stringContains e.Message "always invertible (the C# members use the default tolerance, 1e-10, and have no option to lower it)." "the C# remark in its place"
                Expect.isFalse (e.Message.Contains ") (for a polynomial") "no stacked parentheses"
                Expect.stringContains e.Message "Remove the column (for a polynomial, lower the degree) or use ridge regression (LinearRegression.FitRidge with lambda > 0 on PolynomialRegression.Monomials of x)" "remedies"
        ]
        testList "second review: rank tolerance" [
            testCase "a rank tolerance of 1 or more (or not positive) is refused, named as the caller names it" <| fun () ->
                let x, y = col [| 1.0; 2.0; 3.0 |], col [| 1.0; 2.0; 3.5 |]
                for t in [ 2.0; 1.0; 0.0; -1e-10; nan ] do
                    let e = argError (fun () -> LeastSquares.fit (LeastSquaresOptions.Default.WithRankTolerance t) x y)
                    Expect.equal e.ParamName "RankTolerance" (sprintf "%g: ParamName" t)
                    Expect.stringContains e.Message "must lie strictly between 0 and 1" (sprintf "%g: message" t)
                    let e = argError (fun () -> PolynomialRegression.fit 1 t x y)
                    Expect.equal e.ParamName "rankTolerance" (sprintf "%g: polynomial ParamName" t)
                // Just below 1 is accepted (sin^2 of the angle is 1 here for the feature after centring, 1 for the ones).
                let m = LeastSquares.fit (LeastSquaresOptions.Default.WithRankTolerance 0.999) x y
                rel 1e-12 m.Coefficients.[0, 0] 1.25 "slope (by hand: (1, 2, 3.5) against (1, 2, 3): 2.5 / 2)"
        ]
        testList "fourth review: ridge's QR solver refuses by its own error bound" [
            testCase "nearly collinear columns of scale 1e6 with a condition number above 1e14: solved by the QR, every weight within 1e-7" <| fun () ->
                // Columns a 1e6 and (a + 1e-7 noise) 1e6 and b, 30 rows, the notes' form (intercept penalised), lambda = 1e-4:
                // X^T X / n + lambda I scaled to unit diagonal has condition number 1.85e15 (numpy, np.linalg.cond of the exact
                // matrix), and the limit 1e14 of the Cholesky solver refused it ("estimated condition number of 1.9e15").
                // Expected: the exact solution of (X1^T X1 / n + lambda I) W = X1^T y / n, X1 = [1 X], in rational arithmetic
                // (Python fractions, Gaussian elimination) on these doubles' exact values (each a correctly rounded operation,
                // the same in Python), rounded to double; numpy's lstsq of the column-scaled stacked system [X1; sqrt(n lambda) I]
                // agrees to 5.4e-10. The QR's error bound u (2 sqrt(kappa) / cos(theta) + kappa tan(theta)) is 5.8e-3 here
                // (tan(theta) = 0.028); measured relative errors <= 1.3e-9.
                let n = 30
                let a i = float ((i * 7) % 13) / 13.0
                let noise i = float ((i * 11) % 17) / 17.0 - 0.5
                let b i = float ((i * 5) % 9) / 9.0
                let x = Matrix<float>.Build.Dense(n, 3, fun i j -> match j with 0 -> a i * 1e6 | 1 -> (a i + 1e-7 * noise i) * 1e6 | _ -> b i)
                let y = Matrix<float>.Build.Dense(n, 1, fun i _ -> a i + b i + 0.1 * float ((i * 3) % 7) / 7.0)
                let m = Ridge.fit (RidgeOptions.Default.WithLambda 1e-4) x y
                rel 1e-7 m.Intercept.[0] 0.048617879560324366 "intercept"
                let expected = [| -0.1474836895596776; 0.14748470545267592; 0.9669768149975443 |]
                for j in 0 .. 2 do rel 1e-7 m.Coefficients.[j, 0] expected.[j] (sprintf "w_%d" j)
            testCase "identical columns of scale 1e8 with a tiny lambda are still refused, the message quoting the QR's bound and the limit" <| fun () ->
                // Two identical columns 1e8 (1, 2, 3, 4), lambda = 1e-4 (1e-20 against their mean square 7.5e16): the scaled
                // matrix's condition number is about 1e21 (measured estimate 2.2e21), so the bound is far above 1.1e-2 whatever
                // the residual (2 sqrt(kappa) u alone is 1e-5; kappa tan(theta) u with tan(theta) = 0.047 is 1.1e4, measured).
                let x = Matrix<float>.Build.Dense(4, 2, fun i _ -> 1e8 * float (i + 1))
                let e = argError (fun () -> Ridge.fit (RidgeOptions.Default.WithLambda 1e-4) x (col [| 1.0; 2.0; 3.0; 4.5 |]))
                Expect.equal e.ParamName "lambda" "ParamName"
                Expect.stringContains e.Message "lambda = 0.0001 is too small for these data: the QR of the stacked least-squares system [X; sqrt(n lambda) I] W = [Y; 0] that solves it has an error bound of " "the QR's bound"
                Expect.stringContains e.Message ", more than the limit 0.0111 (1e14 u), so the weights may not have two correct digits." "the limit"
                Expect.stringContains e.Message "the estimated condition number of X^T X / n + lambda I (3x3) scaled to unit diagonal" "kappa named"
                Expect.stringContains e.Message "design column 1 (feature 0) and design column 2 (feature 1)" "names the two copies"
            testCase "a target nearly unrelated to nearly dependent columns is fitted (weights near 0), not refused for its relative error" <| fun () ->
                // A review: 200 rows, c1 uniform, c2 = c1 + 1e-5 noise, y orthogonalised against c1 and c2 (Gram-Schmidt),
                // no intercept, lambda = 1e-10: kappa about 1.6e9, tan(theta) about 1e13 (the fit is rounding), so the bound
                // relative to |W| (about 1e13 kappa u) refused it, though W is 0 up to rounding: in exact arithmetic X^T y = 0
                // gives W = 0, and the doubles' X^T y is rounding (about 1e-16 |X| |y|). Measured against |W| / cos(theta),
                // the size of weights that would explain all of y, the bound is u (2 sqrt(kappa) + kappa sin(theta)), about 2e-7.
                let n = 200
                let rng = Random(11)
                let c1 = Array.init n (fun _ -> rng.NextDouble())
                let c2 = Array.init n (fun i -> c1.[i] + 1e-5 * (rng.NextDouble() - 0.5))
                let dot (a: float[]) (b: float[]) = Array.fold2 (fun acc u v -> acc + u * v) 0.0 a b
                let minus (a: float[]) (k: float) (b: float[]) = Array.map2 (fun u v -> u - k * v) a b
                // Orthonormal basis of span(c1, c2), then y minus its projection (twice, for a clean orthogonality).
                let q1 = let l = sqrt (dot c1 c1) in Array.map (fun v -> v / l) c1
                let q2 = let r = minus c2 (dot c2 q1) q1 in let l = sqrt (dot r r) in Array.map (fun v -> v / l) r
                let project (y: float[]) = let y = minus y (dot y q1) q1 in minus y (dot y q2) q2
                let y = Array.init n (fun _ -> rng.NextDouble() - 0.5) |> project |> project
                let x = Matrix<float>.Build.Dense(n, 2, fun i j -> if j = 0 then c1.[i] else c2.[i])
                let m = Ridge.fit { Lambda = 1e-10; Form = RidgeForm.InterceptUnpenalized; FitIntercept = false } x (col y)
                // Weights that explained a target of y's size would be about |y| / |c| (about 0.4 here); these are rounding.
                for j in 0 .. 1 do Expect.isLessThan (abs m.Coefficients.[j, 0]) 1e-6 (sprintf "w_%d near 0" j)
        ]
        testList "fourth review: ridge on features whose squares overflow" [
            testCase "features of 1e200 and 1e307 are fitted in both forms (the QR scales each column), as least squares fits them" <| fun () ->
                // x0 = i, x1 = s ((3 i) mod 7), y = i + ((3 i) mod 7) + 0.1 (i mod 3), 10 rows, lambda = 0.1. Expected (s = 1e200):
                // the exact solutions in rational arithmetic (Python fractions) on these doubles' exact values: the notes' form
                // from (X1^T X1 / n + lambda I) W = X1^T y / n; the unpenalised form from the exactly centred data and
                // b = mean y - mean x . w. X^T X / n overflowed before ("X^T X / n overflows the double range: x holds values
                // too large"). The weights of x0 and the intercepts do not depend on s while lambda w1^2 is negligible (it is
                // 1e-401 s^-2 of the cost), so s = 1e307 expects the same, and w1 scaled by 1e200 / 1e307.
                let fitBoth (s: float) =
                    let x = Matrix<float>.Build.Dense(10, 2, fun i j -> if j = 0 then float i else s * float ((i * 3) % 7))
                    let y = Matrix<float>.Build.Dense(10, 1, fun i _ -> float i + float ((i * 3) % 7) + 0.1 * float (i % 3))
                    Ridge.fit (RidgeOptions.Default.WithLambda 0.1) x y,
                    Ridge.fit { Lambda = 0.1; Form = RidgeForm.InterceptUnpenalized; FitIntercept = true } x y
                for s in [ 1e200; 1e307 ] do
                    let all, unpenalised = fitBoth s
                    rel 1e-12 all.Intercept.[0] 0.08453976764968715 (sprintf "%g: notes' form, intercept" s)
                    rel 1e-12 all.Coefficients.[0, 0] 0.9928656538576109 (sprintf "%g: notes' form, w0" s)
                    rel 1e-12 (all.Coefficients.[1, 0] * (s / 1e200)) 1.0097036044086983e-200 (sprintf "%g: notes' form, w1" s)
                    rel 1e-12 unpenalised.Intercept.[0] 0.12366013071895414 (sprintf "%g: unpenalised, intercept" s)
                    rel 1e-12 unpenalised.Coefficients.[0, 0] 0.9889978213507625 (sprintf "%g: unpenalised, w0" s)
                    rel 1e-12 (unpenalised.Coefficients.[1, 0] * (s / 1e200)) 1.0052832244008715e-200 (sprintf "%g: unpenalised, w1" s)
            testCase "NormalEquation.ridge given an X^T X / n or X^T Y / n that is not finite names the design column" <| fun () ->
                let name j = sprintf "c%d" j
                let b = Matrix<float>.Build.Dense(2, 1, 1.0)
                let e = argError (fun () -> NormalEquation.ridge 0.1 name (Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; 2.0 ]; [ 2.0; infinity ] ])) b)
                Expect.equal e.ParamName "x" "diagonal: ParamName"
                Expect.stringContains e.Message "X^T X / n (2x2) is not finite at entry (1, 1) (Infinity): design column 1 (c1) holds values too large to square and sum" "diagonal: the column"
                Expect.stringContains e.Message "or fit from X and Y (Ridge.fit), whose QR solver scales each column itself" "diagonal: the remedy"
                let e = argError (fun () -> NormalEquation.ridge 0.1 name (Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; -infinity ]; [ -infinity; 1e300 ] ])) b)
                Expect.stringContains e.Message "the products of design column 0 (c0) and design column 1 (c1) are too large to sum" "off the diagonal: both columns"
                let g = Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; 0.5 ]; [ 0.5; 1.0 ] ])
                let e = argError (fun () -> NormalEquation.ridge 0.1 name g (Matrix<float>.Build.Dense(2, 2, fun i k -> if i = 1 && k = 1 then nan else 1.0)))
                Expect.equal e.ParamName "y" "X^T Y / n: ParamName"
                Expect.stringContains e.Message "X^T Y / n (2x2) is not finite at entry (1, 1) (NaN): the products of design column 1 (c1) and target column 1" "X^T Y / n: both columns"
                let e = argError (fun () -> NormalEquation.ridge 1e308 name (Matrix<float>.Build.DenseOfArray(array2D [ [ 1e308; 0.0 ]; [ 0.0; 1.0 ] ])) b)
                Expect.stringContains e.Message "X^T X / n + lambda I (2x2) overflows the double range at entry (0, 0): design column 0 (c0)" "the diagonal plus lambda"
        ]
        testCase "fourth review: gradient descent's tolerance is absolute: on features of scale 1e-12 it stops after one step, R^2 0, as the docs say" <| fun () ->
            // docs/linear-models.md and the XML docs of GradientTolerance: x = 1e-12 i, y = 3e12 x + 1 + 0.01 sin i. After one
            // step the intercept is the mean of y and the gradient is y's residual times x, below 1e-10: GradientTolerance,
            // far from the minimum. The same data with x scaled by 1e12 converge to the closed form (QR least squares).
            let xs = Array.init 20 (fun i -> 1e-12 * float i)
            let ys = xs |> Array.mapi (fun i x -> 3e12 * x + 1.0 + 0.01 * sin (float i))
            let r = LinearGradientDescent.fit LinearGradientDescentOptions.Default (LinearCost.LeastSquares true) (col xs) (col ys)
            Expect.equal r.StopReason LinearStopReason.GradientTolerance "reports GradientTolerance"
            Expect.equal r.Steps 1 "after one step"
            rel 1e-12 r.Model.Intercept.[0] (Array.average ys) "the intercept is the mean of y (29.5...)"
            Expect.isLessThan r.Model.Coefficients.[0, 0] 1e-9 "w about 3.8e-10, not 3e12"
            Expect.isLessThan (Metrics.r2 (LinearModel.predict r.Model (col xs)) (col ys)) 1e-6 "R^2 0: far from the minimum"
            let scaled = xs |> Array.map (fun x -> x * 1e12)
            let r = LinearGradientDescent.fit LinearGradientDescentOptions.Default (LinearCost.LeastSquares true) (col scaled) (col ys)
            let closed = LeastSquares.fit LeastSquaresOptions.Default (col scaled) (col ys)
            Expect.equal r.StopReason LinearStopReason.GradientTolerance "scaled: converged"
            rel 1e-9 r.Model.Coefficients.[0, 0] closed.Coefficients.[0, 0] "scaled: the closed-form slope"
            rel 1e-9 r.Model.Intercept.[0] closed.Intercept.[0] "scaled: the closed-form intercept"
        testCase "fourth review: polynomial predict far outside the fitted range says so, with the fitted centre, scale and range" <| fun () ->
            // Fitted on [0, 1]: centre 0.5, half range 0.5, scale 2^(ilogb 0.5 + 1) = 1 (by hand), so the fitted x lie within
            // [-0.5, 1.5]. At x = 1e40, u^8 = 1e320 overflows. It said "Scale x first (for example to [-1, 1])", which the
            // model does itself.
            let xs = Array.init 11 (fun i -> float i / 10.0)
            let m = PolynomialRegression.fit 10 NormalEquation.DefaultRankTolerance (col xs) (col (Array.map sin xs))
            let e = argError (fun () -> PolynomialRegression.predict m (col [| 0.5; 1e40 |]))
            Expect.equal e.ParamName "x" "ParamName"
            Expect.stringContains e.Message "Row 1 of x (shape 2x1) lies too far outside the range the model was fitted on for its degree 10: x0 = 1e+40 (standardised u0 = (x0 - 0.5) / 1 = 1e+40; the fitted x0 lie within [-0.5, 1.5], where |u0| <= 1)." "the row, the input, centre, scale and range"
            Expect.stringContains e.Message "The monomial u0^8 of the standardised inputs overflows the double range there" "the monomial of u"
            Expect.isFalse (e.Message.Contains "Scale x first") "no advice to scale x"
            let e = argError (fun () -> FunctionalNN.PolynomialRegression.Fit(xs, Array.map sin xs, 10).Predict [| 1e40 |])
            Expect.stringContains e.Message "lies too far outside the range the model was fitted on" "C#: the same message"
            // Two inputs, only the second far outside: only it is named (x1 = 1e120, u1^3 = 1e360 overflows first).
            let x2 = Matrix<float>.Build.Dense(12, 2, fun i j -> if j = 0 then float i / 11.0 else float ((i * 5) % 12) / 11.0)
            let y2 = Matrix<float>.Build.Dense(12, 1, fun i _ -> x2.[i, 0] - x2.[i, 1] * x2.[i, 1])
            let m2 = PolynomialRegression.fit 3 NormalEquation.DefaultRankTolerance x2 y2
            let e = argError (fun () -> PolynomialRegression.predict m2 (Matrix<float>.Build.DenseOfArray(array2D [ [ 0.5; 0.5 ]; [ 0.25; 1e120 ] ])))
            Expect.stringContains e.Message "Row 1 of x (shape 2x2)" "the row"
            Expect.stringContains e.Message ": x1 = 1e+120 (standardised u1 = (x1 - 0.5) / 1 = 1e+120" "the input outside"
            Expect.isFalse (e.Message.Contains "x0 = ") "not the input inside"
            Expect.stringContains e.Message "The monomial u1^3 of the standardised inputs overflows" "the monomial"
        testList "fifth review: the public solvers and feature maps refuse bad input by name" [
            // NormalEquation's solvers are public (docs/linear-models.md names NormalEquation.ridge). Before, given data
            // directly: y shorter than x was an IndexOutOfRangeException (leastSquaresCentred) or ParamName "a" from an
            // internal reshape (ridgeLeastSquares); fewer rows than columns was "HouseholderQr needs n >= p" (ParamName
            // "a"); NaN in x was reported as a rank-deficient design; NaN in y gave a matrix of NaN without a word; an
            // empty x was an IndexOutOfRangeException; G and B of NormalEquation.ridge that did not match were an
            // IndexOutOfRangeException or ArgumentOutOfRangeException ("column").
            testCase "NormalEquation.leastSquares, leastSquaresCentred and ridgeLeastSquares check x and y first" <| fun () ->
                let name = sprintf "c%d"
                let x = Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; 2.0 ]; [ 2.0; 1.0 ]; [ 3.0; 5.0 ] ])
                let y3 = col [| 1.0; 2.0; 3.0 |]
                let solvers : (string * (Matrix<float> -> Matrix<float> -> Matrix<float>)) list =
                    [ "leastSquares", NormalEquation.leastSquares 1e-10 name
                      "leastSquaresCentred", NormalEquation.leastSquaresCentred 1e-10 name
                      "ridgeLeastSquares", NormalEquation.ridgeLeastSquares "lambda" "lambda = 0.1" 0.1 name ]
                for what, solve in solvers do
                    let e = argError (fun () -> solve x (col [| 1.0; 2.0 |]))
                    Expect.equal e.ParamName "y" (what + ": rows, ParamName")
                    Expect.stringContains e.Message "y has shape 2x1 but x has shape 3x2" (what + ": rows, both shapes")
                    let e = argError (fun () -> solve (Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; nan ]; [ 2.0; 1.0 ]; [ 3.0; 5.0 ] ])) y3)
                    Expect.equal e.ParamName "x" (what + ": NaN in x, ParamName")
                    Expect.stringContains e.Message "x holds NaN at row 0, column 1" (what + ": NaN in x, not a rank message")
                    let e = argError (fun () -> solve x (col [| 1.0; nan; 3.0 |]))
                    Expect.equal e.ParamName "y" (what + ": NaN in y, ParamName")
                    Expect.stringContains e.Message "y holds NaN at row 1, column 0" (what + ": NaN in y, not a NaN solution")
                    let e = argError (fun () -> solve (Matrix<float>.Build.Dense(0, 2)) (Matrix<float>.Build.Dense(0, 1)))
                    Expect.equal e.ParamName "x" (what + ": empty, ParamName")
                    Expect.stringContains e.Message "x is empty (shape 0x2)" (what + ": empty")
                // Fewer rows than unknowns: 1 row for 2 columns; 2 rows for 2 columns and the intercept.
                let e = argError (fun () -> NormalEquation.leastSquares 1e-10 name (Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; 2.0 ] ])) (col [| 1.0 |]))
                Expect.equal e.ParamName "x" "leastSquares n < p: ParamName"
                Expect.stringContains e.Message "x has 1 row (samples) but least squares has 2 unknowns" "leastSquares n < p"
                let e = argError (fun () -> NormalEquation.leastSquaresCentred 1e-10 name (Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; 2.0 ]; [ 3.0; 1.0 ] ])) (col [| 1.0; 3.0 |]))
                Expect.equal e.ParamName "x" "leastSquaresCentred n < d + 1: ParamName"
                Expect.stringContains e.Message "x has 2 rows (samples) but least squares has 3 unknowns (the intercept and one weight per column of x, 2x2)" "leastSquaresCentred n < d + 1"
            testCase "NormalEquation.ridge and largestEigenvalue check their matrices' shapes" <| fun () ->
                let name = sprintf "c%d"
                let g = Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; 0.5 ]; [ 0.5; 1.0 ] ])
                let e = argError (fun () -> NormalEquation.ridge 0.1 name g (col [| 1.0; 2.0; 3.0 |]))
                Expect.equal e.ParamName "b" "B with other rows: ParamName"
                Expect.stringContains e.Message "b has shape 3x1 but g has shape 2x2" "B with other rows: both shapes"
                let e = argError (fun () -> NormalEquation.ridge 0.1 name (Matrix<float>.Build.Dense(3, 2, 1.0)) (col [| 1.0; 2.0; 3.0 |]))
                Expect.equal e.ParamName "g" "G not square: ParamName"
                Expect.stringContains e.Message "g has shape 3x2" "G not square: its shape"
                let e = argError (fun () -> NormalEquation.largestEigenvalue (Matrix<float>.Build.Dense(3, 2, 1.0)))
                Expect.equal e.ParamName "m" "largestEigenvalue of a 3x2 matrix: ParamName"
            testCase "LeastSquares.fit says 1 row and 1 feature in the singular (fnn linear shows this message)" <| fun () ->
                // It said "x has 1 rows (samples) but the model has 2 unknowns (1 features and the intercept)".
                let e = argError (fun () -> LeastSquares.fit LeastSquaresOptions.Default (col [| 1.0 |]) (col [| 2.0 |]))
                Expect.stringContains e.Message "x has 1 row (samples) but the model has 2 unknowns (1 feature and the intercept)" "singular"
                let e = argError (fun () -> LeastSquares.fit LeastSquaresOptions.Default (Matrix<float>.Build.Dense(2, 2, 1.0)) (col [| 1.0; 2.0 |]))
                Expect.stringContains e.Message "x has 2 rows (samples) but the model has 3 unknowns (2 features and the intercept)" "plural"
            testCase "PolynomialRegression.fit names x's shape as given when y has other rows (F# and C#)" <| fun () ->
                // x is 10 x 1 (degree 3: 3 monomials). It said "y has shape 3x1 but x has shape 10x3", the monomials' shape.
                let xs = Array.init 10 float
                let e = argError (fun () -> PolynomialRegression.fit 3 NormalEquation.DefaultRankTolerance (col xs) (col [| 1.0; 2.0; 3.0 |]))
                Expect.equal e.ParamName "y" "ParamName"
                Expect.stringContains e.Message "y has shape 3x1 but x has shape 10x1" "x's own shape"
                let e = argError (fun () -> FunctionalNN.PolynomialRegression.Fit(xs, [| 1.0; 2.0; 3.0 |], 3))
                Expect.stringContains e.Message "y has shape 3x1 but x has shape 10x1" "C#: x's own shape"
            testCase "PolynomialFeatures.names refuses no, null, blank and repeated input names; phi refuses no points" <| fun () ->
                // Before: [| "a"; "a" |] gave "a", "a", "a^2", "a a", "a^2"; [| "a"; null |] gave "a", "", "a^2", "a ", "^2"; no
                // names was ParamName "inputs" (a parameter names has not); phi of no points gave a 0 x 3 matrix, which
                // monomials (and every fit) refuses. scikit-learn's get_feature_names_out: "a", "b", "a^2", "a b", "b^2".
                Expect.equal (PolynomialFeatures.names 2 [| "a"; "b" |]) [| "a"; "b"; "a^2"; "a b"; "b^2" |] "valid names"
                for bad, what in [ [| "a"; "a" |], "repeated"; [| "a"; null |], "null"; [| "a"; " " |], "blank"; [||], "none" ] do
                    let e = argError (fun () -> PolynomialFeatures.names 2 bad)
                    Expect.equal e.ParamName "inputNames" (what + ": ParamName")
                let e = argError (fun () -> PolynomialFeatures.phi 2 [||])
                Expect.equal e.ParamName "x" "phi of no points: ParamName"
                Expect.stringContains e.Message "x is empty" "phi of no points"
        ]
        testCase "second review: R^2 of a single row is NaN, as documented (scikit-learn's r2_score: NaN with a warning)" <| fun () ->
            let m = FunctionalNN.LinearRegression.Fit(array2D [ [ 1.0 ]; [ 2.0 ]; [ 3.0 ] ], [| 1.0; 2.0; 3.5 |])
            Expect.isTrue (Double.IsNaN (m.R2(array2D [ [ 1.0 ] ], [| 1.0 |]))) "LinearModel.R2"
            let p = FunctionalNN.PolynomialRegression.Fit([| 1.0; 2.0; 3.0 |], [| 1.0; 2.0; 3.5 |], 1)
            Expect.isTrue (Double.IsNaN (p.R2([| 1.0 |], [| 1.0 |]))) "PolynomialModel.R2"
    ]
