// Batching modes and step-size schedules on the notes' commute regression (ch. 1.7 and 2.2):
// the notes' minibatch experiment and its stopping rule, the long run to W*, and loss curves of
// every batching mode and schedule as tables. Build first: dotnet build src/Core.FSharp -c Release
#load "load.fsx"

open System
open Functional.NN

// x = (1, distance km, weekday), y = commute minutes; W = (w0, w1, w2) as in the notes.
let xs = [| [| 1.0; 2.7; 1.0 |]; [| 1.0; 4.1; 1.0 |]; [| 1.0; 1.0; 0.0 |]; [| 1.0; 5.2; 1.0 |]; [| 1.0; 2.8; 0.0 |] |]
let ys = [| 25.0; 33.0; 15.0; 45.0; 22.0 |]
let wStar = [| 6.08613445378149; 6.53361344537816; 2.11274509803922 |]   // the notes' W*

/// C_B(W) = 1/(2b) sum_{i in B} (x_i W - y_i)^2 and its gradient, over plain arrays.
let objective : Objective =
    { SampleCount = xs.Length
      LossAndGradient =
        fun w idx ->
            let g = Array.zeroCreate 3
            let mutable l = 0.0
            for i in idx do
                let r = Array.fold2 (fun s a b -> s + a * b) 0.0 xs.[i] w - ys.[i]
                l <- l + r * r
                for j in 0 .. 2 do g.[j] <- g.[j] + r * xs.[i].[j]
            let b = float idx.Length
            l / (2.0 * b), Array.map (fun v -> v / b) g
      Validation = None }

let cost w = fst (objective.LossAndGradient w [| 0 .. xs.Length - 1 |])
let distance (w: float[]) = Array.map2 (fun a b -> abs (a - b)) w wStar |> Array.max
let show (w: float[]) = w |> Array.map (sprintf "%.4f") |> String.concat ", " |> sprintf "[%s]"
let w0 = [| 0.0; 0.0; 0.0 |]
let optimum = cost wStar

let notes =
    { TrainingOptions.Default with
        Batching = Batching.MiniBatch(2, Sampling.WithoutReplacement)
        Schedule = Schedule.InverseSqrt 0.06
        // The notes' plain SGD and their stopping rule only (the defaults' Adam and plateau stop off).
        Optimizer = OptimizerSettings.Default
        EarlyStopping = None
        // C(W) below is the cost of the weights at each epoch's end (the whole set, one more pass), not the
        // mean of the batch losses measured before their steps (the default's free figure).
        ExactEpochLoss = true
        Seed = 1L
        MaxEpochs = Int32.MaxValue }

printfn "Least-squares optimum: W* = %s, C(W*) = %.6f" (show wStar) optimum
printfn ""
printfn "1. The notes' experiment: b = 2 without replacement, eta_t = 0.06/sqrt(t), W = 0,"
printfn "   stop when max|W(t+1) - W(t)| < 0.02."
printfn "   seed  steps  C(W)      C/C(W*)  W                             max|W - W*|"
for seed in 1L .. 5L do
    let r = Trainer.trainVector ((notes.WithSeed seed).WithParameterTolerance 0.02) objective w0
    printfn "   %4d  %5d  %.4f  %7.3f  %-28s  %.3f" seed r.Steps r.TrainLoss (r.TrainLoss / optimum) (show r.Model) (distance r.Model)
printfn "   The rule fires within a few steps with a cost below twice the optimum, but W is far from W*:"
printfn "   it measures how small eta_t * gradient has become, not how close W is to the optimum."
printfn ""
let long = Trainer.trainVector (notes.WithMaxSteps 600000) objective w0
printfn "2. The same schedule run on for %d steps (%d epochs): W = %s, max|W - W*| = %.2g, C(W) = %.6f"
    long.Steps long.Epochs (show long.Model) (distance long.Model) long.TrainLoss
printfn ""

/// Training loss at the end of the given epochs.
let curve (options: TrainingOptions) (epochs: int list) =
    let r = Trainer.trainVector (options.WithMaxEpochs (List.max epochs)) objective w0
    let byEpoch = r.History |> List.map (fun h -> h.Epoch, h.TrainLoss) |> dict
    epochs |> List.map (fun e -> byEpoch.[e])

let table (title: string) (rows: (string * TrainingOptions) list) =
    let epochs = [ 1; 3; 10; 30; 100; 300; 1000; 3000 ]
    printfn "%s" title
    printfn "   %-40s %s" "epoch:" (epochs |> List.map (sprintf "%9d") |> String.concat "")
    for name, o in rows do
        let c = curve o epochs
        printfn "   %-40s %s" name (c |> List.map (sprintf "%9.4f") |> String.concat "")
    printfn ""

let sqrtC = Schedule.InverseSqrt 0.06
table "3. Training loss C(W) by batching mode (schedule 0.06/sqrt(t); C(W*) = 2.3971):"
    [ "full batch", { notes with Batching = Batching.FullBatch; Schedule = sqrtC }
      "SGD, one sample, without replacement", { notes with Batching = Batching.Stochastic Sampling.WithoutReplacement }
      "SGD, one sample, with replacement", { notes with Batching = Batching.Stochastic Sampling.WithReplacement }
      "minibatch b = 2, without replacement", notes
      "minibatch b = 2, with replacement", { notes with Batching = Batching.MiniBatch(2, Sampling.WithReplacement) } ]

table "4. Training loss C(W) by schedule (minibatch b = 2 without replacement):"
    [ "constant 0.06", notes.WithSchedule(Schedule.Constant 0.06)
      "C/sqrt(t), C = 0.06 (the notes)", notes
      "C/t, C = 0.06", notes.WithSchedule(Schedule.Inverse 0.06)
      "step decay 0.06 * 0.5^floor((t-1)/1000)", notes.WithSchedule(Schedule.StepDecay(0.06, 0.5, 1000))
      "exponential 0.06 * 0.999^(t-1)", notes.WithSchedule(Schedule.Exponential(0.06, 0.999))
      "cosine 0.06 -> 0.0001 over 9000 steps", notes.WithSchedule(Schedule.Cosine(0.06, 0.0001, 9000)) ]

printfn "Per epoch, the modes that take more steps (one sample: 5 steps, b = 2: 3 steps, full batch: 1 step)"
printfn "get further with the same schedule. A constant step keeps jumping around the optimum (the noise of"
printfn "the sampled gradients does not shrink), C/t decays so fast that it stalls far above it, and the"
printfn "schedules that decay to small steps late (step decay, exponential, cosine) end closest to C(W*)."
