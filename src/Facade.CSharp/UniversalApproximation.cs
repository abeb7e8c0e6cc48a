using Approx = Functional.NN.Approximation;

namespace FunctionalNN;

/// <summary>Universal approximation made concrete: a one-hidden-layer ReLU network
/// h(x) = c + Σ d_k max(0, x - x_k), built without training, that interpolates f at N equally spaced knots x_k
/// of [a, b] (the linear spline through them; d_k is the change of slope at x_k, and note 002's form
/// Σ ±max(0, |d_k| x - |d_k| x_k) is the same function, which the network does not use because |d_k| x - |d_k| x_k
/// cancels in doubles far from 0). On [a, b] its error is at most h²/8 · max|f''| with h = (b - a)/(N - 1), plus
/// rounding of about (N + 2) · 1.1e-16 · (|f(a)| + Σ |d_k| max(0, x - x_k)).</summary>
/// <example><code>
/// Network net = UniversalApproximation.ReluInterpolant(Math.Sin, 0, 2 * Math.PI, points: 32);
/// double[,] y = net.Predict(new double[,] { { 1.0 } });   // ≈ sin 1, within 0.0052
/// </code></example>
public static class UniversalApproximation
{
    /// <summary>The network (N - 1 ReLU hidden units, an identity output with a bias) that interpolates
    /// <paramref name="f"/> at the <paramref name="points"/> knots of [a, b]. It predicts and trains like any other
    /// <see cref="Network"/> (one input, one output).</summary>
    /// <exception cref="ArgumentException">a ≥ b, an interval too narrow for that many distinct knots in double
    /// precision (ParamName b), fewer than 2 points, f not finite at a knot, or f's values
    /// overflowing the network (a slope between knots or its change not finite, or an output that could overflow on
    /// [a, b]; ParamName f).</exception>
    public static Network ReluInterpolant(Func<double, double> f, double a, double b, int points)
    {
        ArgumentNullException.ThrowIfNull(f);
        // The core names f (this parameter's name too) for values that are not finite or that overflow the network.
        return new Network(Approx.ReluInterpolant.construct(f, a, b, points));
    }

    /// <summary>The knots a, a + h, ..., b, each above the one before.</summary>
    /// <exception cref="ArgumentException">a ≥ b, or [a, b] too narrow for that many distinct knots in double precision
    /// (ParamName b).</exception>
    public static double[] Knots(double a, double b, int points) => Approx.ReluInterpolant.knots(a, b, points);

    /// <summary>The linear-interpolation bound h²/8 · <paramref name="maxSecondDerivative"/> for N knots of [a, b].</summary>
    public static double ErrorBound(double a, double b, int points, double maxSecondDerivative) =>
        Approx.ReluInterpolant.errorBound(a, b, points, maxSecondDerivative);
}
