using ScottPlot;

namespace FunctionalNN.Cli;

/// <summary>PNG plots of a training run with ScottPlot 5 (headless): the loss per epoch, the confusion
/// matrix as a heat map, and the decision regions of a two-feature classifier with the samples on top.</summary>
public static class Plots
{
    /// <summary>What <see cref="ForTraining"/> did: the plots written, those skipped (why, one line each) and those that
    /// failed (the plot and the reason, one line each).</summary>
    public sealed record TrainingPlots(List<string> Written, List<string> Skipped, List<string> Failed);

    /// <summary>Writes the plots that suit the run into <paramref name="dir"/> (created if needed). Each plot is drawn on
    /// its own: one that fails (a full disk, a file in the way) is listed in Failed, and the others are still written;
    /// the decision regions are skipped (listed in Skipped) when a feature cannot be laid on an axis (a text column).</summary>
    public static TrainingPlots ForTraining(string dir, PipelineFitResult fit, Evaluation test, DatasetSplit split)
    {
        var result = new TrainingPlots(new(), new(), new());
        void Draw(string file, Action<string> draw)
        {
            var path = Path.Combine(dir, file);
            try
            {
                draw(path);
                result.Written.Add(path);
            }
            catch (Exception e)
            {
                result.Failed.Add($"--plots {dir}: {file} could not be written ({e.Message.Replace("\r", " ").Replace("\n", " ")}); the model and the report are not affected");
            }
        }
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            result.Failed.Add($"--plots {dir}: the folder cannot be created or written ({e.Message}); the model and the report are not affected");
            return result;
        }
        Draw("loss.png", path => LossCurve(fit.History, fit.Model.IsClassifier ? fit.Model.Loss.ToString() : $"{fit.Model.Loss} in {fit.Model.TargetName}'s units", path));
        if (test.IsClassification && test.Classification is { } c)
        {
            Draw("confusion.png", path => ConfusionMatrix(c, path));
            if (fit.Model.FeatureNames.Length == 2)
            {
                if (RegionsSkipReason(fit.Model) is string why) result.Skipped.Add($"--plots: regions.png is not drawn: {why}");
                else Draw("regions.png", path => DecisionRegions(fit.Model, split.Train, split.Test, path));
            }
        }
        return result;
    }

    /// <summary>Why the decision regions of a two-feature classifier cannot be drawn, or null: a text feature (its
    /// categories are no axis of numbers to grid).</summary>
    public static string? RegionsSkipReason(Pipeline model)
    {
        var text = model.FeatureNames.Where((_, j) => model.Categories[j].Length > 0).ToArray();
        return text.Length == 0 ? null
            : $"the feature{(text.Length == 1 ? "" : "s")} {string.Join(" and ", text.Select(t => $"'{t}'"))} {(text.Length == 1 ? "is a text column" : "are text columns")} (categories, not an axis of numbers), and the regions need two numeric features";
    }

    /// <summary>The range of column j's finite values over two data sets (missing cells, NaN, are left out), widened by
    /// 8 % on each side (a constant column by half a unit, or 8 % of its value); (-1, 1) when the column has no value.</summary>
    public static (double Low, double High) FiniteRange(double[,] a, double[,] b, int j)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var x in new[] { a, b })
            for (int i = 0; i < x.GetLength(0); i++)
                if (double.IsFinite(x[i, j]))
                {
                    lo = Math.Min(lo, x[i, j]);
                    hi = Math.Max(hi, x[i, j]);
                }
        if (lo > hi) return (-1, 1);
        double margin = hi > lo ? 0.08 * (hi - lo) : Math.Max(0.5, 0.08 * Math.Abs(lo));
        return (lo - margin, hi + margin);
    }

    /// <summary>Training (and validation) loss per epoch.</summary>
    public static void LossCurve(IReadOnlyList<EpochRecord> history, string lossName, string path)
    {
        var plt = new Plot();
        var epochs = history.Select(h => (double)h.Epoch).ToArray();
        var train = plt.Add.Scatter(epochs, history.Select(h => h.TrainLoss).ToArray());
        train.LegendText = "training";
        train.MarkerSize = 0;
        train.LineWidth = 2;
        var withValidation = history.Where(h => h.ValidationLoss is not null).ToArray();
        if (withValidation.Length > 0)
        {
            var val = plt.Add.Scatter(withValidation.Select(h => (double)h.Epoch).ToArray(), withValidation.Select(h => h.ValidationLoss!.Value).ToArray());
            val.LegendText = "validation";
            val.MarkerSize = 0;
            val.LineWidth = 2;
        }
        plt.Title("Loss per epoch");
        plt.XLabel("epoch");
        plt.YLabel($"loss ({lossName})");
        plt.ShowLegend(Alignment.UpperRight);
        plt.SavePng(path, 800, 500);
    }

    /// <summary>The confusion matrix as a heat map: rows are true classes (first at the top), columns predicted
    /// classes, each cell shaded by its share of the row and labelled with its count.</summary>
    public static void ConfusionMatrix(ClassificationReport r, string path)
    {
        var plt = new Plot();
        int k = r.ClassNames.Length;
        // From near white (share 0) to dark blue (share 1), interpolated by hand so the direction is certain.
        static Color Shade(double share) => new(
            (byte)(247 + (8 - 247) * share), (byte)(251 + (48 - 251) * share), (byte)(255 + (107 - 255) * share));
        for (int t = 0; t < k; t++)
        {
            int rowSum = Enumerable.Range(0, k).Sum(p => r.ConfusionMatrix[t, p]);
            for (int p = 0; p < k; p++)
            {
                double share = rowSum == 0 ? 0 : (double)r.ConfusionMatrix[t, p] / rowSum;
                double y = k - 1 - t;
                var rect = plt.Add.Rectangle(p - 0.5, p + 0.5, y - 0.5, y + 0.5);
                rect.FillStyle.Color = Shade(share);
                rect.LineStyle.Width = 1;
                rect.LineStyle.Color = Colors.White;
                var text = plt.Add.Text(r.ConfusionMatrix[t, p].ToString(), p, y);
                text.LabelFontSize = k > 6 ? 14 : 20;
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontColor = share > 0.5 ? Colors.White : Colors.Black;
            }
        }
        var positions = Enumerable.Range(0, k).Select(i => (double)i).ToArray();
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, r.ClassNames);
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions.Select(p => k - 1 - p).ToArray(), r.ClassNames);
        plt.Axes.SetLimits(-0.5, k - 0.5, -0.5, k - 0.5);
        plt.Title($"Confusion matrix (test accuracy {Fmt.G(r.Accuracy, 3)})");
        plt.XLabel("predicted class");
        plt.YLabel("true class");
        plt.SavePng(path, 700, 650);
    }

    /// <summary>The class the model predicts over a grid of the two features (shaded), with the training samples
    /// (small dots) and test samples (large dots, black edge) on top, coloured by their true class.</summary>
    public static void DecisionRegions(Pipeline model, Dataset train, Dataset test, string path)
    {
        if (RegionsSkipReason(model) is string why) throw new ArgumentException($"the decision regions cannot be drawn: {why}");
        // The plane spans the finite values only: a missing cell (NaN, filled by the model's imputer) is no position.
        var (x0, x1) = FiniteRange(train.Features, test.Features, 0);
        var (y0, y1) = FiniteRange(train.Features, test.Features, 1);
        const int grid = 120;
        double dx = (x1 - x0) / grid, dy = (y1 - y0) / grid;
        var g = new double[grid * grid, 2];
        for (int a = 0; a < grid; a++)
            for (int b = 0; b < grid; b++)
            {
                g[a * grid + b, 0] = x0 + (b + 0.5) * dx;
                g[a * grid + b, 1] = y0 + (a + 0.5) * dy;
            }
        var classes = model.PredictClasses(g);
        var palette = new ScottPlot.Palettes.Category10();
        var plt = new Plot();
        // One rectangle per run of equal predictions along a grid row keeps the drawing small.
        for (int a = 0; a < grid; a++)
        {
            int start = 0;
            for (int b = 1; b <= grid; b++)
            {
                if (b < grid && classes[a * grid + b] == classes[a * grid + start]) continue;
                var rect = plt.Add.Rectangle(x0 + start * dx, x0 + b * dx, y0 + a * dy, y0 + (a + 1) * dy);
                rect.FillStyle.Color = palette.GetColor(classes[a * grid + start]).WithAlpha(0.28);
                rect.LineStyle.Width = 0;
                start = b;
            }
        }
        void Samples(Dataset d, float size, bool edge)
        {
            var f = d.Features;
            var labels = d.Labels;
            for (int c = 0; c < model.ClassNames.Length; c++)
            {
                // A sample with a missing coordinate has no place on the plane: it is left out of the dots.
                var rows = Enumerable.Range(0, labels.Length).Where(i => labels[i] == c && double.IsFinite(f[i, 0]) && double.IsFinite(f[i, 1])).ToArray();
                if (rows.Length == 0) continue;
                var m = plt.Add.Markers(rows.Select(i => f[i, 0]).ToArray(), rows.Select(i => f[i, 1]).ToArray(), MarkerShape.FilledCircle, size, palette.GetColor(c));
                if (edge)
                {
                    m.MarkerStyle.OutlineColor = Colors.Black;
                    m.MarkerStyle.OutlineWidth = 1.5f;
                    m.LegendText = model.ClassNames[c];
                }
            }
        }
        Samples(train, 5, false);
        Samples(test, 9, true);
        plt.Axes.SetLimits(x0, x1, y0, y1);
        plt.Title("Decision regions (large dots: test samples)");
        plt.XLabel(model.FeatureNames[0]);
        plt.YLabel(model.FeatureNames[1]);
        plt.ShowLegend(Alignment.UpperLeft);
        plt.SavePng(path, 800, 650);
    }

    /// <summary>Diverging colour for explanations: blue for negative, white for zero, red for positive
    /// (<paramref name="t"/> in [-1, 1]).</summary>
    private static Color Diverging(double t)
    {
        t = Math.Clamp(t, -1, 1);
        return t >= 0
            ? new Color((byte)(255 + (178 - 255) * t), (byte)(255 + (24 - 255) * t), (byte)(255 + (43 - 255) * t))
            : new Color((byte)(255 + (33 - 255) * -t), (byte)(255 + (102 - 255) * -t), (byte)(255 + (172 - 255) * -t));
    }

    /// <summary>A horizontal bar per feature (the <paramref name="top"/> largest magnitudes, the largest at the top):
    /// red bars push the output up, blue bars down; optional error bars (e.g. a standard deviation).</summary>
    public static void AttributionBars(IReadOnlyList<string> names, IReadOnlyList<double> values, IReadOnlyList<double>? errors,
        string title, string valueLabel, string path, int top = 20)
    {
        var order = Enumerable.Range(0, names.Count).OrderByDescending(i => Math.Abs(values[i])).Take(top).ToArray();
        double max = Math.Max(1e-300, order.Max(i => Math.Abs(values[i]) + (errors?[i] ?? 0)));
        var plt = new Plot();
        int k = order.Length;
        for (int r = 0; r < k; r++)
        {
            int i = order[r];
            double y = k - 1 - r, v = values[i];
            var rect = plt.Add.Rectangle(Math.Min(0, v), Math.Max(0, v), y - 0.35, y + 0.35);
            rect.FillStyle.Color = v >= 0 ? new Color(178, 24, 43) : new Color(33, 102, 172);
            rect.LineStyle.Width = 0;
            if (errors is not null && errors[i] > 0)
            {
                var line = plt.Add.Line(v - errors[i], y, v + errors[i], y);
                line.LineWidth = 2;
                line.LineColor = Colors.Black;
            }
        }
        var zero = plt.Add.VerticalLine(0);
        zero.LineColor = Colors.Gray;
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, k).Select(r => (double)(k - 1 - r)).ToArray(), order.Select(i => names[i]).ToArray());
        double lo = order.Min(i => Math.Min(0, values[i] - (errors?[i] ?? 0))), hi = order.Max(i => Math.Max(0, values[i] + (errors?[i] ?? 0)));
        double pad = 0.08 * Math.Max(hi - lo, max);
        plt.Axes.SetLimits(lo - pad, hi + pad, -0.6, k - 0.4);
        plt.Title(title);
        plt.XLabel(valueLabel);
        plt.SavePng(path, 800, Math.Max(300, 90 + 28 * k));
    }

    /// <summary>One side x side heat map per class (pixel attributions of one image toward each class), on one
    /// colour scale for all classes: red pixels raise the class's output, blue ones lower it.</summary>
    public static void AttributionImages(IReadOnlyList<string> classNames, IReadOnlyList<double[]> perClass, int side, string title, string path,
        double[]? input = null)
    {
        double max = Math.Max(1e-300, perClass.Max(a => a.Max(Math.Abs)));
        // The input image first (grey, darker is larger), when given.
        var panels = new List<(string Name, Func<int, Color> Colour)>();
        if (input is not null)
        {
            double lo = input.Min(), hi = input.Max(), span = Math.Max(1e-300, hi - lo);
            panels.Add(("input", i => { var g = (byte)(255 - 215 * (input[i] - lo) / span); return new Color(g, g, g); }));
        }
        for (int c = 0; c < perClass.Count; c++)
        {
            var values = perClass[c];
            panels.Add((classNames[c], i => Diverging(values[i] / max)));
        }
        int k = panels.Count, columns = Math.Min(input is null ? 5 : 6, k), rows = (k + columns - 1) / columns;
        var plt = new Plot();
        double gap = 1.5;
        for (int c = 0; c < k; c++)
        {
            double x0 = (c % columns) * (side + gap), y0 = (rows - 1 - c / columns) * (side + gap + 1.0);
            for (int r = 0; r < side; r++)
                for (int q = 0; q < side; q++)
                {
                    double top = y0 + side - r;
                    var rect = plt.Add.Rectangle(x0 + q, x0 + q + 1, top - 1, top);
                    rect.FillStyle.Color = panels[c].Colour(r * side + q);
                    rect.LineStyle.Width = 0;
                }
            var frame = plt.Add.Rectangle(x0, x0 + side, y0, y0 + side);
            frame.FillStyle.Color = Colors.Transparent;
            frame.LineStyle.Color = Colors.Gray;
            frame.LineStyle.Width = 1;
            var label = plt.Add.Text(panels[c].Name, x0 + side / 2.0, y0 + side + 0.15);
            label.LabelFontSize = 16;
            label.LabelAlignment = Alignment.LowerCenter;
        }
        plt.Axes.SetLimits(-0.5, columns * (side + gap) - gap + 0.5, -0.5, rows * (side + gap + 1.0) - gap + 0.5);
        plt.Axes.Frameless();
        plt.HideGrid();
        plt.Title($"{title} (red: raises the class, blue: lowers it; |max| = {Fmt.G(max, 3)})");
        plt.SavePng(path, 180 * columns + 60, 200 * rows + 80);
    }
}
