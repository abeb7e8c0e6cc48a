using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Functional.NN.Kernels;

/// <summary>
/// Generic SIMD helpers over <c>float</c> and <c>double</c>. Each branch on <c>typeof(T)</c> is a
/// JIT-time constant, so a call compiles to the one instruction of its element type.
/// </summary>
internal static class Simd
{
    /// <summary>True when 512-bit vectors with FMA are fast on this machine (AVX-512F).</summary>
    public static readonly bool Use512 = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>True when 256-bit vectors with FMA are fast on this machine (AVX2 + FMA3).</summary>
    public static readonly bool Use256 = Vector256.IsHardwareAccelerated && Fma.IsSupported;

    /// <summary>Throws unless T is float or double.</summary>
    public static void CheckType<T>()
    {
        if (typeof(T) != typeof(double) && typeof(T) != typeof(float))
            throw new NotSupportedException($"Functional.NN kernels support float and double, not {typeof(T).Name}.");
    }

    /// <summary>a * b + c in 512 bits, fused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma512<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(double))
            return Avx512F.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return Avx512F.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
    }

    /// <summary>a * b + c in 256 bits, fused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fma256<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(double))
            return Fma.MultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return Fma.MultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
    }

    /// <summary>
    /// e^x element-wise, 512 bits: x = k ln2 + r with |r| &lt;= ln2/2 (Cody-Waite), e^r by its
    /// Taylor polynomial (degree 12 for double, 7 for float: error below 2e-16 and 3e-9 relative),
    /// then scaled by 2^k with vscalef, which gives 0 and infinity past the ends of the range.
    /// (The runtime's Vector512.Exp is several times slower here, and much slower still for
    /// arguments below -708.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp512<T>(Vector512<T> x)
    {
        if (typeof(T) == typeof(double)) return ExpDouble(x.AsDouble()).As<double, T>();
        return ExpSingle(x.AsSingle()).As<float, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ExpDouble(Vector512<double> x)
    {
        var (k, r) = ReduceDouble(Vector512.Min(Vector512.Max(x, Vector512.Create(-760.0)), Vector512.Create(720.0)));
        var p = Vector512.Create(1.0 / 479001600.0);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 39916800.0));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 3628800.0));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 362880.0));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 40320.0));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 5040.0));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 720.0));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 120.0));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 24.0));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 6.0));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(0.5));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<double>.One);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<double>.One);
        return Avx512F.Scale(p, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpSingle(Vector512<float> x)
    {
        var (k, r) = ReduceSingle(Vector512.Min(Vector512.Max(x, Vector512.Create(-110.0f)), Vector512.Create(100.0f)));
        var p = Vector512.Create(1.0f / 5040.0f);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 720.0f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 120.0f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 24.0f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 6.0f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        return Avx512F.Scale(p, k);
    }

    /// <summary>
    /// e^x - 1 element-wise for x &lt;= 0 (or NaN), 512 bits, accurate relative to its value down to
    /// x = 0 and subnormal x: as <see cref="Exp512{T}"/>, x = k ln2 + r, but e^r - 1 = r q(r) with q
    /// the Taylor polynomial of (e^r - 1)/r (degree 12 for double, 7 for float: truncation error
    /// below 2e-17 and 6e-10 relative for |r| &lt;= ln2/2), then e^x - 1 = 2^k (r q) + (2^k - 1),
    /// one rounding (none for k = 0), without cancellation (for k /= 0 the result is below -0.29).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Expm1Negative512<T>(Vector512<T> x)
    {
        if (typeof(T) == typeof(double)) return Expm1NegativeDouble(x.AsDouble()).As<double, T>();
        return Expm1NegativeSingle(x.AsSingle()).As<float, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Expm1NegativeDouble(Vector512<double> x)
    {
        var (k, r) = ReduceDouble(Vector512.Max(x, Vector512.Create(-760.0)));
        var q = Vector512.Create(1.0 / 6227020800.0);
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0 / 479001600.0));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0 / 39916800.0));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0 / 3628800.0));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0 / 362880.0));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0 / 40320.0));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0 / 5040.0));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0 / 720.0));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0 / 120.0));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0 / 24.0));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0 / 6.0));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(0.5));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512<double>.One);
        var two = Avx512F.Scale(Vector512<double>.One, k);
        return Avx512F.FusedMultiplyAdd(r * q, two, two - Vector512<double>.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Expm1NegativeSingle(Vector512<float> x)
    {
        var (k, r) = ReduceSingle(Vector512.Max(x, Vector512.Create(-110.0f)));
        var q = Vector512.Create(1.0f / 40320.0f);
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0f / 5040.0f));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0f / 720.0f));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0f / 120.0f));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0f / 24.0f));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(1.0f / 6.0f));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512.Create(0.5f));
        q = Avx512F.FusedMultiplyAdd(q, r, Vector512<float>.One);
        var two = Avx512F.Scale(Vector512<float>.One, k);
        return Avx512F.FusedMultiplyAdd(r * q, two, two - Vector512<float>.One);
    }

    /// <summary>The range reduction of exp and expm1 (double): x = k ln2 + r, k = round(x / ln2), |r| &lt;= ln2/2,
    /// with ln2 in two parts (Cody-Waite) so that r is exact to well below its rounding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<double> K, Vector512<double> R) ReduceDouble(Vector512<double> x)
    {
        var k = Avx512F.RoundScale(x * Vector512.Create(1.4426950408889634), 0);
        var r = Avx512F.FusedMultiplyAdd(k, Vector512.Create(-6.93147180369123816490e-01), x);
        return (k, Avx512F.FusedMultiplyAdd(k, Vector512.Create(-1.90821492927058770002e-10), r));
    }

    /// <summary>The same reduction for float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> K, Vector512<float> R) ReduceSingle(Vector512<float> x)
    {
        var k = Avx512F.RoundScale(x * Vector512.Create(1.44269504f), 0);
        var r = Avx512F.FusedMultiplyAdd(k, Vector512.Create(-0.693359375f), x);
        return (k, Avx512F.FusedMultiplyAdd(k, Vector512.Create(2.12194440e-4f), r));
    }

    /// <summary>Natural logarithm element-wise, 512 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log512<T>(Vector512<T> x)
    {
        if (typeof(T) == typeof(double)) return Vector512.Log(x.AsDouble()).As<double, T>();
        return Vector512.Log(x.AsSingle()).As<float, T>();
    }
}
