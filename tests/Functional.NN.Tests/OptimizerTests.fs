module Functional.NN.Tests.OptimizerTests

open System
open Expecto
open Functional.NN
open MathNet.Numerics.LinearAlgebra

// The small problem Q of the hand derivations and of tests/reference/optimizers_torch.py:
// f(t) = 1/2 t1^2 + 2 t2^2, gradient g(t) = (t1, 4 t2), starting at t = (1, 1), so g_1 = (1, 4).
let private gradQ (t: float[]) = [| t.[0]; 4.0 * t.[1] |]

/// Two optimiser steps on Q from (1, 1).
let private twoSteps (settings: OptimizerSettings) (eta: float) =
    let s0 = Optimizer.init settings 2
    let s1, t1 = Optimizer.step settings eta s0 [| 1.0; 1.0 |] (gradQ [| 1.0; 1.0 |])
    let _, t2 = Optimizer.step settings eta s1 t1 (gradQ t1)
    t1, t2

let private close (what: string) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length (what + ": length")
    for i in 0 .. expected.Length - 1 do
        let e, a = expected.[i], actual.[i]
        if abs (e - a) > 1e-14 * max 1.0 (abs e) then
            failtestf "%s: entry %d is %.17g but the hand derivation gives %.17g" what i a e

let private settings opt = OptimizerSettings.Default.WithOptimizer opt

let handTests =
    testList "first two steps on Q equal the hand derivation" [
        test "SGD" {
            // eta = 0.1: t1 = (1, 1) - 0.1 (1, 4) = (0.9, 0.6); g = (0.9, 2.4);
            // t2 = (0.9 - 0.09, 0.6 - 0.24) = (0.81, 0.36).
            let t1, t2 = twoSteps (settings Optimizer.Sgd) 0.1
            close "step 1" [| 0.9; 0.6 |] t1
            close "step 2" [| 0.81; 0.36 |] t2
        }
        test "momentum (PyTorch's buffer: v1 = g1, v = mu v + (1 - tau) g)" {
            // eta = 0.05, mu = 0.9, tau = 0.1: v1 = g1 = (1, 4); t1 = (1 - 0.05, 1 - 0.2) = (0.95, 0.8).
            // g = (0.95, 3.2); v2 = 0.9 (1, 4) + 0.9 (0.95, 3.2) = (1.755, 6.48);
            // t2 = (0.95 - 0.05 * 1.755, 0.8 - 0.05 * 6.48) = (0.86225, 0.476).
            let t1, t2 = twoSteps (settings (Optimizer.Momentum(0.9, 0.1))) 0.05
            close "step 1" [| 0.95; 0.8 |] t1
            close "step 2" [| 0.86225; 0.476 |] t2
        }
        test "Nesterov (PyTorch's form: theta -= eta (g + mu v))" {
            // eta = 0.05, mu = 0.9: v1 = (1, 4); direction g1 + 0.9 v1 = (1.9, 7.6); t1 = (0.905, 0.62).
            // g = (0.905, 2.48); v2 = 0.9 (1, 4) + g = (1.805, 6.08); direction = g + 0.9 v2 = (2.5295, 7.952);
            // t2 = (0.905 - 0.126475, 0.62 - 0.3976) = (0.778525, 0.2224).
            let t1, t2 = twoSteps (settings (Optimizer.Nesterov 0.9)) 0.05
            close "step 1" [| 0.905; 0.62 |] t1
            close "step 2" [| 0.778525; 0.2224 |] t2
        }
        test "AdaGrad" {
            // eta = 0.1, eps = 1e-10: s1 = (1, 16); t1 = (1 - 0.1 * 1/(1 + eps), 1 - 0.1 * 4/(4 + eps)).
            // g = (t1_1, 4 t1_2); s2 = s1 + g^2; t2 = t1 - 0.1 g / (sqrt s2 + eps).
            let eps = 1e-10
            let a = 1.0 - 0.1 / (1.0 + eps)
            let b = 1.0 - 0.4 / (4.0 + eps)
            let t1, t2 = twoSteps (settings Optimizer.adaGrad) 0.1
            close "step 1" [| a; b |] t1
            close "step 2" [| a - 0.1 * a / (sqrt (1.0 + a * a) + eps); b - 0.1 * 4.0 * b / (sqrt (16.0 + 16.0 * b * b) + eps) |] t2
        }
        test "RMSProp (eps outside the square root)" {
            // eta = 0.01, alpha = 0.99, eps = 1e-8: s1 = 0.01 g1^2 = (0.01, 0.16); d = (0.1 + eps, 0.4 + eps);
            // t1 = (1 - 0.01/(0.1 + eps), 1 - 0.04/(0.4 + eps)) ~ (0.9, 0.9).
            // g = (a, 4b); s2 = 0.99 s1 + 0.01 g^2; t2 = t1 - 0.01 g / (sqrt s2 + eps).
            let eps = 1e-8
            let a = 1.0 - 0.01 / (0.1 + eps)
            let b = 1.0 - 0.04 / (0.4 + eps)
            let s2a = 0.99 * 0.01 + 0.01 * a * a
            let s2b = 0.99 * 0.16 + 0.01 * 16.0 * b * b
            let t1, t2 = twoSteps (settings Optimizer.rmsProp) 0.01
            close "step 1" [| a; b |] t1
            close "step 2" [| a - 0.01 * a / (sqrt s2a + eps); b - 0.01 * 4.0 * b / (sqrt s2b + eps) |] t2
        }
        test "Adam (eps added to the bias-corrected sqrt v)" {
            // eta = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8: m1 = 0.1 g1, v1 = 0.001 g1^2, so
            // m1/(1 - 0.9) = g1 and sqrt(v1 / (1 - 0.999)) = |g1|: t1 = 1 - 0.01 g1/(|g1| + eps) ~ (0.99, 0.99).
            // g2 = (a, 4b); m2 = 0.09 g1 + 0.1 g2; v2 = 0.000999 g1^2 + 0.001 g2^2;
            // t2 = t1 - (0.01 / (1 - 0.81)) m2 / (sqrt v2 / sqrt(1 - 0.998001) + eps).
            let eps = 1e-8
            let a = 1.0 - 0.01 * 1.0 / (1.0 + eps)
            let b = 1.0 - 0.01 * 4.0 / (4.0 + eps)
            let m2a, m2b = 0.09 * 1.0 + 0.1 * a, 0.09 * 4.0 + 0.1 * 4.0 * b
            let v2a, v2b = 0.000999 * 1.0 + 0.001 * a * a, 0.000999 * 16.0 + 0.001 * 16.0 * b * b
            let c2 = sqrt (1.0 - 0.998001)
            let t1, t2 = twoSteps (settings Optimizer.adam) 0.01
            close "step 1" [| a; b |] t1
            close "step 2" [| a - 0.01 / 0.19 * m2a / (sqrt v2a / c2 + eps); b - 0.01 / 0.19 * m2b / (sqrt v2b / c2 + eps) |] t2
        }
        test "AdamW (decoupled decay theta (1 - eta lambda) first)" {
            // eta = 0.01, lambda = 0.1: t1 = 0.999 - 0.01 g1/(|g1| + eps); then g2 = (a, 4b),
            // t2 = 0.999 t1 - (0.01/0.19) m2 / (sqrt v2 / sqrt 0.001999 + eps), m2 and v2 as for Adam.
            let eps = 1e-8
            let a = 0.999 - 0.01 * 1.0 / (1.0 + eps)
            let b = 0.999 - 0.01 * 4.0 / (4.0 + eps)
            let m2a, m2b = 0.09 * 1.0 + 0.1 * a, 0.09 * 4.0 + 0.1 * 4.0 * b
            let v2a, v2b = 0.000999 * 1.0 + 0.001 * a * a, 0.000999 * 16.0 + 0.001 * 16.0 * b * b
            let c2 = sqrt (1.0 - 0.998001)
            let t1, t2 = twoSteps (settings (Optimizer.AdamW(0.9, 0.999, 1e-8, 0.1))) 0.01
            close "step 1" [| a; b |] t1
            close "step 2" [| 0.999 * a - 0.01 / 0.19 * m2a / (sqrt v2a / c2 + eps); 0.999 * b - 0.01 / 0.19 * m2b / (sqrt v2b / c2 + eps) |] t2
        }
        test "SGD with clipping to norm 0.5 and L2 decay 0.01" {
            // g1 = (1, 4), |g1| = sqrt 17 > 0.5: clipped c g1 with c = 0.5/(sqrt 17 + 1e-6); plus 0.01 theta:
            // t1 = 1 - 0.1 (c (1, 4) + 0.01). g2 = (a, 4b), |g2| = sqrt(a^2 + 16 b^2), c2 = 0.5/(|g2| + 1e-6):
            // t2 = t1 - 0.1 (c2 g2 + 0.01 t1).
            let c = 0.5 / (sqrt 17.0 + 1e-6)
            let a = 1.0 - 0.1 * (c * 1.0 + 0.01)
            let b = 1.0 - 0.1 * (c * 4.0 + 0.01)
            let c2 = 0.5 / (sqrt (a * a + 16.0 * b * b) + 1e-6)
            let s = { OptimizerSettings.Default with WeightDecay = 0.01; ClipNorm = 0.5 }
            let t1, t2 = twoSteps s 0.1
            close "step 1" [| a; b |] t1
            close "step 2" [| a - 0.1 * (c2 * a + 0.01 * a); b - 0.1 * (c2 * 4.0 * b + 0.01 * b) |] t2
        }
        test "a step changes neither its state, parameters nor gradient" {
            let s = settings Optimizer.adam
            let s1, t1 = Optimizer.step s 0.01 (Optimizer.init s 2) [| 1.0; 1.0 |] [| 1.0; 4.0 |]
            let m, v, t, g = Array.copy s1.FirstMoment, Array.copy s1.SecondMoment, Array.copy t1, [| 0.5; 0.5 |]
            Optimizer.step s 0.01 s1 t1 g |> ignore
            Expect.equal (s1.FirstMoment, s1.SecondMoment, t1, g) (m, v, t, [| 0.5; 0.5 |]) "arguments unchanged"
        }
    ]

// ---- PyTorch comparison -----------------------------------------------------------------------
// Every expected vector below was printed by tests/reference/optimizers_torch.py (PyTorch 1.13.0a0,
// Debian python3-torch, float64, foreach=False): the parameters after 300 full-batch steps.

let private cases : (string * OptimizerSettings * float) list =
    let s o = settings o
    [ "sgd", s Optimizer.Sgd, 0.1
      "momentum", s (Optimizer.Momentum(0.9, 0.1)), 0.05
      "nesterov", s (Optimizer.Nesterov 0.9), 0.05
      "adagrad", s Optimizer.adaGrad, 0.1
      "rmsprop", s Optimizer.rmsProp, 0.01
      "rmsprop_centered_momentum", s (Optimizer.RMSProp(0.99, 1e-4, 0.5, true)), 0.01
      "adam", s Optimizer.adam, 0.01
      "adamw", s (Optimizer.AdamW(0.9, 0.999, 1e-8, 0.1)), 0.01
      "sgd_l2_clip", { Optimizer = Optimizer.Sgd; WeightDecay = 0.01; ClipNorm = 0.5 }, 0.1
      "adam_l2_clip", { Optimizer = Optimizer.adam; WeightDecay = 0.01; ClipNorm = 1.0 }, 0.01 ]

let private torchQ =
    dict [
        "sgd", [| 1.8739277038847895e-14; 2.7885286769598023e-67 |]
        "momentum", [| 1.1584184580526807e-07; 6.900223756205985e-08 |]
        "nesterov", [| -6.145265127074359e-11; 3.935235010836664e-22 |]
        "adagrad", [| 4.4875477561826076e-05; 4.4875477535485133e-05 |]
        "rmsprop", [| 1.579206240273027e-10; 1.579202485944228e-10 |]
        "rmsprop_centered_momentum", [| -8.868861402070078e-40; 1.342772120529503e-39 |]
        "adam", [| 0.00018273027159170722; 0.00018273020305504306 |]
        "adamw", [| 4.376945311683287e-05; 4.376942563762921e-05 |]
        "sgd_l2_clip", [| 6.737020237947497e-14; 6.147051864033329e-64 |]
        "adam_l2_clip", [| 1.3769943342067606e-06; 1.092872357097622e-06 |] ]

let private torchN =
    dict [
        "sgd", [| 0.21566150857867333; -0.774803549259326; 0.7809416869432027; 0.3734376417132523; -0.15646194265712762; -0.10786975611995309; -0.19961518554929017; -0.2250188598190931; 0.09693552455646166; 0.6854425174575546; -0.9131354274615431; 0.2903805204282749; 0.02733269140834653 |]
        "momentum", [| 0.218131585648721; -0.8927353670117851; 0.7977286982454073; 0.35065696687157044; -0.19008696657224408; -0.07038615665624079; -0.2280809207601004; -0.2706813555465522; 0.12633691949791945; 0.6663210000401455; -0.8866571892601769; 0.27039327251932915; 0.019136646364273213 |]
        "nesterov", [| 0.21108158885259717; -0.8846656791442061; 0.7967336274949932; 0.3472970686662668; -0.18722749715328624; -0.07207283922100283; -0.23177127264221625; -0.2713615424655603; 0.12457217550315794; 0.6734311604082907; -0.8971367997288835; 0.27021641917544253; 0.019829526860664255 |]
        "adagrad", [| 0.24095108915435015; -0.8952722277866384; 1.143142291107951; 0.36763383833858937; -0.14322208124394492; 0.020590981753897623; -0.14444683936004651; -0.1885968053093893; 0.21764311347036538; 0.6616185191970527; -0.8582405551490145; 0.1931475760320933; 0.029940627211100034 |]
        "rmsprop", [| 0.2616997636597907; -0.9254388110097513; 1.1556261499437421; 0.4011501318494598; -0.15634820421540466; 0.0010470426189018488; -0.1383006300007566; -0.19222771065349095; 0.18271716059535079; 0.6212719731388542; -0.8536990828133332; 0.18837591894114103; 0.03248825903680451 |]
        "rmsprop_centered_momentum", [| 0.32044387619794; -0.9925299591893405; 1.1166208857589712; 0.4408652671406193; -0.13816478373938051; -0.03540120717275768; -0.21661460001615804; -0.20037633555231593; 0.1131616718326641; 0.6146126313572414; -0.8222065187979493; 0.1339633449831392; 0.08629902669743648 |]
        "adam", [| 0.210530259565291; -0.735147203168099; 1.0888120972679218; 0.35469767985890727; -0.12266485466891582; 0.004806090565851881; -0.24029635543684086; -0.22363244222196269; 0.31320351436349836; 0.7040483002212338; -0.8700673528841026; 0.3143516944976694; 0.021703700503069277 |]
        "adamw", [| 0.14618781866832595; -0.5874468095132511; 0.9614004361920149; 0.3590268765163045; -0.13321630454706573; 0.09468689429356798; -0.2243610467839603; -0.15515011277537422; 0.2702926560995814; 0.5768133107607748; -0.7244224564400684; 0.6347304218428713; -0.015957984391250773 |]
        "sgd_l2_clip", [| 0.3070858764183333; -0.718422418697154; 0.6320789296661474; 0.3225901020775066; -0.18309132969341424; -0.013931936602917517; -0.13981799636089468; -0.15596142722620093; 0.09116783792143071; 0.6119804362663509; -0.8212501435690547; 0.3294509308530616; 0.0501074002069527 |]
        "adam_l2_clip", [| 0.3871016519651644; -0.8793127674412445; 0.21031542049962676; 0.22296426238898417; -0.2273657974948332; 0.16071140424689398; -0.04219448801101307; -0.1012076726349411; -0.006414610988408184; 0.4666985738360816; -0.9082461407581683; 0.27217983102822535; 0.05595617833462493 |] ]

let private fullBatch300 (settings: OptimizerSettings) (eta: float) =
    { TestOptions.sgd with
        Batching = Batching.FullBatch
        Schedule = Schedule.Constant eta
        Optimizer = settings
        MaxEpochs = 300 }

/// The largest relative difference max_i |a_i - e_i| / max(|e_i|, floor).
let maxRelative (floor: float) (expected: float[]) (actual: float[]) =
    Array.map2 (fun e a -> abs (a - e) / max (abs e) floor) expected actual |> Array.max

/// The network of problem N in the script: 2-3-1, tanh then identity, the script's starting weights.
let torchNetwork () =
    Network.create [
        Dense.create (Mat.ofRows [ [| 0.2; -0.4; 0.7 |]; [| 0.5; 0.1; -0.3 |] ]) (Some (Vector<float>.Build.DenseOfArray [| 0.05; -0.1; 0.0 |])) Activation.Tanh
        Dense.create (Mat.ofRows [ [| 0.6 |]; [| -0.8 |]; [| 0.3 |] ]) (Some (Vector<float>.Build.DenseOfArray [| 0.1 |])) Activation.Identity ]

let torchData () =
    TrainingData.Of(Mat.ofRows [ [| 0.5; -1.0 |]; [| 1.5; 0.25 |]; [| -0.75; 0.8 |]; [| 0.1; 2.0 |] ],
                    Mat.ofRows [ [| 0.3 |]; [| 1.2 |]; [| -0.4 |]; [| 0.9 |] ])

let torchTests =
    testList "300 steps equal torch.optim (tests/reference/optimizers_torch.py)" [
        for name, s, eta in cases do
            test (sprintf "%s on the quadratic Q" name) {
                let objective = { SampleCount = 1; LossAndGradient = (fun t _ -> 0.5 * t.[0] * t.[0] + 2.0 * t.[1] * t.[1], gradQ t); Validation = None }
                let r = Trainer.trainVector (fullBatch300 s eta) objective [| 1.0; 1.0 |]
                Expect.equal r.Steps 300 "300 steps"
                // Relative to each value: Q's values shrink to 1e-67, where an absolute test says nothing.
                // (Measured: at most 4e-14, centred RMSProp; 2e-15 or less for most rules.)
                let d = maxRelative 1e-300 torchQ.[name] r.Model
                Expect.isLessThan d 1e-12 (sprintf "max relative difference from PyTorch %g; ours %A" d r.Model)
            }
            test (sprintf "%s on the 2-3-1 tanh network N" name) {
                let r = Trainer.train (fullBatch300 s eta) Loss.HalfMeanSquaredError (torchData ()) (torchNetwork ())
                let ours = (Parameters.ofNetwork r.Model).ToArray()
                let d = maxRelative 1e-3 torchN.[name] ours
                // Centred RMSProp divides by sqrt(s - a^2) + eps, a difference of nearly equal numbers
                // here: the script notes that even a re-implementation inside torch drifts 3e-10 from
                // torch.optim in 300 steps, so that case gets a looser bound.
                // (Measured: 2e-15 to 2e-14 for most rules, 2e-11 for RMSProp, 1.7e-9 for centred RMSProp.)
                let bound = if name = "rmsprop_centered_momentum" then 1e-8 else 1e-10
                Expect.isLessThan d bound (sprintf "max relative difference from PyTorch %g; ours %A" d ours)
            }
    ]

[<Tests>]
let tests = testList "Optimizer" [ handTests; torchTests ]
