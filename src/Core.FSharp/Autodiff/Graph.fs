namespace Functional.NN.Autodiff

open System.Collections.Generic
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
      /// Every node's adjoint dL/dnode (L the output), by id, shaped like its value.
      Adjoints: Map<int, Matrix<float>>
      /// The gradient dL/dv of every variable, by name.
      Gradients: Map<string, Matrix<float>> }
    /// The output's value L.
    member this.Value = this.Values.[this.Graph.Output].[0, 0]
    /// The gradient of one variable (KeyNotFoundException for an unknown name).
    member this.Gradient(name: string) = this.Gradients.[name]

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

    /// The variables of a graph by name, with their values. Raises ArgumentException when two
    /// variables share a name but not a value.
    let variables (graph: Graph) : Map<string, Matrix<float>> =
        graph.Nodes
        |> List.fold (fun (acc: Map<string, Matrix<float>>) gn ->
            match gn.Node.Op with
            | Op.Variable (name, v) ->
                match acc.TryFind name with
                | Some other when not (other.Equals v) ->
                    Check.fail "graph" (sprintf "Two variables are named '%s' but hold different values (shapes %s and %s); a name must denote one variable." name (Mat.shapeOf other) (Mat.shapeOf v))
                | _ -> acc.Add(name, v)
            | _ -> acc) Map.empty

    /// The forward pass in a precision: every node's value, by id, in topological order, each
    /// computed in float64 from its inputs' values and rounded once to the precision
    /// (`Precision.roundMatrix`: in Float32 a variable's or constant's value is rounded as it is
    /// read, and every operation's result is a float32 value; nothing is rounded in Float64).
    let forwardIn (precision: Precision) (graph: Graph) : Map<int, Matrix<float>> =
        graph.Nodes
        |> List.fold (fun (values: Map<int, Matrix<float>>) gn ->
            let rule = Rules.ofOp gn.Node.Op
            values.Add(gn.Id, rule.Forward (gn.Inputs |> List.map (fun i -> values.[i])) |> Precision.roundMatrix precision)) Map.empty

    /// The forward pass: every node's value, by id, in topological order (`forwardIn Float64`).
    let forward (graph: Graph) : Map<int, Matrix<float>> = forwardIn Precision.Float64 graph

    /// The backward pass in a precision, from the forward values: the adjoint of every node, by
    /// id. The output's adjoint is 1; nodes are visited in reverse topological order, and each
    /// passes its inputs their VJP shares, which are summed when a node feeds several others (or
    /// one node twice). Each share and each sum of shares is rounded once to the precision.
    let backwardIn (precision: Precision) (graph: Graph) (values: Map<int, Matrix<float>>) : Map<int, Matrix<float>> =
        let out = values.[graph.Output]
        if out.RowCount <> 1 || out.ColumnCount <> 1 then
            Check.fail "graph" (sprintf "backward needs a 1x1 output, but the output is %s; reduce it with Node.sum or Node.mean." (Mat.shapeOf out))
        let round = Precision.roundMatrix precision
        let accumulate (adjoints: Map<int, Matrix<float>>) (id: int, share: Matrix<float>) =
            let share = round share
            adjoints.Change(id, function Some prev -> Some (round (prev + share)) | None -> Some share)
        List.rev graph.Nodes
        |> List.fold (fun (adjoints: Map<int, Matrix<float>>) gn ->
            match adjoints.TryFind gn.Id with
            | None -> adjoints.Add(gn.Id, Mat.zeros values.[gn.Id].RowCount values.[gn.Id].ColumnCount)
            | Some g ->
                let rule = Rules.ofOp gn.Node.Op
                let shares = rule.Backward (gn.Inputs |> List.map (fun i -> values.[i])) values.[gn.Id] g
                List.zip gn.Inputs shares |> List.fold accumulate adjoints)
            (Map.empty.Add(graph.Output, Mat.init 1 1 (fun _ _ -> 1.0)))

    /// The backward pass in float64 (`backwardIn Float64`).
    let backward (graph: Graph) (values: Map<int, Matrix<float>>) : Map<int, Matrix<float>> =
        backwardIn Precision.Float64 graph values

    /// The forward and backward passes of a graph whose output is 1 x 1 in a precision (see
    /// `forwardIn` and `backwardIn`), with the gradient of the output with respect to every
    /// variable (summed over the nodes that share its name, each sum rounded to the precision).
    /// In Float32 every value, adjoint and gradient of the result is a float32 value.
    let runIn (precision: Precision) (graph: Graph) : GradientResult =
        variables graph |> ignore
        let values = forwardIn precision graph
        let adjoints = backwardIn precision graph values
        let gradients =
            graph.Nodes
            |> List.fold (fun (acc: Map<string, Matrix<float>>) gn ->
                match gn.Node.Op with
                | Op.Variable (name, _) ->
                    acc.Change(name, function Some prev -> Some (Precision.roundMatrix precision (prev + adjoints.[gn.Id])) | None -> Some adjoints.[gn.Id])
                | _ -> acc) Map.empty
        { Graph = graph; Values = values; Adjoints = adjoints; Gradients = gradients }

    /// The forward and backward passes in float64 (`runIn Float64`).
    let run (graph: Graph) : GradientResult = runIn Precision.Float64 graph

/// Reverse-mode automatic differentiation of graphs built with the Node module.
module Autodiff =

    /// The value of a node computed in a precision (`Graph.forwardIn`).
    let evaluateIn (precision: Precision) (output: Node) : Matrix<float> =
        let graph = Graph.ofOutput output
        (Graph.forwardIn precision graph).[graph.Output]

    /// The value of a node (the forward pass of the graph below it, in float64).
    let evaluate (output: Node) : Matrix<float> = evaluateIn Precision.Float64 output

    /// The forward and backward passes below a 1 x 1 output in a precision (`Graph.runIn`).
    let gradientIn (precision: Precision) (output: Node) : GradientResult = Graph.runIn precision (Graph.ofOutput output)

    /// The forward and backward passes below a 1 x 1 output: its value, every node's value and
    /// adjoint, and the gradient with respect to every variable (in float64).
    let gradient (output: Node) : GradientResult = gradientIn Precision.Float64 output
