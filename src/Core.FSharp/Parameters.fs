namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// A network's parameters as one flat vector, in a fixed order: for each layer, its weights
/// row by row (W[0,0], W[0,1], ...), then its bias. Gradients flatten in the same order.
module Parameters =

    let private flatten (parts: (Matrix<float> * Vector<float> option) list) : Vector<float> =
        let total = parts |> List.sumBy (fun (w, b) -> w.RowCount * w.ColumnCount + (match b with Some b -> b.Count | None -> 0))
        let v = Array.zeroCreate total
        let mutable k = 0
        for (w, b) in parts do
            // Row by row (a gradient may hold NaN: the finiteness result is not wanted here).
            KernelElement.copyRowMajor w (Span(v, k, w.RowCount * w.ColumnCount)) |> ignore
            k <- k + w.RowCount * w.ColumnCount
            match b with
            | Some b ->
                for j in 0 .. b.Count - 1 do
                    v.[k] <- b.[j]
                    k <- k + 1
            | None -> ()
        Vector<float>.Build.DenseOfArray v

    /// The network's parameters as one vector.
    let ofNetwork (net: Network) : Vector<float> =
        flatten (net.Layers |> List.map (fun l -> l.Weights, l.Bias))

    /// The gradients as one vector, in the order of `ofNetwork`.
    let ofGradients (g: Gradients) : Vector<float> =
        flatten (g.Layers |> List.map (fun l -> l.Weights, l.Bias))

    /// A network of the same shape, activations and precision as `net` with the parameters of
    /// `theta`, each rounded to the network's precision (`Precision.round`: a Float32 template
    /// gives a Float32 network of the float32 values nearest to theta).
    let toNetwork (net: Network) (theta: Vector<float>) : Network =
        Check.notNull "theta" theta
        if theta.Count <> net.ParameterCount then
            Check.fail "theta" (sprintf "theta has length %d but the network has %d parameters." theta.Count net.ParameterCount)
        let p = net.Precision
        let values = match theta.AsArray() with null -> theta.ToArray() | a -> a
        let mutable k = 0
        net
        |> Network.mapLayers (fun _ l ->
            let rows, cols = l.InputSize, l.OutputSize
            let w = KernelElement.matrixOfRowMajor rows cols (ReadOnlySpan(values, k, rows * cols)) |> Precision.roundMatrix p
            k <- k + rows * cols
            let b =
                l.Bias |> Option.map (fun b ->
                    let v = Vector<float>.Build.Dense(b.Count, fun j -> Precision.round p values.[k + j])
                    k <- k + b.Count
                    v)
            { l with Weights = w; Bias = b })

    /// Gradients shaped like `net`'s layers from a flat vector in the order of `ofNetwork`,
    /// rounded to the network's precision.
    let toGradients (net: Network) (g: Vector<float>) : Gradients =
        let shaped = toNetwork net g
        { Layers = shaped.Layers |> List.map (fun l -> { DenseGradient.Weights = l.Weights; Bias = l.Bias }) }

    /// The Euclidean norm of all gradients together.
    let gradientNorm (g: Gradients) : float =
        g.Layers
        |> List.sumBy (fun l ->
            let w = l.Weights.FrobeniusNorm()
            let b = match l.Bias with Some b -> b.L2Norm() | None -> 0.0
            w * w + b * b)
        |> sqrt

    /// True when every weight and bias is finite.
    let isFinite (net: Network) : bool =
        net.Layers
        |> List.forall (fun l ->
            l.Weights.ForAll(fun x -> System.Double.IsFinite x)
            && (match l.Bias with Some b -> b.ForAll(fun x -> System.Double.IsFinite x) | None -> true))
