using FunctionalNN;

namespace FacadeCalls;

/// <summary>Network.CheckGradients called as C# code calls it: the C# compiler picks the overload (parameters only, with
/// epsilon, or every block and input, in a mode), and the tests check which one ran by the length of the vectors.</summary>
public static class CheckGradientsCalls
{
    /// <summary>The literal 0 as the fourth argument: epsilon (C# converts a constant 0 to any enum too, so this was
    /// error CS0121, ambiguous with the NetworkMode overload).</summary>
    public static GradientCheckResult EpsilonLiteralZero(Network net, double[,] x, double[,] y) =>
        net.CheckGradients(x, y, Loss.MeanSquaredError, 0);

    /// <summary>The literal 0.0 as the fourth argument: epsilon.</summary>
    public static GradientCheckResult EpsilonLiteralZeroPointZero(Network net, double[,] x, double[,] y) =>
        net.CheckGradients(x, y, Loss.MeanSquaredError, 0.0);

    /// <summary>An integer literal other than 0 as the fourth argument: epsilon.</summary>
    public static GradientCheckResult EpsilonLiteralOne(Network net, double[,] x, double[,] y) =>
        net.CheckGradients(x, y, Loss.MeanSquaredError, 1);

    /// <summary>The documented calls: no fourth argument (the README's quick start).</summary>
    public static GradientCheckResult Default(Network net, double[,] x, double[,] y) =>
        net.CheckGradients(x, y, Loss.MeanSquaredError);

    /// <summary>Epsilon and the floor by position.</summary>
    public static GradientCheckResult EpsilonAndFloor(Network net, double[,] x, double[,] y) =>
        net.CheckGradients(x, y, Loss.MeanSquaredError, 1e-3, 1e-4);

    /// <summary>Epsilon by name.</summary>
    public static GradientCheckResult NamedEpsilon(Network net, double[,] x, double[,] y) =>
        net.CheckGradients(x, y, Loss.MeanSquaredError, epsilon: 1e-3);

    /// <summary>The mode by position (the README's custom block example).</summary>
    public static GradientCheckResult Training(Network net, double[,] x, double[,] y) =>
        net.CheckGradients(x, y, Loss.MeanSquaredError, NetworkMode.Training);

    /// <summary>The mode as a variable.</summary>
    public static GradientCheckResult InMode(Network net, double[,] x, double[,] y, NetworkMode mode) =>
        net.CheckGradients(x, y, Loss.MeanSquaredError, mode);

    /// <summary>The mode by position, the rest by name.</summary>
    public static GradientCheckResult TrainingNamed(Network net, double[,] x, double[,] y) =>
        net.CheckGradients(x, y, Loss.MeanSquaredError, NetworkMode.Training, dropoutSeed: 3, epsilon: 1e-3);

    /// <summary>Every argument by name.</summary>
    public static GradientCheckResult AllNamed(Network net, double[,] x, double[,] y) =>
        net.CheckGradients(x: x, y: y, loss: Loss.MeanSquaredError, mode: NetworkMode.Inference, epsilon: 1e-3);

    /// <summary>Dataset.LoadCsvForModel with a third argument null: the format (C# prefers the overload that needs no
    /// default for an omitted parameter over the one taking a target column's name and a format).</summary>
    public static Dataset LoadForModelNullFormat(string path, Pipeline model) => Dataset.LoadCsvForModel(path, model, null);
}
