/// CSV loading and its errors, the embedded data sets, scalers (against scikit-learn,
/// tests/reference/metrics_sklearn.py), splits and the pipeline's fit on embedded data.
module Functional.NN.Tests.DataTests

open System
open Expecto
open FsCheck
open Functional.NN

let private close (actual: float) (expected: float) (what: string) =
    Expect.floatClose { absolute = 1e-12; relative = 1e-12 } actual expected (sprintf "%s: %.17g vs %.17g" what actual expected)

/// The DataFormatException a CSV text raises, with its message checked for each fragment.
let private csvError (options: CsvOptions) (text: string) (line: int) (fragments: string list) =
    match Expect.throwsC (fun () -> Csv.loadText options text |> ignore) id with
    | :? DataFormatException as e ->
        Expect.equal e.Line line (sprintf "line of: %s" e.Message)
        for f in fragments do Expect.stringContains e.Message f "message"
    | e -> failtestf "expected DataFormatException, got %O" e

let private flowers = "petal,width,species\n1.4,0.2,setosa\n4.7,1.4,versicolor\n6.0,2.5,virginica\n1.3,0.2,setosa\n"

[<Tests>]
let tests =
    testList "Data" [
        testList "CSV" [
            test "a text target becomes classes in sorted order, numbers become features" {
                let d = Csv.loadText (CsvOptions.Default.WithTarget "species") flowers
                Expect.equal d.FeatureNames [| "petal"; "width" |] "features"
                Expect.equal d.ClassNames [| "setosa"; "versicolor"; "virginica" |] "classes sorted"
                Expect.equal d.Labels [| 0; 1; 2; 0 |] "labels"
                Expect.equal (d.Features.Row(1).ToArray()) [| 4.7; 1.4 |] "second row"
            }
            test "the class order depends only on the set of labels, numbers sort by value" {
                let shuffled = "petal,width,species\n6.0,2.5,virginica\n1.3,0.2,setosa\n4.7,1.4,versicolor\n"
                Expect.equal (Csv.loadText CsvOptions.Default shuffled).ClassNames [| "setosa"; "versicolor"; "virginica" |] "same order, other rows"
                Expect.equal (Csv.classOrder [ "10"; "2"; "1" ]) [| "1"; "2"; "10" |] "numeric labels by value"
            }
            test "a numeric target is a regression unless classes are asked for" {
                let text = "x,y\n1,2.5\n2,4.5\n3,1e1\n"
                match (Csv.loadText CsvOptions.Default text).Target with
                | Target.Values v -> Expect.equal v [| 2.5; 4.5; 10.0 |] "values"
                | t -> failtestf "expected values, got %A" t
                let d = Csv.loadText (CsvOptions.Default.WithTargetKind TargetKind.Classification) text
                // Sorted by value, each spelled as Auto spells a numeric class: 1e1 is the class 10.
                Expect.equal d.ClassNames [| "2.5"; "4.5"; "10" |] "classes by numeric value, one text per value"
            }
            test "quoted fields, CRLF line ends, blank lines and surrounding spaces" {
                let d = Csv.loadText CsvOptions.Default "\"a, b\",c\r\n 1 , \"x \"\"y\"\"\"\r\n\r\n2,z\r\n"
                Expect.equal d.FeatureNames [| "a, b" |] "quoted header with a comma"
                Expect.equal d.ClassNames [| "x \"y\""; "z" |] "quoted label with quotes"
                Expect.equal (d.Features.Column(0).ToArray()) [| 1.0; 2.0 |] "trimmed numbers"
            }
            test "the feature columns can be chosen and reordered by name" {
                let d = Csv.loadText (CsvOptions.Default.WithFeatures [| "width"; "petal" |]) flowers
                Expect.equal (d.Features.Row(0).ToArray()) [| 0.2; 1.4 |] "reordered"
            }
            test "a ragged row names its line and both counts" {
                csvError CsvOptions.Default "a,b,c\n1,2,x\n3,4\n" 3 [ "Line 3"; "2 fields"; "3 columns" ]
            }
            test "text in a numeric column names the line, the column and the text" {
                // A column with at most 1 in 20 non-numbers is numeric-looking (docs/data-and-models.md):
                // 20 numbers and 'four' on line 22 is an error, not a text column.
                let rows = String.Join("", [ for i in 1 .. 20 -> sprintf "%d,%d,x\n" i i ])
                csvError CsvOptions.Default ("a,b,c\n" + rows + "3,four,y\n") 22 [ "Line 22"; "column 'b'"; "'four'" ]
            }
            test "NaN is a missing value and infinity is not a number a data set accepts" {
                csvError CsvOptions.Default "a,c\nNaN,x\n" 2 [ "column 'a'"; "'NaN'"; "missing" ]
                csvError CsvOptions.Default "a,c\n1,x\n-Infinity,y\n" 3 [ "'-Infinity'"; "finite" ]
            }
            test "a missing value is an error, never a silent NaN or a dropped row" {
                csvError CsvOptions.Default "a,b,c\n1,,x\n" 2 [ "Line 2"; "column 'b'"; "missing" ]
                csvError CsvOptions.Default "a,b,c\n1,2,\n" 2 [ "Line 2"; "column 'c'"; "target is missing" ]
            }
            test "a missing target column names the columns there are" {
                csvError (CsvOptions.Default.WithTarget "label") flowers 1 [ "no target column 'label'"; "petal, width, species" ]
            }
            test "an empty file, a header alone and a repeated column name are errors" {
                csvError CsvOptions.Default "" 0 [ "empty" ]
                csvError CsvOptions.Default "\n  \n" 0 [ "empty" ]
                csvError CsvOptions.Default "a,b\n" 1 [ "no data rows" ]
                csvError CsvOptions.Default "a,a,b\n1,2,x\n" 1 [ "'a' appears more than once" ]
            }
            test "a column name matches exactly first, and ignoring case only when one column matches so" {
                let text = "Ab,aB,x,y\n1,2,3,u\n4,5,6,v\n"
                // Exact names pick their own column even when another differs only in case.
                let d = Csv.loadText (CsvOptions.Default.WithFeatures [| "aB"; "Ab" |]) text
                Expect.equal (d.Features.Row(0).ToArray()) [| 2.0; 1.0 |] "aB then Ab"
                // 'X' matches only 'x' ignoring case: that column.
                Expect.equal (Csv.loadText (CsvOptions.Default.WithFeatures [| "X" |]) text).FeatureNames [| "x" |] "X is x"
                // 'ab' matches none exactly and two ignoring case: an error naming both, for every option that names columns.
                csvError (CsvOptions.Default.WithFeatures [| "ab" |]) text 1 [ "Features"; "'ab'"; "2 columns when case is ignored"; "Ab, aB" ]
                csvError (CsvOptions.Default.WithTextColumns [| "ab" |]) text 1 [ "TextColumns"; "'ab'"; "Ab, aB" ]
                csvError (CsvOptions.Default.WithTarget "AB") text 1 [ "Target"; "'AB'"; "Ab, aB" ]
                // TextColumns resolves by index: 'aB' (exact) makes that column text, and 'Ab' stays numbers.
                let d = Csv.loadText (CsvOptions.Default.WithTextColumns [| "aB" |]) text
                Expect.equal (Dataset.categoriesOf d 1) [| "2"; "5" |] "aB is text"
                Expect.equal (Dataset.categoriesOf d 0) [||] "Ab is numbers"
                // Dataset.selectFeatures resolves names the same way.
                Expect.equal (Dataset.selectFeatures [| "aB" |] d).FeatureNames [| "aB" |] "exact"
                let e = Expect.throwsC (fun () -> Dataset.selectFeatures [| "AB" |] d |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "names" "ParamName"
                Expect.stringContains e.Message "Ab, aB" "names both columns"
            }
            test "a class never seen in training is an error at evaluation time" {
                let known = CsvOptions.Default.WithClassNames [| "setosa"; "versicolor" |]
                csvError known flowers 4 [ "Line 4"; "'virginica'"; "setosa, versicolor" ]
            }
            test "a missing file is a FileNotFoundException naming the file" {
                let e = Expect.throwsC (fun () -> Csv.load CsvOptions.Default "no-such-file.csv" |> ignore) id
                Expect.isTrue (e :? IO.FileNotFoundException) "type"
                Expect.stringContains e.Message "no-such-file.csv" "names the file"
            }
            testProperty "formatted numbers and texts read back unchanged" <| fun (rows: (NormalFloat * NormalFloat) list) ->
                let rows = rows |> List.map (fun (NormalFloat a, NormalFloat b) -> a, b) |> Array.ofList
                rows.Length = 0 || (
                    let text = Csv.format [ "x"; "label, quoted" ] (rows |> Array.map (fun (a, b) -> [| Csv.formatNumber a; Csv.formatNumber b |]))
                    let d = Csv.loadText (CsvOptions.Default.WithTargetKind TargetKind.Regression) text
                    d.Features.Column(0).ToArray() = Array.map fst rows
                    && d.TargetName = "label, quoted"
                    && d.Target = Target.Values (Array.map snd rows))
        ]
        testList "embedded data sets" [
            test "iris, digits and commute load by name with the documented sizes" {
                let iris = Datasets.load "iris"
                Expect.equal (iris.SampleCount, iris.FeatureCount, iris.ClassNames) (150, 4, [| "setosa"; "versicolor"; "virginica" |]) "iris (Data/README.md)"
                let digits = Datasets.load "Digits"
                Expect.equal (digits.SampleCount, digits.FeatureCount, digits.ClassNames.Length) (1797, 64, 10) "digits (Data/README.md)"
                // The first digit of digits.csv is a 0 whose first row of pixels is 0,0,5,13,9,1,0,0.
                Expect.equal (digits.Features.Row(0).SubVector(0, 8).ToArray()) [| 0.0; 0.0; 5.0; 13.0; 9.0; 1.0; 0.0; 0.0 |] "first pixels"
                let commute = Datasets.load "commute"
                Expect.equal (commute.SampleCount, commute.FeatureNames, commute.TargetName) (5, [| "distance_km"; "weekday" |], "commute_min") "commute"
                Expect.isFalse commute.IsClassification "commute is a regression"
            }
            test "an unknown name is an ArgumentException listing the names" {
                let e = Expect.throwsC (fun () -> Datasets.load "mnist" |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "name" "ParamName"
                Expect.stringContains e.Message "commute, iris, digits" "the names"
            }
        ]
        testList "preprocessing" [
            let x = Mat.ofRows [ [| 1.0; 5.0 |]; [| 2.0; 5.0 |]; [| 4.0; 5.0 |]; [| 9.0; 5.0 |] ]
            test "standardisation as scikit-learn's StandardScaler, a constant column scaled by 1" {
                let s = Scaler.fitStandard x
                // scikit-learn: mean [4, 5], scale [3.082207001484488, 1], X[3] -> [1.6222142113076254, 0].
                Expect.equal s.Offset [| 4.0; 5.0 |] "means"
                close s.Scale.[0] 3.082207001484488 "sd (population form)"
                Expect.equal s.Scale.[1] 1.0 "constant column"
                let t = Scaler.transform s x
                close t.[3, 0] 1.6222142113076254 "X[3, 0]"
                Expect.equal t.[3, 1] 0.0 "X[3, 1]"
            }
            test "min-max scaling as scikit-learn's MinMaxScaler, also on new data outside the range" {
                let s = Scaler.fitMinMax x
                // scikit-learn: X[2] -> [0.375, 0]; the new row [10, 6] -> [1.125, 1].
                let t = Scaler.transform s x
                Expect.equal (t.Row(2).ToArray()) [| 0.375; 0.0 |] "X[2]"
                Expect.equal ((Scaler.transform s (Mat.ofRows [ [| 10.0; 6.0 |] ])).Row(0).ToArray()) [| 1.125; 1.0 |] "new row"
            }
            testProperty "inverse undoes transform (to rounding)" <| fun (seed: int) ->
                let xs, _ = Rng.many 12 (Rng.nextUniform -100.0 100.0) (Rng.create (int64 seed))
                let m = Mat.init 4 3 (fun i j -> xs.[i * 3 + j])
                [ Scaler.fitStandard m; Scaler.fitMinMax m ]
                |> List.forall (fun s -> Mat.maxAbs (Scaler.inverse s (Scaler.transform s m) - m) < 1e-12)
            test "a scaler refuses data of another width, naming both" {
                let e = Expect.throwsC (fun () -> Scaler.transform (Scaler.fitStandard x) (Mat.zeros 2 3) |> ignore) id
                Expect.equal (e :?> ArgumentException).ParamName "x" "ParamName"
                Expect.stringContains e.Message "2x3" "x's shape"
                Expect.stringContains e.Message "2 columns" "the fitted width"
            }
            test "one-hot encodes and decodes" {
                let m = OneHot.encode 3 [| 2; 0 |]
                Expect.equal (Mat.toArray2D m) (array2D [ [ 0.0; 0.0; 1.0 ]; [ 1.0; 0.0; 0.0 ] ]) "encode"
                Expect.equal (OneHot.decode m) [| 2; 0 |] "decode"
            }
        ]
        testList "splits" [
            testProperty "a stratified split is a partition that keeps each class's share within one row" <| fun (seed: int) (sizes: byte list) ->
                let sizes = sizes |> List.truncate 5 |> List.map (fun s -> 2 + int s % 30)
                sizes.IsEmpty || (
                    let labels = sizes |> List.mapi (fun c n -> Array.create n c) |> Array.concat
                    let s, _ = Split.stratified 0.25 labels (Rng.create (int64 seed))
                    let all = Array.append s.Train s.Test |> Array.sort
                    all = Array.init labels.Length id
                    && sizes |> List.mapi (fun c n ->
                        let inTest = s.Test |> Array.filter (fun i -> labels.[i] = c) |> Array.length
                        abs (float inTest - 0.25 * float n) <= 1.0 && inTest >= 1 && inTest < n) |> List.forall id)
            test "a split is a function of its seed" {
                let labels = (Datasets.load "iris").Labels
                let a, _ = Split.stratified 0.2 labels (Rng.create 3L)
                let b, _ = Split.stratified 0.2 labels (Rng.create 3L)
                let c, _ = Split.stratified 0.2 labels (Rng.create 4L)
                Expect.equal a b "same seed"
                Expect.notEqual a c "another seed"
                // 150 rows, 50 per class: round(0.2 x 50) = 10 test rows per class.
                Expect.equal a.Test.Length 30 "30 test rows"
            }
            testProperty "k-fold: the test folds partition the rows, sizes differ by at most one" <| fun (seed: int) (n: byte) (k: byte) ->
                let k = 2 + int k % 6
                let n = k + int n % 50
                let folds, _ = Split.kFold k n (Rng.create (int64 seed))
                let tests = folds |> Array.collect (fun f -> f.Test) |> Array.sort
                let sizes = folds |> Array.map (fun f -> f.Test.Length)
                tests = Array.init n id
                && Array.max sizes - Array.min sizes <= 1
                && folds |> Array.forall (fun f -> Array.append f.Train f.Test |> Array.sort = Array.init n id)
            test "stratified k-fold puts 10 of each iris class in each of 5 folds" {
                let labels = (Datasets.load "iris").Labels
                let folds, _ = Split.stratifiedKFold 5 labels (Rng.create 1L)
                for f in folds do
                    Expect.equal (f.Test |> Array.countBy (fun i -> labels.[i]) |> Array.sort) [| 0, 10; 1, 10; 2, 10 |] "50 per class / 5 folds"
            }
        ]
        testList "pipeline" [
            test "the scaler is fitted on the training rows only" {
                let d = Datasets.load "iris"
                let split, _ = Split.stratified 0.2 d.Labels (Rng.create 0L)
                let train = Dataset.selectRows split.Train d
                let p = PipelineFit.untrained FitOptions.Default train
                Expect.equal p.Scaler (Scaler.fitStandard train.Features) "fitted on the training rows"
                Expect.notEqual p.Scaler (Scaler.fitStandard d.Features) "not on all rows"
            }
            // The pipeline's training, once per backend (issue 11).
            for backend in [ Backend.Reference; Backend.Kernels ] do
              let options0 = TestOptions.notesFit.WithTraining(TestOptions.notesFit.Training.WithBackend backend)
              testList (Backend.name backend) [
                test "Iris: 4-16-3 by gradient descent reaches test accuracy >= 0.93 on a stratified split" {
                    let d = Datasets.load "iris"
                    let split, _ = Split.stratified 0.2 d.Labels (Rng.create 0L)
                    let r = PipelineFit.fit options0 (Dataset.selectRows split.Train d)
                    match Pipeline.evaluate r.Pipeline (Dataset.selectRows split.Test d) with
                    | Evaluation.Classification c ->
                        Expect.isGreaterThanOrEqual c.Accuracy 0.93 "test accuracy"
                        Expect.isLessThan (Array.last r.TrainLosses) (Array.head r.TrainLosses) "the loss fell"
                    | e -> failtestf "expected a classification, got %A" e
                }
                test "commute: a regression pipeline fits the notes' least-squares line closely" {
                    let d = Datasets.load "commute"
                    let r = PipelineFit.fit (options0.WithHiddenLayers([||]).WithLearningRate(0.1).WithEpochs(2000)) d
                    // With no hidden layer the network is the linear model; its fit approaches the notes'
                    // least-squares values Y* = [25.8396..., 34.9867..., 12.6197..., 42.1737..., 24.3803...] (Data/README.md).
                    let yStar = [| 25.8396358543418; 34.9866946778712; 12.6197478991597; 42.1736694677872; 24.3802521008403 |]
                    let yhat = Pipeline.predictValues r.Pipeline d.Features
                    for i in 0 .. 4 do Expect.floatClose { absolute = 1e-3; relative = 0.0 } yhat.[i, 0] yStar.[i] (sprintf "Y*[%d]" i)
                }
                test "margin losses train on +1/-1 one-vs-rest targets; binary cross-entropy on two classes uses one output" {
                    let d = Datasets.load "iris"
                    let split, _ = Split.stratified 0.2 d.Labels (Rng.create 0L)
                    let train, test = Dataset.selectRows split.Train d, Dataset.selectRows split.Test d
                    let hinge = PipelineFit.fit (options0.WithLoss(Loss.Hinge).WithLearningRate(0.1)) train
                    Expect.equal (Pipeline.trainingTargets hinge.Pipeline train).[0, train.Labels.[0]] 1.0 "the true class is +1"
                    Expect.equal ((Pipeline.trainingTargets hinge.Pipeline train).Row(0).Sum()) -1.0 "the two others are -1"
                    match Pipeline.evaluate hinge.Pipeline test with
                    | Evaluation.Classification c -> Expect.isGreaterThanOrEqual c.Accuracy 0.9 "hinge accuracy"
                    | e -> failtestf "%A" e
                    // Two classes (versicolor 1, virginica 2 renamed to 0 and 1) with binary cross-entropy on logits.
                    let rows = Array.init d.SampleCount id |> Array.filter (fun i -> d.Labels.[i] > 0)
                    let two = Dataset.selectRows rows d
                    let two = { two with Target = Target.Classes (two.Labels |> Array.map (fun l -> l - 1), [| "versicolor"; "virginica" |]) }
                    let p = (PipelineFit.fit (options0.WithLoss(Loss.BinaryCrossEntropyWithLogits)) two).Pipeline
                    Expect.equal p.Network.OutputSize 1 "one output"
                    let probs = (Pipeline.probabilities p two.Features).Value
                    Expect.isTrue (Seq.forall (fun i -> abs (probs.[i, 0] + probs.[i, 1] - 1.0) < 1e-12) (seq { 0 .. probs.RowCount - 1 })) "rows of probabilities sum to 1"
                    match Pipeline.evaluate p two with
                    | Evaluation.Classification c -> Expect.isGreaterThanOrEqual c.Accuracy 0.93 "training accuracy on two classes"
                    | e -> failtestf "%A" e
                }
              ]
            test "columns whose names differ only in case: a model evaluates on its own training file" {
                // 'A' holds the texts p/q/r and 'a' numbers; the header check is exact, so they are two columns. The model's
                // text column 'A' must make 'A' text only (resolved by index, exact name first), not 'a' as well, which
                // read as text gave "The column 'a' holds text ('0.5') but the model reads it as numbers".
                let rows = String.Join("", [ for i in 0 .. 59 -> sprintf "%c,%s,%s\n" "pqr".[i % 3] (Csv.formatNumber (float ((i * 37) % 100) / 100.0)) (if i % 2 = 0 then "yes" else "no") ])
                let text = "A,a,y\n" + rows
                let d = Csv.loadText CsvOptions.Default text
                Expect.equal (Dataset.categoriesOf d 0) [| "p"; "q"; "r" |] "A is text"
                Expect.equal (Dataset.categoriesOf d 1) [||] "a is numbers"
                let p = PipelineFit.untrained FitOptions.Default d
                let textColumns = p.FeatureNames |> Array.indexed |> Array.filter (fun (j, _) -> p.Preprocessor.Categories.[j].Length > 0) |> Array.map snd
                Expect.equal textColumns [| "A" |] "the model's text column"
                // As the CLI's evaluate and C#'s LoadCsvForModel read a file for a model.
                let forModel = { CsvOptions.Default.WithTarget("y").WithTargetKind(TargetKind.Classification).WithFeatures(p.FeatureNames).WithClassNames(p.ClassNames).WithTextColumns(textColumns) with RequireTarget = false }
                let again = Csv.loadText forModel text
                Expect.equal (Dataset.categoriesOf again 1) [||] "a is still numbers"
                Expect.equal (again.Features.Column(1).ToArray()) (d.Features.Column(1).ToArray()) "the same numbers"
                match Pipeline.evaluate p again with
                | Evaluation.Classification c -> Expect.equal (Array.sum (c.PerClass |> Array.map (fun s -> s.Support))) 60 "every row evaluated"
                | e -> failtestf "expected a classification, got %A" e
            }
            test "evaluating data whose classes are not the model's is an error" {
                let d = Datasets.load "iris"
                let p = PipelineFit.untrained FitOptions.Default d
                let other = Csv.loadText CsvOptions.Default flowers
                let e = Expect.throwsC (fun () -> Pipeline.evaluate p { other with FeatureNames = [| "sepal_length"; "sepal_width" |] } |> ignore) id
                Expect.stringContains e.Message "petal_length" "names the missing feature column"
            }
        ]
    ]
