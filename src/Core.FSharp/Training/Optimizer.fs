namespace Functional.NN

open System

/// An update rule theta <- update(state, theta, g, eta). Every rule is PyTorch's torch.optim rule
/// of the same name (PyTorch 1.13, single-tensor code path), so runs can be compared number for
/// number; where PyTorch's convention differs from the textbook one, the case says so.
/// The step size eta comes from the Schedule; L2 weight decay and clipping are in
/// `OptimizerSettings` and apply to every rule.
[<RequireQualifiedAccess>]
type Optimizer =
    /// Plain (stochastic) gradient descent, the notes' (2.1)-(2.3): theta <- theta - eta g.
    | Sgd
    /// Heavy-ball momentum (torch.optim.SGD with momentum mu, dampening tau):
    /// v_1 = g_1, v_t = mu v_{t-1} + (1 - tau) g_t, theta <- theta - eta v_t.
    /// PyTorch differs from the textbook v <- mu v - eta g, theta <- theta + v: eta multiplies
    /// the buffer at use, not when it is filled (the two agree only for a constant eta), and the
    /// first buffer is g_1 itself, with no dampening. Momentum 0 with dampening above 0 is refused:
    /// PyTorch keeps no buffer at momentum 0 and so ignores the dampening.
    | Momentum of momentum: float * dampening: float
    /// Nesterov momentum in PyTorch's form (torch.optim.SGD with nesterov=True, no dampening):
    /// v_t = mu v_{t-1} + g_t (v_1 = g_1), theta <- theta - eta (g_t + mu v_t). This is the
    /// look-ahead of Sutskever et al. (2013) rewritten in terms of the current parameters; the
    /// gradient is taken at theta, not at theta + mu v.
    | Nesterov of momentum: float
    /// AdaGrad (torch.optim.Adagrad, lr_decay = 0): s_t = s_{t-1} + g_t^2 (s_0 = initialAccumulator),
    /// theta <- theta - eta g_t / (sqrt(s_t) + eps). eps is added outside the square root
    /// (PyTorch's default eps is 1e-10).
    | AdaGrad of epsilon: float * initialAccumulator: float
    /// RMSProp (torch.optim.RMSprop): s_t = alpha s_{t-1} + (1 - alpha) g_t^2 (s_0 = 0);
    /// centered: a_t = alpha a_{t-1} + (1 - alpha) g_t and d_t = sqrt(s_t - a_t^2) + eps, else
    /// d_t = sqrt(s_t) + eps; with momentum mu > 0: b_t = mu b_{t-1} + g_t / d_t (b_0 = 0),
    /// theta <- theta - eta b_t; else theta <- theta - eta g_t / d_t. PyTorch adds eps outside the
    /// square root (Hinton's lecture and TensorFlow put it inside), and alpha defaults to 0.99.
    | RMSProp of alpha: float * epsilon: float * momentum: float * centered: bool
    /// Adam (torch.optim.Adam, Kingma and Ba 2015): m_t = b1 m_{t-1} + (1 - b1) g_t,
    /// v_t = b2 v_{t-1} + (1 - b2) g_t^2, theta <- theta - (eta / (1 - b1^t)) m_t /
    /// (sqrt(v_t) / sqrt(1 - b2^t) + eps). This is the paper's Algorithm 1 (eps added to the
    /// bias-corrected sqrt(v_hat)), not the paper's "more efficient" form, whose eps is not corrected.
    | Adam of beta1: float * beta2: float * epsilon: float
    /// AdamW (torch.optim.AdamW, Loshchilov and Hutter 2019): decoupled weight decay
    /// theta <- theta (1 - eta lambda) first, then the Adam step on g (lambda is not added to
    /// the gradient). PyTorch's default lambda is 1e-2, and it scales the decay by eta
    /// (the paper scales by the schedule multiplier alone).
    | AdamW of beta1: float * beta2: float * epsilon: float * weightDecay: float

/// What every optimiser does to the gradient before its own rule, in PyTorch's order.
type OptimizerSettings =
    { /// The update rule.
      Optimizer: Optimizer
      /// L2 weight decay lambda (torch.optim's weight_decay): g <- g + lambda theta, applied
      /// after clipping, inside the rule. This is the gradient of (lambda / 2) |theta|^2 added to
      /// the loss. 0 turns it off. (AdamW's decoupled decay is its own field.)
      WeightDecay: float
      /// Clipping by global norm (torch.nn.utils.clip_grad_norm_): when positive,
      /// g <- g min(1, maxNorm / (|g|_2 + 1e-6)) before anything else. 0 turns it off.
      ClipNorm: float }
    /// Plain SGD, no decay, no clipping.
    static member Default = { Optimizer = Optimizer.Sgd; WeightDecay = 0.0; ClipNorm = 0.0 }
    /// A copy with another rule.
    member this.WithOptimizer(optimizer) = { this with Optimizer = optimizer }
    /// A copy with another L2 weight decay.
    member this.WithWeightDecay(lambda) = { this with WeightDecay = lambda }
    /// A copy with another clipping norm (0: no clipping).
    member this.WithClipNorm(maxNorm) = { this with ClipNorm = maxNorm }

/// The state an optimiser carries between steps: plain arrays and a counter, no closures, so it
/// can be saved and restored. Arrays a rule does not use are empty. No function changes them.
type OptimizerState =
    { /// Updates taken so far (t of the last update; 0 before the first).
      Step: int
      /// Momentum buffer v (SGD momentum and Nesterov) or b (RMSProp with momentum).
      Velocity: float[]
      /// Adam's m_t, or centred RMSProp's gradient average a_t.
      FirstMoment: float[]
      /// Adam's v_t, RMSProp's s_t, AdaGrad's sum of squares s_t.
      SecondMoment: float[] }

/// Optimisers as pure functions (state, parameters, gradient) -> (state, parameters).
[<RequireQualifiedAccess>]
module Optimizer =

    /// torch.optim.SGD(momentum=0.9).
    let momentum = Optimizer.Momentum(0.9, 0.0)
    /// torch.optim.SGD(momentum=0.9, nesterov=True).
    let nesterov = Optimizer.Nesterov 0.9
    /// torch.optim.Adagrad defaults: eps = 1e-10, initial accumulator 0.
    let adaGrad = Optimizer.AdaGrad(1e-10, 0.0)
    /// torch.optim.RMSprop defaults: alpha = 0.99, eps = 1e-8, no momentum, not centred.
    let rmsProp = Optimizer.RMSProp(0.99, 1e-8, 0.0, false)
    /// torch.optim.Adam defaults: betas (0.9, 0.999), eps = 1e-8.
    let adam = Optimizer.Adam(0.9, 0.999, 1e-8)
    /// torch.optim.AdamW defaults: betas (0.9, 0.999), eps = 1e-8, weight decay 1e-2.
    let adamW = Optimizer.AdamW(0.9, 0.999, 1e-8, 1e-2)

    /// The state before the first update (every rule starts from zero buffers).
    let init (settings: OptimizerSettings) (parameterCount: int) : OptimizerState =
        let z () = Array.zeroCreate parameterCount
        let e = Array.empty
        match settings.Optimizer with
        | Optimizer.Sgd -> { Step = 0; Velocity = e; FirstMoment = e; SecondMoment = e }
        | Optimizer.Momentum _ | Optimizer.Nesterov _ -> { Step = 0; Velocity = z (); FirstMoment = e; SecondMoment = e }
        | Optimizer.AdaGrad (_, s0) ->
            { Step = 0; Velocity = e; FirstMoment = e; SecondMoment = Array.create parameterCount s0 }
        | Optimizer.RMSProp (_, _, mu, centered) ->
            { Step = 0; Velocity = (if mu > 0.0 then z () else e); FirstMoment = (if centered then z () else e); SecondMoment = z () }
        | Optimizer.Adam _ | Optimizer.AdamW _ -> { Step = 0; Velocity = e; FirstMoment = z (); SecondMoment = z () }

    /// Raises ArgumentException (ParamName "optimizer") for constants out of range.
    let validate (settings: OptimizerSettings) =
        let bad msg = Check.fail "optimizer" msg
        let unit name v = if not (v >= 0.0 && v < 1.0) then bad (sprintf "%s must lie in [0, 1), but is %s." name (string v))
        let nonNeg name v = if not (v >= 0.0) || Double.IsInfinity v then bad (sprintf "%s must be a non-negative finite number, but is %s." name (string v))
        // The adaptive rules divide by sqrt(s) + epsilon: at epsilon 0 a parameter whose gradient
        // has been 0 so far (s = 0) would compute 0/0.
        let positiveEpsilon v =
            if not (v > 0.0) || Double.IsInfinity v then
                bad (sprintf "epsilon must be a positive finite number (the update divides by sqrt(s) + epsilon, which is 0 for a parameter whose gradient has been 0), but is %s." (string v))
        nonNeg "WeightDecay" settings.WeightDecay
        nonNeg "ClipNorm" settings.ClipNorm
        match settings.Optimizer with
        | Optimizer.Sgd -> ()
        | Optimizer.Momentum (mu, tau) ->
            unit "momentum" mu
            if not (tau >= 0.0 && tau <= 1.0) then bad (sprintf "dampening must lie in [0, 1], but is %s." (string tau))
            // torch.optim.SGD keeps no buffer at momentum 0, so its dampening does nothing there;
            // the rule above would scale every step after the first by 1 - tau.
            if mu = 0.0 && tau > 0.0 then
                bad (sprintf "dampening %s with momentum 0 would scale every step after the first by 1 - dampening, where torch.optim.SGD ignores dampening without momentum: give dampening 0, or plain SGD." (string tau))
        | Optimizer.Nesterov mu ->
            unit "momentum" mu
            if mu = 0.0 then bad "Nesterov momentum needs a momentum above 0."
        | Optimizer.AdaGrad (eps, s0) ->
            positiveEpsilon eps
            nonNeg "initialAccumulator" s0
        | Optimizer.RMSProp (alpha, eps, mu, _) ->
            unit "alpha" alpha
            positiveEpsilon eps
            unit "momentum" mu
        | Optimizer.Adam (b1, b2, eps) ->
            unit "beta1" b1
            unit "beta2" b2
            positiveEpsilon eps
        | Optimizer.AdamW (b1, b2, eps, wd) ->
            unit "beta1" b1
            unit "beta2" b2
            positiveEpsilon eps
            nonNeg "weightDecay" wd

    /// |g|_2, the Euclidean norm of a whole gradient.
    let globalNorm (g: float[]) =
        let mutable s = 0.0
        for x in g do s <- s + x * x
        sqrt s

    /// torch.nn.utils.clip_grad_norm_: g min(1, maxNorm / (|g|_2 + 1e-6)), as a new array
    /// (g itself when maxNorm is 0 or the norm is already small enough).
    let clipByGlobalNorm (maxNorm: float) (g: float[]) : float[] =
        if maxNorm <= 0.0 then g
        else
            let c = maxNorm / (globalNorm g + 1e-6)
            if c < 1.0 then Array.map (fun x -> x * c) g else g

    /// One update in a precision: (state, theta, g) at step size eta -> (state', theta'). Clips
    /// g, adds the L2 decay lambda theta, then applies the rule (see each case of `Optimizer` for
    /// its formula). Every value the update keeps (the clipped and decayed gradient, each state
    /// buffer, AdamW's decayed parameters and the new parameters) is computed in float64 from the
    /// values before it and rounded once to the precision (`Precision.round`; nothing is rounded
    /// for Float64). Neither the state, theta nor g is changed. No argument checks (see
    /// `validate`); theta and g must have the same length as the state's buffers.
    let stepIn (precision: Precision) (settings: OptimizerSettings) (eta: float) (state: OptimizerState) (theta: float[]) (g: float[]) : OptimizerState * float[] =
        let n = theta.Length
        let r = Precision.round precision
        let init (f: int -> float) = Array.init n (fun i -> r (f i))
        let g = clipByGlobalNorm settings.ClipNorm g |> Precision.roundArray precision
        let wd = settings.WeightDecay
        let g = if wd <> 0.0 then init (fun i -> g.[i] + wd * theta.[i]) else g
        let t = state.Step + 1
        match settings.Optimizer with
        | Optimizer.Sgd ->
            { state with Step = t }, init (fun i -> theta.[i] - eta * g.[i])
        | Optimizer.Momentum (mu, tau) ->
            let v = if t = 1 then Array.copy g else init (fun i -> mu * state.Velocity.[i] + (1.0 - tau) * g.[i])
            { state with Step = t; Velocity = v }, init (fun i -> theta.[i] - eta * v.[i])
        | Optimizer.Nesterov mu ->
            let v = if t = 1 then Array.copy g else init (fun i -> mu * state.Velocity.[i] + g.[i])
            { state with Step = t; Velocity = v }, init (fun i -> theta.[i] - eta * (g.[i] + mu * v.[i]))
        | Optimizer.AdaGrad (eps, _) ->
            let s = init (fun i -> state.SecondMoment.[i] + g.[i] * g.[i])
            { state with Step = t; SecondMoment = s }, init (fun i -> theta.[i] - eta * (g.[i] / (sqrt s.[i] + eps)))
        | Optimizer.RMSProp (alpha, eps, mu, centered) ->
            let s = init (fun i -> alpha * state.SecondMoment.[i] + (1.0 - alpha) * g.[i] * g.[i])
            let a = if centered then init (fun i -> alpha * state.FirstMoment.[i] + (1.0 - alpha) * g.[i]) else state.FirstMoment
            // d is not kept: each use below rounds the whole expression it enters once.
            let d = Array.init n (fun i -> (if centered then sqrt (s.[i] - a.[i] * a.[i]) else sqrt s.[i]) + eps)
            if mu > 0.0 then
                let b = init (fun i -> mu * state.Velocity.[i] + g.[i] / d.[i])
                { state with Step = t; Velocity = b; FirstMoment = a; SecondMoment = s }, init (fun i -> theta.[i] - eta * b.[i])
            else
                { state with Step = t; FirstMoment = a; SecondMoment = s }, init (fun i -> theta.[i] - eta * (g.[i] / d.[i]))
        | Optimizer.Adam (b1, b2, eps)
        | Optimizer.AdamW (b1, b2, eps, _) ->
            let theta =
                match settings.Optimizer with
                | Optimizer.AdamW (_, _, _, lambda) when lambda <> 0.0 -> Array.map (fun x -> r (x * (1.0 - eta * lambda))) theta
                | _ -> theta
            let m = init (fun i -> b1 * state.FirstMoment.[i] + (1.0 - b1) * g.[i])
            let v = init (fun i -> b2 * state.SecondMoment.[i] + (1.0 - b2) * g.[i] * g.[i])
            let bc1 = 1.0 - Math.Pow(b1, float t)
            let bc2 = sqrt (1.0 - Math.Pow(b2, float t))
            let stepSize = eta / bc1
            { state with Step = t; FirstMoment = m; SecondMoment = v },
            init (fun i -> theta.[i] - stepSize * (m.[i] / (sqrt v.[i] / bc2 + eps)))

    /// One update in float64: `stepIn Precision.Float64`. (state, theta, g) at step size eta ->
    /// (state', theta'): clips g, adds the L2 decay lambda theta, then applies the rule (see each
    /// case of `Optimizer` for its formula). Neither the state, theta nor g is changed.
    let step (settings: OptimizerSettings) (eta: float) (state: OptimizerState) (theta: float[]) (g: float[]) : OptimizerState * float[] =
        stepIn Precision.Float64 settings eta state theta g

    /// The state with every buffer rounded to the precision (for Float32 a new array for each
    /// buffer holding a value float32 does not represent, the buffer itself otherwise; the state
    /// itself for Float64), e.g. AdaGrad's initial accumulator before a Float32 run.
    let roundState (precision: Precision) (state: OptimizerState) : OptimizerState =
        match precision with
        | Precision.Float64 -> state
        | Precision.Float32 ->
            // A buffer already of float32 values (a fresh state's zeros, a Float32 run's checkpoint)
            // is kept as it is: one scan instead of a new array of p values.
            let round (a: float[]) =
                if isNull a then a
                else
                    let mutable representable = true
                    let mutable i = 0
                    while representable && i < a.Length do
                        representable <- float (float32 a.[i]) = a.[i]
                        i <- i + 1
                    if representable then a else Precision.roundArray precision a
            { state with
                Velocity = round state.Velocity
                FirstMoment = round state.FirstMoment
                SecondMoment = round state.SecondMoment }

    /// A short name ("adam", "sgd", ...).
    let name (optimizer: Optimizer) =
        match optimizer with
        | Optimizer.Sgd -> "sgd"
        | Optimizer.Momentum _ -> "momentum"
        | Optimizer.Nesterov _ -> "nesterov"
        | Optimizer.AdaGrad _ -> "adagrad"
        | Optimizer.RMSProp _ -> "rmsprop"
        | Optimizer.Adam _ -> "adam"
        | Optimizer.AdamW _ -> "adamw"
