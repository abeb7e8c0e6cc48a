namespace Functional.NN

open System
open System.IO

/// ONNX export and import (docs/onnx.md). Export writes a network of built-in blocks or a whole
/// pipeline as an ONNX model (IR version 8, opsets 13 to 17, default 17) that ONNX Runtime and
/// other ONNX tools run; import reads ONNX graphs of the same family (dense layers as Gemm or
/// MatMul + Add, activations, Dropout, BatchNormalization, LayerNormalization, residual Adds, a
/// trailing Softmax; what torch.onnx.export writes for an nn.Sequential of Linear, ReLU, Tanh,
/// Sigmoid, LeakyReLU, Softplus, BatchNorm1d, LayerNorm, Dropout and Softmax, and residual
/// modules) into a network that trains further like any other, and the library's own pipeline
/// exports back into pipelines.
[<RequireQualifiedAccess>]
module Onnx =

    /// The opset written unless another is asked for: 17.
    let defaultOpset = OnnxCommon.defaultOpset
    /// The lowest opset the exporter writes: 13.
    let minOpset = OnnxCommon.minOpset
    /// The highest opset the exporter writes: 17 (what ONNX 1.12 knows).
    let maxOpset = OnnxCommon.maxOpset

    /// Export validates what import validates (as a model file's save does): the bytes are read
    /// back by the importer, and a model whose ONNX file it would refuse raises ArgumentException
    /// (ParamName `param`) with the importer's message, before anything is written.
    let private readBack (param: string) (what: string) (read: byte[] -> 'T) (bytes: byte[]) : byte[] =
        try
            read bytes |> ignore
            bytes
        with :? OnnxFormatException as e ->
            raise (ArgumentException(sprintf "The %s cannot be exported: its ONNX file could not be read back. %s" what e.Message, param))

    /// `exportNetwork` with the size cap `cap` (in bytes) in place of the loaders' (for tests).
    let internal exportNetworkCapped (cap: int64) (opset: int) (network: Network) : byte[] =
        OnnxExport.networkModelCapped cap opset network |> readBack "network" "network" OnnxImport.read

    /// A network as the bytes of an ONNX model: input "input" (N x d_in), output "output"
    /// (N x d_out), FLOAT for a Float32 network and DOUBLE for a Float64 one, the batch dimension
    /// "N" dynamic. Raises ArgumentException (ParamName "opset") for an opset outside 13..17, and
    /// (ParamName "network") for a network ONNX cannot carry (a custom block, a non-finite value,
    /// a Float32 value beyond float32's range), whose file would be larger than the 1 GiB
    /// `loadNetwork` reads (before it is built when its values alone take more), or whose file
    /// `importNetwork` would refuse.
    let exportNetwork (opset: int) (network: Network) : byte[] =
        exportNetworkCapped OnnxExport.maxModelBytes opset network

    /// `exportPipeline` with the size cap `cap` (in bytes) in place of the loaders' (for tests).
    let internal exportPipelineCapped (cap: int64) (opset: int) (pipeline: Pipeline) : byte[] =
        OnnxExport.pipelineModelCapped cap opset pipeline |> readBack "pipeline" "pipeline" OnnxImport.readPipeline

    /// A pipeline as the bytes of an ONNX model: input "features" (N x d, DOUBLE, raw values),
    /// the scaling, the network, and outputs "outputs" (raw network outputs), "probabilities" and
    /// "class_index" for a classifier, "values" for a regressor; class and feature names in the
    /// metadata (docs/onnx.md). A row Pipeline.outputs refuses (a missing value the policy does
    /// not fill, an infinity, a text column's code that is not a category index the pipeline
    /// accepts, a value that scales beyond the network's range) gets NaN outputs, probabilities
    /// and values and class_index -1. Raises ArgumentException naming a part it cannot write (ParamName
    /// "pipeline", or "opset"), also for a pipeline whose file would be larger than the 1 GiB
    /// `loadPipeline` reads, or whose file `importPipeline` would refuse.
    let exportPipeline (opset: int) (pipeline: Pipeline) : byte[] =
        exportPipelineCapped OnnxExport.maxModelBytes opset pipeline

    /// Reads an ONNX model's bytes into a network. Raises OnnxFormatException (a
    /// ModelFormatException) naming the node and the operator for a graph outside the family, and
    /// for a damaged, truncated or inconsistent model.
    let importNetwork (bytes: byte[]) : OnnxImportResult = OnnxImport.read bytes

    /// Reads a pipeline the library exported (`exportPipeline`) back: the same preprocessor,
    /// scaler, network, loss, names and target scaler, bit for bit. Raises OnnxFormatException
    /// for a model that is not such an export, whose metadata contradicts the rest of the file
    /// (an empty target_name, a classification loss on a regressor, scaler kind none over a scaler
    /// that scales), or that differs from what the exporter writes for the pipeline its metadata
    /// and initialisers describe (naming the first node or the metadata entry that differs).
    let importPipeline (bytes: byte[]) : Pipeline = OnnxImport.readPipeline bytes

    /// True when the bytes are a model the library wrote for a pipeline (read it with
    /// `importPipeline`; anything else with `importNetwork`). Raises OnnxFormatException for
    /// bytes that are not an ONNX model.
    let isPipeline (bytes: byte[]) : bool = OnnxImport.isPipeline bytes

    /// An ONNX file's bytes, as the loaders here read them: a file larger than 1 GiB (the largest
    /// file the exporter writes) raises OnnxFormatException ("ONNX files larger than 1073741824
    /// bytes (1 GiB) are refused"; a regular file before it is read, a device or pipe once 1 GiB
    /// has come), a missing file FileNotFoundException, an empty or blank path or a directory
    /// ArgumentException (ParamName "path").
    let readBytes (path: string) : byte[] =
        ModelFile.readBytesAs "ONNX file" (fun message -> OnnxFormatException(message, "", "") :> exn) ModelFile.maxFileBytes path

    /// Reads a pipeline export from a file (`readBytes`: files over 1 GiB are refused).
    let loadPipeline (path: string) : Pipeline = importPipeline (readBytes path)

    /// Writes `exportNetwork opset network` to a file atomically, replacing a read-only file only
    /// with options.OverwriteReadOnly.
    let saveNetworkWith (options: SaveOptions) (path: string) (opset: int) (network: Network) =
        let bytes = exportNetwork opset network
        ModelFile.writeAtomicOptions options path bytes

    /// Writes `exportNetwork opset network` to a file atomically (`saveNetworkWith SaveOptions.Default`).
    let saveNetwork (path: string) (opset: int) (network: Network) = saveNetworkWith SaveOptions.Default path opset network

    /// Writes `exportPipeline opset pipeline` to a file atomically, replacing a read-only file only
    /// with options.OverwriteReadOnly.
    let savePipelineWith (options: SaveOptions) (path: string) (opset: int) (pipeline: Pipeline) =
        let bytes = exportPipeline opset pipeline
        ModelFile.writeAtomicOptions options path bytes

    /// Writes `exportPipeline opset pipeline` to a file atomically (`savePipelineWith SaveOptions.Default`).
    let savePipeline (path: string) (opset: int) (pipeline: Pipeline) = savePipelineWith SaveOptions.Default path opset pipeline

    /// Reads an ONNX file into a network (`readBytes`: files over 1 GiB are refused).
    let loadNetwork (path: string) : OnnxImportResult = importNetwork (readBytes path)

    /// The network of an ONNX model that computes what the model computes: as `importNetwork`,
    /// but a graph that ends in a Softmax (which a network does not hold: `importNetwork` drops
    /// it and reports `TrailingSoftmax`, the network then gives the logits) raises
    /// OnnxFormatException (operator "Softmax"), so that the network is never silently another
    /// function than the file's.
    let importNetworkExact (bytes: byte[]) : Network =
        let r = importNetwork bytes
        if r.TrailingSoftmax then
            raise (OnnxFormatException("The graph ends in a Softmax, which a network does not hold: the network read would give the logits, not the model's output. Read it with the import that reports the Softmax (F# Onnx.importNetwork or loadNetwork, C# OnnxModel.Import: TrailingSoftmax), whose network gives the logits, and apply a softmax to its outputs to get the model's.", "", "Softmax"))
        r.Network

    /// `importNetworkExact` of a file's bytes.
    let loadNetworkExact (path: string) : Network = importNetworkExact (readBytes path)

    /// Writes the bytes of `exportNetwork` to a stream (left open).
    let writeNetwork (stream: Stream) (opset: int) (network: Network) =
        Check.notNull "stream" stream
        let bytes = exportNetwork opset network
        stream.Write(bytes, 0, bytes.Length)
