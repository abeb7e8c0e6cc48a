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
    ]
