using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>A network read from an ONNX model, with what the graph said around it.</summary>
public sealed class ImportedNetwork
{
    internal ImportedNetwork(FN.OnnxImportResult r)
    {
        Network = new Network(r.Network);
        TrailingSoftmax = r.TrailingSoftmax;
        InputName = r.InputName;
        OutputName = r.OutputName;
        Opset = r.Opset;
        Producer = r.Producer;
    }

    /// <summary>The network (its blocks), in the model's precision (FLOAT gives Float32, DOUBLE Float64).</summary>
    public Network Network { get; }

    /// <summary>True when the graph ended in a Softmax (PyTorch's <c>nn.Softmax</c>): the network gives the logits;
    /// train it further with <see cref="Loss.SoftmaxCrossEntropy"/> and apply a softmax to its outputs to get what the
    /// ONNX model gave.</summary>
    public bool TrailingSoftmax { get; }

    /// <summary>The graph's input name.</summary>
    public string InputName { get; }

    /// <summary>The graph's output name.</summary>
    public string OutputName { get; }

    /// <summary>The opset of the default ONNX domain the model uses.</summary>
    public int Opset { get; }

    /// <summary>The model's producer and its version, e.g. "pytorch 1.13.0".</summary>
    public string Producer { get; }
}

/// <summary>ONNX import (docs/onnx.md): graphs of the library's blocks - dense layers (Gemm, or MatMul + Add),
/// activations (Relu, Tanh, Sigmoid, LeakyRelu, Softplus), Dropout, BatchNormalization, LayerNormalization, residual
/// Adds - and a trailing Softmax, as <c>torch.onnx.export</c> writes them for an <c>nn.Sequential</c>; and the
/// library's own pipeline exports (<see cref="ImportPipeline(string)"/>). Anything else, and every damaged, truncated or inconsistent file, raises
/// <see cref="OnnxFormatException"/> (a <see cref="ModelFormatException"/>) naming the node and the operator.</summary>
public static class OnnxModel
{
    /// <summary>The opset written unless another is asked for.</summary>
    public const int DefaultOpset = 17;

    /// <summary>The largest ONNX file or stream read: 1 GiB.</summary>
    public const long MaxBytes = 1L << 30;

    /// <summary>Reads an ONNX file (at most <see cref="MaxBytes"/>).</summary>
    /// <exception cref="OnnxFormatException">A graph outside the family, a damaged file, or a file larger than 1 GiB.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">ParamName "path": the path is empty or blank, or names a directory.</exception>
    public static ImportedNetwork Import(string path) => new(Errors.Run(() => FN.Onnx.loadNetwork(path)));

    /// <summary>Reads an ONNX model from a stream (from its position to its end, at most <see cref="MaxBytes"/>).</summary>
    /// <exception cref="OnnxFormatException">A graph outside the family, a damaged model or more than 1 GiB.</exception>
    /// <exception cref="ArgumentException">ParamName "stream": the stream cannot be read, or is at its end (written
    /// and not rewound).</exception>
    public static ImportedNetwork Import(Stream stream) => new(Errors.Run(() => FN.Onnx.importNetwork(ReadAll(stream))));

    /// <summary>Reads an ONNX model's bytes.</summary>
    /// <exception cref="OnnxFormatException">A graph outside the family, or damaged bytes.</exception>
    public static ImportedNetwork Import(byte[] bytes) => new(Errors.Run(() => FN.Onnx.importNetwork(bytes)));

    /// <summary>True when the file is a pipeline the library exported (<c>pipeline.ExportOnnx</c>): read it with <see cref="ImportPipeline(string)"/>, anything else with
    /// <see cref="Import(string)"/>.</summary>
    /// <exception cref="OnnxFormatException">The file is not an ONNX model, or is larger than 1 GiB.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">ParamName "path": the path is empty or blank, or names a directory.</exception>
    public static bool IsPipeline(string path) => Errors.Run(() => FN.Onnx.isPipeline(FN.Onnx.readBytes(path)));

    /// <summary>True when the bytes are a pipeline the library exported.</summary>
    /// <exception cref="OnnxFormatException">The bytes are not an ONNX model.</exception>
    public static bool IsPipeline(byte[] bytes) => Errors.Run(() => FN.Onnx.isPipeline(bytes));

    /// <summary>Reads a pipeline the library exported back: the same preprocessing (imputation, one-hot columns),
    /// scaling, network (bit for bit), loss, feature, class and target names.</summary>
    /// <exception cref="OnnxFormatException">Not such an export, metadata that contradicts the rest of the file (an empty
    /// target_name, a classification loss on a regressor, scaler kind none over a scaler that scales), or a file that
    /// differs from what the exporter writes for the pipeline its metadata describes (naming the first node or the
    /// metadata entry that differs), or a file larger than 1 GiB.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">ParamName "path": the path is empty or blank, or names a directory.</exception>
    public static Pipeline ImportPipeline(string path) => new(Errors.Run(() => FN.Onnx.loadPipeline(path)));

    /// <summary>Reads a pipeline export from a stream (from its position to its end, at most <see cref="MaxBytes"/>).</summary>
    /// <exception cref="OnnxFormatException">Not such an export, or a damaged one.</exception>
    /// <exception cref="ArgumentException">ParamName "stream": the stream cannot be read, or is at its end (written
    /// and not rewound).</exception>
    public static Pipeline ImportPipeline(Stream stream) => new(Errors.Run(() => FN.Onnx.importPipeline(ReadAll(stream))));

    /// <summary>Reads a pipeline export's bytes.</summary>
    /// <exception cref="OnnxFormatException">Not such an export, or a damaged one.</exception>
    public static Pipeline ImportPipeline(byte[] bytes) => new(Errors.Run(() => FN.Onnx.importPipeline(bytes)));

    /// <summary>A stream's bytes from its position to its end (at most <see cref="MaxBytes"/>). A stream that cannot be
    /// read, or a seekable one already at its end (written and not rewound), is an <see cref="ArgumentException"/>
    /// naming <paramref name="stream"/>, not an ONNX model of no bytes.</summary>
    internal static byte[] ReadAll(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead)
            throw new ArgumentException("The stream cannot be read (its CanRead is false); pass a stream open for reading.", nameof(stream));
        if (stream.CanSeek && stream.Length > 0 && stream.Position >= stream.Length)
            throw new ArgumentException($"The stream is at position {stream.Position} of its {stream.Length} bytes, with nothing left to read; set its Position to where the ONNX model starts (0 after writing the model to it) first.", nameof(stream));
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + n > MaxBytes)
                throw new OnnxFormatException("The stream holds more than 1 GiB; larger ONNX models are refused.", "", "");
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }
}

/// <summary>ONNX export and import as members of <see cref="Network"/> and <see cref="Pipeline"/>
/// (<c>network.ExportOnnx(path)</c>, <c>Network.ImportOnnx(path)</c>, <c>pipeline.ExportOnnx(path)</c>).</summary>
public static class OnnxExtensions
{
    extension(Network network)
    {
        /// <summary>Writes the network as an ONNX model (atomically): input "input" (N x inputs), output "output"
        /// (N x outputs), FLOAT for a Float32 network and DOUBLE for a Float64 one, the batch dimension "N" dynamic.</summary>
        /// <exception cref="ArgumentException">ParamName "opset": opset outside 13..17, or below 17 for a Float32 network
        /// with a layer normalisation (its ONNX operator LayerNormalization is an operator of opset 17). ParamName
        /// "network": a custom block (its computation is code, not ONNX operators), or a network whose ONNX file would be
        /// larger than the 1 GiB an import reads. Nothing is written.</exception>
        /// <exception cref="UnauthorizedAccessException">The file is read-only and <paramref name="overwriteReadOnly"/> is false.</exception>
        public void ExportOnnx(string path, int opset = OnnxModel.DefaultOpset, bool overwriteReadOnly = false)
        {
            ArgumentNullException.ThrowIfNull(network);
            Errors.Run(() => FN.Onnx.saveNetworkWith(FN.SaveOptions.Default.WithOverwriteReadOnly(overwriteReadOnly), path, opset, network.Core));
        }

        /// <summary>Writes the network as an ONNX model to a stream (left open).</summary>
        /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
        /// <exception cref="ArgumentException">ParamName "opset": opset outside 13..17, or below 17 for a Float32 network
        /// with a layer normalisation (its ONNX operator LayerNormalization is an operator of opset 17). ParamName
        /// "network": a custom block (its computation is code, not ONNX operators), or a network whose ONNX file would be
        /// larger than the 1 GiB an import reads. Nothing is written to the stream.</exception>
        public void ExportOnnx(Stream stream, int opset = OnnxModel.DefaultOpset)
        {
            ArgumentNullException.ThrowIfNull(network);
            Errors.Run(() => FN.Onnx.writeNetwork(stream, opset, network.Core));
        }

        /// <summary>The bytes of the ONNX model <c>network.ExportOnnx(path or stream)</c> writes.</summary>
        /// <exception cref="ArgumentException">ParamName "opset": opset outside 13..17, or below 17 for a Float32 network
        /// with a layer normalisation (its ONNX operator LayerNormalization is an operator of opset 17). ParamName
        /// "network": a custom block (its computation is code, not ONNX operators), or a network whose ONNX file would be
        /// larger than the 1 GiB an import reads.</exception>
        public byte[] ToOnnx(int opset = OnnxModel.DefaultOpset)
        {
            ArgumentNullException.ThrowIfNull(network);
            return Errors.Run(() => FN.Onnx.exportNetwork(opset, network.Core));
        }
    }

    extension(Network)
    {
        /// <summary>Reads the network of an ONNX file, which computes what the file's model computes (see
        /// <see cref="OnnxModel"/> for what it reads). A graph that ends in a Softmax is refused: read it with
        /// <see cref="OnnxModel.Import(string)"/>, whose network gives the logits and whose
        /// <see cref="ImportedNetwork.TrailingSoftmax"/> says so.</summary>
        /// <exception cref="OnnxFormatException">A graph outside the family, a graph that ends in a Softmax
        /// (OperatorType "Softmax"), a damaged file, or a file larger than 1 GiB.</exception>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        /// <exception cref="ArgumentException">ParamName "path": the path is empty or blank, or names a directory.</exception>
        public static Network ImportOnnx(string path) => new(Errors.Run(() => FN.Onnx.loadNetworkExact(path)));

        /// <summary>Reads the network of an ONNX model from a stream (from its position to its end, at most
        /// <see cref="OnnxModel.MaxBytes"/>); a graph that ends in a Softmax is refused, as by <see cref="ImportOnnx(string)"/>.</summary>
        /// <exception cref="OnnxFormatException">A graph outside the family, a graph that ends in a Softmax, or a damaged model.</exception>
        /// <exception cref="ArgumentException">ParamName "stream": the stream cannot be read, or is at its end (written
        /// and not rewound).</exception>
        public static Network ImportOnnx(Stream stream) => new(Errors.Run(() => FN.Onnx.importNetworkExact(OnnxModel.ReadAll(stream))));
    }

    extension(Pipeline pipeline)
    {
        /// <summary>Writes the whole pipeline as an ONNX model (atomically): input "features" (N x features, DOUBLE,
        /// raw values), the scaling, the network, and outputs "outputs", then "probabilities" and "class_index" for a
        /// classifier or "values" for a regressor; class and feature names in the metadata (docs/onnx.md). A row the
        /// pipeline itself refuses (a missing value the policy does not fill, an infinity, a text column's code that is not a category
        /// index it accepts, a value that scales beyond the network's range) gets NaN outputs, probabilities and values and
        /// class_index -1.</summary>
        /// <exception cref="ArgumentException">ParamName "opset": opset outside 13..17, or below 17 for a Float32 pipeline
        /// with a layer normalisation (its ONNX operator LayerNormalization is an operator of opset 17). ParamName
        /// "pipeline": a part of the pipeline ONNX export cannot write (the message names it), or a pipeline whose ONNX
        /// file would be larger than the 1 GiB an import reads, or whose file the importer would refuse (an empty target name,
        /// a regressor with a classification loss). Nothing is written.</exception>
        /// <exception cref="UnauthorizedAccessException">The file is read-only and <paramref name="overwriteReadOnly"/> is false.</exception>
        public void ExportOnnx(string path, int opset = OnnxModel.DefaultOpset, bool overwriteReadOnly = false)
        {
            ArgumentNullException.ThrowIfNull(pipeline);
            Errors.Run(() => FN.Onnx.savePipelineWith(FN.SaveOptions.Default.WithOverwriteReadOnly(overwriteReadOnly), path, opset, pipeline.Core));
        }

        /// <summary>Writes the whole pipeline as an ONNX model to a stream (left open): the bytes of <c>pipeline.ToOnnx(opset)</c>.</summary>
        /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
        /// <exception cref="ArgumentException">ParamName "opset": opset outside 13..17, or below 17 for a Float32 pipeline
        /// with a layer normalisation (its ONNX operator LayerNormalization is an operator of opset 17). ParamName
        /// "pipeline": a part of the pipeline ONNX export cannot write (the message names it), or a pipeline whose ONNX
        /// file would be larger than the 1 GiB an import reads, or whose file the importer would refuse (an empty target name,
        /// a regressor with a classification loss). Nothing is written to the stream.</exception>
        public void ExportOnnx(Stream stream, int opset = OnnxModel.DefaultOpset)
        {
            ArgumentNullException.ThrowIfNull(pipeline);
            ArgumentNullException.ThrowIfNull(stream);
            var bytes = Errors.Run(() => FN.Onnx.exportPipeline(opset, pipeline.Core));
            stream.Write(bytes, 0, bytes.Length);
        }

        /// <summary>The bytes of the ONNX model of the whole pipeline, as <c>pipeline.ExportOnnx(path or stream)</c>
        /// writes it.</summary>
        /// <exception cref="ArgumentException">ParamName "opset": opset outside 13..17, or below 17 for a Float32 pipeline
        /// with a layer normalisation (its ONNX operator LayerNormalization is an operator of opset 17). ParamName
        /// "pipeline": a part of the pipeline ONNX export cannot write (the message names it), or a pipeline whose ONNX
        /// file would be larger than the 1 GiB an import reads, or whose file the importer would refuse (an empty target name,
        /// a regressor with a classification loss).</exception>
        public byte[] ToOnnx(int opset = OnnxModel.DefaultOpset)
        {
            ArgumentNullException.ThrowIfNull(pipeline);
            return Errors.Run(() => FN.Onnx.exportPipeline(opset, pipeline.Core));
        }
    }
}

/// <summary><c>Pipeline.ImportOnnx(path)</c>: a pipeline the library exported, read back (a class of its own: a
/// static extension's lowered method may not share a class with <c>Network.ImportOnnx</c>, whose parameters are the same).</summary>
public static class OnnxPipelineExtensions
{
    extension(Pipeline)
    {
        /// <summary>Reads a pipeline the library exported as ONNX (see <see cref="OnnxModel.ImportPipeline(string)"/>).</summary>
        /// <exception cref="OnnxFormatException">Not such an export, a damaged file, or a file larger than 1 GiB.</exception>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        /// <exception cref="ArgumentException">ParamName "path": the path is empty or blank, or names a directory.</exception>
        public static Pipeline ImportOnnx(string path) => OnnxModel.ImportPipeline(path);

        /// <summary>Reads a pipeline export from a stream (from its position to its end).</summary>
        /// <exception cref="OnnxFormatException">Not such an export, or a damaged model.</exception>
        /// <exception cref="ArgumentException">ParamName "stream": the stream cannot be read, or is at its end (written
        /// and not rewound).</exception>
        public static Pipeline ImportOnnx(Stream stream) => OnnxModel.ImportPipeline(stream);
    }
}
