namespace Functional.NN

open System
open System.Diagnostics
open MathNet.Numerics.LinearAlgebra

/// The data a network is trained on: inputs and targets one sample per row, and an optional
/// validation set for the history's validation columns and for early stopping.
type TrainingData =
    { /// n x d_in inputs.
      Inputs: Matrix<float>
      /// n x d_out targets.
      Targets: Matrix<float>
      /// Validation inputs and targets, if any.
      Validation: (Matrix<float> * Matrix<float>) option }
    /// Training data without a validation set.
    static member Of(inputs, targets) = { Inputs = inputs; Targets = targets; Validation = None }
    /// A copy with a validation set.
    member this.WithValidation(inputs: Matrix<float>, targets: Matrix<float>) = { this with Validation = Some (inputs, targets) }

/// Checkpoints: the start of a run and conversions between parameter representations.
[<RequireQualifiedAccess>]
module Checkpoint =

    /// The state before the first step: the given parameters, fresh optimiser buffers for
    /// `parameterCount` parameters and the generator Rng.create options.Seed.
    let start (options: TrainingOptions) (parameterCount: int) (model: 'Model) : Checkpoint<'Model> =
        { Model = model
          OptimizerState = Optimizer.init options.Optimizer parameterCount
          Rng = Rng.create options.Seed
          Step = 0
          Epoch = 0
          PendingBatches = Array.empty
          History = []
          Best = None
          EpochsWithoutImprovement = 0
          Elapsed = TimeSpan.Zero }

    /// The same checkpoint with its parameters (and early stopping's best ones) converted by f.
    let map (f: 'A -> 'B) (c: Checkpoint<'A>) : Checkpoint<'B> =
        { Model = f c.Model
          OptimizerState = c.OptimizerState
          Rng = c.Rng
          Step = c.Step
          Epoch = c.Epoch
          PendingBatches = c.PendingBatches
          History = c.History
          Best = c.Best |> Option.map (fun b -> { Model = f b.Model; ValidationLoss = b.ValidationLoss; Epoch = b.Epoch })
          EpochsWithoutImprovement = c.EpochsWithoutImprovement
          Elapsed = c.Elapsed }

/// The trainer: a loop of (draw a batch, compute loss and gradient, take an optimiser step)
/// that is a pure function of its options, data, starting parameters and seed.
[<RequireQualifiedAccess>]
module Trainer =

    let private nonFinite (x: float) = Double.IsNaN x || Double.IsInfinity x

    /// Raises ArgumentException (naming the field) for options out of range.
    let validateOptions (options: TrainingOptions) (hasValidation: bool) =
        Check.notNull "options" (box options)
        Batching.validate options.Batching
        Schedule.validate options.Schedule
        Optimizer.validate options.Optimizer
        Check.positiveInt "MaxEpochs" options.MaxEpochs
        if options.MaxSteps < 0 then Check.fail "MaxSteps" (sprintf "MaxSteps must not be negative, but is %d." options.MaxSteps)
        if not (options.ParameterTolerance >= 0.0) || Double.IsInfinity options.ParameterTolerance then
            Check.fail "ParameterTolerance" (sprintf "ParameterTolerance must be 0 (off) or a positive finite number, but is %s." (string options.ParameterTolerance))
        if Double.IsInfinity options.TargetLoss then
            Check.fail "TargetLoss" "TargetLoss must be finite, or NaN for off."
        match options.EarlyStopping with
        | Some e ->
            Check.positiveInt "Patience" e.Patience
            if not (e.MinDelta >= 0.0) || Double.IsInfinity e.MinDelta then
                Check.fail "MinDelta" (sprintf "MinDelta must be a non-negative finite number, but is %s." (string e.MinDelta))
            if not hasValidation then
                Check.fail "EarlyStopping" "Early stopping needs a validation set; give one or turn early stopping off."
        | None -> ()

    let private checkState (p: int) (s: OptimizerState) =
        let ok (a: float[]) = isNull a || a.Length = 0 || a.Length = p
        if not (ok s.Velocity && ok s.FirstMoment && ok s.SecondMoment) then
            Check.fail "checkpoint" (sprintf "The checkpoint's optimiser buffers do not have the parameters' length %d." p)

    /// The loop on a flat parameter vector, from a checkpoint. `lastGood` turns parameters into
    /// the object TrainingDivergedException carries; `precision` is the optimiser's
    /// (`Optimizer.stepIn`): the network's for a network, Float64 for a plain vector.
    let private run (precision: Precision) (options: TrainingOptions) (hooks: TrainingHooks) (objective: Objective) (lastGood: float[] -> obj)
                    (start: Checkpoint<float[]>) : TrainingResult<float[]> =
        let n = objective.SampleCount
        Check.positiveInt "SampleCount" n
        validateOptions options objective.Validation.IsSome
        Check.notNull "checkpoint" (box start)
        Check.notNull "parameters" start.Model
        checkState start.Model.Length start.OptimizerState
        Check.notNull "PendingBatches" start.PendingBatches
        start.PendingBatches
        |> Array.iteri (fun b batch ->
            Check.notNull "PendingBatches" batch
            batch |> Array.iter (fun i ->
                if i < 0 || i >= n then
                    Check.fail "checkpoint" (sprintf "the checkpoint's pending batch %d holds sample index %d, but the data has %d samples (0 .. %d); resume with the data the checkpoint was taken on." b i n (n - 1))))
        let all = Array.init n id
        let clock = Stopwatch.StartNew()
        let elapsed () = start.Elapsed + clock.Elapsed
        let mutable theta = start.Model
        let mutable state = start.OptimizerState
        let mutable rng = start.Rng
        let mutable step = start.Step
        let mutable epoch = start.Epoch
        let mutable pending = start.PendingBatches
        let mutable position = 0
        let mutable historyRev = List.rev start.History
        let mutable best = start.Best
        let mutable worse = start.EpochsWithoutImprovement
        let mutable stop : StopReason option = None
        let diverged (e: int) (what: string) (good: float[]) =
            raise (TrainingDivergedException(e, step, lastGood good,
                    sprintf "Training diverged at epoch %d, step %d: %s. The last finite parameters are in LastGood; try a smaller step size (the schedule gave %g)." e step what (Schedule.rate options.Schedule (max step 1))))
        while stop.IsNone do
            let atBoundary = position >= pending.Length
            if atBoundary && epoch >= options.MaxEpochs then stop <- Some StopReason.MaxEpochs
            elif options.MaxSteps > 0 && step >= options.MaxSteps then stop <- Some StopReason.MaxSteps
            elif hooks.ShouldStop () then stop <- Some StopReason.Cancelled
            else
                if atBoundary then
                    let batches, r = Batching.epoch options.Batching n rng
                    pending <- batches
                    position <- 0
                    rng <- r
                let batch = pending.[position]
                position <- position + 1
                step <- step + 1
                let eta = Schedule.rate options.Schedule step
                let loss, g = objective.LossAndGradient theta batch
                if isNull g || g.Length <> theta.Length then
                    invalidOp (sprintf "The objective returned a gradient of length %d for %d parameters." (if isNull g then 0 else g.Length) theta.Length)
                if nonFinite loss then diverged (epoch + 1) (sprintf "the batch loss became %g" loss) theta
                let state', theta' = Optimizer.stepIn precision options.Optimizer eta state theta g
                if Array.exists nonFinite theta' then diverged (epoch + 1) "a parameter became NaN or infinite" theta
                let tolHit =
                    options.ParameterTolerance > 0.0
                    && (let mutable m = 0.0
                        for i in 0 .. theta.Length - 1 do m <- max m (abs (theta'.[i] - theta.[i]))
                        m < options.ParameterTolerance)
                theta <- theta'
                state <- state'
                let mutable epochStop = None
                if position >= pending.Length then
                    epoch <- epoch + 1
                    let trainLoss, fullGrad = objective.LossAndGradient theta all
                    if nonFinite trainLoss then diverged epoch (sprintf "the training loss on the whole set became %g" trainLoss) theta
                    let validation = objective.Validation |> Option.map (fun v -> v theta)
                    match options.EarlyStopping, validation with
                    | Some e, Some (vLoss, _) ->
                        match best with
                        | Some b when not (vLoss < b.ValidationLoss - e.MinDelta) ->
                            worse <- worse + 1
                            if worse >= e.Patience then epochStop <- Some StopReason.EarlyStopping
                        | _ ->
                            best <- Some { Model = theta; ValidationLoss = vLoss; Epoch = epoch }
                            worse <- 0
                    | _ -> ()
                    let record =
                        { Epoch = epoch
                          Step = step
                          TrainLoss = trainLoss
                          ValidationLoss = validation |> Option.map fst
                          ValidationMetric = validation |> Option.map snd
                          StepSize = eta
                          GradientNorm = Optimizer.globalNorm fullGrad
                          Elapsed = elapsed () }
                    historyRev <- record :: historyRev
                    hooks.OnEpoch record
                    if not (Double.IsNaN options.TargetLoss) && trainLoss <= options.TargetLoss then
                        epochStop <- Some StopReason.TargetLoss
                if tolHit then stop <- Some StopReason.ParameterTolerance
                elif epochStop.IsSome then stop <- epochStop
        let reason = stop.Value
        let model =
            match reason, best with
            | StopReason.EarlyStopping, Some b -> b.Model
            | _ -> theta
        let remaining = if position >= pending.Length then Array.empty else pending.[position..]
        let history = List.rev historyRev
        { Model = model
          StopReason = reason
          TrainLoss = fst (objective.LossAndGradient model all)
          History = history
          Steps = step
          Epochs = epoch
          Checkpoint =
            { Model = theta
              OptimizerState = state
              Rng = rng
              Step = step
              Epoch = epoch
              PendingBatches = remaining
              History = history
              Best = best
              EpochsWithoutImprovement = worse
              Elapsed = elapsed () } }

    /// Continues training a parameter vector from a checkpoint, with progress hooks. With the
    /// same options and objective, the result equals bit for bit that of a run never interrupted.
    let resumeVectorWith (hooks: TrainingHooks) (options: TrainingOptions) (objective: Objective) (checkpoint: Checkpoint<float[]>) : TrainingResult<float[]> =
        run Precision.Float64 options hooks objective box checkpoint

    /// Trains a parameter vector theta0 (not changed) on an objective, with progress hooks.
    /// Raises TrainingDivergedException (LastGood: a float[]) when the loss or a parameter
    /// stops being finite.
    let trainVectorWith (hooks: TrainingHooks) (options: TrainingOptions) (objective: Objective) (theta0: float[]) : TrainingResult<float[]> =
        Check.notNull "theta0" theta0
        Check.finite2D "theta0" 1 theta0.Length (fun _ j -> theta0.[j])
        run Precision.Float64 options hooks objective box (Checkpoint.start options theta0.Length (Array.copy theta0))

    /// `trainVectorWith TrainingHooks.None`.
    let trainVector options objective theta0 = trainVectorWith TrainingHooks.None options objective theta0

    /// `resumeVectorWith TrainingHooks.None`.
    let resumeVector options objective checkpoint = resumeVectorWith TrainingHooks.None options objective checkpoint

    let private isIdentity (idx: int[]) (n: int) =
        idx.Length = n && (let mutable ok = true in (for i in 0 .. n - 1 do if idx.[i] <> i then ok <- false); ok)

    /// The validation metric the trainer reports for a loss: accuracy (the fraction of rows, or
    /// for several independent binary outputs of entries, classified right) for the
    /// classification losses, root-mean-square error for the regression losses.
    let defaultMetric (loss: Loss) (output: Matrix<float>) (target: Matrix<float>) : float =
        let entries f =
            let mutable right = 0
            for i in 0 .. output.RowCount - 1 do
                for j in 0 .. output.ColumnCount - 1 do
                    if f output.[i, j] target.[i, j] then right <- right + 1
            float right / float (output.RowCount * output.ColumnCount)
        match loss with
        | Loss.SoftmaxCrossEntropy ->
            let p = Mat.argmaxRows output
            let t = Mat.argmaxRows target
            float (Array.fold2 (fun s a b -> if a = b then s + 1 else s) 0 p t) / float output.RowCount
        | Loss.BinaryCrossEntropy -> entries (fun p y -> (p >= 0.5) = (y >= 0.5))
        | Loss.BinaryCrossEntropyWithLogits -> entries (fun z y -> (z >= 0.0) = (y >= 0.5))
        | Loss.Hinge | Loss.SquaredHinge | Loss.Logistic -> entries (fun z y -> (z >= 0.0) = (y > 0.0))
        | Loss.HalfMeanSquaredError | Loss.MeanSquaredError ->
            let mutable s = 0.0
            for i in 0 .. output.RowCount - 1 do
                for j in 0 .. output.ColumnCount - 1 do
                    let d = output.[i, j] - target.[i, j]
                    s <- s + d * d
            sqrt (s / float (output.RowCount * output.ColumnCount))

    /// The objective of a network: the loss of the batch's rows and its gradient, through
    /// Parameters.toNetwork and Network.lossAndGradient. Checks the data once, here. For a
    /// Float32 network the data are rounded to float32 once, here, and the losses (training and
    /// validation) are float32 values.
    let networkObjective (loss: Loss) (data: TrainingData) (net: Network) : Objective =
        Check.notNull "data" (box data)
        Check.notNull "net" (box net)
        let x, y = data.Inputs, data.Targets
        Network.lossAndGradient net loss x y |> ignore
        let p = net.Precision
        let x, y = Precision.roundMatrix p x, Precision.roundMatrix p y
        let validation =
            data.Validation
            |> Option.map (fun (vx, vy) ->
                Network.checkInput net "validationInputs" vx
                Loss.checkTargetNamed "validationTargets" loss (Network.predict net vx) vy
                let vx, vy = Precision.roundMatrix p vx, Precision.roundMatrix p vy
                fun (theta: float[]) ->
                    let out = (Network.forwardUnchecked (Parameters.toNetwork net (Vector<float>.Build.Dense theta)) vx).Output
                    Precision.round p (Loss.valueUnchecked loss out vy), defaultMetric loss out vy)
        { SampleCount = x.RowCount
          LossAndGradient =
            fun theta idx ->
                let current = Parameters.toNetwork net (Vector<float>.Build.Dense theta)
                let xb, yb = if isIdentity idx x.RowCount then x, y else Mat.selectRows idx x, Mat.selectRows idx y
                let value, g = Network.lossAndGradientUnchecked current loss xb yb
                value, (Parameters.ofGradients g).AsArray()
          Validation = validation }

    let private toNet (net: Network) (theta: float[]) = Parameters.toNetwork net (Vector<float>.Build.Dense theta)

    let private ofNet (net: Network) = (Parameters.ofNetwork net).AsArray()

    let private networkResult (net: Network) (r: TrainingResult<float[]>) : TrainingResult<Network> =
        { Model = toNet net r.Model
          StopReason = r.StopReason
          TrainLoss = r.TrainLoss
          History = r.History
          Steps = r.Steps
          Epochs = r.Epochs
          Checkpoint = Checkpoint.map (toNet net) r.Checkpoint }

    /// Continues training a network from a checkpoint, with progress hooks; bit-identical to an
    /// uninterrupted run with the same options and data. The run has the network's precision:
    /// for a Float32 network the optimiser's buffers are rounded to float32 first (a fresh
    /// `Checkpoint.start` may hold AdaGrad's initial accumulator unrounded) and every update is
    /// `Optimizer.stepIn Float32`.
    let resumeWith (hooks: TrainingHooks) (options: TrainingOptions) (loss: Loss) (data: TrainingData) (checkpoint: Checkpoint<Network>) : TrainingResult<Network> =
        Check.notNull "checkpoint" (box checkpoint)
        let net = checkpoint.Model
        Check.notNull "checkpoint.Model" (box net)
        Network.checkDifferentiable net
        let objective = networkObjective loss data net
        let checkpoint = { checkpoint with OptimizerState = Optimizer.roundState net.Precision checkpoint.OptimizerState }
        run net.Precision options hooks objective (toNet net >> box) (Checkpoint.map ofNet checkpoint) |> networkResult net

    /// Trains a network (not changed) on the data with a loss, with progress hooks (an epoch
    /// callback and a cancellation test). Raises ArgumentException for bad options or data,
    /// TrainingDivergedException (LastGood: the last finite Network) when training diverges.
    /// The trained network, the checkpoint's networks and the optimiser's buffers have the
    /// network's precision: a Float32 network trains in float32 (see `Optimizer.stepIn`).
    let trainWith (hooks: TrainingHooks) (options: TrainingOptions) (loss: Loss) (data: TrainingData) (net: Network) : TrainingResult<Network> =
        Check.notNull "net" (box net)
        resumeWith hooks options loss data (Checkpoint.start options net.ParameterCount net)

    /// `trainWith TrainingHooks.None`.
    let train options loss data net = trainWith TrainingHooks.None options loss data net

    /// `resumeWith TrainingHooks.None`.
    let resume options loss data checkpoint = resumeWith TrainingHooks.None options loss data checkpoint
