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
                let r = LinearGradientDescent.fit GradientDescentOptions.Default (LinearCost.LeastSquares true) x y
                Expect.isTrue r.Converged "stopped by the gradient tolerance"
                // Expected: the notes' W* (ch. 1.7).
                closeAll 1e-6 (column0 (LinearModel.stacked r.Model)) [| 6.08613445378149; 6.53361344537816; 2.11274509803922 |] "GD W"
                // eta = 1/L: each step decreases the cost (notes 2.1).
                // (Up to rounding: near the optimum a step changes the cost by about 1e-16 of it.)
                r.Costs |> Array.pairwise |> Array.iteri (fun t (a, b) -> if b > a * (1.0 + 1e-14) then failtestf "cost rose at step %d: %.17g -> %.17g" (t + 1) a b)
            for form in [ RidgeForm.PenalizeAll; RidgeForm.InterceptUnpenalized ] do
                testCase (sprintf "GD on the ridge cost (%A, lambda 0.1) reaches Ridge.fit within 1e-6" form) <| fun () ->
                    let x, y, _ = commute ()
                    let options = { Lambda = 0.1; Form = form; FitIntercept = true }
                    let r = LinearGradientDescent.fit GradientDescentOptions.Default (LinearCost.Ridge options) x y
                    closeAll 1e-6 (column0 (LinearModel.stacked r.Model)) (column0 (LinearModel.stacked (Ridge.fit options x y))) "GD ridge W"
            testCase "a learning rate above 2/L diverges with a clear exception" <| fun () ->
                let x, y, _ = commute ()
                // L = 13.32 (largest eigenvalue of X1^T X1 / 5, numpy), so 2/L = 0.150; eta = 0.2 diverges.
                close 1e-3 (LinearCost.smoothness (LinearCost.LeastSquares true) x) 13.3204 "L"
                let e = Expect.throwsC (fun () -> LinearGradientDescent.fit (GradientDescentOptions.Default.WithLearningRate 0.2) (LinearCost.LeastSquares true) x y |> ignore) id
                Expect.isTrue (e :? TrainingDivergedException) "TrainingDivergedException"
                Expect.isTrue ((e :?> TrainingDivergedException).LastGood :? LinearModel) "LastGood is a LinearModel"
            testCase "one minibatch step is the notes' (2.3) on the least-squares gradient" <| fun () ->
                let x, y, _ = commute ()
                let o = { SgdOptions.Default with LearningRate = 0.06; BatchSize = 2; Epochs = 1; Decay = LearningRateDecay.Constant }
                // One epoch of batches of 2 over 5 samples is 3 steps; the result is reproducible from the seed.
                let a = Sgd.fit o (LinearCost.LeastSquares true) x y
                let b = Sgd.fit o (LinearCost.LeastSquares true) x y
                Expect.equal a.Steps 3 "ceil(5/2) steps per epoch"
                Expect.equal (LinearModel.stacked a.Model) (LinearModel.stacked b.Model) "same seed, same weights"
            testCase "minibatch SGD with eta_t = C/sqrt t approaches W* on the commute data" <| fun () ->
                let x, y, _ = commute ()
                let o = { SgdOptions.Default with LearningRate = 0.1; BatchSize = 2; Epochs = 20000 }
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
                let m = PolynomialRegression.fit 3 LeastSquaresOptions.Default x y
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
            testCase "a degree too high for the samples gets the rank error" <| fun () ->
                let xs = [| 0.0; 1.0; 2.0 |]
                expectRankError (fun () -> PolynomialRegression.fit 3 LeastSquaresOptions.Default (LinearModel.column xs) (LinearModel.column xs)) "cubic through 3 points"
        ]

        testList "binary classifiers (notes 1.4, 2.2.2)" [
            testCase "a squared-hinge step is the notes' update (1.7)" <| fun () ->
                // Two samples, W = 0, b = 0 (scores 0, margins 0 < 1, both active): (1.7) gives
                // grad C_i = (W^T x_i - y_i) x_i = -y_i x_i with x_i = [1, x_i] (bias first);
                // batch of 2, eta = 0.5: W1 = -0.5/2 * sum_i (-y_i x_i) = 0.25 * sum_i y_i x_i.
                // x = [[1, 2], [3, -1]], y = [+1, -1]: sum y x (bias, f1, f2) = (0, -2, 3) -> (0, -0.5, 0.75).
                let x = Mat.ofRows [ [| 1.0; 2.0 |]; [| 3.0; -1.0 |] ]
                let o = { ClassifierOptions.Default with Sgd = { SgdOptions.Default with LearningRate = 0.5; BatchSize = 2; Epochs = 1; Decay = LearningRateDecay.Constant } }
                let r = LinearClassifier.fit o x [| 1; -1 |]
                closeAll 1e-15 (column0 (LinearModel.stacked r.Model)) [| 0.0; -0.5; 0.75 |] "W after one step"
            testCase "squared-hinge minibatch SGD: >= 95% on setosa/versicolor; 97.0% on versicolor/virginica" <| fun () ->
                let o = { ClassifierOptions.Default with Sgd = { SgdOptions.Default with LearningRate = 0.05; BatchSize = 10; Epochs = 500 } }
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
                    let o = { ClassifierOptions.Default with Loss = loss; Sgd = { SgdOptions.Default with LearningRate = 0.05; BatchSize = 10; Epochs = 200 } }
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
                Expect.equal (paramOf (fun () -> LinearGradientDescent.fit (GradientDescentOptions.Default.WithLearningRate -1.0) (LinearCost.LeastSquares true) x y)) "learningRate" "GD rate"
                Expect.equal (paramOf (fun () -> Sgd.fit (SgdOptions.Default.WithBatchSize 0) (LinearCost.LeastSquares true) x y)) "batchSize" "batch size"
                Expect.equal (paramOf (fun () -> PolynomialFeatures.monomials 0 x)) "degree" "degree"
                Expect.equal (paramOf (fun () -> Perceptron.fit (PerceptronOptions.Default.WithLearningRate 0.0) x [| 1; 1; -1; 1; -1 |])) "learningRate" "perceptron rate"
                Expect.equal (paramOf (fun () -> Perceptron.fit PerceptronOptions.Default x [| 1; -1 |])) "labels" "label count"
            testCase "fitting does not change its arguments" <| fun () ->
                let x, y, _ = commute ()
                let x0, y0 = x.Clone(), y.Clone()
                Ridge.fit { RidgeOptions.Default with Form = RidgeForm.InterceptUnpenalized } x y |> ignore
                LinearGradientDescent.fit GradientDescentOptions.Default (LinearCost.LeastSquares true) x y |> ignore
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
                Expect.isTrue r.Converged "converged"
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
                let c = FunctionalNN.LinearClassifier.Fit(x, labels, FunctionalNN.LinearClassifierOptions(Sgd = FunctionalNN.LinearSgdOptions(LearningRate = 0.05, BatchSize = 10, Epochs = 100)))
                Expect.isGreaterThanOrEqual (c.Model.Accuracy(x, labels)) 0.95 "training accuracy"
            testCase "null arrays are ArgumentNullException with the parameter name" <| fun () ->
                let e = Expect.throwsC (fun () -> FunctionalNN.LinearRegression.Fit(commuteX, (null: float[])) |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "y" "ParamName"
        ]

        testList "properties" [
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 }
                "random full-rank designs: gradient < 1e-8 at the normal-equation solution, no perturbation lowers the cost" <| fun (seed: int) ->
                let r = Rng.create (int64 seed)
                let struct (d, r) = Rng.nextInt 5 r
                let struct (extra, r) = Rng.nextInt 10 r
                let struct (k, r) = Rng.nextInt 2 r
                let struct (flag, r) = Rng.nextInt 2 r
                let d, k, intercept = d + 1, k + 1, (flag = 1)
                let n = d + 2 + extra
                let xs, r = Rng.many (n * d) Rng.nextNormal r
                let ys, r = Rng.many (n * k) Rng.nextNormal r
                let x = Matrix<float>.Build.Dense(n, d, fun i j -> xs.[i * d + j])
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
                g.FrobeniusNorm() < 1e-8 && perturbedCosts |> Array.forall (fun c -> c >= c0)
        ]
    ]
