using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Functional.NN.Kernels;

/// <summary>The losses the fused kernels and the trainer compute (the core's conventions).</summary>
public enum LossKind
{
    /// <summary>L = 1/n sum_i sum_k y_ik (lse(z_i) - z_ik) on logits z; dL/dz = (softmax(z) sum_k y_ik - y)/n.</summary>
    SoftmaxCrossEntropy,
    /// <summary>L = 1/n sum (yhat - y)^2; dL/dyhat = 2 (yhat - y)/n.</summary>
    MeanSquaredError,
    /// <summary>L = 1/(2n) sum (yhat - y)^2; dL/dyhat = (yhat - y)/n.</summary>
    HalfMeanSquaredError,
    /// <summary>On probabilities p (clamped to [1e-15, 1 - 1e-15]): L = -1/n sum [y log p + (1 - y) log(1 - p)].</summary>
    BinaryCrossEntropy,
    /// <summary>On logits z: L = 1/n sum [max(z, 0) - z y + log(1 + e^-|z|)]; dL/dz = (sigmoid z - y)/n.</summary>
    BinaryCrossEntropyWithLogits,
    /// <summary>On margins m = y yhat, y in {-1, +1}: L = 1/n sum max(0, 1 - m).</summary>
    Hinge,
    /// <summary>L = 1/n sum 1/2 max(0, 1 - m)^2.</summary>
    SquaredHinge,
    /// <summary>L = 1/n sum log(1 + e^-m).</summary>
    Logistic,
}

/// <summary>
/// Fused loss passes over an n x k batch (one sample per row): the loss value and its gradient
/// with respect to the output in one pass.
/// </summary>
public static class Losses
{
    /// <summary>
    /// Numerically stable softmax cross-entropy of logits z (rows x cols) against targets y (one-hot
    /// or probability rows), by log-sum-exp: returns L = 1/n sum_i sum_k y_ik (lse(z_i) - z_ik) and
    /// writes grad = (softmax(z) sum_k y_ik - y)/n. <paramref name="grad"/> may be the same memory
    /// as <paramref name="logits"/>. The loss is accumulated in double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SoftmaxCrossEntropy<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> y, Span<T> grad, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
        => SoftmaxCrossEntropy(logits, y, grad, rows, cols, rows);

    /// <summary>
    /// Softmax cross-entropy of a slice of rows of a batch of <paramref name="batchRows"/> samples:
    /// the loss summed over the slice divided by batchRows, and the gradient with 1/batchRows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SoftmaxCrossEntropy<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> y, Span<T> grad, int rows, int cols, int batchRows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        CheckShapes(logits.Length, y.Length, grad.Length, rows, cols);
        if (batchRows < 1) throw new ArgumentOutOfRangeException(nameof(batchRows), batchRows, "batchRows must be >= 1.");
        if (rows == 0) return 0.0;
        T invN = T.One / T.CreateTruncating(batchRows);
        double total = 0.0;
        int w = Vector512<T>.Count;
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<T> z = logits.Slice(i * cols, cols);
            ReadOnlySpan<T> yr = y.Slice(i * cols, cols);
            Span<T> g = grad.Slice(i * cols, cols);
            // Pass 1: the row's maximum.
            T max = T.NegativeInfinity;
            int j = 0;
            if (Simd.Use512 && cols >= w)
            {
                var vm = Vector512.Create(T.NegativeInfinity);
                for (; j <= cols - w; j += w) vm = Vector512.Max(vm, Vector512.Create<T>(z.Slice(j)));
                max = HorizontalMax(vm);
            }
            for (; j < cols; j++) max = T.Max(max, z[j]);
            if (T.IsNegativeInfinity(max)) max = T.Zero;
            // Pass 2: e = exp(z - max) into grad; sum e, sum y, sum y z (z read before grad is written).
            T sum = T.Zero, sy = T.Zero, syz = T.Zero;
            j = 0;
            if (Simd.Use512 && cols >= w)
            {
                var vmax = Vector512.Create(max);
                Vector512<T> vs = default, vy = default, vyz = default;
                for (; j <= cols - w; j += w)
                {
                    var zv = Vector512.Create<T>(z.Slice(j));
                    var yv = Vector512.Create<T>(yr.Slice(j));
                    var e = Simd.Exp512(zv - vmax);
                    vs += e;
                    vy += yv;
                    vyz += yv * (zv - vmax);
                    e.CopyTo(g.Slice(j));
                }
                sum = Vector512.Sum(vs); sy = Vector512.Sum(vy); syz = Vector512.Sum(vyz);
            }
            for (; j < cols; j++)
            {
                T zj = z[j], yj = yr[j];
                T e = T.Exp(zj - max);
                sum += e;
                sy += yj;
                syz += yj * (zj - max);
                g[j] = e;
            }
            // lse - z = log(sum) - (z - max); the row's loss is sum_k y_k (log sum - (z_k - max)).
            T logSum = T.Log(sum);
            total += double.CreateTruncating(logSum * sy - syz);
            // Pass 3: grad = (e / sum * sy - y) / n.
            T scale = sy / sum * invN;
            j = 0;
            if (Simd.Use512 && cols >= w)
            {
                var vsc = Vector512.Create(scale);
                var vin = Vector512.Create(invN);
                for (; j <= cols - w; j += w)
                    (Vector512.Create<T>(g.Slice(j)) * vsc - Vector512.Create<T>(yr.Slice(j)) * vin).CopyTo(g.Slice(j));
            }
            for (; j < cols; j++) g[j] = g[j] * scale - yr[j] * invN;
        }
        return total / batchRows;
    }

    private static T HorizontalMax<T>(Vector512<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m = v[0];
        for (int i = 1; i < Vector512<T>.Count; i++) m = T.Max(m, v[i]);
        return m;
    }

    /// <summary>
    /// Mean squared error of yhat against y (rows x cols): returns L = c/n sum (yhat - y)^2 and
    /// writes grad = 2c (yhat - y)/n, with c = 1 (or 1/2 when <paramref name="half"/>).
    /// <paramref name="grad"/> may be the same memory as <paramref name="yhat"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double MeanSquaredError<T>(ReadOnlySpan<T> yhat, ReadOnlySpan<T> y, Span<T> grad, int rows, int cols, bool half)
        where T : unmanaged, IFloatingPointIeee754<T>
        => MeanSquaredError(yhat, y, grad, rows, cols, half, rows);

    /// <summary>Mean squared error of a slice of rows of a batch of <paramref name="batchRows"/> samples (divided by batchRows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double MeanSquaredError<T>(ReadOnlySpan<T> yhat, ReadOnlySpan<T> y, Span<T> grad, int rows, int cols, bool half, int batchRows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        CheckShapes(yhat.Length, y.Length, grad.Length, rows, cols);
        if (batchRows < 1) throw new ArgumentOutOfRangeException(nameof(batchRows), batchRows, "batchRows must be >= 1.");
        if (rows == 0) return 0.0;
        int count = rows * cols;
        T gscale = T.CreateTruncating(half ? 1.0 : 2.0) / T.CreateTruncating(batchRows);
        double total = 0.0;
        int j = 0;
        if (Simd.Use512)
        {
            int w = Vector512<T>.Count;
            var vg = Vector512.Create(gscale);
            Vector512<T> acc = default;
            // Sum in blocks so float sums do not lose much before they reach the double total.
            int block = 0;
            for (; j <= count - w; j += w)
            {
                var d = Vector512.Create<T>(yhat.Slice(j)) - Vector512.Create<T>(y.Slice(j));
                acc += d * d;
                (d * vg).CopyTo(grad.Slice(j));
                if (++block == 64) { total += double.CreateTruncating(Vector512.Sum(acc)); acc = default; block = 0; }
            }
            total += double.CreateTruncating(Vector512.Sum(acc));
        }
        for (; j < count; j++)
        {
            T d = yhat[j] - y[j];
            total += double.CreateTruncating(d * d);
            grad[j] = d * gscale;
        }
        return (half ? 0.5 : 1.0) * total / batchRows;
    }

    /// <summary>
    /// An element-wise loss (<see cref="Formulas.LossTerm"/>) of a slice of rows of a batch of
    /// <paramref name="batchRows"/> samples: returns the slice's share of the loss,
    /// scale/batchRows times the sum of its terms, and writes its gradient
    /// (<see cref="Formulas.LossGradient"/>). Each term and gradient element is evaluated in double
    /// and the gradient rounded once to T, as the core computes them; the sum runs row by row in double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double ElementWise<T>(LossKind kind, ReadOnlySpan<T> yhat, ReadOnlySpan<T> y, Span<T> grad, int rows, int cols, int batchRows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckShapes(yhat.Length, y.Length, grad.Length, rows, cols);
        if (batchRows < 1) throw new ArgumentOutOfRangeException(nameof(batchRows), batchRows, "batchRows must be >= 1.");
        if (kind == LossKind.SoftmaxCrossEntropy) throw new ArgumentException("Softmax cross-entropy is row-wise.", nameof(kind));
        int count = rows * cols;
        double n = batchRows, total = 0.0;
        for (int j = 0; j < count; j++)
        {
            double p = double.CreateTruncating(yhat[j]), t = double.CreateTruncating(y[j]);
            total += Formulas.LossTerm(kind, p, t);
            grad[j] = T.CreateTruncating(Formulas.LossGradient(kind, p, t, n));
        }
        return Formulas.LossScale(kind) * total / n;
    }

    private static void CheckShapes(int zLen, int yLen, int gLen, int rows, int cols)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"rows = {rows}, cols = {cols} must be >= 0.");
        long need = (long)rows * cols;
        if (zLen < need) throw new ArgumentException($"The output has {zLen} elements; {rows} x {cols} needs {need}.");
        if (yLen < need) throw new ArgumentException($"y has {yLen} elements; {rows} x {cols} needs {need}.", "y");
        if (gLen < need) throw new ArgumentException($"grad has {gLen} elements; {rows} x {cols} needs {need}.", "grad");
    }
}
