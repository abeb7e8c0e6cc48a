namespace Functional.NN.Autodiff

open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// One operation's forward rule and its vector-Jacobian product (VJP). For a node z = f(a, b, ...)
/// and the adjoint G = dL/dz of a scalar L, the VJP returns each input's share of the adjoint,
/// dL/da = J_a^T G, computed without forming the Jacobian J_a.
type Rule =
    { /// The node's value from its inputs' values.
      Forward: Matrix<float> list -> Matrix<float>
      /// The inputs' adjoints from the inputs' values, the node's value z and its adjoint G.
      Backward: Matrix<float> list -> Matrix<float> -> Matrix<float> -> Matrix<float> list }

/// The rule of every operation: forward rule and VJP side by side, a few lines each.
module Rules =

    /// Broadcasts a 1 x 1 operand to the other's shape; otherwise the operands share a shape.
    let private zip (f: float -> float -> float) (a: Matrix<float>) (b: Matrix<float>) =
        if a.RowCount = b.RowCount && a.ColumnCount = b.ColumnCount then Mat.map2 f a b
        elif b.RowCount = 1 && b.ColumnCount = 1 then let s = b.[0, 0] in Mat.map (fun x -> f x s) a
        else let s = a.[0, 0] in Mat.map (fun y -> f s y) b

    /// Undoes a broadcast: the adjoint of an operand of `like`'s shape from an adjoint G of the
    /// (possibly larger) result. A 1 x 1 operand that was broadcast receives the sum of G.
    let private reduceTo (like: Matrix<float>) (g: Matrix<float>) =
        if like.RowCount = g.RowCount && like.ColumnCount = g.ColumnCount then g
        else Mat.init 1 1 (fun _ _ -> g.RowSums().Sum())

    let private scalar (x: float) = Mat.init 1 1 (fun _ _ -> x)

    let private unary (forward: Matrix<float> -> Matrix<float>) (backward: Matrix<float> -> Matrix<float> -> Matrix<float> -> Matrix<float>) =
        { Forward = (fun xs -> forward (List.exactlyOne xs))
          Backward = (fun xs z g -> [ backward (List.exactlyOne xs) z g ]) }

    let private binary (forward: Matrix<float> -> Matrix<float> -> Matrix<float>) (backward: Matrix<float> -> Matrix<float> -> Matrix<float> -> Matrix<float> -> Matrix<float> * Matrix<float>) =
        let two xs = match xs with [ a; b ] -> a, b | _ -> invalidArg "inputs" "a binary operation takes two inputs"
        { Forward = (fun xs -> let a, b = two xs in forward a b)
          Backward = (fun xs z g -> let a, b = two xs in let da, db = backward a b z g in [ da; db ]) }

    /// The rule of an operation. Constants and variables are leaves: their forward rule returns
    /// (a copy of) their value, so that no result shares a matrix with the graph, and they pass no adjoint on.
    let ofOp (op: Op) : Rule =
        match op with
        | Op.Constant v | Op.Variable (_, v) ->
            { Forward = (fun _ -> v.Clone()); Backward = (fun _ _ _ -> []) }
        | Op.Add _ ->            // z = a + b;          da = G, db = G
            binary (zip (+)) (fun a b _ g -> reduceTo a g, reduceTo b g)
        | Op.Subtract _ ->       // z = a - b;          da = G, db = -G (the sign note 004, 4.2.2 drops)
            binary (zip (-)) (fun a b _ g -> reduceTo a g, reduceTo b (-g))
        | Op.Multiply _ ->       // z = a o b;          da = G o b, db = G o a
            binary (zip (*)) (fun a b _ g -> reduceTo a (zip (*) g b), reduceTo b (zip (*) g a))
        | Op.Divide _ ->         // z = a / b;          da = G / b, db = -G o a / b^2 = -(G / b) o z
            // db as -(G / b) o z, not -(G o a) / (b o b): b o b underflows to 0 for |b| below 1e-162
            // (a = 0 then gives 0 / 0 = NaN, a != 0 an infinity), where both factors here are finite.
            binary (zip (/)) (fun a b z g -> let gb = zip (/) g b in reduceTo a gb, reduceTo b (-(zip (*) gb z)))
        | Op.MatMul _ ->         // Z = A B;            dA = G B^T, dB = A^T G
            binary (fun a b -> a * b) (fun a b _ g -> g.TransposeAndMultiply b, a.TransposeThisAndMultiply g)
        | Op.Transpose _ ->      // Z = A^T;            dA = G^T
            unary (fun a -> a.Transpose()) (fun _ _ g -> g.Transpose())
        | Op.Sum _ ->            // z = sum_ij a_ij;    dA = g 1 1^T
            unary (fun a -> scalar (a.RowSums().Sum())) (fun a _ g -> Mat.init a.RowCount a.ColumnCount (fun _ _ -> g.[0, 0]))
        | Op.SumAlong (Axis.Rows, _) ->    // z = 1^T A;  dA = 1 G (G repeated down the rows)
            unary (fun a -> Mat.init 1 a.ColumnCount (fun _ j -> a.Column(j).Sum())) (fun a _ g -> Mat.init a.RowCount a.ColumnCount (fun _ j -> g.[0, j]))
        | Op.SumAlong (Axis.Columns, _) -> // z = A 1;    dA = G 1^T (G repeated across the columns)
            unary (fun a -> Mat.init a.RowCount 1 (fun i _ -> a.Row(i).Sum())) (fun a _ g -> Mat.init a.RowCount a.ColumnCount (fun i _ -> g.[i, 0]))
        | Op.Mean _ ->           // z = sum_ij a_ij / (r c);  dA = g / (r c)
            unary (fun a -> scalar (a.RowSums().Sum() / float (a.RowCount * a.ColumnCount)))
                  (fun a _ g -> Mat.init a.RowCount a.ColumnCount (fun _ _ -> g.[0, 0] / float (a.RowCount * a.ColumnCount)))
        | Op.MeanAlong (Axis.Rows, _) ->    // z = 1^T A / r;  dA = 1 G / r
            unary (fun a -> Mat.init 1 a.ColumnCount (fun _ j -> a.Column(j).Sum() / float a.RowCount))
                  (fun a _ g -> Mat.init a.RowCount a.ColumnCount (fun _ j -> g.[0, j] / float a.RowCount))
        | Op.MeanAlong (Axis.Columns, _) -> // z = A 1 / c;    dA = G 1^T / c
            unary (fun a -> Mat.init a.RowCount 1 (fun i _ -> a.Row(i).Sum() / float a.ColumnCount))
                  (fun a _ g -> Mat.init a.RowCount a.ColumnCount (fun i _ -> g.[i, 0] / float a.ColumnCount))
        | Op.BroadcastRows (_, rows) ->     // Z = 1 a (a is 1 x c);  da = 1^T G (column sums)
            unary (fun a -> Mat.init rows a.ColumnCount (fun _ j -> a.[0, j])) (fun _ _ g -> Mat.init 1 g.ColumnCount (fun _ j -> g.Column(j).Sum()))
        | Op.Pow (_, p) ->       // z = a^p;            da = G o p a^(p-1)  (0 for p = 0)
            // For p = 0, z = 1 everywhere and da = 0: not p * x^(-1), which is 0 * infinity = NaN at x = 0.
            // For p >= 1, x^(p-1) at x = 0 is 0 (or 1 for p = 1): the product is finite there.
            unary (Mat.map (fun x -> if p = 2.0 then x * x else x ** p))
                  (fun a _ g -> if p = 0.0 then Mat.zeros a.RowCount a.ColumnCount
                                else Mat.map2 (fun x gi -> gi * p * (if p = 2.0 then x else x ** (p - 1.0))) a g)
        | Op.Exp _ ->            // z = e^a;            da = G o z
            unary (Mat.map exp) (fun _ z g -> Mat.hadamard g z)
        | Op.Log _ ->            // z = ln a;           da = G / a
            unary (Mat.map log) (fun a _ g -> Mat.map2 (/) g a)
        | Op.Activate (s, _) ->  // z = s(a);           da = G o s'(a), s' from Activation.derivative
            unary (Activation.apply s) (fun a z g -> Mat.hadamard g (Activation.derivativeOf s a z))
        | Op.SoftmaxCrossEntropy (_, y) -> // z = 1/n sum_i sum_k y_ik (lse(a_i) - a_ik);  dA = g (softmax(A) rowsum(Y) - Y)/n
            unary (fun a -> scalar (Loss.valueUnchecked Loss.SoftmaxCrossEntropy a y))
                  (fun a _ g -> g.[0, 0] * Loss.gradientUnchecked Loss.SoftmaxCrossEntropy a y)
        | Op.Custom (block, training, _) -> // z = f(x; theta);  dx, dtheta from the block's own Backward
            let withTheta (xs: Matrix<float> list) =
                match xs with
                | [ x ] -> block, x
                | [ x; theta ] -> block.WithParameters(theta.Row(0).ToArray()), x
                | _ -> invalidArg "inputs" "a custom block takes its input and at most one parameter row"
            // What the block returns is checked as the network's passes check it (Block.checkCustomOutput,
            // Block.checkCustomGradient): a wrong shape, a null, or NaN or an infinity for finite
            // arguments is an InvalidOperationException naming the block. The block gets copies, as
            // there: one that changes its arguments changes no node's value or adjoint.
            { Forward = (fun xs -> let b, x = withTheta xs in let y = b.Forward(x.Clone(), training) in Block.checkCustomOutput b x y; y)
              Backward =
                fun xs z g ->
                    let b, x = withTheta xs
                    let dx, dTheta = b.Backward(x.Clone(), z.Clone(), g.Clone(), training)
                    Block.checkCustomGradient b x z g dx dTheta
                    if List.length xs = 1 then [ dx ] else [ dx; Matrix<float>.Build.DenseOfRowArrays [| dTheta |] ] }
