namespace Functional.NN

open System
open System.Numerics
open System.Runtime.InteropServices
open MathNet.Numerics.LinearAlgebra

/// The kernels' element types: the one place where a Precision chooses float or float32, and the
/// conversions between float64 values and the chosen type. Internal to the library.
/// Which implementation computes a network's passes, its training steps and its predictions
/// (as MathNet's linear-algebra providers sit under one interface). Both implement the same
/// formulas (`Functional.NN.Kernels.Formulas`); see docs/backends.md for what may differ.
[<RequireQualifiedAccess>]
type Backend =
    /// The kernels wherever they support the network (every activation but the step), else the
    /// reference. The default everywhere.
    | Auto
    /// The reference core: MathNet matrices, every product accumulated in float64 and rounded
    /// once to the network's precision. The oracle the kernels are tested against.
    | Reference
    /// The managed SIMD kernels (Functional.NN.Kernels): blocked matrix products in the network's
    /// precision, fused activation, loss and optimiser passes, no allocation per step. A network
    /// they do not support raises ArgumentException.
    | Kernels

/// Names of backends.
[<RequireQualifiedAccess>]
module Backend =

    /// "auto", "reference" or "kernels".
    let name (backend: Backend) =
        match backend with
        | Backend.Auto -> "auto"
        | Backend.Reference -> "reference"
        | Backend.Kernels -> "kernels"

    /// The backend named by `text` (any case), or None.
    let tryParse (text: string) : Backend option =
        match (if isNull text then "" else text.Trim().ToLowerInvariant()) with
        | "auto" -> Some Backend.Auto
        | "reference" | "ref" -> Some Backend.Reference
        | "kernels" | "kernel" | "fast" -> Some Backend.Kernels
        | _ -> None

module internal KernelElement =

    /// A column-major rows x cols array as a row-major 'T[], transposed in 32 x 32 tiles (so that
    /// both the reads and the writes stay within a few cache lines), each value converted by f.
    let inline private transposeWith ([<InlineIfLambda>] f: float -> 'T) (data: float[]) (rows: int) (cols: int) : 'T[] =
        // Every element is written below: no need to zero the (large) array first.
        let result = GC.AllocateUninitializedArray<'T> (rows * cols)
        let tile = 32
        for i0 in 0 .. tile .. rows - 1 do
            for j0 in 0 .. tile .. cols - 1 do
                for j in j0 .. min (j0 + tile) cols - 1 do
                    for i in i0 .. min (i0 + tile) rows - 1 do
                        result.[i * cols + j] <- f data.[j * rows + i]
        result

    /// Conversions between float64 arrays and the element type 'T, with whole-array loops.
    type Conv<'T> =
        { Precision: Precision
          Of: float[] -> 'T[]
          /// A column-major float64 array of rows x cols as a row-major 'T[].
          OfColumnMajor: float[] -> int -> int -> 'T[]
          To: 'T[] -> float[] }

    let private f64 : Conv<float> =
        { Precision = Precision.Float64
          Of = id
          OfColumnMajor = fun a r c -> transposeWith id a r c
          To = Array.copy }

    let private f32 : Conv<float32> =
        { Precision = Precision.Float32
          Of = fun a -> (let r = Array.zeroCreate a.Length in (for i in 0 .. a.Length - 1 do r.[i] <- float32 a.[i]); r)
          OfColumnMajor = fun a r c -> transposeWith float32 a r c
          To = fun a -> (let r = Array.zeroCreate a.Length in (for i in 0 .. a.Length - 1 do r.[i] <- float a.[i]); r) }

    /// Work that is generic in the kernels' element type 'T (float or float32).
    type IJob<'R> =
        abstract Run<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>> : Conv<'T> -> 'R

    /// Runs the job with the element type of the precision: float for Float64, float32 for Float32.
    /// The only place where a precision picks a type.
    let withElement (precision: Precision) (job: IJob<'R>) : 'R =
        match precision with
        | Precision.Float64 -> job.Run f64
        | Precision.Float32 -> job.Run f32

    /// A matrix's values, row-major, as a new 'T[].
    let rowMajor (c: Conv<'T>) (m: Matrix<float>) : 'T[] =
        match m.AsColumnMajorArray() with
        | null -> c.Of (m.ToRowMajorArray())
        | data -> c.OfColumnMajor data m.RowCount m.ColumnCount

    /// True when every value is finite: v - v is 0 for a finite v and NaN for NaN or an infinity,
    /// so one vector comparison covers Vector<'T>.Count values.
    let allFinite<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (values: ReadOnlySpan<'T>) : bool =
        let vectors = MemoryMarshal.Cast<'T, Numerics.Vector<'T>> values
        let mutable ok = true
        for i in 0 .. vectors.Length - 1 do
            let v = vectors.[i]
            if not (Numerics.Vector.EqualsAll(v - v, Numerics.Vector<'T>.Zero)) then ok <- false
        for i in vectors.Length * Numerics.Vector<'T>.Count .. values.Length - 1 do
            if not ('T.IsFinite values.[i]) then ok <- false
        ok

    /// Writes a matrix's values into dst row-major, each converted to 'T (rounded to nearest):
    /// the column-major storage transposed in 32 x 32 tiles, without an intermediate array.
    let copyRowMajor<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (m: Matrix<float>) (dst: Span<'T>) =
        let rows, cols = m.RowCount, m.ColumnCount
        match m.AsColumnMajorArray() with
        | null ->
            let a = m.ToRowMajorArray()
            for i in 0 .. a.Length - 1 do dst.[i] <- 'T.CreateTruncating a.[i]
        | data ->
            for i0 in 0 .. 32 .. rows - 1 do
                for j0 in 0 .. 32 .. cols - 1 do
                    for j in j0 .. min (j0 + 32) cols - 1 do
                        for i in i0 .. min (i0 + 32) rows - 1 do
                            dst.[i * cols + j] <- 'T.CreateTruncating data.[j * rows + i]

    /// A new rows x cols float64 matrix from row-major 'T values, built on its own column-major
    /// array (filled by a tiled transpose; the matrix binds to it without another copy).
    let matrixOfRowMajor<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (rows: int) (cols: int) (src: ReadOnlySpan<'T>) : Matrix<float> =
        let data = Array.zeroCreate<float> (rows * cols)
        for i0 in 0 .. 32 .. rows - 1 do
            for j0 in 0 .. 32 .. cols - 1 do
                for i in i0 .. min (i0 + 32) rows - 1 do
                    for j in j0 .. min (j0 + 32) cols - 1 do
                        data.[j * rows + i] <- Double.CreateTruncating src.[i * cols + j]
        Matrix<float>.Build.Dense(rows, cols, data)

    /// A new float64 vector of the 'T values.
    let vectorOf<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (src: ReadOnlySpan<'T>) : MathNet.Numerics.LinearAlgebra.Vector<float> =
        let data = Array.zeroCreate<float> src.Length
        for i in 0 .. src.Length - 1 do data.[i] <- Double.CreateTruncating src.[i]
        MathNet.Numerics.LinearAlgebra.Vector<float>.Build.Dense(data)

    /// dst.[i] <- float32 src.[i] (rounded to nearest), sixteen at a time where the CPU has 512-bit vectors.
    let narrow (src: ReadOnlySpan<float>) (dst: Span<float32>) =
        let mutable i = 0
        if Runtime.Intrinsics.Vector512.IsHardwareAccelerated then
            let s = MemoryMarshal.Cast<float, Runtime.Intrinsics.Vector512<float>> src
            let d = MemoryMarshal.Cast<float32, Runtime.Intrinsics.Vector512<float32>> dst
            let pairs = min (s.Length / 2) d.Length
            for p in 0 .. pairs - 1 do
                d.[p] <- Runtime.Intrinsics.Vector512.Narrow(s.[2 * p], s.[2 * p + 1])
            i <- pairs * 16
        while i < src.Length do
            dst.[i] <- float32 src.[i]
            i <- i + 1

