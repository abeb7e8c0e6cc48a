// Chapter 2 of the notes (gradient descent): batch gradient descent (2.1) and minibatch SGD
// (2.3) with eta_t = C / sqrt t on the commute data, and SGD for the linear classifier of 2.2.2
// (squared hinge, update rule (1.7)) on two Iris species.
// Run from the repository root after a Release build: dotnet fsi scripts/chapter2.fsx
#load "load.fsx"

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Linear

let show (name: string) (values: float seq) =
    Console.WriteLine(sprintf "%s = [%s]" name (values |> Seq.map (sprintf "%.10g") |> String.concat ", "))

let x, y, _ = Datasets.commute ()
let cost = LinearCost.LeastSquares true
let closed = LeastSquares.fit LeastSquaresOptions.Default x y
show "closed form W*" ((LinearModel.stacked closed).Column(0))

// 2.1: W(t+1) = W(t) - eta/n (X^T X W(t) - X^T Y), from W = 0.
let L = LinearCost.smoothness cost x
Console.WriteLine(sprintf "\n2.1 Gradient descent. Largest eigenvalue of X^T X / n: L = %.6g, so eta < 2/L = %.6g converges." L (2.0 / L))
for eta in [ 0.01; 0.1; 1.0 / L ] do
    let r = LinearGradientDescent.fit (GradientDescentOptions.Default.WithLearningRate(eta).WithMaxSteps 20000) cost x y
    show (sprintf "eta = %.4g: %5d steps, converged %b, W" eta r.Steps r.Converged) ((LinearModel.stacked r.Model).Column(0))
    Console.WriteLine(sprintf "    cost: start %.6g, after 10 steps %.6g, end %.10g" r.Costs.[0] r.Costs.[min 10 (r.Costs.Length - 1)] (Array.last r.Costs))
try LinearGradientDescent.fit (GradientDescentOptions.Default.WithLearningRate 0.2) cost x y |> ignore
with :? TrainingDivergedException as e -> Console.WriteLine("eta = 0.2 > 2/L: " + e.Message)

// 2.2.1: minibatch SGD, C = 0.06, b = 2, stop when |W(t+1) - W(t)| < 0.02 (the notes' settings).
Console.WriteLine "\n2.2.1 Minibatch SGD, eta_t = 0.06 / sqrt t, b = 2, stop when |W(t+1) - W(t)| < 0.02:"
let notesSgd = { SgdOptions.Default with LearningRate = 0.06; BatchSize = 2; Epochs = 10000; StepTolerance = 0.02 }
for seed in [ 1L; 2L; 3L ] do
    let r = Sgd.fit (notesSgd.WithSeed seed) cost x y
    show (sprintf "seed %d: stopped after %d steps, W" seed r.Steps) ((LinearModel.stacked r.Model).Column(0))
    Console.WriteLine(sprintf "    cost %.6g (optimum %.6g), R^2 %.4f" (Array.last r.Costs) (LinearCost.value cost x y closed) (LinearModel.r2 r.Model x y))
Console.WriteLine "The 0.02 rule stops SGD early, far from W*: with eta_t = C / sqrt t the steps shrink whether or not W is near the optimum."
let long = Sgd.fit { notesSgd with StepTolerance = 0.0; LearningRate = 0.1; Epochs = 20000 } cost x y
show (sprintf "without the rule, C = 0.1, %d steps: W" long.Steps) ((LinearModel.stacked long.Model).Column(0))
Console.WriteLine(sprintf "    cost %.6g" (Array.last long.Costs))

// 2.2.2: the linear classifier (squared hinge, rule (1.7)) by SGD on Iris: setosa (-1) vs
// versicolor (+1), and versicolor (-1) vs virginica (+1). Every third sample is held out.
Console.WriteLine "\n2.2.2 Linear classification by minibatch SGD (squared hinge), Iris, every third sample held out:"
let iris = Datasets.iris ()
let pair a b =
    let idx = [| 0 .. iris.Labels.Length - 1 |] |> Array.filter (fun i -> iris.Labels.[i] = a || iris.Labels.[i] = b)
    Mat.selectRows idx iris.Features, idx |> Array.map (fun i -> if iris.Labels.[i] = b then 1 else -1)
let split (x: Matrix<float>) (y: int[]) =
    let pick keep = [| 0 .. y.Length - 1 |] |> Array.filter keep
    let test, train = pick (fun i -> i % 3 = 2), pick (fun i -> i % 3 <> 2)
    (Mat.selectRows train x, train |> Array.map (fun i -> y.[i])), (Mat.selectRows test x, test |> Array.map (fun i -> y.[i]))
for a, b in [ 0, 1; 1, 2 ] do
    let (xt, yt), (xs, ys) = split <|| pair a b
    for loss in [ Loss.SquaredHinge; Loss.Hinge; Loss.Logistic ] do
        let o = { ClassifierOptions.Default with Loss = loss; Sgd = { SgdOptions.Default with LearningRate = 0.05; BatchSize = 10; Epochs = 500 } }
        let r = LinearClassifier.fit o xt yt
        Console.WriteLine(sprintf "%s vs %s, %-13s: train accuracy %.3f, test accuracy %.3f, test 0-1 error %.3f"
                              iris.ClassNames.[a] iris.ClassNames.[b] (Loss.name loss)
                              (LinearClassifier.accuracy r.Model xt yt) (LinearClassifier.accuracy r.Model xs ys) (LinearClassifier.zeroOneError r.Model xs ys))
