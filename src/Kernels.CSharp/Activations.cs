using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Functional.NN.Kernels;

/// <summary>
/// The element-wise activations the kernels fuse (the core's differentiable ones). Every one keeps
/// NaN (s(NaN) = NaN) in the vector path and the scalar path alike (<see cref="Formulas.Activate"/>).
/// </summary>
public enum ActivationKind
{
    /// <summary>s(z) = z.</summary>
    Identity,
    /// <summary>s(z) = 1 / (1 + e^-z); s' = a (1 - a) from the output a.</summary>
    Sigmoid,
    /// <summary>
    /// s(z) = tanh z; s' = 1 - a^2 from the output a, computed as (1 - a)(1 + a) (exact first factor
    /// for |a| &gt;= 1/2, so accurate relative to its small value near |a| = 1).
    /// </summary>
    Tanh,
    /// <summary>
    /// s(z) = max(0, z), keeping NaN (s(NaN) = NaN, as torch.relu); s' = 1 where z &gt; 0
    /// (equivalently a &gt; 0), else 0 (also at NaN).
    /// </summary>
    ReLU,
    /// <summary>s(z) = z for z &gt; 0, slope z otherwise; s' = 1 or slope.</summary>
    LeakyReLU,
    /// <summary>s(z) = log(1 + e^z) without overflow; s' = sigmoid(z), from z.</summary>
    Softplus,
    /// <summary>
    /// The unit step (note 003's binary step): s(z) = 1 for z &gt;= 0, NaN for NaN, else 0; s' = 0. The formulas know it
    /// (<see cref="Formulas"/>), the fused kernels do not (nothing can be trained through it).
    /// </summary>
    Step,
}

/// <summary>
/// Fused element-wise passes of a dense layer on row-major n x d blocks: bias add with activation,
/// and multiplication of a gradient by the activation's derivative.
/// </summary>
public static class Activations
{
    /// <summary>
    /// True when s'(z) can be computed from the output a = s(z) alone (identity, sigmoid, tanh,
    /// ReLU, leaky ReLU with slope &gt;= 0), so a layer need not keep its pre-activation.
    /// </summary>
    public static bool DerivativeFromOutput(ActivationKind kind, double slope = 0.01) => kind switch
    {
        ActivationKind.Softplus => false,
        ActivationKind.LeakyReLU => slope >= 0,
        _ => true,
    };

    /// <summary>
    /// In place on a rows x cols block: x[i, j] &lt;- s(x[i, j] + bias[j]). An empty bias adds nothing.
    /// </summary>
    public static void BiasActivate<T>(Span<T> x, int rows, int cols, ReadOnlySpan<T> bias, ActivationKind kind, T slope)
        where T : unmanaged, IFloatingPointIeee754<T>
        => BiasActivate(x, x, rows, cols, bias, kind, slope);

    /// <summary>
    /// On a rows x cols block: z[i, j] &lt;- z[i, j] + bias[j] (kept, the pre-activation) and
    /// a[i, j] &lt;- s(z[i, j]). <paramref name="a"/> may be the same memory as <paramref name="z"/>
    /// (then only the activation is kept). An empty bias adds nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BiasActivate<T>(Span<T> z, Span<T> a, int rows, int cols, ReadOnlySpan<T> bias, ActivationKind kind, T slope)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        long count = (long)rows * cols;
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"rows = {rows}, cols = {cols} must be >= 0.");
        if (z.Length < count) throw new ArgumentException($"z has {z.Length} elements; {rows} x {cols} needs {count}.", nameof(z));
        if (a.Length < count) throw new ArgumentException($"a has {a.Length} elements; {rows} x {cols} needs {count}.", nameof(a));
        if (!bias.IsEmpty && bias.Length < cols) throw new ArgumentException($"bias has {bias.Length} elements; {cols} columns need {cols}.", nameof(bias));
        if (count == 0) return;
        if (kind is < ActivationKind.Identity or > ActivationKind.Softplus)
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation.");
        bool writeZ = !Unsafe.AreSame(ref MemoryMarshal.GetReference(z), ref MemoryMarshal.GetReference(a));
        unsafe
        {
            fixed (T* pz = z)
            fixed (T* pa = a)
            fixed (T* pb = bias)
            {
                T* b = bias.IsEmpty ? null : pb;
                switch (kind)
                {
                    case ActivationKind.Identity: Rows<T, Identity<T>>(pz, pa, b, rows, cols, writeZ, kind, slope); break;
                    case ActivationKind.Sigmoid: Rows<T, Sigmoid<T>>(pz, pa, b, rows, cols, writeZ, kind, slope); break;
                    case ActivationKind.Tanh: Rows<T, Tanh<T>>(pz, pa, b, rows, cols, writeZ, kind, slope); break;
                    case ActivationKind.ReLU: Rows<T, Relu<T>>(pz, pa, b, rows, cols, writeZ, kind, slope); break;
                    case ActivationKind.LeakyReLU: Rows<T, Leaky<T>>(pz, pa, b, rows, cols, writeZ, kind, slope); break;
                    default: Rows<T, Softplus<T>>(pz, pa, b, rows, cols, writeZ, kind, slope); break;
                }
            }
        }
    }

    /// <summary>
    /// On a rows x cols block: a[i, j] &lt;- s(z[i, j]), z only read (an activation block on its own).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply<T>(ReadOnlySpan<T> z, Span<T> a, int rows, int cols, ActivationKind kind, T slope)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        long count = (long)rows * cols;
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"rows = {rows}, cols = {cols} must be >= 0.");
        if (z.Length < count) throw new ArgumentException($"z has {z.Length} elements; {rows} x {cols} needs {count}.", nameof(z));
        if (a.Length < count) throw new ArgumentException($"a has {a.Length} elements; {rows} x {cols} needs {count}.", nameof(a));
        if (count == 0) return;
        unsafe
        {
            fixed (T* pz = z)
            fixed (T* pa = a)
            {
                switch (kind)
                {
                    case ActivationKind.Identity: Rows<T, Identity<T>>(pz, pa, null, rows, cols, false, kind, slope); break;
                    case ActivationKind.Sigmoid: Rows<T, Sigmoid<T>>(pz, pa, null, rows, cols, false, kind, slope); break;
                    case ActivationKind.Tanh: Rows<T, Tanh<T>>(pz, pa, null, rows, cols, false, kind, slope); break;
                    case ActivationKind.ReLU: Rows<T, Relu<T>>(pz, pa, null, rows, cols, false, kind, slope); break;
                    case ActivationKind.LeakyReLU: Rows<T, Leaky<T>>(pz, pa, null, rows, cols, false, kind, slope); break;
                    case ActivationKind.Softplus: Rows<T, Softplus<T>>(pz, pa, null, rows, cols, false, kind, slope); break;
                    default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation.");
                }
            }
        }
    }

    /// <summary>An activation as a vector function, so that one loop serves all (the JIT specialises per struct).</summary>
    private interface IVectorActivation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        static abstract Vector512<T> Apply(Vector512<T> z, Vector512<T> slope);
    }

    private struct Identity<T> : IVectorActivation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector512<T> Apply(Vector512<T> z, Vector512<T> slope) => z;
    }

    private struct Sigmoid<T> : IVectorActivation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector512<T> Apply(Vector512<T> z, Vector512<T> slope) => Sigmoid512(z);
    }

    private struct Tanh<T> : IVectorActivation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector512<T> Apply(Vector512<T> z, Vector512<T> slope) => Tanh512(z);
    }

    private struct Relu<T> : IVectorActivation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector512<T> Apply(Vector512<T> z, Vector512<T> slope) => Vector512.Max(z, Vector512<T>.Zero);
    }

    private struct Leaky<T> : IVectorActivation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector512<T> Apply(Vector512<T> z, Vector512<T> slope)
            => Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<T>.Zero), z, z * slope);
    }

    private struct Softplus<T> : IVectorActivation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector512<T> Apply(Vector512<T> z, Vector512<T> slope) => Softplus512(z);
    }

    /// <summary>Row by row: v = z + bias; z &lt;- v when writeZ; a &lt;- s(v). Scalar for the tail of a row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Rows<T, TAct>(T* z, T* a, T* bias, int rows, int cols, bool writeZ, ActivationKind kind, T slope)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TAct : struct, IVectorActivation<T>
    {
        int w = Vector512<T>.Count;
        var vs = Vector512.Create(slope);
        bool vector = Simd.Use512;
        for (int i = 0; i < rows; i++)
        {
            T* zr = z + (nint)i * cols;
            T* ar = a + (nint)i * cols;
            int j = 0;
            if (vector)
            {
                for (; j <= cols - w; j += w)
                {
                    var v = Vector512.Load(zr + j);
                    if (bias != null) v += Vector512.Load(bias + j);
                    if (writeZ) Vector512.Store(v, zr + j);
                    Vector512.Store(TAct.Apply(v, vs), ar + j);
                }
            }
            for (; j < cols; j++)
            {
                T v = bias != null ? zr[j] + bias[j] : zr[j];
                if (writeZ) zr[j] = v;
                ar[j] = Value(kind, slope, v);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> Sigmoid512<T>(Vector512<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // e = e^-|z| in (0, 1]: 1/(1+e) for z >= 0, e/(1+e) for z < 0; no overflow.
        var e = Simd.Exp512(-Vector512.Abs(z));
        var inv = Vector512<T>.One / (Vector512<T>.One + e);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(z, Vector512<T>.Zero), inv, e * inv);
    }

    /// <summary>
    /// tanh element-wise, accurate relative to its value down to 0 and subnormals:
    /// tanh|z| = -m / (2 + m) with m = e^-2|z| - 1 in (-1, 0] (<see cref="Simd.Expm1Negative512"/>,
    /// accurate relative to m), so nothing cancels (the form (1 - t)/(1 + t), t = e^-2|z|, loses
    /// 1 - t near 0: tanh(1e-8) was 0 in float). The sign is put back, so -0 gives -0, NaN gives NaN
    /// and +-infinity +-1. (A per-lane select of Cephes' odd polynomial below |z| = 0.625 is as
    /// accurate but computes both branches: 30 % slower over 1M elements on an AVX-512 machine, where
    /// this form is as fast as the old one.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> Tanh512<T>(Vector512<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var az = Vector512.Abs(z);
        var m = Simd.Expm1Negative512(-(az + az));
        var r = m / (Vector512.Create(-T.One - T.One) - m);
        return Vector512.CopySign(r, z);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> Softplus512<T>(Vector512<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Formulas.Softplus, vectorised: max(z, 0) + log1p(e^-|z|), with log1p(e) = log(u) e / (u - 1)
        // for u = 1 + e (e where u rounds to 1), so that e^z is not lost for very negative z.
        var e = Simd.Exp512(-Vector512.Abs(z));
        var u = Vector512<T>.One + e;
        var l = Vector512.ConditionalSelect(Vector512.Equals(u, Vector512<T>.One), e, Simd.Log512(u) * e / (u - Vector512<T>.One));
        return Vector512.Max(z, Vector512<T>.Zero) + l;
    }

    /// <summary>s(z) for one value (the scalar path and the tails of rows): <see cref="Formulas.Activate"/>.</summary>
    public static T Value<T>(ActivationKind kind, T slope, T z) where T : unmanaged, IFloatingPointIeee754<T>
        => Formulas.Activate(kind, slope, z);

    /// <summary>
    /// In place: g[i] &lt;- g[i] s'(z[i]), the backward pass through the activation. Uses the output
    /// <paramref name="a"/> where that is cheaper or enough (sigmoid, tanh, ReLU, leaky ReLU with
    /// slope &gt;= 0) and the pre-activation <paramref name="z"/> otherwise (softplus, leaky ReLU
    /// with a negative slope); the one not needed may be empty.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyByDerivative<T>(Span<T> g, ReadOnlySpan<T> a, ReadOnlySpan<T> z, ActivationKind kind, T slope)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        int n = g.Length;
        bool fromOutput = DerivativeFromOutput(kind, double.CreateTruncating(slope));
        if (kind == ActivationKind.Identity) return;
        if (fromOutput && a.Length < n) throw new ArgumentException($"a has {a.Length} elements; g has {n}.", nameof(a));
        if (!fromOutput && z.Length < n) throw new ArgumentException($"z has {z.Length} elements; g has {n}; {kind} needs the pre-activation.", nameof(z));
        int j = 0;
        if (Simd.Use512)
        {
            int w = Vector512<T>.Count;
            unsafe
            {
                fixed (T* pg = g)
                fixed (T* pa = a)
                fixed (T* pz = z)
                {
                    switch (kind)
                    {
                        case ActivationKind.Sigmoid:
                            for (; j <= n - w; j += w)
                            {
                                var av = Vector512.Load(pa + j);
                                Vector512.Store(Vector512.Load(pg + j) * (av * (Vector512<T>.One - av)), pg + j);
                            }
                            break;
                        case ActivationKind.Tanh:
                            for (; j <= n - w; j += w)
                            {
                                var av = Vector512.Load(pa + j);
                                Vector512.Store(Vector512.Load(pg + j) * ((Vector512<T>.One - av) * (Vector512<T>.One + av)), pg + j);
                            }
                            break;
                        case ActivationKind.ReLU:
                            for (; j <= n - w; j += w)
                                Vector512.Store(Vector512.Load(pg + j) & Vector512.GreaterThan(Vector512.Load(pa + j), Vector512<T>.Zero), pg + j);
                            break;
                        case ActivationKind.LeakyReLU:
                        {
                            var s = Vector512.Create(slope);
                            T* src = fromOutput ? pa : pz;
                            for (; j <= n - w; j += w)
                            {
                                var gv = Vector512.Load(pg + j);
                                var pos = Vector512.GreaterThan(Vector512.Load(src + j), Vector512<T>.Zero);
                                Vector512.Store(Vector512.ConditionalSelect(pos, gv, gv * s), pg + j);
                            }
                            break;
                        }
                        case ActivationKind.Softplus:
                            for (; j <= n - w; j += w)
                                Vector512.Store(Vector512.Load(pg + j) * Sigmoid512(Vector512.Load(pz + j)), pg + j);
                            break;
                        default:
                            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation.");
                    }
                }
            }
        }
        for (; j < n; j++)
            g[j] *= Derivative(kind, slope, fromOutput ? T.Zero : z[j], fromOutput ? a[j] : T.Zero);
    }

    /// <summary>
    /// s'(z) for one value (<see cref="Formulas.Derivative"/>), from the output a where
    /// <see cref="DerivativeFromOutput"/> holds: for ReLU and a leaky ReLU with slope &gt;= 0,
    /// a &gt; 0 exactly where z &gt; 0, so a stands in for z.
    /// </summary>
    private static T Derivative<T>(ActivationKind kind, T slope, T z, T a) where T : unmanaged, IFloatingPointIeee754<T>
        => kind is ActivationKind.ReLU || (kind is ActivationKind.LeakyReLU && slope >= T.Zero)
            ? Formulas.Derivative(kind, slope, a, a)
            : Formulas.Derivative(kind, slope, z, a);
}
