using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>One dense layer as the facade shows it.</summary>
/// <param name="InputSize">d_in.</param>
/// <param name="OutputSize">d_out.</param>
/// <param name="Activation">The layer's activation.</param>
/// <param name="HasBias">Whether the layer adds a bias row.</param>
public sealed record LayerInfo(int InputSize, int OutputSize, Activation Activation, bool HasBias);

/// <summary>The loss of a batch and its gradient with respect to every parameter: the dense layers' weights and biases
/// in their shapes, and all parameters as one flat vector (blocks in order, depth first into residual blocks).</summary>
public sealed class LossAndGradient
{
    internal LossAndGradient(double loss, FN.Gradients gradients)
    {
        Loss = loss;
        CoreGradients = gradients;
        var dense = new List<FN.DenseGradient>();
        CollectDense(gradients.Blocks, dense);
        WeightGradients = dense.Select(g => g.Weights.ToArray()).ToArray();
        BiasGradients = dense.Select(g => Interop.OrNull(g.Bias)?.ToArray()).ToArray();
        Gradient = FN.Parameters.ofGradients(gradients).ToArray();
    }

    private static void CollectDense(IEnumerable<FN.BlockGradient> blocks, List<FN.DenseGradient> into)
    {
        foreach (var g in blocks)
        {
            if (g is FN.BlockGradient.Dense d) into.Add(d.Item);
            else if (g is FN.BlockGradient.Residual r) CollectDense(r.Item, into);
        }
    }

    internal FN.Gradients CoreGradients { get; }

    /// <summary>The loss of the batch.</summary>
    public double Loss { get; }

    /// <summary>dL/dW of each dense layer (as <see cref="Network.Layers"/> numbers them), shaped like its weights (d_in x d_out).</summary>
    public IReadOnlyList<double[,]> WeightGradients { get; }

    /// <summary>dL/db of each dense layer, or null for a layer without bias.</summary>
    public IReadOnlyList<double[]?> BiasGradients { get; }

    /// <summary>dL/dtheta for every parameter of every block, in the network's flat parameter order: blocks in order,
    /// depth first into residual blocks; a dense layer's weights row by row then its bias; a normalisation's scale
    /// then shift; a custom block's parameters in its own order.</summary>
    public double[] Gradient { get; }
}

/// <summary>An immutable network: a sequence of blocks (dense layers, activations, dropout, batch and layer
/// normalisation, residual blocks, custom blocks). Build one with <see cref="NetworkBuilder"/>. Every method returns
/// new values; none changes the network or the arrays passed to it. A batch has one sample per row.</summary>
/// <remarks>The members about layers (<see cref="Layers"/>, <see cref="GetWeights"/>, <see cref="GetBias"/>,
/// <see cref="WithLayerParameters"/>, <see cref="FunctionalNN.LossAndGradient.WeightGradients"/>) number the network's
/// dense layers only, in order and depth first into residual blocks; <see cref="Blocks"/> lists every block.</remarks>
public sealed class Network
{
    internal Network(FN.Network core) => Core = core;

    internal FN.Network Core { get; }

    /// <summary>The number of inputs of the first block.</summary>
    public int InputSize => Core.InputSize;

    /// <summary>The number of outputs of the last block.</summary>
    public int OutputSize => Core.OutputSize;

    /// <summary>The number of trainable parameters of all blocks (weights, biases, normalisations' scales and shifts,
    /// custom blocks' parameters).</summary>
    public int ParameterCount => Core.ParameterCount;

    /// <summary>The number of state values: the running mean and variance of each batch normalisation, which a training
    /// step updates beside the parameters (not by gradient).</summary>
    public int StateCount => Core.StateCount;

    /// <summary>Every block, first to last (a residual block's inner blocks in its <see cref="BlockInfo.Inner"/>).</summary>
    public IReadOnlyList<BlockInfo> Blocks => BlockInfo.Of(Core.Blocks, Core.InputSize);

    /// <summary>True when every block is a dense layer (the notes' multi-layer network).</summary>
    public bool IsDense => Core.IsDense;

    /// <summary>The precision of the network's parameters and of everything it computes (Float64 unless set).</summary>
    public Precision Precision => EnumInterop.FromCore(Core.Precision);

    /// <summary>
    /// The network in another precision (PyTorch's <c>model.float()</c> / <c>model.double()</c>): a new network whose
    /// weights and biases are rounded to <paramref name="precision"/> and which computes in it from then on. Widening
    /// Float32 to Float64 is exact. A Float32 network rounds its inputs and targets to float32 and keeps every value it
    /// computes (activations, loss, gradients, optimiser state, updated parameters) a float32 value.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An unknown precision.</exception>
    /// <exception cref="ArgumentException">A parameter of this network is beyond the range of the requested precision
    /// (float32's, about 3.4e38), so the network has no form in it: ParamName "precision" (the argument this network's
    /// content cannot take), the message naming the block, the parameter and its position (e.g. "Block 0's
    /// weights[0, 0] = 1E+39").</exception>
    public Network WithPrecision(Precision precision) =>
        new(Errors.Run(() => FN.NetworkModule.withPrecision(precision.ToCore(), Core), ("net", nameof(precision))));

    /// <summary>The dense layers, first to last (depth first into residual blocks; <see cref="Blocks"/> lists every block).</summary>
    public IReadOnlyList<LayerInfo> Layers =>
        DenseLayers().Select(l => new LayerInfo(l.InputSize, l.OutputSize, EnumInterop.FromCore(l.Activation), l.Bias != null)).ToArray();

    /// <summary>A copy of dense layer <paramref name="layer"/>'s weights (d_in x d_out), numbered as in <see cref="Layers"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such dense layer (the message gives the count).</exception>
    public double[,] GetWeights(int layer) => LayerAt(layer).Weights.ToArray();

    /// <summary>A copy of dense layer <paramref name="layer"/>'s bias, or null when it has none.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such dense layer (the message gives the count).</exception>
    public double[]? GetBias(int layer) => Interop.OrNull(LayerAt(layer).Bias)?.ToArray();

    /// <summary>A network with dense layer <paramref name="layer"/>'s weights and bias replaced (copied), numbered as in
    /// <see cref="Layers"/>; every other block is kept.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such dense layer (the message gives the count).</exception>
    /// <exception cref="ArgumentException">Weights or bias of the wrong shape, not finite, or (for a Float32 network) holding a
    /// value beyond float32's range, about 3.4e38 (ParamName "weights" or "bias", the message naming the position).</exception>
    public Network WithLayerParameters(int layer, double[,] weights, double[]? bias)
    {
        var old = LayerAt(layer);
        var w = Interop.ToMatrix(weights, nameof(weights));
        if (w.RowCount != old.InputSize || w.ColumnCount != old.OutputSize)
            throw new ArgumentException($"weights has shape {w.RowCount}x{w.ColumnCount} but layer {layer} has shape {old.InputSize}x{old.OutputSize}.", nameof(weights));
        if ((bias is null) != (old.Bias == null))
            throw new ArgumentException(old.Bias == null ? $"Layer {layer} has no bias; pass null." : $"Layer {layer} has a bias; pass one of length {old.OutputSize}.", nameof(bias));
        var b = bias is null ? null : Interop.ToVector(bias, nameof(bias));
        // The network's precision must hold the new values (the rounding withPrecision applies below).
        var p = Core.Precision;
        for (int i = 0; i < w.RowCount; i++)
            for (int j = 0; j < w.ColumnCount; j++)
                if (!double.IsFinite(FN.PrecisionModule.round(p, w[i, j])) && double.IsFinite(w[i, j]))
                    throw new ArgumentException($"weights[{i}, {j}] = {w[i, j].ToString(CultureInfo.InvariantCulture)} is beyond the range of {FN.PrecisionModule.name(p)} (about 3.4e38), the network's precision.", nameof(weights));
        for (int j = 0; b is not null && j < b.Count; j++)
            if (!double.IsFinite(FN.PrecisionModule.round(p, b[j])) && double.IsFinite(b[j]))
                throw new ArgumentException($"bias[{j}] = {b[j].ToString(CultureInfo.InvariantCulture)} is beyond the range of {FN.PrecisionModule.name(p)} (about 3.4e38), the network's precision.", nameof(bias));
        var replaced = FN.DenseModule.create(w, Interop.Some(b), old.Activation);
        var mapped = FN.NetworkModule.mapLayers(FuncConvert.FromFunc((int i, FN.Dense l) => i == layer ? replaced : l), Core);
        // Keeps the network's precision; a Float32 network rounds the new values to float32.
        return new Network(FN.NetworkModule.withPrecision(Core.Precision, mapped));
    }

    /// <summary>The network's output for a batch x (n x InputSize): an n x OutputSize array.</summary>
    /// <exception cref="ArgumentException">x is empty, holds NaN or infinity, or has the wrong width.</exception>
    public double[,] Predict(double[,] x, Backend backend = Backend.Auto) =>
        FN.NetworkModule.predictWith(backend.ToCore(), Core, Interop.ToMatrix(x, nameof(x))).ToArray();

    /// <summary>
    /// A low-latency predictor for one sample at a time, with a private copy of the parameters (this network is
    /// not changed): <c>Predict(x, output)</c> writes the outputs for one sample, the values of <see cref="Predict(double[,], Backend)"/>
    /// on a one-row batch (to rounding on the kernels backend, whose single-row products add in another order), and on the kernels backend allocates nothing (the reference backend's, for a network the kernels
    /// do not run, builds its matrices on each call). Thread-safe (calls are serialised by a lock; for parallel throughput, give each thread its own predictor).
    /// </summary>
    public Predictor CreatePredictor(Backend backend = Backend.Auto) => new(FN.NetworkModule.predictorWith(backend.ToCore(), Core));

    /// <summary>The loss of the batch (x, y).</summary>
    /// <exception cref="ArgumentException">Bad shapes or values, a loss that overflows the double range from finite
    /// inputs (ParamName "y", naming the row), or an output outside [0, 1] for <see cref="FunctionalNN.Loss.BinaryCrossEntropy"/>
    /// (ParamName "loss", naming the row and column).</exception>
    public double Loss(double[,] x, double[,] y, Loss loss)
    {
        var (xm, ym, l) = (Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y)), loss.ToCore());
        var value = FN.NetworkModule.loss(Core, l, xm, ym);
        return double.IsFinite(value) ? value : FN.LossModule.failOverflow<double>("y", l, FN.NetworkModule.predict(Core, xm), ym);
    }

    /// <summary>The loss of the batch (x, y) and its gradient by backpropagation.</summary>
    /// <exception cref="ArgumentException">Bad shapes or values, a loss that overflows the double range from finite
    /// inputs (ParamName "y", naming the row, as <see cref="Loss(double[,], double[,], FunctionalNN.Loss)"/>), a gradient that does
    /// (ParamName "x"), or an output outside [0, 1] for binary cross-entropy (ParamName "loss").</exception>
    public LossAndGradient LossAndGradient(double[,] x, double[,] y, Loss loss)
    {
        var result = FN.NetworkModule.lossAndGradient(Core, loss.ToCore(), Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y)));
        return new LossAndGradient(result.Item1, result.Item2);
    }

    /// <summary>One gradient-descent step, theta - learningRate * gradient, as a new network.</summary>
    /// <exception cref="ArgumentException">learningRate is not a positive finite number, the gradient does not fit the
    /// network, or a new parameter is not finite (ParamName "gradient", naming the parameter: the gradient holds a
    /// non-finite value, or learningRate times it overflows).</exception>
    public Network GradientDescentStep(LossAndGradient gradient, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        return new Network(Errors.Run(() => FN.GradientDescent.step(learningRate, Core, gradient.CoreGradients), ("gradients", nameof(gradient))));
    }

    /// <summary>Full-batch gradient descent for <paramref name="steps"/> steps, as a new network.</summary>
    /// <exception cref="TrainingDivergedException{TModel}">The loss or a weight stopped being finite after a step, the
    /// last one included (the network it made is returned only once its loss on (x, y) is measured finite: one more
    /// forward pass), with Epoch and Step naming that step (TModel is <see cref="Network"/>); its LastGood is the
    /// network before it.</exception>
    public Network TrainGradientDescent(double[,] x, double[,] y, Loss loss, double learningRate, int steps)
    {
        var xm = Interop.ToMatrix(x, nameof(x));
        var ym = Interop.ToMatrix(y, nameof(y));
        return Interop.Diverging(
            () => new Network(FN.GradientDescent.run(learningRate, steps, loss.ToCore(), xm, ym, Core).Item1),
            good => new Network((FN.Network)good));
    }

    /// <summary>Compares backpropagation with central differences over every parameter (in inference mode: dropout
    /// off, batch normalisation by its running statistics). The vectors are in the flat parameter order of
    /// <see cref="FunctionalNN.LossAndGradient.Gradient"/>.</summary>
    /// <remarks>A fourth argument that is a number is <paramref name="epsilon"/>, the literal <c>0</c> included: this overload
    /// has the higher overload resolution priority, since C# converts a constant 0 to any enum and the call would otherwise be
    /// ambiguous with the overload taking a <see cref="NetworkMode"/> (write the mode by name, <c>NetworkMode.Inference</c>).
    /// An epsilon that is not a positive finite number (0 among them) throws ArgumentException (ParamName "epsilon").</remarks>
    [OverloadResolutionPriority(1)]
    public GradientCheckResult CheckGradients(double[,] x, double[,] y, Loss loss, double epsilon = 1e-4, double relativeFloor = 1e-4) =>
        new(FN.GradientCheck.checkNetwork(new FN.GradientCheckOptions(epsilon, FN.DifferenceScheme.FourPoint, relativeFloor), Core, loss.ToCore(), Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y))));

    /// <summary>
    /// Compares backpropagation with central differences over every parameter and every input value, in a mode, so
    /// that every block is checked (those without parameters, such as dropout, by the gradient they pass down). In
    /// training mode the dropout masks are those of the first step of a training run with seed
    /// <paramref name="dropoutSeed"/> (fixed while the loss is differentiated), and batch normalisation uses the
    /// batch's own statistics, differentiated through. The vectors hold the parameters' gradient (the order of
    /// <see cref="FunctionalNN.LossAndGradient.Gradient"/>) followed by dL/dx row by row; an index at or beyond
    /// <see cref="ParameterCount"/> is an input value.
    /// </summary>
    /// <exception cref="ArgumentException">Bad x or y, a batch of one row for batch normalisation in training mode, or an
    /// output outside [0, 1] for binary cross-entropy (ParamName "loss").</exception>
    /// <exception cref="InvalidOperationException">A step activation (no gradient).</exception>
    public GradientCheckResult CheckGradients(double[,] x, double[,] y, Loss loss, NetworkMode mode, long dropoutSeed = 0,
        double epsilon = 1e-4, double relativeFloor = 1e-4)
    {
        var coreMode = mode switch
        {
            NetworkMode.Inference => FN.Mode.Inference,
            NetworkMode.Training => FN.Mode.NewTraining(Functional.NN.Kernels.Formulas.DropoutKey(dropoutSeed, 0)),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown mode."),
        };
        return new(FN.GradientCheck.checkNetworkIn(new FN.GradientCheckOptions(epsilon, FN.DifferenceScheme.FourPoint, relativeFloor), coreMode, Core,
            loss.ToCore(), Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y))));
    }

    /// <summary>One line per block, a residual block's inner blocks indented below it: the kind, the widths, the
    /// activation and bias of a dense layer, and the parameter count ("dense 4 -> 16, relu, bias (80 parameters)",
    /// "batch normalisation 16 (32 parameters, 32 running statistics)", "dropout 0.1 (16)").</summary>
    public IReadOnlyList<string> Describe() => FN.NetworkModule.describe(Core).ToArray();

    private List<FN.Dense> DenseLayers()
    {
        var layers = new List<FN.Dense>();
        void Walk(IEnumerable<FN.Block> blocks)
        {
            foreach (var b in blocks)
            {
                if (b is FN.Block.Dense d) layers.Add(d.Item);
                else if (b is FN.Block.Residual r) Walk(r.Item);
            }
        }
        Walk(Core.Blocks);
        return layers;
    }

    /// <summary>A table like Keras' <c>model.summary()</c>: each block's output shape and parameter count, the total of the
    /// parameters (<see cref="ParameterCount"/>), and, for a network with batch normalisation, the running statistics
    /// (<see cref="StateCount"/>), as <see cref="Describe"/> and the CLI's summary count them.</summary>
    public string Summary() => Summaries.Network(Core, "Network");

    /// <summary>"Network 4 -> 16 -> 3 (131 parameters, float64)": the widths after each dense layer.</summary>
    public override string ToString() =>
        $"Network {string.Join(" -> ", new[] { Core.InputSize }.Concat(DenseLayers().Select(l => l.OutputSize)))} ({Core.ParameterCount} parameters, {(Core.Precision.IsFloat32 ? "float32" : "float64")})";

    private FN.Dense LayerAt(int layer)
    {
        var layers = DenseLayers();
        var count = layers.Count;
        if (layer < 0 || layer >= count)
            throw new ArgumentOutOfRangeException(nameof(layer), layer,
                count == 0 ? "The network has no dense layer (see Blocks)." : $"The network has {count} dense layers (0 .. {count - 1}).");
        return layers[layer];
    }
}

/// <summary>The chain of blocks shared by <see cref="NetworkBuilder"/> and <see cref="ResidualBuilder"/>: each call adds
/// a block after the previous ones and returns the builder. A builder checks each block's widths as it is added.</summary>
/// <typeparam name="TSelf">The builder's own type.</typeparam>
public abstract class BlockSequenceBuilder<TSelf> where TSelf : BlockSequenceBuilder<TSelf>
{
    private readonly List<FN.BlockSpec> blocks = new();
    private bool fixedWidth;

    private protected BlockSequenceBuilder(int width) => Width = width;

    /// <summary>The width the next block meets (the inputs, or the last block's outputs).</summary>
    public int Width { get; private set; }

    /// <summary>The number of blocks added so far.</summary>
    public int Count => blocks.Count;

    internal IReadOnlyList<FN.BlockSpec> Specs => blocks;

    /// <summary>True when some block added fixes its width (a dense layer, a normalisation, a custom block).</summary>
    internal bool FixesWidth => fixedWidth;

    /// <summary>How deep the residual blocks added so far nest (0: none; a residual of dense layers: 1).</summary>
    internal int Nesting { get; private set; }

    private TSelf Push(FN.BlockSpec spec, int width, bool fixes)
    {
        blocks.Add(spec);
        Width = width;
        fixedWidth |= fixes;
        return (TSelf)this;
    }

    /// <summary>Adds a dense layer of <paramref name="units"/> outputs: s(X W + 1 b), with s ReLU unless
    /// <paramref name="activation"/> says otherwise.</summary>
    /// <param name="units">The layer's width.</param>
    /// <param name="activation">Its activation (default <see cref="FunctionalNN.Activation.ReLU"/>, for hidden layers; Keras'
    /// Dense defaults to linear instead).</param>
    /// <param name="bias">Whether it adds a bias row.</param>
    /// <param name="initializer">How its weights are drawn.</param>
    /// <param name="leakySlope">The slope for z &lt; 0 of a leaky ReLU.</param>
    /// <exception cref="ArgumentOutOfRangeException">units is not positive, or the layer would need more weights than an array holds.</exception>
    /// <remarks>The default suits a hidden layer. An output layer usually wants another activation, given explicitly:
    /// <see cref="FunctionalNN.Activation.Identity"/> for a regression or for logits (<see cref="Loss.SoftmaxCrossEntropy"/>,
    /// <see cref="Loss.BinaryCrossEntropyWithLogits"/> and the margin losses take raw scores), or
    /// <see cref="FunctionalNN.Activation.Sigmoid"/> for <see cref="Loss.BinaryCrossEntropy"/>. With the default, an output
    /// layer is ReLU and can give no negative value: <c>.Dense(16).Dense(3)</c> ends in a ReLU layer; write
    /// <c>.Dense(16).Dense(3, Activation.Identity)</c>.</remarks>
    public TSelf Dense(int units, Activation activation = FunctionalNN.Activation.ReLU, bool bias = true,
        Initializer initializer = Initializer.Default, double leakySlope = 0.01)
    {
        if (units <= 0) throw new ArgumentOutOfRangeException(nameof(units), units, "units must be positive.");
        if ((long)Width * units > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(units), units,
                $"A layer of {units} units after {Width} inputs needs {(long)Width * units} weights; a layer holds at most {Array.MaxLength} weights.");
        var init = initializer.ToCore();
        var spec = new FN.LayerSpec(units, activation.ToCore(leakySlope), bias,
            init is null ? FSharpOption<FN.Initializer>.None : FSharpOption<FN.Initializer>.Some(init));
        return Push(FN.BlockSpec.NewDense(spec), units, true);
    }

    /// <summary>Adds an activation on its own, s(X) element-wise (keeps the width).</summary>
    /// <param name="activation">The activation.</param>
    /// <param name="leakySlope">The slope for z &lt; 0 of a leaky ReLU.</param>
    public TSelf Activation(Activation activation, double leakySlope = 0.01) =>
        Push(FN.BlockSpec.NewActivation(activation.ToCore(leakySlope)), Width, false);

    /// <summary>Adds inverted dropout (torch.nn.Dropout): in a training step each value is kept with probability
    /// 1 - <paramref name="rate"/> and scaled by 1 / (1 - rate); for prediction it is the identity. The masks come from
    /// the training seed, so runs stay bit-identical.</summary>
    /// <param name="rate">The fraction of values dropped, in [0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">rate outside [0, 1).</exception>
    public TSelf Dropout(double rate)
    {
        if (!(rate >= 0 && rate < 1))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, $"rate is {rate}; a dropout rate must lie in [0, 1) (the fraction of values dropped in training).");
        return Push(FN.BlockSpec.NewDropout(rate), Width, false);
    }

    /// <summary>Adds batch normalisation of the current width (torch.nn.BatchNorm1d: momentum 0.1, epsilon 1e-5; scale
    /// 1, shift 0, running mean 0 and variance 1 to start). Training needs batches of at least 2 rows.</summary>
    public TSelf BatchNorm() => Push(FN.BlockSpec.BatchNorm, Width, true);

    /// <summary>Adds layer normalisation of the current width (torch.nn.LayerNorm: epsilon 1e-5; scale 1, shift 0 to start).</summary>
    public TSelf LayerNorm() => Push(FN.BlockSpec.LayerNorm, Width, true);

    /// <summary>Adds a residual block X + f(X), f the blocks that <paramref name="inner"/> adds to the builder it is given;
    /// they must give back the width they take.</summary>
    /// <example><code>.Residual(inner => inner.Dense(16, Activation.ReLU).Dense(16, Activation.Identity))</code></example>
    /// <exception cref="ArgumentException">inner adds no block, its blocks change the width, or residual blocks would nest
    /// more than 32 deep, the most a network and a model file hold (ParamName "inner").</exception>
    public TSelf Residual(Func<ResidualBuilder, ResidualBuilder> inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var builder = new ResidualBuilder(Width);
        var result = inner(builder) ?? builder;
        if (result.Count == 0)
            throw new ArgumentException("The residual block has no inner blocks; add at least one (inner => inner.Dense(...)).", nameof(inner));
        if (result.Width != Width)
            throw new ArgumentException($"The residual block takes {Width} features but its inner blocks give {result.Width}; a residual block X + f(X) needs f to keep the width.", nameof(inner));
        var nesting = result.Nesting + 1;
        if (nesting > FN.BlockModule.maxDepth)
            throw new ArgumentException(
                $"The residual block nests residual blocks {nesting} deep (inner holds residual blocks {result.Nesting} deep); a network (and a model file) nests them at most {FN.BlockModule.maxDepth} deep.", nameof(inner));
        Nesting = Math.Max(Nesting, nesting);
        return Push(FN.BlockSpec.NewResidual(ListModule.OfSeq(result.Specs)), Width, result.FixesWidth);
    }

    /// <summary>Adds a block written in C# (<see cref="CustomBlock"/>). A network with one trains on the reference
    /// backend and cannot be saved to a model file.</summary>
    /// <exception cref="ArgumentException">The block's InputSize differs from the current width, or it declares a bad
    /// name, size or parameter (ParamName "block").</exception>
    public TSelf Add(CustomBlock block)
    {
        var adapter = CustomBlockAdapter.Of(block, nameof(block));
        if (adapter.InputSize != Width)
            throw new ArgumentException($"The custom block '{adapter.Name}' takes {adapter.InputSize} features but the blocks before it give {Width}.", nameof(block));
        return Push(FN.BlockSpec.NewCustom(adapter), adapter.OutputSize, true);
    }
}

/// <summary>The inner blocks of a residual block (<see cref="BlockSequenceBuilder{TSelf}.Residual"/>).</summary>
public sealed class ResidualBuilder : BlockSequenceBuilder<ResidualBuilder>
{
    internal ResidualBuilder(int width) : base(width) { }
}

/// <summary>Builds a <see cref="Network"/>: an input width, a chain of blocks (<see cref="BlockSequenceBuilder{TSelf}.Dense"/>,
/// <see cref="BlockSequenceBuilder{TSelf}.Activation"/>, <see cref="BlockSequenceBuilder{TSelf}.Dropout"/>,
/// <see cref="BlockSequenceBuilder{TSelf}.BatchNorm"/>, <see cref="BlockSequenceBuilder{TSelf}.LayerNorm"/>,
/// <see cref="BlockSequenceBuilder{TSelf}.Residual"/>, <see cref="BlockSequenceBuilder{TSelf}.Add"/>) and a seed.</summary>
/// <example><code>
/// var net = new NetworkBuilder(inputs: 4).Dense(16, Activation.ReLU).Dense(3, Activation.Identity).Seed(42).Build();
/// var deep = new NetworkBuilder(inputs: 4)
///     .Dense(16, Activation.Identity).BatchNorm().Activation(Activation.ReLU).Dropout(0.1)
///     .Residual(inner => inner.Dense(16, Activation.ReLU).Dense(16, Activation.Identity))
///     .Dense(3, Activation.Identity).Seed(42).Build();
/// </code></example>
public sealed class NetworkBuilder : BlockSequenceBuilder<NetworkBuilder>
{
    private readonly int inputs;
    private long seed = 0;
    private FN.Precision precision = FN.Precision.Float64;

    /// <summary>A builder for a network with <paramref name="inputs"/> inputs.</summary>
    public NetworkBuilder(int inputs) : base(inputs > 0 ? inputs : throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "inputs must be positive."))
    {
        this.inputs = inputs;
    }

    /// <summary>The seed of the library's random generator that draws the weights (default 0).</summary>
    public NetworkBuilder Seed(long seed)
    {
        this.seed = seed;
        return this;
    }

    /// <summary>The network's precision (default Float64). A Float32 network's weights are drawn as for Float64
    /// and rounded to float32 (<see cref="Network.WithPrecision"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An unknown precision.</exception>
    public NetworkBuilder Precision(Precision precision)
    {
        this.precision = precision.ToCore();
        return this;
    }

    /// <summary>The network. The same builder and seed always give the same weights (dense layers' weights are drawn
    /// in order, depth first into residual blocks).</summary>
    /// <exception cref="InvalidOperationException">No block, or no block that fixes a width (only activations and dropout).</exception>
    public Network Build()
    {
        if (Count == 0) throw new InvalidOperationException("Add at least one layer with Dense(...) before Build().");
        if (!FixesWidth)
            throw new InvalidOperationException("Add at least one dense layer, normalisation or custom block before Build(); activations and dropout alone make no network.");
        return new Network(FN.NetworkModule.withPrecision(precision, FN.NetworkModule.initBlocks(inputs, Specs, seed)));
    }
}

/// <summary>The result of comparing an analytic gradient with central differences.</summary>
public sealed class GradientCheckResult
{
    internal GradientCheckResult(FN.GradientCheckResult r)
    {
        MaxAbsoluteError = r.MaxAbsoluteError;
        MaxRelativeError = r.MaxRelativeError;
        WorstIndex = r.WorstIndex;
        Analytic = Array.AsReadOnly((double[])r.Analytic.Clone());
        Numeric = Array.AsReadOnly((double[])r.Numeric.Clone());
    }

    /// <summary>The largest |analytic - numeric|; +infinity when an entry of either gradient is NaN or infinite.</summary>
    public double MaxAbsoluteError { get; }

    /// <summary>The largest |analytic - numeric| / max(|analytic|, |numeric|, floor); +infinity when an entry of either
    /// gradient is NaN or infinite (such a gradient never passes).</summary>
    public double MaxRelativeError { get; }

    /// <summary>The parameter index of the largest relative error (-1 when there are no parameters); the first NaN or
    /// infinite entry when there is one.</summary>
    public int WorstIndex { get; }

    /// <summary>The analytic gradient.</summary>
    public IReadOnlyList<double> Analytic { get; }

    /// <summary>The central-difference gradient.</summary>
    public IReadOnlyList<double> Numeric { get; }

    /// <summary>True when <see cref="MaxRelativeError"/> is at most <paramref name="tolerance"/>.</summary>
    public bool Passes(double tolerance) => MaxRelativeError <= tolerance;
}

/// <summary>Gradient checking of any function of a parameter vector.</summary>
public static class GradientChecker
{
    /// <summary>Compares <paramref name="gradient"/> with central differences of <paramref name="function"/> at <paramref name="parameters"/>.</summary>
    /// <param name="function">The function f(theta).</param>
    /// <param name="gradient">Its gradient as the user computes it.</param>
    /// <param name="parameters">The point theta (not changed).</param>
    /// <param name="epsilon">The central-difference step: h = max(epsilon, 1e4 u |x|) at a parameter x (u = 2^-52: epsilon
    /// itself up to |x| = 4.5e7 for 1e-4, then 1e4 of x's spacings), the difference divided by the distance between the
    /// points as rounded.</param>
    /// <param name="relativeFloor">Entries smaller than this are compared relative to it: an absolute floor, so scale a
    /// function far below 1 to order 1 before checking it (or give a smaller floor).</param>
    /// <returns>The comparison; a gradient entry that is NaN or infinite is an error of +infinity (it never passes).</returns>
    /// <exception cref="ArgumentException">A parameter that is not finite (ParamName "parameters"), epsilon or relativeFloor
    /// out of range (named), a gradient of the wrong length (ParamName "gradient"), or <paramref name="function"/> returning
    /// NaN or an infinity at a point of the differences (ParamName "function"; the message names the parameter moved and
    /// the point): no difference of such a value is a derivative.</exception>
    public static GradientCheckResult Check(Func<double[], double> function, Func<double[], double[]> gradient, double[] parameters,
        double epsilon = 1e-4, double relativeFloor = 1e-4)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(gradient);
        ArgumentNullException.ThrowIfNull(parameters);
        for (var i = 0; i < parameters.Length; i++)
            if (!double.IsFinite(parameters[i]))
                throw new ArgumentException($"parameters[{i}] is {parameters[i]}; a gradient is checked at finite parameters.", nameof(parameters));
        // The caller's functions run inside the core: what they throw comes through as they threw it.
        var f = FuncConvert.FromFunc<double[], double>(t => Errors.Caller(() => function(t)));
        var g = FuncConvert.FromFunc<double[], double[]>(t => Errors.Caller(() => gradient(t)));
        var options = new FN.GradientCheckOptions(epsilon, FN.DifferenceScheme.FourPoint, relativeFloor);
        return new GradientCheckResult(Errors.Run(() => FN.GradientCheck.check(options, f, g, parameters), FunctionNames));
    }

    // The core names the function f and the point theta.
    private static readonly (string, string)[] FunctionNames = { ("f", "function"), ("theta", "parameters") };

    /// <summary>The property-based check: <see cref="Check"/> at <paramref name="center"/> and at
    /// <paramref name="cases"/> - 1 random points center + radius u, u uniform in [-1, 1] per parameter, drawn from the
    /// library's generator seeded by <paramref name="seed"/> (the same points on every machine). A gradient right at one
    /// point and wrong elsewhere fails here; the worst case comes back with its point, to reproduce it with
    /// <see cref="Check"/>. No finite-difference check holds at a kink (ReLU at 0): check away from such points.</summary>
    /// <param name="function">The function f(theta).</param>
    /// <param name="gradient">Its gradient as the user computes it.</param>
    /// <param name="center">The first point checked, and the centre of the others (not changed).</param>
    /// <param name="radius">How far each parameter of a random point lies from the centre's, at most (0 checks the centre
    /// <paramref name="cases"/> times).</param>
    /// <param name="cases">Points checked, the centre included (at least 1).</param>
    /// <param name="tolerance">The bound on each point's largest relative error.</param>
    /// <param name="seed">The generator's seed.</param>
    /// <param name="epsilon">The central-difference step, as in <see cref="Check"/>.</param>
    /// <param name="relativeFloor">Entries smaller than this are compared relative to it: an absolute floor, so scale a
    /// function far below 1 to order 1 before checking it (or give a smaller floor).</param>
    /// <exception cref="ArgumentException">A parameter out of range (named), a centre that is not finite, a point that
    /// overflows (named <paramref name="radius"/>), or <paramref name="function"/> returning NaN or an infinity at a point
    /// of the differences (ParamName "function"), as for <see cref="Check"/>.</exception>
    public static GradientPropertyResult CheckNear(Func<double[], double> function, Func<double[], double[]> gradient, double[] center,
        double radius, int cases = 100, double tolerance = 1e-6, long seed = 0, double epsilon = 1e-4, double relativeFloor = 1e-4)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(gradient);
        ArgumentNullException.ThrowIfNull(center);
        // The caller's functions run inside the core: what they throw comes through as they threw it.
        var f = FuncConvert.FromFunc<double[], double>(t => Errors.Caller(() => function(t)));
        var g = FuncConvert.FromFunc<double[], double[]>(t => Errors.Caller(() => gradient(t)));
        var options = new FN.GradientCheckOptions(epsilon, FN.DifferenceScheme.FourPoint, relativeFloor);
        return new GradientPropertyResult(Errors.Run(() => FN.GradientCheck.checkNear(options, tolerance, cases, radius, seed, f, g, center), FunctionNames));
    }
}

/// <summary>The result of <see cref="GradientChecker.CheckNear"/>: the property "the gradient agrees with central
/// differences" at a centre and at random points around it.</summary>
public sealed class GradientPropertyResult
{
    internal GradientPropertyResult(FN.GradientPropertyResult r)
    {
        Cases = r.Cases;
        Tolerance = r.Tolerance;
        FailedCases = Array.AsReadOnly((int[])r.FailedCases.Clone());
        WorstCase = r.WorstCase;
        WorstPoint = Array.AsReadOnly((double[])r.WorstPoint.Clone());
        Worst = new GradientCheckResult(r.Worst);
    }

    /// <summary>The points checked: the centre first (case 0), then the random ones.</summary>
    public int Cases { get; }

    /// <summary>The bound on each point's largest relative error.</summary>
    public double Tolerance { get; }

    /// <summary>The cases whose largest relative error is above <see cref="Tolerance"/>, in order.</summary>
    public IReadOnlyList<int> FailedCases { get; }

    /// <summary>The case with the largest relative error (the first of equals).</summary>
    public int WorstCase { get; }

    /// <summary>That case's point.</summary>
    public IReadOnlyList<double> WorstPoint { get; }

    /// <summary>That case's check.</summary>
    public GradientCheckResult Worst { get; }

    /// <summary>True when every case passed.</summary>
    public bool Passed => FailedCases.Count == 0;
}

/// <summary>Helpers for class labels.</summary>
public static class Labels
{
    /// <summary>An n x classes one-hot array: row i has a 1 in column labels[i].</summary>
    public static double[,] OneHot(int[] labels, int classes) => FN.Mat.oneHot(classes, labels).ToArray();

    /// <summary>The column of the largest value in each row.</summary>
    /// <exception cref="ArgumentException">A row holds NaN (ParamName "scores", naming the row), or scores has no
    /// columns.</exception>
    public static int[] ArgMax(double[,] scores) => FN.Mat.argmaxRowsNamed(nameof(scores), Interop.ToMatrix(scores, nameof(scores)));
}
