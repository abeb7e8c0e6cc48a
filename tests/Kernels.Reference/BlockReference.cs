namespace Functional.NN.Kernels;

/// <summary>
/// A network of blocks computed by the formulas of blocks-spec (as torch.nn.Linear, BatchNorm1d,
/// LayerNorm, inverted dropout and x + f(x)) with plain loops in double, every block output and
/// gradient rounded once by <c>round</c> (identity for float64, to float32 for float32 networks,
/// as the core's reference computes): the oracle of the kernel trainer's blocks. Slow; tests only.
/// </summary>
/// <remarks>
/// Parameters and state are segments in the core's flat order (blocks in order, depth first into
/// residuals; a dense layer's weights row by row then its bias, a normalisation's gamma then beta;
/// state: each batch normalisation's running mean then running variance).
/// </remarks>
public sealed class BlockReference
{
    private readonly IReadOnlyList<KernelBlock> _blocks;
    private readonly int _inputs;
    private readonly Func<double, double> _round;
    private double[][] _param = Array.Empty<double[]>(), _grad = Array.Empty<double[]>(), _state = Array.Empty<double[]>();
    private int _seg, _stateSeg, _dropout;
    private PassMode _mode;
    private ulong _key;
    private int _rows;
    private readonly List<Func<double[], double[]>> _tape = new();

    /// <summary>A reference network of the blocks with the given input width and rounding.</summary>
    public BlockReference(int inputs, IReadOnlyList<KernelBlock> blocks, Func<double, double> round)
    {
        _inputs = inputs;
        _blocks = blocks;
        _round = round;
    }

    /// <summary>The result of one pass.</summary>
    public sealed record Result(double Loss, double[] Output, double[][] Gradients, double[] InputGradient, double[][] State);

    /// <summary>
    /// Forward (in the mode, dropout masks from key), the loss against y (rows x outputs), backward:
    /// the loss, the output, the parameter gradients, dL/dX and the state after the pass (in
    /// training mode the running statistics updated, as a training step does).
    /// </summary>
    public Result Run(double[][] parameters, double[][] state, double[] x, double[] y, int rows, LossKind loss, PassMode mode, ulong key)
    {
        _param = parameters;
        _grad = parameters.Select(p => new double[p.Length]).ToArray();
        _state = state.Select(s => (double[])s.Clone()).ToArray();
        _seg = 0; _stateSeg = 0; _dropout = 0;
        _mode = mode; _key = key; _rows = rows;
        _tape.Clear();
        int w = _inputs;
        double[] output = Sequence(_blocks, x.Take(rows * _inputs).ToArray(), ref w);
        var g = new double[rows * w];
        double value = loss switch
        {
            LossKind.SoftmaxCrossEntropy => Reference.SoftmaxCrossEntropy<double>(output, y, g, rows, w),
            LossKind.MeanSquaredError => Reference.MeanSquaredError<double>(output, y, g, rows, w, false),
            LossKind.HalfMeanSquaredError => Reference.MeanSquaredError<double>(output, y, g, rows, w, true),
            _ => throw new ArgumentOutOfRangeException(nameof(loss)),
        };
        g = R(g);
        for (int t = _tape.Count - 1; t >= 0; t--) g = _tape[t](g);
        return new Result(value, output, _grad, g, _state);
    }

    private double[] R(double[] a)
    {
        for (int i = 0; i < a.Length; i++) a[i] = _round(a[i]);
        return a;
    }

    private double[] Sequence(IReadOnlyList<KernelBlock> blocks, double[] x, ref int w)
    {
        foreach (var b in blocks) x = Block(b, x, ref w);
        return x;
    }

    private double[] Block(KernelBlock b, double[] x, ref int width)
    {
        int n = _rows, win = width, w = width;
        switch (b.Kind)
        {
            case BlockKind.Dense:
            {
                int dout = b.Units, sw = _seg++, sb = b.Bias ? _seg++ : -1;
                double[] W = _param[sw], bias = sb >= 0 ? _param[sb] : new double[dout];
                var z = new double[n * dout];
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < dout; j++)
                    {
                        double s = 0.0;
                        for (int p = 0; p < win; p++) s += x[i * win + p] * W[p * dout + j];
                        z[i * dout + j] = s + bias[j];
                    }
                R(z);
                var a = R(z.Select(v => Reference.Value(b.Activation, b.Slope, v)).ToArray());
                _tape.Add(g =>
                {
                    var d = R(g.Select((v, k) => v * Reference.Derivative(b.Activation, b.Slope, z[k], a[k])).ToArray());
                    for (int p = 0; p < win; p++)
                        for (int j = 0; j < dout; j++)
                        {
                            double s = 0.0;
                            for (int i = 0; i < n; i++) s += x[i * win + p] * d[i * dout + j];
                            _grad[sw][p * dout + j] = _round(s);
                        }
                    if (sb >= 0)
                        for (int j = 0; j < dout; j++)
                        {
                            double s = 0.0;
                            for (int i = 0; i < n; i++) s += d[i * dout + j];
                            _grad[sb][j] = _round(s);
                        }
                    var dx = new double[n * win];
                    for (int i = 0; i < n; i++)
                        for (int p = 0; p < win; p++)
                        {
                            double s = 0.0;
                            for (int j = 0; j < dout; j++) s += d[i * dout + j] * W[p * dout + j];
                            dx[i * win + p] = s;
                        }
                    return R(dx);
                });
                width = dout;
                return a;
            }
            case BlockKind.Activation:
            {
                var a = R(x.Select(v => Reference.Value(b.Activation, b.Slope, v)).ToArray());
                _tape.Add(g => R(g.Select((v, k) => v * Reference.Derivative(b.Activation, b.Slope, x[k], a[k])).ToArray()));
                return a;
            }
            case BlockKind.Dropout:
            {
                if (_mode == PassMode.Inference) { _dropout++; _tape.Add(g => g); return x; }
                int block = _dropout++;
                double scale = 1.0 / (1.0 - b.Rate);
                var m = new double[n * w];
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < w; j++)
                        m[i * w + j] = Formulas.DropoutKeep(_key, block, i, j, b.Rate) ? 1.0 : 0.0;
                _tape.Add(g => R(g.Select((v, k) => v * (m[k] * scale)).ToArray()));
                return R(x.Select((v, k) => v * (m[k] * scale)).ToArray());
            }
            case BlockKind.BatchNorm:
            {
                int sg = _seg++, sbeta = _seg++, sm = _stateSeg++, sv = _stateSeg++;
                double[] gamma = _param[sg], beta = _param[sbeta];
                var mu = new double[w];
                var r = new double[w];
                var xhat = new double[n * w];
                bool training = _mode == PassMode.Training;
                for (int j = 0; j < w; j++)
                {
                    if (training)
                    {
                        double s = 0.0;
                        for (int i = 0; i < n; i++) s += x[i * w + j];
                        mu[j] = s / n;
                        double q = 0.0;
                        for (int i = 0; i < n; i++) q += (x[i * w + j] - mu[j]) * (x[i * w + j] - mu[j]);
                        double var = q / n;
                        r[j] = 1.0 / Math.Sqrt(var + b.Epsilon);
                        double m = b.Momentum;
                        _state[sm][j] = _round((1 - m) * _state[sm][j] + m * mu[j]);
                        _state[sv][j] = _round((1 - m) * _state[sv][j] + m * var * n / (n - 1));
                    }
                    else
                    {
                        mu[j] = _state[sm][j];
                        r[j] = 1.0 / Math.Sqrt(_state[sv][j] + b.Epsilon);
                    }
                    for (int i = 0; i < n; i++) xhat[i * w + j] = (x[i * w + j] - mu[j]) * r[j];
                }
                var y = R(xhat.Select((h, k) => gamma[k % w] * h + beta[k % w]).ToArray());
                _tape.Add(g =>
                {
                    var dx = new double[n * w];
                    for (int j = 0; j < w; j++)
                    {
                        double dg = 0.0, db = 0.0, sh = 0.0, shx = 0.0;
                        for (int i = 0; i < n; i++)
                        {
                            double gij = g[i * w + j], h = gij * gamma[j];
                            dg += gij * xhat[i * w + j];
                            db += gij;
                            sh += h;
                            shx += h * xhat[i * w + j];
                        }
                        _grad[sg][j] = _round(dg);
                        _grad[sbeta][j] = _round(db);
                        for (int i = 0; i < n; i++)
                            dx[i * w + j] = training
                                ? r[j] / n * (n * g[i * w + j] * gamma[j] - sh - xhat[i * w + j] * shx)
                                : g[i * w + j] * gamma[j] * r[j];
                    }
                    return R(dx);
                });
                return y;
            }
            case BlockKind.LayerNorm:
            {
                int sg = _seg++, sbeta = _seg++;
                double[] gamma = _param[sg], beta = _param[sbeta];
                var r = new double[n];
                var xhat = new double[n * w];
                for (int i = 0; i < n; i++)
                {
                    double s = 0.0;
                    for (int j = 0; j < w; j++) s += x[i * w + j];
                    double mu = s / w, q = 0.0;
                    for (int j = 0; j < w; j++) q += (x[i * w + j] - mu) * (x[i * w + j] - mu);
                    r[i] = 1.0 / Math.Sqrt(q / w + b.Epsilon);
                    for (int j = 0; j < w; j++) xhat[i * w + j] = (x[i * w + j] - mu) * r[i];
                }
                var y = R(xhat.Select((h, k) => gamma[k % w] * h + beta[k % w]).ToArray());
                _tape.Add(g =>
                {
                    for (int j = 0; j < w; j++)
                    {
                        double dg = 0.0, db = 0.0;
                        for (int i = 0; i < n; i++) { dg += g[i * w + j] * xhat[i * w + j]; db += g[i * w + j]; }
                        _grad[sg][j] = _round(dg);
                        _grad[sbeta][j] = _round(db);
                    }
                    var dx = new double[n * w];
                    for (int i = 0; i < n; i++)
                    {
                        double sh = 0.0, shx = 0.0;
                        for (int j = 0; j < w; j++) { double h = g[i * w + j] * gamma[j]; sh += h; shx += h * xhat[i * w + j]; }
                        for (int j = 0; j < w; j++)
                            dx[i * w + j] = r[i] / w * (w * g[i * w + j] * gamma[j] - sh - xhat[i * w + j] * shx);
                    }
                    return R(dx);
                });
                return y;
            }
            default:
            {
                int start = _tape.Count, wi = w;
                var f = Sequence(b.Inner, x, ref wi);
                var inner = _tape.GetRange(start, _tape.Count - start).ToArray();
                _tape.RemoveRange(start, _tape.Count - start);
                _tape.Add(g =>
                {
                    var gi = g;
                    for (int t = inner.Length - 1; t >= 0; t--) gi = inner[t](gi);
                    return R(g.Select((v, k) => v + gi[k]).ToArray());
                });
                return R(x.Select((v, k) => v + f[k]).ToArray());
            }
        }
    }
}
