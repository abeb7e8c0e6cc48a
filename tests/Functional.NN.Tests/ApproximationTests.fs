module Functional.NN.Tests.ApproximationTests

open System
open Expecto
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Approximation

let private close (actual: float) (expected: float) =
    Expect.floatClose { absolute = 1e-15; relative = 1e-12 } actual expected (sprintf "errorBound: actual %.17g, expected %.17g" actual expected)

let private predictAt (net: Network) (xs: float[]) =
    let out = Network.predict net (Mat.init xs.Length 1 (fun i _ -> xs.[i]))
    Array.init xs.Length (fun i -> out.[i, 0])

/// Checks the ReLU interpolant of f on [a, b] with N points: the network's value at each knot is
/// f(knot) within 1e-12, and its largest error on a grid of 20001 points is at most the
/// linear-interpolation bound h^2/8 max|f''| (a standard result: on [x_k, x_k+1] the error of
/// the chord is f''(xi)/2 (x - x_k)(x_k+1 - x), and (x - x_k)(x_k+1 - x) <= h^2/4).
let private interpolates (name: string) (f: float -> float) (a: float) (b: float) (maxF2: float) (points: int) =
    test (sprintf "%s, N = %d" name points) {
        let net = ReluInterpolant.ofFunction f a b points
        let knots = ReluInterpolant.knots a b points
        let atKnots = predictAt net knots
        for k in 0 .. points - 1 do
            let err = abs (atKnots.[k] - f knots.[k])
            Expect.isLessThanOrEqual err 1e-12 (sprintf "knot %d (x = %.17g): |h - f| = %g" k knots.[k] err)
        let grid = Array.init 20001 (fun i -> a + (b - a) * float i / 20000.0)
        let values = predictAt net grid
        let worst = Array.map2 (fun (x: float) v -> abs (v - f x)) grid values |> Array.max
        let h = (b - a) / float (points - 1)
        let bound = h * h / 8.0 * maxF2
        Expect.isLessThanOrEqual worst bound (sprintf "max error on the grid %g, bound h^2/8 max|f''| = %g" worst bound)
        close (ReluInterpolant.errorBound a b points maxF2) bound
    }

[<Tests>]
let tests =
    testList "Approximation" [
        testList "ReLU interpolant within the linear-interpolation bound" [
            // sin'' = -sin, so max |f''| = 1 on [0, 2 pi].
            for n in [ 8; 32; 128 ] -> interpolates "sin on [0, 2 pi]" sin 0.0 (2.0 * Math.PI) 1.0 n
            // exp'' = exp, so max |f''| = e on [-1, 1].
            for n in [ 8; 32; 128 ] -> interpolates "exp on [-1, 1]" exp -1.0 1.0 (Math.E) n
        ]

        test "the interpolant is a core network: N - 1 ReLU units relu(x - x_k), output weights the changes of slope, an identity output with a bias" {
            let net = ReluInterpolant.ofFunction sin 0.0 (2.0 * Math.PI) 16
            Expect.equal net.Layers.Length 2 "two layers"
            let hidden, output = net.Layers.[0], net.Layers.[1]
            Expect.equal (hidden.InputSize, hidden.OutputSize) (1, 15) "1 -> 15"
            Expect.equal hidden.Activation Activation.ReLU "ReLU hidden layer"
            Expect.equal output.Activation Activation.Identity "identity output"
            Expect.isTrue (hidden.Weights.Enumerate() |> Seq.forall (fun v -> v = 1.0)) "hidden weights are 1"
            let knots = ReluInterpolant.knots 0.0 (2.0 * Math.PI) 16
            Expect.equal (hidden.Bias.Value.ToArray()) (Array.map (fun x -> -x) (Array.take 15 knots)) "hidden biases -x_k"
            // The spline's slopes m_k = (sin x_{k+1} - sin x_k) / (x_{k+1} - x_k), and their changes d_0 = m_0,
            // d_k = m_k - m_{k-1}, computed here from the knots.
            let m = Array.init 15 (fun k -> (sin knots.[k + 1] - sin knots.[k]) / (knots.[k + 1] - knots.[k]))
            let d = Array.init 15 (fun k -> if k = 0 then m.[0] else m.[k] - m.[k - 1])
            Expect.equal (output.Weights.Column(0).ToArray()) d "output weights d_k"
            // The output bias is f(a) = sin 0 = 0.
            Expect.equal output.Bias.Value.[0] 0.0 "output bias f(a)"
        }

        test "the interpolant saves and loads like any network, predicting bit for bit the same" {
            let net = ReluInterpolant.ofFunction sin 0.0 (2.0 * Math.PI) 32
            let loaded = ModelFile.networkOfBytes (ModelFile.networkToBytes net)
            let xs = Array.init 101 (fun i -> 2.0 * Math.PI * float i / 100.0)
            Expect.sequenceEqual (predictAt loaded xs) (predictAt net xs) "same predictions"
        }

        test "a hand-sized example: |x| on [-1, 1] with 3 points is 1 - max(0, x + 1) + 2 max(0, x)" {
            // Knots -1, 0, 1; values 1, 0, 1; slopes -1, 1; bends m0 = -1 at -1, m1 - m0 = 2 at 0.
            // h(x) = 1 - max(0, x + 1) + 2 max(0, x): h(-1) = 1, h(0) = 0, h(1) = 1 - 2 + 2 = 1, h(0.5) = 0.5.
            let net = ReluInterpolant.ofFunction abs -1.0 1.0 3
            let hidden = net.Layers.[0]
            Expect.equal (hidden.Weights.Row(0).ToArray()) [| 1.0; 1.0 |] "w = 1"
            Expect.equal (hidden.Bias.Value.ToArray()) [| 1.0; 0.0 |] "b = -x_k"
            Expect.equal (net.Layers.[1].Weights.Column(0).ToArray()) [| -1.0; 2.0 |] "the bends"
            Expect.equal (predictAt net [| -1.0; 0.0; 1.0; 0.5; -0.25 |]) [| 1.0; 0.0; 1.0; 0.5; 0.25 |] "values"
        }

        test "it trains like any other network: on its own knots the loss and the gradient are zero" {
            // The spline passes through every knot, so half MSE on (knots, f(knots)) is 0 and so is
            // its gradient (every residual is 0); a gradient-descent step leaves it unchanged.
            let net = ReluInterpolant.ofFunction exp -1.0 1.0 9
            let xs = ReluInterpolant.knots -1.0 1.0 9
            let x = Mat.init 9 1 (fun i _ -> xs.[i])
            let y = Mat.init 9 1 (fun i _ -> exp xs.[i])
            let loss, g = Network.lossAndGradient net Loss.HalfMeanSquaredError x y
            Expect.isLessThan loss 1e-28 "loss"
            Expect.isLessThan (Parameters.gradientNorm g) 1e-12 "gradient norm"
            // On other data it moves: a step of gradient descent lowers the loss towards a new target.
            let y2 = y.Map(fun v -> v + 0.1)
            let net2 = GradientDescent.step 0.1 net (snd (Network.lossAndGradient net Loss.HalfMeanSquaredError x y2))
            Expect.isLessThan (Network.loss net2 Loss.HalfMeanSquaredError x y2) (Network.loss net Loss.HalfMeanSquaredError x y2) "one step lowers the loss"
        }

        test "the C# facade: UniversalApproximation.ReluInterpolant is a facade Network" {
            let net = FunctionalNN.UniversalApproximation.ReluInterpolant(Func<float, float>(Math.Sin), 0.0, 2.0 * Math.PI, 32)
            Expect.equal (net.InputSize, net.OutputSize) (1, 1) "one input, one output"
            let knots = FunctionalNN.UniversalApproximation.Knots(0.0, 2.0 * Math.PI, 32)
            let out = net.Predict(Array2D.init knots.Length 1 (fun i _ -> knots.[i]))
            knots |> Array.iteri (fun i x -> Expect.isLessThanOrEqual (abs (out.[i, 0] - sin x)) 1e-12 (sprintf "knot %d" i))
            // h = 2 pi / 31, bound = h^2 / 8.
            let h = 2.0 * Math.PI / 31.0
            close (FunctionalNN.UniversalApproximation.ErrorBound(0.0, 2.0 * Math.PI, 32, 1.0)) (h * h / 8.0)
            let e = Expect.throwsC (fun () -> FunctionalNN.UniversalApproximation.ReluInterpolant(Func<float, float>(Math.Sin), 0.0, 1.0, 1) |> ignore) id :?> ArgumentException
            Expect.equal e.ParamName "points" "ParamName"
        }

        test "bad arguments are ArgumentExceptions naming the parameter" {
            let pn (f: unit -> unit) = (Expect.throwsC f id :?> ArgumentException).ParamName
            Expect.equal (pn (fun () -> ReluInterpolant.ofFunction sin 1.0 1.0 8 |> ignore)) "b" "a = b"
            Expect.equal (pn (fun () -> ReluInterpolant.ofFunction sin 0.0 1.0 1 |> ignore)) "points" "one point"
            Expect.equal (pn (fun () -> ReluInterpolant.ofFunction (fun x -> 1.0 / x) 0.0 1.0 4 |> ignore)) "f" "f infinite at 0"
        }

        test "an interval too narrow for the points' knots to differ as doubles is an ArgumentException naming b, not f" {
            // [1, 1 + 2 ulp] (1.0000000000000004 = 1 + 2 * 2^-52) with 10 points: h = 4.4e-16 / 9 = 4.9e-17 is below
            // half the doubles' spacing 2.2e-16 at 1, so 1 + h rounds to 1 (by hand); the slope was (f - f) / 0.
            let b = 1.0000000000000004
            for what, build in [ "construct", (fun () -> ReluInterpolant.construct (Func<float, float>(fun _ -> 1.0)) 1.0 b 10 |> ignore)
                                 "knots", (fun () -> ReluInterpolant.knots 1.0 b 10 |> ignore)
                                 "the facade", (fun () -> FunctionalNN.UniversalApproximation.ReluInterpolant((fun _ -> 1.0), 1.0, b, 10) |> ignore)
                                 "the facade's Knots", (fun () -> FunctionalNN.UniversalApproximation.Knots(1.0, b, 10) |> ignore) ] do
                let e = Expect.throwsC build id
                Expect.equal (e.GetType()) typeof<ArgumentException> (sprintf "%s: %s" what e.Message)
                Expect.equal (e :?> ArgumentException).ParamName "b" what
                Expect.stringContains e.Message "too narrow for 10 points" what
                Expect.stringContains e.Message "knots 0 and 1" what
            // The same interval with 3 points (h = 2.2e-16, one ulp) has distinct knots 1, 1 + ulp, 1 + 2 ulp.
            Expect.equal (ReluInterpolant.knots 1.0 b 3) [| 1.0; 1.0000000000000002; b |] "3 points fit"
        }

        test "finite values of f that overflow the network are an ArgumentException naming f, not the network's weights" {
            let expectF (what: string) (build: unit -> Network) (fragments: string list) =
                let e = Expect.throwsC (fun () -> build () |> ignore) id
                Expect.isTrue (e :? ArgumentException) (sprintf "%s: an ArgumentException, not %s" what (e.GetType().Name))
                Expect.equal (e :?> ArgumentException).ParamName "f" (sprintf "%s: ParamName f (the function argument), not weights or bias" what)
                for s in "f's values overflow" :: fragments do Expect.stringContains e.Message s what
            // A slope between knots overflows: (1e308 - -1e308) / 0.25.
            let step v = if v > 0.5 then 1e308 else -1e308
            expectF "ofFunction, slope" (fun () -> ReluInterpolant.ofFunction step 0.0 1.0 5) [ "the slope between knots 2 and 3" ]
            expectF "construct, slope" (fun () -> ReluInterpolant.construct (Func<float, float> step) 0.0 1.0 5) [ "the slope between knots 2 and 3" ]
            // Knots 0, 1e-300, 2e-300 and values 0, 1e8, 0: finite slopes 1e308 and -1e308 whose change overflows
            // (the first unit's output term, 1e308 * 2e-300, is small).
            expectF "change of slope" (fun () -> ReluInterpolant.ofFunction (fun v -> if v = 1e-300 then 1e8 else 0.0) 0.0 2e-300 3) [ "the change of slope at knot 1" ]
            // Knots 0, 1, 2 and values -1e308, 0, 1e308: slopes 1e308 and 1e308 (finite), but the output at 2 is
            // -1e308 + 1e308 * (2 - 0), whose term 2e308 overflows (the value there, 1e308, is finite).
            expectF "output term" (fun () -> ReluInterpolant.ofFunction (fun v -> if v = 0.0 then -1e308 elif v = 1.0 then 0.0 else 1e308) 0.0 2.0 3) [ "the output term of hidden unit 0" ]
            // Knots 0, 1 and values 1e308, -0.7e308: the term |d_0| (1 - 0) = 1.7e308 is finite, but the bound
            // |f(a)| + 1.7e308 on the output's partial sums is not (the largest double is 1.797e308).
            expectF "output bound" (fun () -> ReluInterpolant.ofFunction (fun v -> if v = 0.0 then 1e308 else -0.7e308) 0.0 1.0 2) [ "the bound on the output over [a, b]" ]
        }
    ]
