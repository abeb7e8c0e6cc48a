module Functional.NN.Tests.ActivationLossTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Tests.Generators

let private close tol msg (a: float) (e: float) =
    Expect.floatClose { absolute = tol; relative = tol } a e (sprintf "%s: actual %.17g, expected %.17g" msg a e)

/// The derivative by a four-point central difference (independent of the library's formulas).
let private numeric (f: float -> float) (x: float) =
    let h = 1e-4
    (8.0 * (f (x + h) - f (x - h)) - (f (x + 2.0 * h) - f (x - 2.0 * h))) / (12.0 * h)

let activations =
    testList "activations" [
        test "values at hand-computed points" {
            // sigmoid(0) = 1/2; sigmoid(ln 3) = 3/4; tanh(ln 2) = (2 - 1/2)/(2 + 1/2) = 0.6;
            // softplus(0) = ln 2; softplus(ln 3) = ln 4.
            close 1e-15 "sigmoid 0" (Activation.value Activation.Sigmoid 0.0) 0.5
            close 1e-15 "sigmoid ln3" (Activation.value Activation.Sigmoid (log 3.0)) 0.75
            close 1e-15 "tanh ln2" (Activation.value Activation.Tanh (log 2.0)) 0.6
            close 1e-15 "softplus 0" (Activation.value Activation.Softplus 0.0) (log 2.0)
            close 1e-15 "softplus ln3" (Activation.value Activation.Softplus (log 3.0)) (log 4.0)
            Expect.equal (Activation.value Activation.ReLU -2.0) 0.0 "relu"
            Expect.equal (Activation.value (Activation.LeakyReLU 0.1) -2.0) -0.2 "leaky"
            Expect.equal (Activation.value Activation.Step 0.0) 1.0 "step at 0"
            Expect.equal (Activation.value Activation.Step -1e-300) 0.0 "step below 0"
        }
        test "every activation keeps NaN: s(NaN) = NaN, in float64 and float32 (relu turned it into 0)" {
            // Expected: torch.relu(torch.tensor(float('nan'))) = nan and np.maximum(nan, 0) = nan;
            // np.heaviside(nan, 1) = nan; by hand for the others (each is an arithmetic expression in z).
            for act in Activation.Step :: differentiableActivations do
                Expect.isTrue (Double.IsNaN (Activation.value act nan)) (sprintf "%s(NaN) is %g" (Activation.name act) (Activation.value act nan))
                let kind, slope = Activation.kernel act
                let v = Functional.NN.Kernels.Formulas.Activate<float32>(kind, float32 slope, Single.NaN)
                Expect.isTrue (Single.IsNaN v) (sprintf "float32 %s(NaN) is %g" (Activation.name act) v)
            // Unchanged elsewhere: relu(-0) = +0 (as the kernels' vector max), relu(-inf) = 0.
            Expect.equal (BitConverter.DoubleToInt64Bits (Activation.value Activation.ReLU -0.0)) 0L "relu(-0) = +0"
            Expect.equal (Activation.value Activation.ReLU Double.NegativeInfinity) 0.0 "relu(-inf)"
            Expect.equal (Activation.value Activation.ReLU Double.PositiveInfinity) Double.PositiveInfinity "relu(+inf)"
        }
        test "no overflow far from zero" {
            Expect.equal (Activation.value Activation.Sigmoid -1000.0) 0.0 "sigmoid -1000"
            Expect.equal (Activation.value Activation.Sigmoid 1000.0) 1.0 "sigmoid 1000"
            Expect.equal (Activation.value Activation.Softplus 1000.0) 1000.0 "softplus 1000"
            Expect.isTrue (Activation.value Activation.Softplus -1000.0 >= 0.0) "softplus -1000"
        }
        testProperty "each derivative equals a central difference of its value (away from kinks)" <| fun (NormalFloat z) ->
            let z = max -20.0 (min 20.0 z)
            for act in differentiableActivations do
                if Activation.kinks act |> List.forall (fun k -> abs (z - k) > 1e-3) then
                    let a = Activation.value act z
                    close 1e-8 (sprintf "%s'(%g)" (Activation.name act) z) (Activation.derivative act z a) (numeric (Activation.value act) z)
        test "log1p of large x is finite and equals numpy's log1p (log(u) x overflowed above about 2.5e305)" {
            // Expected values: numpy 1.24 np.log1p(np.float64(x)) (and np.float32 for the float case).
            for x, expected in [ 2.5e305, 703.2047440950581; 3e305, 703.387065651852; 1e306, 704.591038456178
                                 1e308, 709.1962086421661; Double.MaxValue, 709.782712893384 ] do
                Expect.equal (Activation.log1p x) expected (sprintf "log1p %g" x)
            Expect.equal (Functional.NN.Kernels.Formulas.Log1p<float32> 1e37f) 85.19564819335938f "float32 log1p 1e37 (numpy float32)"
            Expect.equal (Functional.NN.Kernels.Formulas.Log1p<float32> Single.MaxValue) 88.72283935546875f "float32 log1p max (numpy float32)"
            // By hand: log1p(+infinity) = +infinity (was infinity / infinity = NaN), log1p(-1) = -infinity.
            Expect.equal (Activation.log1p Double.PositiveInfinity) Double.PositiveInfinity "log1p +inf"
            Expect.equal (Activation.log1p -1.0) Double.NegativeInfinity "log1p -1"
        }
        test "names round-trip" {
            for act in Activation.Step :: differentiableActivations do
                Expect.equal (Activation.tryParse (Activation.name act)) (Some act) (Activation.name act)
            Expect.isNone (Activation.tryParse "swish") "unknown"
        }
    ]

let losses =
    testList "losses" [
        test "values and gradients at hand-computed points" {
            let yhat = m [ [ 2.0 ]; [ -1.0 ] ]
            let y = m [ [ 1.0 ]; [ 1.0 ] ]
            // Half MSE: ((2-1)^2 + (-1-1)^2) / (2*2) = 5/4; gradient (yhat - y)/n = [0.5; -1].
            close 1e-15 "half mse" (Loss.value Loss.HalfMeanSquaredError yhat y) 1.25
            close 1e-15 "half mse grad" (Loss.gradient Loss.HalfMeanSquaredError yhat y).[1, 0] -1.0
            // MSE: (1 + 4)/2 = 2.5; gradient 2 (yhat - y)/n = [1; -2].
            close 1e-15 "mse" (Loss.value Loss.MeanSquaredError yhat y) 2.5
            close 1e-15 "mse grad" (Loss.gradient Loss.MeanSquaredError yhat y).[1, 0] -2.0
            // Hinge with y = 1: max(0, 1 - 2) = 0, max(0, 1 + 1) = 2; mean 1. Gradient -y/n where active.
            close 1e-15 "hinge" (Loss.value Loss.Hinge yhat y) 1.0
            close 1e-15 "hinge grad active" (Loss.gradient Loss.Hinge yhat y).[1, 0] -0.5
            close 1e-15 "hinge grad inactive" (Loss.gradient Loss.Hinge yhat y).[0, 0] 0.0
            // Squared hinge: (0 + 1/2 * 2^2)/2 = 1; gradient -y max(0, 1 - m)/n = -2/2 = -1.
            close 1e-15 "squared hinge" (Loss.value Loss.SquaredHinge yhat y) 1.0
            close 1e-15 "squared hinge grad" (Loss.gradient Loss.SquaredHinge yhat y).[1, 0] -1.0
            // Logistic: (log(1 + e^-2) + log(1 + e^1)) / 2.
            close 1e-15 "logistic" (Loss.value Loss.Logistic yhat y) ((log (1.0 + exp -2.0) + log (1.0 + exp 1.0)) / 2.0)
            // Softmax cross-entropy of logits [0, ln 3] with class 1: -log(3/4).
            close 1e-15 "softmax ce" (Loss.value Loss.SoftmaxCrossEntropy (m [ [ 0.0; log 3.0 ] ]) (m [ [ 0.0; 1.0 ] ])) (-(log 0.75))
            // Binary cross-entropy of p = 0.8 with y = 1: -log 0.8; on the logit ln 4 (sigmoid = 0.8) the same.
            close 1e-15 "bce" (Loss.value Loss.BinaryCrossEntropy (m [ [ 0.8 ] ]) (m [ [ 1.0 ] ])) (-(log 0.8))
            close 1e-15 "bce logits" (Loss.value Loss.BinaryCrossEntropyWithLogits (m [ [ log 4.0 ] ]) (m [ [ 1.0 ] ])) (-(log 0.8))
        }
        test "softmax rows sum to 1 within 1e-12 and stay finite for logits up to 1e4" {
            let z = m [ [ 1e4; -1e4; 0.0 ]; [ 1e4; 1e4 - 1.0; 1e4 ]; [ -1e4; -1e4; -1e4 ] ]
            let s = Loss.softmax z
            for i in 0 .. 2 do
                close 1e-12 (sprintf "row %d sum" i) (s.Row(i).Sum()) 1.0
            Expect.isTrue (s.ForAll(fun v -> Double.IsFinite v)) "finite"
            let y = Mat.oneHot 3 [| 1; 0; 2 |]
            let l = Loss.value Loss.SoftmaxCrossEntropy z y
            // Row 0: lse = 1e4, class 1 has logit -1e4: loss 2e4. Row 1: lse = 1e4 + log(2 + e^-1),
            // class 0 has 1e4: log(2 + e^-1). Row 2: log 3. Mean over 3 rows.
            close 1e-12 "value" l ((2e4 + log (2.0 + exp -1.0) + log 3.0) / 3.0)
            Expect.isTrue ((Loss.gradient Loss.SoftmaxCrossEntropy z y).ForAll(fun v -> Double.IsFinite v)) "finite gradient"
        }
        test "tails keep their relative accuracy: softplus(-50) = e^-50 (1 - e^-50/2 ...)" {
            // log(1 + e^z) = e^z - e^2z/2 + ... ; for z = -50 the second term is below double precision.
            close 1e-15 "softplus -50" (Activation.value Activation.Softplus -50.0) (exp -50.0)
            close 1e-15 "bce logits tail" (Loss.value Loss.BinaryCrossEntropyWithLogits (m [ [ 50.0 ] ]) (m [ [ 1.0 ] ])) (exp -50.0)
        }
        test "binary cross-entropy on logits is finite for logits of 1e4" {
            let l = Loss.value Loss.BinaryCrossEntropyWithLogits (m [ [ 1e4 ]; [ -1e4 ] ]) (m [ [ 0.0 ]; [ 1.0 ] ])
            close 1e-12 "value" l 1e4
        }
        testProperty "each loss's gradient equals a central difference of its value" <| fun (DoNotSize (seed: int)) ->
            let rng = Rng.create (int64 seed)
            for loss in Loss.all do
                let out, _ =
                    match loss with
                    | Loss.BinaryCrossEntropy -> Rng.many 6 (Rng.nextUniform 0.05 0.95) rng
                    | _ -> Rng.many 6 (Rng.nextUniform -2.0 2.0) rng
                let yhat = Mat.init 3 2 (fun i j -> out.[i * 2 + j])
                let u, _ = Rng.many 6 Rng.nextFloat (snd (Rng.split rng))
                let y =
                    match loss with
                    | Loss.Hinge | Loss.SquaredHinge | Loss.Logistic -> Mat.init 3 2 (fun i j -> if u.[i * 2 + j] < 0.5 then -1.0 else 1.0)
                    | Loss.SoftmaxCrossEntropy -> Mat.oneHot 2 (Array.init 3 (fun i -> if u.[i] < 0.5 then 0 else 1))
                    | Loss.BinaryCrossEntropy | Loss.BinaryCrossEntropyWithLogits -> Mat.init 3 2 (fun i j -> u.[i * 2 + j])
                    | _ -> Mat.init 3 2 (fun i j -> 4.0 * u.[i * 2 + j] - 2.0)
                let smooth = Seq.forall (fun (i, j) -> Loss.kinkDistance loss yhat.[i, j] y.[i, j] > 1e-3) (seq { for i in 0 .. 2 do for j in 0 .. 1 -> i, j })
                if smooth then
                    let g = Loss.gradient loss yhat y
                    for i in 0 .. 2 do
                        for j in 0 .. 1 do
                            let f v = Loss.value loss (Mat.init 3 2 (fun a b -> if a = i && b = j then v else yhat.[a, b])) y
                            close 1e-8 (sprintf "%s d/dyhat[%d,%d]" (Loss.name loss) i j) g.[i, j] (numeric f yhat.[i, j])
        test "names round-trip" {
            for l in Loss.all do Expect.equal (Loss.tryParse (Loss.name l)) (Some l) (Loss.name l)
        }
    ]

[<Tests>]
let tests = testList "Activation and loss" [ activations; losses ]
