namespace Functional.NN

open System
open System.Numerics
open System.Runtime.InteropServices
open System.Threading
open MathNet.Numerics.LinearAlgebra
open Functional.NN.Kernels

/// The result of a fast training run: the trained network (a new value) and the loss per epoch.
type FastTrainingResult =
    { /// The trained network: new float64 matrices, the caller's network is not changed.
      Network: Network
      /// For each epoch, the mean of its minibatch losses weighted by the batch sizes,
      /// (1/n) sum_b |B_b| L_b, each L_b computed before the step on batch b.
      EpochLosses: float[] }

/// The fast path's element types: the one place where a Precision chooses float or float32, and
/// the conversions between float64 values and the chosen type. Internal to the library.
module internal FastElement =

    /// A column-major rows x cols array as a row-major 'T[], transposed in 32 x 32 tiles (so that
    /// both the reads and the writes stay within a few cache lines), each value converted by f.
    let inline private transposeWith ([<InlineIfLambda>] f: float -> 'T) (data: float[]) (rows: int) (cols: int) : 'T[] =
        // Every element is written below: no need to zero the (large) array first.
        let result = GC.AllocateUninitializedArray<'T> (rows * cols)
        let tile = 32
        for i0 in 0 .. tile .. rows - 1 do
            for j0 in 0 .. tile .. cols - 1 do
                for j in j0 .. min (j0 + tile) cols - 1 do
                    for i in i0 .. min (i0 + tile) rows - 1 do
                        result.[i * cols + j] <- f data.[j * rows + i]
        result

    /// Conversions between float64 arrays and the element type 'T, with whole-array loops.
    type Conv<'T> =
        { Precision: Precision
          Of: float[] -> 'T[]
          /// A column-major float64 array of rows x cols as a row-major 'T[].
          OfColumnMajor: float[] -> int -> int -> 'T[]
          To: 'T[] -> float[] }

    let private f64 : Conv<float> =
        { Precision = Precision.Float64
          Of = id
          OfColumnMajor = fun a r c -> transposeWith id a r c
          To = Array.copy }

    let private f32 : Conv<float32> =
        { Precision = Precision.Float32
          Of = fun a -> (let r = Array.zeroCreate a.Length in (for i in 0 .. a.Length - 1 do r.[i] <- float32 a.[i]); r)
          OfColumnMajor = fun a r c -> transposeWith float32 a r c
          To = fun a -> (let r = Array.zeroCreate a.Length in (for i in 0 .. a.Length - 1 do r.[i] <- float a.[i]); r) }

    /// Work that is generic in the kernels' element type 'T (float or float32).
    type IJob<'R> =
        abstract Run<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> : Conv<'T> -> 'R

    /// Runs the job with the element type of the precision: float for Float64, float32 for Float32.
    /// The only place where a precision picks a type.
    let withElement (precision: Precision) (job: IJob<'R>) : 'R =
        match precision with
        | Precision.Float64 -> job.Run f64
        | Precision.Float32 -> job.Run f32

    /// A matrix's values, row-major, as a new 'T[].
    let rowMajor (c: Conv<'T>) (m: Matrix<float>) : 'T[] =
        match m.AsColumnMajorArray() with
        | null -> c.Of (m.ToRowMajorArray())
        | data -> c.OfColumnMajor data m.RowCount m.ColumnCount

    /// True when every value is finite: v - v is 0 for a finite v and NaN for NaN or an infinity,
    /// so one vector comparison covers Vector<'T>.Count values.
    let allFinite<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (values: ReadOnlySpan<'T>) : bool =
        let vectors = MemoryMarshal.Cast<'T, Numerics.Vector<'T>> values
        let mutable ok = true
        for i in 0 .. vectors.Length - 1 do
            let v = vectors.[i]
            if not (Numerics.Vector.EqualsAll(v - v, Numerics.Vector<'T>.Zero)) then ok <- false
        for i in vectors.Length * Numerics.Vector<'T>.Count .. values.Length - 1 do
            if not ('T.IsFinite values.[i]) then ok <- false
        ok

    /// Writes a matrix's values into dst row-major, each converted to 'T (rounded to nearest):
    /// the column-major storage transposed in 32 x 32 tiles, without an intermediate array.
    let copyRowMajor<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (m: Matrix<float>) (dst: Span<'T>) =
        let rows, cols = m.RowCount, m.ColumnCount
        match m.AsColumnMajorArray() with
        | null ->
            let a = m.ToRowMajorArray()
            for i in 0 .. a.Length - 1 do dst.[i] <- 'T.CreateTruncating a.[i]
        | data ->
            for i0 in 0 .. 32 .. rows - 1 do
                for j0 in 0 .. 32 .. cols - 1 do
                    for j in j0 .. min (j0 + 32) cols - 1 do
                        for i in i0 .. min (i0 + 32) rows - 1 do
                            dst.[i * cols + j] <- 'T.CreateTruncating data.[j * rows + i]

    /// A new rows x cols float64 matrix from row-major 'T values, built on its own column-major
    /// array (filled by a tiled transpose; the matrix binds to it without another copy).
    let matrixOfRowMajor<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (rows: int) (cols: int) (src: ReadOnlySpan<'T>) : Matrix<float> =
        let data = Array.zeroCreate<float> (rows * cols)
        for i0 in 0 .. 32 .. rows - 1 do
            for j0 in 0 .. 32 .. cols - 1 do
                for i in i0 .. min (i0 + 32) rows - 1 do
                    for j in j0 .. min (j0 + 32) cols - 1 do
                        data.[j * rows + i] <- Double.CreateTruncating src.[i * cols + j]
        Matrix<float>.Build.Dense(rows, cols, data)

    /// A new float64 vector of the 'T values.
    let vectorOf<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (src: ReadOnlySpan<'T>) : MathNet.Numerics.LinearAlgebra.Vector<float> =
        let data = Array.zeroCreate<float> src.Length
        for i in 0 .. src.Length - 1 do data.[i] <- Double.CreateTruncating src.[i]
        MathNet.Numerics.LinearAlgebra.Vector<float>.Build.Dense(data)

    /// dst.[i] <- float32 src.[i] (rounded to nearest), sixteen at a time where the CPU has 512-bit vectors.
    let narrow (src: ReadOnlySpan<float>) (dst: Span<float32>) =
        let mutable i = 0
        if Runtime.Intrinsics.Vector512.IsHardwareAccelerated then
            let s = MemoryMarshal.Cast<float, Runtime.Intrinsics.Vector512<float>> src
            let d = MemoryMarshal.Cast<float32, Runtime.Intrinsics.Vector512<float32>> dst
            let pairs = min (s.Length / 2) d.Length
            for p in 0 .. pairs - 1 do
                d.[p] <- Runtime.Intrinsics.Vector512.Narrow(s.[2 * p], s.[2 * p + 1])
            i <- pairs * 16
        while i < src.Length do
            dst.[i] <- float32 src.[i]
            i <- i + 1

/// Training data prepared once for the fast path (FastTrainer.prepare): the samples copied into
/// the kernels' layout (row-major) and element type, checked once (shapes, finite values), so
/// that FastTrainer.trainOn can use them on every call without converting or checking again.
/// Immutable: nothing outside the library can reach or change the copied values, and the
/// matrices it was made from are neither kept nor changed.
[<Sealed>]
type FastData internal (precision: Precision, samples: int, inputs: int, outputs: int, x: obj, y: obj,
                        targetOutsideUnit: struct (int * int * float) voption) =
    // The trainer of the last trainOn on this data (with the shape it was made for), lent to the
    // next call of the same shape so that it need not allocate and warm up a new one. Only its
    // scratch buffers carry over (every call sets the parameters), so results do not depend on it.
    let mutable spareTrainer : obj = null
    /// The element type the values were converted to (the arithmetic's precision in trainOn).
    member _.Precision = precision
    /// The number of samples n (rows of X and Y).
    member _.SampleCount = samples
    /// The number of input columns d_in (each row of X).
    member _.InputSize = inputs
    /// The number of target columns d_out (each row of Y).
    member _.OutputSize = outputs
    /// X as a row-major 'T[] of n x d_in (the 'T of Precision).
    member internal _.X = x
    /// Y as a row-major 'T[] of n x d_out.
    member internal _.Y = y
    /// The first target outside [0, 1] (row, column, value), which a cross-entropy loss rejects.
    member internal _.TargetOutsideUnit = targetOutsideUnit
    /// Takes the spare trainer (null when there is none, or another call holds it).
    member internal _.TakeTrainer() : obj = Interlocked.Exchange(&spareTrainer, null)
    /// Leaves a trainer for the next call.
    member internal _.ReturnTrainer(trainer: obj) = Volatile.Write(&spareTrainer, trainer)
    /// "FastData (Float32, 8192 samples, 784 -> 10)".
    override _.ToString() = sprintf "FastData (%A, %d samples, %d -> %d)" precision samples inputs outputs

/// A single-sample predictor (FastTrainer.predictor): the network's output for one sample at a
/// time through the kernels, with low latency. It owns the kernels' buffers and a private copy of
/// the network's parameters (in its precision), so the network it was made from stays unchanged
/// and nothing outside can change what it computes. Thread-safe (calls are serialised by a lock); the
/// span overload allocates nothing.
[<AbstractClass>]
type FastPredictor internal () =
    /// The precision of the arithmetic.
    abstract Precision : Precision
    /// The number of inputs d_in a sample has.
    abstract InputSize : int
    /// The number of outputs d_out.
    abstract OutputSize : int
    /// Writes the network's output for the sample x (InputSize values) into output (OutputSize
    /// values): s(... s(x W_1 + b_1) ... W_L + b_L), as Network.predict on a one-row matrix.
    /// Raises ArgumentException (ParamName "x" or "output") for a wrong length or a non-finite input.
    abstract Predict : x: ReadOnlySpan<float> * output: Span<float> -> unit
    /// The network's output for the sample x (InputSize values), as a new array.
    member this.Predict(x: float[]) : float[] =
        Check.notNull "x" x
        let output = Array.zeroCreate this.OutputSize
        this.Predict(ReadOnlySpan x, Span output)
        output

/// The fast path: plain minibatch SGD and prediction through the managed kernels
/// (Functional.NN.Kernels.DenseTrainer), with the reference trainer's rule and batch order.
/// Each step on batch B is W <- W - eta dL_B/dW, b <- b - eta dL_B/db, the notes' minibatch SGD
/// (2.3) with the mean loss over the batch. The kernels' buffers belong to a trainer used by one
/// call at a time (made for the call, or lent by the FastData from its last call) or to a
/// FastPredictor, and are never visible to the caller; networks, matrices and FastData passed in
/// are not changed.
[<RequireQualifiedAccess>]
module FastTrainer =

    open FastElement

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

    /// The kernel layers of the network.
    let private specsOf (net: Network) : DenseLayerSpec[] =
        net.Layers |> List.mapi (fun i l -> let a, s = activationOf i l in DenseLayerSpec(l.OutputSize, a, s)) |> Array.ofList

    /// Copies the network's parameters into the trainer (of the network's shape).
    let private setParameters (net: Network) (trainer: DenseTrainer<'T>) =
        net.Layers |> List.iteri (fun i l ->
            copyRowMajor l.Weights (trainer.Weights i)
            let b = l.Bias.Value
            let bias = trainer.Biases i
            for j in 0 .. b.Count - 1 do bias.[j] <- 'T.CreateTruncating b.[j])

    /// A new trainer for the network's shape holding a copy of its parameters.
    let private trainerFor (net: Network) (loss: LossKind) (batchSize: int) : DenseTrainer<'T> =
        let trainer = DenseTrainer<'T>(net.InputSize, specsOf net, loss, batchSize)
        setParameters net trainer
        trainer

    /// A trainer and its epoch-start parameter buffers, with what they were made for; lent by
    /// FastData from one call to the next.
    type private LentTrainer<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> =
        { Inputs: int; Specs: DenseLayerSpec[]; Loss: LossKind; BatchSize: int
          Trainer: DenseTrainer<'T>
          /// Room for a copy of every layer's weights and biases (the epoch-start parameters).
          StartW: 'T[][]
          StartB: 'T[][]
          /// Room for a batch's inputs and targets, gathered (BatchSize x d_in and BatchSize x d_out).
          BatchX: 'T[]
          BatchY: 'T[] }

    /// Runs f with a trainer for the network (holding a copy of its parameters): the data's spare
    /// one when it has the same shape, loss and batch size, else a new one; then leaves it as the spare.
    let private withTrainer (data: FastData) (net: Network) (loss: LossKind) (batchSize: int) (f: LentTrainer<'T> -> 'R) : 'R =
        let specs = specsOf net
        let lent =
            match data.TakeTrainer() with
            | :? LentTrainer<'T> as s when s.Inputs = net.InputSize && s.Specs = specs && s.Loss = loss && s.BatchSize = batchSize ->
                s.Trainer.Parallelism <- TrainerParallelism.Auto
                setParameters net s.Trainer
                s
            | _ ->
                let trainer = trainerFor net loss batchSize
                { Inputs = net.InputSize; Specs = specs; Loss = loss; BatchSize = batchSize; Trainer = trainer
                  StartW = Array.init trainer.LayerCount (fun l -> Array.zeroCreate (trainer.Weights(l).Length))
                  StartB = Array.init trainer.LayerCount (fun l -> Array.zeroCreate (trainer.Biases(l).Length))
                  BatchX = Array.zeroCreate (batchSize * net.InputSize)
                  BatchY = Array.zeroCreate (batchSize * net.OutputSize) }
        try
            f lent
        finally
            data.ReturnTrainer lent

    /// A new network of the template's shape and activations with the trainer's parameters.
    /// The network keeps the template's precision (its values rounded to it).
    let private networkOf (template: Network) (trainer: DenseTrainer<'T>) : Network =
        let p = template.Precision
        { Layers =
            template.Layers |> List.mapi (fun i l ->
                { Weights = Precision.roundMatrix p (matrixOfRowMajor l.InputSize l.OutputSize (Span<'T>.op_Implicit (trainer.Weights i)))
                  Bias = Some (Precision.roundVector p (vectorOf (Span<'T>.op_Implicit (trainer.Biases i))))
                  Activation = l.Activation })
          Precision = p }

    let private nonFinite (x: float) = Double.IsNaN x || Double.IsInfinity x

    let private predictT (c: Conv<'T>) (net: Network) (x: Matrix<float>) : Matrix<float> =
        let n, k, d = x.RowCount, net.OutputSize, net.InputSize
        let chunk = min n 1024
        let trainer = trainerFor net LossKind.HalfMeanSquaredError chunk
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

    /// Copies every layer's weights and bias out of the trainer into (w, b).
    let private copyOut (trainer: DenseTrainer<'T>) (w: 'T[][]) (b: 'T[][]) =
        for l in 0 .. trainer.LayerCount - 1 do
            trainer.Weights(l).CopyTo(Span w.[l])
            trainer.Biases(l).CopyTo(Span b.[l])

    /// Copies (w, b) into the trainer's parameters.
    let private copyIn (trainer: DenseTrainer<'T>) (w: 'T[][]) (b: 'T[][]) =
        for l in 0 .. trainer.LayerCount - 1 do
            ReadOnlySpan(w.[l]).CopyTo(trainer.Weights l)
            ReadOnlySpan(b.[l]).CopyTo(trainer.Biases l)

    /// Plain SGD on prepared row-major samples with the lent trainer (of the network's shape, loss
    /// and batch size, holding the network's parameters). Divergence: the parameters are copied once per
    /// epoch (at its start); during the epoch only each step's loss is checked, and at its end
    /// every parameter is scanned once. On any sign of divergence the epoch-start parameters are
    /// restored and the epoch's batches replayed (steps are deterministic) with the per-step rule
    /// of Trainer.train: before step s the parameters are kept, and the run stops at the first step
    /// whose loss or new parameters are not finite, with the kept ones as LastGood. So epoch, step
    /// and LastGood are those of the per-step rule, without its per-step copies.
    let private trainT (c: Conv<'T>) (net: Network) (xs: 'T[]) (ys: 'T[]) (n: int)
                       (learningRate: float) (epochs: int) (seed: int64) (lent: LentTrainer<'T>) : FastTrainingResult =
        let trainer, startW, startB, xb, yb = lent.Trainer, lent.StartW, lent.StartB, lent.BatchX, lent.BatchY
        let d, k = net.InputSize, net.OutputSize
        let b = trainer.BatchSize
        let layers = trainer.LayerCount
        let newSet () =
            Array.init layers (fun l -> Array.zeroCreate<'T> (trainer.Weights(l).Length)),
            Array.init layers (fun l -> Array.zeroCreate<'T> (trainer.Biases(l).Length))
        let parametersFinite () =
            let mutable ok = true
            for l in 0 .. layers - 1 do
                if not (allFinite (Span<'T>.op_Implicit (trainer.Weights l)) && allFinite (Span<'T>.op_Implicit (trainer.Biases l))) then ok <- false
            ok
        let rate = (c.Of [| learningRate |]).[0]
        let steps = (n + b - 1) / b
        // Each epoch's permutation, drawn in place (Rng.permuteInto: the permutation of
        // Batching.epoch (Batching.miniBatch b)); batch i is order.[i b .. min (n, (i + 1) b) - 1],
        // as Array.chunkBySize cuts it. One buffer per call: the steps allocate nothing.
        let order = Array.zeroCreate<int> n
        let rowsOf i = min b (n - i * b)
        let losses = Array.zeroCreate epochs
        let mutable rng = Rng.create seed
        let mutable step = 0
        /// One step on batch i of the epoch's order, gathered into (xb, yb); the batch loss before it.
        let stepOn (batch: int) =
            let rows = rowsOf batch
            let first = batch * b
            for i in 0 .. rows - 1 do
                let sample = order.[first + i]
                ReadOnlySpan(xs, sample * d, d).CopyTo(Span(xb, i * d, d))
                ReadOnlySpan(ys, sample * k, k).CopyTo(Span(yb, i * k, k))
            trainer.Step(ReadOnlySpan xb, ReadOnlySpan yb, rows, rate)
        /// The epoch again from its start, checking after every step; raises at the first bad one.
        let replay (epoch: int) (firstStep: int) : float =
            copyIn trainer startW startB
            step <- firstStep
            let mutable goodW, goodB = Array.map Array.copy startW, Array.map Array.copy startB
            let mutable newW, newB = newSet ()
            let diverged (what: string) =
                copyIn trainer goodW goodB
                let lastGood = networkOf net trainer
                raise (TrainingDivergedException(epoch, step, lastGood,
                        sprintf "Training diverged at epoch %d, step %d: %s. The last finite parameters are in LastGood; try a smaller learning rate (it was %g)." epoch step what learningRate))
            let mutable total = 0.0
            for batch in 0 .. steps - 1 do
                step <- step + 1
                let value = stepOn batch
                if nonFinite value then diverged (sprintf "the batch loss became %g" value)
                copyOut trainer newW newB
                let mutable ok = true
                for l in 0 .. layers - 1 do
                    if not (allFinite (ReadOnlySpan newW.[l]) && allFinite (ReadOnlySpan newB.[l])) then ok <- false
                if not ok then diverged "a parameter became NaN or infinite"
                let w, bs = goodW, goodB
                goodW <- newW
                goodB <- newB
                newW <- w
                newB <- bs
                total <- total + value * float (rowsOf batch)
            // Not reached when steps are deterministic (the first pass found a non-finite value);
            // if it is, the replayed epoch, checked at every step, is a valid result.
            total
        for epoch in 1 .. epochs do
            rng <- Rng.permuteInto order rng
            copyOut trainer startW startB
            let firstStep = step
            let mutable total = 0.0
            let mutable ok = true
            let mutable i = 0
            while ok && i < steps do
                step <- step + 1
                let value = stepOn i
                if nonFinite value then ok <- false
                else total <- total + value * float (rowsOf i)
                i <- i + 1
            if ok && not (parametersFinite ()) then ok <- false
            if not ok then total <- replay epoch firstStep
            losses.[epoch - 1] <- total / float n
        { Network = networkOf net trainer; EpochLosses = losses }

    /// The first value of a column-major rows x cols array outside [0, 1], as (row, column, value).
    let private firstOutsideUnit (m: Matrix<float>) : struct (int * int * float) voption =
        let mutable found = ValueNone
        let mutable j = 0
        while found.IsNone && j < m.ColumnCount do
            let mutable i = 0
            while found.IsNone && i < m.RowCount do
                let v = m.[i, j]
                if v < 0.0 || v > 1.0 then found <- ValueSome (struct (i, j, v))
                i <- i + 1
            j <- j + 1
        found

    /// FastData without the checks (the caller has made them).
    let private prepareUnchecked (precision: Precision) (x: Matrix<float>) (y: Matrix<float>) : FastData =
        withElement precision
            { new IJob<FastData> with
                member _.Run c = FastData(c.Precision, x.RowCount, x.ColumnCount, y.ColumnCount, rowMajor c x, rowMajor c y, firstOutsideUnit y) }

    /// Training on prepared data without the checks.
    let private trainOnUnchecked (loss: Loss) (learningRate: float) (batchSize: int) (epochs: int) (seed: int64)
                                 (data: FastData) (net: Network) : FastTrainingResult =
        withElement data.Precision
            { new IJob<FastTrainingResult> with
                member _.Run c =
                    withTrainer data net (lossOf loss) (min batchSize data.SampleCount)
                        (trainT c net (data.X :?> _[]) (data.Y :?> _[]) data.SampleCount learningRate epochs seed) }

    /// Prepares inputs X (n x d_in) and targets Y (n x d_out), one sample per row, for
    /// FastTrainer.trainOn in the given precision: checks them once (non-empty, finite, the same
    /// number of rows; ArgumentException with ParamName "x" or "y" naming a bad value's row and
    /// column) and copies them into the kernels' row-major layout and element type (float32 values
    /// are rounded to nearest). Costs about one pass over the data; make it once and reuse it for
    /// every call that trains on the same samples. The matrices are not changed or kept.
    let prepare (precision: Precision) (x: Matrix<float>) (y: Matrix<float>) : FastData =
        Mat.checkBatch "x" x
        Mat.checkBatch "y" y
        if y.RowCount <> x.RowCount then
            Check.fail "y" (sprintf "y has shape %s but x has shape %s; they need one row per sample, the same number of rows." (Mat.shapeOf y) (Mat.shapeOf x))
        prepareUnchecked precision x y

    /// Checks the training arguments other than the data.
    let private checkTraining (loss: Loss) (learningRate: float) (batchSize: int) (epochs: int) (net: Network) =
        checkSupported net
        lossOf loss |> ignore
        Check.positive "learningRate" learningRate
        Check.positiveInt "batchSize" batchSize
        Check.positiveInt "epochs" epochs

    /// As train, on data made by FastTrainer.prepare, in the data's precision: the same batches,
    /// steps, losses and divergence rule, bit for bit the result of train on the matrices the data
    /// was prepared from. Raises ArgumentException (ParamName "data") when the data's widths are
    /// not the network's input and output sizes, or when the loss is softmax cross-entropy and a
    /// target lies outside [0, 1]. The network and the data are not changed.
    let trainOn (loss: Loss) (learningRate: float) (batchSize: int) (epochs: int) (seed: int64)
                (data: FastData) (net: Network) : FastTrainingResult =
        checkTraining loss learningRate batchSize epochs net
        Check.notNull "data" (box data)
        if data.InputSize <> net.InputSize || data.OutputSize <> net.OutputSize then
            Check.fail "data" (sprintf "data holds samples of %d inputs and %d targets, but the network maps %d inputs to %d outputs (first layer's weights %s, last layer's %s)."
                                data.InputSize data.OutputSize net.InputSize net.OutputSize (Mat.shapeOf (List.head net.Layers).Weights) (Mat.shapeOf (List.last net.Layers).Weights))
        match loss, data.TargetOutsideUnit with
        | Loss.SoftmaxCrossEntropy, ValueSome (struct (i, j, v)) ->
            Check.fail "data" (sprintf "data's targets hold %g at row %d, column %d; a cross-entropy target must lie in [0, 1]." v i j)
        | _ -> ()
        trainOnUnchecked loss learningRate batchSize epochs seed data net

    /// The network's output for a batch X (n x d_in, one sample per row) through the kernels, in
    /// the given precision: s(... s(X W_1 + 1 b_1) ... W_L + 1 b_L), as Network.predict.
    /// Raises ArgumentException for a bad X or a layer the kernels do not support.
    let predict (precision: Precision) (net: Network) (x: Matrix<float>) : Matrix<float> =
        checkSupported net
        Network.checkInput net "x" x
        withElement precision { new IJob<Matrix<float>> with member _.Run c = predictT c net x }

    /// Trains a copy of the network by plain minibatch SGD through the kernels: `epochs` epochs,
    /// each a fresh permutation of the n samples (drawn from Rng.create seed, exactly as
    /// Trainer.train with Batching.MiniBatch(batchSize, WithoutReplacement)) cut into batches of
    /// `batchSize` (the last may be smaller), one step W <- W - learningRate dL_B/dW per batch.
    /// Every layer needs a bias and a supported activation; the loss must be softmax
    /// cross-entropy, MSE or half MSE (else ArgumentException). Raises
    /// TrainingDivergedException (LastGood: the last finite Network) when a batch loss or a
    /// parameter stops being finite, at the first such step (as Trainer.train). Converts and
    /// checks X and Y on every call: to train on the same data more than once, prepare it once
    /// (FastTrainer.prepare) and call trainOn. The network and matrices passed in are not changed.
    let train (precision: Precision) (loss: Loss) (learningRate: float) (batchSize: int) (epochs: int) (seed: int64)
              (x: Matrix<float>) (y: Matrix<float>) (net: Network) : FastTrainingResult =
        checkTraining loss learningRate batchSize epochs net
        Network.checkInput net "x" x
        Loss.checkTargetNamed "y" loss (Matrix<float>.Build.Dense(x.RowCount, net.OutputSize)) y
        trainOnUnchecked loss learningRate batchSize epochs seed (prepareUnchecked precision x y) net

    /// The FastPredictor of one element type: a batch-of-one trainer and its input and output buffers.
    [<Sealed>]
    type private PredictorOf<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (c: Conv<'T>, net: Network) =
        inherit FastPredictor()
        let trainer = trainerFor net LossKind.HalfMeanSquaredError 1
        let input = Array.zeroCreate<'T> net.InputSize
        let output = Array.zeroCreate<'T> net.OutputSize
        let gate = obj ()
        override _.Precision = c.Precision
        override _.InputSize = net.InputSize
        override _.OutputSize = net.OutputSize
        override _.Predict(x: ReadOnlySpan<float>, result: Span<float>) =
            if x.Length <> input.Length then
                Check.fail "x" (sprintf "x has %d values, but the network takes %d inputs." x.Length input.Length)
            if result.Length <> output.Length then
                Check.fail "output" (sprintf "output has %d values, but the network has %d outputs." result.Length output.Length)
            if not (allFinite x) then
                let mutable j = 0
                while Double.IsFinite x.[j] do j <- j + 1
                Check.fail "x" (sprintf "x holds %s at index %d; every value must be finite." (string x.[j]) j)
            Monitor.Enter gate
            try
                // Both cores for the large layers; the values do not depend on the split.
                if Type.op_Equality(typeof<'T>, typeof<float>) then
                    // float64: the caller's spans are the kernels' input and output.
                    trainer.Predict(MemoryMarshal.Cast<float, 'T> x, MemoryMarshal.Cast<float, 'T> result, true)
                else
                    narrow x (MemoryMarshal.Cast<'T, float32> (Span input))
                    trainer.Predict(ReadOnlySpan input, Span output, true)
                    for j in 0 .. output.Length - 1 do result.[j] <- Double.CreateTruncating output.[j]
            finally
                Monitor.Exit gate

    /// A low-latency predictor for one sample at a time through the kernels, in the given
    /// precision, with a private copy of the network's parameters (the network is not changed):
    /// predictor.Predict(x, output) writes s(... s(x W_1 + b_1) ... W_L + b_L) for one sample,
    /// the values of predict on a one-row batch. Raises ArgumentException (ParamName "net") for a
    /// layer the kernels do not support.
    let predictor (precision: Precision) (net: Network) : FastPredictor =
        checkSupported net
        withElement precision { new IJob<FastPredictor> with member _.Run c = PredictorOf(c, net) :> FastPredictor }
