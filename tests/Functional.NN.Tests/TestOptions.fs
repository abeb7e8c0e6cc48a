/// Training options the tests state explicitly instead of relying on the library's defaults (which
/// changed in issue 13 to Adam 1e-3 with a plateau stop): a test's expected values hold for the
/// options written here, whatever the defaults become.
module Functional.NN.Tests.TestOptions

open Functional.NN

/// Plain minibatch SGD: batches of 32 drawn without replacement, constant step 0.01, no momentum,
/// decay or clipping, seed 0, 100 epochs and no stopping rule but the epoch limit (the trainer's
/// defaults before issue 13, which these tests were written against).
let sgd =
    { TrainingOptions.Default with
        Batching = Batching.MiniBatch(32, Sampling.WithoutReplacement)
        Schedule = Schedule.Constant 0.01
        Optimizer = OptimizerSettings.Default
        Seed = 0L
        MaxEpochs = 100
        EarlyStopping = None }

/// The pipeline's settings before issue 13: FitOptions.Default with the notes' plain gradient
/// descent (full batch, constant step 0.5, 500 epochs, no plateau stop).
let notesFit = FitOptions.Default.WithTraining(TrainingOptions.GradientDescent(0.5, 500))
