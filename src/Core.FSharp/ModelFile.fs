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

    /// An ArgumentException's message without its " (Parameter '...')": for a message that goes
    /// on inside another error, which names its own parameter or none.
    let private messageOf (e: ArgumentException) =
        if isNull e.ParamName then e.Message else e.Message.Replace(sprintf " (Parameter '%s')" e.ParamName, "")

    /// Turns the ArgumentException of a model's own constructor into the file format's error.
    let private rebuild (kind: string) (f: unit -> 'T) : 'T =
        try f ()
        with :? ArgumentException as e -> bad (sprintf "The %s model in the file is inconsistent: %s" kind (messageOf e))

    let private floatsOfMatrix (m: Matrix<float>) =
        ModelValue.Floats ([| m.RowCount; m.ColumnCount |], Array.init (m.RowCount * m.ColumnCount) (fun k -> m.[k / m.ColumnCount, k % m.ColumnCount]))

    let private matrixOf (rows: int, cols: int, values: float[]) =
        Matrix<float>.Build.Dense(rows, cols, fun i j -> values.[i * cols + j])

    let private vector (values: float[]) = ModelValue.Floats ([| values.Length |], Array.copy values)

    /// A matrix in the precision's width: Floats (8 bytes a value) for Float64, Floats32 (4 bytes)
    /// for Float32, whose values are float32 already, so the narrowing is exact.
    let private floatsOfMatrixIn (p: Precision) (m: Matrix<float>) =
        match p with
        | Precision.Float64 -> floatsOfMatrix m
        | Precision.Float32 ->
            ModelValue.Floats32 ([| m.RowCount; m.ColumnCount |], Array.init (m.RowCount * m.ColumnCount) (fun k -> float32 m.[k / m.ColumnCount, k % m.ColumnCount]))

    /// A vector in the precision's width (see `floatsOfMatrixIn`).
    let private vectorIn (p: Precision) (values: float[]) =
        match p with
        | Precision.Float64 -> vector values
        | Precision.Float32 -> ModelValue.Floats32 ([| values.Length |], Array.map float32 values)

    // ---- networks ------------------------------------------------------------------------

    /// The entries of a dense layer at prefix p: "<p>weights" (d_in x d_out), "<p>bias" (d_out;
    /// absent without bias) and "<p>activation" (Activation.name).
    let private denseEntries (precision: Precision) (p: string) (l: Dense) =
        [ yield p + "weights", floatsOfMatrixIn precision l.Weights
          match l.Bias with
          | Some b -> yield p + "bias", vectorIn precision (b.ToArray())
          | None -> ()
          yield p + "activation", ModelValue.Text (Activation.name l.Activation) ]

    /// Raises ArgumentException (ParamName `param`): a custom block (code, not data) at a position.
    let private refuseCustom (param: string) (here: string) (c: ICustomBlock) : 'a =
        Check.fail param (sprintf "Block %s is the custom block '%s', which a model file cannot hold (its code is not data). Save its parameters yourself, or replace it by built-in blocks." here c.Name)

    /// The deepest nesting of residual blocks a file may hold: the deepest a network may have.
    let maxBlockDepth = Block.maxDepth

    /// A network's entries, prefixed. A network of dense layers only is written as before
    /// (format version 1, or 2 for float32): "<p>layers" (count), for a Float32 network
    /// "<p>precision" ("float32"; a Float64 network has no such entry), and for each layer i the
    /// dense entries at "<p>layer<i>." ("weights", "bias" when it has one, "activation"). Any
    /// other network is written as blocks (format version 3): "<p>blocks" (count), the precision as
    /// above, and for each block i at q = "<p>block<i>.": "<q>kind" ("dense", "activation",
    /// "dropout", "batch_norm", "layer_norm" or "residual") and its values: a dense layer's entries;
    /// "<q>activation"; "<q>rate"; "<q>scale", "<q>shift", "<q>running_mean", "<q>running_variance",
    /// "<q>momentum", "<q>epsilon" (batch normalisation; layer normalisation has scale, shift and
    /// epsilon); a residual block's inner blocks as a network at q ("<q>blocks", "<q>block<j>."...).
    /// A Float32 network's arrays are float32 arrays (4 bytes a value). A custom block cannot be
    /// written: ArgumentException (ParamName "net") names it and its position.
    let networkEntries (prefix: string) (net: Network) : (string * ModelValue) list =
        let precision = net.Precision
        if net.IsDense then
            [ yield prefix + "layers", ModelValue.Int (int64 net.Layers.Length)
              if precision <> Precision.Float64 then yield prefix + "precision", ModelValue.Text (Precision.name precision)
              for i, l in List.indexed net.Layers do
                  yield! denseEntries precision (sprintf "%slayer%d." prefix i) l ]
        else
            let vec (v: Vector<float>) = vectorIn precision (v.ToArray())
            let rec blocks (prefix: string) (path: string) (bs: Block list) =
                [ yield prefix + "blocks", ModelValue.Int (int64 bs.Length)
                  for i, b in List.indexed bs do
                      let q = sprintf "%sblock%d." prefix i
                      let here = Block.position path i
                      let kind k = q + "kind", ModelValue.Text k
                      match b with
                      | Block.Dense l ->
                          yield kind "dense"
                          yield! denseEntries precision q l
                      | Block.Activation a ->
                          yield kind "activation"
                          yield q + "activation", ModelValue.Text (Activation.name a)
                      | Block.Dropout rate ->
                          yield kind "dropout"
                          yield q + "rate", ModelValue.Float rate
                      | Block.BatchNorm bn ->
                          yield kind "batch_norm"
                          yield q + "scale", vec bn.Scale
                          yield q + "shift", vec bn.Shift
                          yield q + "running_mean", vec bn.RunningMean
                          yield q + "running_variance", vec bn.RunningVariance
                          yield q + "momentum", ModelValue.Float bn.Momentum
                          yield q + "epsilon", ModelValue.Float bn.Epsilon
                      | Block.LayerNorm ln ->
                          yield kind "layer_norm"
                          yield q + "scale", vec ln.Scale
                          yield q + "shift", vec ln.Shift
                          yield q + "epsilon", ModelValue.Float ln.Epsilon
                      | Block.Residual inner ->
                          yield kind "residual"
                          yield! blocks q here inner
                      | Block.Custom c ->
                          refuseCustom "net" here c ]
            [ if precision <> Precision.Float64 then yield prefix + "precision", ModelValue.Text (Precision.name precision)
              yield! blocks prefix "" net.Blocks ]

    /// The precision of the model of `networkEntries` or `linearEntries`: Float64 when
    /// "<p>precision" is absent.
    let private precisionOf (prefix: string) (e: ModelEntries) : Precision =
        if e.Has(prefix + "precision") then
            match e.Text(prefix + "precision") with
            | "float32" -> Precision.Float32
            | "float64" -> Precision.Float64
            | text -> bad (sprintf "The entry '%sprecision' is '%s'; a model's precision is 'float32' or 'float64'." prefix text)
        else Precision.Float64

    /// The dense layer of the entries at prefix p.
    let private denseOf (precision: Precision) (p: string) (e: ModelEntries) : Dense =
        let rows, cols, w = e.MatrixIn(p + "weights", precision)
        if rows = 0 || cols = 0 then bad (sprintf "The entry '%sweights' has shape [%d, %d]; a layer needs at least one input and one output." p rows cols)
        let bias = if e.Has(p + "bias") then Some (Vector<float>.Build.DenseOfArray(e.VectorIn(p + "bias", cols, precision))) else None
        let act =
            match Activation.tryParse (e.Text(p + "activation")) with
            | Some a -> a
            | None -> bad (sprintf "The entry '%sactivation' is '%s', which is not an activation this library knows." p (e.Text(p + "activation")))
        rebuild "network" (fun () -> Dense.create (matrixOf (rows, cols, w)) bias act)

    /// The innermost part of a network at `prefix` an entry's name belongs to: "<prefix>layer<i>."
    /// or "<prefix>block<i>.", or a part nested in it ("block4.block2."), or None for any other name.
    let rec private partOf (prefix: string) (name: string) : string option =
        let part (word: string) =
            let start = prefix.Length + word.Length
            if not (name.StartsWith(prefix + word, StringComparison.Ordinal)) then None
            else
                let mutable i = start
                while i < name.Length && Char.IsAsciiDigit name.[i] do i <- i + 1
                if i > start && i < name.Length && name.[i] = '.' then Some (name.Substring(0, i + 1)) else None
        match (match part "layer" with Some p -> Some p | None -> part "block") with
        | Some p -> match partOf p name with Some inner -> Some inner | None -> Some p
        | None -> None

    /// Refuses an entry in a layer's or a block's part of the network at `prefix` that the reader
    /// did not read (`ModelEntries.WasRead`): a renamed `layer1.bias` would otherwise load as a
    /// layer without bias, and a layer beyond the count would be dropped in silence. Entries
    /// outside the layers and blocks (a newer library's additions to the model) stay ignored.
    let private refuseUnread (prefix: string) (e: ModelEntries) =
        for name, _ in e.Container.Entries do
            match partOf prefix name with
            | Some part when not (e.WasRead name) ->
                let siblings =
                    e.Container.Entries
                    |> List.choose (fun (n, _) -> if n.StartsWith(part, StringComparison.Ordinal) && e.WasRead n then Some (sprintf "'%s'" n) else None)
                let known =
                    if siblings.IsEmpty then sprintf "the network has no part '%s' (its count of layers or blocks leaves it out, or is missing)" part
                    else sprintf "the entries read at '%s' are %s" part (String.Join(", ", siblings))
                bad (sprintf "The entry '%s' is not one this library reads: %s. The file is damaged, or was written by a newer library that stores more than this one reads." name known)
            | _ -> ()

    /// The network of `networkEntries`, checked: at least one layer or block, shapes and widths
    /// that chain, bias lengths that match, known activations and block kinds (an unknown kind is
    /// named with its position), residual blocks nested at most `maxBlockDepth` deep, a known
    /// precision whose width every array has.
    let networkOf (prefix: string) (e: ModelEntries) : Network =
        let precision = precisionOf prefix e
        let entries = int64 (List.length e.Container.Entries)
        if e.Has(prefix + "blocks") then
            let rec blocks (prefix: string) (path: string) (depth: int) : Block list =
                if depth > maxBlockDepth then bad (sprintf "The residual block at '%s' is nested %d deep; a file may nest residual blocks at most %d deep." prefix depth maxBlockDepth)
                let count = e.IntIn(prefix + "blocks", 1L, entries)
                [ for i in 0 .. count - 1 do
                    let q = sprintf "%sblock%d." prefix i
                    let here = Block.position path i
                    let vec name = Vector<float>.Build.DenseOfArray(e.VectorIn(q + name, -1, precision))
                    match e.Text(q + "kind") with
                    | "dense" -> yield Block.Dense (denseOf precision q e)
                    | "activation" ->
                        match Activation.tryParse (e.Text(q + "activation")) with
                        | Some a -> yield Block.Activation a
                        | None -> bad (sprintf "The entry '%sactivation' is '%s', which is not an activation this library knows." q (e.Text(q + "activation")))
                    | "dropout" ->
                        let rate = e.Float(q + "rate")
                        yield rebuild "network" (fun () -> Dropout.checkRate (q + "rate") rate; Block.Dropout rate)
                    | "batch_norm" ->
                        let bn () = BatchNorm.createWith (vec "scale") (vec "shift") (vec "running_mean") (vec "running_variance") (e.Float(q + "momentum")) (e.Float(q + "epsilon"))
                        yield Block.BatchNorm (rebuild "network" bn)
                    | "layer_norm" ->
                        yield Block.LayerNorm (rebuild "network" (fun () -> LayerNorm.createWith (vec "scale") (vec "shift") (e.Float(q + "epsilon"))))
                    | "residual" -> yield Block.Residual (blocks q here (depth + 1))
                    | kind -> bad (sprintf "Block %s (entry '%skind') is of kind '%s', which this library does not know (it knows dense, activation, dropout, batch_norm, layer_norm and residual)." here q kind) ]
            let bs = blocks prefix "" 0
            refuseUnread prefix e
            rebuild "network" (fun () -> Network.ofBlocks bs |> Network.withPrecision precision)
        else
            let count = e.IntIn(prefix + "layers", 1L, entries)
            let layers = [ for i in 0 .. count - 1 -> denseOf precision (sprintf "%slayer%d." prefix i) e ]
            refuseUnread prefix e
            // Widened float32 values are float32 values, so withPrecision changes none of them.
            rebuild "network" (fun () -> Network.create layers |> Network.withPrecision precision)

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

    /// A preprocessor's entries, only when it does something (a file of a numeric pipeline
    /// without imputation is byte for byte what earlier versions wrote): "preprocess.missing"
    /// (Preprocessor.missingName), "preprocess.unknown" ("error" or "zeros"),
    /// "preprocess.text_columns" (the indices of the text columns), "preprocess.categories.<j>"
    /// for each, and "preprocess.fill" (one value per column) when the policy imputes.
    let private preprocessorEntries (p: Preprocessor) =
        if p.IsIdentity then []
        else
            let text = [| for j in 0 .. p.Width - 1 do if p.Categories.[j].Length > 0 then yield j |]
            [ yield "preprocess.missing", ModelValue.Text (Preprocessor.missingName p.Missing)
              yield "preprocess.unknown", ModelValue.Text (Preprocessor.unknownName p.UnknownCategory)
              yield "preprocess.text_columns", ModelValue.Ints (text |> Array.map int64)
              for j in text do yield sprintf "preprocess.categories.%d" j, ModelValue.Texts (Array.copy p.Categories.[j])
              if p.Fill.Length > 0 then yield "preprocess.fill", vector p.Fill ]

    let private preprocessorOf (width: int) (e: ModelEntries) : Preprocessor =
        if not (e.Has "preprocess.missing") then Preprocessor.identity width
        else
            let missing =
                match Preprocessor.tryParseMissing (e.Text "preprocess.missing") with
                | Some m -> m
                | None -> bad (sprintf "The entry 'preprocess.missing' is '%s', which is not a missing-value policy this library knows." (e.Text "preprocess.missing"))
            let unknown =
                match Preprocessor.tryParseUnknown (e.Text "preprocess.unknown") with
                | Some u -> u
                | None -> bad (sprintf "The entry 'preprocess.unknown' is '%s'; it must be 'error' or 'zeros'." (e.Text "preprocess.unknown"))
            let categories = Array.create width [||]
            for j in e.Ints "preprocess.text_columns" do
                if j < 0L || j >= int64 width then bad (sprintf "The entry 'preprocess.text_columns' holds %d; columns are 0 .. %d." j (width - 1))
                categories.[int j] <- e.Texts(sprintf "preprocess.categories.%d" j)
                if categories.[int j].Length = 0 then bad (sprintf "The entry 'preprocess.categories.%d' is empty; a text column has at least one category." j)
            let fill = if e.Has "preprocess.fill" then e.Vector("preprocess.fill", width) else [||]
            rebuild "pipeline" (fun () -> Preprocessor.create categories missing fill unknown)

    /// A pipeline's entries: its network ("network." prefix), "features", "scaler.*", "loss",
    /// "target", "classes", "target_scaler.*", and the preprocessor's "preprocess.*" when it
    /// imputes or encodes text columns.
    let pipelineEntries (p: Pipeline) : (string * ModelValue) list =
        [ yield! networkEntries "network." p.Network
          yield "features", ModelValue.Texts (Array.copy p.FeatureNames)
          yield! scalerEntries "scaler." p.Scaler
          yield "loss", ModelValue.Text (Loss.name p.Loss)
          yield "target", ModelValue.Text p.TargetName
          yield "classes", ModelValue.Texts (Array.copy p.ClassNames)
          yield! scalerEntries "target_scaler." p.TargetScaler
          yield! preprocessorEntries p.Preprocessor ]

    /// The pipeline of `pipelineEntries`, checked by Pipeline.createWith (a file without
    /// "preprocess.*" entries has the identity preprocessor).
    let pipelineOf (e: ModelEntries) : Pipeline =
        let net = networkOf "network." e
        let loss =
            match Loss.tryParse (e.Text "loss") with
            | Some l -> l
            | None -> bad (sprintf "The entry 'loss' is '%s', which is not a loss this library knows." (e.Text "loss"))
        let features = e.Texts "features"
        let pre = preprocessorOf features.Length e
        rebuild "pipeline" (fun () ->
            Pipeline.createWith pre features (scalerOf "scaler." e) net loss (e.Text "target") (e.Texts "classes") (scalerOf "target_scaler." e))

    // ---- linear models -------------------------------------------------------------------

    /// A linear model's entries: "coefficients" (d x k), "intercept" (k), "has_intercept" (0/1),
    /// "features", "targets" when the model names its outputs (absent otherwise, and in files
    /// written before it existed: such a file loads as a model without target names), when the
    /// model has fill values "missing" (the policy, Preprocessor.missingName: mean, median or
    /// most_frequent) and "fill" (d float64 values, one per feature in the order of "features";
    /// both absent otherwise and in files written before them: such a file loads as a model without
    /// fill values), and for a Float32 model "precision" = "float32" with 4-byte coefficients and
    /// intercept (a Float64 model without target names and fill values has the entries of version
    /// 1, byte for byte).
    let linearEntries (m: LinearModel) : (string * ModelValue) list =
        [ if m.Precision <> Precision.Float64 then yield "precision", ModelValue.Text (Precision.name m.Precision)
          yield "coefficients", floatsOfMatrixIn m.Precision m.Coefficients
          yield "intercept", vectorIn m.Precision (m.Intercept.ToArray())
          yield "has_intercept", ModelValue.Int (if m.HasIntercept then 1L else 0L)
          yield "features", ModelValue.Texts (Array.copy m.FeatureNames)
          if m.TargetNames.Length > 0 then yield "targets", ModelValue.Texts (Array.copy m.TargetNames)
          match m.Fill with
          | Some f ->
              yield "missing", ModelValue.Text (Preprocessor.missingName f.Missing)
              yield "fill", vector f.Values
          | None -> () ]

    /// The fill values of `linearEntries` ("missing" and "fill", both or neither), checked against
    /// the model by LinearModel.withFill.
    let private linearFillOf (e: ModelEntries) (model: LinearModel) : LinearModel =
        match e.Has "missing", e.Has "fill" with
        | false, false -> model
        | true, false -> bad "The file has the entry 'missing' but no entry 'fill'; a linear model's fill values need both."
        | false, true -> bad "The file has the entry 'fill' but no entry 'missing'; a linear model's fill values need both."
        | true, true ->
            let missing =
                match Preprocessor.tryParseMissing (e.Text "missing") with
                | Some (MissingPolicy.Mean | MissingPolicy.Median | MissingPolicy.MostFrequent as m) -> m
                | _ -> bad (sprintf "The entry 'missing' is '%s'; a linear model's fill values go with mean, median or most_frequent." (e.Text "missing"))
            let values = e.Vector("fill", model.InputSize)
            rebuild "linear" (fun () -> LinearModel.withFill missing values model)

    /// The linear model of `linearEntries`, checked by LinearModel.create (and its fill values by
    /// LinearModel.withFill).
    let linearOf (e: ModelEntries) : LinearModel =
        let precision = precisionOf "" e
        let rows, cols, w = e.MatrixIn("coefficients", precision)
        if rows = 0 || cols = 0 then bad (sprintf "The entry 'coefficients' has shape [%d, %d]; it must not be empty." rows cols)
        let b = e.VectorIn("intercept", cols, precision)
        let hasIntercept = e.IntIn("has_intercept", 0L, 1L) = 1
        // Widened float32 values are float32 values, so withPrecision changes none of them.
        rebuild "linear" (fun () ->
            LinearModel.create (matrixOf (rows, cols, w)) (Vector<float>.Build.DenseOfArray b) hasIntercept (e.Texts "features")
            |> LinearModel.withTargetNames (if e.Has "targets" then e.Texts "targets" else [||])
            |> LinearModel.withPrecision precision)
        |> linearFillOf e

    // ---- training checkpoints ----------------------------------------------------------

    let private ints (xs: int seq) = ModelValue.Ints (xs |> Seq.map int64 |> Array.ofSeq)

    /// A checkpoint's record of how it was trained (`TrainedWith`), as "trained.*" entries: the
    /// update rule ("trained.optimizer", Optimizer.name) and its constants in its case's order (a
    /// centred RMSProp's flag as 1 or 0), weight decay, clip norm, the schedule (its kind, its float
    /// constants in order, and a step decay's interval or a cosine's period in
    /// "trained.schedule.steps"), the batching ("full", "stochastic" or "minibatch"), its batch size
    /// and sampling, the seed, the number of samples and whether there was a validation set; for a
    /// network run the loss (Loss.name) and the training and validation data ("trained.data",
    /// "trained.validation_data": rows, input width, target width and the two fingerprints, as
    /// two's-complement int64). None writes nothing (as a file from before the record).
    let private setupEntries (setup: TrainingSetup option) : (string * ModelValue) list =
        match setup with
        | None -> []
        | Some s ->
            let floats (xs: float list) = vector (Array.ofList xs)
            let constants =
                match s.Optimizer.Optimizer with
                | Optimizer.Sgd -> []
                | Optimizer.Momentum (mu, tau) -> [ mu; tau ]
                | Optimizer.Nesterov mu -> [ mu ]
                | Optimizer.AdaGrad (eps, s0) -> [ eps; s0 ]
                | Optimizer.RMSProp (alpha, eps, mu, centered) -> [ alpha; eps; mu; (if centered then 1.0 else 0.0) ]
                | Optimizer.Adam (b1, b2, eps) -> [ b1; b2; eps ]
                | Optimizer.AdamW (b1, b2, eps, lambda) -> [ b1; b2; eps; lambda ]
            let schedule, scheduleConstants, steps =
                match s.Schedule with
                | Schedule.Constant eta -> "constant", [ eta ], None
                | Schedule.InverseSqrt c -> "inverse_sqrt", [ c ], None
                | Schedule.Inverse c -> "inverse", [ c ], None
                | Schedule.StepDecay (eta0, gamma, every) -> "step_decay", [ eta0; gamma ], Some every
                | Schedule.Exponential (eta0, gamma) -> "exponential", [ eta0; gamma ], None
                | Schedule.Cosine (etaMax, etaMin, period) -> "cosine", [ etaMax; etaMin ], Some period
            let batching, size, sampling =
                match s.Batching with
                | Batching.FullBatch -> "full", None, None
                | Batching.Stochastic sampling -> "stochastic", None, Some sampling
                | Batching.MiniBatch (b, sampling) -> "minibatch", Some b, Some sampling
            let data (d: DataRecord) =
                ModelValue.Ints [| int64 d.Rows; int64 d.InputWidth; int64 d.TargetWidth; int64 d.InputsFingerprint; int64 d.TargetsFingerprint |]
            [ yield "trained.optimizer", ModelValue.Text (Optimizer.name s.Optimizer.Optimizer)
              yield "trained.optimizer.constants", floats constants
              yield "trained.weight_decay", ModelValue.Float s.Optimizer.WeightDecay
              yield "trained.clip_norm", ModelValue.Float s.Optimizer.ClipNorm
              yield "trained.schedule", ModelValue.Text schedule
              yield "trained.schedule.constants", floats scheduleConstants
              match steps with Some k -> yield "trained.schedule.steps", ModelValue.Int (int64 k) | None -> ()
              yield "trained.batching", ModelValue.Text batching
              match size with Some b -> yield "trained.batch_size", ModelValue.Int (int64 b) | None -> ()
              match sampling with
              | Some Sampling.WithReplacement -> yield "trained.sampling", ModelValue.Text "with_replacement"
              | Some Sampling.WithoutReplacement -> yield "trained.sampling", ModelValue.Text "without_replacement"
              | None -> ()
              yield "trained.seed", ModelValue.Int s.Seed
              yield "trained.samples", ModelValue.Int (int64 s.SampleCount)
              yield "trained.has_validation", ModelValue.Int (if s.HasValidation then 1L else 0L)
              match s.Network with
              | Some n ->
                  yield "trained.loss", ModelValue.Text (Loss.name n.Loss)
                  yield "trained.data", data n.Data
                  match n.Validation with Some v -> yield "trained.validation_data", data v | None -> ()
              | None -> () ]

    /// The record of `setupEntries` in the checkpoint of network `net`, checked (its options as
    /// training checks them, its counts positive, a network run's rows the sample count, its input
    /// and target widths the network's input and output sizes, and its validation data there
    /// exactly when it had a validation set; the loss and the training data are both there or both
    /// absent); None when the file has no "trained." entries. A file with some "trained." entries
    /// but not "trained.optimizer" is damaged (ModelFormatException naming it).
    let private setupOf (net: Network) (e: ModelEntries) : TrainingSetup option =
        if not (e.Has "trained.optimizer") then
            match e.Container.Entries |> List.tryFind (fun (n, _) -> n.StartsWith "trained.") with
            | Some (n, _) ->
                bad (sprintf "The checkpoint file has the entry '%s' of the record of how it was trained but no entry 'trained.optimizer': the record is incomplete." n)
            | None -> None
        else
            let maxInt = int64 Int32.MaxValue
            let text name = e.Text name
            let unknown name (what: string) = bad (sprintf "The entry '%s' is '%s', which is not %s this library knows." name (text name) what)
            let constants name count = e.Vector(name, count)
            let rule =
                let c n = constants "trained.optimizer.constants" n
                match text "trained.optimizer" with
                | "sgd" -> c 0 |> ignore; Optimizer.Sgd
                | "momentum" -> let k = c 2 in Optimizer.Momentum(k.[0], k.[1])
                | "nesterov" -> let k = c 1 in Optimizer.Nesterov k.[0]
                | "adagrad" -> let k = c 2 in Optimizer.AdaGrad(k.[0], k.[1])
                | "rmsprop" ->
                    let k = c 4
                    if k.[3] <> 0.0 && k.[3] <> 1.0 then bad (sprintf "The entry 'trained.optimizer.constants' holds %s as RMSProp's centred flag; it must be 0 or 1." (string k.[3]))
                    Optimizer.RMSProp(k.[0], k.[1], k.[2], (k.[3] = 1.0))
                | "adam" -> let k = c 3 in Optimizer.Adam(k.[0], k.[1], k.[2])
                | "adamw" -> let k = c 4 in Optimizer.AdamW(k.[0], k.[1], k.[2], k.[3])
                | _ -> unknown "trained.optimizer" "an optimiser"
            let settings = { Optimizer = rule; WeightDecay = e.Float "trained.weight_decay"; ClipNorm = e.Float "trained.clip_norm" }
            rebuild "checkpoint" (fun () -> Optimizer.validate settings)
            let schedule =
                let c n = constants "trained.schedule.constants" n
                let steps () = e.IntIn("trained.schedule.steps", 1L, maxInt)
                match text "trained.schedule" with
                | "constant" -> Schedule.Constant (c 1).[0]
                | "inverse_sqrt" -> Schedule.InverseSqrt (c 1).[0]
                | "inverse" -> Schedule.Inverse (c 1).[0]
                | "step_decay" -> let k = c 2 in Schedule.StepDecay(k.[0], k.[1], steps ())
                | "exponential" -> let k = c 2 in Schedule.Exponential(k.[0], k.[1])
                | "cosine" -> let k = c 2 in Schedule.Cosine(k.[0], k.[1], steps ())
                | _ -> unknown "trained.schedule" "a schedule"
            rebuild "checkpoint" (fun () -> Schedule.validate schedule)
            let sampling () =
                match text "trained.sampling" with
                | "without_replacement" -> Sampling.WithoutReplacement
                | "with_replacement" -> Sampling.WithReplacement
                | _ -> unknown "trained.sampling" "a sampling"
            let batching =
                match text "trained.batching" with
                | "full" -> Batching.FullBatch
                | "stochastic" -> Batching.Stochastic (sampling ())
                | "minibatch" -> Batching.MiniBatch(e.IntIn("trained.batch_size", 1L, maxInt), sampling ())
                | _ -> unknown "trained.batching" "a batching"
            let samples = e.IntIn("trained.samples", 1L, maxInt)
            let hasValidation = e.IntIn("trained.has_validation", 0L, 1L) = 1
            let data name =
                match e.Ints name with
                | [| rows; inputs; targets; fx; fy |] ->
                    let count what (v: int64) =
                        if v < 1L || v > maxInt then bad (sprintf "The entry '%s' gives %d %s; it must lie in 1 .. %d." name v what maxInt) else int v
                    { Rows = count "rows" rows; InputWidth = count "input columns" inputs; TargetWidth = count "target columns" targets
                      InputsFingerprint = uint64 fx; TargetsFingerprint = uint64 fy }
                | values -> bad (sprintf "The entry '%s' has %d values; it holds 5 (rows, input and target widths, two fingerprints)." name values.Length)
            // The data's widths are the network's (training checks the data against it).
            let dataFor name =
                let d = data name
                if d.InputWidth <> net.InputSize then
                    bad (sprintf "The entry '%s' gives %d input columns but the network takes %d inputs." name d.InputWidth net.InputSize)
                if d.TargetWidth <> net.OutputSize then
                    bad (sprintf "The entry '%s' gives %d target columns but the network gives %d outputs." name d.TargetWidth net.OutputSize)
                d
            let network =
                // The loss and the data are written together (a network run's record): "trained.data"
                // or "trained.validation_data" without "trained.loss" is a missing entry.
                if e.Has "trained.loss" || e.Has "trained.data" || e.Has "trained.validation_data" then
                    let loss =
                        match Loss.tryParse (text "trained.loss") with
                        | Some l -> l
                        | None -> unknown "trained.loss" "a loss"
                    let training = dataFor "trained.data"
                    if training.Rows <> samples then
                        bad (sprintf "The entry 'trained.data' gives %d rows but 'trained.samples' %d." training.Rows samples)
                    let validation = if e.Has "trained.validation_data" then Some (dataFor "trained.validation_data") else None
                    if validation.IsSome <> hasValidation then
                        bad (sprintf "The entry 'trained.has_validation' is %d but the file %s 'trained.validation_data'." (if hasValidation then 1 else 0) (if validation.IsSome then "has" else "has no"))
                    Some { Loss = loss; Data = training; Validation = validation }
                else None
            Some { Optimizer = settings; Schedule = schedule; Batching = batching; Seed = e.Int "trained.seed"
                   SampleCount = samples; HasValidation = hasValidation; Network = network }

    /// A network training checkpoint's entries: the network ("network."), the optimiser's step
    /// and buffers ("optimizer.*"), the generator's four words ("rng", as two's-complement
    /// int64), "step", "epoch", the pending batches (their lengths and their indices, flat),
    /// the history by column, early stopping's best network ("best.", absent before one) and its
    /// counters, the elapsed time in ticks, and how it was trained ("trained.*", `setupEntries`;
    /// absent when the checkpoint records nothing). The optimiser's buffers of a Float32 network are
    /// float32 arrays (they hold float32 values, see `Optimizer.stepIn`).
    let checkpointEntries (c: Checkpoint<Network>) : (string * ModelValue) list =
        let h = Array.ofList c.History
        let buffer = vectorIn c.Model.Precision
        [ yield! networkEntries "network." c.Model
          yield "optimizer.step", ModelValue.Int (int64 c.OptimizerState.Step)
          yield "optimizer.velocity", buffer c.OptimizerState.Velocity
          yield "optimizer.first_moment", buffer c.OptimizerState.FirstMoment
          yield "optimizer.second_moment", buffer c.OptimizerState.SecondMoment
          yield "rng", ModelValue.Ints [| int64 c.Rng.S0; int64 c.Rng.S1; int64 c.Rng.S2; int64 c.Rng.S3 |]
          yield "step", ModelValue.Int (int64 c.Step)
          yield "epoch", ModelValue.Int (int64 c.Epoch)
          yield "pending.lengths", ints (c.PendingBatches |> Array.map Array.length)
          yield "pending.indices", ints (Array.concat c.PendingBatches)
          yield "history.epoch", ints (h |> Array.map (fun e -> e.Epoch))
          yield "history.step", ints (h |> Array.map (fun e -> e.Step))
          yield "history.train_loss", vector (h |> Array.map (fun e -> e.TrainLoss))
          yield "history.has_validation", ints (h |> Array.map (fun e -> if e.ValidationLoss.IsSome then 1 else 0))
          yield "history.validation_loss", vector (h |> Array.map (fun e -> defaultArg e.ValidationLoss 0.0))
          yield "history.validation_metric", vector (h |> Array.map (fun e -> defaultArg e.ValidationMetric 0.0))
          yield "history.step_size", vector (h |> Array.map (fun e -> e.StepSize))
          // NaN (not recorded) is stored as 0 with a 0 in "history.has_gradient_norm".
          yield "history.gradient_norm", vector (h |> Array.map (fun e -> if Double.IsNaN e.GradientNorm then 0.0 else e.GradientNorm))
          yield "history.has_gradient_norm", ints (h |> Array.map (fun e -> if Double.IsNaN e.GradientNorm then 0 else 1))
          yield "history.elapsed_ticks", ModelValue.Ints (h |> Array.map (fun e -> e.Elapsed.Ticks))
          match c.Best with
          | Some b ->
              yield! networkEntries "best." b.Model
              yield "best.validation_loss", ModelValue.Float b.ValidationLoss
              yield "best.epoch", ModelValue.Int (int64 b.Epoch)
          | None -> ()
          yield "epochs_without_improvement", ModelValue.Int (int64 c.EpochsWithoutImprovement)
          yield "elapsed_ticks", ModelValue.Int c.Elapsed.Ticks
          yield "epoch.loss_sum", ModelValue.Float c.EpochLossSum
          yield "epoch.samples", ModelValue.Int (int64 c.EpochSamples)
          if not (Double.IsNaN c.LossBaseline) then yield "loss_baseline", ModelValue.Float c.LossBaseline
          // Until L0 is measured, the run's initial network, where a resumed run measures it.
          elif not (obj.ReferenceEquals(c.Initial, c.Model)) then yield! networkEntries "initial." c.Initial
          yield! setupEntries c.TrainedWith ]

    /// The checkpoint of `checkpointEntries`, checked: buffers empty or one entry per parameter,
    /// a generator state that is not all zero, counters that are not negative, batches that are
    /// not empty and hold no negative index, history columns of one length, a best network of
    /// the network's blocks and shapes.
    let checkpointOf (e: ModelEntries) : Checkpoint<Network> =
        let net = networkOf "network." e
        let p = net.ParameterCount
        let buffer name =
            let v = e.VectorIn(name, -1, net.Precision)
            if v.Length <> 0 && v.Length <> p then bad (sprintf "The entry '%s' has %d values; an optimiser buffer is empty or has one value per parameter (%d)." name v.Length p)
            v
        let maxInt = int64 Int32.MaxValue
        let state =
            { Step = e.IntIn("optimizer.step", 0L, maxInt)
              Velocity = buffer "optimizer.velocity"
              FirstMoment = buffer "optimizer.first_moment"
              SecondMoment = buffer "optimizer.second_moment" }
        let rng =
            match e.Ints "rng" with
            | [| a; b; c; d |] -> rebuild "checkpoint" (fun () -> Rng.ofState (uint64 a) (uint64 b) (uint64 c) (uint64 d))
            | words -> bad (sprintf "The entry 'rng' has %d words; the generator's state is 4 words." words.Length)
        let toInts name (xs: int64[]) =
            xs |> Array.map (fun x -> if x < 0L || x > maxInt then bad (sprintf "The entry '%s' holds %d; it must lie in 0 .. %d." name x maxInt) else int x)
        let lengths = toInts "pending.lengths" (e.Ints "pending.lengths")
        let indices = toInts "pending.indices" (e.Ints "pending.indices")
        if lengths |> Array.exists ((=) 0) then bad "The entry 'pending.lengths' holds an empty batch."
        if (lengths |> Array.sumBy int64) <> int64 indices.Length then
            bad (sprintf "The pending batches' lengths add up to %d but there are %d indices." (lengths |> Array.sumBy int64) indices.Length)
        let starts = Array.scan (+) 0 lengths
        let pending = Array.init lengths.Length (fun b -> indices.[starts.[b] .. starts.[b] + lengths.[b] - 1])
        let epochs = toInts "history.epoch" (e.Ints "history.epoch")
        let n = epochs.Length
        let column name = e.Vector(name, n)
        let steps = toInts "history.step" (e.Ints "history.step")
        let hasValidation = toInts "history.has_validation" (e.Ints "history.has_validation")
        let ticks = e.Ints "history.elapsed_ticks"
        if steps.Length <> n || hasValidation.Length <> n || ticks.Length <> n then
            bad (sprintf "The history's columns have different lengths (epoch %d, step %d, has_validation %d, elapsed_ticks %d)." n steps.Length hasValidation.Length ticks.Length)
        if hasValidation |> Array.exists (fun v -> v > 1) then bad "The entry 'history.has_validation' holds a value other than 0 and 1."
        if ticks |> Array.exists (fun t -> t < 0L) then bad "The entry 'history.elapsed_ticks' holds a negative time."
        let trainLoss, valLoss, valMetric = column "history.train_loss", column "history.validation_loss", column "history.validation_metric"
        let stepSize, gradNorm = column "history.step_size", column "history.gradient_norm"
        // Absent from older files, which recorded every gradient norm.
        let hasGradNorm = if e.Has "history.has_gradient_norm" then toInts "history.has_gradient_norm" (e.Ints "history.has_gradient_norm") else Array.create n 1
        if hasGradNorm.Length <> n || hasGradNorm |> Array.exists (fun v -> v > 1) then
            bad "The entry 'history.has_gradient_norm' must hold one 0 or 1 per epoch."
        let history =
            [ for i in 0 .. n - 1 ->
                { Epoch = epochs.[i]; Step = steps.[i]; TrainLoss = trainLoss.[i]
                  ValidationLoss = (if hasValidation.[i] = 1 then Some valLoss.[i] else None)
                  ValidationMetric = (if hasValidation.[i] = 1 then Some valMetric.[i] else None)
                  StepSize = stepSize.[i]; GradientNorm = (if hasGradNorm.[i] = 1 then gradNorm.[i] else Double.NaN); Elapsed = TimeSpan.FromTicks ticks.[i] } ]
        let best =
            // A network of dense layers only is written as layers, any other as blocks.
            if e.Has "best.layers" || e.Has "best.blocks" then
                let b = networkOf "best." e
                // One line per block: its kind, widths, activation, bias and parameter count.
                if Network.describe b <> Network.describe net then
                    bad "The best network in the checkpoint does not have the shape of its network."
                if b.Precision <> net.Precision then
                    bad (sprintf "The best network in the checkpoint is %s but its network is %s." (Precision.name b.Precision) (Precision.name net.Precision))
                Some { Model = b; ValidationLoss = e.Float "best.validation_loss"; Epoch = e.IntIn("best.epoch", 0L, maxInt) }
            else
                // Without its count the best network's entries would be skipped in silence: none is read.
                refuseUnread "best." e
                for name in [ "best.validation_loss"; "best.epoch" ] do
                    if e.Has name then bad (sprintf "The entry '%s' is there but not the best network it belongs to (no 'best.layers' or 'best.blocks'): the file is damaged." name)
                None
        let elapsed = e.Int "elapsed_ticks"
        if elapsed < 0L then bad "The entry 'elapsed_ticks' is negative."
        let trainedWith = setupOf net e
        // The pending batches index the rows the record counts.
        match trainedWith with
        | Some s ->
            match indices |> Array.tryFind (fun i -> i >= s.SampleCount) with
            | Some i ->
                bad (sprintf "The entry 'pending.indices' holds %d, but 'trained.samples' is %d: a pending batch's sample indices lie in 0 .. %d." i s.SampleCount (s.SampleCount - 1))
            | None -> ()
        | None -> ()
        { Model = net
          OptimizerState = state
          Rng = rng
          Step = e.IntIn("step", 0L, maxInt)
          Epoch = e.IntIn("epoch", 0L, maxInt)
          PendingBatches = pending
          History = history
          Best = best
          EpochsWithoutImprovement = e.IntIn("epochs_without_improvement", 0L, maxInt)
          Elapsed = TimeSpan.FromTicks elapsed
          // Absent from files written before the trainer kept the epoch's batch losses: an epoch
          // boundary's values.
          EpochLossSum = (if e.Has "epoch.loss_sum" then e.Float "epoch.loss_sum" else 0.0)
          EpochSamples = (if e.Has "epoch.samples" then e.IntIn("epoch.samples", 0L, maxInt) else 0)
          LossBaseline = (if e.Has "loss_baseline" then e.Float "loss_baseline" else Double.NaN)
          // Absent when L0 was measured (or the checkpoint is a run's start): the network itself.
          Initial =
            if e.Has "initial.layers" || e.Has "initial.blocks" then
                let i = networkOf "initial." e
                if Network.describe i <> Network.describe net || i.Precision <> net.Precision then
                    bad "The initial network in the checkpoint does not have the shape and precision of its network."
                i
            else
                refuseUnread "initial." e
                net
          // Absent from files written before checkpoints recorded it: resuming them is not checked.
          TrainedWith = trainedWith }

    // ---- bytes ---------------------------------------------------------------------------

    let private ofBytes (expected: string) (bytes: byte[]) : ModelEntries =
        let c = ModelContainer.read bytes
        if c.Kind <> expected then bad (sprintf "The file holds a %s model, not a %s model." c.Kind expected)
        ModelEntries c

    /// Save validates what load validates: the bytes of a model are read back by the same reader
    /// that loading uses, and a model whose file could not be loaded (a NaN or infinite value, a
    /// name given twice, an activation or shape the reader refuses) raises ArgumentException
    /// (ParamName `param`) saying what is wrong, before anything is written. A model whose bytes
    /// cannot even be made (a null text) raises the same, saying so; the message of an inner
    /// ArgumentException is kept without its own " (Parameter '...')", so that only `param` is named.
    let private validated (param: string) (what: string) (write: unit -> byte[]) (read: byte[] -> 'T) : byte[] =
        let fail (message: string) : 'a = raise (ArgumentException(sprintf "The %s cannot be saved: %s" what message, param))
        let bytes =
            try write ()
            with
            | :? ArgumentNullException | :? NullReferenceException -> fail "a part of it is null."
            | :? ArgumentException as e -> fail (messageOf e)
        try
            read bytes |> ignore
            bytes
        with :? ModelFormatException as e -> fail ("its file could not be loaded back. " + e.Message)

    /// A network's entries checked for null parts.
    let private notNullNetwork (param: string) (net: Network) =
        Check.notNull param (box net)
        if isNull (box net.Blocks) then Check.fail param "The network's block list is null."
        // A custom block is refused before anything is written, with its name and position.
        let rec custom (path: string) (bs: Block list) =
            bs |> List.iteri (fun i b ->
                let here = Block.position path i
                match b with
                | Block.Custom c ->
                    refuseCustom param here c
                | Block.Residual inner -> custom here inner
                | _ -> ())
        custom "" net.Blocks

    /// A network from file bytes; raises ModelFormatException.
    let networkOfBytes (bytes: byte[]) = networkOf "" (ofBytes "network" bytes)
    /// A network as file bytes (kind "network"); raises ArgumentException (ParamName "net") for a
    /// network whose file could not be loaded back.
    let networkToBytes (net: Network) =
        notNullNetwork "net" net
        validated "net" "network" (fun () -> ModelContainer.write { Kind = "network"; Entries = networkEntries "" net }) networkOfBytes
    /// A pipeline from file bytes; raises ModelFormatException.
    let pipelineOfBytes (bytes: byte[]) = pipelineOf (ofBytes "pipeline" bytes)
    /// A pipeline as file bytes (kind "pipeline"); raises ArgumentException (ParamName
    /// "pipeline") for a pipeline whose file could not be loaded back.
    let pipelineToBytes (p: Pipeline) =
        Check.notNull "pipeline" (box p)
        notNullNetwork "pipeline" p.Network
        validated "pipeline" "pipeline" (fun () -> ModelContainer.write { Kind = "pipeline"; Entries = pipelineEntries p }) pipelineOfBytes
    /// A linear model from file bytes; raises ModelFormatException.
    let linearOfBytes (bytes: byte[]) = linearOf (ofBytes "linear" bytes)
    /// A linear model as file bytes (kind "linear"); raises ArgumentException (ParamName "model")
    /// for a model whose file could not be loaded back.
    let linearToBytes (m: LinearModel) =
        Check.notNull "model" (box m)
        validated "model" "linear model" (fun () -> ModelContainer.write { Kind = "linear"; Entries = linearEntries m }) linearOfBytes

    /// A network training checkpoint from file bytes; raises ModelFormatException.
    let checkpointOfBytes (bytes: byte[]) = checkpointOf (ofBytes "checkpoint" bytes)
    /// A network training checkpoint as file bytes (kind "checkpoint"); raises
    /// ArgumentException (ParamName "checkpoint") for one whose file could not be loaded back.
    let checkpointToBytes (c: Checkpoint<Network>) =
        Check.notNull "checkpoint" (box c)
        notNullNetwork "checkpoint" c.Model
        c.Best |> Option.iter (fun b -> if not (isNull (box b.Model)) then notNullNetwork "checkpoint" b.Model)
        validated "checkpoint" "checkpoint" (fun () -> ModelContainer.write { Kind = "checkpoint"; Entries = checkpointEntries c }) checkpointOfBytes

    /// The kind of model a file's bytes hold ("network", "pipeline", "linear", ...), after
    /// checking the whole container; raises ModelFormatException.
    let kindOfBytes (bytes: byte[]) = (ModelContainer.read bytes).Kind

    // ---- files ---------------------------------------------------------------------------

    /// How many bytes each write of `writeAtomicWith` passes to the stream (`AtomicFile.writeChunk`).
    let writeChunk = AtomicFile.writeChunk

    /// The largest model file read: 1 GiB. A regular file's length is checked before reading; a
    /// device, pipe or other file without a length is read up to this many bytes and refused
    /// when it has more (so an endless stream of zeros costs 1 GiB at most, never more).
    let maxFileBytes = 1L <<< 30

    /// Raises ArgumentException (ParamName `param`) when `path` is empty or blank (as a save
    /// does) or names a directory, and FileNotFoundException naming the path when nothing is
    /// there: the checks every file entry point (model files, CSV files) makes first.
    let checkReadablePath (param: string) (what: string) (path: string) =
        Check.notNull param path
        if String.IsNullOrWhiteSpace path then
            Check.fail param (sprintf "%s is empty; give the %s to read." param what)
        if Directory.Exists path then
            Check.fail param (sprintf "The %s '%s' is a directory, not a file." what path)
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "The %s '%s' does not exist." what path, path))

    /// `readBytesCapped` for a reader of `what` ("model file", "ONNX file"; its messages name it):
    /// a file too large raises `refuse message` ("The file '...' is 2147483648 bytes long; ONNX
    /// files larger than 1073741824 bytes (1 GiB) are refused.").
    let internal readBytesAs (what: string) (refuse: string -> exn) (cap: int64) (path: string) : byte[] =
        checkReadablePath "path" what path
        if cap < 0L || cap > int64 Array.MaxLength then Check.fail "cap" (sprintf "cap must lie in 0 .. %d, but is %d." Array.MaxLength cap)
        let tooLarge (size: string) : 'a =
            raise (refuse (sprintf "The file '%s' is %s; %ss larger than %d bytes%s are refused." path size what cap (if cap = maxFileBytes then " (1 GiB)" else "")))
        // A regular file's length is known before reading; a device or pipe reports 0.
        let length = FileInfo(path).Length
        if length > cap then tooLarge (sprintf "%d bytes long" length)
        use stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan)
        use ms = new MemoryStream()
        let buffer = Array.zeroCreate<byte> 65536
        let mutable total = 0L
        let mutable reading = true
        while reading do
            let want = int (min (int64 buffer.Length) (cap + 1L - total))
            let n = if want <= 0 then 0 else stream.Read(buffer, 0, want)
            if n = 0 then reading <- false
            else
                total <- total + int64 n
                if total > cap then tooLarge (sprintf "longer than %d bytes (it was read up to there)" cap)
                ms.Write(buffer, 0, n)
        ms.ToArray()

    /// A file's bytes, at most `cap` of them: a regular file longer than `cap` is refused before
    /// it is read; any other file (a device such as /dev/zero, a pipe) is read in chunks and
    /// refused as soon as more than `cap` bytes have come, so time and memory stay linear in
    /// min(cap, its size). Raises ModelFormatException for a file too large.
    let readBytesCapped (cap: int64) (path: string) : byte[] =
        readBytesAs "model file" (fun message -> ModelFormatException message :> exn) cap path

    /// A file's bytes for a model reader: `readBytesCapped maxFileBytes`. A file larger than 1 GiB
    /// is refused as a ModelFormatException (a regular file before it is read, a device or pipe
    /// after 1 GiB); a missing file is a FileNotFoundException; an empty or blank path or a
    /// directory an ArgumentException (ParamName "path").
    let readBytes (path: string) : byte[] = readBytesCapped maxFileBytes path

    /// The temporary file's name for a save of `name` (`AtomicFile.tempNameFor`).
    let tempNameFor (name: string) = AtomicFile.tempNameFor name

    /// Whether a save to `path` writes into it in place instead of replacing it (`AtomicFile.writesInPlace`).
    let writesInPlace (path: string) : bool = AtomicFile.writesInPlace path

    /// How long a save to a FIFO waits for a process to open it for reading: 5 s (`AtomicFile.fifoWait`).
    let fifoWait = AtomicFile.fifoWait

    /// Writes `bytes` into the file `full` in place (`AtomicFile.writeInPlace`).
    let internal writeInPlace (append: bool) (wrap: Stream -> Stream) (path: string) (full: string) (bytes: byte[]) =
        AtomicFile.writeInPlace append wrap path full bytes

    /// Writes bytes to `path` atomically (`AtomicFile.writeAtomicWithOptions`, which says how).
    let writeAtomicWithOptions (options: SaveOptions) (wrap: Stream -> Stream) (path: string) (bytes: byte[]) =
        AtomicFile.writeAtomicWithOptions options wrap path bytes

    /// `writeAtomicWithOptions SaveOptions.Default`.
    let writeAtomicWith (wrap: Stream -> Stream) (path: string) (bytes: byte[]) = AtomicFile.writeAtomicWith wrap path bytes

    /// `writeAtomicWith id`: refuses to replace a read-only file.
    let writeAtomic (path: string) (bytes: byte[]) = AtomicFile.writeAtomic path bytes

    /// `writeAtomicWithOptions options id`.
    let writeAtomicOptions (options: SaveOptions) (path: string) (bytes: byte[]) = AtomicFile.writeAtomicOptions options path bytes

    /// Saves a network atomically with the given options (see `writeAtomicWithOptions`).
    let saveNetworkWith (options: SaveOptions) (path: string) (net: Network) = writeAtomicOptions options path (networkToBytes net)
    /// Saves a pipeline atomically with the given options.
    let savePipelineWith (options: SaveOptions) (path: string) (p: Pipeline) = writeAtomicOptions options path (pipelineToBytes p)
    /// Saves a linear model atomically with the given options.
    let saveLinearWith (options: SaveOptions) (path: string) (m: LinearModel) = writeAtomicOptions options path (linearToBytes m)
    /// Saves a network training checkpoint atomically with the given options.
    let saveCheckpointWith (options: SaveOptions) (path: string) (c: Checkpoint<Network>) = writeAtomicOptions options path (checkpointToBytes c)
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
    /// Saves a network training checkpoint atomically.
    let saveCheckpoint (path: string) (c: Checkpoint<Network>) = writeAtomic path (checkpointToBytes c)
    /// Loads a network training checkpoint; raises ModelFormatException for a damaged file.
    let loadCheckpoint (path: string) : Checkpoint<Network> = checkpointOfBytes (readBytes path)
