#load "load.fsx"
open Functional.NN

// XOR: four samples, one per row, and their targets.
let x = Mat.ofRows [ [| 0.0; 0.0 |]; [| 0.0; 1.0 |]; [| 1.0; 0.0 |]; [| 1.0; 1.0 |] ]
let y = Mat.ofRows [ [| 0.0 |]; [| 1.0 |]; [| 1.0 |]; [| 0.0 |] ]

// A 2-3-1 network: tanh hidden layer, sigmoid output, weights drawn from seed 7.
let net = Network.init 2 [ LayerSpec.Of(3, Activation.Tanh); LayerSpec.Of(1, Activation.Sigmoid) ] 7L

// Loss and gradients in one call, then the gradient check against central differences.
let loss, grads = Network.lossAndGradient net Loss.BinaryCrossEntropy x y
let check = GradientCheck.checkNetwork GradientCheckOptions.Default net Loss.BinaryCrossEntropy x y
printfn "loss %.3f, gradient check: largest relative error %.2g" loss check.MaxRelativeError

// Gradient descent is a pure function: a new network, the old one unchanged.
let trained, losses = GradientDescent.run 2.0 2000 Loss.BinaryCrossEntropy x y net
printfn "loss %.3f -> %.3f" (List.head losses) (Network.loss trained Loss.BinaryCrossEntropy x y)
printfn "XOR predictions: %A" ((Network.predict trained x).Column(0).ToArray())
