module Functional.NN.Tests.GradientCheckTests

open System
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
        testList "checkNear: the property over random points" [
            // f(a, b) = a^3 + a b^2, grad = (3a^2 + b^2, 2ab) by hand. The slipped gradient is right for a <= 1 and 1 %
            // too large in its first entry beyond: a check at the centre (0.5, 0.5) cannot see it, points within 2 of it can.
            let f (t: float[]) = t.[0] ** 3.0 + t.[0] * t.[1] * t.[1]
            let right (t: float[]) = [| 3.0 * t.[0] * t.[0] + t.[1] * t.[1]; 2.0 * t.[0] * t.[1] |]
            let slipped (t: float[]) = let g = right t in (if t.[0] > 1.0 then g.[0] <- 1.01 * g.[0]); g
            let options = GradientCheckOptions.Default
            test "a right gradient passes at every point" {
                let r = GradientCheck.checkNear options 1e-6 200 2.0 7L f right [| 0.5; 0.5 |]
                Expect.isTrue r.Passed (sprintf "worst %g at case %d" r.Worst.MaxRelativeError r.WorstCase)
                Expect.equal r.Cases 200 "cases"
                Expect.isLessThan r.Worst.MaxRelativeError 1e-9 "the four-point formula on a cubic"
            }
            test "a gradient wrong only beyond a = 1 passes at the centre and fails the property, with the point" {
                Expect.isTrue ((GradientCheck.check options f slipped [| 0.5; 0.5 |]).Passes 1e-6) "one point does not see it"
                let r = GradientCheck.checkNear options 1e-6 200 2.0 7L f slipped [| 0.5; 0.5 |]
                Expect.isFalse r.Passed "the property fails"
                // Points are uniform on [-1.5, 2.5] in a: P(a > 1) = 3/8, so about 75 of the 199 random cases fail.
                Expect.isGreaterThan r.FailedCases.Length 40 "many cases fail"
                Expect.isTrue (r.FailedCases |> Array.forall (fun k -> k > 0)) "never the centre"
                Expect.isGreaterThan r.WorstPoint.[0] 1.0 "the worst point lies where the slip is"
                Expect.equal r.Worst.WorstIndex 0 "in the first entry"
                // The reported point reproduces the failure with a single check.
                let again = GradientCheck.check options f slipped r.WorstPoint
                Expect.equal again.MaxRelativeError r.Worst.MaxRelativeError "reproducible from the point"
                // The slip is 1 %: the relative error is 0.01 / 1.01 where the first entry dominates.
                Expect.floatClose { absolute = 1e-6; relative = 0.0 } r.Worst.MaxRelativeError (0.01 / 1.01) "the size of the slip"
            }
            test "the points come from the seed: the same seed the same points, another seed others" {
                let a = GradientCheck.checkNear options 1e-6 50 2.0 3L f slipped [| 0.5; 0.5 |]
                let b = GradientCheck.checkNear options 1e-6 50 2.0 3L f slipped [| 0.5; 0.5 |]
                let c = GradientCheck.checkNear options 1e-6 50 2.0 4L f slipped [| 0.5; 0.5 |]
                Expect.equal (a.FailedCases, a.WorstPoint) (b.FailedCases, b.WorstPoint) "same seed"
                Expect.notEqual a.FailedCases c.FailedCases "another seed"
                let points = Collections.Generic.List<float[]>()
                GradientCheck.checkNear options 1e-6 30 0.25 9L (fun t -> points.Add(Array.copy t); f t) right [| 1.0; -2.0 |] |> ignore
                let distinct = points |> Seq.map (fun t -> t.[0], t.[1]) |> Seq.distinct |> Seq.length
                Expect.isTrue (points |> Seq.forall (fun t -> abs (t.[0] - 1.0) <= 0.25 + 1e-3 && abs (t.[1] + 2.0) <= 0.25 + 1e-3)) "within the radius (plus the difference steps)"
                Expect.isGreaterThan distinct 30 "distinct points"
            }
            test "bad arguments are ArgumentExceptions naming them" {
                for name, run in
                    [ "cases", (fun () -> GradientCheck.checkNear options 1e-6 0 1.0 1L f right [| 0.0; 0.0 |] |> ignore)
                      "tolerance", (fun () -> GradientCheck.checkNear options 0.0 10 1.0 1L f right [| 0.0; 0.0 |] |> ignore)
                      "radius", (fun () -> GradientCheck.checkNear options 1e-6 10 nan 1L f right [| 0.0; 0.0 |] |> ignore)
                      "radius", (fun () -> GradientCheck.checkNear options 1e-6 10 1e308 1L f right [| 1e308; 0.0 |] |> ignore)
                      "center", (fun () -> GradientCheck.checkNear options 1e-6 10 1.0 1L f right [| nan; 0.0 |] |> ignore) ] do
                    let e = Expect.throwsC run id
                    Expect.equal (e :?> System.ArgumentException).ParamName name name
            }
            test "the C# facade: CheckNear finds the slip and names the point" {
                let r = FunctionalNN.GradientChecker.CheckNear(System.Func<_, _> f, System.Func<_, _> slipped, [| 0.5; 0.5 |], 2.0, seed = 7L)
                Expect.isFalse r.Passed "fails"
                Expect.isGreaterThan r.WorstPoint.[0] 1.0 "the point"
                Expect.equal r.Cases 100 "the default"
                // The result's lists are read-only views of its own copies: no cast to an array changes it.
                Expect.isFalse (box r.WorstPoint :? float[]) "WorstPoint is no array to write"
                Expect.isFalse (box r.FailedCases :? int[]) "FailedCases is no array to write"
                Expect.isFalse (box r.Worst.Analytic :? float[]) "Analytic is no array to write"
                let e = Expect.throwsC (fun () -> FunctionalNN.GradientChecker.CheckNear(System.Func<_, _> f, System.Func<_, _> right, [| 0.5; 0.5 |], -1.0) |> ignore) id
                Expect.equal (e :?> System.ArgumentException).ParamName "radius" "radius"
                // The caller's own exception comes through as thrown.
                let mine = System.InvalidOperationException "mine"
                let thrown = Expect.throwsC (fun () -> FunctionalNN.GradientChecker.CheckNear(System.Func<float[], float>(fun _ -> raise mine), System.Func<_, _> right, [| 0.5; 0.5 |], 1.0) |> ignore) id
                Expect.isTrue (obj.ReferenceEquals(thrown, mine)) "the same exception"
            }
        ]
    ]
