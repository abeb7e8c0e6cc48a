using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Functional.NN.Kernels;

/// <summary>Reductions and updates on row-major blocks.</summary>
public static class Reductions
{
    /// <summary>
    /// sums[j] &lt;- alpha sum_i x[i, j] + beta sums[j] over a rows x cols block (the bias gradient
    /// when alpha = 1, beta = 0; an SGD bias step when alpha = -rate, beta = 1). When beta is 0,
    /// sums is not read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ColumnSums<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> sums, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"rows = {rows}, cols = {cols} must be >= 0.");
        if (x.Length < (long)rows * cols) throw new ArgumentException($"x has {x.Length} elements; {rows} x {cols} needs {(long)rows * cols}.", nameof(x));
        if (sums.Length < cols) throw new ArgumentException($"sums has {sums.Length} elements; {cols} columns need {cols}.", nameof(sums));
        int j = 0;
        if (Simd.Use512)
        {
            int w = Vector512<T>.Count;
            var va = Vector512.Create(alpha);
            var vb = Vector512.Create(beta);
            // Four vectors of columns at a time, down all rows.
            for (; j <= cols - 4 * w; j += 4 * w)
            {
                Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int i = 0; i < rows; i++)
                {
                    ReadOnlySpan<T> r = x.Slice(i * cols + j, 4 * w);
                    s0 += Vector512.Create<T>(r);
                    s1 += Vector512.Create<T>(r.Slice(w));
                    s2 += Vector512.Create<T>(r.Slice(2 * w));
                    s3 += Vector512.Create<T>(r.Slice(3 * w));
                }
                Put(sums.Slice(j), s0 * va, vb, beta);
                Put(sums.Slice(j + w), s1 * va, vb, beta);
                Put(sums.Slice(j + 2 * w), s2 * va, vb, beta);
                Put(sums.Slice(j + 3 * w), s3 * va, vb, beta);
            }
            for (; j <= cols - w; j += w)
            {
                Vector512<T> s0 = default;
                for (int i = 0; i < rows; i++) s0 += Vector512.Create<T>(x.Slice(i * cols + j, w));
                Put(sums.Slice(j), s0 * va, vb, beta);
            }
        }
        for (; j < cols; j++)
        {
            T s = T.Zero;
            for (int i = 0; i < rows; i++) s += x[i * cols + j];
            sums[j] = beta == T.Zero ? alpha * s : alpha * s + beta * sums[j];
        }
    }

    private static void Put<T>(Span<T> dst, Vector512<T> v, Vector512<T> vb, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta != T.Zero) v += vb * Vector512.Create<T>(dst);
        v.CopyTo(dst);
    }

    /// <summary>y[i] &lt;- alpha x[i] + y[i] (an SGD step when alpha = -rate).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy<T>(T alpha, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        if (y.Length < x.Length) throw new ArgumentException($"y has {y.Length} elements; x has {x.Length}.", nameof(y));
        int j = 0, n = x.Length;
        if (Simd.Use512)
        {
            int w = Vector512<T>.Count;
            var va = Vector512.Create(alpha);
            for (; j <= n - w; j += w)
                Simd.Fma512(va, Vector512.Create<T>(x.Slice(j)), Vector512.Create<T>(y.Slice(j))).CopyTo(y.Slice(j));
        }
        for (; j < n; j++) y[j] = T.FusedMultiplyAdd(alpha, x[j], y[j]);
    }
}
