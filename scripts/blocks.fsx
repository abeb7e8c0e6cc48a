// What blocks are for, on the notes' own ground (issue 12, must-show 2): a deep network of
// sigmoid units (8 hidden layers of 32) on the 8x8 digits, three ways -
//   plain:      8 x dense(32, sigmoid)
//   batch norm: 8 x [dense(32, no bias) -> batch normalisation -> sigmoid]
//   residual:   dense(32, sigmoid), then 7 x residual [dense(32, sigmoid)]  (X + s(X W + b))
// each followed by dense(10) and softmax cross-entropy, trained the same way (plain SGD, step 0.1,
// minibatches of 32, the same seed). The script prints, for each, the gradient norm of the first
// and last hidden layer at the start (the vanishing gradient of a deep sigmoid stack), the loss and
// the held-out accuracy per epoch, and draws both curves (scripts/output/blocks-loss.png and
// scripts/output/blocks-accuracy.png). See docs/blocks.md.
// The networks run on the kernels backend, the default for networks of built-in blocks (each prints its backend).
// Run from the repository root after a Release build of the tests: dotnet fsi scripts/blocks.fsx
#load "load.fsx"
// The plots are drawn with ScottPlot from the command-line tool's build folder (as scripts/loan.fsx).
#r "NOT BUILT YET - run 'dotnet build -c Release' in the repository's root (the whole solution, whose command-line tool holds the chart libraries), then run the script again/../../src/Cli.CSharp/bin/Release/net10.0/linux-x64/SkiaSharp.dll"
#r "../src/Cli.CSharp/bin/Release/net10.0/linux-x64/ScottPlot.dll"
open System
open System.Diagnostics
open System.IO
open Functional.NN

/// Every line printed is also kept for scripts/output/blocks.txt.
let log = System.Text.StringBuilder()
let say (line: string) =
    Console.WriteLine line
    log.AppendLine line |> ignore

let epochs = 15
let hidden, width = 8, 32

// The digits: 1797 images of 64 pixels 0..16, scaled to [0, 1]; a fixed shuffle, 1344 to train and 453 held
// out. 1344 = 42 x 32, so every minibatch has 32 rows: with 1347 the last batch of each epoch had 3 rows,
// and batch normalisation by the statistics of 3 rows made the batch-norm run erratic (docs/blocks.md).
let digits = Datasets.digits ()
let n = digits.Features.RowCount
let order, _ = Rng.permutation n (Rng.create 12L)
let trainIdx, testIdx = order.[.. 1343], order.[1344 ..]
let x = digits.Features / 16.0
let y = Mat.oneHot 10 digits.Labels
let xTrain, yTrain = Mat.selectRows trainIdx x, Mat.selectRows trainIdx y
let xTest, yTest = Mat.selectRows testIdx x, Mat.selectRows testIdx y
let labelsTest = testIdx |> Array.map (fun i -> digits.Labels.[i])

let dense units act = BlockSpec.Dense (LayerSpec.Of(units, act))
let plain = [ for _ in 1 .. hidden -> dense width Activation.Sigmoid ]
let batchNorm =
    [ for _ in 1 .. hidden do
        // No bias before batch normalisation (its beta plays that part); Glorot weights as for the sigmoid.
        BlockSpec.Dense { Units = width; Activation = Activation.Identity; UseBias = false; Initializer = Some Initializer.GlorotUniform }
        BlockSpec.BatchNorm
        BlockSpec.Activation Activation.Sigmoid ]
let residual = dense width Activation.Sigmoid :: [ for _ in 2 .. hidden -> BlockSpec.Residual [ dense width Activation.Sigmoid ] ]
let variants = [ "plain", plain; "batch norm", batchNorm; "residual", residual ]

// Plain minibatch SGD for a fixed number of epochs, every option stated (the library's defaults
// are Adam with a plateau stop), on the default backend (the kernels run every built-in block).
let options =
    TrainingOptions.Default.WithBatching(Batching.miniBatch 32).WithSchedule(Schedule.Constant 0.1)
        .WithOptimizer(Optimizer.Sgd).WithoutEarlyStopping().WithMaxEpochs(epochs).WithSeed(5L)

/// |dL/dW| of each dense layer's weights, depth first, at the network's start, on the first 32
/// training images in training mode (batch normalisation by the batch's statistics, as in a step).
let layerGradientNorms (net: Network) =
    let _, g, _ = Network.lossAndGradientIn (Mode.Training 0UL) net Loss.SoftmaxCrossEntropy (xTrain.SubMatrix(0, 32, 0, 64)) (yTrain.SubMatrix(0, 32, 0, 10))
    let rec norms (gs: BlockGradient list) =
        gs |> List.collect (function
            | BlockGradient.Dense d -> [ d.Weights.FrobeniusNorm() ]
            | BlockGradient.Residual inner -> norms inner
            | _ -> [])
    norms g.Blocks

let accuracy (net: Network) =
    let predicted = Mat.argmaxRows (Network.predict net xTest)
    float (Array.fold2 (fun s p t -> if p = t then s + 1 else s) 0 predicted labelsTest) / float labelsTest.Length

let results =
    [ for name, specs in variants ->
        let net = Network.initBlocks 64 (specs @ [ dense 10 Activation.Identity ]) 3L
        let norms = layerGradientNorms net
        let clock = Stopwatch.StartNew()
        let r = Trainer.train options Loss.SoftmaxCrossEntropy (TrainingData.Of(xTrain, yTrain).WithValidation(xTest, yTest)) net
        let seconds = clock.Elapsed.TotalSeconds
        let acc = accuracy r.Model
        say (sprintf "\n%s: %d blocks, %d parameters, %d running statistics, backend %A, %.1f s"
                            name (List.length r.Model.Blocks) net.ParameterCount net.StateCount r.Backend seconds)
        say (sprintf "  gradient norm at the start: first hidden layer %.3g, last hidden layer %.3g (ratio %.3g)"
                            norms.Head norms.[norms.Length - 2] (norms.Head / norms.[norms.Length - 2]))
        say ("  epoch   train loss   held-out loss   held-out accuracy")
        for h in r.History do
            say (sprintf "  %5d %12.4f %15.4f %19.3f" h.Epoch h.TrainLoss h.ValidationLoss.Value h.ValidationMetric.Value)
        say (sprintf "  held-out accuracy after %d epochs: %.3f" epochs acc)
        name, r, acc ]

say ("\nsummary (held-out accuracy after " + string epochs + " epochs):")
for name, _, acc in results do say (sprintf "  %-11s %.3f" name acc)

// The plots: one line per network.
let folder = Path.Combine(__SOURCE_DIRECTORY__, "output")
Directory.CreateDirectory folder |> ignore
let plot (file: string) (title: string) (yLabel: string) (legend: ScottPlot.Alignment) (value: EpochRecord -> float) =
    let plt = new ScottPlot.Plot()
    for name, r, _ in results do
        let s = plt.Add.Scatter(r.History |> List.map (fun h -> float h.Epoch) |> Array.ofList, r.History |> List.map value |> Array.ofList)
        s.LegendText <- name
        s.LineWidth <- 2.0f
        s.MarkerSize <- 4.0f
    plt.Title(title)
    plt.XLabel("epoch")
    plt.YLabel(yLabel)
    plt.ShowLegend(legend) |> ignore
    let path = Path.Combine(folder, file)
    plt.SavePng(path, 800, 500) |> ignore
    Console.WriteLine("plot: " + path)
plot "blocks-loss.png" (sprintf "Deep sigmoid networks (%d hidden layers of %d) on the digits: training loss" hidden width) "training loss (softmax cross-entropy)" ScottPlot.Alignment.UpperRight (fun h -> h.TrainLoss)
plot "blocks-accuracy.png" (sprintf "Deep sigmoid networks (%d hidden layers of %d) on the digits: held-out accuracy" hidden width) "held-out accuracy (453 images)" ScottPlot.Alignment.MiddleRight (fun h -> h.ValidationMetric.Value)
File.WriteAllText(Path.Combine(folder, "blocks.txt"), log.ToString())
Console.WriteLine("numbers: " + Path.Combine(folder, "blocks.txt"))

// What the script shows, checked: both blocks train the deep sigmoid stack far better than plain.
let accOf name = results |> List.pick (fun (n, _, a) -> if n = name then Some a else None)
if not (accOf "batch norm" > accOf "plain" + 0.2 && accOf "residual" > accOf "plain" + 0.2) then
    failwithf "expected batch normalisation and residual connections to beat the plain deep network by 20 points (%.3f, %.3f vs %.3f)"
        (accOf "batch norm") (accOf "residual") (accOf "plain")
