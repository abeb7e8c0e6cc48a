using FL = Functional.NN.Linear;

namespace FunctionalNN;

/// <summary>Options of a binary linear classifier trained by minibatch SGD.</summary>
public sealed class LinearClassifierOptions
{
    /// <summary>The margin loss: Hinge, SquaredHinge (the default, the notes' rule (1.7)) or Logistic.</summary>
    public Loss Loss { get; init; } = Loss.SquaredHinge;

    /// <summary>The SGD schedule, batch size, epochs, stopping rule and seed.</summary>
    public LinearSgdOptions Sgd { get; init; } = new();

    /// <summary>Fit a bias (default true).</summary>
    public bool FitIntercept { get; init; } = true;
}

/// <summary>Binary linear classifiers on labels -1 and +1 (notes ch. 1.4, 2.2.2).</summary>
public static class LinearClassifier
{
    /// <summary>Trains a classifier by minibatch SGD on a margin loss from zero weights.</summary>
    /// <exception cref="ArgumentException">A label other than -1 or +1, bad shapes, or an option out of range (a loss
    /// that is not a margin loss, bad SGD options: ParamName the property, e.g. "Loss" or "BatchSize", as for
    /// <see cref="TrainingOptions"/>; the message names it with its path, options.Sgd.BatchSize).</exception>
    /// <exception cref="TrainingDivergedException{TModel}">(TModel is LinearModel) The weights blew up; LastGood is the last finite
    /// <see cref="LinearModel"/>.</exception>
    public static LinearFitResult Fit(double[,] x, int[] labels, LinearClassifierOptions? options = null)
    {
        var o = options ?? new LinearClassifierOptions();
        LinearInterop.Option(o.Loss is Loss.Hinge or Loss.SquaredHinge or Loss.Logistic, nameof(LinearClassifierOptions.Loss),
            $"options.Loss is {o.Loss}, which is not a margin loss; a linear classifier on labels -1, +1 takes Hinge, SquaredHinge or Logistic.");
        LinearInterop.Option(o.Sgd is not null, nameof(LinearClassifierOptions.Sgd), "options.Sgd must not be null.");
        o.Sgd!.Validate("options.Sgd");
        var core = new FL.ClassifierOptions(o.Loss.ToCore(), o.Sgd.ToCore(), o.FitIntercept);
        var xm = Interop.ToMatrix(x, nameof(x));
        var l = LinearInterop.NotNull(labels, nameof(labels));
        return Interop.Diverging(() => new LinearFitResult(FL.LinearClassifier.fit(core, xm, l)), LinearInterop.LastGood);
    }

    /// <summary>+1 for the samples of class <paramref name="positive"/>, -1 for the others; an empty
    /// <paramref name="classes"/> gives an empty array.</summary>
    /// <exception cref="ArgumentException"><paramref name="positive"/> occurs nowhere in a non-empty
    /// <paramref name="classes"/> (every label would be -1; the message lists the classes that occur).</exception>
    public static int[] BinaryLabels(int[] classes, int positive) => FL.LinearClassifier.binaryLabels(positive, LinearInterop.NotNull(classes, nameof(classes)));
}

/// <summary>What the perceptron returns.</summary>
public sealed class PerceptronResult
{
    internal PerceptronResult(FL.PerceptronResult core)
    {
        Model = new LinearModel(core.Model);
        Converged = core.Converged;
        Epochs = core.Epochs;
        Updates = core.Updates;
        Misclassified = core.Misclassified;
    }

    /// <summary>The weights and bias reached.</summary>
    public LinearModel Model { get; }

    /// <summary>True when every sample is classified correctly; false when the epoch cap stopped it.</summary>
    public bool Converged { get; }

    /// <summary>The passes over the data that made updates.</summary>
    public int Epochs { get; }

    /// <summary>The number of weight updates.</summary>
    public int Updates { get; }

    /// <summary>Training samples still misclassified (0 when converged).</summary>
    public int Misclassified { get; }
}

/// <summary>The perceptron of the notes (ch. 3.1): W += eta (y - yhat) x on misclassified samples until all are right.</summary>
public static class Perceptron
{
    /// <summary>Trains the perceptron on x (n x d) and labels -1, +1 from zero weights, stopping when every sample
    /// is right or after <paramref name="maxEpochs"/> passes.</summary>
    /// <remarks>From zero weights the rate only scales the weights, so in exact arithmetic the decisions do not depend on it.
    /// In doubles a power-of-two rate (1, 0.5, 0.25 ...) scales exactly and gives the same classifier bit for bit (the
    /// weights and bias times the rate); another rate may round a score of exactly 0 to about 1e-16 of either sign and so
    /// break ties differently (other updates, another classifier).</remarks>
    /// <exception cref="ArgumentException">Bad arguments; weights that overflow the double range: ParamName "learningRate"
    /// for a rate above 1 (a power-of-two rate such as 1 or 0.5 avoids it), otherwise "x" (features too large: scale them).</exception>
    public static PerceptronResult Fit(double[,] x, int[] labels, double learningRate = 1.0, int maxEpochs = 1000) =>
        new(FL.Perceptron.fit(new FL.PerceptronOptions(learningRate, maxEpochs), Interop.ToMatrix(x, nameof(x)), LinearInterop.NotNull(labels, nameof(labels))));
}

/// <summary>The single-layer sigmoid network of the notes (ch. 3.2) for regression, trained by gradient descent on
/// the cost 1/(2n) sum (sigma(x W + b) - y)^2. Targets must lie in [0, 1].</summary>
public static class SigmoidRegression
{
    /// <summary>Trains a one-layer sigmoid network (a <see cref="Network"/>) on x (n x d) and y in [0, 1].</summary>
    /// <exception cref="TrainingDivergedException{TModel}">(TModel is <see cref="Network"/>, the type this method returns: a
    /// sigmoid network is not a <see cref="LinearModel"/>) The weights blew up; LastGood is the last finite network.</exception>
    public static Network Fit(double[,] x, double[] y, double learningRate = 0.5, int steps = 2000, long seed = 42)
    {
        var xm = Interop.ToMatrix(x, nameof(x));
        var ym = LinearInterop.Column(y, nameof(y));
        return Interop.Diverging(
            () => new Network(FL.SigmoidRegression.fit(new FL.SigmoidRegressionOptions(learningRate, steps, seed), xm, ym).Network),
            good => new Network((Functional.NN.Network)good));
    }
}
