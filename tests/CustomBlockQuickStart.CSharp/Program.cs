using FunctionalNN;

// XOR again, with a block written in C# as the hidden nonlinearity.
double[,] x = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };
double[,] y = { { 0 }, { 1 }, { 1 }, { 0 } };

Network net = new NetworkBuilder(inputs: 2)
    .Dense(4, Activation.Identity)
    .Add(new Swish(width: 4))          // the custom block below
    .Dense(1, Activation.Sigmoid)
    .Seed(3)
    .Build();
foreach (string line in net.Describe()) Console.WriteLine(line);

// The public gradient check covers the custom block: its parameters and the gradient it passes down.
GradientCheckResult check = net.CheckGradients(x, y, Loss.BinaryCrossEntropy, NetworkMode.Training);
Console.WriteLine($"gradient check: largest relative error {check.MaxRelativeError:E1}");

// The same trainer trains it; a network with a custom block runs on the reference backend.
TrainingResult<Network> result = Trainer.Train(net, x, y, Loss.BinaryCrossEntropy, new TrainingOptions
{
    Optimizer = Optimizer.Adam(), Schedule = Schedule.Constant(0.05), Batching = Batching.FullBatch, MaxEpochs = 400,
});
double[,] p = result.Model.Predict(x);
Swish trained = (Swish)result.Model.Blocks[1].Custom!;
Console.WriteLine($"trained on the {result.Backend} backend; slopes {string.Join(" ", trained.Parameters.Select(b => b.ToString("F2")))}");
Console.WriteLine($"XOR predictions: {p[0, 0]:F2} {p[1, 0]:F2} {p[2, 0]:F2} {p[3, 0]:F2}");

/// <summary>Swish with a learnable slope per feature: y = x sigmoid(beta_j x) (Ramachandran et al., 2017).
/// A custom block is immutable: WithParameters returns a new one.</summary>
public sealed class Swish : CustomBlock
{
    private readonly double[] beta;

    public Swish(int width) : this(Enumerable.Repeat(1.0, width).ToArray()) { }

    private Swish(double[] beta) => this.beta = beta;

    public override string Name => "swish";
    public override int InputSize => beta.Length;
    public override int OutputSize => beta.Length;
    public override double[] Parameters => (double[])beta.Clone();
    public override CustomBlock WithParameters(double[] parameters) => new Swish((double[])parameters.Clone());

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    public override double[,] Forward(double[,] input, bool training)
    {
        var output = new double[input.GetLength(0), input.GetLength(1)];
        for (int i = 0; i < input.GetLength(0); i++)
            for (int j = 0; j < input.GetLength(1); j++)
                output[i, j] = input[i, j] * Sigmoid(beta[j] * input[i, j]);
        return output;
    }

    // With s = sigmoid(beta x): dy/dx = s + beta x s (1 - s) and dy/dbeta = x^2 s (1 - s).
    public override CustomBlockGradient Backward(double[,] input, double[,] output, double[,] outputGradient, bool training)
    {
        var dx = new double[input.GetLength(0), input.GetLength(1)];
        var dbeta = new double[beta.Length];
        for (int i = 0; i < input.GetLength(0); i++)
            for (int j = 0; j < input.GetLength(1); j++)
            {
                double v = input[i, j], s = Sigmoid(beta[j] * v), ds = s * (1 - s), g = outputGradient[i, j];
                dx[i, j] = g * (s + beta[j] * v * ds);
                dbeta[j] += g * v * v * ds;
            }
        return new CustomBlockGradient(dx, dbeta);
    }
}
