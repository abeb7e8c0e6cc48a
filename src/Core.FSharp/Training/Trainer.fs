namespace Functional.NN

open System
open System.Diagnostics
open MathNet.Numerics.LinearAlgebra

/// Where the trainer's replay starts: the loop's counters and the epoch's batches at a session
/// mark (`ITrainingSession.Mark`).
[<Sealed>]
type internal LoopMark() =
    /// False until the mark is set.
    member val Valid = false with get, set
    /// The steps taken before the mark.
    member val Step = 0 with get, set
    /// The epochs completed before the mark (its steps belong to the next).
    member val Epoch = 0 with get, set
    /// The epoch's steps taken before the mark.
    member val Position = 0 with get, set
    /// The epoch's batch losses so far, each times its size.
    member val Sum = 0.0 with get, set
    /// The epoch's samples so far.
    member val Samples = 0 with get, set
    /// The epoch's sample order (not changed while the mark is in use).
    member val Order : int[] = Array.empty with get, set
    /// The epoch's batch boundaries in Order.
    member val Starts : int[] = Array.empty with get, set
    /// The epoch's number of steps.
    member val StepsInEpoch = 0 with get, set

/// Raised inside the trainer when its session finds that the data were changed in place since
/// the cached copy it started on was made (`ITrainingSession.ConfirmData`): the run is made again.
[<Sealed>]
type internal StaleDataException() =
    inherit Exception("The training data were changed in place since the copy this run started on was made.")

/// The runs this thread made again because their inputs had changed in place (read by tests).
type internal Restarts() =
    [<ThreadStatic; DefaultValue>] static val mutable private count: int
    /// The count on this thread.
    static member Count with get () = Restarts.count and set (v: int) = Restarts.count <- v

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
          Elapsed = TimeSpan.Zero
          EpochLossSum = 0.0
          EpochSamples = 0
          LossBaseline = Double.NaN
          Initial = model
          TrainedWith = None }

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
          Elapsed = c.Elapsed
          EpochLossSum = c.EpochLossSum
          EpochSamples = c.EpochSamples
          LossBaseline = c.LossBaseline
          Initial = f c.Initial
          TrainedWith = c.TrainedWith }

    /// The same checkpoint without its record of how it was trained (`TrainedWith` None): a resume
    /// from it is not compared with the run that made it, so its options, loss and data may be
    /// changed deliberately (fine-tuning on other data, another schedule or batch size). The
    /// resumed run continues from the checkpoint's parameters, optimiser state, generator and
    /// pending batches under the new settings, and its own checkpoint records them. A checkpoint
    /// taken mid-epoch (`PendingBatches` not empty) still holds that epoch's remaining batches as
    /// row indices of the data it was taken on, and the resume runs them first (on other data, the
    /// rows of those numbers; data with fewer rows than an index are refused): to go on with other
    /// data, finish that epoch on the old data (resume with them and MaxEpochs
    /// `checkpoint.Epoch + 1`), then drop the record of that run's checkpoint.
    let withoutSetup (c: Checkpoint<'M>) : Checkpoint<'M> = { c with TrainedWith = None }

/// The record a checkpoint keeps of how it was trained (`TrainingSetup`): made from a run's
/// options and data, and compared with those of a run that resumes it.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module TrainingSetup =

    /// A setup from the options, the number of samples, whether there is a validation set and a
    /// network run's loss and data.
    let ofOptions (options: TrainingOptions) (sampleCount: int) (hasValidation: bool) (network: NetworkSetup option) : TrainingSetup =
        { Optimizer = options.Optimizer
          Schedule = options.Schedule
          Batching = options.Batching
          Seed = options.Seed
          SampleCount = sampleCount
          HasValidation = hasValidation
          Network = network }

    // Numbers as they round-trip (invariant culture): two values that differ never print alike.
    let private number (v: float) = string v

    /// An update rule with its constants, named as its case and fields (and the C# facade's
    /// factory methods): "Adam(beta1 0.9, beta2 0.999, epsilon 1E-08)".
    let describeOptimizer (optimizer: Optimizer) =
        let n = number
        match optimizer with
        | Optimizer.Sgd -> "Sgd"
        | Optimizer.Momentum (mu, tau) -> sprintf "Momentum(momentum %s, dampening %s)" (n mu) (n tau)
        | Optimizer.Nesterov mu -> sprintf "Nesterov(momentum %s)" (n mu)
        | Optimizer.AdaGrad (eps, s0) -> sprintf "AdaGrad(epsilon %s, initialAccumulator %s)" (n eps) (n s0)
        | Optimizer.RMSProp (alpha, eps, mu, centered) ->
            sprintf "RMSProp(alpha %s, epsilon %s, momentum %s, centered %b)" (n alpha) (n eps) (n mu) centered
        | Optimizer.Adam (b1, b2, eps) -> sprintf "Adam(beta1 %s, beta2 %s, epsilon %s)" (n b1) (n b2) (n eps)
        | Optimizer.AdamW (b1, b2, eps, wd) -> sprintf "AdamW(beta1 %s, beta2 %s, epsilon %s, weightDecay %s)" (n b1) (n b2) (n eps) (n wd)

    /// A schedule with its constants, named as its case and fields: "Constant(eta 0.01)".
    let describeSchedule (schedule: Schedule) =
        let n = number
        match schedule with
        | Schedule.Constant eta -> sprintf "Constant(eta %s)" (n eta)
        | Schedule.InverseSqrt c -> sprintf "InverseSqrt(c %s)" (n c)
        | Schedule.Inverse c -> sprintf "Inverse(c %s)" (n c)
        | Schedule.StepDecay (eta0, gamma, every) -> sprintf "StepDecay(eta0 %s, gamma %s, every %d)" (n eta0) (n gamma) every
        | Schedule.Exponential (eta0, gamma) -> sprintf "Exponential(eta0 %s, gamma %s)" (n eta0) (n gamma)
        | Schedule.Cosine (etaMax, etaMin, period) -> sprintf "Cosine(etaMax %s, etaMin %s, period %d)" (n etaMax) (n etaMin) period

    let private samplingText (sampling: Sampling) =
        match sampling with
        | Sampling.WithoutReplacement -> "without replacement"
        | Sampling.WithReplacement -> "with replacement"

    /// Batching in words: "full batches", "one sample per step", "minibatches of 8", each drawn
    /// "with replacement" when so.
    let describeBatching (batching: Batching) =
        let drawn sampling = if sampling = Sampling.WithReplacement then ", with replacement" else ""
        match batching with
        | Batching.FullBatch -> "full batches"
        | Batching.Stochastic sampling -> "one sample per step" + drawn sampling
        | Batching.MiniBatch (size, sampling) -> sprintf "minibatches of %d%s" size (drawn sampling)

    /// The ways a resumed run's setup (`given`) differs from the checkpoint's (`recorded`), one
    /// sentence each naming the field and both values, e.g. "The checkpoint was taken with batch
    /// size 8; the options give 5." The loss and data are compared when both setups have them
    /// (network runs); a shape that differs is named instead of the fingerprints it changes.
    let differences (recorded: TrainingSetup) (given: TrainingSetup) : string list =
        let network = recorded.Network.IsSome && given.Network.IsSome
        [ let option (what: string) (r: string) (g: string) =
              sprintf "The checkpoint was taken with %s %s; the options give %s." what r g
          let ro, go = recorded.Optimizer, given.Optimizer
          if ro.Optimizer <> go.Optimizer then yield option "the optimiser" (describeOptimizer ro.Optimizer) (describeOptimizer go.Optimizer)
          if ro.WeightDecay <> go.WeightDecay then yield option "weight decay" (number ro.WeightDecay) (number go.WeightDecay)
          if ro.ClipNorm <> go.ClipNorm then yield option "clip norm" (number ro.ClipNorm) (number go.ClipNorm)
          if recorded.Schedule <> given.Schedule then yield option "the schedule" (describeSchedule recorded.Schedule) (describeSchedule given.Schedule)
          match recorded.Batching, given.Batching with
          | r, g when r = g -> ()
          | Batching.MiniBatch (rb, rs), Batching.MiniBatch (gb, gs) when rs = gs -> yield option "batch size" (string rb) (string gb)
          | (Batching.MiniBatch (rb, rs), Batching.MiniBatch (gb, gs)) when rb = gb -> yield option "sampling" (samplingText rs) (samplingText gs)
          | Batching.Stochastic rs, Batching.Stochastic gs -> yield option "sampling" (samplingText rs) (samplingText gs)
          | r, g -> yield sprintf "The checkpoint was taken with %s; the options give %s." (describeBatching r) (describeBatching g)
          if recorded.Seed <> given.Seed then yield option "seed" (string recorded.Seed) (string given.Seed)
          if recorded.SampleCount <> given.SampleCount then
              if network then yield sprintf "The checkpoint was taken on %d training rows; x has %d." recorded.SampleCount given.SampleCount
              else yield sprintf "The checkpoint was taken on %d samples; this run has %d." recorded.SampleCount given.SampleCount
          let validation = if network then "a validation set" else "a validation function"
          match recorded.HasValidation, given.HasValidation with
          | true, false -> yield sprintf "The checkpoint was taken with %s; this run has none." validation
          | false, true -> yield sprintf "The checkpoint was taken without %s; this run has one." validation
          | _ -> ()
          match recorded.Network, given.Network with
          | Some r, Some g ->
              if r.Loss <> g.Loss then yield sprintf "The checkpoint was taken with the loss %s; this run's is %s." (Loss.caseName r.Loss) (Loss.caseName g.Loss)
              // `kind` "" or "validation "; `x`, `y`: the data's names, with their verb.
              let data (rd: DataRecord) (gd: DataRecord) (kind: string) (x: string) (y: string) (verb: string) =
                  [ // (The training rows are the sample count, compared above.)
                    if kind <> "" && rd.Rows <> gd.Rows then yield sprintf "The checkpoint was taken on %d %srows; %s %s %d." rd.Rows kind x verb gd.Rows
                    if rd.InputWidth <> gd.InputWidth then yield sprintf "The checkpoint was taken on %sinputs of %d columns; %s %s %d." kind rd.InputWidth x verb gd.InputWidth
                    if rd.TargetWidth <> gd.TargetWidth then yield sprintf "The checkpoint was taken on %stargets of %d columns; %s %s %d." kind rd.TargetWidth y verb gd.TargetWidth
                    // Values compared only where the shapes agree (other shapes are other values).
                    if rd.Rows = gd.Rows then
                        if rd.InputWidth = gd.InputWidth && rd.InputsFingerprint <> gd.InputsFingerprint then
                            yield sprintf "The checkpoint was taken on %sinputs of fingerprint %016x; %s %s fingerprint %016x (the same shape, other values)." kind rd.InputsFingerprint x verb gd.InputsFingerprint
                        if rd.TargetWidth = gd.TargetWidth && rd.TargetsFingerprint <> gd.TargetsFingerprint then
                            yield sprintf "The checkpoint was taken on %stargets of fingerprint %016x; %s %s fingerprint %016x (the same shape, other values)." kind rd.TargetsFingerprint y verb gd.TargetsFingerprint ]
              yield! data r.Data g.Data "" "x" "y" "has"
              match r.Validation, g.Validation with
              | Some rv, Some gv -> yield! data rv gv "validation " "the validation inputs" "the validation targets" "have"
              | _ -> ()
          | _ -> () ]

    /// Raises ArgumentException (ParamName "checkpoint") naming every way `given` differs from
    /// the checkpoint's record, when it has one; `beforeRefusing` is called first when it differs
    /// (a caller's own check whose error is to win, such as the data's non-finite scan).
    let checkWith (beforeRefusing: unit -> unit) (recorded: TrainingSetup option) (given: unit -> TrainingSetup) =
        match recorded with
        | Some r ->
            match differences r (given ()) with
            | [] -> ()
            | lines ->
                beforeRefusing ()
                Check.fail "checkpoint"
                    (String.Join(" ", lines)
                     + " A resumed run is the continuation of the one that made the checkpoint only with its options, loss and data: resume with those, or, to change them deliberately (fine-tuning), resume from Checkpoint.withoutSetup checkpoint.")
        | None -> ()

    /// Raises ArgumentException (ParamName "checkpoint") naming every way `given` differs from
    /// the checkpoint's record, when it has one.
    let check (recorded: TrainingSetup option) (given: unit -> TrainingSetup) = checkWith ignore recorded given

/// The trainer: a loop of (draw a batch, take a step on it) that is a pure function of its
/// options, data, starting parameters and seed. It drives a backend through `ITrainingSession`
/// (the reference core or the kernels), and owns everything else: batching, the schedule, the
/// stopping rules, early stopping, divergence, the history and checkpoints. So every backend gets
/// every feature, and a result is bit for bit reproducible on a given backend and machine.
[<RequireQualifiedAccess>]
module Trainer =

    let private nonFinite (x: float) = not (Double.IsFinite x)

    /// Raises ArgumentException (naming the field) for options out of range. (`hasValidation` is
    /// kept for callers: the plateau stop works with and without a validation set.)
    let validateOptions (options: TrainingOptions) (hasValidation: bool) =
        ignore hasValidation
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
        // A factor in (0, 1] would call a falling loss divergence (the rule compares with max(L0, 1)).
        if not (options.DivergenceFactor = 0.0 || options.DivergenceFactor > 1.0) || Double.IsInfinity options.DivergenceFactor then
            raise (ArgumentOutOfRangeException("DivergenceFactor", sprintf "DivergenceFactor must be 0 (off) or a finite number above 1 (a factor of at most 1 would stop training whose loss is falling), but is %s." (string options.DivergenceFactor)))
        match options.EarlyStopping with
        | Some e ->
            Check.positiveInt "Patience" e.Patience
            if not (e.MinDelta >= 0.0) || Double.IsInfinity e.MinDelta then
                Check.fail "MinDelta" (sprintf "MinDelta must be a non-negative finite number, but is %s." (string e.MinDelta))
        | None -> ()

    /// The checkpoint's optimiser state for the options' rule: a fresh state (Step 0, no buffers)
    /// is initialised; a state whose buffers do not fit the rule (it was taken with another
    /// optimiser) raises ArgumentException (ParamName "checkpoint").
    /// (With keepEmpty, a fresh state - step 0, no buffers - stays empty: the kernels session
    /// starts empty buffers at zero, so a run need not allocate p zeros only to copy them.)
    let private fitState (settings: OptimizerSettings) (p: int) (keepEmpty: bool) (s: OptimizerState) : OptimizerState =
        // The buffers' lengths (each 0 or p) from the state of one parameter, so that a fitting
        // state costs no fresh buffers of p values (megabytes for a large network, on every call).
        let one = Optimizer.init settings 1
        let v, m, sq = one.Velocity.Length * p, one.FirstMoment.Length * p, one.SecondMoment.Length * p
        let len (a: float[]) = if isNull a then 0 else a.Length
        let empty = len s.Velocity = 0 && len s.FirstMoment = 0 && len s.SecondMoment = 0
        if s.Step < 0 then Check.fail "checkpoint" (sprintf "The checkpoint's optimiser step is %d; it must not be negative." s.Step)
        if s.Step = 0 && empty then (if keepEmpty then Optimizer.init settings 0 else Optimizer.init settings p)
        elif len s.Velocity <> v || len s.FirstMoment <> m || len s.SecondMoment <> sq then
            Check.fail "checkpoint"
                (sprintf "The checkpoint's optimiser state (buffers of %d, %d and %d values) does not fit the %s optimiser, which keeps %d, %d and %d for %d parameters: it was taken with another optimiser. Resume with the options it was trained with, or start a new run from its network."
                    (len s.Velocity) (len s.FirstMoment) (len s.SecondMoment) (Optimizer.name settings.Optimizer) v m sq p)
        else s

    /// Checks a checkpoint against n samples, p parameters and s state values; returns its
    /// optimiser state fitted to the rule (with keepEmpty, a fresh state stays empty: see fitState).
    /// (`modelLength`: the number of values of the checkpoint's model.)
    let private checkStart (options: TrainingOptions) (n: int) (p: int) (s: int) (keepEmpty: bool) (modelLength: int) (start: Checkpoint<'M>) =
        Check.notNull "checkpoint" (box start)
        Check.notNull "parameters" (box start.Model)
        if modelLength <> p + s then
            Check.fail "checkpoint" (sprintf "The checkpoint holds %d parameters but the model has %d." modelLength (p + s))
        Check.notNull "PendingBatches" start.PendingBatches
        start.PendingBatches
        |> Array.iteri (fun b batch ->
            Check.notNull "PendingBatches" batch
            batch |> Array.iter (fun i ->
                if i < 0 || i >= n then
                    Check.fail "checkpoint"
                        (sprintf "The checkpoint's pending batch %d holds sample index %d, but the data have %d samples (0 .. %d). The checkpoint was taken during epoch %d, and keeps the rest of that epoch's batches as row indices of the data it was taken on; a resume runs them first, with or without the record of how it was trained. Finish that epoch on those data (resume with them and MaxEpochs %d); then, to go on with other data, resume from Checkpoint.withoutSetup checkpoint."
                            b i n (n - 1) (start.Epoch + 1) (start.Epoch + 1))))
        Check.notNull "checkpoint.OptimizerState" (box start.OptimizerState)
        fitState options.Optimizer p keepEmpty start.OptimizerState

    /// The loop over a session, from a checkpoint (already checked). `lastGood` turns parameters
    /// into the object TrainingDivergedException carries.
    /// Divergence costs nothing per step: the session keeps a mark (its parameters and state) at
    /// each epoch start; during the epoch only each batch loss is checked (NaN, infinity, growth
    /// past DivergenceFactor), and at its end every parameter. On trouble the session rewinds to
    /// the mark and replays the epoch's steps (they are deterministic) checking after each, so the
    /// error's epoch, step and LastGood (the parameters before the failing step) are those of a
    /// check after every step. A batch loss is measured at the parameters the step before made, so
    /// a bad one fails that step (at an epoch's first step: the epoch before's last, replayed from
    /// the older mark). The parameters the last step made are returned without a next step to
    /// measure them: unless early stopping restores a best epoch, they are checked before the
    /// result is made (`checkLastStep`: one forward pass over the last step's batch, or the whole
    /// set's loss ExactEpochLoss measured), and a failure names the last step as above.
    /// `initialLossBad` is called when the loss at a fresh run's initial
    /// parameters is not finite (it raises the caller's data error).
    /// The result's models are `snapshot ()` (the session's current model, taken once at the end)
    /// and `ofFlat` of the flat vectors early stopping kept; `start.Model` and `start.Initial` are
    /// not read. `initial` is the first run's starting model (the result's checkpoint carries it),
    /// flattened by `flat` only when the growth rule needs L0. The result's checkpoint records
    /// `setup ()`, asked once the session has confirmed its data.
    let private runOnce (options: TrainingOptions) (hooks: TrainingHooks) (session: ITrainingSession) (lastGood: float[] -> obj) (initialLossBad: float -> unit)
                        (snapshot: unit -> 'M) (ofFlat: float[] -> 'M) (initial: 'M) (flat: 'M -> float[]) (setup: unit -> TrainingSetup) (start: Checkpoint<float[]>) : TrainingResult<'M> =
        let n = session.SampleCount
        let stepsMax, b, sampling =
            match options.Batching with
            | Batching.FullBatch -> 1, n, None
            | Batching.Stochastic s -> n, 1, Some s
            | Batching.MiniBatch (b, s) -> let b = min b n in (n + b - 1) / b, b, Some s
        // The epoch's batches: order.[starts.[i] .. starts.[i + 1] - 1] for its steps i. Two sets of
        // buffers take turns from one epoch to the next, so that the epoch before the current one
        // can still be replayed (see `located`); full batches use one identity order.
        let perm = Array.init n id
        let perms = [| perm; (match sampling with Some Sampling.WithoutReplacement -> Array.zeroCreate n | _ -> perm) |]
        let drawsOf () = match sampling with Some Sampling.WithReplacement -> Array.zeroCreate (stepsMax * b) | _ -> Array.empty
        let draws = [| drawsOf (); drawsOf () |]
        let startsOf () = Array.zeroCreate<int> (max stepsMax start.PendingBatches.Length + 1)
        let startSets = [| startsOf (); startsOf () |]
        let mutable slot = 0
        let mutable starts = startSets.[0]
        let clock = Stopwatch.StartNew()
        let elapsed () = start.Elapsed + clock.Elapsed
        let mutable rng = start.Rng
        let mutable step = start.Step
        let mutable epoch = start.Epoch
        let mutable order = perm
        let mutable stepsInEpoch = 0
        let mutable position = 0
        let mutable historyRev = List.rev start.History
        let mutable best = start.Best
        let mutable worse = start.EpochsWithoutImprovement
        let mutable lossSum = start.EpochLossSum
        let mutable samples = start.EpochSamples
        let mutable baseline = start.LossBaseline
        let mutable stop : StopReason option = None
        if start.PendingBatches.Length > 0 then
            let pending = Array.concat start.PendingBatches
            let mutable o = 0
            start.PendingBatches |> Array.iteri (fun i p -> starts.[i] <- o; o <- o + p.Length)
            starts.[start.PendingBatches.Length] <- o
            order <- pending
            stepsInEpoch <- start.PendingBatches.Length
        let newEpoch () =
            slot <- 1 - slot
            starts <- startSets.[slot]
            match sampling with
            | None ->
                starts.[0] <- 0
                starts.[1] <- n
                stepsInEpoch <- 1
                order <- perm
            | Some Sampling.WithoutReplacement ->
                rng <- Rng.permuteInto perms.[slot] rng
                for i in 0 .. stepsMax - 1 do starts.[i] <- i * b
                starts.[stepsMax] <- n
                stepsInEpoch <- stepsMax
                order <- perms.[slot]
            | Some Sampling.WithReplacement ->
                let drawn = draws.[slot]
                let mutable g = rng
                for i in 0 .. drawn.Length - 1 do
                    let struct (x, g') = Rng.nextInt n g
                    drawn.[i] <- x
                    g <- g'
                rng <- g
                for i in 0 .. stepsMax do starts.[i] <- i * b
                stepsInEpoch <- stepsMax
                order <- drawn
            position <- 0
            lossSum <- 0.0
            samples <- 0
        let tolOn = options.ParameterTolerance > 0.0
        let factor = options.DivergenceFactor
        // The growth rule's L0: the loss of the whole training set at the run's initial
        // parameters (`initial`, the first run's, carried by checkpoints), measured only when the rule first needs it - when the epoch's
        // loss so far passes factor * 1, a bound that factor * max(L0, 1) is never below - so a
        // run whose loss stays under factor makes no extra pass (a checkpoint keeps L0 once
        // measured). The session's parameters and state are set back bit for bit after the pass.
        // When L0 is not finite the rule waits for the end of the epoch, whose training loss
        // becomes L0.
        let mutable baselineMeasured = not (Double.IsNaN baseline)
        let measureBaseline () =
            if not baselineMeasured then
                baselineMeasured <- true
                let current = session.Parameters()
                session.SetParameters (flat initial)
                let l0 = session.TrainingLoss()
                session.SetParameters current
                if Double.IsFinite l0 then baseline <- l0
        // The growth rule (see TrainingOptions.DivergenceFactor): the epoch's loss so far, the sum
        // of its batch losses (each times its batch size) over the n samples - at the end of an
        // epoch its mean batch loss - against factor * max(L0, 1). While the parameters stay
        // where they started, the batches of an epoch are part of the set, so this sum is at most
        // n * L0 for a loss that is never negative: finite data cannot set it off; one batch's
        // loss alone may be up to n / b times L0.
        let tooLarge (epochSum: float) =
            factor > 0.0 && epochSum / float n > factor
            && (measureBaseline ()
                not (Double.IsNaN baseline) && epochSum / float n > factor * max baseline 1.0)
        let growth (epochSum: float) =
            sprintf "the epoch's loss so far (its batch losses times their sizes, summed over the steps so far and divided by the %d samples) %g grew past %g times max(L0, 1) = %g, where L0 = %g is the loss at the start"
                n (epochSum / float n) factor (factor * max baseline 1.0) baseline
        let rate (s: int) = Schedule.rate options.Schedule (max s 1)
        // Nothing of the run leaves it (an epoch's record, the result) before the session has
        // confirmed that it read the caller's data as they are.
        let confirm () = if not (session.ConfirmData()) then raise (StaleDataException())
        let diverged (e: int) (s: int) (what: string) (good: float[]) =
            raise (TrainingDivergedException(e, s, lastGood good,
                    sprintf "Training diverged at epoch %d, step %d: %s. The last finite parameters are in LastGood; try a smaller step size (the schedule gave %g)." e s what (rate s)))
        // The marks: where a replay starts. The session keeps two (Mark, Rewind): the newest, at
        // the start of the current epoch (or of the run), and the one before it, at the start of
        // the epoch before; the loop keeps the same two here with their counters and batches.
        // (L0 is not part of a mark: it is the loss at the run's start, whenever it is measured.)
        let newMark () = LoopMark()
        let mutable mark, markBefore = newMark (), newMark ()
        let setMark () =
            session.Mark()
            let m = markBefore
            markBefore <- mark
            mark <- m
            m.Valid <- true
            m.Step <- step
            m.Epoch <- epoch
            m.Position <- position
            m.Sum <- lossSum
            m.Samples <- samples
            m.Order <- order
            m.Starts <- starts
            m.StepsInEpoch <- stepsInEpoch
        /// Rewinds to a mark (the newest, or with older the one before) and replays up to
        /// `untilStep`, checking after every step, and raises at the first failing one; returns
        /// (the state then that after `untilStep`) only if none fails.
        /// A step fails when its parameters are not finite (LastGood: those before it), or when
        /// the batch loss the next step measures at them is not finite or sets off the growth rule:
        /// then the step that made them fails, and LastGood is from before it - the same step and
        /// LastGood as `ExactEpochLoss`'s check of the whole set's loss at the step's end. (When
        /// that step is the mark's last, before the mark, the epoch before is replayed up to it.)
        let rec replay (older: bool) (untilStep: int) =
            let m = if older then markBefore else mark
            session.Rewind older
            step <- m.Step
            epoch <- m.Epoch
            position <- m.Position
            lossSum <- m.Sum
            samples <- m.Samples
            order <- m.Order
            starts <- m.Starts
            stepsInEpoch <- m.StepsInEpoch
            let mutable before : float[] = null
            while step < untilStep do
                let good = session.Parameters()
                let o = starts.[position]
                let c = starts.[position + 1] - o
                position <- position + 1
                step <- step + 1
                let struct (loss, _) = session.Step(order, o, c, rate step, false)
                let sum = lossSum + loss * float c
                // What is wrong, and the option that set the bound (last in the message, where the
                // CLI finds it to leave it out).
                let bad =
                    if nonFinite loss then Some (sprintf "the batch loss became %g" loss, "")
                    elif nonFinite sum then Some (sprintf "the epoch's batch losses, times their sizes, summed past the double range (this batch's loss %g)" loss, "")
                    elif tooLarge sum then Some (growth sum, " (TrainingOptions.DivergenceFactor)")
                    else None
                match bad with
                | Some (what, option) ->
                    // The parameters of this step's start are bad: the step before made them.
                    let at = sprintf "at the parameters step %d made (measured on step %d's batch), %s" (step - 1) step what
                    if not (isNull before) then diverged (epoch + 1) (step - 1) (at + option) before
                    elif not older && markBefore.Valid && markBefore.Step < m.Step then
                        // The step before is the epoch before's last: replay that epoch up to it.
                        replay true (m.Step - 1)
                        diverged (epoch + 1) m.Step (at + option) (session.Parameters())
                    elif m.Step = 0 then
                        // The run's initial parameters: no step made them. A loss that is not finite
                        // there is the caller's data error (initialLossBad raises it); a growth-rule
                        // trip (a training-mode loss above the inference-mode L0) is reported here.
                        if nonFinite loss then initialLossBad loss
                        diverged (epoch + 1) step (sprintf "at the initial parameters, %s%s" what option) good
                    else
                        // A resumed run's first step: the parameters before its checkpoint are not kept.
                        diverged (if start.PendingBatches.Length > 0 then epoch + 1 else epoch) m.Step
                            (at + "; the run resumed from a checkpoint at these parameters, and those before them are not kept, so LastGood is the checkpoint's" + option) good
                | None -> ()
                if not (session.ParametersFinite()) then diverged (epoch + 1) step "a parameter became NaN or infinite" good
                lossSum <- sum
                samples <- samples + c
                before <- good
        /// The check of the parameters the run's last step made, when they are returned: the loop
        /// measures a batch loss only before its step, so nothing else measures them. Their loss is
        /// `exact` (the whole set's, with ExactEpochLoss, already measured for the result) or else
        /// that of the last step's batch measured again with them (one forward pass over that
        /// batch; with full batches, the whole set), checked as a batch loss at an epoch's start
        /// is: not finite, or times its rows over n past the growth rule's bound. A failure names
        /// the last step, and LastGood is from before it, as on every other path. (L0, measured
        /// here if the rule needs it, is not kept: the result of a run that passes is unchanged.)
        let checkLastStep (exact: float) =
            let e = if position >= stepsInEpoch then epoch else epoch + 1
            let rows, loss, where =
                if options.ExactEpochLoss then n, exact, "the training loss on the whole set"
                else
                    let o = starts.[position - 1]
                    let c = starts.[position] - o
                    c, session.BatchLoss(order, o, c), (if c = n then "the training loss on the whole set" else sprintf "the loss of its batch (%s)" (Check.counted c "row" "rows"))
            let sum = loss * float rows
            let baselineBefore, measuredBefore = baseline, baselineMeasured
            let bad =
                if nonFinite loss then Some (sprintf "%s became %g" where loss, "")
                elif nonFinite sum then Some (sprintf "%s, %g, times its %d rows passes the double range" where loss rows, "")
                elif tooLarge sum then
                    let measured = if rows = n then sprintf "%s %g" where loss else sprintf "%s %g, times its rows over the %d samples, %g," where loss n (sum / float n)
                    Some (sprintf "%s grew past %g times max(L0, 1) = %g, where L0 = %g is the loss at the start" measured factor (factor * max baseline 1.0) baseline,
                          " (TrainingOptions.DivergenceFactor)")
                else None
            baseline <- baselineBefore
            baselineMeasured <- measuredBefore
            match bad with
            | Some (what, option) ->
                let failing = step
                replay false (failing - 1)
                diverged e failing (sprintf "after the last step, at the parameters it made (the model the run would return), %s%s" what option) (session.Parameters())
            | None -> ()
        setMark ()
        while stop.IsNone do
            let atBoundary = position >= stepsInEpoch
            if atBoundary && epoch >= options.MaxEpochs then stop <- Some StopReason.MaxEpochs
            elif options.MaxSteps > 0 && step >= options.MaxSteps then stop <- Some StopReason.MaxSteps
            elif hooks.ShouldStop () then stop <- Some StopReason.Cancelled
            else
                if atBoundary then
                    newEpoch ()
                    setMark ()
                let o = starts.[position]
                let c = starts.[position + 1] - o
                position <- position + 1
                step <- step + 1
                let eta = Schedule.rate options.Schedule step
                let struct (loss, change) = session.Step(order, o, c, eta, tolOn)
                if nonFinite loss || nonFinite (lossSum + loss * float c) || tooLarge (lossSum + loss * float c) then replay false step
                lossSum <- lossSum + loss * float c
                samples <- samples + c
                let tolHit = tolOn && change < options.ParameterTolerance
                let mutable epochStop = None
                if position >= stepsInEpoch then
                    if not (session.ParametersFinite()) then replay false step
                    epoch <- epoch + 1
                    let trainLoss = if options.ExactEpochLoss then session.TrainingLoss() else Precision.round session.Precision (lossSum / float samples)
                    if nonFinite trainLoss then
                        // The whole set's loss is at the parameters this step made, so this step
                        // is the failing one; LastGood is from before it, as on every other path:
                        // replay the epoch up to the step before (which checks those steps again).
                        let failing = step
                        replay false (failing - 1)
                        diverged (epoch + 1) failing (sprintf "the training loss on the whole set became %g" trainLoss) (session.Parameters())
                    if baselineMeasured && Double.IsNaN baseline then baseline <- trainLoss
                    let validation = session.Validation()
                    // The plateau stop: on the validation loss (the best parameters are restored at
                    // the end) or, without a validation set, on the training loss (the last parameters
                    // are returned, as scikit-learn does; the best are kept for the checkpoint). The
                    // counting is Keras' either way (see EarlyStopping).
                    match options.EarlyStopping with
                    | Some e ->
                        let monitored = match validation with Some (vLoss, _) -> vLoss | None -> trainLoss
                        match best with
                        | Some bst when not (monitored < bst.ValidationLoss - e.MinDelta) ->
                            worse <- worse + 1
                            if worse >= e.Patience then epochStop <- Some StopReason.EarlyStopping
                        | _ ->
                            best <- Some { Model = session.Parameters(); ValidationLoss = monitored; Epoch = epoch }
                            worse <- 0
                    | None -> ()
                    let record =
                        { Epoch = epoch
                          Step = step
                          TrainLoss = trainLoss
                          ValidationLoss = validation |> Option.map fst
                          ValidationMetric = validation |> Option.map snd
                          StepSize = eta
                          GradientNorm = (if options.RecordGradientNorm then session.GradientNorm() else Double.NaN)
                          Elapsed = elapsed () }
                    historyRev <- record :: historyRev
                    confirm ()
                    hooks.OnEpoch record
                    if not (Double.IsNaN options.TargetLoss) && trainLoss <= options.TargetLoss then
                        epochStop <- Some StopReason.TargetLoss
                    lossSum <- 0.0
                    samples <- 0
                if tolHit then stop <- Some StopReason.ParameterTolerance
                elif epochStop.IsSome then stop <- epochStop
        confirm ()
        // A stop inside an epoch: its steps have not been checked yet.
        if not (session.ParametersFinite()) then replay false step
        let reason = stop.Value
        let theta = snapshot ()
        let history = List.rev historyRev
        // The returned model's training loss: with ExactEpochLoss, a pass over the whole set;
        // else the batch losses' figure (the last epoch's, the restored best epoch's, or, stopped
        // inside an epoch, the mean of that epoch's batch losses so far).
        let lossOf (epochNumber: int) =
            history |> List.tryFind (fun h -> h.Epoch = epochNumber) |> Option.map (fun h -> h.TrainLoss)
        // The plateau stop, when it watched a validation loss, returns the best parameters whatever
        // rule ended the run (its own, the epoch or step limit, the target loss, the parameter
        // tolerance, a cancellation), as Keras 3's EarlyStopping(restore_best_weights=True) restores
        // them at the end of training and scikit-learn's MLP (early_stopping=True) after its loop.
        // The checkpoint keeps the last parameters either way, so a resumed run is still bit-identical.
        let validated = not (List.isEmpty history) && (List.last history).ValidationLoss.IsSome
        let model, trainLoss, restored =
            match best with
            | Some bst when validated && options.EarlyStopping.IsSome ->
                if options.ExactEpochLoss then
                    session.SetParameters bst.Model
                    ofFlat bst.Model, session.TrainingLoss(), Some bst.Epoch
                else ofFlat bst.Model, defaultArg (lossOf bst.Epoch) nan, Some bst.Epoch
            | _ ->
                if options.ExactEpochLoss || samples = 0 && List.isEmpty history then theta, session.TrainingLoss(), None
                elif samples > 0 then theta, Precision.round session.Precision (lossSum / float samples), None
                else theta, defaultArg (lossOf epoch) nan, None
        if restored.IsNone && step > start.Step then checkLastStep trainLoss
        let remaining =
            if position >= stepsInEpoch then Array.empty
            else Array.init (stepsInEpoch - position) (fun i -> order.[starts.[position + i] .. starts.[position + i + 1] - 1])
        { Model = model
          StopReason = reason
          TrainLoss = trainLoss
          BestEpoch = restored
          History = history
          Steps = step
          Epochs = epoch
          Checkpoint =
            { Model = theta
              OptimizerState = session.OptimizerState()
              Rng = rng
              Step = step
              Epoch = epoch
              PendingBatches = remaining
              History = history
              Best = best |> Option.map (fun b -> { Model = ofFlat b.Model; ValidationLoss = b.ValidationLoss; Epoch = b.Epoch })
              EpochsWithoutImprovement = worse
              Elapsed = elapsed ()
              EpochLossSum = (if remaining.Length = 0 then 0.0 else lossSum)
              EpochSamples = (if remaining.Length = 0 then 0 else samples)
              LossBaseline = baseline
              Initial = initial
              TrainedWith = Some (setup ()) }
          Backend = session.Backend }

    /// `runOnce`, where an exception leaves only once the session has confirmed its data (an error
    /// from data changed in place since the session's cached copy was made is StaleDataException:
    /// the run is to be made again on a fresh session, which raises the error the data deserve).
    let private run options hooks (session: ITrainingSession) lastGood initialLossBad snapshot ofFlat initial flat setup start =
        try runOnce options hooks session lastGood initialLossBad snapshot ofFlat initial flat setup start
        with e ->
            match e with
            | :? StaleDataException -> reraise ()
            | _ -> if session.ConfirmData() then reraise () else raise (StaleDataException())

    /// Continues training a parameter vector from a checkpoint, with progress hooks, on the
    /// reference backend (an `Objective` is a function, which no other backend can run). With the
    /// same options and objective, the result equals bit for bit that of a run never interrupted.
    /// A checkpoint that records its setup (`TrainedWith`) is resumed only with the options it was
    /// trained with (update rule, decay, clipping, schedule, batching, seed), as many samples and a
    /// validation function as it had: else ArgumentException (ParamName "checkpoint") names each
    /// difference with both values (the objective, a function, is not compared).
    let resumeVectorWith (hooks: TrainingHooks) (options: TrainingOptions) (objective: Objective) (checkpoint: Checkpoint<float[]>) : TrainingResult<float[]> =
        Check.notNull "objective" (box objective)
        Check.positiveInt "SampleCount" objective.SampleCount
        validateOptions options objective.Validation.IsSome
        Check.notNull "checkpoint" (box checkpoint)
        let setup () = TrainingSetup.ofOptions options objective.SampleCount objective.Validation.IsSome None
        TrainingSetup.check checkpoint.TrainedWith setup
        Check.notNull "parameters" checkpoint.Model
        let state = checkStart options objective.SampleCount checkpoint.Model.Length 0 false checkpoint.Model.Length checkpoint
        Check.notNull "checkpoint.Initial" checkpoint.Initial
        if checkpoint.Initial.Length <> checkpoint.Model.Length then
            Check.fail "checkpoint" (sprintf "The checkpoint's initial parameters have %d values but its parameters %d." checkpoint.Initial.Length checkpoint.Model.Length)
        let session = new ObjectiveSession(Precision.Float64, options.Optimizer, objective, None, checkpoint.Model, state)
        let s = session :> ITrainingSession
        // A loss that is not finite at the starting parameters, before any step: no step size is to blame.
        let initialLossBad (loss: float) =
            Check.fail "objective" (sprintf "The objective's loss at the starting parameters is %g, before any step (so no step size is to blame): check the objective and the starting parameters." loss)
        run options hooks s box initialLossBad (fun () -> s.Parameters()) id checkpoint.Initial id setup checkpoint

    /// Trains a parameter vector theta0 (not changed) on an objective, with progress hooks.
    /// Raises TrainingDivergedException (LastGood: a float[]) when the loss or a parameter
    /// stops being finite.
    let trainVectorWith (hooks: TrainingHooks) (options: TrainingOptions) (objective: Objective) (theta0: float[]) : TrainingResult<float[]> =
        Check.notNull "theta0" theta0
        Check.finite2D "theta0" 1 theta0.Length (fun _ j -> theta0.[j])
        resumeVectorWith hooks options objective (Checkpoint.start options theta0.Length (Array.copy theta0))

    /// `trainVectorWith TrainingHooks.None`.
    let trainVector options objective theta0 = trainVectorWith TrainingHooks.None options objective theta0

    /// `resumeVectorWith TrainingHooks.None`.
    let resumeVector options objective checkpoint = resumeVectorWith TrainingHooks.None options objective checkpoint

    /// The validation metric the trainer reports for a loss (`NetworkData.defaultMetric`).
    let defaultMetric (loss: Loss) (output: Matrix<float>) (target: Matrix<float>) : float = NetworkData.defaultMetric loss output target

    /// The reference objective of a network: the loss of the batch's rows and its gradient, through
    /// Parameters.toNetwork and Network.lossAndGradient. Checks the data once, here, from shapes.
    /// For a Float32 network the data are rounded to float32 once, here, and the losses (training
    /// and validation) are float32 values.
    let networkObjective (loss: Loss) (data: TrainingData) (net: Network) : Objective =
        NetworkData.check true loss data net
        Network.checkLossFits loss net
        NetworkData.objective loss data net

    /// The network of a model vector (parameters then state).
    let private toNet (net: Network) (model: float[]) = Parameters.ofModel net model

    /// The model vector of a network (parameters then state).
    let private ofNet (net: Network) = Parameters.modelOf net

    /// Raises ArgumentException (ParamName "Batching") when a network with batch normalisation
    /// would meet a batch of one row in training mode (its variance needs two).
    let private checkBatchRows (batching: Batching) (n: int) (net: Network) =
        let mutable position = None
        net.Blocks |> List.iteri (fun i b ->
            Block.iter (fun inner -> match inner with Block.BatchNorm _ when position.IsNone -> position <- Some i | _ -> ()) [ b ])
        match position with
        | Some i ->
            let problem =
                match batching with
                | Batching.FullBatch -> if n < 2 then Some (sprintf "full batches of the %d sample" n) else None
                | Batching.Stochastic _ -> Some "stochastic steps (one sample each)"
                | Batching.MiniBatch (b, sampling) ->
                    let b = min b n
                    if b < 2 then Some (sprintf "batches of %d row" b)
                    elif sampling = Sampling.WithoutReplacement && n % b = 1 then
                        Some (sprintf "batches of %d on %d samples, whose last batch has 1 row" b n)
                    else None
            match problem with
            | Some what ->
                Check.fail "Batching" (sprintf "Block %d holds batch normalisation, which in training mode needs at least 2 rows per batch (it normalises by the batch's variance), but the options give %s. Choose another batch size (or drop a sample)." i what)
            | None -> ()
        | None -> ()

    /// The largest batch a run uses (the kernels' buffers are made for it).
    let private batchCap (batching: Batching) (n: int) =
        match batching with
        | Batching.FullBatch -> n
        | Batching.Stochastic _ -> 1
        | Batching.MiniBatch (b, _) -> min b n

    /// Continues training a network from a checkpoint, with progress hooks; bit-identical to an
    /// uninterrupted run with the same options and data on the same backend. The run has the
    /// network's precision (for a Float32 network every value it keeps is a float32 value) and
    /// runs on `options.Backend` (Auto: the kernels wherever they support the network); the
    /// result says which ran. Raises ArgumentException for bad options, data or checkpoint (also
    /// when a fresh run's loss at the initial parameters is not finite: ParamName "x" when the
    /// network's output overflows, "y" when the loss does), TrainingDivergedException (LastGood:
    /// the last finite Network) when training diverges; a network with the step activation (no
    /// gradient) is an ArgumentException (ParamName "checkpoint"). The kernels may start on their cached
    /// conversion of x and check it while they train; a run that finds x changed in place since
    /// is made again on it before anything leaves the trainer (with `TrainingHooks.ShouldStop`'s
    /// answers to the dropped run given again; docs/backends.md).
    /// A checkpoint that records its setup (`TrainedWith`) is resumed only with the options, loss
    /// and data it was trained with (update rule, decay, clipping, schedule, batching, seed; the
    /// loss; the training and validation data's shapes and values, by fingerprint): else
    /// ArgumentException (ParamName "checkpoint") names each difference with both values. The
    /// backend, the limits and stopping rules, and the history's options may change;
    /// `Checkpoint.withoutSetup` drops the record to change the rest deliberately. The result's
    /// checkpoint records this run's setup.
    let resumeWith (hooks: TrainingHooks) (options: TrainingOptions) (loss: Loss) (data: TrainingData) (checkpoint: Checkpoint<Network>) : TrainingResult<Network> =
        Check.notNull "checkpoint" (box checkpoint)
        let net = checkpoint.Model
        Check.notNull "checkpoint.Model" (box net)
        Check.notNull "checkpoint.Initial" (box checkpoint.Initial)
        if not (obj.ReferenceEquals(checkpoint.Initial, net))
           && (Network.describe checkpoint.Initial <> Network.describe net || checkpoint.Initial.Precision <> net.Precision) then
            Check.fail "checkpoint" "The checkpoint's initial network does not have the shape and precision of its network."
        Network.checkTrainable "checkpoint" net
        Network.checkLossFits loss net
        validateOptions options (not (isNull (box data)) && data.Validation.IsSome)
        let backend = KernelNetwork.resolve "Backend" options.Backend net
        NetworkData.check (backend <> Backend.Kernels) loss data net
        // The data's records (fingerprints: one read of each matrix), made when a checkpoint's
        // record or the reference backend needs them (the kernels have theirs from their conversions).
        let records = lazy (NetworkData.records data)
        let setupOf (training: DataRecord, validation: DataRecord option) =
            TrainingSetup.ofOptions options data.Inputs.RowCount data.Validation.IsSome
                (Some { Loss = loss; Data = training; Validation = validation })
        // The kernels scan the inputs' values while they convert them, after this comparison: data
        // that differ from the record are scanned here first, so that a NaN or infinity is reported
        // as the data's error (naming the row and column), as the reference backend and a fresh run
        // report it, and not as other values. Data that match the record cost nothing more.
        let dataErrorsFirst () = if backend = Backend.Kernels then NetworkData.check true loss data net
        TrainingSetup.checkWith dataErrorsFirst checkpoint.TrainedWith (fun () -> setupOf (records.Force()))
        checkBatchRows options.Batching data.Inputs.RowCount net
        // A fresh state of a rule whose buffers start at zero stays empty for the kernels (their
        // session starts empty buffers at zero); AdaGrad's accumulator starts at its s0.
        let zeroStart =
            backend = Backend.Kernels
            && (match options.Optimizer.Optimizer with Optimizer.AdaGrad (_, s0) -> s0 = 0.0 | _ -> true)
        let state =
            checkStart options data.Inputs.RowCount net.ParameterCount net.StateCount zeroStart (net.ParameterCount + net.StateCount) checkpoint
            |> Optimizer.roundState net.Precision
        // The checkpoint with flat models (early stopping's best; the start model only for the
        // reference backend: the kernels session loads the network itself, and `run` does not read it).
        let flat =
            { Checkpoint.map (fun (_: Network) -> Array.empty<float>) checkpoint with
                Model = (if backend = Backend.Kernels then Array.empty else ofNet net)
                Best = checkpoint.Best |> Option.map (fun b -> { Model = ofNet b.Model; ValidationLoss = b.ValidationLoss; Epoch = b.Epoch })
                OptimizerState = state }
        // A fresh run whose loss is already not finite at the initial parameters, before any step:
        // no step size is to blame, the data are too large for the network. It is reported as the
        // loss's own data check would (naming x or y).
        let initialLossBad (_: float) =
            let out = Network.outputIn "x" net data.Inputs
            Network.checkOutput "x" data.Inputs out
            let y = Precision.roundMatrix net.Precision data.Targets
            if not (Double.IsFinite (Loss.valueUnchecked loss out y)) then Loss.failOverflow "y" loss out y
        // With lazyCheck, the kernels may start on their cached conversion of x and confirm it
        // while they train (KernelSession); a run that finds x changed is made again without.
        // ShouldStop's answers to the dropped attempt (the false ones, then a true one or the
        // exception that ended it) are given again, in order, to the attempt made after it, without
        // asking the hook: so the hook is asked once per step in all, and a run it stopped (a
        // cancellation token stays set) or ended (its exception, the same object, is thrown again)
        // ends where it did, as a run on a copy of the changed data would.
        let falseAnswers, stopped, given = ref 0, ref false, ref 0
        let thrown : Runtime.ExceptionServices.ExceptionDispatchInfo option ref = ref None
        let recording =
            { hooks with
                ShouldStop = fun () ->
                    let answer =
                        try hooks.ShouldStop ()
                        with e ->
                            thrown.Value <- Some (Runtime.ExceptionServices.ExceptionDispatchInfo.Capture e)
                            reraise ()
                    if answer then stopped.Value <- true else falseAnswers.Value <- falseAnswers.Value + 1
                    answer }
        let replaying =
            { hooks with
                ShouldStop = fun () ->
                    if given.Value < falseAnswers.Value then
                        given.Value <- given.Value + 1
                        false
                    elif given.Value = falseAnswers.Value && (stopped.Value || thrown.Value.IsSome) then
                        given.Value <- given.Value + 1
                        match thrown.Value with
                        | Some e -> e.Throw(); true
                        | None -> true
                    else hooks.ShouldStop () }
        let attempt (lazyCheck: bool) =
            let session, snapshot, dataRecords =
                match backend with
                | Backend.Kernels ->
                    let full = (options.Batching = Batching.FullBatch)
                    // The returned network is built straight from the kernels' buffers.
                    // Room for the options' batches and for a checkpoint's pending ones (made with
                    // another batch size, they may be larger).
                    let pending = checkpoint.PendingBatches |> Array.fold (fun m p -> max m p.Length) 0
                    let cap = max (batchCap options.Batching data.Inputs.RowCount) pending
                    KernelSessions.create options.Optimizer options.Seed loss data net cap full None state lazyCheck
                | _ ->
                    // Fingerprinted before the session copies the data: the values it trains on.
                    let trained = records.Force()
                    let session = NetworkData.referenceSession options.Optimizer options.Seed loss data net flat.Model state
                    session, (fun () -> toNet net (session.Parameters())), (fun () -> trained)
            let hooks = if lazyCheck then recording else replaying
            try run options hooks session (toNet net >> box) initialLossBad snapshot (toNet net) checkpoint.Initial ofNet (dataRecords >> setupOf) flat
            finally session.Dispose()
        try attempt true
        with :? StaleDataException ->
            Restarts.Count <- Restarts.Count + 1
            attempt false

    /// Trains a network (not changed) on the data with a loss, with progress hooks (an epoch
    /// callback and a cancellation test), on `options.Backend`. Raises ArgumentException for bad
    /// options or data, or for a network with the step activation (no gradient; ParamName "net"),
    /// TrainingDivergedException (LastGood: the last finite Network) when training diverges. The trained network, the checkpoint's networks and the optimiser's
    /// buffers have the network's precision.
    let trainWith (hooks: TrainingHooks) (options: TrainingOptions) (loss: Loss) (data: TrainingData) (net: Network) : TrainingResult<Network> =
        Check.notNull "net" (box net)
        Check.notNull "options" (box options)
        Network.checkTrainable "net" net
        // A fresh optimiser state without buffers (resumeWith makes them, or the kernels start
        // them at zero).
        resumeWith hooks options loss data (Checkpoint.start options 0 net)

    /// `trainWith TrainingHooks.None`.
    let train options loss data net = trainWith TrainingHooks.None options loss data net

    /// `resumeWith TrainingHooks.None`.
    let resume options loss data checkpoint = resumeWith TrainingHooks.None options loss data checkpoint
