using System.Globalization;
using System.Text;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>The text of <see cref="Network.Summary"/> and <see cref="Pipeline.Summary"/>: a table like Keras'
/// <c>model.summary()</c>, one row per layer with its output shape and parameter count, then the totals (the parameters,
/// then the running statistics when the network has any).</summary>
internal static class Summaries
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    internal static string Network(FN.Network net, string title)
    {
        // One row per block, with the width it outputs for the width it gets (Block.outputWidth).
        var rows = new List<(string Name, string Shape, int Params)>();
        int width = net.InputSize;
        int k = 0;
        foreach (var b in net.Blocks)
        {
            k++;
            width = FN.BlockModule.outputWidth(width, b);
            var name = b switch
            {
                FN.Block.Dense d => $"dense_{k} ({FN.ActivationModule.name(d.Item.Activation)}{(d.Item.Bias == null ? ", no bias" : "")})",
                FN.Block.Activation a => $"activation_{k} ({FN.ActivationModule.name(a.Item)})",
                _ => $"{FN.BlockModule.name(b).Replace(' ', '_')}_{k}",
            };
            rows.Add((name, $"(n, {width})", FN.BlockModule.parameterCount(b)));
        }
        int w0 = Math.Max(24, rows.Select(r => r.Name.Length).DefaultIfEmpty(0).Max() + 2);
        int w1 = Math.Max(16, rows.Select(r => r.Shape.Length).DefaultIfEmpty(0).Max() + 2);
        const int w2 = 12;
        var rule = new string('=', w0 + w1 + w2);
        var sb = new StringBuilder();
        sb.AppendLine(title);
        sb.AppendLine(rule);
        sb.AppendLine("Layer (activation)".PadRight(w0) + "Output shape".PadRight(w1) + "Param #".PadLeft(w2));
        sb.AppendLine(rule);
        sb.AppendLine($"input".PadRight(w0) + $"(n, {net.InputSize})".PadRight(w1) + "0".PadLeft(w2));
        foreach (var r in rows) sb.AppendLine(r.Name.PadRight(w0) + r.Shape.PadRight(w1) + r.Params.ToString("N0", Inv).PadLeft(w2));
        sb.AppendLine(rule);
        sb.AppendLine($"Total params: {net.ParameterCount.ToString("N0", Inv)} ({(net.Precision.IsFloat32 ? "float32" : "float64")}, {(net.ParameterCount * (net.Precision.IsFloat32 ? 4 : 8) / 1024.0).ToString("F1", Inv)} KiB)");
        // The running statistics are state, not parameters (as Network.StateCount, Describe and the CLI's summary count them).
        if (net.StateCount > 0)
            sb.AppendLine($"Running statistics: {net.StateCount.ToString("N0", Inv)} (batch normalisation's mean and variance, updated by training steps, not by gradient)");
        return sb.ToString().TrimEnd();
    }

    internal static string Pipeline(FN.Pipeline p)
    {
        var sb = new StringBuilder();
        var describe = FN.PipelineModule.describe(p).ToArray();
        // The preprocessing lines of Describe (inputs, text columns, missing values) before the table.
        foreach (var line in describe.Where(l => l.StartsWith("inputs:") || l.StartsWith("text columns") || l.StartsWith("missing values"))) sb.AppendLine(line);
        sb.AppendLine(Network(p.Network, $"Network (on scaled features; loss {FN.LossModule.name(p.Loss)})"));
        sb.Append(p.IsClassifier
            ? $"Output: {p.ClassNames.Length} classes of '{p.TargetName}' ({string.Join(", ", p.ClassNames.Take(10))}{(p.ClassNames.Length > 10 ? ", ..." : "")})"
            : $"Output: '{p.TargetName}' (regression, mapped back to the target's units)");
        return sb.ToString();
    }
}
