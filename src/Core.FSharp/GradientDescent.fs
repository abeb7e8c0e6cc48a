namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// The notes' batch gradient descent, theta <- theta - eta grad L(theta), as a pure step (for
/// teaching and the notes' examples) and a loop of such steps run by the one trainer (`Trainer`).
module GradientDescent =

    /// theta - eta * grad, layer by layer, as a new network of the same precision (neither
    /// argument is changed). For a Float32 network each new parameter theta - eta g is computed
    /// in float64 and rounded once to float32.
    let step (learningRate: float) (net: Network) (gradients: Gradients) : Network =
        Check.positive "learningRate" learningRate
        Check.notNull "gradients" (box gradients)
        let rec check (path: string) (blocks: Block list) (grads: BlockGradient list) =
            if List.length grads <> List.length blocks then
                Check.fail "gradients" (sprintf "gradients has %d blocks%s but the network has %d." (List.length grads) path (List.length blocks))
            List.iter2 (fun (b: Block) (g: BlockGradient) ->
                match b, g with
                | Block.Dense l, BlockGradient.Dense g ->
                    if g.Weights.RowCount <> l.InputSize || g.Weights.ColumnCount <> l.OutputSize then
                        Check.fail "gradients" (sprintf "a weight gradient has shape %s but the layer's weights have shape %s." (Mat.shapeOf g.Weights) (Mat.shapeOf l.Weights))
                    match l.Bias, g.Bias with
                    | Some b, Some gb when gb.Count = b.Count -> ()
                    | None, None -> ()
                    | _ ->
                        Check.fail "gradients" (sprintf "a bias gradient (%s) does not match the layer's bias (%s)."
                            (match g.Bias with Some gb -> sprintf "length %d" gb.Count | None -> "none")
                            (match l.Bias with Some b -> sprintf "length %d" b.Count | None -> "none"))
                | Block.Residual inner, BlockGradient.Residual gs -> check " inside a residual block" inner gs
                | _ ->
                    if Block.parameterCount b <> (Parameters.ofGradients { Blocks = [ g ] }).Count then
                        Check.fail "gradients" (sprintf "a gradient does not match the network's %s block." (Block.name b))) blocks grads
        check "" net.Blocks gradients.Blocks
        let theta = Parameters.ofNetwork net
        let g = Parameters.ofGradients gradients
        for k in 0 .. g.Count - 1 do
            if not (Double.IsFinite g.[k]) then
                Check.fail "gradients" (sprintf "gradients holds %g at parameter %d of %d; a step needs a finite gradient." g.[k] k g.Count)
        // theta - eta g in float64, rounded once to the precision by toNetwork.
        let stepped = Parameters.toNetwork net (theta - learningRate * g)
        let after = Parameters.ofNetwork stepped
        for k in 0 .. after.Count - 1 do
            if not (Double.IsFinite after.[k]) then
                Check.fail "gradients"
                    (sprintf "The step makes parameter %d of %d %g (it was %g, its gradient is %g, learningRate is %g): learningRate times the gradient overflows %s. Use a smaller learningRate or scale the data."
                        k after.Count after.[k] theta.[k] g.[k] learningRate (if net.Precision = Precision.Float32 then "float32's range" else "the double range"))
        stepped

    /// `steps` full-batch gradient-descent steps on (X, Y), through the one trainer (Trainer.train
    /// with full batches, a constant step size and plain SGD, on the default backend). Returns the
    /// trained network and the loss before each step. Raises TrainingDivergedException when the
    /// loss or a weight stops being finite after any step, with the last finite network: the
    /// network the last step made is returned only once its loss on (X, Y) is measured finite
    /// (one more forward pass), so a run never returns a network whose loss overflows.
    let run (learningRate: float) (steps: int) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) (net: Network) : Network * float list =
        Check.positive "learningRate" learningRate
        if steps < 0 then Check.fail "steps" (sprintf "steps must not be negative, but is %d." steps)
        if steps = 0 then
            // The checks a run of steps makes (the trainer's), without a step.
            Check.notNull "net" (box net)
            Network.checkLossFits loss net
            Network.lossAndGradient net loss x y |> ignore
            net, []
        else
            let options =
                TrainingOptions.GradientDescent(learningRate, steps)
                    .WithDivergenceFactor(0.0)
                    .WithExactEpochLoss(false)
            // One step per epoch: each epoch's (one) batch loss is the loss before its step.
            let r = Trainer.train options loss (TrainingData.Of(x, y)) net
            r.Model, r.History |> List.map (fun h -> h.TrainLoss)
