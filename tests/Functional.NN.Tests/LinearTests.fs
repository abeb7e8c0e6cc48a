module Functional.NN.Tests.LinearTests

open System
open Expecto
open FsCheck
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Linear

/// Asserts |actual - expected| <= tolerance, printing both numbers in full.
let private close (tolerance: float) (actual: float) (expected: float) (what: string) =
    if not (abs (actual - expected) <= tolerance) then
        failtestf "%s: expected %.17g, got %.17g (difference %.3g > %g)" what expected actual (abs (actual - expected)) tolerance

let private closeAll (tolerance: float) (actual: float[]) (expected: float[]) (what: string) =
    Expect.equal actual.Length expected.Length (what + ": length")
    Array.iteri2 (fun i a e -> close tolerance a e (sprintf "%s[%d]" what i)) actual expected

let private column0 (m: Matrix<float>) = m.Column(0).ToArray()

let private commute () = Datasets.commute ()

/// The samples of two Iris classes, labelled -1 (first) and +1 (second).
let private irisPair (negative: int) (positive: int) =
    let iris = Datasets.iris ()
    let idx = [| 0 .. iris.Labels.Length - 1 |] |> Array.filter (fun i -> iris.Labels.[i] = negative || iris.Labels.[i] = positive)
    Mat.selectRows idx iris.Features, idx |> Array.map (fun i -> if iris.Labels.[i] = positive then 1 else -1)

/// A fixed split: every third sample (index mod 3 = 2) is a test sample, the rest train.
let private split (x: Matrix<float>) (y: int[]) =
    let test = [| 0 .. y.Length - 1 |] |> Array.filter (fun i -> i % 3 = 2)
    let train = [| 0 .. y.Length - 1 |] |> Array.filter (fun i -> i % 3 <> 2)
    (Mat.selectRows train x, train |> Array.map (fun i -> y.[i])), (Mat.selectRows test x, test |> Array.map (fun i -> y.[i]))

/// det of a 3x3 array.
let private det3 (m: float[,]) =
    m.[0, 0] * (m.[1, 1] * m.[2, 2] - m.[1, 2] * m.[2, 1])
    - m.[0, 1] * (m.[1, 0] * m.[2, 2] - m.[1, 2] * m.[2, 0])
    + m.[0, 2] * (m.[1, 0] * m.[2, 1] - m.[1, 1] * m.[2, 0])

/// The notes' ridge solution (X1^T X1 / n + lambda I) W = X1^T Y / n on the commute data, by
/// Cramer's rule from sums written out here: independent of MathNet and of the library.
let private ridgeByCramer (lambda: float) =
    let dist = [| 2.7; 4.1; 1.0; 5.2; 2.8 |]
    let week = [| 1.0; 1.0; 0.0; 1.0; 0.0 |]
    let y = [| 25.0; 33.0; 15.0; 45.0; 22.0 |]
    let n = 5.0
    let rows = Array.init 5 (fun i -> [| 1.0; dist.[i]; week.[i] |])
    let a = Array2D.init 3 3 (fun j k -> (Array.sumBy (fun (r: float[]) -> r.[j] * r.[k]) rows) / n + (if j = k then lambda else 0.0))
    let b = Array.init 3 (fun j -> (Array.fold2 (fun s (r: float[]) yi -> s + r.[j] * yi) 0.0 rows y) / n)
    let d = det3 a
    Array.init 3 (fun c -> det3 (Array2D.init 3 3 (fun j k -> if k = c then b.[j] else a.[j, k])) / d)

let private expectRankError (f: unit -> 'a) (what: string) =
    let e = Expect.throwsC (fun () -> f () |> ignore) id
    match e with
    | :? ArgumentException as ae ->
        Expect.equal ae.ParamName "x" (what + ": ParamName")
        Expect.stringContains ae.Message "ridge" (what + ": the message points to ridge regression")
        Expect.stringContains ae.Message "singular" (what + ": the message says why")
    | other -> failtestf "%s: expected ArgumentException, got %s" what (other.GetType().Name)

[<Tests>]
let tests =
    testList "Linear" [

        testList "least squares on the commute data (notes 1.7)" [
            testCase "W* and Y* match the notes within 1e-9" <| fun () ->
                let x, y, names = commute ()
                let model = LeastSquares.fitNamed LeastSquaresOptions.Default names x y
                // Expected values: notes ch. 1.7 (also data/README.md and issue 4; numpy's lstsq
                // in tests/reference/ridge_sklearn.py prints the same to 1e-13).
                closeAll 1e-9 (column0 (LinearModel.stacked model)) [| 6.08613445378149; 6.53361344537816; 2.11274509803922 |] "W*"
                closeAll 1e-9 (column0 (LinearModel.predict model x))
                    [| 25.8396358543418; 34.9866946778712; 12.6197478991597; 42.1736694677872; 24.3802521008403 |] "Y*"
                Expect.equal model.FeatureNames [| "distance_km"; "weekday" |] "feature names from the data"

            testCase "the gradient (1.5) vanishes at W* and R^2, MSE agree with their definitions" <| fun () ->
                let x, y, _ = commute ()
                let model = LeastSquares.fit LeastSquaresOptions.Default x y
                let g = LinearCost.gradient (LinearCost.LeastSquares true) x y model
                Expect.isLessThan (g.FrobeniusNorm()) 1e-10 "first-order optimality"
                // Residuals from the notes' Y and Y*: y - y* = [-0.8396358543418, -1.9866946778712,
                // 2.3802521008403, 2.8263305322128, -2.3802521008403]; mean y = 28, SS_tot = 9 + 25 + 169 + 289 + 36 = 528.
                let res = [| -0.8396358543418; -1.9866946778712; 2.3802521008403; 2.8263305322128; -2.3802521008403 |]
                let ssRes = res |> Array.sumBy (fun e -> e * e)
                close 1e-9 (LinearModel.meanSquaredError model x y) (ssRes / 5.0) "MSE"
                close 1e-9 (LinearModel.r2 model x y) (1.0 - ssRes / 528.0) "R^2"
                close 1e-9 (LinearCost.value (LinearCost.LeastSquares true) x y model) (ssRes / 10.0) "the notes' cost (1.3) is half the MSE"

            testCase "without an intercept the model is X W only" <| fun () ->
                let x, y, _ = commute ()
                let model = LeastSquares.fit (LeastSquaresOptions.Default.WithFitIntercept false) x y
                Expect.isFalse model.HasIntercept "no intercept"
                Expect.equal (model.Intercept.ToArray()) [| 0.0 |] "intercept fixed at 0"
                // Normal equation by hand: sum d^2 = 59.98, sum d w = 12, sum w^2 = 3,
                // sum d y = 513.4, sum w y = 103; Cramer: W = (513.4*3 - 12*103, 59.98*103 - 12*513.4) / (59.98*3 - 144)
                // = [8.46410684, 0.47690595] (numpy.linalg.solve agrees).
                let det = 59.98 * 3.0 - 144.0
                closeAll 1e-9 (column0 model.Coefficients) [| (513.4 * 3.0 - 12.0 * 103.0) / det; (59.98 * 103.0 - 12.0 * 513.4) / det |] "W"
        ]

        testList "rank-deficient designs" [
            testCase "a duplicated feature gets the clear error" <| fun () ->
                let x, y, _ = commute ()
                let dup = Matrix<float>.Build.Dense(5, 3, fun i j -> if j < 2 then x.[i, j] else x.[i, 1])
                expectRankError (fun () -> LeastSquares.fit LeastSquaresOptions.Default dup y) "duplicated weekday"
            testCase "a feature that is twice another, without an intercept" <| fun () ->
                let x, y, _ = commute ()
                let dep = Matrix<float>.Build.Dense(5, 2, fun i j -> if j = 0 then x.[i, 0] else 2.0 * x.[i, 0])
                expectRankError (fun () -> LeastSquares.fit (LeastSquaresOptions.Default.WithFitIntercept false) dep y) "scaled copy"
            testCase "a constant feature with an intercept" <| fun () ->
                let x, y, _ = commute ()
                let c = Matrix<float>.Build.Dense(5, 2, fun i j -> if j = 0 then x.[i, 0] else 3.0)
                expectRankError (fun () -> LeastSquares.fit LeastSquaresOptions.Default c y) "constant column"
            testCase "fewer samples than unknowns" <| fun () ->
                let x, y, _ = commute ()
                expectRankError (fun () -> LeastSquares.fit LeastSquaresOptions.Default (x.SubMatrix(0, 2, 0, 2)) (y.SubMatrix(0, 2, 0, 1))) "2 samples, 3 unknowns"
            testCase "ridge fits the duplicated design and splits the weight equally" <| fun () ->
                let x, y, _ = commute ()
                let dup = Matrix<float>.Build.Dense(5, 3, fun i j -> if j < 2 then x.[i, j] else x.[i, 1])
                let m = Ridge.fit (RidgeOptions.Default.WithLambda 0.1) dup y
                // By symmetry of the two identical columns under the same penalty, their weights are equal.
                close 1e-9 m.Coefficients.[1, 0] m.Coefficients.[2, 0] "equal weights of identical columns"
        ]

        testList "ridge (notes 1.6 and scikit-learn)" [
            for lambda in [ 0.1; 1.0 ] do
                testCase (sprintf "notes' form, lambda = %g, equals Cramer's rule" lambda) <| fun () ->
                    let x, y, _ = commute ()
                    let m = Ridge.fit (RidgeOptions.Default.WithLambda lambda) x y
                    // Expected: a 3x3 Cramer's-rule solve of the notes' closed form in this file
                    // (ridgeByCramer). numpy.linalg.solve in tests/reference/ridge_sklearn.py printed
                    // [4.43517106123337, 7.02277184571802, 1.5489213336239] (lambda 0.1) and
                    // [2.44428407215024, 7.05150255395279, 1.38113964201447] (lambda 1).
                    closeAll 1e-9 (column0 (LinearModel.stacked m)) (ridgeByCramer lambda) "W* (notes' ridge)"
                    let numpy = if lambda = 0.1 then [| 4.43517106123337; 7.02277184571802; 1.5489213336239 |] else [| 2.44428407215024; 7.05150255395279; 1.38113964201447 |]
                    closeAll 1e-9 (column0 (LinearModel.stacked m)) numpy "W* (numpy)"
                    let g = LinearCost.gradient (LinearCost.Ridge(RidgeOptions.Default.WithLambda lambda)) x y m
                    Expect.isLessThan (g.FrobeniusNorm()) 1e-10 "the ridge gradient X^T(XW - Y)/n + lambda W vanishes"
            for lambda, intercept, coef in [ 0.1, 7.02554366586124, [| 6.2840869865378; 1.8612357611322 |]
                                             1.0, 13.0069907556455, [| 4.51087706388263; 1.231062870809 |] ] do
                testCase (sprintf "unpenalised intercept, lambda = %g, equals scikit-learn's Ridge(alpha = %g)" lambda (5.0 * lambda)) <| fun () ->
                    let x, y, _ = commute ()
                    // Expected: sklearn.linear_model.Ridge(alpha = n lambda) printed by
                    // tests/reference/ridge_sklearn.py (scikit-learn 1.2.1).
                    let m = Ridge.fit { Lambda = lambda; Form = RidgeForm.InterceptUnpenalized; FitIntercept = true } x y
                    close 1e-9 m.Intercept.[0] intercept "intercept"
                    closeAll 1e-9 (column0 m.Coefficients) coef "coefficients"
                    let s = Ridge.fitLikeScikitLearn (5.0 * lambda) x y
                    closeAll 1e-12 (column0 (LinearModel.stacked s)) (column0 (LinearModel.stacked m)) "fitLikeScikitLearn"
                    let g = LinearCost.gradient (LinearCost.Ridge { Lambda = lambda; Form = RidgeForm.InterceptUnpenalized; FitIntercept = true }) x y m
                    Expect.isLessThan (g.FrobeniusNorm()) 1e-10 "gradient with the intercept unpenalised vanishes"
            testCase "lambda = 0 is least squares in both forms" <| fun () ->
                let x, y, _ = commute ()
                let ls = column0 (LinearModel.stacked (LeastSquares.fit LeastSquaresOptions.Default x y))
                for form in [ RidgeForm.PenalizeAll; RidgeForm.InterceptUnpenalized ] do
                    closeAll 1e-9 (column0 (LinearModel.stacked (Ridge.fit { Lambda = 0.0; Form = form; FitIntercept = true } x y))) ls (sprintf "%A" form)
            testCase "a negative lambda is an argument error" <| fun () ->
                let x, y, _ = commute ()
                let e = Expect.throwsC (fun () -> Ridge.fit (RidgeOptions.Default.WithLambda -1.0) x y |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "lambda" "ParamName"
        ]

        testList "gradient descent and SGD (notes ch. 2)" [
            testCase "GD on the least-squares cost reaches the closed-form W* within 1e-6" <| fun () ->
                let x, y, _ = commute ()
                let r = LinearGradientDescent.fit LinearGradientDescentOptions.Default (LinearCost.LeastSquares true) x y
                Expect.equal r.StopReason LinearStopReason.GradientTolerance "stopped by the gradient tolerance"
                // Expected: the notes' W* (ch. 1.7).
                closeAll 1e-6 (column0 (LinearModel.stacked r.Model)) [| 6.08613445378149; 6.53361344537816; 2.11274509803922 |] "GD W"
                // eta = 1/L: each step decreases the cost (notes 2.1).
                // (Up to rounding: near the optimum a step changes the cost by about 1e-16 of it.)
                r.Costs |> Array.pairwise |> Array.iteri (fun t (a, b) -> if b > a * (1.0 + 1e-14) then failtestf "cost rose at step %d: %.17g -> %.17g" (t + 1) a b)
            for form in [ RidgeForm.PenalizeAll; RidgeForm.InterceptUnpenalized ] do
                testCase (sprintf "GD on the ridge cost (%A, lambda 0.1) reaches Ridge.fit within 1e-6" form) <| fun () ->
                    let x, y, _ = commute ()
                    let options = { Lambda = 0.1; Form = form; FitIntercept = true }
                    let r = LinearGradientDescent.fit LinearGradientDescentOptions.Default (LinearCost.Ridge options) x y
                    closeAll 1e-6 (column0 (LinearModel.stacked r.Model)) (column0 (LinearModel.stacked (Ridge.fit options x y))) "GD ridge W"
            testCase "a learning rate above 2/L diverges with a clear exception" <| fun () ->
                let x, y, _ = commute ()
                // L = 13.32 (largest eigenvalue of X1^T X1 / 5, numpy), so 2/L = 0.150; eta = 0.2 diverges.
                close 1e-3 (LinearCost.smoothness (LinearCost.LeastSquares true) x) 13.3204 "L"
                let e = Expect.throwsC (fun () -> LinearGradientDescent.fit (LinearGradientDescentOptions.Default.WithLearningRate 0.2) (LinearCost.LeastSquares true) x y |> ignore) id
                Expect.isTrue (e :? TrainingDivergedException) "TrainingDivergedException"
                Expect.isTrue ((e :?> TrainingDivergedException).LastGood :? LinearModel) "LastGood is a LinearModel"
            testCase "one minibatch step is the notes' (2.3) on the least-squares gradient" <| fun () ->
                let x, y, _ = commute ()
                let o = { LinearSgdOptions.Default with Schedule = Schedule.Constant 0.06; BatchSize = 2; Epochs = 1 }
                // One epoch of batches of 2 over 5 samples is 3 steps; the result is reproducible from the seed.
                let a = Sgd.fit o (LinearCost.LeastSquares true) x y
                let b = Sgd.fit o (LinearCost.LeastSquares true) x y
                Expect.equal a.Steps 3 "ceil(5/2) steps per epoch"
                Expect.equal (LinearModel.stacked a.Model) (LinearModel.stacked b.Model) "same seed, same weights"
                // The value of a step: b = n = 5 (one batch of every sample, in any order), one epoch,
                // constant eta = 0.06, from W = 0: grad C = X1^T (X1 0 - Y) / n = -X1^T Y / n, so
                // W1 = eta X1^T Y / n. By hand from the commute table: sum y = 140, sum d y = 513.4,
                // sum w y = 103 (intercept, distance, weekday), / 5 = [28, 102.68, 20.6];
                // * 0.06 = [1.68, 6.1608, 1.236].
                let one = Sgd.fit { o with BatchSize = 5 } (LinearCost.LeastSquares true) x y
                Expect.equal one.Steps 1 "one step"
                closeAll 1e-12 (column0 (LinearModel.stacked one.Model)) [| 1.68; 6.1608; 1.236 |] "W1 = eta X^T Y / n"
            testCase "minibatch SGD with eta_t = C/sqrt t approaches W* on the commute data" <| fun () ->
                let x, y, _ = commute ()
                let o = { LinearSgdOptions.Default with Schedule = Schedule.InverseSqrt 0.1; BatchSize = 2; Epochs = 20000 }
                let r = Sgd.fit o (LinearCost.LeastSquares true) x y
                // Noisy steps with a decaying rate: near, not at, the closed form (cost 2.39713 at W*,
                // = SS_res / 10 from the notes' residuals y - Y*).
                Expect.isLessThan (Array.last r.Costs) 2.40 "cost near the optimum 2.39713"
                Expect.isGreaterThanOrEqual (Array.last r.Costs) 2.3971288515 "not below the optimum"
        ]

        testList "polynomial regression (notes 1.5)" [
            testCase "a noiseless cubic is recovered within 1e-8" <| fun () ->
                // y = 2 - 3x + 0.5x^2 + 1.25x^3 at x = -2, -1.75, ..., 2 (17 points); the
                // coefficients are the expected values.
                let xs = Array.init 17 (fun i -> -2.0 + 0.25 * float i)
                let f x = 2.0 - 3.0 * x + 0.5 * x * x + 1.25 * x * x * x
                let x = LinearModel.column xs
                let y = LinearModel.column (Array.map f xs)
                let m = PolynomialRegression.fit 3 NormalEquation.DefaultRankTolerance x y
                closeAll 1e-8 (PolynomialRegression.coefficients m 0) [| 2.0; -3.0; 0.5; 1.25 |] "cubic coefficients"
                Expect.equal m.Linear.FeatureNames [| "x0"; "x0^2"; "x0^3" |] "monomial names"
                // The notes' phi(x) = [1, x, x^2, x^3] without an intercept gives the same weights.
                let viaPhi = LeastSquares.fit (LeastSquaresOptions.Default.WithFitIntercept false) (PolynomialFeatures.phi 3 xs) y
                closeAll 1e-8 (column0 viaPhi.Coefficients) [| 2.0; -3.0; 0.5; 1.25 |] "via phi"
                close 1e-12 (PolynomialRegression.r2 m x y) 1.0 "R^2 = 1 on noiseless data"
            testCase "monomials follow scikit-learn's PolynomialFeatures order" <| fun () ->
                // PolynomialFeatures(2, include_bias=False) on [a, b] gives [a, b, a^2, a b, b^2]
                // (scikit-learn's documentation example); at (a, b) = (2, 3): [2, 3, 4, 6, 9].
                let m = PolynomialFeatures.monomials 2 (Mat.ofRows [ [| 2.0; 3.0 |] ])
                Expect.equal (m.Row(0).ToArray()) [| 2.0; 3.0; 4.0; 6.0; 9.0 |] "degree 2 in two variables"
                Expect.equal (PolynomialFeatures.names 2 [| "a"; "b" |]) [| "a"; "b"; "a^2"; "a b"; "b^2" |] "names"
                // Count: C(d + m, m) - 1 monomials of degree 1..m; d = 3, m = 3: 19.
                Expect.equal (PolynomialFeatures.exponents 3 3).Length 19 "C(6,3) - 1"
            testCase "a degree too high for the samples is refused, naming degree, before the design is built" <| fun () ->
                // A cubic has 3 monomials and an intercept: 4 unknowns, which 3 points cannot determine.
                let xs = [| 0.0; 1.0; 2.0 |]
                match Expect.throwsC (fun () -> PolynomialRegression.fit 3 NormalEquation.DefaultRankTolerance (LinearModel.column xs) (LinearModel.column xs) |> ignore) id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "degree" "ParamName"
                    Expect.stringContains e.Message "4 unknowns" "the unknowns"
                    Expect.stringContains e.Message "3 rows" "the samples"
                | e -> failtestf "expected ArgumentException, got %O" e
            testCase "the monomial count is C(d + m, m) - 1, and counts above MaxColumns are refused" <| fun () ->
                // Binomial coefficients: C(6, 3) - 1 = 19; C(12, 2) - 1 = 65; C(30, 10) - 1 = 30,045,014.
                Expect.equal (PolynomialFeatures.columnCount 3 3) (Some 19) "d = 3, m = 3"
                Expect.equal (PolynomialFeatures.columnCount 2 10) (Some 65) "d = 10, m = 2"
                Expect.equal (PolynomialFeatures.columnCount 10 20) None "d = 20, m = 10: 30,045,014 > 100,000"
                Expect.equal (PolynomialFeatures.columnCount Int32.MaxValue 1) None "d = 1, m = Int32.MaxValue"
                Expect.equal (PolynomialFeatures.columnCount 2 Int32.MaxValue) None "d = Int32.MaxValue, m = 2 (no overflow)"
                // d = 1: m monomials, so MaxColumns itself is the largest degree.
                Expect.equal (PolynomialFeatures.columnCount PolynomialFeatures.MaxColumns 1) (Some PolynomialFeatures.MaxColumns) "the limit"
                Expect.equal (PolynomialFeatures.columnCount (PolynomialFeatures.MaxColumns + 1) 1) None "one past the limit"
                Expect.equal (PolynomialFeatures.exponents 3 3).Length 19 "exponents agree"
            testCase "feature names must match the data's width in every fit; target names are named targetNames" <| fun () ->
                let x = Mat.ofRows [ [| 1.0; 2.0 |]; [| 2.0; 1.0 |]; [| 3.0; 5.0 |]; [| 4.0; 3.0 |] ]
                let y = LinearModel.column [| 1.0; 2.0; 4.0; 3.0 |]
                let expectNames (what: string) (f: unit -> unit) =
                    match Expect.throwsC f id with
                    | :? ArgumentException as e ->
                        Expect.equal e.ParamName "featureNames" (what + ": ParamName")
                        Expect.stringContains e.Message "1 names" (what + ": the count")
                    | e -> failtestf "%s: expected ArgumentException, got %O" what e
                expectNames "least squares" (fun () -> LeastSquares.fitNamed LeastSquaresOptions.Default [| "a" |] x y |> ignore)
                expectNames "ridge" (fun () -> Ridge.fitNamed RidgeOptions.Default [| "a" |] x y |> ignore)
                expectNames "create" (fun () -> LinearModel.create (Mat.ofRows [ [| 1.0 |]; [| 2.0 |] ]) (Vector<float>.Build.Dense 1) true [| "a" |] |> ignore)
                let m = LeastSquares.fitNamed LeastSquaresOptions.Default [| "a"; "b" |] x y
                match Expect.throwsC (fun () -> LinearModel.withTargetNames [| null |] m |> ignore) id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "targetNames" "ParamName"
                    Expect.stringContains e.Message "targetNames[0]" "the entry"
                | e -> failtestf "expected ArgumentException, got %O" e
        ]

        testList "binary classifiers (notes 1.4, 2.2.2)" [
            testCase "a squared-hinge step is the notes' update (1.7)" <| fun () ->
                // Two samples, W = 0, b = 0 (scores 0, margins 0 < 1, both active): (1.7) gives
                // grad C_i = (W^T x_i - y_i) x_i = -y_i x_i with x_i = [1, x_i] (bias first);
                // batch of 2, eta = 0.5: W1 = -0.5/2 * sum_i (-y_i x_i) = 0.25 * sum_i y_i x_i.
                // x = [[1, 2], [3, -1]], y = [+1, -1]: sum y x (bias, f1, f2) = (0, -2, 3) -> (0, -0.5, 0.75).
                let x = Mat.ofRows [ [| 1.0; 2.0 |]; [| 3.0; -1.0 |] ]
                let o = { ClassifierOptions.Default with Sgd = { LinearSgdOptions.Default with Schedule = Schedule.Constant 0.5; BatchSize = 2; Epochs = 1 } }
                let r = LinearClassifier.fit o x [| 1; -1 |]
                closeAll 1e-15 (column0 (LinearModel.stacked r.Model)) [| 0.0; -0.5; 0.75 |] "W after one step"
            testCase "squared-hinge minibatch SGD: >= 95% on setosa/versicolor; 97.0% on versicolor/virginica" <| fun () ->
                let o = { ClassifierOptions.Default with Sgd = { LinearSgdOptions.Default with Schedule = Schedule.InverseSqrt 0.05; BatchSize = 10; Epochs = 500 } }
                let (xt, yt), (xs, ys) = split <|| irisPair 0 1
                let r = LinearClassifier.fit o xt yt
                Expect.isGreaterThanOrEqual (LinearClassifier.accuracy r.Model xs ys) 0.95 "setosa/versicolor test accuracy"
                let (xt, yt), (xs, ys) = split <|| irisPair 1 2
                let r = LinearClassifier.fit o xt yt
                let acc = LinearClassifier.accuracy r.Model xs ys
                // Stated figure: 32 of 33 test samples (0.970) with these options and seed 42; the
                // classes are not linearly separable (the best linear rule misclassifies 2 of all
                // 100, scikit-learn's linear SVC with C = 1e6), so we ask for >= 0.93 (at most 2 of 33 wrong).
                Expect.isGreaterThanOrEqual acc 0.93 (sprintf "versicolor/virginica test accuracy %.4f" acc)
                close 1e-12 (LinearClassifier.zeroOneError r.Model xs ys) (1.0 - acc) "0-1 error = 1 - accuracy"
            for loss in [ Loss.Hinge; Loss.Logistic ] do
                testCase (sprintf "%s SGD separates setosa from versicolor" (Loss.name loss)) <| fun () ->
                    let o = { ClassifierOptions.Default with Loss = loss; Sgd = { LinearSgdOptions.Default with Schedule = Schedule.InverseSqrt 0.05; BatchSize = 10; Epochs = 200 } }
                    let (xt, yt), (xs, ys) = split <|| irisPair 0 1
                    let r = LinearClassifier.fit o xt yt
                    Expect.isGreaterThanOrEqual (LinearClassifier.accuracy r.Model xs ys) 0.95 "test accuracy"
            testCase "a loss that is not a margin loss is refused" <| fun () ->
                let x, y = irisPair 0 1
                let e = Expect.throwsC (fun () -> LinearClassifier.fit (ClassifierOptions.Default.WithLoss Loss.MeanSquaredError) x y |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "loss" "ParamName"
            testCase "labels other than -1, +1 are refused with their index" <| fun () ->
                let e = Expect.throwsC (fun () -> LinearClassifier.fit ClassifierOptions.Default (Mat.ofRows [ [| 1.0 |]; [| 2.0 |] ]) [| 1; 0 |] |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "labels" "ParamName"
                Expect.stringContains e.Message "labels[1] = 0" "names the entry"
            testCase "the notes' 0-1 error counts a zero score as an error" <| fun () ->
                // sgn(0) = 0 differs from both labels (notes 1.4); scores [2, 0, -1] vs [+1, -1, -1]: 1 of 3.
                close 1e-15 (Metrics.zeroOneErrorOfScores [| 2.0; 0.0; -1.0 |] [| 1; -1; -1 |]) (1.0 / 3.0) "0-1 error"
        ]

        testList "perceptron (notes 3.1)" [
            testCase "the update rule by hand on two samples" <| fun () ->
                // eta = 1, W = 0, b = 0. Sample 1: x = [1, 1], y = +1, score 0 -> yhat = -1, wrong:
                // W = 0 + (1 - (-1)) [1, 1] = [2, 2], b = 2. Sample 2: x = [2, 3], y = -1, score 2*2 + 2*3 + 2 = 12
                // -> yhat = +1, wrong: W = [2, 2] - 2 [2, 3] = [-2, -4], b = 0. Epoch 2: scores -6 (wrong,
                // y = +1) -> W = [0, -2], b = 2; sample 2: -6 + 2 = -4 -> right. Epoch 3: sample 1 score
                // -2 + 2 = 0 -> yhat = -1, wrong -> W = [2, 0], b = 4; sample 2: 4 + 4 = 8, wrong -> W = [-2, -6], b = 2.
                // Only the first two epochs are checked here.
                let x = Mat.ofRows [ [| 1.0; 1.0 |]; [| 2.0; 3.0 |] ]
                let r1 = Perceptron.fit (PerceptronOptions.Default.WithMaxEpochs 1) x [| 1; -1 |]
                closeAll 0.0 (column0 (LinearModel.stacked r1.Model)) [| 0.0; -2.0; -4.0 |] "after epoch 1 (b, w1, w2)"
                let r2 = Perceptron.fit (PerceptronOptions.Default.WithMaxEpochs 2) x [| 1; -1 |]
                closeAll 0.0 (column0 (LinearModel.stacked r2.Model)) [| 2.0; 0.0; -2.0 |] "after epoch 2 (b, w1, w2)"
                Expect.equal r2.Updates 3 "three updates"
            testCase "setosa/versicolor: converges, every sample right" <| fun () ->
                let x, y = irisPair 0 1
                let r = Perceptron.fit PerceptronOptions.Default x y
                Expect.isTrue r.Converged "converged (linearly separable)"
                Expect.equal r.Misclassified 0 "no sample misclassified"
                Expect.isLessThan r.Epochs PerceptronOptions.Default.MaxEpochs "before the cap"
                Expect.equal (LinearClassifier.accuracy r.Model x y) 1.0 "accuracy 1"
            testCase "versicolor/virginica: stops at the cap and says it did not converge" <| fun () ->
                let x, y = irisPair 1 2
                let r = Perceptron.fit (PerceptronOptions.Default.WithMaxEpochs 200) x y
                Expect.isFalse r.Converged "not linearly separable"
                Expect.equal r.Epochs 200 "ran to the cap"
                Expect.isGreaterThan r.Misclassified 0 "some samples still wrong"
        ]

        testList "single-layer sigmoid network (notes 3.2)" [
            testCase "the gradient of (3.2) is the notes' formula" <| fun () ->
                let net = SigmoidRegression.create 2 1 3L
                let x = Mat.ofRows [ [| 0.5; -1.0 |]; [| 2.0; 0.3 |]; [| -1.0; 1.0 |] ]
                let y = Mat.ofRows [ [| 0.2 |]; [| 0.9 |]; [| 0.5 |] ]
                let l = net.Layers.Head
                let b = l.Bias.Value.[0]
                // Hand formula: yhat_i = s(x_i w + b), dC/dw_j = 1/n sum (yhat - y) yhat (1 - yhat) x_ij,
                // dC/db = 1/n sum (yhat - y) yhat (1 - yhat), C = 1/(2n) sum (yhat - y)^2.
                let yhat = Array.init 3 (fun i -> Activation.sigmoid (x.[i, 0] * l.Weights.[0, 0] + x.[i, 1] * l.Weights.[1, 0] + b))
                let d = Array.init 3 (fun i -> (yhat.[i] - y.[i, 0]) * yhat.[i] * (1.0 - yhat.[i]) / 3.0)
                let c, g = SigmoidRegression.costAndGradient net x y
                close 1e-15 c ((Array.init 3 (fun i -> (yhat.[i] - y.[i, 0]) ** 2.0) |> Array.sum) / 6.0) "C"
                for j in 0 .. 1 do
                    close 1e-15 g.Layers.Head.Weights.[j, 0] (Array.init 3 (fun i -> d.[i] * x.[i, j]) |> Array.sum) (sprintf "dC/dw%d" j)
                close 1e-15 g.Layers.Head.Bias.Value.[0] (Array.sum d) "dC/db"
            testCase "GD recovers a sigmoid model from noiseless data" <| fun () ->
                // y = s(1.5 x0 - 2 x1 + 0.5) at 40 points drawn uniformly from [-2, 2]^2.
                let xs, _ = Rng.many 80 (Rng.nextUniform -2.0 2.0) (Rng.create 7L)
                let x = Matrix<float>.Build.Dense(40, 2, fun i j -> xs.[2 * i + j])
                let y = Matrix<float>.Build.Dense(40, 1, fun i _ -> Activation.sigmoid (1.5 * x.[i, 0] - 2.0 * x.[i, 1] + 0.5))
                let r = SigmoidRegression.fit { SigmoidRegressionOptions.Default with LearningRate = 4.0; Steps = 3000 } x y
                let l = r.Network.Layers.Head
                closeAll 1e-6 [| l.Weights.[0, 0]; l.Weights.[1, 0]; l.Bias.Value.[0] |] [| 1.5; -2.0; 0.5 |] "W, b"
                Expect.isGreaterThan (SigmoidRegression.r2 r.Network x y) 0.999999 "R^2"
                // Costs: one meaning for every fit result: before the first step, then after each step.
                Expect.equal r.Costs.Length 3001 "Steps + 1 costs"
                close 0.0 (Array.last r.Costs) (SigmoidRegression.cost r.Network x y) "the last cost is the trained network's"
                // Trained by the one trainer on the kernels backend, whose sums run in another order
                // than the reference's cost: equal within a few units in the last place.
                close 1e-15 r.Costs.[0] (SigmoidRegression.cost (SigmoidRegression.create 2 1 SigmoidRegressionOptions.Default.Seed) x y) "the first is the initial network's"
            testCase "targets outside [0, 1] are refused" <| fun () ->
                let e = Expect.throwsC (fun () -> SigmoidRegression.fit SigmoidRegressionOptions.Default (Mat.ofRows [ [| 1.0 |] ]) (Mat.ofRows [ [| 25.0 |] ]) |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "y" "ParamName"
        ]

        testList "scoring and argument errors" [
            testCase "R^2 and MSE by hand" <| fun () ->
                // y = [1, 2, 3], yhat = [1, 2, 4]: MSE = 1/3; SS_tot = 2, SS_res = 1, R^2 = 0.5.
                let y = LinearModel.column [| 1.0; 2.0; 3.0 |]
                let p = LinearModel.column [| 1.0; 2.0; 4.0 |]
                close 1e-15 (Metrics.meanSquaredError p y) (1.0 / 3.0) "MSE"
                close 1e-15 (Metrics.r2 p y) 0.5 "R^2"
            testCase "x and y with different row counts name both shapes" <| fun () ->
                let x, y, _ = commute ()
                let e = Expect.throwsC (fun () -> LeastSquares.fit LeastSquaresOptions.Default x (y.SubMatrix(0, 4, 0, 1)) |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "y" "ParamName"
                Expect.stringContains e.Message "4x1" "y's shape"
                Expect.stringContains e.Message "5x2" "x's shape"
            testCase "NaN in x names the row and column" <| fun () ->
                let x, y, _ = commute ()
                let bad = x.Clone()
                bad.[3, 1] <- nan
                let e = Expect.throwsC (fun () -> LeastSquares.fit LeastSquaresOptions.Default bad y |> ignore) id
                Expect.stringContains e.Message "row 3, column 1" "position"
            testCase "bad options are ArgumentExceptions naming the option" <| fun () ->
                let x, y, _ = commute ()
                let paramOf (f: unit -> 'a) = (Expect.throwsC (fun () -> f () |> ignore) id :?> ArgumentException).ParamName
                Expect.equal (paramOf (fun () -> LinearGradientDescent.fit (LinearGradientDescentOptions.Default.WithLearningRate -1.0) (LinearCost.LeastSquares true) x y)) "learningRate" "GD rate"
                Expect.equal (paramOf (fun () -> Sgd.fit (LinearSgdOptions.Default.WithBatchSize 0) (LinearCost.LeastSquares true) x y)) "batchSize" "batch size"
                Expect.equal (paramOf (fun () -> PolynomialFeatures.monomials 0 x)) "degree" "degree"
                Expect.equal (paramOf (fun () -> Perceptron.fit (PerceptronOptions.Default.WithLearningRate 0.0) x [| 1; 1; -1; 1; -1 |])) "learningRate" "perceptron rate"
                Expect.equal (paramOf (fun () -> Perceptron.fit PerceptronOptions.Default x [| 1; -1 |])) "labels" "label count"
            testCase "fitting does not change its arguments" <| fun () ->
                let x, y, _ = commute ()
                let x0, y0 = x.Clone(), y.Clone()
                Ridge.fit { RidgeOptions.Default with Form = RidgeForm.InterceptUnpenalized } x y |> ignore
                LinearGradientDescent.fit LinearGradientDescentOptions.Default (LinearCost.LeastSquares true) x y |> ignore
                Expect.equal x x0 "x unchanged"
                Expect.equal y y0 "y unchanged"
        ]

        testList "C# facade" [
            let commuteX = array2D [ [ 2.7; 1.0 ]; [ 4.1; 1.0 ]; [ 1.0; 0.0 ]; [ 5.2; 1.0 ]; [ 2.8; 0.0 ] ]
            let commuteY = [| 25.0; 33.0; 15.0; 45.0; 22.0 |]
            testCase "LinearRegression.Fit gives the notes' W*" <| fun () ->
                let m = FunctionalNN.LinearRegression.Fit(commuteX, commuteY)
                let w = m.StackedWeights()
                // Expected: notes ch. 1.7.
                closeAll 1e-9 [| w.[0, 0]; w.[1, 0]; w.[2, 0] |] [| 6.08613445378149; 6.53361344537816; 2.11274509803922 |] "W*"
                close 1e-9 (m.PredictValues(commuteX).[0]) 25.8396358543418 "Y*[0]"
            testCase "FitRidge in both forms and like scikit-learn" <| fun () ->
                let notes = FunctionalNN.LinearRegression.FitRidge(commuteX, commuteY, 0.1)
                closeAll 1e-9 (Array.init 3 (fun i -> notes.StackedWeights().[i, 0])) (ridgeByCramer 0.1) "notes' form (Cramer)"
                let sk = FunctionalNN.LinearRegression.FitRidgeLikeScikitLearn(commuteX, commuteY, 0.5)
                // Expected: tests/reference/ridge_sklearn.py, Ridge(alpha=0.5).
                close 1e-9 sk.Intercept.[0] 7.02554366586124 "intercept"
                let un = FunctionalNN.LinearRegression.FitRidge(commuteX, commuteY, 0.1, FunctionalNN.RidgeForm.InterceptUnpenalized)
                close 1e-12 un.Intercept.[0] sk.Intercept.[0] "same form"
            testCase "gradient descent through the facade" <| fun () ->
                let r = FunctionalNN.LinearRegression.FitByGradientDescent(commuteX, commuteY)
                Expect.equal r.StopReason FunctionalNN.LinearStopReason.GradientTolerance "converged (the gradient tolerance stopped it)"
                close 1e-6 (r.Model.Intercept.[0]) 6.08613445378149 "w0"
            testCase "a duplicated feature: ArgumentException naming x and pointing to ridge" <| fun () ->
                let dup = Array2D.init 5 3 (fun i j -> if j < 2 then commuteX.[i, j] else commuteX.[i, 1])
                let e = Expect.throwsC (fun () -> FunctionalNN.LinearRegression.Fit(dup, commuteY) |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "x" "ParamName"
                Expect.stringContains e.Message "ridge" "points to ridge"
            testCase "polynomial, perceptron and classifier through the facade" <| fun () ->
                let xs = Array.init 9 (fun i -> -1.0 + 0.25 * float i)
                let p = FunctionalNN.PolynomialRegression.Fit(xs, xs |> Array.map (fun x -> 1.0 + x * x), 2)
                closeAll 1e-9 (p.Coefficients()) [| 1.0; 0.0; 1.0 |] "1 + x^2"
                let iris = Datasets.iris ()
                let idx = [| 0 .. 99 |]
                let x = (Mat.selectRows idx iris.Features).ToArray()
                let labels = FunctionalNN.LinearClassifier.BinaryLabels(idx |> Array.map (fun i -> iris.Labels.[i]), 1)
                let r = FunctionalNN.Perceptron.Fit(x, labels)
                Expect.isTrue r.Converged "setosa/versicolor separable"
                let c = FunctionalNN.LinearClassifier.Fit(x, labels, FunctionalNN.LinearClassifierOptions(Sgd = FunctionalNN.LinearSgdOptions(Schedule = FunctionalNN.Schedule.InverseSqrt 0.05, BatchSize = 10, Epochs = 100)))
                Expect.isGreaterThanOrEqual (c.Model.Accuracy(x, labels)) 0.95 "training accuracy"
            testCase "null arrays are ArgumentNullException with the parameter name" <| fun () ->
                let e = Expect.throwsC (fun () -> FunctionalNN.LinearRegression.Fit(commuteX, (null: float[])) |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "y" "ParamName"
        ]

        testList "solvers (review fixes)" [
            // Ridge = least squares on the augmented system (a standard identity):
            // 1/(2n) ||X1 W - Y||^2 + lambda/2 ||W||^2 = 1/(2n) ||[X1; sqrt(n lambda) I] W - [Y; 0]||^2,
            // solved here by MathNet's SVD: independent of the library's Cholesky solve.
            let ridgeBySvd (lambda: float) (x: Matrix<float>) (y: Matrix<float>) =
                let d1 = LinearModel.design true x
                let n, p = d1.RowCount, d1.ColumnCount
                let a = Matrix<float>.Build.Dense(n + p, p, fun i j -> if i < n then d1.[i, j] elif i - n = j then sqrt (float n * lambda) else 0.0)
                let b = Matrix<float>.Build.Dense(n + p, 1, fun i _ -> if i < n then y.[i, 0] else 0.0)
                a.Svd(true).Solve(b).Column(0).ToArray()
            for what, scale2, scale3 in [ "a duplicated weekday column", 1.0, 1.0
                                          "a duplicated weekday column, both copies scaled by 1e6", 1e6, 1e6
                                          "a copy of weekday scaled by 1e6", 1.0, 1e6 ] do
                testCase (sprintf "ridge, lambda = 0.1, has no rank test: %s fits and agrees with an SVD solve" what) <| fun () ->
                    let x, y, _ = commute ()
                    let xd = Matrix<float>.Build.Dense(5, 3, fun i j -> match j with 0 -> x.[i, 0] | 1 -> scale2 * x.[i, 1] | _ -> scale3 * x.[i, 1])
                    // Before the fix the second design failed the least-squares rank test on
                    // X^T X / n + lambda I ("only 3.33e-13 of its squared length ...; use ridge regression").
                    let m = Ridge.fit (RidgeOptions.Default.WithLambda 0.1) xd y
                    let w = column0 (LinearModel.stacked m)
                    let svd = ridgeBySvd 0.1 xd y
                    // Measured (the unit-diagonal scaled Cholesky solve): differences <= 2.7e-14 (unscaled), <= 3.7e-9
                    // (both copies scaled by 1e6: the two copies are dependent, so the scaled system keeps its condition
                    // 1.2e13 and only about 3 digits of the two tiny, 1.4e-6, weights), <= 2.5e-10 (one copy scaled); 1e-8 absolute.
                    closeAll 1e-8 w svd "stacked W against the SVD solve"
                    closeAll 1e-8 (column0 (LinearModel.predict m xd)) (column0 (LinearModel.design true xd * Matrix<float>.Build.DenseOfColumnArrays([| svd |]))) "fitted values"
                    if scale2 = scale3 then
                        // The identifiable part of two identical columns is the sum of their weights
                        // (measured relative difference 5.4e-10 for the 1e6 copies, 2.6e-14 unscaled).
                        close (1e-8 * abs (svd.[2] + svd.[3])) (w.[2] + w.[3]) (svd.[2] + svd.[3]) "sum of the weights of the identical columns"
            testCase "ridge with a lambda too small for the data gets a ridge-specific error naming the dependent columns" <| fun () ->
                let x, y, names = commute ()
                let dup = Matrix<float>.Build.Dense(5, 3, fun i j -> if j < 2 then x.[i, j] else x.[i, 1])
                // By hand: with D = diag(A), A = X1^T X1 / n + lambda I, the scaled matrix D^-1/2 A D^-1/2 has
                // rows 2 and 3 (the two weekday copies, mean square g) equal but for the diagonal: off-diagonal
                // g / (g + lambda) = 1 - lambda / (g + lambda), which is 1 in double precision for lambda = 1e-20,
                // so its smallest eigenvalue is rounding (condition number far above 1e14) and its eigenvector
                // is (0, 0, 1, -1) / sqrt 2: design columns 2 and 3.
                let e = Expect.throwsC (fun () -> Ridge.fitNamed (RidgeOptions.Default.WithLambda 1e-20) (Array.append names [| "weekday again" |]) dup y |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "lambda" "ParamName"
                Expect.stringContains e.Message "lambda = 1e-20 is too small" "names lambda"
                Expect.stringContains e.Message "design column 2 (feature 1, weekday) and design column 3 (feature 2, weekday again)" "names the dependent columns"
                Expect.isFalse (e.Message.Contains "distance_km") "not the independent column"
                Expect.stringContains e.Message "Remove or combine the dependent columns, or increase lambda" "says what to do"
                Expect.isFalse (e.Message.Contains "rank-deficient") "not the least-squares message"
            testCase "a degree-5 polynomial on [0, 10] from 40 noiseless points: coefficients within 1e-9 (QR of X)" <| fun () ->
                // y = 5 - 4x + 3x^2 - 2x^3 + x^4 - 0.5x^5 at x_i = 10 i / 39; the coefficients are the expected
                // values. Measured: QR of X 8.2e-12 (largest absolute error; MathNet's QR, used before, 2.6e-11); a Cholesky solve of X^T X (the old solver) 3.6e-8.
                let xs = Array.init 40 (fun i -> 10.0 * float i / 39.0)
                let c = [| 5.0; -4.0; 3.0; -2.0; 1.0; -0.5 |]
                let f x = Array.foldBack (fun ci acc -> ci + x * acc) c 0.0
                let m = PolynomialRegression.fit 5 NormalEquation.DefaultRankTolerance (LinearModel.column xs) (LinearModel.column (Array.map f xs))
                closeAll 1e-9 (PolynomialRegression.coefficients m 0) c "degree-5 coefficients"
            testCase "the rank tolerance of polynomial regression is used" <| fun () ->
                // x, x^2, x^3 on [0, 1] are strongly correlated: far less than 99.9 % of x^3's squared length
                // lies outside the span of 1, x, x^2, so a tolerance of 0.999 must refuse the design.
                let xs = Array.init 11 (fun i -> 0.1 * float i)
                let ok = PolynomialRegression.fit 3 NormalEquation.DefaultRankTolerance (LinearModel.column xs) (LinearModel.column xs)
                closeAll 1e-12 (PolynomialRegression.coefficients ok 0) [| 0.0; 1.0; 0.0; 0.0 |] "y = x"
                expectRankError (fun () -> PolynomialRegression.fit 3 0.999 (LinearModel.column xs) (LinearModel.column xs)) "tolerance 0.999"
            testCase "a lambda that is NaN gets the same message from Ridge and LinearCost (one check)" <| fun () ->
                let x, y, _ = commute ()
                let model = LeastSquares.fit LeastSquaresOptions.Default x y
                let e1 = Expect.throwsC (fun () -> Ridge.fit (RidgeOptions.Default.WithLambda nan) x y |> ignore) id
                let e2 = Expect.throwsC (fun () -> LinearCost.value ((LinearCost.LeastSquares true).WithLambda nan) x y model |> ignore) id
                Expect.equal e1.Message e2.Message "same check"
                Expect.equal (e1 :?> ArgumentException).ParamName "lambda" "ParamName"
        ]

        testList "fit results (review fixes)" [
            testCase "GD: Costs[0] is the cost at W = 0, then one per step; the stop reason says which rule" <| fun () ->
                let x, y, _ = commute ()
                // C(0) = sum y^2 / (2n) = (625 + 1089 + 225 + 2025 + 484) / 10 = 444.8.
                let capped = LinearGradientDescent.fit (LinearGradientDescentOptions.Default.WithMaxSteps 3) (LinearCost.LeastSquares true) x y
                Expect.equal capped.StopReason LinearStopReason.StepCap "stopped by the step cap"
                Expect.equal capped.Steps 3 "3 steps"
                Expect.equal capped.Costs.Length 4 "cost before the first step and after each of 3"
                close 1e-12 capped.Costs.[0] 444.8 "C(0)"
                close 1e-12 (Array.last capped.Costs) (LinearCost.value (LinearCost.LeastSquares true) x y capped.Model) "last cost is the model's"
                let full = LinearGradientDescent.fit LinearGradientDescentOptions.Default (LinearCost.LeastSquares true) x y
                Expect.equal full.StopReason LinearStopReason.GradientTolerance "converged"
                Expect.equal full.Costs.Length (full.Steps + 1) "Steps + 1 costs"
            testCase "SGD: Costs[0] is the cost at W = 0, then one per epoch; the cap is StepCap" <| fun () ->
                let x, y, _ = commute ()
                let r = Sgd.fit { LinearSgdOptions.Default with Schedule = Schedule.Constant 0.01; BatchSize = 2; Epochs = 4 } (LinearCost.LeastSquares true) x y
                Expect.equal r.StopReason LinearStopReason.StepCap "epoch cap"
                Expect.equal r.Steps 12 "4 epochs of ceil(5/2) steps"
                Expect.equal r.Costs.Length 5 "cost before and after each of 4 epochs"
                close 1e-12 r.Costs.[0] 444.8 "C(0)"
                close 1e-12 (Array.last r.Costs) (LinearCost.value (LinearCost.LeastSquares true) x y r.Model) "last cost is the model's"
                let none = Sgd.fit { LinearSgdOptions.Default with Epochs = 0 } (LinearCost.LeastSquares true) x y
                Expect.equal none.Costs.Length 1 "no epoch: only C(0)"
                close 1e-12 none.Costs.[0] 444.8 "C(0)"
                Expect.equal none.Steps 0 "no step"
            testCase "SGD's step rule is the max norm of the update, and it is StepTolerance, not convergence" <| fun () ->
                let x, y, _ = commute ()
                // Full batch (b = n = 5), eta = 0.06: the first update is [1.68, 6.1608, 1.236] (see the (2.3)
                // test): max norm 6.1608, Frobenius norm sqrt(1.68^2 + 6.1608^2 + 1.236^2) = 6.504. A tolerance
                // of 6.3 stops after step 1 by the max norm only (the Frobenius rule would take a second step).
                let o = { LinearSgdOptions.Default with Schedule = Schedule.Constant 0.06; BatchSize = 5; Epochs = 3; StepTolerance = 6.3 }
                let r = Sgd.fit o (LinearCost.LeastSquares true) x y
                Expect.equal r.Steps 1 "stopped after the first step"
                Expect.equal r.StopReason LinearStopReason.StepTolerance "the notes' step rule"
                Expect.equal r.Costs.Length 2 "C(0) and the cost after the step"
                // Mid-epoch: b = 2, a tolerance that every step meets: one step, then the cost after it.
                let mid = Sgd.fit { o with BatchSize = 2; StepTolerance = 1e9 } (LinearCost.LeastSquares true) x y
                Expect.equal mid.Steps 1 "one step"
                Expect.equal mid.Costs.Length 2 "C(0) and the cost after the final step"
                close 1e-12 mid.Costs.[1] (LinearCost.value (LinearCost.LeastSquares true) x y mid.Model) "the final cost is the model's"
            testCase "the notes' SGD settings stop by the step rule, which is not reported as convergence" <| fun () ->
                let x, y, _ = commute ()
                let r = Sgd.fit { LinearSgdOptions.Default with Schedule = Schedule.InverseSqrt 0.06; BatchSize = 2; Epochs = 10000; StepTolerance = 0.02 } (LinearCost.LeastSquares true) x y
                Expect.equal r.StopReason LinearStopReason.StepTolerance "step rule"
                let g = LinearCost.gradient (LinearCost.LeastSquares true) x y r.Model
                // Far from first-order optimality (the closed form's gradient is below 1e-10).
                Expect.isGreaterThan (g.FrobeniusNorm()) 1e-3 "not at the optimum"
            testCase "AutoLearningRate with L = 0 reports a finite rate and takes no step" <| fun () ->
                // X = 0, no intercept, lambda = 0: the Hessian is 0, the gradient X^T (X W - Y) / n is 0 everywhere.
                let x = Matrix<float>.Build.Dense(3, 2)
                let y = LinearModel.column [| 1.0; 2.0; 3.0 |]
                let r = LinearGradientDescent.fit LinearGradientDescentOptions.Default (LinearCost.LeastSquares false) x y
                Expect.isTrue (Double.IsFinite r.LearningRate) (sprintf "finite learning rate, got %g" r.LearningRate)
                Expect.equal r.Steps 0 "no step"
                Expect.equal r.StopReason LinearStopReason.GradientTolerance "the gradient is 0"
            testCase "the classifier's cost refuses a loss that is not a margin loss" <| fun () ->
                let x, y = irisPair 0 1
                let r = LinearClassifier.fit { ClassifierOptions.Default with Sgd = { LinearSgdOptions.Default with Epochs = 1 } } x y
                let e = Expect.throwsC (fun () -> LinearClassifier.cost Loss.MeanSquaredError r.Model x y |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "loss" "ParamName"
                Expect.stringContains e.Message "not a margin loss" "says why"
            testCase "the perceptron and the classifier share the label rule: a zero score is -1" <| fun () ->
                Expect.equal (LinearClassifier.label 0.0) -1 "z = 0 -> -1"
                Expect.equal (LinearClassifier.label 1e-300) 1 "z > 0 -> +1"
                Expect.equal (LinearClassifier.label -0.0) -1 "z = -0 -> -1"
                let x, y = irisPair 1 2
                let r = Perceptron.fit (PerceptronOptions.Default.WithMaxEpochs 20) x y
                let wrong = Array.fold2 (fun c p l -> if p <> l then c + 1 else c) 0 (LinearClassifier.predict r.Model x) y
                Expect.equal r.Misclassified wrong "the perceptron's count is LinearClassifier.predict's"
            testCase "null feature names give an empty list, and the model keeps a copy" <| fun () ->
                let x, y, _ = commute ()
                Expect.isEmpty (LeastSquares.fitNamed LeastSquaresOptions.Default null x y).FeatureNames "least squares"
                Expect.isEmpty (Ridge.fitNamed RidgeOptions.Default null x y).FeatureNames "ridge"
                Expect.isEmpty (LinearGradientDescent.fitNamed (LinearGradientDescentOptions.Default.WithMaxSteps 1) (LinearCost.LeastSquares true) null x y).Model.FeatureNames "GD"
                Expect.isEmpty (Sgd.fitNamed (LinearSgdOptions.Default.WithEpochs 1) (LinearCost.LeastSquares true) null x y).Model.FeatureNames "SGD"
                Expect.isEmpty (Perceptron.fitNamed (PerceptronOptions.Default.WithMaxEpochs 1) null x [| 1; 1; -1; 1; -1 |]).Model.FeatureNames "perceptron"
                let names = [| "d"; "w" |]
                let m = LeastSquares.fitNamed LeastSquaresOptions.Default names x y
                names.[0] <- "changed"
                Expect.equal m.FeatureNames [| "d"; "w" |] "a copy"
            testCase "core scoring with a y of the wrong length names y and both shapes" <| fun () ->
                let x, y, _ = commute ()
                let m = LeastSquares.fit LeastSquaresOptions.Default x y
                for f in [ LinearModel.r2; LinearModel.meanSquaredError ] do
                    let e = Expect.throwsC (fun () -> f m x (y.SubMatrix(0, 4, 0, 1)) |> ignore) id
                    Expect.equal (e :?> ArgumentException).ParamName "y" "ParamName"
                    Expect.stringContains e.Message "4x1" "y's shape"
                    Expect.stringContains e.Message "5x2" "x's shape"
        ]

        testList "C# facade (review fixes)" [
            let commuteX = array2D [ [ 2.7; 1.0 ]; [ 4.1; 1.0 ]; [ 1.0; 0.0 ]; [ 5.2; 1.0 ]; [ 2.8; 0.0 ] ]
            let commuteY = [| 25.0; 33.0; 15.0; 45.0; 22.0 |]
            // The facade's exception (namespace FunctionalNN, issue 13) with a typed LastGood.
            let diverged (f: unit -> 'a) : FunctionalNN.TrainingDivergedException<'m> =
                match Expect.throwsC (fun () -> f () |> ignore) id with
                | :? FunctionalNN.TrainingDivergedException<'m> as e -> e
                | e -> failtestf "expected TrainingDivergedException<%s>, got %O" typeof<'m>.Name e
            testCase "TrainingDivergedException.LastGood is the facade's LinearModel or Network" <| fun () ->
                let gd : FunctionalNN.TrainingDivergedException<FunctionalNN.LinearModel> = diverged (fun () -> FunctionalNN.LinearRegression.FitByGradientDescent(commuteX, commuteY, FunctionalNN.LinearGradientDescentOptions(LearningRate = 0.2)))
                Expect.isTrue (gd.LastGood.GetType() = typeof<FunctionalNN.LinearModel>) "GD: the facade's LinearModel, typed"
                let sgd : FunctionalNN.TrainingDivergedException<FunctionalNN.LinearModel> = diverged (fun () -> FunctionalNN.LinearRegression.FitBySgd(commuteX, commuteY, FunctionalNN.LinearSgdOptions(Schedule = FunctionalNN.Schedule.Constant 10.0)))
                Expect.isTrue (sgd.LastGood.GetType() = typeof<FunctionalNN.LinearModel>) "SGD: the facade's LinearModel, typed"
                let iris = Datasets.iris ()
                let x = (Mat.selectRows [| 0 .. 99 |] iris.Features).ToArray()
                let labels = FunctionalNN.LinearClassifier.BinaryLabels(Array.sub iris.Labels 0 100, 1)
                let opts = FunctionalNN.LinearClassifierOptions(Sgd = FunctionalNN.LinearSgdOptions(Schedule = FunctionalNN.Schedule.Constant 100.0, BatchSize = 10))
                let cl : FunctionalNN.TrainingDivergedException<FunctionalNN.LinearModel> = diverged (fun () -> FunctionalNN.LinearClassifier.Fit(x, labels, opts))
                Expect.isTrue (cl.LastGood.GetType() = typeof<FunctionalNN.LinearModel>) "classifier: the facade's LinearModel, typed"
                // A sigmoid network whose first step overflows on any backend: one sample x = (20, 0),
                // y = 1, step size 1e308; the half-MSE gradient of w0 is (p - 1) p (1 - p) 20 with
                // p = s(20 w0) (bias 0), and a seed (found by search) whose |gradient| > 1.8 makes
                // 1e308 |gradient| overflow, so w0 becomes infinite at step 1 (hand derivation).
                let gradient (s: int64) =
                    let w0 = (SigmoidRegression.create 2 1 s).Layers.Head.Weights.[0, 0]
                    let p = Activation.sigmoid (20.0 * w0)
                    abs ((p - 1.0) * p * (1.0 - p) * 20.0)
                let seed = [ 0L .. 1000L ] |> List.find (fun s -> gradient s > 1.8)
                let xs = array2D [ [ 20.0; 0.0 ] ]
                let sg : FunctionalNN.TrainingDivergedException<FunctionalNN.Network> = diverged (fun () -> FunctionalNN.SigmoidRegression.Fit(xs, [| 1.0 |], 1e308, 3, seed))
                Expect.isTrue (sg.LastGood.GetType() = typeof<FunctionalNN.Network>) "sigmoid: the facade's Network, typed"
            testCase "R2 and MeanSquaredError with a y of the wrong length name y and both shapes" <| fun () ->
                let m = FunctionalNN.LinearRegression.Fit(commuteX, commuteY)
                for f in [ (fun () -> m.R2(commuteX, Array.sub commuteY 0 4) |> ignore); (fun () -> m.MeanSquaredError(commuteX, Array.sub commuteY 0 4) |> ignore) ] do
                    let e = Expect.throwsC f id
                    Expect.equal (e :?> ArgumentException).ParamName "y" "ParamName"
                    Expect.stringContains e.Message "4x1" "y's shape"
                    Expect.stringContains e.Message "5x2" "x's shape"
            testCase "bad options are ArgumentException with ParamName the property (as TrainingOptions') and the property in the message" <| fun () ->
                let check (property: string) (f: unit -> 'a) =
                    match Expect.throwsC (fun () -> f () |> ignore) id with
                    | :? ArgumentException as e ->
                        Expect.equal e.ParamName property (sprintf "%s: ParamName (%s)" property e.Message)
                        Expect.stringContains e.Message ("options.") "the options"
                        Expect.stringContains e.Message ("." + property + " ") "the property, with its path (options.Sgd.BatchSize)"
                    | e -> failtestf "%s: expected ArgumentException, got %O" property e
                check "LearningRate" (fun () -> FunctionalNN.LinearRegression.FitByGradientDescent(commuteX, commuteY, FunctionalNN.LinearGradientDescentOptions(LearningRate = -1.0)))
                check "MaxSteps" (fun () -> FunctionalNN.LinearRegression.FitByGradientDescent(commuteX, commuteY, FunctionalNN.LinearGradientDescentOptions(MaxSteps = -1)))
                check "GradientTolerance" (fun () -> FunctionalNN.LinearRegression.FitByGradientDescent(commuteX, commuteY, FunctionalNN.LinearGradientDescentOptions(GradientTolerance = 0.0)))
                check "RidgeForm" (fun () -> FunctionalNN.LinearRegression.FitByGradientDescent(commuteX, commuteY, FunctionalNN.LinearGradientDescentOptions(Lambda = 0.1, RidgeForm = enum<FunctionalNN.RidgeForm> 7)))
                check "BatchSize" (fun () -> FunctionalNN.LinearRegression.FitBySgd(commuteX, commuteY, FunctionalNN.LinearSgdOptions(BatchSize = 0)))
                check "Epochs" (fun () -> FunctionalNN.LinearRegression.FitBySgd(commuteX, commuteY, FunctionalNN.LinearSgdOptions(Epochs = -1)))
                check "StepTolerance" (fun () -> FunctionalNN.LinearRegression.FitBySgd(commuteX, commuteY, FunctionalNN.LinearSgdOptions(StepTolerance = nan)))
                let labels = [| 1; 1; -1; 1; -1 |]
                check "Loss" (fun () -> FunctionalNN.LinearClassifier.Fit(commuteX, labels, FunctionalNN.LinearClassifierOptions(Loss = FunctionalNN.Loss.MeanSquaredError)))
                check "BatchSize" (fun () -> FunctionalNN.LinearClassifier.Fit(commuteX, labels, FunctionalNN.LinearClassifierOptions(Sgd = FunctionalNN.LinearSgdOptions(BatchSize = 0))))
            testCase "an invalid RidgeForm value throws everywhere" <| fun () ->
                let bad = enum<FunctionalNN.RidgeForm> 7
                let e1 = Expect.throwsC (fun () -> FunctionalNN.LinearRegression.FitRidge(commuteX, commuteY, 0.1, bad) |> ignore) id
                Expect.equal (e1 :?> ArgumentException).ParamName "form" "FitRidge"
                let e2 = Expect.throwsC (fun () -> FunctionalNN.LinearRegression.FitBySgd(commuteX, commuteY, lambda = 0.1, form = bad) |> ignore) id
                Expect.equal (e2 :?> ArgumentException).ParamName "form" "FitBySgd"
            testCase "Decision, Classify, Accuracy and ZeroOneError on a multi-output model are InvalidOperationException" <| fun () ->
                let two = FunctionalNN.LinearRegression.Fit(commuteX, Array2D.init 5 2 (fun i j -> commuteY.[i] + float j))
                let labels = [| 1; 1; -1; 1; -1 |]
                for what, f in [ "Decision", (fun () -> two.Decision commuteX |> ignore)
                                 "Classify", (fun () -> two.Classify commuteX |> ignore)
                                 "Accuracy", (fun () -> two.Accuracy(commuteX, labels) |> ignore)
                                 "ZeroOneError", (fun () -> two.ZeroOneError(commuteX, labels) |> ignore) ] do
                    let e = Expect.throwsC f id
                    Expect.isTrue (e :? InvalidOperationException) (sprintf "%s: %s" what (e.GetType().Name))
            testCase "FitBySgd reports StepTolerance for the notes' rule and StepCap at the epoch cap" <| fun () ->
                let notes = FunctionalNN.LinearRegression.FitBySgd(commuteX, commuteY, FunctionalNN.LinearSgdOptions(Schedule = FunctionalNN.Schedule.InverseSqrt 0.06, BatchSize = 2, Epochs = 10000, StepTolerance = 0.02))
                Expect.equal notes.StopReason FunctionalNN.LinearStopReason.StepTolerance "notes' rule"
                let capped = FunctionalNN.LinearRegression.FitBySgd(commuteX, commuteY, FunctionalNN.LinearSgdOptions(Epochs = 3))
                Expect.equal capped.StopReason FunctionalNN.LinearStopReason.StepCap "cap"
                Expect.equal capped.Costs.Count 4 "C(0) and one per epoch"
        ]

        testList "properties" [
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 }
                "random full-rank designs: gradient < 1e-8 at the normal-equation solution, no perturbation lowers the cost" <| fun (DoNotSize (seed: int)) ->
                // DoNotSize: the whole int range of seeds, not FsCheck's size-limited |seed| <= 100.
                let r = Rng.create (int64 seed)
                let struct (d, r) = Rng.nextInt 5 r
                let struct (extra, r) = Rng.nextInt 10 r
                let struct (k, r) = Rng.nextInt 2 r
                let struct (flag, r) = Rng.nextInt 2 r
                let d, k, intercept = d + 1, k + 1, (flag = 1)
                let n = d + 2 + extra
                let xs, r = Rng.many (n * d) Rng.nextNormal r
                let ys, r = Rng.many (n * k) Rng.nextNormal r
                // Column j scaled by 10^U(-3, 3): the rank test is relative, so no scale may trip it.
                let es, r = Rng.many d (Rng.nextUniform -3.0 3.0) r
                let x = Matrix<float>.Build.Dense(n, d, fun i j -> xs.[i * d + j] * Math.Pow(10.0, es.[j]))
                let y = Matrix<float>.Build.Dense(n, k, fun i j -> ys.[i * k + j])
                let cost = LinearCost.LeastSquares intercept
                let m = LeastSquares.fit (LeastSquaresOptions.Default.WithFitIntercept intercept) x y
                let g = LinearCost.gradient cost x y m
                let c0 = LinearCost.value cost x y m
                let theta = LinearModel.stacked m
                let mutable rng = r
                let perturbedCosts =
                    Array.init 20 (fun _ ->
                        let ds, r' = Rng.many (theta.RowCount * theta.ColumnCount) (Rng.nextUniform -1e-3 1e-3) rng
                        rng <- r'
                        let t = theta + Matrix<float>.Build.Dense(theta.RowCount, theta.ColumnCount, fun i j -> ds.[i * theta.ColumnCount + j])
                        LinearCost.value cost x y (LinearModel.ofStacked intercept [||] t))
                // "Lowers" beyond rounding: along a direction of tiny curvature (columns scaled by 1e-3) a
                // perturbation changes the cost by less than its last bit (seed -1797494421: 1 ulp lower).
                g.FrobeniusNorm() < 1e-8 && perturbedCosts |> Array.forall (fun c -> c >= c0 * (1.0 - 1e-12))
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 }
                "random designs with a column that is a combination of the others, at any scale: the rank error" <| fun (DoNotSize (seed: int)) ->
                let r = Rng.create (int64 seed)
                let struct (d, r) = Rng.nextInt 4 r
                let struct (extra, r) = Rng.nextInt 10 r
                let struct (flag, r) = Rng.nextInt 2 r
                let d, intercept = d + 1, (flag = 1)
                let n = d + 3 + extra
                let xs, r = Rng.many (n * d) Rng.nextNormal r
                let cs, r = Rng.many d Rng.nextNormal r
                let es, r = Rng.many (d + 1) (Rng.nextUniform -3.0 3.0) r
                let ys, _ = Rng.many n Rng.nextNormal r
                // Columns scaled by 10^U(-3, 3); the last column is sum_j c_j x_j, itself scaled by 10^U(-3, 3).
                let x0 = Matrix<float>.Build.Dense(n, d, fun i j -> xs.[i * d + j] * Math.Pow(10.0, es.[j]))
                let x = Matrix<float>.Build.Dense(n, d + 1, fun i j ->
                            if j < d then x0.[i, j] else Math.Pow(10.0, es.[d]) * (Seq.init d (fun k -> cs.[k] * x0.[i, k]) |> Seq.sum))
                try
                    LeastSquares.fit (LeastSquaresOptions.Default.WithFitIntercept intercept) x (LinearModel.column ys) |> ignore
                    false
                with :? ArgumentException as e -> e.ParamName = "x" && e.Message.Contains "rank-deficient"
        ]
        testList "fill values for missing cells (LinearModel.withFill, fillMissing; Preprocessor.fillLinear)" [
            // x2 is missing on the second row. By hand: x2's present values are 2, 1, 4, 7: mean 3.5, median 3.
            let csv = "x1,x2,y\n1,2,9\n2,,15.5\n3,1,10\n4,4,21\n5,7,32\n"
            let load (missing: MissingPolicy) = Csv.loadText (CsvOptions.Default.WithMissing missing) csv
            // Least squares on the rows filled by the imputer fitted on them, keeping its fill values.
            let fitImputed (missing: MissingPolicy) =
                let data = load missing
                let p = Preprocessor.fit data
                let filled = Preprocessor.fillMissing p data.FeatureNames data
                LeastSquares.fitNamed LeastSquaresOptions.Default filled.FeatureNames filled.Features (LinearModel.column (filled.Target |> function Target.Values v -> v | _ -> failwith "numeric"))
                |> Preprocessor.fillLinear p data.FeatureNames
            test "a model fitted on mean-imputed rows predicts for a row with a missing cell what it predicts with the mean typed in" {
                let model = fitImputed MissingPolicy.Mean
                Expect.equal model.Fill (Some { Missing = MissingPolicy.Mean; Values = [| 3.0; 3.5 |] }) "the policy and x1's mean 3 (of 1..5), x2's mean 3.5 (by hand)"
                let withHole = Mat.ofRows [ [| 4.0; nan |]; [| nan; 1.0 |] ]
                let byHand = Mat.ofRows [ [| 4.0; 3.5 |]; [| 3.0; 1.0 |] ]
                let filled = LinearModel.fillMissing model withHole
                Expect.equal (filled.ToArray()) (byHand.ToArray()) "the missing cells hold the training means"
                Expect.isTrue (Double.IsNaN withHole.[0, 1]) "the input is not changed"
                Expect.equal (column0 (LinearModel.predict model filled)) (column0 (LinearModel.predict model byHand)) "the same predictions, bit for bit"
                // The filled rows fit y = 1 + 2 x1 + 3 x2 exactly (the mean 3.5 gives line 3's y 15.5), so row [4, 3.5]
                // predicts 1 + 8 + 10.5 = 19.5.
                close 1e-9 (LinearModel.predict model filled).[0, 0] 19.5 "1 + 2 * 4 + 3 * 3.5"
            }
            test "median and most_frequent keep their own values and policy" {
                let median = fitImputed MissingPolicy.Median
                Expect.equal median.Fill (Some { Missing = MissingPolicy.Median; Values = [| 3.0; 3.0 |] }) "x2's median (2 + 4) / 2 = 3"
                let mode = fitImputed MissingPolicy.MostFrequent
                // Every value occurs once: the smallest on a tie (x1: 1, x2: 1).
                Expect.equal mode.Fill (Some { Missing = MissingPolicy.MostFrequent; Values = [| 1.0; 1.0 |] }) "the smallest on a tie"
                Expect.equal (LinearModel.fillMissing mode (Mat.ofRows [ [| nan; nan |] ])).[0, 1] 1.0 "filled with the mode"
            }
            test "the values are taken by feature name: an imputer fitted on the columns in another order" {
                let model = fitImputed MissingPolicy.Mean
                // The same rows with the columns swapped (x2 first): the imputer's Fill is [3.5; 3] by column.
                let swapped = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Mean) "x2,x1,y\n2,1,9\n,2,15.5\n1,3,10\n4,4,21\n7,5,32\n"
                let p = Preprocessor.fit swapped
                Expect.equal p.Fill [| 3.5; 3.0 |] "the imputer's own order"
                let m = Preprocessor.fillLinear p swapped.FeatureNames { model with Fill = None }
                Expect.equal m.Fill model.Fill "x1 still gets 3 and x2 3.5"
                // An imputer without x2: ParamName "data", naming the feature.
                let only = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Mean) "x1,y\n1,2\n,3\n"
                match Expect.throwsC (fun () -> Preprocessor.fillLinear (Preprocessor.fit only) only.FeatureNames model |> ignore) id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "data" "ParamName"
                    Expect.stringContains e.Message "'x2'" "names the feature"
                | e -> failtestf "expected ArgumentException, got %O" e
                // An imputer that fills nothing (Drop): the model without fill values.
                Expect.isNone (Preprocessor.fillLinear (Preprocessor.fit (load MissingPolicy.Drop)) [| "x1"; "x2" |] model).Fill "Drop fills nothing"
            }
            test "a model without fill values refuses a missing cell, naming the row and the feature; withFill checks its values" {
                let model = { fitImputed MissingPolicy.Mean with Fill = None }
                match Expect.throwsC (fun () -> LinearModel.fillMissing model (Mat.ofRows [ [| 1.0; 2.0 |]; [| 1.0; nan |] ]) |> ignore) id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "x" "ParamName"
                    for part in [ "row index 1"; "column 1 (x2)"; "no fill values" ] do Expect.stringContains e.Message part "the message"
                | e -> failtestf "expected ArgumentException, got %O" e
                Expect.equal ((LinearModel.fillMissing model (Mat.ofRows [ [| 1.0; 2.0 |] ])).ToArray()) (array2D [ [ 1.0; 2.0 ] ]) "complete rows pass"
                let param (what: string) (expected: string) (f: unit -> LinearModel) =
                    match Expect.throwsC (f >> ignore) id with
                    | :? ArgumentException as e -> Expect.equal e.ParamName expected what
                    | e -> failtestf "%s: expected ArgumentException, got %O" what e
                param "Drop fills nothing" "missing" (fun () -> LinearModel.withFill MissingPolicy.Drop [| 1.0; 2.0 |] model)
                param "Error fills nothing" "missing" (fun () -> LinearModel.withFill MissingPolicy.Error [| 1.0; 2.0 |] model)
                param "one value per feature" "values" (fun () -> LinearModel.withFill MissingPolicy.Mean [| 1.0 |] model)
                param "finite values" "values" (fun () -> LinearModel.withFill MissingPolicy.Mean [| 1.0; infinity |] model)
                param "wrong width" "x" (fun () -> LinearModel.fillMissing model (Mat.ofRows [ [| 1.0 |] ]) |> ignore; model)
            }
        ]
    ]
