namespace Functional.NN.Autodiff

open System
open System.Collections.Generic
open System.Globalization
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// A node of a sorted graph: its id (its position in topological order), the node, and the
/// ids of its inputs (each smaller than Id).
type GraphNode =
    { Id: int
      Node: Node
      Inputs: int list }

/// The DAG below an output node, in topological order: every node comes after its inputs, ids
/// run from 0, and the output is the last node. A node reachable along several paths appears once.
type Graph =
    { Nodes: GraphNode list
      Output: int }

/// A forward and backward run of a graph with a 1 x 1 output.
type GradientResult =
    { /// The graph that was run.
      Graph: Graph
      /// Every node's forward value, by id.
      Values: Map<int, Matrix<float>>
      /// The adjoint dL/dnode (L the output) of the output and of every node with a variable below
      /// it, by id, shaped like its value; a node computed from constants alone has none.
      Adjoints: Map<int, Matrix<float>>
      /// The gradient dL/dv of every variable, by name.
      Gradients: Map<string, Matrix<float>> }
    /// The output's value L.
    member this.Value = this.Values.[this.Graph.Output].[0, 0]
    /// The gradient of one variable (KeyNotFoundException for an unknown name).
    member this.Gradient(name: string) = this.Gradients.[name]

/// Nodes as text for tables, DOT text and error messages: names, formulas and values.
module internal GraphText =

    /// A number in at most 6 significant digits, small magnitudes kept ("3E-14", "1E-320"; only
    /// 0 and -0 are "0"), "NaN" and "Infinity" as .NET writes them.
    let num (x: float) =
        if Double.IsNaN x || Double.IsInfinity x then x.ToString(CultureInfo.InvariantCulture)
        elif x = 0.0 then "0"
        else x.ToString("G6", CultureInfo.InvariantCulture)

    /// A matrix as text: "-12" for 1 x 1, "[1 2; 3 4]" up to 4 x 4, "r x c, max |.| m" beyond.
    let formatMatrix (m: Matrix<float>) : string =
        if m.RowCount = 1 && m.ColumnCount = 1 then num m.[0, 0]
        elif m.RowCount <= 4 && m.ColumnCount <= 4 then
            let rows = [ for i in 0 .. m.RowCount - 1 -> String.Join(" ", [ for j in 0 .. m.ColumnCount - 1 -> num m.[i, j] ]) ]
            "[" + String.Join("; ", rows) + "]"
        else sprintf "%dx%d, max |.| %s" m.RowCount m.ColumnCount (num (Mat.maxAbs m))

    let private axisText (axis: Axis) = match axis with Axis.Rows -> "rows" | Axis.Columns -> "columns"

    /// Every node's label by id, or "n<id>" for a node without one.
    let names (graph: Graph) : string[] =
        graph.Nodes |> List.map (fun gn -> if gn.Node.Label = "" then sprintf "n%d" gn.Id else gn.Node.Label) |> Array.ofList

    /// The operation as a formula over its inputs' names, e.g. "x + y" or "relu(n3)".
    let formulaWith (names: string[]) (node: GraphNode) : string =
        let arg k = names.[List.item k node.Inputs]
        match node.Node.Operation with
        | Op.Constant _ -> "constant"
        | Op.Variable _ -> "variable"
        | Op.Add _ -> sprintf "%s + %s" (arg 0) (arg 1)
        | Op.Subtract _ -> sprintf "%s - %s" (arg 0) (arg 1)
        | Op.Multiply _ -> sprintf "%s * %s" (arg 0) (arg 1)
        | Op.Divide _ -> sprintf "%s / %s" (arg 0) (arg 1)
        | Op.MatMul _ -> sprintf "%s @ %s" (arg 0) (arg 1)
        | Op.Transpose _ -> sprintf "%s^T" (arg 0)
        | Op.Sum _ -> sprintf "sum(%s)" (arg 0)
        | Op.SumAlong (axis, _) -> sprintf "sum(%s, %s)" (arg 0) (axisText axis)
        | Op.Mean _ -> sprintf "mean(%s)" (arg 0)
        | Op.MeanAlong (axis, _) -> sprintf "mean(%s, %s)" (arg 0) (axisText axis)
        | Op.BroadcastRows (_, rows) -> sprintf "rows(%s, %d)" (arg 0) rows
        | Op.Pow (_, p) -> sprintf "%s^%s" (arg 0) (num p)
        | Op.Exp _ -> sprintf "exp(%s)" (arg 0)
        | Op.Log _ -> sprintf "log(%s)" (arg 0)
        | Op.Activate (s, _) -> sprintf "%s(%s)" (Activation.name s) (arg 0)
        | Op.SoftmaxCrossEntropy _ -> sprintf "softmax_cross_entropy(%s)" (arg 0)
        | Op.Custom (block, _, inputs) ->
            if List.length inputs = 1 then sprintf "%s(%s)" block.Name (arg 0) else sprintf "%s(%s; %s)" block.Name (arg 0) (arg 1)

    /// "node 'q' (x + y, 2x3)": a node's name, formula and shape.
    let describe (names: string[]) (gn: GraphNode) =
        sprintf "node '%s' (%s, %s)" names.[gn.Id] (formulaWith names gn) (Check.shape gn.Node.Rows gn.Node.Cols)

    /// The first element of a matrix that `bad` holds for, by row and column (`Mat.firstWhere`).
    let firstWhere (bad: float -> bool) (m: Matrix<float>) : (int * int * float) option = Mat.firstWhere bad m

    /// The first element of a matrix that is NaN or infinite, by row and column (`Mat.firstNonFinite`).
    let firstNonFinite (m: Matrix<float>) : (int * int * float) option = Mat.firstNonFinite m

    /// The value of a matrix at (i, j) of a matrix of the node's shape, when it has that shape or is
    /// 1 x 1 (a broadcast operand); None otherwise.
    let at (m: Matrix<float>) (rows: int) (cols: int) (i: int) (j: int) =
        if m.RowCount = rows && m.ColumnCount = cols then Some m.[i, j]
        elif m.RowCount = 1 && m.ColumnCount = 1 then Some m.[0, 0]
        else None

/// Sorting, evaluation and differentiation of graphs. Nothing here changes a node or a matrix it
/// is given: every pass returns new maps.
module Graph =

    /// The graph below `output`, sorted by a depth-first walk (inputs before the node).
    let ofOutput (output: Node) : Graph =
        Check.notNull "output" output
        let ids = Dictionary<Node, int>(HashIdentity.Reference)
        let sorted = List<GraphNode>()
        // An explicit stack, so that a long chain does not overflow the call stack.
        let stack = Stack<Node * bool>()
        stack.Push((output, false))
        while stack.Count > 0 do
            let node, expanded = stack.Pop()
            if not (ids.ContainsKey node) then
                if expanded then
                    let id = sorted.Count
                    ids.[node] <- id
                    sorted.Add { Id = id; Node = node; Inputs = Node.inputs node |> List.map (fun n -> ids.[n]) }
                else
                    stack.Push((node, true))
                    for input in List.rev (Node.inputs node) do
                        if not (ids.ContainsKey input) then stack.Push((input, false))
        { Nodes = List.ofSeq sorted; Output = ids.[output] }

    /// `variables` with the ParamName of its error.
    let internal variablesNamed (param: string) (graph: Graph) : Map<string, Matrix<float>> =
        graph.Nodes
        |> List.fold (fun (acc: Map<string, Matrix<float>>) gn ->
            match gn.Node.Operation with
            | Op.Variable (name, v) ->
                match acc.TryFind name with
                | Some other when not (other.Equals v) ->
                    Check.fail param (sprintf "Two variables are named '%s' but hold different values (shapes %s and %s); a name must denote one variable." name (Mat.shapeOf other) (Mat.shapeOf v))
                | _ -> acc.Add(name, v)
            | _ -> acc) Map.empty

    /// The variables of a graph by name, with their values. Raises ArgumentException when two
    /// variables share a name but not a value.
    let variables (graph: Graph) : Map<string, Matrix<float>> = variablesNamed "graph" graph

    /// For each node, by id: whether a variable lies below it (the node is one, or one of its
    /// inputs has one below it): the nodes the backward pass passes adjoints to, as PyTorch passes
    /// gradients only to tensors that require them.
    let internal dependsOnVariable (graph: Graph) : bool[] =
        let below = Array.zeroCreate graph.Nodes.Length
        for gn in graph.Nodes do
            below.[gn.Id] <-
                match gn.Node.Operation with
                | Op.Variable _ -> true
                | _ -> gn.Inputs |> List.exists (fun i -> below.[i])
        below

    /// `forwardIn` with the ParamName of its error about a value that is not finite.
    let internal forwardNamed (param: string) (precision: Precision) (graph: Graph) : Map<int, Matrix<float>> =
        let names = lazy (GraphText.names graph)
        graph.Nodes
        |> List.fold (fun (values: Map<int, Matrix<float>>) gn ->
            let rule = Rules.ofOp gn.Node.Operation
            let inputs = gn.Inputs |> List.map (fun i -> values.[i])
            let raw = rule.Forward inputs
            let value = raw |> Precision.roundMatrix precision
            // A variable or constant is read in the precision: in Float32 a finite value beyond
            // float32's range (|v| > 3.4e38) would become an infinity, so it is refused here,
            // naming the leaf and the value it was given (as networks refuse such inputs).
            match gn.Node.Operation with
            | Op.Variable _ | Op.Constant _ when precision = Precision.Float32 ->
                match GraphText.firstWhere Double.IsInfinity value with
                | Some (i, j, _) when Double.IsFinite raw.[i, j] ->
                    let what =
                        match gn.Node.Operation with
                        | Op.Variable (name, _) -> sprintf "Variable '%s'" name
                        | _ -> sprintf "Constant %s" (GraphText.describe names.Value gn)
                    Check.fail param (sprintf "%s holds %s at row %d, column %d, beyond the range of float32 (about 3.4e38), the precision of the run; scale it, or run in Precision.Float64." what (string raw.[i, j]) i j)
                | _ -> ()
            | _ -> ()
            // NaN anywhere, an infinity at the output: an infinity inside the graph may come back
            // into range (1 / (1 + exp(1000)) is 0, as IEEE arithmetic gives it).
            let bad = if gn.Id = graph.Output then GraphText.firstNonFinite value else GraphText.firstWhere Double.IsNaN value
            match bad with
            | None -> values.Add(gn.Id, value)
            | Some (i, j, v) ->
                let names = names.Value
                let where =
                    List.zip gn.Inputs inputs
                    |> List.choose (fun (id, m) -> GraphText.at m value.RowCount value.ColumnCount i j |> Option.map (fun x -> sprintf "%s = %s" names.[id] (GraphText.num x)))
                let inputsText = if List.isEmpty where then "" else sprintf " (where %s)" (String.Join(", ", where))
                if precision = Precision.Float32 && Double.IsFinite raw.[i, j] then
                    // Finite in float64, infinite once rounded: the result overflows float32.
                    Check.fail param (sprintf "The forward pass gives %s the value %s at row %d, column %d%s, beyond float32's range (about 3.4e38): it rounds to %s in float32, the precision of the run; every value must be finite. Scale the inputs, or run in Precision.Float64." (GraphText.describe names gn) (GraphText.num raw.[i, j]) i j inputsText (GraphText.num v))
                else
                    // In Float32 an input may have been rounded on the way in (1e-46 flushes to 0): say so.
                    let inPrecision = match precision with Precision.Float32 -> " in float32 (the inputs rounded to float32 first)" | _ -> ""
                    Check.fail param (sprintf "The forward pass gives %s the value %s at row %d, column %d%s%s; every value must be finite: an input is outside the operation's domain (log of a number <= 0, a fractional power of a negative number, a division by 0) or the result is beyond the range of a double." (GraphText.describe names gn) (GraphText.num v) i j inPrecision inputsText)) Map.empty

    /// The forward pass in a precision: every node's value, by id, in topological order, each
    /// computed in float64 from its inputs' values and rounded once to the precision
    /// (`Precision.roundMatrix`: in Float32 a variable's or constant's value is rounded as it is
    /// read, and every operation's result is a float32 value; nothing is rounded in Float64).
    /// Raises ArgumentException (ParamName "graph") when a node's value is NaN or infinite (log of
    /// a negative number, x / 0, exp(1000), ...), naming the node, its formula, the value, where
    /// it is, and the inputs' values there.
    let forwardIn (precision: Precision) (graph: Graph) : Map<int, Matrix<float>> = forwardNamed "graph" precision graph

    /// The forward pass: every node's value, by id, in topological order (`forwardIn Float64`).
    let forward (graph: Graph) : Map<int, Matrix<float>> = forwardIn Precision.Float64 graph

    /// The backward pass in a precision, from the forward values: the adjoint of the output and of
    /// every node with a variable below it, by id. The output's adjoint is 1; nodes are visited in
    /// reverse topological order, and each passes its inputs their VJP shares, which are summed when
    /// a node feeds several others (or one node twice). Each share and each sum of shares is rounded
    /// once to the precision. A node computed from constants alone receives no share (no adjoint):
    /// no gradient depends on it, so an infinite derivative there (the square root of a 0 in the
    /// data) is no error. Every adjoint is a matrix of its own, shared with nothing.
    let internal backwardNamed (param: string) (precision: Precision) (graph: Graph) (values: Map<int, Matrix<float>>) : Map<int, Matrix<float>> =
        let out = values.[graph.Output]
        if out.RowCount <> 1 || out.ColumnCount <> 1 then
            Check.fail param (sprintf "backward needs a 1x1 output, but the output is %s; reduce it with Node.sum or Node.mean." (Mat.shapeOf out))
        let round = Precision.roundMatrix precision
        let names = lazy (GraphText.names graph)
        let nodes = graph.Nodes |> Array.ofList
        let inPrecision = match precision with Precision.Float32 -> " in float32" | _ -> ""
        // from: the node whose VJP passed the share, with its adjoint g.
        // raw: the share (or sum) computed in float64; m: raw rounded to the precision.
        let check (id: int) (from: GraphNode) (g: Matrix<float>) (what: string) (raw: Matrix<float>) =
            let m = round raw
            match GraphText.firstNonFinite m with
            | None -> m
            | Some (i, j, v) ->
                let names = names.Value
                let input = values.[id]
                let inputValue = GraphText.at input m.RowCount m.ColumnCount i j |> Option.map (fun x -> sprintf " (where %s = %s)" names.[id] (GraphText.num x)) |> Option.defaultValue ""
                if precision = Precision.Float32 && Double.IsFinite raw.[i, j] then
                    Check.fail param (sprintf "The backward pass gives %s %s %s at row %d, column %d%s from %s, whose adjoint is %s, beyond float32's range (about 3.4e38): it rounds to %s in float32, the precision of the run; every adjoint must be finite. Scale the inputs, or run in Precision.Float64." (GraphText.describe names nodes.[id]) what (GraphText.num raw.[i, j]) i j inputValue (GraphText.describe names from) (GraphText.formatMatrix g) (GraphText.num v))
                else
                    Check.fail param (sprintf "The backward pass gives %s %s %s at row %d, column %d%s%s from %s, whose adjoint is %s; every adjoint must be finite: the operation's derivative is infinite there (a fractional power at 0, a division by a number near 0) or the adjoint is beyond the range of a double." (GraphText.describe names nodes.[id]) what (GraphText.num v) i j inPrecision inputValue (GraphText.describe names from) (GraphText.formatMatrix g))
        let accumulate (from: GraphNode) (g: Matrix<float>) (adjoints: Map<int, Matrix<float>>) (id: int, share: Matrix<float>) =
            let share = share |> check id from g "the adjoint share"
            // A rule may pass G itself on (z = a + b gives both inputs G): a copy, so that no two
            // adjoints are one matrix.
            let own = if obj.ReferenceEquals(share, g) then share.Clone() else share
            adjoints.Change(id, function Some prev -> Some (prev + share |> check id from g "the adjoint (a sum of shares)") | None -> Some own)
        let below = dependsOnVariable graph
        List.rev graph.Nodes
        |> List.fold (fun (adjoints: Map<int, Matrix<float>>) gn ->
            if not below.[gn.Id] then adjoints
            else
                match adjoints.TryFind gn.Id with
                | None -> adjoints.Add(gn.Id, Mat.zeros values.[gn.Id].RowCount values.[gn.Id].ColumnCount)
                | Some g ->
                    let rule = Rules.ofOp gn.Node.Operation
                    let shares = rule.Backward (gn.Inputs |> List.map (fun i -> values.[i])) values.[gn.Id] g
                    List.zip gn.Inputs shares
                    |> List.filter (fun (i, _) -> below.[i])
                    |> List.fold (accumulate gn g) adjoints)
            (Map.empty.Add(graph.Output, Mat.init 1 1 (fun _ _ -> 1.0)))

    /// The backward pass in a precision, from the forward values: the adjoint of the output and of
    /// every node with a variable below it, by id (a node computed from constants alone has none:
    /// no gradient depends on it). The output's adjoint is 1; nodes are visited in reverse
    /// topological order, and each passes its inputs their VJP shares, which are summed when a
    /// node feeds several others (or one node twice). Each share and each sum of shares is rounded
    /// once to the precision. Raises ArgumentException (ParamName "graph") when a share or a sum of shares is NaN or
    /// infinite (the derivative of x^0.5 at 0, an adjoint beyond the double range), naming the
    /// node that receives it, the node that passes it, and the value.
    let backwardIn (precision: Precision) (graph: Graph) (values: Map<int, Matrix<float>>) : Map<int, Matrix<float>> =
        backwardNamed "graph" precision graph values

    /// The backward pass in float64 (`backwardIn Float64`).
    let backward (graph: Graph) (values: Map<int, Matrix<float>>) : Map<int, Matrix<float>> =
        backwardIn Precision.Float64 graph values

    /// The forward and backward passes of a graph whose output is 1 x 1 in a precision (see
    /// `forwardIn` and `backwardIn`), with the gradient of the output with respect to every
    /// variable (summed over the nodes that share its name, each sum rounded to the precision).
    /// In Float32 every value, adjoint and gradient of the result is a float32 value.
    let internal runNamed (param: string) (precision: Precision) (graph: Graph) : GradientResult =
        variablesNamed param graph |> ignore
        let values = forwardNamed param precision graph
        let adjoints = backwardNamed param precision graph values
        let gradients =
            graph.Nodes
            |> List.fold (fun (acc: Map<string, Matrix<float>>) gn ->
                match gn.Node.Operation with
                | Op.Variable (name, _) ->
                    let sum prev =
                        let s = Precision.roundMatrix precision (prev + adjoints.[gn.Id])
                        match GraphText.firstNonFinite s with
                        | None -> s
                        | Some (i, j, v) ->
                            let range = if precision = Precision.Float32 then "float32's range (about 3.4e38), the precision of the run" else "the range of a double"
                            Check.fail param (sprintf "The gradient of variable '%s' (the sum over the nodes named '%s') is %s at row %d, column %d: the sum is beyond %s; every gradient must be finite." name name (GraphText.num v) i j range)
                    acc.Change(name, function Some prev -> Some (sum prev) | None -> Some (adjoints.[gn.Id].Clone()))
                | _ -> acc) Map.empty
        { Graph = graph; Values = values; Adjoints = adjoints; Gradients = gradients }

    /// The forward and backward passes of a graph whose output is 1 x 1 in a precision (see
    /// `forwardIn` and `backwardIn`), with the gradient of the output with respect to every
    /// variable (summed over the nodes that share its name, each sum rounded to the precision).
    /// In Float32 every value, adjoint and gradient of the result is a float32 value. Raises
    /// ArgumentException (ParamName "graph") when a value, an adjoint or a gradient is NaN or
    /// infinite (see `forwardIn` and `backwardIn`): a run never returns one.
    let runIn (precision: Precision) (graph: Graph) : GradientResult = runNamed "graph" precision graph

    /// The forward and backward passes in float64 (`runIn Float64`).
    let run (graph: Graph) : GradientResult = runIn Precision.Float64 graph

/// Reverse-mode automatic differentiation of graphs built with the Node module.
module Autodiff =

    /// The value of a node computed in a precision (`Graph.forwardIn`). Raises ArgumentException
    /// (ParamName "output") when a node's value is NaN or infinite, naming the node, its formula
    /// and the value, and when two variables share a name but not a value.
    let evaluateIn (precision: Precision) (output: Node) : Matrix<float> =
        let graph = Graph.ofOutput output
        Graph.variablesNamed "output" graph |> ignore
        (Graph.forwardNamed "output" precision graph).[graph.Output]

    /// The value of a node (the forward pass of the graph below it, in float64; see `evaluateIn`).
    let evaluate (output: Node) : Matrix<float> = evaluateIn Precision.Float64 output

    /// The forward and backward passes below a 1 x 1 output in a precision (`Graph.runIn`).
    /// Raises ArgumentException (ParamName "output") when a node's value or adjoint, or a
    /// variable's gradient, is NaN or infinite, naming the node, its formula and the value, when
    /// the output is not 1 x 1, and when two variables share a name but not a value.
    let gradientIn (precision: Precision) (output: Node) : GradientResult = Graph.runNamed "output" precision (Graph.ofOutput output)

    /// The forward and backward passes below a 1 x 1 output: its value, every node's value, the
    /// adjoints (of every node with a variable below it), and the gradient with respect to every variable (in float64; see `gradientIn`).
    let gradient (output: Node) : GradientResult = gradientIn Precision.Float64 output
