namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Options of the single-layer sigmoid network trained by gradient descent.
type SigmoidRegressionOptions =
    { /// eta of the gradient-descent step (3.3).
      LearningRate: float
      /// The number of full-batch steps.
      Steps: int
      /// The seed of the initial weights (Glorot uniform, biases 0).
      Seed: int64 }
    /// eta = 0.5, 2000 steps, seed 42.
    static member Default = { LearningRate = 0.5; Steps = 2000; Seed = 42L }
    /// A copy with LearningRate changed.
    member this.WithLearningRate(learningRate: float) = { this with LearningRate = learningRate }
    /// A copy with Steps changed.
    member this.WithSteps(steps: int) = { this with Steps = steps }
    /// A copy with Seed changed.
    member this.WithSeed(seed: int64) = { this with Seed = seed }

/// What SigmoidRegression.fit returns.
type SigmoidRegressionResult =
    { /// The trained one-layer network (a core Network: one Dense layer, sigmoid activation, bias).
      Network: Network
      /// The cost (3.2) on the training data, with the meaning of LinearFitResult.Costs: first
      /// at the initial weights (before any step), then after each step (Steps + 1 entries).
      Costs: float[] }

/// The single-layer neural network of the notes (ch. 3.2) for regression: yhat = sigma(x W + b)
/// with the cost (3.2), C(W, b) = 1/(2n) sum_i (sigma(x_i W + b) - y_i)^2 and its gradient
/// dC/dW = 1/n sum_i (yhat_i - y_i) yhat_i (1 - yhat_i) x_i^T, dC/db = 1/n sum_i (yhat_i - y_i) yhat_i (1 - yhat_i),
/// minimised by gradient descent (3.3). It is the core Network with one sigmoid layer and
/// Loss.HalfMeanSquaredError, trained by the core GradientDescent.run; nothing is rewritten.
///
/// A slip in the notes: they say the sigmoid network "can output any real value"; sigma maps
/// onto (0, 1), so the targets must lie in [0, 1] (scale them first, for example to
/// (y - min) / (max - min)); fit raises ArgumentException otherwise.
module SigmoidRegression =

    /// A one-layer sigmoid network with `inputs` inputs and `outputs` outputs, drawn from a seed.
    let create (inputs: int) (outputs: int) (seed: int64) : Network =
        Network.init inputs [ LayerSpec.Of(outputs, Activation.Sigmoid) ] seed

    /// The cost (3.2) of the network on (X, Y).
    let cost (network: Network) (x: Matrix<float>) (y: Matrix<float>) : float =
        Network.loss network Loss.HalfMeanSquaredError x y

    /// The cost (3.2) and its gradient with respect to W and b (Network.lossAndGradient).
    let costAndGradient (network: Network) (x: Matrix<float>) (y: Matrix<float>) : float * Gradients =
        Network.lossAndGradient network Loss.HalfMeanSquaredError x y

    /// Trains a fresh one-layer sigmoid network on X (n x d) and Y (n x k, values in [0, 1]).
    /// Raises ArgumentException for targets outside [0, 1], TrainingDivergedException if the
    /// learning rate makes the weights blow up.
    let fit (options: SigmoidRegressionOptions) (x: Matrix<float>) (y: Matrix<float>) : SigmoidRegressionResult =
        LinearModel.checkData x y
        for i in 0 .. y.RowCount - 1 do
            for j in 0 .. y.ColumnCount - 1 do
                if y.[i, j] < 0.0 || y.[i, j] > 1.0 then
                    Check.fail "y" (sprintf "y holds %g at row %d, column %d; a sigmoid output lies in (0, 1), so the targets must lie in [0, 1]. Scale them first, for example to (y - min) / (max - min)." y.[i, j] i j)
        Check.positive "learningRate" options.LearningRate
        let net0 = create x.ColumnCount y.ColumnCount options.Seed
        // GradientDescent.run gives the cost before each step; append the cost after the last one.
        let net, costs = GradientDescent.run options.LearningRate options.Steps Loss.HalfMeanSquaredError x y net0
        { Network = net; Costs = Array.append (Array.ofList costs) [| cost net x y |] }

    /// The network's outputs for X.
    let predict (network: Network) (x: Matrix<float>) : Matrix<float> = Network.predict network x

    let private scored (score: Matrix<float> -> Matrix<float> -> float) (network: Network) (x: Matrix<float>) (y: Matrix<float>) =
        LinearModel.checkData x y
        let prediction = predict network x
        LinearModel.checkOutputWidth prediction y
        score prediction y

    /// R^2 of the network on (X, Y). Raises ArgumentException (ParamName "y") when Y is not a
    /// finite batch with one row per row of X and one column per output.
    let r2 (network: Network) (x: Matrix<float>) (y: Matrix<float>) : float = scored Metrics.r2 network x y

    /// The plain mean squared error of the network on (X, Y) (twice the cost (3.2)), with the
    /// checks of `r2`.
    let meanSquaredError (network: Network) (x: Matrix<float>) (y: Matrix<float>) : float =
        scored Metrics.meanSquaredError network x y
