namespace Functional.NN

open System
open System.Diagnostics
open MathNet.Numerics.LinearAlgebra

/// How a pipeline's hidden layers are normalised (`FitOptions.Normalization`).
[<RequireQualifiedAccess>]
type HiddenNormalization =
    /// Dense layers with their activation, as the notes' networks.
    | None
    /// Each hidden layer is dense (identity) -> batch normalisation -> activation.
    | Batch
    /// Each hidden layer is dense (identity) -> layer normalisation -> activation.
    | Layer

/// The settings of `PipelineFit.fit`: the network's hidden layers, how inputs are scaled, how
/// the network is trained (the Trainer's options) and the validation split.
type FitOptions =
    { /// The widths of the hidden layers (the output layer is added: one unit per class, or one
      /// per regression target).
      HiddenLayers: int[]
      /// The hidden layers' activation (the output layer is the identity).
      Activation: Activation
      /// The loss (None: softmax cross-entropy for classes, mean squared error for numbers).
      Loss: Loss option
      /// How the features are scaled (fitted on the training rows only).
      Scaling: ScalingKind
      /// Seed of the weights and of the validation split (the batches use Training.Seed).
      Seed: int64
      /// Batching, schedule, optimiser and stopping rules.
      Training: TrainingOptions
      /// The fraction of the training rows held out (stratified for classes) to measure the
      /// validation loss each epoch, and for early stopping (0: none).
      ValidationFraction: float
      /// The network's precision (Network.withPrecision): Float32 trains and stores a float32
      /// network, Float64 (the default) a float64 one.
      Precision: Precision
      /// The dropout rate of a dropout block after every hidden layer (0: none), in [0, 1); above 0
      /// it needs hidden layers (`PipelineFit.checkOptions`).
      Dropout: float
      /// The normalisation of every hidden layer, before its activation (other than None, it
      /// needs hidden layers).
      Normalization: HiddenNormalization
      /// Skip connections: a hidden layer whose width equals the previous hidden layer's becomes
      /// a residual block, h_k = h_(k-1) + f_k(h_(k-1)) (true needs such a pair of hidden layers).
      Residual: bool }
    /// One hidden layer of 16 tanh units, default loss, standardised inputs, seed 0, the
    /// trainer's defaults (TrainingOptions.Default: Adam 1e-3 on minibatches of 32, at most 200
    /// epochs, the plateau stop on the training loss), no validation set, no dropout,
    /// normalisation or residual blocks. The notes' plain gradient descent:
    /// `WithTraining(TrainingOptions.GradientDescent(0.5, 500))`.
    static member Default =
        { HiddenLayers = [| 16 |]; Activation = Activation.Tanh; Loss = None; Scaling = ScalingKind.Standard; Seed = 0L
          Training = TrainingOptions.Default
          ValidationFraction = 0.0; Precision = Precision.Float64
          Dropout = 0.0; Normalization = HiddenNormalization.None; Residual = false }
    /// A copy with other hidden layers.
    member this.WithHiddenLayers(widths: int[]) = { this with HiddenLayers = Array.copy widths }
    /// A copy with another hidden activation.
    member this.WithActivation(activation) = { this with Activation = activation }
    /// A copy with a loss.
    member this.WithLoss(loss: Loss) = { this with Loss = Some loss }
    /// A copy with another scaling.
    member this.WithScaling(scaling) = { this with Scaling = scaling }
    /// A copy with another seed.
    member this.WithSeed(seed) = { this with Seed = seed }
    /// A copy with other training options.
    member this.WithTraining(training) = { this with Training = training }
    /// A copy with a constant step size (the schedule Constant rate).
    member this.WithLearningRate(rate) = { this with Training = this.Training.WithSchedule(Schedule.Constant rate) }
    /// A copy with another number of epochs.
    member this.WithEpochs(epochs) = { this with Training = this.Training.WithMaxEpochs epochs }
    /// A copy with another validation fraction.
    member this.WithValidationFraction(fraction) = { this with ValidationFraction = fraction }
    /// A copy with another network precision.
    member this.WithPrecision(precision) = { this with Precision = precision }
    /// A copy with a dropout block after every hidden layer (0: none).
    member this.WithDropout(rate) = { this with Dropout = rate }
    /// A copy with another normalisation of the hidden layers.
    member this.WithNormalization(normalization) = { this with Normalization = normalization }
    /// A copy with or without skip connections around hidden layers of equal width.
    member this.WithResidual(residual) = { this with Residual = residual }

/// What `PipelineFit.fit` returns.
type FitResult =
    { /// The trained pipeline (the best epoch's network under the plateau stop watching a
      /// validation loss, whatever rule ended the fit; `BestEpoch`).
      Pipeline: Pipeline
      /// The trainer's result: history, stop reason, steps, checkpoint. Its losses are the
      /// trainer's own, on the network's targets (a regressor's standardised target). Its
      /// Checkpoint holds the network's last weights (not a restored best epoch's) and the
      /// optimiser's state at the end of the fit, to inspect or save; nothing resumes a pipeline
      /// fit from it (the network was trained on the pipeline's encoded, scaled training split,
      /// which the fit does not return).
      Training: TrainingResult<Network>
      /// One record per epoch in the target's units (`PipelineFit.inTargetUnits`): a regressor's
      /// (half) MSE times the target's scale squared and its validation RMSE times the scale, so
      /// that they read as the target's own MSE and RMSE; a classifier's records as trained.
      History: EpochRecord[]
      /// The training loss of the returned pipeline's network (`Training.TrainLoss`: the restored
      /// best epoch's when the plateau stop restored one), in the target's units (as `History`).
      TrainLoss: float
      /// The epoch whose network the pipeline holds when the plateau stop watched a validation
      /// loss, whatever rule ended the fit (`Training.BestEpoch`); None when it holds the last weights.
      BestEpoch: int option
      /// The training loss after each epoch, in the target's units (as `History`).
      TrainLosses: float[]
      /// The validation loss after each epoch, in the target's units (empty without a validation set).
      ValidationLosses: float[]
      /// Wall time of training.
      Seconds: float }

/// Training a pipeline on a data set.
module PipelineFit =

    /// The loss used when none is given: softmax cross-entropy for classes, MSE for numbers.
    let defaultLoss (data: Dataset) = if data.IsClassification then Loss.SoftmaxCrossEntropy else Loss.MeanSquaredError

    /// Raises ArgumentException for block options that would build nothing (so that they are
    /// never ignored in silence): a dropout rate (ParamName "options.Dropout") or a normalisation
    /// ("options.Normalization") without hidden layers, and Residual without two consecutive
    /// hidden layers of equal width ("options.Residual").
    let private checkBlockOptions (options: FitOptions) =
        let widths = options.HiddenLayers
        if widths.Length = 0 then
            if options.Dropout > 0.0 then
                Check.fail "options.Dropout" (sprintf "Dropout is %s, but HiddenLayers is empty: a dropout block follows each hidden layer, and there is none. Add hidden layers, or set Dropout to 0." (string options.Dropout))
            if options.Normalization <> HiddenNormalization.None then
                Check.fail "options.Normalization" (sprintf "Normalization is %A, but HiddenLayers is empty: a normalisation goes before each hidden layer's activation, and there is none. Add hidden layers, or set Normalization to None." options.Normalization)
        if options.Residual && not (Array.pairwise widths |> Array.exists (fun (a, b) -> a = b)) then
            let given = if widths.Length = 0 then "is empty" else sprintf "is [%s]" (String.Join(", ", widths))
            Check.fail "options.Residual" (sprintf "Residual wraps each hidden layer whose width equals the previous hidden layer's in a skip connection, but HiddenLayers %s, with no such pair, so there would be none. Give consecutive equal widths (e.g. [16, 16, 16]), or set Residual to false." given)

    /// The blocks of a pipeline's network for the options (the first hidden layer takes the
    /// encoded inputs): hidden layer k is dense(width_k, activation), or with a normalisation
    /// dense(width_k, identity, the activation's initialiser) -> normalisation -> activation;
    /// with Residual, a hidden layer whose width equals the previous hidden layer's is wrapped in
    /// a residual block; with a dropout rate, a dropout block follows every hidden layer (after
    /// the residual sum); last, the output layer dense(outputs, outputActivation).
    /// Raises ArgumentException (ParamName "options.Dropout", "options.HiddenLayers",
    /// "options.Normalization", "options.Residual") for bad options (`checkOptions`).
    let hiddenBlocks (options: FitOptions) (outputs: int) (outputActivation: Activation) : BlockSpec list =
        Check.notNull "options.HiddenLayers" options.HiddenLayers
        options.HiddenLayers |> Array.iter (Check.positiveInt "options.HiddenLayers")
        Dropout.checkRate "options.Dropout" options.Dropout
        checkBlockOptions options
        let layer (width: int) : BlockSpec list =
            match options.Normalization with
            | HiddenNormalization.None -> [ BlockSpec.Dense (LayerSpec.Of(width, options.Activation)) ]
            | norm ->
                let dense = { Units = width; Activation = Activation.Identity; UseBias = true; Initializer = Some (Init.defaultFor options.Activation) }
                [ BlockSpec.Dense dense
                  (if norm = HiddenNormalization.Batch then BlockSpec.BatchNorm else BlockSpec.LayerNorm)
                  BlockSpec.Activation options.Activation ]
        [ for k, width in Array.indexed options.HiddenLayers do
            if options.Residual && k > 0 && options.HiddenLayers.[k - 1] = width then yield BlockSpec.Residual (layer width)
            else yield! layer width
            if options.Dropout > 0.0 then yield BlockSpec.Dropout options.Dropout
          yield BlockSpec.Dense (LayerSpec.Of(outputs, outputActivation)) ]

    /// Checks the options against the data before any work: the loss must suit the task (a
    /// numeric target takes MeanSquaredError or HalfMeanSquaredError; the cross-entropies and the
    /// margin losses need classes), and the hidden activation must carry a gradient (not the
    /// step). Raises ArgumentException with ParamName "Loss" or "Activation".
    let checkTask (options: FitOptions) (data: Dataset) =
        Check.notNull "data" (box data)
        if not (Activation.isDifferentiable options.Activation) then
            Check.fail "Activation" (sprintf "Activation is %s, whose derivative is zero almost everywhere, so a network with it cannot be trained by gradient; use tanh, ReLU or sigmoid (the perceptron trains a step output)." (Activation.name options.Activation))
        match options.Loss, data.Target with
        | Some loss, Target.Values _ when not (loss = Loss.MeanSquaredError || loss = Loss.HalfMeanSquaredError) ->
            Check.fail "Loss" (sprintf "Loss is %s, a classification loss, but the target '%s' is numeric (regression); use MeanSquaredError or HalfMeanSquaredError, or read the target as classes (TargetKind Classification)." (Loss.caseName loss) data.TargetName)
        | _ -> ()

    /// Raises ArgumentException (ParamName "options") unless the validation fraction lies in [0, 1).
    let private checkValidationFraction (options: FitOptions) =
        if not (options.ValidationFraction >= 0.0 && options.ValidationFraction < 1.0) then
            Check.fail "options" (sprintf "ValidationFraction must lie in [0, 1), but is %s." (string options.ValidationFraction))

    /// The checks of the options alone (no data), which `untrained` and `fitWith` both make before
    /// any work, so that a pipeline is never built from options its training would refuse: the
    /// hidden layers' widths ("options.HiddenLayers"), the dropout rate ("options.Dropout"), block
    /// options that would build nothing (dropout or a normalisation without hidden layers, Residual
    /// without two consecutive hidden layers of equal width: "options.Dropout",
    /// "options.Normalization", "options.Residual"), the validation fraction in [0, 1) ("options")
    /// and the trainer's options (`Trainer.validateOptions`, naming the field). Raises ArgumentException.
    let checkOptions (options: FitOptions) =
        Check.notNull "options" (box options)
        Check.notNull "options.HiddenLayers" options.HiddenLayers
        options.HiddenLayers |> Array.iter (Check.positiveInt "options.HiddenLayers")
        Dropout.checkRate "options.Dropout" options.Dropout
        checkBlockOptions options
        checkValidationFraction options
        Trainer.validateOptions options.Training (options.ValidationFraction > 0.0)

    /// An untrained pipeline for a data set: the scaler fitted on its rows, the network drawn
    /// from the seed (inputs, hidden layers, identity output) in the options' precision, the target scaler (regression:
    /// standardisation of the target, fitted on its rows). Checks the options as `fitWith` does
    /// (`checkOptions`, `checkTask`).
    let untrained (options: FitOptions) (data: Dataset) : Pipeline =
        checkOptions options
        checkTask options data
        let loss = defaultArg options.Loss (defaultLoss data)
        let classNames = data.ClassNames
        let outputs =
            if classNames.Length = 2 && (loss = Loss.BinaryCrossEntropy || loss = Loss.BinaryCrossEntropyWithLogits) then 1
            elif data.IsClassification then classNames.Length
            else 1
        let outputActivation = if loss = Loss.BinaryCrossEntropy then Activation.Sigmoid else Activation.Identity
        let specs = hiddenBlocks options outputs outputActivation
        let pre = Preprocessor.fit data
        let encoded = Preprocessor.transform pre data.FeatureNames (Preprocessor.rawFeatures pre data.FeatureNames data)
        let net = Network.initBlocks encoded.ColumnCount specs options.Seed |> Network.withPrecision options.Precision
        let scaler = Scaler.fit options.Scaling encoded
        let targetScaler =
            match data.Target with
            | Target.Classes _ -> Scaler.identity 0
            | Target.Values v ->
                try Scaler.fitStandard (Matrix<float>.Build.Dense(v.Length, 1, fun i _ -> v.[i]))
                with :? ArgumentException as e when e.ParamName = "x" ->
                    Check.fail "data" (sprintf "The target '%s' spans more than the range of a double: its standardisation overflows; rescale the target first (e.g. divide it by 1e300)." data.TargetName)
        Pipeline.createWith pre data.FeatureNames scaler net loss data.TargetName classNames targetScaler

    /// The factor that turns a loss on a regressor's standardised target into the target's own
    /// units. The network learns z = (y - mean) / s, so an error e on z is the error s e on y and
    /// a squared error e^2 is s^2 e^2: the factor is s^2 for MSE and half MSE (s: the target
    /// scaler's scale). It is 1 for a classifier and for the other losses (which have no units).
    let lossScale (pipeline: Pipeline) : float =
        if pipeline.IsClassifier || pipeline.TargetScaler.Width <> 1 then 1.0
        else
            match pipeline.Loss with
            | Loss.MeanSquaredError | Loss.HalfMeanSquaredError -> let s = pipeline.TargetScaler.Scale.[0] in s * s
            | _ -> 1.0

    /// An epoch's record in the target's units: a regressor's training and validation losses
    /// times `lossScale`, and its validation RMSE (the metric of the squared losses) times the
    /// target's scale s; a classifier's record unchanged. The trainer's own records, and what it
    /// decides by them (the plateau stop, divergence), stay on the standardised target.
    let inTargetUnits (pipeline: Pipeline) (r: EpochRecord) : EpochRecord =
        let f = lossScale pipeline
        if f = 1.0 then r
        else
            let s = pipeline.TargetScaler.Scale.[0]
            { r with
                TrainLoss = r.TrainLoss * f
                ValidationLoss = r.ValidationLoss |> Option.map (fun v -> v * f)
                ValidationMetric = r.ValidationMetric |> Option.map (fun m -> m * s) }

    /// The largest standard deviation s of a regression target that a fit takes, sqrt(Double.MaxValue / 1e4),
    /// about 1.34e152. A regressor's losses are reported in the target's units, the loss on the standardised
    /// target times s^2 (`lossScale`); that loss starts near 1 (the standardised target's variance), and at the
    /// default DivergenceFactor, 1e4, the trainer stops a run whose loss grows past 1e4 max(L0, 1), so with s^2
    /// at most Double.MaxValue / 1e4 the losses such a run reports are finite doubles.
    let maxTargetScale = sqrt (Double.MaxValue / 1e4)

    /// Raises ArgumentException (ParamName "data") for a regression target whose standard deviation (the
    /// pipeline's target scale) is above `maxTargetScale`, naming the target column, its value of the largest
    /// magnitude and its row, and a power of ten to divide the target by: its losses in the target's units
    /// would overflow (the loss times s^2 is +infinity from s of about 1.34e154 on).
    let checkTargetScale (pipeline: Pipeline) (data: Dataset) =
        match data.Target with
        | Target.Values v when v.Length > 0 && not pipeline.IsClassifier && pipeline.TargetScaler.Width = 1 ->
            let s = pipeline.TargetScaler.Scale.[0]
            if s > maxTargetScale then
                let i = v |> Array.mapi (fun i y -> i, abs y) |> Array.maxBy snd |> fst
                Check.fail "data"
                    (sprintf "The target '%s' is too large to fit: its values reach %s (at %s) and its standard deviation s is %s, while a regressor's losses are reported in the target's units, s^2 times the loss on the standardised target, which stay within the double range only for s at most %s. Rescale the target (e.g. divide it by 1e%d) and fit again."
                        data.TargetName (string v.[i]) (data.RowPlace i) (string s)
                        (maxTargetScale.ToString("0.00E+0", Globalization.CultureInfo.InvariantCulture)) (int (ceil (log10 s))))
        | _ -> ()

    /// Splits off the validation rows (stratified for classes) with the options' seed.
    let splitValidation (options: FitOptions) (data: Dataset) : Dataset * Dataset option =
        checkValidationFraction options
        if options.ValidationFraction = 0.0 then data, None
        else
            if data.IsClassification && (data.Labels |> Array.countBy id |> Array.forall (fun (_, c) -> c < 2)) then
                Check.fail "options" (sprintf "ValidationFraction %s leaves no validation row: no class has 2 rows or more; use more data, or 0 for no validation set." (string options.ValidationFraction))
            let rng = Rng.create options.Seed
            let split, _ =
                if data.IsClassification then Split.stratified options.ValidationFraction data.Labels rng
                else Split.shuffled options.ValidationFraction data.SampleCount rng
            if split.Test.Length = 0 then
                Check.fail "options" (sprintf "ValidationFraction %s leaves no validation row (no class has 2 rows or more); use a larger fraction, more data, or 0 for no validation set." (string options.ValidationFraction))
            Dataset.selectRows split.Train data, Some (Dataset.selectRows split.Test data)

    /// The checks made before any training, each a one-line ArgumentException (ParamName
    /// "data"): at least one row; a missing value only under a policy that handles it (Drop
    /// leaves the rows out here); at least two classes.
    let checkClasses (name: string) (data: Dataset) =
        match data.Target with
        | Target.Classes (labels, names) ->
            let present = labels |> Array.distinct
            if present.Length < 2 then
                Check.fail name (sprintf "The training rows hold only %d class (%s) of the target '%s'; a classifier needs at least two classes." present.Length (String.Join(", ", present |> Array.map (fun k -> names.[k]))) data.TargetName)
        | Target.Values _ -> ()

    let private checkData (data: Dataset) : Dataset =
        let data = if data.Missing = MissingPolicy.Drop then Dataset.dropMissing data else data
        if data.SampleCount = 0 then Check.fail "data" "The data have no rows (after dropping the rows with missing values)."
        if data.Missing = MissingPolicy.Error then
            match Dataset.firstMissing data with
            | Some (i, j) ->
                Check.fail "data" (sprintf "At %s, column '%s' is missing (NaN); set the data's missing-value policy (CsvOptions.Missing, Dataset.withMissing; CLI: --missing drop|mean|median|most_frequent) to drop or impute it." (data.RowPlace i) data.FeatureNames.[j])
            | None -> ()
        checkClasses "data" data
        data

    /// Trains a pipeline on the data with the Trainer (hooks report each epoch and can stop the
    /// run). The scaler is fitted on the training rows only, never on the validation rows. The
    /// hooks and the result's `History` get each epoch's record in the target's units
    /// (`inTargetUnits`); `Training` keeps the trainer's own.
    /// Raises ArgumentException for bad options or data (a regression target too large for its losses to be
    /// reported: `checkTargetScale`), TrainingDivergedException when the loss stops being finite.
    let fitWith (hooks: TrainingHooks) (options: FitOptions) (data: Dataset) : FitResult =
        Check.notNull "data" (box data)
        checkOptions options
        checkTask options data
        let data = checkData data
        let train, validation = splitValidation options data
        checkClasses "data" train
        let start = untrained options train
        checkTargetScale start data
        let encodeWith (p: Pipeline) (d: Dataset) = Scaler.transform p.Scaler (Preprocessor.transform p.Preprocessor p.FeatureNames (Pipeline.featuresOf p d))
        let encode = encodeWith start
        // A text category seen only in the validation rows is all zeros there (the preprocessor
        // knows the training rows' categories only); the trained pipeline keeps its own rule.
        let encodeValidation = encodeWith (Pipeline.withUnknownCategory UnknownCategory.Zeros start)
        let x = encode train
        let y = Pipeline.trainingTargets start train
        let trainingData =
            match validation with
            | Some v -> (TrainingData.Of(x, y)).WithValidation(encodeValidation v, Pipeline.trainingTargets start v)
            | None -> TrainingData.Of(x, y)
        let clock = Stopwatch.StartNew()
        let units = inTargetUnits start
        let result = Trainer.trainWith { hooks with OnEpoch = units >> hooks.OnEpoch } options.Training start.Loss trainingData start.Network
        let history = result.History |> List.map units |> Array.ofList
        { Pipeline = { start with Network = result.Model }
          Training = result
          History = history
          TrainLoss = result.TrainLoss * lossScale start
          BestEpoch = result.BestEpoch
          TrainLosses = history |> Array.map (fun e -> e.TrainLoss)
          ValidationLosses = history |> Array.choose (fun e -> e.ValidationLoss)
          Seconds = clock.Elapsed.TotalSeconds }

    /// `fitWith TrainingHooks.None`.
    let fit (options: FitOptions) (data: Dataset) : FitResult = fitWith TrainingHooks.None options data
