namespace Functional.NN

open System
open System.Numerics
open MathNet.Numerics.LinearAlgebra
open Functional.NN.Kernels
open KernelElement

/// A matrix's values in the kernels' layout and element type, with the fingerprint
/// (`Layout.Fingerprint`) of the float64 storage they were converted from.
[<Sealed>]
type internal ConvertedMatrix<'T>(fingerprint: uint64, rows: int, cols: int, values: 'T[]) =
    member _.Fingerprint = fingerprint
    member _.Rows = rows
    member _.Cols = cols
    member _.Values = values

/// The pool of the kernels session's data buffers, one per element type: at most twelve arrays of
/// each power-of-two size are kept between runs (a run of the optimiser with the most buffers,
/// centred RMSProp with momentum, rents eleven of its parameter count: three for its state, four
/// for each of its two marks).
type internal KernelBuffers<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> private () =
    static member val Pool : Buffers.ArrayPool<'T> = Buffers.ArrayPool<'T>.Create(1 <<< 30, 12)
    /// The training data already converted, keyed on the caller's matrix storage (held weakly: an
    /// entry lives as long as that array). An entry is used only when the storage's fingerprint
    /// (every value's bits, `Layout.Fingerprint`, about a tenth of a conversion's time) is the one
    /// it was converted from, so a matrix changed in place since is converted again (for x, the
    /// fingerprint may be read while the run trains: see rowMajorOf); nothing a caller holds is
    /// written. Entries are never changed once made (a run reads its arrays while another may
    /// replace the entry).
    static member val Converted = Runtime.CompilerServices.ConditionalWeakTable<float[], ConvertedMatrix<'T>>()
    /// Trainers left by finished runs, by shape (input width, blocks, loss, batch size): a run of
    /// the same shape takes one instead of allocating (and faulting in) its pinned buffers. Every
    /// run sets all parameters first and writes every scratch value before reading it, so results
    /// do not depend on which trainer it gets. At most two are kept per shape.
    static member val Trainers = Collections.Concurrent.ConcurrentDictionary<string, Collections.Concurrent.ConcurrentBag<DenseTrainer<'T>>>()
    static member Rent(inputs: int, blocks: KernelBlock[], loss: LossKind, batchCap: int) : string * DenseTrainer<'T> =
        let key = String.Join("|", string inputs, String.Join(";", blocks |> Array.map string), loss.ToString(), string batchCap)
        match KernelBuffers<'T>.Trainers.TryGetValue key with
        | true, bag ->
            match bag.TryTake() with
            | true, t -> key, t
            | _ -> key, DenseTrainer<'T>(inputs, blocks, loss, batchCap)
        | _ -> key, DenseTrainer<'T>(inputs, blocks, loss, batchCap)
    static member Return(key: string, trainer: DenseTrainer<'T>) =
        let bag = KernelBuffers<'T>.Trainers.GetOrAdd(key, fun _ -> Collections.Concurrent.ConcurrentBag<DenseTrainer<'T>>())
        if bag.Count < 2 then bag.Add trainer

/// The kernels backend of the trainer: a training run of a network of built-in blocks on a
/// DenseTrainer in the network's precision (float or float32), with the optimiser's update over
/// the kernels' flat parameter buffers (`Optimizers.Update`, element for element the core's
/// `Optimizer.stepIn`). Plain SGD without decay or clipping uses the trainer's fused step (the
/// update folded into the weight-gradient product). As the reference session (`NetworkSession`):
/// a step runs in training mode with the dropout key `Formulas.DropoutKey(seed, optimiser step
/// before the step)` and updates the batch normalisations' running statistics (the session's
/// state, kept in the trainer's buffers, marked and rewound with the parameters); the whole-set
/// loss, the gradient norm and validation run in inference mode. Owns every buffer; a step
/// allocates nothing.
[<Sealed>]
type internal KernelSession<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
        (settings: OptimizerSettings, seed: int64, loss: Loss, data: TrainingData, net: Network, batchCap: int, fullBatch: bool,
         model0: float[] option, state0: OptimizerState, lazyCheck: bool) =
    let precision = net.Precision
    let n, d, k = data.Inputs.RowCount, net.InputSize, net.OutputSize
    let trainerKey, trainer = KernelBuffers<'T>.Rent(d, KernelNetwork.blocks net, Loss.kernel loss, batchCap)
    /// A matrix in the kernels' layout, its values checked in the same pass (a bad one is
    /// reported by Mat.checkFinite, which names its row and column).
    // The session's buffers live in arrays rented from a pool (returned by Dispose at the end of
    // the run), so that repeated runs do not allocate and fault in megabytes each time. Every
    // element a run reads is written first. The converted data of a dense matrix are cached instead
    // (rowMajorOf).
    let rented = Collections.Generic.List<'T[]>()
    /// An array of at least `length` elements from the pool, returned by Dispose (the caller writes
    /// every element it reads).
    let rent (length: int) =
        let a = KernelBuffers<'T>.Pool.Rent(length)
        rented.Add a
        a
    // The check of x's cached conversion, when it is read while the run trains (see rowMajorOf):
    // the storage, the fingerprint the conversion was made from, and the check once started.
    let mutable lazyStorage : float[] = null
    let mutable lazyExpected = 0UL
    let mutable pending : PendingFingerprint = null
    let mutable confirmed = true
    // The fingerprints of the caller's matrices ("x", "y", "validationInputs") that rowMajorOf
    // checked or converted from (x's, read while the run trains, holds once Confirm says so).
    let fingerprints = Collections.Generic.Dictionary<string, uint64>()
    /// The matrix's values row-major in 'T (read only): the cached conversion of its storage when
    /// that storage still has the fingerprint it was converted from, else a new conversion (cached
    /// for the next run when the matrix is dense). With lazyCheck, the inputs' cached conversion
    /// (of at least PendingFingerprint.ParallelFrom values) is used at once, and the fingerprint is
    /// read by the worker pool's waiting threads while the run trains; ConfirmData finishes it.
    let rowMajorOf (name: string) (m: Matrix<float>) : 'T[] =
        let convert (m: Matrix<float>) (a: 'T[]) =
            // false: a value is not finite once converted (NaN, an infinity, or beyond float32's range).
            if not (copyRowMajor m (Span a)) then
                Mat.checkFinite name m
                Network.checkRangeIn precision name m
        let rows, cols = m.RowCount, m.ColumnCount
        match m.AsColumnMajorArray() with
        | null ->
            let a = rent (rows * cols)
            convert m a
            a
        | storage ->
            match KernelBuffers<'T>.Converted.TryGetValue storage with
            | true, c when lazyCheck && name = "x" && c.Rows = rows && c.Cols = cols && rows * cols >= PendingFingerprint.ParallelFrom ->
                lazyStorage <- storage
                lazyExpected <- c.Fingerprint
                fingerprints.[name] <- c.Fingerprint
                c.Values
            | true, c when c.Rows = rows && c.Cols = cols && c.Fingerprint = Layout.Fingerprint(ReadOnlySpan(storage, 0, rows * cols)) ->
                fingerprints.[name] <- c.Fingerprint
                c.Values
            | _ ->
                // Converted from a copy and cached under the copy's fingerprint, so the cache never
                // holds values its key does not describe, even when another thread writes the
                // caller's matrix meanwhile (a review found later runs on the restored matrix
                // training on a value seen only during the conversion).
                let copy = GC.AllocateUninitializedArray<float>(rows * cols)
                Array.blit storage 0 copy 0 copy.Length
                let a = GC.AllocateUninitializedArray<'T>(rows * cols)
                convert (Matrix<float>.Build.Dense(rows, cols, copy)) a
                let fingerprint = Layout.Fingerprint(ReadOnlySpan copy)
                fingerprints.[name] <- fingerprint
                KernelBuffers<'T>.Converted.AddOrUpdate(storage, ConvertedMatrix<'T>(fingerprint, rows, cols, a))
                a
    let xs, ys = rowMajorOf "x" data.Inputs, rowMajorOf "y" data.Targets
    let validation =
        data.Validation |> Option.map (fun (vx, vy) -> rowMajorOf "validationInputs" vx, vx, NetworkData.owned precision vy)
    // The flat layout's segments (the trainer's, in the core's order: for each layer its weights
    // row by row then its bias when it has one): segment b starts at blockOffset.[b] in the flat
    // order. Every per-parameter pass below runs over these segments.
    let blocks = trainer.ParameterSegmentCount
    let blockOffset = Array.zeroCreate<int> (blocks + 1)
    do for b in 0 .. blocks - 1 do
        blockOffset.[b + 1] <- blockOffset.[b] + trainer.ParameterSegment(b).Length
    let parameterCount = blockOffset.[blocks]
    // The state (running statistics): segment b of the trainer's state at stateOffset.[b] after the parameters.
    let stateBlocks = trainer.StateSegmentCount
    let stateOffset = Array.zeroCreate<int> (stateBlocks + 1)
    do for b in 0 .. stateBlocks - 1 do
        stateOffset.[b + 1] <- stateOffset.[b] + trainer.StateSegment(b).Length
    let stateCount = stateOffset.[stateBlocks]
    /// Segment b's parameters (the trainer's own buffer).
    let parametersOf (b: int) : Span<'T> = trainer.ParameterSegment b
    /// Segment b's gradients from the last ComputeGradients.
    let gradientsOf (b: int) : ReadOnlySpan<'T> = trainer.GradientSegment b
    let rule =
        let wd = settings.WeightDecay
        match settings.Optimizer with
        | Optimizer.Sgd -> OptimizerRule(OptimizerKind.Sgd, WeightDecay = wd)
        | Optimizer.Momentum (mu, tau) -> OptimizerRule(OptimizerKind.Momentum, Momentum = mu, Dampening = tau, WeightDecay = wd)
        | Optimizer.Nesterov mu -> OptimizerRule(OptimizerKind.Nesterov, Momentum = mu, WeightDecay = wd)
        | Optimizer.AdaGrad (eps, _) -> OptimizerRule(OptimizerKind.AdaGrad, Epsilon = eps, WeightDecay = wd)
        | Optimizer.RMSProp (alpha, eps, mu, centered) ->
            OptimizerRule(OptimizerKind.RMSProp, Alpha = alpha, Epsilon = eps, Momentum = mu, Centered = centered, WeightDecay = wd)
        | Optimizer.Adam (b1, b2, eps) -> OptimizerRule(OptimizerKind.Adam, Beta1 = b1, Beta2 = b2, Epsilon = eps, WeightDecay = wd)
        | Optimizer.AdamW (b1, b2, eps, lambda) ->
            OptimizerRule(OptimizerKind.AdamW, Beta1 = b1, Beta2 = b2, Epsilon = eps, DecoupledDecay = lambda, WeightDecay = wd)
    let fusedSgd = settings.Optimizer = Optimizer.Sgd && settings.WeightDecay = 0.0 && settings.ClipNorm = 0.0
    let struct (useV, useM, useS) = Optimizers.Buffers(rule)
    let buffer (used: bool) (init: float[]) =
        if not used then Array.empty<'T>
        else
            let a = rent parameterCount
            // An empty state (a fresh run of a rule whose buffers start at zero) starts at zero.
            if init.Length = 0 then Span<'T>(a, 0, parameterCount).Clear()
            else for i in 0 .. parameterCount - 1 do a.[i] <- 'T.CreateTruncating init.[i]
            a
    let velocity = buffer useV state0.Velocity
    let first = buffer useM state0.FirstMoment
    let second = buffer useS state0.SecondMoment
    let mutable t = state0.Step
    // Minibatches gathered one ahead, into two buffer pairs that take turns (made at the first
    // minibatch: full batches read the data in place).
    let mutable batches : BatchGather<'T> = null
    // Marks: the parameters and the states, copied flat, in two sets that take turns (Mark writes
    // the set the mark before last used; `newest` is the set of the last Mark), written by Mark
    // before Rewind reads them.
    let markSet () =
        let markOf (a: 'T[]) = if a.Length = 0 then Array.empty<'T> else rent parameterCount
        struct (rent parameterCount, rent (max stateCount 1), markOf velocity, markOf first, markOf second)
    let marks = [| markSet (); markSet () |]
    let markT = [| t; t |]
    let mutable newest = 0
    /// Copies the first parameterCount values (a rule's unused buffer is empty: nothing).
    let blit (src: 'T[]) (dst: 'T[]) = if src.Length > 0 then Array.blit src 0 dst 0 parameterCount
    let mutable before : 'T[] = null
    let mutable disposed = false

    let copyParametersTo (dst: Span<'T>) =
        for b in 0 .. blocks - 1 do (parametersOf b).CopyTo(dst.Slice(blockOffset.[b]))

    let copyParametersFrom (src: ReadOnlySpan<'T>) =
        for b in 0 .. blocks - 1 do
            let p = parametersOf b
            src.Slice(blockOffset.[b], p.Length).CopyTo(p)

    let copyStateTo (dst: Span<'T>) =
        for b in 0 .. stateBlocks - 1 do trainer.StateSegment(b).CopyTo(dst.Slice(stateOffset.[b]))

    let copyStateFrom (src: ReadOnlySpan<'T>) =
        for b in 0 .. stateBlocks - 1 do
            let p = trainer.StateSegment b
            src.Slice(stateOffset.[b], p.Length).CopyTo(p)

    /// Sets the parameters and then the state from a model vector (parameters, then state).
    let setFlat (model: float[]) =
        for b in 0 .. blocks - 1 do
            let p = parametersOf b
            let o = blockOffset.[b]
            for i in 0 .. p.Length - 1 do p.[i] <- 'T.CreateTruncating model.[o + i]
        for b in 0 .. stateBlocks - 1 do
            let p = trainer.StateSegment b
            let o = parameterCount + stateOffset.[b]
            for i in 0 .. p.Length - 1 do p.[i] <- 'T.CreateTruncating model.[o + i]

    /// The first parameterCount values as float64 (a rule's unused buffer is empty: empty).
    let toFloats (a: 'T[]) =
        if a.Length = 0 then Array.empty
        else
            let r = Array.zeroCreate<float> parameterCount
            for i in 0 .. parameterCount - 1 do r.[i] <- Double.CreateTruncating a.[i]
            r

    do
        match model0 with
        | Some model ->
            if parameterCount + stateCount <> model.Length then
                invalidArg "theta" (sprintf "theta has %d values but the network has %d parameters and %d state values." model.Length parameterCount stateCount)
            setFlat model
        // The network's own parameters and state, each rounded to 'T as setFlat rounds them.
        | None -> KernelNetwork.load net trainer
        // Last, so that nothing after it in construction can throw with the storage pinned.
        if not (isNull lazyStorage) then
            pending <- new PendingFingerprint(lazyStorage, data.Inputs.RowCount * data.Inputs.ColumnCount)
            confirmed <- false
            WorkerPool.SetIdle pending

    /// The loss of rows samples starting at row r0 of the training set, through the trainer.
    let chunkedLoss () =
        let mutable total = 0.0
        let mutable r0 = 0
        while r0 < n do
            let rows = min batchCap (n - r0)
            let value = trainer.EvaluateLoss(ReadOnlySpan(xs, r0 * d, rows * d), ReadOnlySpan(ys, r0 * k, rows * k), rows)
            total <- total + value * float rows
            r0 <- r0 + rows
        total / float n

    /// The network's outputs for the rows of a row-major 'T[] input, as a float64 matrix.
    let outputs (x: 'T[]) (rows: int) : Matrix<float> =
        let out = Array.zeroCreate<float> (rows * k)
        let mutable r0 = 0
        while r0 < rows do
            let count = min batchCap (rows - r0)
            let y = trainer.Forward(ReadOnlySpan(x, r0 * d, count * d), count)
            for i in 0 .. count - 1 do
                for j in 0 .. k - 1 do
                    out.[j * rows + r0 + i] <- Double.CreateTruncating y.[i * k + j]
            r0 <- r0 + count
        Matrix<float>.Build.Dense(rows, k, out)

    /// The network the session's parameters make (a new value, the template's shape and precision).
    member _.Network() = KernelNetwork.toNetwork net trainer

    /// Finishes the check of x's cached conversion, if one is under way (once).
    member private _.Confirm() =
        if not (isNull pending) then
            let p = pending
            pending <- null
            try confirmed <- p.Complete() = lazyExpected
            finally p.Dispose()
        confirmed

    /// The records of the data the run trained on (`NetworkData.records`), with the fingerprints
    /// the session's conversions were checked against or made from (free), the others read now.
    /// Called once the data are confirmed (`ConfirmData`).
    member this.DataRecords() : DataRecord * DataRecord option =
        let fingerprintOf (name: string) (m: Matrix<float>) =
            match fingerprints.TryGetValue name with
            | true, v when name <> "x" || this.Confirm() -> v
            | _ -> NetworkData.fingerprint m
        NetworkData.recordOf data.Inputs data.Targets (fingerprintOf "x" data.Inputs) (fingerprintOf "y" data.Targets),
        data.Validation |> Option.map (fun (vx, vy) -> NetworkData.recordOf vx vy (fingerprintOf "validationInputs" vx) (NetworkData.fingerprint vy))

    /// a.[o .. o + len - 1], or nothing for a buffer the rule does not keep.
    static member private Slice(a: 'T[], o: int, len: int) : Span<'T> = if a.Length = 0 then Span<'T>.Empty else Span(a, o, len)

    interface ITrainingSession with
        member this.ConfirmData() = this.Confirm()
        member _.Backend = Backend.Kernels
        member _.Precision = precision
        member _.ParameterCount = parameterCount
        member _.StateCount = stateCount
        member _.SampleCount = n
        member _.Parameters() =
            let r = Array.zeroCreate<float> (parameterCount + stateCount)
            for b in 0 .. blocks - 1 do
                let p = parametersOf b
                let o = blockOffset.[b]
                for i in 0 .. p.Length - 1 do r.[o + i] <- Double.CreateTruncating p.[i]
            for b in 0 .. stateBlocks - 1 do
                let p = trainer.StateSegment b
                let o = parameterCount + stateOffset.[b]
                for i in 0 .. p.Length - 1 do r.[o + i] <- Double.CreateTruncating p.[i]
            r
        member _.SetParameters(theta) = setFlat theta
        member _.OptimizerState() =
            { Step = t; Velocity = toFloats velocity; FirstMoment = toFloats first; SecondMoment = toFloats second }
        member _.Step(order, offset, count, eta, measureChange) =
            let rows = count
            let srcX, srcY =
                if fullBatch && rows = n then xs, ys
                else
                    // The batch's rows, gathered while the step before trained (or now).
                    if isNull batches then
                        batches <- new BatchGather<'T>(xs, d, ys, k, n, batchCap, rent (batchCap * d), rent (batchCap * k), rent (batchCap * d), rent (batchCap * k))
                    batches.Next(order, offset, rows)
                    batches.X, batches.Y
            let x = ReadOnlySpan(srcX, 0, rows * d)
            let y = ReadOnlySpan(srcY, 0, rows * k)
            if measureChange then
                if isNull before then before <- Array.zeroCreate parameterCount
                copyParametersTo (Span before)
            // The masks of the step numbered by the optimiser's counter before it (as the reference).
            let key = Formulas.DropoutKey(seed, int64 t)
            t <- t + 1
            let value =
                if fusedSgd then trainer.Step(x, y, rows, 'T.CreateTruncating eta, key)
                else
                    let value = trainer.ComputeGradients(x, y, rows, PassMode.Training, key, true)
                    let clipScale =
                        if settings.ClipNorm > 0.0 then
                            let mutable ss = 0.0
                            for b in 0 .. blocks - 1 do ss <- Optimizers.SumOfSquares(gradientsOf b, ss)
                            let c = settings.ClipNorm / (sqrt ss + 1e-6)
                            if c < 1.0 then c else 1.0
                        else 1.0
                    for b in 0 .. blocks - 1 do
                        let p = parametersOf b
                        let o = blockOffset.[b]
                        Optimizers.Update(rule, t, eta, clipScale, p, gradientsOf b,
                                          KernelSession<'T>.Slice(velocity, o, p.Length), KernelSession<'T>.Slice(first, o, p.Length), KernelSession<'T>.Slice(second, o, p.Length))
                    value
            let change =
                if measureChange then
                    let mutable m = 0.0
                    for b in 0 .. blocks - 1 do
                        let p = parametersOf b
                        let o = blockOffset.[b]
                        for i in 0 .. p.Length - 1 do m <- max m (abs (Double.CreateTruncating p.[i] - Double.CreateTruncating before.[o + i]))
                    m
                else 0.0
            struct (Precision.round precision value, change)
        member _.ParametersFinite() =
            let mutable ok = true
            for b in 0 .. blocks - 1 do
                if not (allFinite (Span<'T>.op_Implicit (parametersOf b))) then ok <- false
            for b in 0 .. stateBlocks - 1 do
                if not (allFinite (Span<'T>.op_Implicit (trainer.StateSegment b))) then ok <- false
            ok
        member _.Mark() =
            newest <- 1 - newest
            let struct (markTheta, markState, markV, markM, markS) = marks.[newest]
            copyParametersTo (Span markTheta)
            copyStateTo (Span markState)
            blit velocity markV
            blit first markM
            blit second markS
            markT.[newest] <- t
        member _.Rewind(older) =
            let set = if older then 1 - newest else newest
            let struct (markTheta, markState, markV, markM, markS) = marks.[set]
            copyParametersFrom (ReadOnlySpan(markTheta, 0, parameterCount))
            copyStateFrom (ReadOnlySpan(markState, 0, stateCount))
            blit markV velocity
            blit markM first
            blit markS second
            t <- markT.[set]
        member _.TrainingLoss() = Precision.round precision (chunkedLoss ())
        member _.BatchLoss(order, offset, count) =
            let value =
                if fullBatch && count = n then trainer.EvaluateLoss(ReadOnlySpan(xs, 0, n * d), ReadOnlySpan(ys, 0, n * k), n)
                else
                    // The batch's rows, gathered into buffers of its own (once a run: the gather's
                    // buffers may hold the next batch).
                    let bx, by = rent (count * d), rent (count * k)
                    for i in 0 .. count - 1 do
                        let r = order.[offset + i]
                        Array.blit xs (r * d) bx (i * d) d
                        Array.blit ys (r * k) by (i * k) k
                    trainer.EvaluateLoss(ReadOnlySpan(bx, 0, count * d), ReadOnlySpan(by, 0, count * k), count)
            Precision.round precision value
        member _.GradientNorm() =
            let acc = Array.zeroCreate<float> parameterCount
            let mutable r0 = 0
            while r0 < n do
                let rows = min batchCap (n - r0)
                // In inference mode, as the reference: each row's gradient is its own, so chunks add up.
                trainer.ComputeGradients(ReadOnlySpan(xs, r0 * d, rows * d), ReadOnlySpan(ys, r0 * k, rows * k), rows, PassMode.Inference, 0UL, false) |> ignore
                let share = float rows / float n
                for b in 0 .. blocks - 1 do
                    let g = gradientsOf b
                    let o = blockOffset.[b]
                    for i in 0 .. g.Length - 1 do acc.[o + i] <- acc.[o + i] + share * Double.CreateTruncating g.[i]
                r0 <- r0 + rows
            Optimizer.globalNorm acc
        member _.Validation() =
            validation |> Option.map (fun (xs, vx, vy) -> NetworkData.validationOf precision loss vx (outputs xs vx.RowCount) vy)
        member _.Dispose() =
            if not disposed then
                disposed <- true
                // First: it waits for a gather that may still write into rented buffers, and for a
                // chunk of the check under way.
                try
                    try if not (isNull batches) then batches.Dispose()
                    finally if not (isNull pending) then pending.Dispose()
                finally
                    for a in rented do KernelBuffers<'T>.Pool.Return a
                    rented.Clear()
                    KernelBuffers<'T>.Return(trainerKey, trainer)

/// Making kernel sessions.
module internal KernelSessions =

    /// A kernel session for the network in its precision, its model (parameters, then state) from
    /// `model` (None: the network's own) and its optimiser state from `state`, dropout keys from
    /// the run's seed, with room for batches of batchCap rows; a function giving the network of
    /// the session's current parameters (a new value, built straight from the kernels' buffers);
    /// and one giving the records of the data it trained on (`KernelSession.DataRecords`).
    let create (settings: OptimizerSettings) (seed: int64) (loss: Loss) (data: TrainingData) (net: Network) (batchCap: int) (fullBatch: bool)
               (model: float[] option) (state: OptimizerState) (lazyCheck: bool) : ITrainingSession * (unit -> Network) * (unit -> DataRecord * DataRecord option) =
        match net.Precision with
        | Precision.Float64 ->
            let s = new KernelSession<float>(settings, seed, loss, data, net, batchCap, fullBatch, model, state, lazyCheck)
            s :> ITrainingSession, s.Network, s.DataRecords
        | Precision.Float32 ->
            let s = new KernelSession<float32>(settings, seed, loss, data, net, batchCap, fullBatch, model, state, lazyCheck)
            s :> ITrainingSession, s.Network, s.DataRecords
