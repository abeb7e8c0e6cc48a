namespace Functional.NN

open System
open System.Buffers.Binary
open System.Collections.Generic
open System.Globalization
open MathNet.Numerics.LinearAlgebra
open Google.Protobuf
open Functional.NN.OnnxProto
open Functional.NN.OnnxCommon

/// A network read from an ONNX model, with what the graph said around it.
type OnnxImportResult =
    { /// The network: dense layers as the graph computes them, in the graph's precision.
      Network: Network
      /// True when the graph ends in a Softmax over the outputs (PyTorch's nn.Softmax): the
      /// network gives the logits, so train it further with SoftmaxCrossEntropy and apply
      /// Loss.softmax to its outputs to get what the ONNX model gave. Over one output the
      /// Softmax is 1 for every row, and SoftmaxCrossEntropy refuses a one-output network:
      /// train such a network with BinaryCrossEntropyWithLogits.
      TrailingSoftmax: bool
      /// The graph's input and output names.
      InputName: string
      OutputName: string
      /// The default domain's opset version and the model's producer ("pytorch 1.13.0", ...).
      Opset: int
      Producer: string }

/// The ONNX reader: each node is checked and translated by one entry of a table (by operator);
/// the graph must be one chain from its input to its output.
module internal OnnxImport =

    /// Size caps, so that reading is linear in the input and bounded in memory.
    let maxNodes = 100_000
    let maxLayers = 10_000
    let maxElements = 1L <<< 28
    /// The weight values the nodes may read in all, as a multiple of the values the initialisers
    /// and constants hold: each is read once as a rule (a normalisation's scale twice), a weight
    /// shared by a few nodes passes, and a small file whose one initialiser hundreds of nodes
    /// read (which would build a network far larger than the file) is refused.
    let maxReadFactor = 4L

    /// A node as messages name it: "node 'fc1' (Gemm)", or, for a node the file leaves unnamed (a
    /// node's name is optional in ONNX), by its first output: "the unnamed Relu node giving 'h'".
    let private label (node: NodeProto) =
        if node.Name <> "" then sprintf "node '%s' (%s)" node.Name node.OpType
        elif node.Output.Count > 0 && node.Output.[0] <> "" then sprintf "the unnamed %s node giving '%s'" node.OpType node.Output.[0]
        else sprintf "an unnamed %s node without outputs" node.OpType

    let private fail (node: NodeProto) (message: string) : 'a =
        let name, op = if isNull node then "", "" else node.Name, node.OpType
        let where = if isNull node then "" else (let l = label node in string (Char.ToUpperInvariant l.[0]) + l.Substring 1 + ": ")
        raise (OnnxFormatException(where + message, name, op))

    let private bad (message: string) : 'a = raise (OnnxFormatException(message, "", ""))

    /// An ArgumentException's message without its " (Parameter '...')": the core's parameter
    /// names (blocks, scale, ...) mean nothing to the reader of an ONNX file's error.
    let private plain (e: ArgumentException) =
        if isNull e.ParamName then e.Message else e.Message.Replace(sprintf " (Parameter '%s')" e.ParamName, "")

    /// The element count of a shape, refusing negative dimensions and sizes beyond the cap.
    let private elementCount (node: NodeProto) (what: string) (dims: int64 seq) : int =
        let mutable n = 1L
        for d in dims do
            if d < 0L then fail node (sprintf "%s has a negative dimension %d." what d)
            if d > maxElements then fail node (sprintf "%s has a dimension of %d, beyond the cap of %d elements." what d maxElements)
            n <- n * d
            if n > maxElements then fail node (sprintf "%s has more than %d elements." what maxElements)
        int n

    /// A FLOAT or DOUBLE tensor's values as float64 (exact), its shape and element type; raises for
    /// external data, other element types and data whose size disagrees with the shape.
    let tensorValues (node: NodeProto) (t: TensorProto) : int64[] * float[] * int =
        let what = sprintf "Tensor '%s'" t.Name
        if t.DataLocation = TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0 then
            fail node (sprintf "%s keeps its data in an external file; only models with their data inside are read." what)
        if t.Segment <> null then fail node (sprintf "%s is segmented; segmented tensors are not read." what)
        let dims = Array.ofSeq t.Dims
        let n = elementCount node what dims
        let values =
            match t.DataType with
            | 1 ->
                if t.HasRawData then
                    if t.RawData.Length <> 4 * n then fail node (sprintf "%s has shape [%s] (%d FLOAT values) but %d bytes of raw data." what (String.Join(",", dims)) n t.RawData.Length)
                    let raw = t.RawData.ToByteArray()
                    Array.init n (fun i -> float (BinaryPrimitives.ReadSingleLittleEndian(ReadOnlySpan<byte>(raw, 4 * i, 4))))
                else
                    if t.FloatData.Count <> n then fail node (sprintf "%s has shape [%s] (%d values) but holds %d FLOAT values." what (String.Join(",", dims)) n t.FloatData.Count)
                    Array.init n (fun i -> float t.FloatData.[i])
            | 11 ->
                if t.HasRawData then
                    if t.RawData.Length <> 8 * n then fail node (sprintf "%s has shape [%s] (%d DOUBLE values) but %d bytes of raw data." what (String.Join(",", dims)) n t.RawData.Length)
                    let raw = t.RawData.ToByteArray()
                    Array.init n (fun i -> BinaryPrimitives.ReadDoubleLittleEndian(ReadOnlySpan<byte>(raw, 8 * i, 8)))
                else
                    if t.DoubleData.Count <> n then fail node (sprintf "%s has shape [%s] (%d values) but holds %d DOUBLE values." what (String.Join(",", dims)) n t.DoubleData.Count)
                    Array.init n (fun i -> t.DoubleData.[i])
            | other -> fail node (sprintf "%s holds %s values; weights must be FLOAT or DOUBLE." what (typeName other))
        values |> Array.iteri (fun i v -> if not (Double.IsFinite v) then fail node (sprintf "%s holds %s at element %d; every weight must be finite." what (string v) i))
        dims, values, t.DataType

    /// A dense layer being assembled: its weights (d_in x d_out), bias, and the node that made it.
    type private Pending = { W: Matrix<float>; B: Vector<float> option; Node: NodeProto }

    /// The walk along the chain.
    type private State =
        { /// The blocks read so far, last first.
          Blocks: Block list
          /// Their number.
          Count: int
          /// The dense layer whose activation (or bias) may still follow.
          Pending: Pending option
          /// The values of the chain at block boundaries (the graph input, each block's output), with
          /// the number of blocks before them and their width: where a residual Add may start.
          Points: Map<string, int * int>
          /// The names in Points with their block counts, the latest first (so counts never rise
          /// from the head on): an Add drops the boundaries after its start from the head, in time
          /// proportional to what it drops, so that reading stays linear in the nodes.
          Marked: (string * int) list
          Current: string
          Width: int
          Softmax: bool
          Precision: Precision
          ElemType: int }

    /// Everything the table's entries need to read a node.
    type private Context =
        { Constants: Dictionary<string, TensorProto>
          Functions: Dictionary<string, FunctionProto>
          /// The default domain's opset of the model.
          Opset: int
          /// For each value some node of the graph reads, the first such node.
          Readers: Dictionary<string, NodeProto>
          /// The graph's output names.
          GraphOutputs: HashSet<string>
          /// The values the initialisers and Constant nodes read so far hold (their data, not their
          /// declared shapes).
          mutable Stored: int64
          /// The weight values the nodes have read so far (a tensor read by two nodes counts twice).
          mutable Read: int64 }

    /// The values a FLOAT or DOUBLE tensor's data holds (0 for other element types, which are
    /// refused when read as weights).
    let private storedValues (t: TensorProto) : int64 =
        match t.DataType with
        | 1 -> if t.HasRawData then int64 t.RawData.Length / 4L else int64 t.FloatData.Count
        | 11 -> if t.HasRawData then int64 t.RawData.Length / 8L else int64 t.DoubleData.Count
        | _ -> 0L

    let private attrs (node: NodeProto) (allowed: string list) =
        let d = Dictionary<string, AttributeProto>()
        for a in node.Attribute do
            if not (List.contains a.Name allowed) then
                fail node (sprintf "attribute '%s' is not read by the importer (it reads %s)." a.Name (if allowed.IsEmpty then "none" else String.Join(", ", allowed)))
            if d.ContainsKey a.Name then fail node (sprintf "attribute '%s' appears twice." a.Name)
            if a.RefAttrName <> "" then fail node (sprintf "attribute '%s' refers to a function attribute; only models with plain attributes are read." a.Name)
            d.[a.Name] <- a
        d

    let private intAttr (node: NodeProto) (d: Dictionary<string, AttributeProto>) name (deflt: int64) =
        match d.TryGetValue name with
        | true, a when a.Type = AttributeProto.Types.AttributeType.Int -> a.I
        | true, _ -> fail node (sprintf "attribute '%s' must be an integer." name)
        | _ -> deflt

    let private floatAttr (node: NodeProto) (d: Dictionary<string, AttributeProto>) name (deflt: float32) =
        match d.TryGetValue name with
        | true, a when a.Type = AttributeProto.Types.AttributeType.Float -> a.F
        | true, _ -> fail node (sprintf "attribute '%s' must be a float." name)
        | _ -> deflt

    /// The node's one data input must be the chain's current value.
    let private dataInput (s: State) (node: NodeProto) (i: int) =
        let name = node.Input.[i]
        if name <> s.Current then
            fail node (sprintf "it reads '%s', which is not the output of the previous layer ('%s'): the importer reads one chain of blocks, where only a residual Add reads an earlier value." name s.Current)

    let private checkArity (node: NodeProto) (minIn: int) (maxIn: int) (outs: int) =
        if node.Input.Count < minIn || node.Input.Count > maxIn then
            fail node (sprintf "it has %d inputs; %s takes %s." node.Input.Count node.OpType (if minIn = maxIn then string minIn else sprintf "%d to %d" minIn maxIn))
        if node.Output.Count < 1 || node.Output.Count > outs then
            fail node (sprintf "it has %d outputs; %s gives %s here." node.Output.Count node.OpType (if outs = 1 then "1" elif outs = 2 then "1 or 2" else sprintf "1 to %d" outs))
        if String.IsNullOrEmpty node.Output.[0] then
            fail node (sprintf "its first output has no name; %s gives its result there." node.OpType)

    let private constant (ctx: Context) (s: State) (node: NodeProto) (i: int) (what: string) =
        let name = node.Input.[i]
        match ctx.Constants.TryGetValue name with
        | true, t ->
            // Counted before it is decoded, so that a refused read allocates nothing.
            let count = storedValues t
            ctx.Read <- ctx.Read + count
            if ctx.Read > maxReadFactor * ctx.Stored then
                fail node (sprintf "its %s '%s' (%d values) brings the weight values the graph's nodes read to %d, more than %d times the %d values its initialisers and constants hold: a graph that reads one initialiser in many nodes would build a network far larger than its file, and is refused." what name count ctx.Read maxReadFactor ctx.Stored)
            let dims, values, et = tensorValues node t
            if et <> s.ElemType then
                fail node (sprintf "its %s '%s' is %s but the graph computes in %s; every weight must have the input's element type." what name (typeName et) (typeName s.ElemType))
            dims, values
        | _ -> fail node (sprintf "its %s '%s' is not an initialiser or constant; weights must be constants." what name)

    /// Appends a block.
    let private push (node: NodeProto) (s: State) (block: Block) : State =
        if s.Count >= maxLayers then fail node (sprintf "the graph has more than %d blocks." maxLayers)
        { s with Blocks = block :: s.Blocks; Count = s.Count + 1 }

    /// Closes the pending dense layer with an activation.
    let private close (s: State) (act: Activation) : State =
        match s.Pending with
        | Some p -> push p.Node s (Block.Dense { Weights = p.W; Bias = p.B; Activation = act }) |> fun s -> { s with Pending = None }
        | None -> s

    /// Records the current value as a block boundary (when no dense layer is pending).
    let private mark (s: State) : State =
        // A value is defined once, so a value marked again is marked at the same count and width.
        if s.Pending.IsSome || s.Points.ContainsKey s.Current then s
        else { s with Points = s.Points.Add(s.Current, (s.Count, s.Width)); Marked = (s.Current, s.Count) :: s.Marked }

    /// Closes what is pending and appends a block whose output is the node's, of the given width.
    let private block (node: NodeProto) (s: State) (b: Block) (width: int) : State =
        let s = close s Activation.Identity
        { push node s b with Current = node.Output.[0]; Width = width } |> mark

    /// Raises unless every weight and bias is finite (after alpha, beta or a folded normalisation).
    let private checkFinite (node: NodeProto) (w: Matrix<float>) (b: Vector<float> option) =
        if not (w.ForAll(fun v -> Double.IsFinite v)) || not (b |> Option.forall (fun b -> b.ForAll(fun v -> Double.IsFinite v))) then
            fail node "its weights or bias are not all finite (after its scaling attributes)."

    let private startLayer (s: State) (node: NodeProto) (w: Matrix<float>) (b: Vector<float> option) =
        checkFinite node w b
        let s = close s Activation.Identity |> mark
        { s with Pending = Some { W = w; B = b; Node = node }; Width = w.ColumnCount; Current = node.Output.[0] }

    let private biasOf (node: NodeProto) (dims: int64[]) (values: float[]) (width: int) (what: string) =
        match dims with
        | [| d |] when int d = width -> Vector<float>.Build.DenseOfArray values
        | [| 1L; d |] when int d = width -> Vector<float>.Build.DenseOfArray values
        | [| 1L |] | [||] -> Vector<float>.Build.Dense(width, values.[0])
        | [| 1L; 1L |] -> Vector<float>.Build.Dense(width, values.[0])
        | _ -> fail node (sprintf "its %s has shape [%s]; a layer of %d outputs needs [%d], [1,%d] or a scalar." what (String.Join(",", dims)) width width width)

    // ---- the table: one reader per operator ------------------------------------------------

    /// Gemm(A, B, C): Y = alpha A' B' + beta C with A' = A (transA must be 0) and B' = B or B^T
    /// (transB = 1 is PyTorch's layout, W stored d_out x d_in). C is optional from opset 11 on
    /// only (Gemm-11); before, a Gemm without it is refused.
    let private gemm (ctx: Context) (s: State) (node: NodeProto) =
        checkArity node 2 3 1
        // C is optional from Gemm-11 on; before, a Gemm without it is not a valid model.
        if ctx.Opset < 11 && (node.Input.Count < 3 || node.Input.[2] = "") then
            fail node (sprintf "it has no input C; Gemm's C is optional from opset 11 on, but the model uses opset %d, where a Gemm takes three inputs." ctx.Opset)
        dataInput s node 0
        let a = attrs node [ "alpha"; "beta"; "transA"; "transB" ]
        let alpha = float (floatAttr node a "alpha" 1.0f)
        let beta = float (floatAttr node a "beta" 1.0f)
        if intAttr node a "transA" 0L <> 0L then fail node "transA = 1 would transpose the batch; the importer reads transA = 0."
        let transB = intAttr node a "transB" 0L
        if transB <> 0L && transB <> 1L then fail node (sprintf "transB is %d; it must be 0 or 1." transB)
        let dims, values = constant ctx s node 1 "weight (B)"
        if dims.Length <> 2 then fail node (sprintf "its weight has shape [%s]; Gemm needs a matrix." (String.Join(",", dims)))
        let rows, cols = int dims.[0], int dims.[1]
        let din, dout = if transB = 1L then cols, rows else rows, cols
        if s.Width >= 0 && din <> s.Width then fail node (sprintf "its weight has shape [%d,%d] (transB = %d), which takes %d inputs, but the previous layer gives %d." rows cols transB din s.Width)
        if din = 0 then fail node "its weight takes no inputs."
        if dout = 0 then fail node "its weight has no outputs."
        let w =
            if transB = 1L then Matrix<float>.Build.Dense(din, dout, fun i j -> alpha * values.[j * cols + i])
            else Matrix<float>.Build.Dense(din, dout, fun i j -> alpha * values.[i * cols + j])
        let b =
            if node.Input.Count = 3 && node.Input.[2] <> "" then
                let bd, bv = constant ctx s node 2 "bias (C)"
                Some ((biasOf node bd bv dout "bias (C)") * beta)
            else None
        startLayer s node w b

    /// MatMul(A, W): a layer without bias (an Add right after gives it one).
    let private matmul (ctx: Context) (s: State) (node: NodeProto) =
        checkArity node 2 2 1
        dataInput s node 0
        attrs node [] |> ignore
        let dims, values = constant ctx s node 1 "weight"
        if dims.Length <> 2 then fail node (sprintf "its weight has shape [%s]; MatMul needs a matrix here." (String.Join(",", dims)))
        let rows, cols = int dims.[0], int dims.[1]
        if s.Width >= 0 && rows <> s.Width then fail node (sprintf "its weight has shape [%d,%d], which takes %d inputs, but the previous layer gives %d." rows cols rows s.Width)
        if rows = 0 then fail node "its weight takes no inputs."
        if cols = 0 then fail node "its weight has no outputs."
        startLayer s node (Matrix<float>.Build.Dense(rows, cols, fun i j -> values.[i * cols + j])) None

    /// Add(Z, b) right after a MatMul: the layer's bias. Add(x, y) of two values of the chain,
    /// y the current one and x an earlier block boundary: a residual block x + f(x), f the blocks
    /// read since x.
    let private add (ctx: Context) (s: State) (node: NodeProto) =
        checkArity node 2 2 1
        attrs node [] |> ignore
        let i = if node.Input.[0] = s.Current then 1 elif node.Input.[1] = s.Current then 0 else -1
        if i < 0 then dataInput s node 0
        if not (ctx.Constants.ContainsKey node.Input.[i]) then
            let s = close s Activation.Identity |> mark
            match s.Points.TryFind node.Input.[i] with
            | Some (k, width) ->
                let n = s.Count
                if n = k then fail node "it adds a value to itself; a residual block adds a value and what blocks made of it."
                let innerReversed, rest = List.splitAt (n - k) s.Blocks
                // The start's width: as recorded, or (the graph input with a symbolic width) what
                // the first block after it that has a width takes (blocks before it keep widths).
                let width =
                    if width >= 0 then width
                    else innerReversed |> List.rev |> List.tryPick Block.inputWidth |> Option.defaultValue -1
                if width >= 0 && s.Width >= 0 && width <> s.Width then
                    fail node (sprintf "it adds '%s' (%d columns) and '%s' (%d columns); a residual block keeps its width." node.Input.[i] width s.Current s.Width)
                let width = if width >= 0 then width else s.Width
                // Each Add nests the residuals read since x one deeper: refuse past what a network
                // (and a model file, ModelFile.maxBlockDepth) holds, before any recursive pass.
                let depth = 1 + Block.nesting innerReversed
                if depth > ModelFile.maxBlockDepth then
                    fail node (sprintf "it closes a residual block that nests residual blocks %d deep; a network nests them at most %d deep." depth ModelFile.maxBlockDepth)
                // The boundaries inside the block (after x) are gone; x and those before it stay.
                let rec drop (points: Map<string, int * int>) (marked: (string * int) list) =
                    match marked with
                    | (name, c) :: earlier when c > k -> drop (points.Remove name) earlier
                    | _ -> points, marked
                let points, marked = drop s.Points s.Marked
                { s with Blocks = Block.Residual (List.rev innerReversed) :: rest; Count = k + 1; Points = points; Marked = marked; Current = node.Output.[0]; Width = width } |> mark
            | None ->
                fail node (sprintf "it adds '%s', which is not an earlier block boundary of the chain (a residual block adds the value it started from, x + f(x))." node.Input.[i])
        else
        match s.Pending with
        | Some p when p.B.IsNone && p.Node.OpType = "MatMul" && s.Current = p.Node.Output.[0] ->
            let dims, values = constant ctx s node i "bias"
            { s with Pending = Some { p with B = Some (biasOf node dims values p.W.ColumnCount "bias") }; Current = node.Output.[0] }
        | _ -> fail node "an Add of a constant is read only as the bias right after a MatMul."

    /// An element-wise activation: the pending dense layer's, or an activation block of its own.
    let private activation (act: Activation) (_: Context) (s: State) (node: NodeProto) =
        dataInput s node 0
        match s.Pending with
        | Some _ -> { close s act with Current = node.Output.[0] } |> mark
        | None -> block node s (Block.Activation act) s.Width

    let private simple (act: Activation) (ctx: Context) (s: State) (node: NodeProto) =
        checkArity node 1 1 1
        attrs node [] |> ignore
        activation act ctx s node

    /// LeakyRelu(alpha): the slope is the float32 alpha read as its shortest decimal (PyTorch's
    /// 0.1 stays 0.1), or the exact slope the library's exporter kept in doc_string.
    let private leakyRelu (ctx: Context) (s: State) (node: NodeProto) =
        checkArity node 1 1 1
        let a = attrs node [ "alpha" ]
        let alpha = floatAttr node a "alpha" 0.01f
        if not (Single.IsFinite alpha) then fail node (sprintf "alpha is %s; it must be finite." (string alpha))
        let shortest = Double.Parse(alpha.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)
        let slope =
            match Activation.tryParse node.DocString with
            | Some (Activation.LeakyReLU exact) when float32 exact = alpha -> exact
            | _ -> if float32 shortest = alpha then shortest else float alpha
        activation (Activation.LeakyReLU slope) ctx s node

    /// PRelu(x, slope) with one slope for every unit: a leaky ReLU with that slope.
    let private prelu (ctx: Context) (s: State) (node: NodeProto) =
        checkArity node 2 2 1
        attrs node [] |> ignore
        let _, values = constant ctx s node 1 "slope"
        if values.Length <> 1 then fail node (sprintf "its slope has %d values; the importer reads PRelu with one slope for every unit (a leaky ReLU)." values.Length)
        activation (Activation.LeakyReLU values.[0]) ctx s node

    /// The shortest decimal of a float32 (PyTorch's 0.1 stays 0.1).
    let private shortest (v: float32) = Double.Parse(v.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)

    /// A setting "name=<value>" the library's exporter kept exactly in a node's doc_string, when it
    /// is there and rounds to the float32 attribute the node carries.
    let private exactSetting (node: NodeProto) (name: string) (attribute: float32) : float option =
        node.DocString.Split(' ')
        |> Array.tryPick (fun part ->
            if part.StartsWith(name + "=", StringComparison.Ordinal) then
                match Double.TryParse(part.Substring(name.Length + 1), NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, v when float32 v = attribute -> Some v
                | _ -> None
            else None)

    /// Identity: of a constant (an initialiser or a Constant's output), a second name for that
    /// constant (torch.onnx.export keeps one initialiser of two parameters with equal values, such
    /// as the zero biases of two Linear layers, and writes the other as Identity(first) -> second);
    /// of the chain's value, right after a dense layer, that layer's identity activation (as the
    /// exporter writes it), and elsewhere an identity activation block (as the exporter writes one).
    let private passThrough (ctx: Context) (s: State) (node: NodeProto) =
        checkArity node 1 1 1
        attrs node [] |> ignore
        match ctx.Constants.TryGetValue node.Input.[0] with
        | true, t when node.Input.[0] <> s.Current ->
            // The same tensor under the alias (its data is not copied, nor counted as stored again:
            // every node that reads it counts as a read, as for the original).
            ctx.Constants.[node.Output.[0]] <- t
            s
        | _ ->
        dataInput s node 0
        match s.Pending with
        | Some _ -> mark { close s Activation.Identity with Current = node.Output.[0] }
        | None -> block node s (Block.Activation Activation.Identity) s.Width

    /// Dropout at inference: a dropout block (the identity when predicting, dropping at its rate
    /// when trained further). The rate is the constant ratio input (opset 12+, FLOAT or DOUBLE),
    /// the ratio attribute (older opsets) or ONNX's default 0.5; a ratio attribute at opset 12+,
    /// or a second input before 12, is refused (not a valid model of its opset). A mask output is
    /// read when no node reads it and it is not a graph output (it changes nothing at inference).
    let private dropout (ctx: Context) (s: State) (node: NodeProto) =
        // Dropout-12 made the ratio an input (with training_mode and the attribute seed); before,
        // the ratio is an attribute and the data the one input. A file mixing the two is not a
        // valid model of its opset (ONNX Runtime refuses it).
        if ctx.Opset >= 12 then
            checkArity node 1 3 2
            if node.Attribute |> Seq.exists (fun a -> a.Name = "ratio") then
                fail node (sprintf "it has the attribute 'ratio', which Dropout no longer has from opset 12 on (the ratio is its second input), but the model uses opset %d." ctx.Opset)
        else
            if node.Input.Count > 1 then
                fail node (sprintf "it has %d inputs; before opset 12, Dropout takes only its data (the ratio is an attribute), and the model uses opset %d." node.Input.Count ctx.Opset)
            checkArity node 1 1 2
            if node.Attribute |> Seq.exists (fun a -> a.Name = "seed") then
                fail node (sprintf "it has the attribute 'seed', which Dropout has from opset 12 on, but the model uses opset %d." ctx.Opset)
        let a = attrs node [ "seed"; "ratio" ]
        dataInput s node 0
        if node.Input.Count = 3 && node.Input.[2] <> "" then
            match ctx.Constants.TryGetValue node.Input.[2] with
            | true, t when t.DataType = boolType && (t.Int32Data.Count = 1 && t.Int32Data.[0] = 0 || t.HasRawData && t.RawData.Length = 1 && t.RawData.[0] = 0uy) -> ()
            | _ -> fail node "its training_mode is not the constant false; the importer reads Dropout at inference only."
        // A mask output that nothing reads (declared, as some exporters write it) changes nothing at
        // inference; one that a node reads or the graph gives is refused.
        if node.Output.Count = 2 && node.Output.[1] <> "" then
            let mask = node.Output.[1]
            match ctx.Readers.TryGetValue mask with
            | true, reader ->
                fail node (sprintf "it declares a mask output '%s' that %s reads; the importer reads Dropout at inference only, where the mask is not a value a network gives." mask (label reader))
            | _ ->
                if ctx.GraphOutputs.Contains mask then
                    fail node (sprintf "it declares a mask output '%s' that is an output of the graph; the importer reads Dropout at inference only, where the mask is not a value a network gives." mask)
        let rate =
            if node.Input.Count >= 2 && node.Input.[1] <> "" then
                match ctx.Constants.TryGetValue node.Input.[1] with
                | true, t ->
                    let _, values, et = tensorValues node t
                    if values.Length <> 1 then fail node (sprintf "its ratio has %d values; it needs one." values.Length)
                    if et = floatType then shortest (float32 values.[0]) else values.[0]
                | _ -> fail node (sprintf "its ratio '%s' is not a constant." node.Input.[1])
            else
                let r = floatAttr node a "ratio" 0.5f
                shortest r
        if not (rate >= 0.0 && rate < 1.0) then fail node (sprintf "its ratio is %s; a dropout rate lies in [0, 1)." (string rate))
        block node s (Block.Dropout rate) s.Width

    /// Softmax over the last axis, as the graph's last node: reported, not kept in the network.
    let private softmax (_: Context) (s: State) (node: NodeProto) =
        checkArity node 1 1 1
        let a = attrs node [ "axis" ]
        let axis = intAttr node a "axis" -1L
        if axis <> 1L && axis <> -1L then fail node (sprintf "axis is %d; the importer reads a Softmax over the outputs (axis 1 or -1)." axis)
        dataInput s node 0
        { close s Activation.Identity with Softmax = true; Current = node.Output.[0] }

    /// A vector input of a normalisation: one value per feature.
    let private featureVector (ctx: Context) (s: State) (node: NodeProto) (i: int) (what: string) (width: int) =
        let dims, values = constant ctx s node i what
        if dims.Length <> 1 || values.Length <> width then fail node (sprintf "its %s has shape [%s]; the normalisation has %d features." what (String.Join(",", dims)) width)
        Vector<float>.Build.DenseOfArray values

    /// The width of a normalisation (its scale's length), checked against the chain's.
    let private normWidth (ctx: Context) (s: State) (node: NodeProto) =
        let dims, _ = constant ctx s node 1 "scale"
        if dims.Length <> 1 || dims.[0] < 1L then fail node (sprintf "its scale has shape [%s]; it needs one value per feature." (String.Join(",", dims)))
        let width = int dims.[0]
        if s.Width >= 0 && width <> s.Width then fail node (sprintf "its scale has %d values but the previous block gives %d columns." width s.Width)
        width

    /// Refuses the epsilon of a normalisation operator (BatchNormalization, LayerNormalization)
    /// in a FLOAT graph that the exporter would refuse to write back (OnnxCommon.float32EpsilonProblem);
    /// a DOUBLE graph's epsilon is not held to float32's range (the exporter writes a Float64
    /// network's epsilon as a DOUBLE input).
    let private checkFloat32Epsilon (s: State) (node: NodeProto) (eps: float) =
        if s.ElemType = floatType then
            match float32EpsilonProblem eps with
            | Some problem -> fail node (sprintf "its %s. The library's exporter refuses such a float32 network, so the file is refused too." problem)
            | None -> ()

    /// A batch normalisation block from its parts (ArgumentException becomes this node's error). The
    /// variance is the node's input `varInput` (ONNX's name for it, "input_var" or "var"), checked
    /// here so that a negative value is named in the file's terms.
    let private pushBatchNorm (s: State) (node: NodeProto) (varInput: string) scale shift mean (var: Vector<float>) (momentum: float) (epsilon: float) =
        match Seq.tryFindIndex (fun v -> v < 0.0) var with
        | Some k ->
            fail node (sprintf "its variance input %s (the tensor '%s') holds %s at element %d; a variance is at least 0." varInput node.Input.[4] (var.[k].ToString("R", CultureInfo.InvariantCulture)) k)
        | None -> ()
        let bn =
            try BatchNorm.createWith scale shift mean var momentum epsilon
            with :? ArgumentException as e -> fail node (plain e)
        block node s (Block.BatchNorm bn) bn.Width

    /// BatchNormalization at inference (PyTorch's BatchNorm1d): a batch normalisation block with
    /// its running statistics. epsilon is the float32 attribute read as its shortest decimal, the
    /// momentum PyTorch's 1 - ONNX's (in decimal, so 0.9 gives 0.1), or the exact values the
    /// library's exporter kept in doc_string.
    let private batchNorm (ctx: Context) (s: State) (node: NodeProto) =
        checkArity node 5 5 1
        let a = attrs node [ "epsilon"; "momentum"; "training_mode"; "spatial" ]
        if intAttr node a "training_mode" 0L <> 0L then fail node "training_mode is 1; the importer reads BatchNormalization at inference only."
        if intAttr node a "spatial" 1L <> 1L then fail node "spatial is 0; the importer reads one statistic per feature."
        dataInput s node 0
        let epsAttr = floatAttr node a "epsilon" 1e-5f
        let momentumAttr = floatAttr node a "momentum" 0.9f
        if not (Single.IsFinite epsAttr && Single.IsFinite momentumAttr) then fail node "its epsilon or momentum is not finite."
        // ONNX's momentum weighs the running statistics, in [0, 1] (PyTorch's is 1 minus it); checked
        // before the decimal arithmetic below, which overflows for |momentum| >= about 7.9e28.
        if not (momentumAttr >= 0.0f && momentumAttr <= 1.0f) then
            fail node (sprintf "its momentum is %s; ONNX's momentum (the running statistics' weight) lies in [0, 1]." (momentumAttr.ToString("R", CultureInfo.InvariantCulture)))
        let eps = exactSetting node "epsilon" epsAttr |> Option.defaultValue (shortest epsAttr)
        let momentum =
            match node.DocString.Split(' ') |> Array.tryPick (fun p -> if p.StartsWith("momentum=", StringComparison.Ordinal) then Some (p.Substring 9) else None) with
            | Some text when (match Double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture) with | true, m -> float32 (1.0 - m) = momentumAttr | _ -> false) ->
                Double.Parse(text, CultureInfo.InvariantCulture)
            | _ -> float (1.0m - decimal (shortest momentumAttr))
        checkFloat32Epsilon s node eps
        let width = normWidth ctx s node
        let vec i what = featureVector ctx s node i what width
        pushBatchNorm s node "'input_var'" (vec 1 "scale") (vec 2 "bias") (vec 3 "mean") (vec 4 "var") momentum eps

    /// A layer normalisation block from its parts.
    let private pushLayerNorm (s: State) (node: NodeProto) scale shift (epsilon: float) =
        let ln =
            try LayerNorm.createWith scale shift epsilon
            with :? ArgumentException as e -> fail node (plain e)
        block node s (Block.LayerNorm ln) ln.Width

    /// LayerNormalization over the features (opset 17, PyTorch's LayerNorm): a layer
    /// normalisation block (no bias input: beta = 0). epsilon as for BatchNormalization.
    let private layerNorm (ctx: Context) (s: State) (node: NodeProto) =
        checkArity node 2 3 3
        // The operator exists from opset 17 on: a file of an older opset that uses it is not a
        // valid model (and the library's exporter could not write it back).
        if ctx.Opset < 17 then
            fail node (sprintf "LayerNormalization is an operator of opset 17 and later, but the model uses opset %d." ctx.Opset)
        let a = attrs node [ "axis"; "epsilon"; "stash_type" ]
        let axis = intAttr node a "axis" -1L
        if axis <> -1L && axis <> 1L then fail node (sprintf "axis is %d; the importer reads a normalisation over the features (axis -1 or 1)." axis)
        dataInput s node 0
        let epsAttr = floatAttr node a "epsilon" 1e-5f
        if not (Single.IsFinite epsAttr) then fail node "its epsilon is not finite."
        let eps = exactSetting node "epsilon" epsAttr |> Option.defaultValue (shortest epsAttr)
        checkFloat32Epsilon s node eps
        let width = normWidth ctx s node
        let scale = featureVector ctx s node 1 "scale" width
        let shift = if node.Input.Count = 3 && node.Input.[2] <> "" then featureVector ctx s node 2 "bias" width else Vector<float>.Build.Dense width
        pushLayerNorm s node scale shift eps

    /// A call of one of the library's functions (Step, float64 Softplus), whose definition in the
    /// model must be exactly the library's.
    let private libraryFunction (ctx: Context) (s: State) (node: NodeProto) =
        match node.OpType with
        | "LeakyRelu_double" -> checkArity node 2 2 1
        | "BatchNorm_double" -> checkArity node 6 6 1
        | "LayerNorm_double" -> checkArity node 4 4 1
        | _ -> checkArity node 1 1 1
        attrs node [] |> ignore
        let defined, f = ctx.Functions.TryGetValue node.OpType
        let canonical =
            if not defined then knownFunction node.OpType minOpset
            else
                // The bodies are the library's at the opsets its exporter writes (13 to 17), where
                // their operators mean what the library computes; from opset 18 on ReduceMean
                // (in LayerNorm_double) takes its axes as an input, not an attribute, so a body
                // read at 18 or later is not a valid model (ONNX Runtime refuses it). The function
                // imports the model's own opset, as the exporter writes it (onnx.checker wants the
                // two compatible).
                match f.OpsetImport |> Seq.tryFind (fun o -> o.Domain = "") with
                | Some o when o.Version < int64 minOpset || o.Version > int64 maxOpset ->
                    fail node (sprintf "the model's function %s imports opset %d; the library's functions are read at opsets %d to %d, those its exporter writes them at (from opset 18 on, ReduceMean takes its axes as an input, so their bodies are not valid there)." node.OpType o.Version minOpset maxOpset)
                | Some o when o.Version <> int64 ctx.Opset ->
                    fail node (sprintf "the model's function %s imports opset %d but the model opset %d; the library's functions import the model's own opset." node.OpType o.Version ctx.Opset)
                | Some o -> knownFunction node.OpType (int o.Version)
                | None -> knownFunction node.OpType minOpset
        match canonical, defined with
        | Some canonical, true when f.Equals canonical && (node.OpType = batchNormName || node.OpType = layerNormName) ->
            if s.ElemType <> doubleType then fail node (sprintf "it computes in DOUBLE but the graph computes in %s." (typeName s.ElemType))
            dataInput s node 0
            let width = normWidth ctx s node
            let vec i what = featureVector ctx s node i what width
            let eps =
                let _, values = constant ctx s node (node.Input.Count - 1) "eps"
                if values.Length <> 1 then fail node (sprintf "its eps has %d values; it needs one." values.Length)
                values.[0]
            if node.OpType = batchNormName then
                let momentum =
                    node.DocString.Split(' ')
                    |> Array.tryPick (fun p -> if p.StartsWith("momentum=", StringComparison.Ordinal) then (match Double.TryParse(p.Substring 9, NumberStyles.Float, CultureInfo.InvariantCulture) with | true, m -> Some m | _ -> None) else None)
                    |> Option.defaultValue 0.1
                pushBatchNorm s node "'var'" (vec 1 "scale") (vec 2 "bias") (vec 3 "mean") (vec 4 "var") momentum eps
            else pushLayerNorm s node (vec 1 "scale") (vec 2 "bias") eps
        | Some canonical, true when f.Equals canonical ->
            let act, elemType =
                match node.OpType with
                | "Step_float" -> Activation.Step, floatType
                | "Step_double" -> Activation.Step, doubleType
                | "Softplus_double" -> Activation.Softplus, doubleType
                | _ ->
                    let _, values = constant ctx s node 1 "slope"
                    if values.Length <> 1 then fail node (sprintf "its slope has %d values; it needs one." values.Length)
                    Activation.LeakyReLU values.[0], doubleType
            if elemType <> s.ElemType then fail node (sprintf "it computes in %s but the graph computes in %s." (typeName elemType) (typeName s.ElemType))
            activation act ctx s node
        | Some _, false ->
            fail node (sprintf "the model defines no function %s of domain '%s' (it defines %s there); the library's exporter writes the definition of each function it calls into the model, and a call without one is not a valid model." node.OpType domain (if ctx.Functions.Count = 0 then "none" else String.Join(", ", ctx.Functions.Keys |> Seq.sort)))
        | Some _, true -> fail node "the model's definition of this function is not the library's; only the library's own functions are read."
        | None, _ -> fail node (sprintf "operator %s of domain '%s' is not one the importer reads." node.OpType node.Domain)

    /// The table: operator (of the default domain) -> reader.
    let private readers : IReadOnlyDictionary<string, Context -> State -> NodeProto -> State> =
        readOnlyDict [
            ("Gemm", gemm)
            ("MatMul", matmul)
            ("Add", add)
            ("Relu", simple Activation.ReLU)
            ("Tanh", simple Activation.Tanh)
            ("Sigmoid", simple Activation.Sigmoid)
            ("Softplus", simple Activation.Softplus)
            ("LeakyRelu", leakyRelu)
            ("PRelu", prelu)
            ("Identity", passThrough)
            ("Dropout", dropout)
            ("Softmax", softmax)
            ("BatchNormalization", batchNorm)
            ("LayerNormalization", layerNorm)
        ]

    let private valueType (v: ValueInfoProto) =
        if isNull v.Type || isNull v.Type.TensorType then bad (sprintf "The graph's input '%s' is not a tensor." v.Name)
        v.Type.TensorType

    /// Parses a model's bytes and checks what every model needs (a graph, IR version, one opset
    /// of the default domain in range): the model and that opset.
    let private parseModel (bytes: byte[]) : ModelProto * int =
        Check.notNull "bytes" bytes
        // Protobuf reads zero bytes as a model with nothing set: said as what it is, not as a model without a graph.
        if bytes.Length = 0 then bad "The bytes are empty (0 bytes): there is no ONNX model in them."
        // A Functional.NN model file (under an .onnx name, say) is named as what it is, not as a damaged protobuf.
        if bytes.Length >= ModelContainer.magic.Length && ReadOnlySpan(bytes, 0, ModelContainer.magic.Length).SequenceEqual(ReadOnlySpan ModelContainer.magic) then
            bad "The bytes are a Functional.NN model file (they start with FNNMODEL), not an ONNX model: read them with the ModelFile functions (CLI: rename it to .fnn, the name the command line reads model files by)."
        let model =
            try ModelProto.Parser.ParseFrom bytes
            with
            | :? InvalidProtocolBufferException as e -> bad (sprintf "The bytes are not an ONNX model (damaged or truncated protobuf): %s" e.Message)
            | :? OutOfMemoryException -> reraise ()
            | e -> bad (sprintf "The bytes are not an ONNX model: %s" e.Message)
        let graph = model.Graph
        if isNull graph then bad "The model has no graph."
        if graph.Node.Count > maxNodes then bad (sprintf "The graph has %d nodes; more than %d are refused." graph.Node.Count maxNodes)
        if model.IrVersion < minImportIrVersion then
            bad (sprintf "The model's ir_version is %d; the importer reads IR versions %d to %d (before IR version 3 a model imports no opsets)." model.IrVersion minImportIrVersion maxImportIrVersion)
        if model.IrVersion > maxImportIrVersion then
            bad (sprintf "The model's ir_version is %d; the importer reads IR versions %d to %d (%d, of November 2025, is the newest it knows: a later version may change what the file's fields mean)." model.IrVersion minImportIrVersion maxImportIrVersion maxImportIrVersion)
        let opset =
            let defaults = model.OpsetImport |> Seq.filter (fun o -> o.Domain = "" || o.Domain = "ai.onnx") |> List.ofSeq
            match defaults with
            | [ o ] when o.Version >= int64 minImportOpset && o.Version <= int64 maxImportOpset -> int o.Version
            | [ o ] -> bad (sprintf "The model uses opset %d of the default domain; the importer reads opsets %d to %d." o.Version minImportOpset maxImportOpset)
            | [] -> bad "The model imports no opset of the default domain."
            | _ -> bad "The model imports the default domain more than once."
        model, opset

    /// The model's initialisers by name (each named once) and the library's functions it defines.
    let private contextOf (model: ModelProto) (opset: int) : Context =
        let graph = model.Graph
        let functions = Dictionary<string, FunctionProto>()
        for f in model.Functions do
            if f.Domain = domain then functions.[f.Name] <- f
        let constants = Dictionary<string, TensorProto>()
        for t in graph.Initializer do
            if String.IsNullOrEmpty t.Name then bad "An initialiser has no name."
            if constants.ContainsKey t.Name then bad (sprintf "The initialiser '%s' is defined twice." t.Name)
            constants.[t.Name] <- t
        if graph.SparseInitializer.Count > 0 then bad "The graph has sparse initialisers, which the importer does not read."
        let readers = Dictionary<string, NodeProto>()
        for n in graph.Node do
            for i in n.Input do
                if i <> "" && not (readers.ContainsKey i) then readers.[i] <- n
        let outputs = HashSet<string>(graph.Output |> Seq.map (fun o -> o.Name))
        { Constants = constants; Functions = functions; Opset = opset; Readers = readers; GraphOutputs = outputs
          Stored = constants.Values |> Seq.sumBy storedValues; Read = 0L }

    /// Reads the nodes in order as one chain from the state's current value, each by its entry
    /// of the table; every value a node reads must be in `defined` (the graph input, an
    /// initialiser, a Constant or an earlier node's output), to which its outputs are added.
    let private walk (ctx: Context) (defined: HashSet<string>) (start: State) (nodes: NodeProto seq) : State =
        let mutable state = start
        for node in nodes do
            for i in node.Input do
                if i <> "" && not (defined.Contains i) then
                    fail node (sprintf "it reads '%s', which no earlier node, initialiser or graph input defines." i)
            if state.Softmax then fail node "it follows the Softmax; the importer reads a Softmax only as the graph's last node."
            if node.Domain = "" || node.Domain = "ai.onnx" then
                if node.OpType = "Constant" then
                    if node.Output.Count <> 1 || node.Input.Count <> 0 then fail node "a Constant has no inputs and one output."
                    let a = attrs node [ "value" ]
                    match a.TryGetValue "value" with
                    | true, v when v.Type = AttributeProto.Types.AttributeType.Tensor && not (isNull v.T) ->
                        let t = v.T.Clone()
                        t.Name <- node.Output.[0]
                        ctx.Constants.[node.Output.[0]] <- t
                        ctx.Stored <- ctx.Stored + storedValues t
                    | _ -> fail node "a Constant is read only with a tensor 'value'."
                else
                    match readers.TryGetValue node.OpType with
                    | true, reader -> state <- reader ctx state node
                    | _ -> fail node (sprintf "operator %s is outside the family the importer reads (dense layers, activations, Dropout, BatchNormalization, LayerNormalization, residual Adds, a trailing Softmax)." node.OpType)
            elif node.Domain = domain then state <- libraryFunction ctx state node
            else fail node (sprintf "operator %s of domain '%s' is not one the importer reads." node.OpType node.Domain)
            for o in node.Output do
                if o <> "" then
                    if not (defined.Add o) then fail node (sprintf "its output '%s' is already defined." o)
        state

    /// The network of a finished walk, in the graph's precision.
    let private networkOf (state: State) : Network =
        if List.isEmpty state.Blocks then bad "The graph has no block."
        // Activations, Dropout and residual Adds of them keep whatever width they are given; a network
        // needs a layer that fixes it (said in the graph's operators, before Network.ofBlocks says it in blocks').
        if state.Blocks |> List.forall (fun b -> (Block.inputWidth b).IsNone) then
            bad "The graph has no layer that fixes the network's width (a Gemm, a MatMul, a BatchNormalization, a LayerNormalization or the library's BatchNorm_double or LayerNorm_double): only activations, Dropout, Identity or residual Adds of them, which the importer cannot build a network of, whatever width the graph's input declares."
        let net =
            try Network.ofBlocks (List.rev state.Blocks)
            with :? ArgumentException as e -> bad (sprintf "The layers do not fit together: %s" (plain e))
        if state.Precision = Precision.Float64 then net
        else
            try Network.withPrecision Precision.Float32 net
            with :? ArgumentException as e -> bad (sprintf "A FLOAT model's weights do not fit float32: %s" (plain e))

    /// The model's metadata as a dictionary (a key given twice is refused).
    let private metadataOf (model: ModelProto) =
        let meta = Dictionary<string, string>(StringComparer.Ordinal)
        for e in model.MetadataProps do
            if meta.ContainsKey e.Key then bad (sprintf "The model's metadata holds the key '%s' twice." e.Key)
            meta.[e.Key] <- e.Value
        meta

    /// The metadata keys the exporter writes for a pipeline (OnnxExport.pipelineModelCapped) and
    /// readPipeline reads.
    let private pipelineMetadataKeys =
        [ "functional_nn.kind"; "functional_nn.precision"; "feature_names"; "target_name"; "loss"; "class_names"
          "categories"; "missing"; "unknown_category"; "scaler_kind"; "target_scaler_kind" ]

    let private isPipelineModel (model: ModelProto) =
        model.MetadataProps |> Seq.exists (fun e -> e.Key = "functional_nn.kind" && e.Value = "pipeline")

    /// True when the bytes are a model the library wrote for a pipeline (its metadata says so).
    let isPipeline (bytes: byte[]) : bool =
        let model, _ = parseModel bytes
        isPipelineModel model

    /// Reads a model's bytes into a network.
    let read (bytes: byte[]) : OnnxImportResult =
        let model, opset = parseModel bytes
        let graph = model.Graph
        let ctx = contextOf model opset
        let constants = ctx.Constants
        // The one data input: a graph input that is not an initialiser (older files list both).
        let inputs = graph.Input |> Seq.filter (fun v -> not (constants.ContainsKey v.Name)) |> List.ofSeq
        let input =
            match inputs with
            | [ v ] -> v
            | [] -> bad "The graph has no data input."
            | vs -> bad (sprintf "The graph has %d data inputs (%s); the importer reads graphs of one input." vs.Length (String.Join(", ", vs |> List.map (fun v -> v.Name))))
        let tt = valueType input
        let precision, elemType =
            match tt.ElemType with
            | 1 -> Precision.Float32, floatType
            | 11 -> Precision.Float64, doubleType
            | t -> bad (sprintf "The graph's input '%s' holds %s values; the importer reads FLOAT and DOUBLE models." input.Name (typeName t))
        // The number of features: the input's second dimension, or (when it is symbolic or the
        // shape is not given) whatever the first layer takes (-1 until then).
        let width =
            if isNull tt.Shape then -1
            elif tt.Shape.Dim.Count <> 2 then bad (sprintf "The graph's input '%s' has %d dimensions; the importer reads a matrix (batch x features)." input.Name tt.Shape.Dim.Count)
            else
                let d = tt.Shape.Dim.[1]
                if d.ValueCase <> TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue then -1
                elif d.DimValue <= 0L || d.DimValue > maxElements then bad (sprintf "The graph's input '%s' has %d features; it needs a positive number." input.Name d.DimValue)
                else int d.DimValue
        let output =
            match List.ofSeq graph.Output with
            | [ o ] -> o
            | os ->
                if isPipelineModel model then bad (sprintf "The model is a Functional.NN pipeline export (%d outputs), not a network: read it with Onnx.importPipeline (fnn import and fnn predict read both)." os.Length)
                bad (sprintf "The graph has %d outputs; the importer reads graphs of one output." os.Length)
        let defined = HashSet<string>(constants.Keys)
        defined.Add input.Name |> ignore
        let start = { Blocks = []; Count = 0; Pending = None; Points = Map.empty; Marked = []; Current = input.Name; Width = width; Softmax = false; Precision = precision; ElemType = elemType } |> mark
        let state = close (walk ctx defined start graph.Node) Activation.Identity
        if output.Name <> state.Current then
            bad (sprintf "The graph's output '%s' is not the end of the chain of layers ('%s')." output.Name state.Current)
        let net = networkOf state
        // The output's declared element type and width must be what the graph computes (ONNX
        // Runtime refuses a mismatch): a type or shape left out is not checked.
        if not (isNull output.Type) && not (isNull output.Type.TensorType) then
            let ot = output.Type.TensorType
            if ot.ElemType <> 0 && ot.ElemType <> elemType then
                bad (sprintf "The graph's output '%s' is declared %s, but the graph computes in %s (its input '%s')." output.Name (typeName ot.ElemType) (typeName elemType) input.Name)
            if not (isNull ot.Shape) then
                if ot.Shape.Dim.Count <> 2 then
                    bad (sprintf "The graph's output '%s' is declared with %d dimensions; the network gives a matrix (batch x %d outputs)." output.Name ot.Shape.Dim.Count net.OutputSize)
                let d = ot.Shape.Dim.[1]
                if d.ValueCase = TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue <> int64 net.OutputSize then
                    bad (sprintf "The graph's output '%s' is declared %d wide, but the network gives %d outputs." output.Name d.DimValue net.OutputSize)
        let producer = (model.ProducerName + " " + model.ProducerVersion).Trim()
        { Network = net; TrailingSoftmax = state.Softmax; InputName = input.Name; OutputName = output.Name; Opset = opset; Producer = producer }

    /// Reads a pipeline the library exported (OnnxExport.pipelineModel) back into a pipeline:
    /// the names, the loss and the preprocessor's categories and policies from the metadata, the
    /// fill values, the scaler and the target scaler from their initialisers, the network from
    /// its chain of layers (read as `read` reads a network). The metadata must agree with the rest
    /// where that is decidable (a non-empty target_name; mse or half_mse for a regressor; scaler
    /// kind none only over offset 0 and scale 1; standard against minmax, or one fill policy
    /// against another, the stored values cannot tell). The file is then accepted only when
    /// it is exactly what the exporter writes for that pipeline at the file's opset (every node,
    /// initialiser, input, output, function, opset import and metadata entry the exporter writes,
    /// spelled as it writes it), so what an ONNX runtime computes with the file
    /// is what the pipeline computes; anything else is an OnnxFormatException naming the first
    /// node or the metadata entry that differs, or, for a file without the guard for refused rows (the nodes
    /// 'refused.*', written by versions of the library before it), saying so and to export the
    /// pipeline again from its .fnn model.
    let readPipeline (bytes: byte[]) : Pipeline =
        let model, opset = parseModel bytes
        let meta = metadataOf model
        if not (isPipelineModel model) then
            bad "The model is not a Functional.NN pipeline export (its metadata has no functional_nn.kind = pipeline); read its network with Onnx.importNetwork."
        if opset < minOpset || opset > maxOpset then
            bad (sprintf "The pipeline uses opset %d; the library writes pipelines at opsets %d to %d." opset minOpset maxOpset)
        let text key =
            match meta.TryGetValue key with
            | true, v -> v
            | _ -> bad (sprintf "The pipeline's metadata has no '%s'." key)
        let json (key: string) (parse: string -> 'T) (fallback: 'T) : 'T =
            match meta.TryGetValue key with
            | true, v ->
                let parsed =
                    try parse v
                    with e -> bad (sprintf "The pipeline's metadata '%s' is not the JSON the exporter writes: %s" key e.Message)
                if isNull (box parsed) then bad (sprintf "The pipeline's metadata '%s' is null." key)
                parsed
            | _ -> fallback
        let strings (v: string) = Text.Json.JsonSerializer.Deserialize<string[]> v
        let stringArrays (v: string) = Text.Json.JsonSerializer.Deserialize<string[][]> v
        let parsed key (parse: string -> 'a option) (fallback: 'a option) =
            match meta.TryGetValue key, fallback with
            | (true, v), _ -> match parse v with Some x -> x | None -> bad (sprintf "The pipeline's metadata '%s' is '%s', which the library does not know." key v)
            | _, Some f -> f
            | _ -> bad (sprintf "The pipeline's metadata has no '%s'." key)
        let featureNames = json "feature_names" strings null
        if isNull featureNames then bad "The pipeline's metadata has no 'feature_names'."
        let classNames = json "class_names" strings [||]
        if featureNames |> Array.exists isNull || classNames |> Array.exists isNull then bad "The pipeline's metadata holds a null feature or class name."
        let targetName = text "target_name"
        // What the metadata says must agree with the rest of the file where that is decidable: the
        // exporter writes the target column's name (never empty), and a regressor's loss is one of
        // the losses a regressor trains with (PipelineFit.checkTask); a classifier trains with any.
        if targetName = "" then
            bad "The pipeline's metadata 'target_name' is empty; the exporter writes the target column's name there, which the pipeline reads its target by."
        let loss = parsed "loss" Loss.tryParse None
        if classNames.Length = 0 && not (loss = Loss.MeanSquaredError || loss = Loss.HalfMeanSquaredError) then
            bad (sprintf "The pipeline's metadata 'loss' is '%s', a classification loss, but the metadata gives no class names, which makes the pipeline a regressor; a regressor's loss is mse or half_mse." meta.["loss"])
        let precision = parsed "functional_nn.precision" Precision.tryParse None
        let categories = json "categories" stringArrays (Array.create featureNames.Length [||])
        if categories |> Array.exists (fun c -> isNull c || Array.exists isNull c) then bad "The pipeline's metadata 'categories' holds null."
        let missing = parsed "missing" Preprocessor.tryParseMissing (Some MissingPolicy.Error)
        let unknown = parsed "unknown_category" Preprocessor.tryParseUnknown (Some UnknownCategory.Error)
        let scalerKind = parsed "scaler_kind" Scaler.tryParseKind None
        let targetKind = parsed "target_scaler_kind" Scaler.tryParseKind (Some ScalingKind.Standard)
        let ctx = contextOf model opset
        let vector name =
            match ctx.Constants.TryGetValue name with
            | true, t ->
                let dims, values, et = tensorValues null t
                if et <> doubleType || dims.Length <> 1 then bad (sprintf "The initialiser '%s' is not a DOUBLE vector, as the exporter writes it." name)
                Some values
            | _ -> None
        let part (what: string) (make: unit -> 'a) =
            try make ()
            with :? ArgumentException as e -> bad (sprintf "The pipeline's %s is not valid: %s" what (plain e))
        // A scaler whose kind is "none" (no scaling) has offset 0 and scale 1 in every column; for the
        // other kinds the values alone do not say how they were fitted (standard and minmax both
        // give an offset and a positive scale per column), so only "none" is checked against them.
        let checkKind (key: string) (offsetName: string) (scaleName: string) (kind: ScalingKind) (offset: float[]) (scale: float[]) =
            if kind = ScalingKind.Identity then
                match Seq.zip offset scale |> Seq.tryFindIndex (fun (o, s) -> o <> 0.0 || s <> 1.0) with
                | Some j ->
                    let r (v: float) = v.ToString("R", CultureInfo.InvariantCulture)
                    bad (sprintf "The pipeline's metadata '%s' is '%s' (no scaling), but the initialisers '%s' and '%s' scale column %d (offset %s, scale %s); a scaler of kind none has offset 0 and scale 1 in every column." key meta.[key] offsetName scaleName j (r offset.[j]) (r scale.[j]))
                | None -> ()
        let fill = match vector "impute.fill" with Some v -> v | None -> [||]
        let preprocessor = part "preprocessor" (fun () -> Preprocessor.create categories missing fill unknown)
        let scaler =
            match vector "scaler.offset", vector "scaler.scale" with
            | Some o, Some s ->
                let scaler = part "scaler" (fun () -> Scaler.create scalerKind o s)
                checkKind "scaler_kind" "scaler.offset" "scaler.scale" scalerKind o s
                scaler
            | None, None -> { Scaler.identity preprocessor.OutputWidth with Kind = scalerKind }
            | _ -> bad "The pipeline has one of the initialisers 'scaler.offset' and 'scaler.scale' but not the other."
        let targetScaler =
            if classNames.Length > 0 then Scaler.identity 0
            else
                match vector "target.offset", vector "target.scale" with
                | Some o, Some s ->
                    let scaler = part "target scaler" (fun () -> Scaler.create targetKind o s)
                    // (Without the key the kind is standard, which any values agree with.)
                    checkKind "target_scaler_kind" "target.offset" "target.scale" targetKind o s
                    scaler
                | _ -> bad "The pipeline is a regressor (no class names) but lacks the initialisers 'target.offset' and 'target.scale'."
        // The network: the nodes the exporter names "network.layer<i>...", in order, as one chain.
        let graph = model.Graph
        let layerNodes = graph.Node |> Seq.filter (fun n -> n.Name.StartsWith("network.layer", StringComparison.Ordinal)) |> List.ofSeq
        let first =
            match layerNodes with
            | n :: _ when n.Input.Count > 0 -> n
            | n :: _ -> fail n "it has no input."
            | [] -> bad "The pipeline has no network layers (nodes named network.layer<i>)."
        let defined = HashSet<string>(ctx.Constants.Keys)
        defined.Add first.Input.[0] |> ignore
        let start = { Blocks = []; Count = 0; Pending = None; Points = Map.empty; Marked = []; Current = first.Input.[0]; Width = -1; Softmax = false; Precision = precision; ElemType = elementType precision } |> mark
        let state = close (walk ctx defined start layerNodes) Activation.Identity
        let net = networkOf state
        let pipeline =
            part "structure" (fun () -> Pipeline.createWith preprocessor featureNames scaler net loss targetName classNames targetScaler)
        // The file must be exactly what the exporter writes for this pipeline.
        let expected =
            try ModelProto.Parser.ParseFrom(OnnxExport.pipelineModel opset pipeline)
            with :? ArgumentException as e ->
                bad (sprintf "The pipeline the file describes cannot be written back by the exporter at opset %d, so the file is not one of its exports: %s" opset (plain e))
        let g, e = graph, expected.Graph
        // The exporter's guard for refused rows (OnnxExport.refusedRows): a file without it was written
        // by an earlier version of the library, whose outputs were confident answers on such rows.
        let isGuard (n: NodeProto) = n.Name = "refused" || n.Name.StartsWith("refused.", StringComparison.Ordinal)
        if Seq.exists isGuard e.Node && not (Seq.exists isGuard g.Node) then
            bad "The pipeline was written by an earlier version of the library, without the guard for refused values (the nodes 'refused.*', which give a row the library refuses, such as one with an infinity, a missing value the policy does not fill or a text code that is not a category index, NaN outputs and class index -1); this version does not read that form. Export the pipeline again from its .fnn model (fnn export --model <file>.fnn --out <file>.onnx, or Onnx.exportPipeline)."
        for i in 0 .. max g.Node.Count e.Node.Count - 1 do
            if i >= g.Node.Count then
                bad (sprintf "The graph ends before the node '%s' (%s) that the exporter writes for the pipeline its metadata and initialisers describe." e.Node.[i].Name e.Node.[i].OpType)
            elif i >= e.Node.Count then
                fail g.Node.[i] "it is more than the exporter writes for the pipeline the metadata and initialisers describe."
            elif not (g.Node.[i].Equals e.Node.[i]) then
                fail g.Node.[i] (sprintf "it is not what the exporter writes for the pipeline the metadata and initialisers describe (node %d there is '%s', %s, reading %s)." i e.Node.[i].Name e.Node.[i].OpType (String.Join(", ", e.Node.[i].Input)))
        for i in 0 .. max g.Initializer.Count e.Initializer.Count - 1 do
            if i >= g.Initializer.Count || i >= e.Initializer.Count || not (g.Initializer.[i].Equals e.Initializer.[i]) then
                let name = if i < g.Initializer.Count then g.Initializer.[i].Name else e.Initializer.[i].Name
                bad (sprintf "The initialiser '%s' (number %d) is not what the exporter writes for the pipeline the metadata and initialisers describe." name i)
        if not (g.Input.Equals e.Input) then bad "The graph's input is not what the exporter writes for this pipeline (name 'features', DOUBLE, one column per feature name)."
        if not (g.Output.Equals e.Output) then bad "The graph's outputs are not what the exporter writes for this pipeline's loss and classes."
        if not (model.Functions.Equals expected.Functions) then bad "The model's functions are not what the exporter writes for this pipeline's activations."
        if not (model.OpsetImport.Equals expected.OpsetImport) then bad "The model's opset imports are not what the exporter writes."
        // The metadata: each entry the exporter writes for this pipeline, with the same value (the
        // same spelling), and none of the entries the importer reads that the exporter would not
        // write for it (target_scaler_kind on a classifier, say). Other keys (notes a tool adds) pass.
        let shown (v: string) = if v.Length <= 120 then v else v.Substring(0, 120) + "..."
        let written = HashSet<string>(StringComparer.Ordinal)
        for entry in expected.MetadataProps do
            written.Add entry.Key |> ignore
            match meta.TryGetValue entry.Key with
            | true, v when v = entry.Value -> ()
            | true, v -> bad (sprintf "The pipeline's metadata '%s' is '%s', but the exporter writes '%s' there for the pipeline the file describes." entry.Key (shown v) (shown entry.Value))
            | _ -> bad (sprintf "The pipeline's metadata has no '%s', which the exporter writes ('%s') for the pipeline the file describes." entry.Key (shown entry.Value))
        for key in pipelineMetadataKeys do
            if meta.ContainsKey key && not (written.Contains key) then
                bad (sprintf "The pipeline's metadata has '%s', which the exporter does not write for the pipeline the file describes (a %s)." key (if classNames.Length > 0 then "classifier" else "regressor"))
        pipeline
