module Functional.NN.Tests.AutodiffTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Autodiff
open Functional.NN.Tests.Generators

let private close (tol: float) (msg: string) (actual: float) (expected: float) =
    Expect.floatClose { absolute = tol; relative = tol } actual expected (sprintf "%s: actual %.17g, expected %.17g" msg actual expected)

let private scalarOf (r: GradientResult) name = r.Gradient(name).[0, 0]

/// Nodes named and valued as in the notes; the id order of a graph is its topological order.
let private valueOf (r: GradientResult) (label: string) =
    let gn = r.Graph.Nodes |> List.find (fun gn -> gn.Node.Label = label)
    r.Values.[gn.Id].[0, 0]

let private adjointOf (r: GradientResult) (label: string) =
    let gn = r.Graph.Nodes |> List.find (fun gn -> gn.Node.Label = label)
    r.Adjoints.[gn.Id].[0, 0]

/// The <exception> entries of a facade member in the facade's XML documentation, as (cref, text with
/// whitespace collapsed); `id` is the member's documentation id.
let private exceptionDocs (id: string) : (string * string) list =
    let doc = Xml.Linq.XDocument.Load(IO.Path.ChangeExtension(typeof<FunctionalNN.Network>.Assembly.Location, ".xml"))
    let m = doc.Descendants(Xml.Linq.XName.Get "member") |> Seq.find (fun m -> m.Attribute(Xml.Linq.XName.Get "name").Value = id)
    [ for e in m.Elements(Xml.Linq.XName.Get "exception") ->
        e.Attribute(Xml.Linq.XName.Get "cref").Value, Text.RegularExpressions.Regex.Replace(e.Value, "\\s+", " ") ]

let notesGraphs =
    testList "the notes' graphs" [
        test "the multivariate chain rule of note 004, section 3.3.2: f = y + e^(xy), x = cos t, y = t^2" {
            // The note: df/dt = (df/dx)(dx/dt) + (df/dy)(dy/dt) with df/dx = y e^(xy), df/dy = 1 + x e^(xy),
            // dx/dt = -sin t, dy/dt = 2t. The autodiff gives the partials at (cos t, t^2); the chain rule combines
            // them with dx/dt and dy/dt (the graph has no cos). Expected at t = 0.7: 2.498432319393961, the note's
            // formula evaluated in Python's math module; a central difference of t^2 + exp(t^2 cos t) with
            // h = 1e-5 gives 2.4984323192 (its error is about h^2 max|g'''| / 6, under 1e-9).
            let t = 0.7
            let x = Node.scalarVariable "x" (cos t)
            let y = Node.scalarVariable "y" (t * t)
            let r = Autodiff.gradient (Node.add y (Node.exp (x * y)))
            let dfdt = scalarOf r "x" * (-(sin t)) + scalarOf r "y" * (2.0 * t)
            close 1e-14 "df/dt by the chain rule" dfdt 2.498432319393961
            let g (t: float) = t * t + exp (cos t * t * t)
            close 1e-8 "df/dt against a central difference" dfdt ((g (t + 1e-5) - g (t - 1e-5)) / 2e-5)
            close 1e-14 "f" r.Value (t * t + exp (cos t * t * t))
        }
        test "f = (x + y) z at x = -2, y = 5, z = -4 (note 003, figure 9 and equations (11)-(12))" {
            // Note 003: q = x + y, f = q z; df/dx = df/dy = z, df/dz = q = x + y.
            // At x = -2, y = 5, z = -4: q = 3, f = -12, df/dx = df/dy = -4, df/dz = 3.
            let x = Node.scalarVariable "x" -2.0
            let y = Node.scalarVariable "y" 5.0
            let z = Node.scalarVariable "z" -4.0
            let q = Node.named "q" (x + y)
            let r = Autodiff.gradient (Node.named "f" (q * z))
            close 0.0 "f" r.Value -12.0
            close 0.0 "q" (valueOf r "q") 3.0
            close 0.0 "df/dx" (scalarOf r "x") -4.0
            close 0.0 "df/dy" (scalarOf r "y") -4.0
            close 0.0 "df/dz" (scalarOf r "z") 3.0
            close 0.0 "df/dq" (adjointOf r "q") -4.0
        }

        test "linear regression graph of note 004, 4.2.2, with the sign the notes dropped" {
            // Note 004, ch. 4.2.2 (figures 4.2-4.4): u = w x, yhat = u + b, e = y - yhat, c = e^2, with
            // w = 5, x = 1 (and b = 1, y = 10, which the notes' figure uses: u = 5, yhat = 6, c = 16).
            // The notes then print
            //   dc/de = 2e = 8, dc/dyhat = dc/de * d(y - yhat)/dyhat = 2e * 1 = 8, dc/dw = 2e * x = 8,
            // but d(y - yhat)/dyhat = -1, so by hand:
            //   e = 10 - 6 = 4, dc/de = 2e = 8, dc/dyhat = -8, dc/du = -8 (du/dyhat... dyhat/du = 1),
            //   dc/dw = dc/du * x = -8, dc/db = dc/dyhat * 1 = -8, dc/dx = dc/du * w = -40, dc/dy = 8.
            // (Check: c(w) = (10 - w - 1)^2, dc/dw = -2 (9 - w) = -8 at w = 5.)
            let w = Node.scalarVariable "w" 5.0
            let x = Node.scalarVariable "x" 1.0
            let b = Node.scalarVariable "b" 1.0
            let y = Node.scalarVariable "y" 10.0
            let u = Node.named "u" (w * x)
            let yhat = Node.named "yhat" (u + b)
            let e = Node.named "e" (y - yhat)
            let c = Node.named "c" (Node.pow 2.0 e)
            let r = Autodiff.gradient c
            close 0.0 "u" (valueOf r "u") 5.0
            close 0.0 "yhat" (valueOf r "yhat") 6.0
            close 0.0 "e" (valueOf r "e") 4.0
            close 0.0 "c" r.Value 16.0
            close 0.0 "dc/de" (adjointOf r "e") 8.0
            close 0.0 "dc/dyhat (the notes print +8)" (adjointOf r "yhat") -8.0
            close 0.0 "dc/du" (adjointOf r "u") -8.0
            close 0.0 "dc/dw (the notes print +8)" (scalarOf r "w") -8.0
            close 0.0 "dc/db" (scalarOf r "b") -8.0
            close 0.0 "dc/dx" (scalarOf r "x") -40.0
            close 0.0 "dc/dy" (scalarOf r "y") 8.0
        }

        test "the explanation table and the DOT text show every node with its value and adjoint" {
            let x = Node.scalarVariable "x" -2.0
            let y = Node.scalarVariable "y" 5.0
            let z = Node.scalarVariable "z" -4.0
            let r = Autodiff.gradient (Node.named "f" (Node.named "q" (x + y) * z))
            let table = Explain.table r
            let lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            Expect.equal lines.Length (2 + 5) "header, rule and one row per node (x, y, q, z, f)"
            let row name = lines |> Array.find (fun l -> l.Contains "|" && l.Split('|').[1].Trim() = name) |> fun l -> l.Split('|') |> Array.map (fun s -> s.Trim())
            Expect.equal (row "q").[2] "x + y" "q's formula"
            Expect.equal (row "q").[4] "3" "q's value"
            Expect.equal (row "q").[5] "-4" "q's adjoint"
            Expect.equal (row "f").[4] "-12" "f's value"
            Expect.equal (row "z").[5] "3" "z's adjoint"
            let dot = Explain.dotOfRun r
            Expect.stringStarts dot "digraph" "DOT header"
            let edges = dot.Split('\n') |> Array.filter (fun l -> l.Contains "->")
            Expect.equal edges.Length 4 "x->q, y->q, q->f, z->f"
            Expect.stringContains dot "q = x + y\\nvalue 3\\nadjoint -4" "q's box"
            Expect.stringContains (Explain.dot r.Graph) "f = q * z" "structure-only DOT"
        }
    ]

let sharedNodes =
    testList "nodes used more than once" [
        test "x * x gets both paths: d(x^2)/dx = 2x" {
            // Hand derivation: f = x x, df/dx = x + x = 2x = 6 at x = 3.
            let x = Node.scalarVariable "x" 3.0
            let r = Autodiff.gradient (x * x)
            close 0.0 "f" r.Value 9.0
            close 0.0 "df/dx" (scalarOf r "x") 6.0
            Expect.equal r.Graph.Nodes.Length 2 "x appears once in the sorted graph"
        }
        test "a shared intermediate node q = x + y in f = q * q + q" {
            // f = q^2 + q, df/dq = 2q + 1 = 7 at q = 3 (x = 1, y = 2); df/dx = df/dy = 7.
            let x = Node.scalarVariable "x" 1.0
            let y = Node.scalarVariable "y" 2.0
            let q = Node.named "q" (x + y)
            let r = Autodiff.gradient (q * q + q)
            close 0.0 "df/dq" (adjointOf r "q") 7.0
            close 0.0 "df/dx" (scalarOf r "x") 7.0
            close 0.0 "df/dy" (scalarOf r "y") 7.0
        }
        test "a shared weight: two variable nodes with one name get the sum of their gradients" {
            // f = w x1 + w x2 with w = 2, x1 = 3, x2 = -5: df/dw = x1 + x2 = -2.
            let f = Node.scalarVariable "w" 2.0 * Node.scalar 3.0 + Node.scalarVariable "w" 2.0 * Node.scalar -5.0
            close 0.0 "df/dw" (scalarOf (Autodiff.gradient f) "w") -2.0
        }
        test "tied matrix weights: L = sum(X W W) gives X^T 1 (W)^T + (X W)^T 1 (hand derivation)" {
            // Z = X W W; with G = dL/dZ = ones, dL/dW = (X)^T G W^T + (X W)^T G (both uses of W).
            let xm = m [ [ 1.0; -2.0 ]; [ 0.5; 3.0 ]; [ -1.0; 0.25 ] ]
            let wm = m [ [ 0.3; -0.7 ]; [ 1.1; 0.4 ] ]
            let w = Node.variable "W" wm
            let r = Autodiff.gradient (Node.sum (Node.matMul (Node.matMul (Node.constant xm) w) w))
            let g = Matrix<float>.Build.Dense(3, 2, 1.0)
            let expected = xm.Transpose() * g * wm.Transpose() + (xm * wm).Transpose() * g
            let actual = r.Gradient "W"
            for i in 0 .. 1 do
                for j in 0 .. 1 do close 1e-14 (sprintf "dL/dW[%d,%d]" i j) actual.[i, j] expected.[i, j]
        }
        test "two variables with one name and different values are an ArgumentException" {
            let f = Node.scalarVariable "w" 2.0 + Node.scalarVariable "w" 3.0
            Expect.throwsT<ArgumentException> (fun () -> Autodiff.gradient f |> ignore) "conflicting values"
        }
    ]

/// A random matrix of the given shape with entries in [lo, hi], away from 0 by `gap` when gap > 0
/// (each entry's sign is random then: |v| in [gap, hi]).
let private randomMatrix (rng: Rng) rows cols (lo: float) (hi: float) (gap: float) =
    let xs, rng = Rng.many (rows * cols) (Rng.nextUniform lo hi) rng
    let signs, rng = Rng.many (rows * cols) (Rng.nextUniform -1.0 1.0) rng
    let v k = if gap > 0.0 then (if signs.[k] < 0.0 then -1.0 else 1.0) * (gap + abs xs.[k] * (hi - gap) / (max (abs lo) (abs hi))) else xs.[k]
    Mat.init rows cols (fun i j -> v (i * cols + j)), rng

/// An operation under test: its inputs' shapes and ranges and how to build it from input nodes.
type private OpCase =
    { Name: string
      /// (rows, cols, lo, hi, gap) of each input, from the random dimensions (r, k, c).
      Inputs: int -> int -> int -> (int * int * float * float * float) list
      Build: Node list -> Node }

let private at k (xs: Node list) = List.item k xs

let private opCases : OpCase list =
    let same lo hi gap = fun r _ c -> [ (r, c, lo, hi, gap); (r, c, lo, hi, gap) ]
    let withScalar = fun r _ c -> [ (r, c, -2.0, 2.0, 0.0); (1, 1, 0.5, 2.0, 0.5) ]
    let one lo hi gap = fun r _ c -> [ (r, c, lo, hi, gap) ]
    [ { Name = "add"; Inputs = same -2.0 2.0 0.0; Build = fun xs -> at 0 xs + at 1 xs }
      { Name = "add a 1x1"; Inputs = withScalar; Build = fun xs -> at 1 xs + at 0 xs }
      { Name = "subtract"; Inputs = same -2.0 2.0 0.0; Build = fun xs -> at 0 xs - at 1 xs }
      { Name = "subtract a 1x1"; Inputs = withScalar; Build = fun xs -> at 1 xs - at 0 xs }
      { Name = "multiply"; Inputs = same -2.0 2.0 0.0; Build = fun xs -> at 0 xs * at 1 xs }
      { Name = "multiply by a 1x1"; Inputs = withScalar; Build = fun xs -> at 0 xs * at 1 xs }
      { Name = "divide"; Inputs = same 0.5 2.0 0.5; Build = fun xs -> at 0 xs / at 1 xs }
      { Name = "divide by a 1x1"; Inputs = withScalar; Build = fun xs -> at 0 xs / at 1 xs }
      { Name = "divide a 1x1"; Inputs = withScalar; Build = fun xs -> at 1 xs / Node.add (Node.scalar 3.0) (at 0 xs) }
      { Name = "matMul"; Inputs = (fun r k c -> [ (r, k, -2.0, 2.0, 0.0); (k, c, -2.0, 2.0, 0.0) ]); Build = fun xs -> Node.matMul (at 0 xs) (at 1 xs) }
      { Name = "transpose"; Inputs = one -2.0 2.0 0.0; Build = fun xs -> Node.transpose (at 0 xs) }
      { Name = "sum"; Inputs = one -2.0 2.0 0.0; Build = fun xs -> Node.sum (at 0 xs) }
      { Name = "sum along rows"; Inputs = one -2.0 2.0 0.0; Build = fun xs -> Node.sumAlong Axis.Rows (at 0 xs) }
      { Name = "sum along columns"; Inputs = one -2.0 2.0 0.0; Build = fun xs -> Node.sumAlong Axis.Columns (at 0 xs) }
      { Name = "mean"; Inputs = one -2.0 2.0 0.0; Build = fun xs -> Node.mean (at 0 xs) }
      { Name = "mean along rows"; Inputs = one -2.0 2.0 0.0; Build = fun xs -> Node.meanAlong Axis.Rows (at 0 xs) }
      { Name = "mean along columns"; Inputs = one -2.0 2.0 0.0; Build = fun xs -> Node.meanAlong Axis.Columns (at 0 xs) }
      { Name = "broadcast rows"; Inputs = (fun _ _ c -> [ (1, c, -2.0, 2.0, 0.0) ]); Build = fun xs -> Node.broadcastRows 3 (at 0 xs) }
      { Name = "add a bias row"; Inputs = (fun r _ c -> [ (r, c, -2.0, 2.0, 0.0); (1, c, -2.0, 2.0, 0.0) ]); Build = fun xs -> Node.addRow (at 0 xs) (at 1 xs) }
      { Name = "pow 2"; Inputs = one -2.0 2.0 0.0; Build = fun xs -> Node.pow 2.0 (at 0 xs) }
      { Name = "pow 3"; Inputs = one -2.0 2.0 0.0; Build = fun xs -> Node.pow 3.0 (at 0 xs) }
      { Name = "pow 0.5 (positive base)"; Inputs = one 0.5 2.0 0.0; Build = fun xs -> Node.pow 0.5 (at 0 xs) }
      { Name = "pow -1.5 (positive base)"; Inputs = one 0.5 2.0 0.0; Build = fun xs -> Node.pow -1.5 (at 0 xs) }
      { Name = "exp"; Inputs = one -2.0 2.0 0.0; Build = fun xs -> Node.exp (at 0 xs) }
      { Name = "log"; Inputs = one 0.2 3.0 0.0; Build = fun xs -> Node.log (at 0 xs) } ]
    @ [ for a in differentiableActivations ->
          // Inputs at least 0.1 from the kink of ReLU and leaky ReLU.
          { Name = sprintf "activation %s" (Activation.name a); Inputs = one -2.0 2.0 0.1; Build = fun xs -> Node.activate a (at 0 xs) } ]
    @ [ { Name = "softmax cross-entropy"
          Inputs = one -3.0 3.0 0.0
          Build = fun xs -> let z = at 0 xs in Node.softmaxCrossEntropy (Mat.init z.Rows z.Cols (fun i j -> if j = i % z.Cols then 0.7 elif j = (i + 1) % z.Cols then 0.3 else 0.0)) z } ]

/// For an op and random inputs A_1..A_m, L = sum(C o op(A_1..A_m)) with a random weight C, as a
/// function of all inputs flattened; its gradient by autodiff against central differences.
let private checkOp (case: OpCase) (seed: int) =
    let rng = Rng.create (int64 seed)
    let dims, rng = Rng.many 3 (Rng.nextUniform 1.0 4.999) rng
    let r, k, c = int dims.[0], int dims.[1], int dims.[2]
    let specs = case.Inputs r k c
    let inputs, rng =
        specs |> List.fold (fun (acc, rng) (rows, cols, lo, hi, gap) ->
            let mat, rng = randomMatrix rng rows cols lo hi gap
            acc @ [ mat ], rng) ([], rng)
    let sizes = inputs |> List.map (fun a -> a.RowCount * a.ColumnCount)
    let unflatten (theta: float[]) =
        List.zip inputs (List.scan (+) 0 sizes |> List.take inputs.Length)
        |> List.map (fun (a, off) -> Mat.init a.RowCount a.ColumnCount (fun i j -> theta.[off + i * a.ColumnCount + j]))
    let build (mats: Matrix<float> list) =
        let out = case.Build (mats |> List.mapi (fun i a -> Node.variable (sprintf "v%d" i) a))
        let weight, _ = randomMatrix rng out.Rows out.Cols -1.0 1.0 0.0
        Node.sum (Node.multiply (Node.constant weight) out)
    let theta = inputs |> List.collect (fun a -> [ for i in 0 .. a.RowCount - 1 do for j in 0 .. a.ColumnCount - 1 -> a.[i, j] ]) |> Array.ofList
    let f t = (Autodiff.evaluate (build (unflatten t))).[0, 0]
    let grad t =
        let res = Autodiff.gradient (build (unflatten t))
        inputs |> List.mapi (fun i _ -> res.Gradient(sprintf "v%d" i)) |> List.collect (fun g -> [ for i in 0 .. g.RowCount - 1 do for j in 0 .. g.ColumnCount - 1 -> g.[i, j] ]) |> Array.ofList
    // The four-point difference's rounding error is about 1e-16 |L| / h = 1e-12 |L| absolute, and |L| reaches
    // about 100 here (up to 16 entries of size 8), so gradients are compared relative to a floor of 1e-2
    // (rounding then contributes at most about 1e-8 to the relative error).
    GradientCheck.check (GradientCheckOptions.Default.WithRelativeFloor 1e-2) f grad theta

/// Arbitrary instance for FsCheck properties over networks of blocks, without the cases where two
/// or more batch normalisations are dominated by their epsilon (`epsilonDominatedBatchNorm`: there
/// both sides compute a gradient that is exactly 0 as rounding noise of up to about 1e-9, e.g.
/// layer normalisation of width 1 and then three batch normalisations). 2 x 200,000 cases with
/// this filter passed (the unfiltered generator fails about 3 times in 100,000).
type BlockCaseArb =
    static member BlockCase() = Arb.fromGen (genBlockCase |> Gen.filter (epsilonDominatedBatchNorm >> not))

let properties =
    testList "properties" [
        testPropertyWithConfig (config 300) "graph gradients of random dense networks, losses and batches equal Network.lossAndGradient within 1e-10" <| fun (c: Case) ->
            let lossCore, gCore = Network.lossAndGradient c.Network c.Loss c.X c.Y
            let lossGraph, gGraph = NetworkGraph.lossAndGradient c.Network c.Loss c.X c.Y
            let within (a: float) (b: float) = abs (a - b) <= 1e-10 * max 1.0 (max (abs a) (abs b))
            let core = (Parameters.ofGradients gCore).ToArray()
            let graph = (Parameters.ofGradients gGraph).ToArray()
            within lossCore lossGraph
            && core.Length = graph.Length
            && Array.forall2 within core graph
            && List.forall2 (fun (a: DenseGradient) (b: DenseGradient) -> a.Bias.IsSome = b.Bias.IsSome) gCore.Layers gGraph.Layers

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300; arbitrary = [ typeof<BlockCaseArb> ] } "graph gradients of random networks of every block, in both modes, equal Network.lossAndGradientIn within 1e-10" <| fun (c: BlockCase) ->
            // The graph builds batch and layer normalisation from its own means, powers and
            // transposes, and dropout as a product with the mask: it shares none of the blocks'
            // backward rules, so the agreement checks each block's hand-derived VJP.
            let lossCore, gCore, _ = Network.lossAndGradientIn c.Mode c.Network c.Loss c.X c.Y
            let lossGraph, gGraph = NetworkGraph.lossAndGradientIn c.Mode c.Network c.Loss c.X c.Y
            let within (a: float) (b: float) = abs (a - b) <= 1e-10 * max 1.0 (max (abs a) (abs b))
            let core = (Parameters.ofGradients gCore).ToArray()
            let graph = (Parameters.ofGradients gGraph).ToArray()
            within lossCore lossGraph && core.Length = graph.Length && Array.forall2 within core graph

        testList "each operation passes GradientCheck.check on random inputs (relative error <= 1e-7)" [
            for case in opCases ->
                testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 25 } case.Name <| fun (seed: PositiveInt) ->
                    let result = checkOp case seed.Get
                    if not (result.Passes 1e-7) then
                        failwithf "%s: relative error %g at %d (analytic %A, numeric %A)" case.Name result.MaxRelativeError result.WorstIndex result.Analytic result.Numeric
        ]
    ]

let construction =
    testList "construction and evaluation" [
        test "a custom block is one node of the network's graph, in the table and the DOT text, and its parameters get their gradient" {
            // f(X; c) = c X element-wise with one parameter c: dL/dc = sum(G o X), dL/dX = c G (hand derivation).
            let rec scaled (c: float) =
                { new ICustomBlock with
                    member _.Name = "scaled"
                    member _.InputSize = 2
                    member _.OutputSize = 2
                    member _.Parameters = [| c |]
                    member _.WithParameters p = scaled p.[0]
                    member _.Forward(x, _) = c * x
                    member _.Backward(x, _, g, _) = c * g, [| (g.PointwiseMultiply x).RowSums().Sum() |] }
            let net = Network.ofBlocks [ Block.Dense (Dense.create (m [ [ 1.0; -1.0 ]; [ 0.5; 2.0 ] ]) None Activation.Identity); Block.Custom (scaled 3.0) ]
            let x = m [ [ 1.0; 2.0 ] ]
            let y = m [ [ 0.0; 1.0 ] ]
            let r = Autodiff.gradient (NetworkGraph.ofBatch net Loss.HalfMeanSquaredError x y)
            let table = Explain.table r
            Expect.stringContains table "scaled(a0; theta1)" "the custom node's formula names the block, its input and its parameters"
            Expect.stringContains (Explain.dotOfRun r) "scaled(a0; theta1)" "and so does the DOT text"
            // a0 = x W = [2, 3]; out = 3 a0 = [6, 9]; G = out - y = [6, 8]; dL/dc = 6*2 + 8*3 = 36.
            Expect.floatClose Accuracy.veryHigh (r.Gradient("theta1").[0, 0]) 36.0 "dL/dc by hand"
            let _, g = Network.lossAndGradient net Loss.HalfMeanSquaredError x y
            Expect.equal (List.item 1 g.Blocks) (BlockGradient.Custom [| 36.0 |]) "the core's backward agrees"
        }
        test "the softmax cross-entropy node equals log-sum-exp composed of exp, sum and log (hand form)" {
            // L = 1/n sum_i sum_k y_ik (ln sum_j e^{z_ij} - z_ik), built from graph operations.
            let z = m [ [ 1.0; -0.5; 2.0 ]; [ 0.3; 0.1; -1.2 ] ]
            let y = m [ [ 0.0; 0.0; 1.0 ]; [ 0.2; 0.8; 0.0 ] ]
            let zn = Node.variable "z" z
            let lse = Node.log (Node.sumAlong Axis.Columns (Node.exp zn))                 // n x 1
            let lseB = Node.matMul lse (Node.constant (Matrix<float>.Build.Dense(1, 3, 1.0))) // n x k
            let composed = Node.scale 0.5 (Node.sum (Node.multiply (Node.constant y) (lseB - zn)))
            let direct = Node.softmaxCrossEntropy y zn
            let rc, rd = Autodiff.gradient composed, Autodiff.gradient direct
            close 1e-14 "value" rd.Value rc.Value
            let gc, gd = rc.Gradient "z", rd.Gradient "z"
            for i in 0 .. 1 do
                for j in 0 .. 2 do close 1e-14 (sprintf "dL/dz[%d,%d]" i j) gd.[i, j] gc.[i, j]
        }
        test "building and running a graph changes neither the graph nor the matrices given" {
            let wm = m [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]
            let w = Node.variable "W" wm
            let f = Node.mean (Node.pow 2.0 (Node.matMul w w))
            wm.[0, 0] <- 100.0 // the node holds a copy
            let r1 = Autodiff.gradient f
            let r2 = Autodiff.gradient f
            // By hand: W W = [7 10; 15 22], mean of squares = (49 + 100 + 225 + 484)/4 = 214.5.
            close 0.0 "value" r1.Value 214.5
            Expect.equal (r1.Gradient "W") (r2.Gradient "W") "two runs agree"
            Expect.equal (Graph.ofOutput f).Nodes.Length (Graph.ofOutput f).Nodes.Length "the same graph"
        }
        test "shape errors are ArgumentExceptions naming the parameter and both shapes" {
            let a = Node.constant (Matrix<float>.Build.Dense(2, 3))
            let b = Node.constant (Matrix<float>.Build.Dense(2, 3))
            let e = Expect.throwsC (fun () -> Node.matMul a b |> ignore) id :?> ArgumentException
            Expect.equal e.ParamName "b" "ParamName"
            Expect.stringContains e.Message "2x3" "both shapes"
            let e2 = Expect.throwsC (fun () -> Node.add a (Node.transpose b) |> ignore) id :?> ArgumentException
            Expect.stringContains e2.Message "3x2" "the other shape"
        }
        test "backward from a non-scalar output is an ArgumentException" {
            let a = Node.variable "a" (m [ [ 1.0; 2.0 ] ])
            Expect.throwsT<ArgumentException> (fun () -> Autodiff.gradient (Node.exp a) |> ignore) "1x2 output"
        }
        test "NetworkGraph.lossAndGradient checks like the core: bad y names y, a step layer is refused" {
            let net = Network.init 2 [ LayerSpec.Of(2, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 3L
            let x = m [ [ 1.0; 2.0 ] ]
            let e = Expect.throwsC (fun () -> NetworkGraph.lossAndGradient net Loss.MeanSquaredError x (m [ [ 1.0; 2.0 ] ]) |> ignore) id :?> ArgumentException
            Expect.equal e.ParamName "y" "ParamName"
            let stepNet = Network.init 2 [ LayerSpec.Of(1, Activation.Step) ] 3L
            Expect.throwsT<InvalidOperationException> (fun () -> NetworkGraph.lossAndGradient stepNet Loss.MeanSquaredError x (m [ [ 1.0 ] ]) |> ignore) "step layer"
        }
        test "a long chain does not overflow the stack" {
            // f = x + 1 + 1 + ... (20000 times): f = x + 20000, df/dx = 1.
            let x = Node.scalarVariable "x" 0.5
            let f = Seq.fold (fun acc _ -> acc + Node.scalar 1.0) x (seq { 1 .. 20000 })
            let g = Graph.ofOutput f
            Expect.equal g.Nodes.Length (1 + 2 * 20000) "nodes"
            close 0.0 "f" (Autodiff.evaluate f).[0, 0] 20000.5
            let run = Autodiff.gradient f
            close 0.0 "df/dx" (run.Gradient "x").[0, 0] 1.0
            let lines = (Explain.table run).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            Expect.equal lines.Length (2 + 40001) "a table row per node"
        }
    ]

let facade =
    testList "C# facade" [
        test "the notes' f = (x + y) z through FunctionalNN.Autodiff (note 003, equation (12))" {
            let x = FunctionalNN.Autodiff.Variable("x", -2.0)
            let y = FunctionalNN.Autodiff.Variable("y", 5.0)
            let z = FunctionalNN.Autodiff.Variable("z", -4.0)
            let run = ((x + y).Named("q") * z).Named("f").Backward()
            close 0.0 "f" run.Value -12.0
            close 0.0 "df/dx" (run.ScalarGradient "x") -4.0
            close 0.0 "df/dy" (run.ScalarGradient "y") -4.0
            close 0.0 "df/dz" (run.ScalarGradient "z") 3.0
            Expect.equal (run.Nodes |> Seq.map (fun n -> n.Name) |> List.ofSeq) [ "x"; "y"; "q"; "z"; "f" ] "nodes in topological order"
            Expect.stringContains (run.Table()) "q * z" "table"
            Expect.stringContains (run.ToDot()) "digraph" "DOT"
            let e = Expect.throwsC (fun () -> run.Gradient "w" |> ignore) id :?> ArgumentException
            Expect.equal e.ParamName "name" "ParamName of an unknown variable"
        }
        test "the linear-regression graph with scalar operators: dc/dw = -8 (note 004, 4.2.2, corrected sign)" {
            let w = FunctionalNN.Autodiff.Variable("w", 5.0)
            let b = FunctionalNN.Autodiff.Variable("b", 1.0)
            // c = (10 - (w * 1 + b))^2; by hand dc/dw = dc/db = -2 (10 - 6) = -8.
            let run = (10.0 - (w * 1.0 + b)).Pow(2.0).Backward()
            close 0.0 "c" run.Value 16.0
            close 0.0 "dc/dw" (run.ScalarGradient "w") -8.0
            close 0.0 "dc/db" (run.ScalarGradient "b") -8.0
        }
        test "NetworkLossAndGradient equals Network.LossAndGradient (softmax cross-entropy, 4-5-3 tanh network)" {
            let net = FunctionalNN.NetworkBuilder(4).Dense(5, FunctionalNN.Activation.Tanh).Dense(3, FunctionalNN.Activation.Identity).Seed(7L).Build()
            let x = array2D [ [ 0.1; -0.4; 0.9; 0.3 ]; [ -1.0; 0.2; 0.5; -0.7 ] ]
            let y = array2D [ [ 0.0; 1.0; 0.0 ]; [ 1.0; 0.0; 0.0 ] ]
            let bp = net.LossAndGradient(x, y, FunctionalNN.Loss.SoftmaxCrossEntropy)
            let ad = FunctionalNN.Autodiff.NetworkLossAndGradient(net, x, y, FunctionalNN.Loss.SoftmaxCrossEntropy)
            close 1e-12 "loss" ad.Loss bp.Loss
            for l in 0 .. 1 do
                let a, b = ad.WeightGradients.[l], bp.WeightGradients.[l]
                for i in 0 .. Array2D.length1 a - 1 do
                    for j in 0 .. Array2D.length2 a - 1 do close 1e-12 (sprintf "dW%d[%d,%d]" l i j) a.[i, j] b.[i, j]
                Array.iteri2 (fun j (u: float) v -> close 1e-12 (sprintf "db%d[%d]" l j) u v) ad.BiasGradients.[l] bp.BiasGradients.[l]
            let graph = FunctionalNN.Autodiff.NetworkLoss(net, x, y, FunctionalNN.Loss.SoftmaxCrossEntropy)
            Expect.equal (graph.Rows, graph.Columns) (1, 1) "a 1x1 loss node"
        }
        test "matrix operations and shape errors through the facade" {
            let a = FunctionalNN.Autodiff.Variable("A", array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ])
            // sum(A A^T) = sum([5 11; 11 25]) = 52; with G = 1 1^T, d/dA = G A + G^T A = 2 [4 6; 4 6].
            let run = a.MatMul(a.Transpose()).Sum().Backward()
            close 0.0 "value" run.Value 52.0
            Expect.equal (run.Gradient "A") (array2D [ [ 8.0; 12.0 ]; [ 8.0; 12.0 ] ]) "gradient"
            let e = Expect.throwsC (fun () -> a.MatMul(FunctionalNN.Autodiff.Constant(array2D [ [ 1.0; 2.0; 3.0 ] ])) |> ignore) id :?> ArgumentException
            Expect.equal e.ParamName "other" "ParamName: MatMul's parameter"
            Expect.stringContains e.Message "1x3" "the other shape"
            Expect.throwsT<ArgumentNullException> (fun () -> a.MatMul(null) |> ignore) "null operand"
        }
        test "Backward of a node that is not 1 x 1 raises InvalidOperationException, as its XML docs say" {
            // A review: the docs of both overloads said ArgumentException for a node not 1 x 1, which it never throws.
            let m = FunctionalNN.Autodiff.Variable("m", Array2D.zeroCreate 2 2)
            for name, call in [ "Backward()", (fun () -> m.Backward() |> ignore)
                                "Backward(Float64)", (fun () -> m.Backward(FunctionalNN.Precision.Float64) |> ignore)
                                "Backward(Float32)", (fun () -> m.Backward(FunctionalNN.Precision.Float32) |> ignore) ] do
                match Expect.throwsC call id with
                | :? InvalidOperationException as e ->
                    Expect.equal e.Message "Backward needs a 1x1 output, but the output is 2x2; reduce it with Sum() or Mean()." (sprintf "%s: message" name)
                | e -> failtestf "%s: expected InvalidOperationException, got %O" name e
            for id in [ "M:FunctionalNN.Node.Backward"; "M:FunctionalNN.Node.Backward(FunctionalNN.Precision)" ] do
                let docs = exceptionDocs id
                Expect.isFalse (docs |> List.exists (fun (cref, _) -> cref = "T:System.ArgumentException")) (sprintf "%s documents no ArgumentException: %A" id docs)
                match docs |> List.tryFind (fun (cref, _) -> cref = "T:System.InvalidOperationException") with
                | Some (_, text) -> Expect.stringContains text "not 1 x 1" (sprintf "%s: the InvalidOperationException docs name the case" id)
                | None -> failtestf "%s documents no InvalidOperationException: %A" id docs
        }
        test "Node errors in C# words: SoftmaxCrossEntropy names this node (not logits) under ParamName target; BroadcastRows of a node of two rows is an InvalidOperationException" {
            // A review: "target has shape 1x3 but logits has shape 1x2" (C# has no logits), and BroadcastRows raised an
            // ArgumentException with no ParamName (the row at fault is the node itself, no argument).
            let z = FunctionalNN.Autodiff.Variable("z", array2D [ [ 0.5; -0.5 ] ])
            match Expect.throwsC (fun () -> z.SoftmaxCrossEntropy(array2D [ [ 0.0; 1.0; 0.0 ] ]) |> ignore) id with
            | :? ArgumentException as e ->
                Expect.equal e.ParamName "target" "ParamName: SoftmaxCrossEntropy's parameter"
                Expect.stringStarts e.Message "target has shape 1x3 but this node has shape 1x2; they must agree." e.Message
                Expect.isFalse (e.Message.Contains "logits") e.Message
            | e -> failtestf "expected ArgumentException, got %O" e
            // The loss itself is unchanged: -ln softmax(z)_1 = ln(1 + e^(z0 - z1)) = ln(1 + e), by hand.
            close 1e-15 "loss" ((z.SoftmaxCrossEntropy(array2D [ [ 0.0; 1.0 ] ])).Evaluate().[0, 0]) (log (1.0 + exp 1.0))
            let m = FunctionalNN.Autodiff.Variable("m", Array2D.zeroCreate 2 3)
            match Expect.throwsC (fun () -> m.BroadcastRows 3 |> ignore) id with
            | :? InvalidOperationException as e -> Expect.equal e.Message "BroadcastRows needs a 1xc node, but this node is 2x3." "message"
            | e -> failtestf "expected InvalidOperationException, got %O" e
            let row = FunctionalNN.Autodiff.Variable("r", array2D [ [ 1.0; 2.0; 3.0 ] ])
            match Expect.throwsC (fun () -> row.BroadcastRows 0 |> ignore) id with
            | :? ArgumentException as e -> Expect.equal e.ParamName "rows" "ParamName of a bad row count"
            | e -> failtestf "expected ArgumentException, got %O" e
            Expect.equal ((row.BroadcastRows 2).Evaluate()) (array2D [ [ 1.0; 2.0; 3.0 ]; [ 1.0; 2.0; 3.0 ] ]) "a 1 x c row repeated"
            let docs = exceptionDocs "M:FunctionalNN.Node.BroadcastRows(System.Int32)"
            Expect.isTrue (docs |> List.exists (fun (cref, text) -> cref = "T:System.InvalidOperationException" && text.Contains "not one row")) (sprintf "BroadcastRows documents it: %A" docs)
        }
    ]

let domainAndDerivatives =
    testList "derivatives at 0 and values outside the domain" [
        test "d/dx x^0 = 0 at x = 0 and elsewhere (by hand: x^0 = 1 is constant)" {
            for x0 in [ 0.0; -2.0; 3.5 ] do
                let r = Autodiff.gradient (Node.pow 0.0 (Node.scalarVariable "x" x0))
                Expect.equal r.Value 1.0 (sprintf "0^0 = 1 (IEEE pow), x = %g" x0)
                Expect.equal (scalarOf r "x") 0.0 (sprintf "d/dx x^0 at x = %g" x0)
            // The other exponents whose derivative p x^(p-1) is finite at 0: p 0^(p-1) = 1, 0, 0, 0 for p = 1..4 (by hand).
            for p, expected in [ 1.0, 1.0; 2.0, 0.0; 3.0, 0.0; 4.0, 0.0 ] do
                let r = Autodiff.gradient (Node.pow p (Node.scalarVariable "x" 0.0))
                Expect.equal (scalarOf r "x") expected (sprintf "p = %g" p)
        }
        test "d(a/b)/db = -a/b^2 stays finite where b^2 underflows: a = 0 gives 0, a = b gives -1/b (by hand)" {
            // b = 1e-200: b^2 = 1e-400 underflows to 0, so -(G a)/(b b) was 0/0 = NaN for a = 0 and -infinity for a = b.
            let b = 1e-200
            let r0 = Autodiff.gradient (Node.divide (Node.scalarVariable "a" 0.0) (Node.scalarVariable "b" b))
            Expect.equal (scalarOf r0 "b") 0.0 "a = 0: -0/b^2 = 0"
            Expect.equal (scalarOf r0 "a") 1e200 "da = 1/b"
            let r1 = Autodiff.gradient (Node.divide (Node.scalarVariable "a" b) (Node.scalarVariable "b" b))
            Expect.equal (scalarOf r1 "b") -1e200 "a = b: -b/b^2 = -1/b"
        }
        test "values that are not finite are ArgumentExceptions naming the node, its formula and the value" {
            let fails (what: string) (param: string) (f: unit -> unit) (fragments: string list) =
                let e = Expect.throwsC f id
                Expect.equal (e.GetType()) typeof<ArgumentException> (sprintf "%s: an ArgumentException (%s)" what e.Message)
                Expect.equal (e :?> ArgumentException).ParamName param (sprintf "%s: ParamName" what)
                for s in fragments do Expect.stringContains e.Message s (sprintf "%s: the message names %s" what s)
            let x v = Node.scalarVariable "x" v
            // log(-1) = NaN (the gradient was a finite -1 before); pow 0.5 of -4 = NaN; 1/0 = infinity; exp(1000) = infinity.
            fails "log(-1)" "output" (fun () -> Autodiff.gradient (Node.log (x -1.0)) |> ignore) [ "log(x)"; "NaN"; "x = -1"; "row 0, column 0" ]
            fails "log(-1), evaluate" "output" (fun () -> Autodiff.evaluate (Node.log (x -1.0)) |> ignore) [ "log(x)"; "NaN" ]
            fails "(-4)^0.5" "output" (fun () -> Autodiff.gradient (Node.named "root" (Node.pow 0.5 (x -4.0))) |> ignore) [ "'root'"; "x^0.5"; "NaN"; "x = -4" ]
            fails "x / 0" "output" (fun () -> Autodiff.gradient (Node.divide (x 1.0) (Node.scalarVariable "y" 0.0)) |> ignore) [ "x / y"; "Infinity"; "y = 0" ]
            fails "exp(1000)" "output" (fun () -> Autodiff.gradient (Node.exp (x 1000.0)) |> ignore) [ "exp(x)"; "Infinity"; "x = 1000" ]
            fails "Graph.run" "graph" (fun () -> Graph.run (Graph.ofOutput (Node.log (x 0.0))) |> ignore) [ "log(x)"; "-Infinity" ]
            // Element (1, 0) of a 2x2 matrix: the message says where.
            let m = Node.variable "M" (m [ [ 1.0; 2.0 ]; [ -3.0; 4.0 ] ])
            fails "log of a matrix" "output" (fun () -> Autodiff.gradient (Node.sum (Node.log m)) |> ignore) [ "log(M)"; "row 1, column 0"; "M = -3" ]
            // A value finite in float64 but beyond float32's range (3.4e38) in Float32.
            fails "Float32 overflow" "output" (fun () -> Autodiff.gradientIn Precision.Float32 (Node.multiply (x 1e30) (x 1e30)) |> ignore) [ "x * x"; "Infinity"; "float32" ]
        }
        test "an infinity inside the graph that later nodes bring back into range is kept: 1 / (1 + exp(-x)) at x = -1000 is 0" {
            // By hand (IEEE): exp(1000) = infinity, 1 + infinity = infinity, 1 / infinity = 0.
            let x = Node.scalarVariable "x" -1000.0
            let sigmoid = Node.divide (Node.scalar 1.0) (Node.add (Node.scalar 1.0) (Node.exp (Node.negate x)))
            Expect.equal ((Autodiff.evaluate sigmoid).[0, 0]) 0.0 "evaluate: 0"
            // exp(-(y y)) at y = 1e200: y y = infinity, exp(-infinity) = 0.
            let y = Node.scalarVariable "y" 1e200
            Expect.equal ((Autodiff.evaluate (Node.exp (Node.negate (Node.multiply y y)))).[0, 0]) 0.0 "evaluate: exp(-(y y)) = 0"
            // The gradient meets 0 times infinity (exp's adjoint): that is an error, not NaN.
            Expect.throwsT<ArgumentException> (fun () -> Autodiff.gradient sigmoid |> ignore) "gradient raises"
        }
        test "an adjoint that is not finite is an ArgumentException naming the node: d/dx x^0.5 at 0 is infinite" {
            // Forward: 0^0.5 = 0, finite; backward: 0.5 * 0^-0.5 = infinity (by hand).
            let e = Expect.throwsC (fun () -> Autodiff.gradient (Node.named "root" (Node.pow 0.5 (Node.scalarVariable "x" 0.0))) |> ignore) id
            Expect.equal (e.GetType()) typeof<ArgumentException> e.Message
            Expect.equal (e :?> ArgumentException).ParamName "output" "ParamName"
            for s in [ "backward pass"; "node 'x'"; "Infinity"; "'root' (x^0.5"; "where x = 0"; "whose adjoint is 1" ] do Expect.stringContains e.Message s s
        }
        test "the facade: Backward and Evaluate raise InvalidOperationException with the node in the message" {
            let x = FunctionalNN.Autodiff.Variable("x", -1.0)
            let e = Expect.throwsC (fun () -> x.Log().Named("lx").Backward() |> ignore) id
            Expect.equal (e.GetType()) typeof<InvalidOperationException> e.Message
            for s in [ "'lx'"; "log(x)"; "NaN"; "x = -1" ] do Expect.stringContains e.Message s s
            Expect.isFalse (e.Message.Contains "Parameter") "no core parameter name"
            let e2 = Expect.throwsC (fun () -> (x / 0.0).Evaluate() |> ignore) id
            Expect.equal (e2.GetType()) typeof<InvalidOperationException> e2.Message
            Expect.stringContains e2.Message "Infinity" "x / 0"
            let e3 = Expect.throwsC (fun () -> FunctionalNN.Autodiff.Variable("x", 0.0).Pow(0.5).Backward() |> ignore) id
            Expect.equal (e3.GetType()) typeof<InvalidOperationException> e3.Message
            Expect.stringContains e3.Message "backward pass" "an adjoint"
            // x^0 through the facade: the gradient is 0 (by hand), not NaN.
            Expect.equal (FunctionalNN.Autodiff.Variable("x", 0.0).Pow(0.0).Backward().ScalarGradient "x") 0.0 "d/dx x^0 at 0"
        }
    ]

let private ofRows (rows: float list list) = Matrix<float>.Build.DenseOfRows(rows |> List.map Seq.ofList)

/// The autodiff review's findings: constants' adjoints, results that share nothing, names of errors.
let review =
    testList "review" [
        test "a node computed from constants alone gets no adjoint: sqrt of a 0 in the data does not block w's gradient" {
            // f = sum(sqrt(C) w), C = [[0, 4], [1, 9]], w = [0.5; -1]: sqrt(C) = [[0, 2], [1, 3]], sqrt(C) w = [-2; -2.5],
            // f = -4.5, df/dw = sqrt(C)^T [1; 1] = [1; 5] (by hand; PyTorch gives the same: w.grad = [[1], [5]]).
            // d sqrt(c)/dc is infinite at c = 0, but no gradient depends on C.
            let c = Node.named "c" (Node.constant (ofRows [ [ 0.0; 4.0 ]; [ 1.0; 9.0 ] ]))
            let root = Node.named "root" (Node.pow 0.5 c)
            let w = Node.variable "w" (ofRows [ [ 0.5 ]; [ -1.0 ] ])
            let r = Autodiff.gradient (Node.sum (Node.matMul root w))
            close 0.0 "f" r.Value -4.5
            Expect.equal (r.Gradient "w" |> Mat.toArray2D) (array2D [ [ 1.0 ]; [ 5.0 ] ]) "df/dw"
            for label in [ "c"; "root" ] do
                let gn = r.Graph.Nodes |> List.find (fun gn -> gn.Node.Label = label)
                Expect.isFalse (r.Adjoints.ContainsKey gn.Id) (sprintf "%s has no adjoint" label)
            let rootRow = (Explain.table r).Split('\n') |> Array.find (fun l -> l.Contains "| root")
            Expect.stringEnds (rootRow.TrimEnd()) "none" "the table says none"
            Expect.isFalse ((Explain.dotOfRun r).Contains "root = c^0.5\\nvalue [[0, 2], [1, 3]]\\nadjoint") "no adjoint in the DOT box"
            // (x 1e-200) 1e200 at x = 1e200: the share of the constant 1e-200 would be 1e200 x = infinity; dx = 1e200 1e-200 = 1.
            let x = Node.scalarVariable "x" 1e200
            let r2 = Autodiff.gradient ((x * Node.scalar 1e-200) * Node.scalar 1e200)
            close 1e-15 "d/dx" (scalarOf r2 "x") 1.0
            // A variable below the kink still gives the documented error: sqrt(v) at v = 0.
            Expect.throwsT<ArgumentException> (fun () -> Autodiff.gradient (Node.sum (Node.pow 0.5 (Node.variable "v" (ofRows [ [ 0.0; 1.0 ] ])))) |> ignore) "a variable's infinite derivative"
        }
        test "the facade: a constant's NodeReport has no adjoint" {
            let w = FunctionalNN.Autodiff.Variable("w", 2.0)
            let run = (FunctionalNN.Autodiff.Constant(0.0).Pow(0.5) + w).Backward()
            Expect.equal (run.ScalarGradient "w") 1.0 "d/dw (sqrt 0 + w) = 1"
            Expect.isNull (run.Nodes.[0].Adjoint) "the constant 0"
            Expect.isNotNull (run.Nodes |> Seq.find (fun n -> n.Name = "w")).Adjoint "w"
        }
        test "gradients and adjoints are matrices of their own" {
            // a + b passes the same adjoint on to both inputs; the result must not hand out one matrix twice.
            let r = Autodiff.gradient (Node.sum (Node.variable "a" (ofRows [ [ 1.0; 2.0 ] ]) + Node.variable "b" (ofRows [ [ 3.0; 4.0 ] ])))
            Expect.isFalse (obj.ReferenceEquals(r.Gradient "a", r.Gradient "b")) "two gradients"
            (r.Gradient "a").MapInplace(fun v -> v * 0.1)
            Expect.equal (r.Gradient "b" |> Mat.toArray2D) (array2D [ [ 1.0; 1.0 ] ]) "b's gradient unchanged"
            let ids = r.Graph.Nodes |> List.map (fun gn -> gn.Id)
            for i in ids do
                for j in ids do
                    if i < j then Expect.isFalse (obj.ReferenceEquals(r.Adjoints.[i], r.Adjoints.[j])) (sprintf "adjoints %d and %d" i j)
        }
        test "a leaf's value read through Op is a copy: changing it does not change the node" {
            let w = Node.variable "w" (ofRows [ [ 2.0 ] ])
            let f = Node.pow 2.0 w
            match w.Op with
            | Op.Variable (_, v) -> v.[0, 0] <- 10.0
            | _ -> failtest "a variable"
            close 0.0 "f = w^2 at w = 2" (Autodiff.evaluate f).[0, 0] 4.0
        }
        test "errors of Autodiff.gradient and evaluate name the parameter 'output'" {
            let e = Expect.throwsC (fun () -> Autodiff.gradient (Node.variable "a" (Matrix<float>.Build.Dense(2, 3, 1.0))) |> ignore) id
            Expect.equal (e :?> ArgumentException).ParamName "output" "a 2x3 output"
            Expect.stringContains e.Message "2x3" "the shape"
            let twoA = Node.variable "a" (ofRows [ [ 1.0 ] ]) + Node.variable "a" (ofRows [ [ 2.0 ] ])
            for f in [ (fun () -> Autodiff.gradient twoA |> ignore); (fun () -> Autodiff.evaluate twoA |> ignore) ] do
                let e = Expect.throwsC f id
                Expect.equal (e :?> ArgumentException).ParamName "output" "two variables named a"
                Expect.stringContains e.Message "named 'a'" "the name"
        }
    ]

[<Tests>]
let tests = testList "Autodiff" [ notesGraphs; sharedNodes; properties; construction; facade; domainAndDerivatives; review ]
