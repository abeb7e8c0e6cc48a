/// Float32 networks in the reference core (docs/precision.md): every value a Float32 network keeps
/// is a float32 value, computed in float64 and rounded once; Float64 networks are unchanged.
module Functional.NN.Tests.PrecisionTests

open System
open System.IO
open System.Buffers.Binary
open Expecto
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Tests.Generators

/// float (float32 v): the definition of float32 rounding (IEEE 754 binary32, to nearest, ties to
/// even), written here with .NET's own conversion rather than the library's Precision.round.
let private r32 (v: float) = float (float32 v)

let private isF32 (v: float) = r32 v = v

let private allF32 (what: string) (values: float seq) =
    values |> Seq.iteri (fun k v -> if not (isF32 v) then failtestf "%s: value %d = %.17g is not a float32 value" what k v)

let private matrixF32 what (m: Matrix<float>) = allF32 what (m.Enumerate())

let private bits (v: float) = BitConverter.DoubleToInt64Bits v

let private f32 (net: Network) = Network.withPrecision Precision.Float32 net

// ---- An independent float32 implementation: plain loops over arrays ---------------------------
// The rule of docs/precision.md, written again without the library: each kept value is computed
// in float64 from the float32 values before it (products and sums accumulated in float64) and
// rounded once with r32. Activation derivatives are taken from the kept Z and A, as the notes'
// s'(Z) = A(1 - A) for the sigmoid and 1 - A^2 for tanh.

let private sigmoid (z: float) = 1.0 / (1.0 + exp (-z))

let private actValue (a: Activation) (z: float) =
    match a with
    | Activation.Identity -> z
    | Activation.Sigmoid -> sigmoid z
    | Activation.Tanh -> Math.Tanh z
    | Activation.ReLU -> max z 0.0
    | Activation.LeakyReLU s -> if z > 0.0 then z else s * z
    | Activation.Softplus -> if z > 0.0 then z + log (1.0 + exp (-z)) else log (1.0 + exp z)
    | Activation.Step -> failwith "not differentiable"

let private actDerivative (act: Activation) (z: float) (a: float) =
    match act with
    | Activation.Identity -> 1.0
    | Activation.Sigmoid -> a * (1.0 - a)
    | Activation.Tanh -> 1.0 - a * a
    | Activation.ReLU -> if z > 0.0 then 1.0 else 0.0
    | Activation.LeakyReLU s -> if z > 0.0 then 1.0 else s
    | Activation.Softplus -> sigmoid z
    | Activation.Step -> failwith "not differentiable"

/// (loss, Zs, As, dWs, dbs) of a network for the losses HalfMeanSquaredError, MeanSquaredError
/// and SoftmaxCrossEntropy, all in float32 values.
let private reference (net: Network) (loss: Loss) (xm: Matrix<float>) (ym: Matrix<float>) =
    let n = xm.RowCount
    let x = Array2D.init n xm.ColumnCount (fun i j -> r32 xm.[i, j])
    let y = Array2D.init n ym.ColumnCount (fun i j -> r32 ym.[i, j])
    let layers = net.Layers |> List.map (fun l -> l.Weights.ToArray(), l.Bias |> Option.map (fun b -> b.ToArray()), l.Activation)
    let inputs, zs, acts =
        layers
        |> List.fold (fun (ins, zs, acts, a: float[,]) (w: float[,], b, act) ->
            let din, dout = w.GetLength 0, w.GetLength 1
            let z =
                Array2D.init n dout (fun i j ->
                    let mutable s = 0.0
                    for k in 0 .. din - 1 do s <- s + a.[i, k] * w.[k, j]
                    r32 (match b with Some (b: float[]) -> s + b.[j] | None -> s))
            let out = Array2D.map (fun v -> r32 (actValue act v)) z
            (a :: ins, z :: zs, out :: acts, out)) ([], [], [], x)
        |> fun (ins, zs, acts, _) -> List.rev ins, List.rev zs, List.rev acts
    let out = List.last acts
    let k = out.GetLength 1
    let nf = float n
    let value, g =
        match loss with
        | Loss.HalfMeanSquaredError | Loss.MeanSquaredError ->
            let mutable s = 0.0
            for i in 0 .. n - 1 do
                for j in 0 .. k - 1 do s <- s + (out.[i, j] - y.[i, j]) * (out.[i, j] - y.[i, j])
            let half = loss = Loss.HalfMeanSquaredError
            r32 (if half then s / (2.0 * nf) else s / nf),
            Array2D.init n k (fun i j -> r32 (if half then (out.[i, j] - y.[i, j]) / nf else 2.0 * (out.[i, j] - y.[i, j]) / nf))
        | Loss.SoftmaxCrossEntropy ->
            // L = (1/n) sum_i sum_j y_ij (log sum_k e^{z_ik} - z_ij); dL/dz_ij = (softmax_ij - y_ij) / n
            // for rows of y that sum to 1 (one-hot).
            let m = Array.init n (fun i -> Seq.max (seq { for j in 0 .. k - 1 -> out.[i, j] }))
            let sums = Array.init n (fun i -> Seq.sum (seq { for j in 0 .. k - 1 -> exp (out.[i, j] - m.[i]) }))
            let mutable s = 0.0
            for i in 0 .. n - 1 do
                for j in 0 .. k - 1 do s <- s + y.[i, j] * (m.[i] + log sums.[i] - out.[i, j])
            r32 (s / nf), Array2D.init n k (fun i j -> r32 ((exp (out.[i, j] - m.[i]) / sums.[i] - y.[i, j]) / nf))
        | l -> failwithf "the reference does not implement %s" (Loss.name l)
    let rec back (layers: _ list) (ins: float[,] list) (zs: float[,] list) (acts: float[,] list) (g: float[,]) acc =
        match layers, ins, zs, acts with
        | (w: float[,], b: float[] option, act) :: ls, a :: ins', z :: zs', o :: acts' ->
            let din, dout = w.GetLength 0, w.GetLength 1
            let d = Array2D.init n dout (fun i j -> r32 (g.[i, j] * actDerivative act z.[i, j] o.[i, j]))
            let dW = Array2D.init din dout (fun p j -> (let mutable s = 0.0 in (for i in 0 .. n - 1 do s <- s + a.[i, p] * d.[i, j]); r32 s))
            let db = b |> Option.map (fun _ -> Array.init dout (fun j -> (let mutable s = 0.0 in (for i in 0 .. n - 1 do s <- s + d.[i, j]); r32 s)))
            let dA = Array2D.init n din (fun i p -> (let mutable s = 0.0 in (for j in 0 .. dout - 1 do s <- s + d.[i, j] * w.[p, j]); r32 s))
            back ls ins' zs' acts' dA ((dW, db) :: acc)
        | _ -> acc
    let grads = back (List.rev layers) (List.rev inputs) (List.rev zs) (List.rev acts) g []
    value, zs, acts, grads

let private sameBits (what: string) (expected: float[,]) (actual: Matrix<float>) =
    for i in 0 .. expected.GetLength 0 - 1 do
        for j in 0 .. expected.GetLength 1 - 1 do
            if bits expected.[i, j] <> bits actual.[i, j] then
                failtestf "%s[%d, %d]: the independent float32 implementation gives %.17g, the core %.17g" what i j expected.[i, j] actual.[i, j]

/// Cases for the independent implementation's losses, as Float32 networks.
let private genReferenceCase =
    genSmoothCase
    |> Gen.filter (fun c -> List.contains c.Loss [ Loss.HalfMeanSquaredError; Loss.MeanSquaredError; Loss.SoftmaxCrossEntropy ])
    |> Gen.map (fun c -> { c with Network = f32 c.Network })

/// Any case, as a Float32 network.
let private genF32Case = genCase |> Gen.map (fun c -> { c with Network = f32 c.Network })

/// Cases with no value within 2e-3 of a kink (ReLU, hinge), as Float32 networks: float32 rounding
/// cannot move a value across a kink, where the gradient jumps.
let private genSmoothF32Case = genSmoothCase |> Gen.map (fun c -> { c with Network = f32 c.Network })

let private optimizers =
    [ Optimizer.Sgd; Optimizer.momentum; Optimizer.Momentum(0.9, 0.1); Optimizer.nesterov; Optimizer.AdaGrad(1e-10, 0.1)
      Optimizer.rmsProp; Optimizer.RMSProp(0.9, 1e-8, 0.5, true); Optimizer.adam; Optimizer.adamW ]

/// The checkpoint's optimiser buffers, all of them.
let private stateValues (s: OptimizerState) = Seq.concat [ s.Velocity; s.FirstMoment; s.SecondMoment ]

// ---- The hand example ----------------------------------------------------------------------------

/// One layer 1 -> 1, identity, w = 0.1, b = 0.2, as a Float32 network; x = 0.3, y = 0.5.
let private handNet () = Network.create [ Dense.create (Mat.ofRows [ [| 0.1 |] ]) (Some (Vector<float>.Build.Dense [| 0.2 |])) Activation.Identity ]

let private handTests =
    test "hand example: w = 0.1 is stored as float32 0.100000001490116..., and every value follows" {
        // Every expected value below is printed by tests/reference/float32_hand.py (Python's struct
        // rounds a float64 to binary32; the script applies the rule of docs/precision.md by hand):
        //   w        0.10000000149011612      0x1.99999a0000000p-4
        //   b        0.20000000298023224      0x1.99999a0000000p-3
        //   x        0.30000001192092896      0x1.3333340000000p-2
        //   z        0.23000000417232513      0x1.d70a3e0000000p-3
        //   loss     0.03644999861717224      0x1.2a99300000000p-5
        //   g        -0.26999998092651367     -0x1.147ae00000000p-2
        //   dW       -0.08100000023841858     -0x1.4bc6a80000000p-4
        //   db       -0.26999998092651367     -0x1.147ae00000000p-2
        //   dA       -0.026999998837709427    -0x1.ba5e340000000p-6
        //   w1       0.140500009059906        0x1.1fbe780000000p-3
        //   b1       0.3349999785423279       0x1.570a3c0000000p-2
        //   z64      0.23                     0x1.d70a3d70a3d71p-3
        //   loss64   0.03645                  0x1.2a9930be0ded3p-5
        let net = f32 (handNet ())
        let x, y = Mat.ofRows [ [| 0.3 |] ], Mat.ofRows [ [| 0.5 |] ]
        let exact what (expected: float) (actual: float) =
            Expect.equal (bits actual) (bits expected) (sprintf "%s: expected %.17g, got %.17g" what expected actual)
        exact "w" 0.10000000149011612 net.Layers.[0].Weights.[0, 0]
        exact "b" 0.20000000298023224 net.Layers.[0].Bias.Value.[0]
        let trace = Network.forward net x
        exact "x as the network sees it" 0.30000001192092896 trace.Inputs.[0].[0, 0]
        exact "z" 0.23000000417232513 trace.PreActivations.[0].[0, 0]
        exact "a" 0.23000000417232513 trace.Output.[0, 0]
        let loss, g = Network.lossAndGradient net Loss.HalfMeanSquaredError x y
        exact "loss" 0.03644999861717224 loss
        exact "dW" -0.08100000023841858 g.Layers.[0].Weights.[0, 0]
        exact "db" -0.26999998092651367 g.Layers.[0].Bias.Value.[0]
        let _, dA = Dense.backwardIn Precision.Float32 net.Layers.[0] trace.Inputs.[0] trace.PreActivations.[0] trace.Output (Mat.ofRows [ [| -0.26999998092651367 |] ])
        exact "dA" -0.026999998837709427 dA.[0, 0]
        let stepped = GradientDescent.step 0.5 net g
        exact "w after one SGD step (eta 0.5)" 0.140500009059906 stepped.Layers.[0].Weights.[0, 0]
        exact "b after one SGD step (eta 0.5)" 0.3349999785423279 stepped.Layers.[0].Bias.Value.[0]
        Expect.equal stepped.Precision Precision.Float32 "the step keeps the precision"
        // The same network in float64 computes z = 0.23 and the loss 0.03645 (the script's z64, loss64).
        let loss64, _ = Network.lossAndGradient (handNet ()) Loss.HalfMeanSquaredError x y
        exact "float64 z" 0.23 (Network.predict (handNet ()) x).[0, 0]
        exact "float64 loss" 0.03645 loss64
    }

// ---- Iris -----------------------------------------------------------------------------------------

let private irisData () =
    let (xTrain, yTrain), (xTest, yTest) = TrainingTests.irisSplit 1L 35
    TrainingData.Of(xTrain, Mat.oneHot 3 yTrain).WithValidation(xTest, Mat.oneHot 3 yTest), xTest, yTest

let private irisRun = lazy (
    let data, xTest, yTest = irisData ()
    let run () = Trainer.train TrainingTests.irisOptions Loss.SoftmaxCrossEntropy data (f32 (TrainingTests.irisNet ()))
    run (), run (), xTest, yTest)

// ---- Model files ----------------------------------------------------------------------------------

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "fnn-precision-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private fixCrc (bytes: byte[]) =
    let b = Array.copy bytes
    BinaryPrimitives.WriteUInt32LittleEndian(Span(b, b.Length - 4, 4), ModelContainer.crc32 b (b.Length - 4))
    b

/// A version 1 network file assembled byte by byte from the format's documentation
/// (ModelFile.Container.fs), not by the writer: 1 layer, weights [[0.5]; [-0.25]], bias [0.125],
/// identity.
let private versionOneFile () =
    use ms = new MemoryStream()
    use w = new BinaryWriter(ms)
    let str (s: string) = (let b = Text.Encoding.UTF8.GetBytes s in w.Write(b.Length); w.Write b)
    w.Write "FNNMODEL"B
    w.Write 1us
    str "network"
    w.Write 4
    str "layers"; w.Write 1uy; w.Write 1L
    str "layer0.weights"; w.Write 4uy; w.Write 2uy; w.Write 2; w.Write 1; w.Write 0.5; w.Write -0.25
    str "layer0.bias"; w.Write 4uy; w.Write 1uy; w.Write 1; w.Write 0.125
    str "layer0.activation"; w.Write 3uy; str "identity"
    w.Write 0u
    w.Flush()
    fixCrc (ms.ToArray())

let private loads (bytes: byte[]) =
    try ModelFile.networkOfBytes bytes |> ignore; Ok ()
    with
    | :? ModelFormatException as e -> Error e.Message
    | e -> failtestf "a damaged file raised %s: %s" (e.GetType().Name) e.Message

let private formatError (what: string) (fragment: string) (bytes: byte[]) =
    match loads bytes with
    | Error m -> Expect.stringContains m fragment what
    | Ok () -> failtestf "%s: the file loaded" what

let private bigNet () =
    Network.init 64 [ LayerSpec.Of(32, Activation.ReLU); LayerSpec.Of(10, Activation.Identity) ] 5L

/// The kernels evaluate a Float32 network's activations and their derivatives in float32 (their own
/// vectorised exp, Simd.Exp512 and Simd.Expm1Negative512, and the runtime's Vector512.Log; in a row's
/// scalar tail the runtime's MathF functions), where the reference computes each in float64 and rounds
/// it once. The bounds below, |kernels - reference| <= N u max(|reference|, 1) with u = 2^-24
/// (float32's unit roundoff: IEEE 754 rounds every operation within u, relative), and for tanh and its
/// derivative N u |reference| (relative down to 0), follow from first-order error analysis of each
/// formula, taking exp and log within 2u (1 ulp: what glibc documents for expf and logf, and more than
/// Simd.Exp512's documented 3e-9 polynomial error), tanh within 4u (glibc's tanhf, 2 ulps), and the
/// reference's own rounding u:
/// - identity, ReLU: exact operations, 0. Leaky ReLU: the slope is rounded to float32 (u) before the
///   product (u), and the reference's u: 3.
/// - sigmoid 1 / (1 + e) or e / (1 + e), e = exp(-|z|): e's 2u (damped by e / (1 + e) <= 1/2 in the
///   first), one rounding each for the sum, the quotient and the product: 6u relative, 8 with the
///   reference's and a margin.
/// - tanh -m / (2 + m), m = e^-2|z| - 1 (Simd.Expm1Negative512): m = 2^k r q(r) + (2^k - 1) is within
///   about 2.5u relative (q's last Horner step and the product r q, u each; for k /= 0 one more
///   rounding and no cancellation, |m| > 0.29), scaled by 2 / (2 + m) <= 1.2 in the quotient; the sum's
///   and the quotient's u, the reference's u: 6, relative (measured worst 3.8 over 16M draws).
/// - softplus max(z, 0) + log1p(e) with Goldberg's log1p (theorem 4: within 5u for a log within u/2, so
///   6u here) of e (2u): 8u relative, the sum's u and the reference's u: 10.
/// Derivatives, from the same A and Z: sigmoid a (1 - a), two roundings and the reference's: 3; tanh
/// (1 - a)(1 + a), relative: 1 - a is exact for |a| >= 1/2 (Sterbenz's lemma), so two or three
/// roundings and the reference's: 4 (the reference 1 - a a is exact in float64 for a float32 a);
/// softplus sigmoid(z): 8 as above; identity, ReLU and leaky ReLU (the slope itself, rounded to
/// float32 on both backends): 0.
let private kernelActivationBounds =
    [ Activation.Identity, 0.0, 0.0; Activation.ReLU, 0.0, 0.0; Activation.LeakyReLU 0.01, 3.0, 0.0
      Activation.LeakyReLU -0.3, 3.0, 0.0; Activation.Sigmoid, 8.0, 3.0; Activation.Tanh, 6.0, 4.0; Activation.Softplus, 10.0, 8.0 ]

/// The activations whose bound is relative (N u |r|) rather than N u max(|r|, 1).
let private relativeBound (a: Activation) = a = Activation.Tanh

/// The worst |k - r| / (u max(|r|, 1)) of two arrays, or |k - r| / (u |r|) when relative, with its index.
let private worstIn (u: float) (relative: bool) (k: float[]) (r: float[]) =
    Array.map2 (fun (a: float) (b: float) ->
        if a = b then 0.0 else abs (a - b) / (u * (if relative then abs b else max (abs b) 1.0))) k r
    |> Array.indexed |> Array.maxBy snd

/// Inputs where tanh loses its relative accuracy if it cancels: tiny, subnormal (float32 and float64)
/// and signed zeros, both sides of 0.625 and of 0.17 (where the exponent of e^-2|z| changes), and
/// large enough for tanh to round to 1.
let private tanhEdges =
    [| 1e-30; -1e-30; 1e-8; -1e-8; 1e-3; -1e-3; 1e-40; -1e-45; 0.0; -0.0; 0.625; 0.62499994; 0.17; -0.1733
       2.0 ** -126.0; 2.0 ** -149.0; 5.0; -9.0; 1e-310; 5e-324 |]

[<Tests>]
let tests =
    testList "Precision" [
        test "Precision.round is float32 rounding; withPrecision Float32 rounds, Float64 widens exactly" {
            // 0.1 -> 0.100000001490116119384765625 = 13421773 / 2^27 (tests/reference/float32_hand.py).
            Expect.equal (Precision.round Precision.Float32 0.1) 0.10000000149011612 "0.1 as float32"
            Expect.equal (Precision.round Precision.Float64 0.1) 0.1 "Float64 rounds nothing"
            Expect.isFalse (Precision.isRepresentable Precision.Float32 0.1) "0.1 is not a float32"
            Expect.isTrue (Precision.isRepresentable Precision.Float32 0.5) "0.5 is"
            let net = bigNet ()
            Expect.equal net.Precision Precision.Float64 "Network.init gives Float64"
            let n32 = f32 net
            Expect.equal n32.Precision Precision.Float32 "precision"
            allF32 "Float32 parameters" (Parameters.ofNetwork n32)
            Expect.sequenceEqual (Parameters.ofNetwork n32) (Parameters.ofNetwork net |> Seq.map r32) "each parameter is the float32 nearest it"
            let back = Network.withPrecision Precision.Float64 n32
            Expect.equal back.Precision Precision.Float64 "widened"
            Expect.sequenceEqual (Parameters.ofNetwork back |> Seq.map bits) (Parameters.ofNetwork n32 |> Seq.map bits) "widening is exact"
            Expect.equal (Network.withPrecision Precision.Float64 net) net "Float64 of a Float64 network is the same network"
            // Parameters.toNetwork keeps the template's precision and rounds: 0.1 -> float32 0.1.
            let unflat = Parameters.toNetwork n32 (Vector<float>.Build.Dense(n32.ParameterCount, 0.1))
            Expect.equal unflat.Precision Precision.Float32 "toNetwork keeps Float32"
            Expect.isTrue (Parameters.ofNetwork unflat |> Seq.forall (fun v -> v = 0.10000000149011612)) "and rounds each value"
            Expect.isTrue (Parameters.ofNetwork (Parameters.toNetwork net (Vector<float>.Build.Dense(net.ParameterCount, 0.1))) |> Seq.forall (fun v -> v = 0.1)) "a Float64 template rounds nothing"
            let huge = Network.create [ Dense.create (Mat.ofRows [ [| 1e39 |] ]) None Activation.Identity ]
            Expect.throwsT<ArgumentException> (fun () -> f32 huge |> ignore) "1e39 is beyond float32's range"
        }
        test "withPrecision Float32 refuses a custom block's parameter beyond float32's range, naming the block, the parameter and its position" {
            // A custom block y = g * x with parameters [| g; spare |].
            let rec gain (ps: float[]) : ICustomBlock =
                { new ICustomBlock with
                    member _.Name = "gain"
                    member _.InputSize = 1
                    member _.OutputSize = 1
                    member _.Parameters = Array.copy ps
                    member _.WithParameters p = gain p
                    member _.Forward(x, _) = ps.[0] * x
                    member _.Backward(x, _, g, _) = ps.[0] * g, [| (x.PointwiseMultiply g).Enumerate() |> Seq.sum; 0.0 |] }
            let front = Block.Dense (Dense.create (Mat.ofRows [ [| 1.0 |] ]) None Activation.Identity)
            let net = Network.ofBlocks [ front; Block.Custom (gain [| 0.1; 1e39 |]) ]
            // 1e39 > float32's largest finite value 3.4028234663852886e38 (2^128 - 2^104), so it rounds to infinity.
            match Expect.throwsC (fun () -> f32 net |> ignore) id with
            | :? ArgumentException as e ->
                Expect.equal e.ParamName "net" "ParamName"
                Expect.stringContains e.Message "Block 1's custom 'gain' parameters[1] = 1E+39" "names the block, the parameter and its position"
            | e -> failtestf "expected ArgumentException, got %O" e
            // In range, each parameter is the float32 nearest it (0.1 -> 0.10000000149011612).
            let ok = f32 (Network.ofBlocks [ front; Block.Custom (gain [| 0.1; 3.4e38 |]) ])
            match ok.Blocks.[1] with
            | Block.Custom c -> Expect.sequenceEqual c.Parameters [| r32 0.1; r32 3.4e38 |] "rounded to float32"
            | b -> failtestf "expected the custom block, got %A" b
        }
        test "Autodiff in Float32 refuses a variable or constant beyond float32's range, naming it and the value given" {
            let argError (param: string) (fragments: string list) (f: unit -> unit) =
                match Expect.throwsC f id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName param (sprintf "ParamName of: %s" e.Message)
                    for fr in fragments do Expect.stringContains e.Message fr "message"
                | e -> failtestf "expected ArgumentException, got %O" e
            let reciprocal v = Autodiff.Node.divide (Autodiff.Node.scalar 1.0) (Autodiff.Node.scalarVariable "a" v)
            argError "output" [ "Variable 'a'"; "1E+39"; "float32" ] (fun () -> Autodiff.Autodiff.gradientIn Precision.Float32 (reciprocal 1e39) |> ignore)
            argError "output" [ "Variable 'a'"; "-1E+39" ] (fun () -> Autodiff.Autodiff.evaluateIn Precision.Float32 (reciprocal -1e39) |> ignore)
            argError "graph" [ "Variable 'a'"; "1E+39" ] (fun () -> Autodiff.Graph.forwardIn Precision.Float32 (Autodiff.Graph.ofOutput (reciprocal 1e39)) |> ignore)
            argError "output" [ "Constant"; "1E+39" ] (fun () ->
                Autodiff.Autodiff.evaluateIn Precision.Float32 (Autodiff.Node.add (Autodiff.Node.scalar 1e39) (Autodiff.Node.scalarVariable "z" 3.0)) |> ignore)
            // A result that overflows float32 names the node and gives its value before rounding:
            // 1e30 * 1e30 = 1e60 (the float32 neighbours of 1e30 multiply to ~1e60 as well).
            argError "output" [ "a * b"; "1E+60"; "beyond float32's range" ] (fun () ->
                Autodiff.Autodiff.gradientIn Precision.Float32 (Autodiff.Node.multiply (Autodiff.Node.scalarVariable "a" 1e30) (Autodiff.Node.scalarVariable "b" 1e30)) |> ignore)
            // float32's largest value itself is accepted: 1 / 3.4028234663852886e38 = 2.9e-39, a
            // float32 subnormal (the smallest positive float32 is 1.4e-45), so not 0.
            let top = float Single.MaxValue
            let r = Autodiff.Autodiff.gradientIn Precision.Float32 (reciprocal top)
            Expect.equal r.Value (r32 (1.0 / top)) "1 / max float32, rounded once"
            Expect.isTrue (r.Value > 0.0) "a subnormal float32, not 0"
            // Float64 is unchanged: 1 / 1e39 = 1e-39 and d/da (1/a) = -1/a^2 = -1e-78 (calculus).
            let r64 = Autodiff.Autodiff.gradientIn Precision.Float64 (reciprocal 1e39)
            Expect.floatClose Accuracy.veryHigh r64.Value 1e-39 "1 / 1e39 in float64"
            Expect.floatClose Accuracy.veryHigh (r64.Gradient "a").[0, 0] -1e-78 "-1 / a^2 in float64"
        }
        test "a Float32 pipeline's range error quotes the value given and the scaled one, naming the column" {
            // Scaler (x - offset) / scale with column b's scale 1/4: b = 1e38 (within float32's
            // range, < 3.4028e38) becomes (1e38 - 1) * 4 = 4e38, beyond it.
            let scaler = Scaler.create ScalingKind.Standard [| 0.0; 1.0 |] [| 1.0; 0.25 |]
            let net = Network.init 2 [ LayerSpec.Of(1, Activation.Identity) ] 3L |> f32
            let pipeline = Pipeline.create [| "a"; "b" |] scaler net Loss.MeanSquaredError "y" [||] (Scaler.identity 1)
            let x = Mat.ofRows [ [| 0.5; 1e38 |] ]
            let check (what: string) (f: unit -> unit) =
                match Expect.throwsC f id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "x" (sprintf "%s: ParamName of: %s" what e.Message)
                    for fr in [ "column 1 (b) is 1E+38"; "turns into 4E+38"; "float32" ] do Expect.stringContains e.Message fr what
                | e -> failtestf "%s: expected ArgumentException, got %O" what e
            check "outputs" (fun () -> Pipeline.outputs pipeline x |> ignore)
            check "predictValues" (fun () -> Pipeline.predictValues pipeline x |> ignore)
            check "pipelineInputGradient" (fun () -> Attribution.pipelineInputGradient pipeline false 0 x |> ignore)
            // The same pipeline in Float64 takes 4e38.
            let p64 = Pipeline.create [| "a"; "b" |] scaler (Network.withPrecision Precision.Float64 net) Loss.MeanSquaredError "y" [||] (Scaler.identity 1)
            Expect.equal (Pipeline.outputs p64 x).RowCount 1 "Float64 accepts it"
            // A text column t (three categories, three one-hot inputs) before b: the message counts the caller's
            // columns (b is column 1 of [t; b], not the network's input 3), and a missing b filled with 1e38 is
            // quoted as missing.
            let scaler4 = Scaler.create ScalingKind.Standard [| 0.0; 0.0; 0.0; 1.0 |] [| 1.0; 1.0; 1.0; 0.25 |]
            let net4 = Network.init 4 [ LayerSpec.Of(1, Activation.Identity) ] 3L |> f32
            let pre = Preprocessor.create [| [| "r"; "g"; "b" |]; [||] |] MissingPolicy.Mean [| 0.0; 1e38 |] UnknownCategory.Error
            let withText = Pipeline.createWith pre [| "t"; "b" |] scaler4 net4 Loss.MeanSquaredError "y" [||] (Scaler.identity 1)
            let message (x: Matrix<float>) =
                match Expect.throwsC (fun () -> Pipeline.outputs withText x |> ignore) id with
                | :? ArgumentException as e -> e.Message
                | e -> failtestf "expected ArgumentException, got %O" e
            Expect.stringContains (message (Mat.ofRows [ [| 1.0; 1e38 |] ])) "x at row index 0, column 1 (b) is 1E+38," "the caller's column"
            Expect.stringContains (message (Mat.ofRows [ [| 1.0; nan |] ])) "column 1 (b) is missing, filled with 1E+38," "a missing cell as missing"
            // A hand-made scaler that blows up a text column's one-hot input (offset 0.5, scale 1e-300 on t's first
            // input): the message quotes the category given (or filled) and the one-hot input's value.
            let scalerT = Scaler.create ScalingKind.Standard [| 0.5; 0.0; 0.0; 1.0 |] [| 1e-300; 1.0; 1.0; 0.25 |]
            let textBlowUp = Pipeline.createWith pre [| "t"; "b" |] scalerT net4 Loss.MeanSquaredError "y" [||] (Scaler.identity 1)
            let messageT (x: Matrix<float>) =
                match Expect.throwsC (fun () -> Pipeline.outputs textBlowUp x |> ignore) id with
                | :? ArgumentException as e -> e.Message
                | e -> failtestf "expected ArgumentException, got %O" e
            let m = messageT (Mat.ofRows [ [| 1.0; 0.0 |] ])
            for fr in [ "column 0 (t) is category 'g'; its one-hot input"; " is 0, which the model's scaler (offset 0.5, scale 1E-300)" ] do
                Expect.stringContains m fr "a text cell as its category"
            Expect.stringContains (messageT (Mat.ofRows [ [| nan; 0.0 |] ])) "column 0 (t) is missing, filled with category 'r'; its one-hot input" "a missing text cell"
            // The single-row predictor names its own parameter, row, and the value as given, with and without text columns.
            for p, what in [ pipeline, "numeric columns"; withText, "a text column" ] do
                let row = if what = "a text column" then [| 1.0; 1e38 |] else [| 0.5; 1e38 |]
                match Expect.throwsC (fun () -> (PipelinePredictor.create p).Predict(ReadOnlySpan row, Span(Array.zeroCreate<float> 1))) id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "row" (sprintf "%s: %s" what e.Message)
                    for fr in [ "row at index 1 (b) is 1E+38"; "float32" ] do Expect.stringContains e.Message fr what
                | e -> failtestf "%s: expected ArgumentException, got %O" what e
        }
        handTests
        testPropertyWithConfig (config 100) "Float32: every parameter, Z, A, loss, gradient, optimiser buffer and trained parameter is a float32 value" <|
            Prop.forAll (Arb.fromGen genF32Case) (fun c ->
                let net = c.Network
                matrixF32 "X as the network sees it" (Network.forward net c.X).Inputs.[0]
                let trace = Network.forward net c.X
                trace.PreActivations |> List.iteri (fun i z -> matrixF32 (sprintf "Z%d" i) z)
                trace.Activations |> List.iteri (fun i a -> matrixF32 (sprintf "A%d" i) a)
                let loss, g = Network.lossAndGradient net c.Loss c.X c.Y
                allF32 "loss" [ loss ]
                allF32 "gradient" (Parameters.ofGradients g)
                allF32 "Network.loss" [ Network.loss net c.Loss c.X c.Y ]
                let stepped = GradientDescent.step 0.01 net g
                Expect.equal stepped.Precision Precision.Float32 "GradientDescent.step keeps Float32"
                allF32 "GradientDescent.step" (Parameters.ofNetwork stepped)
                for opt in optimizers do
                    let options =
                        { TestOptions.sgd with Batching = Batching.MiniBatch(4, Sampling.WithoutReplacement); Schedule = Schedule.Constant 0.01; MaxEpochs = 2 }
                         .WithOptimizerSettings { Optimizer = opt; WeightDecay = 1e-3; ClipNorm = 1.0 }
                    let r = Trainer.train options c.Loss (TrainingData.Of(c.X, c.Y).WithValidation(c.X, c.Y)) net
                    let name = Optimizer.name opt
                    Expect.equal r.Model.Precision Precision.Float32 (sprintf "%s keeps Float32" name)
                    allF32 (name + " trained parameters") (Parameters.ofNetwork r.Model)
                    allF32 (name + " optimiser state") (stateValues r.Checkpoint.OptimizerState)
                    allF32 (name + " losses") (r.TrainLoss :: (r.History |> List.collect (fun h -> h.TrainLoss :: Option.toList h.ValidationLoss))))
        testPropertyWithConfig (config 40) "Float32 on the kernels: every activation and its derivative within its bound of the float64 value rounded once" <| fun (seed: int) ->
            // 63 rows of 37 columns: the kernels' 16-wide vector body and a scalar tail in every row, and an
            // odd total for the derivative's flat pass. Inputs over the saturated ends (+-40), small
            // magnitudes down to 1e-30, and [-8, 8], all float32 values.
            let rng = Random seed
            let rows, d = 63, 37
            let z =
                Mat.init rows d (fun _ _ ->
                    let v = 2.0 * rng.NextDouble() - 1.0
                    r32 (match rng.Next 3 with
                         | 0 -> 40.0 * v * v * v
                         | 1 -> float (sign v) * 10.0 ** (-30.0 * rng.NextDouble())
                         | _ -> 8.0 * v))
            let zs = z.ToRowMajorArray()
            // A few fixed inputs at the start of a row and in its scalar tail.
            tanhEdges |> Array.iteri (fun k v -> zs.[k] <- r32 v; zs.[d * 2 - 1 - k] <- r32 (-v))
            let z = Mat.init rows d (fun i j -> zs.[i * d + j])
            for act, forwardBound, derivativeBound in kernelActivationBounds do
                // A dense layer of weights I and bias 0: its pre-activation is z exactly, on both backends.
                let net = f32 (Network.create [ Dense.create (Matrix<float>.Build.DenseIdentity d) (Some (Vector<float>.Build.Dense d)) act ])
                let onKernels = (Network.predictWith Backend.Kernels net z).ToRowMajorArray()
                let expected = zs |> Array.map (actValue act >> r32)
                let at, worst = worstIn (2.0 ** -24.0) (relativeBound act) onKernels expected
                if worst > forwardBound then
                    failtestf "%A(%s): the kernels give %s, the float64 value rounded once %s: %g u, above the bound %g u"
                        act (zs.[at].ToString "R") (onKernels.[at].ToString "R") (expected.[at].ToString "R") worst forwardBound
                // s'(z) from the same A and Z (g = 1), through the kernels' backward pass.
                let kind, slope = Activation.kernel act
                let g = Array.create zs.Length 1.0f
                let a32, z32 = expected |> Array.map float32, zs |> Array.map float32
                Functional.NN.Kernels.Activations.MultiplyByDerivative<float32>(Span g, ReadOnlySpan a32, ReadOnlySpan z32, kind, float32 slope)
                let derivative = g |> Array.map float
                let expectedDerivative = Array.map2 (fun z a -> r32 (actDerivative act z a)) zs expected
                let at, worst = worstIn (2.0 ** -24.0) (relativeBound act) derivative expectedDerivative
                if worst > derivativeBound then
                    failtestf "%A'(%s): the kernels give %s, the float64 value rounded once %s: %g u, above the bound %g u"
                        act (zs.[at].ToString "R") (derivative.[at].ToString "R") (expectedDerivative.[at].ToString "R") worst derivativeBound
        testPropertyWithConfig (config 40) "Float64 on the kernels: tanh and its derivative within a few 2^-53 of their value, relative, down to subnormals" <| fun (seed: int) ->
            // The kernels' vector body and scalar tail (63 rows of 37 columns, 8 wide) on inputs from
            // 1e-300 to 40 in magnitude and the fixed edges. Expected: Math.Tanh (the runtime's C library,
            // within 2 ulps, 4 u relative, by glibc's documentation), and 1 - a^2 rounded once
            // (Math.FusedMultiplyAdd(-a, a, 1): one rounding of the exact value). Bounds with u = 2^-53 by
            // the analysis above: tanh 5 u from the formula and the reference's 4 u: 9 (measured worst 5.8
            // over 16M draws); the derivative (1 - a)(1 + a): 3 roundings and the reference's u: 4.
            let rng = Random seed
            let rows, d = 63, 37
            let u = 2.0 ** -53.0
            let zs =
                Array.init (rows * d) (fun _ ->
                    let v = 2.0 * rng.NextDouble() - 1.0
                    match rng.Next 3 with
                    | 0 -> 40.0 * v * v * v
                    | 1 -> float (sign v) * 10.0 ** (-300.0 * rng.NextDouble())
                    | _ -> 8.0 * v)
            tanhEdges |> Array.iteri (fun k v -> zs.[k] <- v; zs.[d * 2 - 1 - k] <- -v)
            let a = Array.zeroCreate zs.Length
            Functional.NN.Kernels.Activations.Apply<float>(ReadOnlySpan zs, Span a, rows, d, Functional.NN.Kernels.ActivationKind.Tanh, 0.0)
            let expected = zs |> Array.map Math.Tanh
            let at, worst = worstIn u true a expected
            if worst > 9.0 then
                failtestf "tanh(%s): the kernels give %s, Math.Tanh %s: %g u, above the bound 9 u"
                    (zs.[at].ToString "R") (a.[at].ToString "R") (expected.[at].ToString "R") worst
            zs |> Array.iteri (fun i v -> if v = 0.0 then Expect.equal (bits a.[i]) (bits v) (sprintf "tanh(%s) keeps the zero's sign" (v.ToString "R")))
            let g = Array.create zs.Length 1.0
            Functional.NN.Kernels.Activations.MultiplyByDerivative<float>(Span g, ReadOnlySpan expected, ReadOnlySpan zs, Functional.NN.Kernels.ActivationKind.Tanh, 0.0)
            let expectedDerivative = expected |> Array.map (fun a -> Math.FusedMultiplyAdd(-a, a, 1.0))
            let at, worst = worstIn u true g expectedDerivative
            if worst > 4.0 then
                failtestf "tanh'(a = %s): the kernels give %s, 1 - a^2 rounded once %s: %g u, above the bound 4 u"
                    (expected.[at].ToString "R") (g.[at].ToString "R") (expectedDerivative.[at].ToString "R") worst
        testPropertyWithConfig (config 100) "Optimizer.stepIn Float32: every buffer and every new parameter is a float32 value, for every rule" <| fun (seed: int) ->
            // The trainer rounds theta when it builds each network (Parameters.toNetwork), which
            // would hide an unrounded update; this checks the update itself.
            let values, _ = Rng.many 60 (Rng.nextUniform -2.0 2.0) (Rng.create (int64 seed))
            let theta0 = Array.map r32 values.[.. 9]
            for opt in optimizers do
                let settings = { Optimizer = opt; WeightDecay = 1e-3; ClipNorm = 0.5 }
                let mutable state = Optimizer.roundState Precision.Float32 (Optimizer.init settings 10)
                let mutable theta = theta0
                allF32 (Optimizer.name opt + " initial state") (stateValues state)
                for t in 1 .. 5 do
                    let g = Array.map r32 values.[10 * t .. 10 * t + 9]
                    let s', th' = Optimizer.stepIn Precision.Float32 settings 0.1 state theta g
                    allF32 (sprintf "%s step %d parameters" (Optimizer.name opt) t) th'
                    allF32 (sprintf "%s step %d state" (Optimizer.name opt) t) (stateValues s')
                    state <- s'
                    theta <- th'
        testPropertyWithConfig (config 200) "Float32 forward and gradient equal an independent float32 implementation bit for bit" <|
            Prop.forAll (Arb.fromGen genReferenceCase) (fun c ->
                let value, zs, acts, grads = reference c.Network c.Loss c.X c.Y
                let trace = Network.forward c.Network c.X
                List.iteri2 (fun i e a -> sameBits (sprintf "Z%d" i) e a) zs trace.PreActivations
                List.iteri2 (fun i e a -> sameBits (sprintf "A%d" i) e a) acts trace.Activations
                let loss, g = Network.lossAndGradient c.Network c.Loss c.X c.Y
                Expect.equal (bits loss) (bits value) (sprintf "loss: reference %.17g, core %.17g" value loss)
                List.iteri2 (fun i (dW, db) (gl: DenseGradient) ->
                    sameBits (sprintf "dW%d" i) dW gl.Weights
                    match db, gl.Bias with
                    | Some e, Some a -> sameBits (sprintf "db%d" i) (array2D [ e ]) (a.ToRowMatrix())
                    | None, None -> ()
                    | _ -> failtest "bias presence differs") grads g.Layers)
        testPropertyWithConfig (config 300) "Float32 loss and gradient equal the Float64 ones within 1e-5 (relative, norm-wise)" <|
            Prop.forAll (Arb.fromGen genSmoothF32Case) (fun c ->
                // Compared with the same float32 parameters and data in float64 (the widened network,
                // X and Y rounded to float32), so the difference is the rounding of intermediate
                // values alone. Each value is rounded once, with relative error at most
                // u = 2^-24 = 6e-8; a value depends on at most ~4 layers x 5 roundings (Z, A, D,
                // dW, dA), so first-order error is about 20 u = 1.2e-6 times the amplification of the
                // cases (sigmoid and softmax saturation, cancellation in sums). The bound 1e-5 allows
                // a factor 8. Measured once over 3,000 cases (this property with maxTest 3000): at
                // most 6.1e-7 for the gradient and 1.3e-7 for the loss, a margin of 16.
                let x, y = c.X.Map(fun v -> r32 v), c.Y.Map(fun v -> r32 v)
                let n64 = Network.withPrecision Precision.Float64 c.Network
                let l32, g32 = Network.lossAndGradient c.Network c.Loss x y
                let l64, g64 = Network.lossAndGradient n64 c.Loss x y
                let v32, v64 = Parameters.ofGradients g32, Parameters.ofGradients g64
                let gradErr = (v32 - v64).L2Norm() / max (v64.L2Norm()) 1e-3
                let lossErr = abs (l32 - l64) / max (abs l64) 1e-3
                if gradErr > 1e-5 || lossErr > 1e-5 then
                    failtestf "relative difference: gradient %g, loss %g (loss %.17g vs %.17g) for %O" gradErr lossErr l32 l64 c
                let o32, o64 = Network.predict c.Network x, Network.predict n64 x
                // The outputs' rounding error is bounded relative to the magnitudes the forward pass
                // sums, not to the outputs: terms of both signs that nearly cancel, in any layer, leave
                // a small value carrying the rounding of the large terms, which later layers carry on.
                // The standard forward error bound is c u M, with M the same pass on absolute values:
                // M_0 = |X|, M_l = L_l (M_(l-1) |W_l| + |b_l|), L_l the activation's Lipschitz
                // constant (1 here, |slope| for a steeper leaky ReLU). Runs once found 1.3e-5 relative
                // to the outputs (cancellation in a 7-term output sum, and in a 7 -> 1 hidden layer).
                let scale =
                    n64.Blocks |> List.fold (fun (m: Matrix<float>) block ->
                        match block with
                        | Block.Dense d ->
                            let lipschitz = match d.Activation with Activation.LeakyReLU s -> max 1.0 (abs s) | _ -> 1.0
                            let z = m * d.Weights.PointwiseAbs()
                            let z = match d.Bias with Some b -> z.MapIndexed(fun _ j v -> v + abs b.[j]) | None -> z
                            lipschitz * z
                        | _ -> failtestf "a dense network was generated, got %O" block) (x.PointwiseAbs())
                let outErr = (o32 - o64).FrobeniusNorm() / max (scale.FrobeniusNorm()) 1e-3
                if outErr > 1e-5 then failtestf "relative difference of the outputs %g (to the last layer's absolute terms) for %O" outErr c)
        test "GradientCheck checks a Float32 network in float64 (widened network, float32 data); NetworkGraph computes it in float32" {
            let net = f32 (Network.init 3 [ LayerSpec.Of(4, Activation.Tanh); LayerSpec.Of(2, Activation.Sigmoid) ] 3L)
            let c = { Network = net; Loss = Loss.BinaryCrossEntropy; X = Mat.init 5 3 (fun i j -> sin (float (3 * i + j))); Y = Mat.init 5 2 (fun i j -> 0.1 * float (i + j)) }
            let got = GradientCheck.checkNetwork GradientCheckOptions.Default c.Network c.Loss c.X c.Y
            let widened = GradientCheck.checkNetwork GradientCheckOptions.Default (Network.withPrecision Precision.Float64 c.Network) c.Loss (c.X.Map(fun v -> r32 v)) (c.Y.Map(fun v -> r32 v))
            Expect.equal got.Analytic widened.Analytic "the same analytic gradient"
            Expect.equal got.Numeric widened.Numeric "the same differences"
            Expect.isTrue (got.Passes 1e-6) (sprintf "relative error %g" got.MaxRelativeError)
            // NetworkGraph runs the graph in the network's precision (Graph.runIn Float32): its
            // nodes split the loss differently from Network.lossAndGradient (the mean as its own
            // node, for one), so the roundings differ and the two agree to float32 accuracy,
            // within the 1e-5 of the Float64 comparison above, not bit for bit.
            let graphLoss, graphGrad = Autodiff.NetworkGraph.lossAndGradient c.Network c.Loss c.X c.Y
            let loss32, grad32 = Network.lossAndGradient c.Network c.Loss c.X c.Y
            let vg, v32 = Parameters.ofGradients graphGrad, Parameters.ofGradients grad32
            Expect.isLessThan ((vg - v32).L2Norm() / v32.L2Norm()) 1e-5 "NetworkGraph's gradient"
            Expect.isLessThan (abs (graphLoss - loss32) / abs loss32) 1e-5 "NetworkGraph's loss"
            allF32 "NetworkGraph's gradient" vg
            Expect.isTrue (isF32 graphLoss) "NetworkGraph's loss is a float32 value"
        }
        test "Linear models in Float32: withPrecision rounds the fit, predictions are float32 (hand example and an independent loop), files keep it" {
            // Hand example: y = 0.1 x + 0.2 at x = 3 and y = 0.1 x at x = 3 (values from Python's
            // struct float32, the script tests/reference/float32_linear_hand.py and its printed output).
            // Float32: the coefficient is 0.10000000149011612, the intercept 0.20000000298023224;
            // 3 x 0.10000000149011612 + 0.20000000298023224 = 0.5000000074505806 rounds to 0.5, and
            // 3 x 0.10000000149011612 = 0.30000000447034836 rounds to 0.30000001192092896.
            // Float64: 3 x 0.1 + 0.2 = 0.5 and 3 x 0.1 = 0.30000000000000004.
            let hand = Linear.LinearModel.create (Mat.ofRows [ [| 0.1 |] ]) (Vector<float>.Build.Dense [| 0.2 |]) true [||]
            Expect.equal hand.Precision Precision.Float64 "create gives Float64"
            let hand32 = Linear.LinearModel.withPrecision Precision.Float32 hand
            Expect.equal hand32.Coefficients.[0, 0] 0.10000000149011612 "coefficient as float32"
            Expect.equal hand32.Intercept.[0] 0.20000000298023224 "intercept as float32"
            Expect.equal (Linear.LinearModel.predict hand32 (Mat.ofRows [ [| 3.0 |] ])).[0, 0] 0.5 "Float32 prediction with intercept"
            Expect.equal (Linear.LinearModel.predict hand (Mat.ofRows [ [| 3.0 |] ])).[0, 0] 0.5 "Float64 prediction with intercept"
            let noB = Linear.LinearModel.create (Mat.ofRows [ [| 0.1 |] ]) (Vector<float>.Build.Dense 1) false [||]
            Expect.equal (Linear.LinearModel.predict (Linear.LinearModel.withPrecision Precision.Float32 noB) (Mat.ofRows [ [| 3.0 |] ])).[0, 0] 0.30000001192092896 "Float32 prediction without intercept"
            Expect.equal (Linear.LinearModel.predict noB (Mat.ofRows [ [| 3.0 |] ])).[0, 0] 0.30000000000000004 "Float64 prediction without intercept"
            // A least-squares fit on random data: the Float32 model is the float32 rounding of the
            // float64 solution, and its predictions equal a loop written here (x rounded to float32,
            // products and sums in float64, rounded once).
            let rng = Random 4
            let x = Mat.init 40 6 (fun _ _ -> 2.0 * rng.NextDouble() - 1.0)
            let y = Mat.init 40 2 (fun i j -> float (i % 7) * 0.3 - float j + rng.NextDouble())
            let fit = Linear.LeastSquares.fit Linear.LeastSquaresOptions.Default x y
            let m32 = Linear.LinearModel.withPrecision Precision.Float32 fit
            Expect.sequenceEqual (m32.Coefficients.Enumerate()) (fit.Coefficients.Enumerate() |> Seq.map r32) "coefficients rounded"
            Expect.sequenceEqual (m32.Intercept.Enumerate()) (fit.Intercept.Enumerate() |> Seq.map r32) "intercept rounded"
            let expected =
                Array2D.init 40 2 (fun i k ->
                    let mutable acc = 0.0
                    for j in 0 .. 5 do acc <- acc + r32 x.[i, j] * m32.Coefficients.[j, k]
                    r32 (acc + m32.Intercept.[k]))
            let predicted = Linear.LinearModel.predict m32 x
            matrixF32 "Float32 predictions" predicted
            sameBits "Float32 predictions" expected predicted
            let back = Linear.LinearModel.withPrecision Precision.Float64 m32
            Expect.equal back.Precision Precision.Float64 "widened"
            Expect.sequenceEqual (back.Coefficients.Enumerate()) (m32.Coefficients.Enumerate()) "widening is exact"
            // Model files: a Float32 model keeps its precision and values, in about half the bytes.
            let wide = Linear.LinearModel.create (Mat.init 200 3 (fun i j -> sin (float (i + 7 * j)))) (Vector<float>.Build.Dense 3) false [||]
            let wide32 = Linear.LinearModel.withPrecision Precision.Float32 wide
            let bytes32, bytes64 = ModelFile.linearToBytes wide32, ModelFile.linearToBytes wide
            let loaded = ModelFile.linearOfBytes bytes32
            Expect.equal loaded wide32 "round trip of a Float32 model"
            Expect.equal loaded.Precision Precision.Float32 "precision kept"
            Expect.equal (ModelFile.linearOfBytes bytes64) wide "round trip of a Float64 model"
            Expect.isLessThan (float bytes32.Length / float bytes64.Length) 0.6 (sprintf "file size %d vs %d bytes" bytes32.Length bytes64.Length)
            let c = ModelContainer.read bytes32
            let damaged = ModelContainer.write { c with Entries = c.Entries |> List.map (fun (n, v) -> if n = "precision" then n, ModelValue.Text "float16" else n, v) }
            match (try ModelFile.linearOfBytes damaged |> ignore; None with :? ModelFormatException as e -> Some e.Message) with
            | Some m -> Expect.stringContains m "'precision' is 'float16'" "a damaged precision entry"
            | None -> failtest "a linear model file with precision float16 loaded"
            // The facade.
            let fm = FunctionalNN.LinearRegression.Fit(x.ToArray(), y.ToArray())
            let fm32 = fm.WithPrecision(FunctionalNN.Precision.Float32)
            Expect.equal fm32.Precision FunctionalNN.Precision.Float32 "facade precision"
            Expect.equal fm.Precision FunctionalNN.Precision.Float64 "facade fits are Float64"
            Expect.equal (fm32.Predict(x.ToArray())) (predicted.ToArray()) "facade predictions"
        }
        test "Autodiff in Float32: the notes' f = (x + y) z with x = 0.1, y = 0.2, z = 3 (tests/reference/float32_autodiff_hand.py)" {
            let x = Autodiff.Node.scalarVariable "x" 0.1
            let y = Autodiff.Node.scalarVariable "y" 0.2
            let z = Autodiff.Node.scalarVariable "z" 3.0
            let f = Autodiff.Node.multiply (Autodiff.Node.add x y) z
            // The script's output: x + y = 0.30000001192092896, f = 0.9000000357627869,
            // df/dz = 0.30000001192092896, df/dx = df/dy = 3.
            let r = Autodiff.Autodiff.gradientIn Precision.Float32 f
            Expect.equal r.Value 0.9000000357627869 "f in float32"
            Expect.equal (r.Gradient "z").[0, 0] 0.30000001192092896 "df/dz = x + y in float32"
            Expect.equal (r.Gradient "x").[0, 0] 3.0 "df/dx = z"
            Expect.equal (r.Gradient "y").[0, 0] 3.0 "df/dy = z"
            Expect.equal (Autodiff.Autodiff.evaluateIn Precision.Float32 f).[0, 0] 0.9000000357627869 "evaluateIn"
            // Float64 as before: 0.30000000000000004 and 0.9000000000000001 (the script's last line).
            let r64 = Autodiff.Autodiff.gradient f
            Expect.equal r64.Value 0.9000000000000001 "f in float64"
            Expect.equal (r64.Gradient "z").[0, 0] 0.30000000000000004 "df/dz in float64"
            // The facade's Backward(Precision.Float32) gives the same numbers.
            let fx = FunctionalNN.Autodiff.Variable("x", 0.1)
            let fy = FunctionalNN.Autodiff.Variable("y", 0.2)
            let fz = FunctionalNN.Autodiff.Variable("z", 3.0)
            let run = ((fx + fy) * fz).Backward(FunctionalNN.Precision.Float32)
            Expect.equal run.Value 0.9000000357627869 "facade: f in float32"
            Expect.equal (run.ScalarGradient "z") 0.30000001192092896 "facade: df/dz in float32"
            Expect.equal (((fx + fy) * fz).Evaluate(FunctionalNN.Precision.Float32)).[0, 0] 0.9000000357627869 "facade: Evaluate"
        }
        testPropertyWithConfig (config 100) "Autodiff in Float32: every node's value and adjoint and every gradient of a network's loss graph is a float32 value" <|
            Prop.forAll (Arb.fromGen genF32Case) (fun c ->
                if List.forall (fun (l: Dense) -> Activation.isDifferentiable l.Activation) c.Network.Layers then
                    let r = Autodiff.Autodiff.gradientIn Precision.Float32 (Autodiff.NetworkGraph.ofBatch c.Network c.Loss c.X c.Y)
                    for KeyValue (id, v) in r.Values do matrixF32 (sprintf "value of node %d" id) v
                    for KeyValue (id, a) in r.Adjoints do matrixF32 (sprintf "adjoint of node %d" id) a
                    for KeyValue (name, g) in r.Gradients do matrixF32 (sprintf "gradient of %s" name) g)
        test "Trainer on a Float32 network: Iris learns (>= 95 %, as the Float64 test), bit for bit reproducible, keeps Float32" {
            let r1, r2, xTest, yTest = irisRun.Force()
            Expect.equal r1.Model.Precision Precision.Float32 "keeps Float32"
            allF32 "trained parameters" (Parameters.ofNetwork r1.Model)
            allF32 "Adam's moments" (stateValues r1.Checkpoint.OptimizerState)
            Expect.sequenceEqual (Parameters.ofNetwork r2.Model |> Seq.map bits) (Parameters.ofNetwork r1.Model |> Seq.map bits) "two runs, the same bits"
            let history (r: TrainingResult<Network>) = r.History |> List.map (fun h -> h.Epoch, h.Step, bits h.TrainLoss, h.ValidationLoss, bits h.GradientNorm)
            Expect.equal (history r2) (history r1) "the same history (apart from the times)"
            // The same bound as TrainingTests' Float64 Iris test (95 % of the 45 test samples).
            let predicted = Mat.argmaxRows (Network.predict r1.Model xTest)
            let accuracy = float (Array.fold2 (fun s p t -> if p = t then s + 1 else s) 0 predicted yTest) / float yTest.Length
            Expect.isGreaterThanOrEqual accuracy 0.95 (sprintf "test accuracy %g" accuracy)
            let back = Network.withPrecision Precision.Float64 r1.Model
            Expect.sequenceEqual (Parameters.ofNetwork back |> Seq.map bits) (Parameters.ofNetwork r1.Model |> Seq.map bits) "withPrecision Float64 of the trained network is exact"
        }
        test "a fresh checkpoint of a Float32 network (as the facade makes one) has its AdaGrad accumulator rounded on resume" {
            // AdaGrad's s_0 = 0.1 is not a float32 value; resumeWith rounds the buffers before the
            // first step, so that even a run stopped before its first step keeps float32 buffers.
            let data, _, _ = irisData ()
            let options = TrainingTests.irisOptions.WithOptimizer(Optimizer.AdaGrad(1e-10, 0.1))
            let net = f32 (TrainingTests.irisNet ())
            let start = Checkpoint.start options net.ParameterCount net
            Expect.isFalse (Seq.forall isF32 start.OptimizerState.SecondMoment) "Checkpoint.start holds 0.1 itself"
            let stopped = Trainer.resumeWith { TrainingHooks.None with ShouldStop = fun () -> true } options Loss.SoftmaxCrossEntropy data start
            Expect.equal stopped.Steps 0 "no step taken"
            Expect.isTrue (stopped.Checkpoint.OptimizerState.SecondMoment |> Array.forall (fun v -> v = 0.10000000149011612)) "every s_0 is float32 0.1 (tests/reference/float32_hand.py's w)"
            // The facade's Trainer.Train starts from Checkpoint.start too.
            let facadeNet = FunctionalNN.NetworkBuilder(4).Dense(16, FunctionalNN.Activation.ReLU).Dense(3, FunctionalNN.Activation.Identity).Seed(11L).Precision(FunctionalNN.Precision.Float32).Build()
            let fo = FunctionalNN.TrainingOptions(Optimizer = FunctionalNN.Optimizer.AdaGrad(initialAccumulator = 0.1), MaxEpochs = 3)
            let r = FunctionalNN.Trainer.Train(facadeNet, data.Inputs.ToArray(), data.Targets.ToArray(), FunctionalNN.Loss.SoftmaxCrossEntropy, fo)
            Expect.equal r.Model.Precision FunctionalNN.Precision.Float32 "the facade's trained network is Float32"
            for i in 0 .. 1 do allF32 (sprintf "facade layer %d" i) (Seq.cast<float> (r.Model.GetWeights i))
        }
        test "a Float32 checkpoint saved, loaded and resumed gives the uninterrupted run bit for bit" {
            let data, _, _ = irisData ()
            let options n = { TrainingTests.irisOptions with MaxEpochs = n }
            let net = f32 (TrainingTests.irisNet ())
            let straight = Trainer.train (options 6) Loss.SoftmaxCrossEntropy data net
            let first = Trainer.train (options 3) Loss.SoftmaxCrossEntropy data net
            let loaded = ModelFile.checkpointOfBytes (ModelFile.checkpointToBytes first.Checkpoint)
            Expect.equal loaded.Model.Precision Precision.Float32 "the checkpoint keeps the precision"
            Expect.equal loaded.OptimizerState first.Checkpoint.OptimizerState "optimiser state"
            let resumed = Trainer.resume (options 6) Loss.SoftmaxCrossEntropy data loaded
            Expect.equal resumed.Model.Precision Precision.Float32 "resumed in Float32"
            Expect.sequenceEqual (Parameters.ofNetwork resumed.Model |> Seq.map bits) (Parameters.ofNetwork straight.Model |> Seq.map bits) "the same weights as a run never interrupted"
        }
        test "model file: a Float32 network round-trips bit for bit, keeps Float32, and its file is about half the size" {
            let n64 = bigNet ()
            let n32 = f32 n64
            let b64, b32 = ModelFile.networkToBytes n64, ModelFile.networkToBytes n32
            let dir = tempDir ()
            try
                let path = Path.Combine(dir, "net32.fnn")
                ModelFile.saveNetwork path n32
                let loaded = ModelFile.loadNetwork path
                Expect.equal loaded.Precision Precision.Float32 "precision"
                Expect.sequenceEqual (Parameters.ofNetwork loaded |> Seq.map bits) (Parameters.ofNetwork n32 |> Seq.map bits) "every parameter bit for bit"
                Expect.equal loaded n32 "the same network"
            finally Directory.Delete(dir, true)
            // 64*32 + 32 + 32*10 + 10 = 2410 parameters: 8 bytes each for Float64, 4 for Float32,
            // plus the same names and header (about 200 bytes) in both.
            let ratio = float b32.Length / float b64.Length
            Expect.isTrue (ratio > 0.5 && ratio < 0.52) (sprintf "Float32 file %d bytes, Float64 file %d bytes, ratio %g" b32.Length b64.Length ratio)
            Expect.equal (BinaryPrimitives.ReadUInt16LittleEndian(ReadOnlySpan(b32, 8, 2))) 2us "a Float32 network is written as version 2"
            Expect.equal (BinaryPrimitives.ReadUInt16LittleEndian(ReadOnlySpan(b64, 8, 2))) 1us "a Float64 network is still written as version 1"
            Expect.equal (ModelFile.networkOfBytes b64).Precision Precision.Float64 "Float64 round trip"
        }
        test "model file: a version 1 file assembled by hand loads as a Float64 network" {
            // CRC-32 (IEEE) check value from the standard: crc32("123456789") = 0xCBF43926.
            Expect.equal (ModelContainer.crc32 "123456789"B 9) 0xCBF43926u "the checksum is the standard CRC-32"
            let net = ModelFile.networkOfBytes (versionOneFile ())
            Expect.equal net.Precision Precision.Float64 "version 1 networks are Float64"
            Expect.equal (net.Layers.[0].Weights.ToArray()) (array2D [ [ 0.5 ]; [ -0.25 ] ]) "weights"
            Expect.equal (net.Layers.[0].Bias.Value.ToArray()) [| 0.125 |] "bias"
        }
        test "model file: a damaged precision or version is a ModelFormatException" {
            let b32 = ModelFile.networkToBytes (f32 (bigNet ()))
            let c = ModelContainer.read b32
            let withEntries es = ModelContainer.write { c with Entries = es }
            let replace name v = c.Entries |> List.map (fun (n, old) -> if n = name then n, v else n, old)
            formatError "precision float16" "'precision' is 'float16'" (withEntries (replace "precision" (ModelValue.Text "float16")))
            formatError "precision as an integer" "'precision' is an integer" (withEntries (replace "precision" (ModelValue.Int 32L)))
            formatError "precision dropped" "'layer0.weights' is a float32 array" (withEntries (c.Entries |> List.filter (fun (n, _) -> n <> "precision")))
            let widened = c.Entries |> List.map (fun (n, v) -> match v with ModelValue.Floats32 (s, xs) when n = "layer1.bias" -> n, ModelValue.Floats (s, Array.map float xs) | _ -> n, v)
            formatError "a float64 array in a float32 network" "'layer1.bias' is a float array" (withEntries widened)
            let v1 = Array.copy b32
            v1.[8] <- 1uy
            formatError "version 1 with a float32 array" "format version 1 does not know" (fixCrc v1)
            let v2 = ModelFile.networkToBytes (bigNet ())
            v2.[8] <- 2uy
            formatError "version 2 without a float32 array" "format version 2" (fixCrc v2)
            // Every byte of the precision entry's text ("float32") flipped, checksum fixed.
            let at = Text.Encoding.Latin1.GetString(b32).IndexOf("float32")
            Expect.isGreaterThan at 0 "the precision is in the file"
            for pos in at .. at + 6 do
                for bit in 0 .. 7 do
                    let b = Array.copy b32
                    b.[pos] <- b.[pos] ^^^ (1uy <<< bit)
                    match loads (fixCrc b) with
                    | Error _ -> ()
                    | Ok () -> failtestf "flipping bit %d of byte %d of the precision loaded a network" bit pos
        }
        test "model file fuzz: truncated and bit-flipped Float32 files load as ModelFormatException or a valid model" {
            let valid = ModelFile.networkToBytes (f32 (Network.init 3 [ LayerSpec.Of(4, Activation.Tanh); LayerSpec.Of(2, Activation.Identity) ] 2L))
            for n in 0 .. valid.Length - 1 do
                loads valid.[.. n - 1] |> ignore
            let mutable rng = Rng.create 9L
            for _ in 1 .. 3000 do
                let struct (pos, r) = Rng.nextInt valid.Length rng
                let struct (bit, r) = Rng.nextInt 8 r
                rng <- r
                let b = Array.copy valid
                b.[pos] <- b.[pos] ^^^ (1uy <<< bit)
                loads b |> ignore
                loads (fixCrc b) |> ignore
        }
        test "the kernels backend keeps a Float32 network's precision" {
            let (xTrain, yTrain), _ = TrainingTests.irisSplit 1L 35
            let net = f32 (TrainingTests.irisNet ())
            let options = TestOptions.sgd.WithSchedule(Schedule.Constant 0.05).WithBatching(Batching.miniBatch 16).WithMaxEpochs(2).WithSeed(1L).WithBackend(Backend.Kernels)
            let r = Trainer.train options Loss.SoftmaxCrossEntropy (TrainingData.Of(xTrain, Mat.oneHot 3 yTrain)) net
            Expect.equal r.Backend Backend.Kernels "the kernels ran"
            Expect.equal r.Model.Precision Precision.Float32 "precision"
            allF32 "kernel-trained parameters" (Parameters.ofNetwork r.Model)
            allF32 "kernel predictions" (Network.predictWith Backend.Kernels r.Model xTrain |> fun m -> Vector<float>.Build.DenseOfArray(m.ToColumnMajorArray()))
        }
        test "PipelineFit with Precision Float32, and fnn train --precision float32 --out, give Float32 models" {
            let fit = PipelineFit.fit (FitOptions.Default.WithHiddenLayers([| 5 |]).WithEpochs(20).WithPrecision(Precision.Float32)) (Datasets.load "iris")
            Expect.equal fit.Pipeline.Network.Precision Precision.Float32 "the fitted pipeline's network"
            allF32 "pipeline parameters" (Parameters.ofNetwork fit.Pipeline.Network)
            let loaded = ModelFile.pipelineOfBytes (ModelFile.pipelineToBytes fit.Pipeline)
            Expect.equal loaded fit.Pipeline "the pipeline round-trips"
            // The command-line tool, as CliTests runs it (the test project builds it).
            let dir = tempDir ()
            let run (args: string list) = Repo.runSplit [] "dotnet" (Repo.fnn :: args) dir (TimeSpan.FromMinutes 2.0)
            try
                let code, out, err = run [ "train"; "--dataset"; "iris"; "--epochs"; "50"; "--precision"; "float32"; "--out"; "m.fnn" ]
                Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                Expect.stringContains out "total: 131 parameters, float32" "the summary names the precision"
                let model = ModelFile.loadPipeline (Path.Combine(dir, "m.fnn"))
                Expect.equal model.Network.Precision Precision.Float32 "the saved model is Float32"
                let code, _, err = run [ "train"; "--dataset"; "iris"; "--precision"; "float16" ]
                Expect.notEqual code 0 "an unknown precision fails"
                Expect.stringContains err "--precision needs float64 or float32, not 'float16'" "and says why"
            finally Directory.Delete(dir, true)
        }
        test "facade: builder precision, WithPrecision, predict, save and load" {
            let b = FunctionalNN.NetworkBuilder(3).Dense(4, FunctionalNN.Activation.Tanh).Dense(2, FunctionalNN.Activation.Identity).Seed(5L)
            let n64 = b.Build()
            Expect.equal n64.Precision FunctionalNN.Precision.Float64 "default"
            let n32 = b.Precision(FunctionalNN.Precision.Float32).Build()
            Expect.equal n32.Precision FunctionalNN.Precision.Float32 "builder precision"
            for i in 0 .. 1 do
                Expect.equal (n32.GetWeights i) (n64.GetWeights i |> Array2D.map r32) (sprintf "layer %d: the Float64 weights rounded" i)
            let w = n64.WithPrecision(FunctionalNN.Precision.Float32)
            Expect.equal (w.GetWeights 0) (n32.GetWeights 0) "WithPrecision equals the builder's"
            Expect.equal (w.WithPrecision(FunctionalNN.Precision.Float64).GetWeights 1) (n32.GetWeights 1) "widening is exact"
            Expect.equal (w.WithPrecision(FunctionalNN.Precision.Float64).Precision) FunctionalNN.Precision.Float64 "widened"
            let x = array2D [ [ 0.1; 0.2; 0.3 ]; [ -1.0; 0.5; 2.0 ] ]
            let out = n32.Predict x
            allF32 "facade predictions" (Seq.cast<float> out)
            let edited = n32.WithLayerParameters(1, array2D [ [ 0.1; 0.2 ]; [ 0.3; 0.4 ]; [ 0.5; 0.6 ]; [ 0.7; 0.8 ] ], [| 0.1; 0.2 |])
            Expect.equal edited.Precision FunctionalNN.Precision.Float32 "WithLayerParameters keeps the precision"
            Expect.equal (edited.GetWeights 1).[0, 0] 0.10000000149011612 "and rounds the new values (0.1 as float32)"
            let dir = tempDir ()
            try
                let path = Path.Combine(dir, "n32.fnn")
                FunctionalNN.ModelFile.SaveNetwork(n32, path)
                let loaded = FunctionalNN.ModelFile.LoadNetwork path
                Expect.equal loaded.Precision FunctionalNN.Precision.Float32 "loaded precision"
                Expect.equal (loaded.Predict x) out "the same predictions"
            finally Directory.Delete(dir, true)
            Expect.throwsT<ArgumentOutOfRangeException> (fun () -> n64.WithPrecision(enum<FunctionalNN.Precision> 7) |> ignore) "an unknown precision"
        }
    ]
