namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// A network's parameters as one flat vector, in a fixed order: the blocks in order, depth first
/// into residual blocks; a dense layer's weights row by row (W[0,0], W[0,1], ...) then its bias; a
/// normalisation's gamma then beta; a custom block's parameters as it gives them. Gradients
/// flatten in the same order. A network's state (each batch normalisation's running mean then
/// running variance, in the same block order) is a second flat vector (`stateOf`, `withState`).
module Parameters =

    /// Writes a matrix row by row at k (a gradient may hold NaN: no finiteness result wanted).
    let private putMatrix (v: float[]) (k: int) (w: Matrix<float>) =
        KernelElement.copyRowMajor w (Span(v, k, w.RowCount * w.ColumnCount)) |> ignore
        k + w.RowCount * w.ColumnCount

    let private putVector (v: float[]) (k: int) (b: Vector<float>) =
        for j in 0 .. b.Count - 1 do v.[k + j] <- b.[j]
        k + b.Count

    let private putArray (v: float[]) (k: int) (a: float[]) =
        Array.blit a 0 v k a.Length
        k + a.Length

    /// The network's parameters as one vector.
    let ofNetwork (net: Network) : Vector<float> =
        let v = Array.zeroCreate net.ParameterCount
        let rec put (k: int) (blocks: Block list) =
            blocks |> List.fold (fun k b ->
                match b with
                | Block.Dense l ->
                    let k = putMatrix v k l.Weights
                    match l.Bias with Some b -> putVector v k b | None -> k
                | Block.BatchNorm bn -> putVector v (putVector v k bn.Scale) bn.Shift
                | Block.LayerNorm ln -> putVector v (putVector v k ln.Scale) ln.Shift
                | Block.Residual inner -> put k inner
                | Block.Custom c -> putArray v k c.Parameters
                | Block.Activation _ | Block.Dropout _ -> k) k
        put 0 net.Blocks |> ignore
        Vector<float>.Build.DenseOfArray v

    /// The gradients as one vector, in the order of `ofNetwork`.
    let ofGradients (g: Gradients) : Vector<float> =
        let rec count (gs: BlockGradient list) =
            gs |> List.sumBy (fun g ->
                match g with
                | BlockGradient.Dense d -> d.Weights.RowCount * d.Weights.ColumnCount + (match d.Bias with Some b -> b.Count | None -> 0)
                | BlockGradient.Normalization (s, b) -> s.Count + b.Count
                | BlockGradient.Residual inner -> count inner
                | BlockGradient.Custom a -> a.Length
                | BlockGradient.NoParameters -> 0)
        let v = Array.zeroCreate (count g.Blocks)
        let rec put (k: int) (gs: BlockGradient list) =
            gs |> List.fold (fun k g ->
                match g with
                | BlockGradient.Dense d ->
                    let k = putMatrix v k d.Weights
                    match d.Bias with Some b -> putVector v k b | None -> k
                | BlockGradient.Normalization (s, b) -> putVector v (putVector v k s) b
                | BlockGradient.Residual inner -> put k inner
                | BlockGradient.Custom a -> putArray v k a
                | BlockGradient.NoParameters -> k) k
        put 0 g.Blocks |> ignore
        Vector<float>.Build.DenseOfArray v

    /// A network of the same blocks, activations, state and precision as `net` with the parameters
    /// of `theta`, each rounded to the network's precision (`Precision.round`: a Float32 template
    /// gives a Float32 network of the float32 values nearest to theta).
    let toNetwork (net: Network) (theta: Vector<float>) : Network =
        Check.notNull "theta" theta
        if theta.Count <> net.ParameterCount then
            Check.fail "theta" (sprintf "theta has length %d but the network has %d parameters." theta.Count net.ParameterCount)
        let p = net.Precision
        let values = match theta.AsArray() with null -> theta.ToArray() | a -> a
        let mutable k = 0
        let vector (count: int) =
            let v = Vector<float>.Build.Dense(count, fun j -> Precision.round p values.[k + j])
            k <- k + count
            v
        net
        |> Network.mapBlocks (fun b ->
            match b with
            | Block.Dense l ->
                let rows, cols = l.InputSize, l.OutputSize
                // Built and rounded in one pass (a Float32 network's values go through float32,
                // which is Precision.round Float32).
                let w =
                    match p with
                    | Precision.Float64 -> KernelElement.matrixOfRowMajor rows cols (ReadOnlySpan(values, k, rows * cols))
                    | Precision.Float32 -> KernelElement.matrixOfRowMajorRounded rows cols (ReadOnlySpan(values, k, rows * cols))
                k <- k + rows * cols
                Block.Dense { l with Weights = w; Bias = l.Bias |> Option.map (fun b -> vector b.Count) }
            | Block.BatchNorm bn ->
                let s = vector bn.Width
                Block.BatchNorm { bn with Scale = s; Shift = vector bn.Width }
            | Block.LayerNorm ln ->
                let s = vector ln.Width
                Block.LayerNorm { ln with Scale = s; Shift = vector ln.Width }
            | Block.Custom c ->
                let count = c.Parameters.Length
                let a = Precision.roundArray p (Array.sub values k count)
                k <- k + count
                Block.Custom (c.WithParameters a)
            | b -> b)

    /// Gradients shaped like `net`'s blocks from a flat vector in the order of `ofNetwork`,
    /// rounded to the network's precision.
    let toGradients (net: Network) (g: Vector<float>) : Gradients =
        let shaped = toNetwork net g
        let rec shape (blocks: Block list) =
            blocks |> List.map (fun b ->
                match b with
                | Block.Dense l -> BlockGradient.Dense { DenseGradient.Weights = l.Weights; Bias = l.Bias }
                | Block.BatchNorm bn -> BlockGradient.Normalization (bn.Scale, bn.Shift)
                | Block.LayerNorm ln -> BlockGradient.Normalization (ln.Scale, ln.Shift)
                | Block.Residual inner -> BlockGradient.Residual (shape inner)
                | Block.Custom c -> BlockGradient.Custom c.Parameters
                | Block.Activation _ | Block.Dropout _ -> BlockGradient.NoParameters)
        { Blocks = shape shaped.Blocks }

    /// The Euclidean norm of all gradients together.
    let gradientNorm (g: Gradients) : float =
        let v = ofGradients g
        v.L2Norm()

    /// True when every parameter and state value is finite.
    let isFinite (net: Network) : bool =
        (ofNetwork net).ForAll(fun x -> Double.IsFinite x)
        && (let mutable ok = true
            Block.iter (fun b ->
                match b with
                | Block.BatchNorm bn ->
                    if not (bn.RunningMean.ForAll(fun x -> Double.IsFinite x) && bn.RunningVariance.ForAll(fun x -> Double.IsFinite x)) then ok <- false
                | _ -> ()) net.Blocks
            ok)

    /// The network's state as one flat array: each batch normalisation's running mean then running
    /// variance, in block order (empty for a network without batch normalisation).
    let stateOf (net: Network) : float[] =
        let v = Array.zeroCreate net.StateCount
        let mutable k = 0
        Block.iter (fun b ->
            match b with
            | Block.BatchNorm bn ->
                k <- putVector v (putVector v k bn.RunningMean) bn.RunningVariance
            | _ -> ()) net.Blocks
        v

    /// The network with the state of a flat array in the order of `stateOf` (rounded to its precision).
    let withState (net: Network) (state: float[]) : Network =
        Check.notNull "state" state
        if state.Length <> net.StateCount then
            Check.fail "state" (sprintf "state has length %d but the network has %d state values." state.Length net.StateCount)
        if state.Length = 0 then net
        else
            let p = net.Precision
            let mutable k = 0
            let vector (count: int) =
                let v = Vector<float>.Build.Dense(count, fun j -> Precision.round p state.[k + j])
                k <- k + count
                v
            net |> Network.mapBlocks (fun b ->
                match b with
                | Block.BatchNorm bn ->
                    let m = vector bn.Width
                    Block.BatchNorm { bn with RunningMean = m; RunningVariance = vector bn.Width }
                | b -> b)

    /// The model vector the trainer keeps: the parameters followed by the state.
    let modelOf (net: Network) : float[] =
        let theta = (ofNetwork net).AsArray()
        if net.StateCount = 0 then theta else Array.append theta (stateOf net)

    /// The network of a model vector (`modelOf`'s layout) on the template `net`.
    let ofModel (net: Network) (model: float[]) : Network =
        Check.notNull "model" model
        let p = net.ParameterCount
        if net.StateCount = 0 then toNetwork net (Vector<float>.Build.Dense model)
        else
            if model.Length <> p + net.StateCount then
                Check.fail "model" (sprintf "model has length %d but the network has %d parameters and %d state values." model.Length p net.StateCount)
            withState (toNetwork net (Vector<float>.Build.DenseOfArray (Array.sub model 0 p))) (Array.sub model p net.StateCount)
