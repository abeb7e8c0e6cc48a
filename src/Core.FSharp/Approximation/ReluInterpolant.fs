namespace Functional.NN.Approximation

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Universal approximation made concrete for 1-D functions, as in the proof of note 002's theorem
/// (1D case, equation (6)): sample f, and build a ReLU network through the samples (a linear
/// spline). The network has one hidden layer of ReLUs, h(x) = c + sum_k d_k max(0, x - x_k) (the
/// first note's h(x) = sum_j a_j s(w_j x + b_j) with s = ReLU, w_j = 1, b_j = -x_j), built without
/// training so that it interpolates f at N equally spaced points of [a, b]: it is the
/// piecewise-linear spline through them.
///
/// With knots x_k = a + k h (h = (b - a)/(N - 1)) and slopes m_k = (f(x_{k+1}) - f(x_k)) / h,
/// the spline on [a, b] is
///   S(x) = f(x_0) + m_0 max(0, x - x_0) + sum_{k=1}^{N-2} (m_k - m_{k-1}) max(0, x - x_k),
/// since max(0, x - x_0) = x - x_0 there and each later term bends the slope at its knot. Hidden
/// unit k has weight 1 and bias -x_k, and output weight d_k, the change of slope at x_k (d_0 = m_0,
/// d_k = m_k - m_{k-1}); the output bias is f(x_0). Note 002 writes the same function as
/// sum +-max(0, w_i x + b_i): d max(0, x - x_k) = sign(d) max(0, |d| x - |d| x_k). The library keeps
/// the signed d_k in the output weight (and 1 in the hidden weight) because in doubles |d| x - |d| x_k cancels, with an error of about
/// |d| |x| 1.1e-16 that far from 0 exceeds the interpolation error (sin(x - 1e12) on
/// [1e12, 1e12 + 1] with N = 100 missed its knots by 2e-5), while x - x_k is exact near x_k.
/// Left of a the network is constant f(x_0); right of b it continues the last piece.
///
/// Error: for f twice continuously differentiable, |f(x) - S(x)| <= h^2/8 max |f''| on [a, b].
/// The network computes S in doubles, adding rounding of at most about
/// (N + 2) 1.1e-16 (|f(x_0)| + sum_k |d_k| max(0, x - x_k)) (the bias and N - 1 terms summed, each
/// term a rounded product of a rounded difference), negligible beside the bound unless f is
/// nearly linear or N very large.
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
    /// knot, or when f's values, though finite, overflow the network: a slope between neighbouring
    /// knots or a change of slope at a knot (an output weight) that is not a finite double, or an
    /// output that could overflow on [a, b]: a term |d_k| (b - x_k), or their sum with |f(x_0)|
    /// (which bounds every partial sum of the output layer on [a, b]), beyond the doubles' range.
    let construct (f: Func<float, float>) (a: float) (b: float) (points: int) : Network =
        Check.notNull "f" f
        let xs = knots a b points
        let ys = xs |> Array.mapi (fun k x ->
            let y = f.Invoke x
            if not (Double.IsFinite y) then Check.fail "f" (sprintf "f(%g) = %g at knot %d; f must be finite at every knot." x y k)
            y)
        let overflow (what: string) =
            Check.fail "f" (sprintf "f's values overflow the interpolant: %s is not a finite double. The network's output weights are the changes of f's slope between knots, and its output sums them times the distances to the knots; use a smaller scale of f (divide it by a constant and multiply the network's output back) or fewer points." what)
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
            // On [a, b] unit k's output term d_k max(0, x - x_k) is at most |d_k| (b - x_k).
            if not (Double.IsFinite (abs d * (b - xs.[k]))) then
                overflow (sprintf "the output term of hidden unit %d at x = b, |%g| * (%g - %g) (the change of slope at knot x = %g times the distance to b)," k d b xs.[k] xs.[k])
            d)
        // |f(x_0)| + sum_k |d_k| (b - x_k) bounds |c + any partial sum of the terms| on [a, b].
        let largest = bends |> Array.mapi (fun k d -> abs d * (b - xs.[k])) |> Array.fold (+) (abs ys.[0])
        if not (Double.IsFinite largest) then
            overflow (sprintf "the bound on the output over [a, b], |f(a)| + sum_k |d_k| (b - x_k) (f(a) = %g, %d hidden units)," ys.[0] (points - 1))
        let units = points - 1
        let w = Mat.init 1 units (fun _ _ -> 1.0)
        let bias = Vector<float>.Build.Dense(units, fun k -> -xs.[k])
        let outW = Mat.init units 1 (fun k _ -> bends.[k])
        let outB = Vector<float>.Build.Dense(1, ys.[0])
        Network.create [ Dense.create w (Some bias) Activation.ReLU
                         Dense.create outW (Some outB) Activation.Identity ]

    /// `construct` for an F# function.
    let ofFunction (f: float -> float) (a: float) (b: float) (points: int) : Network =
        Check.notNull "f" f
        construct (Func<float, float> f) a b points
