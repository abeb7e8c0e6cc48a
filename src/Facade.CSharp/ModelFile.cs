using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>The library's one model-file format for networks, pipelines, linear models and training
/// checkpoints. Saving is atomic (a temporary file in the same folder, flushed, renamed over the target);
/// loading checks everything and raises <see cref="FN.ModelFormatException"/> saying what is wrong.</summary>
public static class ModelFile
{
    /// <summary>The kind of model a file holds: "network", "pipeline", "linear" or "checkpoint".</summary>
    /// <exception cref="FN.ModelFormatException">The file is not a valid model file.</exception>
    public static string KindOf(string path) => FN.ModelFile.kindOfBytes(FN.ModelFile.readBytes(path));

    /// <summary>Saves a network.</summary>
    public static void SaveNetwork(Network network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        FN.ModelFile.saveNetwork(path, network.Core);
    }

    /// <summary>Loads a network.</summary>
    public static Network LoadNetwork(string path) => new(FN.ModelFile.loadNetwork(path));

    /// <summary>Saves a pipeline (the same as <see cref="Pipeline.Save"/>).</summary>
    public static void SavePipeline(Pipeline pipeline, string path)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        pipeline.Save(path);
    }

    /// <summary>Loads a pipeline (the same as <see cref="Pipeline.Load"/>).</summary>
    public static Pipeline LoadPipeline(string path) => Pipeline.Load(path);

    /// <summary>Saves a linear model.</summary>
    public static void SaveLinear(LinearModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        FN.ModelFile.saveLinear(path, model.Core);
    }

    /// <summary>Loads a linear model.</summary>
    public static LinearModel LoadLinear(string path) => new(FN.ModelFile.loadLinear(path));

    /// <summary>Saves a network training checkpoint (parameters, optimiser state, generator, step, epoch, history).</summary>
    public static void SaveCheckpoint(TrainingCheckpoint<Network> checkpoint, string path)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        FN.ModelFile.saveCheckpoint(path, (FN.Checkpoint<FN.Network>)checkpoint.Core);
    }

    /// <summary>Loads a network training checkpoint; resume it with <see cref="Trainer.Resume"/>.</summary>
    public static TrainingCheckpoint<Network> LoadCheckpoint(string path)
    {
        var c = FN.ModelFile.loadCheckpoint(path);
        return new TrainingCheckpoint<Network>(c, new Network(c.Model), c.Step, c.Epoch);
    }
}
