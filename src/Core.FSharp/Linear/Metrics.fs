namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Scores of predictions against targets: MSE and R^2 for regression, accuracy and the 0-1
/// error for classification on labels {-1, +1}. Pure functions of their arguments.
module Metrics =

    let private checkSameShape (prediction: Matrix<float>) (target: Matrix<float>) =
        Mat.checkBatch "prediction" prediction
        Mat.checkBatch "target" target
        if prediction.RowCount <> target.RowCount || prediction.ColumnCount <> target.ColumnCount then
            Check.fail "target" (sprintf "target has shape %s but prediction has shape %s; they must agree." (Mat.shapeOf target) (Mat.shapeOf prediction))

    /// sum of f(i)^2 over i < n as (big, s) with the sum = big^2 s: each term is divided by
    /// big = max |f(i)| before squaring, so no square overflows or underflows to 0 (as the scaler
    /// sums its deviations). (0, 0) when every term is 0.
    let internal scaledSquares (n: int) (f: int -> float) : float * float =
        let mutable big = 0.0
        for i in 0 .. n - 1 do
            let a = abs (f i)
            if a > big then big <- a
        if big = 0.0 then 0.0, 0.0
        else
            let mutable s = 0.0
            for i in 0 .. n - 1 do
                let r = f i / big
                s <- s + r * r
            big, s

    /// The mean of (yhat - y)^2 over every entry, times `perRow` (the column count to sum over
    /// the outputs, 1 to average over them), computed on halved differences yhat/2 - y/2 (which
    /// never overflow) scaled by their largest. Raises ArgumentException (ParamName `name`) when
    /// the finite inputs' mean squared error is larger than the largest double.
    let internal meanSquaredErrorScaled (name: string) (perRow: float) (prediction: Matrix<float>) (target: Matrix<float>) : float =
        let rows, cols = prediction.RowCount, prediction.ColumnCount
        let count = rows * cols
        let half k = prediction.[k / cols, k % cols] / 2.0 - target.[k / cols, k % cols] / 2.0
        let big, s = scaledSquares count half
        // mse = perRow * 4 big^2 s / count = (2 big sqrt(perRow s / count))^2.
        let root = 2.0 * big * sqrt (perRow * s / float count)
        let mse = root * root
        if not (Double.IsFinite mse) then
            Check.fail name (sprintf "The mean squared error of these predictions is larger than the largest double (the root mean squared error is %s); rescale the values (e.g. divide them by 1e150) to score them." (if Double.IsFinite root then string root else "itself beyond the double range"))
        mse

    /// The plain mean squared error, 1/n sum_i sum_k (yhat_ik - y_ik)^2 (summed over the k
    /// outputs, averaged over the n rows). The notes' cost (1.3) is half of it. Finite inputs give
    /// the finite value whenever it is representable (the squares are scaled first); a value
    /// beyond the double range raises ArgumentException (ParamName "prediction").
    let meanSquaredError (prediction: Matrix<float>) (target: Matrix<float>) : float =
        checkSameShape prediction target
        let plain = Loss.valueUnchecked Loss.MeanSquaredError prediction target
        if Double.IsFinite plain then plain
        else meanSquaredErrorScaled "prediction" (float prediction.ColumnCount) prediction target

    /// The coefficient of determination R^2 = 1 - SS_res / SS_tot of each output column,
    /// averaged over the columns (scikit-learn's r2_score with uniform averaging). A column whose
    /// target is constant scores 1 when it is predicted exactly and 0 otherwise (as scikit-learn).
    /// With fewer than two rows R^2 is undefined: NaN (scikit-learn returns NaN with a warning).
    /// The sums of squares are taken on halved differences scaled by their largest, and the
    /// mean as a running mean, so finite inputs near the double range give the right finite
    /// score; a score beyond the double range (SS_res / SS_tot overflows) raises
    /// ArgumentException (ParamName "prediction").
    let r2 (prediction: Matrix<float>) (target: Matrix<float>) : float =
        checkSameShape prediction target
        let n = target.RowCount
        if n < 2 then nan else
        // A sum of squares of the differences f(i) as (big, s, h) with the sum = (h big)^2 s: on the
        // differences themselves (h = 1) unless one of them overflows, then on halved ones (h = 2).
        let squares (f: int -> float) (g: int -> float) =
            let big, s = scaledSquares n f
            if Double.IsFinite big then big, s, 1.0
            else let big, s = scaledSquares n g in big, s, 2.0
        let scores =
            Array.init target.ColumnCount (fun k ->
                let t0 = target.[0, k]
                if Seq.init n id |> Seq.forall (fun i -> target.[i, k] = t0) then
                    // A constant target (checked exactly, before any mean is computed, whose rounding
                    // would make the total sum of squares tiny instead of 0): 1 when predicted
                    // exactly, else 0.
                    if Seq.init n id |> Seq.forall (fun i -> prediction.[i, k] = t0) then 1.0 else 0.0
                else
                    // The mean: the plain one when the sum is finite, else a running mean.
                    let plainMean = (Seq.init n (fun i -> target.[i, k]) |> Seq.sum) / float n
                    let mean =
                        if Double.IsFinite plainMean then plainMean
                        else
                            let mutable m = 0.0
                            for i in 0 .. n - 1 do m <- m + (target.[i, k] - m) / float (i + 1)
                            m
                    // Scaled sums of squares (no square overflows or underflows to 0).
                    let bigRes, sRes, hRes = squares (fun i -> target.[i, k] - prediction.[i, k]) (fun i -> target.[i, k] / 2.0 - prediction.[i, k] / 2.0)
                    let bigTot, sTot, hTot = squares (fun i -> target.[i, k] - mean) (fun i -> target.[i, k] / 2.0 - mean / 2.0)
                    if bigRes = 0.0 then 1.0
                    elif bigTot = 0.0 then 0.0
                    else
                        // SS_res / SS_tot = (hRes bigRes / (hTot bigTot))^2 sRes / sTot.
                        let q = (bigRes / bigTot) * (hRes / hTot)
                        let score = 1.0 - q * q * (sRes / sTot)
                        if not (Double.IsFinite score) then
                            Check.fail "prediction" (sprintf "R^2 of output column %d is below the most negative double (the residual sum of squares is more than 1e308 times the total sum of squares); the predictions are far from the targets' range." k)
                        score)
        Array.average scores

    /// Raises unless every label is -1 or +1 (the notes' binary labels).
    let checkLabels (name: string) (labels: int[]) =
        Check.notNull name labels
        if labels.Length = 0 then Check.fail name (sprintf "%s is empty; at least one label is needed." name)
        labels |> Array.iteri (fun i y ->
            if y <> 1 && y <> -1 then
                Check.fail name (sprintf "%s[%d] = %d; binary labels must be -1 or +1." name i y))

    let private checkLabelPair (predicted: int[]) (labels: int[]) =
        checkLabels "predicted" predicted
        checkLabels "labels" labels
        if predicted.Length <> labels.Length then
            Check.fail "labels" (sprintf "labels has %d entries but predicted has %d; they must agree." labels.Length predicted.Length)

    /// The fraction of labels predicted correctly.
    let accuracy (predicted: int[]) (labels: int[]) : float =
        checkLabelPair predicted labels
        float (Array.fold2 (fun c p y -> if p = y then c + 1 else c) 0 predicted labels) / float labels.Length

    /// The notes' 0-1 error (ch. 1.4), C = 1/n sum_i I[yhat_i <> y_i]: 1 - accuracy.
    let zeroOneError (predicted: int[]) (labels: int[]) : float = 1.0 - accuracy predicted labels

    /// The notes' 0-1 error computed from real-valued scores z_i = W^T x_i:
    /// 1/n sum_i I[sgn(z_i) <> y_i] with sgn(0) = 0, so that a score of exactly 0 counts as an
    /// error for either label (the notes' definition; `zeroOneError` of predicted labels instead
    /// follows the perceptron's rule yhat = -1 at z = 0).
    let zeroOneErrorOfScores (scores: float[]) (labels: int[]) : float =
        Check.notNull "scores" scores
        checkLabels "labels" labels
        if scores.Length <> labels.Length then
            Check.fail "labels" (sprintf "labels has %d entries but scores has %d; they must agree." labels.Length scores.Length)
        Check.finite2D "scores" 1 scores.Length (fun _ j -> scores.[j])
        let wrong = Array.fold2 (fun c (z: float) y -> if float (sign z) <> float y then c + 1 else c) 0 scores labels
        float wrong / float labels.Length
