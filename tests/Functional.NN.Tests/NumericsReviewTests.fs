/// Tests of a review's findings on the gradient checker, the autodiff graph, the ReLU interpolant
/// and the autodiff facade: each fails without its fix.
module Functional.NN.Tests.NumericsReviewTests

open System
open Expecto
open Functional.NN

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
