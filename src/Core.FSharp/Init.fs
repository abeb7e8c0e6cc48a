namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// How the weights of a dense layer with fanIn inputs and fanOut outputs are drawn. Biases
/// start at zero.
[<RequireQualifiedAccess>]
type Initializer =
    /// Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fanIn + fanOut)).
    | GlorotUniform
    /// Glorot/Xavier normal: N(0, 2 / (fanIn + fanOut)).
    | GlorotNormal
    /// He uniform: U(-a, a) with a = sqrt(6 / fanIn).
    | HeUniform
    /// He normal: N(0, 2 / fanIn).
    | HeNormal
    /// U(low, high).
    | Uniform of low: float * high: float
    /// All zeros.
    | Zeros

/// Draws weight matrices from the library's own generator.
module Init =

    /// A fanIn x fanOut weight matrix drawn row by row, and the next generator.
    let weights (init: Initializer) (fanIn: int) (fanOut: int) (rng: Rng) : Matrix<float> * Rng =
        Check.positiveInt "fanIn" fanIn
        Check.positiveInt "fanOut" fanOut
        let count = fanIn * fanOut
        let uniform a = Rng.many count (Rng.nextUniform -a a) rng
        let normal sd =
            let xs, r = Rng.many count Rng.nextNormal rng
            Array.map (fun x -> sd * x) xs, r
        let values, next =
            match init with
            | Initializer.GlorotUniform -> uniform (sqrt (6.0 / float (fanIn + fanOut)))
            | Initializer.GlorotNormal -> normal (sqrt (2.0 / float (fanIn + fanOut)))
            | Initializer.HeUniform -> uniform (sqrt (6.0 / float fanIn))
            | Initializer.HeNormal -> normal (sqrt (2.0 / float fanIn))
            | Initializer.Uniform (lo, hi) ->
                Check.finiteScalar "low" lo
                Check.finiteScalar "high" hi
                if not (lo < hi) then Check.fail "high" (sprintf "Uniform initialisation needs low < high, but low = %g and high = %g." lo hi)
                Rng.many count (Rng.nextUniform lo hi) rng
            | Initializer.Zeros -> Array.zeroCreate count, rng
        Matrix<float>.Build.Dense(fanIn, fanOut, fun i j -> values.[i * fanOut + j]), next

    /// The initialiser that suits an activation: He for the ReLU family, Glorot otherwise.
    let defaultFor (activation: Activation) =
        match activation with
        | Activation.ReLU | Activation.LeakyReLU _ -> Initializer.HeUniform
        | _ -> Initializer.GlorotUniform
