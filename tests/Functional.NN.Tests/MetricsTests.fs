/// Classification and regression metrics against scikit-learn (tests/reference/metrics_sklearn.py,
/// whose printed numbers are copied below) and hand derivations.
module Functional.NN.Tests.MetricsTests

open System
open Expecto
open Functional.NN

let private close (actual: float) (expected: float) (what: string) =
    Expect.floatClose { absolute = 1e-12; relative = 1e-12 } actual expected (sprintf "%s: %.17g vs %.17g" what actual expected)

// The classification example of metrics_sklearn.py: 3 classes, 10 samples.
let private actual = [| 0; 0; 0; 1; 1; 1; 1; 2; 2; 2 |]
let private predicted = [| 0; 1; 0; 1; 1; 2; 1; 2; 0; 2 |]
let private proba =
    Mat.ofRows [ [| 0.7; 0.2; 0.1 |]; [| 0.3; 0.6; 0.1 |]; [| 0.8; 0.1; 0.1 |]; [| 0.1; 0.8; 0.1 |]; [| 0.2; 0.5; 0.3 |]
                 [| 0.1; 0.3; 0.6 |]; [| 0.25; 0.5; 0.25 |]; [| 0.0; 0.1; 0.9 |]; [| 0.5; 0.2; 0.3 |]; [| 0.1; 0.1; 0.8 |] ]

[<Tests>]
let tests =
    testList "Metrics" [
        test "accuracy, confusion matrix, precision, recall, F1 and support as scikit-learn" {
            let r = ClassificationMetrics.report [| "a"; "b"; "c" |] predicted actual (Some proba)
            // scikit-learn: accuracy 0.7, confusion [[2, 1, 0], [0, 3, 1], [1, 0, 2]].
            close r.Accuracy 0.7 "accuracy"
            Expect.equal r.ConfusionMatrix (array2D [ [ 2; 1; 0 ]; [ 0; 3; 1 ]; [ 1; 0; 2 ] ]) "confusion matrix (rows true, columns predicted)"
            // scikit-learn: precision = recall = F1 = [2/3, 0.75, 2/3], support [3, 4, 3].
            let expected = [| 0.6666666666666666; 0.75; 0.6666666666666666 |]
            for c in 0 .. 2 do
                close r.PerClass.[c].Precision expected.[c] (sprintf "precision of class %d" c)
                close r.PerClass.[c].Recall expected.[c] (sprintf "recall of class %d" c)
                close r.PerClass.[c].F1 expected.[c] (sprintf "F1 of class %d" c)
            Expect.equal (r.PerClass |> Array.map (fun s -> s.Support)) [| 3; 4; 3 |] "support"
            close r.MacroF1 ((2.0 / 3.0 + 0.75 + 2.0 / 3.0) / 3.0) "macro F1 (mean of the three)"
            // scikit-learn log_loss: 0.6129678887636886.
            close r.LogLoss 0.6129678887636886 "log-loss"
        }
        test "precision of a class never predicted is 0, F1 too (scikit-learn's zero_division)" {
            // Hand count: class 1 is never predicted, so TP + FP = 0.
            let s = ClassificationMetrics.scoresOf [| "x"; "y" |] (ClassificationMetrics.confusionMatrix 2 [| 0; 0; 0 |] [| 0; 1; 1 |])
            Expect.equal (s.[1].Precision, s.[1].Recall, s.[1].F1) (0.0, 0.0, 0.0) "class never predicted"
            close s.[0].Precision (1.0 / 3.0) "class 0: 1 right of 3 predicted"
        }
        test "macro F1 averages over the classes that are true or predicted (scikit-learn's unique_labels), not over absent ones" {
            // Iris's first 10 rows are all setosa, and a model that gets them right predicts setosa only. Hand count:
            // setosa has TP = 10, FP = FN = 0, so P = R = F1 = 1; versicolor and virginica are neither true nor
            // predicted (TP + FP + FN = 0): their scores are 0 / 0, undefined (NaN). scikit-learn's
            // f1_score(average='macro') averages over unique_labels(y_true, y_pred) = {setosa}: macro F1 = 1, not 1/3.
            let r = ClassificationMetrics.report [| "setosa"; "versicolor"; "virginica" |] (Array.zeroCreate 10) (Array.zeroCreate 10) None
            close r.Accuracy 1.0 "accuracy"
            close r.MacroF1 1.0 "macro F1 over the one class present"
            Expect.equal (r.PerClass.[0].Precision, r.PerClass.[0].Recall, r.PerClass.[0].F1, r.PerClass.[0].Support) (1.0, 1.0, 1.0, 10) "setosa"
            for c in 1 .. 2 do
                let s = r.PerClass.[c]
                Expect.isTrue (Double.IsNaN s.Precision && Double.IsNaN s.Recall && Double.IsNaN s.F1) (sprintf "%s: undefined scores, not 0: %A" s.ClassName s)
                Expect.equal s.Support 0 "no support"
            Expect.equal r.PerClass.Length 3 "a row for every class"
        }
        test "a class predicted but never true counts in macro F1 with F1 = 0; a class with neither does not" {
            // actual [a, a, b, b], predicted [a, c, b, b]; class d appears in neither. Hand count:
            //   a: TP 1, FP 0, FN 1 -> P = 1, R = 1/2, F1 = 2/3;   b: TP 2, FP 0, FN 0 -> P = R = F1 = 1;
            //   c: TP 0, FP 1, FN 0 -> P = 0, R = 0/0 (scikit-learn's zero_division gives 0), F1 = 0;
            //   d: TP + FP + FN = 0 -> undefined (NaN), left out.
            // scikit-learn: f1_score([0,0,1,1], [0,2,1,1], average='macro') averages over unique_labels = {0, 1, 2}:
            // (2/3 + 1 + 0) / 3 = 5/9.
            let r = ClassificationMetrics.report [| "a"; "b"; "c"; "d" |] [| 0; 2; 1; 1 |] [| 0; 0; 1; 1 |] None
            close r.MacroF1 (5.0 / 9.0) "macro F1 over a, b and c"
            close r.PerClass.[0].F1 (2.0 / 3.0) "F1 of a"
            Expect.equal (r.PerClass.[2].Precision, r.PerClass.[2].Recall, r.PerClass.[2].F1, r.PerClass.[2].Support) (0.0, 0.0, 0.0, 0) "c: predicted once, never true"
            Expect.isTrue (Double.IsNaN r.PerClass.[3].F1 && Double.IsNaN r.PerClass.[3].Precision && Double.IsNaN r.PerClass.[3].Recall) "d: undefined"
            close (ClassificationMetrics.macroF1 r.PerClass) (5.0 / 9.0) "macroF1 of the scores"
        }
        test "log-loss clips probabilities at 1e-15 like scikit-learn" {
            // -log(1e-15) = 34.538776394910684 (hand: 15 ln 10).
            close (ClassificationMetrics.logLoss (Mat.ofRows [ [| 1.0; 0.0 |] ]) [| 1 |]) (15.0 * log 10.0) "a sure wrong answer"
        }
        test "MSE, MAE and R^2 of one and two columns as scikit-learn" {
            let col (xs: float[]) = Mat.init xs.Length 1 (fun i _ -> xs.[i])
            let y = col [| 3.0; -0.5; 2.0; 7.0; 4.2 |]
            let yhat = col [| 2.5; 0.0; 2.0; 8.0; 3.9 |]
            let r = RegressionMetrics.report yhat y
            // scikit-learn: mse 0.318, mae 0.4600000000000001, r2 0.9480256276150627.
            close r.MeanSquaredError 0.318 "mse"
            close r.MeanAbsoluteError 0.46 "mae"
            close r.R2 0.9480256276150627 "r2"
            let y2 = Mat.ofRows [ [| 0.5; 1.0 |]; [| -1.0; 1.0 |]; [| 7.0; -6.0 |] ]
            let yhat2 = Mat.ofRows [ [| 0.0; 2.0 |]; [| -1.0; 2.0 |]; [| 8.0; -5.0 |] ]
            let r2 = RegressionMetrics.report yhat2 y2
            // scikit-learn (uniform average over columns): mse 0.7083333333333334, mae 0.75, r2 0.9368005266622779.
            close r2.MeanSquaredError 0.7083333333333334 "mse of two columns"
            close r2.MeanAbsoluteError 0.75 "mae of two columns"
            close r2.R2 0.9368005266622779 "r2 of two columns"
        }
        test "mismatched lengths and shapes are ArgumentExceptions naming the parameter and both sizes" {
            let e = Expect.throwsC (fun () -> ClassificationMetrics.accuracy [| 0 |] [| 0; 1 |] |> ignore) id
            Expect.equal (e :?> ArgumentException).ParamName "predicted" "ParamName"
            Expect.stringContains e.Message "1 labels but actual has 2" "both lengths"
            let e = Expect.throwsC (fun () -> RegressionMetrics.r2 (Mat.zeros 3 1) (Mat.zeros 2 1) |> ignore) id
            Expect.stringContains e.Message "2x1" "actual's shape"
            Expect.stringContains e.Message "3x1" "predicted's shape"
            let e = Expect.throwsC (fun () -> ClassificationMetrics.confusionMatrix 2 [| 0; 2 |] [| 0; 1 |] |> ignore) id
            Expect.stringContains e.Message "predicted[1] = 2" "the label out of range"
        }
        testProperty "the confusion matrix sums to n, its diagonal to n x accuracy, row sums are the supports" <| fun (pairs: (byte * byte) list) ->
            let pairs = pairs |> List.map (fun (a, b) -> int a % 4, int b % 4) |> Array.ofList
            pairs.Length = 0 || (
                let p, a = Array.map fst pairs, Array.map snd pairs
                let m = ClassificationMetrics.confusionMatrix 4 p a
                let total = Seq.sum (Seq.cast<int> m)
                let diag = Seq.sum (seq { for c in 0 .. 3 -> m.[c, c] })
                let scores = ClassificationMetrics.scoresOf [| "a"; "b"; "c"; "d" |] m
                total = pairs.Length
                && abs (float diag / float pairs.Length - ClassificationMetrics.accuracy p a) < 1e-15
                && (scores |> Array.mapi (fun c s -> s.Support = (a |> Array.filter ((=) c)).Length) |> Array.forall id))
        test "a probabilities matrix whose width is not the number of classes is refused, naming both shapes" {
            // 2 samples, 2 class names, but 3 probability columns: the report needs 2x2.
            let p = Mat.ofRows [ [| 0.5; 0.25; 0.25 |]; [| 0.1; 0.8; 0.1 |] ]
            match Expect.throwsC (fun () -> ClassificationMetrics.report [| "a"; "b" |] [| 0; 1 |] [| 0; 1 |] (Some p) |> ignore) id with
            | :? ArgumentException as e ->
                Expect.equal e.ParamName "probabilities" e.Message
                Expect.stringContains e.Message "2x3" "the matrix's shape"
                Expect.stringContains e.Message "2x2" "the shape it needs"
            | e -> failtestf "expected ArgumentException, got %O" e
            // One column too few as well (2 names, 1 column).
            Expect.throwsT<ArgumentException> (fun () -> ClassificationMetrics.report [| "a"; "b" |] [| 0; 1 |] [| 0; 1 |] (Some (Mat.ofRows [ [| 1.0 |]; [| 0.0 |] ])) |> ignore) "2x1"
        }
        test "R2 near the double range: scaled sums give the finite score" {
            let col (v: float list) = Mat.ofRows [ for x in v -> [| x |] ]
            // predicted [1e300; -1e300], actual [-1e300; 1e300]: errors -2e300 and 2e300, SS_res = 8e600;
            // the mean of actual is 0, SS_tot = 2e600; R2 = 1 - 8e600 / 2e600 = -3 (by hand).
            let p, a = col [ 1e300; -1e300 ], col [ -1e300; 1e300 ]
            close (RegressionMetrics.r2 p a) -3.0 "R2"
            close (Linear.Metrics.r2 p a) -3.0 "Linear R2"
            // Target [1e-200; -1e-200] predicted by 0: SS_res = SS_tot = 2e-400, which underflows to 0 when squared
            // directly; R2 = 1 - 1 = 0 (by hand), not the constant-target score.
            close (RegressionMetrics.r2 (col [ 0.0; 0.0 ]) (col [ 1e-200; -1e-200 ])) 0.0 "R2 of tiny values"
        }
        test "MSE and MAE near the double range: scaled sums, or a clear error when the value is not a double" {
            let col (v: float list) = Mat.ofRows [ for x in v -> [| x |] ]
            let p, a = col [ 1e300; -1e300 ], col [ -1e300; 1e300 ]
            // MSE = 8e600 / 2 = 4e600, beyond the largest double (1.8e308): an error, not infinity.
            let mseError (f: unit -> float) (param: string) =
                match Expect.throwsC (f >> ignore) id with
                | :? ArgumentException as e -> Expect.equal e.ParamName param e.Message; Expect.stringContains e.Message "larger than the largest double" "says why"
                | e -> failtestf "expected ArgumentException, got %O" e
            mseError (fun () -> RegressionMetrics.meanSquaredError p a) "predicted"
            mseError (fun () -> (RegressionMetrics.report p a).MeanSquaredError) "predicted"
            mseError (fun () -> Linear.Metrics.meanSquaredError p a) "prediction"
            // predicted [1e154; 1e154], actual [0; 0]: each squared error is 1e308 and their sum 2e308 overflows, but
            // the mean, 1e308, is a double (by hand).
            let p2, a2 = col [ 1e154; 1e154 ], col [ 0.0; 0.0 ]
            close (RegressionMetrics.meanSquaredError p2 a2) 1e308 "MSE"
            close (Linear.Metrics.meanSquaredError p2 a2) 1e308 "Linear MSE"
            // predicted [1e308; 1e308], actual [-1e307; -1e307]: |errors| 1.1e308, sum 2.2e308 overflows, mean 1.1e308.
            close (RegressionMetrics.meanAbsoluteError (col [ 1e308; 1e308 ]) (col [ -1e307; -1e307 ])) 1.1e308 "MAE"
        }
    ]
