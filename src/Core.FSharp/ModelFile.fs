namespace Functional.NN

open System
open System.IO
open MathNet.Numerics.LinearAlgebra
open Functional.NN.Linear

/// Saving and loading models in the library's one file format (see ModelContainer). Each model
/// kind is one pair of mapping functions between the model and named values; loading checks
/// every shape and rebuilds the model through its own checked constructor, and raises only
/// ModelFormatException. Saving is atomic: a temporary file in the target's folder is written,
/// flushed to disk and renamed over the target, so a crash leaves the old file or the new one.
module ModelFile =

    let private bad (message: string) : 'a = raise (ModelFormatException message)

    /// Turns the ArgumentException of a model's own constructor into the file format's error.
    let private rebuild (kind: string) (f: unit -> 'T) : 'T =
        try f ()
        with :? ArgumentException as e -> bad (sprintf "The %s model in the file is inconsistent: %s" kind e.Message)

    let private floatsOfMatrix (m: Matrix<float>) =
        ModelValue.Floats ([| m.RowCount; m.ColumnCount |], Array.init (m.RowCount * m.ColumnCount) (fun k -> m.[k / m.ColumnCount, k % m.ColumnCount]))

    let private matrixOf (rows: int, cols: int, values: float[]) =
        Matrix<float>.Build.Dense(rows, cols, fun i j -> values.[i * cols + j])

    let private vector (values: float[]) = ModelValue.Floats ([| values.Length |], Array.copy values)

    // ---- networks ------------------------------------------------------------------------

    /// A network's entries, prefixed: "<p>layers" (count), and for each layer i
    /// "<p>layer<i>.weights" (d_in x d_out), "<p>layer<i>.bias" (d_out; absent without bias) and
    /// "<p>layer<i>.activation" (Activation.name).
    let networkEntries (prefix: string) (net: Network) : (string * ModelValue) list =
        [ yield prefix + "layers", ModelValue.Int (int64 net.Layers.Length)
          for i, l in List.indexed net.Layers do
              let p = sprintf "%slayer%d." prefix i
              yield p + "weights", floatsOfMatrix l.Weights
              match l.Bias with
              | Some b -> yield p + "bias", vector (b.ToArray())
              | None -> ()
              yield p + "activation", ModelValue.Text (Activation.name l.Activation) ]

    /// The network of `networkEntries`, checked: at least one layer, shapes that chain, bias
    /// lengths that match, known activations.
    let networkOf (prefix: string) (e: ModelEntries) : Network =
        let count = e.IntIn(prefix + "layers", 1L, int64 (List.length e.Container.Entries))
        let layers =
            [ for i in 0 .. count - 1 do
                let p = sprintf "%slayer%d." prefix i
                let rows, cols, w = e.Matrix(p + "weights")
                if rows = 0 || cols = 0 then bad (sprintf "The entry '%sweights' has shape [%d, %d]; a layer needs at least one input and one output." p rows cols)
                let bias = if e.Has(p + "bias") then Some (Vector<float>.Build.DenseOfArray(e.Vector(p + "bias", cols))) else None
                let act =
                    match Activation.tryParse (e.Text(p + "activation")) with
                    | Some a -> a
                    | None -> bad (sprintf "The entry '%sactivation' is '%s', which is not an activation this library knows." p (e.Text(p + "activation")))
                yield rebuild "network" (fun () -> Dense.create (matrixOf (rows, cols, w)) bias act) ]
        rebuild "network" (fun () -> Network.create layers)

    // ---- scalers and pipelines -----------------------------------------------------------

    let private scalerEntries (prefix: string) (s: Scaler) =
        [ prefix + "kind", ModelValue.Text (Scaler.kindName s.Kind)
          prefix + "offset", vector s.Offset
          prefix + "scale", vector s.Scale ]

    let private scalerOf (prefix: string) (e: ModelEntries) =
        let kind =
            match Scaler.tryParseKind (e.Text(prefix + "kind")) with
            | Some k -> k
            | None -> bad (sprintf "The entry '%skind' is '%s', which is not a scaling this library knows." prefix (e.Text(prefix + "kind")))
        let offset = e.Vector(prefix + "offset", -1)
        let scale = e.Vector(prefix + "scale", offset.Length)
        rebuild "scaler" (fun () -> Scaler.create kind offset scale)

    /// A pipeline's entries: its network ("network." prefix), "features", "scaler.*", "loss",
    /// "target", "classes" and "target_scaler.*".
    let pipelineEntries (p: Pipeline) : (string * ModelValue) list =
        [ yield! networkEntries "network." p.Network
          yield "features", ModelValue.Texts (Array.copy p.FeatureNames)
          yield! scalerEntries "scaler." p.Scaler
          yield "loss", ModelValue.Text (Loss.name p.Loss)
          yield "target", ModelValue.Text p.TargetName
          yield "classes", ModelValue.Texts (Array.copy p.ClassNames)
          yield! scalerEntries "target_scaler." p.TargetScaler ]

    /// The pipeline of `pipelineEntries`, checked by Pipeline.create.
    let pipelineOf (e: ModelEntries) : Pipeline =
        let net = networkOf "network." e
        let loss =
            match Loss.tryParse (e.Text "loss") with
            | Some l -> l
            | None -> bad (sprintf "The entry 'loss' is '%s', which is not a loss this library knows." (e.Text "loss"))
        rebuild "pipeline" (fun () ->
            Pipeline.create (e.Texts "features") (scalerOf "scaler." e) net loss (e.Text "target") (e.Texts "classes") (scalerOf "target_scaler." e))

    // ---- linear models -------------------------------------------------------------------

    /// A linear model's entries: "coefficients" (d x k), "intercept" (k), "has_intercept" (0/1),
    /// "features".
    let linearEntries (m: LinearModel) : (string * ModelValue) list =
        [ "coefficients", floatsOfMatrix m.Coefficients
          "intercept", vector (m.Intercept.ToArray())
          "has_intercept", ModelValue.Int (if m.HasIntercept then 1L else 0L)
          "features", ModelValue.Texts (Array.copy m.FeatureNames) ]

    /// The linear model of `linearEntries`, checked by LinearModel.create.
    let linearOf (e: ModelEntries) : LinearModel =
        let rows, cols, w = e.Matrix "coefficients"
        if rows = 0 || cols = 0 then bad (sprintf "The entry 'coefficients' has shape [%d, %d]; it must not be empty." rows cols)
        let b = e.Vector("intercept", cols)
        let hasIntercept = e.IntIn("has_intercept", 0L, 1L) = 1
        rebuild "linear" (fun () -> LinearModel.create (matrixOf (rows, cols, w)) (Vector<float>.Build.DenseOfArray b) hasIntercept (e.Texts "features"))

    // ---- bytes ---------------------------------------------------------------------------

    let private ofBytes (expected: string) (bytes: byte[]) : ModelEntries =
        let c = ModelContainer.read bytes
        if c.Kind <> expected then bad (sprintf "The file holds a %s model, not a %s model." c.Kind expected)
        ModelEntries c

    /// A network as file bytes (kind "network").
    let networkToBytes (net: Network) = ModelContainer.write { Kind = "network"; Entries = networkEntries "" net }
    /// A network from file bytes; raises ModelFormatException.
    let networkOfBytes (bytes: byte[]) = networkOf "" (ofBytes "network" bytes)
    /// A pipeline as file bytes (kind "pipeline").
    let pipelineToBytes (p: Pipeline) = ModelContainer.write { Kind = "pipeline"; Entries = pipelineEntries p }
    /// A pipeline from file bytes; raises ModelFormatException.
    let pipelineOfBytes (bytes: byte[]) = pipelineOf (ofBytes "pipeline" bytes)
    /// A linear model as file bytes (kind "linear").
    let linearToBytes (m: LinearModel) = ModelContainer.write { Kind = "linear"; Entries = linearEntries m }
    /// A linear model from file bytes; raises ModelFormatException.
    let linearOfBytes (bytes: byte[]) = linearOf (ofBytes "linear" bytes)

    /// The kind of model a file's bytes hold ("network", "pipeline", "linear", ...), after
    /// checking the whole container; raises ModelFormatException.
    let kindOfBytes (bytes: byte[]) = (ModelContainer.read bytes).Kind

    // ---- files ---------------------------------------------------------------------------

    /// How many bytes each write of `writeAtomicWith` passes to the stream.
    let writeChunk = 4096

    /// Writes bytes to `path` atomically: to a temporary file in the same folder (through
    /// `wrap`, which tests use to inject faults), in chunks of `writeChunk`, flushed to disk, then
    /// renamed over `path`. If anything fails the temporary file is deleted and `path` is
    /// untouched (the old file, or none).
    let writeAtomicWith (wrap: Stream -> Stream) (path: string) (bytes: byte[]) =
        Check.notNull "path" path
        Check.notNull "bytes" bytes
        let full = Path.GetFullPath path
        let dir = Path.GetDirectoryName full
        if not (Directory.Exists dir) then
            raise (DirectoryNotFoundException(sprintf "The folder '%s' of the model file does not exist." dir))
        let temp = Path.Combine(dir, sprintf ".%s.%s.tmp" (Path.GetFileName full) (Guid.NewGuid().ToString("N")))
        try
            do
                use file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None)
                use stream = wrap (file :> Stream)
                let mutable offset = 0
                while offset < bytes.Length do
                    let n = min writeChunk (bytes.Length - offset)
                    stream.Write(bytes, offset, n)
                    offset <- offset + n
                stream.Flush()
                file.Flush(true)
            File.Move(temp, full, true)
        with _ ->
            (try File.Delete temp with _ -> ())
            reraise ()

    /// `writeAtomicWith id`.
    let writeAtomic (path: string) (bytes: byte[]) = writeAtomicWith id path bytes

    /// A file's bytes for a model reader. A file larger than 1 GiB is refused as a
    /// ModelFormatException before it is read; a missing file is a FileNotFoundException.
    let readBytes (path: string) : byte[] =
        Check.notNull "path" path
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "The model file '%s' does not exist." path, path))
        let length = FileInfo(path).Length
        if length > (1L <<< 30) then bad (sprintf "The file '%s' is %d bytes long; model files larger than 1 GiB are refused." path length)
        File.ReadAllBytes path

    /// Saves a network atomically.
    let saveNetwork (path: string) (net: Network) = writeAtomic path (networkToBytes net)
    /// Loads a network; raises ModelFormatException for a damaged file.
    let loadNetwork (path: string) : Network = networkOfBytes (readBytes path)
    /// Saves a pipeline atomically.
    let savePipeline (path: string) (p: Pipeline) = writeAtomic path (pipelineToBytes p)
    /// Loads a pipeline; raises ModelFormatException for a damaged file.
    let loadPipeline (path: string) : Pipeline = pipelineOfBytes (readBytes path)
    /// Saves a linear model atomically.
    let saveLinear (path: string) (m: LinearModel) = writeAtomic path (linearToBytes m)
    /// Loads a linear model; raises ModelFormatException for a damaged file.
    let loadLinear (path: string) : LinearModel = linearOfBytes (readBytes path)
