using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>Precision, recall and F1 of one class, with its support. A class that is neither the true nor the
/// predicted class of any sample has no scores: its precision, recall and F1 are NaN (undefined).</summary>
/// <param name="ClassName">The class.</param>
/// <param name="Precision">TP / (TP + FP); 0 when the class is never predicted but has samples; NaN when it has neither.</param>
/// <param name="Recall">TP / (TP + FN); 0 when the class has no samples but is predicted; NaN when it has neither.</param>
/// <param name="F1">2 P R / (P + R); 0 when both are 0; NaN when the class has neither samples nor predictions.</param>
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

    /// <summary>The mean of the per-class F1 over the classes that are the true or the predicted class of some sample
    /// (scikit-learn's <c>f1_score(average='macro')</c>); a class with neither (F1 NaN) is left out.</summary>
    public double MacroF1 { get; }

    /// <summary>The log-loss of the predicted probabilities, or null when the model gives none.</summary>
    public double? LogLoss { get; }

    /// <summary>The class names, in index order.</summary>
    public string[] ClassNames { get; }

    /// <summary>A table like scikit-learn's <c>classification_report</c>: precision, recall, F1 and support per
    /// class (NaN for a class that is neither true nor predicted), then accuracy, the macro average over the classes
    /// with scores and the support-weighted average (and the log-loss when there is one).</summary>
    public override string ToString()
    {
        // scikit-learn's layout: names right-aligned to max(12, longest name), then " {:>9}" columns after one space.
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        int width = Math.Max("weighted avg".Length, PerClass.Select(s => s.ClassName.Length).DefaultIfEmpty(0).Max());
        string Row(string name, double p, double r, double f, int n) =>
            string.Format(inv, "{0}  {1,9:F2} {2,9:F2} {3,9:F2} {4,9}", name.PadLeft(width), p, r, f, n);
        var sb = new System.Text.StringBuilder();
        sb.Append(string.Format(inv, "{0}  {1,9} {2,9} {3,9} {4,9}", "".PadLeft(width), "precision", "recall", "f1-score", "support")).Append('\n');
        sb.Append('\n');
        foreach (var s in PerClass) sb.Append(Row(s.ClassName, s.Precision, s.Recall, s.F1, s.Support)).Append('\n');
        sb.Append('\n');
        int total = PerClass.Sum(s => s.Support);
        sb.Append(string.Format(inv, "{0}  {1,9} {2,9} {3,9:F2} {4,9}", "accuracy".PadLeft(width), "", "", Accuracy, total)).Append('\n');
        // Averages over the classes with scores (scikit-learn's unique_labels(y_true, y_pred)): a class that is neither
        // true nor predicted has NaN scores and no support, and is left out of both.
        var scored = PerClass.Where(s => !double.IsNaN(s.F1)).ToArray();
        double Mean(Func<ClassScores, double> f) => scored.Length == 0 ? 0 : scored.Average(f);
        double Weighted(Func<ClassScores, double> f) => total == 0 ? 0 : scored.Sum(s => f(s) * s.Support) / total;
        sb.Append(Row("macro avg", Mean(s => s.Precision), Mean(s => s.Recall), Mean(s => s.F1), total)).Append('\n');
        sb.Append(Row("weighted avg", Weighted(s => s.Precision), Weighted(s => s.Recall), Weighted(s => s.F1), total)).Append('\n');
        if (LogLoss is double l) sb.Append(string.Format(inv, "{0}  {1,9:F4}", "log-loss".PadLeft(width), l)).Append('\n');
        return sb.ToString();
    }
}

/// <summary>A regressor's scores on labelled data.</summary>
/// <param name="MeanSquaredError">1/n sum (yhat - y)^2.</param>
/// <param name="MeanAbsoluteError">1/n sum |yhat - y|.</param>
/// <param name="R2">1 - SS_res / SS_tot (NaN with fewer than two samples, where it is undefined).</param>
public sealed record RegressionReport(double MeanSquaredError, double MeanAbsoluteError, double R2)
{
    /// <summary>The three scores, one per line, in the target's units: R^2, MSE and MAE.</summary>
    public override string ToString() =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, "R^2 {0:G6}{3}MSE {1:G6}{3}MAE {2:G6}", R2, MeanSquaredError, MeanAbsoluteError, Environment.NewLine);
}

/// <summary>What an evaluation measured: a classifier's <see cref="Classification"/> report or a regressor's
/// <see cref="Regression"/> report. Asking for the other one is an <see cref="InvalidOperationException"/> that says
/// which it is (never a null to dereference); <see cref="IsClassification"/> and <see cref="IsRegression"/> tell.</summary>
public sealed class Evaluation
{
    private readonly ClassificationReport? classification;
    private readonly RegressionReport? regression;

    internal Evaluation(FN.Evaluation e, string[] classNames)
    {
        if (e is FN.Evaluation.Classification c) classification = new ClassificationReport(c.Item, classNames);
        else if (e is FN.Evaluation.Regression r) regression = new RegressionReport(r.Item.MeanSquaredError, r.Item.MeanAbsoluteError, r.Item.R2);
    }

    /// <summary>True for a classifier's scores.</summary>
    public bool IsClassification => classification is not null;

    /// <summary>True for a regressor's scores.</summary>
    public bool IsRegression => regression is not null;

    /// <summary>The classifier's scores.</summary>
    /// <exception cref="InvalidOperationException">The model is a regressor (read <see cref="Regression"/>).</exception>
    public ClassificationReport Classification => classification
        ?? throw new InvalidOperationException("This evaluation is a regressor's: it has no Classification report (accuracy, F1); read Evaluation.Regression (R2, MSE, MAE), or check IsClassification first.");

    /// <summary>The regressor's scores.</summary>
    /// <exception cref="InvalidOperationException">The model is a classifier (read <see cref="Classification"/>).</exception>
    public RegressionReport Regression => regression
        ?? throw new InvalidOperationException("This evaluation is a classifier's: it has no Regression report (R2, MSE, MAE); read Evaluation.Classification (accuracy, F1), or check IsRegression first.");

    /// <summary>The report as a table (see <see cref="ClassificationReport.ToString"/> and <see cref="RegressionReport.ToString"/>).</summary>
    public override string ToString() => classification?.ToString() ?? regression!.ToString();
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

    /// <summary>-1/n sum log p[i, actual[i]], probabilities clipped to [1e-15, 1 - 1e-15] (scikit-learn's log_loss up to
    /// version 1.1; since 1.2 it clips to 2.2e-16, which differs only where a true class has a probability below 1e-15);
    /// each row must sum to 1 within 1e-5 (ArgumentException naming the row and its sum), not renormalised.</summary>
    public static double LogLoss(double[,] probabilities, int[] actual) =>
        FN.ClassificationMetrics.logLoss(Interop.ToMatrix(probabilities, nameof(probabilities)), actual);

    /// <summary>1/n sum (predicted - actual)^2.</summary>
    public static double MeanSquaredError(double[] predicted, double[] actual) =>
        Pair(predicted, actual, (p, a) => FN.RegressionMetrics.meanSquaredError(p, a));

    /// <summary>1/n sum |predicted - actual|.</summary>
    public static double MeanAbsoluteError(double[] predicted, double[] actual) =>
        Pair(predicted, actual, (p, a) => FN.RegressionMetrics.meanAbsoluteError(p, a));

    /// <summary>The coefficient of determination 1 - SS_res / SS_tot (scikit-learn's r2_score): NaN with fewer than two
    /// samples, where it is undefined.</summary>
    public static double R2(double[] predicted, double[] actual) =>
        Pair(predicted, actual, (p, a) => FN.RegressionMetrics.r2(p, a));

    // The two vectors as columns for a core score; their lengths are compared here, since the core's check of the
    // columns' shapes would describe the C# arrays as n x 1 matrices.
    private static double Pair(double[] predicted, double[] actual,
        Func<MathNet.Numerics.LinearAlgebra.Matrix<double>, MathNet.Numerics.LinearAlgebra.Matrix<double>, double> score)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(actual);
        if (predicted.Length != actual.Length)
            throw new ArgumentException($"actual has {Values(actual.Length)} but predicted has {Values(predicted.Length)}; they must agree.", nameof(actual));
        return score(DataInterop.Column(predicted), DataInterop.Column(actual));
    }

    private static string Values(int n) => n == 1 ? "1 value" : $"{n} values";
}
