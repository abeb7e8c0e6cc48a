namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// A loss L(Yhat, Y) of a batch: the network's output Yhat and the target Y are both n x k, one
/// sample per row. Every loss sums over the k columns and averages over the n rows.
[<RequireQualifiedAccess>]
type Loss =
    /// The notes' form: L = 1/(2n) sum (yhat - y)^2; dL/dyhat = (yhat - y)/n.
    | HalfMeanSquaredError
    /// The plain form: L = 1/n sum (yhat - y)^2; dL/dyhat = 2 (yhat - y)/n.
    | MeanSquaredError
    /// On probabilities p in (0, 1): L = -1/n sum [y log p + (1 - y) log(1 - p)];
    /// dL/dp = (p - y) / (p (1 - p)) / n. p is clamped to [1e-15, 1 - 1e-15]; an output outside
    /// [0, 1] is refused (`checkProbabilities`), and a network trained with it must end with the
    /// sigmoid (`Network.checkLossFits`).
    | BinaryCrossEntropy
    /// On logits z, stable: L = 1/n sum [max(z, 0) - z y + log(1 + e^-|z|)]; dL/dz = (sigmoid z - y)/n.
    | BinaryCrossEntropyWithLogits
    /// On logits z with one-hot (or probability) rows y, by log-sum-exp:
    /// L = 1/n sum_i sum_k y_ik (lse(z_i) - z_ik); dL/dz = (softmax(z) sum_k y_ik - y)/n.
    | SoftmaxCrossEntropy
    /// On margins m = y yhat with y in {-1, +1}: L = 1/n sum max(0, 1 - m); dL/dyhat = -y/n where m < 1.
    | Hinge
    /// The notes' squared hinge: L = 1/n sum 1/2 max(0, 1 - m)^2; dL/dyhat = -y max(0, 1 - m)/n.
    | SquaredHinge
    /// The logistic loss on margins: L = 1/n sum log(1 + e^-m); dL/dyhat = -y sigmoid(-m)/n.
    | Logistic

/// Values and gradients of losses, side by side.
module Loss =

    open Functional.NN.Kernels

    let private name_ (loss: Loss) =
        match loss with
        | Loss.HalfMeanSquaredError -> "half_mse"
        | Loss.MeanSquaredError -> "mse"
        | Loss.BinaryCrossEntropy -> "bce"
        | Loss.BinaryCrossEntropyWithLogits -> "bce_logits"
        | Loss.SoftmaxCrossEntropy -> "softmax_cross_entropy"
        | Loss.Hinge -> "hinge"
        | Loss.SquaredHinge -> "squared_hinge"
        | Loss.Logistic -> "logistic"

    /// The loss's case name (`MeanSquaredError`), the same in the F# core and the C# facade: the
    /// name error messages use (`name` is the short name of files and the command line).
    let caseName (loss: Loss) =
        match loss with
        | Loss.HalfMeanSquaredError -> "HalfMeanSquaredError"
        | Loss.MeanSquaredError -> "MeanSquaredError"
        | Loss.BinaryCrossEntropy -> "BinaryCrossEntropy"
        | Loss.BinaryCrossEntropyWithLogits -> "BinaryCrossEntropyWithLogits"
        | Loss.SoftmaxCrossEntropy -> "SoftmaxCrossEntropy"
        | Loss.Hinge -> "Hinge"
        | Loss.SquaredHinge -> "SquaredHinge"
        | Loss.Logistic -> "Logistic"

    /// Row-wise softmax, shifted by each row's maximum so that logits of 1e4 do not overflow.
    let softmax (z: Matrix<float>) : Matrix<float> =
        let result = Mat.zeros z.RowCount z.ColumnCount
        for i in 0 .. z.RowCount - 1 do
            let mutable m = Double.NegativeInfinity
            for j in 0 .. z.ColumnCount - 1 do m <- max m z.[i, j]
            let mutable s = 0.0
            for j in 0 .. z.ColumnCount - 1 do
                let e = exp (z.[i, j] - m)
                result.[i, j] <- e
                s <- s + e
            for j in 0 .. z.ColumnCount - 1 do result.[i, j] <- result.[i, j] / s
        result

    /// log(sum_j e^{z_ij}) of each row, without overflow.
    let logSumExp (z: Matrix<float>) : float[] =
        Array.init z.RowCount (fun i ->
            let mutable m = Double.NegativeInfinity
            for j in 0 .. z.ColumnCount - 1 do m <- max m z.[i, j]
            let mutable s = 0.0
            for j in 0 .. z.ColumnCount - 1 do s <- s + exp (z.[i, j] - m)
            m + log s)

    /// True when the loss takes labels in {-1, +1} (a margin loss).
    let isMargin (loss: Loss) =
        match loss with
        | Loss.Hinge | Loss.SquaredHinge | Loss.Logistic -> true
        | _ -> false

    /// The places where the loss or its derivative is not smooth, as a function of (yhat, y): the
    /// hinge and the squared hinge (whose second derivative jumps) at margin 1. Returns the distance
    /// of the margin from the nearest kink (infinity when there is none).
    let kinkDistance (loss: Loss) (yhat: float) (y: float) =
        match loss with
        | Loss.Hinge | Loss.SquaredHinge -> abs (1.0 - y * yhat)
        | _ -> Double.PositiveInfinity

    /// Raises ArgumentException (ParamName "loss") when the loss cannot train an output of `cols`
    /// columns: softmax cross-entropy on one column, whose softmax is 1 whatever the logit, so
    /// the loss is 0 and its gradient 0 (training would learn nothing, silently).
    let checkOutputWidth (loss: Loss) (cols: int) =
        if loss = Loss.SoftmaxCrossEntropy && cols = 1 then
            Check.fail "loss" "The loss is SoftmaxCrossEntropy but the output has one column: the softmax of one column is 1 whatever its value, so the loss is always 0 and training learns nothing. For two classes in one output column use BinaryCrossEntropyWithLogits (on a logit) or BinaryCrossEntropy (on a sigmoid output); for softmax cross-entropy give the network one output column per class."

    /// Checks that the loss suits an output of `cols` columns (`checkOutputWidth`, ParamName
    /// "loss"), and that a target is finite, of the shape rows x cols of the output it is compared
    /// with, and holds labels the loss takes (from shapes alone: no output is computed). Every
    /// place a loss meets a network's output (the trainer's checks on both backends, the loss and
    /// its gradient, gradient checks) comes through here.
    let checkTargetFor (name: string) (loss: Loss) (rows: int) (cols: int) (target: Matrix<float>) =
        checkOutputWidth loss cols
        Mat.checkBatch name target
        if rows <> target.RowCount || cols <> target.ColumnCount then
            Check.fail name (sprintf "%s has shape %s but the output has shape %s; they must agree." name (Mat.shapeOf target) (Check.shape rows cols))
        // The labels the loss takes, and what the error says of them.
        let rule =
            match loss with
            | _ when isMargin loss -> Some ((fun y -> y = 1.0 || y = -1.0), "a margin loss takes labels -1 and +1.")
            | Loss.BinaryCrossEntropy | Loss.BinaryCrossEntropyWithLogits | Loss.SoftmaxCrossEntropy ->
                Some ((fun y -> not (y < 0.0 || y > 1.0)), "a cross-entropy target must lie in [0, 1].")
            | _ -> None
        match rule with
        | None -> ()
        | Some (fits, what) ->
            // One pass over a dense target's storage; the row-by-row search, which names the first
            // bad label's row and column, runs only when that pass finds one (or for other storage).
            let data = target.AsColumnMajorArray()
            if isNull data || not (Array.forall fits data) then
                for i in 0 .. target.RowCount - 1 do
                    for j in 0 .. target.ColumnCount - 1 do
                        let y = target.[i, j]
                        if not (fits y) then Check.fail name (sprintf "%s holds %g at row %d, column %d; %s" name y i j what)

    /// Checks that output and target have one shape and are finite, and that labels suit the loss.
    let checkTargetNamed (name: string) (loss: Loss) (output: Matrix<float>) (target: Matrix<float>) =
        checkTargetFor name loss output.RowCount output.ColumnCount target

    /// `checkTargetNamed "target"`.
    let checkTarget loss output target = checkTargetNamed "target" loss output target

    /// The one table from the core's losses to the kernels'.
    let kernel (loss: Loss) : LossKind =
        match loss with
        | Loss.HalfMeanSquaredError -> LossKind.HalfMeanSquaredError
        | Loss.MeanSquaredError -> LossKind.MeanSquaredError
        | Loss.BinaryCrossEntropy -> LossKind.BinaryCrossEntropy
        | Loss.BinaryCrossEntropyWithLogits -> LossKind.BinaryCrossEntropyWithLogits
        | Loss.SoftmaxCrossEntropy -> LossKind.SoftmaxCrossEntropy
        | Loss.Hinge -> LossKind.Hinge
        | Loss.SquaredHinge -> LossKind.SquaredHinge
        | Loss.Logistic -> LossKind.Logistic

    /// The loss of a batch, without argument checks (see `value`). Element-wise losses sum
    /// `Formulas.LossTerm` over every element (row by row) and scale by `Formulas.LossScale` / n.
    let valueUnchecked (loss: Loss) (output: Matrix<float>) (target: Matrix<float>) : float =
        let n = float output.RowCount
        match loss with
        | Loss.SoftmaxCrossEntropy ->
            let lse = logSumExp output
            let mutable s = 0.0
            for i in 0 .. output.RowCount - 1 do
                for j in 0 .. output.ColumnCount - 1 do
                    s <- s + target.[i, j] * (lse.[i] - output.[i, j])
            s / n
        | _ ->
            let kind = kernel loss
            let mutable s = 0.0
            for i in 0 .. output.RowCount - 1 do
                for j in 0 .. output.ColumnCount - 1 do
                    s <- s + Formulas.LossTerm(kind, output.[i, j], target.[i, j])
            Formulas.LossScale kind * s / n

    /// dL/dYhat of a batch, without argument checks (see `gradient`): `Formulas.LossGradient`
    /// element by element, or the softmax form for softmax cross-entropy.
    let gradientUnchecked (loss: Loss) (output: Matrix<float>) (target: Matrix<float>) : Matrix<float> =
        let n = float output.RowCount
        match loss with
        | Loss.SoftmaxCrossEntropy ->
            let s = softmax output
            let rowMass = target.RowSums()
            Mat.init output.RowCount output.ColumnCount (fun i j -> (s.[i, j] * rowMass.[i] - target.[i, j]) / n)
        | _ ->
            let kind = kernel loss
            Mat.map2 (fun p y -> Formulas.LossGradient(kind, p, y, n)) output target

    /// Raises ArgumentException (ParamName `name`, the target's) when a loss value computed from
    /// finite outputs and targets is not finite: it names the first row whose own loss overflows
    /// (|yhat - y| above about 1.3e154 for the squared errors), or says that the finite row losses
    /// sum past the double range. The cross-entropies and margin losses of finite values are
    /// finite (log-sum-exp and softplus do not overflow), except for margins of 1e308 and more.
    let failOverflow (name: string) (loss: Loss) (output: Matrix<float>) (target: Matrix<float>) : 'a =
        let row i = valueUnchecked loss (output.SubMatrix(i, 1, 0, output.ColumnCount)) (target.SubMatrix(i, 1, 0, target.ColumnCount))
        match Seq.init output.RowCount id |> Seq.tryFind (fun i -> not (Double.IsFinite (row i))) with
        | Some i ->
            Check.fail name (sprintf "The %s loss of row %d overflows the double range (it is %s): the output and %s differ by too much there (output %s, %s %s). Scale the targets (for example standardise them)." (caseName loss) i (string (row i)) name (String.Join(", ", output.Row(i).ToArray() |> Array.map string)) name (String.Join(", ", target.Row(i).ToArray() |> Array.map string)))
        | None ->
            Check.fail name (sprintf "The %s loss overflows the double range: every row's loss is finite but their sum is not. Scale the targets (for example standardise them)." (caseName loss))

    /// Raises ArgumentException (ParamName `name`) when the loss is binary cross-entropy and
    /// `output` (called `what` in the message) holds a value outside [0, 1], naming its row and
    /// column: the loss takes probabilities (its clamp would give such a value a loss of about 0
    /// and a gradient pointing further out, as a check of the output catches in PyTorch's BCELoss).
    let checkProbabilities (name: string) (what: string) (loss: Loss) (output: Matrix<float>) =
        if loss = Loss.BinaryCrossEntropy then
            let inRange (p: float) = not (p < 0.0 || p > 1.0)
            let storage = output.AsColumnMajorArray()
            if isNull storage || not (Array.forall inRange storage) then
                for i in 0 .. output.RowCount - 1 do
                    for j in 0 .. output.ColumnCount - 1 do
                        let p = output.[i, j]
                        if not (inRange p) then
                            Check.fail name (sprintf "BinaryCrossEntropy takes probabilities in [0, 1], but %s holds %s at row %d, column %d: end the network with the sigmoid activation, or use BinaryCrossEntropyWithLogits on raw outputs." what (string p) i j)

    /// `value` with the target named `name` in errors (see `value`).
    let valueNamed (name: string) (loss: Loss) (output: Matrix<float>) (target: Matrix<float>) : float =
        Mat.checkBatch "output" output
        checkTargetNamed name loss output target
        checkProbabilities "output" "output" loss output
        let v = valueUnchecked loss output target
        if not (Double.IsFinite v) then failOverflow name loss output target
        v

    /// The loss of a batch. Raises ArgumentException for shapes that disagree, non-finite values,
    /// labels the loss does not take, outputs outside [0, 1] for binary cross-entropy (ParamName
    /// "output", see `checkProbabilities`), or a loss that overflows (naming the row, see `failOverflow`).
    let value (loss: Loss) (output: Matrix<float>) (target: Matrix<float>) : float =
        valueNamed "target" loss output target

    /// dL/dYhat of a batch, the same shape as the output. Raises as `value` does (a gradient entry
    /// that overflows names its row).
    let gradient (loss: Loss) (output: Matrix<float>) (target: Matrix<float>) : Matrix<float> =
        Mat.checkBatch "output" output
        checkTarget loss output target
        checkProbabilities "output" "output" loss output
        let g = gradientUnchecked loss output target
        for i in 0 .. g.RowCount - 1 do
            for j in 0 .. g.ColumnCount - 1 do
                if not (Double.IsFinite g.[i, j]) then
                    Check.fail "target" (sprintf "The gradient of the %s loss overflows the double range at row %d, column %d (it is %s): the output %s and the target %s differ by too much. Scale the targets (for example standardise them)." (caseName loss) i j (string g.[i, j]) (string output.[i, j]) (string target.[i, j]))
        g

    /// The name used in files and on the command line.
    let name (loss: Loss) = name_ loss

    /// All losses, in a fixed order.
    let all =
        [ Loss.HalfMeanSquaredError; Loss.MeanSquaredError; Loss.BinaryCrossEntropy
          Loss.BinaryCrossEntropyWithLogits; Loss.SoftmaxCrossEntropy; Loss.Hinge; Loss.SquaredHinge; Loss.Logistic ]

    /// Parses a name written by `name` (also "cross_entropy" for softmax cross-entropy).
    let tryParse (text: string) : Loss option =
        let t = if isNull text then "" else text.Trim().ToLowerInvariant()
        if t = "cross_entropy" || t = "crossentropy" then Some Loss.SoftmaxCrossEntropy
        else all |> List.tryFind (fun l -> name l = t)
