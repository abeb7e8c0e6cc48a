namespace Functional.NN

open System
open System.Buffers.Binary
open Google.Protobuf
open Functional.NN.OnnxProto

/// An ONNX file or graph that cannot be imported: damaged, truncated or inconsistent (sizes,
/// shapes, dangling inputs, external data, element types), or an operator or pattern outside the
/// family the library imports. `NodeName` and `OperatorType` name the node at fault ("" when the
/// fault is not in a node, e.g. a truncated file). A node's name is optional in ONNX: for a node
/// the file leaves unnamed, `NodeName` is "" and the message names it by its operator and its
/// first output ("The unnamed Relu node giving 'h': ...").
type OnnxFormatException(message: string, nodeName: string, operatorType: string) =
    inherit ModelFormatException(message)
    /// The name of the node at fault, or "" (no node, or a node without a name).
    member _.NodeName = nodeName
    /// The operator (op_type) of the node at fault, or "".
    member _.OperatorType = operatorType

/// What the exporter writes and the importer reads: names, versions and the element types.
/// Shared by OnnxExport and OnnxImport so that the two stay one table.
module internal OnnxCommon =

    /// ONNX IR version written (8: ONNX 1.10 to 1.12, which model-local functions need).
    let irVersion = 8L
    /// The opsets the exporter writes (13 to 17) and the default.
    let minOpset, maxOpset, defaultOpset = 13, 17, 17
    /// The opsets of the default domain the importer reads.
    let minImportOpset, maxImportOpset = 9, 22
    /// The IR versions the importer reads: 3 (the first with opset imports) to 13 (published in
    /// November 2025, the newest the importer knows; also the newest ONNX Runtime 1.31 reads).
    /// IR 9 to 13 added element types (float8, int4, float4, int2), which the importer refuses by
    /// type, and fields it does not read (function attribute defaults and overloads, metadata on
    /// nodes and graphs, multi-device configurations); a later IR version may change what a
    /// field means, so it is refused.
    let minImportIrVersion, maxImportIrVersion = 3L, 13L
    /// The domain of the library's model-local functions (patterns with no single ONNX operator).
    let domain = "ai.functional_nn"
    /// TensorProto.DataType codes.
    let floatType, doubleType, int64Type, boolType = 1, 11, 7, 9

    /// float32's smallest normal value, 2^-126 (about 1.1755e-38).
    let float32MinNormal = Math.Pow(2.0, -126.0)

    /// Why a float32 (FLOAT) model cannot carry a normalisation epsilon `e`, or None when it can:
    /// below float32's smallest normal value, float32 stores it as 0 or a subnormal, which runtimes
    /// flush to 0, so that ONNX Runtime gives NaN for a row of equal values where the library gives
    /// a number. The one rule of the exporter (which refuses such a network) and the importer
    /// (which refuses such a file, as the exporter could not write it back).
    let float32EpsilonProblem (e: float) : string option =
        if e < float32MinNormal then
            Some (sprintf "epsilon %s, below float32's smallest normal value (about 1.1755e-38): in a float32 ONNX model it becomes 0 or a subnormal, and ONNX Runtime then gives NaN for a row of equal values where the library gives a number" (e.ToString("R", Globalization.CultureInfo.InvariantCulture)))
        else None

    let elementType (p: Precision) = match p with Precision.Float32 -> floatType | Precision.Float64 -> doubleType
    let typeName (t: int) =
        match t with
        | 1 -> "FLOAT" | 11 -> "DOUBLE" | 7 -> "INT64" | 9 -> "BOOL" | 10 -> "FLOAT16" | 16 -> "BFLOAT16"
        | 6 -> "INT32" | 2 -> "UINT8" | 3 -> "INT8" | 8 -> "STRING" | t -> sprintf "type %d" t

    /// A FLOAT or DOUBLE tensor of the given shape from float64 values (rounded for FLOAT, which
    /// is exact for the values of a Float32 network), stored little-endian in raw_data.
    let tensor (name: string) (elemType: int) (dims: int list) (values: float[]) : TensorProto =
        let t = TensorProto(Name = name, DataType = elemType)
        for d in dims do t.Dims.Add(int64 d)
        let bytes =
            if elemType = floatType then
                let b = Array.zeroCreate (4 * values.Length)
                values |> Array.iteri (fun i v -> BinaryPrimitives.WriteSingleLittleEndian(Span<byte>(b, 4 * i, 4), float32 v))
                b
            else
                let b = Array.zeroCreate (8 * values.Length)
                values |> Array.iteri (fun i v -> BinaryPrimitives.WriteDoubleLittleEndian(Span<byte>(b, 8 * i, 8), v))
                b
        t.RawData <- ByteString.CopyFrom bytes
        t

    /// An INT64 tensor.
    let int64Tensor (name: string) (dims: int list) (values: int64[]) : TensorProto =
        let t = TensorProto(Name = name, DataType = int64Type)
        for d in dims do t.Dims.Add(int64 d)
        t.Int64Data.Add values
        t

    let attrInt (name: string) (v: int64) = AttributeProto(Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v)
    let attrFloat (name: string) (v: float32) = AttributeProto(Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v)
    let attrTensor (name: string) (t: TensorProto) = AttributeProto(Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = t)

    /// A node of the default domain (or of `domain` when given).
    let nodeIn (nodeDomain: string) (op: string) (name: string) (inputs: string list) (outputs: string list) (attrs: AttributeProto list) : NodeProto =
        let n = NodeProto(OpType = op, Name = name)
        if nodeDomain <> "" then n.Domain <- nodeDomain
        n.Input.Add inputs
        n.Output.Add outputs
        n.Attribute.Add attrs
        n

    let node op name inputs outputs attrs = nodeIn "" op name inputs outputs attrs

    // ---- model-local functions: patterns with no single ONNX operator -------------------------
    // Each is written by the exporter and recognised by the importer, which accepts a call only
    // when the model's definition of the function is exactly this one (so what ONNX Runtime runs
    // is what the library computes).

    /// The name of the step function for an element type: "Step_float" or "Step_double".
    let stepName (elemType: int) = if elemType = floatType then "Step_float" else "Step_double"

    /// The step s(z) = 1 for z >= 0, else 0: Cast(GreaterOrEqual(z, 0)) to the element type.
    let stepFunction (opset: int) (elemType: int) : FunctionProto =
        let f = FunctionProto(Name = stepName elemType, Domain = domain, DocString = "step(z) = 1 for z >= 0, else 0 (Functional.NN's Step activation)")
        f.Input.Add "z"
        f.Output.Add "y"
        f.OpsetImport.Add(OperatorSetIdProto(Domain = "", Version = int64 opset))
        f.Node.Add(node "Constant" "zero" [] [ "zero" ] [ attrTensor "value" (tensor "" elemType [] [| 0.0 |]) ])
        f.Node.Add(node "GreaterOrEqual" "ge" [ "z"; "zero" ] [ "b" ] [])
        f.Node.Add(node "Cast" "cast" [ "b" ] [ "y" ] [ attrInt "to" (int64 elemType) ])
        f

    /// The name of the float64 softplus function.
    let softplusName = "Softplus_double"

    /// softplus(z) = relu(z) + log1p(exp(-|z|)) with the library's log1p (Activation.log1p:
    /// u = 1 + e; e when u = 1, else log(u) e / (u - 1)), in float64: ONNX Runtime has no float64
    /// Softplus kernel, and this is also exactly the library's formula.
    let softplusFunction (opset: int) : FunctionProto =
        let f = FunctionProto(Name = softplusName, Domain = domain, DocString = "softplus(z) = relu(z) + log1p(exp(-|z|)) in float64 (Functional.NN's Softplus activation)")
        f.Input.Add "z"
        f.Output.Add "y"
        f.OpsetImport.Add(OperatorSetIdProto(Domain = "", Version = int64 opset))
        let n op name inputs = node op name inputs [ name ] []
        f.Node.Add(node "Constant" "one" [] [ "one" ] [ attrTensor "value" (tensor "" doubleType [] [| 1.0 |]) ])
        f.Node.Add(n "Abs" "a" [ "z" ])
        f.Node.Add(n "Neg" "na" [ "a" ])
        f.Node.Add(n "Exp" "e" [ "na" ])
        f.Node.Add(n "Add" "u" [ "one"; "e" ])
        f.Node.Add(n "Equal" "small" [ "u"; "one" ])
        f.Node.Add(n "Log" "lu" [ "u" ])
        f.Node.Add(n "Mul" "num" [ "lu"; "e" ])
        f.Node.Add(n "Sub" "den" [ "u"; "one" ])
        f.Node.Add(n "Div" "q" [ "num"; "den" ])
        f.Node.Add(n "Where" "r" [ "small"; "e"; "q" ])
        f.Node.Add(n "Relu" "p" [ "z" ])
        f.Node.Add(node "Add" "y" [ "p"; "r" ] [ "y" ] [])
        f

    /// The name of the float64 leaky ReLU function.
    let leakyReluName = "LeakyRelu_double"

    /// leaky_relu(z, slope) = z where z > 0, else slope z: Where(Greater(z, 0), z, Mul(slope, z)),
    /// the library's formula, with the slope a DOUBLE input (LeakyRelu's alpha is only a float32,
    /// and ONNX Runtime has no float64 PRelu before opset 16).
    let leakyReluFunction (opset: int) : FunctionProto =
        let f = FunctionProto(Name = leakyReluName, Domain = domain, DocString = "leaky_relu(z, slope) = z for z > 0, else slope z, in float64 (Functional.NN's LeakyReLU activation)")
        f.Input.Add [ "z"; "slope" ]
        f.Output.Add "y"
        f.OpsetImport.Add(OperatorSetIdProto(Domain = "", Version = int64 opset))
        f.Node.Add(node "Constant" "zero" [] [ "zero" ] [ attrTensor "value" (tensor "" doubleType [] [| 0.0 |]) ])
        f.Node.Add(node "Greater" "positive" [ "z"; "zero" ] [ "positive" ] [])
        f.Node.Add(node "Mul" "scaled" [ "slope"; "z" ] [ "scaled" ] [])
        f.Node.Add(node "Where" "y" [ "positive"; "z"; "scaled" ] [ "y" ] [])
        f

    let attrInts (name: string) (vs: int64 list) =
        let a = AttributeProto(Name = name, Type = AttributeProto.Types.AttributeType.Ints)
        a.Ints.Add vs
        a

    /// The name of the float64 batch normalisation function.
    let batchNormName = "BatchNorm_double"

    /// Batch normalisation at inference in float64, the library's formula (BatchNorm.forwardInference):
    /// y = scale (x - mean) r + bias with r = 1 / sqrt(var + eps), eps a DOUBLE input (the
    /// operator's epsilon is only a float32).
    let batchNormFunction (opset: int) : FunctionProto =
        let f = FunctionProto(Name = batchNormName, Domain = domain, DocString = "batch normalisation at inference, y = scale (x - mean) / sqrt(var + eps) + bias, in float64 (Functional.NN's BatchNorm block)")
        f.Input.Add [ "x"; "scale"; "bias"; "mean"; "var"; "eps" ]
        f.Output.Add "y"
        f.OpsetImport.Add(OperatorSetIdProto(Domain = "", Version = int64 opset))
        let n op name inputs = node op name inputs [ name ] []
        f.Node.Add(n "Sub" "d" [ "x"; "mean" ])
        f.Node.Add(n "Add" "v" [ "var"; "eps" ])
        f.Node.Add(n "Sqrt" "s" [ "v" ])
        f.Node.Add(n "Reciprocal" "r" [ "s" ])
        f.Node.Add(n "Mul" "xhat" [ "d"; "r" ])
        f.Node.Add(n "Mul" "sx" [ "scale"; "xhat" ])
        f.Node.Add(node "Add" "y" [ "sx"; "bias" ] [ "y" ] [])
        f

    /// The name of the float64 layer normalisation function.
    let layerNormName = "LayerNorm_double"

    /// Layer normalisation over the last axis in float64, the library's formula (LayerNorm.forward):
    /// per row, mean and biased variance, y = scale (x - mean) r + bias with r = 1 / sqrt(var + eps),
    /// eps a DOUBLE input.
    let layerNormFunction (opset: int) : FunctionProto =
        let f = FunctionProto(Name = layerNormName, Domain = domain, DocString = "layer normalisation over the last axis, y = scale (x - mean) / sqrt(var + eps) + bias, in float64 (Functional.NN's LayerNorm block)")
        f.Input.Add [ "x"; "scale"; "bias"; "eps" ]
        f.Output.Add "y"
        f.OpsetImport.Add(OperatorSetIdProto(Domain = "", Version = int64 opset))
        let n op name inputs = node op name inputs [ name ] []
        f.Node.Add(node "ReduceMean" "mean" [ "x" ] [ "mean" ] [ attrInts "axes" [ -1L ]; attrInt "keepdims" 1L ])
        f.Node.Add(n "Sub" "d" [ "x"; "mean" ])
        f.Node.Add(n "Mul" "dd" [ "d"; "d" ])
        f.Node.Add(node "ReduceMean" "var" [ "dd" ] [ "var" ] [ attrInts "axes" [ -1L ]; attrInt "keepdims" 1L ])
        f.Node.Add(n "Add" "v" [ "var"; "eps" ])
        f.Node.Add(n "Sqrt" "s" [ "v" ])
        f.Node.Add(n "Reciprocal" "r" [ "s" ])
        f.Node.Add(n "Mul" "xhat" [ "d"; "r" ])
        f.Node.Add(n "Mul" "sx" [ "scale"; "xhat" ])
        f.Node.Add(node "Add" "y" [ "sx"; "bias" ] [ "y" ] [])
        f

    /// The library's functions by name, written for a model of the given opset (each function
    /// imports the model's own opset, as onnx.checker requires), as the importer checks them.
    let knownFunction (name: string) (opset: int) : FunctionProto option =
        match name with
        | "Step_float" -> Some (stepFunction opset floatType)
        | "Step_double" -> Some (stepFunction opset doubleType)
        | "Softplus_double" -> Some (softplusFunction opset)
        | "LeakyRelu_double" -> Some (leakyReluFunction opset)
        | "BatchNorm_double" -> Some (batchNormFunction opset)
        | "LayerNorm_double" -> Some (layerNormFunction opset)
        | _ -> None
