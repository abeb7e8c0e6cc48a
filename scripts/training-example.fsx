#load "load.fsx"
open Functional.NN

// Iris: 150 samples, 4 features, 3 classes. A seeded split: 120 to train, 30 to validate.
let iris = Datasets.iris ()
let order, _ = Rng.permutation 150 (Rng.create 1L)
let train, valid = order.[.. 119], order.[120 ..]
let rows idx = Mat.selectRows idx iris.Features
let labels idx = Mat.oneHot 3 (Array.map (fun i -> iris.Labels.[i]) idx)
let data = TrainingData.Of(rows train, labels train).WithValidation(rows valid, labels valid)

// A 4-16-3 network and the options: minibatches of 16, Adam at 0.01, at most 200 epochs,
// early stopping after 20 epochs without a better validation loss.
let net = Network.init 4 [ LayerSpec.Of(16, Activation.ReLU); LayerSpec.Of(3, Activation.Identity) ] 11L
let options =
    TrainingOptions.Default
        .WithBatching(Batching.miniBatch 16)
        .WithOptimizer(Optimizer.adam)
        .WithSchedule(Schedule.Constant 0.01)
        .WithMaxEpochs(200)
        .WithEarlyStopping(EarlyStopping.Default.WithPatience 20)
        .WithSeed(3L)

// Progress as it happens (every 25th epoch), then the result: why it stopped and the history.
let hooks = { TrainingHooks.None with OnEpoch = fun h -> if h.Epoch % 25 = 0 then printfn "epoch %3d  train loss %.4f  validation accuracy %.3f" h.Epoch h.TrainLoss (Option.defaultValue nan h.ValidationMetric) }
let result = Trainer.trainWith hooks options Loss.SoftmaxCrossEntropy data net
// Under the plateau stop with validation data the result holds the best epoch's network (whichever
// rule stopped the run); the checkpoint holds the last, to resume from.
printfn "stopped by %A after %d epochs (%d steps); best epoch %A; training loss %.4f" result.StopReason result.Epochs result.Steps result.BestEpoch result.TrainLoss

// Train 10 epochs more from the checkpoint: the same as if the first run had gone on.
let more = Trainer.resume (options.WithMaxEpochs(result.Epochs + 10)) Loss.SoftmaxCrossEntropy data result.Checkpoint
printfn "resumed to epoch %d; training loss %.4f" more.Epochs more.TrainLoss
