// Chapter 3.1 and 3.2 of the notes: the perceptron on two pairs of Iris species, and the
// single-layer sigmoid network for regression trained by gradient descent on the cost (3.2).
// Run from the repository root after a Release build: dotnet fsi scripts/perceptron.fsx
#load "load.fsx"

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Linear

let iris = Datasets.iris ()
let pair a b =
    let idx = [| 0 .. iris.Labels.Length - 1 |] |> Array.filter (fun i -> iris.Labels.[i] = a || iris.Labels.[i] = b)
    Mat.selectRows idx iris.Features, idx |> Array.map (fun i -> if iris.Labels.[i] = b then 1 else -1)

Console.WriteLine "3.1 The perceptron, W <- W + eta (y - yhat) x on misclassified samples, eta = 1, cap 1000 epochs:"
Console.WriteLine "(A slip in the notes: they update when y W^T x < 0, which from W = 0 never holds (every score is 0), so the weights would never move; the library updates whenever yhat differs from y.)"
for a, b in [ 0, 1; 1, 2 ] do
    let x, y = pair a b
    let r = Perceptron.fit PerceptronOptions.Default x y
    let w = (LinearModel.stacked r.Model).Column(0) |> Seq.map (sprintf "%g") |> String.concat ", "
    if r.Converged then
        Console.WriteLine(sprintf "%s vs %s: converged after %d epochs (%d updates), [b, W] = [%s]" iris.ClassNames.[a] iris.ClassNames.[b] r.Epochs r.Updates w)
    else
        Console.WriteLine(sprintf "%s vs %s: did not converge; stopped at the cap of %d epochs with %d of %d samples misclassified (not linearly separable)"
                              iris.ClassNames.[a] iris.ClassNames.[b] r.Epochs r.Misclassified y.Length)

// 3.2: yhat = sigma(x W + b), C = 1/(2n) sum (yhat - y)^2. Targets in [0, 1]: y = sigma(1.5 x0 - 2 x1 + 0.5).
Console.WriteLine "\n3.2 Single-layer sigmoid network, data from y = sigma(1.5 x0 - 2 x1 + 0.5), 40 points:"
let xs, _ = Rng.many 80 (Rng.nextUniform -2.0 2.0) (Rng.create 7L)
let x = Matrix<float>.Build.Dense(40, 2, fun i j -> xs.[2 * i + j])
let y = Matrix<float>.Build.Dense(40, 1, fun i _ -> Activation.sigmoid (1.5 * x.[i, 0] - 2.0 * x.[i, 1] + 0.5))
for eta in [ 0.5; 2.0; 4.0 ] do
    let r = SigmoidRegression.fit { SigmoidRegressionOptions.Default with LearningRate = eta; Steps = 3000 } x y
    let l = r.Network.Layers.Head
    Console.WriteLine(sprintf "eta = %g: cost %.3g -> %.3g, W = [%.6f, %.6f], b = %.6f, R^2 = %.8f"
                          eta r.Costs.[0] (SigmoidRegression.cost r.Network x y) l.Weights.[0, 0] l.Weights.[1, 0] l.Bias.Value.[0] (SigmoidRegression.r2 r.Network x y))
