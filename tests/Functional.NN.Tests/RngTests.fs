module Functional.NN.Tests.RngTests

open System
open Expecto
open Functional.NN

let private draws count draw rng = fst (Rng.many count draw rng)

[<Tests>]
let tests =
    testList "Rng" [
        test "the first values are pinned (independent Python implementation, tests/reference/xoshiro256.py)" {
            let u64 (r: Rng) = Rng.nextUInt64 r
            Expect.equal (draws 4 u64 (Rng.create 0L)) [| 11091344671253066420UL; 13793997310169335082UL; 1900383378846508768UL; 7684712102626143532UL |] "seed 0"
            Expect.equal (draws 4 u64 (Rng.create 42L)) [| 1546998764402558742UL; 6990951692964543102UL; 12544586762248559009UL; 17057574109182124193UL |] "seed 42"
            Expect.equal (draws 3 Rng.nextFloat (Rng.create 0L)) [| 0.6012629994179048; 0.7477740925472398; 0.10301998939503632 |] "floats, seed 0"
        }
        test "a generator is a value: drawing from it twice gives the same draw" {
            let r = Rng.create 7L
            let struct (a, _) = Rng.nextUInt64 r
            let struct (b, _) = Rng.nextUInt64 r
            Expect.equal a b "same state, same draw"
        }
        test "state round-trips through its four words, and the all-zero state is refused" {
            let _, r = Rng.many 5 Rng.nextFloat (Rng.create 3L)
            let r2 = Rng.ofState r.S0 r.S1 r.S2 r.S3
            Expect.equal (draws 10 Rng.nextFloat r2) (draws 10 Rng.nextFloat r) "same sequence"
            Expect.throwsT<ArgumentException> (fun () -> Rng.ofState 0UL 0UL 0UL 0UL |> ignore) "zero state"
        }
        test "nextInt is uniform: chi-square over 10 bins at the 0.1 % level" {
            // 100,000 draws in 10 bins; the 99.9 % quantile of chi-square with 9 degrees of freedom is 27.88.
            let xs = draws 100_000 (Rng.nextInt 10) (Rng.create 11L)
            let counts = Array.countBy id xs |> Map.ofArray
            let chi = Seq.sum (seq { for k in 0 .. 9 -> let o = float counts.[k] in (o - 10_000.0) ** 2.0 / 10_000.0 })
            Expect.isLessThan chi 27.88 "chi-square"
        }
        test "nextNormal has mean 0 and variance 1 (within 4 standard errors)" {
            let xs = draws 200_000 Rng.nextNormal (Rng.create 5L)
            let mean = Array.average xs
            let var = xs |> Array.averageBy (fun x -> (x - mean) ** 2.0)
            Expect.isLessThan (abs mean) (4.0 / sqrt 200_000.0) "mean"
            // The variance of a sample variance of normals is 2 / n.
            Expect.isLessThan (abs (var - 1.0)) (4.0 * sqrt (2.0 / 200_000.0)) "variance"
        }
        test "permuteInto and permutation are Fisher-Yates from the identity, whatever the buffer held" {
            // The expected values: Fisher-Yates written here from the documented rule (for i from
            // n - 1 down to 1, swap i with nextInt (i + 1)), on the identity.
            for n in [ 1; 2; 7; 1000 ] do
                let expected = Array.init n id
                let mutable g = Rng.create 11L
                for i in n - 1 .. -1 .. 1 do
                    let struct (j, g') = Rng.nextInt (i + 1) g
                    let t = expected.[i]
                    expected.[i] <- expected.[j]
                    expected.[j] <- t
                    g <- g'
                let buffer = Array.create n -5
                let g2 = Rng.permuteInto buffer (Rng.create 11L)
                Expect.sequenceEqual buffer expected (sprintf "n = %d: permuteInto's values" n)
                Expect.equal g2 g (sprintf "n = %d: permuteInto's next generator" n)
                let p, g3 = Rng.permutation n (Rng.create 11L)
                Expect.sequenceEqual p expected (sprintf "n = %d: permutation's values" n)
                Expect.equal g3 g (sprintf "n = %d: permutation's next generator" n)
        }
        test "permutation is a permutation" {
            let p, _ = Rng.permutation 1000 (Rng.create 9L)
            Expect.equal (Array.sort p) (Array.init 1000 id) "every index once"
            Expect.notEqual p (Array.init 1000 id) "shuffled"
        }
        test "initialisers draw within their bounds and at the stated scale" {
            // Glorot uniform: U(-a, a) with a = sqrt(6 / (fanIn + fanOut)) = sqrt(6 / 500).
            let w, _ = Init.weights Initializer.GlorotUniform 200 300 (Rng.create 1L)
            let a = sqrt (6.0 / 500.0)
            Expect.isTrue (w.ForAll(fun x -> abs x < a)) "bounded"
            // Variance of U(-a, a) is a^2 / 3 = 2 / (fanIn + fanOut) = 0.004; 60,000 draws.
            let var = w.Enumerate() |> Seq.averageBy (fun x -> x * x)
            Expect.floatClose { absolute = 2e-4; relative = 0.0 } var 0.004 "variance"
            let h, _ = Init.weights Initializer.HeNormal 400 100 (Rng.create 2L)
            // He normal: variance 2 / fanIn = 0.005.
            Expect.floatClose { absolute = 2e-4; relative = 0.0 } (h.Enumerate() |> Seq.averageBy (fun x -> x * x)) 0.005 "He variance"
            let z, _ = Init.weights Initializer.Zeros 3 4 (Rng.create 3L)
            Expect.isTrue (z.ForAll(fun x -> x = 0.0)) "zeros"
        }
        test "the same seed builds the same network, another seed another one" {
            let specs = [ LayerSpec.Of(5, Activation.ReLU); LayerSpec.Of(2, Activation.Identity) ]
            let p s = Parameters.ofNetwork (Network.init 3 specs s)
            Expect.equal (p 1L) (p 1L) "same seed"
            Expect.notEqual (p 1L) (p 2L) "other seed"
        }
    ]
