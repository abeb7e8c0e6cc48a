using Microsoft.FSharp.Core;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>Trains networks, or any model given as a parameter vector and a batch loss-and-gradient
/// function, with the batching, schedule, optimiser and stopping rules of <see cref="TrainingOptions"/>.
/// Runs are pure functions of the options' seed: the same inputs give bit-identical weights.</summary>
/// <example><code>
/// var result = Trainer.Train(net, x, y, Loss.SoftmaxCrossEntropy,
///     new TrainingOptions { Optimizer = Optimizer.Adam(), Schedule = Schedule.Constant(0.003), Batching = Batching.MiniBatch(16) });
/// </code></example>
public static class Trainer
{
    /// <summary>Trains <paramref name="network"/> (not changed) on (x, y).</summary>
    /// <param name="network">The starting network.</param>
    /// <param name="x">Inputs, one sample per row.</param>
    /// <param name="y">Targets, one sample per row.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="options">Hyperparameters; null for the defaults.</param>
    /// <param name="validationX">Validation inputs (for the history and early stopping), or null.</param>
    /// <param name="validationY">Validation targets, or null.</param>
    /// <param name="progress">Receives each epoch's record as it ends, or null.</param>
    /// <param name="cancellationToken">Stops training before the next step; the result holds what was trained.</param>
    /// <exception cref="ArgumentException">Bad data or options (ParamName names them), or a network with the step
    /// activation, which has no gradient (ParamName network).</exception>
    /// <exception cref="TrainingDivergedException{TModel}">The loss or a weight became NaN or infinite, or the loss grew past
    /// <see cref="TrainingOptions.DivergenceFactor"/> times its start (TModel is
    /// <see cref="Network"/>); LastGood is the last finite network.</exception>
    public static TrainingResult<Network> Train(Network network, double[,] x, double[,] y, Loss loss,
        TrainingOptions? options = null, double[,]? validationX = null, double[,]? validationY = null,
        IProgress<EpochRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        // The core's trainWith check (RunNetwork resumes from a start, which would name the checkpoint).
        Errors.Run(() => FN.NetworkModule.checkTrainable("net", network.Core));
        var o = (options ?? new TrainingOptions()).ToCore();
        var start = FN.Checkpoint.start(o, network.ParameterCount, network.Core);
        return RunNetwork(start, x, y, loss, o, validationX, validationY, progress, cancellationToken);
    }

    /// <summary><see cref="Train"/> on a thread-pool thread: the same result, bit for bit. A token already cancelled
    /// (or cancelled before the task starts) gives a cancelled task (<see cref="TaskCanceledException"/> on await) and
    /// trains nothing; once training runs, cancelling stops it before the next step and the task completes with what
    /// was trained (StopReason Cancelled), as <see cref="Train"/> does.</summary>
    /// <param name="network">The starting network.</param>
    /// <param name="x">Inputs, one sample per row.</param>
    /// <param name="y">Targets, one sample per row.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="options">Hyperparameters; null for the defaults.</param>
    /// <param name="validationX">Validation inputs, or null.</param>
    /// <param name="validationY">Validation targets, or null.</param>
    /// <param name="progress">Receives each epoch's record as it ends, or null.</param>
    /// <param name="cancellationToken">Stops training before the next step.</param>
    public static Task<TrainingResult<Network>> TrainAsync(Network network, double[,] x, double[,] y, Loss loss,
        TrainingOptions? options = null, double[,]? validationX = null, double[,]? validationY = null,
        IProgress<EpochRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        // As Pipeline.FitAsync: a token cancelled before the work starts gives a cancelled task; later, the network trained so far.
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<TrainingResult<Network>>(cancellationToken);
        return Task.Run(() => Train(network, x, y, loss, options, validationX, validationY, progress, cancellationToken), cancellationToken);
    }

    /// <summary>Continues training from a checkpoint; with the options and data of the interrupted run,
    /// bit-identical to a run never interrupted. Raise MaxEpochs (or MaxSteps) to train further. The checkpoint records
    /// how it was trained (optimiser with its constants, weight decay, clip norm, schedule, batching, seed, loss, the
    /// training and validation data's shapes and values by fingerprint), and a resume that differs in any of it is
    /// refused; the limits, the other stopping rules, the history's options, the divergence factor and the backend may
    /// change. To change the rest deliberately, resume from <see cref="TrainingCheckpoint{TModel}.WithoutSetup"/>.
    /// A checkpoint file from before the record is resumed unchecked, as before.</summary>
    /// <param name="checkpoint">A result's <see cref="TrainingResult{TModel}.Checkpoint"/>.</param>
    /// <param name="x">Inputs, one sample per row.</param>
    /// <param name="y">Targets, one sample per row.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="options">Hyperparameters; null for the defaults.</param>
    /// <param name="validationX">Validation inputs, or null.</param>
    /// <param name="validationY">Validation targets, or null.</param>
    /// <param name="progress">Receives each epoch's record, or null.</param>
    /// <param name="cancellationToken">Stops training before the next step.</param>
    /// <exception cref="ArgumentException">Bad data or options; or (ParamName checkpoint) options, loss or data other than
    /// those the checkpoint was trained with, each difference named with both values, or a network with the step
    /// activation, which has no gradient.</exception>
    public static TrainingResult<Network> Resume(TrainingCheckpoint<Network> checkpoint, double[,] x, double[,] y, Loss loss,
        TrainingOptions? options = null, double[,]? validationX = null, double[,]? validationY = null,
        IProgress<EpochRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var o = (options ?? new TrainingOptions()).ToCore();
        return RunNetwork((FN.Checkpoint<FN.Network>)checkpoint.Core, x, y, loss, o, validationX, validationY, progress, cancellationToken);
    }

    /// <summary>Trains a parameter vector: any model whose mean loss over a batch of sample indices, and its
    /// gradient, <paramref name="lossAndGradient"/> computes (linear regression, margin classifiers, ...).</summary>
    /// <param name="parameters">The starting parameters (not changed).</param>
    /// <param name="sampleCount">The number of training samples n; batches hold indices 0 .. n-1.</param>
    /// <param name="lossAndGradient">(parameters, batch indices) to the batch's mean loss and gradient. It must not change its arguments.</param>
    /// <param name="options">Hyperparameters; null for the defaults.</param>
    /// <param name="progress">Receives each epoch's record, or null.</param>
    /// <param name="cancellationToken">Stops training before the next step.</param>
    /// <exception cref="TrainingDivergedException{TModel}">The loss or a parameter became NaN or infinite, or the loss grew past
    /// <see cref="TrainingOptions.DivergenceFactor"/> times its start (TModel is double[]); LastGood is the last finite parameters.</exception>
    public static TrainingResult<double[]> TrainVector(double[] parameters, int sampleCount,
        Func<double[], int[], BatchLossAndGradient> lossAndGradient, TrainingOptions? options = null,
        IProgress<EpochRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(lossAndGradient);
        var o = (options ?? new TrainingOptions()).ToCore();
        var result = Errors.Run(() => FN.Trainer.trainVectorWith(Hooks(progress, cancellationToken), o, Objective(sampleCount, lossAndGradient), parameters));
        return VectorResult(result);
    }

    /// <summary>Continues training a parameter vector from a checkpoint, bit-identically. As <see cref="Resume"/>, a
    /// checkpoint that records how it was trained is resumed only with the same optimiser, weight decay, clip norm,
    /// schedule, batching, seed and sampleCount (ArgumentException, ParamName checkpoint, otherwise); the function
    /// itself cannot be compared.</summary>
    /// <param name="checkpoint">A result's checkpoint.</param>
    /// <param name="sampleCount">The number of training samples n.</param>
    /// <param name="lossAndGradient">The batch objective of the interrupted run.</param>
    /// <param name="options">Hyperparameters; null for the defaults.</param>
    /// <param name="progress">Receives each epoch's record, or null.</param>
    /// <param name="cancellationToken">Stops training before the next step.</param>
    public static TrainingResult<double[]> ResumeVector(TrainingCheckpoint<double[]> checkpoint, int sampleCount,
        Func<double[], int[], BatchLossAndGradient> lossAndGradient, TrainingOptions? options = null,
        IProgress<EpochRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(lossAndGradient);
        var o = (options ?? new TrainingOptions()).ToCore();
        var result = Errors.Run(() => FN.Trainer.resumeVectorWith(Hooks(progress, cancellationToken), o, Objective(sampleCount, lossAndGradient), (FN.Checkpoint<double[]>)checkpoint.Core));
        return VectorResult(result);
    }

    private static TrainingResult<Network> RunNetwork(FN.Checkpoint<FN.Network> start, double[,] x, double[,] y, Loss loss, FN.TrainingOptions o,
        double[,]? validationX, double[,]? validationY, IProgress<EpochRecord>? progress, CancellationToken token)
    {
        var data = FN.TrainingData.Of(Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y)));
        if ((validationX is null) != (validationY is null))
            throw new ArgumentException("Give both validationX and validationY, or neither.", validationX is null ? nameof(validationX) : nameof(validationY));
        if (validationX is not null)
            data = data.WithValidation(Interop.ToMatrix(validationX, nameof(validationX)), Interop.ToMatrix(validationY!, nameof(validationY)));
        // The core's errors as the facade's: TrainingDivergedException<Network> carries the facade's Network.
        var r = Errors.Run(() => FN.Trainer.resumeWith(Hooks(progress, token), o, loss.ToCore(), data, start),
            new[] { ("validationInputs", nameof(validationX)), ("validationTargets", nameof(validationY)) },
            new[]
            {
                ("validationInputs", nameof(validationX)), ("validationTargets", nameof(validationY)),
                // A checkpoint's record compared with this run's validation set ("...; the validation inputs have 12.").
                ("the validation inputs have", nameof(validationX) + " has"), ("the validation targets have", nameof(validationY) + " has"),
            });
        var c = r.Checkpoint;
        return new TrainingResult<Network>(new Network(r.Model), r.StopReason, r.TrainLoss, r.History, r.Steps, r.Epochs, Interop.ValueOrNull(r.BestEpoch),
            Checkpoints.FromCore(c), r.Backend);
    }

    private static TrainingResult<double[]> VectorResult(FN.TrainingResult<double[]> r)
    {
        var c = r.Checkpoint;
        return new TrainingResult<double[]>((double[])r.Model.Clone(), r.StopReason, r.TrainLoss, r.History, r.Steps, r.Epochs, Interop.ValueOrNull(r.BestEpoch),
            Checkpoints.FromCore(c), r.Backend);
    }

    private static FN.Objective Objective(int sampleCount, Func<double[], int[], BatchLossAndGradient> f)
    {
        if (sampleCount <= 0) throw new ArgumentOutOfRangeException(nameof(sampleCount), sampleCount, "sampleCount must be positive.");
        var curried = FuncConvert.FromFunc<double[], int[], Tuple<double, double[]>>((theta, batch) =>
        {
            var g = Errors.Caller(() => f((double[])theta.Clone(), (int[])batch.Clone()));
            var gradient = g.Gradient ?? throw new InvalidOperationException("lossAndGradient returned a null gradient.");
            if (gradient.Length != theta.Length)
                throw new InvalidOperationException($"lossAndGradient returned a gradient of length {gradient.Length} for {theta.Length} parameters.");
            return Tuple.Create(g.Loss, gradient);
        });
        return new FN.Objective(sampleCount, curried, FSharpOption<FSharpFunc<double[], Tuple<double, double>>>.None);
    }

    private static FN.TrainingHooks Hooks(IProgress<EpochRecord>? progress, CancellationToken token) =>
        new(FuncConvert.FromAction<FN.EpochRecord>(r => Errors.Caller(() => progress?.Report(EpochRecord.FromCore(r)))),
            FuncConvert.FromFunc(() => token.IsCancellationRequested));
}
