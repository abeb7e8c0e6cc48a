namespace Functional.NN.Kernels;

/// <summary>The kinds of block a <see cref="DenseTrainer{T}"/> runs (the core's built-in blocks).</summary>
public enum BlockKind
{
    /// <summary>s(X W + 1 b): a dense layer with its activation fused.</summary>
    Dense,
    /// <summary>s(X) element-wise.</summary>
    Activation,
    /// <summary>Inverted dropout at a rate p in [0, 1): X o M / (1 - p) in training, X in inference.</summary>
    Dropout,
    /// <summary>Per-feature normalisation over the batch, as torch.nn.BatchNorm1d.</summary>
    BatchNorm,
    /// <summary>Per-sample normalisation over the features, as torch.nn.LayerNorm.</summary>
    LayerNorm,
    /// <summary>X + f(X) over an inner sequence of blocks of equal input and output width.</summary>
    Residual,
}

/// <summary>
/// Training or inference: dropout drops only in training, batch normalisation uses the batch's
/// statistics in training and the running statistics in inference.
/// </summary>
public enum PassMode
{
    /// <summary>Prediction: dropout is the identity, batch normalisation uses its running statistics.</summary>
    Inference,
    /// <summary>Training: dropout draws its mask from the step's key, batch normalisation uses the batch's statistics.</summary>
    Training,
}

/// <summary>
/// The shape of one block of a kernel network (no parameter values: those live in the trainer).
/// Immutable; made by the <c>New...</c> factories.
/// </summary>
public sealed class KernelBlock
{
    private KernelBlock(BlockKind kind) { Kind = kind; Inner = Array.Empty<KernelBlock>(); }

    /// <summary>The kind of block.</summary>
    public BlockKind Kind { get; private init; }

    /// <summary>A dense block's output width.</summary>
    public int Units { get; private init; }

    /// <summary>The activation of a dense or activation block.</summary>
    public ActivationKind Activation { get; private init; }

    /// <summary>The leaky ReLU's slope of a dense or activation block.</summary>
    public double Slope { get; private init; } = 0.01;

    /// <summary>Whether a dense block has a bias.</summary>
    public bool Bias { get; private init; }

    /// <summary>A dropout block's rate p in [0, 1).</summary>
    public double Rate { get; private init; }

    /// <summary>A batch normalisation block's momentum m (running = (1 - m) running + m batch).</summary>
    public double Momentum { get; private init; }

    /// <summary>A normalisation block's epsilon (added to the variance).</summary>
    public double Epsilon { get; private init; }

    /// <summary>A residual block's inner sequence.</summary>
    public IReadOnlyList<KernelBlock> Inner { get; private init; }

    /// <summary>A dense block: <paramref name="units"/> outputs, the activation fused, with or without bias.</summary>
    public static KernelBlock NewDense(int units, ActivationKind activation = ActivationKind.Identity, double slope = 0.01, bool bias = true)
    {
        if (units < 1) throw new ArgumentOutOfRangeException(nameof(units), units, "A dense block needs at least 1 unit.");
        CheckActivation(activation, nameof(activation));
        return new KernelBlock(BlockKind.Dense) { Units = units, Activation = activation, Slope = slope, Bias = bias };
    }

    /// <summary>The dense block of a layer specification.</summary>
    public static KernelBlock NewDense(DenseLayerSpec spec) => NewDense(spec.Units, spec.Activation, spec.Slope, spec.Bias);

    /// <summary>An element-wise activation block.</summary>
    public static KernelBlock NewActivation(ActivationKind activation, double slope = 0.01)
    {
        CheckActivation(activation, nameof(activation));
        return new KernelBlock(BlockKind.Activation) { Activation = activation, Slope = slope };
    }

    /// <summary>An inverted dropout block at <paramref name="rate"/> in [0, 1).</summary>
    public static KernelBlock NewDropout(double rate)
    {
        if (!(rate >= 0.0 && rate < 1.0)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "A dropout rate must be in [0, 1).");
        return new KernelBlock(BlockKind.Dropout) { Rate = rate };
    }

    /// <summary>A batch normalisation block (torch.nn.BatchNorm1d's defaults: momentum 0.1, epsilon 1e-5).</summary>
    public static KernelBlock NewBatchNorm(double momentum = 0.1, double epsilon = 1e-5)
    {
        if (!(momentum >= 0.0 && momentum <= 1.0)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must be in [0, 1].");
        if (!(epsilon > 0.0) || double.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be positive and finite.");
        return new KernelBlock(BlockKind.BatchNorm) { Momentum = momentum, Epsilon = epsilon };
    }

    /// <summary>A layer normalisation block (torch.nn.LayerNorm's default epsilon 1e-5).</summary>
    public static KernelBlock NewLayerNorm(double epsilon = 1e-5)
    {
        if (!(epsilon > 0.0) || double.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be positive and finite.");
        return new KernelBlock(BlockKind.LayerNorm) { Epsilon = epsilon };
    }

    /// <summary>A residual block X + f(X) around the inner sequence (whose output width must equal its input width).</summary>
    public static KernelBlock NewResidual(IReadOnlyList<KernelBlock> inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        for (int i = 0; i < inner.Count; i++)
            if (inner[i] is null) throw new ArgumentNullException(nameof(inner), $"inner block {i} is null.");
        return new KernelBlock(BlockKind.Residual) { Inner = inner.ToArray() };
    }

    private static void CheckActivation(ActivationKind activation, string name)
    {
        if (activation is < ActivationKind.Identity or > ActivationKind.Softplus)
            throw new ArgumentOutOfRangeException(name, activation, $"The kernels do not support the {activation} activation.");
    }

    /// <summary>A description that determines the block's shape (equal for equal shapes; used as a cache key).</summary>
    public override string ToString() => Kind switch
    {
        BlockKind.Dense => $"Dense({Units},{Activation},{Slope:R},{Bias})",
        BlockKind.Activation => $"Activation({Activation},{Slope:R})",
        BlockKind.Dropout => $"Dropout({Rate:R})",
        BlockKind.BatchNorm => $"BatchNorm({Momentum:R},{Epsilon:R})",
        BlockKind.LayerNorm => $"LayerNorm({Epsilon:R})",
        _ => $"Residual[{string.Join(";", Inner)}]",
    };
}
