namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN.Kernels

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

/// One training run's computation on one backend: the backend interface the trainer drives. The
/// parameters (flat, in `Parameters` order), the optimiser's state and every scratch buffer live
/// inside the session, which belongs to one run; the trainer owns the loop (batches, schedule,
/// stopping rules, divergence, history, checkpoints), so every backend gets all of it. A new
/// backend implements this interface; a new kind of layer adds one implementation per backend
/// (its forward, backward and parameters) and no new trainer.
type ITrainingSession =
    inherit IDisposable
    /// The backend that computes (Reference or Kernels).
    abstract Backend : Backend
    /// The precision of every value the run keeps (the losses it reports included).
    abstract Precision : Precision
    /// The number of parameters.
    abstract ParameterCount : int
    /// The number of training samples n.
    abstract SampleCount : int
    /// The number of state values kept beside the parameters (batch normalisations' running
    /// statistics; 0 for most models).
    abstract StateCount : int
    /// The current model as a new flat vector: the parameters (in `Parameters` order) followed by
    /// the state (in `Parameters.stateOf` order).
    abstract Parameters : unit -> float[]
    /// Replaces the model (parameters then state, as `Parameters` gives them) and keeps the
    /// optimiser state.
    abstract SetParameters : float[] -> unit
    /// The optimiser's state as new arrays.
    abstract OptimizerState : unit -> OptimizerState
    /// One step on the samples order.[offset .. offset + count - 1] at step size eta: returns the
    /// batch's mean loss at the current parameters (before the step, in training mode) and, when
    /// measureChange is set, max_i |theta'_i - theta_i| (else 0); then the parameters, the
    /// optimiser's state and the model's state are updated.
    abstract Step : order: int[] * offset: int * count: int * eta: float * measureChange: bool -> struct (float * float)
    /// True when every parameter is finite.
    abstract ParametersFinite : unit -> bool
    /// Keeps the parameters, the model's state and the optimiser's state, to rewind to; the mark
    /// the previous call kept stays, as the older one (the trainer marks each epoch's start, and
    /// finds a failure at an epoch's first step by replaying the epoch before).
    abstract Mark : unit -> unit
    /// Restores what the last call of Mark kept, or (older) the call before it.
    abstract Rewind : older: bool -> unit
    /// The loss of the whole training set at the current parameters (a forward pass).
    abstract TrainingLoss : unit -> float
    /// The mean loss of the samples order.[offset .. offset + count - 1] at the current parameters,
    /// in inference mode, as TrainingLoss measures the whole set (a forward pass over those rows;
    /// nothing is updated): the trainer measures the last step's batch again with it, at the
    /// parameters that step made.
    abstract BatchLoss : order: int[] * offset: int * count: int -> float
    /// |grad|_2 of the training loss over the whole training set at the current parameters.
    abstract GradientNorm : unit -> float
    /// (validation loss, validation metric) at the current parameters, with a validation set.
    abstract Validation : unit -> (float * float) option
    /// Whether the session has read the caller's data as they are: false when it started on a
    /// cached copy that the data, changed in place since, no longer match (the run is then to be
    /// made again on a fresh session, and nothing of it may leave the trainer). A session may check
    /// this while it trains; the first call finishes the check, later calls repeat its answer.
    abstract ConfirmData : unit -> bool

/// The reference backend: any `Objective` (a network's through MathNet matrices, or a plain
/// parameter vector's), with the optimiser as a pure function (`Optimizer.stepIn`). Every step
/// makes new arrays; nothing is shared with the caller.
[<Sealed>]
type ObjectiveSession(precision: Precision, settings: OptimizerSettings, objective: Objective,
                      lossOnly: (float[] -> float) option, theta0: float[], state0: OptimizerState) =
    let n = objective.SampleCount
    let all = Array.init n id
    let mutable theta = Array.copy theta0
    let mutable state = state0
    let mutable marked = theta, state
    let mutable markedBefore = marked
    let nonFinite (x: float) = not (Double.IsFinite x)
    interface ITrainingSession with
        member _.Backend = Backend.Reference
        member _.Precision = precision
        member _.ParameterCount = theta.Length
        member _.StateCount = 0
        member _.SampleCount = n
        member _.Parameters() = Array.copy theta
        member _.SetParameters(p) = theta <- Array.copy p
        member _.OptimizerState() =
            { state with Velocity = Array.copy state.Velocity; FirstMoment = Array.copy state.FirstMoment; SecondMoment = Array.copy state.SecondMoment }
        member _.Step(order, offset, count, eta, measureChange) =
            let batch = Array.sub order offset count
            let loss, g = objective.LossAndGradient theta batch
            if isNull g || g.Length <> theta.Length then
                invalidOp (sprintf "The objective returned a gradient of length %d for %d parameters." (if isNull g then 0 else g.Length) theta.Length)
            let state', theta' = Optimizer.stepIn precision settings eta state theta g
            let change =
                if measureChange then
                    let mutable m = 0.0
                    for i in 0 .. theta.Length - 1 do m <- max m (abs (theta'.[i] - theta.[i]))
                    m
                else 0.0
            theta <- theta'
            state <- state'
            struct (loss, change)
        member _.ParametersFinite() = not (Array.exists nonFinite theta)
        member _.Mark() =
            markedBefore <- marked
            marked <- theta, state
        member _.Rewind(older) =
            let t, s = if older then markedBefore else marked
            theta <- t
            state <- s
        member _.TrainingLoss() =
            match lossOnly with
            | Some f -> f theta
            | None -> fst (objective.LossAndGradient theta all)
        member _.BatchLoss(order, offset, count) =
            let batch = Array.sub order offset count
            match lossOnly with
            | Some f when batch = all -> f theta
            | _ -> fst (objective.LossAndGradient theta batch)
        member _.GradientNorm() = Optimizer.globalNorm (snd (objective.LossAndGradient theta all))
        member _.Validation() = objective.Validation |> Option.map (fun v -> v theta)
        member _.ConfirmData() = true
        member _.Dispose() = ()

/// The reference backend of a network of any blocks: each step is the core's pure functions
/// (Network.lossAndGradientIn in training mode, with the step's dropout key
/// `Formulas.DropoutKey(seed, optimiser step)`; Network.updateState for the running statistics;
/// Optimizer.stepIn for the update) on new values; the session only holds the current ones.
/// The whole-set loss, the gradient norm and validation run in inference mode.
[<Sealed>]
type NetworkSession(settings: OptimizerSettings, seed: int64, loss: Loss, x: Matrix<float>, y: Matrix<float>,
                    validation: Network -> (float * float) option, template: Network, model0: float[], state0: OptimizerState) =
    let p = template.Precision
    let pc, sc = template.ParameterCount, template.StateCount
    let n = x.RowCount
    let mutable theta = Array.sub model0 0 pc
    let mutable blockState = Array.sub model0 pc sc
    let mutable state = state0
    let mutable marked = theta, blockState, state
    let mutable markedBefore = marked
    let current () =
        let net = Parameters.toNetwork template (Vector<float>.Build.DenseOfArray theta)
        if sc = 0 then net else Parameters.withState net blockState
    let isIdentity (idx: int[]) =
        idx.Length = n && (let mutable ok = true in (for i in 0 .. n - 1 do if idx.[i] <> i then ok <- false); ok)
    interface ITrainingSession with
        member _.Backend = Backend.Reference
        member _.Precision = p
        member _.ParameterCount = pc
        member _.StateCount = sc
        member _.SampleCount = n
        member _.Parameters() = Array.append theta blockState
        member _.SetParameters(m) =
            theta <- Array.sub m 0 pc
            blockState <- Array.sub m pc sc
        member _.OptimizerState() =
            { state with Velocity = Array.copy state.Velocity; FirstMoment = Array.copy state.FirstMoment; SecondMoment = Array.copy state.SecondMoment }
        member _.Step(order, offset, count, eta, measureChange) =
            let idx = Array.sub order offset count
            let xb, yb = if isIdentity idx then x, y else Mat.selectRows idx x, Mat.selectRows idx y
            let net = current ()
            let mode = Mode.Training (Formulas.DropoutKey(seed, int64 state.Step))
            let value, g, trace = Network.lossAndGradientIn mode net loss xb yb
            if sc > 0 then blockState <- Parameters.stateOf (Network.updateState net trace)
            let state', theta' = Optimizer.stepIn p settings eta state theta ((Parameters.ofGradients g).AsArray())
            let change =
                if measureChange then
                    let mutable m = 0.0
                    for i in 0 .. theta.Length - 1 do m <- max m (abs (theta'.[i] - theta.[i]))
                    m
                else 0.0
            theta <- theta'
            state <- state'
            struct (value, change)
        member _.ParametersFinite() = Array.forall Double.IsFinite theta && Array.forall Double.IsFinite blockState
        member _.Mark() =
            markedBefore <- marked
            marked <- theta, blockState, state
        member _.Rewind(older) =
            let t, b, s = if older then markedBefore else marked
            theta <- t
            blockState <- b
            state <- s
        member _.TrainingLoss() =
            let out = Network.outputIn "x" (current ()) x
            Precision.round p (Loss.valueUnchecked loss out y)
        member _.BatchLoss(order, offset, count) =
            let idx = Array.sub order offset count
            let xb, yb = if isIdentity idx then x, y else Mat.selectRows idx x, Mat.selectRows idx y
            Precision.round p (Loss.valueUnchecked loss (Network.outputIn "x" (current ()) xb) yb)
        member _.GradientNorm() =
            let _, g, _ = Network.lossAndGradientIn Mode.Inference (current ()) loss x y
            Parameters.gradientNorm g
        member _.Validation() = validation (current ())
        member _.ConfirmData() = true
        member _.Dispose() = ()

/// How the trainer reaches a network's data: validation from shapes, the reference objective.
[<RequireQualifiedAccess>]
module NetworkData =

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

    /// The validation loss and metric of a network's outputs `out` for the validation inputs vx
    /// and targets vy (rounded to the precision p), checked as the training loss is, so that a run
    /// never records an infinite validation loss (which its checkpoint could not hold): an output
    /// that is not finite raises ArgumentException (ParamName "validationInputs", naming the row,
    /// see Network.checkOutput); a loss that overflows the double range ParamName
    /// "validationTargets", naming the row (see Loss.failOverflow); a loss beyond float32's range
    /// in a Float32 run, or a metric that overflows, ParamName "validationTargets" too. Both
    /// backends' sessions give their validation values through it.
    let validationOf (p: Precision) (loss: Loss) (vx: Matrix<float>) (out: Matrix<float>) (vy: Matrix<float>) : float * float =
        Network.checkOutput "validationInputs" vx out
        let value = Loss.valueUnchecked loss out vy
        if not (Double.IsFinite value) then Loss.failOverflow "validationTargets" loss out vy
        let rounded = Precision.round p value
        let row (m: Matrix<float>) i = String.Join(", ", m.Row(i).ToArray() |> Array.map string)
        if not (Double.IsFinite rounded) then
            let rowLoss i = Precision.round p (Loss.valueUnchecked loss (out.SubMatrix(i, 1, 0, out.ColumnCount)) (vy.SubMatrix(i, 1, 0, vy.ColumnCount)))
            match Seq.init out.RowCount id |> Seq.tryFind (fun i -> not (Double.IsFinite (rowLoss i))) with
            | Some i ->
                Check.fail "validationTargets" (sprintf "The %s validation loss of row %d is beyond float32's range (about 3.4028e38), the network's precision: the output and validationTargets differ by too much there (output %s, validationTargets %s). Scale the targets (for example standardise them)." (Loss.caseName loss) i (row out i) (row vy i))
            | None ->
                Check.fail "validationTargets" (sprintf "The %s validation loss is %s, beyond float32's range (about 3.4028e38), the network's precision. Scale the targets (for example standardise them)." (Loss.caseName loss) (string value))
        let metric = defaultMetric loss out vy
        if not (Double.IsFinite metric) then
            Check.fail "validationTargets" (sprintf "The validation metric (the root-mean-square error of the %s loss) overflows the double range: the outputs and validationTargets differ by too much. Scale the targets (for example standardise them)." (Loss.caseName loss))
        rounded, metric

    /// Checks the data against the network from shapes and values alone (no pass through the
    /// network): inputs and targets non-empty and finite, as many input columns as the network
    /// takes, targets of the output's shape holding labels the loss takes, the same for the
    /// validation set. ArgumentException names the parameter (and both shapes, or row and column).
    /// With `scanInputs` false the inputs' values are not read here: the caller converts them and
    /// checks them in the same pass (the kernels backend), raising through `Mat.checkFinite`.
    let check (scanInputs: bool) (loss: Loss) (data: TrainingData) (net: Network) =
        Check.notNull "data" (box data)
        Check.notNull "net" (box net)
        let checkX = if scanInputs then Network.checkInput else Network.checkInputShape
        checkX net "x" data.Inputs
        Loss.checkTargetFor "y" loss data.Inputs.RowCount net.OutputSize data.Targets
        match data.Validation with
        | Some (vx, vy) ->
            checkX net "validationInputs" vx
            Loss.checkTargetFor "validationTargets" loss vx.RowCount net.OutputSize vy
        | None -> ()

    /// `Layout.Fingerprint` of a matrix's values, column by column (the fingerprint the kernels'
    /// cache keeps of a dense matrix's storage).
    let internal fingerprint (m: Matrix<float>) : uint64 =
        match m.AsColumnMajorArray() with
        | null -> Layout.Fingerprint(ReadOnlySpan(m.ToColumnMajorArray()))
        | values -> Layout.Fingerprint(ReadOnlySpan(values, 0, m.RowCount * m.ColumnCount))

    /// The record of inputs and targets whose fingerprints are given (a checkpoint's `DataRecord`).
    let internal recordOf (x: Matrix<float>) (y: Matrix<float>) (xFingerprint: uint64) (yFingerprint: uint64) : DataRecord =
        { Rows = x.RowCount; InputWidth = x.ColumnCount; TargetWidth = y.ColumnCount
          InputsFingerprint = xFingerprint; TargetsFingerprint = yFingerprint }

    /// The records of the training data and of the validation set, if any, fingerprinted here.
    let internal records (data: TrainingData) : DataRecord * DataRecord option =
        let record (x, y) = recordOf x y (fingerprint x) (fingerprint y)
        record (data.Inputs, data.Targets), data.Validation |> Option.map record

    /// A copy of the caller's matrix rounded to the precision (a new matrix for Float64 too), so
    /// that a run trains on the data as they were at its start, whatever the caller does to its
    /// matrices meanwhile (an OnEpoch callback, another thread), as the kernels' converted copy
    /// does. It costs one copy of the data for the run. (The kernels' session converts the inputs
    /// to its own layout and takes the validation targets through this.)
    let internal owned (p: Precision) (m: Matrix<float>) : Matrix<float> =
        match p with
        | Precision.Float64 -> m.Clone()
        | _ -> Precision.roundMatrix p m

    let private isIdentity (idx: int[]) (n: int) =
        idx.Length = n && (let mutable ok = true in (for i in 0 .. n - 1 do if idx.[i] <> i then ok <- false); ok)

    /// The reference objective on inputs and targets already rounded to the network's precision.
    let private objectiveOn (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) (validationData: (Matrix<float> * Matrix<float>) option) (net: Network) : Objective =
        let p = net.Precision
        let toNet (theta: float[]) = Parameters.toNetwork net (Vector<float>.Build.Dense theta)
        let validation =
            validationData
            |> Option.map (fun (vx, vy) ->
                let vx, vy = owned p vx, owned p vy
                fun (theta: float[]) -> validationOf p loss vx (Network.outputIn "validationInputs" (toNet theta) vx) vy)
        { SampleCount = x.RowCount
          LossAndGradient =
            fun theta idx ->
                let xb, yb = if isIdentity idx x.RowCount then x, y else Mat.selectRows idx x, Mat.selectRows idx y
                let value, g = Network.lossAndGradientUnchecked (toNet theta) loss xb yb
                value, (Parameters.ofGradients g).AsArray()
          Validation = validation }

    /// The reference objective of a network (data already checked): the loss of the batch's rows
    /// and its gradient, through Parameters.toNetwork and Network.lossAndGradientUnchecked. For a
    /// Float32 network the data are rounded to float32 once, here, and the losses (training and
    /// validation) are float32 values; either way the objective reads its own copies (see `owned`).
    let objective (loss: Loss) (data: TrainingData) (net: Network) : Objective =
        let p = net.Precision
        objectiveOn loss (owned p data.Inputs) (owned p data.Targets) data.Validation net

    /// The reference session of a network (data already checked): `NetworkSession`, on its own
    /// copies of the data (see `owned`).
    let referenceSession (settings: OptimizerSettings) (seed: int64) (loss: Loss) (data: TrainingData) (net: Network) (model: float[]) (state: OptimizerState) : ITrainingSession =
        let p = net.Precision
        let rounded = data.Validation |> Option.map (fun (vx, vy) -> owned p vx, owned p vy)
        let validation (current: Network) =
            rounded |> Option.map (fun (vx, vy) -> validationOf p loss vx (Network.outputIn "validationInputs" current vx) vy)
        new NetworkSession(settings, seed, loss, owned p data.Inputs, owned p data.Targets, validation, net, model, state) :> ITrainingSession
