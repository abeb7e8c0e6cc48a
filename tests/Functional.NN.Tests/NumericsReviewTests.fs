/// Tests of a review's findings on the gradient checker, the autodiff graph, the ReLU interpolant
/// and the autodiff facade: each fails without its fix.
module Functional.NN.Tests.NumericsReviewTests

open System
open Expecto
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Autodiff
open Functional.NN.Approximation

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
        test "the numeric derivative of f(t) = t is 1 far from 0 (beyond 4.5e7 the step is 1e4 spacings of t, and the rounded step divides)" {
            // d/dt t = 1 (by hand). With an absolute step 1e-4, t + h rounds at 1e10 (spacing 1.9e-6), and at 1e13
            // (spacing 2e-3) t + h = t, giving 0. f is linear, so a difference over the points actually evaluated is 1
            // up to the rounding of one subtraction.
            for t in [ 1e10; 1e12; 1e13; -1e13; 3.7e15 ] do
                for scheme in [ DifferenceScheme.TwoPoint; DifferenceScheme.FourPoint ] do
                    let g = GradientCheck.numericGradientWith scheme 1e-4 (fun v -> v.[0]) [| t |]
                    Expect.floatClose { absolute = 0.0; relative = 1e-12 } g.[0] 1.0 (sprintf "%A at t = %g" scheme t)
        }
        test "the numeric derivative of t^2 at 1e12 is 2e12 to the rounding of f, with the default options" {
            // d/dt t^2 = 2t (by hand). The two- and four-point formulas are exact for a quadratic; what remains is
            // rounding. At 1e12 the step is 1e4 spacings of t, h = 1e4 * 2^-52 * 1e12 = 2.2; f near 1e24 has spacing
            // 2^27 = 1.3e8, and over points 2h apart f changes by 4th = 8.8e12: a relative error up to 1.5e-5 for the
            // two-point difference, at most (4 + 1) / 3 of that after the four-point combination. (An absolute step
            // 1e-4 is below t's spacing, 1.2e-4, and gives rubbish.)
            let g = GradientCheck.numericGradientWith DifferenceScheme.FourPoint 1e-4 (fun v -> v.[0] * v.[0]) [| 1e12 |]
            Expect.floatClose { absolute = 0.0; relative = 3e-5 } g.[0] 2e12 "2t"
            let r = GradientCheck.check GradientCheckOptions.Default (fun v -> v.[0] * v.[0]) (fun v -> [| 2.0 * v.[0] |]) [| 1e12 |]
            Expect.isTrue (r.Passes 3e-5) (sprintf "passes (max rel %g)" r.MaxRelativeError)
        }
        test "the step stays epsilon where it spans 1e4 spacings of x: sin checks at 1e3, 1e4 and 1e5 as at 0" {
            // sin bends on a fixed scale, so a step relative to |x| (1 at 1e4 for epsilon = 1e-4) would miss cos by
            // 3 % at 1e4 and get the sign wrong at 1e5 (the review's measurements). With h = 1e-4 the four-point
            // truncation error is about h^4 / 30 = 3e-18 and the rounding about 2^-52 |sin x| / h, 2.2e-12 (by hand),
            // whatever x is up to 4.5e7, where 1e4 spacings of x reach 1e-4.
            for x in [ 0.5; 1e3; 1e4; 1e5 ] do
                let r = GradientCheck.check GradientCheckOptions.Default (fun v -> sin v.[0]) (fun v -> [| cos v.[0] |]) [| x |]
                Expect.isLessThan r.MaxRelativeError 1e-8 (sprintf "x = %g: max rel %g" x r.MaxRelativeError)
        }
        test "float32 networks refuse an input beyond float32's largest value on both backends, even one that rounds to it" {
            // float32's largest value is (2 - 2^-23) 2^127 = 3.4028234664e38; up to halfway to the next step,
            // (2 - 2^-24) 2^127, a double rounds to it (by hand, IEEE 754). The library's range rule (Network.checkRangeIn,
            // the single-row predictors) refuses anything beyond the largest value; the kernels' batch conversion took
            // 3.4028235e38 (1 + 1e-9), which rounds to it, until it checked the same rule. float32's largest itself is taken.
            let net = FunctionalNN.NetworkBuilder(1).Dense(1, FunctionalNN.Activation.Identity).Precision(FunctionalNN.Precision.Float32).Seed(1L).Build()
            let largest = float Single.MaxValue
            for backend in [ FunctionalNN.Backend.Reference; FunctionalNN.Backend.Kernels ] do
                net.Predict(array2D [ [ 0.5 ]; [ largest ] ], backend) |> ignore
                for beyond in [ 3.4028235e38 * (1.0 + 1e-9); Math.BitIncrement largest; 3.40282357e38 ] do
                    // Two columns' worth of rows (17 x 1: the 8 x 8 vector blocks and the tail) with the value in the last row.
                    let x = Array2D.init 17 1 (fun i _ -> if i = 16 then beyond else 0.5)
                    match Expect.throwsC (fun () -> net.Predict(x, backend) |> ignore) id with
                    | :? ArgumentException as e ->
                        Expect.equal e.ParamName "x" "ParamName"
                        Expect.stringContains e.Message "row 16, column 0" (sprintf "%A, %g: names the cell" backend beyond)
                    | e -> failtestf "%A: expected ArgumentException, got %O" backend e
                // In the first row too (the vector block of an 8 x 8 tile, for a matrix of 8 columns).
                let wide = FunctionalNN.NetworkBuilder(8).Dense(1, FunctionalNN.Activation.Identity).Precision(FunctionalNN.Precision.Float32).Seed(1L).Build()
                let x = Array2D.init 8 8 (fun i j -> if i = 3 && j = 5 then 3.4028235e38 * (1.0 + 1e-9) else 0.25)
                match Expect.throwsC (fun () -> wide.Predict(x, backend) |> ignore) id with
                | :? ArgumentException as e -> Expect.stringContains e.Message "row 3, column 5" (sprintf "%A: an 8 x 8 block" backend)
                | e -> failtestf "%A: expected ArgumentException, got %O" backend e
        }
        test "R^2 of fewer than two samples is NaN (undefined, as scikit-learn's r2_score), of two a number" {
            // With one sample SS_tot = 0 for any target, so 1 - SS_res / SS_tot says nothing; scikit-learn returns NaN.
            Expect.isTrue (Double.IsNaN (FunctionalNN.Metrics.R2([| 3.0 |], [| 2.0 |]))) "one sample, predicted wrong"
            Expect.isTrue (Double.IsNaN (FunctionalNN.Metrics.R2([| 2.0 |], [| 2.0 |]))) "one sample, predicted exactly"
            // Two samples 0 and 2 predicted 0.5 and 1.5: SS_res = 0.5, SS_tot = 2, R^2 = 0.75 (by hand).
            Expect.floatClose Accuracy.veryHigh (FunctionalNN.Metrics.R2([| 0.5; 1.5 |], [| 0.0; 2.0 |])) 0.75 "two samples"
        }
        test "an epsilon below x's spacing still moves x (1e4 spacings), and a step that overflows is an ArgumentException naming epsilon" {
            // At x = 1 the spacing of doubles is 2.2e-16, so 1 + 1e-17 = 1; the step is then 1e4 spacings, 2.2e-12, and
            // the derivative of t over the points as evaluated is 1 exactly (a linear f, by hand). At Double.MaxValue
            // 1e4 spacings (2^971 each) overflow: x + h is infinite, so no difference can be taken.
            for t in [ 0.0; 1.0 ] do
                let g = GradientCheck.numericGradientWith DifferenceScheme.TwoPoint 1e-17 (fun v -> v.[0]) [| t |]
                Expect.equal g [| 1.0 |] (sprintf "d/dt t = 1 at %g (step 1e-17 at 0, 2.2e-12 at 1)" t)
            match Expect.throwsC (fun () -> GradientCheck.numericGradientWith DifferenceScheme.TwoPoint 1e-4 (fun v -> v.[0]) [| 0.0; Double.MaxValue |] |> ignore) id with
            | :? ArgumentException as e ->
                Expect.equal e.ParamName "epsilon" "ParamName"
                Expect.stringContains e.Message "theta[1]" "names the parameter whose step overflows"
                Expect.stringContains e.Message "overflows" "says why"
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

[<Tests>]
let interpolantTests =
    let predictAt (net: Network) (xs: float[]) =
        let out = Network.predict net (Mat.init xs.Length 1 (fun i _ -> xs.[i]))
        Array.init xs.Length (fun i -> out.[i, 0])
    testList "ReluInterpolant review" [
        test "far from 0 (sin(x - 1e12) on [1e12, 1e12 + 1], N = 100) the interpolant meets its knots and the h^2/8 bound" {
            // x - 1e12 is exact for the doubles of this interval, so f is evaluated exactly where the network is.
            let f x = sin (x - 1e12)
            let a, b, n = 1e12, 1e12 + 1.0, 100
            let net = ReluInterpolant.ofFunction f a b n
            let knots = ReluInterpolant.knots a b n
            // The documented rounding term, (N + 2) 1.1e-16 (|f(a)| + sum_k |d_k| max(0, x - x_k)), from the output
            // layer's weights d_k; it is near 2e-14 here (|d_0| ~ 1, the later |d_k| ~ h = 0.01). With units
            // |d| x - |d| x_k the knots were missed by 2.1e-5.
            let d = net.Layers.[1].Weights.Column(0).ToArray()
            let rounding (x: float) = float (n + 2) * 1.1e-16 * (abs (f a) + Array.sum (Array.init (n - 1) (fun k -> abs d.[k] * max 0.0 (x - knots.[k]))))
            Array.iter2 (fun (x: float) v ->
                Expect.isLessThanOrEqual (abs (v - f x)) (rounding x) (sprintf "knot x = %.17g: |h - f| within the rounding term" x)) knots (predictAt net knots)
            Expect.isLessThan (rounding b) 1e-13 "the rounding term is small"
            // On a grid: the chord's error on [x_k, x_k+1] is at most (x_k+1 - x_k)^2/8 max|f''| (standard), with
            // max |f''| = max |sin| over [0, 1] = sin 1; the knots are rounded to the doubles' spacing 1.2e-4 near
            // 1e12, so the widest gap, not h = 1/99, enters. The library's nominal bound h^2/8 (max|f''| = 1) must
            // hold too (the reviewer measured 2.1e-5 against it, 1.28e-5).
            let grid = Array.init 20001 (fun i -> a + (b - a) * float i / 20000.0)
            let worst = Array.map2 (fun (x: float) v -> abs (v - f x)) grid (predictAt net grid) |> Array.max
            let widest = knots |> Array.pairwise |> Array.map (fun (p, q) -> q - p) |> Array.max
            Expect.isLessThanOrEqual worst (widest * widest / 8.0 * sin 1.0 + rounding b) "the chord bound on the actual knots"
            Expect.isLessThanOrEqual worst (ReluInterpolant.errorBound a b n 1.0) "the documented bound h^2/8 max|f''|"
        }
        test "values whose output would overflow on [a, b] are refused naming f (f = -1e308, 0, 1e308 at knots 0, 1, 2)" {
            // The spline's value at 2 is 1e308, but the network forms it as -1e308 + 1e308 (2 - 0) = -1e308 + 2e308,
            // which overflows: it predicted infinity at x = 2 although it promises f at every knot.
            let g = fun v -> if v = 0.0 then -1e308 elif v = 1.0 then 0.0 else 1e308
            let expectF what (build: unit -> unit) =
                match Expect.throwsC build id with
                | :? ArgumentException as e ->
                    Expect.equal e.ParamName "f" (what + ": ParamName")
                    Expect.stringContains e.Message "overflow" (what + ": says it overflows")
                | e -> failtestf "%s: expected ArgumentException, got %O" what e
            expectF "core" (fun () -> ReluInterpolant.ofFunction g 0.0 2.0 3 |> ignore)
            expectF "facade" (fun () -> FunctionalNN.UniversalApproximation.ReluInterpolant(Func<float, float> g, 0.0, 2.0, 3) |> ignore)
            // Half the scale is accepted and interpolates: -0.5e308, 0, 0.5e308 at 0, 1, 2 (its terms are at most 1e308).
            let half = ReluInterpolant.ofFunction (fun v -> 0.5 * g v) 0.0 2.0 3
            Expect.equal (predictAt half [| 0.0; 1.0; 2.0 |]) [| -0.5e308; 0.0; 0.5e308 |] "interpolates at the knots"
        }
    ]

[<Tests>]
let reluKinkTests =
    testList "ReLU at the kink" [
        test "ReLU'(0) = 0 in the core's derivative, the autodiff graph and backpropagation (note 003's table says 1)" {
            // Both 0 and 1 are subgradients of max(0, z) at 0; the library takes 0 (README, "Where the notes slip").
            Expect.equal (Activation.derivative Activation.ReLU 0.0 0.0) 0.0 "Activation.derivative at 0"
            Expect.equal (Activation.derivative Activation.ReLU 1e-300 1e-300) 1.0 "and 1 just right of it"
            // Autodiff: d/dz relu(z) at z = 0.
            let r = Autodiff.gradient (Node.sum (Node.activate Activation.ReLU (Node.scalarVariable "z" 0.0)))
            Expect.equal (r.Gradient "z").[0, 0] 0.0 "autodiff at 0"
            // Backpropagation, by hand: x = 1, hidden z = 1 * 1 - 1 = 0, a = relu(0) = 0, output yhat = 1 * a = 0,
            // half MSE with y = 1: dL/dyhat = yhat - y = -1, dL/da = -1, dL/dz = -1 * relu'(0) = 0, so dL/dw1 = x * 0 = 0
            // (with relu'(0) = 1 it would be -1) and dL/db1 = 0; dL/dw2 = a * (-1) = 0.
            let one = Matrix<float>.Build.Dense(1, 1, 1.0)
            let net = Network.create [ Dense.create one (Some (Vector<float>.Build.Dense(1, -1.0))) Activation.ReLU
                                       Dense.create one None Activation.Identity ]
            let _, g = Network.lossAndGradient net Loss.HalfMeanSquaredError one one
            Expect.equal g.Layers.[0].Weights.[0, 0] 0.0 "dL/dw1"
            Expect.equal g.Layers.[0].Bias.Value.[0] 0.0 "dL/db1"
        }
    ]

[<Tests>]
let graphTextTests =
    testList "Graph text review" [
        test "the explain table and the DOT text show a small value, not 0" {
            // f = 3e-14 * x at x = 1: the value and dL/dx are 3e-14, which rounding to 12 decimals showed as 0.
            let x = Node.scalarVariable "x" 1.0
            let r = Autodiff.gradient (Node.named "f" (Node.multiply (Node.scalar 3e-14) x))
            Expect.stringContains (Explain.table r) "3E-14" "table"
            Expect.stringContains (Explain.dotOfRun r) "3E-14" "DOT text"
        }
        test "an error message names an input of 1e-320 by its value, not as 0" {
            // 1 / 1e-320 overflows to infinity (1e320 > 1.8e308); 1e-320 is a subnormal double near 9.99989e-321.
            let e = Expect.throwsC (fun () -> Autodiff.gradient (Node.divide (Node.scalarVariable "x" 1.0) (Node.scalarVariable "y" 1e-320)) |> ignore) id
            Expect.stringContains e.Message "y = 9.99989E-321" "the divisor's value"
            Expect.isFalse (e.Message.Contains "y = 0") "not shown as 0"
        }
    ]

[<Tests>]
let facadeScalarTests =
    testList "Autodiff facade scalar operators review" [
        test "a scalar operator's NaN or infinite operand is an ArgumentException naming the C# parameter k" {
            let x = FunctionalNN.Autodiff.Variable("x", 1.0)
            // The eight operators Node op double and double op Node; each C# operator names its scalar k.
            let ops : (string * (float -> FunctionalNN.Node)) list =
                [ "x + k", (fun k -> x + k); "k + x", (fun k -> k + x); "x - k", (fun k -> x - k); "k - x", (fun k -> k - x)
                  "x * k", (fun k -> x * k); "k * x", (fun k -> k * x); "x / k", (fun k -> x / k); "k / x", (fun k -> k / x) ]
            for name, op in ops do
                for k in [ nan; infinity; -infinity ] do
                    match Expect.throwsC (fun () -> op k |> ignore) id with
                    | :? ArgumentException as e ->
                        Expect.equal e.ParamName "k" (sprintf "%s with k = %g: ParamName" name k)
                        Expect.stringStarts e.Message "k must be finite" (sprintf "%s with k = %g: message" name k)
                    | e -> failtestf "%s with k = %g: expected ArgumentException, got %O" name k e
            // A finite k still works: (x + 2) * 3 at x = 1 is 9 (by hand).
            Expect.equal (((x + 2.0) * 3.0).Evaluate()) (array2D [ [ 9.0 ] ]) "finite k"
        }
    ]
