namespace Functional.NN

open System
open System.Threading
open MathNet.Numerics.LinearAlgebra

/// The gradient of a loss with respect to every parameter of a network, block by block.
type Gradients =
    { Blocks: BlockGradient list }
    /// The dense layers' gradients, for a network of dense layers only; raises
    /// InvalidOperationException when a block is of another kind (read `Blocks`).
    member this.Layers : DenseGradient list =
        this.Blocks |> List.mapi (fun i g ->
            match g with
            | BlockGradient.Dense d -> d
            | _ -> invalidOp (sprintf "Gradient %d is not a dense layer's; read Gradients.Blocks for a network of other blocks." i))

/// What the forward pass keeps for the backward pass, block by block: each block's input, output
/// and memory (a dense layer's pre-activation, a dropout's mask, a normalisation's Xhat...).
type Trace =
    { Steps: BlockTrace list }
    /// The network's output for the batch.
    member this.Output = (List.last this.Steps).Output
    member private this.Dense(what: string) =
        this.Steps |> List.mapi (fun i t ->
            match t.Memory with
            | BlockMemory.PreActivation z -> t, z
            | _ -> invalidOp (sprintf "Block %d is not a dense layer, so the trace has no %s for it; read Trace.Steps for a network of other blocks." i what))
    /// For a network of dense layers only (the notes' Z_i): the batch entering layer i (Inputs.[0] = X).
    member this.Inputs : Matrix<float> list = this.Dense "inputs" |> List.map (fun (t, _) -> t.Input)
    /// For a network of dense layers only: PreActivations.[i] = Inputs.[i] W_i + 1 b_i.
    member this.PreActivations : Matrix<float> list = this.Dense "pre-activations" |> List.map snd
    /// For a network of dense layers only: Activations.[i] = s(PreActivations.[i]) = Inputs.[i+1].
    member this.Activations : Matrix<float> list = this.Dense "activations" |> List.map (fun (t, _) -> t.Output)

/// A sequence of blocks whose widths agree (the notes' section 5.1), and the precision of its
/// values. Build one with `Network.create` (dense layers), `Network.ofBlocks` (which check the
/// widths), `Network.init` or `Network.initBlocks`; all give Float64 networks, and
/// `Network.withPrecision` turns one into a Float32 network (as PyTorch's `model.float()`).
/// Float32 semantics: every value the network computes and keeps is a float32 value: the
/// parameters and state, each block's output (a dense layer's pre-activation Z and activation A),
/// the loss value, every gradient, the optimizer's state and the updated parameters.
/// Products and sums are accumulated in float64 and rounded once to float32 (so the reference is
/// at least as accurate as float32 accumulation; for element-wise operations, rounding the
/// float64 result once gives the correctly rounded float32 result, since 53 >= 2*24+2). Inputs and
/// targets are rounded to float32 on entry (see docs/precision.md).
type Network =
    { Blocks: Block list
      /// The precision of every parameter and of every value the network computes.
      Precision: Precision }
    /// The number of input columns (the first width a block fixes).
    member this.InputSize = this.Blocks |> List.pick Block.inputWidth
    /// The number of outputs.
    member this.OutputSize = this.Blocks |> List.fold Block.outputWidth this.InputSize
    /// The number of trainable parameters of all blocks.
    member this.ParameterCount = this.Blocks |> List.sumBy Block.parameterCount
    /// The number of state values (batch normalisations' running statistics).
    member this.StateCount = this.Blocks |> List.sumBy Block.stateCount
    /// True when every block is a dense layer (the notes' multi-layer network).
    member this.IsDense = this.Blocks |> List.forall (function Block.Dense _ -> true | _ -> false)
    /// The dense layers, for a network of dense layers only; raises InvalidOperationException
    /// naming the first block of another kind (read `Blocks`).
    member this.Layers : Dense list =
        this.Blocks |> List.mapi (fun i b ->
            match b with
            | Block.Dense d -> d
            | _ -> invalidOp (sprintf "Block %d is a %s block, not a dense layer; this operation supports networks of dense layers only (read Network.Blocks)." i (Block.name b)))

/// A single-sample predictor (`Network.predictor`): the network's output for one sample at a time,
/// with low latency. It owns its buffers and a private copy of the network's parameters, so the
/// network it was made from stays unchanged and nothing outside can change what it computes.
/// Thread-safe (calls are serialised by a lock); on the kernels backend the span overload allocates
/// nothing (the reference backend's predictor builds its matrices on each call).
[<AbstractClass>]
type Predictor internal () =
    /// The backend that computes (Reference or Kernels).
    abstract Backend : Backend
    /// The network's precision.
    abstract Precision : Precision
    /// The number of inputs d_in a sample has.
    abstract InputSize : int
    /// The number of outputs d_out.
    abstract OutputSize : int
    /// Writes the network's output for the sample x (InputSize values) into output (OutputSize
    /// values): s(... s(x W_1 + b_1) ... W_L + b_L), as Network.predict on a one-row matrix.
    /// Raises ArgumentException (ParamName "x" or "output") for a wrong length or a non-finite input.
    abstract Predict : x: ReadOnlySpan<float> * output: Span<float> -> unit
    /// The same in float32, for callers whose samples are float32 (as ONNX Runtime's and PyTorch's
    /// usually are). A float32 network reads x and writes output as they are, with no conversion:
    /// the result is the float64 overload's on x widened, which that overload rounds to float32
    /// before widening it (the same bits). A float64 network computes on x widened (exactly) and
    /// rounds its outputs to float32. Raises ArgumentException (ParamName "x" or "output") for a
    /// wrong length or a non-finite input (naming its index); allocates nothing on the kernels.
    abstract Predict : x: ReadOnlySpan<float32> * output: Span<float32> -> unit
    /// The network's output for the sample x (InputSize values), as a new array.
    member this.Predict(x: float[]) : float[] =
        Check.notNull "x" x
        let output = Array.zeroCreate this.OutputSize
        this.Predict(ReadOnlySpan x, Span output)
        output
    /// The network's output for the float32 sample x (InputSize values), as a new float32 array.
    member this.Predict(x: float32[]) : float32[] =
        Check.notNull "x" x
        let output = Array.zeroCreate this.OutputSize
        this.Predict(ReadOnlySpan x, Span output)
        output
    /// Raises ArgumentException (ParamName "x") when an output is not finite although x is.
    [<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)>]
    member internal this.CheckResult(output: Span<float>) =
        if not (KernelElement.allFinite (Span<float>.op_Implicit output)) then
            Check.fail "x" "The network's output for x is not finite although x is: a value far outside the range the network was trained on overflows a layer. Scale the inputs as for training."
    /// As CheckResult, for a float32 output (a float64 network's output may also be beyond float32's range).
    member internal this.CheckResult(output: Span<float32>) =
        if not (KernelElement.allFinite (Span<float32>.op_Implicit output)) then
            Check.fail "x" "The network's output for x is not finite in float32 although x is: a value far outside the range the network was trained on overflows a layer, or (for a float64 network) an output is beyond float32's range, about 3.4e38. Scale the inputs as for training, or use the float64 overload."
    /// Checks the lengths of a sample and an output span against the sizes.
    member internal this.CheckLengths(x: ReadOnlySpan<float>, output: Span<float>) = this.CheckLengths(x.Length, output.Length)
    member internal this.CheckLengths(xLength: int, outputLength: int) =
        if xLength <> this.InputSize then
            Check.fail "x" (sprintf "x has %d values, but the network takes %d inputs." xLength this.InputSize)
        if outputLength <> this.OutputSize then
            Check.fail "output" (sprintf "output has %d values, but the network has %d outputs." outputLength this.OutputSize)
    /// Checks a float32 sample and output span: the lengths, then every value of x finite (a float32
    /// is within float32's range); raises ArgumentException naming the first bad value's index.
    [<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)>]
    member internal this.CheckSpans(x: ReadOnlySpan<float32>, output: Span<float32>) =
        this.CheckLengths(x.Length, output.Length)
        if not (KernelElement.allFinite x) then
            for j in 0 .. x.Length - 1 do
                if not (Single.IsFinite x.[j]) then Predictor.NotFiniteInput(float x.[j], j)
    static member internal NotFiniteInput(value: float, j: int) =
        Check.fail "x" (sprintf "x holds %s at index %d; every value must be finite." (string value) j)
    /// Raises ArgumentException (ParamName "x") naming the first value of x that is not finite,
    /// else the first beyond float32's range; returns when there is none.
    member internal this.ReportInput(x: ReadOnlySpan<float>) =
        for j in 0 .. x.Length - 1 do
            if not (Double.IsFinite x.[j]) then Predictor.NotFiniteInput(x.[j], j)
        if this.Precision = Precision.Float32 then
            for j in 0 .. x.Length - 1 do
                if abs x.[j] > float Single.MaxValue then
                    Check.fail "x" (sprintf "x holds %s at index %d, beyond the range of float32 (about 3.4e38), the network's precision." (string x.[j]) j)
    /// Checks a sample and an output span: the lengths, then in one pass every |x_j| within the
    /// precision's range (NaN and the infinities fail it too); ReportInput then says which value and why.
    [<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)>]
    member internal this.CheckSpans(x: ReadOnlySpan<float>, output: Span<float>) =
        this.CheckLengths(x, output)
        let limit = if this.Precision = Precision.Float32 then float Single.MaxValue else Double.MaxValue
        if not (KernelElement.allAbsAtMost x limit) then this.ReportInput x

/// Networks of blocks on the kernels (Functional.NN.Kernels.DenseTrainer, which runs every
/// built-in block): the table from blocks to the kernels' blocks, parameter and state copies both
/// ways, and batch prediction (inference mode) through trainers that hold a network's parameters,
/// cached per network value (networks are immutable, so a network's copy never goes stale; it is
/// collected with the network). Custom blocks and the step activation stay on the reference.
module internal KernelNetwork =

    open System.Collections.Concurrent
    open System.Numerics
    open System.Runtime.CompilerServices
    open System.Runtime.InteropServices
    open Functional.NN.Kernels
    open KernelElement

    /// The first block the kernels do not support, as (position, reason): a custom block, or a
    /// dense layer or activation block with the step activation (depth first into residuals;
    /// position "2.1" is the second block inside block 2).
    let unsupported (net: Network) : (string * string) option =
        let rec find (path: string) (blocks: Block list) =
            blocks |> List.indexed |> List.tryPick (fun (i, b) ->
                let here = Block.position path i
                match b with
                | Block.Dense l when l.Activation = Activation.Step -> Some (here, sprintf "layer %s's %s activation" here (Activation.name l.Activation))
                | Block.Activation a when a = Activation.Step -> Some (here, sprintf "block %s's %s activation" here (Activation.name a))
                | Block.Custom _ -> Some (here, sprintf "block %s (%s)" here (Block.name b))
                | Block.Residual inner -> find here inner
                | _ -> None)
        find "" net.Blocks

    /// True when the kernels support every block.
    let supports (net: Network) = (unsupported net).IsNone

    /// The backend that runs for a request: Auto gives Kernels where supported, else Reference;
    /// Kernels on an unsupported network raises ArgumentException naming the block.
    let resolve (name: string) (backend: Backend) (net: Network) : Backend =
        match backend with
        | Backend.Reference -> Backend.Reference
        | Backend.Auto -> if supports net then Backend.Kernels else Backend.Reference
        | Backend.Kernels ->
            match unsupported net with
            | Some (_, what) -> Check.fail name (sprintf "The kernels backend does not support %s; use Backend.Auto or Backend.Reference." what)
            | None -> Backend.Kernels

    /// The kernels' dense layer specifications of a network of dense layers only (`Activation.kernel`, the bias flag).
    let specs (net: Network) : DenseLayerSpec[] =
        net.Layers
        |> List.map (fun l -> let k, s = Activation.kernel l.Activation in DenseLayerSpec(l.OutputSize, k, s, l.Bias.IsSome))
        |> Array.ofList

    /// The kernels' blocks of a network (`Activation.kernel` for activations; shapes only, no
    /// values). A custom block has none (the kernels do not run it).
    let blocks (net: Network) : KernelBlock[] =
        let rec map (blocks: Block list) : KernelBlock[] =
            blocks
            |> List.map (fun b ->
                match b with
                | Block.Dense l -> let k, s = Activation.kernel l.Activation in KernelBlock.NewDense(l.OutputSize, k, s, l.Bias.IsSome)
                | Block.Activation a -> let k, s = Activation.kernel a in KernelBlock.NewActivation(k, s)
                | Block.Dropout rate -> KernelBlock.NewDropout rate
                | Block.BatchNorm bn -> KernelBlock.NewBatchNorm(bn.Momentum, bn.Epsilon)
                | Block.LayerNorm ln -> KernelBlock.NewLayerNorm ln.Epsilon
                | Block.Residual inner -> KernelBlock.NewResidual(map inner)
                | Block.Custom c -> invalidArg "net" (sprintf "The kernels do not run custom blocks ('%s')." c.Name))
            |> Array.ofList
        map net.Blocks

    /// Copies a vector into a span, each value rounded to 'T.
    let private putVector<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> (v: MathNet.Numerics.LinearAlgebra.Vector<float>) (dst: Span<'T>) =
        // A network written as a record ({ Blocks = ...; ... }) skips Network.ofBlocks's checks.
        if v.Count <> dst.Length then
            Check.fail "net" (sprintf "A block's vector (a bias, or a normalisation's scale, shift or statistic) has %d values where the block's width needs %d; build blocks with Network.ofBlocks, Dense.create, BatchNorm.createWith or LayerNorm.createWith, which check them." v.Count dst.Length)
        for j in 0 .. v.Count - 1 do dst.[j] <- 'T.CreateTruncating v.[j]

    /// Copies the network's parameters and state into a trainer of its shape (each rounded to
    /// 'T), segment by segment in the flat order the trainer and `Parameters` share.
    let load<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> (net: Network) (trainer: DenseTrainer<'T>) =
        let mutable seg = 0
        let mutable st = 0
        Block.iter (fun b ->
            match b with
            | Block.Dense l ->
                copyRowMajor l.Weights (trainer.ParameterSegment seg) |> ignore   // a network's weights are finite
                seg <- seg + 1
                match l.Bias with
                | Some bias ->
                    putVector bias (trainer.ParameterSegment seg)
                    seg <- seg + 1
                | None -> ()
            | Block.BatchNorm bn ->
                putVector bn.Scale (trainer.ParameterSegment seg)
                putVector bn.Shift (trainer.ParameterSegment (seg + 1))
                putVector bn.RunningMean (trainer.StateSegment st)
                putVector bn.RunningVariance (trainer.StateSegment (st + 1))
                seg <- seg + 2
                st <- st + 2
            | Block.LayerNorm ln ->
                putVector ln.Scale (trainer.ParameterSegment seg)
                putVector ln.Shift (trainer.ParameterSegment (seg + 1))
                seg <- seg + 2
            | _ -> ()) net.Blocks

    /// A new network of the template's shape, activations and precision with the trainer's
    /// parameters and state.
    let toNetwork<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> (template: Network) (trainer: DenseTrainer<'T>) : Network =
        let mutable seg = 0
        let mutable st = 0
        let param () =
            let v = vectorOf (Span<'T>.op_Implicit (trainer.ParameterSegment seg))
            seg <- seg + 1
            v
        let state () =
            let v = vectorOf (Span<'T>.op_Implicit (trainer.StateSegment st))
            st <- st + 1
            v
        let rec map (blocks: Block list) =
            blocks |> List.map (fun b ->
                match b with
                | Block.Dense l ->
                    let w = matrixOfRowMajor l.InputSize l.OutputSize (Span<'T>.op_Implicit (trainer.ParameterSegment seg))
                    seg <- seg + 1
                    Block.Dense { l with Weights = w; Bias = l.Bias |> Option.map (fun _ -> param ()) }
                | Block.BatchNorm bn ->
                    let scale = param ()
                    let shift = param ()
                    let mean = state ()
                    Block.BatchNorm { bn with Scale = scale; Shift = shift; RunningMean = mean; RunningVariance = state () }
                | Block.LayerNorm ln ->
                    let scale = param ()
                    Block.LayerNorm { ln with Scale = scale; Shift = param () }
                | Block.Residual inner -> Block.Residual (map inner)
                | b -> b)
        { template with Blocks = map template.Blocks }

    /// Rows per forward pass of a batch prediction.
    let chunk = 256

    /// Trainers holding one network's parameters, each lent to one prediction at a time.
    [<Sealed>]
    type Pool<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>(net: Network) =
        let bag = ConcurrentBag<DenseTrainer<'T>>()
        member _.Rent() =
            match bag.TryTake() with
            | true, t -> t
            | _ ->
                let t = DenseTrainer<'T>(net.InputSize, blocks net, LossKind.HalfMeanSquaredError, chunk)
                load net t
                t
        member _.Return(t: DenseTrainer<'T>) = bag.Add t

    let private pools = ConditionalWeakTable<Network, obj>()

    let private poolOf<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> (net: Network) =
        pools.GetValue(net, fun n -> box (Pool<'T>(n))) :?> Pool<'T>

    /// X converted once to the kernels' layout in 'T (onBadValue reports a value that is not finite
    /// once converted), and a trainer rented from the network's pool for `body`, returned after it.
    let private withTrainer<'T, 'R when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (onBadValue: unit -> unit) (net: Network) (x: Matrix<float>) (body: 'T[] -> DenseTrainer<'T> -> 'R) : 'R =
        let xs = GC.AllocateUninitializedArray<'T> (x.RowCount * x.ColumnCount)
        if not (copyRowMajor x (Span xs)) then onBadValue ()
        let pool = poolOf<'T> net
        let trainer = pool.Rent()
        try body xs trainer
        finally pool.Return trainer

    /// The outputs of a batch X (its shape checked) through the kernels in the element type 'T:
    /// X converted to the kernels' layout in one pass that also checks its values (onBadValue
    /// reports a bad one), then forward passes of `chunk` rows.
    let private predictT<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> (onBadValue: unit -> unit) (net: Network) (x: Matrix<float>) : Matrix<float> =
        let n, d, k = x.RowCount, x.ColumnCount, net.OutputSize
        withTrainer<'T, _> onBadValue net x (fun xs trainer ->
            let out = Array.zeroCreate<float> (n * k)
            let mutable r0 = 0
            while r0 < n do
                let rows = min chunk (n - r0)
                let y = trainer.Forward(ReadOnlySpan(xs, r0 * d, rows * d), rows)
                for i in 0 .. rows - 1 do
                    for j in 0 .. k - 1 do
                        out.[j * n + r0 + i] <- Double.CreateTruncating y.[i * k + j]
                r0 <- r0 + rows
            Matrix<float>.Build.Dense(n, k, out))

    /// The outputs of a batch X (its shape checked) through the kernels, in the network's
    /// precision; onBadValue reports a value that is not finite once converted.
    let predict (onBadValue: unit -> unit) (net: Network) (x: Matrix<float>) : Matrix<float> =
        match net.Precision with
        | Precision.Float64 -> predictT<float> onBadValue net x
        | Precision.Float32 -> predictT<float32> onBadValue net x

    /// The input gradient of the element type 'T: the batch X (its shape and values checked by the
    /// caller) converted once, then chunks of `chunk` rows through a pooled trainer's
    /// `InputGradientsOf` (inference mode): a forward pass, dF/dO from `outputGradient` (given the
    /// outputs of the chunk as a float64 matrix, it returns F of each row and dF/dO), a backward
    /// pass to the input. Returns F of each row and dF/dX.
    let private inputGradientT<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (onBadValue: unit -> unit) (net: Network) (outputGradient: Matrix<float> -> float[] * Matrix<float>) (x: Matrix<float>) : float[] * Matrix<float> =
        let n, d, k = x.RowCount, x.ColumnCount, net.OutputSize
        withTrainer<'T, _> onBadValue net x (fun xs trainer ->
            let values = Array.zeroCreate<float> n
            let grad = Array.zeroCreate<float> (n * d)   // column-major, as MathNet's dense storage
            let mutable r0 = 0
            while r0 < n do
                let rows = min chunk (n - r0)
                let start = r0
                let seed =
                    OutputGradient<'T>(fun (output: ReadOnlySpan<'T>) (g: Span<'T>) (count: int) ->
                        let o = Matrix<float>.Build.Dense(count, k)
                        for i in 0 .. count - 1 do
                            for j in 0 .. k - 1 do o.[i, j] <- Double.CreateTruncating output.[i * k + j]
                        let f, df = outputGradient o
                        Array.blit f 0 values start count
                        for i in 0 .. count - 1 do
                            for j in 0 .. k - 1 do g.[i * k + j] <- 'T.CreateTruncating df.[i, j])
                let dx = trainer.InputGradientsOf(ReadOnlySpan(xs, r0 * d, rows * d), rows, seed)
                for i in 0 .. rows - 1 do
                    for j in 0 .. d - 1 do
                        grad.[j * n + r0 + i] <- Double.CreateTruncating dx.[i * d + j]
                r0 <- r0 + rows
            values, Matrix<float>.Build.Dense(n, d, grad))

    /// The input gradient of a function F of the outputs through the kernels, in the network's
    /// precision and inference mode: for each row of X (its shape checked), F and dF/dX, where
    /// `outputGradient` gives F of each output row and dF/dO. onBadValue reports a value that is
    /// not finite once converted.
    let inputGradient (onBadValue: unit -> unit) (net: Network) (outputGradient: Matrix<float> -> float[] * Matrix<float>) (x: Matrix<float>) : float[] * Matrix<float> =
        match net.Precision with
        | Precision.Float64 -> inputGradientT<float> onBadValue net outputGradient x
        | Precision.Float32 -> inputGradientT<float32> onBadValue net outputGradient x

    /// The single-sample predictor of one element type: for a network of dense layers the kernels'
    /// RowPredictor (the weights stored once as column panels, a layer's panels shared by the
    /// cores), for any other network of built-in blocks a batch-of-one DenseTrainer in inference
    /// mode; and its buffers.
    [<Sealed>]
    type PredictorOf<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (net: Network) =
        inherit Predictor()
        // A network of dense layers runs on the RowPredictor; any other network of built-in blocks
        // on a batch-of-one DenseTrainer in inference mode.
        let row =
            if net.IsDense then
                let t = RowPredictor<'T>(net.InputSize, specs net)
                net.Layers |> List.iteri (fun i l ->
                    let w = Array.zeroCreate<'T> (l.InputSize * l.OutputSize)
                    copyRowMajor l.Weights (Span w) |> ignore   // a network's weights are finite
                    let b = match l.Bias with Some b -> Array.init b.Count (fun j -> 'T.CreateTruncating b.[j]) | None -> [||]
                    t.SetParameters(i, ReadOnlySpan w, ReadOnlySpan b))
                t
            else null
        let trainer =
            if net.IsDense then null
            else
                let t = DenseTrainer<'T>(net.InputSize, blocks net, LossKind.HalfMeanSquaredError, 1)
                load net t
                t
        let input = Array.zeroCreate<'T> net.InputSize
        let output = Array.zeroCreate<'T> net.OutputSize
        let gate = obj ()
        override _.Backend = Backend.Kernels
        override _.Precision = net.Precision
        override _.InputSize = input.Length
        override _.OutputSize = output.Length
        // Optimised from the first call (no tier-0 phase): a predictor exists for latency.
        [<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)>]
        override this.Predict(x: ReadOnlySpan<float>, result: Span<float>) =
            // A float32 row predictor checks the values of x as each thread converts them.
            let checkedByConversion = not (isNull row) && not (Type.op_Equality(typeof<'T>, typeof<float>))
            if checkedByConversion then this.CheckLengths(x, result) else this.CheckSpans(x, result)
            Monitor.Enter gate
            try
                // Both cores for the large layers; the values do not depend on the split.
                if Type.op_Equality(typeof<'T>, typeof<float>) then
                    // float64: the caller's spans are the kernels' input and output.
                    if isNull row then trainer.Predict(MemoryMarshal.Cast<float, 'T> x, MemoryMarshal.Cast<float, 'T> result, true)
                    else row.Predict(MemoryMarshal.Cast<float, 'T> x, MemoryMarshal.Cast<float, 'T> result, true)
                else
                    // float32: the row predictor rounds x as each thread reads it (no core reads a
                    // converted row another core has just written).
                    if isNull row then
                        Layout.Round(x, Span input) |> ignore   // x was checked above
                        trainer.Predict(ReadOnlySpan input, Span output, true)
                    elif not (row.PredictFromDoubles(x, Span output, true)) then
                        // A bad value: reported before anything is written to result.
                        this.ReportInput x
                        // (ReportInput found none: x changed during the call.)
                        Check.fail "x" "x changed while it was being predicted, and holds a value that is not finite or is beyond the range of float32, the network's precision."
                    for j in 0 .. output.Length - 1 do result.[j] <- Double.CreateTruncating output.[j]
            finally
                Monitor.Exit gate
            this.CheckResult result
        [<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)>]
        override this.Predict(x: ReadOnlySpan<float32>, result: Span<float32>) =
            this.CheckSpans(x, result)
            Monitor.Enter gate
            try
                if Type.op_Equality(typeof<'T>, typeof<float32>) then
                    // float32: the caller's spans are the kernels' input and output.
                    let xt = MemoryMarshal.Cast<float32, 'T> x
                    let rt = MemoryMarshal.Cast<float32, 'T> result
                    if isNull row then trainer.Predict(xt, rt, true) else row.Predict(xt, rt, true)
                else
                    // float64: x widened exactly, the outputs rounded to float32.
                    let wide = MemoryMarshal.Cast<'T, float>(Span input)
                    Layout.Widen(x, wide)
                    if isNull row then trainer.Predict(ReadOnlySpan input, Span output, true)
                    else row.Predict(ReadOnlySpan input, Span output, true)
                    for j in 0 .. output.Length - 1 do result.[j] <- Single.CreateTruncating output.[j]
            finally
                Monitor.Exit gate
            this.CheckResult result

    /// A kernel predictor in the network's precision.
    let predictor (net: Network) : Predictor =
        match net.Precision with
        | Precision.Float64 -> PredictorOf<float>(net) :> Predictor
        | Precision.Float32 -> PredictorOf<float32>(net) :> Predictor

/// Networks: construction, forward and backward passes, loss and gradient.
module Network =

    /// A network from blocks whose widths agree (every dropout rate in [0, 1), every residual
    /// block keeping its width, at least one block that fixes a width: a dense layer, a
    /// normalisation or a custom block), residual blocks nested at most `Block.maxDepth` (32) deep.
    /// Raises ArgumentException naming the block, its position ("2.1": the second block inside
    /// block 2) and both widths (or the nesting).
    let ofBlocks (blocks: Block seq) : Network =
        Check.notNull "blocks" blocks
        let blocks = List.ofSeq blocks
        if List.isEmpty blocks then Check.fail "blocks" "A network needs at least one block."
        Block.checkNetwork "blocks" blocks
        { Blocks = Block.checkedCopy "blocks" "" blocks; Precision = Precision.Float64 }

    /// A network from dense layers whose shapes agree; raises ArgumentException naming both shapes.
    let create (layers: Dense seq) : Network =
        Check.notNull "layers" layers
        let layers = List.ofSeq layers
        if List.isEmpty layers then Check.fail "layers" "A network needs at least one layer."
        layers
        |> List.pairwise
        |> List.iteri (fun i (a, b) ->
            if a.OutputSize <> b.InputSize then
                Check.fail "layers" (sprintf "Layer %d gives %d outputs (weights %s) but layer %d takes %d inputs (weights %s)." i a.OutputSize (Mat.shapeOf a.Weights) (i + 1) b.InputSize (Mat.shapeOf b.Weights)))
        { Blocks = layers |> List.map Block.Dense |> Block.checkedCopy "layers" ""; Precision = Precision.Float64 }

    /// A network of `inputs` inputs and the given blocks, its weights drawn from `rng` (each dense
    /// layer's by its initialiser, in order, depth first), its normalisations started as PyTorch's.
    /// Returns the network and the generator to use next. Raises ArgumentException naming a bad
    /// block (a width that does not fit, a rate outside [0, 1), a residual that changes the width).
    let initBlocksWith (inputs: int) (specs: BlockSpec seq) (rng: Rng) : Network * Rng =
        Check.positiveInt "inputs" inputs
        Check.notNull "specs" specs
        let specs = List.ofSeq specs
        if List.isEmpty specs then Check.fail "specs" "A network needs at least one block."
        let total = ref 0L
        let rec build (path: string) (width: int) (rng: Rng) (specs: BlockSpec list) : Block list * int * Rng =
            let folder (blocks, width, rng) (i: int, spec: BlockSpec) =
                let here = Block.position path i
                // The messages of a spec's own checks end by naming its position ("units must be
                // positive, but is 0 (block 1, dense).": the parameter first, as the C# facade reads it).
                let at (kind: string) (text: string) = sprintf "%s (block %s, %s)." (text.TrimEnd('.')) here kind
                match spec with
                | BlockSpec.Dense spec ->
                    if spec.Units <= 0 then Check.fail "units" (at "dense" (sprintf "units must be positive, but is %d" spec.Units))
                    match spec.Activation with
                    | Activation.LeakyReLU s when not (Double.IsFinite s) ->
                        Check.fail "slope" (at "dense" (sprintf "slope must be finite, but is %s" (string s)))
                    | _ -> ()
                    // Checked before anything is allocated: every layer's d_in x d_out weights must
                    // fit in one .NET array and the whole network's parameters in an int.
                    let weights = int64 width * int64 spec.Units
                    if weights > int64 Array.MaxLength then
                        Check.fail "units" (at "dense" (sprintf "A layer of %d units after %d inputs needs %d weights; a layer holds at most %d (Array.MaxLength) weights." spec.Units width weights Array.MaxLength))
                    total.Value <- total.Value + weights + (if spec.UseBias then int64 spec.Units else 0L)
                    if total.Value > int64 Int32.MaxValue then
                        Check.fail "units" (at "dense" (sprintf "The network's layers need %d parameters so far; a network holds at most %d (Int32.MaxValue) parameters." total.Value Int32.MaxValue))
                    let init = defaultArg spec.Initializer (Init.defaultFor spec.Activation)
                    let w, rng = Init.weights init width spec.Units rng
                    let bias = if spec.UseBias then Some (Vector<float>.Build.Dense spec.Units) else None
                    Block.Dense { Weights = w; Bias = bias; Activation = spec.Activation } :: blocks, spec.Units, rng
                | BlockSpec.Activation a ->
                    match a with
                    | Activation.LeakyReLU s when not (Double.IsFinite s) ->
                        Check.fail "slope" (at "activation" (sprintf "slope must be finite, but is %s" (string s)))
                    | _ -> ()
                    Block.Activation a :: blocks, width, rng
                | BlockSpec.Dropout rate ->
                    Dropout.checkRateAt "rate" here rate
                    Block.Dropout rate :: blocks, width, rng
                | BlockSpec.BatchNorm -> Block.BatchNorm (BatchNorm.create width) :: blocks, width, rng
                | BlockSpec.LayerNorm -> Block.LayerNorm (LayerNorm.create width) :: blocks, width, rng
                | BlockSpec.Residual inner ->
                    if List.isEmpty inner then Check.fail "specs" (sprintf "Block %s (residual) has no inner blocks; a residual block needs at least one." here)
                    // `here` has one dot per enclosing residual: its inner blocks lie one deeper.
                    if here |> Seq.filter ((=) '.') |> Seq.length >= Block.maxDepth then
                        Check.fail "specs" (sprintf "Block %s (residual) nests residual blocks more than %d deep; a network (and a model file) nests them at most %d deep." here Block.maxDepth Block.maxDepth)
                    let innerBlocks, w, rng = build here width rng inner
                    if w <> width then
                        Check.fail "specs" (sprintf "Block %s (residual) takes %d features but its inner blocks give %d; a residual block X + f(X) needs f to keep the width." here width w)
                    Block.Residual innerBlocks :: blocks, width, rng
                | BlockSpec.Custom c ->
                    Block.checkCustomSizes "specs" here c
                    if c.InputSize <> width then
                        Check.fail "specs" (sprintf "Block %s (custom block '%s') takes %d features but the blocks before it give %d." here c.Name c.InputSize width)
                    Block.Custom c :: blocks, c.OutputSize, rng
            let blocks, width, rng = List.fold folder ([], width, rng) (List.indexed specs)
            List.rev blocks, width, rng
        let blocks, _, rng = build "" inputs rng specs
        // A network keeps its input width only in its blocks: activation and dropout blocks alone
        // take any width, so `inputs` cannot be recorded (ofBlocks would refuse them naming "blocks").
        if (Block.checkWidths "specs" "" None blocks).IsNone then
            Check.fail "specs" (sprintf "No block of specs fixes a width (activation and dropout blocks take any width), and a network records its input width only in its blocks, so inputs = %d cannot be kept: add a dense layer, a normalisation or a custom block." inputs)
        ofBlocks blocks, rng

    /// `initBlocksWith` from a seed.
    let initBlocks (inputs: int) (specs: BlockSpec seq) (seed: int64) : Network =
        fst (initBlocksWith inputs specs (Rng.create seed))

    /// A network of `inputs` inputs and the given dense layers, its weights drawn from `rng`.
    /// Returns the network and the generator to use next.
    let initWith (inputs: int) (specs: LayerSpec seq) (rng: Rng) : Network * Rng =
        Check.notNull "specs" specs
        let specs = List.ofSeq specs
        if List.isEmpty specs then Check.fail "specs" "A network needs at least one layer."
        initBlocksWith inputs (specs |> List.map BlockSpec.Dense) rng

    /// A network of `inputs` inputs and the given layers, its weights drawn from a seed.
    let init (inputs: int) (specs: LayerSpec seq) (seed: int64) : Network =
        fst (initWith inputs specs (Rng.create seed))

    /// Applies f to every block, depth first (a residual's inner blocks before the residual itself
    /// is rebuilt), giving a new network of the same precision; f must keep each block's shapes.
    let mapBlocks (f: Block -> Block) (net: Network) : Network =
        let rec go (blocks: Block list) =
            blocks |> List.map (fun b ->
                match b with
                | Block.Residual inner -> f (Block.Residual (go inner))
                | _ -> f b)
        { net with Blocks = go net.Blocks }

    /// The networks whose values `checkBlocks` has checked (networks are immutable, so a checked
    /// network stays valid; an entry goes with its network, as the kernels' pools do).
    let private valuesChecked = System.Runtime.CompilerServices.ConditionalWeakTable<Network, obj>()

    /// Raises ArgumentException (ParamName "net") unless the network's blocks are what
    /// `ofBlocks` accepts, with its messages ("Block 1 (dense) takes 5 features (weights 5x4) but
    /// the blocks before it give 4.", "Block 1 (batch normalisation): runningMean has length 2 but
    /// scale has length 4; ..."): a network written as a record (`{ net with Blocks = ... }`) is
    /// checked here, not when it is built. The widths are checked on every public call; the values
    /// (`Block.checkValues`, one pass over them) on the first call with that network value.
    let private checkBlocks (net: Network) =
        if isNull (box net.Blocks) || List.isEmpty net.Blocks then Check.fail "net" "The network has no blocks; build it with Network.create, Network.ofBlocks or Network.init."
        Block.checkNetwork "net" net.Blocks
        match valuesChecked.TryGetValue net with
        | true, _ -> ()
        | _ ->
            Block.checkValues "net" "" net.Blocks
            valuesChecked.AddOrUpdate(net, null)

    /// The network in another precision (PyTorch's `model.float()` / `model.double()`): a new
    /// network whose parameters and state are rounded to p (`Precision.round`) and which computes
    /// in p from then on. Widening a Float32 network to Float64 is exact (every float32 is a
    /// float64); narrowing rounds each value to the nearest float32 (a value beyond float32's
    /// range, |v| > 3.4e38, raises ArgumentException (ParamName "net") naming its block, the
    /// parameter and its position, e.g. "Block 0's weights[0, 0] = 1E+300" or, for a custom block,
    /// "Block 2's custom 'gate' parameters[0] = 1E+39"), and blocks that `ofBlocks` would refuse
    /// (a network written as a record) raise its message, ParamName "net".
    let withPrecision (p: Precision) (net: Network) : Network =
        Check.notNull "net" (box net)
        checkBlocks net
        let index = ref 0
        let fail (what: string) (v: float) =
            Check.fail "net" (sprintf "Block %d's %s = %s is beyond the range of %s (about 3.4e38), so the network has no %s form." index.Value what (string v) (Precision.name p) (Precision.name p))
        let vec (name: string) (v: Vector<float>) =
            let r = Precision.roundVector p v
            match Seq.tryFindIndex (fun x -> not (Double.IsFinite x)) r with
            | Some j -> fail (sprintf "%s[%d]" name j) v.[j]
            | None -> r
        let mat (m: Matrix<float>) =
            let r = Precision.roundMatrix p m
            if not (Mat.maxAbs r < infinity) then
                for i in 0 .. r.RowCount - 1 do
                    for j in 0 .. r.ColumnCount - 1 do
                        if not (Double.IsFinite r.[i, j]) then fail (sprintf "weights[%d, %d]" i j) m.[i, j]
            r
        let net =
            net |> mapBlocks (fun b ->
                let b' =
                    match b with
                    | Block.Dense l -> Block.Dense { l with Weights = mat l.Weights; Bias = l.Bias |> Option.map (vec "bias") }
                    | Block.BatchNorm bn ->
                        Block.BatchNorm { bn with Scale = vec "scale" bn.Scale; Shift = vec "shift" bn.Shift; RunningMean = vec "running mean" bn.RunningMean; RunningVariance = vec "running variance" bn.RunningVariance }
                    | Block.LayerNorm ln -> Block.LayerNorm { ln with Scale = vec "scale" ln.Scale; Shift = vec "shift" ln.Shift }
                    | Block.Custom c ->
                        let given = c.Parameters
                        let r = Precision.roundArray p given
                        match Seq.tryFindIndex (fun k -> Double.IsFinite given.[k] && not (Double.IsFinite r.[k])) (seq { 0 .. given.Length - 1 }) with
                        | Some j -> fail (sprintf "custom '%s' parameters[%d]" c.Name j) given.[j]
                        | None -> Block.Custom (c.WithParameters r)
                    | b -> b
                index.Value <- index.Value + 1
                b')
        { net with Precision = p }

    /// Raises ArgumentException (ParamName `name`, naming the row and column) when a value of x lies
    /// beyond the range of the precision (|v| > 3.4e38 for Float32; nothing for Float64).
    let checkRangeIn (p: Precision) (name: string) (x: Matrix<float>) =
        if p = Precision.Float32 then
            let limit = float Single.MaxValue
            let data = x.AsColumnMajorArray()
            let mutable ok = true
            if isNull data then ok <- x.ForAll(fun v -> abs v <= limit)
            else for v in data do if abs v > limit then ok <- false
            if not ok then
                for i in 0 .. x.RowCount - 1 do
                    for j in 0 .. x.ColumnCount - 1 do
                        let v = x.[i, j]
                        if abs v > limit then
                            Check.fail name (sprintf "%s holds %s at row %d, column %d, beyond the range of float32 (about 3.4e38), the network's precision." name (string v) i j)

    let private failInputs (net: Network) (name: string) (x: Matrix<float>) =
        let first =
            match net.Blocks |> List.tryFind (fun b -> (Block.inputWidth b).IsSome) with
            | Some (Block.Dense d) -> sprintf "first layer's weights %s" (Mat.shapeOf d.Weights)
            | Some b -> sprintf "its first %s block" (Block.name b)
            | None -> "no block"
        Check.fail name (sprintf "%s has shape %s but the network takes %d inputs (%s); %s needs %d columns." name (Mat.shapeOf x) net.InputSize first name net.InputSize)

    /// Checks that a batch's shape suits the network: non-empty, as many columns as inputs (the
    /// values are not read; see `checkInput`).
    let checkInputShape (net: Network) (name: string) (x: Matrix<float>) =
        Check.notNull "net" net
        checkBlocks net
        Mat.checkShape name x
        if x.ColumnCount <> net.InputSize then failInputs net name x

    /// Checks that a batch suits the network: non-empty, finite, as many columns as inputs, and for
    /// a Float32 network within float32's range (|v| <= 3.4e38, which float32 can hold).
    let checkInput (net: Network) (name: string) (x: Matrix<float>) =
        Check.notNull "net" net
        checkBlocks net
        Mat.checkBatch name x
        if x.ColumnCount <> net.InputSize then failInputs net name x
        if net.Precision = Precision.Float32 then checkRangeIn Precision.Float32 name x

    /// Raises ArgumentException (ParamName `name`) naming the first row whose outputs are not
    /// finite although its inputs are: a value far outside what the network was trained on
    /// overflows a layer (an input of 1e308, say).
    let checkOutput (name: string) (x: Matrix<float>) (out: Matrix<float>) =
        let data = out.AsColumnMajorArray()
        let mutable ok = true
        if isNull data then ok <- out.ForAll(fun v -> Double.IsFinite v)
        else for v in data do if not (Double.IsFinite v) then ok <- false
        if not ok then
            let i = Seq.init out.RowCount id |> Seq.find (fun i -> out.Row(i).Exists(fun v -> not (Double.IsFinite v)))
            let largest = x.Row(i).Enumerate() |> Seq.map abs |> Seq.max
            Check.fail name (sprintf "The network's output for row %d of %s is not finite (%s) although the row is: a value far outside the range the network was trained on overflows a layer (the row's largest magnitude is %g). Scale the inputs as for training." i name (String.Join(", ", out.Row(i).ToArray() |> Array.map string)) largest)

    /// Raises ArgumentException (ParamName `name`) for a batch of one row in training mode when the
    /// network has a batch normalisation (a batch's variance needs two rows).
    let checkModeRows (net: Network) (mode: Mode) (name: string) (rows: int) =
        if mode.IsTraining && rows < 2 then
            match Block.tryFindPath (function Block.BatchNorm _ -> true | _ -> false) "" net.Blocks with
            | Some position ->
                Check.fail name (sprintf "%s has %d row, but block %s (batch normalisation) in training mode needs at least 2 rows per batch (it normalises by the batch's variance); use a batch size of 2 or more." name rows position)
            | None -> ()

    /// The widest matrix a batch makes on its way through the network: the most columns of its
    /// inputs and of any block's input or output (nested blocks included); 0 for blocks that fix no
    /// width (a network of a dropout alone keeps its input's width).
    let widest (net: Network) : int =
        let mutable w = net.Blocks |> List.tryPick Block.inputWidth |> Option.defaultValue 0
        Block.iter (fun b ->
            match b with
            | Block.Dense d -> w <- max w (max d.InputSize d.OutputSize)
            | Block.Custom c -> w <- max w (max c.InputSize c.OutputSize)
            | Block.BatchNorm n -> w <- max w n.Width
            | Block.LayerNorm n -> w <- max w n.Width
            | Block.Activation _ | Block.Dropout _ | Block.Residual _ -> ()) net.Blocks
        w

    /// Raises ArgumentException (ParamName `name`) when a batch of `rows` rows would make a matrix
    /// (rows x `widest net`) of more entries than one array holds (Array.MaxLength, 2,147,483,591):
    /// the reference backend's forward and backward passes hold each block's output as one
    /// matrix, and MathNet fails past that with an untyped error. The message names both numbers.
    /// `forwardIn` (so `forward`, the losses, gradients and training on the reference backend)
    /// checks it; `predictWith` Backend.Reference passes such a batch in row chunks instead.
    let checkBatchEntries (net: Network) (name: string) (rows: int) =
        let w = widest net
        if int64 rows * int64 w > int64 Array.MaxLength then
            Check.fail name
                (sprintf "%s has %d rows and the network's widest layer %d units: one pass of the batch would need a %d x %d matrix (%d entries), more than the %d one array holds. Pass at most %d rows at a time (predictions, and training's losses of whole sets, do so themselves; a training batch or a gradient over the whole set cannot)."
                    name rows w rows w (int64 rows * int64 w) Array.MaxLength (Array.MaxLength / w))

    /// The most entries (rows x widest layer) of a batch the reference backend's `predictWith`
    /// passes at once: 4,194,304 (32 MB per float64 matrix). A larger batch is predicted in chunks
    /// of max 1 (ReferenceChunkEntries / widest) rows; each row's output depends on that row only
    /// in inference mode, so the answer is the unchunked one's (and the kernels', within their
    /// documented tolerance), in bounded memory.
    [<Literal>]
    let ReferenceChunkEntries = 4194304

    /// The forward pass in a mode, without argument checks of the values, keeping what backward
    /// needs. For a Float32 network X is rounded to float32 first, and each block's output (a dense
    /// layer's Z = A W + 1 b and s(Z), products and sums accumulated in float64) is rounded once to
    /// float32. Raises ArgumentException (ParamName "x") for a batch too large for one matrix
    /// (`checkBatchEntries`), or of one row in training mode for a network with batch
    /// normalisation (`checkModeRows`: its variance, and the running variance `updateState` moves
    /// by n / (n - 1), need two rows).
    let forwardIn (mode: Mode) (net: Network) (x: Matrix<float>) : Trace =
        // (A batch's own width never needs checking: x exists, and blocks that fix no width keep it.)
        checkBatchEntries net "x" x.RowCount
        checkModeRows net mode "x" x.RowCount
        let p = net.Precision
        { Steps = Block.forwardAll p mode (ref 0) net.Blocks (Precision.roundMatrix p x) }

    /// The forward pass in inference mode without argument checks (`forwardIn Mode.Inference`).
    let forwardUnchecked (net: Network) (x: Matrix<float>) : Trace = forwardIn Mode.Inference net x

    /// The forward pass of a batch X (n x d_in, one sample per row) in inference mode, keeping every
    /// block's input, output and memory. Raises ArgumentException for a bad X.
    let forward (net: Network) (x: Matrix<float>) : Trace =
        checkInput net "x" x
        forwardUnchecked net x

    /// The output of a batch X in inference mode, without argument checks: `forwardUnchecked`'s,
    /// passed in chunks of rows when rows x widest layer is above ReferenceChunkEntries (each row's
    /// output is its own in inference mode: see ICustomBlock), so that no matrix holds more than
    /// that (or one row), however many rows: the reference backend's predictions, and the whole
    /// set's and the validation set's losses of reference training. Raises ArgumentException
    /// (ParamName `name`) only when the output itself (rows x outputs) is more than one array holds.
    let outputIn (name: string) (net: Network) (x: Matrix<float>) : Matrix<float> =
        let n = x.RowCount
        let rows = max 1 (ReferenceChunkEntries / max 1 (max x.ColumnCount (widest net)))
        if n <= rows then (forwardUnchecked net x).Output
        else
            let outputs = net.OutputSize
            if int64 n * int64 outputs > int64 Array.MaxLength then
                Check.fail name (sprintf "%s has %d rows and the network %d outputs: the output would be a %d x %d matrix (%d entries), more than the %d one array holds. Use at most %d rows at a time." name n outputs n outputs (int64 n * int64 outputs) Array.MaxLength (Array.MaxLength / outputs))
            let out = Matrix<float>.Build.Dense(n, outputs)
            let d = x.ColumnCount
            let mutable r0 = 0
            while r0 < n do
                let m = min rows (n - r0)
                out.SetSubMatrix(r0, 0, (forwardUnchecked net (x.SubMatrix(r0, m, 0, d))).Output)
                r0 <- r0 + m
            out

    /// The network after a training step's forward pass: each batch normalisation's running
    /// statistics moved towards the batch's (a new network; `net` is unchanged).
    let updateState (net: Network) (trace: Trace) : Network =
        { net with Blocks = Block.updateState net.Precision net.Blocks trace.Steps }

    /// The network's output for a batch X (n x d_in): an n x d_out matrix, computed by the given
    /// backend (`Backend.Auto`: the kernels wherever they support the network). Raises
    /// ArgumentException for a bad X, for blocks whose widths do not agree (ParamName "net", as
    /// `ofBlocks` says it), or for Backend.Kernels on a network they do not support. The reference
    /// backend passes a batch of more than ReferenceChunkEntries entries (rows x widest layer) in
    /// chunks of rows, as the kernels pass theirs in chunks of 256 rows.
    let predictWith (backend: Backend) (net: Network) (x: Matrix<float>) : Matrix<float> =
        checkInputShape net "x" x
        let out =
            match KernelNetwork.resolve "backend" backend net with
            | Backend.Kernels ->
                // The values are checked in the kernels' conversion pass; a bad one is named here.
                KernelNetwork.predict (fun () -> Mat.checkFinite "x" x; checkRangeIn net.Precision "x" x) net x
            | _ ->
                // The shape and the blocks are checked above: only the values here.
                Mat.checkFinite "x" x
                if net.Precision = Precision.Float32 then checkRangeIn Precision.Float32 "x" x
                // In chunks of rows when large (outputIn).
                outputIn "x" net x
        checkOutput "x" x out
        out

    /// The network's output for a batch X (n x d_in): an n x d_out matrix (`predictWith Backend.Auto`).
    let predict (net: Network) (x: Matrix<float>) : Matrix<float> = predictWith Backend.Auto net x

    /// A single-sample predictor on the given backend, with a private copy of the network's
    /// parameters. Raises ArgumentException for blocks whose widths do not agree (ParamName "net",
    /// as `ofBlocks` says it), or for Backend.Kernels on a network they do not support.
    let predictorWith (backend: Backend) (net: Network) : Predictor =
        Check.notNull "net" (box net)
        checkBlocks net
        match KernelNetwork.resolve "backend" backend net with
        | Backend.Kernels -> KernelNetwork.predictor net
        | _ ->
            let inputs, outputs = net.InputSize, net.OutputSize
            { new Predictor() with
                member _.Backend = Backend.Reference
                member _.Precision = net.Precision
                member _.InputSize = inputs
                member _.OutputSize = outputs
                member this.Predict(x: ReadOnlySpan<float>, output: Span<float>) =
                    this.CheckSpans(x, output)
                    let row = Matrix<float>.Build.Dense(1, x.Length)
                    for j in 0 .. x.Length - 1 do row.[0, j] <- x.[j]
                    let y = (forwardUnchecked net row).Output
                    for j in 0 .. output.Length - 1 do output.[j] <- y.[0, j]
                    this.CheckResult output
                member this.Predict(x: ReadOnlySpan<float32>, output: Span<float32>) =
                    // As the float64 overload on x widened (exactly), its outputs rounded to float32.
                    this.CheckSpans(x, output)
                    let row = Matrix<float>.Build.Dense(1, x.Length)
                    for j in 0 .. x.Length - 1 do row.[0, j] <- float x.[j]
                    let y = (forwardUnchecked net row).Output
                    for j in 0 .. output.Length - 1 do output.[j] <- float32 y.[0, j]
                    this.CheckResult output }

    /// A single-sample predictor (`predictorWith Backend.Auto`).
    let predictor (net: Network) : Predictor = predictorWith Backend.Auto net

    /// Raises ArgumentException (ParamName "loss") when the loss is binary cross-entropy and the
    /// network's last block can give values outside [0, 1]: it must end with the sigmoid activation
    /// (a dense layer's or an activation block's). A custom last block is allowed; its values are
    /// checked where the loss is computed (`Loss.checkProbabilities`).
    let checkLossFits (loss: Loss) (net: Network) =
        if loss = Loss.BinaryCrossEntropy then
            let ending =
                match List.tryLast net.Blocks with
                | Some (Block.Dense l) when l.Activation = Activation.Sigmoid -> None
                | Some (Block.Activation Activation.Sigmoid) | Some (Block.Custom _) -> None
                | Some (Block.Dense l) -> Some (sprintf "a dense layer with the %s activation" (Activation.name l.Activation))
                | Some (Block.Activation a) -> Some (sprintf "the %s activation" (Activation.name a))
                | Some (Block.Dropout _) -> Some "dropout (which scales its kept values up in training)"
                | Some (Block.BatchNorm _) -> Some "batch normalisation"
                | Some (Block.LayerNorm _) -> Some "layer normalisation"
                | Some (Block.Residual _) -> Some "a residual block"
                | None -> Some "no block"
            match ending with
            | Some what ->
                Check.fail "loss" (sprintf "BinaryCrossEntropy takes probabilities in [0, 1], but the network ends with %s, whose outputs can leave [0, 1]: end it with the sigmoid activation, or use BinaryCrossEntropyWithLogits on its raw outputs." what)
            | None -> ()

    /// `Loss.checkProbabilities` of a network's output (ParamName "loss"): binary cross-entropy's
    /// output must lie in [0, 1].
    let checkOutputProbabilities (loss: Loss) (output: Matrix<float>) =
        Loss.checkProbabilities "loss" "the network's output" loss output

    /// Why a network whose block at `position` uses activation `a` (the step) cannot be trained.
    let private untrainable (position: string) (a: Activation) =
        sprintf "Block %s uses the %s activation, whose derivative is zero almost everywhere: a network with it cannot be trained by gradient. Use the Perceptron for a step output, or a sigmoid in its place." position (Activation.name a)

    /// Raises InvalidOperationException when an activation carries no gradient (the step).
    let checkDifferentiable (net: Network) =
        match Block.firstNonDifferentiable "" net.Blocks with
        | Some (position, a) -> raise (InvalidOperationException(untrainable position a))
        | None -> ()

    /// Raises ArgumentException (ParamName `name`: the argument that holds the network) when an
    /// activation carries no gradient (the step), with `checkDifferentiable`'s message: the
    /// trainer's check, for which such a network is a bad argument.
    let checkTrainable (name: string) (net: Network) =
        match Block.firstNonDifferentiable "" net.Blocks with
        | Some (position, a) -> Check.fail name (untrainable position a)
        | None -> ()

    /// The backward pass by the notes' recursion, block by block from the last: each block turns
    /// G = dL/d(its output) into its parameters' gradient and dL/d(its input) (for a dense layer:
    /// D = G o s'(Z), grad W = A^T D, grad b = 1^T D, G_prev = D W^T). `mode` must be the forward
    /// pass's. No checks (see `lossAndGradient`). For a Float32 network every gradient is rounded
    /// once to float32.
    let backwardIn (mode: Mode) (net: Network) (trace: Trace) (outputGradient: Matrix<float>) : Gradients * Matrix<float> =
        let p = net.Precision
        let grads, dx = Block.backwardAll p mode net.Blocks trace.Steps (Precision.roundMatrix p outputGradient)
        { Blocks = grads }, dx

    /// The backward pass of an inference-mode trace without checks.
    let backwardUnchecked (net: Network) (trace: Trace) (outputGradient: Matrix<float>) : Gradients =
        fst (backwardIn Mode.Inference net trace outputGradient)

    /// The backward pass from the gradient of the loss with respect to the output (of a trace of
    /// `forward`, inference mode).
    let backward (net: Network) (trace: Trace) (outputGradient: Matrix<float>) : Gradients =
        checkDifferentiable net
        Check.notNull "outputGradient" outputGradient
        let out = trace.Output
        if outputGradient.RowCount <> out.RowCount || outputGradient.ColumnCount <> out.ColumnCount then
            Check.fail "outputGradient" (sprintf "outputGradient has shape %s but the output has shape %s." (Mat.shapeOf outputGradient) (Mat.shapeOf out))
        backwardUnchecked net trace outputGradient

    /// The loss of a batch in a mode, its gradient with respect to every parameter, and the
    /// forward pass's trace (for `updateState`), without argument checks. For a Float32 network Y
    /// is rounded to float32 first, and the loss value (computed in float64) and dL/dOutput are
    /// rounded once to float32.
    let lossAndGradientIn (mode: Mode) (net: Network) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) : float * Gradients * Trace =
        let p = net.Precision
        let y = Precision.roundMatrix p y
        let trace = forwardIn mode net x
        // The one check here: a custom last block may give binary cross-entropy values outside [0, 1].
        checkOutputProbabilities loss trace.Output
        let value = Loss.valueUnchecked loss trace.Output y |> Precision.round p
        let g, _ = backwardIn mode net trace (Loss.gradientUnchecked loss trace.Output y)
        value, g, trace

    /// The loss of a batch and its gradient in inference mode, without argument checks.
    let lossAndGradientUnchecked (net: Network) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) : float * Gradients =
        let value, g, _ = lossAndGradientIn Mode.Inference net loss x y
        value, g

    /// The loss of the batch (X, Y) and its gradient with respect to every parameter, in inference
    /// mode (dropout off, batch normalisation by its running statistics; the trainer uses
    /// `lossAndGradientIn` with a training mode). Raises ArgumentException for a bad X or Y, a
    /// loss that overflows the double range (ParamName "y", naming the row, as `loss`) or a
    /// gradient that does (ParamName "x"), InvalidOperationException for a step activation. A Float32 network computes as
    /// `lossAndGradientIn` says (every value float32).
    let lossAndGradient (net: Network) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) : float * Gradients =
        checkInput net "x" x
        checkDifferentiable net
        let p = net.Precision
        let trace = forwardUnchecked net x
        Loss.checkTargetNamed "y" loss trace.Output y
        checkOutputProbabilities loss trace.Output
        let y = Precision.roundMatrix p y
        let value = Loss.valueUnchecked loss trace.Output y |> Precision.round p
        // A finite output and target whose loss overflows (targets of 1e308): the error `loss` gives.
        if not (Double.IsFinite value) then Loss.failOverflow "y" loss trace.Output y
        let g = backwardUnchecked net trace (Loss.gradientUnchecked loss trace.Output y)
        // A finite loss whose gradient overflows (inputs of 1e200 times a finite dL/dZ): no silent infinity.
        let rec firstBad (gs: BlockGradient list) =
            let bad (xs: float seq) = Seq.tryFind (fun v -> not (Double.IsFinite v)) xs
            gs |> List.tryPick (fun bg ->
                match bg with
                | BlockGradient.Dense d ->
                    match bad (d.Weights.Enumerate()) with
                    | Some v -> Some v
                    | None -> d.Bias |> Option.bind (fun b -> bad (b.Enumerate()))
                | BlockGradient.Normalization (sc, sh) -> match bad (sc.Enumerate()) with Some v -> Some v | None -> bad (sh.Enumerate())
                | BlockGradient.Residual inner -> firstBad inner
                | BlockGradient.Custom a -> bad a
                | BlockGradient.NoParameters -> None)
        match firstBad g.Blocks with
        | Some v ->
            Check.fail "x" (sprintf "The gradient of the loss holds %s although the loss (%s) is finite: the inputs or targets are too large for the network. Scale the inputs and targets (for example standardise them)." (string v) (string value))
        | None -> ()
        value, g

    /// The loss of the batch (X, Y), rounded to the network's precision (Y is rounded first).
    let loss (net: Network) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) : float =
        let out = predict net x
        Loss.checkTargetNamed "y" loss out y
        checkOutputProbabilities loss out
        let y = Precision.roundMatrix net.Precision y
        let v = Loss.valueUnchecked loss out y |> Precision.round net.Precision
        // A finite output and target whose loss overflows (targets of 1e308): an error naming the row.
        if not (Double.IsFinite v) then Loss.failOverflow "y" loss out y
        v

    /// Applies f to every dense layer (with its index among the dense layers, depth first), giving
    /// a new network of the same precision (the layers' shapes must not change, and for a Float32
    /// network f must give float32 values).
    let mapLayers (f: int -> Dense -> Dense) (net: Network) : Network =
        let i = ref 0
        net |> mapBlocks (fun b ->
            match b with
            | Block.Dense d ->
                let d' = f i.Value d
                i.Value <- i.Value + 1
                Block.Dense d'
            | b -> b)

    /// One line per block, nested blocks indented by two spaces: "dense 4 -> 16, relu, bias (80
    /// parameters)", "batch normalisation 16 (32 parameters, 32 running statistics)", "dropout 0.1 (16)",
    /// "residual 16 -> 16 (1056 parameters)" followed by its inner blocks. Raises ArgumentException
    /// (ParamName "net") for blocks whose widths do not agree, as `ofBlocks` says it.
    let describe (net: Network) : string list =
        Check.notNull "net" (box net)
        checkBlocks net
        let rec lines (indent: string) (width: int) (blocks: Block list) =
            let folder (acc, w) (b: Block) =
                let line =
                    match b with
                    | Block.Dense l ->
                        sprintf "dense %d -> %d, %s, %s (%d parameters)" l.InputSize l.OutputSize (Activation.name l.Activation)
                            (if l.Bias.IsSome then "bias" else "no bias") l.ParameterCount
                    | Block.Activation a -> sprintf "activation %s (%d)" (Activation.name a) w
                    | Block.Dropout rate -> sprintf "dropout %s (%d)" (string rate) w
                    | Block.BatchNorm bn -> sprintf "batch normalisation %d (%d parameters, %d running statistics)" bn.Width bn.ParameterCount (2 * bn.Width)
                    | Block.LayerNorm ln -> sprintf "layer normalisation %d (%d parameters)" ln.Width ln.ParameterCount
                    | Block.Residual _ -> sprintf "residual %d -> %d (%d parameters)" w w (Block.parameterCount b)
                    | Block.Custom c -> sprintf "custom '%s' %d -> %d (%d parameters)" c.Name c.InputSize c.OutputSize c.Parameters.Length
                let inner = match b with Block.Residual inner -> lines (indent + "  ") w inner | _ -> []
                (acc @ [ indent + line ] @ inner, Block.outputWidth w b)
            fst (List.fold folder ([], width) blocks)
        lines "" net.InputSize net.Blocks
