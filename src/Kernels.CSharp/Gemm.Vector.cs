using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Functional.NN.Kernels;

public static unsafe partial class Gemm
{
    /// <summary>
    /// Row-vector products (m = 1) with at least this many multiply-adds are split over the worker
    /// pool; smaller ones run on the calling thread.
    /// </summary>
    public static long VectorParallelThreshold { get; set; } = 1L << 17;

    /// <summary>
    /// A row-vector product whose B (not transposed) has more bytes than this is cut along k into
    /// <see cref="KBlocks"/> blocks of consecutive rows of B, each giving a partial row vector; the
    /// partials are then added in block order. The cut depends only on the sizes, never on the
    /// number of threads, so the result is the same bit for bit on any machine with the same
    /// instruction set, threaded or not. Threaded, each thread takes the same run of blocks on every
    /// call (<see cref="WorkerPool.Run(IParallelJob, int, bool)"/> with affinity): a contiguous part of B that
    /// stays in that core's L2 between calls, where a split by columns would leave every core
    /// streaming strided rows from L3.
    /// </summary>
    public static long KSplitBytes { get; set; } = 512L * 1024;

    /// <summary>The number of k-blocks of a row-vector product of n outputs and depth k in type T.</summary>
    private static int KBlocks<T>(int n, int k) where T : unmanaged
    {
        long bytes = (long)n * k * Unsafe.SizeOf<T>();
        if (bytes <= KSplitBytes) return 1;
        long blocks = 8 * ((bytes + (2L << 20) - 1) / (2L << 20));
        return (int)Math.Clamp(blocks, 1, Math.Max(1, k / 4));
    }

    /// <summary>
    /// y = alpha x op(B) + beta y for a row vector x of length k (element stride incx) and a row
    /// vector y of length n: the m = 1 product, without packing (B is streamed once). Used by
    /// <c>Run</c> when m = 1 on AVX-512 machines.
    /// </summary>
    private static void RowVector<T>(bool tb, int n, int k, T alpha, T* x, nint incx, T* b, nint ldb, T beta, T* y, bool allowParallel)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int blocks = tb ? 1 : KBlocks<T>(n, k);
        if (blocks > 1)
        {
            var job = KSplitJob<T>.ForThisThread;
            job.Set(blocks, n, k, x, incx, b, ldb);
            int parts = allowParallel ? Math.Min(WorkerPool.Threads, blocks) : 1;
            if (parts > 1) WorkerPool.Run(job, parts, affinity: true);
            else job.Execute(0, 1);
            job.Reduce(alpha, beta, y);
            job.Clear();
            return;
        }
        if (allowParallel && WorkerPool.Threads > 1 && (long)n * k >= VectorParallelThreshold && n >= 4 * Vector512<T>.Count)
        {
            var job = RowVectorJob<T>.ForThisThread;
            job.Set(tb, n, k, alpha, x, incx, b, ldb, beta, y);
            WorkerPool.Run(job, WorkerPool.Threads);
            job.Clear();
            return;
        }
        RowVectorRange(tb, 0, n, k, alpha, x, incx, b, ldb, beta, y);
    }

    /// <summary>Columns lo..hi of the row-vector product, by the kernel that suits the shape.</summary>
    private static void RowVectorRange<T>(bool tb, int lo, int hi, int k, T alpha, T* x, nint incx, T* b, nint ldb, T beta, T* y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (tb) RowVectorTransposed(lo, hi, k, alpha, x, incx, b, ldb, beta, y);
        else if (alpha == T.One && beta == T.Zero && (hi - lo) % Vector512<T>.Count == 0 && hi - lo <= 1024 && k >= 4)
            RowVectorStreaming(lo, hi, k, x, incx, b, ldb, y);
        else RowVectorPlain(lo, hi, k, alpha, x, incx, b, ldb, beta, y);
    }

    /// <summary>
    /// The k-blocked row-vector product: block i (rows k0..k1 of B) gives partial i = x[k0..k1] B[k0..k1, :];
    /// part t of the job computes blocks t*blocks/parts .. (t+1)*blocks/parts - 1.
    /// </summary>
    private sealed class KSplitJob<T> : IParallelJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static KSplitJob<T>? t_job;
        public static KSplitJob<T> ForThisThread => t_job ??= new KSplitJob<T>();
        private T[] _partials = Array.Empty<T>();
        private int _blocks, _n, _k;
        private T* _x, _b;
        private nint _incx, _ldb;

        public void Set(int blocks, int n, int k, T* x, nint incx, T* b, nint ldb)
        {
            if (_partials.Length < blocks * n) _partials = GC.AllocateArray<T>(blocks * n, pinned: true);
            _blocks = blocks; _n = n; _k = k; _x = x; _incx = incx; _b = b; _ldb = ldb;
        }

        public void Clear() { _x = null; _b = null; }

        public void Execute(int part, int parts)
        {
            int first = (int)((long)_blocks * part / parts), last = (int)((long)_blocks * (part + 1) / parts);
            fixed (T* partials = _partials)
                for (int i = first; i < last; i++)
                {
                    int k0 = (int)((long)_k * i / _blocks), k1 = (int)((long)_k * (i + 1) / _blocks);
                    RowVectorRange(false, 0, _n, k1 - k0, T.One, _x + k0 * _incx, _incx, _b + k0 * _ldb, _ldb, T.Zero, partials + (nint)i * _n);
                }
        }

        /// <summary>y = alpha (partial_0 + partial_1 + ...) + beta y, the partials added in block order.</summary>
        public void Reduce(T alpha, T beta, T* y)
        {
            int n = _n, w = Vector512<T>.Count;
            bool readY = beta != T.Zero;
            var va = Vector512.Create(alpha);
            var vb = Vector512.Create(beta);
            fixed (T* partials = _partials)
            {
                int j = 0;
                for (; j <= n - w; j += w)
                {
                    var sum = Vector512.Load(partials + j);
                    for (int i = 1; i < _blocks; i++) sum += Vector512.Load(partials + (nint)i * n + j);
                    PutVector(y + j, sum, va, vb, readY);
                }
                for (; j < n; j++)
                {
                    T sum = partials[j];
                    for (int i = 1; i < _blocks; i++) sum += partials[(nint)i * n + j];
                    y[j] = readY ? T.FusedMultiplyAdd(beta, y[j], alpha * sum) : alpha * sum;
                }
            }
        }
    }

    /// <summary>
    /// y[j] = sum_p x[p] B[p, j] for j in lo..hi (a whole number of vectors): B is read row after row
    /// in order (four rows at a time), the way the hardware prefetcher likes best, with y kept in L1.
    /// For B too large for L2, this reads it faster than the column strips of <see cref="RowVectorPlain"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowVectorStreaming<T>(int lo, int hi, int k, T* x, nint incx, T* b, nint ldb, T* y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        int p = 0;
        {
            // The first four rows initialise y.
            var x0 = Vector512.Create(x[0]);
            var x1 = Vector512.Create(x[incx]);
            var x2 = Vector512.Create(x[2 * incx]);
            var x3 = Vector512.Create(x[3 * incx]);
            T* r0 = b + lo, r1 = r0 + ldb, r2 = r1 + ldb, r3 = r2 + ldb;
            for (int j = 0; j < hi - lo; j += w)
            {
                var acc = Vector512.Load(r0 + j) * x0;
                acc = Simd.Fma512(x1, Vector512.Load(r1 + j), acc);
                acc = Simd.Fma512(x2, Vector512.Load(r2 + j), acc);
                acc = Simd.Fma512(x3, Vector512.Load(r3 + j), acc);
                Vector512.Store(acc, y + lo + j);
            }
            p = 4;
        }
        for (; p + 3 < k; p += 4)
        {
            var x0 = Vector512.Create(x[p * incx]);
            var x1 = Vector512.Create(x[(p + 1) * incx]);
            var x2 = Vector512.Create(x[(p + 2) * incx]);
            var x3 = Vector512.Create(x[(p + 3) * incx]);
            T* r0 = b + p * ldb + lo, r1 = r0 + ldb, r2 = r1 + ldb, r3 = r2 + ldb;
            for (int j = 0; j < hi - lo; j += w)
            {
                var acc = Vector512.Load(y + lo + j);
                acc = Simd.Fma512(x0, Vector512.Load(r0 + j), acc);
                acc = Simd.Fma512(x1, Vector512.Load(r1 + j), acc);
                acc = Simd.Fma512(x2, Vector512.Load(r2 + j), acc);
                acc = Simd.Fma512(x3, Vector512.Load(r3 + j), acc);
                Vector512.Store(acc, y + lo + j);
            }
        }
        for (; p < k; p++)
        {
            var x0 = Vector512.Create(x[p * incx]);
            T* r0 = b + p * ldb + lo;
            for (int j = 0; j < hi - lo; j += w)
                Vector512.Store(Simd.Fma512(x0, Vector512.Load(r0 + j), Vector512.Load(y + lo + j)), y + lo + j);
        }
    }

    private sealed class RowVectorJob<T> : IParallelJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static RowVectorJob<T>? t_job;
        public static RowVectorJob<T> ForThisThread => t_job ??= new RowVectorJob<T>();
        private bool _tb;
        private int _n, _k;
        private T _alpha, _beta;
        private T* _x, _b, _y;
        private nint _incx, _ldb;

        public void Set(bool tb, int n, int k, T alpha, T* x, nint incx, T* b, nint ldb, T beta, T* y)
        {
            _tb = tb; _n = n; _k = k; _alpha = alpha; _x = x; _incx = incx; _b = b; _ldb = ldb; _beta = beta; _y = y;
        }

        public void Clear() { _x = null; _b = null; _y = null; }

        public void Execute(int part, int parts)
        {
            int unit = Vector512<T>.Count;
            int units = (_n + unit - 1) / unit;
            int lo = (int)((long)units * part / parts) * unit;
            int hi = Math.Min(_n, (int)((long)units * (part + 1) / parts) * unit);
            if (hi <= lo) return;
            RowVectorRange(_tb, lo, hi, _k, _alpha, _x, _incx, _b, _ldb, _beta, _y);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutVector<T>(T* y, Vector512<T> v, Vector512<T> va, Vector512<T> vb, bool readY) where T : unmanaged, IFloatingPointIeee754<T>
    {
        v *= va;
        if (readY) v = Simd.Fma512(vb, Vector512.Load(y), v);
        Vector512.Store(v, y);
    }

    /// <summary>y[j] = alpha sum_p x[p] B[p, j] + beta y[j] for j in lo..hi: columns in strips of 8 vectors held in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowVectorPlain<T>(int lo, int hi, int k, T alpha, T* x, nint incx, T* b, nint ldb, T beta, T* y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        bool readY = beta != T.Zero;
        int j = lo;
        for (; j <= hi - 8 * w; j += 8 * w)
        {
            Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            T* row = b + j;
            T* xp = x;
            for (int p = 0; p < k; p++)
            {
                var xv = Vector512.Create(*xp);
                s0 = Simd.Fma512(xv, Vector512.Load(row), s0);
                s1 = Simd.Fma512(xv, Vector512.Load(row + w), s1);
                s2 = Simd.Fma512(xv, Vector512.Load(row + 2 * w), s2);
                s3 = Simd.Fma512(xv, Vector512.Load(row + 3 * w), s3);
                s4 = Simd.Fma512(xv, Vector512.Load(row + 4 * w), s4);
                s5 = Simd.Fma512(xv, Vector512.Load(row + 5 * w), s5);
                s6 = Simd.Fma512(xv, Vector512.Load(row + 6 * w), s6);
                s7 = Simd.Fma512(xv, Vector512.Load(row + 7 * w), s7);
                row += ldb;
                xp += incx;
            }
            PutVector(y + j, s0, va, vb, readY); PutVector(y + j + w, s1, va, vb, readY);
            PutVector(y + j + 2 * w, s2, va, vb, readY); PutVector(y + j + 3 * w, s3, va, vb, readY);
            PutVector(y + j + 4 * w, s4, va, vb, readY); PutVector(y + j + 5 * w, s5, va, vb, readY);
            PutVector(y + j + 6 * w, s6, va, vb, readY); PutVector(y + j + 7 * w, s7, va, vb, readY);
        }
        for (; j <= hi - 2 * w; j += 2 * w)
        {
            Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
            T* row = b + j;
            T* xp = x;
            int p = 0;
            for (; p + 1 < k; p += 2)
            {
                var x0 = Vector512.Create(xp[0]);
                var x1 = Vector512.Create(xp[incx]);
                s0 = Simd.Fma512(x0, Vector512.Load(row), s0);
                s1 = Simd.Fma512(x0, Vector512.Load(row + w), s1);
                s2 = Simd.Fma512(x1, Vector512.Load(row + ldb), s2);
                s3 = Simd.Fma512(x1, Vector512.Load(row + ldb + w), s3);
                row += 2 * ldb;
                xp += 2 * incx;
            }
            if (p < k)
            {
                var x0 = Vector512.Create(*xp);
                s0 = Simd.Fma512(x0, Vector512.Load(row), s0);
                s1 = Simd.Fma512(x0, Vector512.Load(row + w), s1);
            }
            PutVector(y + j, s0 + s2, va, vb, readY);
            PutVector(y + j + w, s1 + s3, va, vb, readY);
        }
        for (; j <= hi - w; j += w)
        {
            // One vector of columns: four accumulators over consecutive rows hide the FMA latency.
            Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
            T* row = b + j;
            T* xp = x;
            int p = 0;
            for (; p + 3 < k; p += 4)
            {
                s0 = Simd.Fma512(Vector512.Create(xp[0]), Vector512.Load(row), s0);
                s1 = Simd.Fma512(Vector512.Create(xp[incx]), Vector512.Load(row + ldb), s1);
                s2 = Simd.Fma512(Vector512.Create(xp[2 * incx]), Vector512.Load(row + 2 * ldb), s2);
                s3 = Simd.Fma512(Vector512.Create(xp[3 * incx]), Vector512.Load(row + 3 * ldb), s3);
                row += 4 * ldb;
                xp += 4 * incx;
            }
            for (; p < k; p++)
            {
                s0 = Simd.Fma512(Vector512.Create(*xp), Vector512.Load(row), s0);
                row += ldb;
                xp += incx;
            }
            PutVector(y + j, (s0 + s1) + (s2 + s3), va, vb, readY);
        }
        for (; j < hi; j++)
        {
            T s = T.Zero;
            for (int p = 0; p < k; p++) s = T.FusedMultiplyAdd(x[p * incx], b[p * ldb + j], s);
            y[j] = readY ? T.FusedMultiplyAdd(beta, y[j], alpha * s) : alpha * s;
        }
    }

    /// <summary>y[j] = alpha dot(x, B[j, :]) + beta y[j] for j in lo..hi: four rows of B at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowVectorTransposed<T>(int lo, int hi, int k, T alpha, T* x, nint incx, T* b, nint ldb, T beta, T* y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        bool readY = beta != T.Zero;
        T* xs = x;
        if (incx != 1)
        {
            // Strided x: dot products per element (rare: only op(A) = A^T with a single column).
            for (int j = lo; j < hi; j++)
            {
                T s = T.Zero;
                for (int p = 0; p < k; p++) s = T.FusedMultiplyAdd(x[p * incx], b[j * ldb + p], s);
                y[j] = readY ? T.FusedMultiplyAdd(beta, y[j], alpha * s) : alpha * s;
            }
            return;
        }
        int jj = lo;
        for (; jj <= hi - 4; jj += 4)
        {
            T* r0 = b + jj * ldb;
            T* r1 = r0 + ldb, r2 = r1 + ldb, r3 = r2 + ldb;
            Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
            int p = 0;
            for (; p <= k - w; p += w)
            {
                var xv = Vector512.Load(xs + p);
                s0 = Simd.Fma512(xv, Vector512.Load(r0 + p), s0);
                s1 = Simd.Fma512(xv, Vector512.Load(r1 + p), s1);
                s2 = Simd.Fma512(xv, Vector512.Load(r2 + p), s2);
                s3 = Simd.Fma512(xv, Vector512.Load(r3 + p), s3);
            }
            T d0 = Vector512.Sum(s0), d1 = Vector512.Sum(s1), d2 = Vector512.Sum(s2), d3 = Vector512.Sum(s3);
            for (; p < k; p++)
            {
                T xp = xs[p];
                d0 = T.FusedMultiplyAdd(xp, r0[p], d0); d1 = T.FusedMultiplyAdd(xp, r1[p], d1);
                d2 = T.FusedMultiplyAdd(xp, r2[p], d2); d3 = T.FusedMultiplyAdd(xp, r3[p], d3);
            }
            y[jj] = readY ? T.FusedMultiplyAdd(beta, y[jj], alpha * d0) : alpha * d0;
            y[jj + 1] = readY ? T.FusedMultiplyAdd(beta, y[jj + 1], alpha * d1) : alpha * d1;
            y[jj + 2] = readY ? T.FusedMultiplyAdd(beta, y[jj + 2], alpha * d2) : alpha * d2;
            y[jj + 3] = readY ? T.FusedMultiplyAdd(beta, y[jj + 3], alpha * d3) : alpha * d3;
        }
        for (; jj < hi; jj++)
        {
            T* r0 = b + jj * ldb;
            Vector512<T> s0 = default;
            int p = 0;
            for (; p <= k - w; p += w) s0 = Simd.Fma512(Vector512.Load(xs + p), Vector512.Load(r0 + p), s0);
            T d0 = Vector512.Sum(s0);
            for (; p < k; p++) d0 = T.FusedMultiplyAdd(xs[p], r0[p], d0);
            y[jj] = readY ? T.FusedMultiplyAdd(beta, y[jj], alpha * d0) : alpha * d0;
        }
    }
}
