/// FsCheck generators shared by the property tests: random dense networks, losses and batches.
module Functional.NN.Tests.Generators

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// A random network, loss and batch for gradient properties.
type Case =
    { Network: Network
      Loss: Loss
      X: Matrix<float>
      Y: Matrix<float> }
    override this.ToString() =
        sprintf "loss %s, x %s, layers [%s]" (Loss.name this.Loss) (Mat.shapeOf this.X)
            (String.Join("; ", Network.describe this.Network))

/// Every activation that has a derivative.
let differentiableActivations =
    [ Activation.Identity; Activation.Sigmoid; Activation.Tanh; Activation.ReLU
      Activation.LeakyReLU 0.1; Activation.Softplus ]

let private genMatrix rows cols (lo: float) (hi: float) =
    Gen.choose (0, Int32.MaxValue - 1) |> Gen.map (fun seed ->
        let rng = Rng.create (int64 seed)
        let xs, _ = Rng.many (rows * cols) (Rng.nextUniform lo hi) rng
        Mat.init rows cols (fun i j -> xs.[i * cols + j]))

/// Targets that suit the loss for an n x k output.
let genTarget (loss: Loss) (n: int) (k: int) : Gen<Matrix<float>> =
    match loss with
    | Loss.Hinge | Loss.SquaredHinge | Loss.Logistic ->
        Gen.listOfLength (n * k) (Gen.elements [ -1.0; 1.0 ]) |> Gen.map (fun ys -> let a = Array.ofList ys in Mat.init n k (fun i j -> a.[i * k + j]))
    | Loss.BinaryCrossEntropy | Loss.BinaryCrossEntropyWithLogits -> genMatrix n k 0.0 1.0
    | Loss.SoftmaxCrossEntropy ->
        Gen.listOfLength n (Gen.choose (0, k - 1)) |> Gen.map (fun ls -> Mat.oneHot k (Array.ofList ls))
    | _ -> genMatrix n k -1.5 1.5

/// True when some pre-activation of a kinked activation, or some hinge margin, lies within
/// `distance` of its kink: such cases are drawn again.
let nearKink (distance: float) (c: Case) =
    let trace = Network.forward c.Network c.X
    let layerKink =
        List.zip c.Network.Layers trace.PreActivations
        |> List.exists (fun (l, z) ->
            match Activation.kinks l.Activation with
            | [] -> false
            | ks -> z.Enumerate() |> Seq.exists (fun v -> ks |> List.exists (fun k -> abs (v - k) < distance)))
    let out = trace.Output
    let lossKink =
        Seq.exists (fun i -> Seq.exists (fun j -> Loss.kinkDistance c.Loss out.[i, j] c.Y.[i, j] < distance) (seq { 0 .. out.ColumnCount - 1 })) (seq { 0 .. out.RowCount - 1 })
    layerKink || lossKink

/// A random case: 1 to 4 layers of widths 1 to 8, any differentiable activation, any loss, biases
/// on or off, a batch of 1 to 16 rows with inputs in [-1, 1]. Binary cross-entropy on
/// probabilities gets a sigmoid output layer (its input must lie in (0, 1)).
let genCase : Gen<Case> =
    gen {
        let! depth = Gen.choose (1, 4)
        let! inputs = Gen.choose (1, 8)
        let! widths = Gen.listOfLength depth (Gen.choose (1, 8))
        let! acts = Gen.listOfLength depth (Gen.elements differentiableActivations)
        let! biases = Gen.listOfLength depth (Gen.elements [ true; false ])
        let! loss = Gen.elements Loss.all
        let! n = Gen.choose (1, 16)
        let! seed = Gen.choose (0, 1_000_000)
        let acts =
            if loss = Loss.BinaryCrossEntropy then List.updateAt (depth - 1) Activation.Sigmoid acts else acts
        let specs =
            List.map3 (fun w a b -> { Units = w; Activation = a; UseBias = b; Initializer = Some Initializer.GlorotUniform }) widths acts biases
        let net0 = Network.init inputs specs (int64 seed)
        // Non-zero biases so that the bias gradients are exercised.
        let! biasValues = genMatrix depth 8 -0.5 0.5
        let net = net0 |> Network.mapLayers (fun i l -> { l with Bias = l.Bias |> Option.map (fun b -> b.MapIndexed(fun j _ -> biasValues.[i, j])) })
        let! x = genMatrix n inputs -1.0 1.0
        let! y = genTarget loss n (List.last widths)
        return { Network = net; Loss = loss; X = x; Y = y }
    }

/// Cases with no pre-activation or margin within 2e-3 of a kink: the four-point difference moves a
/// weight by up to 2h = 2e-4, which moves a pre-activation by 2e-4 times its input and more downstream,
/// so a band wider than the 1e-4 of the issue keeps every difference on one side of the kink.
let genSmoothCase = genCase |> Gen.filter (nearKink 2e-3 >> not)

/// Arbitrary instance for FsCheck properties over cases.
type CaseArb =
    static member Case() = Arb.fromGen genSmoothCase

/// FsCheck configuration with the case generator registered.
let config maxTest =
    { FsCheckConfig.defaultConfig with maxTest = maxTest; arbitrary = [ typeof<CaseArb> ] }

/// A matrix from rows, for readable test data.
let m (rows: float list list) = Mat.ofRows (rows |> List.map Array.ofList)
