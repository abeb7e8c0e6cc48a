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

    /// The plain mean squared error, 1/n sum_i sum_k (yhat_ik - y_ik)^2 (summed over the k
    /// outputs, averaged over the n rows). The notes' cost (1.3) is half of it.
    let meanSquaredError (prediction: Matrix<float>) (target: Matrix<float>) : float =
        checkSameShape prediction target
        Loss.valueUnchecked Loss.MeanSquaredError prediction target

    /// The coefficient of determination R^2 = 1 - SS_res / SS_tot of each output column,
    /// averaged over the columns (scikit-learn's r2_score with uniform averaging). A column whose
    /// target is constant scores 1 when it is predicted exactly and 0 otherwise (as scikit-learn).
    let r2 (prediction: Matrix<float>) (target: Matrix<float>) : float =
        checkSameShape prediction target
        let n = target.RowCount
        let scores =
            Array.init target.ColumnCount (fun k ->
                let mean = (Seq.init n (fun i -> target.[i, k]) |> Seq.sum) / float n
                let mutable ssRes = 0.0
                let mutable ssTot = 0.0
                for i in 0 .. n - 1 do
                    let e = target.[i, k] - prediction.[i, k]
                    let d = target.[i, k] - mean
                    ssRes <- ssRes + e * e
                    ssTot <- ssTot + d * d
                if ssTot = 0.0 then (if ssRes = 0.0 then 1.0 else 0.0) else 1.0 - ssRes / ssTot)
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
