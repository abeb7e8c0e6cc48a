namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// How the SGD learning rate changes with the step t (from 1).
type LearningRateDecay =
    /// eta_t = C.
    | Constant = 0
    /// The notes' eta_t = C / sqrt t (ch. 2.2, (2.2)).
    | InverseSqrt = 1

/// Options of (minibatch) stochastic gradient descent, notes ch. 2.2:
/// W(t+1) = W(t) - eta_t / b sum_{i in B} grad C_i(W(t)) (2.3), with B drawn without replacement
/// (every epoch visits each sample once, in a fresh random order; the last batch of an epoch may
/// be smaller).
type SgdOptions =
    { /// C, the learning rate of step 1.
      LearningRate: float
      /// How eta_t decays.
      Decay: LearningRateDecay
      /// b, the number of samples per step (1: plain SGD).
      BatchSize: int
      /// Stop after this many epochs at most.
      Epochs: int
      /// Stop when the Frobenius norm of an update ||W(t+1) - W(t)|| falls below this
      /// (the notes' rule in ch. 2.2.1 with 0.02); 0 never stops early.
      StepTolerance: float
      /// The seed of the library's generator (Rng), which draws the order of the samples.
      Seed: int64 }
    /// C = 0.01, eta_t = C / sqrt t, b = 1, 100 epochs, no early stop, seed 42.
    static member Default =
        { LearningRate = 0.01; Decay = LearningRateDecay.InverseSqrt; BatchSize = 1; Epochs = 100; StepTolerance = 0.0; Seed = 42L }
    /// A copy with LearningRate changed.
    member this.WithLearningRate(learningRate: float) = { this with LearningRate = learningRate }
    /// A copy with Decay changed.
    member this.WithDecay(decay: LearningRateDecay) = { this with Decay = decay }
    /// A copy with BatchSize changed.
    member this.WithBatchSize(batchSize: int) = { this with BatchSize = batchSize }
    /// A copy with Epochs changed.
    member this.WithEpochs(epochs: int) = { this with Epochs = epochs }
    /// A copy with StepTolerance changed.
    member this.WithStepTolerance(tolerance: float) = { this with StepTolerance = tolerance }
    /// A copy with Seed changed.
    member this.WithSeed(seed: int64) = { this with Seed = seed }

/// The minibatch SGD loop shared by the linear models, and its use on the least-squares and
/// ridge costs. A small loop over a batch gradient: the Training area's general trainer (its
/// minibatch iterator and InverseSqrt schedule) could later drive the same batch gradients.
module Sgd =

    /// eta_t for step t (from 1).
    let learningRate (options: SgdOptions) (t: int) =
        match options.Decay with
        | LearningRateDecay.InverseSqrt -> options.LearningRate / sqrt (float t)
        | _ -> options.LearningRate

    /// Checks the options.
    let check (options: SgdOptions) =
        Check.positive "learningRate" options.LearningRate
        Check.positiveInt "batchSize" options.BatchSize
        if options.Epochs < 0 then Check.fail "epochs" (sprintf "epochs must not be negative, but is %d." options.Epochs)
        if Double.IsNaN options.StepTolerance || options.StepTolerance < 0.0 then
            Check.fail "stepTolerance" (sprintf "stepTolerance must be >= 0, but is %s." (string options.StepTolerance))
        if options.Decay <> LearningRateDecay.Constant && options.Decay <> LearningRateDecay.InverseSqrt then
            Check.fail "decay" (sprintf "decay %d is not a LearningRateDecay." (int options.Decay))

    /// Runs minibatch SGD over n samples from theta0. `batchGradient theta rows` is the mean
    /// gradient 1/b sum_{i in rows} grad C_i(theta); `cost theta` the cost on all data (recorded
    /// once before the first step and after every epoch); `toModel` turns theta into a model for
    /// TrainingDivergedException.LastGood. Returns (theta, steps, converged, costs).
    let internal run (options: SgdOptions) (n: int) (theta0: Matrix<float>)
                     (batchGradient: Matrix<float> -> int[] -> Matrix<float>)
                     (cost: Matrix<float> -> float) (toModel: Matrix<float> -> obj) =
        check options
        let costs = ResizeArray<float>([ cost theta0 ])
        let mutable theta = theta0
        let mutable rng = Rng.create options.Seed
        let mutable t = 0
        let mutable epoch = 0
        let mutable stopped = false
        while not stopped && epoch < options.Epochs do
            epoch <- epoch + 1
            let order, next = Rng.permutation n rng
            rng <- next
            let mutable start = 0
            while not stopped && start < n do
                let rows = order.[start .. min n (start + options.BatchSize) - 1]
                start <- start + options.BatchSize
                t <- t + 1
                let update = learningRate options t * batchGradient theta rows
                let nextTheta = theta - update
                if not (nextTheta.ForAll(fun v -> Double.IsFinite v)) then
                    raise (TrainingDivergedException(epoch, t, toModel theta, sprintf "SGD diverged at epoch %d, step %d: the weights became NaN or infinite. The last finite model is in LastGood; try a smaller learning rate." epoch t))
                theta <- nextTheta
                if options.StepTolerance > 0.0 && update.FrobeniusNorm() < options.StepTolerance then stopped <- true
            costs.Add(cost theta)
        theta, t, stopped, costs.ToArray()

    /// Minimises a least-squares or ridge cost on (X, Y) by minibatch SGD from W = 0, with the
    /// per-sample gradient grad C_i(theta) = x1_i (x1_i^T theta - y_i) + lambda P theta.
    /// Converged is true when the StepTolerance rule stopped it.
    let fitNamed (options: SgdOptions) (cost: LinearCost) (featureNames: string[]) (x: Matrix<float>) (y: Matrix<float>) : LinearFitResult =
        LinearCost.check cost
        LinearModel.checkData x y
        check options
        let names = if isNull featureNames then [||] else featureNames
        let design = LinearModel.design cost.FitIntercept x
        let batchGradient (theta: Matrix<float>) (rows: int[]) =
            LinearCost.gradientOfDesign cost (Mat.selectRows rows design) (Mat.selectRows rows y) theta
        let theta0 = Matrix<float>.Build.Dense(design.ColumnCount, y.ColumnCount)
        let theta, steps, converged, costs =
            run options x.RowCount theta0 batchGradient (LinearCost.valueOfDesign cost design y)
                (fun th -> box (LinearModel.ofStacked cost.FitIntercept names th))
        { Model = LinearModel.ofStacked cost.FitIntercept names theta
          Steps = steps; Converged = converged; Costs = costs; LearningRate = options.LearningRate }

    /// `fitNamed` without feature names.
    let fit (options: SgdOptions) (cost: LinearCost) (x: Matrix<float>) (y: Matrix<float>) : LinearFitResult =
        fitNamed options cost [||] x y
