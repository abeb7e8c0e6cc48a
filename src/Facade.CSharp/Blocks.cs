using MathNet.Numerics.LinearAlgebra;
using Microsoft.FSharp.Collections;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>
/// A block you write in C#: a pure forward pass and its vector-Jacobian product side by side, with its parameters as
/// one flat array. Add it to a network with <see cref="BlockSequenceBuilder{TSelf}.Add(CustomBlock)"/>; the library trains it
/// (on the reference backend: <see cref="TrainingResult{TModel}.Backend"/> says so), checks it with
/// <see cref="Network.CheckGradients(double[,], double[,], Loss, NetworkMode, long, double, double)"/> and lists it in
/// <see cref="Network.Describe"/>. A network with a custom block cannot be saved to a model file.
/// </summary>
/// <remarks>
/// A block must be immutable: <see cref="WithParameters"/> returns a new block, and no method changes its arguments
/// (the library passes copies, and takes a copy of <see cref="Parameters"/> when the block is added). A batch has one
/// sample per row: <c>input</c> is n x <see cref="InputSize"/>, the output n x <see cref="OutputSize"/>. For finite
/// arguments <see cref="Forward"/> must return finite values and <see cref="Backward"/> finite gradients: prediction, the
/// losses, training and the gradient check throw <see cref="InvalidOperationException"/> naming the block, the row and the
/// column of a NaN or infinity it returns for a finite input (and, in <see cref="Backward"/>, a finite output and output
/// gradient).
/// </remarks>
/// <example><code>
/// // y = x * scale, one parameter.
/// sealed class Scale(double scale, int width) : CustomBlock
/// {
///     public override string Name => "scale";
///     public override int InputSize => width;
///     public override int OutputSize => width;
///     public override double[] Parameters => new[] { scale };
///     public override CustomBlock WithParameters(double[] p) => new Scale(p[0], width);
///     public override double[,] Forward(double[,] x, bool training) => ...;          // x * scale
///     public override CustomBlockGradient Backward(double[,] x, double[,] y, double[,] g, bool training) =>
///         new(..., new[] { ... });                                                   // g * scale, [sum g o x]
/// }
/// </code></example>
public abstract class CustomBlock
{
    /// <summary>The block's name, shown in summaries and errors.</summary>
    public abstract string Name { get; }

    /// <summary>The number of input columns it takes.</summary>
    public abstract int InputSize { get; }

    /// <summary>The number of output columns it gives.</summary>
    public abstract int OutputSize { get; }

    /// <summary>Its parameters as a flat array (default: none). The library reads it once per block value.</summary>
    public virtual double[] Parameters => Array.Empty<double>();

    /// <summary>The same block with other parameters (as many as <see cref="Parameters"/>, in its order). The default
    /// serves blocks without parameters: it returns this block for an empty array.</summary>
    public virtual CustomBlock WithParameters(double[] parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Length != 0)
            throw new NotSupportedException($"The custom block '{Name}' has no parameters; override Parameters and WithParameters to give it some.");
        return this;
    }

    /// <summary>Y = f(X) for a batch X (n x <see cref="InputSize"/>): an n x <see cref="OutputSize"/> array. For prediction
    /// (<paramref name="training"/> false) each output row must depend on its input row only, as every built-in block's
    /// does: predictions of a large batch pass it in chunks of rows.</summary>
    /// <param name="input">The batch, one sample per row (a copy the block may keep).</param>
    /// <param name="training">True in a training step, false for prediction (as dropout and batch normalisation use it).</param>
    public abstract double[,] Forward(double[,] input, bool training);

    /// <summary>The vector-Jacobian product: given X, Y = f(X) and G = dL/dY, the gradient dL/dX (shaped like X) and
    /// dL/dparameters (in the order of <see cref="Parameters"/>; empty for a block without parameters).</summary>
    /// <param name="input">X, as given to <see cref="Forward"/>.</param>
    /// <param name="output">Y, as <see cref="Forward"/> returned it.</param>
    /// <param name="outputGradient">G = dL/dY, shaped like Y.</param>
    /// <param name="training">The mode of the forward pass.</param>
    public abstract CustomBlockGradient Backward(double[,] input, double[,] output, double[,] outputGradient, bool training);

    /// <summary>"custom 'Name' InputSize -> OutputSize".</summary>
    public override string ToString() => $"custom '{Name}' {InputSize} -> {OutputSize}";
}

/// <summary>What <see cref="CustomBlock.Backward"/> returns.</summary>
/// <param name="InputGradient">dL/dX, shaped like the block's input (n x InputSize).</param>
/// <param name="ParameterGradient">dL/dparameters, in the order of <see cref="CustomBlock.Parameters"/> (empty for none).</param>
public readonly record struct CustomBlockGradient(double[,] InputGradient, double[] ParameterGradient);

/// <summary>The core's view of a <see cref="CustomBlock"/>: matrices converted to arrays and back (copies both ways),
/// the parameters read once.</summary>
internal sealed class CustomBlockAdapter : FN.ICustomBlock
{
    private readonly double[] parameters;

    private CustomBlockAdapter(CustomBlock block, double[] parameters)
    {
        Block = block;
        this.parameters = parameters;
    }

    internal CustomBlock Block { get; }

    /// <summary>Wraps a block after checking what it declares; paramName names the argument in errors.</summary>
    internal static CustomBlockAdapter Of(CustomBlock block, string paramName)
    {
        ArgumentNullException.ThrowIfNull(block, paramName);
        var name = block.Name;
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("The custom block's Name is empty; give it a name to show in summaries and errors.", paramName);
        if (block.InputSize <= 0 || block.OutputSize <= 0)
            throw new ArgumentException($"The custom block '{name}' declares InputSize {block.InputSize} and OutputSize {block.OutputSize}; both must be positive.", paramName);
        var p = block.Parameters ?? throw new ArgumentException($"The custom block '{name}' returned null Parameters; return an empty array for a block without parameters.", paramName);
        p = (double[])p.Clone();
        for (var i = 0; i < p.Length; i++)
            if (!double.IsFinite(p[i]))
                throw new ArgumentException($"The custom block '{name}' has parameter {i} = {p[i]}; every parameter must be finite.", paramName);
        return new CustomBlockAdapter(block, p);
    }

    public string Name => Block.Name;

    public int InputSize => Block.InputSize;

    public int OutputSize => Block.OutputSize;

    public double[] Parameters => (double[])parameters.Clone();

    public FN.ICustomBlock WithParameters(double[] values)
    {
        var next = Errors.Caller(() => Block.WithParameters((double[])values.Clone()))
            ?? throw new InvalidOperationException($"The custom block '{Name}' returned null from WithParameters.");
        var adapter = Of(next, "parameters");
        if (adapter.parameters.Length != parameters.Length || adapter.InputSize != InputSize || adapter.OutputSize != OutputSize)
            throw new InvalidOperationException(
                $"The custom block '{Name}' returned from WithParameters a block of {adapter.parameters.Length} parameters, {adapter.InputSize} -> {adapter.OutputSize}; it must keep its {parameters.Length} parameters and its shape {InputSize} -> {OutputSize}.");
        return adapter;
    }

    public Matrix<double> Forward(Matrix<double> input, bool training)
    {
        var y = Errors.Caller(() => Block.Forward(input.ToArray(), training));
        // null goes back to the core, whose error names the block and both shapes.
        return y is null ? null! : Matrix<double>.Build.DenseOfArray(y);
    }

    public Tuple<Matrix<double>, double[]> Backward(Matrix<double> input, Matrix<double> output, Matrix<double> outputGradient, bool training)
    {
        var (dx, dp) = Errors.Caller(() => Block.Backward(input.ToArray(), output.ToArray(), outputGradient.ToArray(), training));
        return Tuple.Create(dx is null ? null! : Matrix<double>.Build.DenseOfArray(dx), dp is null ? null! : (double[])dp.Clone());
    }
}

/// <summary>The kind of a network's block.</summary>
public enum BlockKind
{
    /// <summary>s(X W + 1 b): a dense layer with its activation.</summary>
    Dense,
    /// <summary>s(X) element-wise, on its own.</summary>
    Activation,
    /// <summary>Inverted dropout (training only; the identity for prediction).</summary>
    Dropout,
    /// <summary>Batch normalisation, as torch.nn.BatchNorm1d.</summary>
    BatchNorm,
    /// <summary>Layer normalisation, as torch.nn.LayerNorm.</summary>
    LayerNorm,
    /// <summary>X + f(X) over an inner sequence of blocks that keeps the width.</summary>
    Residual,
    /// <summary>A <see cref="CustomBlock"/>.</summary>
    Custom,
}

/// <summary>Whether a forward pass trains or predicts: training draws dropout masks and normalises a batch by its own
/// statistics; inference drops nothing and uses batch normalisation's running statistics.</summary>
public enum NetworkMode
{
    /// <summary>Prediction (what <see cref="Network.Predict"/> computes).</summary>
    Inference,
    /// <summary>A training step (what the trainer differentiates).</summary>
    Training,
}

/// <summary>One block of a network as the facade shows it (read-only).</summary>
public sealed class BlockInfo
{
    private BlockInfo(BlockKind kind, string name, int inputSize, int outputSize, int parameterCount, int stateCount,
        LayerInfo? layer, Activation? activation, double? dropoutRate, IReadOnlyList<BlockInfo> inner, string description,
        CustomBlock? custom = null, Normalization? normalization = null)
    {
        Custom = custom;
        Scale = normalization?.Scale;
        Shift = normalization?.Shift;
        RunningMean = normalization?.RunningMean;
        RunningVariance = normalization?.RunningVariance;
        Kind = kind;
        Name = name;
        InputSize = inputSize;
        OutputSize = outputSize;
        ParameterCount = parameterCount;
        StateCount = stateCount;
        Layer = layer;
        Activation = activation;
        DropoutRate = dropoutRate;
        Inner = inner;
        this.description = description;
    }

    private readonly string description;

    /// <summary>A normalisation's values, copied from the core's block.</summary>
    private sealed record Normalization(IReadOnlyList<double> Scale, IReadOnlyList<double> Shift,
        IReadOnlyList<double>? RunningMean, IReadOnlyList<double>? RunningVariance);

    private static IReadOnlyList<double> Copy(MathNet.Numerics.LinearAlgebra.Vector<double> v) => Array.AsReadOnly(v.ToArray());

    /// <summary>The block's kind.</summary>
    public BlockKind Kind { get; }

    /// <summary>"dense", "activation", "dropout", "batch normalisation", "layer normalisation", "residual", or a custom block's name.</summary>
    public string Name { get; }

    /// <summary>The number of columns it takes.</summary>
    public int InputSize { get; }

    /// <summary>The number of columns it gives.</summary>
    public int OutputSize { get; }

    /// <summary>Its trainable parameters (a residual block: those of its inner blocks).</summary>
    public int ParameterCount { get; }

    /// <summary>Its state values: a batch normalisation's running mean and variance (2 x width); not trained by gradient.</summary>
    public int StateCount { get; }

    /// <summary>A dense block's layer (shapes, activation, bias); null for other kinds.</summary>
    public LayerInfo? Layer { get; }

    /// <summary>The activation of an activation block or a dense layer; null for other kinds.</summary>
    public Activation? Activation { get; }

    /// <summary>A dropout block's rate; null for other kinds.</summary>
    public double? DropoutRate { get; }

    /// <summary>A batch or layer normalisation's scale gamma (one value per feature, read-only, a copy of the network's);
    /// null for other kinds.</summary>
    public IReadOnlyList<double>? Scale { get; }

    /// <summary>A batch or layer normalisation's shift beta (one value per feature, read-only, a copy of the network's);
    /// null for other kinds.</summary>
    public IReadOnlyList<double>? Shift { get; }

    /// <summary>A batch normalisation's running mean, which prediction normalises by and each training step moves towards
    /// its batch's mean (one value per feature, read-only, a copy of the network's); null for other kinds (layer
    /// normalisation has none).</summary>
    public IReadOnlyList<double>? RunningMean { get; }

    /// <summary>A batch normalisation's running variance (unbiased), which prediction normalises by and each training step
    /// moves towards its batch's (one value per feature, read-only, a copy of the network's); null for other kinds (layer
    /// normalisation has none).</summary>
    public IReadOnlyList<double>? RunningVariance { get; }

    /// <summary>A custom block as the network holds it (after training, with the trained parameters); null for other kinds.</summary>
    public CustomBlock? Custom { get; }

    /// <summary>A residual block's inner blocks (empty for other kinds).</summary>
    public IReadOnlyList<BlockInfo> Inner { get; }

    /// <summary>The block's summary line (as <see cref="Network.Describe"/> gives it).</summary>
    public override string ToString() => description;

    /// <summary>The facade's view of core blocks from an input width.</summary>
    internal static IReadOnlyList<BlockInfo> Of(FSharpList<FN.Block> blocks, int width)
    {
        var result = new List<BlockInfo>();
        foreach (var b in blocks)
        {
            var info = One(b, width);
            result.Add(info);
            width = info.OutputSize;
        }
        return result.AsReadOnly();
    }

    private static BlockInfo One(FN.Block block, int width)
    {
        var parameters = FN.BlockModule.parameterCount(block);
        var state = FN.BlockModule.stateCount(block);
        var output = FN.BlockModule.outputWidth(width, block);
        var none = Array.Empty<BlockInfo>();
        // The core's summary line of a block that fixes its width (dense, normalisation, custom).
        // (The block is one of a network's, checked when the network was made: described as a
        // one-block network without Network.ofBlocks's checks and copies.)
        string Line() => FN.NetworkModule.describe(new FN.Network(ListModule.OfSeq(new[] { block }), FN.Precision.Float64)).Head;
        switch (block)
        {
            case FN.Block.Dense d:
                var l = d.Item;
                var activation = EnumInterop.FromCore(l.Activation);
                return new BlockInfo(BlockKind.Dense, "dense", l.InputSize, l.OutputSize, parameters, state,
                    new LayerInfo(l.InputSize, l.OutputSize, activation, l.Bias != null), activation, null, none, Line());
            case FN.Block.Activation a:
                var act = EnumInterop.FromCore(a.Item);
                return new BlockInfo(BlockKind.Activation, "activation", width, output, parameters, state, null, act, null, none,
                    $"activation {FN.ActivationModule.name(a.Item)} ({width})");
            case FN.Block.Dropout r:
                return new BlockInfo(BlockKind.Dropout, "dropout", width, output, parameters, state, null, null, r.rate, none,
                    $"dropout {r.rate.ToString(System.Globalization.CultureInfo.InvariantCulture)} ({width})");
            case FN.Block.BatchNorm bn:
                var b = bn.Item;
                return new BlockInfo(BlockKind.BatchNorm, FN.BlockModule.name(block), width, output, parameters, state, null, null, null, none, Line(),
                    normalization: new Normalization(Copy(b.Scale), Copy(b.Shift), Copy(b.RunningMean), Copy(b.RunningVariance)));
            case FN.Block.LayerNorm ln:
                return new BlockInfo(BlockKind.LayerNorm, FN.BlockModule.name(block), width, output, parameters, state, null, null, null, none, Line(),
                    normalization: new Normalization(Copy(ln.Item.Scale), Copy(ln.Item.Shift), null, null));
            case FN.Block.Residual res:
                var inner = Of(res.Item, width);
                return new BlockInfo(BlockKind.Residual, "residual", width, output, parameters, state, null, null, null, inner,
                    $"residual {width} -> {output} ({parameters} parameters)");
            case FN.Block.Custom c:
                // A custom block made in F# (not through the facade) has no C# class to give back.
                var custom = c.Item is CustomBlockAdapter adapter ? adapter.Block : null;
                return new BlockInfo(BlockKind.Custom, c.Item.Name, width, output, parameters, state, null, null, null, none, Line(), custom);
            default:
                throw new InvalidOperationException($"Unknown block kind {FN.BlockModule.name(block)}.");
        }
    }
}
