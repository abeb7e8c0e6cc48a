namespace Functional.NN

open System

/// A step-size (learning-rate) schedule: eta_t as a pure function of the step count t = 1, 2, ...
/// (t counts optimiser updates over the whole run, across epochs and resumes).
[<RequireQualifiedAccess>]
type Schedule =
    /// eta_t = eta.
    | Constant of eta: float
    /// The notes' schedule (2.2): eta_t = C / sqrt(t). sum eta_t diverges (the search reaches any
    /// point) while eta_t -> 0 damps the noise of stochastic gradients.
    | InverseSqrt of c: float
    /// eta_t = C / t: meets both Robbins-Monro conditions (sum eta_t = infinity,
    /// sum eta_t^2 < infinity) but, as the notes say, decays too fast in practice.
    | Inverse of c: float
    /// Step decay: eta_t = eta0 * gamma^floor((t - 1) / every); the first `every` steps use eta0.
    | StepDecay of eta0: float * gamma: float * every: int
    /// Exponential decay: eta_t = eta0 * gamma^(t - 1).
    | Exponential of eta0: float * gamma: float
    /// Cosine annealing over `period` steps:
    /// eta_t = etaMin + (etaMax - etaMin) (1 + cos(pi min(t - 1, period) / period)) / 2,
    /// so eta_1 = etaMax and eta_t = etaMin from step period + 1 on.
    | Cosine of etaMax: float * etaMin: float * period: int

/// Evaluation and checks of schedules.
[<RequireQualifiedAccess>]
module Schedule =

    /// Raises ArgumentException (ParamName "schedule") when a schedule's constants are out of range.
    let validate (schedule: Schedule) =
        let pos name v =
            if not (v > 0.0) || Double.IsInfinity v then
                Check.fail "schedule" (sprintf "The schedule's %s must be a positive finite number, but is %s." name (string v))
        match schedule with
        | Schedule.Constant eta -> pos "step size" eta
        | Schedule.InverseSqrt c | Schedule.Inverse c -> pos "constant C" c
        | Schedule.StepDecay (eta0, gamma, every) ->
            pos "eta0" eta0
            pos "gamma" gamma
            if every <= 0 then Check.fail "schedule" (sprintf "The step-decay interval must be positive, but is %d." every)
        | Schedule.Exponential (eta0, gamma) ->
            pos "eta0" eta0
            pos "gamma" gamma
        | Schedule.Cosine (etaMax, etaMin, period) ->
            pos "etaMax" etaMax
            if etaMin < 0.0 || etaMin > etaMax || Double.IsNaN etaMin then
                Check.fail "schedule" (sprintf "The cosine schedule needs 0 <= etaMin <= etaMax, but etaMin = %g and etaMax = %g." etaMin etaMax)
            if period <= 0 then Check.fail "schedule" (sprintf "The cosine period must be positive, but is %d." period)

    /// eta_t for step t >= 1 (see each case for its formula). No argument checks.
    let rate (schedule: Schedule) (t: int) : float =
        let t = float t
        match schedule with
        | Schedule.Constant eta -> eta
        | Schedule.InverseSqrt c -> c / sqrt t
        | Schedule.Inverse c -> c / t
        | Schedule.StepDecay (eta0, gamma, every) -> eta0 * Math.Pow(gamma, floor ((t - 1.0) / float every))
        | Schedule.Exponential (eta0, gamma) -> eta0 * Math.Pow(gamma, t - 1.0)
        | Schedule.Cosine (etaMax, etaMin, period) ->
            let p = float period
            etaMin + (etaMax - etaMin) * (1.0 + cos (Math.PI * min (t - 1.0) p / p)) / 2.0

    /// A short description ("C/sqrt(t), C = 0.06").
    let describe (schedule: Schedule) =
        match schedule with
        | Schedule.Constant eta -> sprintf "constant %g" eta
        | Schedule.InverseSqrt c -> sprintf "C/sqrt(t), C = %g" c
        | Schedule.Inverse c -> sprintf "C/t, C = %g" c
        | Schedule.StepDecay (e, g, k) -> sprintf "step decay %g * %g^floor((t-1)/%d)" e g k
        | Schedule.Exponential (e, g) -> sprintf "exponential %g * %g^(t-1)" e g
        | Schedule.Cosine (a, b, p) -> sprintf "cosine %g -> %g over %d steps" a b p
