namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// The floating-point precision of a network (its `Precision` field, as PyTorch's dtype of a
/// module) and of the fast path's arithmetic. Matrices are always `Matrix<float>`; a Float32
/// network holds only values that float32 represents exactly, and keeps every value it computes
/// that way (see docs/precision.md).
[<RequireQualifiedAccess>]
type Precision =
    /// IEEE double precision (binary64, 53-bit significand): the reference arithmetic, the default.
    | Float64
    /// IEEE single precision (binary32, 24-bit significand). In the reference core every value a
    /// Float32 network computes and keeps is a float32 value (parameters, Z, A, the loss, every
    /// gradient, the optimizer's state, the updated parameters); products and sums are accumulated
    /// in float64 and rounded once to float32 (so the reference is at least as accurate as float32
    /// accumulation; for element-wise operations, rounding the float64 result once gives the
    /// correctly rounded float32 result, since 53 >= 2*24+2). In the fast path the kernels compute
    /// in float32 (about twice the throughput): each matrix product agrees with the reference's
    /// to about 1e-6 relative or better, and training moves the two further apart (docs/backends.md
    /// gives the measured figures and the tested tolerance).
    | Float32

/// Rounding values to a precision. `round Float32 v` is `float (float32 v)`: the float32 nearest
/// to v (ties to even), widened back to float64 exactly; `round Float64 v` is v. Every function
/// returns a new value and never changes its argument.
[<RequireQualifiedAccess>]
module Precision =

    /// The precision's name as files and the command line spell it: "float64" or "float32".
    let name (p: Precision) =
        match p with
        | Precision.Float64 -> "float64"
        | Precision.Float32 -> "float32"

    /// The precision named by `name` ("float64"/"double"/"f64" or "float32"/"single"/"float"/"f32",
    /// any case), or None.
    let tryParse (text: string) : Precision option =
        match (if isNull text then "" else text.Trim().ToLowerInvariant()) with
        | "float64" | "double" | "f64" -> Some Precision.Float64
        | "float32" | "single" | "float" | "f32" -> Some Precision.Float32
        | _ -> None

    /// The number of bits of a value: 64 or 32.
    let bits (p: Precision) = match p with Precision.Float64 -> 64 | Precision.Float32 -> 32

    /// v rounded to the precision: `float (float32 v)` for Float32 (round to nearest, ties to
    /// even; values beyond float32's range become infinite), v itself for Float64.
    let round (p: Precision) (v: float) : float =
        match p with
        | Precision.Float64 -> v
        | Precision.Float32 -> float (float32 v)

    /// True when v is a value of the precision: `float (float32 v) = v` for Float32 (NaN is not
    /// representable by this test, as NaN <> NaN), always true for Float64.
    let isRepresentable (p: Precision) (v: float) : bool =
        match p with
        | Precision.Float64 -> true
        | Precision.Float32 -> float (float32 v) = v

    /// The array rounded to the precision: a new array for Float32, the same array for Float64
    /// (arrays are never changed by the library, so sharing is safe).
    let roundArray (p: Precision) (a: float[]) : float[] =
        match p with
        | Precision.Float64 -> a
        | Precision.Float32 ->
            let r = Array.zeroCreate a.Length
            for i in 0 .. a.Length - 1 do r.[i] <- float (float32 a.[i])
            r

    /// The matrix rounded to the precision: a new dense matrix for Float32, the matrix itself
    /// for Float64 (matrices are never changed by the library).
    let roundMatrix (p: Precision) (m: Matrix<float>) : Matrix<float> =
        match p with
        | Precision.Float64 -> m
        | Precision.Float32 -> m.Map(Func<float, float>(fun v -> float (float32 v)), Zeros.Include)

    /// The vector rounded to the precision: a new dense vector for Float32, the vector itself for
    /// Float64.
    let roundVector (p: Precision) (v: Vector<float>) : Vector<float> =
        match p with
        | Precision.Float64 -> v
        | Precision.Float32 -> v.Map(Func<float, float>(fun x -> float (float32 x)), Zeros.Include)

    /// True when every element of the matrix is a value of the precision.
    let isRepresentableMatrix (p: Precision) (m: Matrix<float>) : bool =
        match p with
        | Precision.Float64 -> true
        | Precision.Float32 -> m.ForAll(fun v -> float (float32 v) = v)

    /// True when every element of the vector is a value of the precision.
    let isRepresentableVector (p: Precision) (v: Vector<float>) : bool =
        match p with
        | Precision.Float64 -> true
        | Precision.Float32 -> v.ForAll(fun x -> float (float32 x) = x)
