using System.Runtime.CompilerServices;

namespace Functional.NN.Kernels;

/// <summary>
/// Conversions between the core's layout (MathNet's column-major double storage) and the kernels'
/// (row-major, in the element type), split over the worker pool. Each value is converted on its
/// own (rounded to nearest for float), so the result does not depend on the split.
/// </summary>
public static unsafe class Layout
{
    private const int Tile = 16;

    /// <summary>
    /// dst[i * cols + j] = (T)src[j * rows + i] for a rows x cols matrix: a column-major double array
    /// into a row-major T array, transposed in tiles so that reads and writes stay within a few cache
    /// lines, the rows split over the worker pool. Returns false when a converted value is NaN or
    /// infinite (a NaN, an infinity, or a double beyond float's range; the caller then reports it,
    /// nothing is thrown here).
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

    private static void Gather<T>(T* src, T* dst, int* rows, int r0, int r1, int cols) where T : unmanaged
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
                            // Not finite once converted: NaN, an infinity, or beyond float's range.
                            T t = T.CreateTruncating(column[i]);
                            if (!T.IsFinite(t)) bad = true;
                            dst[(nint)i * cols + j] = t;
                        }
                    }
                }
            }
            if (bad) _bad = true;
        }
    }
}
