/// Blocks as a C# user meets them (issue 12): the builder's blocks, the network's BlockInfo list,
/// a custom block written in C# (tests/CustomBlockQuickStart.CSharp's Swish, the README's example)
/// trained and gradient-checked in both modes, the dense-layer members on a network of blocks,
/// model files, and the pipeline options behind `fnn train --dropout --normalization --residual`.
module Functional.NN.Tests.BlocksFacadeTests

open System
open System.IO
open Expecto
open FunctionalNN

/// y_ij = x_ij beta_j, written here against the facade's CustomBlock. `mutant` halves dL/dbeta (a
/// wrong derivative the gradient check must catch); `badShape` returns one column too few.
type private Gain(beta: float[], mutant: bool, badShape: bool) =
    inherit CustomBlock()
    override _.Name = "gain"
    override _.InputSize = beta.Length
    override _.OutputSize = beta.Length
    override _.Parameters = Array.copy beta
    override _.WithParameters(p: float[]) = Gain(Array.copy p, mutant, badShape) :> CustomBlock
    override _.Forward(x: float[,], _training: bool) =
        let cols = if badShape then beta.Length - 1 else beta.Length
        Array2D.init (Array2D.length1 x) cols (fun i j -> x.[i, j] * beta.[j])
    override _.Backward(x: float[,], _y: float[,], g: float[,], _training: bool) =
        let n = Array2D.length1 x
        let dx = Array2D.init n beta.Length (fun i j -> g.[i, j] * beta.[j])
        let db = Array.init beta.Length (fun j -> (if mutant then 0.5 else 1.0) * Seq.sum (seq { for i in 0 .. n - 1 -> g.[i, j] * x.[i, j] }))
        CustomBlockGradient(dx, db)

/// y = gain x (3 columns, one parameter) with a value put into what it returns: into y at (row,
/// column) by Forward (`badOutput`), into dx at (row, column) by Backward (`badInputGradient`), or
/// as dgain (`badParameterGradient`). Otherwise dx = gain g and dgain = sum g o x (by hand).
type private Faulty(gain: float, badOutput: (int * int * float) option, badInputGradient: (int * int * float) option, badParameterGradient: float option) =
    inherit CustomBlock()
    override _.Name = "nanblock"
    override _.InputSize = 3
    override _.OutputSize = 3
    override _.Parameters = [| gain |]
    override _.WithParameters(p: float[]) = Faulty(p.[0], badOutput, badInputGradient, badParameterGradient) :> CustomBlock
    override _.Forward(x: float[,], _training: bool) =
        let y = Array2D.map (fun v -> gain * v) x
        badOutput |> Option.iter (fun (i, j, v) -> y.[i, j] <- v)
        y
    override _.Backward(x: float[,], _y: float[,], g: float[,], _training: bool) =
        let dx = Array2D.map (fun v -> gain * v) g
        badInputGradient |> Option.iter (fun (i, j, v) -> dx.[i, j] <- v)
        let dgain = defaultArg badParameterGradient (Seq.sum (seq { for i in 0 .. Array2D.length1 x - 1 do for j in 0 .. 2 -> g.[i, j] * x.[i, j] }))
        CustomBlockGradient(dx, [| dgain |])

/// `Expectations.expectArgument`, for statements.
let private expectArg (param: string) (fragments: string list) (f: unit -> unit) = Expectations.expectArgument param fragments f |> ignore

let private random (seed: int) (rows: int) (cols: int) =
    let r = Random(seed)
    Array2D.init rows cols (fun _ _ -> 2.0 * r.NextDouble() - 1.0)

/// 3 inputs -> dense 4 (identity) -> batch norm -> tanh -> dropout 0.25 -> residual [dense 4 tanh,
/// layer norm] -> swish (C#) -> dense 2 (identity): every kind of block.
let private everyBlock (seed: int64) =
    NetworkBuilder(3)
        .Dense(4, Activation.Identity).BatchNorm().Activation(Activation.Tanh).Dropout(0.25)
        .Residual(fun inner -> inner.Dense(4, Activation.Tanh).LayerNorm())
        .Add(Swish(4))
        .Dense(2, Activation.Identity)
        .Seed(seed)
        .Build()

let private adam epochs =
    TrainingOptions(Optimizer = Optimizer.Adam(), Schedule = Schedule.Constant 0.01, Batching = Batching.MiniBatch 8, MaxEpochs = epochs, Seed = 3L)

[<Tests>]
let tests =
    testList "Blocks facade" [
        test "the builder's blocks: kinds, widths, parameter and state counts, the summary" {
            let net = everyBlock 1L
            let kinds = net.Blocks |> Seq.map (fun b -> b.Kind) |> List.ofSeq
            Expect.equal kinds [ BlockKind.Dense; BlockKind.BatchNorm; BlockKind.Activation; BlockKind.Dropout; BlockKind.Residual; BlockKind.Custom; BlockKind.Dense ] "block kinds in order"
            Expect.equal (net.Blocks.[4].Inner |> Seq.map (fun b -> b.Kind) |> List.ofSeq) [ BlockKind.Dense; BlockKind.LayerNorm ] "the residual's inner blocks"
            // Hand counts: dense 3*4+4 = 16; batch norm 2*4 = 8; residual: dense 4*4+4 = 20 and layer norm 8 = 28;
            // swish 4 slopes; dense 4*2+2 = 10. Total 66; state: batch norm's mean and variance, 2*4 = 8.
            Expect.equal (net.Blocks |> Seq.map (fun b -> b.ParameterCount) |> List.ofSeq) [ 16; 8; 0; 0; 28; 4; 10 ] "parameter counts"
            Expect.equal net.ParameterCount 66 "total parameters"
            Expect.equal net.StateCount 8 "running statistics"
            Expect.equal net.Blocks.[1].StateCount 8 "the batch norm's state"
            Expect.equal (net.Blocks |> Seq.map (fun b -> b.InputSize, b.OutputSize) |> List.ofSeq) [ 3, 4; 4, 4; 4, 4; 4, 4; 4, 4; 4, 4; 4, 2 ] "widths"
            Expect.equal net.Blocks.[3].DropoutRate (Nullable 0.25) "dropout rate"
            Expect.equal net.Blocks.[2].Activation (Nullable Activation.Tanh) "activation block"
            Expect.equal net.Blocks.[0].Layer (LayerInfo(3, 4, Activation.Identity, true)) "a dense block's layer"
            Expect.equal net.Blocks.[5].Name "swish" "a custom block's name"
            Expect.isFalse net.IsDense "not a dense network"
            let lines = net.Describe()
            Expect.equal lines.Count 9 "one line per block, the residual's two inner blocks included"
            Expect.stringContains lines.[4] "residual 4 -> 4" "the residual"
            Expect.stringContains lines.[6] "  layer normalisation 4" "its inner blocks follow it, indented"
            Expect.stringContains (net.Blocks.[5].ToString()) "custom 'swish' 4 -> 4 (4 parameters)" "a block's line"
        }

        test "a network of blocks passes the gradient check in training and inference mode over parameters and inputs" {
            for seed in 1 .. 6 do
                let net = everyBlock (int64 seed)
                let x, y = random seed 7 3, random (100 + seed) 7 2
                for mode in [ NetworkMode.Training; NetworkMode.Inference ] do
                    let r = net.CheckGradients(x, y, Loss.MeanSquaredError, mode, dropoutSeed = int64 seed)
                    // 66 parameters followed by the 7 x 3 input values.
                    Expect.equal r.Analytic.Count (66 + 21) "parameters and inputs"
                    Expect.isTrue (r.Passes 1e-6) (sprintf "seed %d, %A: largest relative error %g at %d" seed mode r.MaxRelativeError r.WorstIndex)
            // Inference mode without inputs: the parameters only, as for a dense network.
            let r = (everyBlock 1L).CheckGradients(random 1 5 3, random 2 5 2, Loss.MeanSquaredError)
            Expect.equal r.Analytic.Count 66 "parameters only"
            Expect.isTrue (r.Passes 1e-6) (sprintf "largest relative error %g" r.MaxRelativeError)
        }

        test "the gradient check catches a custom block's wrong derivative, and a wrong shape is a typed error naming the block" {
            let build (block: CustomBlock) = NetworkBuilder(3).Dense(3, Activation.Tanh).Add(block).Dense(1, Activation.Identity).Seed(2L).Build()
            let x, y = random 5 6 3, random 6 6 1
            let good = (build (Gain([| 0.5; -1.2; 2.0 |], false, false))).CheckGradients(x, y, Loss.MeanSquaredError, NetworkMode.Training)
            Expect.isTrue (good.Passes 1e-6) (sprintf "the right derivative: %g" good.MaxRelativeError)
            let bad = (build (Gain([| 0.5; -1.2; 2.0 |], true, false))).CheckGradients(x, y, Loss.MeanSquaredError, NetworkMode.Training)
            // Halving dL/dbeta makes those entries' relative error 0.5 wherever the derivative is not tiny.
            Expect.isGreaterThan bad.MaxRelativeError 0.1 "the mutant fails"
            let e = Expect.throwsC (fun () -> (build (Gain([| 1.0; 1.0; 1.0 |], false, true))).Predict(x) |> ignore) id
            Expect.isTrue (e :? InvalidOperationException) (sprintf "typed error, got %O" e)
            Expect.stringContains e.Message "custom block 'gain'" "names the block"
            Expect.stringContains e.Message "6x2" "the shape it returned"
        }

        test "NaN or an infinity a C# block returns for finite arguments: InvalidOperationException naming the block, the row and the column, from Predict, LossAndGradient, Train and CheckGradients" {
            let build (block: CustomBlock) = NetworkBuilder(3).Dense(3, Activation.Tanh).Add(block).Dense(2, Activation.Identity).Seed(4L).Build()
            let x, y = random 11 8 3, random 12 8 2
            let options = TrainingOptions(Batching = Batching.FullBatch, MaxEpochs = 2)
            let forwardCalls (net: Network) : (string * (unit -> unit)) list =
                [ "Predict", (fun () -> net.Predict x |> ignore) ]
            let backwardCalls (net: Network) : (string * (unit -> unit)) list =
                [ "LossAndGradient", (fun () -> net.LossAndGradient(x, y, Loss.MeanSquaredError) |> ignore)
                  "Trainer.Train", (fun () -> Trainer.Train(net, x, y, Loss.MeanSquaredError, options) |> ignore)
                  "CheckGradients", (fun () -> net.CheckGradients(x, y, Loss.MeanSquaredError) |> ignore)
                  "CheckGradients (training)", (fun () -> net.CheckGradients(x, y, Loss.MeanSquaredError, NetworkMode.Training) |> ignore)
                  "Autodiff.NetworkLossAndGradient", (fun () -> Autodiff.NetworkLossAndGradient(net, x, y, Loss.MeanSquaredError) |> ignore) ]
            // (the block, the calls that meet it, what the message must say: the places set here, by hand)
            let cases : (CustomBlock * (Network -> (string * (unit -> unit)) list) * string) list =
                [ Faulty(1.5, Some (0, 0, nan), None, None) :> CustomBlock, (fun n -> forwardCalls n @ backwardCalls n), "The custom block 'nanblock' returned NaN at row 0, column 0 for a finite input"
                  Faulty(1.5, Some (6, 1, infinity), None, None) :> CustomBlock, (fun n -> forwardCalls n @ backwardCalls n), "The custom block 'nanblock' returned Infinity at row 6, column 1 for a finite input"
                  Faulty(1.5, None, Some (3, 2, nan), None) :> CustomBlock, backwardCalls, "The custom block 'nanblock' returned NaN in its input gradient at row 3, column 2 for a finite input, output and output gradient"
                  Faulty(1.5, None, None, Some -infinity) :> CustomBlock, backwardCalls, "The custom block 'nanblock' returned -Infinity as the gradient of parameter 0" ]
            // Every call of every case is tried, and every one that goes wrong is reported.
            let problems =
                [ for block, calls, expected in cases do
                    for what, call in calls (build block) do
                        match (try call (); None with e -> Some e) with
                        | Some (:? InvalidOperationException as e) when e.Message.Contains expected -> ()
                        | Some e -> yield sprintf "%s: expected InvalidOperationException (%s), got %s: %s" what expected (e.GetType().Name) e.Message
                        | None -> yield sprintf "%s: expected InvalidOperationException (%s), got no error" what expected ]
            Expect.isEmpty problems (String.Join("\n", problems))
        }

        test "BlockInfo gives a normalisation's scale and shift and batch normalisation's running statistics: the network's, after training" {
            let net = NetworkBuilder(3).Dense(4, Activation.Identity).BatchNorm().Activation(Activation.Tanh)
                        .Residual(fun i -> i.Dense(4, Activation.Tanh).LayerNorm()).Dense(2, Activation.Identity).Seed(9L).Build()
            let x = random 13 24 3
            let trained = Trainer.Train(net, x, random 14 24 2, Loss.MeanSquaredError, adam 3).Model
            // The core's blocks, read back from a model file (not through BlockInfo): the expected values.
            let path = Path.Combine(Path.GetTempPath(), "fnn-blockinfo-" + Guid.NewGuid().ToString("N") + ".fnn")
            let core =
                try
                    ModelFile.SaveNetwork(trained, path)
                    Functional.NN.ModelFile.loadNetwork path
                finally File.Delete path
            let values (v: MathNet.Numerics.LinearAlgebra.Vector<float>) = v.ToArray() |> List.ofArray
            let list (l: Collections.Generic.IReadOnlyList<float>) = Expect.isNotNull l "present"; List.ofSeq l
            match core.Blocks with
            | [ _; Functional.NN.Block.BatchNorm bn; _; Functional.NN.Block.Residual [ _; Functional.NN.Block.LayerNorm ln ]; _ ] ->
                let b = trained.Blocks.[1]
                Expect.equal (list b.Scale) (values bn.Scale) "batch norm: Scale"
                Expect.equal (list b.Shift) (values bn.Shift) "batch norm: Shift"
                Expect.equal (list b.RunningMean) (values bn.RunningMean) "batch norm: RunningMean"
                Expect.equal (list b.RunningVariance) (values bn.RunningVariance) "batch norm: RunningVariance"
                // Training moved them from where they start (gamma 1, beta 0, mean 0, variance 1).
                Expect.notEqual (list b.RunningMean) [ 0.0; 0.0; 0.0; 0.0 ] "the running mean moved"
                Expect.notEqual (list b.Scale) [ 1.0; 1.0; 1.0; 1.0 ] "gamma trained"
                let l = trained.Blocks.[3].Inner.[1]
                Expect.equal (list l.Scale) (values ln.Scale) "layer norm: Scale"
                Expect.equal (list l.Shift) (values ln.Shift) "layer norm: Shift"
                Expect.isNull l.RunningMean "layer norm: no running mean"
                Expect.isNull l.RunningVariance "layer norm: no running variance"
            | other -> failtestf "unexpected blocks %A" other
            for b in [ trained.Blocks.[0]; trained.Blocks.[2]; trained.Blocks.[3]; trained.Blocks.[4] ] do
                Expect.isNull b.Scale (sprintf "%O: no scale" b.Kind)
                Expect.isNull b.RunningMean (sprintf "%O: no running mean" b.Kind)
            // Read-only: the list refuses changes.
            let scale = trained.Blocks.[1].Scale
            Expect.isTrue (scale :?> Collections.Generic.ICollection<float>).IsReadOnly "read-only"
            Expect.throwsT<NotSupportedException> (fun () -> (scale :?> Collections.Generic.IList<float>).[0] <- 5.0) "cannot be changed"
            // Summary() counts the running statistics as Describe() and the CLI do: batch norm of width 4, 2 x 4 = 8 (by hand).
            Expect.stringContains (trained.Summary()) "Running statistics: 8 " "Summary: the running statistics"
            Expect.stringContains (trained.Describe().[1]) "8 running statistics" "Describe: the same count"
            Expect.isFalse ((NetworkBuilder(3).Dense(2).Build()).Summary().Contains "Running statistics") "none without batch normalisation"
            // A pipeline's Summary() and Describe() too: hidden layers 8 and 6 with batch normalisation, 2 x (8 + 6) = 28 (by hand),
            // as the CLI's summary says it ("total: ... parameters and 28 running statistics", CliTests).
            let pipeline = Pipeline.Untrained(Dataset.Embedded "iris", PipelineOptions(HiddenLayers = [| 8; 6 |], Normalization = Normalization.Batch))
            Expect.equal pipeline.Network.StateCount 28 "the pipeline's running statistics"
            Expect.stringContains (pipeline.Summary()) "Running statistics: 28 " "the pipeline's Summary"
            Expect.stringContains (String.Join("\n", pipeline.Describe())) (sprintf "total: %d parameters and 28 running statistics; loss" pipeline.Network.ParameterCount) "the pipeline's Describe"
        }

        test "a network with a C# block trains on the reference backend; the kernels refuse it; nothing given is changed" {
            let net = everyBlock 4L
            let x = random 7 40 3
            let y = Array2D.init 40 2 (fun i j -> if j = 0 then sin (3.0 * x.[i, 0]) else x.[i, 1] * x.[i, 2])
            let x0, y0 = Array2D.copy x, Array2D.copy y
            let before = net.Loss(x, y, Loss.MeanSquaredError)
            let r = Trainer.Train(net, x, y, Loss.MeanSquaredError, adam 60)
            Expect.equal r.Backend Backend.Reference "the result names the backend"
            Expect.isLessThan (r.Model.Loss(x, y, Loss.MeanSquaredError)) (0.5 * before) "the loss fell by half or more"
            let start = net.Blocks.[5].Custom :?> Swish
            Expect.equal start.Parameters [| 1.0; 1.0; 1.0; 1.0 |] "the starting block keeps its slopes (Swish starts at 1)"
            let trained = r.Model.Blocks.[5].Custom :?> Swish
            Expect.notEqual trained.Parameters start.Parameters "the trained network holds a new block with trained slopes"
            Expect.equal x x0 "x unchanged"
            Expect.equal y y0 "y unchanged"
            // Training moved the batch norm's running statistics of the trained network only.
            Expect.equal (net.Predict x) ((everyBlock 4L).Predict x) "the starting network still predicts as built"
            let custom = NetworkBuilder(3).Dense(4, Activation.Tanh).Add(Swish(4)).Dense(2, Activation.Identity).Build()
            expectArg "Backend" [ "kernels"; "custom block 'swish'" ] (fun () ->
                Trainer.Train(custom, x, y, Loss.MeanSquaredError, TrainingOptions(Backend = Backend.Kernels, MaxEpochs = 1)) |> ignore)
            // A Float32 network hands its custom block float32 parameters, and training keeps them float32.
            let r32 = Trainer.Train(net.WithPrecision Precision.Float32, x, y, Loss.MeanSquaredError, adam 2)
            let slopes = (r32.Model.Blocks.[5].Custom :?> Swish).Parameters
            Expect.notEqual slopes [| 1.0; 1.0; 1.0; 1.0 |] "trained"
            Expect.isTrue (slopes |> Array.forall (fun v -> float (float32 v) = v)) (sprintf "float32 values: %A" slopes)
            // The same seed and options give the same run (the dropout masks come from the seed).
            let again = Trainer.Train(net, x, y, Loss.MeanSquaredError, adam 60)
            Expect.equal (again.Model.Predict x) (r.Model.Predict x) "bit-identical rerun"
        }

        test "dense-layer members number the dense layers depth first; LossAndGradient.Gradient is the flat order" {
            let net = everyBlock 2L
            Expect.equal (net.Layers |> Seq.map (fun l -> l.InputSize, l.OutputSize) |> List.ofSeq) [ 3, 4; 4, 4; 4, 2 ] "three dense layers, the residual's inside"
            let w = net.GetWeights 1
            Expect.equal (Array2D.length1 w, Array2D.length2 w) (4, 4) "the residual's dense layer"
            let zeros = Array2D.zeroCreate 4 4
            let replaced = net.WithLayerParameters(1, zeros, Array.zeroCreate 4)
            Expect.equal (replaced.GetWeights 1) zeros "replaced"
            Expect.equal (replaced.GetWeights 0) (net.GetWeights 0) "the other layers kept"
            Expect.equal (replaced.Describe()) (net.Describe()) "every block kept"
            Expect.equal (net.GetWeights 1) w "the network itself unchanged"
            match Expect.throwsC (fun () -> net.GetWeights 3 |> ignore) id with
            | :? ArgumentOutOfRangeException as e -> Expect.stringContains e.Message "3 dense layers" e.Message
            | e -> failtestf "expected ArgumentOutOfRangeException, got %O" e
            let g = net.LossAndGradient(random 3 5 3, random 4 5 2, Loss.MeanSquaredError)
            Expect.equal g.Gradient.Length 66 "one entry per parameter"
            Expect.equal g.WeightGradients.Count 3 "one per dense layer"
            // The spec's flat order: block 0 (dense 3 -> 4) first, its weights row by row, then its bias.
            let w0 = g.WeightGradients.[0]
            Expect.equal g.Gradient.[0 .. 11] [| for i in 0 .. 2 do for j in 0 .. 3 -> w0.[i, j] |] "weights row by row"
            Expect.equal g.Gradient.[12 .. 15] g.BiasGradients.[0] "then the bias"
        }

        test "bad blocks are typed errors naming the argument" {
            match Expect.throwsC (fun () -> NetworkBuilder(3).Dropout(1.0) |> ignore) id with
            | :? ArgumentOutOfRangeException as e -> Expect.equal e.ParamName "rate" e.Message
            | e -> failtestf "expected ArgumentOutOfRangeException, got %O" e
            expectArg "inner" [ "takes 4 features"; "give 3" ] (fun () -> NetworkBuilder(3).Dense(4).Residual(fun i -> i.Dense(3)) |> ignore)
            expectArg "inner" [ "no inner blocks" ] (fun () -> NetworkBuilder(3).Dense(4).Residual(fun i -> i) |> ignore)
            // Residual blocks nested k deep (a dense layer innermost): 32 builds, the most a network
            // and a model file hold (Block.maxDepth); 33 is refused by Residual itself, naming inner,
            // not by Build (which documents InvalidOperationException only).
            let rec nest (k: int) (b: ResidualBuilder) : ResidualBuilder = if k = 0 then b.Dense(3) else b.Residual(fun i -> nest (k - 1) i)
            let rec depth (blocks: Collections.Generic.IReadOnlyList<BlockInfo>) : int =
                blocks |> Seq.fold (fun d b -> if b.Kind = BlockKind.Residual then max d (1 + depth b.Inner) else d) 0
            Expect.equal (depth (NetworkBuilder(3).Residual(fun i -> nest 31 i).Build().Blocks)) 32 "32 deep builds"
            expectArg "inner" [ "nests residual blocks 33 deep"; "at most 32 deep" ] (fun () -> NetworkBuilder(3).Residual(fun i -> nest 32 i) |> ignore)
            expectArg "block" [ "'swish' takes 5 features"; "give 4" ] (fun () -> NetworkBuilder(3).Dense(4).Add(Swish(5)) |> ignore)
            expectArg "block" [ "parameter 1"; "NaN" ] (fun () -> NetworkBuilder(2).Add(Gain([| 1.0; nan |], false, false)) |> ignore)
            Expect.throwsT<InvalidOperationException> (fun () -> NetworkBuilder(3).Dropout(0.5).Activation(Activation.ReLU).Build() |> ignore) "no block fixes a width"
            // Batch normalisation in training mode needs two rows (the batch's variance).
            let bn = NetworkBuilder(2).Dense(2).BatchNorm().Dense(1, Activation.Identity).Build()
            expectArg "x" [ "at least 2 rows" ] (fun () -> bn.CheckGradients(random 1 1 2, random 2 1 1, Loss.MeanSquaredError, NetworkMode.Training) |> ignore)
            match Expect.throwsC (fun () -> Pipeline.Untrained(Dataset.Embedded "iris", PipelineOptions(Dropout = 1.5)) |> ignore) id with
            | :? ArgumentOutOfRangeException as e -> Expect.equal e.ParamName "Dropout" e.Message
            | e -> failtestf "expected ArgumentOutOfRangeException, got %O" e
        }

        test "model files: built-in blocks round-trip bit for bit (running statistics too); a custom block is refused by name" {
            let net = NetworkBuilder(3).Dense(4, Activation.Identity).BatchNorm().Activation(Activation.Tanh).Dropout(0.2)
                        .Residual(fun i -> i.Dense(4, Activation.Tanh).LayerNorm()).Dense(2, Activation.Identity).Seed(6L).Build()
            let x = random 8 30 3
            let trained = Trainer.Train(net, x, random 9 30 2, Loss.MeanSquaredError, adam 5).Model
            let dir = Path.Combine(Path.GetTempPath(), "fnn-blocks-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            try
                let path = Path.Combine(dir, "net.fnn")
                ModelFile.SaveNetwork(trained, path)
                let loaded = ModelFile.LoadNetwork path
                Expect.equal (loaded.Describe()) (trained.Describe()) "the same blocks"
                let bits (a: float[,]) = a |> Seq.cast<float> |> Seq.map BitConverter.DoubleToInt64Bits |> List.ofSeq
                Expect.equal (bits (loaded.Predict x)) (bits (trained.Predict x)) "bit-identical predictions (inference uses the running statistics)"
                let e = Expect.throwsC (fun () -> ModelFile.SaveNetwork(everyBlock 1L, Path.Combine(dir, "custom.fnn"))) id
                Expect.isTrue (e :? ArgumentException) (sprintf "typed error, got %O" e)
                Expect.stringContains e.Message "custom block 'swish'" "names the block"
                Expect.isFalse (File.Exists(Path.Combine(dir, "custom.fnn"))) "nothing written"
            finally Directory.Delete(dir, true)
        }

        test "pipeline options: dropout after every hidden layer, normalisation before every hidden activation, residual around equal widths" {
            let iris = Dataset.Embedded "iris"
            let options =
                PipelineOptions(HiddenLayers = [| 8; 8; 6 |], Normalization = Normalization.Batch, Dropout = 0.1, Residual = true, Training = adam 30)
            let blocks = (Pipeline.Untrained(iris, options)).Network.Blocks
            // Layer 1: dense(identity) -> norm -> tanh; layer 2 (same width 8): residual of the same; layer 3 (width 6):
            // plain again; a dropout after each; the output layer 6 -> 3 classes.
            Expect.equal (blocks |> Seq.map (fun b -> b.Kind) |> List.ofSeq)
                [ BlockKind.Dense; BlockKind.BatchNorm; BlockKind.Activation; BlockKind.Dropout
                  BlockKind.Residual; BlockKind.Dropout
                  BlockKind.Dense; BlockKind.BatchNorm; BlockKind.Activation; BlockKind.Dropout
                  BlockKind.Dense ] "the blocks"
            Expect.equal (blocks.[4].Inner |> Seq.map (fun b -> b.Kind) |> List.ofSeq) [ BlockKind.Dense; BlockKind.BatchNorm; BlockKind.Activation ] "the residual's layer"
            Expect.equal blocks.[0].Layer.Activation Activation.Identity "the dense part of a normalised layer is linear"
            Expect.equal blocks.[2].Activation (Nullable Activation.Tanh) "the hidden activation after the normalisation"
            Expect.equal (blocks.[10].Layer) (LayerInfo(6, 3, Activation.Identity, true)) "the output layer"
            let layerNorm = (Pipeline.Untrained(iris, PipelineOptions(HiddenLayers = [| 5 |], Normalization = Normalization.Layer))).Network.Blocks
            Expect.equal (layerNorm |> Seq.map (fun b -> b.Kind) |> List.ofSeq) [ BlockKind.Dense; BlockKind.LayerNorm; BlockKind.Activation; BlockKind.Dense ] "layer normalisation, no dropout"
            let plain = (Pipeline.Untrained(iris, PipelineOptions(HiddenLayers = [| 5; 5 |]))).Network
            Expect.isTrue plain.IsDense "the defaults keep the dense network"
            let split = iris.SplitStratified(0.2, 1L)
            let fit = Pipeline.Fit(split.Train, options)
            let accuracy = fit.Model.Evaluate(split.Test).Classification.Accuracy
            Expect.isGreaterThanOrEqual accuracy 0.85 "iris is learnt"
            let path = Path.Combine(Path.GetTempPath(), "fnn-blocks-" + Guid.NewGuid().ToString("N") + ".fnn")
            try
                fit.Model.Save path
                let loaded = Pipeline.Load path
                Expect.equal (loaded.PredictProbabilities split.Test) (fit.Model.PredictProbabilities split.Test) "the saved pipeline predicts the same"
            finally File.Delete path
        }

        test "pipeline options that would build no block are refused, not ignored (Dropout or Normalization without hidden layers, Residual without equal widths)" {
            // A review: Pipeline.Fit built a plain network for these in silence, while fnn train refuses them.
            let iris = Dataset.Embedded "iris"
            let refused (options: PipelineOptions) (param: string) (fragment: string) =
                for make in [ (fun () -> Pipeline.Untrained(iris, options) |> ignore); (fun () -> Pipeline.Fit(iris, options) |> ignore) ] do
                    match Expect.throwsC make id with
                    | :? ArgumentException as e ->
                        Expect.equal e.ParamName param e.Message
                        Expect.stringContains e.Message fragment e.Message
                    | e -> failtestf "expected ArgumentException, got %O" e
            refused (PipelineOptions(HiddenLayers = [| 16; 8 |], Residual = true)) "Residual" "HiddenLayers is [16, 8], with no such pair"
            refused (PipelineOptions(HiddenLayers = [||], Residual = true)) "Residual" "HiddenLayers is empty"
            refused (PipelineOptions(HiddenLayers = [||], Dropout = 0.5)) "Dropout" "HiddenLayers is empty"
            refused (PipelineOptions(HiddenLayers = [||], Normalization = Normalization.Layer)) "Normalization" "HiddenLayers is empty"
            // The F# options name the field as the core does.
            match Expect.throwsC (fun () -> Functional.NN.PipelineFit.checkOptions (Functional.NN.FitOptions.Default.WithHiddenLayers([| 4; 5 |]).WithResidual true)) id with
            | :? ArgumentException as e -> Expect.equal e.ParamName "options.Residual" "F# ParamName"
            | e -> failtestf "expected ArgumentException, got %O" e
            // What builds something is taken: equal widths somewhere, dropout after a hidden layer.
            Expect.equal (Pipeline.Untrained(iris, PipelineOptions(HiddenLayers = [| 4; 8; 8 |], Residual = true)).Network.Blocks.[2].Kind) BlockKind.Residual "dense 4, dense 8, then the second 8 in a residual"
        }

        test "the README's custom C# block is tests/CustomBlockQuickStart.CSharp/Program.cs; it is gradient-checked, trained, and learns XOR" {
            let normalise (s: string) = s.Replace("\r\n", "\n").Trim()
            let program = normalise (File.ReadAllText(Repo.path [ "tests"; "CustomBlockQuickStart.CSharp"; "Program.cs" ]))
            Expect.contains (ReadmeTests.blocks "csharp") program "a C# block of the README is the program, word for word"
            let entry = Reflection.Assembly.Load("CustomBlockQuickStart.CSharp").EntryPoint
            let saved = Console.Out
            use capture = new StringWriter()
            Console.SetOut capture
            try entry.Invoke(null, [| box ([||]: string[]) |]) |> ignore
            finally Console.SetOut saved
            let out = capture.ToString()
            Expect.stringContains out "custom 'swish' 4 -> 4 (4 parameters)" out
            Expect.stringContains out "trained on the Reference backend" out
            Expect.stringContains out "XOR predictions: 0.00 1.00 1.00 0.00" out
            let line = out.Split('\n') |> Array.find (fun l -> l.StartsWith "gradient check")
            let error = Double.Parse(line.Substring(line.LastIndexOf ' ' + 1), Globalization.CultureInfo.InvariantCulture)
            Expect.isLessThan error 1e-6 line
        }
    ]
