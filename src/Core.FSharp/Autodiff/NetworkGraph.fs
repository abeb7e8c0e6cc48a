namespace Functional.NN.Autodiff

open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// The core's dense network, and every loss of the core, written as a computational graph, so
/// that reverse-mode autodiff is an oracle for `Network.lossAndGradient` that shares none of its
/// backward code: layer i is s(A W_i + 1 b_i) with variables "W<i>" and "b<i>" (i from 0, b a 1 x d_out
/// row), and the losses are composed of the graph's operations.
module NetworkGraph =

    /// The variable name of layer i's weights: "W0", "W1", ...
    let weightName (layer: int) = sprintf "W%d" layer

    /// The variable name of layer i's bias row: "b0", "b1", ...
    let biasName (layer: int) = sprintf "b%d" layer

    /// The network's output for the batch node X as a graph: per layer, s(A W + 1 b).
    let output (net: Network) (x: Node) : Node =
        Check.notNull "net" net
        Check.notNull "x" x
        if x.Cols <> net.InputSize then
            Check.fail "x" (sprintf "x has shape %s but the network takes %d inputs." (Check.shape x.Rows x.Cols) net.InputSize)
        net.Layers
        |> List.indexed
        |> List.fold (fun a (i, layer) ->
            let w = Node.variable (weightName i) layer.Weights
            let z = Node.matMul a w
            let z =
                match layer.Bias with
                | Some b -> Node.addRow z (Node.variable (biasName i) (b.ToRowMatrix()))
                | None -> z
            Node.activate layer.Activation (Node.named (sprintf "z%d" i) z) |> Node.named (sprintf "a%d" i)) x

    /// The loss of an output node against the target Y as a graph, composed of graph operations
    /// (n rows, k columns, m = y o yhat the margins, sums over all elements):
    /// half MSE sum((yhat - y)^2) / 2n; MSE sum((yhat - y)^2) / n;
    /// BCE -sum(y o ln p + (1 - y) o ln(1 - p)) / n (without the core's clamp of p to [1e-15, 1 - 1e-15]);
    /// BCE on logits sum(softplus(z) - z o y) / n (softplus(z) = max(z, 0) + ln(1 + e^-|z|));
    /// softmax cross-entropy by its own node; hinge sum(relu(1 - m)) / n;
    /// squared hinge sum(relu(1 - m)^2) / 2n; logistic sum(softplus(-m)) / n.
    let loss (loss: Loss) (output: Node) (y: Matrix<float>) : Node =
        Check.notNull "output" output
        Mat.checkBatch "y" y
        if y.RowCount <> output.Rows || y.ColumnCount <> output.Cols then
            Check.fail "y" (sprintf "y has shape %s but the output has shape %s; they must agree." (Mat.shapeOf y) (Check.shape output.Rows output.Cols))
        let n = float output.Rows
        let target = Node.constant y |> Node.named "y"
        let one = Node.scalar 1.0 |> Node.named "1"
        let meanOf (k: float) (terms: Node) =
            let factor = Node.scalar (k / n) |> Node.named (match k with 1.0 -> "1/n" | 0.5 -> "1/2n" | -1.0 -> "-1/n" | _ -> "k/n")
            Node.multiply factor (Node.sum terms)
        let margin () = Node.subtract one (Node.multiply target output)
        let node =
            match loss with
            | Loss.HalfMeanSquaredError -> meanOf 0.5 (Node.pow 2.0 (Node.subtract output target))
            | Loss.MeanSquaredError -> meanOf 1.0 (Node.pow 2.0 (Node.subtract output target))
            | Loss.BinaryCrossEntropy ->
                let pos = Node.multiply target (Node.log output)
                let neg = Node.multiply (Node.subtract one target) (Node.log (Node.subtract one output))
                meanOf -1.0 (Node.add pos neg)
            | Loss.BinaryCrossEntropyWithLogits ->
                meanOf 1.0 (Node.subtract (Node.activate Activation.Softplus output) (Node.multiply output target))
            | Loss.SoftmaxCrossEntropy -> Node.softmaxCrossEntropy y output
            | Loss.Hinge -> meanOf 1.0 (Node.activate Activation.ReLU (margin ()))
            | Loss.SquaredHinge -> meanOf 0.5 (Node.pow 2.0 (Node.activate Activation.ReLU (margin ())))
            | Loss.Logistic -> meanOf 1.0 (Node.activate Activation.Softplus (Node.negate (Node.multiply target output)))
        Node.named "L" node

    /// The loss graph of a network on the batch (X, Y): X is a constant named "X".
    let ofBatch (net: Network) (lossKind: Loss) (x: Matrix<float>) (y: Matrix<float>) : Node =
        Check.notNull "net" net
        Network.checkInput net "x" x
        loss lossKind (output net (Node.constant x |> Node.named "X")) y

    /// The gradients of a run in the core's layout (one DenseGradient per layer), read from the
    /// variables "W<i>" and "b<i>".
    let gradientsOf (net: Network) (result: GradientResult) : Gradients =
        { Blocks =
            net.Layers |> List.mapi (fun i layer ->
                BlockGradient.Dense
                    { DenseGradient.Weights = result.Gradients.[weightName i]
                      Bias = layer.Bias |> Option.map (fun _ -> result.Gradients.[biasName i].Row 0) }) }

    /// The loss of the batch (X, Y) and its gradient with respect to every weight and bias, by
    /// reverse-mode autodiff of the graph (compare `Network.lossAndGradient`, by the notes'
    /// hand-derived recursion), in the network's precision (`Autodiff.gradientIn net.Precision`:
    /// for a Float32 network every node's value and adjoint is a float32 value). Raises
    /// ArgumentException for a bad X or Y and, like the core, InvalidOperationException for a
    /// step layer (whose gradient is zero almost everywhere).
    let lossAndGradient (net: Network) (lossKind: Loss) (x: Matrix<float>) (y: Matrix<float>) : float * Gradients =
        Check.notNull "net" net
        Network.checkDifferentiable net
        Loss.checkTargetNamed "y" lossKind (Network.predict net x) y
        let result = Autodiff.gradientIn net.Precision (ofBatch net lossKind x y)
        result.Value, gradientsOf net result
