namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Options of a binary linear classifier trained by (minibatch) SGD on a margin loss.
type ClassifierOptions =
    { /// The margin loss: Loss.Hinge, Loss.SquaredHinge (the notes' choice, rule (1.7)) or Loss.Logistic.
      Loss: Loss
      /// The SGD schedule, batch size, epochs, stopping rule and seed.
      Sgd: LinearSgdOptions
      /// Fit a bias b (a column of ones); it is trained like the other weights.
      FitIntercept: bool }
    /// Squared hinge, LinearSgdOptions.Default (eta_t = 0.01 / sqrt t, b = 1, 100 epochs), with a bias.
    static member Default = { Loss = Loss.SquaredHinge; Sgd = LinearSgdOptions.Default; FitIntercept = true }
    /// A copy with Loss changed.
    member this.WithLoss(loss: Loss) = { this with Loss = loss }
    /// A copy with the SGD options changed.
    member this.WithSgd(sgd: LinearSgdOptions) = { this with Sgd = sgd }
    /// A copy with FitIntercept changed.
    member this.WithFitIntercept(fitIntercept: bool) = { this with FitIntercept = fitIntercept }

/// Binary linear classifiers on labels {-1, +1} (notes ch. 1.4 and 2.2.2): the score is
/// yhat = x W + b, the predicted label is +1 when yhat > 0 and -1 otherwise, and W minimises
/// the mean margin loss C(W) = 1/n sum_i G(y_i yhat_i) by minibatch SGD,
/// W <- W - eta_t / b sum_{i in B} grad C_i(W), with the losses of Loss.fs:
/// hinge G(m) = max(0, 1 - m); squared hinge G(m) = 1/2 max(0, 1 - m)^2, whose per-sample
/// gradient is the notes' (1.7): 0 when y yhat >= 1, else (yhat - y) x; logistic
/// G(m) = log(1 + e^-m). The model is a LinearModel with one output.
module LinearClassifier =

    /// +1 for samples of class `positive`, -1 for every other class (for example to make Iris
    /// setosa against versicolor a {-1, +1} problem). A `positive` that occurs nowhere in a
    /// non-empty `classes` raises ArgumentException (ParamName "positive", naming the classes
    /// that occur): every label would be -1, a problem without a positive sample. An empty
    /// `classes` (no samples) gives an empty array.
    let binaryLabels (positive: int) (classes: int[]) : int[] =
        Check.notNull "classes" classes
        if classes.Length > 0 && not (Array.contains positive classes) then
            let occurring = Array.distinct classes |> Array.sort
            let shown =
                if occurring.Length <= 10 then String.Join(", ", occurring)
                else String.Join(", ", occurring.[.. 9]) + sprintf ", ... (%d classes)" occurring.Length
            Check.fail "positive"
                (sprintf "positive is %d, which does not occur among the classes (%s); every label would be -1. Give a class that occurs." positive shown)
        classes |> Array.map (fun c -> if c = positive then 1 else -1)

    /// The scores yhat = x W + b of the samples (one output column).
    let decision (model: LinearModel) (x: Matrix<float>) : float[] =
        if model.OutputSize <> 1 then
            Check.fail "model" (sprintf "a binary classifier has one output, but the model has %d (coefficients %s)." model.OutputSize (Mat.shapeOf model.Coefficients))
        (LinearModel.predict model x).Column(0).ToArray()

    /// The label of a score: +1 when z > 0, -1 otherwise (z <= 0, a score of exactly 0 included).
    /// The one place of this rule; the perceptron uses it too.
    let label (z: float) : int = if z > 0.0 then 1 else -1

    /// The predicted labels: +1 where the score is > 0, -1 elsewhere (the perceptron's rule, `label`).
    /// A score that overflows to one infinity keeps its sign, so it still gives a label; a NaN
    /// score (overflows of both signs) raises ArgumentException (ParamName "x", the row).
    let predict (model: LinearModel) (x: Matrix<float>) : int[] =
        if model.OutputSize <> 1 then
            Check.fail "model" (sprintf "a binary classifier has one output, but the model has %d (coefficients %s)." model.OutputSize (Mat.shapeOf model.Coefficients))
        (LinearModel.outputs true model x).Column(0).ToArray() |> Array.map label

    /// Raises ArgumentException (ParamName "labels") unless there is one label per row of x.
    let private checkLabelCount (x: Matrix<float>) (labels: int[]) =
        Check.notNull "labels" labels
        if labels.Length <> x.RowCount then
            Check.fail "labels" (sprintf "There are %d labels for the %d rows of x; there must be one label per row." labels.Length x.RowCount)

    /// The fraction of samples classified correctly.
    let accuracy (model: LinearModel) (x: Matrix<float>) (labels: int[]) : float =
        let predicted = predict model x
        checkLabelCount x labels
        Metrics.accuracy predicted labels

    /// The 0-1 error, 1 - accuracy.
    let zeroOneError (model: LinearModel) (x: Matrix<float>) (labels: int[]) : float =
        let predicted = predict model x
        checkLabelCount x labels
        Metrics.zeroOneError predicted labels

    let private checkMargin (loss: Loss) =
        if not (Loss.isMargin loss) then
            Check.fail "loss" (sprintf "loss %s is not a margin loss; a linear classifier on labels -1, +1 takes hinge, squared_hinge or logistic." (Loss.name loss))

    let internal checkData (x: Matrix<float>) (labels: int[]) =
        Mat.checkBatch "x" x
        Metrics.checkLabels "labels" labels
        if labels.Length <> x.RowCount then
            Check.fail "labels" (sprintf "labels has %d entries but x has shape %s; they need one entry per row." labels.Length (Mat.shapeOf x))

    /// The mean margin loss 1/n sum_i G(y_i yhat_i) of the model on (X, labels). Raises
    /// ArgumentException (ParamName "loss") for a loss that is not a margin loss.
    let cost (loss: Loss) (model: LinearModel) (x: Matrix<float>) (labels: int[]) : float =
        checkMargin loss
        checkData x labels
        let scores = LinearModel.predict model x
        Loss.value loss scores (LinearModel.column (labels |> Array.map float))

    /// The mean gradient of the margin loss over the rows of a design X1 at theta:
    /// X1^T dL/dyhat (Loss.gradient already divides by the number of rows).
    let internal batchGradient (loss: Loss) (design: Matrix<float>) (y: Matrix<float>) (theta: Matrix<float>) =
        design.TransposeThisAndMultiply(Loss.gradientUnchecked loss (design * theta) y)

    /// Trains a classifier on X (n x d) and labels in {-1, +1} from zero weights.
    /// Raises ArgumentException for a loss that is not a margin loss or labels other than -1, +1.
    let fitNamed (options: ClassifierOptions) (featureNames: string[]) (x: Matrix<float>) (labels: int[]) : LinearFitResult =
        checkData x labels
        checkMargin options.Loss
        let names = LinearModel.namesFor x.ColumnCount featureNames
        let design = LinearModel.design options.FitIntercept x
        let y = LinearModel.column (labels |> Array.map float)
        let theta0 = Matrix<float>.Build.Dense(design.ColumnCount, 1)
        let lossAndGradient (theta: Matrix<float>) (rows: int[]) =
            let d, t = if rows.Length = design.RowCount && Sgd.isAll rows then design, y else Mat.selectRows rows design, Mat.selectRows rows y
            Loss.valueUnchecked options.Loss (d * theta) t, batchGradient options.Loss d t theta
        let theta, steps, reason, costs =
            Sgd.run options.Sgd x.RowCount theta0 lossAndGradient (fun theta -> box (LinearModel.ofStacked options.FitIntercept names theta))
        { Model = LinearModel.ofStacked options.FitIntercept names theta
          Steps = steps; StopReason = reason; Costs = costs; LearningRate = Schedule.rate options.Sgd.Schedule 1 }

    /// `fitNamed` without feature names.
    let fit (options: ClassifierOptions) (x: Matrix<float>) (labels: int[]) : LinearFitResult =
        fitNamed options [||] x labels
