namespace Functional.NN.Approximation

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Universal approximation made concrete for 1-D functions, as in the proof of note 002's theorem
/// (1D case, equation (6)): sample f, and build a ReLU network through the samples (a linear
/// spline). The network has one hidden layer of
/// ReLUs, h(x) = c + sum_i s_i max(0, w_i x + b_i) with s_i = +1 or -1 (the first note's
/// h(x) = sum_j a_j s(w_j x + b_j) with s = ReLU), built without training so that it interpolates
/// f at N equally spaced points of [a, b]: it is the piecewise-linear spline through them.
///
/// With knots x_k = a + k h (h = (b - a)/(N - 1)) and slopes m_k = (f(x_{k+1}) - f(x_k)) / h,
/// the spline on [a, b] is
///   S(x) = f(x_0) + m_0 max(0, x - x_0) + sum_{k=1}^{N-2} (m_k - m_{k-1}) max(0, x - x_k),
/// since max(0, x - x_0) = x - x_0 there and each later term bends the slope at its knot. A term
/// d max(0, x - x_k) is written sign(d) max(0, |d| x - |d| x_k), so hidden unit k has weight
/// w_k = |d|, bias b_k = -|d| x_k and output weight sign(d) (+1 for d = 0). Left of a the network
/// is constant f(x_0); right of b it continues the last piece.
///
/// Error: for f twice continuously differentiable, |f(x) - S(x)| <= h^2/8 max |f''| on [a, b].
module ReluInterpolant =

    /// The most knots accepted: 10,000,000 (the interpolant then has about 4 * 10^7 parameters,
    /// 320 MB; more would exhaust memory rather than approximate better in double precision).
    [<Literal>]
    let MaxPoints = 10_000_000

    /// The spacing h = (b - a) / (N - 1) of N knots on [a, b], checked: a and b finite, a < b,
    /// 2 <= N <= MaxPoints, and h finite and positive.
    let private spacing (a: float) (b: float) (points: int) =
        Check.finiteScalar "a" a
        Check.finiteScalar "b" b
        if not (a < b) then Check.fail "b" (sprintf "The interval needs a < b, but a = %g and b = %g." a b)
        if points < 2 || points > MaxPoints then Check.fail "points" (sprintf "points must lie in 2 .. %d, but is %d." MaxPoints points)
        let h = (b - a) / float (points - 1)
        if not (Double.IsFinite h && h > 0.0) then
            Check.fail "b" (sprintf "The interval [%g, %g] is too wide (b - a overflows) or too narrow for %d points: the knot spacing is %g." a b points h)
        h

    /// The N equally spaced knots a, a + h, ..., b (the last is exactly b), each a double above
    /// the one before. Raises ArgumentException (ParamName "b") when two knots round to the same
    /// double (or out of order): the interval is too narrow for that many points in double
    /// precision (for example [1, 1 + 4.4e-16] with 10 points, h below the doubles' spacing near 1).
    let knots (a: float) (b: float) (points: int) : float[] =
        let h = spacing a b points
        let xs = Array.init points (fun k -> if k = points - 1 then b else a + float k * h)
        for k in 1 .. points - 1 do
            if not (xs.[k] > xs.[k - 1]) then
                Check.fail "b" (sprintf "The interval [%s, %s] is too narrow for %d points: knots %d and %d round to %s and %s, so they do not increase (the spacing h = %s is below the spacing of doubles there, %s). Use fewer points or a wider interval." (string a) (string b) points (k - 1) k (string xs.[k - 1]) (string xs.[k]) (string h) (string (Math.BitIncrement (abs xs.[k - 1]) - abs xs.[k - 1])))
        xs

    /// The linear-interpolation error bound h^2/8 max|f''| for N equally spaced points of [a, b],
    /// given (a bound on) max |f''| over [a, b].
    /// Raises ArgumentException (ParamName "maxSecondDerivative") unless the bound is finite and >= 0.
    let errorBound (a: float) (b: float) (points: int) (maxSecondDerivative: float) : float =
        if not (maxSecondDerivative >= 0.0) || Double.IsInfinity maxSecondDerivative then
            Check.fail "maxSecondDerivative" (sprintf "maxSecondDerivative bounds |f''|, so it must be a finite number >= 0, but is %s." (string maxSecondDerivative))
        let h = spacing a b points
        h * h / 8.0 * maxSecondDerivative

    /// The one-hidden-layer ReLU network (N - 1 hidden units, ReLU; one identity output with a
    /// bias) that interpolates f at the N knots of [a, b]: a core Network that predicts, saves and
    /// trains like any other. Raises ArgumentException (ParamName "b") when the interval is too
    /// narrow for that many distinct knots (see `knots`), and (ParamName "f") when f is not finite at a
    /// knot, or when f's values, though finite, overflow the network's weights: a slope between
    /// neighbouring knots, a change of slope at a knot, or a hidden unit's bias -|change| x_k that
    /// is not a finite double.
    let construct (f: Func<float, float>) (a: float) (b: float) (points: int) : Network =
        Check.notNull "f" f
        let xs = knots a b points
        let ys = xs |> Array.mapi (fun k x ->
            let y = f.Invoke x
            if not (Double.IsFinite y) then Check.fail "f" (sprintf "f(%g) = %g at knot %d; f must be finite at every knot." x y k)
            y)
        let overflow (what: string) =
            Check.fail "f" (sprintf "f's values overflow the interpolant's weights: %s is not a finite double. The network's weights are f's slopes between knots and their changes; use a smaller scale of f (divide it by a constant and multiply the network's output back) or fewer points." what)
        let slopes = Array.init (points - 1) (fun k ->
            let m = (ys.[k + 1] - ys.[k]) / (xs.[k + 1] - xs.[k])
            if not (Double.IsFinite m) then
                overflow (sprintf "the slope between knots %d and %d, (f(%g) - f(%g)) / h = (%g - %g) / %g," k (k + 1) xs.[k + 1] xs.[k] ys.[k + 1] ys.[k] (xs.[k + 1] - xs.[k]))
            m)
        // The change of slope at knot k: m_0 at x_0, m_k - m_{k-1} after.
        let bends = Array.init (points - 1) (fun k ->
            let d = if k = 0 then slopes.[0] else slopes.[k] - slopes.[k - 1]
            if k > 0 && not (Double.IsFinite d) then
                overflow (sprintf "the change of slope at knot %d (x = %g), %g - %g," k xs.[k] slopes.[k] slopes.[k - 1])
            if not (Double.IsFinite (abs d * xs.[k])) then
                overflow (sprintf "the bias of hidden unit %d, -|%g| * %g (the change of slope times the knot x = %g)," k d xs.[k] xs.[k])
            d)
        let units = points - 1
        let w = Mat.init 1 units (fun _ k -> abs bends.[k])
        let bias = Vector<float>.Build.Dense(units, fun k -> -(abs bends.[k]) * xs.[k])
        let outW = Mat.init units 1 (fun k _ -> if bends.[k] < 0.0 then -1.0 else 1.0)
        let outB = Vector<float>.Build.Dense(1, ys.[0])
        Network.create [ Dense.create w (Some bias) Activation.ReLU
                         Dense.create outW (Some outB) Activation.Identity ]

    /// `construct` for an F# function.
    let ofFunction (f: float -> float) (a: float) (b: float) (points: int) : Network =
        Check.notNull "f" f
        construct (Func<float, float> f) a b points
