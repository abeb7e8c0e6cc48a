/// Saving and ONNX import and export: what a save replaces is decided
/// by the file's type, not its path; import is linear and bounded by the data in the file; export
/// never writes what import refuses; refusals name the caller's parameter; a validation loss that
/// overflows is an error naming the validation targets. Each test below failed before its fix
/// (checked by reverting the fix) unless it says it guards behaviour that already held; each
/// expected value says where it comes from.
module Functional.NN.Tests.SaveAndImportTests

open System
open System.Buffers.Binary
open System.Diagnostics
open System.IO
open Expecto
open Google.Protobuf
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.OnnxProto

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "fnn-review-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private expectArg = Expectations.expectArgument

/// How often `part` occurs in `text`.
let private occurrences (part: string) (text: string) =
    let mutable n, i = 0, text.IndexOf(part, StringComparison.Ordinal)
    while i >= 0 do
        n <- n + 1
        i <- text.IndexOf(part, i + part.Length, StringComparison.Ordinal)
    n

/// Two different networks: a save of the second over the first must leave the second's bytes only.
let private netA = Network.create [ Dense.create (Mat.ofRows [ [| 1.0 |]; [| 2.0 |] ]) None Activation.Identity ]
let private netB =
    Network.create [ Dense.create (Mat.ofRows [ [| 0.5; -1.0; 2.0 |]; [| 3.0; 0.25; -4.0 |] ]) (Some (Vector<float>.Build.DenseOfArray [| 0.1; 0.2; 0.3 |])) Activation.Tanh
                     Dense.create (Mat.ofRows [ [| 1.0 |]; [| -2.0 |]; [| 0.5 |] ]) None Activation.Identity ]

/// Makes a FIFO with mkfifo(1), or None where there is none (Windows, no coreutils).
let private mkfifo (path: string) =
    if OperatingSystem.IsWindows() then false
    else
        try
            let psi = ProcessStartInfo("mkfifo", [ path ], UseShellExecute = false, RedirectStandardError = true)
            use p = Process.Start psi
            p.WaitForExit 10000 && p.ExitCode = 0
        with _ -> false

/// Saves into `path` while a reader drains `fifo` (the FIFO `path` names, maybe through a link),
/// and returns what the reader got. The test holds a writer of its own open meanwhile, so that the
/// reader ends (at end of file, when the last writer closes) whether or not the save wrote into the
/// FIFO: a save that replaced the FIFO by a regular file gives an empty read, not a hang.
let private readWhileSaving (fifo: string) (save: unit -> unit) : byte[] =
    let reader = Threading.Tasks.Task.Run(fun () -> File.ReadAllBytes fifo)
    do
        use _holder = new FileStream(fifo, FileMode.Open, FileAccess.Write)
        save ()
    if not (reader.Wait(TimeSpan.FromSeconds 20.0)) then failtest "the FIFO's reader did not finish in 20 s"
    reader.Result

// ---- ONNX graphs built by hand -------------------------------------------------------------

let private floatMatrix (name: string) (rows: int) (cols: int) (value: int -> float32) =
    let t = TensorProto(Name = name, DataType = 1)
    t.Dims.Add [ int64 rows; int64 cols ]
    let raw = Array.zeroCreate<byte> (4 * rows * cols)
    for k in 0 .. rows * cols - 1 do BinaryPrimitives.WriteSingleLittleEndian(Span<byte>(raw, 4 * k, 4), value k)
    t.RawData <- ByteString.CopyFrom raw
    t

let private onnxNode (op: string) (name: string) (inputs: string list) (output: string) =
    let n = NodeProto(OpType = op, Name = name)
    n.Input.Add inputs
    n.Output.Add output
    n

/// A FLOAT model (IR 8, opset 17) of one input "x" (N x width), the initialisers and nodes given,
/// and the output `output`.
let private onnxModel (width: int) (inits: TensorProto list) (nodes: NodeProto seq) (output: string) : byte[] =
    let shape = TensorShapeProto()
    shape.Dim.Add(TensorShapeProto.Types.Dimension(DimParam = "N"))
    shape.Dim.Add(TensorShapeProto.Types.Dimension(DimValue = int64 width))
    let g = GraphProto(Name = "g")
    g.Input.Add(ValueInfoProto(Name = "x", Type = TypeProto(TensorType = TypeProto.Types.Tensor(ElemType = 1, Shape = shape))))
    g.Output.Add(ValueInfoProto(Name = output))
    g.Initializer.Add inits
    g.Node.Add nodes
    let m = ModelProto(IrVersion = 8L, Graph = g)
    m.OpsetImport.Add(OperatorSetIdProto(Domain = "", Version = 17L))
    m.ToByteArray()

/// Gemm(x, W) -> a0, Relu -> b0, then `pairs` times Relu(cur) -> r_i, Add(cur, r_i) -> s_i: a
/// dense layer and `pairs` residual blocks x + relu(x), as a chain.
let private residualChain (pairs: int) =
    let nodes = ResizeArray [ onnxNode "Gemm" "gemm" [ "x"; "W" ] "a0"; onnxNode "Relu" "relu" [ "a0" ] "b0" ]
    let mutable cur = "b0"
    for i in 0 .. pairs - 1 do
        nodes.Add(onnxNode "Relu" (sprintf "relu%d" i) [ cur ] (sprintf "r%d" i))
        nodes.Add(onnxNode "Add" (sprintf "add%d" i) [ cur; sprintf "r%d" i ] (sprintf "s%d" i))
        cur <- sprintf "s%d" i
    onnxModel 4 [ floatMatrix "W" 4 4 (fun k -> if k % 5 = 0 then 1.0f else 0.0f) ] nodes cur

/// Runs the built fnn tool (as CliTests does) in `dir`: its exit code and stderr.
let private runCli (dir: string) (args: string list) =
    let code, _, err = Repo.runFnn dir args (TimeSpan.FromSeconds 60.0)
    code, err

/// A custom block (code, not data), which neither a model file nor ONNX can hold.
let private twice = Fixtures.scalingBlock "twice" 2 2.0

let private customNet =
    Network.ofBlocks [ Block.Dense (Dense.create (Mat.init 2 2 (fun _ _ -> 0.1)) None Activation.Tanh); Block.Custom twice
                       Block.Dense (Dense.create (Mat.init 2 1 (fun _ _ -> 0.1)) None Activation.Identity) ]

let private regressor (net: Network) =
    let pre = Preprocessor.create [| [||]; [||] |] MissingPolicy.Error [||] UnknownCategory.Zeros
    Pipeline.createWith pre [| "a"; "b" |] (Scaler.identity 2) net Loss.MeanSquaredError "y" [||] (Scaler.create ScalingKind.Standard [| 1.0 |] [| 3.0 |])


[<Tests>]
let tests =
    testList "Saving and ONNX import" [
        testList "what a save replaces" [
            test "a save replaces a regular file, in a temporary folder and in /dev/shm: the second model alone is read back" {
                // The defect: a path under /dev was taken for a device and appended to, so the
                // second save left both models (and a checksum error). Expected bytes: the second
                // model's own, from networkToBytes and exportNetwork (what a save writes).
                let dir = tempDir ()
                let shm = "/dev/shm"
                try
                    for folder in [ yield dir; if Directory.Exists shm then yield shm ] do
                        let name = "fnn-review-" + Guid.NewGuid().ToString("N")
                        let fnn, onnx = Path.Combine(folder, name + ".fnn"), Path.Combine(folder, name + ".onnx")
                        try
                            Expect.isFalse (ModelFile.writesInPlace folder) (sprintf "%s: a folder is not written in place" folder)
                            ModelFile.saveNetwork fnn netA
                            Expect.isFalse (ModelFile.writesInPlace fnn) (sprintf "%s: a regular file is replaced" fnn)
                            ModelFile.saveNetwork fnn netB
                            Expect.equal (File.ReadAllBytes fnn) (ModelFile.networkToBytes netB) (sprintf "%s: the second model's bytes only" fnn)
                            Expect.equal (ModelFile.networkToBytes (ModelFile.loadNetwork fnn)) (ModelFile.networkToBytes netB) (sprintf "%s: loads as the second model" fnn)
                            Onnx.saveNetwork onnx 17 netA
                            Onnx.saveNetwork onnx 17 netB
                            Expect.equal (File.ReadAllBytes onnx) (Onnx.exportNetwork 17 netB) (sprintf "%s: the second export only" onnx)
                            Expect.equal (Onnx.loadNetwork onnx).Network.Blocks.Length 2 (sprintf "%s: imports as the second network" onnx)
                            Expect.isEmpty (Directory.GetFiles(folder, "." + name + "*")) (sprintf "%s: no temporary file left" folder)
                        finally
                            File.Delete fnn
                            File.Delete onnx
                finally Directory.Delete(dir, true)
            }
            test "a symbolic link to a regular file is written through: the target gets the model, the link stays a link" {
                // Guards behaviour that held before (docs/data-and-models.md), now decided by type.
                let dir = tempDir ()
                try
                    let target, link = Path.Combine(dir, "real.fnn"), Path.Combine(dir, "link.fnn")
                    ModelFile.saveNetwork target netA
                    File.CreateSymbolicLink(link, target) |> ignore
                    ModelFile.saveNetwork link netB
                    Expect.equal (FileInfo(link).LinkTarget) target "the link is still a link to the target"
                    Expect.equal (File.ReadAllBytes target) (ModelFile.networkToBytes netB) "the target holds the second model"
                    Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName |> Array.sort) [| "link.fnn"; "real.fnn" |] "nothing else in the folder"
                finally Directory.Delete(dir, true)
            }
            test "a FIFO, and a link to one, are written into, not replaced: the reader gets the model and the FIFO stays a FIFO" {
                // The defect: a link (outside /dev) to a device or FIFO was resolved and its target
                // replaced by a regular file (as root, a device node in /dev). A FIFO in a
                // temporary folder shows it without touching /dev.
                let dir = tempDir ()
                try
                    let fifo, link = Path.Combine(dir, "pipe"), Path.Combine(dir, "out.fnn")
                    if not (mkfifo fifo) then skiptest "mkfifo is not available"
                    File.CreateSymbolicLink(link, fifo) |> ignore
                    Expect.isTrue (ModelFile.writesInPlace fifo) "a FIFO is written in place"
                    Expect.isTrue (ModelFile.writesInPlace link) "a link to a FIFO is written in place"
                    let expected = ModelFile.networkToBytes netB
                    Expect.equal (readWhileSaving fifo (fun () -> ModelFile.saveNetwork link netB)) expected "through the link: the reader got the model"
                    Expect.equal (readWhileSaving fifo (fun () -> ModelFile.saveNetwork fifo netB)) expected "the FIFO itself: the reader got the model"
                    Expect.isTrue (ModelFile.writesInPlace fifo) "still a FIFO"
                    Expect.equal (FileInfo(fifo).Length) 0L "not a regular file holding the model"
                    Expect.equal (FileInfo(link).LinkTarget) fifo "the link is still a link"
                    Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName |> Array.sort) [| "out.fnn"; "pipe" |] "nothing else in the folder"
                finally Directory.Delete(dir, true)
            }
            test "/dev/null is written in place and stays a device" {
                if not (File.Exists "/dev/null") then skiptest "no /dev/null"
                // Checked first, so that a broken type test can never make a save replace /dev/null.
                Expect.isTrue (FileType.isCharDevice "/dev/null") "/dev/null is a character device (stat)"
                Expect.isTrue (ModelFile.writesInPlace "/dev/null") "/dev/null is written in place"
                ModelFile.saveNetwork "/dev/null" netB
                Onnx.saveNetwork "/dev/null" 17 netB
                // stat's own answer (not a read, which is empty for a device and for an empty
                // regular file alike): a save that replaced /dev/null left a regular file.
                Expect.isTrue (FileType.isCharDevice "/dev/null") "still a character device (stat)"
                Expect.isTrue (ModelFile.writesInPlace "/dev/null") "still written in place"
                // The check tells a regular file from a device: it is false for one.
                let regular = Path.Combine(Path.GetTempPath(), "fnn-review-" + Guid.NewGuid().ToString("N"))
                File.WriteAllText(regular, "")
                try Expect.isFalse (FileType.isCharDevice regular) "a regular file is no character device"
                finally File.Delete regular
                Expect.isFalse (ModelFile.writesInPlace (Path.Combine(Path.GetTempPath(), "fnn-review-" + Guid.NewGuid().ToString("N")))) "a path where nothing is: replaced (created)"
            }
        ]
        testList "writing in place: own descriptors, FIFOs, truncation" [
            test "--out /dev/stdout with stdout redirected to a file (>> or >) writes the CSV into it, after what is there, and keeps the file" {
                // The defect: stat follows /dev/stdout to the shell's regular file, which the save
                // then replaced: the old lines were lost and later output went to an unlinked file.
                if OperatingSystem.IsWindows() || not (File.Exists "/bin/bash") then skiptest "needs bash"
                let dir = tempDir ()
                try
                    // y = 1 + 2a - 3b exactly (as CliTests): a linear model, then its predictions.
                    let rows = [ for i in 0 .. 19 -> let a, b = float (i % 7), float ((i * 3) % 11) in sprintf "%g,%g,%g" a b (1.0 + 2.0 * a - 3.0 * b) ]
                    File.WriteAllText(Path.Combine(dir, "lin.csv"), "a,b,y\n" + String.Join("\n", rows) + "\n")
                    let code, _, err = Repo.runFnn dir [ "linear"; "--data"; "lin.csv"; "--out"; "lin.fnn" ] (TimeSpan.FromSeconds 60.0)
                    Expect.equal code 0 err
                    let log = Path.Combine(dir, "log.txt")
                    File.WriteAllText(log, "line1\nline2\n")
                    let command = sprintf "{ dotnet '%s' predict --model lin.fnn --data lin.csv --out /dev/stdout; echo end; } >> log.txt" Repo.fnn
                    let code, _, err = Repo.runSplit [] "/bin/bash" [ "-c"; command ] dir (TimeSpan.FromSeconds 60.0)
                    Expect.equal code 0 err
                    let text = File.ReadAllText log
                    Expect.stringStarts text "line1\nline2\na,b,predicted_y\n" "the old lines, then the CSV's header"
                    Expect.stringEnds text "\nend\n" "later output of the shell lands in the same file"
                    // The header and 20 predictions, once each ("end" has no commas; fnn's status line goes to stderr).
                    Expect.equal (text.Split('\n') |> Array.filter (fun l -> l.Split(',').Length = 3) |> Array.length) 21 "every CSV line is there once"
                    // `> out.csv` (no append): the CSV goes through the shell's descriptor, so what is written
                    // to stdout after it follows it instead of overwriting its start (a second open of the
                    // file, at its own offset, let fnn's status line, then on stdout, overwrite the header).
                    let command = sprintf "dotnet '%s' predict --model lin.fnn --data lin.csv --out /dev/stdout > out.csv" Repo.fnn
                    let code, _, err = Repo.runSplit [] "/bin/bash" [ "-c"; command ] dir (TimeSpan.FromSeconds 60.0)
                    Expect.equal code 0 err
                    let text = File.ReadAllText(Path.Combine(dir, "out.csv"))
                    Expect.stringStarts text "a,b,predicted_y\n" "the CSV's header first"
                    Expect.equal (text.Split('\n') |> Array.filter (fun l -> l.Split(',').Length = 3) |> Array.length) 21 "every CSV line is there once (> out.csv)"
                    Expect.equal (text.TrimEnd('\n').Split('\n').Length) 21 "and nothing else: the status line is on stderr"
                    Expect.stringContains err "20 predictions written to /dev/stdout" "the status line"
                finally Directory.Delete(dir, true)
            }
            test "the paths of the process's own descriptors, and links to them, name the descriptor" {
                if OperatingSystem.IsWindows() then skiptest "Unix paths"
                let own = Environment.ProcessId
                Expect.equal (FileType.ownDescriptor "/dev/stdout") (Some 1) "/dev/stdout"
                Expect.equal (FileType.ownDescriptor "/dev/stderr") (Some 2) "/dev/stderr"
                Expect.equal (FileType.ownDescriptor "/dev/fd/3") (Some 3) "/dev/fd/N"
                Expect.equal (FileType.ownDescriptor "/proc/self/fd/2") (Some 2) "/proc/self/fd/N"
                Expect.equal (FileType.ownDescriptor (sprintf "/proc/%d/fd/5" own)) (Some 5) "/proc/<own pid>/fd/N"
                Expect.equal (FileType.ownDescriptor (sprintf "/proc/%d/fd/5" (own + 1))) (Some -1) "another process's descriptor"
                Expect.equal (FileType.ownDescriptor "/dev/null") None "/dev/null is no descriptor"
                Expect.equal (FileType.ownDescriptor "/dev/fd") None "the folder is no descriptor"
                let dir = tempDir ()
                try
                    let link = Path.Combine(dir, "err")
                    File.CreateSymbolicLink(link, "/dev/stderr") |> ignore
                    Expect.equal (FileType.ownDescriptor link) (Some 2) "a link to /dev/stderr"
                    Expect.isTrue (ModelFile.writesInPlace link) "written in place"
                finally Directory.Delete(dir, true)
            }
            test "a FIFO that no process reads: a clear IOException naming it within seconds, not a hang" {
                // The defect: the save blocked in open(2) forever, waiting for a reader.
                let dir = tempDir ()
                try
                    let fifo = Path.Combine(dir, "pipe")
                    if not (mkfifo fifo) then skiptest "mkfifo is not available"
                    let clock = Stopwatch.StartNew()
                    let save = Threading.Tasks.Task.Run(fun () -> ModelFile.saveNetwork fifo netB)
                    let ended = try save.Wait(TimeSpan.FromSeconds 14.0) with _ -> true
                    if not ended then
                        // Unblock the save (a reader opens the FIFO) before failing, so no thread stays stuck.
                        use _reader = new FileStream(fifo, FileMode.Open, FileAccess.Read)
                        failtest "the save to a FIFO without a reader did not end within 14 s"
                    Expect.isLessThan clock.Elapsed.TotalSeconds 14.0 "bounded wait"
                    match save.Exception with
                    | null -> failtest "the save to a FIFO without a reader succeeded"
                    | e ->
                        match e.InnerException with
                        | :? IOException as io ->
                            Expect.stringContains io.Message fifo "names the FIFO"
                            Expect.stringContains io.Message "no process reads the FIFO" "says why"
                        | other -> failtestf "expected IOException, got %s: %s" (other.GetType().Name) other.Message
                    Expect.isTrue (FileType.isFifo fifo) "the FIFO is still a FIFO"
                finally Directory.Delete(dir, true)
            }
            test "an in-place write from the start truncates what is left of a longer file; an append keeps it" {
                // The defect: a regular file written in place (the fallback without the runtime's
                // shim sends a regular file under /dev/ there) kept the old file's tail after a
                // shorter save, which made the model file unreadable.
                let dir = tempDir ()
                try
                    let file = Path.Combine(dir, "m.fnn")
                    ModelFile.saveNetwork file netB
                    let longer = File.ReadAllBytes file
                    let shorter = ModelFile.networkToBytes netA
                    Expect.isLessThan shorter.Length longer.Length "netA's file is the shorter"
                    ModelFile.writeInPlace false id file file shorter
                    Expect.equal (File.ReadAllBytes file) shorter "exactly the new bytes, no old tail"
                    Expect.equal (ModelFile.loadNetwork file |> ModelFile.networkToBytes) shorter "and it loads"
                    ModelFile.writeInPlace true id file file longer
                    Expect.equal (File.ReadAllBytes file) (Array.append shorter longer) "append: the old bytes, then the new"
                finally Directory.Delete(dir, true)
            }
        ]
        testList "ONNX import is linear and bounded" [
            test "one initialiser read by 1,000 Gemm nodes is refused at the fifth, naming it, within the documented allocation" {
                // W is 256 x 256 (65,536 values, 262,144 bytes). Reads may total 4 x 65,536: four
                // Gemm nodes reach exactly that, the fifth passes it (docs/onnx.md). Before the fix
                // this file imported, allocating about 2.4 GB (1,000 decoded copies of W).
                let nodes = [ for i in 0 .. 999 -> onnxNode "Gemm" (sprintf "gemm%d" i) [ (if i = 0 then "x" else sprintf "y%d" (i - 1)); "W" ] (sprintf "y%d" i) ]
                let bytes = onnxModel 256 [ floatMatrix "W" 256 256 (fun k -> float32 (k % 7) * 1e-3f) ] nodes "y999"
                let before = GC.GetAllocatedBytesForCurrentThread()
                match Expect.throwsC (fun () -> Onnx.importNetwork bytes |> ignore) id with
                | :? OnnxFormatException as e ->
                    Expect.equal (e.NodeName, e.OperatorType) ("gemm4", "Gemm") "the fifth node"
                    Expect.stringContains e.Message "'W'" "names the initialiser"
                    Expect.stringContains e.Message "more than 4 times the 65536 values" "the cause"
                | e -> failtestf "expected OnnxFormatException, got %O" e
                let allocated = GC.GetAllocatedBytesForCurrentThread() - before
                // docs/onnx.md: an import allocates at most 64 times the file plus 256 KiB.
                Expect.isLessThan allocated (64L * int64 bytes.Length + 262144L) (sprintf "allocated %d bytes for a file of %d" allocated bytes.Length)
            }
            test "a weight shared by two nodes (weight tying) still imports" {
                // Reads 2 x 9 of 9 stored values: within the factor of 4. Both layers are W.
                let w k = float32 (k + 1) / 10.0f
                let bytes = onnxModel 3 [ floatMatrix "W" 3 3 w ] [ onnxNode "Gemm" "g0" [ "x"; "W" ] "a"; onnxNode "Relu" "r0" [ "a" ] "b"; onnxNode "Gemm" "g1" [ "b"; "W" ] "c" ] "c"
                let net = (Onnx.importNetwork bytes).Network
                Expect.equal net.Layers.Length 2 "two dense layers"
                for l in net.Layers do
                    Expect.equal (l.Weights.ToRowMajorArray()) (Array.init 9 (fun k -> float (w k))) "W, row by row"
                Expect.equal (net.Layers |> List.map (fun l -> l.Activation)) [ Activation.ReLU; Activation.Identity ] "the activations"
            }
            test "9,990 residual Adds import in linear time" {
                // Before the fix each Add rebuilt the map of block boundaries (O(n) per Add): 9,990
                // pairs took 79 s on the review machine, against 0.5 s for 9,990 plain Relus. Now
                // each Add drops only the boundaries it closes. The bound is 8 s, a tenth of the
                // quadratic time (this takes well under 2 s here), so that load cannot make it flaky.
                let bytes = residualChain 9990
                let clock = Stopwatch.StartNew()
                let net = (Onnx.importNetwork bytes).Network
                let seconds = clock.Elapsed.TotalSeconds
                Expect.equal net.Blocks.Length 9991 "a dense layer and 9,990 residual blocks"
                Expect.isTrue (net.Blocks |> List.tail |> List.forall (function Block.Residual [ Block.Activation Activation.ReLU ] -> true | _ -> false)) "each residual is x + relu(x)"
                Expect.isLessThan seconds 8.0 (sprintf "import took %.2f s" seconds)
                // Nested residuals still close at the right boundary: Add(b0, s1) after two pairs
                // closes a residual around both (the boundaries after b0 are dropped, b0 kept).
                let nodes = ResizeArray [ onnxNode "Gemm" "gemm" [ "x"; "W" ] "a0"; onnxNode "Relu" "relu" [ "a0" ] "b0" ]
                nodes.Add(onnxNode "Relu" "relu0" [ "b0" ] "r0"); nodes.Add(onnxNode "Add" "add0" [ "b0"; "r0" ] "s0")
                nodes.Add(onnxNode "Relu" "relu1" [ "s0" ] "r1"); nodes.Add(onnxNode "Add" "add1" [ "s0"; "r1" ] "s1")
                nodes.Add(onnxNode "Add" "outer" [ "b0"; "s1" ] "t")
                nodes.Add(onnxNode "Tanh" "tanh" [ "t" ] "u")
                let net = (Onnx.importNetwork (onnxModel 4 [ floatMatrix "W" 4 4 (fun _ -> 0.5f) ] nodes "u")).Network
                let inner = Block.Residual [ Block.Activation Activation.ReLU ]
                Expect.equal (net.Blocks |> List.tail) [ Block.Residual [ inner; inner ]; Block.Activation Activation.Tanh ] "the outer residual holds both inner ones"
                // s0 lies inside the outer block: after it closed, an Add from s0 is refused.
                nodes.Add(onnxNode "Add" "late" [ "s0"; "u" ] "v")
                match Expect.throwsC (fun () -> Onnx.importNetwork (onnxModel 4 [ floatMatrix "W" 4 4 (fun _ -> 0.5f) ] nodes "v") |> ignore) id with
                | :? OnnxFormatException as e ->
                    Expect.equal e.NodeName "late" "the Add from inside a closed block"
                    Expect.stringContains e.Message "not an earlier block boundary" "why"
                | e -> failtestf "expected OnnxFormatException, got %O" e
            }
        ]
        testList "ONNX export writes only what import reads" [
            test "a Float32 epsilon or leaky slope beyond float32's range is refused, naming the parameter and the block" {
                // float32's largest value is about 3.4028e38 (IEEE 754 binary32), so 1e39 is written
                // as infinity, which the importer refuses ("its epsilon is not finite").
                let e = expectArg "network" [ "Block 1"; "epsilon 1E+39"; "beyond float32's range" ] (fun () -> Onnx.exportNetwork 17 (Generators.withEpsilon 1e39 Precision.Float32) |> ignore)
                Expect.equal (occurrences "(Parameter" e.Message) 1 "one parameter named"
                expectArg "pipeline" [ "Block 1"; "beyond float32's range" ] (fun () -> Onnx.exportPipeline 17 (regressor (Generators.withEpsilon 1e39 Precision.Float32)) |> ignore) |> ignore
                let leaky slope where =
                    let dense = Dense.create (Mat.init 2 2 (fun i j -> float (i + j))) None Activation.Identity
                    let blocks =
                        match where with
                        | "dense" -> [ Block.Dense { dense with Activation = Activation.LeakyReLU slope } ]
                        | _ -> [ Block.Dense dense; Block.Activation (Activation.LeakyReLU slope) ]
                    { Blocks = blocks; Precision = Precision.Float32 }
                expectArg "network" [ "Block 0's leaky ReLU slope -1E+39"; "beyond float32's range" ] (fun () -> Onnx.exportNetwork 17 (leaky -1e39 "dense") |> ignore) |> ignore
                expectArg "network" [ "Block 1's leaky ReLU slope 1E+39" ] (fun () -> Onnx.exportNetwork 17 (leaky 1e39 "block") |> ignore) |> ignore
                // Float64 writes them as DOUBLE: exported and read back exactly.
                let back = (Onnx.importNetwork (Onnx.exportNetwork 17 (Generators.withEpsilon 1e39 Precision.Float64))).Network
                Expect.equal (back.Blocks |> List.pick (function Block.LayerNorm ln -> Some ln.Epsilon | _ -> None)) 1e39 "epsilon 1e39 in float64"
                let float64Leaky = { (leaky -1e39 "block") with Precision = Precision.Float64 }
                Expect.equal (Onnx.importNetwork (Onnx.exportNetwork 17 float64Leaky)).Network.Blocks.[1] (Block.Activation (Activation.LeakyReLU -1e39)) "slope -1e39 in float64"
            }
            test "fnn export --opset 13 of a float32 layer normalisation is a usage error naming --opset" {
                // An opset in 13..17 that the model cannot use is a bad option value (exit 2, as an
                // opset out of range is), not an error of the model (exit 1).
                let dir = tempDir ()
                try
                    ModelFile.saveNetwork (Path.Combine(dir, "ln.fnn")) (Generators.withEpsilon 1e-5 Precision.Float32)
                    let exit, err = runCli dir [ "export"; "--model"; "ln.fnn"; "--out"; "ln.onnx"; "--opset"; "13" ]
                    Expect.equal exit 2 (sprintf "a usage error (stderr: %s)" err)
                    Expect.equal (err.Trim()) "fnn: --opset 13: the network has a float32 layer normalisation (layer1), whose ONNX operator LayerNormalization needs opset 17." "one line naming the option"
                    Expect.isFalse (File.Exists(Path.Combine(dir, "ln.onnx"))) "nothing written"
                finally Directory.Delete(dir, true)
            }
            test "an export the importer would refuse is refused at export (read back, as model files are)" {
                // 10,001 blocks: checkWritable has nothing against them, but the importer reads at
                // most 10,000 (OnnxImport.maxLayers), so before this the file was written and then
                // could not be imported.
                let net = { Blocks = Block.Dense (Dense.create (Mat.init 2 2 (fun _ _ -> 1.0)) None Activation.Identity) :: List.replicate 10000 (Block.Activation Activation.ReLU); Precision = Precision.Float64 }
                let dir = tempDir ()
                try
                    let path = Path.Combine(dir, "big.onnx")
                    expectArg "network" [ "The network cannot be exported: its ONNX file could not be read back."; "more than 10000 blocks" ] (fun () -> Onnx.saveNetwork path 17 net) |> ignore
                    Expect.isFalse (File.Exists path) "nothing written"
                finally Directory.Delete(dir, true)
                // 10,000 blocks in all export and import.
                let fits = { net with Blocks = List.take 10000 net.Blocks }
                Expect.equal (Onnx.importNetwork (Onnx.exportNetwork 17 fits)).Network.Blocks.Length 10000 "10,000 blocks round-trip"
            }
        ]
        testList "refusals name the caller's parameter" [
            test "a custom block in a checkpoint or a pipeline is refused naming checkpoint or pipeline, once, before anything is written" {
                // The message is the one networkToBytes gives (ParamName net), with the caller's
                // parameter: before, "(Parameter 'net') (Parameter 'checkpoint')", behind a claim that
                // the file could not be loaded back, and ONNX named "network" for a pipeline.
                let block1 = "Block 1 is the custom block 'twice', which a model file cannot hold (its code is not data). Save its parameters yourself, or replace it by built-in blocks."
                let e = expectArg "checkpoint" [] (fun () -> ModelFile.checkpointToBytes (Checkpoint.start TrainingOptions.Default 0 customNet) |> ignore)
                Expect.equal e.Message (block1 + " (Parameter 'checkpoint')") "checkpoint: the block, the parameter once"
                let e = expectArg "pipeline" [] (fun () -> ModelFile.pipelineToBytes (regressor customNet) |> ignore)
                Expect.equal e.Message (block1 + " (Parameter 'pipeline')") "pipeline"
                let e = expectArg "pipeline" [ "Block 1 is the custom block 'twice', which ONNX export cannot write" ] (fun () -> Onnx.exportPipeline 17 (regressor customNet) |> ignore)
                Expect.equal (occurrences "(Parameter" e.Message) 1 "ONNX pipeline: the parameter once"
                let e = expectArg "network" [ "Block 1 is the custom block 'twice'" ] (fun () -> Onnx.exportNetwork 17 customNet |> ignore)
                Expect.equal (occurrences "(Parameter" e.Message) 1 "ONNX network: the parameter once"
            }
            test "a model whose bytes cannot be made says so, naming the caller's parameter once (not 'could not be loaded back')" {
                // A record built around LinearModel.create's checks: a null feature name, which the
                // container cannot write (ParamName "container" inside).
                let m = Linear.LinearModel.create (Mat.init 1 1 (fun _ _ -> 2.0)) (Vector<float>.Build.Dense(1, 1.0)) true [| "x" |]
                let e = expectArg "model" [] (fun () -> ModelFile.linearToBytes { m with FeatureNames = [| null |] } |> ignore)
                Expect.equal e.Message "The linear model cannot be saved: A model file cannot hold a null text (a kind, an entry name or a text value is null). (Parameter 'model')" "the container's reason, the parameter once"
                let c = { Checkpoint.start TrainingOptions.Default 0 netA with PendingBatches = [| null |] }
                let e = expectArg "checkpoint" [] (fun () -> ModelFile.checkpointToBytes c |> ignore)
                Expect.equal e.Message "The checkpoint cannot be saved: a part of it is null. (Parameter 'checkpoint')" "a null part"
                // What the reader refuses still says so.
                let e = expectArg "model" [ "The linear model cannot be saved: its file could not be loaded back." ] (fun () -> ModelFile.linearToBytes { m with FeatureNames = [| "x"; "x" |] } |> ignore)
                Expect.equal (occurrences "(Parameter" e.Message) 1 "the parameter once"
            }
            test "C#: ModelFile.SaveCheckpoint with a custom block names checkpoint, never the core's net" {
                let net = FunctionalNN.NetworkBuilder(2).Dense(2, FunctionalNN.Activation.Tanh).Add(Swish(2)).Dense(1, FunctionalNN.Activation.Identity).Seed(3L).Build()
                let x = Array2D.init 6 2 (fun i j -> float (i + j) / 6.0)
                let y = Array2D.init 6 1 (fun i _ -> float i / 6.0)
                let r = FunctionalNN.Trainer.Train(net, x, y, FunctionalNN.Loss.MeanSquaredError, FunctionalNN.TrainingOptions(MaxEpochs = 1, Backend = FunctionalNN.Backend.Reference))
                let dir = tempDir ()
                try
                    let path = Path.Combine(dir, "c.fnn")
                    let e = expectArg "checkpoint" [ "custom block 'swish'" ] (fun () -> FunctionalNN.ModelFile.SaveCheckpoint(r.Checkpoint, path))
                    Expect.isFalse (e.Message.Contains "'net'") (sprintf "the core's parameter is not shown: %s" e.Message)
                    Expect.equal (occurrences "(Parameter" e.Message) 1 "the parameter once"
                    Expect.isFalse (File.Exists path) "nothing written"
                finally Directory.Delete(dir, true)
            }
        ]
        testList "a validation loss that overflows" [
            for backend in [ Backend.Reference; Backend.Kernels ] do
                test (sprintf "%A: is an error naming validationTargets and the row, in float64 and float32" backend) {
                    // Row 1's target is 1e200: (output - 1e200)^2 is about 1e400, beyond the double
                    // range (about 1.8e308), though the target itself is finite. In float32, 1e30
                    // squares to 1e60, finite as a double but beyond float32's 3.4028e38.
                    let x = Mat.init 8 2 (fun i j -> float (i - j) / 8.0)
                    let y = Mat.init 8 1 (fun i _ -> float i / 8.0)
                    let net p = Network.init 2 [ LayerSpec.Of(3, Activation.Tanh); LayerSpec.Of(1, Activation.Identity) ] 4L |> Network.withPrecision p
                    let options = { TestOptions.sgd with MaxEpochs = 3 }.WithBackend(backend)
                    for p, big, fragments in [ Precision.Float64, 1e200, [ "The MeanSquaredError loss of row 1 overflows the double range" ]
                                               Precision.Float32, 1e30, [ "validation loss of row 1 is beyond float32's range" ] ] do
                        let vx = Mat.init 3 2 (fun i j -> float (i + j) / 4.0)
                        let vy = Mat.ofRows [ [| 1.0 |]; [| big |]; [| 2.0 |] ]
                        let data = TrainingData.Of(x, y).WithValidation(vx, vy)
                        let e = expectArg "validationTargets" ("validationTargets" :: fragments) (fun () -> Trainer.train options Loss.MeanSquaredError data (net p) |> ignore)
                        Expect.equal (occurrences "(Parameter" e.Message) 1 (sprintf "%A: the parameter once" p)
                        // Finite validation losses still train, and their checkpoint saves.
                        let ok = TrainingData.Of(x, y).WithValidation(vx, Mat.ofRows [ [| 1.0 |]; [| 3.0 |]; [| 2.0 |] ])
                        let r = Trainer.train options Loss.MeanSquaredError ok (net p)
                        Expect.isTrue (r.History |> List.forall (fun h -> h.ValidationLoss |> Option.exists Double.IsFinite)) (sprintf "%A: finite validation losses" p)
                        Expect.equal (ModelFile.checkpointOfBytes (ModelFile.checkpointToBytes r.Checkpoint)).Epoch 3 (sprintf "%A: the checkpoint saves" p)
                }
            test "C#: Trainer.Train names validationY, on both backends" {
                for backend in [ FunctionalNN.Backend.Reference; FunctionalNN.Backend.Kernels ] do
                    let net = FunctionalNN.NetworkBuilder(2).Dense(3, FunctionalNN.Activation.Tanh).Dense(1, FunctionalNN.Activation.Identity).Seed(4L).Build()
                    let x = Array2D.init 8 2 (fun i j -> float (i - j) / 8.0)
                    let y = Array2D.init 8 1 (fun i _ -> float i / 8.0)
                    let vx = Array2D.init 3 2 (fun i j -> float (i + j) / 4.0)
                    let vy = array2D [ [ 1.0 ]; [ 1e200 ]; [ 2.0 ] ]
                    let options = FunctionalNN.TrainingOptions(MaxEpochs = 2, Backend = backend)
                    let e = expectArg "validationY" [ "row 1"; "validationY" ] (fun () -> FunctionalNN.Trainer.Train(net, x, y, FunctionalNN.Loss.MeanSquaredError, options, vx, vy) |> ignore)
                    Expect.isFalse (e.Message.Contains "validationTargets") (sprintf "%A: the core's name is not shown: %s" backend e.Message)
            }
        ]
    ]
