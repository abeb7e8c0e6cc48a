namespace FunctionalNN.Cli;

/// <summary>The names the command line accepts for the facade's enums and optimisers.</summary>
public static class Names
{
    /// <summary>An activation by name.</summary>
    public static Activation ParseActivation(string s) => s.ToLowerInvariant() switch
    {
        "identity" or "linear" => Activation.Identity,
        "sigmoid" or "logistic" => Activation.Sigmoid,
        "tanh" => Activation.Tanh,
        "relu" => Activation.ReLU,
        "leaky_relu" or "leakyrelu" => Activation.LeakyReLU,
        "softplus" => Activation.Softplus,
        _ => throw new UsageException($"--activation: unknown activation '{s}' (identity, sigmoid, tanh, relu, leaky_relu, softplus)"),
    };

    /// <summary>A loss by name.</summary>
    public static Loss ParseLoss(string s) => s.ToLowerInvariant() switch
    {
        "cross_entropy" or "crossentropy" or "softmax_cross_entropy" => Loss.SoftmaxCrossEntropy,
        "mse" => Loss.MeanSquaredError,
        "half_mse" => Loss.HalfMeanSquaredError,
        "bce" => Loss.BinaryCrossEntropy,
        "bce_logits" => Loss.BinaryCrossEntropyWithLogits,
        "hinge" => Loss.Hinge,
        "squared_hinge" => Loss.SquaredHinge,
        "logistic" => Loss.Logistic,
        _ => throw new UsageException($"--loss: unknown loss '{s}' (cross_entropy, mse, half_mse, bce, bce_logits, hinge, squared_hinge, logistic)"),
    };

    /// <summary>A loss as --loss names it (the first name <see cref="ParseLoss"/> takes for it).</summary>
    public static string LossName(Loss l) => l switch
    {
        Loss.SoftmaxCrossEntropy => "cross_entropy",
        Loss.MeanSquaredError => "mse",
        Loss.HalfMeanSquaredError => "half_mse",
        Loss.BinaryCrossEntropy => "bce",
        Loss.BinaryCrossEntropyWithLogits => "bce_logits",
        Loss.Hinge => "hinge",
        Loss.SquaredHinge => "squared_hinge",
        Loss.Logistic => "logistic",
        _ => l.ToString(),
    };

    /// <summary>An optimiser by name, with its default constants.</summary>
    public static Optimizer ParseOptimizer(string s) => s.ToLowerInvariant() switch
    {
        "sgd" or "gd" => Optimizer.Sgd(),
        "momentum" => Optimizer.Momentum(),
        "nesterov" => Optimizer.Nesterov(),
        "adagrad" => Optimizer.AdaGrad(),
        "rmsprop" => Optimizer.RMSProp(),
        "adam" => Optimizer.Adam(),
        "adamw" => Optimizer.AdamW(),
        _ => throw new UsageException($"--optimizer: unknown optimizer '{s}' (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw)"),
    };

    /// <summary>A scaling by name.</summary>
    public static Scaling ParseScaling(string s) => s.ToLowerInvariant() switch
    {
        "standard" or "standardize" or "zscore" => Scaling.Standard,
        "minmax" or "min-max" => Scaling.MinMax,
        "none" => Scaling.None,
        _ => throw new UsageException($"--scaling: unknown scaling '{s}' (standard, minmax, none)"),
    };

    /// <summary>A target kind by name.</summary>
    public static TargetKind ParseTask(string s) => s.ToLowerInvariant() switch
    {
        "auto" => TargetKind.Auto,
        "classification" or "classify" => TargetKind.Classification,
        "regression" or "regress" => TargetKind.Regression,
        _ => throw new UsageException($"--task: unknown task '{s}' (auto, classification, regression)"),
    };

    /// <summary>A missing-value policy as --missing names it.</summary>
    public static string Snake(MissingValues m) => m switch
    {
        MissingValues.Error => "error",
        MissingValues.Drop => "drop",
        MissingValues.Mean => "mean",
        MissingValues.Median => "median",
        _ => "most_frequent",
    };

    /// <summary>A stop reason as the JSON and the report print it.</summary>
    public static string Snake(StopReason r) => r switch
    {
        StopReason.MaxEpochs => "max_epochs",
        StopReason.MaxSteps => "max_steps",
        StopReason.ParameterTolerance => "parameter_tolerance",
        StopReason.TargetLoss => "target_loss",
        StopReason.EarlyStopping => "early_stopping",
        _ => "cancelled",
    };
}
