namespace Functional.NN.Autodiff

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// The axis that `Node.sumAlong` and `Node.meanAlong` reduce.
[<RequireQualifiedAccess>]
type Axis =
    /// Down the rows (numpy's axis 0): an r x c matrix becomes a 1 x c row of column sums.
    | Rows
    /// Across the columns (numpy's axis 1): an r x c matrix becomes an r x 1 column of row sums.
    | Columns

/// A node of a computational graph: an operation, its inputs (other nodes) and the shape of its
/// value. A scalar is a 1 x 1 matrix. Nodes are immutable; a node used as the input of several
/// others is one shared node (the graph is a DAG, and node identity is reference identity, as in
/// micrograd). Build nodes with the functions of the `Node` module, which check shapes.
[<ReferenceEquality>]
type Node =
    private
        { op: Op
          rows: int
          cols: int
          label: string }
    /// The operation that computes this node from its inputs. A constant's or a variable's value
    /// comes as a copy: changing it does not change the node.
    member this.Op =
        match this.op with
        | Op.Constant v -> Op.Constant(v.Clone())
        | Op.Variable (name, v) -> Op.Variable(name, v.Clone())
        | op -> op
    /// The operation itself, the leaves' values not copied (the library's own reads).
    member internal this.Operation = this.op
    /// The number of rows of the node's value.
    member this.Rows = this.rows
    /// The number of columns of the node's value.
    member this.Cols = this.cols
    /// The name shown in tables and DOT text ("" when none was given; variables show their name).
    member this.Label = this.label
    /// True for a 1 x 1 node.
    member this.IsScalar = this.rows = 1 && this.cols = 1

/// The operations of a graph. Element-wise binary operations take operands of one shape, or a
/// 1 x 1 operand that is broadcast to the other's shape.
and [<RequireQualifiedAccess; ReferenceEquality>] Op =
    /// A fixed value (data): no adjoint flows to it (nor to a node computed from constants alone)
    /// and no gradient is reported for it.
    | Constant of value: Matrix<float>
    /// A named variable: the backward pass reports the gradient for every variable name.
    | Variable of name: string * value: Matrix<float>
    /// a + b.
    | Add of Node * Node
    /// a - b.
    | Subtract of Node * Node
    /// a o b (element-wise).
    | Multiply of Node * Node
    /// a / b (element-wise).
    | Divide of Node * Node
    /// The matrix product A B.
    | MatMul of Node * Node
    /// A^T.
    | Transpose of Node
    /// The sum of every element (1 x 1).
    | Sum of Node
    /// The sums along an axis.
    | SumAlong of Axis * Node
    /// The mean of every element (1 x 1).
    | Mean of Node
    /// The means along an axis.
    | MeanAlong of Axis * Node
    /// A 1 x c row repeated to `rows` rows (a bias row added to every sample).
    | BroadcastRows of Node * rows: int
    /// a^p element-wise, for a fixed real exponent p.
    | Pow of Node * exponent: float
    /// e^a element-wise.
    | Exp of Node
    /// ln a element-wise.
    | Log of Node
    /// s(a) element-wise, for an activation of the core.
    | Activate of Activation * Node
    /// The core's softmax cross-entropy of logits Z against a fixed target Y (1 x 1, averaged
    /// over the rows, as `Loss.SoftmaxCrossEntropy`).
    | SoftmaxCrossEntropy of logits: Node * target: Matrix<float>
    /// A user's block (`ICustomBlock`) applied to its input, with its parameters as a 1 x p row
    /// (the second input, absent when it has none); its rule is the block's own Forward and Backward.
    | Custom of block: ICustomBlock * training: bool * inputs: Node list

/// Building graphs: each function returns a new node and checks the shapes of its inputs
/// (ArgumentException naming the parameter and both shapes).
[<RequireQualifiedAccess>]
module Node =

    let private make op rows cols = { op = op; rows = rows; cols = cols; label = "" }

    let private shapeOf (n: Node) = Check.shape n.Rows n.Cols

    /// The inputs of an operation, in order (none for constants and variables).
    let inputs (node: Node) : Node list =
        match node.Operation with
        | Op.Constant _ | Op.Variable _ -> []
        | Op.Add (a, b) | Op.Subtract (a, b) | Op.Multiply (a, b) | Op.Divide (a, b) | Op.MatMul (a, b) -> [ a; b ]
        | Op.Transpose a | Op.Sum a | Op.SumAlong (_, a) | Op.Mean a | Op.MeanAlong (_, a)
        | Op.BroadcastRows (a, _) | Op.Pow (a, _) | Op.Exp a | Op.Log a | Op.Activate (_, a)
        | Op.SoftmaxCrossEntropy (a, _) -> [ a ]
        | Op.Custom (_, _, inputs) -> inputs

    /// The same node with a name for tables and DOT text (a new node: use it in place of the old).
    let named (label: string) (node: Node) : Node =
        Check.notNull "node" node
        { node with label = (if isNull label then "" else label) }

    /// A constant: a copy of the matrix.
    let constant (value: Matrix<float>) : Node =
        Mat.checkBatch "value" value
        make (Op.Constant (value.Clone())) value.RowCount value.ColumnCount

    /// A 1 x 1 constant.
    let scalar (value: float) : Node =
        Check.finiteScalar "value" value
        make (Op.Constant (Mat.init 1 1 (fun _ _ -> value))) 1 1

    /// A named variable holding a copy of the matrix. Variables are identified by name: nodes of
    /// one graph that share a name must hold the same value, and their gradients are summed.
    let variable (name: string) (value: Matrix<float>) : Node =
        if String.IsNullOrWhiteSpace name then Check.fail "name" "A variable needs a non-empty name."
        Mat.checkBatch "value" value
        { make (Op.Variable (name, value.Clone())) value.RowCount value.ColumnCount with label = name }

    /// A named 1 x 1 variable.
    let scalarVariable (name: string) (value: float) : Node =
        Check.finiteScalar "value" value
        variable name (Mat.init 1 1 (fun _ _ -> value))

    let private elementwise (opName: string) (a: Node) (b: Node) =
        Check.notNull "a" a
        Check.notNull "b" b
        if a.Rows = b.Rows && a.Cols = b.Cols then a.Rows, a.Cols
        elif b.IsScalar then a.Rows, a.Cols
        elif a.IsScalar then b.Rows, b.Cols
        else Check.fail "b" (sprintf "%s needs operands of one shape (or a 1x1 operand), but a is %s and b is %s." opName (shapeOf a) (shapeOf b))

    /// a + b.
    let add (a: Node) (b: Node) : Node = let r, c = elementwise "add" a b in make (Op.Add (a, b)) r c

    /// a - b. Its VJP passes -G to b: for the notes' e = y - yhat, c = e^2 (note 004, 4.2.2, w = 5,
    /// x = 1, b = 1, y = 10), dc/dyhat = 2e * (-1) = -8 and dc/dw = dc/db = -8. The notes print
    /// dc/dyhat = 2e * 1 = 8 and dc/dw = 8: they drop this sign; the library gives -8.
    let subtract (a: Node) (b: Node) : Node = let r, c = elementwise "subtract" a b in make (Op.Subtract (a, b)) r c

    /// a o b (element-wise product).
    let multiply (a: Node) (b: Node) : Node = let r, c = elementwise "multiply" a b in make (Op.Multiply (a, b)) r c

    /// a / b (element-wise quotient).
    let divide (a: Node) (b: Node) : Node = let r, c = elementwise "divide" a b in make (Op.Divide (a, b)) r c

    /// k a, as the product with a 1 x 1 constant k.
    let scale (k: float) (a: Node) : Node = multiply (scalar k) a

    /// -a, as the product with the constant -1.
    let negate (a: Node) : Node = scale -1.0 a

    /// The matrix product A B (A is r x k, B is k x c).
    let matMul (a: Node) (b: Node) : Node =
        Check.notNull "a" a
        Check.notNull "b" b
        if a.Cols <> b.Rows then
            Check.fail "b" (sprintf "matMul needs a's columns to equal b's rows, but a is %s and b is %s." (shapeOf a) (shapeOf b))
        make (Op.MatMul (a, b)) a.Rows b.Cols

    /// A^T.
    let transpose (a: Node) : Node = Check.notNull "a" a; make (Op.Transpose a) a.Cols a.Rows

    /// The sum of all elements, 1 x 1.
    let sum (a: Node) : Node = Check.notNull "a" a; make (Op.Sum a) 1 1

    /// The sums along an axis: 1 x c for Axis.Rows, r x 1 for Axis.Columns.
    let sumAlong (axis: Axis) (a: Node) : Node =
        Check.notNull "a" a
        match axis with
        | Axis.Rows -> make (Op.SumAlong (axis, a)) 1 a.Cols
        | Axis.Columns -> make (Op.SumAlong (axis, a)) a.Rows 1

    /// The mean of all elements, 1 x 1.
    let mean (a: Node) : Node = Check.notNull "a" a; make (Op.Mean a) 1 1

    /// The means along an axis: 1 x c for Axis.Rows, r x 1 for Axis.Columns.
    let meanAlong (axis: Axis) (a: Node) : Node =
        Check.notNull "a" a
        match axis with
        | Axis.Rows -> make (Op.MeanAlong (axis, a)) 1 a.Cols
        | Axis.Columns -> make (Op.MeanAlong (axis, a)) a.Rows 1

    /// A 1 x c row repeated to `rows` rows.
    let broadcastRows (rows: int) (row: Node) : Node =
        Check.notNull "row" row
        Check.positiveInt "rows" rows
        if row.Rows <> 1 then
            Check.fail "row" (sprintf "broadcastRows needs a 1xc row, but row is %s." (shapeOf row))
        make (Op.BroadcastRows (row, rows)) rows row.Cols

    /// A + 1 b: the bias row b (1 x c) added to every row of A (r x c).
    let addRow (a: Node) (row: Node) : Node =
        Check.notNull "a" a
        Check.notNull "row" row
        if row.Rows <> 1 || row.Cols <> a.Cols then
            Check.fail "row" (sprintf "addRow needs a 1x%d row for a of shape %s, but row is %s." a.Cols (shapeOf a) (shapeOf row))
        add a (broadcastRows a.Rows row)

    /// A custom block applied to x (n x InputSize), with its parameters as the 1 x p row node
    /// `parameters` (None when it has none): n x OutputSize.
    let custom (block: ICustomBlock) (training: bool) (x: Node) (parameters: Node option) : Node =
        Check.notNull "block" (box block)
        Check.notNull "x" x
        if x.Cols <> block.InputSize then
            Check.fail "x" (sprintf "x has shape %s but the custom block '%s' takes %d columns." (shapeOf x) block.Name block.InputSize)
        let count = block.Parameters.Length
        match parameters with
        | Some t when t.Rows <> 1 || t.Cols <> count ->
            Check.fail "parameters" (sprintf "parameters has shape %s but the custom block '%s' has %d parameters (a 1x%d row)." (shapeOf t) block.Name count count)
        | None when count > 0 -> Check.fail "parameters" (sprintf "The custom block '%s' has %d parameters; give them as a 1x%d row." block.Name count count)
        | _ -> ()
        make (Op.Custom (block, training, x :: Option.toList parameters)) x.Rows block.OutputSize

    /// a^p element-wise.
    let pow (exponent: float) (a: Node) : Node =
        Check.notNull "a" a
        Check.finiteScalar "exponent" exponent
        make (Op.Pow (a, exponent)) a.Rows a.Cols

    /// e^a element-wise.
    let exp (a: Node) : Node = Check.notNull "a" a; make (Op.Exp a) a.Rows a.Cols

    /// ln a element-wise.
    let log (a: Node) : Node = Check.notNull "a" a; make (Op.Log a) a.Rows a.Cols

    /// s(a) element-wise for an activation of the core.
    let activate (activation: Activation) (a: Node) : Node =
        Check.notNull "a" a
        match activation with
        | Activation.LeakyReLU s -> Check.finiteScalar "slope" s
        | _ -> ()
        make (Op.Activate (activation, a)) a.Rows a.Cols

    /// The softmax cross-entropy of logits Z (n x k) against targets Y (n x k), averaged over
    /// the rows: 1/n sum_i sum_k y_ik (lse(z_i) - z_ik), 1 x 1.
    let softmaxCrossEntropy (target: Matrix<float>) (logits: Node) : Node =
        Check.notNull "logits" logits
        Mat.checkBatch "target" target
        if target.RowCount <> logits.Rows || target.ColumnCount <> logits.Cols then
            Check.fail "target" (sprintf "target has shape %s but logits has shape %s; they must agree." (Mat.shapeOf target) (shapeOf logits))
        make (Op.SoftmaxCrossEntropy (logits, target.Clone())) 1 1

type Node with
    /// a + b (see Node.add).
    static member (+) (a: Node, b: Node) = Node.add a b
    /// a - b (see Node.subtract).
    static member (-) (a: Node, b: Node) = Node.subtract a b
    /// a o b, element-wise (see Node.multiply); the matrix product is Node.matMul.
    static member (*) (a: Node, b: Node) = Node.multiply a b
    /// a / b, element-wise (see Node.divide).
    static member (/) (a: Node, b: Node) = Node.divide a b
    /// -a (see Node.negate).
    static member (~-) (a: Node) = Node.negate a
