namespace Functional.NN.Autodiff

open System
open System.Globalization
open System.Text
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// An explanation of a run for a reader: a table of every node's forward value and backward
/// adjoint, and the graph as Graphviz DOT text, so that the chain rule can be followed node by node.
module Explain =

    let private num (x: float) = GraphText.num x

    /// A matrix as text: "-12" for 1 x 1, "[1 2; 3 4]" up to 4 x 4, "r x c, max |.| m" beyond.
    let formatMatrix (m: Matrix<float>) : string =
        Check.notNull "m" m
        GraphText.formatMatrix m

    let private names (graph: Graph) : string[] = GraphText.names graph

    let private formulaWith (names: string[]) (node: GraphNode) : string = GraphText.formulaWith names node

    /// The operation as a formula over its inputs' names, e.g. "x + y" or "relu(n3)".
    let formula (graph: Graph) (node: GraphNode) : string = formulaWith (names graph) node

    /// Every node's formula, by id.
    let formulas (graph: Graph) : string[] =
        let names = names graph
        graph.Nodes |> List.map (formulaWith names) |> Array.ofList

    /// A node's adjoint as text: "none" for a node computed from constants alone (no gradient
    /// depends on it, so the backward pass gives it no adjoint).
    let private adjointText (result: GradientResult) (id: int) : string =
        match result.Adjoints.TryFind id with
        | Some a -> formatMatrix a
        | None -> "none"

    /// A text table of a run, one row per node in topological order: id, name, formula, shape,
    /// forward value and adjoint dL/dnode ("none" for a node computed from constants alone).
    let table (result: GradientResult) : string =
        let g = result.Graph
        let names = names g
        let header = [ "id"; "node"; "formula"; "shape"; "value"; "adjoint" ]
        let rows =
            g.Nodes |> List.map (fun gn ->
                [ string gn.Id; names.[gn.Id]; formulaWith names gn; Check.shape gn.Node.Rows gn.Node.Cols
                  formatMatrix result.Values.[gn.Id]; adjointText result gn.Id ])
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
                match gn.Node.Operation with
                | Op.Constant _ | Op.Variable _ -> name
                | _ -> sprintf "%s = %s" name (formulaWith names gn)
            let value = values |> Option.map (fun v -> sprintf "\\nvalue %s" (escape (formatMatrix v.[gn.Id]))) |> Option.defaultValue ""
            let adjoint = adjoints |> Option.bind (fun (a: Map<int, Matrix<float>>) -> a.TryFind gn.Id) |> Option.map (fun a -> sprintf "\\nadjoint %s" (escape (formatMatrix a))) |> Option.defaultValue ""
            let style =
                match gn.Node.Operation with
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

    /// The graph of a run as DOT text, each box showing the node's value and adjoint (no adjoint
    /// for a node computed from constants alone).
    let dotOfRun (result: GradientResult) : string = dotText result.Graph (Some result.Values) (Some result.Adjoints)
