namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// Precision, recall and F1 of one class, with its support. A class that is neither the true class
/// of a sample nor predicted for one (TP + FP + FN = 0) has no scores: its precision, recall and F1
/// are NaN (undefined), and the macro average leaves it out, as scikit-learn's does.
type ClassScores =
    { /// The class's name.
      ClassName: string
      /// TP / (TP + FP): of the samples predicted as the class, the fraction that are (0 when none is
      /// predicted but the class has samples, scikit-learn's zero_division = 0; NaN when it has neither).
      Precision: float
      /// TP / (TP + FN): of the samples of the class, the fraction found (0 when the class has none but
      /// is predicted, scikit-learn's zero_division = 0; NaN when it has neither).
      Recall: float
      /// 2 P R / (P + R), the harmonic mean (0 when P + R = 0; NaN when the class has neither samples
      /// nor predictions).
      F1: float
      /// The number of samples whose true class it is.
      Support: int }

/// A classifier's scores on a labelled set.
type ClassificationReport =
    { /// The fraction of samples classified right.
      Accuracy: float
      /// Counts[t, p]: samples of true class t predicted as class p (rows true, columns predicted).
      ConfusionMatrix: int[,]
      /// Scores per class, in class-index order.
      PerClass: ClassScores[]
      /// The unweighted mean of the per-class F1 over the classes that are the true class or the
      /// predicted class of at least one sample (scikit-learn's f1_score(average='macro'), which
      /// averages over unique_labels(y_true, y_pred)); a class with neither (F1 NaN) is left out.
      MacroF1: float
      /// The log-loss of the predicted probabilities (NaN when the model gives no probabilities).
      LogLoss: float }

/// A regressor's scores on a labelled set.
type RegressionReport =
    { /// 1/n sum (yhat - y)^2, averaged over the output columns.
      MeanSquaredError: float
      /// 1/n sum |yhat - y|, averaged over the output columns.
      MeanAbsoluteError: float
      /// 1 - SS_res / SS_tot of each output column, averaged over the columns.
      R2: float }

/// Scores of classifiers, from predicted and true class indices (and probabilities for the log-loss).
module ClassificationMetrics =

    let private checkPair (classes: int) (predicted: int[]) (actual: int[]) =
        Check.positiveInt "classes" classes
        Check.notNull "predicted" predicted
        Check.notNull "actual" actual
        if actual.Length = 0 then Check.fail "actual" "actual is empty; at least one sample is needed."
        if predicted.Length <> actual.Length then
            Check.fail "predicted" (sprintf "predicted has %d labels but actual has %d; they must agree." predicted.Length actual.Length)
        let inRange name (a: int[]) =
            a |> Array.iteri (fun i c -> if c < 0 || c >= classes then Check.fail name (sprintf "%s[%d] = %d is outside 0 .. %d." name i c (classes - 1)))
        inRange "predicted" predicted
        inRange "actual" actual

    /// The fraction of samples whose predicted class is the true one.
    let accuracy (predicted: int[]) (actual: int[]) : float =
        Check.notNull "predicted" predicted
        Check.notNull "actual" actual
        if actual.Length = 0 then Check.fail "actual" "actual is empty; at least one sample is needed."
        if predicted.Length <> actual.Length then
            Check.fail "predicted" (sprintf "predicted has %d labels but actual has %d; they must agree." predicted.Length actual.Length)
        float (Array.fold2 (fun c p a -> if p = a then c + 1 else c) 0 predicted actual) / float actual.Length

    /// The classes x classes confusion matrix: entry [t, p] counts samples of true class t
    /// predicted as p (scikit-learn's confusion_matrix layout).
    let confusionMatrix (classes: int) (predicted: int[]) (actual: int[]) : int[,] =
        checkPair classes predicted actual
        if int64 classes * int64 classes > int64 Array.MaxLength then
            Check.fail "classes" (sprintf "classes = %d would need a %d x %d confusion matrix, more than the %d entries an array holds." classes classes classes Array.MaxLength)
        let m = Array2D.zeroCreate classes classes
        Array.iter2 (fun p a -> m.[a, p] <- m.[a, p] + 1) predicted actual
        m

    /// Precision, recall, F1 and support of each class from a confusion matrix (rows true). A class
    /// whose row and column are all zeros (neither true nor predicted) gets NaN scores (undefined).
    let scoresOf (classNames: string[]) (confusion: int[,]) : ClassScores[] =
        Check.distinctNames "classNames" classNames
        Check.notNull "confusion" confusion
        let k = confusion.GetLength 0
        if confusion.GetLength 1 <> k || classNames.Length <> k then
            Check.fail "confusion" (sprintf "confusion has shape %s but there are %d class names; it must be %s." (Check.shape k (confusion.GetLength 1)) classNames.Length (Check.shape classNames.Length classNames.Length))
        Array.init k (fun c ->
            let tp = float confusion.[c, c]
            let predictedC = Seq.sum (seq { for t in 0 .. k - 1 -> confusion.[t, c] }) |> float
            let actualC = Seq.sum (seq { for p in 0 .. k - 1 -> confusion.[c, p] })
            if predictedC = 0.0 && actualC = 0 then
                // Neither a true nor a predicted class: every score is 0 / 0.
                { ClassName = classNames.[c]; Precision = nan; Recall = nan; F1 = nan; Support = 0 }
            else
                let precision = if predictedC = 0.0 then 0.0 else tp / predictedC
                let recall = if actualC = 0 then 0.0 else tp / float actualC
                let f1 = if precision + recall = 0.0 then 0.0 else 2.0 * precision * recall / (precision + recall)
                { ClassName = classNames.[c]; Precision = precision; Recall = recall; F1 = f1; Support = actualC })

    /// The unweighted mean F1 over the classes that have scores (the true or predicted class of
    /// some sample; NaN F1 left out), as scikit-learn's f1_score(average='macro'). Raises
    /// ArgumentException (ParamName "scores") when no class has scores (no classes, or an empty
    /// confusion matrix): a mean of nothing is no score.
    let macroF1 (scores: ClassScores[]) : float =
        Check.notNull "scores" scores
        if scores.Length = 0 then Check.fail "scores" "scores is empty; the macro F1 needs the scores of at least one class."
        let defined = scores |> Array.filter (fun s -> not (Double.IsNaN s.F1))
        if defined.Length = 0 then
            Check.fail "scores" (sprintf "None of the %d classes has scores (none is the true or predicted class of a sample: the confusion matrix is empty), so the macro F1 is undefined." scores.Length)
        defined |> Array.averageBy (fun s -> s.F1)

    /// The mean negative log-probability of the true class, -1/n sum_i log p_i,y_i, with p
    /// clipped to [1e-15, 1 - 1e-15] (scikit-learn's log_loss up to version 1.1; since 1.2 it
    /// clips to the data type's epsilon, 2.2e-16 for float64, which differs only where a true
    /// class has a probability below 1e-15). Each row of p must be a distribution over the classes:
    /// a row whose sum differs from 1 by more than 1e-5 is refused (ArgumentException, ParamName
    /// "probabilities", naming the row and its sum), where scikit-learn 1.1 renormalised it and
    /// later versions warn; the tolerance admits float32 probabilities of any number of classes.
    let logLoss (probabilities: Matrix<float>) (actual: int[]) : float =
        Mat.checkBatch "probabilities" probabilities
        Check.notNull "actual" actual
        if actual.Length <> probabilities.RowCount then
            Check.fail "actual" (sprintf "actual has %d labels but probabilities has shape %s; they must agree." actual.Length (Mat.shapeOf probabilities))
        let k = probabilities.ColumnCount
        for i in 0 .. probabilities.RowCount - 1 do
            for j in 0 .. k - 1 do
                let p = probabilities.[i, j]
                if p < 0.0 || p > 1.0 then
                    Check.fail "probabilities" (sprintf "probabilities holds %s at row %d, column %d; a probability lies in [0, 1]." (string p) i j)
            let mutable sum = 0.0
            for j in 0 .. k - 1 do sum <- sum + probabilities.[i, j]
            if abs (sum - 1.0) > 1e-5 then
                Check.fail "probabilities"
                    (sprintf "probabilities row %d sums to %s; each row must be a distribution over the %d classes, summing to 1 (within 1e-5). Scores proportional to probabilities can be divided by their row's sum first." i (sum.ToString("R", Globalization.CultureInfo.InvariantCulture)) k)
        let mutable s = 0.0
        actual |> Array.iteri (fun i c ->
            if c < 0 || c >= k then Check.fail "actual" (sprintf "actual[%d] = %d is outside 0 .. %d." i c (k - 1))
            s <- s - log (min (max probabilities.[i, c] 1e-15) (1.0 - 1e-15)))
        s / float actual.Length

    /// Every score at once; `probabilities` may be None (the log-loss is then NaN).
    let report (classNames: string[]) (predicted: int[]) (actual: int[]) (probabilities: Matrix<float> option) : ClassificationReport =
        Check.distinctNames "classNames" classNames
        match probabilities with
        | Some p ->
            Check.notNull "probabilities" p
            let rows = if isNull actual then p.RowCount else actual.Length
            if p.ColumnCount <> classNames.Length || p.RowCount <> rows then
                Check.fail "probabilities" (sprintf "probabilities has shape %s but there are %d class names and %d samples; it must be %s (one row per sample, one column per class)." (Check.shape p.RowCount p.ColumnCount) classNames.Length rows (Check.shape rows classNames.Length))
        | None -> ()
        let confusion = confusionMatrix classNames.Length predicted actual
        let scores = scoresOf classNames confusion
        { Accuracy = accuracy predicted actual
          ConfusionMatrix = confusion
          PerClass = scores
          MacroF1 = macroF1 scores
          LogLoss = match probabilities with Some p -> logLoss p actual | None -> Double.NaN }

/// Scores of regressors, from predictions and targets of one shape (n x k, one sample per row).
module RegressionMetrics =

    let private checkPair (predicted: Matrix<float>) (actual: Matrix<float>) =
        Mat.checkBatch "predicted" predicted
        Mat.checkBatch "actual" actual
        if predicted.RowCount <> actual.RowCount || predicted.ColumnCount <> actual.ColumnCount then
            Check.fail "actual" (sprintf "actual has shape %s but predicted has shape %s; they must agree." (Mat.shapeOf actual) (Mat.shapeOf predicted))

    let private perColumn (f: int -> float) (predicted: Matrix<float>) = Array.init predicted.ColumnCount f |> Array.average

    /// 1/n sum_i (yhat_i - y_i)^2 of each column, averaged over the columns (scikit-learn's
    /// mean_squared_error; for one column the notes' cost (1.3) is half of it). This is
    /// Linear.Metrics.meanSquaredError (which sums over the columns) divided by the column count.
    let meanSquaredError (predicted: Matrix<float>) (actual: Matrix<float>) : float =
        checkPair predicted actual
        let plain = Loss.valueUnchecked Loss.MeanSquaredError predicted actual / float predicted.ColumnCount
        if Double.IsFinite plain then plain
        else Linear.Metrics.meanSquaredErrorScaled "predicted" 1.0 predicted actual

    /// 1/n sum_i |yhat_i - y_i| of each column, averaged over the columns.
    let meanAbsoluteError (predicted: Matrix<float>) (actual: Matrix<float>) : float =
        checkPair predicted actual
        let plain = predicted |> perColumn (fun j -> Seq.init predicted.RowCount (fun i -> abs (predicted.[i, j] - actual.[i, j])) |> Seq.average)
        if Double.IsFinite plain then plain
        else
            // A running mean of the halved differences, which never overflow; doubled at the end.
            let half =
                predicted |> perColumn (fun j ->
                    let mutable m = 0.0
                    for i in 0 .. predicted.RowCount - 1 do
                        m <- m + (abs (predicted.[i, j] / 2.0 - actual.[i, j] / 2.0) - m) / float (i + 1)
                    m)
            let mae = 2.0 * half
            if not (Double.IsFinite mae) then
                Check.fail "predicted" "The mean absolute error of these predictions is larger than the largest double; rescale the values to score them."
            mae

    /// R^2 = 1 - SS_res / SS_tot of each column, averaged over the columns (scikit-learn's
    /// r2_score): Linear.Metrics.r2.
    let r2 (predicted: Matrix<float>) (actual: Matrix<float>) : float =
        checkPair predicted actual
        try Linear.Metrics.r2 predicted actual
        with :? ArgumentException as e when e.ParamName = "prediction" -> Check.fail "predicted" e.Message

    /// Every score at once.
    let report (predicted: Matrix<float>) (actual: Matrix<float>) : RegressionReport =
        { MeanSquaredError = meanSquaredError predicted actual
          MeanAbsoluteError = meanAbsoluteError predicted actual
          R2 = r2 predicted actual }
