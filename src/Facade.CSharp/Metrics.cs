using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>Precision, recall and F1 of one class, with its support.</summary>
/// <param name="ClassName">The class.</param>
/// <param name="Precision">TP / (TP + FP); 0 when the class is never predicted.</param>
/// <param name="Recall">TP / (TP + FN); 0 when the class has no samples.</param>
/// <param name="F1">2 P R / (P + R); 0 when both are 0.</param>
/// <param name="Support">The number of samples of the class.</param>
public sealed record ClassScores(string ClassName, double Precision, double Recall, double F1, int Support);

/// <summary>A classifier's scores on labelled data.</summary>
public sealed class ClassificationReport
{
    internal ClassificationReport(FN.ClassificationReport r, string[] classNames)
    {
        Accuracy = r.Accuracy;
        ConfusionMatrix = (int[,])r.ConfusionMatrix.Clone();
        PerClass = r.PerClass.Select(s => new ClassScores(s.ClassName, s.Precision, s.Recall, s.F1, s.Support)).ToArray();
        MacroF1 = r.MacroF1;
        LogLoss = double.IsNaN(r.LogLoss) ? null : r.LogLoss;
        ClassNames = (string[])classNames.Clone();
    }

    /// <summary>The fraction of samples classified right.</summary>
    public double Accuracy { get; }

    /// <summary>[t, p]: samples of true class t predicted as class p.</summary>
    public int[,] ConfusionMatrix { get; }

    /// <summary>Scores per class, in class-index order.</summary>
    public IReadOnlyList<ClassScores> PerClass { get; }

    /// <summary>The mean of the per-class F1.</summary>
    public double MacroF1 { get; }

    /// <summary>The log-loss of the predicted probabilities, or null when the model gives none.</summary>
    public double? LogLoss { get; }

    /// <summary>The class names, in index order.</summary>
    public string[] ClassNames { get; }
}

/// <summary>A regressor's scores on labelled data.</summary>
/// <param name="MeanSquaredError">1/n sum (yhat - y)^2.</param>
/// <param name="MeanAbsoluteError">1/n sum |yhat - y|.</param>
/// <param name="R2">1 - SS_res / SS_tot.</param>
public sealed record RegressionReport(double MeanSquaredError, double MeanAbsoluteError, double R2);

/// <summary>What an evaluation measured: <see cref="Classification"/> for a classifier, <see cref="Regression"/> for a regressor.</summary>
public sealed class Evaluation
{
    internal Evaluation(FN.Evaluation e, string[] classNames)
    {
        if (e is FN.Evaluation.Classification c) Classification = new ClassificationReport(c.Item, classNames);
        else if (e is FN.Evaluation.Regression r) Regression = new RegressionReport(r.Item.MeanSquaredError, r.Item.MeanAbsoluteError, r.Item.R2);
    }

    /// <summary>True for a classifier's scores.</summary>
    public bool IsClassification => Classification is not null;

    /// <summary>The classifier's scores, or null.</summary>
    public ClassificationReport? Classification { get; }

    /// <summary>The regressor's scores, or null.</summary>
    public RegressionReport? Regression { get; }
}

/// <summary>Metrics of predictions against the truth. Argument errors are ArgumentExceptions naming the parameter.</summary>
public static class Metrics
{
    /// <summary>The fraction of predicted classes equal to the actual ones.</summary>
    public static double Accuracy(int[] predicted, int[] actual) => FN.ClassificationMetrics.accuracy(predicted, actual);

    /// <summary>The classes x classes confusion matrix: [t, p] counts samples of true class t predicted as p.</summary>
    public static int[,] ConfusionMatrix(int[] predicted, int[] actual, int classes) =>
        FN.ClassificationMetrics.confusionMatrix(classes, predicted, actual);

    /// <summary>Every classification score; <paramref name="probabilities"/> (n x classes) may be null.</summary>
    public static ClassificationReport Classification(string[] classNames, int[] predicted, int[] actual, double[,]? probabilities = null)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        var p = probabilities is null ? Microsoft.FSharp.Core.FSharpOption<MathNet.Numerics.LinearAlgebra.Matrix<double>>.None
            : Microsoft.FSharp.Core.FSharpOption<MathNet.Numerics.LinearAlgebra.Matrix<double>>.Some(Interop.ToMatrix(probabilities, nameof(probabilities)));
        return new ClassificationReport(FN.ClassificationMetrics.report(classNames, predicted, actual, p), classNames);
    }

    /// <summary>-1/n sum log p[i, actual[i]], probabilities clipped to [1e-15, 1 - 1e-15].</summary>
    public static double LogLoss(double[,] probabilities, int[] actual) =>
        FN.ClassificationMetrics.logLoss(Interop.ToMatrix(probabilities, nameof(probabilities)), actual);

    /// <summary>1/n sum (predicted - actual)^2.</summary>
    public static double MeanSquaredError(double[] predicted, double[] actual) =>
        FN.RegressionMetrics.meanSquaredError(Col(predicted, nameof(predicted)), Col(actual, nameof(actual)));

    /// <summary>1/n sum |predicted - actual|.</summary>
    public static double MeanAbsoluteError(double[] predicted, double[] actual) =>
        FN.RegressionMetrics.meanAbsoluteError(Col(predicted, nameof(predicted)), Col(actual, nameof(actual)));

    /// <summary>The coefficient of determination 1 - SS_res / SS_tot.</summary>
    public static double R2(double[] predicted, double[] actual) =>
        FN.RegressionMetrics.r2(Col(predicted, nameof(predicted)), Col(actual, nameof(actual)));

    private static MathNet.Numerics.LinearAlgebra.Matrix<double> Col(double[] values, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        return DataInterop.Column(values);
    }
}
