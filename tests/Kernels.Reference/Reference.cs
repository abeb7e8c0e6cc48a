using System.Numerics;

namespace Functional.NN.Kernels;

/// <summary>
/// Simple, obviously correct loops for every kernel, computed in double whatever T is: the oracle
/// the fast kernels are tested against. Slow; not for production use.
/// </summary>
public static class Reference
{
    private static double D<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => double.CreateTruncating(x);
    private static T Of<T>(double x) where T : unmanaged, IFloatingPointIeee754<T> => T.CreateTruncating(x);

    /// <summary>C = alpha op(A) op(B) + beta C by the triple loop (beta = 0: C is not read).</summary>
    public static void Gemm<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0.0;
                for (int p = 0; p < k; p++)
                {
                    double aip = D(transA ? a[p * lda + i] : a[i * lda + p]);
                    double bpj = D(transB ? b[j * ldb + p] : b[p * ldb + j]);
                    s += aip * bpj;
                }
                double old = beta == T.Zero ? 0.0 : D(beta) * D(c[i * ldc + j]);
                c[i * ldc + j] = Of<T>(D(alpha) * s + old);
            }
    }

    /// <summary>s(z) as the core defines it; NaN stays NaN (torch.relu(nan) = nan, by hand for the others).</summary>
    public static double Value(ActivationKind kind, double slope, double z) => kind switch
    {
        ActivationKind.Identity => z,
        ActivationKind.Sigmoid => z >= 0 ? 1.0 / (1.0 + Math.Exp(-z)) : Math.Exp(z) / (1.0 + Math.Exp(z)),
        ActivationKind.Tanh => Math.Tanh(z),
        ActivationKind.ReLU => double.IsNaN(z) || z > 0 ? z : 0.0,
        ActivationKind.LeakyReLU => z > 0 ? z : slope * z,
        ActivationKind.Softplus => z > 0 ? z + double.LogP1(Math.Exp(-z)) : double.LogP1(Math.Exp(z)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>s'(z) as the core defines it, from z and a = s(z).</summary>
    public static double Derivative(ActivationKind kind, double slope, double z, double a) => kind switch
    {
        ActivationKind.Identity => 1.0,
        ActivationKind.Sigmoid => a * (1.0 - a),
        ActivationKind.Tanh => 1.0 - a * a,
        ActivationKind.ReLU => z > 0 ? 1.0 : 0.0,
        ActivationKind.LeakyReLU => z > 0 ? 1.0 : slope,
        ActivationKind.Softplus => Value(ActivationKind.Sigmoid, slope, z),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>z[i, j] &lt;- z[i, j] + bias[j]; a[i, j] &lt;- s(z[i, j]).</summary>
    public static void BiasActivate<T>(Span<T> z, Span<T> a, int rows, int cols, ReadOnlySpan<T> bias, ActivationKind kind, T slope)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                double zz = D(z[i * cols + j]) + (bias.IsEmpty ? 0.0 : D(bias[j]));
                z[i * cols + j] = Of<T>(zz);
                a[i * cols + j] = Of<T>(Value(kind, D(slope), D(Of<T>(zz))));
            }
    }

    /// <summary>g[i] &lt;- g[i] s'(z[i]), from both z and a.</summary>
    public static void MultiplyByDerivative<T>(Span<T> g, ReadOnlySpan<T> a, ReadOnlySpan<T> z, ActivationKind kind, T slope)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < g.Length; i++) g[i] = Of<T>(D(g[i]) * Derivative(kind, D(slope), D(z[i]), D(a[i])));
    }

    /// <summary>sums[j] &lt;- alpha sum_i x[i, j] + beta sums[j].</summary>
    public static void ColumnSums<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> sums, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < cols; j++)
        {
            double s = 0.0;
            for (int i = 0; i < rows; i++) s += D(x[i * cols + j]);
            sums[j] = Of<T>(D(alpha) * s + (beta == T.Zero ? 0.0 : D(beta) * D(sums[j])));
        }
    }

    /// <summary>Softmax cross-entropy by the textbook formulas: softmax shifted by the row max, then -sum y log p.</summary>
    public static double SoftmaxCrossEntropy<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> y, Span<T> grad, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double loss = 0.0;
        var p = new double[cols];
        for (int i = 0; i < rows; i++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < cols; j++) max = Math.Max(max, D(logits[i * cols + j]));
            double s = 0.0;
            for (int j = 0; j < cols; j++) { p[j] = Math.Exp(D(logits[i * cols + j]) - max); s += p[j]; }
            double lse = max + Math.Log(s);
            double sy = 0.0;
            for (int j = 0; j < cols; j++)
            {
                double yj = D(y[i * cols + j]);
                sy += yj;
                loss += yj * (lse - D(logits[i * cols + j]));
            }
            for (int j = 0; j < cols; j++)
                grad[i * cols + j] = Of<T>((p[j] / s * sy - D(y[i * cols + j])) / rows);
        }
        return loss / rows;
    }

    /// <summary>Mean squared error (half: with the factor 1/2) and its gradient.</summary>
    public static double MeanSquaredError<T>(ReadOnlySpan<T> yhat, ReadOnlySpan<T> y, Span<T> grad, int rows, int cols, bool half)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double c = half ? 0.5 : 1.0, loss = 0.0;
        for (int i = 0; i < rows * cols; i++)
        {
            double d = D(yhat[i]) - D(y[i]);
            loss += c * d * d;
            grad[i] = Of<T>(2.0 * c * d / rows);
        }
        return loss / rows;
    }
}
