namespace Functional.NN

open System
open System.Threading
open MathNet.Numerics.LinearAlgebra

/// A dense layer in the batch layout: it maps an n x d_in batch A (one sample per row) to
/// s(A W + 1 b), with W of shape d_in x d_out and an optional bias row b of length d_out.
/// The notes' column form z = W' x + b' is the same layer with W' = W^T: a sample is a row here.
/// The record is immutable by convention: no function of the library changes its matrices.
type Dense =
    { Weights: Matrix<float>
      Bias: Vector<float> option
      Activation: Activation }
    /// d_in.
    member this.InputSize = this.Weights.RowCount
    /// d_out.
    member this.OutputSize = this.Weights.ColumnCount
    /// The number of weights and biases.
    member this.ParameterCount =
        this.Weights.RowCount * this.Weights.ColumnCount + (match this.Bias with Some b -> b.Count | None -> 0)

/// An ordered list of dense layers whose shapes agree: layer i+1 takes as many inputs as layer
/// i gives outputs, and the precision of its values. Build one with `Network.create` (which
/// checks that) or `Network.init`; both give Float64 networks, and `Network.withPrecision` turns
/// one into a Float32 network (as PyTorch's `model.float()`).
/// Float32 semantics: every value the network computes and keeps is a float32 value: the
/// parameters, each layer's pre-activation Z and activation A, the loss value, every gradient
/// (D, dW, db, dA), the optimizer's state (momentum, Adam moments...) and the updated parameters.
/// Products and sums are accumulated in float64 and rounded once to float32 (so the reference is
/// at least as accurate as float32 accumulation; for element-wise operations, rounding the
/// float64 result once gives the correctly rounded float32 result, since 53 >= 2*24+2). Inputs and
/// targets are rounded to float32 on entry (see docs/precision.md).
type Network =
    { Layers: Dense list
      /// The precision of every parameter and of every value the network computes.
      Precision: Precision }
    /// The input width of the first layer.
    member this.InputSize = (List.head this.Layers).InputSize
    /// The output width of the last layer.
    member this.OutputSize = (List.last this.Layers).OutputSize
    /// The number of weights and biases of all layers.
    member this.ParameterCount = this.Layers |> List.sumBy (fun l -> l.ParameterCount)

/// The gradient of a loss with respect to one layer's weights and bias, in the layer's shapes.
type DenseGradient = { Weights: Matrix<float>; Bias: Vector<float> option }

/// The gradient of a loss with respect to every parameter of a network, layer by layer.
type Gradients = { Layers: DenseGradient list }

/// What the forward pass keeps for the backward pass, layer by layer (i from 0):
/// `Inputs.[i]` is the batch entering layer i (the notes' Z_i; Inputs.[0] = X),
/// `PreActivations.[i]` = Inputs.[i] W_i + 1 b_i, and `Activations.[i]` = s(PreActivations.[i]),
/// which is also Inputs.[i+1]. `Output` is the last activation.
type Trace =
    { Inputs: Matrix<float> list
      PreActivations: Matrix<float> list
      Activations: Matrix<float> list }
    /// The network's output for the batch.
    member this.Output = List.last this.Activations

/// A layer's specification for `Network.init`: its width, activation and whether it has a bias.
type LayerSpec =
    { Units: int; Activation: Activation; UseBias: bool; Initializer: Initializer option }
    /// A layer with a bias and the activation's default initialiser.
    static member Of(units, activation) = { Units = units; Activation = activation; UseBias = true; Initializer = None }

/// A single-sample predictor (`Network.predictor`): the network's output for one sample at a time,
/// with low latency. It owns its buffers and a private copy of the network's parameters, so the
/// network it was made from stays unchanged and nothing outside can change what it computes.
/// Thread-safe (calls are serialised by a lock); the span overload allocates nothing.
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
    /// The network's output for the sample x (InputSize values), as a new array.
    member this.Predict(x: float[]) : float[] =
        Check.notNull "x" x
        let output = Array.zeroCreate this.OutputSize
        this.Predict(ReadOnlySpan x, Span output)
        output
    /// Checks a sample and an output span against the sizes.
    /// Raises ArgumentException (ParamName "x") when an output is not finite although x is.
    member internal this.CheckResult(output: Span<float>) =
        let mutable ok = true
        for k in 0 .. output.Length - 1 do
            if not (Double.IsFinite output.[k]) then ok <- false
        if not ok then
            Check.fail "x" "The network's output for x is not finite although x is: a value far outside the range the network was trained on overflows a layer. Scale the inputs as for training."
    member internal this.CheckSpans(x: ReadOnlySpan<float>, output: Span<float>) =
        if x.Length <> this.InputSize then
            Check.fail "x" (sprintf "x has %d values, but the network takes %d inputs." x.Length this.InputSize)
        if output.Length <> this.OutputSize then
            Check.fail "output" (sprintf "output has %d values, but the network has %d outputs." output.Length this.OutputSize)
        if not (KernelElement.allFinite x) then
            let mutable j = 0
            while Double.IsFinite x.[j] do j <- j + 1
            Check.fail "x" (sprintf "x holds %s at index %d; every value must be finite." (string x.[j]) j)
        if this.Precision = Precision.Float32 then
            for j in 0 .. x.Length - 1 do
                if abs x.[j] > float Single.MaxValue then
                    Check.fail "x" (sprintf "x holds %s at index %d, beyond the range of float32 (about 3.4e38), the network's precision." (string x.[j]) j)

/// Dense layers: construction and the forward and backward rules of one layer.
module Dense =

    /// A layer from its weights (d_in x d_out), optional bias (length d_out) and activation.
    let create (weights: Matrix<float>) (bias: Vector<float> option) (activation: Activation) : Dense =
        Check.notNull "weights" weights
        if weights.RowCount = 0 || weights.ColumnCount = 0 then
            Check.fail "weights" (sprintf "weights has shape %s; a layer needs at least one input and one output." (Mat.shapeOf weights))
        Mat.checkFinite "weights" weights
        match bias with
        | Some b ->
            Check.notNull "bias" b
            if b.Count <> weights.ColumnCount then
                Check.fail "bias" (sprintf "bias has length %d but weights has shape %s; the bias needs one entry per output (%d)." b.Count (Mat.shapeOf weights) weights.ColumnCount)
            Check.finite2D "bias" 1 b.Count (fun _ j -> b.[j])
        | None -> ()
        match activation with
        | Activation.LeakyReLU s -> Check.finiteScalar "slope" s
        | _ -> ()
        { Weights = weights.Clone(); Bias = bias |> Option.map (fun b -> b.Clone()); Activation = activation }

    /// Z = A W + 1 b (no checks).
    let preActivation (layer: Dense) (input: Matrix<float>) : Matrix<float> =
        let z = input * layer.Weights
        match layer.Bias with
        | Some b -> Mat.addRow b z
        | None -> z

    /// One layer's backward rule in a precision. Given its input A, pre-activation Z, output
    /// s(Z) and the gradient G of the loss with respect to its output, it returns (dW, db, dA):
    /// D = G o s'(Z); dW = A^T D; db = column sums of D; dA = D W^T. Each of D, dW, db and dA is
    /// computed in float64 (products and sums accumulated in float64) and rounded once to the
    /// precision (`Precision.round`; nothing is rounded for Float64).
    let backwardIn (precision: Precision) (layer: Dense) (input: Matrix<float>) (z: Matrix<float>) (a: Matrix<float>) (g: Matrix<float>) =
        let d = Mat.hadamard g (Activation.derivativeOf layer.Activation z a) |> Precision.roundMatrix precision
        let dW = input.TransposeThisAndMultiply d |> Precision.roundMatrix precision
        let db = layer.Bias |> Option.map (fun _ -> Mat.columnSums d |> Precision.roundVector precision)
        let dA = d.TransposeAndMultiply layer.Weights |> Precision.roundMatrix precision
        { Weights = dW; Bias = db }, dA

    /// One layer's backward rule in float64: `backwardIn Precision.Float64`.
    /// D = G o s'(Z); dW = A^T D; db = column sums of D; dA = D W^T.
    let backward (layer: Dense) (input: Matrix<float>) (z: Matrix<float>) (a: Matrix<float>) (g: Matrix<float>) =
        backwardIn Precision.Float64 layer input z a g

/// Dense networks on the kernels (Functional.NN.Kernels.DenseTrainer): the table from layers to
/// the kernels' layer specifications, parameter copies both ways, and batch prediction through
/// trainers that hold a network's parameters, cached per network value (networks are immutable,
/// so a network's copy never goes stale; it is collected with the network).
module internal KernelNetwork =

    open System.Collections.Concurrent
    open System.Numerics
    open System.Runtime.CompilerServices
    open System.Runtime.InteropServices
    open Functional.NN.Kernels
    open KernelElement

    /// The first layer the kernels do not support (the step activation), as (index, layer).
    let unsupported (net: Network) =
        net.Layers |> List.indexed |> List.tryFind (fun (_, l) -> l.Activation = Activation.Step)

    /// True when the kernels support every layer.
    let supports (net: Network) = (unsupported net).IsNone

    /// The backend that runs for a request: Auto gives Kernels where supported, else Reference;
    /// Kernels on an unsupported network raises ArgumentException naming the layer.
    let resolve (name: string) (backend: Backend) (net: Network) : Backend =
        match backend with
        | Backend.Reference -> Backend.Reference
        | Backend.Auto -> if supports net then Backend.Kernels else Backend.Reference
        | Backend.Kernels ->
            match unsupported net with
            | Some (i, l) -> Check.fail name (sprintf "The kernels backend does not support layer %d's %s activation; use Backend.Auto or Backend.Reference." i (Activation.name l.Activation))
            | None -> Backend.Kernels

    /// The kernels' layer specifications (`Activation.kernel`, the bias flag).
    let specs (net: Network) : DenseLayerSpec[] =
        net.Layers
        |> List.map (fun l -> let k, s = Activation.kernel l.Activation in DenseLayerSpec(l.OutputSize, k, s, l.Bias.IsSome))
        |> Array.ofList

    /// Copies the network's parameters into a trainer of its shape (each rounded to 'T).
    let load<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> (net: Network) (trainer: DenseTrainer<'T>) =
        net.Layers |> List.iteri (fun i l ->
            copyRowMajor l.Weights (trainer.Weights i) |> ignore   // a network's weights are finite
            let bias = trainer.Biases i
            match l.Bias with
            | Some b -> for j in 0 .. b.Count - 1 do bias.[j] <- 'T.CreateTruncating b.[j]
            | None -> bias.Clear())

    /// A new network of the template's shape, activations and precision with the trainer's parameters.
    let toNetwork<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> (template: Network) (trainer: DenseTrainer<'T>) : Network =
        { template with
            Layers =
                template.Layers |> List.mapi (fun i l ->
                    { l with
                        Weights = matrixOfRowMajor l.InputSize l.OutputSize (Span<'T>.op_Implicit (trainer.Weights i))
                        Bias = l.Bias |> Option.map (fun _ -> vectorOf (Span<'T>.op_Implicit (trainer.Biases i))) }) }

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
                let t = DenseTrainer<'T>(net.InputSize, specs net, LossKind.HalfMeanSquaredError, chunk)
                load net t
                t
        member _.Return(t: DenseTrainer<'T>) = bag.Add t

    let private pools = ConditionalWeakTable<Network, obj>()

    let private poolOf<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> (net: Network) =
        pools.GetValue(net, fun n -> box (Pool<'T>(n))) :?> Pool<'T>

    /// The outputs of a batch X (its shape checked) through the kernels in the element type 'T:
    /// X converted to the kernels' layout in one pass that also checks its values (onBadValue
    /// reports a bad one), then forward passes of `chunk` rows.
    let private predictT<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> (onBadValue: unit -> unit) (net: Network) (x: Matrix<float>) : Matrix<float> =
        let n, d, k = x.RowCount, x.ColumnCount, net.OutputSize
        let xs = GC.AllocateUninitializedArray<'T> (n * d)
        if not (copyRowMajor x (Span xs)) then onBadValue ()
        let pool = poolOf<'T> net
        let trainer = pool.Rent()
        try
            let out = Array.zeroCreate<float> (n * k)
            let mutable r0 = 0
            while r0 < n do
                let rows = min chunk (n - r0)
                let y = trainer.Forward(ReadOnlySpan(xs, r0 * d, rows * d), rows)
                for i in 0 .. rows - 1 do
                    for j in 0 .. k - 1 do
                        out.[j * n + r0 + i] <- Double.CreateTruncating y.[i * k + j]
                r0 <- r0 + rows
            Matrix<float>.Build.Dense(n, k, out)
        finally
            pool.Return trainer

    /// The outputs of a batch X (its shape checked) through the kernels, in the network's
    /// precision; onBadValue reports a value that is not finite once converted.
    let predict (onBadValue: unit -> unit) (net: Network) (x: Matrix<float>) : Matrix<float> =
        match net.Precision with
        | Precision.Float64 -> predictT<float> onBadValue net x
        | Precision.Float32 -> predictT<float32> onBadValue net x

    /// The single-sample predictor of one element type: a batch-of-one trainer and its buffers.
    [<Sealed>]
    type PredictorOf<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (net: Network) =
        inherit Predictor()
        let trainer =
            let t = DenseTrainer<'T>(net.InputSize, specs net, LossKind.HalfMeanSquaredError, 1)
            load net t
            t
        let input = Array.zeroCreate<'T> net.InputSize
        let output = Array.zeroCreate<'T> net.OutputSize
        let gate = obj ()
        override _.Backend = Backend.Kernels
        override _.Precision = net.Precision
        override _.InputSize = net.InputSize
        override _.OutputSize = net.OutputSize
        override this.Predict(x: ReadOnlySpan<float>, result: Span<float>) =
            this.CheckSpans(x, result)
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
            this.CheckResult result

    /// A kernel predictor in the network's precision.
    let predictor (net: Network) : Predictor =
        match net.Precision with
        | Precision.Float64 -> PredictorOf<float>(net) :> Predictor
        | Precision.Float32 -> PredictorOf<float32>(net) :> Predictor

/// Networks: construction, forward and backward passes, loss and gradient.
module Network =

    /// A network from layers whose shapes agree; raises ArgumentException naming both shapes.
    let create (layers: Dense seq) : Network =
        Check.notNull "layers" layers
        let layers = List.ofSeq layers
        if List.isEmpty layers then Check.fail "layers" "A network needs at least one layer."
        layers
        |> List.pairwise
        |> List.iteri (fun i (a, b) ->
            if a.OutputSize <> b.InputSize then
                Check.fail "layers" (sprintf "Layer %d gives %d outputs (weights %s) but layer %d takes %d inputs (weights %s)." i a.OutputSize (Mat.shapeOf a.Weights) (i + 1) b.InputSize (Mat.shapeOf b.Weights)))
        { Layers = layers; Precision = Precision.Float64 }

    /// A network of `inputs` inputs and the given layers, its weights drawn from `rng`.
    /// Returns the network and the generator to use next.
    let initWith (inputs: int) (specs: LayerSpec seq) (rng: Rng) : Network * Rng =
        Check.positiveInt "inputs" inputs
        let specs = List.ofSeq specs
        if List.isEmpty specs then Check.fail "specs" "A network needs at least one layer."
        // Checked before anything is allocated: every layer's d_in x d_out weights must fit in
        // one .NET array (Array.MaxLength values) and the whole network's parameters in an int.
        let _ =
            specs |> List.fold (fun (fanIn: int, total: int64) (spec: LayerSpec) ->
                Check.positiveInt "units" spec.Units
                match spec.Activation with
                | Activation.LeakyReLU s -> Check.finiteScalar "slope" s
                | _ -> ()
                let weights = int64 fanIn * int64 spec.Units
                if weights > int64 Array.MaxLength then
                    Check.fail "units" (sprintf "A layer of %d units after %d inputs needs %d weights; a layer holds at most %d (Array.MaxLength) weights." spec.Units fanIn weights Array.MaxLength)
                let total = total + weights + (if spec.UseBias then int64 spec.Units else 0L)
                if total > int64 Int32.MaxValue then
                    Check.fail "units" (sprintf "The network's layers need %d parameters so far; a network holds at most %d (Int32.MaxValue) parameters." total Int32.MaxValue)
                spec.Units, total) (inputs, 0L)
        let folder (layers, fanIn, rng) (spec: LayerSpec) =
            let init = defaultArg spec.Initializer (Init.defaultFor spec.Activation)
            let w, rng = Init.weights init fanIn spec.Units rng
            let bias = if spec.UseBias then Some (Vector<float>.Build.Dense spec.Units) else None
            ({ Weights = w; Bias = bias; Activation = spec.Activation } :: layers, spec.Units, rng)
        let layers, _, rng = List.fold folder ([], inputs, rng) specs
        { Layers = List.rev layers; Precision = Precision.Float64 }, rng

    /// A network of `inputs` inputs and the given layers, its weights drawn from a seed.
    let init (inputs: int) (specs: LayerSpec seq) (seed: int64) : Network =
        fst (initWith inputs specs (Rng.create seed))

    /// The network in another precision (PyTorch's `model.float()` / `model.double()`): a new
    /// network whose weights and biases are rounded to p (`Precision.round`) and which computes in
    /// p from then on. Widening a Float32 network to Float64 is exact (every float32 is a float64);
    /// narrowing rounds each parameter to the nearest float32 (a parameter beyond float32's range,
    /// |v| > 3.4e38, raises ArgumentException naming its layer).
    let withPrecision (p: Precision) (net: Network) : Network =
        Check.notNull "net" (box net)
        let layers =
            net.Layers
            |> List.mapi (fun i l ->
                let w = Precision.roundMatrix p l.Weights
                let b = l.Bias |> Option.map (Precision.roundVector p)
                let finite = Mat.maxAbs w < infinity && (match b with Some b -> b.ForAll(fun v -> Double.IsFinite v) | None -> true)
                if not finite then
                    Check.fail "net" (sprintf "Layer %d has a parameter beyond the range of %s (about 3.4e38)." i (Precision.name p))
                { l with Weights = w; Bias = b })
        { Layers = layers; Precision = p }

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

    /// Checks that a batch's shape suits the network: non-empty, as many columns as inputs (the
    /// values are not read; see `checkInput`).
    let checkInputShape (net: Network) (name: string) (x: Matrix<float>) =
        Check.notNull "net" net
        if List.isEmpty net.Layers then Check.fail "net" "The network has no layers; build it with Network.create or Network.init."
        Mat.checkShape name x
        if x.ColumnCount <> net.InputSize then
            Check.fail name (sprintf "%s has shape %s but the network takes %d inputs (first layer's weights %s); %s needs %d columns." name (Mat.shapeOf x) net.InputSize (Mat.shapeOf (List.head net.Layers).Weights) name net.InputSize)

    /// Checks that a batch suits the network: non-empty, finite, as many columns as inputs, and for
    /// a Float32 network within float32's range (|v| <= 3.4e38, which float32 can hold).
    let checkInput (net: Network) (name: string) (x: Matrix<float>) =
        Check.notNull "net" net
        if List.isEmpty net.Layers then Check.fail "net" "The network has no layers; build it with Network.create or Network.init."
        Mat.checkBatch name x
        if x.ColumnCount <> net.InputSize then
            Check.fail name (sprintf "%s has shape %s but the network takes %d inputs (first layer's weights %s); %s needs %d columns." name (Mat.shapeOf x) net.InputSize (Mat.shapeOf (List.head net.Layers).Weights) name net.InputSize)
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

    /// The forward pass without argument checks, keeping what backward needs. For a Float32
    /// network X is rounded to float32 first (it is Inputs.[0]), and each Z = A W + 1 b (products
    /// and sums accumulated in float64) and each s(Z) (evaluated in float64) is rounded once to
    /// float32.
    let forwardUnchecked (net: Network) (x: Matrix<float>) : Trace =
        let p = net.Precision
        let x = Precision.roundMatrix p x
        let step (inputs, zs, acts, a) (layer: Dense) =
            let z = Dense.preActivation layer a |> Precision.roundMatrix p
            let out = Activation.apply layer.Activation z |> Precision.roundMatrix p
            (a :: inputs, z :: zs, out :: acts, out)
        let inputs, zs, acts, _ = List.fold step ([], [], [], x) net.Layers
        { Inputs = List.rev inputs; PreActivations = List.rev zs; Activations = List.rev acts }

    /// The forward pass of a batch X (n x d_in, one sample per row), keeping every layer's
    /// input, pre-activation and activation. Raises ArgumentException for a bad X.
    let forward (net: Network) (x: Matrix<float>) : Trace =
        checkInput net "x" x
        forwardUnchecked net x

    /// The network's output for a batch X (n x d_in): an n x d_out matrix, computed by the given
    /// backend (`Backend.Auto`: the kernels wherever they support the network). Raises
    /// ArgumentException for a bad X, or for Backend.Kernels on a network they do not support.
    let predictWith (backend: Backend) (net: Network) (x: Matrix<float>) : Matrix<float> =
        checkInputShape net "x" x
        let out =
            match KernelNetwork.resolve "backend" backend net with
            | Backend.Kernels ->
                // The values are checked in the kernels' conversion pass; a bad one is named here.
                KernelNetwork.predict (fun () -> Mat.checkFinite "x" x; checkRangeIn net.Precision "x" x) net x
            | _ ->
                checkInput net "x" x
                (forwardUnchecked net x).Output
        checkOutput "x" x out
        out

    /// The network's output for a batch X (n x d_in): an n x d_out matrix (`predictWith Backend.Auto`).
    let predict (net: Network) (x: Matrix<float>) : Matrix<float> = predictWith Backend.Auto net x

    /// A single-sample predictor on the given backend, with a private copy of the network's
    /// parameters. Raises ArgumentException for Backend.Kernels on a network they do not support.
    let predictorWith (backend: Backend) (net: Network) : Predictor =
        Check.notNull "net" (box net)
        match KernelNetwork.resolve "backend" backend net with
        | Backend.Kernels -> KernelNetwork.predictor net
        | _ ->
            { new Predictor() with
                member _.Backend = Backend.Reference
                member _.Precision = net.Precision
                member _.InputSize = net.InputSize
                member _.OutputSize = net.OutputSize
                member this.Predict(x: ReadOnlySpan<float>, output: Span<float>) =
                    this.CheckSpans(x, output)
                    let row = Matrix<float>.Build.Dense(1, x.Length)
                    for j in 0 .. x.Length - 1 do row.[0, j] <- x.[j]
                    let y = (forwardUnchecked net row).Output
                    for j in 0 .. output.Length - 1 do output.[j] <- y.[0, j]
                    this.CheckResult output }

    /// A single-sample predictor (`predictorWith Backend.Auto`).
    let predictor (net: Network) : Predictor = predictorWith Backend.Auto net

    /// Raises InvalidOperationException when a layer's activation carries no gradient (the step).
    let checkDifferentiable (net: Network) =
        net.Layers
        |> List.iteri (fun i l ->
            if not (Activation.isDifferentiable l.Activation) then
                raise (InvalidOperationException(sprintf "Layer %d uses the %s activation, whose derivative is zero almost everywhere: a network with it cannot be trained by gradient. Use the Perceptron for a step output, or a sigmoid in its place." i (Activation.name l.Activation))))

    /// The backward pass by the notes' recursion: with G_L = dL/dOutput and, from the last
    /// layer down, D_i = G_{i+1} o s'(Z_i W_i + b_i), grad W_i = Z_i^T D_i, grad b_i = 1^T D_i and
    /// G_i = D_i W_i^T (Z_i is the input of layer i). No checks (see `lossAndGradient`). For a
    /// Float32 network G_L is rounded to float32 and each D_i, grad W_i, grad b_i and G_i is
    /// rounded once to float32 (`Dense.backwardIn`).
    let backwardUnchecked (net: Network) (trace: Trace) (outputGradient: Matrix<float>) : Gradients =
        let p = net.Precision
        let outputGradient = Precision.roundMatrix p outputGradient
        let layers = List.rev net.Layers
        let inputs = List.rev trace.Inputs
        let zs = List.rev trace.PreActivations
        let acts = List.rev trace.Activations
        let rec go layers inputs zs acts g acc =
            match layers, inputs, zs, acts with
            | l :: ls, a :: as', z :: zs', o :: os -> 
                let grad, gPrev = Dense.backwardIn p l a z o g
                go ls as' zs' os gPrev (grad :: acc)
            | _ -> acc
        { Layers = go layers inputs zs acts outputGradient [] }

    /// The backward pass from the gradient of the loss with respect to the output.
    let backward (net: Network) (trace: Trace) (outputGradient: Matrix<float>) : Gradients =
        checkDifferentiable net
        Check.notNull "outputGradient" outputGradient
        let out = trace.Output
        if outputGradient.RowCount <> out.RowCount || outputGradient.ColumnCount <> out.ColumnCount then
            Check.fail "outputGradient" (sprintf "outputGradient has shape %s but the output has shape %s." (Mat.shapeOf outputGradient) (Mat.shapeOf out))
        backwardUnchecked net trace outputGradient

    /// The loss of a batch and its gradient with respect to every weight and bias, without
    /// argument checks. For training loops that have checked their data once. For a Float32
    /// network Y is rounded to float32 first, and the loss value (computed in float64) and
    /// dL/dOutput are rounded once to float32.
    let lossAndGradientUnchecked (net: Network) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) : float * Gradients =
        let p = net.Precision
        let y = Precision.roundMatrix p y
        let trace = forwardUnchecked net x
        let value = Loss.valueUnchecked loss trace.Output y |> Precision.round p
        value, backwardUnchecked net trace (Loss.gradientUnchecked loss trace.Output y)

    /// The loss of the batch (X, Y) and its gradient with respect to every weight and bias.
    /// Raises ArgumentException for a bad X or Y, InvalidOperationException for a step layer.
    /// A Float32 network computes as `lossAndGradientUnchecked` says (every value float32).
    let lossAndGradient (net: Network) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) : float * Gradients =
        checkInput net "x" x
        checkDifferentiable net
        let p = net.Precision
        let trace = forwardUnchecked net x
        Loss.checkTargetNamed "y" loss trace.Output y
        let y = Precision.roundMatrix p y
        let value = Loss.valueUnchecked loss trace.Output y |> Precision.round p
        value, backwardUnchecked net trace (Loss.gradientUnchecked loss trace.Output y)

    /// The loss of the batch (X, Y), rounded to the network's precision (Y is rounded first).
    let loss (net: Network) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) : float =
        let out = predict net x
        Loss.checkTargetNamed "y" loss out y
        let y = Precision.roundMatrix net.Precision y
        let v = Loss.valueUnchecked loss out y |> Precision.round net.Precision
        // A finite output and target whose loss overflows (targets of 1e308): an error naming the row.
        if not (Double.IsFinite v) then Loss.failOverflow "y" loss out y
        v

    /// Applies f to every layer, giving a new network of the same precision (the layers' shapes
    /// must not change, and for a Float32 network f must give float32 values).
    let mapLayers (f: int -> Dense -> Dense) (net: Network) : Network =
        { net with Layers = List.mapi f net.Layers }

    /// A one-line description of each layer: "dense 4 -> 16, relu, bias (80 parameters)".
    let describe (net: Network) : string list =
        net.Layers
        |> List.map (fun l ->
            sprintf "dense %d -> %d, %s, %s (%d parameters)" l.InputSize l.OutputSize (Activation.name l.Activation)
                (if l.Bias.IsSome then "bias" else "no bias") l.ParameterCount)
