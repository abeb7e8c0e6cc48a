using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Functional.NN.Kernels;

/// <summary>
/// The single-sample forward pass of a chain of dense layers (each with its bias and fused
/// activation), for low-latency prediction: one row in, one row out, nothing allocated per call.
/// <para>
/// Each layer's weights (d_in x d_out) are stored once, at construction, as column panels: the
/// columns in groups of <see cref="PanelWidth"/> (four vectors; the last group padded with zero
/// columns to whole vectors), each group's d_in rows stored one after another. A panel is then one
/// contiguous stream that the kernel reads front to back while its four vector sums stay in
/// registers (two sets, for the even and the odd rows, so that eight independent multiply-add
/// chains hide the instruction's latency); the bias and the activation are applied to the panel's
/// columns as they leave the registers. With <c>parallel</c> a layer large enough
/// (<see cref="ParallelBytes"/>) gives each thread of the worker pool the same run of panels on
/// every call (<see cref="WorkerPool.Run(IParallelJob, int, bool)"/> with affinity), so each
/// core keeps its part of the weights in its own cache between calls; every layer up to the last
/// large one runs in one fork of the pool, the threads waiting for each other between layers
/// (see <see cref="Job"/>), and the small layers after it on the calling thread. Where the first
/// two layers are the only large ones (as in 784-256-128-10), they are fused into units, each a
/// panel of the first layer followed by the second layer's sums over that panel's outputs
/// (<see cref="Unit"/>): no thread then waits for another's outputs in the middle of a call, and
/// the caller adds the units' partial sums at the end. Where a core's
/// share of the weights is about the size of its L2 or less, every other call reads each layer's
/// panels in the reverse order, so that a call starts with what the last one read last.
/// </para>
/// <para>
/// Every output is the same sum in the same order whichever thread computes it and however the
/// panels are shared: s_even + s_odd, each the running fused multiply-add over its rows in order
/// (the last row of an odd d_in goes to s_even); a fused second layer's output is the sum, in the
/// order of the units, of each unit's s_even + s_odd over its rows, with one thread as with many.
/// So the result does not depend on the number of threads. It differs from the batch path (<see cref="DenseTrainer{T}.Forward(ReadOnlySpan{T}, int)"/>) only by the
/// order of the additions.
/// </para>
/// </summary>
public sealed unsafe class RowPredictor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Layers whose weights take at least this many bytes are split over the worker pool when a call allows it.</summary>
    public static long ParallelBytes { get; set; } = 96L * 1024;

    /// <summary>The number of vector lanes of the kernel in use (16 float32 or 8 float64 values with AVX-512).</summary>
    public static int Lanes { get; } = Simd.Use512 ? Vector512<T>.Count : Simd.Use256 ? Vector256<T>.Count : 1;

    /// <summary>The columns of one panel: four vectors.</summary>
    public static int PanelWidth => 4 * Lanes;

    private readonly int[] _sizes;
    private readonly DenseLayerSpec[] _layers;
    private readonly T[] _slopes;
    // Per layer: its panels (d_in x padded columns, panel after panel) and its padded bias; pinned.
    private readonly T[][] _panels;
    private readonly T[][] _bias;
    private readonly T[][] _out;
    private readonly int[] _panelCount;
    private readonly Job _job;
    // The fused units' partial sums of the second layer (see Unit): one run of its padded outputs
    // a unit, each starting on a cache line of its own; pinned.
    private readonly T[] _partials;
    private readonly int _partialStride, _partialOffset;
    // The input converted from float64, one buffer per part of a call (see PredictFromDoubles); pinned.
    private readonly T[][] _converted;
    // Set by a conversion that met a value not finite or beyond T's range (every part converts all of x).
    private volatile bool _badInput;
    // Whether the last call read the panels in reverse order: every other call does, where a
    // core's share of the weights is at most ReverseBytes. Weights about the size of a core's L2
    // (W1's 784-256-128-10: 0.94 MB a core in float64 over two cores, or in float32 on one, against
    // a Zen 4's 1 MB), read in the same order every call, miss on the lines needed next, the least
    // recently used ones, which the cache has just evicted; read in the reverse order, a call
    // starts with the panels the last call read last. Measured on W1 (paired blocks of 20,000
    // calls in one process, AMD EPYC Zen 4): float64 over two cores 1.08-1.10x, float32 on one core
    // 1.07x, float32 over two cores (0.47 MB a core) 0.99-1.02x; float64 on one core (1.9 MB, nearly
    // twice L2, so little is left to reuse) 0.988x, hence the limit. The order of the panels changes
    // no output: each panel's columns are their own sums.
    private bool _reverse;
    // The bytes of all layers' panels, and the most of them a core may read for calls to alternate.
    private readonly long _weightBytes;
    private static readonly long ReverseBytes = CacheSizes.Current.L2 * 3 / 2;

    /// <summary>A predictor of d_in = <paramref name="inputs"/> and the given layers, all weights and biases zero.</summary>
    public RowPredictor(int inputs, IReadOnlyList<DenseLayerSpec> layers)
    {
        Simd.CheckType<T>();
        ArgumentNullException.ThrowIfNull(layers);
        if (inputs < 1) throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "A network needs at least one input.");
        if (layers.Count == 0) throw new ArgumentException("A network needs at least one layer.", nameof(layers));
        _layers = layers.ToArray();
        _sizes = new int[_layers.Length + 1];
        _sizes[0] = inputs;
        _slopes = new T[_layers.Length];
        _panels = new T[_layers.Length][];
        _bias = new T[_layers.Length][];
        _out = new T[_layers.Length][];
        _panelCount = new int[_layers.Length];
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Units < 1) throw new ArgumentOutOfRangeException(nameof(layers), _layers[l].Units, $"Layer {l} needs at least one unit.");
            _sizes[l + 1] = _layers[l].Units;
            _slopes[l] = T.CreateTruncating(_layers[l].Slope);
            int padded = Padded(_layers[l].Units);
            _panels[l] = GC.AllocateArray<T>(_sizes[l] * padded, pinned: true);
            _bias[l] = GC.AllocateArray<T>(padded, pinned: true);
            _out[l] = GC.AllocateArray<T>(padded, pinned: true);
            _panelCount[l] = (padded + PanelWidth - 1) / PanelWidth;
            _weightBytes += (long)_panels[l].Length * sizeof(T);
        }
        _job = new Job(this);
        int line = 64 / sizeof(T);
        _partialStride = _layers.Length > 1 ? (Padded(_sizes[2]) + line - 1) / line * line : 0;
        _partials = GC.AllocateArray<T>(_partialStride * _panelCount[0] + line, pinned: true);
        _partialOffset = (int)((64 - (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_partials)) % 64) % 64) / sizeof(T);
        // (float64 predictors read a float64 input in place: no buffers.)
        _converted = new T[typeof(T) == typeof(double) ? 0 : Math.Min(WorkerPool.Threads, MaxParts)][];
        for (int i = 0; i < _converted.Length; i++) _converted[i] = GC.AllocateArray<T>(inputs, pinned: true);
    }

    /// <summary>The number of inputs d_0.</summary>
    public int Inputs => _sizes[0];

    /// <summary>The number of outputs d_L.</summary>
    public int Outputs => _sizes[^1];

    /// <summary>The number of layers.</summary>
    public int LayerCount => _layers.Length;

    private static int Padded(int columns) => (columns + Lanes - 1) / Lanes * Lanes;

    /// <summary>
    /// Sets layer <paramref name="layer"/>'s weights (d_in x d_out, row-major) and bias (d_out
    /// values; empty for a layer without bias).
    /// </summary>
    public void SetParameters(int layer, ReadOnlySpan<T> weights, ReadOnlySpan<T> bias)
    {
        if ((uint)layer >= (uint)_layers.Length) throw new ArgumentOutOfRangeException(nameof(layer));
        int din = _sizes[layer], dout = _sizes[layer + 1], padded = Padded(dout), pw = PanelWidth;
        if (weights.Length != din * dout) throw new ArgumentException($"weights has {weights.Length} values; layer {layer} needs {din} x {dout}.", nameof(weights));
        if (bias.Length != 0 && bias.Length != dout) throw new ArgumentException($"bias has {bias.Length} values; layer {layer} has {dout} outputs.", nameof(bias));
        var panels = _panels[layer];
        Array.Clear(panels);
        for (int c0 = 0; c0 < padded; c0 += pw)
        {
            int width = Math.Min(pw, padded - c0);          // the panel's stored columns
            int real = Math.Max(0, Math.Min(width, dout - c0)); // of which real
            int start = c0 * din;                           // panels before hold c0 columns of din rows
            for (int p = 0; p < din; p++)
                weights.Slice(p * dout + c0, real).CopyTo(panels.AsSpan(start + p * width, real));
        }
        Array.Clear(_bias[layer]);
        if (_layers[layer].Bias && bias.Length == dout) bias.CopyTo(_bias[layer]);
    }

    /// <summary>
    /// The network's output for one sample: x has d_0 values, output gets d_L. Allocates nothing.
    /// With <paramref name="parallel"/> the large layers are split over the worker pool. Not
    /// thread-safe: one call at a time (the outputs of the layers are the predictor's buffers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Predict(ReadOnlySpan<T> x, Span<T> output, bool parallel = false)
    {
        if (x.Length < Inputs) throw new ArgumentException($"x has {x.Length} values; the network has {Inputs} inputs.", nameof(x));
        if (output.Length < Outputs) throw new ArgumentException($"output has {output.Length} values; the network has {Outputs} outputs.", nameof(output));
        fixed (T* px = x)
            Run(px, null, output, parallel);
    }

    /// <summary>
    /// As <see cref="Predict(ReadOnlySpan{T}, Span{T}, bool)"/> for an input of float64 values,
    /// each rounded to T (to the nearest float32) as it is read: the same result as converting x
    /// first. With <paramref name="parallel"/> each thread converts x into its own buffer, so no
    /// core reads an input that another core has just written (on a 2-core machine a row of 784
    /// values converted by the caller cost the other core 0.6 to 2 us to read, against 0.07 us
    /// to convert it again). Returns whether every value of x is finite and within T's range
    /// (checked as it is converted, <see cref="Layout.Round{T}(ReadOnlySpan{double}, Span{T})"/>;
    /// for double, in one pass first); when it is not, output holds no meaningful values and the
    /// caller reports the input.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool PredictFromDoubles(ReadOnlySpan<double> x, Span<T> output, bool parallel = false)
    {
        if (x.Length < Inputs) throw new ArgumentException($"x has {x.Length} values; the network has {Inputs} inputs.", nameof(x));
        if (output.Length < Outputs) throw new ArgumentException($"output has {output.Length} values; the network has {Outputs} outputs.", nameof(output));
        fixed (double* px = x)
        {
            // float64: x is already the kernels' input, checked here.
            if (typeof(T) == typeof(double))
            {
                bool finite = Layout.AllFinite(x.Slice(0, Inputs));
                Run((T*)px, null, output, parallel);
                return finite;
            }
            _badInput = false;
            Run(null, px, output, parallel);
            return !_badInput;
        }
    }

    /// <summary>The forward pass of the input x (in T), or xd (float64, converted by each thread that reads it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run(T* x, double* xd, Span<T> output, bool parallel)
    {
        int from = 0;
        int parts = parallel ? Math.Min(WorkerPool.Threads, MaxParts) : 1;
        int lastSplit = LastSplit();
        bool fused = Fused(lastSplit);
        // Every other call reads each layer's panels last to first (see _reverse).
        bool reverse = _reverse = !_reverse && _weightBytes / parts <= ReverseBytes;
        T* input;
        if (parts > 1 && lastSplit >= 0)
        {
            // One fork for every layer up to the last large one: each thread computes its run
            // of each large layer's panels and waits for the others' at the end of the layer; or,
            // fused, its run of the first layer's units, and no thread waits for another.
            _job.Start(x, xd, fused ? 0 : lastSplit, parts, reverse, fused);
            WorkerPool.Run(_job, parts, affinity: true);
            _job.Clear();
            from = lastSplit + 1;
            input = OutPtr(lastSplit);
        }
        else
        {
            input = xd == null ? x : Convert(xd, 0);
            if (fused)
            {
                for (int k = 0; k < _panelCount[0]; k++) Unit(input, reverse ? _panelCount[0] - 1 - k : k);
                from = 2;
                input = OutPtr(1);
            }
        }
        // The fused second layer, from the units' partial sums (either way, in the units' order).
        if (fused) Combine();
        for (int l = from; l < _layers.Length; l++)
        {
            Layer(l, input, 0, _panelCount[l], reverse);
            input = OutPtr(l);
        }
        new ReadOnlySpan<T>(input, Outputs).CopyTo(output);
    }

    /// <summary>
    /// Whether the first two layers are computed as units (see <see cref="Unit"/>): where they are
    /// the only large ones. Decided by the layers' sizes and <see cref="ParallelBytes"/> alone, so
    /// that one thread and many sum in the same order (a change of ParallelBytes that fuses or
    /// unfuses them changes the last bits of the outputs).
    /// </summary>
    private bool Fused(int lastSplit) => lastSplit == 1 && IsSplit(0) && _panelCount[0] < 1 << 20;

    /// <summary>
    /// Unit c of the fused first two layers: panel c of the first layer (its outputs, with bias and
    /// activation), then the second layer's sums over just those outputs, for all its columns, into
    /// partial c. A thread's units need nothing from another thread's, so the threads exchange
    /// only the partials, once, at the end; <see cref="Combine"/> adds them in the order of c.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Unit(T* x, int c)
    {
        Layer(0, x, c, c + 1);
        int pw = PanelWidth, din = _sizes[1], padded = Padded(_sizes[2]);
        int r0 = c * pw, rows = Math.Min(pw, din - r0);
        T* a = OutPtr(0) + r0;
        T* y = PartialPtr(c);
        fixed (T* w = _panels[1])
            for (int c0 = 0; c0 < padded; c0 += pw)
            {
                int width = Math.Min(pw, padded - c0);
                Sums(w + (nint)c0 * din + (nint)r0 * width, width, a, rows, y + c0);
            }
    }

    /// <summary>The second layer's output from the units' partials: their sum in the order of the units, then bias and activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Combine()
    {
        int dout = _sizes[2], padded = Padded(dout);
        T* y = OutPtr(1);
        new ReadOnlySpan<T>(PartialPtr(0), padded).CopyTo(new Span<T>(y, padded));
        for (int c = 1; c < _panelCount[0]; c++)
        {
            T* p = PartialPtr(c);
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; j + Vector512<T>.Count <= padded; j += Vector512<T>.Count) Vector512.Store(Vector512.Load(y + j) + Vector512.Load(p + j), y + j);
            for (; j < padded; j++) y[j] += p[j];
        }
        Activations.BiasActivate(new Span<T>(y, dout), 1, dout, _layers[1].Bias ? new ReadOnlySpan<T>(_bias[1], 0, dout) : ReadOnlySpan<T>.Empty, _layers[1].Activation, _slopes[1]);
    }

    /// <summary>The float64 input rounded to T in part <paramref name="part"/>'s buffer; returns the buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private T* Convert(double* xd, int part)
    {
        if (!Layout.Round(new ReadOnlySpan<double>(xd, Inputs), _converted[part].AsSpan(0, Inputs))) _badInput = true;
        return (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_converted[part]));
    }

    /// <summary>The most parts a call splits a layer into (the worker pool's limit with affinity).</summary>
    private const int MaxParts = 16;

    /// <summary>Whether layer l is split over the threads: its weights take at least <see cref="ParallelBytes"/> and it has two panels or more.</summary>
    private bool IsSplit(int l) => _panelCount[l] > 1 && (long)_sizes[l] * _sizes[l + 1] * Unsafe.SizeOf<T>() >= ParallelBytes;

    /// <summary>The last layer split over the threads, or -1.</summary>
    private int LastSplit()
    {
        for (int l = _layers.Length - 1; l >= 0; l--)
            if (IsSplit(l)) return l;
        return -1;
    }

    /// <summary>Unit c's partial sums (pinned, on a cache line of their own).</summary>
    private T* PartialPtr(int c) => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_partials)) + _partialOffset + (nint)c * _partialStride;

    /// <summary>Layer l's output buffer (pinned).</summary>
    private T* OutPtr(int l) => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_out[l]));

    /// <summary>Panels first..last-1 of layer l on the input x: sums, bias and activation into the layer's output.</summary>
    // Optimised from the first call, as everything on a prediction's path (no tier-0 phase).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Layer(int l, T* x, int first, int last, bool reverse = false)
    {
        int din = _sizes[l], dout = _sizes[l + 1], padded = Padded(dout), pw = PanelWidth;
        fixed (T* w = _panels[l])
        fixed (T* y = _out[l])
        {
            for (int k = first; k < last; k++)
            {
                int i = reverse ? first + last - 1 - k : k;
                int c0 = i * pw, width = Math.Min(pw, padded - c0);
                Sums(w + (nint)c0 * din, width, x, din, y + c0);
                int real = Math.Min(width, dout - c0);
                if (real > 0)
                    Activations.BiasActivate(new Span<T>(y + c0, real), 1, real,
                        _layers[l].Bias ? new ReadOnlySpan<T>(_bias[l], c0, real) : ReadOnlySpan<T>.Empty, _layers[l].Activation, _slopes[l]);
            }
        }
    }

    /// <summary>A panel's sums over k rows of x: the panel is <paramref name="width"/> columns wide, its rows one after another.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sums(T* panel, int width, T* x, int k, T* y)
    {
        if (Simd.Use512)
        {
            if (width == PanelWidth) Panel512Full(panel, x, k, y);
            else for (int v = 0; v < width; v += Lanes) Panel512One(panel + v, width, x, k, y + v);
        }
        else if (Simd.Use256)
        {
            if (width == PanelWidth) Panel256Full(panel, x, k, y);
            else for (int v = 0; v < width; v += Lanes) Panel256One(panel + v, width, x, k, y + v);
        }
        else
            for (int v = 0; v < width; v++) PanelScalar(panel + v, width, x, k, y + v);
    }

    /// <summary>A full panel (four vectors of columns, rows of 4 w values one after another) in 512 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel512Full(T* panel, T* x, int k, T* y)
    {
        int w = Vector512<T>.Count, pw = 4 * w;
        Vector512<T> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<T> b0 = default, b1 = default, b2 = default, b3 = default;
        T* r = panel;
        int p = 0;
        for (; p + 1 < k; p += 2)
        {
            var x0 = Vector512.Create(x[p]);
            var x1 = Vector512.Create(x[p + 1]);
            a0 = Simd.Fma512(x0, Vector512.Load(r), a0);
            a1 = Simd.Fma512(x0, Vector512.Load(r + w), a1);
            a2 = Simd.Fma512(x0, Vector512.Load(r + 2 * w), a2);
            a3 = Simd.Fma512(x0, Vector512.Load(r + 3 * w), a3);
            b0 = Simd.Fma512(x1, Vector512.Load(r + pw), b0);
            b1 = Simd.Fma512(x1, Vector512.Load(r + pw + w), b1);
            b2 = Simd.Fma512(x1, Vector512.Load(r + pw + 2 * w), b2);
            b3 = Simd.Fma512(x1, Vector512.Load(r + pw + 3 * w), b3);
            r += 2 * pw;
        }
        if (p < k)
        {
            var x0 = Vector512.Create(x[p]);
            a0 = Simd.Fma512(x0, Vector512.Load(r), a0);
            a1 = Simd.Fma512(x0, Vector512.Load(r + w), a1);
            a2 = Simd.Fma512(x0, Vector512.Load(r + 2 * w), a2);
            a3 = Simd.Fma512(x0, Vector512.Load(r + 3 * w), a3);
        }
        Vector512.Store(a0 + b0, y);
        Vector512.Store(a1 + b1, y + w);
        Vector512.Store(a2 + b2, y + 2 * w);
        Vector512.Store(a3 + b3, y + 3 * w);
    }

    /// <summary>One vector of columns of a panel whose rows are <paramref name="stride"/> values apart, in 512 bits (the same order of sums as the full panel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel512One(T* column, int stride, T* x, int k, T* y)
    {
        Vector512<T> a = default, b = default;
        T* r = column;
        int p = 0;
        for (; p + 1 < k; p += 2)
        {
            a = Simd.Fma512(Vector512.Create(x[p]), Vector512.Load(r), a);
            b = Simd.Fma512(Vector512.Create(x[p + 1]), Vector512.Load(r + stride), b);
            r += 2 * stride;
        }
        if (p < k) a = Simd.Fma512(Vector512.Create(x[p]), Vector512.Load(r), a);
        Vector512.Store(a + b, y);
    }

    /// <summary>A full panel in 256 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel256Full(T* panel, T* x, int k, T* y)
    {
        int w = Vector256<T>.Count, pw = 4 * w;
        Vector256<T> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<T> b0 = default, b1 = default, b2 = default, b3 = default;
        T* r = panel;
        int p = 0;
        for (; p + 1 < k; p += 2)
        {
            var x0 = Vector256.Create(x[p]);
            var x1 = Vector256.Create(x[p + 1]);
            a0 = Simd.Fma256(x0, Vector256.Load(r), a0);
            a1 = Simd.Fma256(x0, Vector256.Load(r + w), a1);
            a2 = Simd.Fma256(x0, Vector256.Load(r + 2 * w), a2);
            a3 = Simd.Fma256(x0, Vector256.Load(r + 3 * w), a3);
            b0 = Simd.Fma256(x1, Vector256.Load(r + pw), b0);
            b1 = Simd.Fma256(x1, Vector256.Load(r + pw + w), b1);
            b2 = Simd.Fma256(x1, Vector256.Load(r + pw + 2 * w), b2);
            b3 = Simd.Fma256(x1, Vector256.Load(r + pw + 3 * w), b3);
            r += 2 * pw;
        }
        if (p < k)
        {
            var x0 = Vector256.Create(x[p]);
            a0 = Simd.Fma256(x0, Vector256.Load(r), a0);
            a1 = Simd.Fma256(x0, Vector256.Load(r + w), a1);
            a2 = Simd.Fma256(x0, Vector256.Load(r + 2 * w), a2);
            a3 = Simd.Fma256(x0, Vector256.Load(r + 3 * w), a3);
        }
        Vector256.Store(a0 + b0, y);
        Vector256.Store(a1 + b1, y + w);
        Vector256.Store(a2 + b2, y + 2 * w);
        Vector256.Store(a3 + b3, y + 3 * w);
    }

    /// <summary>One vector of columns in 256 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel256One(T* column, int stride, T* x, int k, T* y)
    {
        Vector256<T> a = default, b = default;
        T* r = column;
        int p = 0;
        for (; p + 1 < k; p += 2)
        {
            a = Simd.Fma256(Vector256.Create(x[p]), Vector256.Load(r), a);
            b = Simd.Fma256(Vector256.Create(x[p + 1]), Vector256.Load(r + stride), b);
            r += 2 * stride;
        }
        if (p < k) a = Simd.Fma256(Vector256.Create(x[p]), Vector256.Load(r), a);
        Vector256.Store(a + b, y);
    }

    /// <summary>One column, without vectors (machines with neither AVX2 nor AVX-512).</summary>
    private static void PanelScalar(T* column, int stride, T* x, int k, T* y)
    {
        T a = T.Zero, b = T.Zero;
        T* r = column;
        int p = 0;
        for (; p + 1 < k; p += 2)
        {
            a = T.FusedMultiplyAdd(x[p], r[0], a);
            b = T.FusedMultiplyAdd(x[p + 1], r[stride], b);
            r += 2 * stride;
        }
        if (p < k) a = T.FusedMultiplyAdd(x[p], r[0], a);
        *y = a + b;
    }

    /// <summary>
    /// The layers 0 to the last large one, split over the worker pool in one fork. A large layer's
    /// panels are cut into as many runs as there are parts, run c belonging to the cores whose
    /// processor number is c modulo the runs (a small layer before a large one is one run). A
    /// thread takes the panels of its core's run
    /// one at a time from the front, so that each core keeps reading the same weights from its own
    /// cache; when its run is done it takes, one at a time from the back, the panels of other runs
    /// that their threads have not reached (a thread the operating system has not scheduled, or
    /// stopped in the middle of its run, delays the others by one panel at most, and parts run one
    /// after another when the pool is busy); then it waits until every panel of the layer is done
    /// before it starts the next layer. Each panel is computed once, by whichever thread takes it,
    /// so the values do not depend on who did.
    /// </summary>
    private sealed class Job(RowPredictor<T> owner) : IParallelJob
    {
        // Per layer and run, a cache line of its own (8 longs): [0] the run's next panel from the
        // front (low 32 bits) and its end (high 32 bits; thieves take from the end), [1] the
        // number of its panels done.
        private const int Line = 8;
        private readonly long[] _runs = GC.AllocateArray<long>(owner._layers.Length * MaxParts * Line + Line, pinned: true);
        private int _last;
        private T* _x;
        private double* _xd;

        // The number of runs of each layer in this call, fixed at its start (ParallelBytes may change).
        private readonly int[] _runCount = new int[owner._layers.Length];

        // This call's order: each thread takes its own run's panels from the front and steals from
        // the others' ends, or, in reverse, from its run's end and the others' fronts.
        private bool _reverse;

        // Whether this call's panels are the fused units of the first two layers (see RowPredictor.Unit).
        private bool _fused;

        public void Start(T* x, double* xd, int last, int parts, bool reverse, bool fused)
        {
            _reverse = reverse;
            _fused = fused;
            _x = x;
            _xd = xd;
            _last = last;
            if (fused)
            {
                // No run's state is reset: each carries the number of the call that last took from
                // it (see TakeAll), so that a thread finds its own run's line in its cache.
                _call = (_call + 1) & TagMask;
                int units = Math.Min(parts, owner._panelCount[0]);
                if (_runCount[0] != units) _runCount[0] = units;
                return;
            }
            for (int l = 0; l <= last; l++)
            {
                int panels = owner._panelCount[l];
                int runs = owner.IsSplit(l) ? Math.Min(parts, panels) : 1;
                _runCount[l] = runs;
                for (int c = 0; c < runs; c++)
                {
                    long first = (long)panels * c / runs, end = (long)panels * (c + 1) / runs;
                    _runs[(l * MaxParts + c) * Line] = first | (end << 32);
                    _runs[(l * MaxParts + c) * Line + 1] = 0;
                }
            }
        }

        public void Clear() { _x = null; _xd = null; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int part, int parts)
        {
            T* input = _xd == null ? _x : owner.Convert(_xd, part);
            if (_fused)
            {
                // Units: a thread takes its core's whole run in one step (no atomic operation
                // between two units, each of which would wait for the stores before it, the partial
                // sums of the unit before, which go to another core). Parts but the caller's then
                // take every run left (that of a thread the operating system has not scheduled, or
                // the caller's own where two threads share a core): every part runs, so every run
                // is taken, and the caller reads no other thread's run, which would cost that
                // thread the line on its next call.
                int runs = _runCount[0];
                int home = runs == 1 ? 0 : (int)((uint)Thread.GetCurrentProcessorId() % (uint)runs);
                for (int i = 0; i < (part == 0 ? 1 : runs); i++)
                    if (TakeAll((home + i) % runs, out int first, out int end))
                        for (int k = first; k < end; k++) owner.Unit(input, _reverse ? first + end - 1 - k : k);
                return;
            }
            for (int l = 0; l <= _last; l++)
            {
                int runs = _runCount[l];
                // The run of the core this thread is on (not of the thread: the operating system
                // may move the threads between the cores, and the weights stay in the core's cache).
                int home = runs == 1 ? 0 : (int)((uint)Thread.GetCurrentProcessorId() % (uint)runs);
                bool reverse = _reverse;
                while (reverse ? TakeBack(l, home, out int panel) : TakeFront(l, home, out panel)) Run(l, home, panel, input);
                for (int c = 0; c < runs; c++)
                    if (c != home)
                        while (reverse ? TakeFront(l, c, out int panel) : TakeBack(l, c, out panel)) Run(l, c, panel, input);
                if (l < _last) Wait(l, runs);
                input = owner.OutPtr(l);
            }
        }

        private ref long State(int l, int c) => ref _runs[(l * MaxParts + c) * Line];

        // A fused call's number (24 bits), and the state of a run of units: the number of the call
        // that last took from it (bits 40-63), its end (20-39) and its next unit (0-19); a state
        // of an earlier call stands for the whole run.
        private const long TagMask = (1L << 24) - 1;
        private long _call;

        /// <summary>Takes every unit left of run c in this fused call, first..end-1, if any is left.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool TakeAll(int c, out int first, out int end)
        {
            ref long state = ref _runs[c * Line + 2];
            long call = _call;
            while (true)
            {
                long st = Volatile.Read(ref state);
                if (st >>> 40 == call)
                {
                    first = (int)(st & 0xFFFFF);
                    end = (int)((st >> 20) & 0xFFFFF);
                }
                else
                {
                    int units = owner._panelCount[0], runs = _runCount[0];
                    first = (int)((long)units * c / runs);
                    end = (int)((long)units * (c + 1) / runs);
                }
                if (first >= end) return false;
                if (Interlocked.CompareExchange(ref state, (call << 40) | ((long)end << 20) | (long)end, st) == st) return true;
            }
        }

        /// <summary>Takes the next panel of run c of layer l from the front, if any is left.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool TakeFront(int l, int c, out int panel)
        {
            ref long state = ref State(l, c);
            while (true)
            {
                long st = Volatile.Read(ref state);
                int front = (int)st, end = (int)(st >> 32);
                panel = front;
                if (front >= end) return false;
                if (Interlocked.CompareExchange(ref state, st + 1, st) == st) return true;
            }
        }

        /// <summary>Takes the last panel not yet taken of run c of layer l, if any is left.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool TakeBack(int l, int c, out int panel)
        {
            ref long state = ref State(l, c);
            while (true)
            {
                long st = Volatile.Read(ref state);
                int front = (int)st, end = (int)(st >> 32);
                panel = end - 1;
                if (front >= end) return false;
                if (Interlocked.CompareExchange(ref state, st - (1L << 32), st) == st) return true;
            }
        }

        /// <summary>Computes one panel of layer l (taken from run c) and counts it done.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Run(int l, int c, int panel, T* input)
        {
            try { owner.Layer(l, input, panel, panel + 1); }
            finally { Interlocked.Increment(ref _runs[(l * MaxParts + c) * Line + 1]); }
        }

        /// <summary>Waits until every panel of layer l is done: a pause loop, then yielding.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Wait(int l, int runs)
        {
            long total = owner._panelCount[l];
            if (Done(l, runs) >= total) return;
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            while (Done(l, runs) < total && System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks)
                if (System.Runtime.Intrinsics.X86.X86Base.IsSupported) System.Runtime.Intrinsics.X86.X86Base.Pause(); else Thread.SpinWait(1);
            var spinner = new SpinWait();
            while (Done(l, runs) < total) spinner.SpinOnce(-1);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private long Done(int l, int runs)
        {
            long done = 0;
            for (int c = 0; c < runs; c++) done += Volatile.Read(ref _runs[(l * MaxParts + c) * Line + 1]);
            return done;
        }

        private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 20000; // 50 us
    }
}
