using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Functional.NN.Kernels;

/// <summary>
/// Work on whole rows of a product's C once they are final, run by <see cref="Gemm"/>'s Run with
/// an epilogue (for example a layer's bias and activation). <c>Apply(row0, rows)</c> must treat
/// each row on its own: it may be called once for all rows or once per thread's block of rows, at
/// the same time on different threads.
/// </summary>
public interface IGemmRowEpilogue
{
    /// <summary>Applies the epilogue to rows row0..row0+rows of C.</summary>
    void Apply(int row0, int rows);
}

/// <summary>How a product split over the cores is cut; only the speed depends on it.</summary>
public enum GemmCut
{
    /// <summary>The cut whose busiest thread has the least to do, counting its multiply-adds and its packing.</summary>
    Auto,
    /// <summary>
    /// Along n wherever there are at least two NR-wide panels of columns (else along m): each
    /// thread reads and writes only its own columns of op(B) and C, and reads all of op(A). For a
    /// layer's weights read in place by its forward product and updated in place by its fused
    /// step, each core then keeps its own columns of them in its cache from step to step.
    /// </summary>
    Columns,
}

/// <summary>
/// General matrix product on row-major storage: C = alpha op(A) op(B) + beta C, where op(X) is X
/// or its transpose. op(A) is m x k, op(B) is k x n, C is m x n; lda, ldb and ldc are the row
/// strides of the matrices as stored (at least their stored column counts). When beta is 0, C is
/// not read (NaN in C does not propagate).
/// </summary>
/// <remarks>
/// Packed and blocked in the manner of GotoBLAS/BLIS: a kc x nc panel of op(B) is packed into
/// NR-wide micro-panels (kept in L3/L2, each micro-panel in L1), an mc x kc block of op(A) into
/// MR-tall micro-panels (kept in L2), and a register-tiled FMA micro-kernel (AVX-512: 12 x 2
/// vectors; AVX2: 6 x 2 vectors; otherwise scalar 4 x 4) computes each MR x NR tile of C.
/// Products large enough are split in two (or more) along n or m over the <see cref="WorkerPool"/>.
/// Packing buffers are per thread and reused; a call allocates nothing once a thread has run
/// the largest block shape once.
/// </remarks>
public static unsafe partial class Gemm
{
    /// <summary>Products with fewer multiply-adds than this run on the calling thread only.</summary>
    public static long ParallelThreshold { get; set; } = 96L * 96 * 96;

    /// <summary>C = alpha op(A) op(B) + beta C on spans (double).</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
        => MultiplySpan(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>C = alpha op(A) op(B) + beta C on spans (float).</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => MultiplySpan(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>C = op(A) op(B) for dense row-major operands without gaps (lda, ldb, ldc are the column counts).</summary>
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c) where T : unmanaged, IFloatingPointIeee754<T>
        => MultiplySpan(transA, transB, m, n, k, T.One, a, transA ? m : k, b, transB ? k : n, T.Zero, c, n);

    /// <summary>C = alpha op(A) op(B) + beta C on spans, for T = float or double.</summary>
    public static void MultiplySpan<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "m must be >= 0.");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be >= 0.");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be >= 0.");
        if (m == 0 || n == 0) return;
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        CheckOperand(nameof(a), a.Length, aRows, aCols, lda, nameof(lda));
        CheckOperand(nameof(b), b.Length, bRows, bCols, ldb, nameof(ldb));
        CheckOperand(nameof(c), c.Length, m, n, ldc, nameof(ldc));
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
            Run(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    private static void CheckOperand(string name, int length, int rows, int cols, int ld, string ldName)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols)
            throw new ArgumentOutOfRangeException(ldName, ld, $"{ldName} = {ld} is less than the {cols} columns of {name} ({rows} x {cols}).");
        long need = (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException($"{name} has {length} elements; a {rows} x {cols} matrix with row stride {ld} needs {need}.", name);
    }

    /// <summary>
    /// C = alpha op(A) op(B) + beta C on raw pointers, without argument checks. The memory must stay
    /// fixed for the call (pinned or native). With <paramref name="parallel"/> false the product
    /// runs on the calling thread only (for latency-bound callers that keep the other cores busy).
    /// </summary>
    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, bool parallel = true) where T : unmanaged, IFloatingPointIeee754<T>
        => Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, parallel, null);

    /// <summary>
    /// As <see cref="Run{T}(bool, bool, int, int, int, T, T*, nint, T*, nint, T, T*, nint, bool)"/>,
    /// then <paramref name="epilogue"/> on whole rows of C once they are final (a layer's bias and
    /// activation): where the product is cut along m, each thread applies it to its own rows right
    /// after computing them (while they are in its cache, with no second fork-join); otherwise
    /// once, on all rows, after the product. The epilogue must treat each row alone, so that the
    /// result does not depend on how the rows are grouped.
    /// </summary>
    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, bool parallel, IGemmRowEpilogue? epilogue) where T : unmanaged, IFloatingPointIeee754<T>
        => Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, parallel, epilogue, GemmCut.Auto);

    /// <summary>
    /// As <see cref="Run{T}(bool, bool, int, int, int, T, T*, nint, T*, nint, T, T*, nint, bool, IGemmRowEpilogue?)"/>,
    /// with the choice of how a product split over the cores is cut (<see cref="GemmCut"/>). Only
    /// the speed depends on it: every element of C is the same sum in the same order either way.
    /// </summary>
    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, bool parallel, IGemmRowEpilogue? epilogue, GemmCut cut)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m <= 0 || n <= 0) return;
        if (k == 0 || alpha == T.Zero)
        {
            ScaleC(m, n, beta, c, ldc);
            epilogue?.Apply(0, m);
            return;
        }
        if (m == 1 && Simd.Use512)
        {
            RowVector(transB, n, k, alpha, a, transA ? lda : 1, b, ldb, beta, c, parallel);
            epilogue?.Apply(0, m);
            return;
        }
        if (n == 1 && ldc == 1 && Simd.Use512)
        {
            // A column result: C^T (1 x m) = op(B)^T (1 x k) op(A)^T (k x m), a row-vector product.
            RowVector(!transA, m, k, alpha, b, transB ? 1 : ldb, a, lda, beta, c, parallel);
            epilogue?.Apply(0, m);
            return;
        }
        long work = (long)m * n * k;
        int threads = WorkerPool.Threads;
        if (parallel && threads > 1 && work >= ParallelThreshold)
        {
            int panelsN = (n + Config<T>.NR - 1) / Config<T>.NR;
            bool splitN = cut == GemmCut.Columns ? panelsN >= 2 : SplitAlongN<T>(transA, transB, m, n, k, threads, ldb);
            int panels = splitN ? panelsN : (m + Config<T>.RowUnit - 1) / Config<T>.RowUnit;
            int parts = Math.Min(threads, panels);
            if (parts > 1)
            {
                var job = GemmJob<T>.ForThisThread;
                job.Set(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, splitN, splitN ? null : epilogue);
                try { WorkerPool.Run(job, parts); }
                finally { job.Clear(); }
                if (splitN) epilogue?.Apply(0, m);
                return;
            }
        }
        Sequential(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        epilogue?.Apply(0, m);
    }

    /// <summary>
    /// Whether a product split over <paramref name="threads"/> threads is cut along n (each thread
    /// takes whole NR-wide panels of columns) rather than along m (whole MR-tall panels of rows):
    /// the cut whose busiest thread has the least to do, counting its multiply-adds (rows and
    /// columns padded to whole micro-tiles, one vector of them per cycle) and its packing: a
    /// thread packs all of op(A) when the cut is along n, all of op(B) along m (nothing of op(B)
    /// where it is read in place, see DirectB). Rows count in multiples of 4 on AVX-512 machines
    /// (the 8- and 4-row kernels), of MR elsewhere. A value costs one
    /// multiply-add when it is packed by whole-vector copies (op(B) = B, op(A) = A^T), a quarter
    /// of a vector when 4 x 4 register transposes pack it (op(A) = A on AVX-512 machines, op(B) =
    /// B^T on AVX machines), a whole vector when it is copied alone (elsewhere, strided stores).
    /// Only the speed depends on the choice: every element of C is the same sum in the same order
    /// either way.
    /// </summary>
    internal static bool SplitAlongN<T>(bool ta, bool tb, int m, int n, int k, int threads, nint ldb) where T : unmanaged
    {
        int mr = Config<T>.RowUnit, nr = Config<T>.NR;
        int panelsN = (n + nr - 1) / nr, panelsM = (m + mr - 1) / mr;
        if (panelsN < 2) return false;
        if (panelsM < 2) return true;
        long lanes = Simd.Use512 ? 64 / Unsafe.SizeOf<T>() : Simd.Use256 ? 32 / Unsafe.SizeOf<T>() : 1;
        long costA = ta ? 1 : Config<T>.MR == 12 && Avx.IsSupported ? Math.Max(1, lanes / 4) : lanes;
        long costB = tb ? (nr % 4 == 0 && Avx.IsSupported ? Math.Max(1, lanes / 4) : lanes) : 1;
        long mPad = (long)panelsM * mr, nPad = (long)panelsN * nr;
        long colsN = (long)((panelsN + threads - 1) / threads) * nr;
        long rowsM = (long)((panelsM + threads - 1) / threads) * mr;
        // B read in place (DirectB) is not packed at all: then the cut along m packs nothing twice.
        long costBN = DirectB<T>(tb, m, ldb) ? 0 : costB;
        long costBM = DirectB<T>(tb, (int)Math.Min(rowsM, m), ldb) ? 0 : costB;
        long costN = mPad * colsN * k + (long)m * k * costA + Math.Min(colsN, n) * k * costBN;
        long costM = rowsM * nPad * k + Math.Min(rowsM, m) * k * costA + (long)n * k * costBM;
        return costN <= costM;
    }

    private sealed class GemmJob<T> : IParallelJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static GemmJob<T>? t_job;
        public static GemmJob<T> ForThisThread => t_job ??= new GemmJob<T>();

        private bool _ta, _tb, _splitN;
        private int _m, _n, _k;
        private T _alpha, _beta;
        private T* _a, _b, _c;
        private nint _lda, _ldb, _ldc;
        private IGemmRowEpilogue? _epilogue;

        public void Set(bool ta, bool tb, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, bool splitN,
            IGemmRowEpilogue? epilogue)
        {
            _ta = ta; _tb = tb; _m = m; _n = n; _k = k; _alpha = alpha; _a = a; _lda = lda;
            _b = b; _ldb = ldb; _beta = beta; _c = c; _ldc = ldc; _splitN = splitN; _epilogue = epilogue;
        }

        public void Clear() { _a = null; _b = null; _c = null; _epilogue = null; }

        public void Execute(int part, int parts)
        {
            int unit = _splitN ? Config<T>.NR : Config<T>.RowUnit;
            int total = _splitN ? _n : _m;
            int panels = (total + unit - 1) / unit;
            int p0 = (int)((long)panels * part / parts), p1 = (int)((long)panels * (part + 1) / parts);
            int lo = p0 * unit, hi = Math.Min(total, p1 * unit);
            if (hi <= lo) return;
            if (_splitN)
            {
                // Columns lo..hi of op(B) and of C.
                T* b = _tb ? _b + lo * _ldb : _b + lo;
                Sequential(_ta, _tb, _m, hi - lo, _k, _alpha, _a, _lda, b, _ldb, _beta, _c + lo, _ldc);
            }
            else
            {
                // Rows lo..hi of op(A) and of C.
                T* a = _ta ? _a + lo : _a + lo * _lda;
                Sequential(_ta, _tb, hi - lo, _n, _k, _alpha, a, _lda, _b, _ldb, _beta, _c + lo * _ldc, _ldc);
                _epilogue?.Apply(lo, hi - lo);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleC<T>(int m, int n, T beta, T* c, nint ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.One) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<T>(c + i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    /// <summary>Block sizes and buffers for one element type.</summary>
    private static class Config<T> where T : unmanaged
    {
        public static readonly int MR = Simd.Use512 ? 12 : Simd.Use256 ? 6 : 4;
        public static readonly int NR = Simd.Use512 ? 2 * Vector512<T>.Count : Simd.Use256 ? 2 * Vector256<T>.Count : 4;
        // The rows a thread's share of a product cut along m is a multiple of: 4 on AVX-512
        // machines, whose 8- and 4-row kernels take a panel's last rows at the cost of their rows
        // (so 512 rows are cut 256 / 256, not 264 / 248 in whole 12-row panels); MR elsewhere.
        public static readonly int RowUnit = Simd.Use512 ? 4 : MR;
        // Derived from the cache sizes read at run time (GemmBlocking.For): on a Zen 4 core
        // (32 KiB L1d, 1 MiB L2, 32 MiB L3, 2 threads) KC = 512, MC = 120 (float) / 60 (double),
        // NC = 2048 / 1024. Only KC affects the bits of a result (the k-steps of each sum); it
        // depends on the machine's L1 only, never on the number of threads.
        private static readonly GemmBlocking s_blocking = GemmBlocking.For(CacheSizes.Current, Unsafe.SizeOf<T>(), MR, NR, WorkerPool.Threads);
        public static readonly int KC = s_blocking.KC;
        public static readonly int MC = s_blocking.MC;
        public static readonly int NC = s_blocking.NC;

        [ThreadStatic] private static Buffer? t_a, t_b, t_tile;

        public static T* BufferA() => (t_a ??= new Buffer(MC * KC)).Pointer;
        public static T* BufferB(int elements)
        {
            var buf = t_b;
            if (buf is null || buf.Length < elements)
                t_b = buf = new Buffer(Math.Max(elements, buf is null ? 0 : buf.Length));
            return buf.Pointer;
        }
        public static T* Tile() => (t_tile ??= new Buffer(MR * NR)).Pointer;

        /// <summary>A 64-byte-aligned buffer in a pinned array (pinned object heap, never moved).</summary>
        private sealed class Buffer
        {
            private readonly T[] _array;
            public readonly T* Pointer;
            public readonly int Length;
            public Buffer(int length)
            {
                int pad = 64 / sizeof(T);
                _array = GC.AllocateUninitializedArray<T>(length + pad, pinned: true);
                nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
                nint aligned = (p + 63) & ~(nint)63;
                Pointer = (T*)aligned;
                Length = length;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sequential<T>(bool ta, bool tb, int m, int n, int k, T alpha,
        T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int MR = Config<T>.MR, NR = Config<T>.NR, KC = Config<T>.KC, MC = Config<T>.MC, NC = Config<T>.NC;
        int ncMax = Math.Min(NC, (n + NR - 1) / NR * NR);
        int kcMax = Math.Min(KC, k);
        T* bufA = Config<T>.BufferA();
        T* bufB = Config<T>.BufferB(kcMax * ncMax);
        T* tile = Config<T>.Tile();
        // B read in place (no packing) for few rows of C: see DirectB.
        bool direct = DirectB<T>(tb, m, ldb);
        int w = Simd.Use512 ? Vector512<T>.Count : 0;
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            int full = nc / NR * NR;
            // Row blocks of equal size (a multiple of MR, at most MC): 256 rows as 132 + 124, not
            // 252 + 4, whose last block would stream every B micro-panel for 4 rows of work.
            int blocksM = (m + MC - 1) / MC;
            int mcStep = ((m + blocksM - 1) / blocksM + MR - 1) / MR * MR;
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                // In place, only a last panel narrower than NR is packed (zero-padded), at bufB.
                if (!direct) PackB(tb, b, ldb, pc, kc, jc, nc, bufB, NR);
                else if (full < nc) PackB(tb, b, ldb, pc, kc, jc + full, nc - full, bufB, NR);
                int mode = pc > 0 || beta == T.One ? Add : beta == T.Zero ? Store : Scale;
                for (int ic = 0; ic < m; ic += mcStep)
                {
                    int mc = Math.Min(mcStep, m - ic);
                    PackA(ta, a, lda, ic, mc, pc, kc, alpha, bufA, MR);
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        int cols = Math.Min(NR, nc - jr);
                        // The B micro-panel: packed (NR values per step), or B's own rows (ldb per step).
                        T* pb;
                        nint bStep;
                        if (!direct) { pb = bufB + (nint)jr * kc; bStep = NR; }
                        else if (cols == NR) { pb = b + pc * ldb + jc + jr; bStep = ldb; }
                        else { pb = bufB; bStep = NR; }
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int rows = Math.Min(MR, mc - ir);
                            T* pa = bufA + (nint)ir * kc;
                            T* pcOut = c + (ic + ir) * ldc + jc + jr;
                            if (rows == MR && cols == NR)
                            {
                                MicroKernel(kc, pa, pb, bStep, pcOut, ldc, mode, beta);
                            }
                            else if (Simd.Use512 && cols == NR)
                            {
                                // A panel with fewer than 12 rows left: 8- and 4-row kernels (no FMAs on zero rows).
                                EdgeRows512(kc, pa, pb, bStep, pcOut, ldc, rows, mode, beta, tile);
                            }
                            else if (Simd.Use512 && cols <= w)
                            {
                                // A narrow panel: one vector of columns is enough.
                                if (rows == MR && cols == w)
                                    Kernel512Narrow(kc, pa, pb, bStep, pcOut, ldc, mode, beta);
                                else
                                {
                                    Kernel512Narrow(kc, pa, pb, bStep, tile, NR, Store, T.Zero);
                                    MergeTile(tile, NR, pcOut, ldc, rows, cols, mode, beta);
                                }
                            }
                            else
                            {
                                MicroKernel(kc, pa, pb, bStep, tile, NR, Store, T.Zero);
                                MergeTile(tile, NR, pcOut, ldc, rows, cols, mode, beta);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Whether a product reads op(B) = B in place instead of packing it: on AVX-512 machines, for
    /// at most <see cref="DirectBMaxRows"/> rows of C (then each B micro-panel serves only a few
    /// row panels, and packing it costs a copy of B for little reuse: a layer's forward product,
    /// whose B is the weights) and rows of B at most a page long (kc steps then touch at most kc
    /// pages). Only the speed depends on it: the micro-kernel reads the same values in the same
    /// order either way, so the bits are the same.
    /// </summary>
    private static bool DirectB<T>(bool tb, int m, nint ldb) where T : unmanaged
        => !tb && Simd.Use512 && m <= DirectBMaxRows && ldb * Unsafe.SizeOf<T>() <= 4096;

    /// <summary>The most rows of C for which B is read in place (see DirectB); 0 turns it off.</summary>
    internal static int DirectBMaxRows { get; set; } = ReadDirectBMaxRows();

    private static int ReadDirectBMaxRows()
        => int.TryParse(Environment.GetEnvironmentVariable("FNN_GEMM_DIRECT_B_ROWS"), out int rows) && rows >= 0 ? rows : 192;

    /// <summary>
    /// An MR-tall panel of op(A) with only <paramref name="rows"/> (1 to 11) rows, times a whole
    /// NR-wide panel of op(B) (AVX-512): the first 8 rows by the 8-row kernel, then groups of 4 by
    /// the 4-row kernel (reading rows 8.., 4.. of the packed panel), straight into C where a group
    /// is whole, through the tile buffer where it is not.
    /// </summary>
    private static void EdgeRows512<T>(int kc, T* pa, T* pb, nint bStep, T* c, nint ldc, int rows, int mode, T beta, T* tile)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int r = 0;
        if (rows >= 8)
        {
            Kernel512Rows8(kc, pa, pb, bStep, c, ldc, mode, beta);
            r = 8;
        }
        for (; r < rows; r += 4)
        {
            int left = Math.Min(4, rows - r);
            if (left == 4) Kernel512Rows4(kc, pa + r, pb, bStep, c + r * ldc, ldc, mode, beta);
            else
            {
                Kernel512Rows4(kc, pa + r, pb, bStep, tile, Config<T>.NR, Store, T.Zero);
                MergeTile(tile, Config<T>.NR, c + r * ldc, ldc, left, Config<T>.NR, mode, beta);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MicroKernel<T>(int kc, T* a, T* b, nint bStep, T* c, nint ldc, int mode, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Simd.Use512) Kernel512(kc, a, b, bStep, c, ldc, mode, beta);
        else if (Simd.Use256) Kernel256(kc, a, b, c, ldc, mode, beta);
        else KernelScalar(kc, a, b, c, ldc, mode, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeTile<T>(T* tile, int ldt, T* c, nint ldc, int rows, int cols, int mode, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            T* src = tile + r * ldt;
            T* dst = c + r * ldc;
            if (mode == Store) for (int j = 0; j < cols; j++) dst[j] = src[j];
            else if (mode == Add) for (int j = 0; j < cols; j++) dst[j] += src[j];
            else for (int j = 0; j < cols; j++) dst[j] = T.FusedMultiplyAdd(beta, dst[j], src[j]);
        }
    }

    /// <summary>
    /// Packs rows i0..i0+mc, columns p0..p0+kc of op(A), times alpha, into MR-tall micro-panels:
    /// panel q holds, for each p, the MR values op(A)[i0 + q MR + r, p0 + p] (zero past mc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA<T>(bool ta, T* a, nint lda, int i0, int mc, int p0, int kc, T alpha, T* dst, int MR)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool scale = alpha != T.One;
        for (int ir = 0; ir < mc; ir += MR)
        {
            int rows = Math.Min(MR, mc - ir);
            if (!ta)
            {
                // op(A)[i, p] = A[i lda + p]: each row is read in order, written with stride MR
                // (a whole 12-row panel by 4 x 4 transposes in registers).
                if (rows == 12 && MR == 12 && Avx.IsSupported)
                {
                    PackTransposed(a + (i0 + ir) * lda + p0, lda, 12, kc, alpha, scale, dst);
                    dst += MR * kc;
                    continue;
                }
                for (int r = 0; r < rows; r++)
                {
                    T* src = a + (i0 + ir + r) * lda + p0;
                    T* d = dst + r;
                    if (scale) for (int p = 0; p < kc; p++) d[p * MR] = alpha * src[p];
                    else for (int p = 0; p < kc; p++) d[p * MR] = src[p];
                }
                for (int r = rows; r < MR; r++)
                    for (int p = 0; p < kc; p++) dst[p * MR + r] = T.Zero;
            }
            else
            {
                // op(A)[i, p] = A[p lda + i]: each step copies MR consecutive values.
                for (int p = 0; p < kc; p++)
                {
                    T* src = a + (p0 + p) * lda + i0 + ir;
                    T* d = dst + p * MR;
                    if (rows == MR && !scale) Copy12(src, d);
                    else if (rows == MR && Simd.Use512) Scale12(src, d, alpha);
                    else if (Simd.Use512)
                    {
                        Zero12(d);
                        for (int r = 0; r < rows; r++) d[r] = scale ? alpha * src[r] : src[r];
                    }
                    else
                    {
                        for (int r = 0; r < rows; r++) d[r] = scale ? alpha * src[r] : src[r];
                        for (int r = rows; r < MR; r++) d[r] = T.Zero;
                    }
                }
            }
            dst += MR * kc;
        }
    }

    /// <summary>
    /// Packs <paramref name="rows"/> rows (a multiple of 4) of kc values (row r at src + r lda) into
    /// the micro-panel layout dst[p rows + r], times alpha when <paramref name="scale"/>: an
    /// MR-tall panel of a row-major A (rows = 12), or an NR-wide panel of op(B) = B^T (rows = NR,
    /// B's rows being op(B)'s columns). Blocks of 4 rows by 4 steps are loaded as four vectors and
    /// transposed in registers (unpack and shuffle), four stores of 4 values each where the scalar
    /// copy makes sixteen. The values are copied (or multiplied by alpha, as the scalar path
    /// does), so the packed panel is the same bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackTransposed<T>(T* src, nint lda, int rows, int kc, T alpha, bool scale, T* dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int p = 0;
        if (typeof(T) == typeof(float))
        {
            var va = Vector128.Create(float.CreateTruncating(alpha));
            for (; p + 4 <= kc; p += 4)
            {
                for (int rb = 0; rb < rows; rb += 4)
                {
                    float* s0 = (float*)(src + rb * lda + p);
                    var v0 = Vector128.Load(s0);
                    var v1 = Vector128.Load(s0 + lda);
                    var v2 = Vector128.Load(s0 + 2 * lda);
                    var v3 = Vector128.Load(s0 + 3 * lda);
                    if (scale) { v0 *= va; v1 *= va; v2 *= va; v3 *= va; }
                    var t0 = Sse.UnpackLow(v0, v1);
                    var t1 = Sse.UnpackLow(v2, v3);
                    var t2 = Sse.UnpackHigh(v0, v1);
                    var t3 = Sse.UnpackHigh(v2, v3);
                    float* d = (float*)(dst + p * rows + rb);
                    Vector128.Store(Sse.MoveLowToHigh(t0, t1), d);
                    Vector128.Store(Sse.MoveHighToLow(t1, t0), d + rows);
                    Vector128.Store(Sse.MoveLowToHigh(t2, t3), d + 2 * rows);
                    Vector128.Store(Sse.MoveHighToLow(t3, t2), d + 3 * rows);
                }
            }
        }
        else
        {
            var va = Vector256.Create(double.CreateTruncating(alpha));
            for (; p + 4 <= kc; p += 4)
            {
                for (int rb = 0; rb < rows; rb += 4)
                {
                    double* s0 = (double*)(src + rb * lda + p);
                    var v0 = Vector256.Load(s0);
                    var v1 = Vector256.Load(s0 + lda);
                    var v2 = Vector256.Load(s0 + 2 * lda);
                    var v3 = Vector256.Load(s0 + 3 * lda);
                    if (scale) { v0 *= va; v1 *= va; v2 *= va; v3 *= va; }
                    var t0 = Avx.UnpackLow(v0, v1);
                    var t1 = Avx.UnpackHigh(v0, v1);
                    var t2 = Avx.UnpackLow(v2, v3);
                    var t3 = Avx.UnpackHigh(v2, v3);
                    double* d = (double*)(dst + p * rows + rb);
                    Vector256.Store(Avx.Permute2x128(t0, t2, 0x20), d);
                    Vector256.Store(Avx.Permute2x128(t1, t3, 0x20), d + rows);
                    Vector256.Store(Avx.Permute2x128(t0, t2, 0x31), d + 2 * rows);
                    Vector256.Store(Avx.Permute2x128(t1, t3, 0x31), d + 3 * rows);
                }
            }
        }
        for (; p < kc; p++)
            for (int r = 0; r < rows; r++)
            {
                T v = src[r * lda + p];
                dst[p * rows + r] = scale ? alpha * v : v;
            }
    }

    /// <summary>Zeroes 12 consecutive values (AVX-512 machines only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero12<T>(T* dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            Vector512.Store(Vector512<T>.Zero, dst);
            Vector256.Store(Vector256<T>.Zero, dst + 8);
        }
        else
        {
            Vector256.Store(Vector256<T>.Zero, dst);
            Vector128.Store(Vector128<T>.Zero, dst + 8);
        }
    }

    /// <summary>
    /// dst[r] = alpha src[r] for 12 consecutive values (AVX-512 machines only): the scalar loop's
    /// products, each correctly rounded, so the same bits (the fused SGD step packs A^T scaled by
    /// the negative step size).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale12<T>(T* src, T* dst, T alpha) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            Vector512.Store(Vector512.Load(src) * Vector512.Create(alpha), dst);
            Vector256.Store(Vector256.Load(src + 8) * Vector256.Create(alpha), dst + 8);
        }
        else
        {
            Vector256.Store(Vector256.Load(src) * Vector256.Create(alpha), dst);
            Vector128.Store(Vector128.Load(src + 8) * Vector128.Create(alpha), dst + 8);
        }
    }

    /// <summary>Copies MR consecutive values (12 on AVX-512 machines, 6 on AVX2, 4 otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy12<T>(T* src, T* dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Simd.Use512 && typeof(T) == typeof(double))
        {
            Vector512.Store(Vector512.Load(src), dst);
            Vector256.Store(Vector256.Load(src + 8), dst + 8);
        }
        else if (Simd.Use512)
        {
            Vector256.Store(Vector256.Load(src), dst);
            Vector128.Store(Vector128.Load(src + 8), dst + 8);
        }
        else new ReadOnlySpan<T>(src, Config<T>.MR).CopyTo(new Span<T>(dst, Config<T>.MR));
    }

    /// <summary>
    /// Packs rows p0..p0+kc, columns j0..j0+nc of op(B) into NR-wide micro-panels: panel q holds,
    /// for each p, the NR values op(B)[p0 + p, j0 + q NR + j] (zero past nc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB<T>(bool tb, T* b, nint ldb, int p0, int kc, int j0, int nc, T* dst, int NR)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int jr = 0; jr < nc; jr += NR)
        {
            int cols = Math.Min(NR, nc - jr);
            if (!tb)
            {
                // op(B)[p, j] = B[p ldb + j]: each step copies NR consecutive values.
                for (int p = 0; p < kc; p++)
                {
                    T* src = b + (p0 + p) * ldb + j0 + jr;
                    T* d = dst + p * NR;
                    if (Simd.Use512)
                    {
                        int w = Vector512<T>.Count;
                        if (cols == NR)
                        {
                            Vector512.Store(Vector512.Load(src), d);
                            Vector512.Store(Vector512.Load(src + w), d + w);
                        }
                        else
                        {
                            // Zero the panel's row, then copy what there is (a vector where it fits).
                            Vector512.Store(Vector512<T>.Zero, d);
                            Vector512.Store(Vector512<T>.Zero, d + w);
                            int j = 0;
                            if (cols >= w) { Vector512.Store(Vector512.Load(src), d); j = w; }
                            for (; j < cols; j++) d[j] = src[j];
                        }
                    }
                    else if (cols == NR) new ReadOnlySpan<T>(src, NR).CopyTo(new Span<T>(d, NR));
                    else
                    {
                        for (int j = 0; j < cols; j++) d[j] = src[j];
                        for (int j = cols; j < NR; j++) d[j] = T.Zero;
                    }
                }
            }
            else if (cols == NR && NR % 4 == 0 && Avx.IsSupported)
            {
                // op(B)[p, j] = B[j ldb + p]: NR rows of B, transposed 4 x 4 in registers.
                PackTransposed(b + (j0 + jr) * ldb + p0, ldb, NR, kc, T.One, false, dst);
            }
            else
            {
                // op(B)[p, j] = B[j ldb + p]: each column of op(B) is a row of B, read in order.
                for (int j = 0; j < cols; j++)
                {
                    T* src = b + (j0 + jr + j) * ldb + p0;
                    T* d = dst + j;
                    for (int p = 0; p < kc; p++) d[p * NR] = src[p];
                }
                for (int j = cols; j < NR; j++)
                    for (int p = 0; p < kc; p++) dst[p * NR + j] = T.Zero;
            }
            dst += NR * kc;
        }
    }
}
