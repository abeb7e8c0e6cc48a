namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// Whether a forward pass trains or predicts: an explicit argument of every forward pass, never a
/// flag hidden in a block. Training draws dropout masks from the step's key and normalises a
/// batch by its own statistics; inference drops nothing and uses the running statistics.
[<RequireQualifiedAccess>]
type Mode =
    /// Prediction: dropout is the identity, batch normalisation uses its running statistics.
    | Inference
    /// A training step whose dropout masks come from `dropoutKey` (`Formulas.DropoutKey`).
    | Training of dropoutKey: uint64

/// A block written by a user (from F#, a record implementing this interface; from C#, the
/// facade's CustomBlock class): a pure forward and its vector-Jacobian product side by side, with
/// its parameters as one flat array. The library trains it on the reference backend, checks it
/// with the public gradient check, and shows it in the network's summary; it cannot be saved to a
/// model file. Implementations must not change their arguments (the library passes copies to
/// Forward and Backward, so one that does changes nothing a caller holds). For finite arguments
/// Forward must return finite values and Backward finite gradients: the network's passes and the
/// autodiff graph raise InvalidOperationException naming the block, the row and the column of a
/// NaN or infinity it returns for a finite input (and output gradient).
type ICustomBlock =
    /// The block's name, shown in summaries and errors.
    abstract Name : string
    /// The number of input columns it takes (at least 1: a network refuses a block declaring fewer).
    abstract InputSize : int
    /// The number of output columns it gives (at least 1).
    abstract OutputSize : int
    /// Its parameters as a new flat array (empty when it has none).
    abstract Parameters : float[]
    /// The same block with other parameters (as many as Parameters).
    abstract WithParameters : parameters: float[] -> ICustomBlock
    /// Y = f(X) for a batch X (n x InputSize); `training` tells the mode. In inference mode
    /// (training false) each output row must depend on its input row only, as every built-in
    /// block's does: predictions and whole-set losses may pass a large batch in chunks of rows
    /// (`Network.outputIn`). A block that mixes rows may do so in training mode (as batch
    /// normalisation does).
    abstract Forward : input: Matrix<float> * training: bool -> Matrix<float>
    /// Given X, Y = f(X) and G = dL/dY: (dL/dX, dL/dparameters in the order of Parameters).
    abstract Backward : input: Matrix<float> * output: Matrix<float> * outputGradient: Matrix<float> * training: bool -> Matrix<float> * float[]

/// One block of a network (the notes' section 5.1: a network is a composition of blocks whose
/// derivatives can each be computed on their own and chained). A batch is n x w, one sample per row.
[<RequireQualifiedAccess>]
type Block =
    /// s(X W + 1 b): a dense layer with its activation (the identity for none).
    | Dense of Dense
    /// s(X) element-wise.
    | Activation of Activation
    /// Inverted dropout at a rate in [0, 1) (`Dropout`).
    | Dropout of rate: float
    /// Batch normalisation (`BatchNorm`, as torch.nn.BatchNorm1d).
    | BatchNorm of BatchNorm
    /// Layer normalisation (`LayerNorm`, as torch.nn.LayerNorm).
    | LayerNorm of LayerNorm
    /// X + f(X), f an inner sequence of blocks whose output width equals its input width.
    | Residual of Block list
    /// A user's block (reference backend only; not saved to model files).
    | Custom of ICustomBlock

/// What one block's forward pass keeps for its backward pass.
[<RequireQualifiedAccess>]
type BlockMemory =
    /// Nothing beyond the block's input and output (an activation on its own, inference dropout, a custom block).
    | Nothing
    /// A dense layer's pre-activation Z = X W + 1 b.
    | PreActivation of Matrix<float>
    /// A training dropout's mask M (entries 0 or 1/(1-p)).
    | Mask of Matrix<float>
    /// A normalisation's Xhat and factors.
    | Normalization of NormalizationMemory
    /// A residual block's inner traces.
    | Inner of BlockTrace list

/// One block's forward pass: its input, its output and what its backward pass needs.
and BlockTrace = { Input: Matrix<float>; Output: Matrix<float>; Memory: BlockMemory }

/// The gradient of a loss with respect to one block's parameters, in the block's shapes.
[<RequireQualifiedAccess>]
type BlockGradient =
    /// A dense layer's dW and db.
    | Dense of DenseGradient
    /// A normalisation's dgamma and dbeta.
    | Normalization of scale: Vector<float> * shift: Vector<float>
    /// A residual block's inner gradients.
    | Residual of BlockGradient list
    /// A custom block's gradient, in the order of its Parameters.
    | Custom of float[]
    /// A block without parameters (activation, dropout).
    | NoParameters

/// A block's specification for `Network.initBlocks`: the weights are drawn, the normalisations
/// start as PyTorch's (gamma 1, beta 0, running mean 0 and variance 1).
[<RequireQualifiedAccess>]
type BlockSpec =
    /// A dense layer (its width, activation, bias flag and initialiser).
    | Dense of LayerSpec
    /// An activation on its own.
    | Activation of Activation
    /// Dropout at a rate in [0, 1).
    | Dropout of rate: float
    /// Batch normalisation of the width it meets.
    | BatchNorm
    /// Layer normalisation of the width it meets.
    | LayerNorm
    /// A residual block over an inner sequence.
    | Residual of BlockSpec list
    /// A user's block, as given.
    | Custom of ICustomBlock

/// Blocks: names, widths, parameter counts, and the forward and backward rule of each, side by side.
[<RequireQualifiedAccess>]
module Block =

    /// A short name: "dense", "activation", "dropout", "batch normalisation", "layer normalisation",
    /// "residual", or a custom block's own name.
    let name (block: Block) =
        match block with
        | Block.Dense _ -> "dense"
        | Block.Activation _ -> "activation"
        | Block.Dropout _ -> "dropout"
        | Block.BatchNorm _ -> "batch normalisation"
        | Block.LayerNorm _ -> "layer normalisation"
        | Block.Residual _ -> "residual"
        | Block.Custom c -> sprintf "custom block '%s'" c.Name

    /// The number of trainable parameters (running statistics are state, not parameters).
    let rec parameterCount (block: Block) =
        match block with
        | Block.Dense d -> d.ParameterCount
        | Block.BatchNorm b -> b.ParameterCount
        | Block.LayerNorm l -> l.ParameterCount
        | Block.Residual inner -> List.sumBy parameterCount inner
        | Block.Custom c -> c.Parameters.Length
        | Block.Activation _ | Block.Dropout _ -> 0

    /// The number of state values (running mean and variance of each batch normalisation).
    let rec stateCount (block: Block) =
        match block with
        | Block.BatchNorm b -> 2 * b.Width
        | Block.Residual inner -> List.sumBy stateCount inner
        | _ -> 0

    /// The input width a block fixes (None for blocks that take any width: activation, dropout).
    let rec inputWidth (block: Block) : int option =
        match block with
        | Block.Dense d -> Some d.InputSize
        | Block.BatchNorm b -> Some b.Width
        | Block.LayerNorm l -> Some l.Width
        | Block.Residual inner -> inner |> List.tryPick inputWidth
        | Block.Custom c -> Some c.InputSize
        | Block.Activation _ | Block.Dropout _ -> None

    /// The output width for an input width w.
    let outputWidth (w: int) (block: Block) : int =
        match block with
        | Block.Dense d -> d.OutputSize
        | Block.Custom c -> c.OutputSize
        | _ -> w

    /// Visits every block depth first (a residual before its inner blocks).
    let rec iter (f: Block -> unit) (blocks: Block list) =
        for b in blocks do
            f b
            match b with
            | Block.Residual inner -> iter f inner
            | _ -> ()

    /// The position of block i of a sequence at `path` ("" for the network's own blocks): "3", or
    /// "2.1" for the second block inside block 2. Errors and files name blocks by it.
    let position (path: string) (i: int) = if path = "" then string i else sprintf "%s.%d" path i

    /// The deepest nesting of residual blocks a network may have: 32 (a residual block's inner
    /// blocks are at depth 1, a residual inside it puts its own at depth 2, ...), the depth a model
    /// file holds (ModelFile.maxBlockDepth); deeper networks could not be saved, and the recursive
    /// passes over blocks are bounded by it.
    let maxDepth = 32

    /// The position of the first residual block (depth first) whose inner blocks lie deeper than
    /// `maxDepth`, or None. The walk stops at that depth, so any nesting is safe to check.
    let tooDeep (blocks: Block list) : string option =
        let hasResidual = blocks |> List.exists (fun b -> match b with Block.Residual _ -> true | _ -> false)
        let rec go (path: string) (depth: int) (bs: Block list) =
            bs |> List.indexed |> List.tryPick (fun (i, b) ->
                match b with
                | Block.Residual inner ->
                    let here = position path i
                    if depth + 1 > maxDepth then Some here
                    elif isNull (box inner) then None
                    else go here (depth + 1) inner
                | _ -> None)
        if hasResidual then go "" 0 blocks else None

    /// How deep the residual blocks of `blocks` nest (0: none; a residual of dense layers: 1). For
    /// blocks already within `maxDepth` (the recursion follows the nesting).
    let rec nesting (blocks: Block list) : int =
        blocks |> List.fold (fun d b -> match b with Block.Residual inner -> max d (1 + nesting inner) | _ -> d) 0

    /// The position ("3", or "2.1" for the second block inside block 2) of the first block, depth
    /// first, for which `f` holds.
    let rec tryFindPath (f: Block -> bool) (path: string) (blocks: Block list) : string option =
        blocks
        |> List.indexed
        |> List.tryPick (fun (i, b) ->
            let here = position path i
            if f b then Some here
            else
                match b with
                | Block.Residual inner -> tryFindPath f here inner
                | _ -> None)

    /// True when the activation of a dense layer or an activation block is differentiable everywhere it is used.
    let rec firstNonDifferentiable (path: string) (blocks: Block list) : (string * Activation) option =
        blocks
        |> List.indexed
        |> List.tryPick (fun (i, b) ->
            let here = position path i
            match b with
            | Block.Dense d when not (Activation.isDifferentiable d.Activation) -> Some (here, d.Activation)
            | Block.Activation a when not (Activation.isDifferentiable a) -> Some (here, a)
            | Block.Residual inner -> firstNonDifferentiable here inner
            | _ -> None)

    /// Raises ArgumentException (ParamName `param`) naming the block's position `here` when a custom
    /// block is null or declares an InputSize or OutputSize below 1 (a block takes and gives at
    /// least one column).
    let checkCustomSizes (param: string) (here: string) (c: ICustomBlock) =
        if isNull (box c) then Check.fail param (sprintf "Block %s is a custom block that is null." here)
        if c.InputSize < 1 || c.OutputSize < 1 then
            Check.fail param (sprintf "Block %s (custom block '%s') declares InputSize %d and OutputSize %d; both must be at least 1." here c.Name c.InputSize c.OutputSize)

    /// Checks that the blocks' widths agree from an input width (None: not fixed yet) and returns
    /// the output width (None when no block fixes one). `path` names the position ("3", or "2.1"
    /// for the second block inside residual block 2). Raises ArgumentException (ParamName `param`)
    /// naming the block, its position and both widths (or a custom block's bad sizes,
    /// `checkCustomSizes`).
    let rec checkWidths (param: string) (path: string) (width: int option) (blocks: Block list) : int option =
        // The position's text is built only on a failure or for a residual's path: checking a valid
        // network is cheap enough for every public call on it (Network.checkInput).
        let rec go (i: int) (w: int option) (bs: Block list) =
            match bs with
            | [] -> w
            | b :: rest ->
                let next =
                    match b, w with
                    | Block.Dropout rate, _ ->
                        if not (rate >= 0.0 && rate < 1.0) then Dropout.checkRateAt param (position path i) rate
                        w
                    | Block.Activation _, _ -> w
                    | Block.Custom c, _ when isNull (box c) || c.InputSize < 1 || c.OutputSize < 1 ->
                        checkCustomSizes param (position path i) c
                        w
                    | Block.Residual inner, _ ->
                        let here = position path i
                        if List.isEmpty inner then Check.fail param (sprintf "Block %s (residual) has no inner blocks; a residual block needs at least one." here)
                        let wIn = match w with Some w -> Some w | None -> inner |> List.tryPick inputWidth
                        let wOut = checkWidths param here wIn inner
                        match wIn, wOut with
                        | Some a, Some c when a <> c ->
                            Check.fail param (sprintf "Block %s (residual) takes %d features but its inner blocks give %d; a residual block X + f(X) needs f to keep the width." here a c)
                        | _ -> wOut
                    | _, Some wv ->
                        match inputWidth b with
                        | Some need when need <> wv ->
                            let shape = match b with Block.Dense d -> sprintf " (weights %s)" (Mat.shapeOf d.Weights) | _ -> ""
                            Check.fail param (sprintf "Block %s (%s) takes %d features%s but the blocks before it give %d." (position path i) (name b) need shape wv)
                        | _ -> if outputWidth wv b = wv then w else Some (outputWidth wv b)
                    | _, None ->
                        match inputWidth b with
                        | Some need -> Some (outputWidth need b)
                        | None -> None
                go (i + 1) next rest
        go 0 width blocks

    /// Checks the blocks of a network as `Network.ofBlocks` does, in its order and with its
    /// messages: residual blocks nested at most `maxDepth` deep, no null block, widths that agree
    /// (`checkWidths` from no fixed width) and at least one block that fixes a width. Raises
    /// ArgumentException (ParamName `param`). Cheap (a walk over the blocks), so that every public
    /// call on a network runs it: a network written as a record (`{ net with Blocks = ... }`) is
    /// not checked when it is built.
    let checkNetwork (param: string) (blocks: Block list) =
        match tooDeep blocks with
        | Some here ->
            Check.fail param (sprintf "Block %s (residual) nests residual blocks more than %d deep; a network (and a model file) nests them at most %d deep." here maxDepth maxDepth)
        | None -> ()
        let rec nulls (bs: Block list) =
            for b in bs do
                if isNull (box b) then Check.fail param (sprintf "%s holds a null block." param)
                match b with
                | Block.Residual inner when not (isNull (box inner)) -> nulls inner
                | _ -> ()
        nulls blocks
        match checkWidths param "" None blocks with
        | None -> Check.fail param "No block fixes the network's width: add a dense layer, a normalisation or a custom block."
        | Some _ -> ()

    /// `f ()`, an ArgumentException it raises for another parameter than `param` raised again with
    /// ParamName `param` and a message that names the block and its position `here` first.
    let private blaming (param: string) (here: string) (b: Block) (f: unit -> 'T) : 'T =
        try f ()
        with
        | :? ArgumentException as e when e.ParamName <> param ->
            let text = if isNull e.ParamName then e.Message else e.Message.Replace(sprintf " (Parameter '%s')" e.ParamName, "")
            Check.fail param (sprintf "Block %s (%s): %s" here (name b) text)

    /// Checks the blocks' values as `Dense.create`, `BatchNorm.createWith` and `LayerNorm.createWith`
    /// check them (`Dense.checkValues`, `BatchNorm.checkValues`, `LayerNorm.checkValues`), without
    /// copying: a block written as a record (`{ d with Bias = ... }`) may hold a bias or a
    /// statistic of another length than its width, a value that is not finite, a negative running
    /// variance, a momentum outside [0, 1], an epsilon that is not positive and finite or a leaky
    /// ReLU's slope that is not finite. Raises ArgumentException (ParamName `param`) naming the
    /// block, its position and what is wrong ("Block 1 (batch normalisation): runningMean has
    /// length 2 but scale has length 4; ..."). One pass over the values.
    let rec checkValues (param: string) (path: string) (blocks: Block list) =
        blocks
        |> List.iteri (fun i b ->
            let here = position path i
            blaming param here b (fun () ->
                match b with
                | Block.Dense d -> Dense.checkValues d.Weights d.Bias d.Activation
                | Block.BatchNorm bn -> BatchNorm.checkValues bn.Scale bn.Shift bn.RunningMean bn.RunningVariance bn.Momentum bn.Epsilon
                | Block.LayerNorm ln -> LayerNorm.checkValues ln.Scale ln.Shift ln.Epsilon
                | Block.Activation (Activation.LeakyReLU s) -> Check.finiteScalar "slope" s
                | Block.Residual inner -> checkValues param here inner
                | Block.Activation _ | Block.Dropout _ | Block.Custom _ -> ()))

    /// The blocks with their values checked (`checkValues`, with its errors) and copied, as
    /// `Dense.create`, `BatchNorm.createWith` and `LayerNorm.createWith` check and copy them. The
    /// copies make the network the caller's matrices cannot change.
    let rec checkedCopy (param: string) (path: string) (blocks: Block list) : Block list =
        blocks
        |> List.mapi (fun i b ->
            let here = position path i
            blaming param here b (fun () ->
                match b with
                | Block.Dense d -> Block.Dense (Dense.create d.Weights d.Bias d.Activation)
                | Block.BatchNorm bn -> Block.BatchNorm (BatchNorm.createWith bn.Scale bn.Shift bn.RunningMean bn.RunningVariance bn.Momentum bn.Epsilon)
                | Block.LayerNorm ln -> Block.LayerNorm (LayerNorm.createWith ln.Scale ln.Shift ln.Epsilon)
                | Block.Activation (Activation.LeakyReLU s) -> Check.finiteScalar "slope" s; b
                | Block.Residual inner -> Block.Residual (checkedCopy param here inner)
                | Block.Activation _ | Block.Dropout _ | Block.Custom _ -> b))

    /// Raises InvalidOperationException, naming the custom block and both shapes, unless what its
    /// Forward returned for `input` is a matrix of input's rows and the block's OutputSize columns;
    /// and, naming the block, the row and the column, when it holds NaN or an infinity although
    /// `input` is finite (a value the block made, which the errors about the network's output or
    /// the loss would otherwise blame on the data). One pass over the output; the input is read
    /// only when the output holds such a value. (The network's forward pass and the autodiff
    /// graph's custom node both use it.)
    let checkCustomOutput (c: ICustomBlock) (input: Matrix<float>) (y: Matrix<float>) =
        if isNull y || y.RowCount <> input.RowCount || y.ColumnCount <> c.OutputSize then
            invalidOp (sprintf "The custom block '%s' returned %s for an input of %s; it must return %d rows and %d columns (its OutputSize)."
                        c.Name (if isNull y then "null" else Mat.shapeOf y) (Mat.shapeOf input) input.RowCount c.OutputSize)
        match Mat.firstNonFinite y with
        | Some (i, j, v) when (Mat.firstNonFinite input).IsNone ->
            invalidOp (sprintf "The custom block '%s' returned %s at row %d, column %d for a finite input; its Forward must give finite values for finite inputs." c.Name (string v) i j)
        | _ -> ()

    /// Raises InvalidOperationException, naming the custom block, unless what its Backward returned
    /// is an input gradient of input's shape and one parameter gradient per parameter (neither
    /// null); and, naming the block and where (the input gradient's row and column, or the
    /// parameter's index), when either holds NaN or an infinity although the block's input, its
    /// output and the output gradient G are finite (a value the block made, which the errors about
    /// the loss's gradient or a diverging run would otherwise blame on the data or the step size).
    /// One pass over the gradients; the arguments are read only when a gradient holds such a
    /// value. (The network's backward pass and the autodiff graph's custom node both use it.)
    let checkCustomGradient (c: ICustomBlock) (input: Matrix<float>) (output: Matrix<float>) (outputGradient: Matrix<float>) (dx: Matrix<float>) (dTheta: float[]) =
        if isNull dx || dx.RowCount <> input.RowCount || dx.ColumnCount <> input.ColumnCount then
            invalidOp (sprintf "The custom block '%s' returned an input gradient of %s for an input of %s; the shapes must agree." c.Name (if isNull dx then "null" else Mat.shapeOf dx) (Mat.shapeOf input))
        let count = c.Parameters.Length
        if isNull dTheta || dTheta.Length <> count then
            invalidOp (sprintf "The custom block '%s' returned %d parameter gradients for its %d parameters." c.Name (if isNull dTheta then 0 else dTheta.Length) count)
        let finiteArguments () =
            (Mat.firstNonFinite input).IsNone && (Mat.firstNonFinite output).IsNone && (Mat.firstNonFinite outputGradient).IsNone
        let finite = "for a finite input, output and output gradient; its Backward must give finite gradients for finite arguments."
        match Mat.firstNonFinite dx with
        | Some (i, j, v) when finiteArguments () ->
            invalidOp (sprintf "The custom block '%s' returned %s in its input gradient at row %d, column %d %s" c.Name (string v) i j finite)
        | _ -> ()
        match Array.tryFindIndex (fun (v: float) -> not (Double.IsFinite v)) dTheta with
        | Some k when finiteArguments () ->
            invalidOp (sprintf "The custom block '%s' returned %s as the gradient of parameter %d %s" c.Name (string dTheta.[k]) k finite)
        | _ -> ()

    /// The forward pass of a sequence of blocks from X (already rounded to the precision), keeping
    /// each block's trace. `dropouts` counts the dropout blocks met so far (the mask's block number).
    let rec forwardAll (p: Precision) (mode: Mode) (dropouts: int ref) (blocks: Block list) (x: Matrix<float>) : BlockTrace list =
        let folder (acc: BlockTrace list, input: Matrix<float>) (block: Block) =
            let output, memory =
                match block with
                | Block.Dense d ->
                    let z = Dense.preActivation d input |> Precision.roundMatrix p
                    Activation.apply d.Activation z |> Precision.roundMatrix p, BlockMemory.PreActivation z
                | Block.Activation a -> Activation.apply a input |> Precision.roundMatrix p, BlockMemory.Nothing
                | Block.Dropout rate ->
                    let index = dropouts.Value
                    dropouts.Value <- index + 1
                    match mode with
                    | Mode.Training key when rate > 0.0 ->
                        let m = Dropout.mask key index rate input.RowCount input.ColumnCount
                        Dropout.apply p m input, BlockMemory.Mask m
                    | _ -> input, BlockMemory.Nothing
                | Block.BatchNorm bn ->
                    let y, m =
                        if mode.IsTraining then BatchNorm.forwardTraining p bn input
                        else BatchNorm.forwardInference p bn input
                    y, BlockMemory.Normalization m
                | Block.LayerNorm ln ->
                    let y, m = LayerNorm.forward p ln input
                    y, BlockMemory.Normalization m
                | Block.Residual inner ->
                    let traces = forwardAll p mode dropouts inner input
                    let fx = (List.last traces).Output
                    input + fx |> Precision.roundMatrix p, BlockMemory.Inner traces
                | Block.Custom c ->
                    // A copy: a block that changes its argument (against ICustomBlock's contract)
                    // changes neither the caller's matrix nor the trace.
                    let y = c.Forward(input.Clone(), mode.IsTraining)
                    checkCustomOutput c input y
                    Precision.roundMatrix p y, BlockMemory.Nothing
            ({ Input = input; Output = output; Memory = memory } :: acc, output)
        let traces, _ = List.fold folder ([], x) blocks
        List.rev traces

    /// The backward pass of a sequence of blocks: given their traces and G = dL/d(output), each
    /// block's parameter gradient and dL/dX. Every gradient is rounded to the precision.
    let rec backwardAll (p: Precision) (mode: Mode) (blocks: Block list) (traces: BlockTrace list) (g: Matrix<float>) : BlockGradient list * Matrix<float> =
        let step (acc: BlockGradient list, g: Matrix<float>) (block: Block, trace: BlockTrace) =
            let grad, dx =
                match block, trace.Memory with
                | Block.Dense d, BlockMemory.PreActivation z ->
                    let dg, dx = Dense.backwardIn p d trace.Input z trace.Output g
                    BlockGradient.Dense dg, dx
                | Block.Activation a, _ ->
                    BlockGradient.NoParameters, Mat.hadamard g (Activation.derivativeOf a trace.Input trace.Output) |> Precision.roundMatrix p
                | Block.Dropout _, BlockMemory.Mask m -> BlockGradient.NoParameters, Dropout.apply p m g
                | Block.Dropout _, _ -> BlockGradient.NoParameters, g
                | Block.BatchNorm bn, BlockMemory.Normalization m ->
                    let ds, db, dx = BatchNorm.backward p mode.IsTraining bn m g
                    BlockGradient.Normalization (ds, db), dx
                | Block.LayerNorm ln, BlockMemory.Normalization m ->
                    let ds, db, dx = LayerNorm.backward p ln m g
                    BlockGradient.Normalization (ds, db), dx
                | Block.Residual inner, BlockMemory.Inner innerTraces ->
                    let grads, dInner = backwardAll p mode inner innerTraces g
                    BlockGradient.Residual grads, g + dInner |> Precision.roundMatrix p
                | Block.Custom c, _ ->
                    // Copies, as for Forward: the trace and G (the caller's output gradient for a
                    // last block) stay as they are whatever the block does with its arguments.
                    let dx, dTheta = c.Backward(trace.Input.Clone(), trace.Output.Clone(), g.Clone(), mode.IsTraining)
                    checkCustomGradient c trace.Input trace.Output g dx dTheta
                    BlockGradient.Custom (Precision.roundArray p dTheta), Precision.roundMatrix p dx
                | b, _ -> invalidOp (sprintf "The trace does not belong to the %s block: it was made by another network." (name b))
            (grad :: acc, dx)
        List.zip blocks traces |> List.rev |> List.fold step ([], g)

    /// The blocks after a training step: each batch normalisation's running statistics moved
    /// towards its batch's (from the step's traces); every other block as it was.
    let rec updateState (p: Precision) (blocks: Block list) (traces: BlockTrace list) : Block list =
        List.map2 (fun (b: Block) (t: BlockTrace) ->
            match b, t.Memory with
            | Block.BatchNorm bn, BlockMemory.Normalization m when m.Mean.Count > 0 -> Block.BatchNorm (BatchNorm.updateRunning p bn m t.Input.RowCount)
            | Block.Residual inner, BlockMemory.Inner ts -> Block.Residual (updateState p inner ts)
            | _ -> b) blocks traces
