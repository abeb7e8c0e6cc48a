namespace Functional.NN

open System
open System.Globalization
open System.Reflection
open System.Text.Json
open Google.Protobuf
open MathNet.Numerics.LinearAlgebra
open Functional.NN.OnnxProto
open Functional.NN.OnnxCommon

/// The ONNX writer: a table of per-layer translations (one entry per layer kind and activation)
/// and the graphs of networks and pipelines built from it. The matching readers are in
/// OnnxImport; a new block adds one entry to each.
module internal OnnxExport =

    /// What a translation adds to the graph: nodes, initialisers and the model-local functions
    /// it calls. Local to one export (the caller never sees it).
    type Graph =
        { Nodes: ResizeArray<NodeProto>
          Initializers: ResizeArray<TensorProto>
          Functions: ResizeArray<FunctionProto>
          /// The model's opset, which the library's functions import too.
          Opset: int }
        member g.Add(n: NodeProto) = g.Nodes.Add n
        member g.Init(t: TensorProto) = g.Initializers.Add t
        member g.Use(f: FunctionProto) = if not (g.Functions |> Seq.exists (fun h -> h.Name = f.Name)) then g.Functions.Add f

    let newGraph (opset: int) = { Nodes = ResizeArray(); Initializers = ResizeArray(); Functions = ResizeArray(); Opset = opset }

    let private r (v: float) = v.ToString("R", CultureInfo.InvariantCulture)

    /// The activation table: the nodes computing s(input) into output, by activation and element
    /// type. Identity is an Identity node; ReLU, Tanh, Sigmoid are their operators; LeakyReLU is
    /// LeakyRelu(alpha) in float32 (its doc_string keeps the exact float64 slope, which the
    /// importer prefers when it rounds to alpha) and the function LeakyRelu_double with a
    /// one-element DOUBLE slope in float64 (the attribute alpha is only a float32); Softplus is the Softplus operator in float32
    /// and the function Softplus_double in float64; Step is the function Step_float/Step_double.
    let activation (g: Graph) (name: string) (elemType: int) (act: Activation) (input: string) (output: string) =
        match act with
        | Activation.Identity -> g.Add(node "Identity" (name + ".identity") [ input ] [ output ] [])
        | Activation.ReLU -> g.Add(node "Relu" (name + ".relu") [ input ] [ output ] [])
        | Activation.Tanh -> g.Add(node "Tanh" (name + ".tanh") [ input ] [ output ] [])
        | Activation.Sigmoid -> g.Add(node "Sigmoid" (name + ".sigmoid") [ input ] [ output ] [])
        | Activation.LeakyReLU slope when elemType = floatType ->
            let n = node "LeakyRelu" (name + ".leaky_relu") [ input ] [ output ] [ attrFloat "alpha" (float32 slope) ]
            n.DocString <- Activation.name act
            g.Add n
        | Activation.LeakyReLU slope ->
            g.Init(tensor (name + ".slope") elemType [ 1 ] [| slope |])
            g.Use(leakyReluFunction g.Opset)
            g.Add(nodeIn domain leakyReluName (name + ".leaky_relu") [ input; name + ".slope" ] [ output ] [])
        | Activation.Softplus when elemType = floatType -> g.Add(node "Softplus" (name + ".softplus") [ input ] [ output ] [])
        | Activation.Softplus ->
            g.Use(softplusFunction g.Opset)
            g.Add(nodeIn domain softplusName (name + ".softplus") [ input ] [ output ] [])
        | Activation.Step ->
            g.Use(stepFunction g.Opset elemType)
            g.Add(nodeIn domain (stepName elemType) (name + ".step") [ input ] [ output ] [])

    /// A dense layer: Gemm(input, W, b) with W stored d_in x d_out as the library holds it
    /// (transB = 0), then its activation. Initialisers "<name>.weight" and "<name>.bias".
    let dense (g: Graph) (name: string) (elemType: int) (layer: Dense) (input: string) (output: string) =
        let w = layer.Weights
        g.Init(tensor (name + ".weight") elemType [ w.RowCount; w.ColumnCount ] (Array.init (w.RowCount * w.ColumnCount) (fun k -> w.[k / w.ColumnCount, k % w.ColumnCount])))
        let inputs =
            match layer.Bias with
            | Some b ->
                g.Init(tensor (name + ".bias") elemType [ b.Count ] (b.ToArray()))
                [ input; name + ".weight"; name + ".bias" ]
            | None -> [ input; name + ".weight" ]
        let z = name + ".z"
        g.Add(node "Gemm" (name + ".gemm") inputs [ z ] [])
        activation g name elemType layer.Activation z output

    /// The exact decimal of a float64 (shortest round-trip form), kept in a node's doc_string where
    /// an attribute holds only a float32.
    let private exact (v: float) = v.ToString("R", CultureInfo.InvariantCulture)

    /// Batch normalisation at inference: in float32 the operator BatchNormalization (epsilon and
    /// ONNX's momentum 1 - m as float32 attributes; the node's doc_string keeps the exact
    /// "epsilon=<e> momentum=<m>"), in float64 the function BatchNorm_double with a DOUBLE eps.
    /// Initialisers "<name>.scale", ".bias", ".mean", ".var" (and ".eps").
    let batchNorm (g: Graph) (name: string) (elemType: int) (bn: BatchNorm) (input: string) (output: string) =
        for suffix, v in [ "scale", bn.Scale; "bias", bn.Shift; "mean", bn.RunningMean; "var", bn.RunningVariance ] do
            g.Init(tensor (name + "." + suffix) elemType [ bn.Width ] (v.ToArray()))
        let inputs = [ input; name + ".scale"; name + ".bias"; name + ".mean"; name + ".var" ]
        let doc = sprintf "epsilon=%s momentum=%s" (exact bn.Epsilon) (exact bn.Momentum)
        if elemType = floatType then
            let n = node "BatchNormalization" (name + ".batch_norm") inputs [ output ] [ attrFloat "epsilon" (float32 bn.Epsilon); attrFloat "momentum" (float32 (1.0 - bn.Momentum)) ]
            n.DocString <- doc
            g.Add n
        else
            g.Init(tensor (name + ".eps") elemType [] [| bn.Epsilon |])
            g.Use(batchNormFunction g.Opset)
            let n = nodeIn domain batchNormName (name + ".batch_norm") (inputs @ [ name + ".eps" ]) [ output ] []
            n.DocString <- doc
            g.Add n

    /// Layer normalisation over the features: in float32 the operator LayerNormalization (opset 17;
    /// axis -1, epsilon a float32 attribute, the exact "epsilon=<e>" in doc_string), in float64 the
    /// function LayerNorm_double with a DOUBLE eps (any opset). Initialisers "<name>.scale", ".bias" (and ".eps").
    let layerNorm (g: Graph) (name: string) (elemType: int) (ln: LayerNorm) (input: string) (output: string) =
        g.Init(tensor (name + ".scale") elemType [ ln.Width ] (ln.Scale.ToArray()))
        g.Init(tensor (name + ".bias") elemType [ ln.Width ] (ln.Shift.ToArray()))
        let inputs = [ input; name + ".scale"; name + ".bias" ]
        if elemType = floatType then
            if g.Opset < 17 then
                Check.fail "opset" (sprintf "opset is %d, but the network has a float32 layer normalisation (%s), whose ONNX operator LayerNormalization needs opset 17." g.Opset name)
            let n = node "LayerNormalization" (name + ".layer_norm") inputs [ output ] [ attrInt "axis" -1L; attrFloat "epsilon" (float32 ln.Epsilon) ]
            n.DocString <- sprintf "epsilon=%s" (exact ln.Epsilon)
            g.Add n
        else
            g.Init(tensor (name + ".eps") elemType [] [| ln.Epsilon |])
            g.Use(layerNormFunction g.Opset)
            g.Add(nodeIn domain layerNormName (name + ".layer_norm") (inputs @ [ name + ".eps" ]) [ output ] [])

    /// The blocks of a network, from `input` to `output`; block i named "<prefix>layer<i>" (a
    /// residual's inner block j "<prefix>layer<i>.layer<j>"): a dense layer as `dense`; an activation
    /// on its own by the activation table; dropout as Dropout(x, ratio) at inference (the identity;
    /// the rate a DOUBLE scalar "<name>.ratio", so it comes back); the normalisations as above; a
    /// residual as its inner blocks and Add(x, f(x)). A custom block has no ONNX translation: an
    /// ArgumentException (ParamName `param`: "network", or "pipeline" for a pipeline's network)
    /// naming it and its position.
    let rec blocks (param: string) (g: Graph) (elemType: int) (prefix: string) (position: string) (bs: Block list) (input: string) (output: string) =
        let last = List.length bs - 1
        bs
        |> List.iteri (fun i block ->
            let name = sprintf "%slayer%d" prefix i
            let here = if position = "" then string i else sprintf "%s.%d" position i
            let inp = if i = 0 then input else sprintf "%slayer%d.a" prefix (i - 1)
            let out = if i = last then output else name + ".a"
            match block with
            | Block.Dense layer -> dense g name elemType layer inp out
            | Block.Activation act -> activation g name elemType act inp out
            | Block.Dropout rate ->
                g.Init(tensor (name + ".ratio") doubleType [] [| rate |])
                g.Add(node "Dropout" (name + ".dropout") [ inp; name + ".ratio" ] [ out ] [])
            | Block.BatchNorm bn -> batchNorm g name elemType bn inp out
            | Block.LayerNorm ln -> layerNorm g name elemType ln inp out
            | Block.Residual inner ->
                blocks param g elemType (name + ".") here inner inp (name + ".f")
                g.Add(node "Add" (name + ".residual") [ inp; name + ".f" ] [ out ] [])
            | Block.Custom c ->
                Check.fail param (sprintf "Block %s is the custom block '%s', which ONNX export cannot write (a custom block's computation is code, not ONNX operators); replace it with built-in blocks to export." here c.Name))

    /// Raises ArgumentException (ParamName `name`) before anything is written when a block holds
    /// a value ONNX cannot carry faithfully: a parameter or running statistic that is NaN or
    /// infinite, or a normalisation epsilon or leaky-ReLU slope that is (the file could not be
    /// read back); in a Float32 network, whose values are written as float32, any of these beyond
    /// float32's range (about 3.4028e38, where float32 has only infinity), and a normalisation
    /// epsilon below float32's smallest normal value (about 1.18e-38), which float32 stores as 0
    /// or a subnormal that runtimes flush to 0, so that ONNX Runtime gives NaN for a constant row
    /// where the library gives a number (the export refuses it rather than change the result).
    /// The message names the block and the element: "Block 0's weights[0, 1] is NaN" (row and
    /// column of the weights, d_in x d_out), "Block 1.0's bias[2]", "running variance[3]".
    let checkWritable (name: string) (net: Network) =
        let isF32 = net.Precision = Precision.Float32
        let r (v: float) = v.ToString("R", CultureInfo.InvariantCulture)
        let beyondFloat32 (v: float) = isF32 && Double.IsFinite v && not (Single.IsFinite (float32 v))
        // `values` as `at` names its element k ("weights[0, 1]", "bias[2]").
        let check (here: string) (at: int -> string) (values: float[]) =
            match Array.tryFindIndex (fun x -> not (Double.IsFinite x)) values with
            | Some k -> Check.fail name (sprintf "Block %s's %s is %s: a %s with a non-finite value cannot be exported (the file could not be read back). Train it again (or from its last good parameters)." here (at k) (string values.[k]) name)
            | None ->
                match Array.tryFindIndex beyondFloat32 values with
                | Some k -> Check.fail name (sprintf "Block %s's %s is %s, beyond float32's range (about 3.4028e38): a Float32 network's values are written as float32, where it would be infinite (the file could not be read back). Use a Float64 network." here (at k) (r values.[k]))
                | None -> ()
        let nonFinite (what: string) (here: string) (v: Vector<float>) = check here (sprintf "%s[%d]" what) (v.ToArray())
        // The weights in column-major order (MathNet's storage): element k is row k % rows, column k / rows.
        let weights (here: string) (w: Matrix<float>) =
            check here (fun k -> sprintf "weights[%d, %d]" (k % w.RowCount) (k / w.RowCount)) (w.ToColumnMajorArray())
        let epsilon (here: string) (e: float) =
            if not (Double.IsFinite e) then
                Check.fail name (sprintf "Block %s is a normalisation with epsilon %s: a non-finite epsilon cannot be exported (the file could not be read back)." here (r e))
            if beyondFloat32 e then
                Check.fail name (sprintf "Block %s is a normalisation with epsilon %s, beyond float32's range (about 3.4028e38): in a float32 ONNX model it would be infinite, and the file could not be read back. Use a smaller epsilon (the default is 1e-5) or a Float64 network." here (r e))
            match (if isF32 then float32EpsilonProblem e else None) with
            | Some problem -> Check.fail name (sprintf "Block %s is a normalisation with %s. Use an epsilon of at least 1.1755e-38 (the default is 1e-5) or a Float64 network." here problem)
            | None -> ()
        let slope (here: string) (act: Activation) =
            match act with
            | Activation.LeakyReLU a when not (Double.IsFinite a) ->
                Check.fail name (sprintf "Block %s's leaky ReLU slope is %s: a non-finite slope cannot be exported (the file could not be read back)." here (r a))
            | Activation.LeakyReLU a when beyondFloat32 a ->
                Check.fail name (sprintf "Block %s's leaky ReLU slope %s is beyond float32's range (about 3.4028e38): a Float32 network's LeakyRelu alpha is a float32, where it would be infinite (the file could not be read back). Use a smaller slope or a Float64 network." here (r a))
            | _ -> ()
        let rec walk (position: string) (bs: Block list) =
            bs |> List.iteri (fun i b ->
                let here = if position = "" then string i else sprintf "%s.%d" position i
                match b with
                | Block.Dense d ->
                    weights here d.Weights
                    d.Bias |> Option.iter (nonFinite "bias" here)
                    slope here d.Activation
                | Block.Activation act -> slope here act
                | Block.BatchNorm bn ->
                    nonFinite "scale" here bn.Scale
                    nonFinite "shift" here bn.Shift
                    nonFinite "running mean" here bn.RunningMean
                    nonFinite "running variance" here bn.RunningVariance
                    epsilon here bn.Epsilon
                | Block.LayerNorm ln ->
                    nonFinite "scale" here ln.Scale
                    nonFinite "shift" here ln.Shift
                    epsilon here ln.Epsilon
                | Block.Residual inner -> walk here inner
                | _ -> ())
        walk "" net.Blocks

    /// Every block of a network, from `input` to `output`; blocks named "<prefix>layer<i>" (errors
    /// name the parameter `param`).
    let network (param: string) (g: Graph) (prefix: string) (net: Network) (input: string) (output: string) =
        blocks param g (elementType net.Precision) prefix "" net.Blocks input output

    let valueInfo (name: string) (elemType: int) (dims: Choice<string, int> list) (doc: string) =
        let shape = TensorShapeProto()
        for d in dims do
            match d with
            | Choice1Of2 p -> shape.Dim.Add(TensorShapeProto.Types.Dimension(DimParam = p))
            | Choice2Of2 v -> shape.Dim.Add(TensorShapeProto.Types.Dimension(DimValue = int64 v))
        let t = TypeProto.Types.Tensor(ElemType = elemType, Shape = shape)
        ValueInfoProto(Name = name, Type = TypeProto(TensorType = t), DocString = doc)

    let batch = Choice1Of2 "N"

    let checkOpset (opset: int) =
        if opset < minOpset || opset > maxOpset then
            Check.fail "opset" (sprintf "opset is %d; the exporter writes opsets %d to %d (default %d)." opset minOpset maxOpset defaultOpset)

    /// The largest ONNX model the exporter writes: the largest file the loaders read
    /// (ModelFile.maxFileBytes, 1 GiB: Onnx.loadNetwork, Onnx.loadPipeline and fnn import refuse
    /// larger files), so that every file written can be read back.
    let maxModelBytes = ModelFile.maxFileBytes

    /// Raises ArgumentException (ParamName `param`) when the `what`'s ONNX file would be `size`
    /// bytes (`atLeast`: at least that many) and that is more than `cap`.
    let checkSize (param: string) (what: string) (cap: int64) (atLeast: bool) (size: int64) =
        if size > cap then
            Check.fail param (sprintf "The %s cannot be exported: its ONNX file would be %s%d bytes, more than the %d bytes%s that an ONNX file may have to be imported from a file (larger files are refused), so it could not be read back; nothing is written. A Float64 network's values take 8 bytes each in the file, a Float32 network's 4." what (if atLeast then "at least " else "") size cap (if cap = ModelFile.maxFileBytes then " (1 GiB)" else ""))

    /// The bytes a network's weights, biases, scales, shifts and running statistics take in its
    /// initialisers (4 per value in a Float32 network, 8 in a Float64 one), counted in int64
    /// from the blocks: a lower bound of its ONNX file's size, known before anything is built.
    let valueBytes (net: Network) : int64 =
        let len (v: Vector<float>) = int64 v.Count
        let rec count (blocks: Block list) =
            blocks |> List.sumBy (fun b ->
                match b with
                | Block.Dense d -> int64 d.Weights.RowCount * int64 d.Weights.ColumnCount + (d.Bias |> Option.map len |> Option.defaultValue 0L)
                | Block.BatchNorm bn -> len bn.Scale + len bn.Shift + len bn.RunningMean + len bn.RunningVariance
                | Block.LayerNorm ln -> len ln.Scale + len ln.Shift
                | Block.Residual inner -> count inner
                | _ -> 0L)
        count net.Blocks * (if net.Precision = Precision.Float32 then 4L else 8L)

    /// The bytes of a varint (a length prefix).
    let private varintBytes (v: int64) =
        let mutable n = 1L
        let mutable x = uint64 v
        while x >= 128UL do
            x <- x >>> 7
            n <- n + 1L
        n

    /// The bytes of the elements of a repeated message field whose number is below 16 (a one-byte
    /// tag), each element's own size an int (each is far below 2 GiB) summed as int64.
    let private repeatedBytes (items: seq<'M> when 'M :> IMessage) : int64 =
        items |> Seq.sumBy (fun m -> let n = int64 (m.CalculateSize()) in 1L + varintBytes n + n)

    /// The producer_version written: the library's version, the <Version> of Directory.Build.props
    /// as the assembly's informational version gives it, without its build metadata ("0.1.0" of
    /// "0.1.0+<commit>").
    let producerVersion =
        let assembly = typeof<Network>.Assembly
        match assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>() with
        | null -> assembly.GetName().Version.ToString 3
        | v -> v.InformationalVersion.Split('+').[0]

    /// The model around a graph: IR version 8, the default domain at `opset` (and the library's
    /// domain at version 1 when a function is used), producer ("Functional.NN" at
    /// `producerVersion`) and metadata. Its size is computed
    /// exactly in int64 first (protobuf's own sizes are ints, which wrap past 2 GiB), and a
    /// model larger than `cap` raises ArgumentException (ParamName `param`) before it is
    /// serialised.
    let model (param: string) (what: string) (cap: int64) (opset: int) (g: Graph) (graphName: string) (doc: string) (inputs: ValueInfoProto list) (outputs: ValueInfoProto list) (metadata: (string * string) list) : byte[] =
        let graph = GraphProto(Name = graphName, DocString = doc)
        graph.Input.Add inputs
        graph.Output.Add outputs
        let m = ModelProto(IrVersion = irVersion, ProducerName = "Functional.NN", ProducerVersion = producerVersion)
        m.OpsetImport.Add(OperatorSetIdProto(Domain = "", Version = int64 opset))
        if g.Functions.Count > 0 then
            m.OpsetImport.Add(OperatorSetIdProto(Domain = domain, Version = 1L))
            m.Functions.Add g.Functions
        for (k, v) in metadata do m.MetadataProps.Add(StringStringEntryProto(Key = k, Value = v))
        // GraphProto's node (1) and initializer (5) and ModelProto's graph (7) have one-byte tags.
        let graphBytes = int64 (graph.CalculateSize()) + repeatedBytes g.Nodes + repeatedBytes g.Initializers
        let total = int64 (m.CalculateSize()) + 1L + varintBytes graphBytes + graphBytes
        checkSize param what cap false total
        graph.Node.Add g.Nodes
        graph.Initializer.Add g.Initializers
        m.Graph <- graph
        m.ToByteArray()

    /// A network's blocks in the library's words, for a graph's doc_string: "dense 3 -> 4 (tanh),
    /// batch normalisation 4, dropout 0.1, residual x + f(x) with f = (dense 4 -> 4 (relu), layer
    /// normalisation 4), dense 4 -> 2 (identity, no bias)".
    let describeBlocks (blocks: Block list) : string =
        let rec one (b: Block) =
            match b with
            | Block.Dense d -> sprintf "dense %d -> %d (%s%s)" d.InputSize d.OutputSize (Activation.name d.Activation) (if d.Bias.IsNone then ", no bias" else "")
            | Block.Activation a -> sprintf "activation %s" (Activation.name a)
            | Block.Dropout rate -> sprintf "dropout %s" (r rate)
            | Block.BatchNorm bn -> sprintf "batch normalisation %d" bn.Width
            | Block.LayerNorm ln -> sprintf "layer normalisation %d" ln.Width
            | Block.Residual inner -> sprintf "residual x + f(x) with f = (%s)" (many inner)
            | Block.Custom c -> sprintf "custom '%s'" c.Name
        and many (bs: Block list) = String.Join(", ", bs |> List.map one)
        many blocks

    /// A network's graph doc_string: its precision, widths and blocks (`describeBlocks`), and
    /// where block i's nodes are.
    let networkDoc (net: Network) =
        let count (n: int) (noun: string) = sprintf "%d %s%s" n noun (if n = 1 then "" else "s")
        sprintf "A Functional.NN network (%s, %s, %s) of %s: %s. Block i's nodes and initialisers are named layer<i>." (Precision.name net.Precision) (count net.InputSize "input") (count net.OutputSize "output") (count net.Blocks.Length "block") (describeBlocks net.Blocks)

    /// A network as an ONNX model: input "input" (N x d_in), output "output" (N x d_out), in the
    /// network's element type (FLOAT for Float32, DOUBLE for Float64); the graph's doc_string
    /// describes its blocks (`networkDoc`).
    let networkModelCapped (cap: int64) (opset: int) (net: Network) : byte[] =
        Check.notNull "network" (box net)
        if List.isEmpty net.Blocks then Check.fail "network" "The network has no blocks; build it with Network.create, Network.ofBlocks or Network.init."
        checkOpset opset
        // Before anything is built (or a tensor's byte count could pass an int's range).
        checkSize "network" "network" cap true (valueBytes net)
        checkWritable "network" net
        let g = newGraph opset
        let t = elementType net.Precision
        network "network" g "" net "input" "output"
        model "network" "network" cap opset g "functional_nn_network" (networkDoc net)
            [ valueInfo "input" t [ batch; Choice2Of2 net.InputSize ] "a batch of inputs, one sample per row" ]
            [ valueInfo "output" t [ batch; Choice2Of2 net.OutputSize ] "the network's outputs (logits for a classifier)" ]
            [ "functional_nn.kind", "network"; "functional_nn.precision", Precision.name net.Precision ]

    /// `networkModelCapped` at the loaders' cap, `maxModelBytes`.
    let networkModel (opset: int) (net: Network) : byte[] = networkModelCapped maxModelBytes opset net

    let private json (xs: string[]) = JsonSerializer.Serialize xs

    /// The preprocessor's stages, from the raw features (a text column's cells are category
    /// indices, -1 for an unseen category, NaN for a missing value, as Pipeline.outputs reads
    /// them): imputation `Where(IsNaN(x), fill, x)` when the policy fills; then, when a column
    /// is text, each run of numeric columns gathered as it is and each text column one-hot as
    /// `Cast(Equal(column, [0, 1, ..., k-1]))` (an unseen -1 gives all zeros), concatenated in
    /// column order, as Preprocessor.transform. A text code the library refuses (a missing
    /// value the policy does not fill, an infinity, a code that is not a whole number in range, -1
    /// under UnknownCategory.Error) gives all zeros here, and a refused numeric cell (an infinity,
    /// an unfilled NaN) passes on as it is; the pipeline's outputs are made NaN for such a row
    /// (`refusedRows`, used by pipelineModelCapped).
    let private preprocessorStages (g: Graph) (pre: Preprocessor) (input: string) : string =
        let mutable x = input
        if pre.Fill.Length > 0 then
            g.Init(tensor "impute.fill" doubleType [ pre.Width ] pre.Fill)
            g.Add(node "IsNaN" "impute.missing" [ x ] [ "impute.missing" ] [])
            g.Add(node "Where" "imputed" [ "impute.missing"; "impute.fill"; x ] [ "imputed" ] [])
            x <- "imputed"
        if pre.Categories |> Array.exists (fun c -> c.Length > 0) then
            let parts = ResizeArray<string>()
            let mutable j = 0
            while j < pre.Width do
                let k = pre.Categories.[j].Length
                if k = 0 then
                    let start = j
                    while j < pre.Width && pre.Categories.[j].Length = 0 do j <- j + 1
                    let name = sprintf "encode.numeric%d" start
                    g.Init(int64Tensor (name + ".columns") [ j - start ] (Array.init (j - start) (fun i -> int64 (start + i))))
                    g.Add(node "Gather" name [ x; name + ".columns" ] [ name ] [ attrInt "axis" 1L ])
                    parts.Add name
                else
                    let name = sprintf "encode.text%d" j
                    g.Init(int64Tensor (name + ".column") [ 1 ] [| int64 j |])
                    g.Init(tensor (name + ".categories") doubleType [ k ] (Array.init k float))
                    g.Add(node "Gather" (name + ".gather") [ x; name + ".column" ] [ name + ".index" ] [ attrInt "axis" 1L ])
                    g.Add(node "Equal" (name + ".equal") [ name + ".index"; name + ".categories" ] [ name + ".hot" ] [])
                    g.Add(node "Cast" name [ name + ".hot" ] [ name ] [ attrInt "to" (int64 doubleType) ])
                    parts.Add name
                    j <- j + 1
            g.Add(node "Concat" "encoded" (List.ofSeq parts) [ "encoded" ] [ attrInt "axis" 1L ])
            x <- "encoded"
        x

    /// Whether any of each row's BOOL checks (N x m) holds, as `result` (N x 1, BOOL):
    /// Cast(ReduceMax(Cast(checks, DOUBLE), axis 1), BOOL), through the values `asDouble` and `reduced`.
    let private anyInRow (g: Graph) (checks: string) (asDouble: string) (reduced: string) (result: string) =
        g.Add(node "Cast" asDouble [ checks ] [ asDouble ] [ attrInt "to" (int64 doubleType) ])
        g.Add(node "ReduceMax" reduced [ asDouble ] [ reduced ] [ attrInts "axes" [ 1L ]; attrInt "keepdims" 1L ])
        g.Add(node "Cast" result [ reduced ] [ result ] [ attrInt "to" (int64 boolType) ])

    /// The rows the library refuses (Pipeline.outputs raises for each), as "refused" (N x 1, BOOL):
    /// a row is refused when a scaled network input is NaN or beyond the network's range
    /// (Or(IsNaN(scaled), Greater(Abs(scaled), limit)), limit float32's largest value for a
    /// Float32 network, as the library's check, else float64's: this covers a numeric cell that
    /// is infinite, missing (NaN) under a policy that fills nothing, or scaled out of range), or
    /// when a text column's code, after imputation, is not a whole number from the lowest code
    /// the pipeline accepts (-1, an unseen category, under UnknownCategory.Zeros; 0 under Error)
    /// to the column's number of categories minus 1 (Not(And(Equal(Floor(code), code),
    /// And(Not(Less(code, low)), Less(code, count))))): NaN (unfilled), an infinity, 1.5, 7 for 3
    /// categories. The checks are concatenated and reduced over each row as
    /// Cast(ReduceMax(Cast(checks, DOUBLE), axis 1), BOOL). Initialisers: "refused.limit",
    /// "refused.codes.columns", "refused.codes.low", "refused.codes.count" (the last three when a
    /// column is text), "refused.nan" (a DOUBLE NaN) and, for a classifier, "refused.index" (an
    /// INT64 -1): the values the outputs take on refused rows. `imputed` is the features after
    /// imputation (the features themselves when the policy fills nothing); `scaled` the network's
    /// input in float64. (pipelineModelCapped adds the rows whose network output is not finite.)
    let private refusedRows (g: Graph) (p: Pipeline) (imputed: string) (scaled: string) : string =
        let pre = p.Preprocessor
        let limit = if p.Network.Precision = Precision.Float32 then float Single.MaxValue else Double.MaxValue
        g.Init(tensor "refused.limit" doubleType [] [| limit |])
        g.Add(node "IsNaN" "refused.scaled_nan" [ scaled ] [ "refused.scaled_nan" ] [])
        g.Add(node "Abs" "refused.scaled_abs" [ scaled ] [ "refused.scaled_abs" ] [])
        g.Add(node "Greater" "refused.scaled_over" [ "refused.scaled_abs"; "refused.limit" ] [ "refused.scaled_over" ] [])
        g.Add(node "Or" "refused.scaled" [ "refused.scaled_nan"; "refused.scaled_over" ] [ "refused.scaled" ] [])
        let text = [| for j in 0 .. pre.Width - 1 do if pre.Categories.[j].Length > 0 then j |]
        let checks =
            if text.Length = 0 then "refused.scaled"
            else
                let low = if pre.UnknownCategory = UnknownCategory.Zeros then -1.0 else 0.0
                g.Init(int64Tensor "refused.codes.columns" [ text.Length ] (text |> Array.map int64))
                g.Init(tensor "refused.codes.low" doubleType [] [| low |])
                g.Init(tensor "refused.codes.count" doubleType [ text.Length ] (text |> Array.map (fun j -> float pre.Categories.[j].Length)))
                g.Add(node "Gather" "refused.codes" [ imputed; "refused.codes.columns" ] [ "refused.codes" ] [ attrInt "axis" 1L ])
                g.Add(node "Floor" "refused.codes.floor" [ "refused.codes" ] [ "refused.codes.floor" ] [])
                g.Add(node "Equal" "refused.codes.whole" [ "refused.codes.floor"; "refused.codes" ] [ "refused.codes.whole" ] [])
                g.Add(node "Less" "refused.codes.below" [ "refused.codes"; "refused.codes.low" ] [ "refused.codes.below" ] [])
                g.Add(node "Not" "refused.codes.from_low" [ "refused.codes.below" ] [ "refused.codes.from_low" ] [])
                g.Add(node "Less" "refused.codes.under" [ "refused.codes"; "refused.codes.count" ] [ "refused.codes.under" ] [])
                g.Add(node "And" "refused.codes.in_range" [ "refused.codes.from_low"; "refused.codes.under" ] [ "refused.codes.in_range" ] [])
                g.Add(node "And" "refused.codes.valid" [ "refused.codes.whole"; "refused.codes.in_range" ] [ "refused.codes.valid" ] [])
                g.Add(node "Not" "refused.codes.bad" [ "refused.codes.valid" ] [ "refused.codes.bad" ] [])
                g.Add(node "Concat" "refused.cells" [ "refused.scaled"; "refused.codes.bad" ] [ "refused.cells" ] [ attrInt "axis" 1L ])
                "refused.cells"
        g.Init(tensor "refused.nan" doubleType [] [| nan |])
        if p.IsClassifier then g.Init(int64Tensor "refused.index" [] [| -1L |])
        anyInRow g checks "refused.cells_double" "refused.any" "refused"
        "refused"

    /// The pipeline's input stages, in order, from "features" (DOUBLE) to the network's input:
    /// the preprocessor's (imputation, one-hot encoding of text columns), then the scaler's
    /// (Sub offset, Div scale, in float64 as Scaler.transform; none for an identity scaler).
    /// OnnxImport.readPipeline reads exactly these back.
    let private inputStages (g: Graph) (p: Pipeline) (input: string) : string =
        let encoded = preprocessorStages g p.Preprocessor input
        let s = p.Scaler
        let isIdentity = s.Offset |> Array.forall (fun v -> v = 0.0) && s.Scale |> Array.forall (fun v -> v = 1.0)
        if isIdentity then encoded
        else
            g.Init(tensor "scaler.offset" doubleType [ s.Width ] s.Offset)
            g.Init(tensor "scaler.scale" doubleType [ s.Width ] s.Scale)
            g.Add(node "Sub" "scaler.sub" [ encoded; "scaler.offset" ] [ "scaler.centred" ] [])
            g.Add(node "Div" "scaler.div" [ "scaler.centred"; "scaler.scale" ] [ "scaled" ] [])
            "scaled"

    /// A pipeline as an ONNX model. Input "features" (N x d, DOUBLE, raw feature values in the
    /// order of FeatureNames); the scaling in float64; the network in its precision (a Cast to
    /// FLOAT before and back to DOUBLE after for Float32); outputs, all DOUBLE except the index:
    /// "outputs" (the network's raw outputs), and for a classifier "probabilities" (N x classes,
    /// when the loss defines them, as Pipeline.probabilities) and "class_index" (N, INT64, as
    /// Pipeline.predictClasses), for a regressor "values" (N x outputs, in the target's units, as
    /// Pipeline.predictValues). A row the library refuses (Pipeline.outputs raises for it: a
    /// missing value the policy does not fill, an infinity, a text column's code that is not a
    /// category index the pipeline accepts, a value that scales beyond the network's range) gets
    /// NaN outputs, probabilities and values and the class index -1 (`refusedRows`). Metadata: feature_names, class_names (JSON arrays), target_name,
    /// loss, precision, and the parts OnnxImport.readPipeline needs to rebuild the pipeline:
    /// categories (a JSON array of arrays), missing, unknown_category and scaler_kind.
    let pipelineModelCapped (cap: int64) (opset: int) (p: Pipeline) : byte[] =
        Check.notNull "pipeline" (box p)
        checkOpset opset
        let net = p.Network
        checkSize "pipeline" "pipeline" cap true (valueBytes net)
        checkWritable "pipeline" net
        let g = newGraph opset
        let t = elementType net.Precision
        let scaled = inputStages g p "features"
        let refused = refusedRows g p (if p.Preprocessor.Fill.Length > 0 then "imputed" else "features") scaled
        // An output computed as "<name>.computed" and then `value` ("refused.nan", or "refused.index"
        // for the class index) on the refused rows (`guard`, below).
        let computed (name: string) = name + ".computed"
        let netIn, netOut =
            if t = doubleType then scaled, computed "outputs"
            else
                g.Add(node "Cast" "to_float" [ scaled ] [ "network.input" ] [ attrInt "to" (int64 floatType) ])
                "network.input", "network.output"
        network "pipeline" g "network." net netIn netOut
        if t <> doubleType then g.Add(node "Cast" "to_double" [ netOut ] [ computed "outputs" ] [ attrInt "to" (int64 doubleType) ])
        // A row whose inputs pass but whose network output is not finite (a layer overflows, or
        // inf * 0): the library refuses it too (Network.checkOutput), so it joins the refused rows
        // ("refused.all" = Or(refused, any output NaN or infinite in the row)).
        g.Add(node "IsNaN" "refused.output_nan" [ computed "outputs" ] [ "refused.output_nan" ] [])
        g.Add(node "IsInf" "refused.output_inf" [ computed "outputs" ] [ "refused.output_inf" ] [])
        g.Add(node "Or" "refused.output_cells" [ "refused.output_nan"; "refused.output_inf" ] [ "refused.output_cells" ] [])
        anyInRow g "refused.output_cells" "refused.output_double" "refused.output_any" "refused.output"
        g.Add(node "Or" "refused.all" [ refused; "refused.output" ] [ "refused.all" ] [])
        let refused = "refused.all"
        let guard (name: string) (value: string) =
            g.Add(node "Where" (name + ".refused") [ refused; value; name + ".computed" ] [ name ] [])
        guard "outputs" "refused.nan"
        let k = net.OutputSize
        let outputs = ResizeArray [ valueInfo "outputs" doubleType [ batch; Choice2Of2 k ] "the network's raw outputs" ]
        let scalar name v = g.Init(tensor name doubleType [] [| v |])
        if p.IsClassifier then
            let classes = p.ClassNames.Length
            let probs = valueInfo "probabilities" doubleType [ batch; Choice2Of2 classes ] "class probabilities, classes in the order of class_names"
            let index = valueInfo "class_index" int64Type [ batch ] "the predicted class (an index into class_names); -1 for a row the library refuses (a missing value the policy does not fill, an infinity, a text code that is not a category index, a value beyond the network's range, a network output that is not finite)"
            if k = 1 then
                // One output for two classes: p = sigmoid(logit) or clip(output, 0, 1); index = output > threshold.
                let threshold = if p.Loss = Loss.BinaryCrossEntropy then 0.5 else 0.0
                let hasProbs = p.Loss = Loss.BinaryCrossEntropy || p.Loss = Loss.BinaryCrossEntropyWithLogits
                if hasProbs then
                    scalar "one" 1.0
                    if p.Loss = Loss.BinaryCrossEntropy then
                        scalar "zero" 0.0
                        g.Add(node "Clip" "p1" [ "outputs"; "zero"; "one" ] [ "p1" ] [])
                    else g.Add(node "Sigmoid" "p1" [ "outputs" ] [ "p1" ] [])
                    g.Add(node "Sub" "p0" [ "one"; "p1" ] [ "p0" ] [])
                    g.Add(node "Concat" "probabilities" [ "p0"; "p1" ] [ computed "probabilities" ] [ attrInt "axis" 1L ])
                    guard "probabilities" "refused.nan"
                    outputs.Add probs
                scalar "threshold" threshold
                g.Init(int64Tensor "squeeze_axes" [ 1 ] [| 1L |])
                g.Add(node "Greater" "above" [ "outputs"; "threshold" ] [ "above" ] [])
                g.Add(node "Cast" "above_int" [ "above" ] [ "above_int" ] [ attrInt "to" (int64 int64Type) ])
                g.Add(node "Where" "above_int.refused" [ refused; "refused.index"; "above_int" ] [ "above_int.checked" ] [])
                g.Add(node "Squeeze" "class_index" [ "above_int.checked"; "squeeze_axes" ] [ "class_index" ] [])
            else
                if p.Loss = Loss.SoftmaxCrossEntropy then
                    g.Add(node "Softmax" "probabilities" [ "outputs" ] [ computed "probabilities" ] [ attrInt "axis" 1L ])
                    guard "probabilities" "refused.nan"
                    outputs.Add probs
                // The best class as a column (N x 1), -1 on the refused rows, then a vector.
                g.Init(int64Tensor "squeeze_axes" [ 1 ] [| 1L |])
                g.Add(node "ArgMax" "argmax" [ "outputs" ] [ "argmax" ] [ attrInt "axis" 1L; attrInt "keepdims" 1L ])
                g.Add(node "Where" "argmax.refused" [ refused; "refused.index"; "argmax" ] [ "argmax.checked" ] [])
                g.Add(node "Squeeze" "class_index" [ "argmax.checked"; "squeeze_axes" ] [ "class_index" ] [])
            outputs.Add index
        else
            let ts = p.TargetScaler
            g.Init(tensor "target.scale" doubleType [ ts.Width ] ts.Scale)
            g.Init(tensor "target.offset" doubleType [ ts.Width ] ts.Offset)
            g.Add(node "Mul" "target.mul" [ "outputs"; "target.scale" ] [ "target.scaled" ] [])
            g.Add(node "Add" "values" [ "target.scaled"; "target.offset" ] [ "values" ] [])
            outputs.Add(valueInfo "values" doubleType [ batch; Choice2Of2 k ] "predicted values in the target's units")
        let metadata =
            [ "functional_nn.kind", "pipeline"
              "functional_nn.precision", Precision.name net.Precision
              "feature_names", json p.FeatureNames
              "target_name", p.TargetName
              "loss", Loss.name p.Loss
              if p.IsClassifier then "class_names", json p.ClassNames
              "categories", JsonSerializer.Serialize p.Preprocessor.Categories
              "missing", Preprocessor.missingName p.Preprocessor.Missing
              "unknown_category", Preprocessor.unknownName p.Preprocessor.UnknownCategory
              "scaler_kind", Scaler.kindName p.Scaler.Kind
              if not p.IsClassifier then "target_scaler_kind", Scaler.kindName p.TargetScaler.Kind ]
        let stages =
            [ if p.Preprocessor.Fill.Length > 0 then "missing values filled"
              if p.Preprocessor.Categories |> Array.exists (fun c -> c.Length > 0) then "text columns one-hot"
              if p.Scaler.Kind <> ScalingKind.Identity then sprintf "%s scaling" (Scaler.kindName p.Scaler.Kind)
              sprintf "the network (%s; its nodes and initialisers named network.layer<i>): %s" (Precision.name net.Precision) (describeBlocks net.Blocks)
              sprintf "its outputs read as the loss (%s) says" (Loss.name p.Loss) ]
        let doc = sprintf "A Functional.NN %s: %s." (if p.IsClassifier then "classifier pipeline" else "regressor pipeline") (String.Join("; ", stages))
        model "pipeline" "pipeline" cap opset g "functional_nn_pipeline" doc
            [ valueInfo "features" doubleType [ batch; Choice2Of2 p.FeatureNames.Length ] ("raw features: " + String.Join(", ", p.FeatureNames) + (if p.Preprocessor.Categories |> Array.exists (fun c -> c.Length > 0) then " (a text column's cells are category indices into the metadata's categories, -1 for an unseen one; NaN is a missing value)" else "")) ]
            (List.ofSeq outputs) metadata

    /// `pipelineModelCapped` at the loaders' cap, `maxModelBytes`.
    let pipelineModel (opset: int) (p: Pipeline) : byte[] = pipelineModelCapped maxModelBytes opset p
