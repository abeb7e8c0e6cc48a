/// Model files: save-load-predict is bit-identical; the loader survives a fuzz of more than
/// 100,000 damaged files with only ModelFormatException and no allocation beyond what the file
/// warrants; a save interrupted at every write leaves the old file or the new one.
module Functional.NN.Tests.ModelFileTests

open System
open System.Buffers.Binary
open System.IO
open Expecto
open Functional.NN
open Functional.NN.Linear

/// A stream that passes writes through and throws an IOException at write number `failAt`
/// (from 0; Flush counts as a write), to simulate a crash or a full disk.
type FaultyStream(inner: Stream, failAt: int) =
    inherit Stream()
    let mutable writes = 0
    let step () =
        if writes = failAt then raise (IOException(sprintf "injected fault at write %d" writes))
        writes <- writes + 1
    /// Writes done so far.
    member _.Writes = writes
    override _.CanRead = false
    override _.CanSeek = false
    override _.CanWrite = true
    override _.Length = inner.Length
    override _.Position with get () = inner.Position and set v = inner.Position <- v
    override _.Flush() = step (); inner.Flush()
    override _.Read(_, _, _) = raise (NotSupportedException())
    override _.Seek(_, _) = raise (NotSupportedException())
    override _.SetLength(v) = inner.SetLength v
    override _.Write(buffer: byte[], offset: int, count: int) = step (); inner.Write(buffer, offset, count)
    override _.Dispose(disposing) = (if disposing then inner.Dispose()); base.Dispose disposing

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "fnn-modelfile-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private iris = Datasets.load "iris"

/// A small trained classifier (4-5-3) on Iris.
let private smallPipeline = lazy ((PipelineFit.fit (FitOptions.Default.WithHiddenLayers([| 5 |]).WithEpochs(20)) iris).Pipeline)

/// A bigger one (64-32-10, untrained) whose file needs several writes.
let private bigPipeline = lazy (PipelineFit.untrained (FitOptions.Default.WithHiddenLayers([| 32 |])) (Datasets.load "digits"))

let private linear = LinearModel.create (Mat.ofRows [ [| 6.5 |]; [| 2.1 |] ]) (MathNet.Numerics.LinearAlgebra.Vector<float>.Build.DenseOfArray [| 6.1 |]) true [| "distance_km"; "weekday" |]

/// A checkpoint taken mid-epoch: Adam, minibatches of 16 on Iris, a validation set (so the
/// history has validation columns and early stopping has a best network), cancelled at step 13.
let private checkpointRun =
    lazy (
        let data = (Datasets.load "iris")
        let p = PipelineFit.untrained (FitOptions.Default.WithHiddenLayers([| 5 |])) data
        let x = Scaler.transform p.Scaler data.Features
        let y = Pipeline.trainingTargets p data
        let td = (TrainingData.Of(x.SubMatrix(0, 120, 0, 4), y.SubMatrix(0, 120, 0, 3))).WithValidation(x.SubMatrix(120, 30, 0, 4), y.SubMatrix(120, 30, 0, 3))
        let options =
            TestOptions.sgd.WithOptimizer(Optimizer.adam).WithSchedule(Schedule.Constant 0.01)
                .WithBatching(Batching.miniBatch 16).WithMaxEpochs(4).WithEarlyStopping(EarlyStopping.Default).WithSeed(9L)
        let mutable steps = 0
        let hooks = { TrainingHooks.None with ShouldStop = fun () -> steps <- steps + 1; steps > 13 }
        let cut = Trainer.trainWith hooks options Loss.SoftmaxCrossEntropy td p.Network
        options, td, cut, Trainer.train options Loss.SoftmaxCrossEntropy td p.Network)

/// Recomputes the trailing CRC-32, so that a mutation reaches the parser behind the checksum.
let private fixCrc (bytes: byte[]) =
    if bytes.Length >= 4 then
        BinaryPrimitives.WriteUInt32LittleEndian(Span(bytes, bytes.Length - 4, 4), ModelContainer.crc32 bytes (bytes.Length - 4))
    bytes

/// Loads bytes with every reader; returns "ok", "format" or the unexpected exception, and the bytes it allocated.
let private tryLoad (bytes: byte[]) : Result<string, exn> * int64 =
    let before = GC.GetAllocatedBytesForCurrentThread()
    let result =
        try
            match ModelFile.kindOfBytes bytes with
            | "pipeline" ->
                let p = ModelFile.pipelineOfBytes bytes
                if not (Parameters.isFinite p.Network) then failwith "a loaded network holds a non-finite weight"
                // A loaded model may still refuse an input that its (valid, if odd) scaler turns
                // into infinity: that is the documented ArgumentException of prediction.
                try Pipeline.outputs p (Mat.init 2 p.FeatureNames.Length (fun _ _ -> 0.5)) |> ignore
                with :? ArgumentException as e when e.ParamName = "x" && e.Message.Contains "far outside the range" -> ()
            | "network" -> ModelFile.networkOfBytes bytes |> ignore
            | "linear" -> ModelFile.linearOfBytes bytes |> ignore
            | "checkpoint" -> ModelFile.checkpointOfBytes bytes |> ignore
            | _ -> ()
            Ok "ok"
        with
        | :? ModelFormatException -> Ok "format"
        | e -> Error e
    result, GC.GetAllocatedBytesForCurrentThread() - before

/// Every mutated file of the fuzz: truncations at every length, random byte flips (with the
/// checksum left stale and with it fixed), every 32-bit field overwritten with counts and sizes
/// that lie (0, 1, -1, the value +-1, 2^31 - 1, with the checksum fixed), unknown versions, and
/// container-level changes (shapes that disagree, NaN and infinite weights, missing entries).
let private mutations (valid: byte[]) (seed: int64) : seq<string * byte[]> =
    seq {
        for n in 0 .. valid.Length - 1 -> sprintf "truncated to %d bytes" n, valid.[.. n - 1]
        let mutable rng = Rng.create seed
        for k in 1 .. 4000 do
            let struct (pos, r) = Rng.nextInt valid.Length rng
            let struct (bit, r) = Rng.nextInt 8 r
            let struct (fix, r) = Rng.nextInt 2 r
            rng <- r
            let b = Array.copy valid
            b.[pos] <- b.[pos] ^^^ (1uy <<< bit)
            yield sprintf "flip %d: bit %d of byte %d%s" k bit pos (if fix = 1 then ", checksum fixed" else ""), (if fix = 1 then fixCrc b else b)
        // Every position below the checksum holds, or overlaps, some field: make it lie.
        for pos in 10 .. valid.Length - 8 do
            let old = BinaryPrimitives.ReadInt32LittleEndian(ReadOnlySpan(valid, pos, 4))
            // Counts and sizes that lie: small, off by one, negative, and dimensions whose products
            // pass 2^31 and 2^63 (65536 four times is 2^64; with 32769 it wraps negative).
            for v in [ 0; -1; old + 1; old - 1; Int32.MaxValue; Int32.MinValue; 65536; 32769; 1 <<< 24 ] do
                let b = Array.copy valid
                BinaryPrimitives.WriteInt32LittleEndian(Span(b, pos, 4), v)
                yield sprintf "int32 at byte %d set to %d" pos v, fixCrc b
        // Runs of 2 to 8 random bytes overwritten with random bytes, the checksum fixed.
        for k in 1 .. 5000 do
            let struct (len, r) = Rng.nextInt 7 rng
            let len = len + 2
            let struct (pos, r) = Rng.nextInt (max 1 (valid.Length - len)) r
            let b = Array.copy valid
            let mutable g = r
            for i in pos .. min (valid.Length - 5) (pos + len - 1) do
                let struct (v, r) = Rng.nextInt 256 g
                g <- r
                b.[i] <- byte v
            rng <- g
            yield sprintf "run %d: %d random bytes at byte %d, checksum fixed" k len pos, fixCrc b
        for v in [ 0us; 2us; 255us; 65535us ] do
            let b = Array.copy valid
            BinaryPrimitives.WriteUInt16LittleEndian(Span(b, 8, 2), v)
            yield sprintf "version %d" v, fixCrc b
    }

/// Container-level damage: each entry's float array given another shape, NaN or infinity, each
/// entry dropped or turned into another kind of value.
let private entryMutations (valid: byte[]) : seq<string * byte[]> =
    let c = ModelContainer.read valid
    let withEntries entries = ModelContainer.write { c with Entries = entries }
    seq {
        for i, (name, value) in List.indexed c.Entries do
            let replace v = c.Entries |> List.mapi (fun j e -> if j = i then (name, v) else e)
            yield sprintf "'%s' dropped" name, withEntries (c.Entries |> List.removeAt i)
            yield sprintf "'%s' as a text" name, withEntries (replace (ModelValue.Text "x"))
            yield sprintf "'%s' as an integer" name, withEntries (replace (ModelValue.Int 3L))
            match value with
            | ModelValue.Floats (shape, values) when values.Length > 0 ->
                yield sprintf "'%s' with a NaN" name, withEntries (replace (ModelValue.Floats (shape, Array.updateAt 0 nan values)))
                yield sprintf "'%s' with +infinity" name, withEntries (replace (ModelValue.Floats (shape, Array.updateAt (values.Length - 1) infinity values)))
                yield sprintf "'%s' transposed" name, withEntries (replace (ModelValue.Floats (Array.rev shape, values)))
                yield sprintf "'%s' as a flat vector" name, withEntries (replace (ModelValue.Floats ([| values.Length |], values)))
                yield sprintf "'%s' one value short" name, withEntries (replace (ModelValue.Floats ([| values.Length - 1 |], values.[1..])))
            | ModelValue.Int v ->
                for w in [ v - 1L; v + 1L; -1L; Int64.MaxValue ] do
                    yield sprintf "'%s' = %d" name w, withEntries (replace (ModelValue.Int w))
            | ModelValue.Texts ts ->
                yield sprintf "'%s' one name short" name, withEntries (replace (ModelValue.Texts (Array.truncate (max 0 (ts.Length - 1)) ts)))
                yield sprintf "'%s' with a repeated name" name, withEntries (replace (ModelValue.Texts (Array.append ts (Array.truncate 1 ts))))
            | ModelValue.Text _ -> yield sprintf "'%s' unknown" name, withEntries (replace (ModelValue.Text "no such thing"))
            | _ -> ()
    }

/// A small network of every built-in block, its parameters and running statistics moved off their
/// starting values (so a loader that dropped one would be seen).
let private blockNet =
    lazy (
        let specs =
            [ BlockSpec.Dense (LayerSpec.Of(4, Activation.Identity)); BlockSpec.BatchNorm; BlockSpec.Activation Activation.Tanh; BlockSpec.Dropout 0.25
              BlockSpec.Residual [ BlockSpec.Dense (LayerSpec.Of(4, Activation.ReLU)); BlockSpec.LayerNorm
                                   BlockSpec.Residual [ BlockSpec.Dense { LayerSpec.Of(4, Activation.Identity) with UseBias = false } ] ]
              BlockSpec.Dense (LayerSpec.Of(3, Activation.Identity)) ]
        let net = Network.initBlocks 3 specs 11L
        let theta = (Parameters.ofNetwork net).MapIndexed(fun i v -> v + 0.01 * float (i % 7) - 0.03)
        let net = Parameters.toNetwork net theta
        Parameters.withState net (Array.init net.StateCount (fun i -> 0.1 + 0.05 * float i)))

/// True when two networks hold the same blocks with bit-identical values.
let private sameBits (a: Network) (b: Network) =
    let bits (n: Network) = Array.append ((Parameters.ofNetwork n).AsArray()) (Parameters.stateOf n) |> Array.map BitConverter.DoubleToInt64Bits
    a.Precision = b.Precision && Network.describe a = Network.describe b && bits a = bits b

[<Tests>]
let tests =
    testList "ModelFile" [
        test "every built-in block saves and loads bit-identically, in format version 3; dense networks stay version 1" {
            for p in [ Precision.Float64; Precision.Float32 ] do
                let net = Network.withPrecision p (blockNet.Force())
                let bytes = ModelFile.networkToBytes net
                Expect.equal (BinaryPrimitives.ReadUInt16LittleEndian(ReadOnlySpan(bytes, 8, 2))) 3us "a network of blocks is written as version 3"
                let back = ModelFile.networkOfBytes bytes
                Expect.isTrue (sameBits back net) (sprintf "%A: every parameter and running statistic bit for bit, the same blocks" p)
                let x = Mat.init 5 3 (fun i j -> float (i - j) / 3.0)
                let a, b = Network.predict net x, Network.predict back x
                Expect.isTrue (Seq.forall2 (fun (u: float) v -> BitConverter.DoubleToInt64Bits u = BitConverter.DoubleToInt64Bits v) (a.Enumerate()) (b.Enumerate())) "predictions bit for bit"
            let dense = ModelFile.networkToBytes (smallPipeline.Force().Network)
            Expect.equal (BinaryPrimitives.ReadUInt16LittleEndian(ReadOnlySpan(dense, 8, 2))) 1us "a float64 dense network is still version 1"
        }
        test "a checkpoint of a network with batch normalisation keeps its running statistics" {
            let net = blockNet.Force()
            let x = Mat.init 12 3 (fun i j -> sin (float (i * 3 + j)))
            let y = Mat.init 12 3 (fun i j -> if i % 3 = j then 1.0 else 0.0)
            let options = { TrainingOptions.Default with MaxEpochs = 2; Batching = Batching.MiniBatch (4, Sampling.WithoutReplacement) }
            let r = Trainer.train options Loss.SoftmaxCrossEntropy (TrainingData.Of(x, y)) net
            Expect.notEqual (Parameters.stateOf r.Model) (Parameters.stateOf net) "training moved the running statistics"
            let back = ModelFile.checkpointOfBytes (ModelFile.checkpointToBytes r.Checkpoint)
            Expect.isTrue (sameBits back.Model r.Checkpoint.Model) "the checkpoint's network, running statistics included"
        }
        test "a custom block is refused at save time, naming it and its position; an unknown block kind in a file is named with its position" {
            let custom = Fixtures.scalingBlock "twice" 4 2.0
            let net = Network.ofBlocks [ Block.Dense (Dense.create (Mat.init 3 4 (fun _ _ -> 0.1)) None Activation.Tanh); Block.Residual [ Block.Custom custom ] ]
            let e = Expect.throwsC (fun () -> ModelFile.networkToBytes net |> ignore) id
            Expect.isTrue (e :? ArgumentException) "typed error"
            Expect.equal (e :?> ArgumentException).ParamName "net" "names the parameter"
            Expect.stringContains e.Message "Block 1.0 is the custom block 'twice'" "names the block and its position"
            let c = ModelContainer.read (ModelFile.networkToBytes (blockNet.Force()))
            let renamed = c.Entries |> List.map (fun (n, v) -> if n = "block4.block2.kind" then n, ModelValue.Text "attention" else n, v)
            let e = Expect.throwsC (fun () -> ModelFile.networkOfBytes (ModelContainer.write { c with Entries = renamed }) |> ignore) id
            Expect.isTrue (e :? ModelFormatException) "typed error"
            Expect.stringContains e.Message "Block 4.2 (entry 'block4.block2.kind') is of kind 'attention'" "names the block and its position"
        }
        test "an entry in a layer's or block's part that the reader does not read is refused; other unknown entries are ignored" {
            // The names are the format's (networkEntries' docs): a dense file has "layers" and
            // "layer<i>." + weights, bias, activation; a file of blocks "block<i>." + its kind's values.
            let refusal (bytes: byte[]) =
                let e = Expect.throwsC (fun () -> ModelFile.networkOfBytes bytes |> ignore) id
                Expect.isTrue (e :? ModelFormatException) (sprintf "typed error, got %s" (e.GetType().Name))
                e.Message
            let dense = ModelContainer.read (ModelFile.networkToBytes (smallPipeline.Force().Network))
            let write (c: ModelContainer) entries = ModelContainer.write { c with Entries = entries }
            // A renamed bias would load as a layer without bias.
            let renamed = dense.Entries |> List.map (fun (n, v) -> (if n = "layer1.bias" then "layer1.bias2" else n), v)
            Expect.stringContains (refusal (write dense renamed))
                "The entry 'layer1.bias2' is not one this library reads: the entries read at 'layer1.' are 'layer1.weights', 'layer1.activation'."
                "names the entry and what its layer holds"
            // A count one short would drop the last layer.
            let short = dense.Entries |> List.map (fun (n, v) -> n, (if n = "layers" then ModelValue.Int 1L else v))
            Expect.stringContains (refusal (write dense short))
                "The entry 'layer1.weights' is not one this library reads: the network has no part 'layer1.' (its count of layers or blocks leaves it out, or is missing)."
                "a layer beyond the count"
            // A nested block's stray value: block 4.2.0 is a dense layer, which has no scale.
            let blocks = ModelContainer.read (ModelFile.networkToBytes (blockNet.Force()))
            let stray = blocks.Entries @ [ "block4.block2.block0.scale", ModelValue.Floats ([| 4 |], Array.zeroCreate 4) ]
            Expect.stringContains (refusal (write blocks stray))
                "The entry 'block4.block2.block0.scale' is not one this library reads: the entries read at 'block4.block2.block0.' are 'block4.block2.block0.kind', 'block4.block2.block0.weights', 'block4.block2.block0.activation'."
                "a nested block's entry"
            // Entries outside the layers and blocks (a newer library's additions) are ignored.
            let extra = blocks.Entries @ [ "comment", ModelValue.Text "trained on Tuesday"; "layers2", ModelValue.Int 3L ]
            Expect.isTrue (sameBits (ModelFile.networkOfBytes (write blocks extra)) (blockNet.Force())) "loads as before"
            // A checkpoint's best network without its count ('best.layers' lost) would be dropped in
            // silence: its parts are refused, and so is its epoch without it.
            let _, _, cut, _ = checkpointRun.Force()
            let ck = ModelContainer.read (ModelFile.checkpointToBytes cut.Checkpoint)
            Expect.isTrue (ck.Entries |> List.exists (fun (n, _) -> n = "best.layers")) "the run has a best network"
            let e = Expect.throwsC (fun () -> ModelFile.checkpointOfBytes (write ck (ck.Entries |> List.filter (fun (n, _) -> n <> "best.layers"))) |> ignore) id
            Expect.isTrue (e :? ModelFormatException) "typed error"
            Expect.stringContains e.Message "The entry 'best.layer0.weights' is not one this library reads: the network has no part 'best.layer0.'" "the best network's first entry"
            let onlyEpoch = ck.Entries |> List.filter (fun (n, _) -> not (n.StartsWith "best.") || n = "best.epoch")
            let e = Expect.throwsC (fun () -> ModelFile.checkpointOfBytes (write ck onlyEpoch) |> ignore) id
            Expect.stringContains e.Message "The entry 'best.epoch' is there but not the best network it belongs to" "an epoch without its network"
            // In a pipeline the network's parts are under "network.".
            let pipe = ModelContainer.read (ModelFile.pipelineToBytes (smallPipeline.Force()))
            let renamed = pipe.Entries |> List.map (fun (n, v) -> (if n = "network.layer0.bias" then "network.layer0.Bias" else n), v)
            let e = Expect.throwsC (fun () -> ModelFile.pipelineOfBytes (write pipe renamed) |> ignore) id
            Expect.stringContains e.Message "The entry 'network.layer0.Bias' is not one this library reads" "a pipeline's network"
        }
        test "save, load, predict: bit-identical outputs, class names and scaler kept" {
            let dir = tempDir ()
            try
                let p = smallPipeline.Force()
                let path = Path.Combine(dir, "iris.fnn")
                ModelFile.savePipeline path p
                let q = ModelFile.loadPipeline path
                let a = Pipeline.outputs p iris.Features
                let b = Pipeline.outputs q iris.Features
                Expect.isTrue (Seq.forall2 (fun (x: float) y -> BitConverter.DoubleToInt64Bits x = BitConverter.DoubleToInt64Bits y) (a.Enumerate()) (b.Enumerate())) "every output bit for bit"
                Expect.equal q p "the loaded pipeline equals the saved one"
                Expect.equal (Pipeline.predictClasses q iris.Features) (Pipeline.predictClasses p iris.Features) "classes"
                Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName) [| "iris.fnn" |] "no temporary file left"
            finally Directory.Delete(dir, true)
        }
        test "networks and linear models round-trip too; a file of one kind is refused as another" {
            let net = bigPipeline.Force().Network
            Expect.equal (ModelFile.networkOfBytes (ModelFile.networkToBytes net)) net "network"
            Expect.equal (ModelFile.linearOfBytes (ModelFile.linearToBytes linear)) linear "linear model"
            let e = Expect.throwsC (fun () -> ModelFile.pipelineOfBytes (ModelFile.linearToBytes linear) |> ignore) id
            Expect.isTrue (e :? ModelFormatException) "typed error"
            Expect.stringContains e.Message "holds a linear model, not a pipeline model" "says what is wrong"
        }
        test "a linear model file keeps the target's name; a file of the earlier format (no 'targets' entry) loads without one" {
            let named = LinearModel.withTargetNames [| "commute_min" |] linear
            let back = ModelFile.linearOfBytes (ModelFile.linearToBytes named)
            Expect.equal back.TargetNames [| "commute_min" |] "the target's name round-trips"
            Expect.equal back.FeatureNames [| "distance_km"; "weekday" |] "and the feature names"
            Expect.equal back named "the whole model round-trips"
            // The earlier format: the same entries without "targets" (the entries linearEntries wrote before the
            // target's name was kept, its doc comment). Such bytes are exactly those of a model without target names.
            let c = ModelContainer.read (ModelFile.linearToBytes named)
            let older = ModelContainer.write { c with Entries = c.Entries |> List.filter (fun (name, _) -> name <> "targets") }
            Expect.equal older (ModelFile.linearToBytes linear) "an unnamed model is written in the earlier format, byte for byte"
            let loaded = ModelFile.linearOfBytes older
            Expect.equal loaded.TargetNames [||] "an earlier file loads, without a target name"
            Expect.equal loaded linear "and otherwise as saved"
            let e = Expect.throwsC (fun () -> LinearModel.withTargetNames [| "a"; "b" |] linear |> ignore) id
            Expect.equal (e :?> ArgumentException).ParamName "targetNames" "one name per output (this model has 1)"
        }
        test "a linear model file keeps fill values ('missing' and 'fill'); a file without them, or of the earlier format, loads without" {
            let filled = LinearModel.withFill MissingPolicy.Median [| 4.25; -0.5 |] linear
            let bytes = ModelFile.linearToBytes filled
            let back = ModelFile.linearOfBytes bytes
            Expect.equal back.Fill (Some { Missing = MissingPolicy.Median; Values = [| 4.25; -0.5 |] }) "the policy and one value per feature"
            Expect.equal back filled "the whole model round-trips"
            let entries = (ModelContainer.read bytes).Entries |> Map.ofList
            Expect.equal entries.["missing"] (ModelValue.Text "median") "the policy's name"
            Expect.equal entries.["fill"] (ModelValue.Floats ([| 2 |], [| 4.25; -0.5 |])) "the values, in the order of 'features'"
            // Without the two entries the bytes are those of the model without fill values (the earlier format), which
            // loads without them and fills nothing.
            let c = ModelContainer.read bytes
            let older = ModelContainer.write { c with Entries = c.Entries |> List.filter (fun (name, _) -> name <> "missing" && name <> "fill") }
            Expect.equal older (ModelFile.linearToBytes linear) "a model without fill values is written in the earlier format, byte for byte"
            Expect.isNone (ModelFile.linearOfBytes older).Fill "loads without fill values"
            // A file written by the version before fill values existed (commit c7b5f29, ModelFile.linearToBytes of
            // 1 + 2 x1 + 3 x2 named y): it loads as written, and this version writes the same bytes for that model.
            let earlier = Convert.FromBase64String "Rk5OTU9ERUwBAAYAAABsaW5lYXIFAAAADAAAAGNvZWZmaWNpZW50cwQCAgAAAAEAAAAAAAAAAAAAQAAAAAAAAAhACQAAAGludGVyY2VwdAQBAQAAAAAAAAAAAPA/DQAAAGhhc19pbnRlcmNlcHQBAQAAAAAAAAAIAAAAZmVhdHVyZXMFAgAAAAIAAAB4MQIAAAB4MgcAAAB0YXJnZXRzBQEAAAABAAAAeSFphKM="
            let m = ModelFile.linearOfBytes earlier
            Expect.equal (m.FeatureNames, m.TargetNames, m.Fill) ([| "x1"; "x2" |], [| "y" |], None) "names, and no fill values"
            Expect.equal (LinearModel.predict m (Mat.ofRows [ [| 4.0; 3.5 |] ])).[0, 0] 19.5 "1 + 2 * 4 + 3 * 3.5"
            Expect.equal (ModelFile.linearToBytes m) earlier "written back byte for byte"
            let e = Expect.throwsC (fun () -> LinearModel.fillMissing m (Mat.ofRows [ [| 4.0; nan |] ]) |> ignore) id
            Expect.equal (e :?> ArgumentException).ParamName "x" "a missing cell is still an error"
            // Damaged fill entries are a ModelFormatException saying what is wrong.
            let withEntries (f: (string * ModelValue) list -> (string * ModelValue) list) = ModelContainer.write { c with Entries = f c.Entries }
            let set name value = List.map (fun (n, v) -> if n = name then n, value else n, v)
            for what, damaged, part in
                [ "no 'fill'", withEntries (List.filter (fun (n, _) -> n <> "fill")), "no entry 'fill'"
                  "no 'missing'", withEntries (List.filter (fun (n, _) -> n <> "missing")), "no entry 'missing'"
                  "a policy that fills nothing", withEntries (set "missing" (ModelValue.Text "drop")), "mean, median or most_frequent"
                  "an unknown policy", withEntries (set "missing" (ModelValue.Text "average")), "'average'"
                  "one value short", withEntries (set "fill" (ModelValue.Floats ([| 1 |], [| 4.25 |]))), "fill" ] do
                let e = Expect.throwsC (fun () -> ModelFile.linearOfBytes damaged |> ignore) id
                Expect.isTrue (e :? ModelFormatException) (sprintf "%s: typed error, got %O" what e)
                Expect.stringContains e.Message part what
        }
        test "a checkpoint saved mid-epoch, loaded and resumed gives the uninterrupted run bit for bit" {
            let options, td, cut, whole = checkpointRun.Force()
            Expect.equal cut.StopReason StopReason.Cancelled "the first run was cut"
            Expect.isNonEmpty cut.Checkpoint.PendingBatches "mid-epoch: batches pending"
            let dir = tempDir ()
            try
                let path = Path.Combine(dir, "run.ckpt")
                ModelFile.saveCheckpoint path cut.Checkpoint
                let loaded = ModelFile.loadCheckpoint path
                Expect.equal loaded.OptimizerState cut.Checkpoint.OptimizerState "optimizer state"
                Expect.equal loaded.Rng cut.Checkpoint.Rng "generator state"
                Expect.equal (loaded.Step, loaded.Epoch) (cut.Checkpoint.Step, cut.Checkpoint.Epoch) "step and epoch"
                // GradientNorm is NaN when not recorded: compared by its bits (NaN <> NaN).
                let history (h: EpochRecord list) = h |> List.map (fun e -> e.Epoch, e.Step, e.TrainLoss, e.ValidationLoss, e.ValidationMetric, e.StepSize, BitConverter.DoubleToInt64Bits e.GradientNorm, e.Elapsed)
                Expect.equal (history loaded.History) (history cut.Checkpoint.History) "history"
                let resumed = Trainer.resume options Loss.SoftmaxCrossEntropy td loaded
                Expect.equal (Parameters.ofNetwork resumed.Model) (Parameters.ofNetwork whole.Model) "the same weights as a run never interrupted"
            finally Directory.Delete(dir, true)
        }
        test "the file names no .NET type" {
            let text = Text.Encoding.Latin1.GetString(ModelFile.pipelineToBytes (smallPipeline.Force()))
            for word in [ "Functional.NN"; "System."; "Microsoft."; "FSharp"; "MathNet" ] do
                Expect.isFalse (text.Contains word) (sprintf "the file contains %s" word)
        }
        test "damaged files say what is wrong" {
            let valid = ModelFile.pipelineToBytes (smallPipeline.Force())
            let msg (b: byte[]) = (Expect.throwsC (fun () -> ModelFile.pipelineOfBytes b |> ignore) id).Message
            Expect.stringContains (msg valid.[.. 100]) "checksum" "truncated"
            Expect.stringContains (msg "not a model at all, just text"B) "not a Functional.NN model file" "not a model"
            let v2 = Array.copy valid
            v2.[8] <- 2uy
            Expect.stringContains (msg (fixCrc v2)) "format version 2" "unknown version"
            let c = ModelContainer.read valid
            let nan = c.Entries |> List.map (fun (n, v) -> if n = "network.layer0.weights" then (match v with ModelValue.Floats (s, xs) -> n, ModelValue.Floats (s, Array.updateAt 3 nan xs) | _ -> n, v) else n, v)
            Expect.stringContains (msg (ModelContainer.write { c with Entries = nan })) "'network.layer0.weights' holds NaN at flat index 3" "NaN weight"
            // Layer 1's weights 4 x 3 instead of 5 x 3: its bias still fits, its inputs do not.
            let shapes = c.Entries |> List.map (fun (n, v) -> if n = "network.layer1.weights" then n, ModelValue.Floats ([| 4; 3 |], Array.create 12 0.5) else n, v)
            Expect.stringContains (msg (ModelContainer.write { c with Entries = shapes })) "Layer 0 gives 5 outputs (weights 4x5) but layer 1 takes 4 inputs" "shapes that disagree"
            let huge = Array.copy valid
            BinaryPrimitives.WriteInt32LittleEndian(Span(huge, 10, 4), Int32.MaxValue)
            Expect.stringContains (msg (fixCrc huge)) "only" "a huge declared length is checked against the bytes left"
        }
        test "fuzz: 100,000+ damaged files load as ModelFormatException or a valid model, nothing else, each within 1 s and 100x its size in allocation" {
            let clock = Diagnostics.Stopwatch.StartNew()
            let files =
                [ ModelFile.pipelineToBytes (smallPipeline.Force()), 1L
                  ModelFile.networkToBytes (smallPipeline.Force().Network), 2L
                  ModelFile.linearToBytes linear, 3L
                  (let _, _, cut, _ = checkpointRun.Force() in ModelFile.checkpointToBytes cut.Checkpoint), 4L
                  // Float32 values (tag 7, format version 2).
                  ModelFile.networkToBytes (Network.withPrecision Precision.Float32 (smallPipeline.Force().Network)), 5L
                  ModelFile.linearToBytes (LinearModel.withPrecision Precision.Float32 linear), 6L
                  // A network of every built-in block (format version 3).
                  ModelFile.networkToBytes (blockNet.Force()), 7L ]
            let mutable count = 0
            let mutable valid = 0
            let mutable worst = (0L, 0)
            let mutable slowest = (0.0, "")
            let failures = Collections.Generic.List<string>()
            for bytes, seed in files do
                for what, b in Seq.append (mutations bytes seed) (entryMutations bytes) do
                    count <- count + 1
                    let started = Diagnostics.Stopwatch.GetTimestamp()
                    let result, allocated = tryLoad b
                    let seconds = Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds
                    // A case over the bound is loaded once more and counted by its smaller figure: the
                    // first run of a code path can initialise process-wide tables (seen once in a full
                    // run: 331 KB for a 1 KB file that stays within the bound when the test runs alone).
                    let allocated = if allocated > 100L * int64 b.Length + 65536L then min allocated (snd (tryLoad b)) else allocated
                    if seconds > fst slowest then slowest <- (seconds, what)
                    // A load may allocate a multiple of the file's size (the parsed values, the
                    // matrices and the model): at most 100 times its size, plus 64 KiB for the fixed
                    // cost of an exception and its message; never what a damaged length declares.
                    let allowed = 100L * int64 b.Length + 65536L
                    if allocated > fst worst then worst <- (allocated, b.Length)
                    match result with
                    | Ok "ok" -> valid <- valid + 1
                    | Ok _ -> ()
                    | Error e -> failures.Add(sprintf "%s: %s: %s" what (e.GetType().Name) e.Message)
                    if allocated > allowed then failures.Add(sprintf "%s: allocated %d bytes for a %d-byte file" what allocated b.Length)
                    // A hang guard, not a performance measure: the slowest case takes milliseconds.
                    if seconds > Expectations.hangGuardSeconds then failures.Add(sprintf "%s: took %.2f s" what seconds)
            Console.Out.WriteLine(sprintf "model-file fuzz: %d files, %d loaded as valid models, the rest as ModelFormatException; largest allocation %d bytes (for a %d-byte file); slowest case %.3f s (%s); %.1f s" count valid (fst worst) (snd worst) (fst slowest) (snd slowest) clock.Elapsed.TotalSeconds)
            if failures.Count > 0 then
                failtestf "%d unexpected exceptions, allocations or times, the first ones:\n%s" failures.Count (String.Join("\n", failures |> Seq.truncate 20))
            Expect.isGreaterThanOrEqual count 100000 "at least 100,000 files"
            Expect.isLessThan clock.Elapsed.TotalSeconds 60.0 "no hang: the whole fuzz under 60 s"
        }
        test "a save interrupted at every write leaves the old file or the new one, never a partial file" {
            let dir = tempDir ()
            try
                let path = Path.Combine(dir, "model.fnn")
                let oldBytes = ModelFile.pipelineToBytes (smallPipeline.Force())
                let newBytes = ModelFile.pipelineToBytes (bigPipeline.Force())
                // The new file needs ceil(length / chunk) writes and one flush.
                let writes = (newBytes.Length + ModelFile.writeChunk - 1) / ModelFile.writeChunk + 1
                Expect.isGreaterThan writes 3 "the new file takes several writes"
                for withOld in [ true; false ] do
                    for k in 0 .. writes do
                        if File.Exists path then File.Delete path
                        if withOld then ModelFile.writeAtomic path oldBytes
                        let failed =
                            try ModelFile.writeAtomicWith (fun s -> new FaultyStream(s, k) :> Stream) path newBytes; false
                            with :? IOException -> true
                        Expect.equal failed (k < writes) (sprintf "a fault at write %d of %d" k writes)
                        let files = Directory.GetFiles dir |> Array.map Path.GetFileName
                        if failed then
                            if withOld then
                                Expect.equal (File.ReadAllBytes path) oldBytes (sprintf "fault at write %d: the old file, whole" k)
                                Expect.equal (ModelFile.loadPipeline path) (smallPipeline.Force()) "the old model still loads"
                            else Expect.isFalse (File.Exists path) (sprintf "fault at write %d: no file" k)
                        else Expect.equal (File.ReadAllBytes path) newBytes "the new file, whole"
                        Expect.all files (fun f -> not (f.EndsWith ".tmp")) (sprintf "no temporary file left after a fault at write %d: %A" k files)
            finally Directory.Delete(dir, true)
        }
        test "a missing model file and a missing folder name the path" {
            let e = Expect.throwsC (fun () -> ModelFile.loadPipeline "no-such-model.fnn" |> ignore) id
            Expect.isTrue (e :? FileNotFoundException) "type"
            Expect.stringContains e.Message "no-such-model.fnn" "path"
            let e = Expect.throwsC (fun () -> ModelFile.savePipeline (Path.Combine("no-such-folder", "m.fnn")) (smallPipeline.Force())) id
            Expect.isTrue (e :? DirectoryNotFoundException) "type"
        }
    ]
