using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Functional.NN.Kernels;

/// <summary>
/// The element passes of the normalisation and dropout blocks on row-major blocks (one sample per
/// row), vectorised over eight columns at a time. Every value is computed in double whatever T is
/// and rounded to T once when stored, as the core's reference computes a float32 block (in
/// float64, rounded once per output and gradient). Each pass works on a range of rows or of
/// columns of the whole block (pointers at row 0), so that callers can split it over threads; an
/// element's value does not depend on the split (sums run down whole columns or along whole rows,
/// in one fixed order).
/// </summary>
/// <remarks>
/// Formulas (blocks-spec, as torch.nn.BatchNorm1d, torch.nn.LayerNorm and inverted dropout):
/// batch normalisation in training, per column j over the n rows: mu_j = mean_i X_ij,
/// var_j = mean_i (X_ij - mu_j)^2, r_j = 1/sqrt(var_j + eps), Xhat = (X - mu) r, Y = gamma Xhat + beta;
/// backward dgamma_j = sum_i G_ij Xhat_ij, dbeta_j = sum_i G_ij,
/// dX_ij = r_j gamma_j / n (n G_ij - dbeta_j - Xhat_ij dgamma_j) (the spec's form with H = G gamma,
/// since sum_k H_kj = gamma_j dbeta_j and sum_k H_kj Xhat_kj = gamma_j dgamma_j). In inference the
/// running statistics stand in for mu and var and dX = G gamma r. Layer normalisation is the same
/// along each row (with H kept: dX_ij = r_i / w (w H_ij - sum_k H_ik - Xhat_ij sum_k H_ik Xhat_ik)).
/// Dropout: Y = X (M s), dX = G (M s) with M from <see cref="Formulas.DropoutKeep"/> and
/// s = 1 / (1 - p) (the core's mask holds M s, so both round the same product).
/// </remarks>
public static unsafe class BlockPasses
{
    private const int Lanes = 8;

    private static bool Vector => Simd.Use512;

    /// <summary>Eight values of T from p as doubles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Load<T>(T* p) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) return Vector512.Load((double*)p);
        return Avx512F.ConvertToVector512Double(Vector256.Load((float*)p));
    }

    /// <summary>Eight doubles rounded to T (to nearest, as a scalar conversion) into p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(Vector512<double> v, T* p) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) Vector512.Store(v, (double*)p);
        else Vector256.Store(Avx512F.ConvertToVector256Single(v), (float*)p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Get<T>(T* p) where T : unmanaged
        => typeof(T) == typeof(double) ? *(double*)p : *(float*)p;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Set<T>(T* p, double v) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) *(double*)p = v;
        else *(float*)p = (float)v;
    }

    private static void CheckRange(int lo, int hi, int size, string what)
    {
        if (lo < 0 || hi < lo || hi > size)
            throw new ArgumentOutOfRangeException(what, $"{what} range {lo}..{hi} is outside 0..{size}.");
    }

    // ---------------------------------------------------------------------------------------------
    // Batch normalisation (column-local: split over columns)

    /// <summary>
    /// The forward pass of batch normalisation on columns c0..c1-1 of a rows x cols block X:
    /// in training (rows &gt;= 2) the batch statistics into mean, variance (biased) and rstd
    /// (1/sqrt(var + eps)); in inference mean = runningMean, rstd = 1/sqrt(runningVariance + eps)
    /// (variance untouched). Then Xhat = (X - mean) rstd into xhat and gamma Xhat + beta into y.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormForward<T>(T* x, T* y, T* xhat, int rows, int cols, int c0, int c1, T* gamma, T* beta, double epsilon,
        PassMode mode, T* runningMean, T* runningVariance, double* mean, double* variance, double* rstd) where T : unmanaged
    {
        CheckRange(c0, c1, cols, "columns");
        bool training = mode == PassMode.Training;
        if (training && rows < 2) throw new ArgumentOutOfRangeException(nameof(rows), rows, "Batch normalisation in training mode needs a batch of at least 2 rows.");
        double n = rows;
        int j = c0;
        if (Vector)
        {
            var veps = Vector512.Create(epsilon);
            for (; j <= c1 - Lanes; j += Lanes)
            {
                Vector512<double> mu, r;
                if (training)
                {
                    var s = Vector512<double>.Zero;
                    for (int i = 0; i < rows; i++) s += Load(x + (nint)i * cols + j);
                    mu = s / Vector512.Create(n);
                    var q = Vector512<double>.Zero;
                    for (int i = 0; i < rows; i++)
                    {
                        var d = Load(x + (nint)i * cols + j) - mu;
                        q += d * d;
                    }
                    var v = q / Vector512.Create(n);
                    r = Vector512<double>.One / Vector512.Sqrt(v + veps);
                    Vector512.Store(v, variance + j);
                }
                else
                {
                    mu = Load(runningMean + j);
                    r = Vector512<double>.One / Vector512.Sqrt(Load(runningVariance + j) + veps);
                }
                Vector512.Store(mu, mean + j);
                Vector512.Store(r, rstd + j);
                var g = Load(gamma + j);
                var b = Load(beta + j);
                for (int i = 0; i < rows; i++)
                {
                    nint o = (nint)i * cols + j;
                    var h = (Load(x + o) - mu) * r;
                    Store(h, xhat + o);
                    Store(g * h + b, y + o);
                }
            }
        }
        for (; j < c1; j++)
        {
            double mu, r;
            if (training)
            {
                double s = 0.0;
                for (int i = 0; i < rows; i++) s += Get(x + (nint)i * cols + j);
                mu = s / n;
                double q = 0.0;
                for (int i = 0; i < rows; i++)
                {
                    double d = Get(x + (nint)i * cols + j) - mu;
                    q += d * d;
                }
                double v = q / n;
                r = 1.0 / Math.Sqrt(v + epsilon);
                variance[j] = v;
            }
            else
            {
                mu = Get(runningMean + j);
                r = 1.0 / Math.Sqrt(Get(runningVariance + j) + epsilon);
            }
            mean[j] = mu;
            rstd[j] = r;
            double g = Get(gamma + j), b = Get(beta + j);
            for (int i = 0; i < rows; i++)
            {
                nint o = (nint)i * cols + j;
                double h = (Get(x + o) - mu) * r;
                Set(xhat + o, h);
                Set(y + o, g * h + b);
            }
        }
    }

    /// <summary>
    /// The running statistics after a training batch of <paramref name="rows"/> rows:
    /// runningMean = (1 - m) runningMean + m mean; runningVariance = (1 - m) runningVariance +
    /// m var n / (n - 1) (the unbiased variance, as PyTorch).
    /// </summary>
    public static void BatchNormUpdateRunning<T>(T* runningMean, T* runningVariance, double* mean, double* variance, int cols, int rows, double momentum)
        where T : unmanaged
    {
        if (rows < 2) throw new ArgumentOutOfRangeException(nameof(rows), rows, "Batch normalisation in training mode needs a batch of at least 2 rows.");
        double unbias = (double)rows / (rows - 1), keep = 1.0 - momentum;
        for (int j = 0; j < cols; j++)
        {
            Set(runningMean + j, keep * Get(runningMean + j) + momentum * mean[j]);
            Set(runningVariance + j, keep * Get(runningVariance + j) + momentum * (variance[j] * unbias));
        }
    }

    /// <summary>
    /// The backward pass of batch normalisation on columns c0..c1-1, from G (dL/dY), Xhat and rstd
    /// of the forward pass in the same mode: dgamma = sum_i G Xhat and dbeta = sum_i G into
    /// dgamma/dbeta; dX into dx unless it is null (in training r gamma / n (n G - dbeta - Xhat
    /// dgamma), in inference G gamma r). dx may be g (in place).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormBackward<T>(T* g, T* xhat, T* dx, int rows, int cols, int c0, int c1, T* gamma, double* rstd,
        PassMode mode, T* dgamma, T* dbeta) where T : unmanaged
    {
        CheckRange(c0, c1, cols, "columns");
        bool training = mode == PassMode.Training;
        double n = rows;
        int j = c0;
        if (Vector)
        {
            var vn = Vector512.Create(n);
            for (; j <= c1 - Lanes; j += Lanes)
            {
                Vector512<double> sg = Vector512<double>.Zero, sgx = Vector512<double>.Zero;
                for (int i = 0; i < rows; i++)
                {
                    nint o = (nint)i * cols + j;
                    var gv = Load(g + o);
                    sg += gv;
                    sgx += gv * Load(xhat + o);
                }
                Store(sgx, dgamma + j);
                Store(sg, dbeta + j);
                if (dx == null) continue;
                var gr = Load(gamma + j) * Vector512.Load(rstd + j);
                if (training)
                {
                    var c = gr / vn;
                    for (int i = 0; i < rows; i++)
                    {
                        nint o = (nint)i * cols + j;
                        Store(c * (vn * Load(g + o) - sg - Load(xhat + o) * sgx), dx + o);
                    }
                }
                else
                {
                    for (int i = 0; i < rows; i++)
                    {
                        nint o = (nint)i * cols + j;
                        Store(Load(g + o) * gr, dx + o);
                    }
                }
            }
        }
        for (; j < c1; j++)
        {
            double sg = 0.0, sgx = 0.0;
            for (int i = 0; i < rows; i++)
            {
                nint o = (nint)i * cols + j;
                double gv = Get(g + o);
                sg += gv;
                sgx += gv * Get(xhat + o);
            }
            Set(dgamma + j, sgx);
            Set(dbeta + j, sg);
            if (dx == null) continue;
            double gr = Get(gamma + j) * rstd[j];
            if (training)
            {
                double c = gr / n;
                for (int i = 0; i < rows; i++)
                {
                    nint o = (nint)i * cols + j;
                    Set(dx + o, c * (n * Get(g + o) - sg - Get(xhat + o) * sgx));
                }
            }
            else
            {
                for (int i = 0; i < rows; i++)
                {
                    nint o = (nint)i * cols + j;
                    Set(dx + o, Get(g + o) * gr);
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Layer normalisation (row-local forward and dX: split over rows; dgamma/dbeta over columns)

    /// <summary>The sum of the eight lanes, then of the scalar tail: one fixed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Sum(Vector512<double> v) => Vector512.Sum(v);

    /// <summary>
    /// The forward pass of layer normalisation on rows r0..r1-1 of a block of cols columns:
    /// per row mu, var (biased), rstd = 1/sqrt(var + eps) into mean/rstd (indexed by row),
    /// Xhat into xhat and gamma Xhat + beta into y.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNormForward<T>(T* x, T* y, T* xhat, int r0, int r1, int cols, T* gamma, T* beta, double epsilon,
        double* mean, double* rstd) where T : unmanaged
    {
        if (r0 < 0 || r1 < r0) throw new ArgumentOutOfRangeException(nameof(r1), $"rows {r0}..{r1} is not a range.");
        double w = cols;
        int vecEnd = Vector ? cols - cols % Lanes : 0;
        for (int i = r0; i < r1; i++)
        {
            T* xr = x + (nint)i * cols;
            var vs = Vector512<double>.Zero;
            for (int j = 0; j < vecEnd; j += Lanes) vs += Load(xr + j);
            double s = Sum(vs);
            for (int j = vecEnd; j < cols; j++) s += Get(xr + j);
            double mu = s / w;
            var vq = Vector512<double>.Zero;
            var vmu = Vector512.Create(mu);
            for (int j = 0; j < vecEnd; j += Lanes)
            {
                var d = Load(xr + j) - vmu;
                vq += d * d;
            }
            double q = Sum(vq);
            for (int j = vecEnd; j < cols; j++)
            {
                double d = Get(xr + j) - mu;
                q += d * d;
            }
            double r = 1.0 / Math.Sqrt(q / w + epsilon);
            mean[i] = mu;
            rstd[i] = r;
            T* yr = y + (nint)i * cols;
            T* hr = xhat + (nint)i * cols;
            var vr = Vector512.Create(r);
            for (int j = 0; j < vecEnd; j += Lanes)
            {
                var h = (Load(xr + j) - vmu) * vr;
                Store(h, hr + j);
                Store(Load(gamma + j) * h + Load(beta + j), yr + j);
            }
            for (int j = vecEnd; j < cols; j++)
            {
                double h = (Get(xr + j) - mu) * r;
                Set(hr + j, h);
                Set(yr + j, Get(gamma + j) * h + Get(beta + j));
            }
        }
    }

    /// <summary>
    /// dX of layer normalisation on rows r0..r1-1: with H = G gamma,
    /// dX_ij = r_i / w (w H_ij - sum_k H_ik - Xhat_ij sum_k H_ik Xhat_ik). dx may be g (in place).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNormBackwardInput<T>(T* g, T* xhat, T* dx, int r0, int r1, int cols, T* gamma, double* rstd) where T : unmanaged
    {
        if (r0 < 0 || r1 < r0) throw new ArgumentOutOfRangeException(nameof(r1), $"rows {r0}..{r1} is not a range.");
        double w = cols;
        int vecEnd = Vector ? cols - cols % Lanes : 0;
        var vw = Vector512.Create(w);
        for (int i = r0; i < r1; i++)
        {
            T* gr = g + (nint)i * cols;
            T* hr = xhat + (nint)i * cols;
            T* dr = dx + (nint)i * cols;
            Vector512<double> vh = Vector512<double>.Zero, vhx = Vector512<double>.Zero;
            for (int j = 0; j < vecEnd; j += Lanes)
            {
                var h = Load(gr + j) * Load(gamma + j);
                vh += h;
                vhx += h * Load(hr + j);
            }
            double sh = Sum(vh), shx = Sum(vhx);
            for (int j = vecEnd; j < cols; j++)
            {
                double h = Get(gr + j) * Get(gamma + j);
                sh += h;
                shx += h * Get(hr + j);
            }
            double c = rstd[i] / w;
            var vc = Vector512.Create(c);
            var vsh = Vector512.Create(sh);
            var vshx = Vector512.Create(shx);
            for (int j = 0; j < vecEnd; j += Lanes)
                Store(vc * (vw * (Load(gr + j) * Load(gamma + j)) - vsh - Load(hr + j) * vshx), dr + j);
            for (int j = vecEnd; j < cols; j++)
                Set(dr + j, c * (w * (Get(gr + j) * Get(gamma + j)) - sh - Get(hr + j) * shx));
        }
    }

    /// <summary>
    /// dgamma_j = sum_i G_ij Xhat_ij and dbeta_j = sum_i G_ij over rows r0..r1-1, for columns
    /// c0..c1-1 (a normalisation's parameter gradients), in row order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleShiftGradients<T>(T* g, T* xhat, int r0, int r1, int cols, int c0, int c1, T* dgamma, T* dbeta) where T : unmanaged
    {
        CheckRange(c0, c1, cols, "columns");
        int j = c0;
        if (Vector)
        {
            for (; j <= c1 - Lanes; j += Lanes)
            {
                Vector512<double> sg = Vector512<double>.Zero, sgx = Vector512<double>.Zero;
                for (int i = r0; i < r1; i++)
                {
                    nint o = (nint)i * cols + j;
                    var gv = Load(g + o);
                    sg += gv;
                    sgx += gv * Load(xhat + o);
                }
                Store(sgx, dgamma + j);
                Store(sg, dbeta + j);
            }
        }
        for (; j < c1; j++)
        {
            double sg = 0.0, sgx = 0.0;
            for (int i = r0; i < r1; i++)
            {
                nint o = (nint)i * cols + j;
                double gv = Get(g + o);
                sg += gv;
                sgx += gv * Get(xhat + o);
            }
            Set(dgamma + j, sgx);
            Set(dbeta + j, sg);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Dropout (row-local)

    /// <summary>SplitMix64's finaliser on eight lanes (<see cref="Formulas.Mix"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Mix(Vector512<ulong> z)
    {
        z = (z ^ Vector512.ShiftRightLogical(z, 30)) * Vector512.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ Vector512.ShiftRightLogical(z, 27)) * Vector512.Create(0x94D049BB133111EBUL);
        return z ^ Vector512.ShiftRightLogical(z, 31);
    }

    /// <summary>
    /// Training-mode dropout on rows r0..r1-1 (batch positions) of a block of cols columns: the
    /// mask of dropout block <paramref name="block"/> under <paramref name="key"/>
    /// (<see cref="Formulas.DropoutKeep"/>) into mask (1 kept, 0 dropped), and Y = X (M / (1 - p)) into y.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DropoutForward<T>(T* x, T* y, T* mask, int r0, int r1, int cols, ulong key, int block, double rate) where T : unmanaged
    {
        if (r0 < 0 || r1 < r0) throw new ArgumentOutOfRangeException(nameof(r1), $"rows {r0}..{r1} is not a range.");
        ulong threshold = Formulas.DropoutThreshold(rate);
        ulong blockKey = Formulas.DropoutBlockKey(key, block);
        double scale = 1.0 / (1.0 - rate);
        int vecEnd = Vector ? cols - cols % Lanes : 0;
        var vs = Vector512.Create(scale);
        var vt = Vector512.Create(threshold);
        var vkey = Vector512.Create(blockKey);
        var lanes = Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
        for (int i = r0; i < r1; i++)
        {
            T* xr = x + (nint)i * cols, yr = y + (nint)i * cols, mr = mask + (nint)i * cols;
            // Lane l of the vector at column j hashes blockKey xor (row << 32 | j + l).
            var h = Vector512.Create((ulong)(uint)i << 32) + lanes;
            var step = Vector512.Create((ulong)Lanes);
            for (int j = 0; j < vecEnd; j += Lanes, h += step)
            {
                var keep = Vector512.GreaterThanOrEqual(Vector512.ShiftRightLogical(Mix(h ^ vkey), 11), vt).AsDouble();
                var m = Vector512.ConditionalSelect(keep, Vector512<double>.One, Vector512<double>.Zero);
                Store(m, mr + j);
                Store(Load(xr + j) * (m * vs), yr + j);
            }
            for (int j = vecEnd; j < cols; j++)
            {
                double m = (Formulas.DropoutHash(blockKey, i, j) >> 11) >= threshold ? 1.0 : 0.0;
                Set(mr + j, m);
                Set(yr + j, Get(xr + j) * (m * scale));
            }
        }
    }

    /// <summary>dX = G (M / (1 - p)) on rows r0..r1-1 (the mask of the forward pass). dx may be g (in place).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DropoutBackward<T>(T* g, T* mask, T* dx, int r0, int r1, int cols, double rate) where T : unmanaged
    {
        double scale = 1.0 / (1.0 - rate);
        var vs = Vector512.Create(scale);
        long start = (long)r0 * cols, end = (long)r1 * cols;
        long j = start;
        if (Vector)
            for (; j <= end - Lanes; j += Lanes)
                Store(Load(g + j) * (Load(mask + j) * vs), dx + j);
        for (; j < end; j++) Set(dx + j, Get(g + j) * (Get(mask + j) * scale));
    }

    // ---------------------------------------------------------------------------------------------
    // Residual sums

    /// <summary>c[i] = a[i] + b[i] for i in start..end-1 (c may be a or b).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add<T>(T* a, T* b, T* c, long start, long end) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long j = start;
        if (Vector)
        {
            int w = Vector512<T>.Count;
            for (; j <= end - w; j += w) Vector512.Store(Vector512.Load(a + j) + Vector512.Load(b + j), c + j);
        }
        for (; j < end; j++) c[j] = a[j] + b[j];
    }
}
