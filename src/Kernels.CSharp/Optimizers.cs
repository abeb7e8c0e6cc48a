using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Functional.NN.Kernels;

/// <summary>The update rules the kernels apply (the core's <c>Optimizer</c> cases, one for one).</summary>
public enum OptimizerKind
{
    /// <summary>theta &lt;- theta - eta g.</summary>
    Sgd,
    /// <summary>v_1 = g_1, v_t = mu v_{t-1} + (1 - tau) g_t; theta &lt;- theta - eta v_t (torch.optim.SGD).</summary>
    Momentum,
    /// <summary>v_t = mu v_{t-1} + g_t (v_1 = g_1); theta &lt;- theta - eta (g_t + mu v_t).</summary>
    Nesterov,
    /// <summary>s_t = s_{t-1} + g_t^2; theta &lt;- theta - eta g_t / (sqrt(s_t) + eps).</summary>
    AdaGrad,
    /// <summary>torch.optim.RMSprop, optionally centred and with momentum.</summary>
    RMSProp,
    /// <summary>torch.optim.Adam.</summary>
    Adam,
    /// <summary>torch.optim.AdamW: theta (1 - eta lambda) first, then the Adam step.</summary>
    AdamW,
}

/// <summary>
/// An update rule with its constants: the fields a rule does not use are ignored. Mirrors the
/// core's <c>OptimizerSettings</c> (the rule, L2 weight decay; clipping is applied by the caller
/// through the scale passed to <see cref="Optimizers.Update{T}"/>).
/// </summary>
public readonly record struct OptimizerRule(
    OptimizerKind Kind,
    double Momentum = 0.0,
    double Dampening = 0.0,
    double Alpha = 0.0,
    double Epsilon = 0.0,
    bool Centered = false,
    double Beta1 = 0.0,
    double Beta2 = 0.0,
    double DecoupledDecay = 0.0,
    double WeightDecay = 0.0);

/// <summary>
/// Optimiser updates over flat parameter buffers, in place. Every element is computed exactly as
/// the core's <c>Optimizer.stepIn</c> computes it: each value the update keeps (the clipped and
/// decayed gradient, each state buffer, AdamW's decayed parameter, the new parameter) is evaluated
/// in double from the kept values before it, in the same order of operations, and rounded once to
/// T. So for the same parameters, gradient and state, the result is bit for bit the core's, in
/// float64 and in float32. Vectorised over 8 elements at a time (double lanes); allocates nothing.
/// </summary>
public static unsafe class Optimizers
{
    /// <summary>Which state buffers a rule keeps: (velocity, first moment, second moment).</summary>
    public static (bool Velocity, bool First, bool Second) Buffers(OptimizerRule rule) => rule.Kind switch
    {
        OptimizerKind.Sgd => (false, false, false),
        OptimizerKind.Momentum or OptimizerKind.Nesterov => (true, false, false),
        OptimizerKind.AdaGrad => (false, false, true),
        OptimizerKind.RMSProp => (rule.Momentum > 0.0, rule.Centered, true),
        _ => (false, true, true),
    };

    /// <summary>
    /// Sum of squares of the values, in double, in index order (the core's global norm is the
    /// square root of the sum over every layer's weights then bias, in that order).
    /// </summary>
    public static double SumOfSquares<T>(ReadOnlySpan<T> values, double accumulator) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            double x = double.CreateTruncating(values[i]);
            accumulator += x * x;
        }
        return accumulator;
    }

    /// <summary>
    /// One update t (from 1) at step size eta of one parameter block: theta, its gradient g, and
    /// the rule's state buffers for the block (those the rule does not keep may be empty). When
    /// <paramref name="clipScale"/> is below 1 the gradient is first multiplied by it (clipping by
    /// global norm: the caller computes min(1, maxNorm / (|g|_2 + 1e-6)) over every block), then
    /// L2 decay adds WeightDecay theta. g is not changed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Update<T>(OptimizerRule rule, int t, double eta, double clipScale,
                                 Span<T> theta, ReadOnlySpan<T> g, Span<T> velocity, Span<T> first, Span<T> second)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        int n = theta.Length;
        if (g.Length != n) throw new ArgumentException($"g has {g.Length} values; theta has {n}.", nameof(g));
        var (useV, useM, useS) = Buffers(rule);
        if (useV && velocity.Length != n) throw new ArgumentException($"velocity has {velocity.Length} values; theta has {n}.", nameof(velocity));
        if (useM && first.Length != n) throw new ArgumentException($"first has {first.Length} values; theta has {n}.", nameof(first));
        if (useS && second.Length != n) throw new ArgumentException($"second has {second.Length} values; theta has {n}.", nameof(second));
        var c = new Constants(in rule, t, eta, clipScale);
        fixed (T* pt = theta)
        fixed (T* pg = g)
        fixed (T* pv = velocity)
        fixed (T* pm = first)
        fixed (T* ps = second)
        {
            T* v = useV ? pv : null, m = useM ? pm : null, s = useS ? ps : null;
            int full = n / 8;
            // Large blocks are split over the worker pool in whole groups of 8: each element is
            // computed on its own, so the split changes no bits.
            int parts = full >= ParallelGroups ? Math.Min(WorkerPool.Threads, full / (ParallelGroups / 2)) : 1;
            if (parts > 1)
            {
                var job = UpdateJob<T>.ForThisThread;
                job.Set(c, pt, pg, v, m, s, full);
                WorkerPool.Run(job, parts);
                job.Clear();
            }
            else Groups(in c, pt, pg, v, m, s, 0, full);
            int i = full * 8;
            if (i < n)
            {
                // The tail: through zero-padded blocks of 8, copied back.
                int r = n - i;
                T* bt = stackalloc T[8], bg = stackalloc T[8], bv = stackalloc T[8], bm = stackalloc T[8], bs = stackalloc T[8];
                for (int k = 0; k < 8; k++)
                {
                    bt[k] = k < r ? pt[i + k] : T.Zero;
                    bg[k] = k < r ? pg[i + k] : T.Zero;
                    bv[k] = useV && k < r ? pv[i + k] : T.Zero;
                    bm[k] = useM && k < r ? pm[i + k] : T.Zero;
                    bs[k] = useS && k < r ? ps[i + k] : T.Zero;
                }
                Block(in c, bt, bg, bv, bm, bs);
                for (int k = 0; k < r; k++)
                {
                    pt[i + k] = bt[k];
                    if (useV) pv[i + k] = bv[k];
                    if (useM) pm[i + k] = bm[k];
                    if (useS) ps[i + k] = bs[k];
                }
            }
        }
    }

    /// <summary>Groups of 8 elements from which an update is split over the worker pool.</summary>
    private const int ParallelGroups = 4096;

    /// <summary>Groups g0 .. g1 - 1 of 8 elements each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Groups<T>(in Constants c, T* pt, T* pg, T* pv, T* pm, T* ps, int g0, int g1) where T : unmanaged
    {
        for (int k = g0; k < g1; k++)
        {
            nint i = (nint)k * 8;
            Block(in c, pt + i, pg + i, pv == null ? null : pv + i, pm == null ? null : pm + i, ps == null ? null : ps + i);
        }
    }

    private sealed class UpdateJob<T> : IParallelJob where T : unmanaged
    {
        [ThreadStatic] private static UpdateJob<T>? t_job;
        public static UpdateJob<T> ForThisThread => t_job ??= new UpdateJob<T>();

        private Constants _c;
        private T* _t, _g, _v, _m, _s;
        private int _groups;

        public void Set(in Constants c, T* t, T* g, T* v, T* m, T* s, int groups)
        {
            _c = c; _t = t; _g = g; _v = v; _m = m; _s = s; _groups = groups;
        }

        public void Clear() { _t = null; _g = null; _v = null; _m = null; _s = null; }

        public void Execute(int part, int parts)
        {
            int g0 = (int)((long)_groups * part / parts), g1 = (int)((long)_groups * (part + 1) / parts);
            Groups(in _c, _t, _g, _v, _m, _s, g0, g1);
        }
    }

    /// <summary>The scalars of one update, computed once.</summary>
    private readonly struct Constants
    {
        public readonly OptimizerKind Kind;
        public readonly bool First, Clip, Decay, Centered, RmsMomentum, AdamWDecay;
        public readonly Vector256<double> Eta, ClipScale, WeightDecay, Mu, OneMinusTau, Alpha, OneMinusAlpha,
            Eps, B1, OneMinusB1, B2, OneMinusB2, Bc2, StepSize, DecoupledFactor;

        public Constants(in OptimizerRule rule, int t, double eta, double clipScale)
        {
            Kind = rule.Kind;
            First = t == 1;
            Clip = clipScale < 1.0;
            Decay = rule.WeightDecay != 0.0;
            Centered = rule.Centered;
            RmsMomentum = rule.Momentum > 0.0;
            AdamWDecay = rule.Kind == OptimizerKind.AdamW && rule.DecoupledDecay != 0.0;
            Eta = Vector256.Create(eta);
            ClipScale = Vector256.Create(clipScale);
            WeightDecay = Vector256.Create(rule.WeightDecay);
            Mu = Vector256.Create(rule.Momentum);
            OneMinusTau = Vector256.Create(1.0 - rule.Dampening);
            Alpha = Vector256.Create(rule.Alpha);
            OneMinusAlpha = Vector256.Create(1.0 - rule.Alpha);
            Eps = Vector256.Create(rule.Epsilon);
            B1 = Vector256.Create(rule.Beta1);
            OneMinusB1 = Vector256.Create(1.0 - rule.Beta1);
            B2 = Vector256.Create(rule.Beta2);
            OneMinusB2 = Vector256.Create(1.0 - rule.Beta2);
            Bc2 = Vector256.Create(Math.Sqrt(1.0 - Math.Pow(rule.Beta2, t)));
            StepSize = Vector256.Create(eta / (1.0 - Math.Pow(rule.Beta1, t)));
            DecoupledFactor = Vector256.Create(1.0 - eta * rule.DecoupledDecay);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Load<T>(T* p, out Vector256<double> lo, out Vector256<double> hi) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) { lo = Vector256.Load((double*)p); hi = Vector256.Load((double*)p + 4); }
        else (lo, hi) = Vector256.Widen(Vector256.Load((float*)p));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* p, Vector256<double> lo, Vector256<double> hi) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) { lo.Store((double*)p); hi.Store((double*)p + 4); }
        else Vector256.Narrow(lo, hi).Store((float*)p);
    }

    /// <summary>x rounded to T (to the nearest float for float32; x itself for double).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> R<T>(Vector256<double> x) where T : unmanaged
        => typeof(T) == typeof(double) ? x : Vector256.WidenLower(Vector256.Narrow(x, x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block<T>(in Constants c, T* pt, T* pg, T* pv, T* pm, T* ps) where T : unmanaged
    {
        if (Simd.Use512)
        {
            Block512<T>(in c, pt, pg, pv, pm, ps);
            return;
        }
        Load(pt, out var t0, out var t1);
        Load(pg, out var g0, out var g1);
        Vector256<double> v0 = default, v1 = default, m0 = default, m1 = default, s0 = default, s1 = default;
        if (pv != null) Load(pv, out v0, out v1);
        if (pm != null) Load(pm, out m0, out m1);
        if (ps != null) Load(ps, out s0, out s1);
        t0 = Lane<T>(in c, t0, g0, ref v0, ref m0, ref s0);
        t1 = Lane<T>(in c, t1, g1, ref v1, ref m1, ref s1);
        Store(pt, t0, t1);
        if (pv != null) Store(pv, v0, v1);
        if (pm != null) Store(pm, m0, m1);
        if (ps != null) Store(ps, s0, s1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Load512<T>(T* p) where T : unmanaged
        => typeof(T) == typeof(double) ? Vector512.Load((double*)p) : Avx512F.ConvertToVector512Double(Vector256.Load((float*)p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512<T>(T* p, Vector512<double> x) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) x.Store((double*)p);
        else Avx512F.ConvertToVector256Single(x).Store((float*)p);
    }

    /// <summary>x rounded to T (one conversion to float and back for float32; x itself for double).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> R512<T>(Vector512<double> x) where T : unmanaged
        => typeof(T) == typeof(double) ? x : Avx512F.ConvertToVector512Double(Avx512F.ConvertToVector256Single(x));

    /// <summary>
    /// x rounded to T and stored at p; returns the rounded value. For float32 the value is narrowed
    /// once, for both the store and the widened result (a rounding then a store would narrow twice).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> RoundStore512<T>(T* p, Vector512<double> x) where T : unmanaged
    {
        if (typeof(T) == typeof(double))
        {
            x.Store((double*)p);
            return x;
        }
        var f = Avx512F.ConvertToVector256Single(x);
        f.Store((float*)p);
        return Avx512F.ConvertToVector512Double(f);
    }

    /// <summary>
    /// Eight elements at once in 512-bit vectors (where they are accelerated): the same operations
    /// in the same order as <see cref="Lane{T}"/>, each one correctly rounded in double at any
    /// width, so the bits are those of the 256-bit path; half the instructions, and for float32 one
    /// conversion per rounding that is stored (the new parameter is stored without being widened
    /// again: narrowing x is the same as rounding x to float and storing it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block512<T>(in Constants c, T* pt, T* pg, T* pv, T* pm, T* ps) where T : unmanaged
    {
        var theta = Load512(pt);
        var g = Load512(pg);
        if (c.Clip) g = R512<T>(g * Vector512.Create(c.ClipScale.ToScalar()));
        if (c.Decay) g = R512<T>(g + Vector512.Create(c.WeightDecay.ToScalar()) * theta);
        var eta = Vector512.Create(c.Eta.ToScalar());
        switch (c.Kind)
        {
            case OptimizerKind.Sgd:
                theta -= eta * g;
                break;
            case OptimizerKind.Momentum:
            {
                var v = c.First ? RoundStore512(pv, g) : RoundStore512(pv, Vector512.Create(c.Mu.ToScalar()) * Load512(pv) + Vector512.Create(c.OneMinusTau.ToScalar()) * g);
                theta -= eta * v;
                break;
            }
            case OptimizerKind.Nesterov:
            {
                var mu = Vector512.Create(c.Mu.ToScalar());
                var v = c.First ? RoundStore512(pv, g) : RoundStore512(pv, mu * Load512(pv) + g);
                theta -= eta * (g + mu * v);
                break;
            }
            case OptimizerKind.AdaGrad:
            {
                var sq = RoundStore512(ps, Load512(ps) + g * g);
                theta -= eta * (g / (Vector512.Sqrt(sq) + Vector512.Create(c.Eps.ToScalar())));
                break;
            }
            case OptimizerKind.RMSProp:
            {
                var alpha = Vector512.Create(c.Alpha.ToScalar());
                var oneMinusAlpha = Vector512.Create(c.OneMinusAlpha.ToScalar());
                var sq = RoundStore512(ps, alpha * Load512(ps) + oneMinusAlpha * g * g);
                Vector512<double> d;
                if (c.Centered)
                {
                    var m = RoundStore512(pm, alpha * Load512(pm) + oneMinusAlpha * g);
                    d = Vector512.Sqrt(sq - m * m) + Vector512.Create(c.Eps.ToScalar());
                }
                else d = Vector512.Sqrt(sq) + Vector512.Create(c.Eps.ToScalar());
                if (c.RmsMomentum)
                {
                    var v = RoundStore512(pv, Vector512.Create(c.Mu.ToScalar()) * Load512(pv) + g / d);
                    theta -= eta * v;
                }
                else theta -= eta * (g / d);
                break;
            }
            default:
            {
                if (c.AdamWDecay) theta = R512<T>(theta * Vector512.Create(c.DecoupledFactor.ToScalar()));
                var m = RoundStore512(pm, Vector512.Create(c.B1.ToScalar()) * Load512(pm) + Vector512.Create(c.OneMinusB1.ToScalar()) * g);
                var sq = RoundStore512(ps, Vector512.Create(c.B2.ToScalar()) * Load512(ps) + Vector512.Create(c.OneMinusB2.ToScalar()) * g * g);
                theta -= Vector512.Create(c.StepSize.ToScalar()) * (m / (Vector512.Sqrt(sq) / Vector512.Create(c.Bc2.ToScalar()) + Vector512.Create(c.Eps.ToScalar())));
                break;
            }
        }
        // Rounded to T by the store.
        Store512(pt, theta);
    }

    /// <summary>Four elements of the core's Optimizer.stepIn; returns the new parameters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Lane<T>(in Constants c, Vector256<double> theta, Vector256<double> g,
                                             ref Vector256<double> v, ref Vector256<double> m, ref Vector256<double> s) where T : unmanaged
    {
        if (c.Clip) g = R<T>(g * c.ClipScale);
        if (c.Decay) g = R<T>(g + c.WeightDecay * theta);
        switch (c.Kind)
        {
            case OptimizerKind.Sgd:
                return R<T>(theta - c.Eta * g);
            case OptimizerKind.Momentum:
                v = c.First ? g : R<T>(c.Mu * v + c.OneMinusTau * g);
                return R<T>(theta - c.Eta * v);
            case OptimizerKind.Nesterov:
                v = c.First ? g : R<T>(c.Mu * v + g);
                return R<T>(theta - c.Eta * (g + c.Mu * v));
            case OptimizerKind.AdaGrad:
                s = R<T>(s + g * g);
                return R<T>(theta - c.Eta * (g / (Vector256.Sqrt(s) + c.Eps)));
            case OptimizerKind.RMSProp:
            {
                s = R<T>(c.Alpha * s + c.OneMinusAlpha * g * g);
                if (c.Centered) m = R<T>(c.Alpha * m + c.OneMinusAlpha * g);
                var d = (c.Centered ? Vector256.Sqrt(s - m * m) : Vector256.Sqrt(s)) + c.Eps;
                if (c.RmsMomentum)
                {
                    v = R<T>(c.Mu * v + g / d);
                    return R<T>(theta - c.Eta * v);
                }
                return R<T>(theta - c.Eta * (g / d));
            }
            default:
            {
                if (c.AdamWDecay) theta = R<T>(theta * c.DecoupledFactor);
                m = R<T>(c.B1 * m + c.OneMinusB1 * g);
                s = R<T>(c.B2 * s + c.OneMinusB2 * g * g);
                return R<T>(theta - c.StepSize * (m / (Vector256.Sqrt(s) / c.Bc2 + c.Eps)));
            }
        }
    }
}
