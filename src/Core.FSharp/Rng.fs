namespace Functional.NN

open System

/// The library's own pseudo-random generator: xoshiro256** (Blackman and Vigna, 2018) seeded
/// through SplitMix64. It is an immutable value: every draw returns the value and the next
/// generator, so training is a pure function of its seed and can be checkpointed and resumed
/// bit for bit. System.Random is not used because its sequence may change between .NET versions.
[<Struct; CustomEquality; NoComparison>]
type Rng =
    { S0: uint64; S1: uint64; S2: uint64; S3: uint64 }
    override this.Equals(o) =
        match o with
        | :? Rng as r -> r.S0 = this.S0 && r.S1 = this.S1 && r.S2 = this.S2 && r.S3 = this.S3
        | _ -> false
    override this.GetHashCode() = hash (this.S0, this.S1, this.S2, this.S3)

/// Draws from an Rng value. Each function returns the draw and the generator to use next.
module Rng =

    let private splitMix (x: uint64) =
        let x = x + 0x9E3779B97F4A7C15UL
        let z = (x ^^^ (x >>> 30)) * 0xBF58476D1CE4E5B9UL
        let z = (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        x, z ^^^ (z >>> 31)

    /// A generator from a 64-bit seed (SplitMix64 fills the four words of state).
    let create (seed: int64) : Rng =
        let x, a = splitMix (uint64 seed)
        let x, b = splitMix x
        let x, c = splitMix x
        let _, d = splitMix x
        { S0 = a; S1 = b; S2 = c; S3 = d }

    /// A generator from its four state words, as saved in a checkpoint. The all-zero state is
    /// the one state xoshiro256** cannot leave, so it is rejected.
    let ofState (s0: uint64) (s1: uint64) (s2: uint64) (s3: uint64) : Rng =
        if s0 = 0UL && s1 = 0UL && s2 = 0UL && s3 = 0UL then
            raise (ArgumentException("The all-zero state is not a valid xoshiro256** state.", "s0"))
        { S0 = s0; S1 = s1; S2 = s2; S3 = s3 }

    let inline private rotl (x: uint64) (k: int) = (x <<< k) ||| (x >>> (64 - k))

    /// The next 64 random bits.
    let nextUInt64 (r: Rng) : struct (uint64 * Rng) =
        let result = rotl (r.S1 * 5UL) 7 * 9UL
        let t = r.S1 <<< 17
        let s2 = r.S2 ^^^ r.S0
        let s3 = r.S3 ^^^ r.S1
        let s1 = r.S1 ^^^ s2
        let s0 = r.S0 ^^^ s3
        let s2 = s2 ^^^ t
        let s3 = rotl s3 45
        struct (result, { S0 = s0; S1 = s1; S2 = s2; S3 = s3 })

    /// A uniform double in [0, 1), from the top 53 bits.
    let nextFloat (r: Rng) : struct (float * Rng) =
        let struct (u, r) = nextUInt64 r
        struct (float (u >>> 11) * (1.0 / 9007199254740992.0), r)

    /// A uniform double in [lo, hi).
    let nextUniform (lo: float) (hi: float) (r: Rng) : struct (float * Rng) =
        let struct (u, r) = nextFloat r
        struct (lo + (hi - lo) * u, r)

    /// A uniform integer in [0, bound), without bias (Lemire's multiply-and-reject method).
    let nextInt (bound: int) (r: Rng) : struct (int * Rng) =
        if bound <= 0 then raise (ArgumentOutOfRangeException("bound", bound, "bound must be positive."))
        let b = uint64 bound
        let threshold = (0UL - b) % b
        let rec loop r =
            let struct (u, r) = nextUInt64 r
            let hi, lo = Math.BigMul(u, b)
            if lo < threshold then loop r else struct (int hi, r)
        loop r

    /// A standard normal draw (Marsaglia's polar method; the second value is discarded so that
    /// the generator stays a plain value).
    let nextNormal (r: Rng) : struct (float * Rng) =
        let rec loop r =
            let struct (u, r) = nextUniform -1.0 1.0 r
            let struct (v, r) = nextUniform -1.0 1.0 r
            let s = u * u + v * v
            if s >= 1.0 || s = 0.0 then loop r
            else struct (u * sqrt (-2.0 * log s / s), r)
        loop r

    /// `count` draws of `draw`, as an array, and the next generator.
    let many (count: int) (draw: Rng -> struct ('T * Rng)) (r: Rng) : 'T[] * Rng =
        let result = Array.zeroCreate count
        let mutable g = r
        for i in 0 .. count - 1 do
            let struct (x, g') = draw g
            result.[i] <- x
            g <- g'
        result, g

    /// Overwrites `buffer` with the permutation of 0 .. buffer.Length - 1 that `permutation
    /// buffer.Length r` returns (the identity shuffled by Fisher-Yates from the last index down,
    /// one nextInt (i + 1) per index i), and returns the generator to use next. For loops that draw
    /// a permutation per epoch without allocating; the caller owns the buffer.
    let permuteInto (buffer: int[]) (r: Rng) : Rng =
        for i in 0 .. buffer.Length - 1 do buffer.[i] <- i
        let mutable g = r
        for i in buffer.Length - 1 .. -1 .. 1 do
            let struct (j, g') = nextInt (i + 1) g
            let t = buffer.[i]
            buffer.[i] <- buffer.[j]
            buffer.[j] <- t
            g <- g'
        g

    /// A uniformly random permutation of 0 .. n-1 (Fisher-Yates).
    let permutation (n: int) (r: Rng) : int[] * Rng =
        let p = Array.zeroCreate n
        let g = permuteInto p r
        p, g

    /// Two independent generators from one (for example one for initialisation, one for
    /// shuffling): the first is seeded from a draw of r, the second is r advanced.
    let split (r: Rng) : Rng * Rng =
        let struct (u, r) = nextUInt64 r
        create (int64 u), r
