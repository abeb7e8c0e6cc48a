using System.Globalization;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>The rule that ended a training run.</summary>
public enum StopReason
{
    /// <summary>The epoch limit was reached.</summary>
    MaxEpochs,
    /// <summary>The step limit was reached.</summary>
    MaxSteps,
    /// <summary>The notes' rule: one step moved no parameter by the tolerance or more.</summary>
    ParameterTolerance,
    /// <summary>The training loss reached the target.</summary>
    TargetLoss,
    /// <summary>The plateau stop: the monitored loss did not improve by <see cref="TrainingOptions.EarlyStoppingMinDelta"/>
    /// for <see cref="TrainingOptions.EarlyStoppingPatience"/> epochs in a row, watching the validation loss with
    /// validation data, else the training loss. (Which weights the result holds does not depend on the rule that stopped
    /// the run: see <see cref="TrainingResult{TModel}.BestEpoch"/>.)</summary>
    EarlyStopping,
    /// <summary>Cancellation was requested; the result holds what was trained so far: under the plateau stop watching a
    /// validation loss (<see cref="TrainingOptions.EarlyStoppingPatience"/> set, validation data given), the best epoch's
    /// weights so far (restored, see <see cref="TrainingResult{TModel}.BestEpoch"/>), else the last weights; the
    /// checkpoint holds the last weights either way.</summary>
    Cancelled,
}

/// <summary>One epoch of the training history.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Step">Steps taken in all at the end of the epoch.</param>
/// <param name="TrainLoss">The mean of the epoch's batch losses (each before its step, weighted by batch size), or with
/// <see cref="TrainingOptions.ExactEpochLoss"/> the loss on the whole training set at the epoch's end.</param>
/// <param name="ValidationLoss">The validation loss, or null without validation data.</param>
/// <param name="ValidationMetric">Accuracy for classification losses, RMSE otherwise; null without validation data.</param>
/// <param name="StepSize">eta_t of the epoch's last step.</param>
/// <param name="GradientNorm">The Euclidean norm of the full training-set gradient at the epoch's end, with
/// <see cref="TrainingOptions.RecordGradientNorm"/>; NaN otherwise.</param>
/// <param name="Elapsed">Wall time since training started.</param>
public sealed record EpochRecord(int Epoch, int Step, double TrainLoss, double? ValidationLoss, double? ValidationMetric,
    double StepSize, double GradientNorm, TimeSpan Elapsed)
{
    internal static EpochRecord FromCore(FN.EpochRecord r) =>
        new(r.Epoch, r.Step, r.TrainLoss,
            r.ValidationLoss is null ? null : r.ValidationLoss.Value,
            r.ValidationMetric is null ? null : r.ValidationMetric.Value,
            r.StepSize, r.GradientNorm, r.Elapsed);
}

/// <summary>The loss of a batch and its gradient, as a parameter-vector objective returns them.</summary>
/// <param name="Loss">The mean loss over the batch.</param>
/// <param name="Gradient">Its gradient with respect to the parameters (same length as them).</param>
public readonly record struct BatchLossAndGradient(double Loss, double[] Gradient);

/// <summary>The state to resume training from: parameters, optimiser buffers, generator, step, epoch,
/// history, and how it was trained (the optimiser, schedule, batching, seed, loss and data). Resuming with the same
/// options and data is bit-identical to training never interrupted; resuming with others is refused (see
/// <see cref="Trainer.Resume"/>) unless the record is dropped with <see cref="WithoutSetup"/>. A network's checkpoint can
/// be saved to a file (<see cref="ModelFile.SaveCheckpoint"/>); a parameter vector's (<see cref="Trainer.TrainVector"/>,
/// <see cref="Trainer.ResumeVector"/>) cannot, and lives in memory only.</summary>
/// <typeparam name="TModel"><see cref="Network"/> or double[] (a parameter vector).</typeparam>
public sealed class TrainingCheckpoint<TModel>
{
    internal TrainingCheckpoint(object core, TModel model, int step, int epoch, int? bestEpoch, IEnumerable<FN.EpochRecord> history)
    {
        Core = core;
        Model = model;
        Step = step;
        Epoch = epoch;
        BestEpoch = bestEpoch;
        History = history.Select(EpochRecord.FromCore).ToArray();
    }

    internal object Core { get; }

    /// <summary>The parameters after the last step.</summary>
    public TModel Model { get; }

    /// <summary>Steps taken in all.</summary>
    public int Step { get; }

    /// <summary>Epochs completed.</summary>
    public int Epoch { get; }

    /// <summary>The epoch whose weights the plateau stop keeps as the best so far (the ones a run restores at its end,
    /// whatever rule ends it, when the plateau stop watches a validation loss, in this run or in a resumed one); null without
    /// <see cref="TrainingOptions.EarlyStoppingPatience"/> or before the first epoch ended.</summary>
    public int? BestEpoch { get; }

    /// <summary>The history so far, one record per completed epoch, oldest first (carried on by a resumed run).</summary>
    public IReadOnlyList<EpochRecord> History { get; }

    /// <summary>True when the checkpoint records how it was trained, so that a resume with other settings is refused;
    /// false for a checkpoint file from before the record and for one from <see cref="WithoutSetup"/>.</summary>
    public bool RecordsSetup => Core switch
    {
        FN.Checkpoint<FN.Network> c => c.TrainedWith is not null,
        FN.Checkpoint<double[]> c => c.TrainedWith is not null,
        _ => false,
    };

    /// <summary>The same checkpoint without its record of how it was trained: resuming it accepts other options, loss
    /// and data, to change them deliberately (fine-tuning on other data, another schedule or batch size). The resumed
    /// run continues from the checkpoint's weights, optimiser state, generator and pending batches under the new
    /// settings, and its own checkpoint records them. This checkpoint is not changed. A checkpoint taken mid-epoch still
    /// holds that epoch's remaining batches as row indices of the data it was taken on, and the resume runs them first (on
    /// other data, the rows of those numbers; data with fewer rows than an index are refused): to go on with other data,
    /// finish that epoch on the old data (resume with them and <see cref="TrainingOptions.MaxEpochs"/> =
    /// <see cref="Epoch"/> + 1), then call WithoutSetup on that run's checkpoint.</summary>
    public TrainingCheckpoint<TModel> WithoutSetup() => Core switch
    {
        FN.Checkpoint<FN.Network> c => (TrainingCheckpoint<TModel>)(object)Checkpoints.FromCore(FN.Checkpoint.withoutSetup(c)),
        FN.Checkpoint<double[]> c => (TrainingCheckpoint<TModel>)(object)Checkpoints.FromCore(FN.Checkpoint.withoutSetup(c)),
        _ => throw new InvalidOperationException("A checkpoint of an unknown kind."),
    };
}

internal static class Checkpoints
{
    internal static TrainingCheckpoint<Network> FromCore(FN.Checkpoint<FN.Network> c) =>
        new(c, new Network(c.Model), c.Step, c.Epoch, c.Best is null ? null : c.Best.Value.Epoch, c.History);

    internal static TrainingCheckpoint<double[]> FromCore(FN.Checkpoint<double[]> c) =>
        new(c, (double[])c.Model.Clone(), c.Step, c.Epoch, c.Best is null ? null : c.Best.Value.Epoch, c.History);
}

/// <summary>What a training run returns.</summary>
/// <typeparam name="TModel"><see cref="Network"/> or double[] (a parameter vector).</typeparam>
public sealed class TrainingResult<TModel>
{
    internal TrainingResult(TModel model, FN.StopReason reason, double trainLoss, IEnumerable<FN.EpochRecord> history, int steps, int epochs, int? bestEpoch,
        TrainingCheckpoint<TModel> checkpoint, FN.Backend backend)
    {
        BestEpoch = bestEpoch;
        Backend = EnumInterop.FromCore(backend);
        Model = model;
        StopReason = (StopReason)(int)reason;
        TrainLoss = trainLoss;
        History = history.Select(EpochRecord.FromCore).ToArray();
        Steps = steps;
        Epochs = epochs;
        Checkpoint = checkpoint;
    }

    /// <summary>The trained parameters: the best epoch's under the plateau stop watching a validation loss, whatever
    /// rule ended the run (<see cref="BestEpoch"/> names it), else the last.</summary>
    public TModel Model { get; }

    /// <summary>The rule that stopped training.</summary>
    public StopReason StopReason { get; }

    /// <summary>The training loss. With <see cref="TrainingOptions.ExactEpochLoss"/> it is the loss of
    /// <see cref="Model"/> on the whole training set. With the default (false) it is the batch losses' figure, no extra
    /// pass over the data: the mean of the last epoch's batch losses, each measured before its step and weighted by its
    /// batch size (the last <see cref="EpochRecord.TrainLoss"/>; the best epoch's when the plateau stop restored it; for
    /// a run stopped inside an epoch the mean of that epoch's batch losses so far), which is not the loss of
    /// <see cref="Model"/> itself (the weights moved during the epoch; with full batches it is the loss of the model
    /// before the last step).</summary>
    public double TrainLoss { get; }

    /// <summary>One record per completed epoch, oldest first.</summary>
    public IReadOnlyList<EpochRecord> History { get; }

    /// <summary>The epoch whose weights <see cref="Model"/> holds when the plateau stop watched a validation loss
    /// (<see cref="TrainingOptions.EarlyStoppingPatience"/> set, validation data given), whatever rule ended the run
    /// (any <see cref="FunctionalNN.StopReason"/>: the plateau stop, the epoch or step limit, the target loss, the
    /// parameter tolerance or a cancellation), as Keras 3's EarlyStopping with restore_best_weights restores them at the
    /// end of training: the best epoch, which is the last epoch whose validation loss beat the best before it by more
    /// than <see cref="TrainingOptions.EarlyStoppingMinDelta"/> (it may be the last epoch; with a MinDelta above 0 not
    /// always the lowest validation loss of <see cref="History"/>). Null when <see cref="Model"/> is the last weights
    /// (no plateau stop, no validation data, or no epoch ended).</summary>
    public int? BestEpoch { get; }

    /// <summary>Steps taken in all.</summary>
    public int Steps { get; }

    /// <summary>Epochs completed.</summary>
    public int Epochs { get; }

    /// <summary>The state to resume from (its model is the last parameters, not the returned best).</summary>
    public TrainingCheckpoint<TModel> Checkpoint { get; }

    /// <summary>The backend that computed the run (<see cref="FunctionalNN.Backend.Reference"/> or <see cref="FunctionalNN.Backend.Kernels"/>).</summary>
    public Backend Backend { get; }

    /// <summary>A one-line summary, culture-invariant: the stop reason, epochs and steps, the backend, then the figures of
    /// <see cref="Model"/>: its training loss (<see cref="TrainLoss"/>) and, with validation data, its epoch's validation
    /// loss and metric: the last epoch's, or when the plateau stop restored one, "best epoch k restored" and that epoch's.</summary>
    public override string ToString() =>
        ResultText.Summary("TrainingResult", StopReason, Epochs, Steps, null, Backend, TrainLoss, BestEpoch, History);
}

/// <summary>The one-line summaries of the training results.</summary>
internal static class ResultText
{
    private static string N(double v) => v.ToString("G6", CultureInfo.InvariantCulture).Replace('E', 'e');

    private static string Count(int n, string one, string many) => n.ToString(CultureInfo.InvariantCulture) + " " + (n == 1 ? one : many);

    /// <summary>"{what}: stopped by {reason} after {epochs} ({steps}) [in {seconds} s] on the {backend} backend; [best
    /// epoch {k} restored: ]training loss {loss}[; validation loss {v}, metric {m}]" (a comma before "validation" after
    /// "restored"): the loss is the returned model's, the
    /// validation figures its epoch's (the restored epoch's record, else the last).</summary>
    internal static string Summary(string what, StopReason reason, int epochs, int steps, double? seconds, Backend backend,
        double trainLoss, int? bestEpoch, IReadOnlyList<EpochRecord> history)
    {
        var text = $"{what}: stopped by {reason} after {Count(epochs, "epoch", "epochs")} ({Count(steps, "step", "steps")})"
            + (seconds is { } s ? $" in {N(s)} s" : "")
            + $" on the {backend} backend; "
            + (bestEpoch is { } k ? $"best epoch {k.ToString(CultureInfo.InvariantCulture)} restored: " : "")
            + $"training loss {N(trainLoss)}";
        var record = bestEpoch is { } b ? history.FirstOrDefault(h => h.Epoch == b) : history.Count > 0 ? history[^1] : null;
        if (record is { ValidationLoss: { } vl })
            text += (bestEpoch is null ? "; " : ", ") + $"validation loss {N(vl)}" + (record.ValidationMetric is { } m ? $", metric {N(m)}" : "");
        return text;
    }
}
