namespace Functional.NN.Kernels;

/// <summary>
/// The one definition of every activation and loss formula, as scalar functions of one element.
/// The F# core's <c>Activation</c> and <c>Loss</c> modules evaluate these (in double), the
/// kernels' scalar paths evaluate them in their element type, and the kernels' vector paths
/// (<see cref="Activations"/>, <see cref="Losses"/>) are vectorised evaluations of the same
/// formulas, tested against these to within a few units in the last place.
/// </summary>
public static class Formulas
{
    /// <summary>
    /// log(1 + x), accurate also for tiny x (where 1 + x rounds to 1): the classic correction
    /// log(u) x / (u - 1) with u = 1 + x (Goldberg, "What every computer scientist should know
    /// about floating-point arithmetic", 1991, theorem 4). Where the product log(u) x overflows
    /// (x above about 2.5e305 in double, 3.9e36 in float, and x = +infinity) the result is log(u):
    /// there log(1 + x) = log(x) + log1p(1/x) and 1/x is far below an ulp of log(x).
    /// </summary>
    public static T Log1p<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.One + x;
        if (u == T.One) return x;
        T l = T.Log(u);
        T p = l * x;
        // The same operations in the same order as log(u) * x / (u - 1) wherever the product is finite, so
        // every other result keeps its bits (and the kernels' vectorised softplus, which uses x in (0, 1], agrees).
        return T.IsInfinity(p) && !T.IsInfinity(l) ? l : T.IsPositiveInfinity(x) ? x : p / (u - T.One);
    }

    /// <summary>The logistic function 1 / (1 + e^-z), without overflow for large |z|.</summary>
    public static T Sigmoid<T>(T z) where T : IFloatingPointIeee754<T>
    {
        if (z >= T.Zero) return T.One / (T.One + T.Exp(-z));
        T e = T.Exp(z);
        return e / (T.One + e);
    }

    /// <summary>log(1 + e^z) without overflow, and without losing e^z to rounding for very negative z.</summary>
    public static T Softplus<T>(T z) where T : IFloatingPointIeee754<T>
        => z > T.Zero ? z + Log1p(T.Exp(-z)) : Log1p(T.Exp(z));

    /// <summary>
    /// s(z) of an activation (the leaky ReLU's slope in <paramref name="slope"/>). Every activation
    /// keeps NaN: s(NaN) = NaN (as torch.relu(nan) and numpy's heaviside(nan, 1)), so a NaN produced
    /// inside a network reaches its output and the output and loss checks, never a finite value.
    /// ReLU is max(z, 0) by IEEE 754-2019's maximum (<c>T.Max</c>, which keeps NaN and gives +0 for
    /// -0), the same operation as the kernels' vector path (<c>Vector512.Max</c>).
    /// </summary>
    public static T Activate<T>(ActivationKind kind, T slope, T z) where T : IFloatingPointIeee754<T> => kind switch
    {
        ActivationKind.Identity => z,
        ActivationKind.Sigmoid => Sigmoid(z),
        ActivationKind.Tanh => T.Tanh(z),
        ActivationKind.ReLU => T.Max(z, T.Zero),
        ActivationKind.LeakyReLU => z > T.Zero ? z : slope * z,
        ActivationKind.Softplus => Softplus(z),
        ActivationKind.Step => z >= T.Zero ? T.One : T.IsNaN(z) ? z : T.Zero,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation."),
    };

    /// <summary>
    /// s'(z) of an activation, given z and the output a = s(z): sigmoid and tanh use a (cheaper);
    /// ReLU takes 0 at the kink; the step's derivative is 0 everywhere it exists. At z = NaN the
    /// derivative is NaN for sigmoid, tanh and softplus, and the value of the z &lt;= 0 branch
    /// otherwise (0 for ReLU and the step, the slope for the leaky ReLU), as in the kernels' vector
    /// path; the NaN itself already reaches the output through <see cref="Activate"/>.
    /// </summary>
    public static T Derivative<T>(ActivationKind kind, T slope, T z, T a) where T : IFloatingPointIeee754<T> => kind switch
    {
        ActivationKind.Identity => T.One,
        ActivationKind.Sigmoid => a * (T.One - a),
        ActivationKind.Tanh => (T.One - a) * (T.One + a),
        ActivationKind.ReLU => z > T.Zero ? T.One : T.Zero,
        ActivationKind.LeakyReLU => z > T.Zero ? T.One : slope,
        ActivationKind.Softplus => Sigmoid(z),
        ActivationKind.Step => T.Zero,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation."),
    };

    /// <summary>The probability clamp of binary cross-entropy: p in [1e-15, 1 - 1e-15].</summary>
    public static T ClampProbability<T>(T p) where T : IFloatingPointIeee754<T>
    {
        T lo = T.CreateTruncating(1e-15), hi = T.One - T.CreateTruncating(1e-15);
        return T.Min(T.Max(p, lo), hi);
    }

    /// <summary>
    /// One element's term of an element-wise loss (every loss but softmax cross-entropy, which is
    /// row-wise): the loss of a batch is <see cref="LossScale"/> times the sum of the terms over
    /// every element, divided by the number of rows n.
    /// </summary>
    public static T LossTerm<T>(LossKind kind, T p, T y) where T : IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case LossKind.HalfMeanSquaredError:
            case LossKind.MeanSquaredError: { T d = p - y; return d * d; }
            case LossKind.BinaryCrossEntropy:
            {
                T q = ClampProbability(p);
                return -(y * T.Log(q) + (T.One - y) * T.Log(T.One - q));
            }
            case LossKind.BinaryCrossEntropyWithLogits:
                return T.Max(p, T.Zero) - p * y + Log1p(T.Exp(-T.Abs(p)));
            case LossKind.Hinge: return T.Max(T.Zero, T.One - y * p);
            case LossKind.SquaredHinge: { T h = T.Max(T.Zero, T.One - y * p); return T.CreateTruncating(0.5) * h * h; }
            case LossKind.Logistic: return Softplus(-(y * p));
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not an element-wise loss.");
        }
    }

    /// <summary>The factor in front of the averaged sum of terms: 1/2 for the half mean squared error, else 1.</summary>
    public static double LossScale(LossKind kind) => kind == LossKind.HalfMeanSquaredError ? 0.5 : 1.0;

    /// <summary>One element of dL/dYhat of an element-wise loss over a batch of n rows.</summary>
    public static T LossGradient<T>(LossKind kind, T p, T y, T n) where T : IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case LossKind.HalfMeanSquaredError: return (p - y) / n;
            case LossKind.MeanSquaredError: return T.CreateTruncating(2.0) * (p - y) / n;
            case LossKind.BinaryCrossEntropy:
            {
                T q = ClampProbability(p);
                return (q - y) / (q * (T.One - q)) / n;
            }
            case LossKind.BinaryCrossEntropyWithLogits: return (Sigmoid(p) - y) / n;
            case LossKind.Hinge: return T.One - y * p > T.Zero ? -y / n : T.Zero;
            case LossKind.SquaredHinge: return -y * T.Max(T.Zero, T.One - y * p) / n;
            case LossKind.Logistic: return -y * Sigmoid(-(y * p)) / n;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not an element-wise loss.");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Dropout masks: one stateless definition, so that the core, the kernels and any split of a
    // batch over threads draw the same mask from the same (seed, step, block, row, column).

    /// <summary>SplitMix64's finaliser (Steele, Lea and Flood, 2014): a bijective mix of 64 bits.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// The key of one training step's dropout masks: a mix of the run's seed and the optimiser's
    /// step counter before the step, so a resumed or replayed run draws the same masks.
    /// </summary>
    public static ulong DropoutKey(long seed, long step)
        => Mix(Mix((ulong)seed + 0x9E3779B97F4A7C15UL) ^ ((ulong)step * 0xD1B54A32D192ED03UL));

    /// <summary>
    /// Whether inverted dropout keeps element (row, column) of the batch entering the network's
    /// dropout block number <paramref name="block"/> (0-based, in the order the blocks are met,
    /// depth first) at a step of key <paramref name="key"/>: true iff u &gt;= rate, with u uniform
    /// in [0, 1) from the top 53 bits of a mix of the key, the block, the row (the position in the
    /// batch) and the column (<see cref="DropoutHash"/>). Stateless, so every backend and any
    /// parallel split draw the same mask; each element is kept with probability 1 - rate.
    /// </summary>
    public static bool DropoutKeep(ulong key, int block, int row, int column, double rate)
        => (DropoutHash(DropoutBlockKey(key, block), row, column) >> 11) * (1.0 / 9007199254740992.0) >= rate;

    /// <summary>The part of <see cref="DropoutKeep"/>'s hash common to a block's whole mask: Mix(key xor block phi64).</summary>
    public static ulong DropoutBlockKey(ulong key, int block) => Mix(key ^ ((ulong)(uint)block * 0x9E3779B97F4A7C15UL));

    /// <summary>
    /// The 64-bit hash h of one mask element: Mix(blockKey xor (row &lt;&lt; 32 | column)); the element
    /// is kept iff (h &gt;&gt; 11) 2^-53 &gt;= rate. Vector code computes it lane by lane along a row.
    /// </summary>
    public static ulong DropoutHash(ulong blockKey, int row, int column)
        => Mix(blockKey ^ ((ulong)(uint)row << 32 | (uint)column));

    /// <summary>
    /// The integer form of <see cref="DropoutKeep"/>'s test, for vector code: keep iff
    /// (h &gt;&gt; 11) &gt;= ceil(rate 2^53), the same test exactly (h &gt;&gt; 11 and rate 2^53 are
    /// exact doubles). ArgumentOutOfRangeException for a rate outside [0, 1).
    /// </summary>
    public static ulong DropoutThreshold(double rate)
    {
        if (!(rate >= 0.0 && rate < 1.0))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "A dropout rate must be in [0, 1).");
        return (ulong)Math.Ceiling(rate * 9007199254740992.0);
    }
}
