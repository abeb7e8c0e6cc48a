module Functional.NN.Tests.GradientCheckTests

open Expecto
open Functional.NN

[<Tests>]
let tests =
    testList "GradientCheck" [
        test "a correct gradient of a user's function passes" {
            // f(a, b) = a^2 b + sin b; grad = (2ab, a^2 + cos b), derived by hand.
            let f (t: float[]) = t.[0] * t.[0] * t.[1] + sin t.[1]
            let g (t: float[]) = [| 2.0 * t.[0] * t.[1]; t.[0] * t.[0] + cos t.[1] |]
            let r = GradientCheck.check GradientCheckOptions.Default f g [| 1.5; -0.7 |]
            Expect.isLessThan r.MaxRelativeError 1e-10 "relative error"
            Expect.isTrue (r.Passes 1e-8) "passes"
        }
        test "a wrong gradient fails and the worst index points at the wrong entry" {
            let f (t: float[]) = t.[0] * t.[0] * t.[1] + sin t.[1]
            // The sign of cos b is wrong.
            let g (t: float[]) = [| 2.0 * t.[0] * t.[1]; t.[0] * t.[0] - cos t.[1] |]
            let r = GradientCheck.check GradientCheckOptions.Default f g [| 1.5; -0.7 |]
            Expect.isFalse (r.Passes 1e-3) "fails"
            Expect.equal r.WorstIndex 1 "second parameter"
        }
        test "the two-point scheme is accurate to about h^2" {
            // f = exp(x) at 0: the two-point difference is (e^h - e^-h)/2h = sinh(h)/h ~ 1 + h^2/6.
            let r = GradientCheck.check (GradientCheckOptions.Default.WithScheme(DifferenceScheme.TwoPoint).WithEpsilon(1e-3)) (fun t -> exp t.[0]) (fun t -> [| exp t.[0] |]) [| 0.0 |]
            Expect.floatClose { absolute = 1e-12; relative = 0.0 } r.MaxAbsoluteError (1e-6 / 6.0) "h^2/6"
        }
        test "the function sees copies: it cannot change theta" {
            let theta = [| 1.0; 2.0 |]
            let f (t: float[]) = (t.[0] <- 99.0); t.[1]
            GradientCheck.check GradientCheckOptions.Default f (fun _ -> [| 0.0; 1.0 |]) theta |> ignore
            Expect.equal theta [| 1.0; 2.0 |] "theta unchanged"
        }
        test "a gradient of the wrong length is an ArgumentException naming gradient" {
            let e = Expect.throwsC (fun () -> GradientCheck.check GradientCheckOptions.Default (fun t -> t.[0]) (fun _ -> [| 1.0; 2.0 |]) [| 0.0 |] |> ignore) id
            Expect.equal (e :?> System.ArgumentException).ParamName "gradient" "ParamName"
        }
    ]
