namespace Functional.NN

open System
open System.Buffers.Binary
open System.Text

/// A value stored in a model file. The format knows only these six kinds of value, never a
/// .NET type: a model is a kind name and a list of named values.
[<RequireQualifiedAccess>]
type ModelValue =
    /// A 64-bit integer.
    | Int of int64
    /// A finite 64-bit float.
    | Float of float
    /// A UTF-8 string.
    | Text of string
    /// Finite floats with a shape (rank 1 to 4, row-major: the last index runs fastest).
    | Floats of shape: int[] * values: float[]
    /// A list of UTF-8 strings.
    | Texts of string[]
    /// A list of 64-bit integers.
    | Ints of int64[]
    /// Finite 32-bit floats with a shape (rank 1 to 4, row-major), 4 bytes each: the parameters
    /// of a Float32 network. Format versions 2 and 3 hold them (a version 1 file has none).
    | Floats32 of shape: int[] * values: float32[]

/// A model file's contents: what kind of model it holds ("network", "pipeline", "linear",
/// "checkpoint") and its named values, in order, each name once.
type ModelContainer =
    { /// What the file holds ("network", "pipeline", "linear", "checkpoint").
      Kind: string
      /// The named values, in file order.
      Entries: (string * ModelValue) list }

/// The binary container of model files, format versions 1, 2 and 3. Little-endian throughout:
///
///   magic     8 bytes  "FNNMODEL"
///   version   u16      1, 2 or 3
///   kind      string   (i32 byte length, then UTF-8)
///   count     i32      number of entries
///   entries   count x (name: string, tag: u8, payload)
///   crc32     u32      CRC-32 (IEEE) of every byte before it
///
/// Payloads by tag: 1 Int (i64); 2 Float (f64, finite); 3 Text (string); 4 Floats (rank u8 in
/// 1..4, rank x i32 dims, then prod(dims) x f64, all finite); 5 Texts (i32 count, strings);
/// 6 Ints (i32 count, count x i64); version 2 adds 7 Floats32 (rank u8 in 1..4, rank x i32 dims,
/// then prod(dims) x f32, all finite). Version 3 adds no value kind: it marks a network of blocks
/// (an entry named "blocks" or "<prefix>.blocks"), which readers of versions 1 and 2 could not
/// rebuild and so must refuse by version. A file is written in the lowest version that holds it:
/// version 3 for a network of blocks, else version 1 when it has no Floats32 value (so float64
/// dense models are read by every version of the library), else version 2; the reader checks that
/// too, so a version 2 file without a Floats32 value has a damaged version field. The reader checks every length against the bytes
/// that are left before it allocates, so a damaged file never asks for more memory than its own
/// size.
module ModelContainer =

    /// The eight bytes every model file starts with.
    let magic = "FNNMODEL"B

    /// The newest format version this library writes and reads (it reads 1, 2 and 3).
    let formatVersion = 3us

    /// True for the entry that holds a network of blocks ("blocks", or "<prefix>.blocks").
    let isBlocksEntry (name: string) = name = "blocks" || name.EndsWith(".blocks", StringComparison.Ordinal)

    /// The version a container is written in: 3 when it holds a network of blocks (an entry
    /// "blocks" or "<prefix>.blocks", which readers of versions 1 and 2 could not rebuild), else 2
    /// when it holds a Floats32 value, else 1.
    let versionOf (container: ModelContainer) : uint16 =
        if container.Entries |> List.exists (fun (name, _) -> isBlocksEntry name) then 3us
        elif container.Entries |> List.exists (fun (_, v) -> match v with ModelValue.Floats32 _ -> true | _ -> false) then 2us
        else 1us

    /// Longest name or kind accepted (bytes).
    let maxNameBytes = 1024

    let private crcTable =
        Array.init 256 (fun n ->
            let mutable c = uint32 n
            for _ in 1 .. 8 do
                c <- if c &&& 1u <> 0u then 0xEDB88320u ^^^ (c >>> 1) else c >>> 1
            c)

    /// CRC-32 (IEEE 802.3, the zip and PNG checksum) of bytes [0, length).
    let crc32 (bytes: byte[]) (length: int) : uint32 =
        let mutable c = 0xFFFFFFFFu
        for i in 0 .. length - 1 do
            c <- crcTable.[int ((c ^^^ uint32 bytes.[i]) &&& 0xFFu)] ^^^ (c >>> 8)
        c ^^^ 0xFFFFFFFFu

    let private utf8 = UTF8Encoding(false, true)

    /// The file's bytes.
    let write (container: ModelContainer) : byte[] =
        use ms = new IO.MemoryStream()
        let buf = Array.zeroCreate<byte> 8
        let i32 (v: int) = BinaryPrimitives.WriteInt32LittleEndian(Span buf, v); ms.Write(buf, 0, 4)
        let i64 (v: int64) = BinaryPrimitives.WriteInt64LittleEndian(Span buf, v); ms.Write(buf, 0, 8)
        let f64 (v: float) = BinaryPrimitives.WriteDoubleLittleEndian(Span buf, v); ms.Write(buf, 0, 8)
        let f32 (v: float32) = BinaryPrimitives.WriteSingleLittleEndian(Span buf, v); ms.Write(buf, 0, 4)
        let str (s: string) =
            if isNull s then raise (ArgumentException("A model file cannot hold a null text (a kind, an entry name or a text value is null).", "container"))
            let b = utf8.GetBytes(s)
            i32 b.Length
            ms.Write(b, 0, b.Length)
        ms.Write(magic, 0, magic.Length)
        BinaryPrimitives.WriteUInt16LittleEndian(Span buf, versionOf container)
        ms.Write(buf, 0, 2)
        str container.Kind
        i32 (List.length container.Entries)
        for (name, value) in container.Entries do
            str name
            match value with
            | ModelValue.Int v -> ms.WriteByte 1uy; i64 v
            | ModelValue.Float v -> ms.WriteByte 2uy; f64 v
            | ModelValue.Text s -> ms.WriteByte 3uy; str s
            | ModelValue.Floats (shape, values) ->
                ms.WriteByte 4uy
                ms.WriteByte(byte shape.Length)
                shape |> Array.iter i32
                values |> Array.iter f64
            | ModelValue.Texts ss -> ms.WriteByte 5uy; i32 ss.Length; ss |> Array.iter str
            | ModelValue.Ints vs -> ms.WriteByte 6uy; i32 vs.Length; vs |> Array.iter i64
            | ModelValue.Floats32 (shape, values) ->
                ms.WriteByte 7uy
                ms.WriteByte(byte shape.Length)
                shape |> Array.iter i32
                values |> Array.iter f32
        let body = ms.ToArray()
        let crc = crc32 body body.Length
        let result = Array.zeroCreate (body.Length + 4)
        Buffer.BlockCopy(body, 0, result, 0, body.Length)
        BinaryPrimitives.WriteUInt32LittleEndian(Span(result, body.Length, 4), crc)
        result

    let private bad (message: string) : 'a = raise (ModelFormatException message)

    /// A bounds-checked reader over bytes [0, limit).
    type private Reader(bytes: byte[], limit: int) =
        let mutable pos = 0
        member _.Position = pos
        member _.Remaining = limit - pos
        member this.Need(count: int64, what: string) =
            if count < 0L || count > int64 this.Remaining then
                bad (sprintf "At byte %d the file declares %s of %d bytes, but only %d bytes are left: the file is truncated or damaged." pos what count this.Remaining)
        member this.Byte(what) =
            this.Need(1L, what)
            pos <- pos + 1
            bytes.[pos - 1]
        member this.I32(what) =
            this.Need(4L, what)
            pos <- pos + 4
            BinaryPrimitives.ReadInt32LittleEndian(ReadOnlySpan(bytes, pos - 4, 4))
        member this.I64(what) =
            this.Need(8L, what)
            pos <- pos + 8
            BinaryPrimitives.ReadInt64LittleEndian(ReadOnlySpan(bytes, pos - 8, 8))
        member this.F64(what) =
            this.Need(8L, what)
            pos <- pos + 8
            BinaryPrimitives.ReadDoubleLittleEndian(ReadOnlySpan(bytes, pos - 8, 8))
        member this.F32(what) =
            this.Need(4L, what)
            pos <- pos + 4
            BinaryPrimitives.ReadSingleLittleEndian(ReadOnlySpan(bytes, pos - 4, 4))
        member this.Count(what: string, elementBytes: int) =
            let at = pos
            let n = this.I32(what)
            if n < 0 then bad (sprintf "At byte %d the file declares %d %s: a count cannot be negative." at n what)
            if int64 n * int64 elementBytes > int64 this.Remaining then
                bad (sprintf "At byte %d the file declares %d %s (at least %d bytes), but only %d bytes are left: the file is truncated or damaged." at n what (int64 n * int64 elementBytes) this.Remaining)
            n
        member this.Str(what: string, maxBytes: int) =
            let at = pos
            let n = this.Count(what + " length", 1)
            if n > maxBytes then bad (sprintf "At byte %d %s is %d bytes long; at most %d are allowed." at what n maxBytes)
            pos <- pos + n
            try utf8.GetString(bytes, pos - n, n)
            with :? DecoderFallbackException -> bad (sprintf "At byte %d %s is not valid UTF-8." at what)

    /// The start of the error for an ONNX model read as a model file (`onnxMessage`), which the
    /// C# facade keeps when it names its own members in the rest (the CLI's fnn export tells it by this).
    let onnxHeadline = "The file is an ONNX model, not a Functional.NN model file"

    /// The error for an ONNX model read as a model file (an export saved under another name).
    let onnxMessage =
        onnxHeadline + ": read it with the ONNX importer (Onnx.loadNetwork, or Onnx.loadPipeline for a pipeline export; CLI: name it .onnx, the name the command line reads ONNX files by)."

    /// True when the bytes are an ONNX model: they start with ModelProto's ir_version field (tag
    /// 0x08, which ONNX writers put first) and parse as a ModelProto with a graph and an opset.
    let private looksLikeOnnx (bytes: byte[]) =
        bytes.Length > 0 && bytes.[0] = 0x08uy
        && (try
                let m = Functional.NN.OnnxProto.ModelProto.Parser.ParseFrom bytes
                not (isNull m.Graph) && m.OpsetImport.Count > 0
            with
            | :? OutOfMemoryException -> reraise ()
            | _ -> false)

    /// Reads a file's bytes, checking everything: magic, version, checksum, every length
    /// against the bytes left, tags, shapes, finite numbers, unique names, no trailing bytes.
    /// Raises ModelFormatException (and nothing else) saying what is wrong.
    let read (bytes: byte[]) : ModelContainer =
        if isNull bytes then bad "There are no bytes to read."
        let headerBytes = magic.Length + 2
        if bytes.Length < headerBytes + 4 + 4 + 4 then
            bad (sprintf "The file is %s long, too short to be a Functional.NN model file." (Check.counted bytes.Length "byte" "bytes"))
        if not (ReadOnlySpan(bytes, 0, magic.Length).SequenceEqual(ReadOnlySpan magic)) then
            if looksLikeOnnx bytes then bad onnxMessage
            bad "The file does not start with FNNMODEL: it is not a Functional.NN model file."
        let version = BinaryPrimitives.ReadUInt16LittleEndian(ReadOnlySpan(bytes, magic.Length, 2))
        if version < 1us || version > formatVersion then
            bad (sprintf "The file has format version %d; this library reads versions 1 to %d only." version formatVersion)
        let limit = bytes.Length - 4
        let stored = BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(bytes, limit, 4))
        let actual = crc32 bytes limit
        if stored <> actual then
            bad (sprintf "The file's checksum is %08x but its contents give %08x: the file is damaged or truncated." stored actual)
        let r = Reader(bytes, limit)
        r.Need(int64 headerBytes, "the header")
        for _ in 1 .. headerBytes do r.Byte("the header") |> ignore
        let kind = r.Str("the model kind", maxNameBytes)
        // The smallest entry: a name length (4), a tag (1) and the smallest payload (4).
        let count = r.Count("entries", 9)
        let seen = Collections.Generic.HashSet<string>()
        let entries =
            [ for _ in 1 .. count do
                let at = r.Position
                let name = r.Str("an entry name", maxNameBytes)
                if not (seen.Add name) then bad (sprintf "At byte %d the entry '%s' appears a second time." at name)
                let tagAt = r.Position
                let value =
                    match r.Byte("a value tag") with
                    | 1uy -> ModelValue.Int (r.I64(name))
                    | 2uy ->
                        let v = r.F64(name)
                        if not (Double.IsFinite v) then bad (sprintf "The entry '%s' holds %s; numbers must be finite." name (string v))
                        ModelValue.Float v
                    | 3uy -> ModelValue.Text (r.Str(sprintf "the text of '%s'" name, Int32.MaxValue))
                    | 4uy | 7uy as tag ->
                        if tag = 7uy && version < 2us then
                            bad (sprintf "At byte %d the entry '%s' has value tag 7 (float32 array), which format version %d does not know." tagAt name version)
                        let width = if tag = 4uy then 8 else 4
                        let rank = int (r.Byte("a rank"))
                        if rank < 1 || rank > 4 then bad (sprintf "The entry '%s' has rank %d; ranks 1 to 4 are allowed." name rank)
                        let shape = Array.init rank (fun _ -> r.I32(sprintf "a dimension of '%s'" name))
                        if shape |> Array.exists (fun d -> d < 0) then
                            bad (sprintf "The entry '%s' has shape [%s]; dimensions cannot be negative." name (String.Join(", ", shape)))
                        // The product of the dimensions, checked: it must not exceed the values
                        // the bytes left can hold (at most 2^31 / width), tested before each
                        // multiplication so that it never overflows (2^16 four times is 2^64).
                        let fits = int64 (r.Remaining / width)
                        let total =
                            if shape |> Array.exists ((=) 0) then 0L
                            else
                                shape |> Array.fold (fun acc d ->
                                    if acc > fits / int64 d then
                                        bad (sprintf "The entry '%s' has shape [%s], more floats than the %d bytes left can hold: the file is truncated or damaged." name (String.Join(", ", shape)) r.Remaining)
                                    acc * int64 d) 1L
                        if total > fits then
                            bad (sprintf "The entry '%s' has shape [%s], %d floats (%d bytes), but only %d bytes are left: the file is truncated or damaged." name (String.Join(", ", shape)) total (total * int64 width) r.Remaining)
                        if tag = 4uy then
                            let values = Array.init (int total) (fun _ -> r.F64(name))
                            values |> Array.iteri (fun k v ->
                                if not (Double.IsFinite v) then bad (sprintf "The entry '%s' holds %s at flat index %d; numbers must be finite." name (string v) k))
                            ModelValue.Floats (shape, values)
                        else
                            let values = Array.init (int total) (fun _ -> r.F32(name))
                            values |> Array.iteri (fun k v ->
                                if not (Single.IsFinite v) then bad (sprintf "The entry '%s' holds %s at flat index %d; numbers must be finite." name (string v) k))
                            ModelValue.Floats32 (shape, values)
                    | 5uy ->
                        let n = r.Count(sprintf "texts in '%s'" name, 4)
                        ModelValue.Texts (Array.init n (fun _ -> r.Str(sprintf "a text of '%s'" name, Int32.MaxValue)))
                    | 6uy ->
                        let n = r.Count(sprintf "integers in '%s'" name, 8)
                        ModelValue.Ints (Array.init n (fun _ -> r.I64(name)))
                    | t -> bad (sprintf "At byte %d the entry '%s' has value tag %d, which this format does not know." tagAt name t)
                yield name, value ]
        if r.Remaining <> 0 then
            bad (sprintf "The file has %d bytes after its last entry that belong to nothing." r.Remaining)
        let container = { Kind = kind; Entries = entries }
        if version <> versionOf container then
            bad (sprintf "The file has format version %d, but its entries are those of a version %d file (version 3: a network of blocks; 2: float32 arrays; 1: neither), so its version field is damaged." version (versionOf container))
        container

    /// The name of a value's kind, for messages.
    let kindOf (value: ModelValue) =
        match value with
        | ModelValue.Int _ -> "an integer"
        | ModelValue.Float _ -> "a float"
        | ModelValue.Text _ -> "a text"
        | ModelValue.Floats _ -> "a float array"
        | ModelValue.Texts _ -> "a list of texts"
        | ModelValue.Ints _ -> "a list of integers"
        | ModelValue.Floats32 _ -> "a float32 array"

/// Typed look-ups in a container's entries, each raising ModelFormatException that names the
/// entry when it is missing or of another kind.
type ModelEntries(container: ModelContainer) =
    let map = dict container.Entries
    // The entries a look-up has returned (see WasRead).
    let read = System.Collections.Generic.HashSet<string>()
    let bad (message: string) : 'a = raise (ModelFormatException message)
    let get name =
        match map.TryGetValue name with
        | true, v ->
            read.Add name |> ignore
            v
        | _ -> bad (sprintf "The %s model has no entry '%s'." container.Kind name)
    let wrong name expected (v: ModelValue) : 'a =
        bad (sprintf "The entry '%s' is %s; %s was expected." name (ModelContainer.kindOf v) expected)
    /// The container.
    member _.Container = container
    /// True when the entry is there.
    member _.Has(name) = map.ContainsKey name
    /// True when a typed look-up has returned the entry (`Has` alone does not count), so that a
    /// reader can refuse entries in a part of the model it read that it did not read.
    member _.WasRead(name: string) = read.Contains name
    /// An integer entry.
    member _.Int(name) = match get name with ModelValue.Int v -> v | v -> wrong name "an integer" v
    /// An integer entry that must lie in [lo, hi].
    member this.IntIn(name, lo: int64, hi: int64) =
        let v = this.Int name
        if v < lo || v > hi then bad (sprintf "The entry '%s' is %d; it must lie in %d .. %d." name v lo hi)
        int v
    /// A float entry.
    member _.Float(name) = match get name with ModelValue.Float v -> v | v -> wrong name "a float" v
    /// A text entry.
    member _.Text(name) = match get name with ModelValue.Text v -> v | v -> wrong name "a text" v
    /// A list of texts.
    member _.Texts(name) = match get name with ModelValue.Texts v -> v | v -> wrong name "a list of texts" v
    /// A list of integers.
    member _.Ints(name) = match get name with ModelValue.Ints v -> v | v -> wrong name "a list of integers" v
    /// A rank-1 float array of the given length (any length when length < 0).
    member _.Vector(name, length: int) =
        match get name with
        | ModelValue.Floats ([| n |], values) when length < 0 || n = length -> values
        | ModelValue.Floats (shape, _) ->
            bad (sprintf "The entry '%s' has shape [%s]; a vector of length %d was expected." name (String.Join(", ", shape)) length)
        | v -> wrong name "a float array" v
    /// A rank-1 float array of the given length (any length when length < 0) stored in the
    /// precision's width: a Floats value for Float64, a Floats32 value (widened exactly) for Float32.
    member this.VectorIn(name, length: int, precision: Precision) =
        match precision, get name with
        | Precision.Float64, _ -> this.Vector(name, length)
        | Precision.Float32, ModelValue.Floats32 ([| n |], values) when length < 0 || n = length -> Array.map float values
        | Precision.Float32, ModelValue.Floats32 (shape, _) ->
            bad (sprintf "The entry '%s' has shape [%s]; a vector of length %d was expected." name (String.Join(", ", shape)) length)
        | Precision.Float32, v -> wrong name "a float32 array (the model's precision is float32)" v
    /// A rank-2 float array stored in the precision's width, as (rows, cols, values row-major).
    member this.MatrixIn(name, precision: Precision) =
        match precision, get name with
        | Precision.Float64, _ -> this.Matrix(name)
        | Precision.Float32, ModelValue.Floats32 ([| r; c |], values) -> r, c, Array.map float values
        | Precision.Float32, ModelValue.Floats32 (shape, _) ->
            bad (sprintf "The entry '%s' has shape [%s]; a matrix (rank 2) was expected." name (String.Join(", ", shape)))
        | Precision.Float32, v -> wrong name "a float32 array (the model's precision is float32)" v
    /// A rank-2 float array, as (rows, cols, values row-major).
    member _.Matrix(name) =
        match get name with
        | ModelValue.Floats ([| r; c |], values) -> r, c, values
        | ModelValue.Floats (shape, _) ->
            bad (sprintf "The entry '%s' has shape [%s]; a matrix (rank 2) was expected." name (String.Join(", ", shape)))
        | v -> wrong name "a float array" v
