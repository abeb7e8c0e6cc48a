module Functional.NN.Tests.NetworkTests

open System
open Expecto
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Tests.Generators

let private dense w b act = Dense.create (m w) (b |> Option.map (fun (v: float list) -> Vector<float>.Build.DenseOfArray(Array.ofList v))) act

let private close (tol: float) (msg: string) (actual: float) (expected: float) =
    Expect.floatClose { absolute = tol; relative = tol } actual expected (sprintf "%s: actual %.17g, expected %.17g" msg actual expected)

let private matrixClose tol msg (actual: Matrix<float>) (expected: Matrix<float>) =
    Expect.equal (actual.RowCount, actual.ColumnCount) (expected.RowCount, expected.ColumnCount) (msg + ": shape")
    for i in 0 .. actual.RowCount - 1 do
        for j in 0 .. actual.ColumnCount - 1 do
            close tol (sprintf "%s[%d,%d]" msg i j) actual.[i, j] expected.[i, j]

/// The notes' worked formulas, with expected values derived by hand or from the notes' own
/// vectorised formulas evaluated independently (plain loops in this file, not the core).
let notesExamples =
    testList "notes' worked examples" [
        test "two-layer scalar network of the first note: dL/da_j and dL/dw_j (hand derivation)" {
            // Note 000: h(x) = sum_j a_j s(w_j x + b_j), L = 1/(2n) sum (y - h)^2,
            // dL/da_j = 1/n sum (h_i - y_i) s(w_j x_i + b_j),
            // dL/dw_j = 1/n sum (h_i - y_i) a_j s'(w_j x_i + b_j) x_i.
            // With s = ReLU, w = [1, -1], b = [0, 3], a = [2, 3], x = [1, 2], y = [1, 0]:
            //   x = 1: z = [1, 2], s = [1, 2], h = 2*1 + 3*2 = 8, h - y = 7
            //   x = 2: z = [2, 1], s = [2, 1], h = 2*2 + 3*1 = 7, h - y = 7
            //   L = (49 + 49) / 4 = 24.5
            //   dL/da_1 = (7*1 + 7*2)/2 = 10.5, dL/da_2 = (7*2 + 7*1)/2 = 10.5
            //   dL/dw_1 = (7*2*1*1 + 7*2*1*2)/2 = 21, dL/dw_2 = (7*3*1*1 + 7*3*1*2)/2 = 31.5
            //   dL/db_1 = (7*2 + 7*2)/2 = 14, dL/db_2 = (7*3 + 7*3)/2 = 21
            // In the batch layout the hidden layer's W is 1 x 2 (= w^T... one input row) and the
            // output layer's W is 2 x 1 (= a as a column), without bias.
            let net = Network.create [ dense [ [ 1.0; -1.0 ] ] (Some [ 0.0; 3.0 ]) Activation.ReLU
                                       dense [ [ 2.0 ]; [ 3.0 ] ] None Activation.Identity ]
            let loss, g = Network.lossAndGradient net Loss.HalfMeanSquaredError (m [ [ 1.0 ]; [ 2.0 ] ]) (m [ [ 1.0 ]; [ 0.0 ] ])
            close 1e-14 "L" loss 24.5
            matrixClose 1e-14 "dL/da" g.Layers.[1].Weights (m [ [ 10.5 ]; [ 10.5 ] ])
            matrixClose 1e-14 "dL/dw" g.Layers.[0].Weights (m [ [ 21.0; 31.5 ] ])
            let db = g.Layers.[0].Bias.Value
            close 1e-14 "dL/db_1" db.[0] 14.0
            close 1e-14 "dL/db_2" db.[1] 21.0
            Expect.isNone g.Layers.[1].Bias "the output layer has no bias"
        }

        test "3-4-1 sigmoid network with cross-entropy of the second note: dZ, dW, db (vectorised form)" {
            // Note 001, vectorised backward pass for n samples (their W is d_out x d_in; ours is its
            // transpose, so their dW = dZ^T A becomes our A^T dZ):
            //   dZ2 = (A2 - Y)/n, db2 = dZ2^T 1, dW2 = dZ2^T A1
            //   dZ1 = dZ2 W2 o s'(Z1), db1 = dZ1^T 1, dW1 = dZ1^T X
            // The expected values below evaluate these formulas with plain loops.
            let x = array2D [ [ 0.5; -1.0; 2.0 ]; [ 1.5; 0.25; -0.5 ]; [ -2.0; 1.0; 0.0 ] ]
            let y = [| 1.0; 0.0; 1.0 |]
            let w1 = array2D [ [ 0.1; -0.2; 0.3; 0.4 ]; [ -0.5; 0.6; 0.7; -0.8 ]; [ 0.9; 0.1; -0.3; 0.2 ] ] // 3 x 4
            let b1 = [| 0.05; -0.1; 0.0; 0.2 |]
            let w2 = [| 0.3; -0.6; 0.8; 0.1 |] // 4 x 1
            let b2 = -0.25
            let n = 3
            let sigma z = 1.0 / (1.0 + exp (-z))
            let a1 = Array2D.init n 4 (fun i j -> sigma (b1.[j] + Seq.sum (seq { for k in 0 .. 2 -> x.[i, k] * w1.[k, j] })))
            let a2 = Array.init n (fun i -> sigma (b2 + Seq.sum (seq { for j in 0 .. 3 -> a1.[i, j] * w2.[j] })))
            let dZ2 = Array.init n (fun i -> (a2.[i] - y.[i]) / float n)
            let db2 = Array.sum dZ2
            let dW2 = Array.init 4 (fun j -> Seq.sum (seq { for i in 0 .. n - 1 -> dZ2.[i] * a1.[i, j] }))
            let dZ1 = Array2D.init n 4 (fun i j -> dZ2.[i] * w2.[j] * a1.[i, j] * (1.0 - a1.[i, j]))
            let db1 = Array.init 4 (fun j -> Seq.sum (seq { for i in 0 .. n - 1 -> dZ1.[i, j] }))
            let dW1 = Array2D.init 3 4 (fun k j -> Seq.sum (seq { for i in 0 .. n - 1 -> dZ1.[i, k * 0 + j] * x.[i, k] }))
            let net =
                Network.create [ Dense.create (Mat.ofArray2D w1) (Some (Vector<float>.Build.DenseOfArray b1)) Activation.Sigmoid
                                 Dense.create (Mat.init 4 1 (fun j _ -> w2.[j])) (Some (Vector<float>.Build.Dense(1, b2))) Activation.Sigmoid ]
            let _, g = Network.lossAndGradient net Loss.BinaryCrossEntropy (Mat.ofArray2D x) (Mat.init n 1 (fun i _ -> y.[i]))
            matrixClose 1e-13 "dW2" g.Layers.[1].Weights (Mat.init 4 1 (fun j _ -> dW2.[j]))
            close 1e-13 "db2" g.Layers.[1].Bias.Value.[0] db2
            matrixClose 1e-13 "dW1" g.Layers.[0].Weights (Mat.ofArray2D dW1)
            for j in 0 .. 3 do close 1e-13 (sprintf "db1[%d]" j) g.Layers.[0].Bias.Value.[j] db1.[j]
        }

        test "two-layer softmax network of the third note: grad W2 = s(X W1)^T (S - I_y) / n" {
            // Note 002 (10-714), eq. (10): grad_W2 l_ce(s(X W1) W2, y) = s(X W1)^T (S - I_y), with
            // S the row-wise softmax of s(X W1) W2 and I_y the one-hot labels; eq. (10) is the
            // gradient of the summed loss. The library's loss is the mean over the batch, so its
            // gradient carries the factor 1/n; and eq. below (10): grad_W1 = X^T ((S - I_y) W2^T o s'(X W1)).
            // ReLU hidden layer, no biases, as in the note. Expected values by plain loops.
            let x = array2D [ [ 1.0; 2.0 ]; [ -1.0; 0.5 ]; [ 0.3; -0.7 ]; [ 2.0; 1.0 ] ]
            let labels = [| 0; 2; 1; 2 |]
            let w1 = array2D [ [ 0.4; -0.3; 0.2 ]; [ 0.1; 0.5; -0.6 ] ]
            let w2 = array2D [ [ 0.7; -0.2; 0.1 ]; [ 0.3; 0.9; -0.4 ]; [ -0.5; 0.2; 0.6 ] ]
            let n = 4
            let h = Array2D.init n 3 (fun i j -> max 0.0 (x.[i, 0] * w1.[0, j] + x.[i, 1] * w1.[1, j]))
            let logits = Array2D.init n 3 (fun i k -> Seq.sum (seq { for j in 0 .. 2 -> h.[i, j] * w2.[j, k] }))
            let s = Array2D.init n 3 (fun i k -> exp logits.[i, k] / Seq.sum (seq { for c in 0 .. 2 -> exp logits.[i, c] }))
            let sMinusI = Array2D.init n 3 (fun i k -> s.[i, k] - (if labels.[i] = k then 1.0 else 0.0))
            let gradW2 = Array2D.init 3 3 (fun j k -> Seq.sum (seq { for i in 0 .. n - 1 -> h.[i, j] * sMinusI.[i, k] }) / float n)
            let back = Array2D.init n 3 (fun i j -> Seq.sum (seq { for k in 0 .. 2 -> sMinusI.[i, k] * w2.[j, k] }) * (if h.[i, j] > 0.0 then 1.0 else 0.0))
            let gradW1 = Array2D.init 2 3 (fun d j -> Seq.sum (seq { for i in 0 .. n - 1 -> x.[i, d] * back.[i, j] }) / float n)
            let net = Network.create [ Dense.create (Mat.ofArray2D w1) None Activation.ReLU; Dense.create (Mat.ofArray2D w2) None Activation.Identity ]
            let _, g = Network.lossAndGradient net Loss.SoftmaxCrossEntropy (Mat.ofArray2D x) (Mat.oneHot 3 labels)
            matrixClose 1e-14 "grad W2" g.Layers.[1].Weights (Mat.ofArray2D gradW2)
            matrixClose 1e-14 "grad W1" g.Layers.[0].Weights (Mat.ofArray2D gradW1)
        }
    ]

/// The gradient property of the issue: backpropagation against central differences.
let gradientProperty =
    testList "backpropagation" [
        testPropertyWithConfig (config 1000) "analytic gradients equal central differences within 1e-6 (relative)" <| fun (c: Case) ->
            let r = GradientCheck.checkNetwork GradientCheckOptions.Default c.Network c.Loss c.X c.Y
            if not (r.Passes 1e-6) then
                failtestf "relative error %g at parameter %d (analytic %.17g, numeric %.17g) for %O" r.MaxRelativeError r.WorstIndex r.Analytic.[r.WorstIndex] r.Numeric.[r.WorstIndex] c

        testPropertyWithConfig (config 200) "the forward pass of a batch equals the forward passes of its rows, stacked" <| fun (c: Case) ->
            let whole = Network.predictWith Backend.Reference c.Network c.X
            let kernels = Network.predictWith Backend.Kernels c.Network c.X
            for i in 0 .. c.X.RowCount - 1 do
                let rowX = c.X.SubMatrix(i, 1, 0, c.X.ColumnCount)
                let row = Network.predictWith Backend.Reference c.Network rowX
                let rowK = Network.predictWith Backend.Kernels c.Network rowX
                for j in 0 .. whole.ColumnCount - 1 do
                    // The reference: the same dot products in the same order, equal to the last bit.
                    Expect.equal row.[0, j] whole.[i, j] (sprintf "row %d, output %d" i j)
                    // The kernels block a batch's products differently from a single row's (the
                    // one-row path splits k), so the sums' order differs: equal within rounding.
                    Expect.floatClose { absolute = 1e-13; relative = 1e-12 } rowK.[0, j] kernels.[i, j] (sprintf "kernels: row %d, output %d" i j)

        testPropertyWithConfig (config 200) "backward run twice gives bit-identical gradients" <| fun (c: Case) ->
            let l1, g1 = Network.lossAndGradient c.Network c.Loss c.X c.Y
            let l2, g2 = Network.lossAndGradient c.Network c.Loss c.X c.Y
            Expect.equal (BitConverter.DoubleToInt64Bits l1) (BitConverter.DoubleToInt64Bits l2) "loss bits"
            Expect.sequenceEqual (Parameters.ofGradients g1) (Parameters.ofGradients g2) "gradient bits"

        testPropertyWithConfig (config 200) "no function changes a matrix its caller passed in" <| fun (c: Case) ->
            let snapshot () = Parameters.ofNetwork c.Network, c.X.Clone(), c.Y.Clone()
            let p0, x0, y0 = snapshot ()
            let _, g = Network.lossAndGradient c.Network c.Loss c.X c.Y
            Network.forward c.Network c.X |> ignore
            GradientDescent.step 0.1 c.Network g |> ignore
            Loss.gradient c.Loss (Network.predict c.Network c.X) c.Y |> ignore
            GradientCheck.checkNetwork GradientCheckOptions.Default c.Network c.Loss c.X c.Y |> ignore
            let p1, x1, y1 = snapshot ()
            Expect.equal p1 p0 "parameters unchanged"
            Expect.equal x1 x0 "x unchanged"
            Expect.equal y1 y0 "y unchanged"
    ]

let private expectArgument (param: string) (fragments: string list) (f: unit -> unit) =
    let e = Expect.throwsC f id
    match e with
    | :? ArgumentException as a ->
        Expect.equal a.ParamName param "ParamName"
        for fr in fragments do Expect.stringContains a.Message fr (sprintf "message names %s" fr)
    | e -> failtestf "expected ArgumentException, got %O" e

let errors =
    let net = Network.init 3 [ LayerSpec.Of(4, Activation.Tanh); LayerSpec.Of(2, Activation.Identity) ] 1L
    testList "bad input" [
        test "x with the wrong width names x and both shapes" {
            expectArgument "x" [ "5x2"; "3x4" ] (fun () -> Network.predict net (Mat.zeros 5 2) |> ignore)
        }
        test "NaN in x names its row and column" {
            let x = Mat.init 2 3 (fun i j -> if i = 1 && j = 2 then nan else 0.0)
            expectArgument "x" [ "row 1, column 2"; "NaN" ] (fun () -> Network.predict net x |> ignore)
        }
        test "infinity in y names its row and column" {
            let y = Mat.init 2 2 (fun i j -> if i = 0 && j = 1 then infinity else 0.0)
            expectArgument "y" [ "row 0, column 1" ] (fun () -> Network.lossAndGradient net Loss.MeanSquaredError (Mat.zeros 2 3) y |> ignore)
        }
        test "an empty batch is refused" {
            expectArgument "x" [ "empty"; "0x3" ] (fun () -> Network.predict net (Mat.zeros 0 3) |> ignore)
        }
        test "y with the wrong shape names both shapes" {
            expectArgument "y" [ "2x3"; "2x2" ] (fun () -> Network.lossAndGradient net Loss.MeanSquaredError (Mat.zeros 2 3) (Mat.zeros 2 3) |> ignore)
        }
        test "layers whose shapes disagree name both shapes" {
            expectArgument "layers" [ "3x4"; "5x2" ] (fun () ->
                Network.create [ Dense.create (Mat.zeros 3 4) None Activation.Tanh; Dense.create (Mat.zeros 5 2) None Activation.Tanh ] |> ignore)
        }
        test "a bias of the wrong length names both lengths" {
            expectArgument "bias" [ "length 3"; "2x4" ] (fun () -> Dense.create (Mat.zeros 2 4) (Some (Vector<float>.Build.Dense 3)) Activation.ReLU |> ignore)
        }
        test "a margin loss refuses labels other than -1 and +1" {
            expectArgument "y" [ "0.5"; "row 0, column 0" ] (fun () ->
                Network.lossAndGradient (Network.init 1 [ LayerSpec.Of(1, Activation.Identity) ] 0L) Loss.Hinge (Mat.zeros 1 1) (m [ [ 0.5 ] ]) |> ignore)
        }
        test "training through a step layer is an error that says why" {
            let stepNet = Network.init 2 [ LayerSpec.Of(1, Activation.Step) ] 0L
            let e = Expect.throwsC (fun () -> Network.lossAndGradient stepNet Loss.MeanSquaredError (Mat.zeros 1 2) (Mat.zeros 1 1) |> ignore) id
            Expect.isTrue (e :? InvalidOperationException) "InvalidOperationException"
            Expect.stringContains e.Message "derivative is zero almost everywhere" "says why"
        }
        test "divergent gradient descent stops with the typed error and a finite last network" {
            let x = m [ [ 1.0; 2.0; 3.0 ]; [ -1.0; 0.5; 2.0 ] ]
            let y = m [ [ 100.0; -100.0 ]; [ 50.0; 20.0 ] ]
            let e = Expect.throwsC (fun () -> GradientDescent.run 1e6 100 Loss.MeanSquaredError x y net |> ignore) id
            match e with
            | :? TrainingDivergedException as d ->
                Expect.isGreaterThan d.Step 0 "step"
                // Run by the one trainer with full batches: one step per epoch.
                Expect.equal d.Epoch d.Step "epoch"
                Expect.isTrue (Parameters.isFinite (d.LastGood :?> Network)) "last good network is finite"
            | e -> failtestf "expected TrainingDivergedException, got %O" e
        }
    ]

/// Residual blocks nested `depth` deep around one dense layer (built by a loop: no recursion).
let nestedResiduals (depth: int) : Block list =
    let mutable blocks = [ Block.Dense (Dense.create (Matrix<float>.Build.DenseIdentity 2) None Activation.Tanh) ]
    for _ in 1 .. depth do blocks <- [ Block.Residual blocks ]
    blocks

let private argumentError (f: unit -> unit) : ArgumentException =
    match Expect.throwsC f id with
    | :? ArgumentException as e -> e
    | e -> failtestf "expected ArgumentException, got %O" e

let reviewFixes =
    testList "review fixes" [
        test "Network.ofBlocks refuses residual blocks nested deeper than a model file holds (32)" {
            // Expected limit: 32, the nesting a model file may hold (ModelFile.maxBlockDepth is Block.maxDepth).
            let ok = Network.ofBlocks (nestedResiduals 32)
            Expect.equal (Block.nesting ok.Blocks) 32 "32 deep is a network"
            for depth in [ 33; 40000 ] do
                let e = argumentError (fun () -> Network.ofBlocks (nestedResiduals depth) |> ignore)
                Expect.equal e.ParamName "blocks" (sprintf "depth %d: ParamName" depth)
                Expect.stringContains e.Message "at most 32 deep" (sprintf "depth %d: the limit" depth)
            // The same limit for specifications.
            let mutable specs = [ BlockSpec.Dense (LayerSpec.Of(2, Activation.Tanh)) ]
            for _ in 1 .. 33 do specs <- [ BlockSpec.Residual specs ]
            let e = argumentError (fun () -> Network.initBlocks 2 specs 1L |> ignore)
            Expect.equal e.ParamName "specs" "initBlocks"
        }
        test "DivergenceFactor is 0 (off) or above 1; a factor in (0, 1] is refused before training" {
            let x = Matrix<float>.Build.Dense(4, 1, fun i _ -> float i)
            let y = x * 2.0
            let net = Network.init 1 [ LayerSpec.Of(1, Activation.Identity) ] 1L
            let options = TrainingOptions.Default.WithMaxEpochs(3)
            for factor in [ 0.5; 1.0; -1.0; infinity; nan ] do
                match Expect.throwsC (fun () -> Trainer.train (options.WithDivergenceFactor factor) Loss.MeanSquaredError (TrainingData.Of(x, y)) net |> ignore) id with
                | :? ArgumentOutOfRangeException as e -> Expect.equal e.ParamName "DivergenceFactor" (sprintf "factor %g" factor)
                | e -> failtestf "factor %g: expected ArgumentOutOfRangeException, got %O" factor e
            for factor in [ 0.0; 1.5 ] do
                let r = Trainer.train (options.WithDivergenceFactor factor) Loss.MeanSquaredError (TrainingData.Of(x, y)) net
                Expect.equal r.History.Length 3 (sprintf "factor %g trains its 3 epochs" factor)
        }
        test "a loss that is not finite at the initial parameters is a data error, not divergence" {
            // Inputs of 1e200 through a 1 -> 1 layer: outputs of order 1e200 whose squared error
            // (about 1e400) is beyond the double range before any step is taken.
            let x = Matrix<float>.Build.Dense(4, 1, fun i _ -> 1e200 * float (i + 1))
            let y = Matrix<float>.Build.Dense(4, 1, fun i _ -> float i)
            let net = Network.init 1 [ LayerSpec.Of(1, Activation.Identity) ] 1L
            for backend in [ Backend.Reference; Backend.Auto ] do
                let e = argumentError (fun () -> Trainer.train (TrainingOptions.Default.WithMaxEpochs(2).WithBackend backend) Loss.MeanSquaredError (TrainingData.Of(x, y)) net |> ignore)
                Expect.equal e.ParamName "y" (sprintf "%A: ParamName" backend)
                Expect.stringContains e.Message "Scale the targets" (sprintf "%A: the loss check's advice" backend)
            // A step size that makes finite data diverge is still divergence.
            let x = Matrix<float>.Build.Dense(4, 1, fun i _ -> float (i + 1))
            let options = TrainingOptions.GradientDescent(10.0, 200)
            Expect.throwsT<TrainingDivergedException> (fun () -> Trainer.train options Loss.MeanSquaredError (TrainingData.Of(x, y)) net |> ignore) "a step of 10 diverges"
        }
    ]

[<Tests>]
let tests = testList "Network" [ notesExamples; gradientProperty; errors; reviewFixes ]
