using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Functional.NN.Kernels;

/// <summary>
/// Conversions between the core's layout (MathNet's column-major double storage) and the kernels'
/// (row-major, in the element type), split over the worker pool. Each value is converted on its
/// own (rounded to nearest for float), so the result does not depend on the split.
/// </summary>
public static unsafe class Layout
{
    private const int Tile = 16;

    /// <summary>The rows of a band the 512-bit path converts across all columns before the next (4 cache lines of each column).</summary>
    private const int Band512 = 32;

    /// <summary>
    /// dst[i] = src[i] rounded to T (to the nearest float32; copied for double), sixteen at a time
    /// where 512-bit vectors are accelerated (the same rounding as one by one). dst must hold
    /// src.Length values. Returns whether every |src[i]| is at most T's largest finite value (false
    /// for a NaN, an infinity or a value beyond float32's range), checked in the same pass: every
    /// value is converted either way, and the caller reports a bad one.
    /// </summary>
    public static bool Round<T>(ReadOnlySpan<double> src, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (dst.Length < src.Length) throw new ArgumentException($"dst has {dst.Length} values; src has {src.Length}.", nameof(dst));
        double largest = double.CreateTruncating(Largest<T>());
        fixed (double* ps = src)
        fixed (T* pd = dst)
        {
            int n = src.Length, i = 0;
            bool ok = true;
            if (typeof(T) == typeof(float) && Simd.Use512)
            {
                var bound = Vector512.Create(largest);
                var within = Vector512<double>.AllBitsSet;
                for (; i + 16 <= n; i += 16)
                {
                    Vector512<double> a = Vector512.Load(ps + i), b = Vector512.Load(ps + i + 8);
                    // A comparison with NaN is false, so NaN fails it too.
                    within &= Vector512.LessThanOrEqual(Vector512.Abs(a), bound) & Vector512.LessThanOrEqual(Vector512.Abs(b), bound);
                    Vector512.Narrow(a, b).Store((float*)pd + i);
                }
                ok = Vector512.EqualsAll(within.AsUInt64(), Vector512<ulong>.AllBitsSet);
            }
            for (; i < n; i++)
            {
                if (!(Math.Abs(ps[i]) <= largest)) ok = false;
                pd[i] = T.CreateTruncating(ps[i]);
            }
            return ok;
        }
    }

    /// <summary>
    /// Whether every value is finite: <see cref="AllAbsAtMost{T}(ReadOnlySpan{T}, T)"/> with T's
    /// largest finite value as the limit (NaN and the infinities fail it). T is float or double.
    /// </summary>
    public static bool AllFinite<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
        => AllAbsAtMost(values, Largest<T>());

    /// <summary>The largest finite float or double (float's is exact as a double); throws for another T.</summary>
    private static T Largest<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        return T.CreateTruncating(typeof(T) == typeof(float) ? float.MaxValue : double.MaxValue);
    }

    /// <summary>
    /// Whether every |values[i]| is at most <paramref name="limit"/>; false for NaN (a comparison
    /// with NaN is false). One pass without branches: the comparisons of each vector (512 or 256
    /// bits where accelerated) are ANDed into one mask, tested once at the end.
    /// </summary>
    public static bool AllAbsAtMost<T>(ReadOnlySpan<T> values, T limit) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = values.Length, i = 0;
        bool ok = true;
        fixed (T* p = values)
        {
            if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            {
                var bound = Vector512.Create(limit);
                var within = Vector512<T>.AllBitsSet;
                for (; i + Vector512<T>.Count <= n; i += Vector512<T>.Count)
                    within &= Vector512.LessThanOrEqual(Vector512.Abs(Vector512.Load(p + i)), bound);
                ok = Vector512.EqualsAll(within.AsUInt64(), Vector512<ulong>.AllBitsSet);
            }
            else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            {
                var bound = Vector256.Create(limit);
                var within = Vector256<T>.AllBitsSet;
                for (; i + Vector256<T>.Count <= n; i += Vector256<T>.Count)
                    within &= Vector256.LessThanOrEqual(Vector256.Abs(Vector256.Load(p + i)), bound);
                ok = Vector256.EqualsAll(within.AsUInt64(), Vector256<ulong>.AllBitsSet);
            }
            for (; i < n; i++)
                if (!(T.Abs(p[i]) <= limit)) ok = false;
        }
        return ok;
    }

    /// <summary>
    /// dst[i] = src[i] as a double (exact), sixteen float32 values at a time where 512-bit vectors
    /// are accelerated. dst must hold src.Length values.
    /// </summary>
    public static void Widen<T>(ReadOnlySpan<T> src, Span<double> dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (dst.Length < src.Length) throw new ArgumentException($"dst has {dst.Length} values; src has {src.Length}.", nameof(dst));
        fixed (T* ps = src)
        fixed (double* pd = dst)
        {
            int n = src.Length, i = 0;
            if (typeof(T) == typeof(float) && Simd.Use512)
                for (; i + 16 <= n; i += 16)
                {
                    var (lo, hi) = Vector512.Widen(Vector512.Load((float*)ps + i));
                    lo.Store(pd + i);
                    hi.Store(pd + i + 8);
                }
            for (; i < n; i++) pd[i] = double.CreateTruncating(ps[i]);
        }
    }

    /// <summary>
    /// dst[i * cols + j] = (T)src[j * rows + i] for a rows x cols matrix: a column-major double array
    /// into a row-major T array, transposed in tiles so that reads and writes stay within a few cache
    /// lines, the rows split over the worker pool. Returns false when a converted value is NaN or
    /// infinite (a NaN, an infinity, or a double beyond float's range), or, for T = float, a value
    /// lies beyond float's largest value even where it rounds to it (the core's range rule); the
    /// caller then reports it, nothing is thrown here.
    /// </summary>
    public static bool ColumnMajorToRowMajor<T>(ReadOnlySpan<double> src, int rows, int cols, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"rows = {rows}, cols = {cols} must be >= 0.");
        long count = (long)rows * cols;
        if (src.Length < count) throw new ArgumentException($"src has {src.Length} values; {rows} x {cols} needs {count}.", nameof(src));
        if (dst.Length < count) throw new ArgumentException($"dst has {dst.Length} values; {rows} x {cols} needs {count}.", nameof(dst));
        if (count == 0) return true;
        fixed (double* ps = src)
        fixed (T* pd = dst)
        {
            var job = TransposeJob<T>.ForThisThread;
            job.Set(ps, pd, rows, cols);
            int blocks = (rows + Tile - 1) / Tile;
            int parts = count >= 1 << 16 ? Math.Min(WorkerPool.Threads, blocks) : 1;
            if (parts > 1) WorkerPool.Run(job, parts);
            else job.Execute(0, 1);
            bool ok = job.Finite;
            job.Clear();
            return ok;
        }
    }

    /// <summary>
    /// A 64-bit fingerprint of the values' bits, in order: in each half of the span, sixteen lanes
    /// (lane l reads the half's values l, l + 16, ...) each run h = xorshift((h ^ bits) * K) over
    /// their values, a bijection of h for each value, so a change of any one value always changes
    /// the result; the lanes, the values past the last whole block of 16, the halves and the length
    /// are then mixed in order. The two halves run on the worker pool for a large span (the split is
    /// fixed, so the result does not depend on the thread count). The same values give the same
    /// fingerprint on every machine (512-bit vectors, 256-bit vectors or none compute the same
    /// lanes), so it may be stored in a file. <see cref="PendingFingerprint"/> computes the same
    /// value in chunks.
    /// </summary>
    public static ulong Fingerprint(ReadOnlySpan<double> values)
    {
        if (values.IsEmpty) return FingerprintHalf.Combine(0, 0, 0);
        fixed (double* p = values)
        {
            var job = FingerprintJob.ForThisThread;
            job.Set(p, values.Length);
            if (values.Length >= PendingFingerprint.ParallelFrom && WorkerPool.Threads > 1) WorkerPool.Run(job, 2);
            else { job.Execute(0, 2); job.Execute(1, 2); }
            ulong h = FingerprintHalf.Combine(job.H0, job.H1, values.Length);
            job.Clear();
            return h;
        }
    }

    private sealed class FingerprintJob : IParallelJob
    {
        [ThreadStatic] private static FingerprintJob? t_job;
        public static FingerprintJob ForThisThread => t_job ??= new FingerprintJob();

        private double* _values;
        private long _count;
        public ulong H0, H1;

        public void Set(double* values, long count) { _values = values; _count = count; H0 = 0; H1 = 0; }
        public void Clear() => _values = null;

        public void Execute(int part, int parts)
        {
            var half = new FingerprintHalf(_count, part);
            half.Advance((ulong*)_values, long.MaxValue);
            if (part == 0) H0 = half.Result; else H1 = half.Result;
        }
    }

    /// <summary>
    /// dst row r = src row rows[r] (each row <paramref name="cols"/> values, row-major, no gaps):
    /// the rows of a shuffled batch gathered into one block, split over the worker pool when the
    /// block is large (each row is copied on its own, so the split changes nothing). Every index
    /// must be in 0 .. src.Length / cols - 1.
    /// </summary>
    public static void GatherRows<T>(ReadOnlySpan<T> src, int cols, ReadOnlySpan<int> rows, Span<T> dst) where T : unmanaged
    {
        if (cols < 0) throw new ArgumentOutOfRangeException(nameof(cols), cols, "cols must be >= 0.");
        long count = (long)rows.Length * cols;
        if (dst.Length < count) throw new ArgumentException($"dst has {dst.Length} values; {rows.Length} rows of {cols} need {count}.", nameof(dst));
        int srcRows = cols == 0 ? 0 : src.Length / cols;
        foreach (int r in rows)
            if ((uint)r >= (uint)srcRows) throw new ArgumentOutOfRangeException(nameof(rows), r, $"Row index {r} is outside 0 .. {srcRows - 1}.");
        if (count == 0) return;
        fixed (T* ps = src)
        fixed (T* pd = dst)
        fixed (int* pr = rows)
        {
            int parts = count * Unsafe.SizeOf<T>() >= 1 << 17 ? Math.Min(WorkerPool.Threads, rows.Length) : 1;
            if (parts > 1)
            {
                var job = GatherJob<T>.ForThisThread;
                job.Set(ps, pd, pr, rows.Length, cols);
                WorkerPool.Run(job, parts);
                job.Clear();
            }
            else Gather(ps, pd, pr, 0, rows.Length, cols);
        }
    }

    internal static void Gather<T>(T* src, T* dst, int* rows, int r0, int r1, int cols) where T : unmanaged
    {
        nint bytes = (nint)cols * Unsafe.SizeOf<T>();
        for (int r = r0; r < r1; r++)
            Buffer.MemoryCopy(src + (nint)rows[r] * cols, dst + (nint)r * cols, bytes, bytes);
    }

    private sealed class GatherJob<T> : IParallelJob where T : unmanaged
    {
        [ThreadStatic] private static GatherJob<T>? t_job;
        public static GatherJob<T> ForThisThread => t_job ??= new GatherJob<T>();

        private T* _src, _dst;
        private int* _rows;
        private int _count, _cols;

        public void Set(T* src, T* dst, int* rows, int count, int cols)
        {
            _src = src; _dst = dst; _rows = rows; _count = count; _cols = cols;
        }

        public void Clear() { _src = null; _dst = null; _rows = null; }

        public void Execute(int part, int parts)
        {
            int r0 = (int)((long)_count * part / parts), r1 = (int)((long)_count * (part + 1) / parts);
            Gather(_src, _dst, _rows, r0, r1, _cols);
        }
    }

    private sealed class TransposeJob<T> : IParallelJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <summary>For T = float: whether v lies beyond float's largest value (so beyond the network's
        /// range, even where it would round to that value); false for T = double.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool BeyondFloat(double v) => typeof(T) == typeof(float) && Math.Abs(v) > float.MaxValue;

        [ThreadStatic] private static TransposeJob<T>? t_job;
        public static TransposeJob<T> ForThisThread => t_job ??= new TransposeJob<T>();

        private double* _src;
        private T* _dst;
        private int _rows, _cols;
        private volatile bool _bad;

        public bool Finite => !_bad;

        public void Set(double* src, T* dst, int rows, int cols)
        {
            _src = src; _dst = dst; _rows = rows; _cols = cols; _bad = false;
        }

        public void Clear() { _src = null; _dst = null; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int part, int parts)
        {
            if (Simd.Use512)
            {
                Execute512(part, parts);
                return;
            }
            int blocks = (_rows + Tile - 1) / Tile;
            int b0 = (int)((long)blocks * part / parts), b1 = (int)((long)blocks * (part + 1) / parts);
            int rows = _rows, cols = _cols;
            double* src = _src;
            T* dst = _dst;
            bool bad = false;
            for (int i0 = b0 * Tile; i0 < Math.Min(rows, b1 * Tile); i0 += Tile)
            {
                int i1 = Math.Min(rows, i0 + Tile);
                for (int j0 = 0; j0 < cols; j0 += Tile)
                {
                    int j1 = Math.Min(cols, j0 + Tile);
                    for (int j = j0; j < j1; j++)
                    {
                        double* column = src + (nint)j * rows;
                        for (int i = i0; i < i1; i++)
                        {
                            // Not finite once converted (NaN, an infinity), or beyond float's largest value
                            // (which a value just beyond it would round to): the core's range rule.
                            T t = T.CreateTruncating(column[i]);
                            if (!T.IsFinite(t) || BeyondFloat(column[i])) bad = true;
                            dst[(nint)i * cols + j] = t;
                        }
                    }
                }
            }
            if (bad) _bad = true;
        }

        /// <summary>
        /// The part's rows (split as the scalar path splits them) in bands of <see cref="Band512"/>, each
        /// converted in blocks of 8 rows by 8 columns: eight 512-bit loads down eight columns, a
        /// transpose in registers, eight stores along eight rows (converted to float on the way for
        /// float). The rows and columns left over (past a multiple of 8) go one value at a time.
        /// Non-finite values are found by x - x, which is 0 exactly when x is finite.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Execute512(int part, int parts)
        {
            int blocks = (_rows + Tile - 1) / Tile;
            int b0 = (int)((long)blocks * part / parts), b1 = (int)((long)blocks * (part + 1) / parts);
            int rows = _rows, cols = _cols;
            int i0 = b0 * Tile, i1 = Math.Min(rows, b1 * Tile);
            if (i1 <= i0) return;
            double* src = _src;
            T* dst = _dst;
            bool bad = false;
            var acc = Vector512<double>.Zero;
            int fullCols = cols & ~7;
            for (int ib = i0; ib < i1; ib += Band512)
            {
                int ie = Math.Min(i1, ib + Band512);
                int fullEnd = ib + ((ie - ib) & ~7);
                for (int j0 = 0; j0 < fullCols; j0 += 8)
                    for (int i = ib; i < fullEnd; i += 8)
                        Block8x8(src + (nint)j0 * rows + i, rows, dst + (nint)i * cols + j0, cols, ref acc);
                // The columns past the last multiple of 8, and the rows past the last multiple of 8.
                for (int i = ib; i < ie; i++)
                {
                    int jStart = i < fullEnd ? fullCols : 0;
                    for (int j = jStart; j < cols; j++)
                    {
                        T t = T.CreateTruncating(src[(nint)j * rows + i]);
                        if (!T.IsFinite(t) || BeyondFloat(src[(nint)j * rows + i])) bad = true;
                        dst[(nint)i * cols + j] = t;
                    }
                }
            }
            if (bad || acc != Vector512<double>.Zero) _bad = true;
        }

        // Too large for the JIT to inline: compiled fully optimised at its first call, so that no
        // conversion runs it unoptimised (tier 0 makes each vector load a call) before it tiers up.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Block8x8(double* s, nint ld, T* d, nint ldd, ref Vector512<double> acc)
        {
            var r0 = Vector512.Load(s); var r1 = Vector512.Load(s + ld);
            var r2 = Vector512.Load(s + 2 * ld); var r3 = Vector512.Load(s + 3 * ld);
            var r4 = Vector512.Load(s + 4 * ld); var r5 = Vector512.Load(s + 5 * ld);
            var r6 = Vector512.Load(s + 6 * ld); var r7 = Vector512.Load(s + 7 * ld);
            // Row q of the block, as eight values of 8 columns: a 3-stage 8 x 8 transpose.
            var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1);
            var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
            var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5);
            var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
            var u0 = Avx512F.Shuffle4x128(t0, t2, 0x88); var u1 = Avx512F.Shuffle4x128(t1, t3, 0x88);
            var u2 = Avx512F.Shuffle4x128(t0, t2, 0xDD); var u3 = Avx512F.Shuffle4x128(t1, t3, 0xDD);
            var u4 = Avx512F.Shuffle4x128(t4, t6, 0x88); var u5 = Avx512F.Shuffle4x128(t5, t7, 0x88);
            var u6 = Avx512F.Shuffle4x128(t4, t6, 0xDD); var u7 = Avx512F.Shuffle4x128(t5, t7, 0xDD);
            r0 = Avx512F.Shuffle4x128(u0, u4, 0x88); r1 = Avx512F.Shuffle4x128(u1, u5, 0x88);
            r2 = Avx512F.Shuffle4x128(u2, u6, 0x88); r3 = Avx512F.Shuffle4x128(u3, u7, 0x88);
            r4 = Avx512F.Shuffle4x128(u0, u4, 0xDD); r5 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
            r6 = Avx512F.Shuffle4x128(u2, u6, 0xDD); r7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
            if (typeof(T) == typeof(double))
            {
                acc += (r0 - r0) + (r1 - r1) + (r2 - r2) + (r3 - r3) + (r4 - r4) + (r5 - r5) + (r6 - r6) + (r7 - r7);
                double* p = (double*)d;
                r0.Store(p); r1.Store(p + ldd); r2.Store(p + 2 * ldd); r3.Store(p + 3 * ldd);
                r4.Store(p + 4 * ldd); r5.Store(p + 5 * ldd); r6.Store(p + 6 * ldd); r7.Store(p + 7 * ldd);
            }
            else
            {
                // Rounded to nearest float; a value beyond float's range becomes an infinity (not finite).
                var f0 = Avx512F.ConvertToVector256Single(r0); var f1 = Avx512F.ConvertToVector256Single(r1);
                var f2 = Avx512F.ConvertToVector256Single(r2); var f3 = Avx512F.ConvertToVector256Single(r3);
                var f4 = Avx512F.ConvertToVector256Single(r4); var f5 = Avx512F.ConvertToVector256Single(r5);
                var f6 = Avx512F.ConvertToVector256Single(r6); var f7 = Avx512F.ConvertToVector256Single(r7);
                var e = (f0 - f0) + (f1 - f1) + (f2 - f2) + (f3 - f3) + (f4 - f4) + (f5 - f5) + (f6 - f6) + (f7 - f7);
                acc += Avx512F.ConvertToVector512Double(e);
                // A value just beyond float's largest rounds to it: only where a converted value is +-float.MaxValue
                // (rare) are the block's doubles compared with it (a NaN into acc where one lies beyond).
                var top = Vector256.Create(float.MaxValue);
                var edge = Vector256.Max(Vector256.Max(Vector256.Max(Vector256.Abs(f0), Vector256.Abs(f1)), Vector256.Max(Vector256.Abs(f2), Vector256.Abs(f3))),
                                         Vector256.Max(Vector256.Max(Vector256.Abs(f4), Vector256.Abs(f5)), Vector256.Max(Vector256.Abs(f6), Vector256.Abs(f7))));
                if (Vector256.EqualsAny(edge, top))
                    for (int q = 0; q < 8; q++)
                        for (int c = 0; c < 8; c++)
                            if (Math.Abs(s[q * ld + c]) > float.MaxValue) acc += Vector512.Create(double.NaN);
                float* p = (float*)d;
                f0.Store(p); f1.Store(p + ldd); f2.Store(p + 2 * ldd); f3.Store(p + 3 * ldd);
                f4.Store(p + 4 * ldd); f5.Store(p + 5 * ldd); f6.Store(p + 6 * ldd); f7.Store(p + 7 * ldd);
            }
        }
    }
}
