namespace Functional.NN

open MathNet.Numerics.LinearAlgebra

/// A dense layer in the batch layout: it maps an n x d_in batch A (one sample per row) to
/// s(A W + 1 b), with W of shape d_in x d_out and an optional bias row b of length d_out.
/// The notes' column form z = W' x + b' is the same layer with W' = W^T: a sample is a row here.
/// The record is immutable by convention: no function of the library changes its matrices.
type Dense =
    { Weights: Matrix<float>
      Bias: Vector<float> option
      Activation: Activation }
    /// d_in.
    member this.InputSize = this.Weights.RowCount
    /// d_out.
    member this.OutputSize = this.Weights.ColumnCount
    /// The number of weights and biases.
    member this.ParameterCount =
        this.Weights.RowCount * this.Weights.ColumnCount + (match this.Bias with Some b -> b.Count | None -> 0)

/// The gradient of a loss with respect to one layer's weights and bias, in the layer's shapes.
type DenseGradient = { Weights: Matrix<float>; Bias: Vector<float> option }

/// A layer's specification for `Network.init`: its width, activation and whether it has a bias.
type LayerSpec =
    { Units: int; Activation: Activation; UseBias: bool; Initializer: Initializer option }
    /// A layer with a bias and the activation's default initialiser.
    static member Of(units, activation) = { Units = units; Activation = activation; UseBias = true; Initializer = None }

/// Dense layers: construction and the forward and backward rules of one layer.
module Dense =

    /// Raises ArgumentException (naming the parameter) unless the values make a layer: weights
    /// (d_in x d_out, d_in and d_out at least 1) and a bias of length d_out, all finite, and a
    /// leaky ReLU's slope finite. `create` checks with it; `Block.checkValues` checks a layer
    /// written as a record with it, without copying.
    let checkValues (weights: Matrix<float>) (bias: Vector<float> option) (activation: Activation) =
        Check.notNull "weights" weights
        if weights.RowCount = 0 || weights.ColumnCount = 0 then
            Check.fail "weights" (sprintf "weights has shape %s; a layer needs at least one input and one output." (Mat.shapeOf weights))
        Mat.checkFinite "weights" weights
        match bias with
        | Some b ->
            Check.notNull "bias" b
            if b.Count <> weights.ColumnCount then
                Check.fail "bias" (sprintf "bias has length %d but weights has shape %s; the bias needs one entry per output (%d)." b.Count (Mat.shapeOf weights) weights.ColumnCount)
            Check.finite2D "bias" 1 b.Count (fun _ j -> b.[j])
        | None -> ()
        match activation with
        | Activation.LeakyReLU s -> Check.finiteScalar "slope" s
        | _ -> ()

    /// A layer from its weights (d_in x d_out), optional bias (length d_out) and activation, copied
    /// (`checkValues` says what is refused).
    let create (weights: Matrix<float>) (bias: Vector<float> option) (activation: Activation) : Dense =
        checkValues weights bias activation
        { Weights = weights.Clone(); Bias = bias |> Option.map (fun b -> b.Clone()); Activation = activation }

    /// Z = A W + 1 b (no checks).
    let preActivation (layer: Dense) (input: Matrix<float>) : Matrix<float> =
        let z = input * layer.Weights
        match layer.Bias with
        | Some b -> Mat.addRow b z
        | None -> z

    /// One layer's backward rule in a precision. Given its input A, pre-activation Z, output
    /// s(Z) and the gradient G of the loss with respect to its output, it returns (dW, db, dA):
    /// D = G o s'(Z); dW = A^T D; db = column sums of D; dA = D W^T. Each of D, dW, db and dA is
    /// computed in float64 (products and sums accumulated in float64) and rounded once to the
    /// precision (`Precision.round`; nothing is rounded for Float64).
    let backwardIn (precision: Precision) (layer: Dense) (input: Matrix<float>) (z: Matrix<float>) (a: Matrix<float>) (g: Matrix<float>) =
        let d = Mat.hadamard g (Activation.derivativeOf layer.Activation z a) |> Precision.roundMatrix precision
        let dW = input.TransposeThisAndMultiply d |> Precision.roundMatrix precision
        let db = layer.Bias |> Option.map (fun _ -> Mat.columnSums d |> Precision.roundVector precision)
        let dA = d.TransposeAndMultiply layer.Weights |> Precision.roundMatrix precision
        { Weights = dW; Bias = db }, dA

    /// One layer's backward rule in float64: `backwardIn Precision.Float64`.
    /// D = G o s'(Z); dW = A^T D; db = column sums of D; dA = D W^T.
    let backward (layer: Dense) (input: Matrix<float>) (z: Matrix<float>) (a: Matrix<float>) (g: Matrix<float>) =
        backwardIn Precision.Float64 layer input z a g

