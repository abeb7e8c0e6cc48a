namespace FunctionalNN.Cli;

/// <summary>fnn export: a saved network or pipeline as an ONNX model (docs/onnx.md).</summary>
public static class ExportCommand
{
    /// <summary>Runs the command.</summary>
    public static int Run(Options o, TextWriter w)
    {
        var modelPath = o.Require("model", "MODEL");
        var outPath = o.Require("out", "ONNX");
        var opset = o.Int("opset", OnnxModel.DefaultOpset);
        o.CheckAllUsed();
        if (opset < 13 || opset > 17) throw new UsageException($"--opset must be between 13 and 17, not {opset}");
        Cli.CheckOut(outPath);
        // Every reader of the CLI picks the format by the extension: an ONNX file under another name would be read as a
        // Functional.NN model file (and refused as one).
        if (!ImportCommand.IsOnnx(outPath))
            throw new UsageException($"--out {outPath}: fnn export writes an ONNX file, which fnn reads as ONNX by its extension .onnx (under another name it would be read as a Functional.NN model file); give a path ending in .onnx, such as {Path.ChangeExtension(outPath, ".onnx")}");
        if (ImportCommand.IsOnnx(modelPath) && ImportCommand.IsModelFile(modelPath))
            throw new UsageException($"{modelPath} is a Functional.NN model file named .onnx, which the CLI reads as ONNX by its extension; rename it to {Path.ChangeExtension(modelPath, ".fnn")} and export that");
        if (ImportCommand.IsOnnx(modelPath))
            throw new UsageException($"fnn export writes ONNX from a model file (a network or a pipeline); {modelPath} is already ONNX (fnn import --onnx {modelPath} --out MODEL makes a model file of it)");
        try
        {
            return Export(modelPath, outPath, opset, w);
        }
        catch (Exception e) when (e is ModelFormatException or Functional.NN.ModelFormatException
                                  && e.Message.Contains(Functional.NN.ModelContainerModule.onnxHeadline, StringComparison.Ordinal))
        {
            // An ONNX file under another name than .onnx: the reader's advice (name it .onnx) is right for the commands that
            // read ONNX, but export would then refuse it as ONNX; for export there is nothing to do.
            throw new UsageException($"{modelPath} is already an ONNX model (its bytes are ONNX, whatever its name), so there is nothing to export: fnn export writes ONNX from a Functional.NN model file (a network or a pipeline); fnn import --onnx {modelPath} --out MODEL.fnn makes a model file of it");
        }
        catch (ArgumentException e) when (e.ParamName == "opset")
        {
            // An opset in 13..17 that this model still cannot use (a float32 layer normalisation needs
            // 17): a bad option value, so a usage error naming the option, as for one out of range.
            var text = e.Message.Replace(" (Parameter 'opset')", "");
            var prefix = $"opset is {opset}, but ";
            throw new UsageException($"--opset {opset}: {(text.StartsWith(prefix, StringComparison.Ordinal) ? text[prefix.Length..] : text)}");
        }
    }

    private static int Export(string modelPath, string outPath, int opset, TextWriter w)
    {
        switch (ModelFile.KindOf(modelPath))
        {
            case "pipeline":
                var pipeline = Pipeline.Load(modelPath);
                pipeline.ExportOnnx(outPath, opset);
                // The probabilities are exported when the loss gives them, by the library's rule (Pipeline.PredictProbabilities
                // is null otherwise), asked of one row of zeros (a valid row: code 0 is a text column's first category).
                var outputs = !pipeline.IsClassifier ? "'outputs' and 'values'"
                    : pipeline.PredictProbabilities(new double[1, pipeline.FeatureNames.Length]) is null
                        ? $"'outputs' and 'class_index' (no 'probabilities': the loss {Names.LossName(pipeline.Loss)} gives none)"
                        : "'outputs', 'probabilities' and 'class_index'";
                w.WriteLine($"exported the pipeline to {outPath} (ONNX opset {opset}): input 'features' ({pipeline.FeatureNames.Length} columns: {string.Join(", ", pipeline.FeatureNames)}); outputs {outputs}");
                break;
            case "network":
                var network = ModelFile.LoadNetwork(modelPath);
                network.ExportOnnx(outPath, opset);
                w.WriteLine($"exported the network to {outPath} (ONNX opset {opset}, {network.Precision}): input 'input' (N x {network.InputSize}), output 'output' (N x {network.OutputSize})");
                break;
            case var kind:
                throw new UsageException($"{modelPath} holds a {kind} model; fnn export writes networks and pipelines");
        }
        return 0;
    }
}
