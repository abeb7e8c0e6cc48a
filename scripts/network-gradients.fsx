// The gradients of the first three notes, worked on small numbers: note 000's scalar two-layer
// ReLU network (the derivatives of (2) by the chain rule), note 001's 3-4-1 sigmoid network with
// binary cross-entropy (the vectorised backward pass dZ, dW, db for n samples), and note 002's
// two-layer softmax network (equations (10) and (11)). The notes give formulas, not numbers: the
// script evaluates each formula as the note writes it (MathNet matrices and loops, none of the
// library's backward code), prints the library's gradient beside it, and stops with an error if
// they differ by more than rounding. The same examples are tests in NetworkTests.fs.
// Run from the repository root after a Release build: dotnet fsi scripts/network-gradients.fsx
#load "load.fsx"

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

let M (rows: float list list) = Matrix<float>.Build.DenseOfRows(rows |> List.map Seq.ofList)
let V (values: float list) = Vector<float>.Build.DenseOfArray(Array.ofList values)
let text (m: Matrix<float>) =
    let row i = m.Row(i).ToArray() |> Array.map (sprintf "%.10g") |> String.concat ", "
    "[" + (List.init m.RowCount row |> String.concat "; ") + "]"
/// Prints a quantity by the note's formula and by the library, and checks that they agree.
let compareAs (libraryLabel: string) (name: string) (byNote: Matrix<float>) (byLibrary: Matrix<float>) =
    let diff = (byNote - byLibrary).Enumerate() |> Seq.map abs |> Seq.max
    Console.WriteLine(sprintf "  %-6s  %-15s %s\n  %-6s  %-15s %s   (largest difference %.2g)" name "note's formula" (text byNote) "" libraryLabel (text byLibrary) diff)
    if diff > 1e-12 * max 1.0 ((byNote.Enumerate() |> Seq.map abs |> Seq.max)) then
        failwithf "%s: the library differs from the note's formula by %g" name diff
let compare = compareAs "library"
let scalar (v: float) = M [ [ v ] ]

// ---------------------------------------------------------------------------------------------
// Note 000: f(x) = sum_j a_j s(w_j x + b_j), s = ReLU, L = 1/(2n) sum (y_i - h_i)^2 (2), and
//   dL/da_j = 1/n sum (h_i - y_i) s(w_j x_i + b_j)
//   dL/dw_j = 1/n sum (h_i - y_i) a_j s'(w_j x_i + b_j) x_i
// (the note writes s(w_j x + b_j) in the first line; the sample's x_i is meant). dL/db_j, which the
// note does not write, is the second line without the factor x_i.
// m = 2 hidden units, w = [1, -1], b = [0, 3], a = [2, 3]; two samples (x, y) = (1, 1), (2, 0).
// By hand: x = 1 gives s = [1, 2], h = 8; x = 2 gives s = [2, 1], h = 7; h - y = 7 for both, so
// L = (49 + 49)/4 = 24.5, dL/da = [10.5, 10.5], dL/dw = [21, 31.5], dL/db = [14, 21].
Console.WriteLine "Note 000: the scalar two-layer ReLU network, L = 1/(2n) sum (y_i - h_i)^2"
let w0, b0, a0 = [| 1.0; -1.0 |], [| 0.0; 3.0 |], [| 2.0; 3.0 |]
let xs0, ys0 = [| 1.0; 2.0 |], [| 1.0; 0.0 |]
let n0 = float xs0.Length
let relu z = max 0.0 z
let relu' z = if z > 0.0 then 1.0 else 0.0
let h0 = xs0 |> Array.map (fun x -> Array.init 2 (fun j -> a0.[j] * relu (w0.[j] * x + b0.[j])) |> Array.sum)
let r0 = Array.map2 (-) h0 ys0   // h_i - y_i
let byNote0 (term: int -> float -> float) = Array.init 2 (fun j -> (Array.map2 (fun r x -> r * term j x) r0 xs0 |> Array.sum) / n0)
let loss0 = (Array.map2 (fun y h -> (y - h) ** 2.0) ys0 h0 |> Array.sum) / (2.0 * n0)
let dA0 = byNote0 (fun j x -> relu (w0.[j] * x + b0.[j]))
let dW0 = byNote0 (fun j x -> a0.[j] * relu' (w0.[j] * x + b0.[j]) * x)
let dB0 = byNote0 (fun j x -> a0.[j] * relu' (w0.[j] * x + b0.[j]))
// The library: a dense ReLU layer 1 -> 2 (its 1 x 2 weights are the w_j, its bias the b_j) and a
// dense identity layer 2 -> 1 without bias (its 2 x 1 weights are the a_j); the loss (2) is
// Loss.HalfMeanSquaredError.
let net0 =
    Network.create [ Dense.create (M [ [ 1.0; -1.0 ] ]) (Some (V [ 0.0; 3.0 ])) Activation.ReLU
                     Dense.create (M [ [ 2.0 ]; [ 3.0 ] ]) None Activation.Identity ]
let libLoss0, g0 = Network.lossAndGradient net0 Loss.HalfMeanSquaredError (M [ [ 1.0 ]; [ 2.0 ] ]) (M [ [ 1.0 ]; [ 0.0 ] ])
compare "L" (scalar loss0) (scalar libLoss0)
compare "dL/da" (M [ List.ofArray dA0 ]) (g0.Layers.[1].Weights.Transpose())
compare "dL/dw" (M [ List.ofArray dW0 ]) g0.Layers.[0].Weights
compare "dL/db" (M [ List.ofArray dB0 ]) (g0.Layers.[0].Bias.Value.ToRowMatrix())
compareAs "by hand" "L" (scalar loss0) (scalar 24.5)
compareAs "by hand" "dL/da" (M [ List.ofArray dA0 ]) (M [ [ 10.5; 10.5 ] ])
compareAs "by hand" "dL/dw" (M [ List.ofArray dW0 ]) (M [ [ 21.0; 31.5 ] ])
compareAs "by hand" "dL/db" (M [ List.ofArray dB0 ]) (M [ [ 14.0; 21.0 ] ])

// ---------------------------------------------------------------------------------------------
// Note 001: d[0] = 3 inputs, d[1] = 4 sigmoid units, d[2] = 1 sigmoid output, the cost
// J = -1/n sum (y_i log a_i + (1 - y_i) log(1 - a_i)), and the vectorised passes for n samples
// (the note's W[l] is d[l] x d[l-1]; the rows of X are the samples):
//   Z1 = b1^T + X W1^T, A1 = s(Z1), Z2 = b2 + A1 W2^T, A2 = s(Z2)
//   dZ2 = (A2 - Y)/n, db2 = dZ2^T 1, dW2 = dZ2^T A1
//   dZ1 = dZ2 W2 o s'(Z1), db1 = dZ1^T 1, dW1 = dZ1^T X
// The library's layers hold x W + b with W of d[l-1] x d[l], the transpose of the note's.
Console.WriteLine "\nNote 001: the 3-4-1 sigmoid network with binary cross-entropy, n = 3 samples"
let x1 = M [ [ 0.5; -1.0; 2.0 ]; [ 1.5; 0.25; -0.5 ]; [ -2.0; 1.0; 0.0 ] ]
let y1 = M [ [ 1.0 ]; [ 0.0 ]; [ 1.0 ] ]
let W1 = M [ [ 0.1; -0.5; 0.9 ]; [ -0.2; 0.6; 0.1 ]; [ 0.3; 0.7; -0.3 ]; [ 0.4; -0.8; 0.2 ] ]   // 4 x 3, the note's layout
let b1 = V [ 0.05; -0.1; 0.0; 0.2 ]
let W2 = M [ [ 0.3; -0.6; 0.8; 0.1 ] ]                                                            // 1 x 4
let b2 = -0.25
let n1 = float x1.RowCount
let sigmoid (m: Matrix<float>) = m.Map(fun z -> 1.0 / (1.0 + exp (-z)))
let ones k = Matrix<float>.Build.Dense(k, 1, 1.0)
let Z1 = ones x1.RowCount * b1.ToRowMatrix() + x1 * W1.Transpose()
let A1 = sigmoid Z1
let A2 = sigmoid (A1 * W2.Transpose() + b2)
let J = -(Seq.map2 (fun y a -> y * log a + (1.0 - y) * log (1.0 - a)) (y1.Column 0) (A2.Column 0) |> Seq.sum) / n1
let dZ2 = (A2 - y1) / n1
let db2 = dZ2.Transpose() * ones x1.RowCount
let dW2 = dZ2.Transpose() * A1
let dZ1 = (dZ2 * W2).PointwiseMultiply(A1.PointwiseMultiply(1.0 - A1))   // s'(Z1) = A1 o (1 - A1)
let db1 = dZ1.Transpose() * ones x1.RowCount
let dW1 = dZ1.Transpose() * x1
let net1 =
    Network.create [ Dense.create (W1.Transpose()) (Some b1) Activation.Sigmoid
                     Dense.create (W2.Transpose()) (Some (V [ b2 ])) Activation.Sigmoid ]
let libJ, g1 = Network.lossAndGradient net1 Loss.BinaryCrossEntropy x1 y1
compare "J" (scalar J) (scalar libJ)
compare "dW2" dW2 (g1.Layers.[1].Weights.Transpose())
compare "db2" db2 (g1.Layers.[1].Bias.Value.ToColumnMatrix())
compare "dW1" dW1 (g1.Layers.[0].Weights.Transpose())
compare "db1" db1 (g1.Layers.[0].Bias.Value.ToColumnMatrix())
Console.WriteLine "  (The library's weight gradients are shown transposed, in the note's d[l] x d[l-1] layout.)"

// ---------------------------------------------------------------------------------------------
// Note 002: h(X) = s(X W1) W2 with s = ReLU and no biases, the softmax cross-entropy l_ce, and
//   (10) grad_W2 = s(X W1)^T (S - I_y)
//   (11) grad_W1 = X^T ((S - I_y) W2^T o s'(X W1))
// with S the row-wise softmax of s(X W1) W2 and I_y the one-hot labels. (10) and (11) are the
// gradients of the loss summed over the batch; the library's loss is the mean over the batch
// (Loss.SoftmaxCrossEntropy), so its gradients are (10) and (11) divided by n.
Console.WriteLine "\nNote 002: the two-layer softmax network, n = 4 samples, 3 classes"
let x2 = M [ [ 1.0; 2.0 ]; [ -1.0; 0.5 ]; [ 0.3; -0.7 ]; [ 2.0; 1.0 ] ]
let labels2 = [| 0; 2; 1; 2 |]
let V1 = M [ [ 0.4; -0.3; 0.2 ]; [ 0.1; 0.5; -0.6 ] ]
let V2 = M [ [ 0.7; -0.2; 0.1 ]; [ 0.3; 0.9; -0.4 ]; [ -0.5; 0.2; 0.6 ] ]
let n2 = float x2.RowCount
let hidden = (x2 * V1).Map relu
let logits = hidden * V2
let S = Matrix<float>.Build.Dense(logits.RowCount, 3, fun i k -> exp logits.[i, k] / (logits.Row(i) |> Seq.sumBy exp))
let Iy = Matrix<float>.Build.Dense(labels2.Length, 3, fun i k -> if labels2.[i] = k then 1.0 else 0.0)
let eq10 = hidden.Transpose() * (S - Iy)
let eq11 = x2.Transpose() * ((S - Iy) * V2.Transpose()).PointwiseMultiply((x2 * V1).Map relu')
let net2 = Network.create [ Dense.create V1 None Activation.ReLU; Dense.create V2 None Activation.Identity ]
let _, g2 = Network.lossAndGradient net2 Loss.SoftmaxCrossEntropy x2 (Mat.oneHot 3 labels2)
compare "(10)/n" (eq10 / n2) g2.Layers.[1].Weights
compare "(11)/n" (eq11 / n2) g2.Layers.[0].Weights
compareAs "library x n" "(10)" eq10 (g2.Layers.[1].Weights * n2)
Console.WriteLine "  (10) and (11) are gradients of the summed loss; the library's loss is the batch mean, so its gradients are 1/n of them."
