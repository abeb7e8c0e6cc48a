namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Options of (minibatch) stochastic gradient descent on a linear model, notes ch. 2.2:
/// W(t+1) = W(t) - eta_t / b sum_{i in B} grad C_i(W(t)) (2.3), with B drawn without replacement
/// (every epoch visits each sample once, in a fresh random order from the library's generator;
/// the last batch of an epoch may be smaller). Run by the general trainer (Trainer.trainVector)
/// with Batching.MiniBatch(b, WithoutReplacement), the schedule and ParameterTolerance below.
type LinearSgdOptions =
    { /// eta_t, the learning rate of step t = 1, 2, ... (counted over the whole run): the
      /// trainer's Schedule, for example the notes' Schedule.InverseSqrt C (2.2) or Schedule.Constant eta.
      Schedule: Schedule
      /// b, the number of samples per step (1: plain SGD).
      BatchSize: int
      /// Stop after this many epochs at most (0: no step; the result is W = 0).
      Epochs: int
      /// The notes' rule (ch. 2.2.1, with 0.02): stop as soon as one step moves no weight by this
      /// much or more, max_i |W_i(t+1) - W_i(t)| < tol (the max norm, as the trainer's
      /// ParameterTolerance); 0 never stops early.
      StepTolerance: float
      /// The seed of the library's generator (Rng), which draws the order of the samples.
      Seed: int64
      /// The trainer's divergence growth rule (TrainingOptions.DivergenceFactor, the same rule and
      /// default 1e4): training stops with TrainingDivergedException when the epoch's loss so far
      /// (its batch losses times their sizes, summed and divided by n) exceeds this times
      /// max(L0, 1), L0 the cost at W = 0. 0 turns it off (NaN and infinity still stop training);
      /// otherwise a finite number above 1.
      DivergenceFactor: float }
    /// eta_t = 0.01 / sqrt t, b = 1, 100 epochs, no early stop, seed 42, the trainer's divergence
    /// factor (1e4).
    static member Default =
        { Schedule = Schedule.InverseSqrt 0.01; BatchSize = 1; Epochs = 100; StepTolerance = 0.0; Seed = 42L
          DivergenceFactor = TrainingOptions.Default.DivergenceFactor }
    /// A copy with Schedule changed.
    member this.WithSchedule(schedule: Schedule) = { this with Schedule = schedule }
    /// A copy with BatchSize changed.
    member this.WithBatchSize(batchSize: int) = { this with BatchSize = batchSize }
    /// A copy with Epochs changed.
    member this.WithEpochs(epochs: int) = { this with Epochs = epochs }
    /// A copy with StepTolerance changed.
    member this.WithStepTolerance(tolerance: float) = { this with StepTolerance = tolerance }
    /// A copy with Seed changed.
    member this.WithSeed(seed: int64) = { this with Seed = seed }
    /// A copy with DivergenceFactor changed (0: off).
    member this.WithDivergenceFactor(factor: float) = { this with DivergenceFactor = factor }

/// Minibatch SGD for the linear models, on the general trainer: the linear model's stacked
/// weights theta = [b; W] are the trainer's parameter vector (column-major), and its batches,
/// schedule and stopping rule are the trainer's (Batching, Schedule, ParameterTolerance).
module Sgd =

    /// Checks the options (ParamName "schedule", "batchSize", "epochs", "stepTolerance",
    /// "divergenceFactor").
    let check (options: LinearSgdOptions) =
        Check.notNull "schedule" (box options.Schedule)
        Schedule.validate options.Schedule
        Check.positiveInt "batchSize" options.BatchSize
        if options.Epochs < 0 then Check.fail "epochs" (sprintf "epochs must not be negative, but is %d." options.Epochs)
        if Double.IsNaN options.StepTolerance || Double.IsInfinity options.StepTolerance || options.StepTolerance < 0.0 then
            Check.fail "stepTolerance" (sprintf "stepTolerance must be a finite number >= 0, but is %s." (string options.StepTolerance))
        if not (options.DivergenceFactor = 0.0 || options.DivergenceFactor > 1.0) || Double.IsInfinity options.DivergenceFactor then
            raise (ArgumentOutOfRangeException("divergenceFactor", sprintf "divergenceFactor must be 0 (off) or a finite number above 1 (a factor of at most 1 would stop training whose loss is falling), but is %s." (string options.DivergenceFactor)))

    /// The trainer's options for these SGD options.
    let trainingOptions (options: LinearSgdOptions) : TrainingOptions =
        { TrainingOptions.Default with
            Batching = Batching.MiniBatch(options.BatchSize, Sampling.WithoutReplacement)
            // Plain SGD with the options' schedule and no plateau stop: the stopping rules are the
            // options' own (epochs, step tolerance).
            Optimizer = OptimizerSettings.Default
            EarlyStopping = None
            Schedule = options.Schedule
            Seed = options.Seed
            MaxEpochs = options.Epochs
            ParameterTolerance = options.StepTolerance
            DivergenceFactor = options.DivergenceFactor
            // Costs holds the cost on the whole data after each epoch.
            ExactEpochLoss = true }

    /// Runs minibatch SGD over n samples from theta0 (p x k) on Trainer.trainVector.
    /// `lossAndGradient theta rows` is the mean loss over the rows and its gradient
    /// 1/b sum_{i in rows} grad C_i(theta) (p x k); on all rows it is the cost on the whole data.
    /// `toModel` turns theta into the model that TrainingDivergedException.LastGood carries.
    /// Returns (theta, steps, stop reason, costs) with the costs of LinearFitResult.Costs.
    let internal run (options: LinearSgdOptions) (n: int) (theta0: Matrix<float>)
                     (lossAndGradient: Matrix<float> -> int[] -> float * Matrix<float>)
                     (toModel: Matrix<float> -> obj) =
        check options
        let p, k = theta0.RowCount, theta0.ColumnCount
        let toMatrix (v: float[]) = Matrix<float>.Build.DenseOfColumnMajor(p, k, v)
        let cost0 = fst (lossAndGradient theta0 (Array.init n id))
        if options.Epochs = 0 then theta0, 0, LinearStopReason.StepCap, [| cost0 |]
        else
            let objective =
                { SampleCount = n
                  LossAndGradient = fun theta rows ->
                      let l, g = lossAndGradient (toMatrix theta) rows
                      l, g.ToColumnMajorArray()
                  Validation = None }
            let r =
                try Trainer.trainVector (trainingOptions options) objective (theta0.ToColumnMajorArray())
                with :? TrainingDivergedException as e ->
                    let good = match e.LastGood with :? (float[]) as v -> toModel (toMatrix v) | other -> other
                    // The growth rule's factor is this API's option.
                    let message = e.Message.Replace("(TrainingOptions.DivergenceFactor)", "(LinearSgdOptions.DivergenceFactor)")
                    raise (TrainingDivergedException(e.Epoch, e.Step, good, message))
            let reason =
                match r.StopReason with
                | StopReason.ParameterTolerance -> LinearStopReason.StepTolerance
                | _ -> LinearStopReason.StepCap
            let perEpoch = r.History |> List.map (fun h -> h.TrainLoss)
            let midEpoch = r.Checkpoint.PendingBatches.Length > 0
            let costs = Array.ofList (cost0 :: perEpoch @ (if midEpoch then [ r.TrainLoss ] else []))
            toMatrix r.Model, r.Steps, reason, costs

    /// True when the rows are 0 .. rows.Length - 1 in order (the whole data, as the trainer asks
    /// for the cost at the end of an epoch).
    let internal isAll (rows: int[]) = rows |> Array.forall2 (=) (Array.init rows.Length id)

    /// Minimises a least-squares or ridge cost on (X, Y) by minibatch SGD from W = 0, with the
    /// per-sample gradient grad C_i(theta) = x1_i (x1_i^T theta - y_i) + lambda P theta. Raises
    /// ArgumentException (ParamName "y") when the cost at W = 0 overflows
    /// (LinearCost.checkStartingCost), before any step, and TrainingDivergedException when the
    /// trainer's divergence rules stop training.
    let fitNamed (options: LinearSgdOptions) (cost: LinearCost) (featureNames: string[]) (x: Matrix<float>) (y: Matrix<float>) : LinearFitResult =
        LinearCost.check cost
        LinearModel.checkData x y
        check options
        let names = LinearModel.namesFor x.ColumnCount featureNames
        let design = LinearModel.design cost.FitIntercept x
        let lossAndGradient (theta: Matrix<float>) (rows: int[]) =
            let d, t = if rows.Length = design.RowCount && isAll rows then design, y else Mat.selectRows rows design, Mat.selectRows rows y
            LinearCost.valueOfDesign cost d t theta, LinearCost.gradientOfDesign cost d t theta
        let theta0 = Matrix<float>.Build.Dense(design.ColumnCount, y.ColumnCount)
        LinearCost.checkStartingCost (LinearCost.valueOfDesign cost design y theta0) y
        let theta, steps, reason, costs =
            run options x.RowCount theta0 lossAndGradient (fun th -> box (LinearModel.ofStacked cost.FitIntercept names th))
        { Model = LinearModel.ofStacked cost.FitIntercept names theta
          Steps = steps; StopReason = reason; Costs = costs; LearningRate = Schedule.rate options.Schedule 1 }

    /// `fitNamed` without feature names.
    let fit (options: LinearSgdOptions) (cost: LinearCost) (x: Matrix<float>) (y: Matrix<float>) : LinearFitResult =
        fitNamed options cost [||] x y
