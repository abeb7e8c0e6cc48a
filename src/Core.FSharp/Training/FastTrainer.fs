namespace Functional.NN

open System
open System.Numerics
open MathNet.Numerics.LinearAlgebra
open Functional.NN.Kernels

/// The result of a fast training run: the trained network (a new value) and the loss per epoch.
type FastTrainingResult =
    { /// The trained network: new float64 matrices, the caller's network is not changed.
      Network: Network
      /// For each epoch, the mean of its minibatch losses weighted by the batch sizes,
      /// (1/n) sum_b |B_b| L_b, each L_b computed before the step on batch b.
      EpochLosses: float[] }

/// The fast path: plain minibatch SGD and prediction through the managed kernels
/// (Functional.NN.Kernels.DenseTrainer), with the reference trainer's rule and batch order.
/// Each step on batch B is W <- W - eta dL_B/dW, b <- b - eta dL_B/db, the notes' minibatch SGD
/// (2.3) with the mean loss over the batch. The kernels' buffers belong to a trainer created for
/// the call and are never visible to the caller; networks and matrices passed in are not changed.
[<RequireQualifiedAccess>]
module FastTrainer =

    /// The kernel activation of a layer, or ArgumentException (ParamName "net") naming the layer.
    let private activationOf (i: int) (layer: Dense) : ActivationKind * float =
        if layer.Bias.IsNone then
            Check.fail "net" (sprintf "Layer %d has no bias; the fast path needs a bias in every layer (build the layer with UseBias = true)." i)
        match layer.Activation with
        | Activation.Identity -> ActivationKind.Identity, 0.01
        | Activation.Sigmoid -> ActivationKind.Sigmoid, 0.01
        | Activation.Tanh -> ActivationKind.Tanh, 0.01
        | Activation.ReLU -> ActivationKind.ReLU, 0.01
        | Activation.LeakyReLU slope -> ActivationKind.LeakyReLU, slope
        | Activation.Softplus -> ActivationKind.Softplus, 0.01
        | a -> Check.fail "net" (sprintf "Layer %d uses the %s activation, which the fast path does not support (it supports identity, sigmoid, tanh, ReLU, leaky ReLU and softplus)." i (Activation.name a))

    /// The kernel loss, or ArgumentException (ParamName "loss").
    let private lossOf (loss: Loss) : LossKind =
        match loss with
        | Loss.SoftmaxCrossEntropy -> LossKind.SoftmaxCrossEntropy
        | Loss.MeanSquaredError -> LossKind.MeanSquaredError
        | Loss.HalfMeanSquaredError -> LossKind.HalfMeanSquaredError
        | l -> Check.fail "loss" (sprintf "The fast path does not support the %s loss; it supports softmax cross-entropy, mean squared error and half mean squared error." (Loss.name l))

    /// Raises ArgumentException unless every layer suits the kernels.
    let checkSupported (net: Network) =
        Check.notNull "net" (box net)
        if List.isEmpty net.Layers then Check.fail "net" "The network has no layers; build it with Network.create or Network.init."
        net.Layers |> List.iteri (fun i l -> activationOf i l |> ignore)

    /// A column-major rows x cols array as a row-major 'T[], transposed in 32 x 32 tiles (so that
    /// both the reads and the writes stay within a few cache lines), each value converted by f.
    let inline private transposeWith ([<InlineIfLambda>] f: float -> 'T) (data: float[]) (rows: int) (cols: int) : 'T[] =
        let result = Array.zeroCreate (rows * cols)
        let tile = 32
        for i0 in 0 .. tile .. rows - 1 do
            for j0 in 0 .. tile .. cols - 1 do
                for j in j0 .. min (j0 + tile) cols - 1 do
                    for i in i0 .. min (i0 + tile) rows - 1 do
                        result.[i * cols + j] <- f data.[j * rows + i]
        result

    /// Conversions between float64 arrays and the element type 'T, with whole-array loops.
    type private Conv<'T> =
        { Of: float[] -> 'T[]
          /// A column-major float64 array of rows x cols as a row-major 'T[].
          OfColumnMajor: float[] -> int -> int -> 'T[]
          To: 'T[] -> float[]
          AllFinite: 'T[] -> bool }

    let private f64 : Conv<float> =
        { Of = id
          OfColumnMajor = fun a r c -> transposeWith id a r c
          To = Array.copy
          AllFinite = fun a -> (let mutable ok = true in (for v in a do if not (Double.IsFinite v) then ok <- false); ok) }

    let private f32 : Conv<float32> =
        { Of = fun a -> (let r = Array.zeroCreate a.Length in (for i in 0 .. a.Length - 1 do r.[i] <- float32 a.[i]); r)
          OfColumnMajor = fun a r c -> transposeWith float32 a r c
          To = fun a -> (let r = Array.zeroCreate a.Length in (for i in 0 .. a.Length - 1 do r.[i] <- float a.[i]); r)
          AllFinite = fun a -> (let mutable ok = true in (for v in a do if not (Single.IsFinite v) then ok <- false); ok) }

    /// A matrix's values, row-major, as a new 'T[].
    let private rowMajor (c: Conv<'T>) (m: Matrix<float>) : 'T[] =
        match m.AsColumnMajorArray() with
        | null -> c.Of (m.ToRowMajorArray())
        | data -> c.OfColumnMajor data m.RowCount m.ColumnCount

    /// A new trainer for the network's shape holding a copy of its parameters.
    let private trainerFor (c: Conv<'T>) (net: Network) (loss: LossKind) (batchSize: int) : DenseTrainer<'T> =
        let specs = net.Layers |> List.mapi (fun i l -> let a, s = activationOf i l in DenseLayerSpec(l.OutputSize, a, s)) |> Array.ofList
        let trainer = DenseTrainer<'T>(net.InputSize, specs, loss, batchSize)
        net.Layers |> List.iteri (fun i l ->
            let b = l.Bias.Value
            trainer.SetParameters(i, ReadOnlySpan(rowMajor c l.Weights), ReadOnlySpan(c.Of (b.ToArray()))))
        trainer

    /// A new network of the template's shape and activations with the trainer's parameters.
    /// The network keeps the template's precision (its values rounded to it).
    let private networkOf (c: Conv<'T>) (template: Network) (trainer: DenseTrainer<'T>) : Network =
        let keep = Precision.roundArray template.Precision
        { Layers =
            template.Layers |> List.mapi (fun i l ->
                let w = trainer.Weights(i).ToArray()
                let b = trainer.Biases(i).ToArray()
                { Weights = Matrix<float>.Build.DenseOfRowMajor(l.InputSize, l.OutputSize, keep (c.To w))
                  Bias = Some (Vector<float>.Build.DenseOfArray(keep (c.To b)))
                  Activation = l.Activation })
          Precision = template.Precision }

    let private nonFinite (x: float) = Double.IsNaN x || Double.IsInfinity x

    let private predictT (c: Conv<'T>) (net: Network) (x: Matrix<float>) : Matrix<float> =
        let n, k, d = x.RowCount, net.OutputSize, net.InputSize
        let chunk = min n 1024
        let trainer = trainerFor c net LossKind.HalfMeanSquaredError chunk
        trainer.Parallelism <- TrainerParallelism.Kernels
        let xs = rowMajor c x
        let result = Array.zeroCreate<float> (n * k)
        let mutable r0 = 0
        while r0 < n do
            let rows = min chunk (n - r0)
            let out = c.To (trainer.Forward(ReadOnlySpan(xs, r0 * d, rows * d), rows).ToArray())
            Array.blit out 0 result (r0 * k) (rows * k)
            r0 <- r0 + rows
        Matrix<float>.Build.DenseOfRowMajor(n, k, result)

    let private trainT (c: Conv<'T>) (net: Network) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>)
                       (learningRate: float) (batchSize: int) (epochs: int) (seed: int64) : FastTrainingResult =
        let n, d, k = x.RowCount, net.InputSize, net.OutputSize
        let b = min batchSize n
        let trainer = trainerFor c net (lossOf loss) b
        let xs, ys = rowMajor c x, rowMajor c y
        let xb, yb = Array.zeroCreate<'T> (b * d), Array.zeroCreate<'T> (b * k)
        let layers = trainer.LayerCount
        // The parameters before the current step (for TrainingDivergedException.LastGood), and
        // after it (copied out to be checked); the two sets swap after every good step.
        let mutable goodW = Array.init layers (fun l -> trainer.Weights(l).ToArray())
        let mutable goodB = Array.init layers (fun l -> trainer.Biases(l).ToArray())
        let mutable newW = Array.init layers (fun l -> Array.zeroCreate<'T> (trainer.Weights(l).Length))
        let mutable newB = Array.init layers (fun l -> Array.zeroCreate<'T> (trainer.Biases(l).Length))
        let rate = (c.Of [| learningRate |]).[0]
        let batching = Batching.miniBatch b
        let losses = Array.zeroCreate epochs
        let mutable rng = Rng.create seed
        let mutable step = 0
        let diverged (epoch: int) (what: string) =
            for l in 0 .. layers - 1 do
                ReadOnlySpan(goodW.[l]).CopyTo(trainer.Weights l)
                ReadOnlySpan(goodB.[l]).CopyTo(trainer.Biases l)
            let lastGood = networkOf c net trainer
            raise (TrainingDivergedException(epoch, step, lastGood,
                    sprintf "Training diverged at epoch %d, step %d: %s. The last finite parameters are in LastGood; try a smaller learning rate (it was %g)." epoch step what learningRate))
        for epoch in 1 .. epochs do
            let batches, r = Batching.epoch batching n rng
            rng <- r
            let mutable total = 0.0
            for batch in batches do
                step <- step + 1
                let rows = batch.Length
                for i in 0 .. rows - 1 do
                    Array.blit xs (batch.[i] * d) xb (i * d) d
                    Array.blit ys (batch.[i] * k) yb (i * k) k
                let value = trainer.Step(ReadOnlySpan xb, ReadOnlySpan yb, rows, rate)
                if nonFinite value then diverged epoch (sprintf "the batch loss became %g" value)
                let mutable ok = true
                for l in 0 .. layers - 1 do
                    trainer.Weights(l).CopyTo(Span newW.[l])
                    trainer.Biases(l).CopyTo(Span newB.[l])
                    if not (c.AllFinite newW.[l] && c.AllFinite newB.[l]) then ok <- false
                if not ok then diverged epoch "a parameter became NaN or infinite"
                let w, bs = goodW, goodB
                goodW <- newW
                goodB <- newB
                newW <- w
                newB <- bs
                total <- total + value * float rows
            losses.[epoch - 1] <- total / float n
        { Network = networkOf c net trainer; EpochLosses = losses }

    /// The network's output for a batch X (n x d_in, one sample per row) through the kernels, in
    /// the given precision: s(... s(X W_1 + 1 b_1) ... W_L + 1 b_L), as Network.predict.
    /// Raises ArgumentException for a bad X or a layer the kernels do not support.
    let predict (precision: Precision) (net: Network) (x: Matrix<float>) : Matrix<float> =
        checkSupported net
        Network.checkInput net "x" x
        match precision with
        | Precision.Float64 -> predictT f64 net x
        | Precision.Float32 -> predictT f32 net x

    /// Trains a copy of the network by plain minibatch SGD through the kernels: `epochs` epochs,
    /// each a fresh permutation of the n samples (drawn from Rng.create seed, exactly as
    /// Trainer.train with Batching.MiniBatch(batchSize, WithoutReplacement)) cut into batches of
    /// `batchSize` (the last may be smaller), one step W <- W - learningRate dL_B/dW per batch.
    /// Every layer needs a bias and a supported activation; the loss must be softmax
    /// cross-entropy, MSE or half MSE (else ArgumentException). Raises
    /// TrainingDivergedException (LastGood: the last finite Network) when a batch loss or a
    /// parameter stops being finite. The network and matrices passed in are not changed.
    let train (precision: Precision) (loss: Loss) (learningRate: float) (batchSize: int) (epochs: int) (seed: int64)
              (x: Matrix<float>) (y: Matrix<float>) (net: Network) : FastTrainingResult =
        checkSupported net
        lossOf loss |> ignore
        Network.checkInput net "x" x
        Loss.checkTargetNamed "y" loss (Matrix<float>.Build.Dense(x.RowCount, net.OutputSize)) y
        Check.positive "learningRate" learningRate
        Check.positiveInt "batchSize" batchSize
        Check.positiveInt "epochs" epochs
        match precision with
        | Precision.Float64 -> trainT f64 net loss x y learningRate batchSize epochs seed
        | Precision.Float32 -> trainT f32 net loss x y learningRate batchSize epochs seed
