using Microsoft.FSharp.Core;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>How a pipeline's hidden layers are normalised (<see cref="PipelineOptions.Normalization"/>).</summary>
public enum Normalization
{
    /// <summary>Dense layers with their activation.</summary>
    None,
    /// <summary>Dense (identity) -> batch normalisation -> activation (batches of at least 2 rows).</summary>
    Batch,
    /// <summary>Dense (identity) -> layer normalisation -> activation.</summary>
    Layer,
}

/// <summary>The settings of <see cref="Pipeline.Fit"/>: the hidden layers, the scaling, and how to train. Two options are
/// equal (<c>==</c>, <c>Equals</c>) when every property is: <see cref="HiddenLayers"/> by its contents.</summary>
public sealed record PipelineOptions
{
    // Every default is the core's FitOptions.Default; this class copies none.
    private static readonly FN.FitOptions D = FN.FitOptions.Default;

    /// <summary>The widths of the hidden layers (default: one layer of 16). The output layer is added.</summary>
    public int[] HiddenLayers { get; init; } = (int[])D.HiddenLayers.Clone();

    /// <summary>The hidden layers' activation (default tanh); the output layer is the identity.</summary>
    public Activation Activation { get; init; } = EnumInterop.FromCore(D.Activation);

    /// <summary>The loss, or null for softmax cross-entropy on classes and mean squared error on numbers.</summary>
    public Loss? Loss { get; init; }

    /// <summary>How features are scaled (default: standardised), fitted on the training rows only.</summary>
    public Scaling Scaling { get; init; } = DataInterop.FromCore(D.Scaling);

    /// <summary>The seed of the weights and of the validation split (default 0).</summary>
    public long Seed { get; init; } = D.Seed;

    /// <summary>The share of the training rows held out for the validation loss, which the plateau stop then
    /// watches (default 0: none, and the plateau stop watches the training loss).</summary>
    public double ValidationFraction { get; init; } = D.ValidationFraction;

    /// <summary>Batching, schedule, optimiser, stopping rules (default: <see cref="TrainingOptions"/>' own defaults,
    /// the core's: Adam 1e-3 on minibatches of 32, at most 200 epochs, the plateau stop). The notes' plain
    /// gradient descent: <c>Training = TrainingOptions.GradientDescent(0.5, 500)</c>.</summary>
    public TrainingOptions Training { get; init; } = new();

    /// <summary>The network's precision (default Float64); Float32 trains and saves a float32 network
    /// (see <see cref="Network.WithPrecision"/>).</summary>
    public Precision Precision { get; init; } = EnumInterop.FromCore(D.Precision);

    /// <summary>The rate of a dropout block after every hidden layer (default 0: none), in [0, 1); a rate above 0 with no
    /// hidden layers is refused (ArgumentException, ParamName "Dropout").</summary>
    public double Dropout { get; init; } = D.Dropout;

    /// <summary>The normalisation of every hidden layer (default none): with Batch or Layer, a hidden layer is
    /// dense (identity) -> normalisation -> activation. Batch or Layer with no hidden layers is refused (ArgumentException,
    /// ParamName "Normalization").</summary>
    public Normalization Normalization { get; init; } =
        D.Normalization.IsBatch ? Normalization.Batch : D.Normalization.IsLayer ? Normalization.Layer : Normalization.None;

    /// <summary>Skip connections (default false): a hidden layer whose width equals the previous hidden layer's becomes
    /// a residual block, h_k = h_(k-1) + f_k(h_(k-1)); a dropout block, if any, follows the sum. True without two consecutive
    /// hidden layers of equal width is refused (ArgumentException, ParamName "Residual").</summary>
    public bool Residual { get; init; } = D.Residual;

    /// <summary>True when every property is equal: <see cref="HiddenLayers"/> by its contents (the same widths in the same
    /// order), <see cref="Training"/> by value (a record whose batching, schedule and optimiser compare by value), the
    /// rest as values.</summary>
    /// <param name="other">The options to compare with, or null.</param>
    public bool Equals(PipelineOptions? other) =>
        other is not null
        && (ReferenceEquals(HiddenLayers, other.HiddenLayers)
            || HiddenLayers is not null && other.HiddenLayers is not null && HiddenLayers.AsSpan().SequenceEqual(other.HiddenLayers))
        && Activation == other.Activation && Loss == other.Loss && Scaling == other.Scaling && Seed == other.Seed
        && ValidationFraction.Equals(other.ValidationFraction) && Equals(Training, other.Training) && Precision == other.Precision
        && Dropout.Equals(other.Dropout) && Normalization == other.Normalization && Residual == other.Residual;

    /// <summary>A hash consistent with <see cref="Equals(PipelineOptions)"/> (over the hidden layers' contents).</summary>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var w in HiddenLayers ?? Array.Empty<int>()) h.Add(w);
        h.Add(Activation);
        h.Add(Loss);
        h.Add(Scaling);
        h.Add(Seed);
        h.Add(ValidationFraction);
        h.Add(Training);
        h.Add(Precision);
        h.Add(Dropout);
        h.Add(Normalization);
        h.Add(Residual);
        return h.ToHashCode();
    }

    // ToString() as the compiler writes it, but for HiddenLayers by its contents ("HiddenLayers = [16, 8]", not the
    // array's type name).
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("HiddenLayers = ").Append(HiddenLayers is null ? "" : "[" + string.Join(", ", HiddenLayers) + "]");
        builder.Append(", Activation = ").Append(Activation);
        builder.Append(", Loss = ").Append(Loss);
        builder.Append(", Scaling = ").Append(Scaling);
        builder.Append(", Seed = ").Append(Seed);
        builder.Append(", ValidationFraction = ").Append(ValidationFraction);
        builder.Append(", Training = ").Append(Training);
        builder.Append(", Precision = ").Append(Precision);
        builder.Append(", Dropout = ").Append(Dropout);
        builder.Append(", Normalization = ").Append(Normalization);
        builder.Append(", Residual = ").Append(Residual);
        return true;
    }

    internal FN.FitOptions ToCore()
    {
        ArgumentNullException.ThrowIfNull(HiddenLayers, nameof(HiddenLayers));
        ArgumentNullException.ThrowIfNull(Training, nameof(Training));
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, $"Dropout is {Dropout}; a dropout rate must lie in [0, 1) (the fraction of values dropped in training).");
        var normalization = Normalization switch
        {
            Normalization.None => FN.HiddenNormalization.None,
            Normalization.Batch => FN.HiddenNormalization.Batch,
            Normalization.Layer => FN.HiddenNormalization.Layer,
            _ => throw new ArgumentOutOfRangeException(nameof(Normalization), Normalization, $"Normalization is {(int)Normalization}, not a Normalization (None, Batch or Layer)."),
        };
        return new FN.FitOptions((int[])HiddenLayers.Clone(), Activation.ToCore(paramName: nameof(Activation)),
            Loss is Loss l ? FSharpOption<FN.Loss>.Some(l.ToCore(nameof(Loss))) : FSharpOption<FN.Loss>.None,
            Scaling.ToCore(nameof(Scaling)), Seed, Training.ToCore(), ValidationFraction, Precision.ToCore(nameof(Precision)), Dropout, normalization, Residual);
    }
}

/// <summary>What <see cref="Pipeline.Fit"/> returns: the model and how training went.</summary>
public sealed class PipelineFitResult
{
    internal PipelineFitResult(FN.FitResult r)
    {
        Model = new Pipeline(r.Pipeline);
        History = r.History.Select(EpochRecord.FromCore).ToArray();
        StopReason = (StopReason)(int)r.Training.StopReason;
        Epochs = r.Training.Epochs;
        Steps = r.Training.Steps;
        Backend = EnumInterop.FromCore(r.Training.Backend);
        Seconds = r.Seconds;
        TrainLoss = r.TrainLoss;
        BestEpoch = Interop.ValueOrNull(r.BestEpoch);
        var c = r.Training.Checkpoint;
        Checkpoint = Checkpoints.FromCore(c);
    }

    /// <summary>The trained pipeline.</summary>
    public Pipeline Model { get; }

    /// <summary>One record per epoch: training loss, validation loss (when there is a validation set), ... A
    /// regressor's losses are in the target's own units: the network learns the standardised target
    /// z = (y - mean) / s, and its (half) mean squared error is reported times s^2, its validation RMSE times s, so
    /// they compare with <see cref="RegressionReport.MeanSquaredError"/>. The progress callback of
    /// <see cref="Pipeline.Fit"/> gets the same records. (The trainer's plateau stop and divergence check work on z.)</summary>
    public IReadOnlyList<EpochRecord> History { get; }

    /// <summary>The rule that stopped training.</summary>
    public StopReason StopReason { get; }

    /// <summary>The training loss of <see cref="Model"/>'s network, in the target's units (as <see cref="History"/>):
    /// <see cref="TrainingResult{TModel}.TrainLoss"/>'s figure, the restored best epoch's when the plateau stop restored
    /// one (<see cref="BestEpoch"/>), else the last epoch's.</summary>
    public double TrainLoss { get; }

    /// <summary>The epoch whose network <see cref="Model"/> holds when the plateau stop watched the validation loss
    /// (<see cref="PipelineOptions.ValidationFraction"/> above 0), whatever rule ended the fit (see
    /// <see cref="TrainingResult{TModel}.BestEpoch"/>); null when it holds the last weights.</summary>
    public int? BestEpoch { get; }

    /// <summary>Epochs completed.</summary>
    public int Epochs { get; }

    /// <summary>Steps taken.</summary>
    public int Steps { get; }

    /// <summary>The backend that trained the network (Reference or Kernels).</summary>
    public Backend Backend { get; }

    /// <summary>Wall time of training, in seconds.</summary>
    public double Seconds { get; }

    /// <summary>The trainer's state at the end of the fit: the network's last weights (not a restored best epoch's), its
    /// optimiser state, step, epoch and history, to inspect or save (<see cref="ModelFile.SaveCheckpoint"/>). Resuming a
    /// pipeline fit is not offered: the network was trained on the pipeline's encoded, scaled training split (and a
    /// regressor's standardised target), which the fit does not return; fit again with more epochs to train longer.</summary>
    public TrainingCheckpoint<Network> Checkpoint { get; }

    /// <summary>A summary, culture-invariant: the stop reason, epochs and steps, the time, the backend, then the figures of
    /// <see cref="Model"/>'s network: its training loss (<see cref="TrainLoss"/>) and, with a validation set, its epoch's
    /// validation loss and metric (the last epoch's, or "best epoch k restored" and that epoch's), in the target's units
    /// as <see cref="History"/>, then the model (<see cref="Pipeline.ToString"/>).</summary>
    public override string ToString() =>
        ResultText.Summary("PipelineFitResult", StopReason, Epochs, Steps, Seconds, Backend, TrainLoss, BestEpoch, History)
            + "; model: " + Model;
}

/// <summary>A trained model with everything it needs to run on raw data: the feature columns it reads, the
/// scaler fitted on its training rows, the network, and the class names (a classifier) or the target's
/// scaling (a regressor). Immutable. Save it with <see cref="Save"/>; loading gives bit-identical predictions.</summary>
/// <example><code>
/// var data = Dataset.Embedded("iris").SplitStratified(0.2, seed: 1);
/// var model = Pipeline.Fit(data.Train).Model;
/// Console.WriteLine(model.Evaluate(data.Test).Classification.Accuracy);
/// </code></example>
public sealed class Pipeline
{
    // The core names a hidden layer's width "units"; the C# user set PipelineOptions.HiddenLayers.
    private static readonly (string, string)[] HiddenLayerNames = { ("units", nameof(PipelineOptions.HiddenLayers)) };

    internal Pipeline(FN.Pipeline core) => Core = core;

    internal FN.Pipeline Core { get; }

    /// <summary>
    /// A low-latency predictor for one row of raw features at a time (scaling, the network on the
    /// kernels, a classifier's class probabilities or a regressor's value in the target's units), with its
    /// own copies: the span overloads allocate nothing for a pipeline without text columns or imputation.
    /// Thread-safe (calls are serialised by a lock; for parallel throughput, give each thread its own predictor).
    /// </summary>
    public PipelinePredictor CreatePredictor(Backend backend = Backend.Auto) =>
        new(FN.PipelinePredictorModule.createWith(backend.ToCore(), Core), ClassNames);

    /// <summary>Trains a pipeline on <paramref name="data"/>: fits the scaler on its rows (not the validation
    /// rows), draws the network from the seed, trains it with the options' trainer.</summary>
    /// <param name="data">The training data.</param>
    /// <param name="options">The settings, or null for the defaults.</param>
    /// <param name="progress">Receives each epoch's record (a regressor's losses in the target's units, as <see cref="PipelineFitResult.History"/>), or null (called synchronously on the training thread).</param>
    /// <param name="cancellationToken">Stops training before the next step.</param>
    /// <exception cref="ArgumentException">Bad options or data.</exception>
    /// <exception cref="TrainingDivergedException{TModel}">The loss became NaN or infinite, or grew past
    /// <see cref="TrainingOptions.DivergenceFactor"/> times its start (TModel is <see cref="Network"/>).</exception>
    public static PipelineFitResult Fit(Dataset data, PipelineOptions? options = null, IProgress<EpochRecord>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var hooks = new FN.TrainingHooks(FuncConvert.FromAction<FN.EpochRecord>(r => Errors.Caller(() => progress?.Report(EpochRecord.FromCore(r)))),
            FuncConvert.FromFunc(() => cancellationToken.IsCancellationRequested));
        try
        {
            return new PipelineFitResult(FN.PipelineFit.fitWith(hooks, (options ?? new PipelineOptions()).ToCore(), data.Core));
        }
        catch (Exception e) when (Errors.Translate(e, HiddenLayerNames) is { } t)
        {
            throw t;
        }
    }

    /// <summary><see cref="Fit"/> on a thread-pool thread, for a UI or a server that must not block: the same result,
    /// bit for bit. Cancellation follows the .NET convention for work that has not started: a token already cancelled
    /// (or cancelled before the task starts running) gives a cancelled task (awaiting it throws
    /// <see cref="TaskCanceledException"/>, an <see cref="OperationCanceledException"/>) and trains nothing. Once training
    /// runs, cancelling stops it before the next step and the task completes with the model trained so far
    /// (<see cref="PipelineFitResult.StopReason"/> is <see cref="StopReason.Cancelled"/>), as <see cref="Fit"/> does, so
    /// the work done is not lost; <paramref name="progress"/> receives each epoch's record (a
    /// <see cref="Progress{T}"/> made on a UI thread reports there).</summary>
    /// <param name="data">The training data.</param>
    /// <param name="options">The settings, or null for the defaults.</param>
    /// <param name="progress">Receives each epoch's record, or null.</param>
    /// <param name="cancellationToken">Stops training before the next step.</param>
    /// <exception cref="ArgumentException">Bad options or data (the task faults with it).</exception>
    /// <exception cref="TrainingDivergedException{TModel}">The loss became NaN or infinite, or grew past
    /// <see cref="TrainingOptions.DivergenceFactor"/> times its start (TModel is <see cref="Network"/>).</exception>
    public static Task<PipelineFitResult> FitAsync(Dataset data, PipelineOptions? options = null, IProgress<EpochRecord>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<PipelineFitResult>(cancellationToken);
        // The token given to Task.Run cancels the task only before the delegate starts; afterwards Fit stops at the next step.
        return Task.Run(() => Fit(data, options, progress, cancellationToken), cancellationToken);
    }

    /// <summary>The untrained pipeline <see cref="Fit"/> starts from (scaler fitted on all of
    /// <paramref name="data"/>'s rows, weights drawn from the seed), for summaries before training. It checks the options
    /// as <see cref="Fit"/> does (the same check), so options that Fit refuses are refused here too.</summary>
    /// <exception cref="ArgumentException">Bad options (ParamName the property, as <see cref="Fit"/> names it) or data.</exception>
    public static Pipeline Untrained(Dataset data, PipelineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new(Errors.Run(() => FN.PipelineFit.untrained((options ?? new PipelineOptions()).ToCore(), data.Core), HiddenLayerNames));
    }

    /// <summary>Loads a pipeline saved by <see cref="Save"/>.</summary>
    /// <exception cref="ModelFormatException">The file is damaged, truncated, of another version or kind.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">The path is a directory (ParamName "path").</exception>
    public static Pipeline Load(string path) => new(Errors.Run(() => FN.ModelFile.loadPipeline(path)));

    /// <summary>Saves the pipeline atomically (a temporary file renamed over the target; a symbolic link's target is
    /// written and its permissions kept).</summary>
    /// <param name="path">The file.</param>
    /// <param name="overwriteReadOnly">Replace a read-only file (otherwise refused with UnauthorizedAccessException).</param>
    /// <exception cref="ArgumentException">A pipeline whose file could not be loaded back (ParamName "pipeline"), or a
    /// directory as <paramref name="path"/>.</exception>
    public void Save(string path, bool overwriteReadOnly = false) =>
        Errors.Run(() => FN.ModelFile.savePipelineWith(FN.SaveOptions.Default.WithOverwriteReadOnly(overwriteReadOnly), path, Core));

    /// <summary>True for a classifier.</summary>
    public bool IsClassifier => Core.IsClassifier;

    /// <summary>The feature columns it reads, in order.</summary>
    public string[] FeatureNames => (string[])Core.FeatureNames.Clone();

    /// <summary>The class names in index order (empty for a regressor).</summary>
    public string[] ClassNames => (string[])Core.ClassNames.Clone();

    /// <summary>The target column's name.</summary>
    public string TargetName => Core.TargetName;

    /// <summary>The loss it was trained with.</summary>
    public Loss Loss => Enum.Parse<Loss>(LossName(Core.Loss));

    /// <summary>What it does with missing values (Mean, Median, MostFrequent: fills them with values fitted on
    /// the training rows; Error, Drop: a missing value at prediction is an error).</summary>
    public MissingValues Missing => DataInterop.FromCore(Core.Preprocessor.Missing);

    /// <summary>What it does with a text category its training rows did not have.</summary>
    public UnknownCategory UnknownCategory => Core.Preprocessor.UnknownCategory.IsZeros ? UnknownCategory.Zeros : UnknownCategory.Error;

    /// <summary>A copy that treats unseen text categories as an error or as all zeros (one-hot).</summary>
    public Pipeline WithUnknownCategory(UnknownCategory unknownCategory) =>
        new(FN.PipelineModule.withUnknownCategory(unknownCategory.ToCore(), Core));

    /// <summary>For each feature column, its categories (from the training rows) when it is a text column, else
    /// an empty array.</summary>
    public string[][] Categories => Core.Preprocessor.Categories.Select(c => (string[])c.Clone()).ToArray();

    /// <summary>The predicted class index of each row of a data set holding the model's features (by name; text
    /// columns by category).</summary>
    /// <exception cref="ArgumentException">A missing column, an unseen category under
    /// <see cref="UnknownCategory.Error"/>, a missing value the model does not fill (ParamName "data").</exception>
    public int[] PredictClasses(Dataset data) =>
        Errors.Run(() => FN.PipelineModule.predictClasses(Core, FN.PipelineModule.featuresOf(Core, (data ?? throw new ArgumentNullException(nameof(data))).Core)));

    /// <summary>The predicted class name of each row of a data set.</summary>
    public string[] PredictClassNames(Dataset data) => PredictClasses(data).Select(c => Core.ClassNames[c]).ToArray();

    /// <summary>Class probabilities (n x classes) for each row of a data set, or null when the loss gives none.</summary>
    public double[,]? PredictProbabilities(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var p = Errors.Run(() => FN.PipelineModule.probabilities(Core, FN.PipelineModule.featuresOf(Core, data.Core)));
        return p is null ? null : p.Value.ToArray();
    }

    /// <summary>A regressor's predictions for each row of a data set, in the target's units.</summary>
    public double[] PredictValues(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Errors.Run(() => FN.PipelineModule.predictValues(Core, FN.PipelineModule.featuresOf(Core, data.Core))).Column(0).ToArray();
    }

    /// <summary>The feature scaling it applies.</summary>
    public Scaling Scaling => DataInterop.FromCore(Core.Scaler.Kind);

    /// <summary>The network (on scaled features).</summary>
    public Network Network => new(Core.Network);

    /// <summary>One line per layer, with the inputs, the total (the parameters, and the running statistics of a network with
    /// batch normalisation) and the target.</summary>
    public IReadOnlyList<string> Describe() => FN.PipelineModule.describe(Core).ToArray();

    /// <summary>A summary like Keras' <c>model.summary()</c>: the inputs and their preprocessing, a table of the
    /// network's layers (output shape, parameter count), the totals (the parameters, and the running statistics of a
    /// network with batch normalisation), and what it predicts.</summary>
    public string Summary() => Summaries.Pipeline(Core);

    /// <summary>"Pipeline: classifier of 'species' (3 classes) from 4 features, 131 parameters".</summary>
    public override string ToString() =>
        Core.IsClassifier
            ? $"Pipeline: classifier of '{Core.TargetName}' ({Core.ClassNames.Length} classes) from {Core.FeatureNames.Length} features, {Core.Network.ParameterCount} parameters"
            : $"Pipeline: regressor of '{Core.TargetName}' from {Core.FeatureNames.Length} features, {Core.Network.ParameterCount} parameters";

    /// <summary>The predicted class index of each row of raw features x (n x FeatureNames.Length).</summary>
    /// <exception cref="ArgumentException">x has the wrong width or holds NaN or infinity.</exception>
    public int[] PredictClasses(double[,] x) => Errors.Run(() => FN.PipelineModule.predictClasses(Core, Interop.ToMatrix(x, nameof(x))));

    /// <summary>The predicted class name of each row.</summary>
    public string[] PredictClassNames(double[,] x) => PredictClasses(x).Select(c => Core.ClassNames[c]).ToArray();

    /// <summary>Class probabilities (n x classes), or null when the loss gives none (e.g. mean squared error).</summary>
    public double[,]? PredictProbabilities(double[,] x)
    {
        var p = Errors.Run(() => FN.PipelineModule.probabilities(Core, Interop.ToMatrix(x, nameof(x))));
        return p is null ? null : p.Value.ToArray();
    }

    /// <summary>A regressor's predictions for each row, in the target's units.</summary>
    public double[] PredictValues(double[,] x) => Errors.Run(() => FN.PipelineModule.predictValues(Core, Interop.ToMatrix(x, nameof(x)))).Column(0).ToArray();

    /// <summary>The scores on labelled data whose columns include the model's features (in any order). Load a
    /// classifier's test data with <c>classNames: model.ClassNames</c> so that an unknown class is an error.</summary>
    /// <exception cref="ArgumentException">A missing column, no target values, a target of the other kind or other
    /// classes, or a score beyond the double range (targets far from the predictions, e.g. near 1e160: rescale them);
    /// ParamName "data".</exception>
    public Evaluation Evaluate(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new Evaluation(Errors.Run(() => FN.PipelineModule.evaluate(Core, data.Core)), Core.ClassNames);
    }

    /// <summary>The model's features taken from a data set by name.</summary>
    public double[,] FeaturesOf(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Errors.Run(() => FN.PipelineModule.featuresOf(Core, data.Core)).ToArray();
    }

    private static string LossName(FN.Loss loss) =>
        loss.Tag switch
        {
            FN.Loss.Tags.HalfMeanSquaredError => nameof(FunctionalNN.Loss.HalfMeanSquaredError),
            FN.Loss.Tags.MeanSquaredError => nameof(FunctionalNN.Loss.MeanSquaredError),
            FN.Loss.Tags.BinaryCrossEntropy => nameof(FunctionalNN.Loss.BinaryCrossEntropy),
            FN.Loss.Tags.BinaryCrossEntropyWithLogits => nameof(FunctionalNN.Loss.BinaryCrossEntropyWithLogits),
            FN.Loss.Tags.SoftmaxCrossEntropy => nameof(FunctionalNN.Loss.SoftmaxCrossEntropy),
            FN.Loss.Tags.Hinge => nameof(FunctionalNN.Loss.Hinge),
            FN.Loss.Tags.SquaredHinge => nameof(FunctionalNN.Loss.SquaredHinge),
            _ => nameof(FunctionalNN.Loss.Logistic),
        };
}
