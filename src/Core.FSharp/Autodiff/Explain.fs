namespace Functional.NN.Autodiff

open System
open System.Globalization
open System.Text
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// An explanation of a run for a reader: a table of every node's forward value and backward
/// adjoint, and the graph as Graphviz DOT text, so that the chain rule can be followed node by node.
module Explain =

    let private num (x: float) =
        let r = Math.Round(x, 12)
        (if r = 0.0 then 0.0 else r).ToString("G6", CultureInfo.InvariantCulture)

    /// A matrix as text: "-12" for 1 x 1, "[1 2; 3 4]" up to 4 x 4, "r x c, max |.| m" beyond.
    let formatMatrix (m: Matrix<float>) : string =
        Check.notNull "m" m
        if m.RowCount = 1 && m.ColumnCount = 1 then num m.[0, 0]
        elif m.RowCount <= 4 && m.ColumnCount <= 4 then
            let rows = [ for i in 0 .. m.RowCount - 1 -> String.Join(" ", [ for j in 0 .. m.ColumnCount - 1 -> num m.[i, j] ]) ]
            "[" + String.Join("; ", rows) + "]"
        else sprintf "%dx%d, max |.| %s" m.RowCount m.ColumnCount (num (Mat.maxAbs m))

    let private axisText (axis: Axis) = match axis with Axis.Rows -> "rows" | Axis.Columns -> "columns"

    /// Every node's label by id, or "n<id>" for a node without one.
    let private names (graph: Graph) : string[] =
        graph.Nodes |> List.map (fun gn -> if gn.Node.Label = "" then sprintf "n%d" gn.Id else gn.Node.Label) |> Array.ofList

    let private formulaWith (names: string[]) (node: GraphNode) : string =
        let arg k = names.[List.item k node.Inputs]
        match node.Node.Op with
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

    /// The operation as a formula over its inputs' names, e.g. "x + y" or "relu(n3)".
    let formula (graph: Graph) (node: GraphNode) : string = formulaWith (names graph) node

    /// Every node's formula, by id.
    let formulas (graph: Graph) : string[] =
        let names = names graph
        graph.Nodes |> List.map (formulaWith names) |> Array.ofList

    /// A text table of a run, one row per node in topological order: id, name, formula, shape,
    /// forward value and adjoint dL/dnode.
    let table (result: GradientResult) : string =
        let g = result.Graph
        let names = names g
        let header = [ "id"; "node"; "formula"; "shape"; "value"; "adjoint" ]
        let rows =
            g.Nodes |> List.map (fun gn ->
                [ string gn.Id; names.[gn.Id]; formulaWith names gn; Check.shape gn.Node.Rows gn.Node.Cols
                  formatMatrix result.Values.[gn.Id]; formatMatrix result.Adjoints.[gn.Id] ])
        let widths = header |> List.mapi (fun k h -> (h :: List.map (List.item k) rows) |> List.map String.length |> List.max)
        let line (cells: string list) = String.Join(" | ", List.map2 (fun (c: string) w -> c.PadRight w) cells widths).TrimEnd()
        let rule = String.Join("-+-", widths |> List.map (fun w -> String('-', w)))
        String.Join("\n", line header :: rule :: List.map line rows) + "\n"

    let private escape (s: string) = s.Replace("\\", "\\\\").Replace("\"", "\\\"")

    let private dotText (graph: Graph) (values: Map<int, Matrix<float>> option) (adjoints: Map<int, Matrix<float>> option) =
        let sb = StringBuilder()
        let names = names graph
        sb.Append("digraph G {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n") |> ignore
        for gn in graph.Nodes do
            let name = names.[gn.Id]
            let head =
                match gn.Node.Op with
                | Op.Constant _ | Op.Variable _ -> name
                | _ -> sprintf "%s = %s" name (formulaWith names gn)
            let value = values |> Option.map (fun v -> sprintf "\\nvalue %s" (escape (formatMatrix v.[gn.Id]))) |> Option.defaultValue ""
            let adjoint = adjoints |> Option.map (fun a -> sprintf "\\nadjoint %s" (escape (formatMatrix a.[gn.Id]))) |> Option.defaultValue ""
            let style =
                match gn.Node.Op with
                | Op.Variable _ -> ", style=filled, fillcolor=\"#dde8ff\""
                | Op.Constant _ -> ", style=dashed"
                | _ -> ""
            sb.AppendFormat("  n{0} [label=\"{1}{2}{3}\"{4}];\n", gn.Id, escape head, value, adjoint, style) |> ignore
        for gn in graph.Nodes do
            for i in gn.Inputs do
                sb.AppendFormat("  n{0} -> n{1};\n", i, gn.Id) |> ignore
        sb.Append("}\n").ToString()

    /// The graph as Graphviz DOT text (render with `dot -Tsvg`): one box per node, an edge from
    /// each input to the node that uses it.
    let dot (graph: Graph) : string = dotText graph None None

    /// The graph of a run as DOT text, each box showing the node's value and adjoint.
    let dotOfRun (result: GradientResult) : string = dotText result.Graph (Some result.Values) (Some result.Adjoints)
