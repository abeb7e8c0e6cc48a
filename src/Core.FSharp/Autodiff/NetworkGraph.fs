namespace Functional.NN.Autodiff

open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// The core's dense network, and every loss of the core, written as a computational graph, so
/// that reverse-mode autodiff is an oracle for `Network.lossAndGradient` that shares none of its
/// backward code: layer i is s(A W_i + 1 b_i) with variables "W<i>" and "b<i>" (i from 0, b a 1 x d_out
/// row), and the losses are composed of the graph's operations.
module NetworkGraph =

    /// The variable name of layer i's weights: "W0", "W1", ... (for a block inside a residual
    /// block, its position: "W2.1").
    let weightName (layer: int) = sprintf "W%d" layer

    /// The variable name of layer i's bias row: "b0", "b1", ...
    let biasName (layer: int) = sprintf "b%d" layer

    /// The network's output for the batch node X as a graph in a mode, block by block (p is the
    /// block's position, "3" or "2.1" inside residual block 2): a dense layer s(A W + 1 b) with
    /// variables "W<p>" and "b<p>" and nodes "z<p>", "a<p>"; an activation "a<p>"; training dropout
    /// A o M with the constant mask "M<p>" (inference: nothing); batch normalisation from the
    /// graph's own means and powers (training: the batch's mean and variance, which the backward
    /// pass differentiates through; inference: constants of the running statistics) with variables
    /// "gamma<p>" and "beta<p>"; layer normalisation likewise per row (through transposes); a
    /// residual block A + f(A) ("r<p>"); a custom block as one node with its parameters "theta<p>".
    /// Shares no code with the blocks' backward rules, so it is an oracle for them.
    let outputIn (mode: Mode) (net: Network) (x: Node) : Node =
        Check.notNull "net" net
        Check.notNull "x" x
        if x.Cols <> net.InputSize then
            Check.fail "x" (sprintf "x has shape %s but the network takes %d inputs." (Check.shape x.Rows x.Cols) net.InputSize)
        let dropouts = ref 0
        let rowVar name (v: Vector<float>) = Node.variable name (v.ToRowMatrix())
        let rowConst (v: Vector<float>) = Node.constant (v.ToRowMatrix())
        let affine (p: string) (xhat: Node) (scale: Vector<float>) (shift: Vector<float>) =
            let n = xhat.Rows
            Node.addRow (Node.multiply xhat (Node.broadcastRows n (rowVar ("gamma" + p) scale))) (rowVar ("beta" + p) shift)
        /// (X - mean) / sqrt(var + eps) down the rows, from the graph's own operations.
        let normalizeColumns (x: Node) (eps: float) =
            let n = x.Rows
            let xc = Node.subtract x (Node.broadcastRows n (Node.meanAlong Axis.Rows x))
            let var = Node.meanAlong Axis.Rows (Node.pow 2.0 xc)
            Node.multiply xc (Node.broadcastRows n (Node.pow -0.5 (Node.add var (Node.scalar eps))))
        let rec blocks (path: string) (a: Node) (bs: Block list) =
            bs |> List.indexed |> List.fold (fun (a: Node) (i, b) ->
                let p = Block.position path i
                match b with
                | Block.Dense layer ->
                    let z = Node.matMul a (Node.variable ("W" + p) layer.Weights)
                    let z =
                        match layer.Bias with
                        | Some b -> Node.addRow z (Node.variable ("b" + p) (b.ToRowMatrix()))
                        | None -> z
                    Node.activate layer.Activation (Node.named ("z" + p) z) |> Node.named ("a" + p)
                | Block.Activation s -> Node.activate s a |> Node.named ("a" + p)
                | Block.Dropout rate ->
                    let index = dropouts.Value
                    dropouts.Value <- index + 1
                    match mode with
                    | Mode.Training key when rate > 0.0 ->
                        let m = Dropout.mask key index rate a.Rows a.Cols
                        Node.multiply a (Node.constant m |> Node.named ("M" + p)) |> Node.named ("d" + p)
                    | _ -> a
                | Block.BatchNorm bn ->
                    let xhat =
                        match mode with
                        | Mode.Training _ -> normalizeColumns a bn.Epsilon
                        | Mode.Inference ->
                            let r = bn.RunningVariance.Map(fun v -> 1.0 / sqrt (v + bn.Epsilon))
                            Node.multiply (Node.subtract a (Node.broadcastRows a.Rows (rowConst bn.RunningMean))) (Node.broadcastRows a.Rows (rowConst r))
                    affine p xhat bn.Scale bn.Shift |> Node.named ("bn" + p)
                | Block.LayerNorm ln ->
                    let xhat = Node.transpose (normalizeColumns (Node.transpose a) ln.Epsilon)
                    affine p xhat ln.Scale ln.Shift |> Node.named ("ln" + p)
                | Block.Residual inner -> Node.add a (blocks p a inner) |> Node.named ("r" + p)
                | Block.Custom c ->
                    let theta = if c.Parameters.Length = 0 then None else Some (Node.variable ("theta" + p) (Matrix<float>.Build.DenseOfRowArrays [| c.Parameters |]))
                    Node.custom c (mode.IsTraining) a theta |> Node.named ("c" + p)) a
        blocks "" x net.Blocks

    /// The network's output for the batch node X as a graph, in inference mode (`outputIn`).
    let output (net: Network) (x: Node) : Node = outputIn Mode.Inference net x

    /// The loss of an output node against the target Y as a graph, composed of graph operations
    /// (n rows, k columns, m = y o yhat the margins, sums over all elements):
    /// half MSE sum((yhat - y)^2) / 2n; MSE sum((yhat - y)^2) / n;
    /// BCE -sum(y o ln p + (1 - y) o ln(1 - p)) / n (without the core's clamp of p to [1e-15, 1 - 1e-15]);
    /// BCE on logits sum(softplus(z) - z o y) / n (softplus(z) = max(z, 0) + ln(1 + e^-|z|));
    /// softmax cross-entropy by its own node; hinge sum(relu(1 - m)) / n;
    /// squared hinge sum(relu(1 - m)^2) / 2n; logistic sum(softplus(-m)) / n. Softmax
    /// cross-entropy on a one-column output raises ArgumentException (ParamName "loss",
    /// `Loss.checkOutputWidth`).
    let loss (loss: Loss) (output: Node) (y: Matrix<float>) : Node =
        Check.notNull "output" output
        Loss.checkOutputWidth loss output.Cols
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

    /// The loss graph of a network on the batch (X, Y) in a mode: X is a constant named "X".
    let ofBatchIn (mode: Mode) (net: Network) (lossKind: Loss) (x: Matrix<float>) (y: Matrix<float>) : Node =
        Check.notNull "net" net
        Network.checkInput net "x" x
        Network.checkModeRows net mode "x" x.RowCount
        loss lossKind (outputIn mode net (Node.constant x |> Node.named "X")) y

    /// The loss graph of a network on the batch (X, Y), inference mode: X is a constant named "X".
    let ofBatch (net: Network) (lossKind: Loss) (x: Matrix<float>) (y: Matrix<float>) : Node = ofBatchIn Mode.Inference net lossKind x y

    /// The gradients of a run in the core's layout (one BlockGradient per block), read from the
    /// variables of `outputIn` ("W<p>", "b<p>", "gamma<p>", "beta<p>", "theta<p>").
    let gradientsOf (net: Network) (result: GradientResult) : Gradients =
        let row (name: string) = result.Gradients.[name].Row 0
        let rec blocks (path: string) (bs: Block list) =
            bs |> List.mapi (fun i b ->
                let p = Block.position path i
                match b with
                | Block.Dense layer ->
                    BlockGradient.Dense { DenseGradient.Weights = result.Gradients.["W" + p]; Bias = layer.Bias |> Option.map (fun _ -> row ("b" + p)) }
                | Block.BatchNorm _ | Block.LayerNorm _ -> BlockGradient.Normalization (row ("gamma" + p), row ("beta" + p))
                | Block.Residual inner -> BlockGradient.Residual (blocks p inner)
                | Block.Custom c -> BlockGradient.Custom (if c.Parameters.Length = 0 then [||] else (row ("theta" + p)).ToArray())
                | Block.Activation _ | Block.Dropout _ -> BlockGradient.NoParameters)
        { Blocks = blocks "" net.Blocks }

    /// The loss of the batch (X, Y) and its gradient in a mode by reverse-mode autodiff of the
    /// graph (compare `Network.lossAndGradientIn`), in the network's precision.
    let lossAndGradientIn (mode: Mode) (net: Network) (lossKind: Loss) (x: Matrix<float>) (y: Matrix<float>) : float * Gradients =
        Check.notNull "net" net
        Network.checkDifferentiable net
        Loss.checkTargetNamed "y" lossKind (Network.predict net x) y
        // The output in the mode asked for (dropout after the sigmoid can leave [0, 1] in training).
        if lossKind = Loss.BinaryCrossEntropy then
            Network.checkOutputProbabilities lossKind (Network.forwardIn mode net x).Output
        let result = Autodiff.gradientIn net.Precision (ofBatchIn mode net lossKind x y)
        result.Value, gradientsOf net result

    /// The loss of the batch (X, Y) and its gradient with respect to every weight and bias, by
    /// reverse-mode autodiff of the graph (compare `Network.lossAndGradient`, by the notes'
    /// hand-derived recursion), in the network's precision (`Autodiff.gradientIn net.Precision`:
    /// for a Float32 network every node's value and adjoint is a float32 value). Raises
    /// ArgumentException for a bad X or Y and, like the core, InvalidOperationException for a
    /// step layer (whose gradient is zero almost everywhere).
    let lossAndGradient (net: Network) (lossKind: Loss) (x: Matrix<float>) (y: Matrix<float>) : float * Gradients =
        lossAndGradientIn Mode.Inference net lossKind x y
