using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Functional.NN.Kernels;

/// <summary>How a <see cref="DenseTrainer{T}"/> uses the cores.</summary>
public enum TrainerParallelism
{
    /// <summary>Batch splitting for small layers and large batches, kernel splitting otherwise.</summary>
    Auto,
    /// <summary>Each matrix product large enough is split over the worker pool.</summary>
    Kernels,
    /// <summary>
    /// The batch's rows are split over the worker pool: each part runs forward and backward on its
    /// rows with single-threaded kernels and its own partial weight gradients, which are then summed.
    /// </summary>
    Batch,
    /// <summary>Everything on the calling thread.</summary>
    None,
}

/// <summary>One dense layer of a <see cref="DenseTrainer{T}"/>: its output width and activation.</summary>
/// <param name="Units">The layer's output width d_out (&gt;= 1).</param>
/// <param name="Activation">The element-wise activation applied after the bias.</param>
/// <param name="Slope">The leaky ReLU's slope for negative inputs (ignored by other activations).</param>
/// <param name="Bias">Whether the layer has a bias row (without one, its bias stays zero and is never updated).</param>
public readonly record struct DenseLayerSpec(int Units, ActivationKind Activation, double Slope = 0.01, bool Bias = true);

/// <summary>
/// A fast, allocation-free trainer for a dense network of fixed shape and batch size, in float or
/// double. It owns every buffer (weights and biases as flat row-major arrays, pre-activations,
/// activations, gradients), so a training step allocates nothing once the first step has run.
/// </summary>
/// <remarks>
/// Layer l maps an n x d_in batch (one sample per row) to n x d_out: Z = A W + b, A' = s(Z), with W
/// of shape d_in x d_out (row-major) and b of length d_out. Backward, with G = dL/dA':
/// D = G o s'(Z), dW = A^T D, db = colSums D, G_prev = D W^T. <c>Step</c> fuses the SGD
/// update into the weight-gradient product (W &lt;- W - rate A^T D), computing G_prev first from the
/// old W. The buffers are the trainer's own: copy them out (<see cref="CopyParameters"/>) before
/// handing them to code that expects immutable values. Not thread-safe: one thread at a time.
/// </remarks>
public sealed unsafe class DenseTrainer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _sizes;
    private readonly DenseLayerSpec[] _layers;
    private readonly T[] _slopes;
    private readonly bool[] _keepZ;
    private readonly T[][] _w, _b, _dw, _db, _z, _a, _g, _pz, _pa;
    private readonly T*[] _wp, _bp, _zp, _ap, _gp;

    /// <summary>The loss the trainer minimises.</summary>
    public LossKind Loss { get; }

    /// <summary>How steps use the cores (default <see cref="TrainerParallelism.Auto"/>).</summary>
    public TrainerParallelism Parallelism { get; set; } = TrainerParallelism.Auto;

    private readonly long _weightCount, _widthSum;
    private T[][][]? _dwPart, _dbPart;
    private readonly double[] _lossPart = new double[BatchParts];

    /// <summary>
    /// The number of row slices of a batch split over the cores: fixed, so that the result does not
    /// depend on how many threads run them (one thread runs both in turn).
    /// </summary>
    private const int BatchParts = 2;
    private BatchJob? _job;

    /// <summary>The largest number of rows a batch may have.</summary>
    public int BatchSize { get; }

    /// <summary>The number of dense layers.</summary>
    public int LayerCount => _layers.Length;

    /// <summary>The input width d_0.</summary>
    public int Inputs => _sizes[0];

    /// <summary>The output width d_L.</summary>
    public int Outputs => _sizes[^1];

    /// <summary>The width d_l of layer l's input (l = 0) or of the output of layer l - 1.</summary>
    public int Width(int index) => _sizes[index];

    /// <summary>Creates a trainer for a network with <paramref name="inputs"/> inputs and the given layers, all parameters zero.</summary>
    public DenseTrainer(int inputs, IReadOnlyList<DenseLayerSpec> layers, LossKind loss, int batchSize)
    {
        Simd.CheckType<T>();
        ArgumentNullException.ThrowIfNull(layers);
        if (inputs < 1) throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "inputs must be >= 1.");
        if (layers.Count < 1) throw new ArgumentException("A network needs at least one layer.", nameof(layers));
        for (int l = 0; l < layers.Count; l++)
            if (layers[l].Activation is < ActivationKind.Identity or > ActivationKind.Softplus)
                throw new ArgumentOutOfRangeException(nameof(layers), $"layer {l} uses the {layers[l].Activation} activation, which the kernels do not support.");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be >= 1.");
        for (int l = 0; l < layers.Count; l++)
            if (layers[l].Units < 1) throw new ArgumentOutOfRangeException(nameof(layers), $"layer {l} has {layers[l].Units} units; it needs at least 1.");
        Loss = loss;
        BatchSize = batchSize;
        int count = layers.Count;
        _layers = layers.ToArray();
        _sizes = new int[count + 1];
        _sizes[0] = inputs;
        for (int l = 0; l < count; l++) _sizes[l + 1] = _layers[l].Units;
        _slopes = new T[count];
        _keepZ = new bool[count];
        _w = new T[count][]; _b = new T[count][]; _dw = new T[count][]; _db = new T[count][];
        _z = new T[count][]; _a = new T[count][]; _g = new T[count][]; _pz = new T[count][]; _pa = new T[count][];
        _wp = new T*[count]; _bp = new T*[count]; _zp = new T*[count]; _ap = new T*[count]; _gp = new T*[count];
        for (int l = 0; l < count; l++) _weightCount += (long)_sizes[l] * _sizes[l + 1];
        for (int l = 0; l <= count; l++) _widthSum += _sizes[l];
        for (int l = 0; l < count; l++)
        {
            int din = _sizes[l], dout = _sizes[l + 1];
            _slopes[l] = T.CreateTruncating(_layers[l].Slope);
            _keepZ[l] = !Activations.DerivativeFromOutput(_layers[l].Activation, _layers[l].Slope);
            _w[l] = Pinned(din * dout); _b[l] = Pinned(dout);
            _dw[l] = Pinned(din * dout); _db[l] = Pinned(dout);
            _a[l] = Pinned(batchSize * dout);
            _z[l] = _keepZ[l] ? Pinned(batchSize * dout) : _a[l];
            _g[l] = Pinned(batchSize * dout);
            _pa[l] = Pinned(dout);
            _pz[l] = _keepZ[l] ? Pinned(dout) : _pa[l];
            _wp[l] = Ptr(_w[l]); _bp[l] = Ptr(_b[l]); _zp[l] = Ptr(_z[l]); _ap[l] = Ptr(_a[l]); _gp[l] = Ptr(_g[l]);
        }
    }

    /// <summary>Creates a trainer from layer widths d_0..d_L, one activation per layer (and leaky ReLU slopes, or null for 0.01).</summary>
    public DenseTrainer(int[] sizes, ActivationKind[] activations, double[]? slopes, LossKind loss, int batchSize)
        : this(CheckSizes(sizes, activations), Specs(sizes, activations, slopes), loss, batchSize) { }

    private static int CheckSizes(int[] sizes, ActivationKind[] activations)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(activations);
        if (sizes.Length < 2) throw new ArgumentException("sizes needs the input width and at least one layer width.", nameof(sizes));
        if (activations.Length != sizes.Length - 1)
            throw new ArgumentException($"{sizes.Length - 1} layers need {sizes.Length - 1} activations; got {activations.Length}.", nameof(activations));
        return sizes[0];
    }

    private static DenseLayerSpec[] Specs(int[] sizes, ActivationKind[] activations, double[]? slopes)
    {
        if (slopes is not null && slopes.Length != activations.Length)
            throw new ArgumentException($"{activations.Length} layers need {activations.Length} slopes; got {slopes.Length}.", nameof(slopes));
        var specs = new DenseLayerSpec[activations.Length];
        for (int l = 0; l < specs.Length; l++) specs[l] = new DenseLayerSpec(sizes[l + 1], activations[l], slopes?[l] ?? 0.01);
        return specs;
    }

    private static T[] Pinned(int length) => GC.AllocateArray<T>(Math.Max(length, 1), pinned: true);
    private static T* Ptr(T[] array) => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));

    /// <summary>Layer l's weights, d_in x d_out row-major: the trainer's own buffer.</summary>
    public Span<T> Weights(int layer) => _w[layer].AsSpan(0, _sizes[layer] * _sizes[layer + 1]);

    /// <summary>Layer l's bias, length d_out: the trainer's own buffer.</summary>
    public Span<T> Biases(int layer) => _b[layer].AsSpan(0, _sizes[layer + 1]);

    /// <summary>dL/dW of layer l from the last <see cref="ComputeGradients"/>.</summary>
    public ReadOnlySpan<T> WeightGradients(int layer) => _dw[layer].AsSpan(0, _sizes[layer] * _sizes[layer + 1]);

    /// <summary>dL/db of layer l from the last <see cref="ComputeGradients"/>.</summary>
    public ReadOnlySpan<T> BiasGradients(int layer) => _db[layer].AsSpan(0, _sizes[layer + 1]);

    /// <summary>Copies a layer's weights (d_in x d_out) and bias (d_out) into the trainer.</summary>
    public void SetParameters(int layer, ReadOnlySpan<T> weights, ReadOnlySpan<T> bias)
    {
        if ((uint)layer >= (uint)_layers.Length) throw new ArgumentOutOfRangeException(nameof(layer), layer, $"The network has {_layers.Length} layers.");
        int din = _sizes[layer], dout = _sizes[layer + 1];
        if (weights.Length != din * dout) throw new ArgumentException($"Layer {layer} has {din} x {dout} weights; got {weights.Length} values.", nameof(weights));
        if (bias.Length != dout) throw new ArgumentException($"Layer {layer} has {dout} biases; got {bias.Length} values.", nameof(bias));
        weights.CopyTo(_w[layer]);
        bias.CopyTo(_b[layer]);
    }

    /// <summary>Copies a layer's weights and bias out of the trainer.</summary>
    public void CopyParameters(int layer, Span<T> weights, Span<T> bias)
    {
        Weights(layer).CopyTo(weights);
        Biases(layer).CopyTo(bias);
    }

    /// <summary>
    /// Sets every weight uniformly in +-sqrt(6 / (d_in + d_out)) (Glorot), every bias to zero, from
    /// a seeded generator (a convenience for benchmarks and tests).
    /// </summary>
    public void InitializeGlorot(int seed)
    {
        var rng = new Random(seed);
        for (int l = 0; l < _layers.Length; l++)
        {
            double r = Math.Sqrt(6.0 / (_sizes[l] + _sizes[l + 1]));
            Span<T> w = Weights(l);
            for (int i = 0; i < w.Length; i++) w[i] = T.CreateTruncating((2.0 * rng.NextDouble() - 1.0) * r);
            Biases(l).Clear();
        }
    }

    private void CheckBatch(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows, bool needY)
    {
        if (rows < 1 || rows > BatchSize) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"rows must be in 1..{BatchSize}.");
        if (x.Length < rows * Inputs) throw new ArgumentException($"x has {x.Length} values; {rows} rows of {Inputs} need {rows * Inputs}.", nameof(x));
        if (needY && y.Length < rows * Outputs) throw new ArgumentException($"y has {y.Length} values; {rows} rows of {Outputs} need {rows * Outputs}.", nameof(y));
    }

    /// <summary>
    /// The forward pass of <paramref name="rows"/> samples (x is rows x d_0): returns the network's
    /// output (rows x d_L, the trainer's buffer, valid until the next call).
    /// </summary>
    public ReadOnlySpan<T> Forward(ReadOnlySpan<T> x, int rows)
    {
        CheckBatch(x, default, rows, false);
        fixed (T* px = x) ForwardCore(px, rows);
        return _a[^1].AsSpan(0, rows * Outputs);
    }

    private bool KernelParallel => Parallelism != TrainerParallelism.None;

    /// <summary>Layer l's bias for the forward pass: empty (nothing added) for a layer without one.</summary>
    private ReadOnlySpan<T> BiasOf(int l) => _layers[l].Bias ? new ReadOnlySpan<T>(_bp[l], _sizes[l + 1]) : default;

    /// <summary>True when layer l has a bias row.</summary>
    public bool HasBias(int layer) => _layers[layer].Bias;

    private void ForwardCore(T* x, int rows) => ForwardRows(x, 0, rows, KernelParallel);

    /// <summary>The forward pass of rows r0..r0+rows of the batch (x points at row r0's input).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardRows(T* x, int r0, int rows, bool parallel)
    {
        T* input = x;
        for (int l = 0; l < _layers.Length; l++)
        {
            int din = _sizes[l], dout = _sizes[l + 1];
            T* z = _zp[l] + (nint)r0 * dout;
            T* a = _ap[l] + (nint)r0 * dout;
            Gemm.Run(false, false, rows, dout, din, T.One, input, din, _wp[l], dout, T.Zero, z, dout, parallel);
            Activations.BiasActivate(new Span<T>(z, rows * dout), new Span<T>(a, rows * dout), rows, dout,
                BiasOf(l), _layers[l].Activation, _slopes[l]);
            input = a;
        }
    }

    /// <summary>The loss of the last forward pass against y, with dL/dOutput into the last gradient buffer.</summary>
    private double LossAndOutputGradient(T* y, int rows) => LossRows(y, 0, rows, rows);

    /// <summary>Loss (summed over rows r0..r0+rows, divided by batchRows) and dL/dOutput for those rows; y points at row r0.</summary>
    private double LossRows(T* y, int r0, int rows, int batchRows)
    {
        int last = _layers.Length - 1, k = Outputs;
        var output = new ReadOnlySpan<T>(_ap[last] + (nint)r0 * k, rows * k);
        var target = new ReadOnlySpan<T>(y, rows * k);
        var grad = new Span<T>(_gp[last] + (nint)r0 * k, rows * k);
        return Loss switch
        {
            LossKind.SoftmaxCrossEntropy => Losses.SoftmaxCrossEntropy(output, target, grad, rows, k, batchRows),
            LossKind.MeanSquaredError => Losses.MeanSquaredError(output, target, grad, rows, k, false, batchRows),
            LossKind.HalfMeanSquaredError => Losses.MeanSquaredError(output, target, grad, rows, k, true, batchRows),
            _ => Losses.ElementWise(Loss, output, target, grad, rows, k, batchRows),
        };
    }

    /// <summary>D = G o s'(Z) in place, for layer l.</summary>
    private void ThroughActivation(int l, int rows) => ThroughActivationRows(l, 0, rows);

    private void ThroughActivationRows(int l, int r0, int rows)
    {
        int dout = _sizes[l + 1], count = rows * dout;
        nint off = (nint)r0 * dout;
        Activations.MultiplyByDerivative(new Span<T>(_gp[l] + off, count), new ReadOnlySpan<T>(_ap[l] + off, count),
            _keepZ[l] ? new ReadOnlySpan<T>(_zp[l] + off, count) : default, _layers[l].Activation, _slopes[l]);
    }

    /// <summary>True when this batch is split by rows over the worker pool.</summary>
    private bool UseBatchParallel(int rows)
    {
        // Decided by the sizes alone, never by the number of threads, so that the partial sums (and
        // so the bits of the result) are the same on one core or many.
        if (rows < 2 * 32) return false;
        return Parallelism switch
        {
            TrainerParallelism.Batch => true,
            // Small layers: the summed partial gradients cost little next to the per-row work.
            TrainerParallelism.Auto => _weightCount * 8 <= (long)rows * _widthSum,
            _ => false,
        };
    }

    /// <summary>
    /// Forward, loss and backward of rows r0..r0+rows on the calling thread, with the weight and
    /// bias gradients of these rows into dw/db; returns their share of the loss.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double PartRows(T* x, T* y, int r0, int rows, int batchRows, T[][] dw, T[][] db)
    {
        ForwardRows(x + (nint)r0 * Inputs, r0, rows, false);
        double loss = LossRows(y + (nint)r0 * Outputs, r0, rows, batchRows);
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            int din = _sizes[l], dout = _sizes[l + 1];
            ThroughActivationRows(l, r0, rows);
            T* d = _gp[l] + (nint)r0 * dout;
            T* input = l == 0 ? x + (nint)r0 * din : _ap[l - 1] + (nint)r0 * din;
            if (l > 0) Gemm.Run(false, true, rows, din, dout, T.One, d, dout, _wp[l], dout, T.Zero, _gp[l - 1] + (nint)r0 * din, din, false);
            fixed (T* pdw = dw[l])
                Gemm.Run(true, false, din, dout, rows, T.One, input, din, d, dout, T.Zero, pdw, dout, false);
            Reductions.ColumnSums(new ReadOnlySpan<T>(d, rows * dout), rows, dout, db[l].AsSpan(0, dout), T.One, T.Zero);
        }
        return loss;
    }

    private sealed class BatchJob(DenseTrainer<T> owner) : IParallelJob
    {
        public T* X, Y;
        public int Rows;

        public void Execute(int part, int parts)
        {
            int r0 = (int)((long)Rows * part / parts), r1 = (int)((long)Rows * (part + 1) / parts);
            owner._lossPart[part] = r1 > r0 ? owner.PartRows(X, Y, r0, r1 - r0, Rows, owner._dwPart![part], owner._dbPart![part]) : 0.0;
        }
    }

    /// <summary>Runs the batch split by rows; the partial gradients are left in _dwPart/_dbPart. Returns the loss.</summary>
    private double BatchParallel(T* x, T* y, int rows, out int parts)
    {
        parts = BatchParts;
        if (_dwPart is null || _dwPart.Length < parts)
        {
            _dwPart = new T[parts][][];
            _dbPart = new T[parts][][];
            for (int t = 0; t < parts; t++)
            {
                _dwPart[t] = new T[_layers.Length][];
                _dbPart[t] = new T[_layers.Length][];
                for (int l = 0; l < _layers.Length; l++)
                {
                    _dwPart[t][l] = Pinned(_sizes[l] * _sizes[l + 1]);
                    _dbPart[t][l] = Pinned(_sizes[l + 1]);
                }
            }
        }
        _job ??= new BatchJob(this);
        _job.X = x; _job.Y = y; _job.Rows = rows;
        WorkerPool.Run(_job, parts);
        _job.X = null; _job.Y = null;
        double loss = 0.0;
        for (int t = 0; t < parts; t++) loss += _lossPart[t];
        return loss;
    }

    /// <summary>
    /// One step of plain gradient descent on a batch of <paramref name="rows"/> samples (x is rows x
    /// d_0, y is rows x d_L): forward, loss, backward and the update W &lt;- W - rate dW,
    /// b &lt;- b - rate db. Returns the batch's loss before the update. Allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Step(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows, T learningRate)
    {
        CheckBatch(x, y, rows, true);
        fixed (T* px = x)
        fixed (T* py = y)
        {
            T minusRate = -learningRate;
            if (UseBatchParallel(rows))
            {
                double total = BatchParallel(px, py, rows, out int parts);
                for (int l = 0; l < _layers.Length; l++)
                    for (int t = 0; t < parts; t++)
                    {
                        Reductions.Axpy(minusRate, _dwPart![t][l].AsSpan(0, _sizes[l] * _sizes[l + 1]), Weights(l));
                        if (_layers[l].Bias) Reductions.Axpy(minusRate, _dbPart![t][l].AsSpan(0, _sizes[l + 1]), Biases(l));
                    }
                return total;
            }
            ForwardCore(px, rows);
            double loss = LossAndOutputGradient(py, rows);
            for (int l = _layers.Length - 1; l >= 0; l--)
            {
                int din = _sizes[l], dout = _sizes[l + 1];
                ThroughActivation(l, rows);
                T* d = _gp[l];
                T* input = l == 0 ? px : _ap[l - 1];
                // G_prev = D W^T, from the weights before this step's update.
                if (l > 0) Gemm.Run(false, true, rows, din, dout, T.One, d, dout, _wp[l], dout, T.Zero, _gp[l - 1], din, KernelParallel);
                // W <- W - rate A^T D; b <- b - rate colSums D.
                Gemm.Run(true, false, din, dout, rows, minusRate, input, din, d, dout, T.One, _wp[l], dout, KernelParallel);
                if (_layers[l].Bias)
                    Reductions.ColumnSums(new ReadOnlySpan<T>(d, rows * dout), rows, dout, new Span<T>(_bp[l], dout), minusRate, T.One);
            }
            return loss;
        }
    }

    /// <summary>A step on a full batch (<see cref="BatchSize"/> rows).</summary>
    public double Step(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T learningRate) => Step(x, y, BatchSize, learningRate);

    /// <summary>
    /// The loss on a batch of <paramref name="rows"/> samples at the current parameters: a forward
    /// pass and the loss, nothing else (the parameters and gradients are not changed). Allocates nothing.
    /// </summary>
    public double EvaluateLoss(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows)
    {
        CheckBatch(x, y, rows, true);
        fixed (T* px = x)
        fixed (T* py = y)
        {
            ForwardCore(px, rows);
            return LossAndOutputGradient(py, rows);
        }
    }

    /// <summary>
    /// The loss and its gradient with respect to every weight and bias on a batch of
    /// <paramref name="rows"/> samples, into <see cref="WeightGradients"/> and
    /// <see cref="BiasGradients"/>; the parameters are not changed. Allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double ComputeGradients(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows)
    {
        CheckBatch(x, y, rows, true);
        fixed (T* px = x)
        fixed (T* py = y)
        {
            if (UseBatchParallel(rows))
            {
                double total = BatchParallel(px, py, rows, out int parts);
                for (int l = 0; l < _layers.Length; l++)
                {
                    Span<T> dw = _dw[l].AsSpan(0, _sizes[l] * _sizes[l + 1]), db = _db[l].AsSpan(0, _sizes[l + 1]);
                    _dwPart![0][l].AsSpan(0, dw.Length).CopyTo(dw);
                    _dbPart![0][l].AsSpan(0, db.Length).CopyTo(db);
                    for (int t = 1; t < parts; t++)
                    {
                        Reductions.Axpy(T.One, _dwPart[t][l].AsSpan(0, dw.Length), dw);
                        Reductions.Axpy(T.One, _dbPart[t][l].AsSpan(0, db.Length), db);
                    }
                }
                return total;
            }
            ForwardCore(px, rows);
            double loss = LossAndOutputGradient(py, rows);
            for (int l = _layers.Length - 1; l >= 0; l--)
            {
                int din = _sizes[l], dout = _sizes[l + 1];
                ThroughActivation(l, rows);
                T* d = _gp[l];
                T* input = l == 0 ? px : _ap[l - 1];
                if (l > 0) Gemm.Run(false, true, rows, din, dout, T.One, d, dout, _wp[l], dout, T.Zero, _gp[l - 1], din, KernelParallel);
                fixed (T* dw = _dw[l])
                    Gemm.Run(true, false, din, dout, rows, T.One, input, din, d, dout, T.Zero, dw, dout, KernelParallel);
                Reductions.ColumnSums(new ReadOnlySpan<T>(d, rows * dout), rows, dout, _db[l].AsSpan(0, dout), T.One, T.Zero);
            }
            return loss;
        }
    }

    /// <summary>
    /// The network's output for one sample (x has d_0 values; output gets d_L), on the calling
    /// thread only, allocating nothing: the low-latency prediction path. With
    /// <paramref name="parallel"/> the larger layers are split over the worker pool.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Predict(ReadOnlySpan<T> x, Span<T> output, bool parallel = false)
    {
        if (x.Length < Inputs) throw new ArgumentException($"x has {x.Length} values; the network has {Inputs} inputs.", nameof(x));
        if (output.Length < Outputs) throw new ArgumentException($"output has {output.Length} values; the network has {Outputs} outputs.", nameof(output));
        fixed (T* px = x)
        {
            T* input = px;
            for (int l = 0; l < _layers.Length; l++)
            {
                int din = _sizes[l], dout = _sizes[l + 1];
                fixed (T* pz = _pz[l])
                fixed (T* pa = _pa[l])
                {
                    Gemm.Run(false, false, 1, dout, din, T.One, input, din, _wp[l], dout, T.Zero, pz, dout, parallel);
                    Activations.BiasActivate(new Span<T>(pz, dout), new Span<T>(pa, dout), 1, dout,
                        BiasOf(l), _layers[l].Activation, _slopes[l]);
                    input = pa;
                }
            }
            new ReadOnlySpan<T>(input, Outputs).CopyTo(output);
        }
    }
}
