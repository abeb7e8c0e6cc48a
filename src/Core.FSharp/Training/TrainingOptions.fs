namespace Functional.NN

open System

/// The plateau stop (early stopping): training stops after `Patience` epochs in a row whose
/// monitored loss is not below the best so far by more than `MinDelta`. The monitored loss is the
/// validation loss when there is a validation set, and then the parameters of the best epoch are
/// returned whatever rule ended the run (Keras 3's EarlyStopping with restore_best_weights, which
/// restores them at the end of training); without one it is the epoch's training loss and the
/// last parameters are returned. The rule is Keras' in both cases (the best
/// moves only on an improvement of more than MinDelta), not scikit-learn's, whose best takes every
/// lower loss and which stops only after more than `n_iter_no_change` such epochs: on a flat loss
/// scikit-learn stops one epoch later, and on a loss falling by less than `tol` an epoch it stops
/// where this rule goes on as long as the fall adds up to more than MinDelta within Patience epochs.
type EarlyStopping =
    { /// Epochs without improvement before stopping (at least 1).
      Patience: int
      /// The improvement that counts: loss < best - MinDelta. The best epoch (the one restored) is
      /// the last that improved so (Keras' rule), with MinDelta > 0 not always the lowest loss.
      MinDelta: float }
    /// Patience 10, MinDelta 1e-4: the constants of scikit-learn's MLP defaults n_iter_no_change=10,
    /// tol=1e-4 (under Keras' rule, see above).
    static member Default = { Patience = 10; MinDelta = 1e-4 }
    /// A copy with another patience.
    member this.WithPatience(patience) = { this with Patience = patience }
    /// A copy with another minimum improvement.
    member this.WithMinDelta(minDelta) = { this with MinDelta = minDelta }

/// The data of a network run as its checkpoint records them: their shape and the fingerprints of
/// their values (`Layout.Fingerprint` of each matrix's values, column by column: the same values
/// give the same fingerprint on every machine, a change of any one value always changes it, and
/// other changes go unseen with a chance of about 2^-64).
type DataRecord =
    { /// The number of rows (samples).
      Rows: int
      /// The number of input columns.
      InputWidth: int
      /// The number of target columns.
      TargetWidth: int
      /// The fingerprint of the inputs' values.
      InputsFingerprint: uint64
      /// The fingerprint of the targets' values.
      TargetsFingerprint: uint64 }

/// What a network run trained on, as its checkpoint records it.
type NetworkSetup =
    { /// The loss.
      Loss: Loss
      /// The training data.
      Data: DataRecord
      /// The validation data, when the run had a validation set.
      Validation: DataRecord option }

/// How a run trained, as its checkpoint records it: what a resumed run must share with the run
/// that made the checkpoint to be its continuation (a resume that differs in any of it is refused;
/// `Checkpoint.withoutSetup` drops the record to change it deliberately). What is meant to change
/// between runs is not part of it: the epoch and step limits, the other stopping rules, the
/// history's options, the divergence factor and the backend.
type TrainingSetup =
    { /// The update rule with its constants, L2 weight decay and clipping.
      Optimizer: OptimizerSettings
      /// The step-size schedule.
      Schedule: Schedule
      /// The batching: its mode, batch size and sampling.
      Batching: Batching
      /// The seed (of the batches' generator and of dropout's masks).
      Seed: int64
      /// The number of training samples n.
      SampleCount: int
      /// Whether the run had a validation set (for a parameter vector: a validation function).
      HasValidation: bool
      /// A network run's loss and data (None for a parameter vector's `Objective`, a function whose
      /// data the trainer does not see).
      Network: NetworkSetup option }

/// The hyperparameters of a training run. Every stopping rule that is set is checked; the first
/// that fires stops training and is named in the result.
type TrainingOptions =
    { /// How each step's batch is drawn.
      Batching: Batching
      /// The step size eta_t.
      Schedule: Schedule
      /// The update rule, L2 weight decay and clipping.
      Optimizer: OptimizerSettings
      /// Seed of the generator that draws the batches (the run is a pure function of it).
      Seed: int64
      /// Stop after this many epochs (at least 1).
      MaxEpochs: int
      /// Stop after this many steps in all (0: no limit).
      MaxSteps: int
      /// The notes' rule: stop as soon as one step changes no parameter by tol or more,
      /// max_i |W_i(t+1) - W_i(t)| < tol, checked after every step (0: off).
      ParameterTolerance: float
      /// Stop at the end of an epoch whose training loss is at or below this (NaN: off). Any finite
      /// value is taken, a negative one for `Trainer.trainVector`, whose objective may be negative;
      /// the built-in losses are never negative, so for them a negative TargetLoss never fires.
      TargetLoss: float
      /// The plateau stop: on the validation loss when there is a validation set (the result then
      /// holds the best epoch's weights, whatever rule ended the run), on the training loss
      /// otherwise (None: off).
      EarlyStopping: EarlyStopping option
      /// Which implementation computes the steps (Auto: the kernels wherever they support the
      /// network, else the reference). The result says which ran.
      Backend: Backend
      /// The history's TrainLoss: false (the default) records the mean of the epoch's batch losses,
      /// each measured before its step, weighted by the batch sizes (free: the steps compute them);
      /// true records the exact loss of the whole training set at the end of the epoch (one more
      /// forward pass over the set per epoch).
      ExactEpochLoss: bool
      /// Whether each epoch records |grad|_2 on the whole training set (one more forward and
      /// backward pass over the set per epoch); when false the history's GradientNorm is NaN.
      RecordGradientNorm: bool
      /// Divergence beyond NaN and infinity (the growth rule): training stops with
      /// TrainingDivergedException when the epoch's loss so far - the sum of its batch losses so
      /// far, each times its batch size, divided by the number of samples n; at the end of the
      /// epoch its mean batch loss (the history's TrainLoss) - exceeds
      /// DivergenceFactor * max(L0, 1), L0 the loss of the whole training set at the initial
      /// parameters (one pass over the set, made only when the epoch's loss so far first passes
      /// DivergenceFactor, the least the bound can be, so a run whose loss stays below it makes
      /// none; a checkpoint keeps L0 once measured, and the initial parameters until then, so a
      /// resumed run measures the same L0). It is
      /// checked after every step; the parameters the last step made, which no later step measures,
      /// are checked before they are returned, their loss (the whole set's with ExactEpochLoss, else
      /// that of the last step's batch measured again: one forward pass over it) counted as an
      /// epoch's first batch loss. Single batch losses are not compared: with small batches they
      /// legitimately differ by far more than any factor (one sample's loss may be n times the
      /// mean). While the parameters stay where they started, an epoch's batches are part of the
      /// set, so for a loss that is never negative the sum is at most n * L0 and the rule cannot
      /// fire (with replacement only if one sample is drawn more than DivergenceFactor times in
      /// an epoch); a loss that really grows reaches the bound within the epoch it passes it.
      /// 0 turns the rule off; otherwise it must be a finite number above 1 (training raises
      /// ArgumentOutOfRangeException naming DivergenceFactor for anything else: a factor of at
      /// most 1 would stop a falling loss).
      DivergenceFactor: float }
    /// The one set of defaults, used alone, by the pipeline, the C# facade and the CLI (none of
    /// them copies a value). Chosen so that standardised data do not diverge; where each value
    /// comes from:
    /// - Adam (beta1 0.9, beta2 0.999, eps 1e-8) at a constant step 1e-3: the defaults of
    ///   scikit-learn's MLPClassifier/MLPRegressor (solver='adam', learning_rate_init=0.001,
    ///   epsilon=1e-8) and torch.optim.Adam (lr=1e-3, eps=1e-8); Keras' Adam shares the step and
    ///   the betas, but its epsilon is 1e-7.
    /// - Minibatches of 32 drawn without replacement: Keras' fit batch_size=32 (scikit-learn uses
    ///   min(200, n)); every sample once per epoch, as both do.
    /// - At most 200 epochs: scikit-learn's max_iter=200.
    /// - The plateau stop EarlyStopping.Default (patience 10, min delta 1e-4): scikit-learn's
    ///   constants n_iter_no_change=10 and tol=1e-4 under Keras' rule (see EarlyStopping), on the
    ///   validation loss when there is a validation set
    ///   (returning the best epoch's weights), on the training loss otherwise.
    /// - No weight decay or clipping (Keras and PyTorch; scikit-learn's alpha=1e-4 L2 is left out),
    ///   seed 0, the divergence guard at 1e4 times the starting loss.
    /// The notes' plain gradient descent is one call away: `TrainingOptions.GradientDescent(rate, epochs)`.
    static member Default =
        { Batching = Batching.MiniBatch(32, Sampling.WithoutReplacement)
          Schedule = Schedule.Constant 1e-3
          Optimizer = { OptimizerSettings.Default with Optimizer = Optimizer.Adam(0.9, 0.999, 1e-8) }
          Seed = 0L
          MaxEpochs = 200
          MaxSteps = 0
          ParameterTolerance = 0.0
          TargetLoss = Double.NaN
          EarlyStopping = Some EarlyStopping.Default
          Backend = Backend.Auto
          ExactEpochLoss = false
          RecordGradientNorm = false
          DivergenceFactor = 1e4 }
    /// The notes' plain gradient descent: full batch, constant step `rate`, plain SGD (no momentum,
    /// decay or clipping), `epochs` steps and no plateau stop; the other fields as in Default.
    static member GradientDescent(rate: float, epochs: int) =
        { TrainingOptions.Default with
            Batching = Batching.FullBatch
            Schedule = Schedule.Constant rate
            Optimizer = OptimizerSettings.Default
            MaxEpochs = epochs
            EarlyStopping = None }
    /// A copy with other batching.
    member this.WithBatching(batching) = { this with Batching = batching }
    /// A copy with another schedule.
    member this.WithSchedule(schedule) = { this with Schedule = schedule }
    /// A copy with another update rule (decay and clipping kept).
    member this.WithOptimizer(optimizer) = { this with Optimizer = { this.Optimizer with Optimizer = optimizer } }
    /// A copy with other optimiser settings.
    member this.WithOptimizerSettings(settings) = { this with Optimizer = settings }
    /// A copy with another seed.
    member this.WithSeed(seed) = { this with Seed = seed }
    /// A copy with another epoch limit.
    member this.WithMaxEpochs(epochs) = { this with MaxEpochs = epochs }
    /// A copy with another step limit (0: none).
    member this.WithMaxSteps(steps) = { this with MaxSteps = steps }
    /// A copy with the notes' parameter-change tolerance (0: off).
    member this.WithParameterTolerance(tol) = { this with ParameterTolerance = tol }
    /// A copy with a target loss (NaN: off).
    member this.WithTargetLoss(loss) = { this with TargetLoss = loss }
    /// A copy with early stopping (the plateau stop).
    member this.WithEarlyStopping(early: EarlyStopping) = { this with EarlyStopping = Some early }
    /// A copy without the plateau stop: training runs until another rule fires (MaxEpochs at the latest).
    member this.WithoutEarlyStopping() = { this with EarlyStopping = None }
    /// A copy with another backend.
    member this.WithBackend(backend) = { this with Backend = backend }
    /// A copy that records the exact training loss of each epoch (or the mean of its batch losses).
    member this.WithExactEpochLoss(exact) = { this with ExactEpochLoss = exact }
    /// A copy that records (or not) each epoch's full gradient norm.
    member this.WithGradientNorm(record) = { this with RecordGradientNorm = record }
    /// A copy with another divergence factor (0: off).
    member this.WithDivergenceFactor(factor) = { this with DivergenceFactor = factor }

/// The rule that ended a training run.
type StopReason =
    /// The epoch limit was reached.
    | MaxEpochs = 0
    /// The step limit was reached.
    | MaxSteps = 1
    /// The notes' rule: one step moved no parameter by the tolerance or more.
    | ParameterTolerance = 2
    /// The training loss reached the target.
    | TargetLoss = 3
    /// The monitored loss stopped improving for `Patience` epochs: the validation loss or, without
    /// a validation set, the training loss. (Which weights the result holds does not depend on the
    /// rule that stopped the run: see `TrainingResult.BestEpoch`.)
    | EarlyStopping = 4
    /// Cancellation was requested; the result holds what was trained so far (under the plateau
    /// stop watching a validation loss, the best epoch's weights so far; the checkpoint the last).
    | Cancelled = 5

/// One epoch of the training history. TrainLoss is the mean of the epoch's batch losses (each
/// measured before its step, weighted by batch size), or with `ExactEpochLoss` the loss of the
/// whole training set with the weights at the end of the epoch. The validation columns are
/// measured with the weights at the end of the epoch.
type EpochRecord =
    { /// The epoch, from 1.
      Epoch: int
      /// Steps taken in all at the end of the epoch.
      Step: int
      /// The training loss of the epoch (see the type's summary and `ExactEpochLoss`).
      TrainLoss: float
      /// The loss on the validation set (None without one).
      ValidationLoss: float option
      /// The validation metric (accuracy for classification losses, RMSE otherwise; None
      /// without a validation set).
      ValidationMetric: float option
      /// eta_t of the epoch's last step.
      StepSize: float
      /// |grad|_2 of the training loss over the whole training set at the end of the epoch, when
      /// `RecordGradientNorm` is set; NaN otherwise.
      GradientNorm: float
      /// Wall time since training started (summed over resumed runs).
      Elapsed: TimeSpan }

/// The best parameters seen by the plateau stop (early stopping).
type BestSoFar<'Model> =
    { /// The parameters at the end of the best epoch.
      Model: 'Model
      /// The loss it watched: the validation loss, or without a validation set the epoch's
      /// training loss.
      ValidationLoss: float
      /// The epoch.
      Epoch: int }

/// Everything needed to continue training exactly where it stopped: resuming from a checkpoint
/// with the same options and data gives, bit for bit, what an uninterrupted run gives. It holds
/// only plain values (parameters, arrays, counters, the generator's four words, the setup it was
/// trained with), so it can be saved.
type Checkpoint<'Model> =
    { /// The parameters after the last step.
      Model: 'Model
      /// The optimiser's buffers and update count.
      OptimizerState: OptimizerState
      /// The batching generator, as it stands after the last draw.
      Rng: Rng
      /// Steps taken in all.
      Step: int
      /// Epochs completed.
      Epoch: int
      /// The batches of the current epoch not yet used (empty at an epoch boundary).
      PendingBatches: int[][]
      /// The history so far, oldest first.
      History: EpochRecord list
      /// Early stopping's best parameters (None before the first validated epoch).
      Best: BestSoFar<'Model> option
      /// Early stopping's count of epochs without improvement.
      EpochsWithoutImprovement: int
      /// Wall time spent so far.
      Elapsed: TimeSpan
      /// The current epoch's completed batches: the sum of their losses times their sizes
      /// (0 at an epoch boundary), for the epoch's mean batch loss.
      EpochLossSum: float
      /// The current epoch's completed batches: the number of samples they held.
      EpochSamples: int
      /// The divergence rule's L0, the whole set's loss at the run's initial parameters (NaN
      /// until the rule first needs it; see `DivergenceFactor`).
      LossBaseline: float
      /// The parameters the first run started from, carried through every resume (a reference,
      /// not a copy): where the growth rule measures L0 when it first needs it, so that a resumed
      /// run measures the L0 an uninterrupted run would.
      Initial: 'Model
      /// How the run that made the checkpoint trained: a resume whose options, loss or data differ
      /// from it is refused (ArgumentException, ParamName "checkpoint"). None for a run's start
      /// (`Checkpoint.start`), a checkpoint file from before the record, or a checkpoint whose
      /// record was dropped (`Checkpoint.withoutSetup`): resuming it is not checked.
      TrainedWith: TrainingSetup option }

/// What a training run returns.
type TrainingResult<'Model> =
    { /// The trained parameters: the best epoch's under the plateau stop watching a validation loss
      /// (whatever rule ended the run; `BestEpoch` names it), else the last.
      Model: 'Model
      /// The rule that stopped training.
      StopReason: StopReason
      /// The training loss: with `ExactEpochLoss`, the loss of `Model` on the whole training set;
      /// else the figure of the batch losses (the last epoch's TrainLoss, the returned best
      /// epoch's, or for a run stopped inside an epoch the mean of that epoch's batch losses),
      /// each measured before its step, so not the loss of `Model` itself (with full batches, the
      /// loss of the model before the last step).
      TrainLoss: float
      /// The epoch whose weights `Model` holds when the plateau stop watched a validation loss,
      /// whatever rule ended the run (the plateau stop itself, the epoch or step limit, the target
      /// loss, the parameter tolerance or a cancellation), as Keras 3's EarlyStopping with
      /// restore_best_weights restores them at the end of training: the best epoch, the last one
      /// whose validation loss beat the best before it by more than `MinDelta` (it may be the last
      /// epoch). None when `Model` is the last weights: without the plateau stop, without a
      /// validation set, or before the first epoch ended.
      BestEpoch: int option
      /// One record per completed epoch, oldest first.
      History: EpochRecord list
      /// Steps taken in all.
      Steps: int
      /// Epochs completed.
      Epochs: int
      /// The state to resume from (its Model is the last parameters, not the returned best).
      Checkpoint: Checkpoint<'Model>
      /// The backend that computed the run (Reference or Kernels).
      Backend: Backend }

/// Progress reporting and cancellation for a training run (not saved; not part of the options).
type TrainingHooks =
    { /// Called after every epoch with its record.
      OnEpoch: EpochRecord -> unit
      /// Asked before every step; when it returns true training stops and returns what it has.
      /// (Once per step also when a run on the kernels finds, before its first epoch's record, that
      /// its inputs were changed in place since the copy it started on was made, and is made
      /// again: the answers the dropped run got are given again to the new one.)
      ShouldStop: unit -> bool }
    /// No reporting, never stops early.
    static member None = { OnEpoch = ignore; ShouldStop = fun () -> false }
    /// Hooks from a callback and a CancellationToken.
    static member Of(onEpoch: EpochRecord -> unit, token: Threading.CancellationToken) =
        { OnEpoch = onEpoch; ShouldStop = fun () -> token.IsCancellationRequested }

/// A model the trainer can fit, as a flat parameter vector: n samples and, for a batch of sample
/// indices, the mean loss over the batch and its gradient with respect to the parameters.
/// (The linear models and the networks both reduce to this.)
type Objective =
    { /// The number of training samples n.
      SampleCount: int
      /// (theta, batch indices) -> (mean loss over the batch, gradient). Must not change theta.
      LossAndGradient: float[] -> int[] -> float * float[]
      /// theta -> (validation loss, validation metric), when there is a validation set.
      Validation: (float[] -> float * float) option }
