// Float32 networks (docs/precision.md): the network's precision, what rounding does, what it costs.
// Run: dotnet fsi scripts/precision.fsx (after building the core in Release).
#load "load.fsx"
open System
open System.Diagnostics
open Functional.NN

// 0.1 is not a float32 value: a Float32 network stores the nearest one.
let tiny = Network.create [ Dense.create (Mat.ofRows [ [| 0.1 |] ]) None Activation.Identity ]
let tiny32 = Network.withPrecision Precision.Float32 tiny
printfn "weight 0.1 as Float64: %.17g, as Float32: %.17g" tiny.Layers.[0].Weights.[0, 0] tiny32.Layers.[0].Weights.[0, 0]

// Iris, a 4-16-3 network trained by minibatch Adam in each precision from the same start.
let iris = Datasets.iris ()
let order, _ = Rng.permutation 150 (Rng.create 1L)
let train, test = order.[.. 119], order.[120 ..]
let rows idx = Mat.selectRows idx iris.Features
let labels idx = Mat.oneHot 3 (Array.map (fun i -> iris.Labels.[i]) idx)
let data = TrainingData.Of(rows train, labels train)
let options = TrainingOptions.Default.WithBatching(Batching.miniBatch 16).WithOptimizer(Optimizer.adam).WithSchedule(Schedule.Constant 0.01).WithMaxEpochs(100).WithSeed(3L)
let net64 = Network.init 4 [ LayerSpec.Of(16, Activation.ReLU); LayerSpec.Of(3, Activation.Identity) ] 11L
for p in [ Precision.Float64; Precision.Float32 ] do
    let clock = Stopwatch.StartNew()
    let r = Trainer.train options Loss.SoftmaxCrossEntropy data (Network.withPrecision p net64)
    let predicted = Mat.argmaxRows (Network.predict r.Model (rows test))
    let right = Array.fold2 (fun s a b -> if a = b then s + 1 else s) 0 predicted (Array.map (fun i -> iris.Labels.[i]) test)
    printfn "%s: training loss %.6f, test accuracy %d/30, %d bytes as a model file, %.2f s"
        (Precision.name p) r.TrainLoss right (ModelFile.networkToBytes r.Model).Length clock.Elapsed.TotalSeconds

// The cost of the rounding in the reference path: loss and gradient of a 784-128-10 network on a
// batch of 256 rows, best of 5 rounds of 10 calls. The reference Float32 path computes in float64
// and rounds, so it is not faster; the kernels backend (the default, docs/backends.md) computes a Float32 network in float32.
let big = Network.init 784 [ LayerSpec.Of(128, Activation.ReLU); LayerSpec.Of(10, Activation.Identity) ] 2L
let xs, _ = Rng.many (256 * 784) (Rng.nextUniform 0.0 1.0) (Rng.create 4L)
let x = Mat.init 256 784 (fun i j -> xs.[i * 784 + j])
let y = Mat.oneHot 10 (Array.init 256 (fun i -> i % 10))
for p in [ Precision.Float64; Precision.Float32 ] do
    let net = Network.withPrecision p big
    let best =
        [ for _ in 1 .. 5 ->
            let clock = Stopwatch.StartNew()
            for _ in 1 .. 10 do Network.lossAndGradient net Loss.SoftmaxCrossEntropy x y |> ignore
            clock.Elapsed.TotalMilliseconds / 10.0 ]
        |> List.min
    printfn "%s reference lossAndGradient, 784-128-10, batch 256: %.1f ms per call" (Precision.name p) best

// The kernels against the reference on a Float32 network (docs/backends.md, "What differs between
// the backends"): Iris 4-16-3 tanh, Adam at 0.01, minibatches of 16, 5 epochs, for seeds 1 to 12
// (the network's initialisation and the batches' order). The kernels accumulate matrix products
// and evaluate activations in float32, the reference computes each value in float64 and rounds it
// once; training compounds the differences, by an amount that depends on the run.
let paramDiff (seed: int64) =
    let net = Network.withPrecision Precision.Float32 (Network.init 4 [ LayerSpec.Of(16, Activation.Tanh); LayerSpec.Of(3, Activation.Identity) ] seed)
    let o = options.WithMaxEpochs(5).WithSeed(seed).WithoutEarlyStopping()
    let theta (b: Backend) = (Parameters.ofNetwork (Trainer.train (o.WithBackend b) Loss.SoftmaxCrossEntropy data net).Model).ToArray()
    Array.map2 (fun k r -> abs (k - r) / (1.0 + abs r)) (theta Backend.Kernels) (theta Backend.Reference) |> Array.max
let diffs = [ for s in 1L .. 12L -> s, paramDiff s ]
for s, d in diffs do printfn "seed %2d: the parameters differ by at most %.2g (1 + |reference|)" s d
let smallest, largest = List.minBy snd diffs, List.maxBy snd diffs
printfn "kernels vs reference, Float32, Iris 4-16-3 tanh, 5 epochs of Adam: from %.2g (seed %d) to %.2g (seed %d)" (snd smallest) (fst smallest) (snd largest) (fst largest)
