// Chapter 4 of the longest note (backpropagation) as reverse-mode autodiff on computational graphs:
// the graph f = (x + y) z of note 003 (figure 9), the linear-regression graph of note 004, 4.2.2
// (figures 4.2-4.4), and a small dense network whose graph gradients equal the hand-derived
// backpropagation of 4.3. Each run prints its table of forward values and adjoints and its DOT text
// (also written to scripts/output/*.dot; render with `dot -Tsvg file.dot`).
// Run from the repository root after a Release build: dotnet fsi scripts/chapter4.fsx
#load "load.fsx"

open System
open System.IO
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Autodiff

let outDir = Path.Combine(__SOURCE_DIRECTORY__, "output")
Directory.CreateDirectory outDir |> ignore

let explain (title: string) (file: string) (output: Node) =
    let run = Autodiff.gradient output
    Console.WriteLine(sprintf "\n== %s ==\n" title)
    Console.Write(Explain.table run)
    for KeyValue (name, g) in run.Gradients do
        Console.WriteLine(sprintf "d%s/d%s = %s" output.Label name (Explain.formatMatrix g))
    let dot = Explain.dotOfRun run
    File.WriteAllText(Path.Combine(outDir, file), dot)
    Console.WriteLine(sprintf "\nDOT (%s):\n%s" file dot)
    run

// Note 003, figure 9: q = x + y, f = q z at x = -2, y = 5, z = -4.
// Expected (equation (12)): f = -12, df/dx = df/dy = z = -4, df/dz = q = 3.
let x = Node.scalarVariable "x" -2.0
let y = Node.scalarVariable "y" 5.0
let z = Node.scalarVariable "z" -4.0
let q = Node.named "q" (x + y)
let f = explain "f = (x + y) z (note 003, figure 9)" "chapter4-xyz.dot" (Node.named "f" (q * z))
if f.Value <> -12.0 || f.Gradient("x").[0, 0] <> -4.0 || f.Gradient("y").[0, 0] <> -4.0 || f.Gradient("z").[0, 0] <> 3.0 then
    failwith "the graph f = (x + y) z does not give the notes' values"

// Note 004, 4.2.2: u = w x, yhat = u + b, e = y - yhat, c = e^2 at w = 5, x = 1, b = 1, y = 10.
// Forward (figure 4.3): u = 5, yhat = 6, c = 16. Backward (figure 4.4): dc/de = 2e = 8, and then
// dc/dyhat = dc/de * d(y - yhat)/dyhat = 8 * (-1) = -8, dc/dw = dc/dyhat * x = -8, dc/db = -8.
// The notes print dc/dyhat = 2e * 1 = 8 and dc/dw = 8: the factor d(y - yhat)/dyhat = -1 was
// dropped there. The table below shows the signs the chain rule gives.
let w = Node.scalarVariable "w" 5.0
let xr = Node.scalarVariable "x" 1.0
let b = Node.scalarVariable "b" 1.0
let yr = Node.scalarVariable "y" 10.0
let u = Node.named "u" (w * xr)
let yhat = Node.named "yhat" (u + b)
let e = Node.named "e" (yr - yhat)
let c = explain "linear regression graph (note 004, 4.2.2)" "chapter4-regression.dot" (Node.named "c" (Node.pow 2.0 e))
Console.WriteLine("The notes print dc/dyhat = 8 and dc/dw = 8; with d(y - yhat)/dyhat = -1 they are -8 and -8, as above.")
if c.Value <> 16.0 || c.Gradient("w").[0, 0] <> -8.0 || c.Gradient("b").[0, 0] <> -8.0 then
    failwith "the regression graph does not give u = 5, yhat = 6, c = 16, dc/dw = dc/db = -8"

// 4.2.1: the chain rule sums over paths. p = x * x + x: dp/dx = 2x + 1 along three paths (x used three times).
let xs = Node.scalarVariable "x" 3.0
let p = explain "a node used on several paths: p = x * x + x at x = 3 (dp/dx = 2x + 1 = 7)" "chapter4-paths.dot" (Node.named "p" (xs * xs + xs))
if p.Gradient("x").[0, 0] <> 7.0 then failwith "dp/dx should be 7"

// 4.3: a 2-3-1 network (tanh hidden layer, sigmoid output, binary cross-entropy) as a graph. Its
// gradients are those of the hand-derived backward pass Network.lossAndGradient.
let net =
    Network.create [ Dense.create (Matrix<float>.Build.DenseOfArray(array2D [ [ 0.5; -0.3; 0.8 ]; [ -0.2; 0.7; 0.1 ] ])) (Some (Vector<float>.Build.DenseOfArray [| 0.1; 0.0; -0.1 |])) Activation.Tanh
                     Dense.create (Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0 ]; [ -1.5 ]; [ 0.6 ] ])) (Some (Vector<float>.Build.DenseOfArray [| 0.2 |])) Activation.Sigmoid ]
let xb = Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0; 2.0 ]; [ -1.0; 0.5 ] ])
let yb = Matrix<float>.Build.DenseOfArray(array2D [ [ 1.0 ]; [ 0.0 ] ])
let netRun = explain "a 2-3-1 network on a batch of two (4.3)" "chapter4-network.dot" (NetworkGraph.ofBatch net Loss.BinaryCrossEntropy xb yb)
let lossBp, gBp = Network.lossAndGradient net Loss.BinaryCrossEntropy xb yb
let gAd = NetworkGraph.gradientsOf net netRun
let diff = ((Parameters.ofGradients gBp) - (Parameters.ofGradients gAd)).AbsoluteMaximum()
Console.WriteLine(sprintf "\nbackpropagation loss %.15g, autodiff loss %.15g; largest gradient difference %.3g" lossBp netRun.Value diff)
if diff > 1e-12 then failwith "autodiff and backpropagation disagree"
