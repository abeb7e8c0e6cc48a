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
/// Writes dF/dOutput (rows x outputs, row-major) of a function F of a network's outputs, given the
/// outputs of a forward pass (<see cref="DenseTrainer{T}.InputGradientsOf"/>).
/// </summary>
public delegate void OutputGradient<T>(ReadOnlySpan<T> output, Span<T> gradient, int rows);

/// <summary>
/// A fast, allocation-free trainer for a network of blocks (dense layers with their activation
/// fused, activations, dropout, batch and layer normalisation, residual blocks) of fixed shape and
/// batch size, in float or double. It owns every buffer (parameters as flat row-major arrays,
/// running statistics, every block's outputs and gradients), so a training step allocates nothing
/// once the first step has run.
/// </summary>
/// <remarks>
/// The blocks are flattened into a sequence of operations on values (n x w buffers, one sample per
/// row); a residual block X + f(X) is a marker before its inner sequence and a sum after it.
/// Dense layer l maps an n x d_in batch to n x d_out: Z = A W + b, A' = s(Z), with W of shape
/// d_in x d_out (row-major) and b of length d_out. Backward, with G = dL/dA': D = G o s'(Z),
/// dW = A^T D, db = colSums D, G_prev = D W^T. The other blocks follow <see cref="BlockPasses"/>.
/// <c>Step</c> fuses the SGD update into the weight-gradient product (W &lt;- W - rate A^T D),
/// computing G_prev first from the old W. A network of dense layers only runs exactly the passes
/// it ran before blocks existed (same kernels, same order, same bits). The buffers are the
/// trainer's own: copy them out (<see cref="CopyParameters"/>) before handing them to code that
/// expects immutable values. Not thread-safe: one thread at a time.
/// Parameters are numbered in segments in the core's flat order (blocks in order, depth first into
/// residuals; a dense layer's weights row by row then its bias, a normalisation's gamma then beta);
/// the running statistics are state, not parameters (each batch normalisation's running mean then
/// running variance, in the same order).
/// </remarks>
public sealed unsafe class DenseTrainer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private enum OpKind : byte { Dense, Activation, Dropout, BatchNorm, LayerNorm, ResidualBegin, ResidualEnd }

    private struct Op
    {
        public OpKind Kind;
        /// <summary>The value read and the value written (a residual's begin marker writes none: Out = In).</summary>
        public int In, Out;
        /// <summary>ResidualEnd: the residual's input value X. ResidualBegin: its ResidualEnd's output value.</summary>
        public int Other;
        /// <summary>The index of the dense layer, activation, dropout or normalisation block among its kind.</summary>
        public int Index;
    }

    private readonly KernelBlock[] _blocks;
    private readonly Op[] _ops;
    private readonly bool _denseOnly, _hasBatchNorm;

    // Values: value 0 is the input x; every other value has its own buffer (_vp is where a pass
    // reads it: an identity dropout passes its input's pointer on). Gradient buffers may be shared
    // along a chain of in-place blocks (_gp).
    private readonly int[] _width;
    private readonly T[]?[] _valBuf, _gradBuf;
    private readonly T*[] _vp, _gp, _own;
    private readonly int _last;

    // Dense layers.
    private readonly int[] _sizes;
    private readonly DenseLayerSpec[] _layers;
    private readonly int[] _din, _dout;
    private readonly T[] _slopes;
    private readonly bool[] _keepZ;
    private readonly T[][] _w, _b, _dw, _db, _z, _pz, _pa;
    private readonly T*[] _wp, _bp, _zp;

    // Activation blocks.
    private readonly ActivationKind[] _actKind;
    private readonly T[] _actSlope;

    // Dropout blocks.
    private readonly double[] _rate;
    private readonly T[][] _mask;

    // Normalisation blocks (batch and layer).
    private readonly bool[] _isBatch;
    private readonly int[] _normWidth, _batchNormOf;
    private readonly double[] _momentum, _epsilon;
    private readonly T[][] _gamma, _beta, _dgamma, _dbeta, _runMean, _runVar, _xhat;
    private readonly double[][] _mean, _var, _rstd;

    // Parameter and state segments in the core's flat order.
    private readonly T[][] _segParam, _segGrad, _state;

    /// <summary>The loss the trainer minimises.</summary>
    public LossKind Loss { get; }

    /// <summary>How steps use the cores (default <see cref="TrainerParallelism.Auto"/>).</summary>
    public TrainerParallelism Parallelism { get; set; } = TrainerParallelism.Auto;

    private readonly long _weightCount, _widthSum;
    private T[][][]? _dwPart, _dbPart, _dgammaPart, _dbetaPart;
    private readonly double[] _lossPart = new double[BatchParts];

    /// <summary>
    /// The number of row slices of a batch split over the cores: fixed, so that the result does not
    /// depend on how many threads run them (one thread runs both in turn).
    /// </summary>
    private const int BatchParts = 2;
    private BatchJob? _job;
    private readonly PassJob _passJob;

    /// <summary>The mode of the last forward pass (the backward pass follows it).</summary>
    private PassMode _mode = PassMode.Training;
    private ulong _key;
    private bool _inputGradients;

    /// <summary>The largest number of rows a batch may have.</summary>
    public int BatchSize { get; }

    /// <summary>The number of dense layers.</summary>
    public int LayerCount => _layers.Length;

    /// <summary>The network's blocks.</summary>
    public IReadOnlyList<KernelBlock> Blocks => _blocks;

    /// <summary>The input width d_0.</summary>
    public int Inputs => _width[0];

    /// <summary>The output width.</summary>
    public int Outputs => _width[_last];

    /// <summary>The width of dense layer l's input (l = 0: the network's input) or, for l = LayerCount, the last dense layer's output.</summary>
    public int Width(int index) => _sizes[index];

    /// <summary>Creates a trainer for a network with <paramref name="inputs"/> inputs and the given dense layers, all parameters zero.</summary>
    public DenseTrainer(int inputs, IReadOnlyList<DenseLayerSpec> layers, LossKind loss, int batchSize)
        : this(inputs, DenseBlocks(layers), loss, batchSize) { }

    private static KernelBlock[] DenseBlocks(IReadOnlyList<DenseLayerSpec> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count < 1) throw new ArgumentException("A network needs at least one layer.", nameof(layers));
        var blocks = new KernelBlock[layers.Count];
        for (int l = 0; l < layers.Count; l++)
        {
            if (layers[l].Activation is < ActivationKind.Identity or > ActivationKind.Softplus)
                throw new ArgumentOutOfRangeException(nameof(layers), $"layer {l} uses the {layers[l].Activation} activation, which the kernels do not support.");
            if (layers[l].Units < 1) throw new ArgumentOutOfRangeException(nameof(layers), $"layer {l} has {layers[l].Units} units; it needs at least 1.");
            blocks[l] = KernelBlock.NewDense(layers[l]);
        }
        return blocks;
    }

    /// <summary>
    /// Creates a trainer for a network of blocks with <paramref name="inputs"/> inputs: dense
    /// parameters zero, normalisations gamma = 1, beta = 0, running mean 0 and running variance 1
    /// (PyTorch's initial values).
    /// </summary>
    public DenseTrainer(int inputs, IReadOnlyList<KernelBlock> blocks, LossKind loss, int batchSize)
    {
        Simd.CheckType<T>();
        ArgumentNullException.ThrowIfNull(blocks);
        if (inputs < 1) throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "inputs must be >= 1.");
        if (blocks.Count < 1) throw new ArgumentException("A network needs at least one block.", nameof(blocks));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be >= 1.");
        Loss = loss;
        BatchSize = batchSize;
        _blocks = blocks.ToArray();

        // Flatten the blocks into operations on values.
        var ops = new List<Op>();
        var widths = new List<int> { inputs };
        var dense = new List<(DenseLayerSpec Spec, int In)>();
        var acts = new List<(ActivationKind, double)>();
        var rates = new List<double>();
        var norms = new List<(bool Batch, int Width, double Momentum, double Epsilon)>();
        var segments = new List<(int Kind, int Index)>(); // 0 W, 1 b, 2 gamma, 3 beta
        void Flatten(IReadOnlyList<KernelBlock> seq, string where)
        {
            for (int i = 0; i < seq.Count; i++)
            {
                var blk = seq[i] ?? throw new ArgumentNullException(nameof(blocks), $"block {where}{i} is null.");
                int cur = ops.Count == 0 ? 0 : ops[^1].Out, w = widths[cur];
                switch (blk.Kind)
                {
                    case BlockKind.Dense:
                        widths.Add(blk.Units);
                        segments.Add((0, dense.Count));
                        if (blk.Bias) segments.Add((1, dense.Count));
                        ops.Add(new Op { Kind = OpKind.Dense, In = cur, Out = widths.Count - 1, Index = dense.Count });
                        dense.Add((new DenseLayerSpec(blk.Units, blk.Activation, blk.Slope, blk.Bias), w));
                        break;
                    case BlockKind.Activation:
                        widths.Add(w);
                        ops.Add(new Op { Kind = OpKind.Activation, In = cur, Out = widths.Count - 1, Index = acts.Count });
                        acts.Add((blk.Activation, blk.Slope));
                        break;
                    case BlockKind.Dropout:
                        widths.Add(w);
                        ops.Add(new Op { Kind = OpKind.Dropout, In = cur, Out = widths.Count - 1, Index = rates.Count });
                        rates.Add(blk.Rate);
                        break;
                    case BlockKind.BatchNorm:
                    case BlockKind.LayerNorm:
                        widths.Add(w);
                        segments.Add((2, norms.Count));
                        segments.Add((3, norms.Count));
                        ops.Add(new Op { Kind = blk.Kind == BlockKind.BatchNorm ? OpKind.BatchNorm : OpKind.LayerNorm, In = cur, Out = widths.Count - 1, Index = norms.Count });
                        norms.Add((blk.Kind == BlockKind.BatchNorm, w, blk.Momentum, blk.Epsilon));
                        break;
                    default:
                    {
                        int begin = ops.Count;
                        ops.Add(new Op { Kind = OpKind.ResidualBegin, In = cur, Out = cur });
                        Flatten(blk.Inner, $"{where}{i}.");
                        int innerOut = ops[^1].Out;
                        if (widths[innerOut] != w)
                            throw new ArgumentException($"The residual block {where}{i} maps width {w} to {widths[innerOut]}; its inner blocks must keep the width.", nameof(blocks));
                        widths.Add(w);
                        ops.Add(new Op { Kind = OpKind.ResidualEnd, In = innerOut, Out = widths.Count - 1, Other = cur });
                        var b = ops[begin];
                        b.Other = widths.Count - 1;
                        ops[begin] = b;
                        break;
                    }
                }
            }
        }
        Flatten(_blocks, "");
        _ops = ops.ToArray();
        _last = _ops[^1].Out;
        _denseOnly = _blocks.All(b => b.Kind == BlockKind.Dense);
        _hasBatchNorm = norms.Any(n => n.Batch);
        int values = widths.Count;
        _width = widths.ToArray();

        // Dense layers.
        int count = dense.Count;
        _layers = dense.Select(d => d.Spec).ToArray();
        _din = dense.Select(d => d.In).ToArray();
        _dout = _layers.Select(l => l.Units).ToArray();
        _sizes = new int[count + 1];
        _sizes[0] = inputs;
        for (int l = 0; l < count; l++) _sizes[l + 1] = _dout[l];
        _slopes = new T[count];
        _keepZ = new bool[count];
        _w = new T[count][]; _b = new T[count][]; _dw = new T[count][]; _db = new T[count][];
        _z = new T[count][]; _pz = new T[count][]; _pa = new T[count][];
        _wp = new T*[count]; _bp = new T*[count]; _zp = new T*[count];
        for (int l = 0; l < count; l++) _weightCount += (long)_din[l] * _dout[l];
        // The input's and every dense layer's output widths (the values the batch split was
        // measured on; other blocks' values are not counted, UseBatchParallel).
        _widthSum = inputs;
        for (int l = 0; l < count; l++) _widthSum += _dout[l];

        _valBuf = new T[values][];
        _gradBuf = new T[values][];
        _vp = new T*[values];
        _gp = new T*[values];
        _own = new T*[values];
        for (int v = 1; v < values; v++)
        {
            _valBuf[v] = Pinned(batchSize * _width[v]);
            _own[v] = Ptr(_valBuf[v]!);
        }

        for (int l = 0; l < count; l++)
        {
            int din = _din[l], dout = _dout[l];
            _slopes[l] = T.CreateTruncating(_layers[l].Slope);
            _keepZ[l] = !Activations.DerivativeFromOutput(_layers[l].Activation, _layers[l].Slope);
            _w[l] = Pinned(din * dout); _b[l] = Pinned(dout);
            _dw[l] = Pinned(din * dout); _db[l] = Pinned(dout);
            _pa[l] = Pinned(dout);
            _pz[l] = _keepZ[l] ? Pinned(dout) : _pa[l];
            _wp[l] = Ptr(_w[l]); _bp[l] = Ptr(_b[l]);
        }
        foreach (var op in _ops)
            if (op.Kind == OpKind.Dense)
            {
                int l = op.Index;
                _z[l] = _keepZ[l] ? Pinned(batchSize * _dout[l]) : _valBuf[op.Out]!;
                _zp[l] = Ptr(_z[l]);
            }

        _actKind = acts.Select(a => a.Item1).ToArray();
        _actSlope = acts.Select(a => T.CreateTruncating(a.Item2)).ToArray();
        _rate = rates.ToArray();
        _mask = rates.Select(_ => Array.Empty<T>()).ToArray();
        foreach (var op in _ops)
            if (op.Kind == OpKind.Dropout) _mask[op.Index] = Pinned(batchSize * _width[op.Out]);

        int nn = norms.Count;
        _isBatch = norms.Select(n => n.Batch).ToArray();
        _normWidth = norms.Select(n => n.Width).ToArray();
        _momentum = norms.Select(n => n.Momentum).ToArray();
        _epsilon = norms.Select(n => n.Epsilon).ToArray();
        _gamma = new T[nn][]; _beta = new T[nn][]; _dgamma = new T[nn][]; _dbeta = new T[nn][];
        _runMean = new T[nn][]; _runVar = new T[nn][]; _xhat = new T[nn][];
        _mean = new double[nn][]; _var = new double[nn][]; _rstd = new double[nn][];
        var batchNorms = new List<int>();
        for (int i = 0; i < nn; i++)
        {
            int w = _normWidth[i];
            _gamma[i] = Pinned(w); _beta[i] = Pinned(w); _dgamma[i] = Pinned(w); _dbeta[i] = Pinned(w);
            _xhat[i] = Pinned(batchSize * w);
            int stats = _isBatch[i] ? w : batchSize;
            _mean[i] = PinnedDouble(stats); _var[i] = PinnedDouble(stats); _rstd[i] = PinnedDouble(stats);
            _runMean[i] = _isBatch[i] ? Pinned(w) : Array.Empty<T>();
            _runVar[i] = _isBatch[i] ? Pinned(w) : Array.Empty<T>();
            if (_isBatch[i]) batchNorms.Add(i);
        }
        _batchNormOf = batchNorms.ToArray();
        ResetNormalisations();

        _segParam = segments.Select(s => s.Kind switch { 0 => _w[s.Index], 1 => _b[s.Index], 2 => _gamma[s.Index], _ => _beta[s.Index] }).ToArray();
        _segGrad = segments.Select(s => s.Kind switch { 0 => _dw[s.Index], 1 => _db[s.Index], 2 => _dgamma[s.Index], _ => _dbeta[s.Index] }).ToArray();
        _segLength = segments.Select(s => s.Kind switch { 0 => _din[s.Index] * _dout[s.Index], 1 => _dout[s.Index], _ => _normWidth[s.Index] }).ToArray();
        _state = _batchNormOf.SelectMany(i => new[] { _runMean[i], _runVar[i] }).ToArray();
        ParameterCount = _segLength.Sum(x => (long)x) is var total && total <= int.MaxValue ? (int)total
            : throw new ArgumentException($"The network has {total} parameters, more than an array holds.", nameof(blocks));

        // Gradient buffers: an in-place block (activation, dropout, normalisation) whose input no
        // other block reads writes its input's gradient over its output's.
        var consumers = new int[values];
        foreach (var op in _ops)
        {
            if (op.Kind == OpKind.ResidualBegin) continue;
            consumers[op.In]++;
            if (op.Kind == OpKind.ResidualEnd) consumers[op.Other]++;
        }
        // A dense layer whose output only a dense layer reads gets its activation's derivative in
        // the epilogue of that layer's dX product (which alone writes its gradient), not in a pass.
        _derivativeAfter = Enumerable.Repeat(-1, _ops.Length).ToArray();
        _derivativeFused = new bool[count];
        var denseOf = Enumerable.Repeat(-1, values).ToArray();
        foreach (var op in _ops)
            if (op.Kind == OpKind.Dense) denseOf[op.Out] = op.Index;
        for (int o = 0; o < _ops.Length; o++)
            if (_ops[o].Kind == OpKind.Dense && _ops[o].In > 0 && denseOf[_ops[o].In] >= 0 && consumers[_ops[o].In] == 1)
            {
                _derivativeAfter[o] = denseOf[_ops[o].In];
                _derivativeFused[denseOf[_ops[o].In]] = true;
            }
        for (int v = 1; v < values; v++) { _gradBuf[v] = Pinned(batchSize * _width[v]); _gp[v] = Ptr(_gradBuf[v]!); }
        for (int o = _ops.Length - 1; o >= 0; o--)
        {
            var op = _ops[o];
            if (op.Kind is OpKind.Activation or OpKind.Dropout or OpKind.BatchNorm or OpKind.LayerNorm && consumers[op.In] == 1)
            {
                if (op.In > 0) _gradBuf[op.In] = null;
                _gp[op.In] = _gp[op.Out];
            }
        }
        _passJob = new PassJob(this);
    }

    private readonly int[] _segLength;
    // For dense op o, the dense layer whose activation's derivative its dX product's epilogue
    // applies (-1: none); for dense layer l, whether its derivative is applied so.
    private readonly int[] _derivativeAfter;
    private readonly bool[] _derivativeFused;

    private static T[] Pinned(int length) => GC.AllocateArray<T>(Math.Max(length, 1), pinned: true);
    private static double[] PinnedDouble(int length) => GC.AllocateArray<double>(Math.Max(length, 1), pinned: true);
    private static T* Ptr(T[] array) => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));

    private void ResetNormalisations()
    {
        for (int i = 0; i < _gamma.Length; i++)
        {
            Array.Fill(_gamma[i], T.One);
            Array.Clear(_beta[i]);
            if (_isBatch[i])
            {
                Array.Clear(_runMean[i]);
                Array.Fill(_runVar[i], T.One);
            }
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

    // ---------------------------------------------------------------------------------------------
    // Parameters and state

    /// <summary>Layer l's weights, d_in x d_out row-major: the trainer's own buffer.</summary>
    public Span<T> Weights(int layer) => _w[layer].AsSpan(0, _din[layer] * _dout[layer]);

    /// <summary>Layer l's bias, length d_out: the trainer's own buffer.</summary>
    public Span<T> Biases(int layer) => _b[layer].AsSpan(0, _dout[layer]);

    /// <summary>dL/dW of layer l from the last <see cref="ComputeGradients(ReadOnlySpan{T}, ReadOnlySpan{T}, int)"/>.</summary>
    public ReadOnlySpan<T> WeightGradients(int layer) => _dw[layer].AsSpan(0, _din[layer] * _dout[layer]);

    /// <summary>dL/db of layer l from the last <see cref="ComputeGradients(ReadOnlySpan{T}, ReadOnlySpan{T}, int)"/>.</summary>
    public ReadOnlySpan<T> BiasGradients(int layer) => _db[layer].AsSpan(0, _dout[layer]);

    /// <summary>The number of normalisation blocks (batch and layer), in traversal order.</summary>
    public int NormalizationCount => _gamma.Length;

    /// <summary>True when normalisation block i is a batch normalisation (else a layer normalisation).</summary>
    public bool IsBatchNorm(int index) => _isBatch[index];

    /// <summary>Normalisation block i's gamma: the trainer's own buffer.</summary>
    public Span<T> Scale(int index) => _gamma[index].AsSpan(0, _normWidth[index]);

    /// <summary>Normalisation block i's beta: the trainer's own buffer.</summary>
    public Span<T> Shift(int index) => _beta[index].AsSpan(0, _normWidth[index]);

    /// <summary>dL/dgamma of normalisation block i from the last gradient computation.</summary>
    public ReadOnlySpan<T> ScaleGradients(int index) => _dgamma[index].AsSpan(0, _normWidth[index]);

    /// <summary>dL/dbeta of normalisation block i from the last gradient computation.</summary>
    public ReadOnlySpan<T> ShiftGradients(int index) => _dbeta[index].AsSpan(0, _normWidth[index]);

    /// <summary>Batch normalisation block i's running mean (empty for a layer normalisation): the trainer's own buffer.</summary>
    public Span<T> RunningMean(int index) => _isBatch[index] ? _runMean[index].AsSpan(0, _normWidth[index]) : Span<T>.Empty;

    /// <summary>Batch normalisation block i's running variance (empty for a layer normalisation): the trainer's own buffer.</summary>
    public Span<T> RunningVariance(int index) => _isBatch[index] ? _runVar[index].AsSpan(0, _normWidth[index]) : Span<T>.Empty;

    /// <summary>The number of dropout blocks (their masks are numbered 0.. in traversal order).</summary>
    public int DropoutCount => _rate.Length;

    /// <summary>The number of parameters (the length of the core's flat parameter vector).</summary>
    public int ParameterCount { get; }

    /// <summary>The number of parameter segments (a dense layer's weights, its bias, a normalisation's gamma, its beta) in flat order.</summary>
    public int ParameterSegmentCount => _segParam.Length;

    /// <summary>Parameter segment s (the trainer's own buffer), in the core's flat order.</summary>
    public Span<T> ParameterSegment(int segment) => _segParam[segment].AsSpan(0, _segLength[segment]);

    /// <summary>The gradient of parameter segment s from the last gradient computation.</summary>
    public ReadOnlySpan<T> GradientSegment(int segment) => _segGrad[segment].AsSpan(0, _segLength[segment]);

    /// <summary>The number of state segments: each batch normalisation's running mean, then its running variance.</summary>
    public int StateSegmentCount => _state.Length;

    /// <summary>State segment s (the trainer's own buffer; training steps update it in place).</summary>
    public Span<T> StateSegment(int segment) => _state[segment].AsSpan(0, _normWidth[_batchNormOf[segment / 2]]);

    /// <summary>Copies a layer's weights (d_in x d_out) and bias (d_out) into the trainer.</summary>
    public void SetParameters(int layer, ReadOnlySpan<T> weights, ReadOnlySpan<T> bias)
    {
        if ((uint)layer >= (uint)_layers.Length) throw new ArgumentOutOfRangeException(nameof(layer), layer, $"The network has {_layers.Length} layers.");
        int din = _din[layer], dout = _dout[layer];
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
    /// Sets every weight uniformly in +-sqrt(6 / (d_in + d_out)) (Glorot), every bias to zero, and
    /// the normalisations to their initial values, from a seeded generator (a convenience for
    /// benchmarks and tests).
    /// </summary>
    public void InitializeGlorot(int seed)
    {
        var rng = new Random(seed);
        for (int l = 0; l < _layers.Length; l++)
        {
            double r = Math.Sqrt(6.0 / (_din[l] + _dout[l]));
            Span<T> w = Weights(l);
            for (int i = 0; i < w.Length; i++) w[i] = T.CreateTruncating((2.0 * rng.NextDouble() - 1.0) * r);
            Biases(l).Clear();
        }
        ResetNormalisations();
    }

    /// <summary>
    /// When set, gradient computations also compute dL/dX, the gradient with respect to the
    /// input batch (<see cref="InputGradients"/>): one more product for a first dense layer.
    /// </summary>
    public bool InputGradientsEnabled
    {
        get => _inputGradients;
        set
        {
            if (value && _gp[0] == null)
            {
                _gradBuf[0] = Pinned(BatchSize * _width[0]);
                _gp[0] = Ptr(_gradBuf[0]!);
            }
            _inputGradients = value;
        }
    }

    /// <summary>dL/dX of the last gradient computation's rows x d_0 batch (with <see cref="InputGradientsEnabled"/>).</summary>
    public ReadOnlySpan<T> InputGradients(int rows)
    {
        if (!_inputGradients) throw new InvalidOperationException("Set InputGradientsEnabled before computing gradients to get input gradients.");
        if (rows < 1 || rows > BatchSize) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"rows must be in 1..{BatchSize}.");
        return new ReadOnlySpan<T>(_gp[0], rows * _width[0]);
    }

    /// <summary>
    /// dF/dX of a function F of the network's outputs, for a batch of <paramref name="rows"/> samples
    /// (x is rows x d_0), in inference mode: no training state is read or changed (dropout is the
    /// identity, batch normalisation uses its running statistics). One forward pass; then
    /// <paramref name="outputGradient"/> is given the outputs (rows x outputs) and writes dF/dOutput
    /// (rows x outputs, in place of a loss's gradient); then one backward pass through every block down
    /// to the input. Returns dF/dX (rows x d_0, the trainer's buffer, valid until the next call).
    /// Sets <see cref="InputGradientsEnabled"/>; the parameter gradients are overwritten, the
    /// parameters are not changed. Allocates nothing after the first call.
    /// </summary>
    public ReadOnlySpan<T> InputGradientsOf(ReadOnlySpan<T> x, int rows, OutputGradient<T> outputGradient)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        CheckBatch(x, default, rows, false);
        InputGradientsEnabled = true;
        fixed (T* px = x)
        {
            Begin(px, PassMode.Inference, 0UL);
            ForwardRows(0, rows, KernelParallel, false);
            int k = Outputs;
            outputGradient(new ReadOnlySpan<T>(_vp[_last], rows * k), new Span<T>(_gp[_last], rows * k), rows);
            BackwardRows(null, 0, rows, KernelParallel, -1, false, T.Zero);
            return new ReadOnlySpan<T>(_gp[0], rows * _width[0]);
        }
    }

    private void CheckBatch(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows, bool needY, PassMode mode = PassMode.Inference)
    {
        if (rows < 1 || rows > BatchSize) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"rows must be in 1..{BatchSize}.");
        if (x.Length < rows * Inputs) throw new ArgumentException($"x has {x.Length} values; {rows} rows of {Inputs} need {rows * Inputs}.", nameof(x));
        if (needY && y.Length < rows * Outputs) throw new ArgumentException($"y has {y.Length} values; {rows} rows of {Outputs} need {rows * Outputs}.", nameof(y));
        if (mode == PassMode.Training && _hasBatchNorm && rows < 2)
            throw new ArgumentOutOfRangeException(nameof(rows), rows, "Batch normalisation in training mode needs a batch of at least 2 rows.");
    }

    // ---------------------------------------------------------------------------------------------
    // Forward

    /// <summary>
    /// The forward pass of <paramref name="rows"/> samples (x is rows x d_0) in inference mode:
    /// returns the network's output (rows x outputs, the trainer's buffer, valid until the next call).
    /// </summary>
    public ReadOnlySpan<T> Forward(ReadOnlySpan<T> x, int rows) => Forward(x, rows, PassMode.Inference, 0);

    /// <summary>
    /// The forward pass of <paramref name="rows"/> samples in the given mode (training: dropout
    /// masks from <paramref name="dropoutKey"/>, batch statistics; the running statistics are not
    /// changed): returns the network's output (the trainer's buffer, valid until the next call).
    /// </summary>
    public ReadOnlySpan<T> Forward(ReadOnlySpan<T> x, int rows, PassMode mode, ulong dropoutKey)
    {
        CheckBatch(x, default, rows, false, mode);
        fixed (T* px = x)
        {
            Begin(px, mode, dropoutKey);
            ForwardRows(0, rows, KernelParallel, false);
            return new ReadOnlySpan<T>(_vp[_last], rows * Outputs);
        }
    }

    private bool KernelParallel => Parallelism != TrainerParallelism.None;

    /// <summary>
    /// A dense layer's z += bias, a = s(z) on whole rows, as the epilogue of its forward product
    /// (Activations.BiasActivate on the rows given: the same values however the rows are grouped).
    /// One per thread, so that batch-parallel forward passes do not share it.
    /// </summary>
    private sealed class BiasActivation : IGemmRowEpilogue
    {
        [ThreadStatic] private static BiasActivation? t_instance;
        public static BiasActivation ForThisThread => t_instance ??= new BiasActivation();

        private T* _z, _a, _bias;
        private int _cols;
        private ActivationKind _kind;
        private T _slope;

        public void Set(T* z, T* a, T* bias, int cols, ActivationKind kind, T slope)
        {
            _z = z; _a = a; _bias = bias; _cols = cols; _kind = kind; _slope = slope;
        }

        public void Clear() { _z = null; _a = null; _bias = null; }

        public void Apply(int row0, int rows)
        {
            nint off = (nint)row0 * _cols;
            int count = rows * _cols;
            Activations.BiasActivate(new Span<T>(_z + off, count), new Span<T>(_a + off, count), rows, _cols,
                _bias == null ? default : new ReadOnlySpan<T>(_bias, _cols), _kind, _slope);
        }
    }

    /// <summary>
    /// Dense layer l's G o s'(Z) in place on rows of its output gradient, as the epilogue of the
    /// next dense layer's dX product that writes them, one row at a time: the derivative pass
    /// vectorises a span as a vector body and a scalar tail (whose formulas differ in the last
    /// bits, softplus's sigmoid for one), so row by row each element is computed the same way
    /// however the product's rows are grouped between threads. One per thread, as BiasActivation.
    /// </summary>
    private sealed class ActivationDerivative : IGemmRowEpilogue
    {
        [ThreadStatic] private static ActivationDerivative? t_instance;
        public static ActivationDerivative ForThisThread => t_instance ??= new ActivationDerivative();

        private DenseTrainer<T>? _owner;
        private int _layer, _value, _row0;

        public void Set(DenseTrainer<T> owner, int layer, int value, int row0)
        {
            _owner = owner; _layer = layer; _value = value; _row0 = row0;
        }

        public void Clear() => _owner = null;

        public void Apply(int row0, int rows)
        {
            for (int r = row0; r < row0 + rows; r++) _owner!.ThroughActivationRows(_layer, _value, _row0 + r, 1);
        }
    }

    /// <summary>Layer l's bias for the forward pass: empty (nothing added) for a layer without one.</summary>
    private ReadOnlySpan<T> BiasOf(int l) => _layers[l].Bias ? new ReadOnlySpan<T>(_bp[l], _dout[l]) : default;

    /// <summary>True when layer l has a bias row.</summary>
    public bool HasBias(int layer) => _layers[layer].Bias;

    /// <summary>Sets the pass's input, mode and dropout key, and where each value is read.</summary>
    private void Begin(T* x, PassMode mode, ulong key)
    {
        _mode = mode;
        _key = key;
        _vp[0] = x;
        foreach (ref readonly var op in _ops.AsSpan())
        {
            if (op.Kind == OpKind.ResidualBegin) continue;
            _vp[op.Out] = op.Kind == OpKind.Dropout && (mode == PassMode.Inference || _rate[op.Index] == 0.0) ? _vp[op.In] : _own[op.Out];
        }
    }

    /// <summary>The forward pass of rows r0..r0+rows of the batch (after <see cref="Begin"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardRows(int r0, int rows, bool parallel, bool updateStatistics)
    {
        for (int o = 0; o < _ops.Length; o++) ForwardOp(o, r0, rows, parallel, updateStatistics);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardOp(int o, int r0, int rows, bool parallel, bool updateStatistics)
    {
        ref readonly Op op = ref _ops[o];
        int w = _width[op.Out];
        switch (op.Kind)
        {
            case OpKind.Dense:
            {
                int l = op.Index, din = _din[l], dout = _dout[l];
                T* input = _vp[op.In] + (nint)r0 * din;
                T* z = _zp[l] + (nint)r0 * dout;
                T* a = _vp[op.Out] + (nint)r0 * dout;
                // The bias and activation run as the product's epilogue: on each thread's rows
                // as soon as they are done where the product is cut along m, no separate pass;
                // on all rows after it where it is cut along n (a first layer, WeightsCut).
                var epilogue = BiasActivation.ForThisThread;
                epilogue.Set(z, a, _layers[l].Bias ? _bp[l] : null, dout, _layers[l].Activation, _slopes[l]);
                try { Gemm.Run(false, false, rows, dout, din, T.One, input, din, _wp[l], dout, T.Zero, z, dout, parallel, epilogue, WeightsCut(op.In, rows)); }
                finally { epilogue.Clear(); }
                break;
            }
            case OpKind.Activation:
            case OpKind.LayerNorm:
            case OpKind.ResidualEnd:
                Split(Work.Forward, o, r0, rows, w, parallel, -1);
                break;
            case OpKind.Dropout:
                if (_vp[op.Out] != _vp[op.In]) Split(Work.Forward, o, r0, rows, w, parallel, -1);
                break;
            case OpKind.BatchNorm:
            {
                // Column-local: split over columns (the whole batch at once).
                Split(Work.BatchNormForward, o, r0, rows, w, parallel, -1);
                int i = op.Index;
                if (_mode == PassMode.Training && updateStatistics)
                    fixed (T* rm = _runMean[i]) fixed (T* rv = _runVar[i]) fixed (double* mu = _mean[i]) fixed (double* va = _var[i])
                        BlockPasses.BatchNormUpdateRunning(rm, rv, mu, va, w, rows, _momentum[i]);
                break;
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The element passes of the non-dense blocks, split over rows or columns

    private enum Work : byte { Forward, BatchNormForward, Backward, BatchNormBackward, ScaleShiftGradients }

    /// <summary>
    /// Elements of a pass below which it runs on the calling thread: 8192 for the passes that
    /// cost about 0.5 ns an element on one core (the normalisations, dropout's mask), so that a
    /// part takes a few microseconds, well above a fork-join's cost (W3-forkjoin); 65536 for the
    /// passes that only stream memory (activations, sums, copies, dropout's backward).
    /// </summary>
    private const long SplitElements = 1 << 13, SplitElementsCheap = 1 << 16;

    /// <summary>
    /// Runs a pass of op o on rows r0..r0+rows: on the calling thread, or (parallel, large) in parts
    /// over rows (row-local passes) or over columns in multiples of 8 (column passes). Every
    /// element's value is the same however the work is split.
    /// </summary>
    private void Split(Work work, int o, int r0, int rows, int cols, bool parallel, int part)
    {
        bool columns = work is Work.BatchNormForward or Work.BatchNormBackward or Work.ScaleShiftGradients;
        OpKind kind = _ops[o].Kind;
        bool cheap = !columns && !(kind == OpKind.LayerNorm || (kind == OpKind.Dropout && work == Work.Forward));
        if (parallel && (long)rows * cols >= (cheap ? SplitElementsCheap : SplitElements) && WorkerPool.Threads > 1 && (columns ? cols >= 16 : rows >= 2))
        {
            var job = _passJob;
            job.WorkKind = work; job.Op = o; job.R0 = r0; job.Rows = rows; job.Cols = cols; job.Columns = columns;
            WorkerPool.Run(job, Math.Min(WorkerPool.Threads, columns ? cols / 8 : rows));
            return;
        }
        Do(work, o, r0, r0 + rows, 0, cols, part, r0 + rows);
    }

    private sealed class PassJob(DenseTrainer<T> owner) : IParallelJob
    {
        public Work WorkKind;
        public int Op, R0, Rows, Cols;
        public bool Columns;

        public void Execute(int part, int parts)
        {
            if (Columns)
            {
                int blocks = (Cols + 7) / 8;
                int c0 = Math.Min(Cols, (int)((long)blocks * part / parts) * 8), c1 = Math.Min(Cols, (int)((long)blocks * (part + 1) / parts) * 8);
                if (c1 > c0) owner.Do(WorkKind, Op, R0, R0 + Rows, c0, c1, -1, R0 + Rows);
            }
            else
            {
                int r0 = R0 + (int)((long)Rows * part / parts), r1 = R0 + (int)((long)Rows * (part + 1) / parts);
                if (r1 > r0) owner.Do(WorkKind, Op, r0, r1, 0, Cols, -1, R0 + Rows);
            }
        }
    }

    /// <summary>
    /// One pass of op o on rows r0..r1-1 and columns c0..c1-1 (row passes take all columns, column
    /// passes all the op's rows); parameter gradients into batch part <paramref name="part"/>'s
    /// buffers, or the trainer's own for -1. <paramref name="batchEnd"/> is the end of the batch (for batch normalisation).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Do(Work work, int o, int r0, int r1, int c0, int c1, int part, int batchEnd)
    {
        ref readonly Op op = ref _ops[o];
        int w = _width[op.Out];
        nint e0 = (nint)r0 * w, count = (nint)(r1 - r0) * w;
        switch (work)
        {
            case Work.Forward:
                switch (op.Kind)
                {
                    case OpKind.Activation:
                        Activations.Apply(new ReadOnlySpan<T>(_vp[op.In] + e0, (int)count), new Span<T>(_vp[op.Out] + e0, (int)count), r1 - r0, w,
                            _actKind[op.Index], _actSlope[op.Index]);
                        break;
                    case OpKind.Dropout:
                        BlockPasses.DropoutForward(_vp[op.In], _vp[op.Out], Ptr(_mask[op.Index]), r0, r1, w, _key, op.Index, _rate[op.Index]);
                        break;
                    case OpKind.LayerNorm:
                    {
                        int i = op.Index;
                        fixed (double* mu = _mean[i]) fixed (double* rs = _rstd[i])
                            BlockPasses.LayerNormForward(_vp[op.In], _vp[op.Out], Ptr(_xhat[i]), r0, r1, w, Ptr(_gamma[i]), Ptr(_beta[i]), _epsilon[i], mu, rs);
                        break;
                    }
                    case OpKind.ResidualEnd:
                        BlockPasses.Add(_vp[op.Other], _vp[op.In], _vp[op.Out], e0, e0 + count);
                        break;
                }
                break;
            case Work.BatchNormForward:
            {
                int i = op.Index;
                fixed (double* mu = _mean[i]) fixed (double* va = _var[i]) fixed (double* rs = _rstd[i])
                    BlockPasses.BatchNormForward(_vp[op.In], _vp[op.Out], Ptr(_xhat[i]), batchEnd, w, c0, c1, Ptr(_gamma[i]), Ptr(_beta[i]), _epsilon[i],
                        _mode, _isBatch[i] ? Ptr(_runMean[i]) : null, _isBatch[i] ? Ptr(_runVar[i]) : null, mu, va, rs);
                break;
            }
            case Work.BatchNormBackward:
            {
                int i = op.Index;
                fixed (double* rs = _rstd[i])
                    BlockPasses.BatchNormBackward(_gp[op.Out], Ptr(_xhat[i]), NeedGradient(op.In) ? _gp[op.In] : null, batchEnd, w, c0, c1, Ptr(_gamma[i]), rs, _mode,
                        Ptr(part < 0 ? _dgamma[i] : _dgammaPart![part][i]), Ptr(part < 0 ? _dbeta[i] : _dbetaPart![part][i]));
                break;
            }
            case Work.ScaleShiftGradients:
            {
                int i = op.Index;
                BlockPasses.ScaleShiftGradients(_gp[op.Out], Ptr(_xhat[i]), r0, r1, w, c0, c1,
                    Ptr(part < 0 ? _dgamma[i] : _dgammaPart![part][i]), Ptr(part < 0 ? _dbeta[i] : _dbetaPart![part][i]));
                break;
            }
            case Work.Backward:
                switch (op.Kind)
                {
                    case OpKind.Activation:
                    {
                        var g = new Span<T>(_gp[op.Out] + e0, (int)count);
                        Activations.MultiplyByDerivative(g, new ReadOnlySpan<T>(_vp[op.Out] + e0, (int)count), new ReadOnlySpan<T>(_vp[op.In] + e0, (int)count),
                            _actKind[op.Index], _actSlope[op.Index]);
                        if (_gp[op.In] != _gp[op.Out]) g.CopyTo(new Span<T>(_gp[op.In] + e0, (int)count));
                        break;
                    }
                    case OpKind.Dropout:
                        if (_vp[op.Out] != _vp[op.In]) BlockPasses.DropoutBackward(_gp[op.Out], Ptr(_mask[op.Index]), _gp[op.In], r0, r1, w, _rate[op.Index]);
                        else if (_gp[op.In] != _gp[op.Out]) new Span<T>(_gp[op.Out] + e0, (int)count).CopyTo(new Span<T>(_gp[op.In] + e0, (int)count));
                        break;
                    case OpKind.LayerNorm:
                    {
                        int i = op.Index;
                        fixed (double* rs = _rstd[i])
                            BlockPasses.LayerNormBackwardInput(_gp[op.Out], Ptr(_xhat[i]), _gp[op.In], r0, r1, w, Ptr(_gamma[i]), rs);
                        break;
                    }
                    case OpKind.ResidualEnd:
                        new Span<T>(_gp[op.Out] + e0, (int)count).CopyTo(new Span<T>(_gp[op.In] + e0, (int)count));
                        break;
                    case OpKind.ResidualBegin:
                    {
                        int wx = _width[op.In];
                        nint x0 = (nint)r0 * wx;
                        BlockPasses.Add(_gp[op.In], _gp[op.Other], _gp[op.In], x0, x0 + (nint)(r1 - r0) * wx);
                        break;
                    }
                }
                break;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Loss and backward

    /// <summary>Loss (summed over rows r0..r0+rows, divided by batchRows) and dL/dOutput for those rows; y points at row r0.</summary>
    private double LossRows(T* y, int r0, int rows, int batchRows)
    {
        int k = Outputs;
        var output = new ReadOnlySpan<T>(_vp[_last] + (nint)r0 * k, rows * k);
        var target = new ReadOnlySpan<T>(y, rows * k);
        var grad = new Span<T>(_gp[_last] + (nint)r0 * k, rows * k);
        return Loss switch
        {
            LossKind.SoftmaxCrossEntropy => Losses.SoftmaxCrossEntropy(output, target, grad, rows, k, batchRows),
            LossKind.MeanSquaredError => Losses.MeanSquaredError(output, target, grad, rows, k, false, batchRows),
            LossKind.HalfMeanSquaredError => Losses.MeanSquaredError(output, target, grad, rows, k, true, batchRows),
            _ => Losses.ElementWise(Loss, output, target, grad, rows, k, batchRows),
        };
    }

    /// <summary>D = G o s'(Z) in place, for rows r0..r0+rows of layer l (output value v).</summary>
    private void ThroughActivationRows(int l, int v, int r0, int rows)
    {
        int dout = _dout[l], count = rows * dout;
        nint off = (nint)r0 * dout;
        Activations.MultiplyByDerivative(new Span<T>(_gp[v] + off, count), new ReadOnlySpan<T>(_vp[v] + off, count),
            _keepZ[l] ? new ReadOnlySpan<T>(_zp[l] + off, count) : default, _layers[l].Activation, _slopes[l]);
    }

    /// <summary>True when the backward pass computes dL/d(value v): always but for the input, unless asked.</summary>
    private bool NeedGradient(int v) => v != 0 || _inputGradients;

    /// <summary>
    /// How the products that read a dense layer's weights in place (its forward product) and write
    /// them in place (its fused update) are cut over the cores, for the layer reading value v on a
    /// batch of <paramref name="rows"/> rows. A layer that reads the network's input (the caller's
    /// memory, or the batch gathered before the step; the step never writes it) on a minibatch of
    /// at most <see cref="ColumnCutRows"/> rows is cut by its weights' columns: every core reads
    /// all the batch's rows, and keeps its own columns of the weights in its cache from the forward
    /// product to the update and on to the next step's forward product, instead of reading the
    /// other core's columns in each (a first layer's weights are then a step's largest operand;
    /// W1's are 1.6 MB in float64, more than one core's 1 MiB L2, and the gain was measured in
    /// float64: bench/README.md). Other layers, and larger batches (whose rows, which each core
    /// would pack whole, outweigh the weights), take the cut of least work. The cut changes no bits.
    /// </summary>
    private static GemmCut WeightsCut(int v, int rows) => v == 0 && rows <= ColumnCutRows ? GemmCut.Columns : GemmCut.Auto;

    /// <summary>The most rows of a batch for which a first layer's products are cut by columns (WeightsCut).</summary>
    private const int ColumnCutRows = 256;

    /// <summary>
    /// The backward pass of rows r0..r0+rows from dL/dOutput: parameter gradients into part
    /// <paramref name="part"/>'s buffers (-1: the trainer's own), or with <paramref name="fused"/>
    /// the SGD update W &lt;- W + minusRate dW (and the same for biases and normalisations) instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BackwardRows(T* y, int r0, int rows, bool parallel, int part, bool fused, T minusRate)
    {
        for (int o = _ops.Length - 1; o >= 0; o--)
        {
            ref readonly Op op = ref _ops[o];
            int w = _width[op.Out];
            switch (op.Kind)
            {
                case OpKind.Dense:
                {
                    int l = op.Index, din = _din[l], dout = _dout[l];
                    // D = G o s'(Z), unless the next layer's dX product did it as it wrote G.
                    if (!_derivativeFused[l]) ThroughActivationRows(l, op.Out, r0, rows);
                    T* d = _gp[op.Out] + (nint)r0 * dout;
                    T* input = _vp[op.In] + (nint)r0 * din;
                    // G_prev = D W^T, from the weights before this step's update (and, where the
                    // previous block is a dense layer, its activation's derivative on each block
                    // of rows as soon as it is final).
                    if (NeedGradient(op.In))
                    {
                        ActivationDerivative? after = null;
                        if (_derivativeAfter[o] >= 0)
                        {
                            after = ActivationDerivative.ForThisThread;
                            after.Set(this, _derivativeAfter[o], op.In, r0);
                        }
                        try { Gemm.Run(false, true, rows, din, dout, T.One, d, dout, _wp[l], dout, T.Zero, _gp[op.In] + (nint)r0 * din, din, parallel, after); }
                        finally { after?.Clear(); }
                    }
                    if (fused)
                    {
                        // W <- W - rate A^T D; b <- b - rate colSums D.
                        Gemm.Run(true, false, din, dout, rows, minusRate, input, din, d, dout, T.One, _wp[l], dout, parallel, null, WeightsCut(op.In, rows));
                        if (_layers[l].Bias)
                            Reductions.ColumnSums(new ReadOnlySpan<T>(d, rows * dout), rows, dout, new Span<T>(_bp[l], dout), minusRate, T.One);
                    }
                    else
                    {
                        T[] dw = part < 0 ? _dw[l] : _dwPart![part][l], db = part < 0 ? _db[l] : _dbPart![part][l];
                        fixed (T* pdw = dw)
                            Gemm.Run(true, false, din, dout, rows, T.One, input, din, d, dout, T.Zero, pdw, dout, parallel);
                        Reductions.ColumnSums(new ReadOnlySpan<T>(d, rows * dout), rows, dout, db.AsSpan(0, dout), T.One, T.Zero);
                    }
                    break;
                }
                case OpKind.BatchNorm:
                    Split(Work.BatchNormBackward, o, r0, rows, w, parallel, part);
                    if (fused) UpdateNormalisation(op.Index, minusRate);
                    break;
                case OpKind.LayerNorm:
                    // The parameter gradients first: dX may overwrite G in place.
                    Split(Work.ScaleShiftGradients, o, r0, rows, w, parallel, part);
                    if (NeedGradient(op.In)) Split(Work.Backward, o, r0, rows, w, parallel, part);
                    if (fused) UpdateNormalisation(op.Index, minusRate);
                    break;
                case OpKind.ResidualBegin:
                    if (NeedGradient(op.In)) Split(Work.Backward, o, r0, rows, _width[op.In], parallel, part);
                    break;
                default:
                    if (NeedGradient(op.In)) Split(Work.Backward, o, r0, rows, w, parallel, part);
                    break;
            }
        }
    }

    private void UpdateNormalisation(int i, T minusRate)
    {
        int w = _normWidth[i];
        Reductions.Axpy(minusRate, _dgamma[i].AsSpan(0, w), _gamma[i].AsSpan(0, w));
        Reductions.Axpy(minusRate, _dbeta[i].AsSpan(0, w), _beta[i].AsSpan(0, w));
    }

    /// <summary>True when this batch is split by rows over the worker pool.</summary>
    private bool UseBatchParallel(int rows)
    {
        // Decided by the sizes alone, never by the number of threads, so that the partial sums (and
        // so the bits of the result) are the same on one core or many. Batch normalisation needs
        // the whole batch's statistics, so a network with one is never split by rows.
        if (rows < 2 * 32 || _hasBatchNorm) return false;
        return Parallelism switch
        {
            TrainerParallelism.Batch => true,
            // Small layers: the summed partial gradients cost little next to the per-row work,
            // and one fork-join a step replaces one per product. Split by rows where the weights
            // are at most the batch's values (rows x the input's and the dense layers' output
            // widths; the other blocks' values are not counted, so that dropout or normalisation
            // does not tip a network of large weights into the split, unmeasured): measured paired
            // through Trainer.train (AMD EPYC, 2 cores), U1's 64-128-64-10 on batches of 128
            // (17 K weights, 34 K values) took 0.82-0.86 of the time split by rows, 784-64-10
            // (51 K, 110 K) 0.94-1.00, while W1's 784-256-128-10 (235 K, 151 K) took 1.07-1.23
            // (each core then reads all the weights and writes a partial gradient of them all).
            TrainerParallelism.Auto => _weightCount <= (long)rows * _widthSum,
            _ => false,
        };
    }

    /// <summary>
    /// Forward, loss and backward of rows r0..r0+rows on the calling thread, with the parameter
    /// gradients of these rows into part <paramref name="part"/>'s buffers; returns their share of the loss.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double PartRows(T* y, int r0, int rows, int batchRows, int part)
    {
        ForwardRows(r0, rows, false, false);
        double loss = LossRows(y + (nint)r0 * Outputs, r0, rows, batchRows);
        BackwardRows(y, r0, rows, false, part, false, T.Zero);
        return loss;
    }

    private sealed class BatchJob(DenseTrainer<T> owner) : IParallelJob
    {
        public T* Y;
        public int Rows;

        public void Execute(int part, int parts)
        {
            int r0 = (int)((long)Rows * part / parts), r1 = (int)((long)Rows * (part + 1) / parts);
            owner._lossPart[part] = r1 > r0 ? owner.PartRows(Y, r0, r1 - r0, Rows, part) : 0.0;
        }
    }

    /// <summary>Runs the batch split by rows (after <see cref="Begin"/>); the partial gradients are left in the part buffers. Returns the loss.</summary>
    private double BatchParallel(T* y, int rows, out int parts)
    {
        parts = BatchParts;
        if (_dwPart is null || _dwPart.Length < parts)
        {
            _dwPart = new T[parts][][];
            _dbPart = new T[parts][][];
            _dgammaPart = new T[parts][][];
            _dbetaPart = new T[parts][][];
            for (int t = 0; t < parts; t++)
            {
                _dwPart[t] = new T[_layers.Length][];
                _dbPart[t] = new T[_layers.Length][];
                for (int l = 0; l < _layers.Length; l++)
                {
                    _dwPart[t][l] = Pinned(_din[l] * _dout[l]);
                    _dbPart[t][l] = Pinned(_dout[l]);
                }
                _dgammaPart[t] = new T[_gamma.Length][];
                _dbetaPart[t] = new T[_gamma.Length][];
                for (int i = 0; i < _gamma.Length; i++)
                {
                    _dgammaPart[t][i] = Pinned(_normWidth[i]);
                    _dbetaPart[t][i] = Pinned(_normWidth[i]);
                }
            }
        }
        _job ??= new BatchJob(this);
        _job.Y = y; _job.Rows = rows;
        WorkerPool.Run(_job, parts);
        _job.Y = null;
        double loss = 0.0;
        for (int t = 0; t < parts; t++) loss += _lossPart[t];
        return loss;
    }

    /// <summary>
    /// One step of plain gradient descent on a batch of <paramref name="rows"/> samples (x is rows x
    /// d_0, y is rows x outputs) in training mode, dropout masks from key 0: forward, loss,
    /// backward and the update W &lt;- W - rate dW, b &lt;- b - rate db (and the same for the
    /// normalisations' gamma and beta), the running statistics updated. Returns the batch's loss
    /// before the update. Allocates nothing.
    /// </summary>
    public double Step(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows, T learningRate) => Step(x, y, rows, learningRate, 0UL);

    /// <summary>As <see cref="Step(ReadOnlySpan{T}, ReadOnlySpan{T}, int, T)"/>, with the step's dropout key (<see cref="Formulas.DropoutKey"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Step(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows, T learningRate, ulong dropoutKey)
    {
        CheckBatch(x, y, rows, true, PassMode.Training);
        fixed (T* px = x)
        fixed (T* py = y)
        {
            T minusRate = -learningRate;
            Begin(px, PassMode.Training, dropoutKey);
            if (UseBatchParallel(rows))
            {
                double total = BatchParallel(py, rows, out int parts);
                for (int l = 0; l < _layers.Length; l++)
                    for (int t = 0; t < parts; t++)
                    {
                        Reductions.Axpy(minusRate, _dwPart![t][l].AsSpan(0, _din[l] * _dout[l]), Weights(l));
                        if (_layers[l].Bias) Reductions.Axpy(minusRate, _dbPart![t][l].AsSpan(0, _dout[l]), Biases(l));
                    }
                for (int i = 0; i < _gamma.Length; i++)
                    for (int t = 0; t < parts; t++)
                    {
                        Reductions.Axpy(minusRate, _dgammaPart![t][i].AsSpan(0, _normWidth[i]), Scale(i));
                        Reductions.Axpy(minusRate, _dbetaPart![t][i].AsSpan(0, _normWidth[i]), Shift(i));
                    }
                return total;
            }
            ForwardRows(0, rows, KernelParallel, true);
            double loss = LossRows(py, 0, rows, rows);
            BackwardRows(py, 0, rows, KernelParallel, -1, true, minusRate);
            return loss;
        }
    }

    /// <summary>A step on a full batch (<see cref="BatchSize"/> rows).</summary>
    public double Step(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T learningRate) => Step(x, y, BatchSize, learningRate);

    /// <summary>
    /// The loss on a batch of <paramref name="rows"/> samples at the current parameters in
    /// inference mode: a forward pass and the loss, nothing else (the parameters, the running
    /// statistics and the gradients are not changed). Allocates nothing.
    /// </summary>
    public double EvaluateLoss(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows) => EvaluateLoss(x, y, rows, PassMode.Inference, 0UL);

    /// <summary>The loss on a batch in the given mode (training: the dropout masks of <paramref name="dropoutKey"/>, the batch statistics, nothing updated).</summary>
    public double EvaluateLoss(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows, PassMode mode, ulong dropoutKey)
    {
        CheckBatch(x, y, rows, true, mode);
        fixed (T* px = x)
        fixed (T* py = y)
        {
            Begin(px, mode, dropoutKey);
            ForwardRows(0, rows, KernelParallel, false);
            return LossRows(py, 0, rows, rows);
        }
    }

    /// <summary>
    /// The loss and its gradient with respect to every parameter on a batch of
    /// <paramref name="rows"/> samples in training mode with dropout key 0, into
    /// <see cref="WeightGradients"/>, <see cref="BiasGradients"/> and the normalisations'
    /// gradients; the parameters and the running statistics are not changed. Allocates nothing.
    /// </summary>
    public double ComputeGradients(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows)
        => ComputeGradients(x, y, rows, PassMode.Training, 0UL, false);

    /// <summary>
    /// The loss and its gradients in the given mode, dropout masks from <paramref name="dropoutKey"/>;
    /// with <paramref name="updateStatistics"/> (training mode) the batch normalisations' running
    /// statistics are updated as a training step updates them. With
    /// <see cref="InputGradientsEnabled"/>, dL/dX too. Allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double ComputeGradients(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int rows, PassMode mode, ulong dropoutKey, bool updateStatistics)
    {
        CheckBatch(x, y, rows, true, mode);
        fixed (T* px = x)
        fixed (T* py = y)
        {
            Begin(px, mode, dropoutKey);
            if (mode == PassMode.Training && UseBatchParallel(rows))
            {
                double total = BatchParallel(py, rows, out int parts);
                for (int l = 0; l < _layers.Length; l++)
                    SumParts(_dw[l].AsSpan(0, _din[l] * _dout[l]), _dwPart!, _dbPart!, l, parts, _db[l].AsSpan(0, _dout[l]));
                for (int i = 0; i < _gamma.Length; i++)
                    SumParts(_dgamma[i].AsSpan(0, _normWidth[i]), _dgammaPart!, _dbetaPart!, i, parts, _dbeta[i].AsSpan(0, _normWidth[i]));
                return total;
            }
            ForwardRows(0, rows, KernelParallel, updateStatistics);
            double loss = LossRows(py, 0, rows, rows);
            BackwardRows(py, 0, rows, KernelParallel, -1, false, T.Zero);
            return loss;
        }
    }

    private static void SumParts(Span<T> a, T[][][] aPart, T[][][] bPart, int index, int parts, Span<T> b)
    {
        aPart[0][index].AsSpan(0, a.Length).CopyTo(a);
        bPart[0][index].AsSpan(0, b.Length).CopyTo(b);
        for (int t = 1; t < parts; t++)
        {
            Reductions.Axpy(T.One, aPart[t][index].AsSpan(0, a.Length), a);
            Reductions.Axpy(T.One, bPart[t][index].AsSpan(0, b.Length), b);
        }
    }

    /// <summary>
    /// The network's output for one sample (x has d_0 values; output gets the outputs) in
    /// inference mode, on the calling thread only, allocating nothing: the low-latency prediction
    /// path. With <paramref name="parallel"/> the larger layers are split over the worker pool.
    /// A network with other blocks than dense layers runs its batch buffers' first row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Predict(ReadOnlySpan<T> x, Span<T> output, bool parallel = false)
    {
        if (x.Length < Inputs) throw new ArgumentException($"x has {x.Length} values; the network has {Inputs} inputs.", nameof(x));
        if (output.Length < Outputs) throw new ArgumentException($"output has {output.Length} values; the network has {Outputs} outputs.", nameof(output));
        fixed (T* px = x)
        {
            if (!_denseOnly)
            {
                Begin(px, PassMode.Inference, 0);
                ForwardRows(0, 1, parallel, false);
                new ReadOnlySpan<T>(_vp[_last], Outputs).CopyTo(output);
                return;
            }
            T* input = px;
            for (int l = 0; l < _layers.Length; l++)
            {
                int din = _din[l], dout = _dout[l];
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
