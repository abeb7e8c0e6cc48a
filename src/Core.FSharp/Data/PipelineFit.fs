namespace Functional.NN

open System
open System.Diagnostics
open MathNet.Numerics.LinearAlgebra

/// The settings of `Pipeline.fit`: the network's hidden layers, how inputs are scaled and how
/// the network is trained.
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
      /// Seed of the weights and of the validation split.
      Seed: int64
      /// The gradient-descent step size.
      LearningRate: float
      /// The number of epochs (full-batch gradient-descent steps).
      Epochs: int
      /// The fraction of the training rows held out (stratified for classes) to measure the
      /// validation loss each epoch (0: none).
      ValidationFraction: float }
    /// One hidden layer of 16 tanh units, default loss, standardised inputs, seed 0, step 0.5,
    /// 500 epochs, no validation set.
    static member Default =
        { HiddenLayers = [| 16 |]; Activation = Activation.Tanh; Loss = None; Scaling = ScalingKind.Standard
          Seed = 0L; LearningRate = 0.5; Epochs = 500; ValidationFraction = 0.0 }
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
    /// A copy with another step size.
    member this.WithLearningRate(rate) = { this with LearningRate = rate }
    /// A copy with another number of epochs.
    member this.WithEpochs(epochs) = { this with Epochs = epochs }
    /// A copy with another validation fraction.
    member this.WithValidationFraction(fraction) = { this with ValidationFraction = fraction }

/// One finished epoch, as `Pipeline.fitWith` reports it.
type FitProgress =
    { /// The epoch, from 1.
      Epoch: int
      /// The number of epochs planned.
      Epochs: int
      /// The loss on the training rows at the end of the epoch.
      TrainLoss: float
      /// The loss on the validation rows (NaN without a validation set).
      ValidationLoss: float }

/// What `Pipeline.fit` returns.
type FitResult =
    { /// The trained pipeline.
      Pipeline: Pipeline
      /// The training loss after each epoch.
      TrainLosses: float[]
      /// The validation loss after each epoch (empty without a validation set).
      ValidationLosses: float[]
      /// Epochs completed.
      Epochs: int
      /// Why training stopped ("max_epochs").
      StopReason: string
      /// Wall time of the training loop.
      Seconds: float }

/// Training a pipeline on a data set.
module PipelineFit =

    /// The loss used when none is given: softmax cross-entropy for classes, MSE for numbers.
    let defaultLoss (data: Dataset) = if data.IsClassification then Loss.SoftmaxCrossEntropy else Loss.MeanSquaredError

    /// An untrained pipeline for a data set: the scaler fitted on its rows, the network drawn
    /// from the seed (inputs, hidden layers, identity output), the target scaler (regression:
    /// standardisation of the target, fitted on its rows).
    let untrained (options: FitOptions) (data: Dataset) : Pipeline =
        Check.notNull "options.HiddenLayers" options.HiddenLayers
        options.HiddenLayers |> Array.iter (Check.positiveInt "options.HiddenLayers")
        let loss = defaultArg options.Loss (defaultLoss data)
        let classNames = data.ClassNames
        let outputs =
            if classNames.Length = 2 && (loss = Loss.BinaryCrossEntropy || loss = Loss.BinaryCrossEntropyWithLogits) then 1
            elif data.IsClassification then classNames.Length
            else 1
        let outputActivation = if loss = Loss.BinaryCrossEntropy then Activation.Sigmoid else Activation.Identity
        let specs =
            [ for w in options.HiddenLayers -> LayerSpec.Of(w, options.Activation)
              yield LayerSpec.Of(outputs, outputActivation) ]
        let net = Network.init data.FeatureCount specs options.Seed
        let scaler = Scaler.fit options.Scaling data.Features
        let targetScaler =
            match data.Target with
            | Target.Classes _ -> Scaler.identity 0
            | Target.Values v -> Scaler.fitStandard (Matrix<float>.Build.Dense(v.Length, 1, fun i _ -> v.[i]))
        Pipeline.create data.FeatureNames scaler net loss data.TargetName classNames targetScaler

    /// Trains a pipeline on the data, calling `onEpoch` after every epoch. The scaler is fitted
    /// on the training rows (not on validation rows). Each epoch is one full-batch step of the
    /// notes' gradient descent. Raises TrainingDivergedException when the loss stops being finite.
    let fitWith (onEpoch: FitProgress -> unit) (options: FitOptions) (data: Dataset) : FitResult =
        Check.notNull "data" (box data)
        Check.positive "options.LearningRate" options.LearningRate
        Check.positiveInt "options.Epochs" options.Epochs
        if not (options.ValidationFraction >= 0.0 && options.ValidationFraction < 1.0) then
            Check.fail "options.ValidationFraction" (sprintf "ValidationFraction must lie in [0, 1), but is %s." (string options.ValidationFraction))
        let rng = Rng.create options.Seed
        let train, validation =
            if options.ValidationFraction = 0.0 then data, None
            else
                let split, _ =
                    if data.IsClassification then Split.stratified options.ValidationFraction data.Labels rng
                    else Split.shuffled options.ValidationFraction data.SampleCount rng
                Dataset.selectRows split.Train data, Some (Dataset.selectRows split.Test data)
        let start = untrained options train
        let x = Scaler.transform start.Scaler train.Features
        let y = Pipeline.trainingTargets start train
        let validationData =
            validation |> Option.map (fun v -> Scaler.transform start.Scaler (Pipeline.featuresOf start v), Pipeline.trainingTargets start v)
        let loss = start.Loss
        // Checks the data once; the loop then uses the unchecked passes.
        Network.lossAndGradient start.Network loss x y |> ignore
        let clock = Stopwatch.StartNew()
        let trainLosses = Collections.Generic.List<float>()
        let validationLosses = Collections.Generic.List<float>()
        let mutable net = start.Network
        for epoch in 1 .. options.Epochs do
            let _, g = Network.lossAndGradientUnchecked net loss x y
            let next = GradientDescent.step options.LearningRate net g
            let trainLoss = Loss.valueUnchecked loss (Network.forwardUnchecked next x).Output y
            if not (Double.IsFinite trainLoss) || not (Parameters.isFinite next) then
                raise (TrainingDivergedException(epoch, epoch, box net, sprintf "Training diverged at epoch %d: the loss became %g. Try a smaller learning rate." epoch trainLoss))
            net <- next
            trainLosses.Add trainLoss
            let validationLoss =
                match validationData with
                | Some (vx, vy) -> Loss.valueUnchecked loss (Network.forwardUnchecked net vx).Output vy
                | None -> Double.NaN
            if validationData.IsSome then validationLosses.Add validationLoss
            onEpoch { Epoch = epoch; Epochs = options.Epochs; TrainLoss = trainLoss; ValidationLoss = validationLoss }
        { Pipeline = { start with Network = net }
          TrainLosses = trainLosses.ToArray()
          ValidationLosses = validationLosses.ToArray()
          Epochs = options.Epochs
          StopReason = "max_epochs"
          Seconds = clock.Elapsed.TotalSeconds }

    /// `fitWith ignore`.
    let fit (options: FitOptions) (data: Dataset) : FitResult = fitWith ignore options data
