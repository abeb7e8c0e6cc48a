/// Tests of a review's findings on the gradient checker, the autodiff graph, the ReLU interpolant
/// and the autodiff facade: each fails without its fix.
module Functional.NN.Tests.NumericsReviewTests

open System
open Expecto
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Autodiff

[<Tests>]
let gradientCheckTests =
    testList "GradientCheck review" [
        test "an infinite analytic entry is a relative error of +infinity, fails, and is the worst index" {
            // f(t) = t^2 at 1 has derivative 2 (by hand); the gradient claims +infinity. |inf - 2| / max(inf, 2, floor)
            // is inf/inf = NaN in IEEE arithmetic, which must count as +infinity, not be skipped.
            let r = GradientCheck.check GradientCheckOptions.Default (fun t -> t.[0] * t.[0]) (fun _ -> [| infinity |]) [| 1.0 |]
            Expect.equal r.MaxRelativeError Double.PositiveInfinity "relative error"
            Expect.equal r.MaxAbsoluteError Double.PositiveInfinity "absolute error"
            Expect.isFalse (r.Passes 1e-6) "fails"
            Expect.equal r.WorstIndex 0 "worst index"
        }
        test "with two parameters the worst index is the infinite entry, not a smaller finite error" {
            // f = a^2 + b^2 has gradient (2a, 2b) = (2, 2) at (1, 1) by hand; entry 0 is off by 1e-3 (finite
            // relative error about 5e-4), entry 1 is -infinity.
            let f (t: float[]) = t.[0] * t.[0] + t.[1] * t.[1]
            let g (t: float[]) = [| 2.0 * t.[0] + 1e-3; -infinity |]
            let r = GradientCheck.check GradientCheckOptions.Default f g [| 1.0; 1.0 |]
            Expect.equal r.WorstIndex 1 "the infinite entry"
            Expect.equal r.MaxRelativeError Double.PositiveInfinity "relative error"
        }
        test "an infinite entry on the numeric side, and infinities on both sides, also fail" {
            let finite = [| 1.0; 2.0 |]
            for numeric in [ [| 1.0; infinity |]; [| 1.0; -infinity |] ] do
                let r = GradientCheck.compare GradientCheckOptions.Default finite numeric
                Expect.equal (r.MaxRelativeError, r.WorstIndex) (Double.PositiveInfinity, 1) "numeric side"
            // inf - inf is NaN: two equal infinities are not a verified gradient.
            let r = GradientCheck.compare GradientCheckOptions.Default [| 1.0; infinity |] [| 1.0; infinity |]
            Expect.equal (r.MaxRelativeError, r.WorstIndex) (Double.PositiveInfinity, 1) "both sides"
        }
        test "the C# GradientChecker.Check reports an infinite gradient entry as +infinity and fails" {
            let f = Func<float[], float>(fun t -> t.[0] * t.[0] + t.[1] * t.[1])
            let g = Func<float[], float[]>(fun t -> [| 2.0 * t.[0] + 1e-3; infinity |])
            let r = FunctionalNN.GradientChecker.Check(f, g, [| 1.0; 1.0 |])
            Expect.equal r.MaxRelativeError Double.PositiveInfinity "relative error"
            Expect.equal r.WorstIndex 1 "worst index"
            Expect.isFalse (r.Passes 1e-3) "fails"
        }
        test "the numeric derivative of f(t) = t is 1 far from 0 (the step scales with |t| and the rounded step divides)" {
            // d/dt t = 1 (by hand). With an absolute step 1e-4, t + h rounds at 1e10 (spacing 1.9e-6), and at 1e13
            // (spacing 2e-3) t + h = t, giving 0. f is linear, so a difference over the points actually evaluated is 1
            // up to the rounding of one subtraction.
            for t in [ 1e10; 1e12; 1e13; -1e13; 3.7e15 ] do
                for scheme in [ DifferenceScheme.TwoPoint; DifferenceScheme.FourPoint ] do
                    let g = GradientCheck.numericGradientWith scheme 1e-4 (fun v -> v.[0]) [| t |]
                    Expect.floatClose { absolute = 0.0; relative = 1e-12 } g.[0] 1.0 (sprintf "%A at t = %g" scheme t)
        }
        test "the numeric derivative of t^2 at 1e12 is 2e12 with the default options" {
            // d/dt t^2 = 2t (by hand). The two- and four-point formulas are exact for a quadratic; what remains is
            // rounding: f near 1e24 has spacing about 1.3e8, over points 2h = 2e8 apart where f changes by 4e20: a
            // relative error near 1e-12. (An absolute step 1e-4 is below t's spacing, 1.2e-4, and gives rubbish.)
            let g = GradientCheck.numericGradientWith DifferenceScheme.FourPoint 1e-4 (fun v -> v.[0] * v.[0]) [| 1e12 |]
            Expect.floatClose { absolute = 0.0; relative = 1e-10 } g.[0] 2e12 "2t"
            let r = GradientCheck.check GradientCheckOptions.Default (fun v -> v.[0] * v.[0]) (fun v -> [| 2.0 * v.[0] |]) [| 1e12 |]
            Expect.isTrue (r.Passes 1e-10) (sprintf "passes (max rel %g)" r.MaxRelativeError)
        }
        test "an epsilon too small to move a parameter is an ArgumentException naming epsilon" {
            // At 0 a step of 1e-17 is exact; at x = 1 the spacing of doubles is 2.2e-16, so 1 + 1e-17 = 1 = 1 - 1e-17.
            match Expect.throwsC (fun () -> GradientCheck.numericGradientWith DifferenceScheme.TwoPoint 1e-17 (fun v -> v.[0]) [| 0.0; 1.0 |] |> ignore) id with
            | :? ArgumentException as e ->
                Expect.equal e.ParamName "epsilon" "ParamName"
                Expect.stringContains e.Message "theta[1]" "names the parameter that did not move"
            | e -> failtestf "expected ArgumentException, got %O" e
        }
    ]

/// What a faulty custom block gets wrong.
type private Fault =
    | NoFault
    | ForwardShape
    | DxShape
    | DxNull
    | ThetaLength
    | ThetaNull

/// f(X; c) = c X on 2 columns, one parameter c: dL/dX = c G, dL/dc = sum(G o X) (hand derivation),
/// or the fault's wrong return.
let rec private faulty (fault: Fault) (c: float) =
    { new ICustomBlock with
        member _.Name = "faulty"
        member _.InputSize = 2
        member _.OutputSize = 2
        member _.Parameters = [| c |]
        member _.WithParameters p = faulty fault p.[0]
        member _.Forward(x, _) = if fault = ForwardShape then (c * x).SubMatrix(0, x.RowCount, 0, 1) else c * x
        member _.Backward(x, _, g, _) =
            let dx = match fault with DxShape -> (c * g).SubMatrix(0, 1, 0, 2) | DxNull -> null | _ -> c * g
            let dc = match fault with ThetaLength -> [||] | ThetaNull -> null | _ -> [| (g.PointwiseMultiply x).RowSums().Sum() |]
            dx, dc }

/// L = sum(f(X; c)) for the block on the graph: X (2 x 2) and c as variables.
let private graphOf (block: ICustomBlock) =
    let x = Matrix<float>.Build.DenseOfRowArrays [| [| 1.0; 2.0 |]; [| -3.0; 0.5 |] |]
    Node.sum (Node.custom block false (Node.variable "X" x) (Some (Node.variable "theta" (Matrix<float>.Build.Dense(1, 1, block.Parameters.[0])))))

/// y_ij = c x_ij written against the facade's CustomBlock, whose Backward returns no gradients (nulls).
type private NullGradient() =
    inherit FunctionalNN.CustomBlock()
    override _.Name = "nullgrad"
    override _.InputSize = 2
    override _.OutputSize = 2
    override _.Parameters = [| 1.5 |]
    override _.WithParameters(_: float[]) = NullGradient() :> FunctionalNN.CustomBlock
    override _.Forward(x: float[,], _training: bool) = Array2D.map (fun v -> 1.5 * v) x
    override _.Backward(_x: float[,], _y: float[,], _g: float[,], _training: bool) = FunctionalNN.CustomBlockGradient(null, [||])

[<Tests>]
let customNodeTests =
    testList "Autodiff custom node review" [
        test "a correct custom block on the graph: dL/dX = c and dL/dc = sum X (hand derivation)" {
            // L = sum(c X) with c = 3: dL/dX = 3 everywhere, dL/dc = 1 + 2 - 3 + 0.5 = 0.5.
            let r = Autodiff.gradient (graphOf (faulty NoFault 3.0))
            Expect.equal ((r.Gradient "X").ToArray()) (array2D [ [ 3.0; 3.0 ]; [ 3.0; 3.0 ] ]) "dL/dX"
            Expect.equal (r.Gradient "theta").[0, 0] 0.5 "dL/dc"
        }
        test "a custom block returning a wrong shape or a null on the graph is an InvalidOperationException naming the block" {
            for fault, fragment in [ ForwardShape, "returned 2x1 for an input of 2x2"
                                     DxShape, "input gradient of 1x2 for an input of 2x2"
                                     DxNull, "input gradient of null"
                                     ThetaLength, "returned 0 parameter gradients for its 1 parameters"
                                     ThetaNull, "parameter gradients for its 1 parameters" ] do
                match Expect.throwsC (fun () -> Autodiff.gradient (graphOf (faulty fault 3.0)) |> ignore) id with
                | :? InvalidOperationException as e ->
                    Expect.stringContains e.Message "'faulty'" (sprintf "%A: names the block" fault)
                    Expect.stringContains e.Message fragment (sprintf "%A: says what is wrong" fault)
                | e -> failtestf "%A: expected InvalidOperationException, got %O" fault e
        }
        test "the same checks on a network's graph (NetworkGraph.ofBatch) as on the network's own backward pass" {
            let net = Network.ofBlocks [ Block.Dense (Dense.create (Matrix<float>.Build.DenseOfRowArrays [| [| 1.0; -1.0 |]; [| 0.5; 2.0 |] |]) None Activation.Identity)
                                         Block.Custom (faulty DxShape 3.0) ]
            // Two rows: the fault returns dx of one row.
            let x = Matrix<float>.Build.DenseOfRowArrays [| [| 1.0; 2.0 |]; [| 0.0; -1.0 |] |]
            let y = Matrix<float>.Build.DenseOfRowArrays [| [| 0.0; 1.0 |]; [| 1.0; 0.0 |] |]
            let message f = match Expect.throwsC f id with :? InvalidOperationException as e -> e.Message | e -> failtestf "expected InvalidOperationException, got %O" e
            let viaNetwork = message (fun () -> Network.lossAndGradient net Loss.HalfMeanSquaredError x y |> ignore)
            let viaGraph = message (fun () -> Autodiff.gradient (NetworkGraph.ofBatch net Loss.HalfMeanSquaredError x y) |> ignore)
            Expect.equal viaGraph viaNetwork "one message from one check"
        }
        test "a C# CustomBlock whose Backward returns nulls: the facade's autodiff raises InvalidOperationException naming the block" {
            let net = FunctionalNN.NetworkBuilder(2).Add(NullGradient()).Dense(1, FunctionalNN.Activation.Identity).Seed(1L).Build()
            let x = array2D [ [ 1.0; 2.0 ]; [ -1.0; 0.5 ] ]
            let y = array2D [ [ 0.5 ]; [ -0.5 ] ]
            let expectNamed what (f: unit -> unit) =
                match Expect.throwsC f id with
                | :? InvalidOperationException as e -> Expect.stringContains e.Message "'nullgrad'" (what + ": names the block")
                | e -> failtestf "%s: expected InvalidOperationException, got %O" what e
            expectNamed "NetworkLossAndGradient" (fun () -> FunctionalNN.Autodiff.NetworkLossAndGradient(net, x, y, FunctionalNN.Loss.HalfMeanSquaredError) |> ignore)
            expectNamed "NetworkLoss(...).Backward()" (fun () -> FunctionalNN.Autodiff.NetworkLoss(net, x, y, FunctionalNN.Loss.HalfMeanSquaredError).Backward() |> ignore)
        }
    ]
