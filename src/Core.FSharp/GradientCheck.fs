namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// The central-difference formula of a gradient check.
[<RequireQualifiedAccess>]
type DifferenceScheme =
    /// (f(x + h) - f(x - h)) / 2h: error of order h^2.
    | TwoPoint
    /// (-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / 12h: error of order h^4.
    | FourPoint

/// Settings of a gradient check.
type GradientCheckOptions =
    { /// The step of the central difference: h = max(Epsilon, 1e4 u |x|) at a parameter x (u = 2^-52:
      /// Epsilon itself up to |x| = 4.5e7 for 1e-4, then 1e4 of x's spacings), the difference divided
      /// by the distance between the points as rounded.
      Epsilon: float
      /// The difference formula.
      Scheme: DifferenceScheme
      /// Entries whose analytic and numeric magnitudes are both below this floor are compared
      /// relative to the floor: central differences cannot resolve a derivative much smaller
      /// than their own rounding error, about 1e-16 |f| / h. The floor is absolute: with the
      /// default 1e-4, an entry's error below tolerance x 1e-4 always passes, so a function on a
      /// scale far below 1 (a gradient wrong by a factor 2 of f = 1e-12 |x|^2 passes) is to be
      /// scaled to order 1 before it is checked, or checked with a smaller floor.
      RelativeFloor: float }
    /// The four-point formula with h = 1e-4 (its truncation error, about h^4 |f^(5)| / 30, and its
    /// rounding error, about 1.5e-16 |f| / h, are both near 1e-12 for f of order 1) and floor 1e-4.
    /// The two-point formula with h = 1e-5 is cheaper but only good to about 1e-10 absolute.
    static member Default = { Epsilon = 1e-4; Scheme = DifferenceScheme.FourPoint; RelativeFloor = 1e-4 }
    /// A copy with another step.
    member this.WithEpsilon(epsilon) = { this with Epsilon = epsilon }
    /// A copy with another difference formula.
    member this.WithScheme(scheme) = { this with Scheme = scheme }
    /// A copy with another floor.
    member this.WithRelativeFloor(floor) = { this with RelativeFloor = floor }

/// The result of comparing an analytic gradient with central differences.
type GradientCheckResult =
    { /// max_i |analytic_i - numeric_i|; +infinity when an entry of either gradient is NaN or infinite.
      MaxAbsoluteError: float
      /// max_i |analytic_i - numeric_i| / max(|analytic_i|, |numeric_i|, RelativeFloor); +infinity
      /// when an entry of either gradient is NaN or infinite (such a gradient never passes).
      MaxRelativeError: float
      /// The parameter index where the relative error is largest (-1 for no parameters); the first
      /// NaN or infinite entry when there is one.
      WorstIndex: int
      /// The analytic gradient.
      Analytic: float[]
      /// The central-difference gradient.
      Numeric: float[] }
    /// True when the largest relative error is at most `tolerance`.
    member this.Passes(tolerance: float) = this.MaxRelativeError <= tolerance

/// The result of a property-based gradient check: the property "the analytic gradient agrees with
/// central differences" checked at a centre and at random points around it (`GradientCheck.checkNear`).
type GradientPropertyResult =
    { /// The points checked: the centre first (case 0), then the random ones.
      Cases: int
      /// The bound on each point's largest relative error.
      Tolerance: float
      /// The cases whose largest relative error is above the tolerance, in order.
      FailedCases: int[]
      /// The case with the largest relative error (the first of equals).
      WorstCase: int
      /// That case's point.
      WorstPoint: float[]
      /// That case's check.
      Worst: GradientCheckResult }
    /// True when every case passed.
    member this.Passed = this.FailedCases.Length = 0

/// Gradient checking as a public API: central differences over every parameter of any function
/// of a parameter vector, compared with a gradient the user computed, at one point (`check`) or
/// as a property over random points (`checkNear`).
///
/// No finite-difference check holds at a kink: where the function is not differentiable (ReLU at
/// 0, |x| at 0) or within a step of it, central differences average the two one-sided slopes, and
/// a correct analytic gradient (ReLU'(0) = 0) shows a relative error up to 1. A ReLU network with
/// zero biases has every pre-activation of an all-zero input row at the kink; check such networks
/// at inputs and biases away from 0.
module GradientCheck =

    let private checkTheta (name: string) (theta: float[]) =
        Check.notNull name theta
        theta |> Array.iteri (fun i v ->
            if not (Double.IsFinite v) then Check.fail name (sprintf "%s[%d] is %s; a gradient is checked at finite parameters." name i (string v)))

    let private checkFloor (floor: float) =
        if not (floor > 0.0) || Double.IsInfinity floor then
            Check.fail "relativeFloor" (sprintf "relativeFloor must be a positive finite number, but is %s." (string floor))

    // The differences of f; with `name`, a value of f that is not finite raises ArgumentException (ParamName `name`).
    let private differences (name: string option) (scheme: DifferenceScheme) (epsilon: float) (f: float[] -> float) (theta: float[]) : float[] =
        checkTheta "theta" theta
        Check.positive "epsilon" epsilon
        let work = Array.copy theta
        let at i (point: float) =
            let x = work.[i]
            work.[i] <- point
            let v = f (Array.copy work)
            work.[i] <- x
            match name with
            | Some name when not (Double.IsFinite v) ->
                Check.fail name (sprintf "%s returned %s at the point with parameter %d moved from %s to %s (a central-difference step of %s, the other parameters as given); a gradient is checked where the function is finite within a step of the point: check the function there, or check at another point." name (string v) i (string x) (string point) (string (abs (point - x))))
            | _ -> v
        // (f(x + h) - f(x - h)) / ((x + h) - (x - h)): the points as rounded, and the distance between them.
        let central i h =
            let x = theta.[i]
            let xp, xm = x + h, x - h
            if not (xp - xm > 0.0) || not (Double.IsFinite (xp - xm)) then
                Check.fail "epsilon" (sprintf "The step %s from theta[%d] = %s (epsilon %s) overflows the double range: a parameter this close to it cannot be differenced." (string h) i (string x) (string epsilon))
            (at i xp - at i xm) / (xp - xm)
        Array.init theta.Length (fun i ->
            let h = max epsilon (1e4 * 2.220446049250313e-16 * abs theta.[i])
            match scheme with
            | DifferenceScheme.TwoPoint -> central i h
            | DifferenceScheme.FourPoint ->
                // (4 D(h) - D(2h)) / 3 written so that it does not overflow where D does not.
                let d = central i h
                d + (d - central i (2.0 * h)) / 3.0)

    /// The central-difference gradient of f at theta (theta is not changed). The step at a
    /// parameter x is h = max(epsilon, 1e4 u |x|), u = 2^-52 the doubles' relative spacing: the
    /// absolute step epsilon (as PyTorch's gradcheck and SciPy's approx_fprime take it, right for a
    /// function that bends on a fixed scale: sin(x) at 1e4 keeps 9 digits) until it would span
    /// fewer than about 1e4 of x's spacings (|x| > 4.5e7 for epsilon = 1e-4; x + 1e-4 is x at
    /// 1e13), then 1e4 spacings; and each difference is divided by the distance between the points actually evaluated,
    /// (x + h) - (x - h), not by 2h (x + h rounds to x's spacing). The four-point formula is the
    /// Richardson combination (4 D(h) - D(2h)) / 3 of such two-point differences D. Raises
    /// ArgumentException for a theta that is not finite (ParamName "theta"), an epsilon that is not
    /// positive and finite, or a step that overflows (a parameter near the double range;
    /// ParamName "epsilon"), and for a value of f that is not finite (NaN or an infinity, ParamName
    /// "f", naming the parameter moved and the point): no difference of it is a derivative.
    /// No step suits every function: one whose scale grows with |x| (x^2 / 2 at 4e7, where the
    /// step spans only 1e4 spacings of x) is checked to about 2e-5 with the default; a larger
    /// epsilon (a step relative to |x|) checks it better, and a function that bends on a fixed
    /// scale (sin) worse.
    let numericGradientWith (scheme: DifferenceScheme) (epsilon: float) (f: float[] -> float) (theta: float[]) : float[] =
        differences (Some "f") scheme epsilon f theta

    /// The two-point central-difference gradient of f at theta with step max(epsilon, 1e4 u |x|) at
    /// each parameter x (theta is not changed; see numericGradientWith).
    let numericGradient (epsilon: float) (f: float[] -> float) (theta: float[]) : float[] =
        numericGradientWith DifferenceScheme.TwoPoint epsilon f theta

    /// Compares an analytic gradient with a numeric one.
    let compare (options: GradientCheckOptions) (analytic: float[]) (numeric: float[]) : GradientCheckResult =
        checkFloor options.RelativeFloor
        Check.notNull "analytic" analytic
        Check.notNull "numeric" numeric
        if analytic.Length <> numeric.Length then
            Check.fail "analytic" (sprintf "analytic has length %d but numeric has length %d." analytic.Length numeric.Length)
        let mutable maxAbs = 0.0
        let mutable maxRel = 0.0
        let mutable worst = if analytic.Length = 0 then -1 else 0
        for i in 0 .. analytic.Length - 1 do
            let a, n = analytic.[i], numeric.[i]
            // A non-finite entry (NaN, or +/-infinity on either side) is an error of +infinity:
            // inf - inf is NaN and inf / inf is NaN, and a NaN would be skipped by `rel > maxRel`.
            let d = if Double.IsFinite a && Double.IsFinite n then abs (a - n) else Double.PositiveInfinity
            let rel = if Double.IsFinite d then d / (max (max (abs a) (abs n)) options.RelativeFloor) else Double.PositiveInfinity
            maxAbs <- max maxAbs d
            if rel > maxRel then
                maxRel <- rel
                worst <- i
        { MaxAbsoluteError = maxAbs; MaxRelativeError = maxRel; WorstIndex = worst
          Analytic = Array.copy analytic; Numeric = Array.copy numeric }

    /// Checks `gradient` against central differences of `f` at theta. A value of `f` that is not finite at
    /// a difference point raises ArgumentException (ParamName "f", naming the point: `numericGradientWith`); a
    /// gradient entry that is not finite is an error of +infinity in the result (such a gradient never passes).
    let check (options: GradientCheckOptions) (f: float[] -> float) (gradient: float[] -> float[]) (theta: float[]) : GradientCheckResult =
        checkFloor options.RelativeFloor
        Check.positive "epsilon" options.Epsilon
        checkTheta "theta" theta
        let analytic = gradient (Array.copy theta)
        Check.notNull "gradient" analytic
        if analytic.Length <> theta.Length then
            Check.fail "gradient" (sprintf "gradient returned %d values for %d parameters." analytic.Length theta.Length)
        compare options analytic (numericGradientWith options.Scheme options.Epsilon f theta)

    /// The property-based check: `check` at `center` and at `cases - 1` random points
    /// center + radius u, with u uniform in [-1, 1]^p drawn from the library's generator seeded by
    /// `seed` (the same points on every machine and run). A gradient that is right at one point and
    /// wrong elsewhere (a slip in one branch of a piecewise formula, a factor on one region) fails
    /// here where a check at one point passes. Every case is checked (no early stop), and the
    /// worst is returned with its point, so a failure can be reproduced with `check` alone.
    /// Raises ArgumentException for cases below 1 (ParamName "cases"), a tolerance that is not
    /// positive and finite ("tolerance"), a radius that is negative or not finite ("radius"), a
    /// centre that is not finite ("center") or a point that overflows ("radius"), and as `check`.
    let checkNear (options: GradientCheckOptions) (tolerance: float) (cases: int) (radius: float) (seed: int64)
                  (f: float[] -> float) (gradient: float[] -> float[]) (center: float[]) : GradientPropertyResult =
        checkFloor options.RelativeFloor
        Check.positive "epsilon" options.Epsilon
        if cases < 1 then Check.fail "cases" (sprintf "cases must be at least 1 (the centre), but is %d." cases)
        if not (tolerance > 0.0) || Double.IsInfinity tolerance then
            Check.fail "tolerance" (sprintf "tolerance must be a positive finite number, but is %s." (string tolerance))
        if not (radius >= 0.0) || Double.IsInfinity radius then
            Check.fail "radius" (sprintf "radius must be a finite number >= 0, but is %s." (string radius))
        checkTheta "center" center
        Check.notNull "f" (box f)
        Check.notNull "gradient" (box gradient)
        let p = center.Length
        let mutable rng = Rng.create seed
        let points =
            Array.init cases (fun k ->
                if k = 0 then Array.copy center
                else
                    let u, next = Rng.many p (Rng.nextUniform -1.0 1.0) rng
                    rng <- next
                    let point = Array.init p (fun i -> center.[i] + radius * u.[i])
                    point |> Array.iteri (fun i v ->
                        if not (Double.IsFinite v) then
                            Check.fail "radius" (sprintf "center[%d] = %s plus radius %s times %s overflows; give a smaller radius." i (string center.[i]) (string radius) (string u.[i])))
                    point)
        let results = points |> Array.map (check options f gradient)
        let mutable worst = 0
        for k in 1 .. cases - 1 do
            if results.[k].MaxRelativeError > results.[worst].MaxRelativeError then worst <- k
        { Cases = cases
          Tolerance = tolerance
          FailedCases = [| for k in 0 .. cases - 1 do if not (results.[k].MaxRelativeError <= tolerance) then k |]
          WorstCase = worst
          WorstPoint = Array.copy points.[worst]
          Worst = results.[worst] }

    /// Checks the network's backpropagation for a loss and a batch against central differences
    /// over every weight and bias. A Float32 network is checked in float64, on
    /// `Network.withPrecision Float64 net` (exact widening), with X and Y rounded to float32 as
    /// the Float32 network sees them: this checks the formulas the Float32 network computes with.
    /// Differences of float32-rounded losses would measure rounding, not the derivative (a step
    /// of 1e-6 moves a loss near 1 by about 8 float32 ulps).
    let checkNetwork (options: GradientCheckOptions) (net: Network) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) : GradientCheckResult =
        Check.notNull "net" (box net)
        let x, y =
            if net.Precision = Precision.Float64 then x, y
            else
                Check.notNull "x" x
                Check.notNull "y" y
                Precision.roundMatrix net.Precision x, Precision.roundMatrix net.Precision y
        let net = Network.withPrecision Precision.Float64 net
        let _, g = Network.lossAndGradient net loss x y
        let theta = (Parameters.ofNetwork net).ToArray()
        let f (t: float[]) =
            let n = Parameters.toNetwork net (Vector<float>.Build.DenseOfArray t)
            Loss.valueUnchecked loss (Network.forwardUnchecked n x).Output y
        compare options ((Parameters.ofGradients g).ToArray()) (differences None options.Scheme options.Epsilon f theta)

    /// Checks a network of any blocks in a mode against central differences over every parameter
    /// and every input value: the analytic vector is the parameters' gradient followed by dL/dX
    /// row by row (Network.backwardIn), the numeric one differentiates the loss of the forward
    /// pass in the same mode (in training mode the dropout masks are fixed by the mode's key, and
    /// batch normalisation uses the batch's statistics, which depend on X and are differentiated
    /// through). So every block is checked, those without parameters (activation, dropout) by the
    /// gradient they pass down. A Float32 network is checked in float64 as `checkNetwork` says.
    /// Raises ArgumentException for bad input (a batch of one row for batch normalisation in
    /// training mode included), InvalidOperationException for a step activation.
    let checkNetworkIn (options: GradientCheckOptions) (mode: Mode) (net: Network) (loss: Loss) (x: Matrix<float>) (y: Matrix<float>) : GradientCheckResult =
        Check.notNull "net" (box net)
        Network.checkInput net "x" x
        Network.checkDifferentiable net
        Network.checkModeRows net mode "x" x.RowCount
        let p = net.Precision
        let x, y = Precision.roundMatrix p x, (Check.notNull "y" y; Precision.roundMatrix p y)
        let net = Network.withPrecision Precision.Float64 net
        let trace = Network.forwardIn mode net x
        Loss.checkTargetNamed "y" loss trace.Output y
        Network.checkOutputProbabilities loss trace.Output
        let g, dx = Network.backwardIn mode net trace (Loss.gradientUnchecked loss trace.Output y)
        let pc = net.ParameterCount
        let rows, cols = x.RowCount, x.ColumnCount
        let analytic = Array.append ((Parameters.ofGradients g).ToArray()) (dx.ToRowMajorArray())
        let start = Array.append ((Parameters.ofNetwork net).ToArray()) (x.ToRowMajorArray())
        let f (t: float[]) =
            let n = Parameters.toNetwork net (Vector<float>.Build.DenseOfArray (Array.sub t 0 pc))
            let xt = Matrix<float>.Build.DenseOfRowMajor(rows, cols, Array.sub t pc (rows * cols))
            Loss.valueUnchecked loss (Network.forwardIn mode n xt).Output y
        compare options analytic (differences None options.Scheme options.Epsilon f start)
