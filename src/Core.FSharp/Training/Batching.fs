namespace Functional.NN

/// How the minibatch of each step is drawn.
[<RequireQualifiedAccess>]
type Sampling =
    /// Each epoch is a fresh random permutation of the samples cut into consecutive batches:
    /// every sample is used exactly once per epoch (the notes' usual choice; the default).
    | WithoutReplacement
    /// Each step draws its b samples independently and uniformly, with replacement.
    | WithReplacement

/// The notes' three forms of gradient descent, by how much data one step sees.
[<RequireQualifiedAccess>]
type Batching =
    /// Full-batch gradient descent (2.1): one step per epoch on all n samples, in order.
    | FullBatch
    /// Stochastic gradient descent (2.2): one sample per step, n steps per epoch.
    | Stochastic of sampling: Sampling
    /// Minibatch SGD (2.3): W <- W - (eta_t / b) sum_{i in B} grad C_i(W), with |B| = b;
    /// ceil(n / b) steps per epoch. Without replacement the last batch of an epoch holds the
    /// n - b floor((n-1)/b) samples left over.
    | MiniBatch of size: int * sampling: Sampling

/// The batches of one epoch, drawn from the library's generator.
[<RequireQualifiedAccess>]
module Batching =

    /// Minibatches of `size` without replacement (the default).
    let miniBatch (size: int) = Batching.MiniBatch(size, Sampling.WithoutReplacement)

    /// Raises ArgumentException (ParamName "batching") for a batch size below 1.
    let validate (batching: Batching) =
        match batching with
        | Batching.MiniBatch (b, _) when b <= 0 ->
            Check.fail "batching" (sprintf "The batch size must be positive, but is %d." b)
        | _ -> ()

    /// The number of steps in an epoch over n samples: 1, n or ceil(n / b).
    let stepsPerEpoch (batching: Batching) (n: int) =
        match batching with
        | Batching.FullBatch -> 1
        | Batching.Stochastic _ -> n
        | Batching.MiniBatch (b, _) -> (n + b - 1) / b

    /// The sample indices of every step of one epoch over n samples, and the next generator.
    /// Full batch uses no random numbers; without replacement draws one permutation
    /// (Fisher-Yates); with replacement draws b uniform indices per step (Lemire's method).
    let epoch (batching: Batching) (n: int) (rng: Rng) : int[][] * Rng =
        Check.positiveInt "n" n
        validate batching
        let b, sampling =
            match batching with
            | Batching.FullBatch -> n, None
            | Batching.Stochastic s -> 1, Some s
            | Batching.MiniBatch (b, s) -> min b n, Some s
        match sampling with
        | None -> [| Array.init n id |], rng
        | Some Sampling.WithoutReplacement ->
            let p, rng = Rng.permutation n rng
            Array.chunkBySize b p, rng
        | Some Sampling.WithReplacement ->
            let steps = (n + b - 1) / b
            let mutable g = rng
            let batches =
                Array.init steps (fun _ ->
                    let draw, g' = Rng.many b (Rng.nextInt n) g
                    g <- g'
                    draw)
            batches, g
