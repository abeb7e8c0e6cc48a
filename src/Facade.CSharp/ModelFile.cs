using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>The library's one model-file format for networks, pipelines, linear models and training
/// checkpoints. Saving is atomic (a temporary file in the same folder, flushed, renamed over the target);
/// loading checks everything and raises <see cref="ModelFormatException"/> saying what is wrong. A save follows a
/// symbolic link to its target, keeps the replaced file's permissions, refuses a read-only file unless
/// overwriteReadOnly is true (UnauthorizedAccessException), and refuses a model whose file could not be loaded back
/// (ArgumentException naming what is wrong). Files larger than 1 GiB (or device streams longer than that) are refused.</summary>
public static class ModelFile
{
    /// <summary>The kind of model a file holds: "network", "pipeline", "linear" or "checkpoint".</summary>
    /// <exception cref="ModelFormatException">The file is not a valid model file.</exception>
    public static string KindOf(string path) => Errors.Run(() => FN.ModelFile.kindOfBytes(FN.ModelFile.readBytes(path)));

    /// <summary>Saves a network.</summary>
    public static void SaveNetwork(Network network, string path, bool overwriteReadOnly = false)
    {
        ArgumentNullException.ThrowIfNull(network);
        Errors.Run(() => FN.ModelFile.saveNetworkWith(Options(overwriteReadOnly), path, network.Core));
    }

    /// <summary>Loads a network.</summary>
    public static Network LoadNetwork(string path) => new(Errors.Run(() => FN.ModelFile.loadNetwork(path)));

    /// <summary>Saves a pipeline (the same as <see cref="Pipeline.Save"/>).</summary>
    public static void SavePipeline(Pipeline pipeline, string path, bool overwriteReadOnly = false)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        pipeline.Save(path, overwriteReadOnly);
    }

    /// <summary>Loads a pipeline (the same as <see cref="Pipeline.Load"/>).</summary>
    public static Pipeline LoadPipeline(string path) => Pipeline.Load(path);

    /// <summary>Saves a linear model.</summary>
    public static void SaveLinear(LinearModel model, string path, bool overwriteReadOnly = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        Errors.Run(() => FN.ModelFile.saveLinearWith(Options(overwriteReadOnly), path, model.Core));
    }

    /// <summary>Loads a linear model.</summary>
    public static LinearModel LoadLinear(string path) => new(Errors.Run(() => FN.ModelFile.loadLinear(path)));

    /// <summary>Saves a network training checkpoint (parameters, optimiser state, generator, step, epoch, history, and how it
    /// was trained, which <see cref="Trainer.Resume"/> checks).</summary>
    public static void SaveCheckpoint(TrainingCheckpoint<Network> checkpoint, string path, bool overwriteReadOnly = false)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        Errors.Run(() => FN.ModelFile.saveCheckpointWith(Options(overwriteReadOnly), path, (FN.Checkpoint<FN.Network>)checkpoint.Core));
    }

    /// <summary>Loads a network training checkpoint; resume it with <see cref="Trainer.Resume"/>.</summary>
    public static TrainingCheckpoint<Network> LoadCheckpoint(string path)
    {
        var c = Errors.Run(() => FN.ModelFile.loadCheckpoint(path));
        return Checkpoints.FromCore(c);
    }

    private static FN.SaveOptions Options(bool overwriteReadOnly) => FN.SaveOptions.Default.WithOverwriteReadOnly(overwriteReadOnly);
}
