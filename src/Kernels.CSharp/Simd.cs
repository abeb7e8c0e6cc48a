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

    /// <summary>Converts a double constant to T.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Of<T>(double x)
    {
        if (typeof(T) == typeof(double)) return (T)(object)x;
        return (T)(object)(float)x;
    }

    /// <summary>Converts T to double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double ToDouble<T>(T x)
    {
        if (typeof(T) == typeof(double)) return (double)(object)x!;
        return (float)(object)x!;
    }

    /// <summary>Scalar a * b + c, fused where the hardware has it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T FmaScalar<T>(T a, T b, T c)
    {
        if (typeof(T) == typeof(double))
            return (T)(object)Math.FusedMultiplyAdd((double)(object)a!, (double)(object)b!, (double)(object)c!);
        return (T)(object)MathF.FusedMultiplyAdd((float)(object)a!, (float)(object)b!, (float)(object)c!);
    }

    /// <summary>e^x element-wise, 512 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp512<T>(Vector512<T> x)
    {
        if (typeof(T) == typeof(double)) return Vector512.Exp(x.AsDouble()).As<double, T>();
        return Vector512.Exp(x.AsSingle()).As<float, T>();
    }

    /// <summary>Natural logarithm element-wise, 512 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log512<T>(Vector512<T> x)
    {
        if (typeof(T) == typeof(double)) return Vector512.Log(x.AsDouble()).As<double, T>();
        return Vector512.Log(x.AsSingle()).As<float, T>();
    }
}
