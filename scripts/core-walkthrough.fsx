// A walk through the core on a tiny network: forward pass, loss, backward pass, gradient check,
// and a few steps of the notes' gradient descent. Build first (the test command does):
//   dotnet build src/Core.FSharp -c Release
//   dotnet fsi scripts/core-walkthrough.fsx
#load "load.fsx"

open MathNet.Numerics.LinearAlgebra
open Functional.NN

// Four samples of two features, one per row (the batch layout), and a 0/1 target: XOR.
let x = Mat.ofRows [ [| 0.0; 0.0 |]; [| 0.0; 1.0 |]; [| 1.0; 0.0 |]; [| 1.0; 1.0 |] ]
let y = Mat.ofRows [ [| 0.0 |]; [| 1.0 |]; [| 1.0 |]; [| 0.0 |] ]

// A 2-3-1 network: a tanh hidden layer and a sigmoid output, weights drawn from seed 7.
let net = Network.init 2 [ LayerSpec.Of(3, Activation.Tanh); LayerSpec.Of(1, Activation.Sigmoid) ] 7L
printfn "The network:"
for line in Network.describe net do printfn "  %s" line

// Forward: every layer's input, pre-activation Z = A W + b and activation s(Z) are kept.
let trace = Network.forward net x
printfn "\nForward pass: output (one row per sample)\n%s" (trace.Output.ToMatrixString())

// The loss of the batch, here binary cross-entropy on the sigmoid's probabilities.
let loss = Loss.BinaryCrossEntropy
printfn "Loss: %.6f" (Loss.value loss trace.Output y)

// Backward: the gradient of the loss with respect to the output, then the notes' recursion
// G_i = (G_{i+1} o s'(Z_i)) W_i^T, grad W_i = A_i^T (G_{i+1} o s'(Z_i)).
let gradients = Network.backward net trace (Loss.gradient loss trace.Output y)
gradients.Layers |> List.iteri (fun i g -> printfn "grad W%d =\n%s" (i + 1) (g.Weights.ToMatrixString()))

// The gradient check: central differences over every weight and bias against backpropagation.
let check = GradientCheck.checkNetwork GradientCheckOptions.Default net loss x y
printfn "Gradient check: largest relative error %.3g at parameter %d (largest absolute %.3g)" check.MaxRelativeError check.WorstIndex check.MaxAbsoluteError
if not (check.Passes 1e-6) then failwith "the gradient check failed"

// Gradient descent: theta <- theta - eta grad, as a pure step; the loss goes down.
let trained, history = GradientDescent.run 2.0 2000 loss x y net
printfn "Loss before training %.4f, after 2000 steps %.4f" (List.head history) (Network.loss trained loss x y)
printfn "Predictions after training: %A" ((Network.predict trained x).Column(0).ToArray() |> Array.map (fun p -> System.Math.Round(p, 3)))
if Network.loss trained loss x y >= List.head history then failwith "training did not reduce the loss"
