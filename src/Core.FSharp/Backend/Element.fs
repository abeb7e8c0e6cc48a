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

    /// True when every |value| is at most `limit`; NaN fails (Layout.AllAbsAtMost; for callers in
    /// the namespace, where `Kernels` names the Backend case).
    let allAbsAtMost<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (values: ReadOnlySpan<'T>) (limit: 'T) : bool =
        Functional.NN.Kernels.Layout.AllAbsAtMost(values, limit)

    /// True when every value is finite (Layout.AllFinite).
    let allFinite<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (values: ReadOnlySpan<'T>) : bool =
        Functional.NN.Kernels.Layout.AllFinite values

    /// Writes a matrix's values into dst row-major, each converted to 'T (rounded to nearest):
    /// a dense matrix's column-major storage through Layout.ColumnMajorToRowMajor (tiled, both
    /// cores). Returns false when a converted value is not finite (NaN, an infinity, or beyond
    /// float32's range), for the caller to report.
    let copyRowMajor<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (m: Matrix<float>) (dst: Span<'T>) : bool =
        match m.AsColumnMajorArray() with
        | null ->
            let a = m.ToRowMajorArray()
            let mutable ok = true
            for i in 0 .. a.Length - 1 do
                let v = 'T.CreateTruncating a.[i]
                // Beyond float32's largest value is beyond its range, even where it rounds to that value.
                if not ('T.IsFinite v) || (typeof<'T> = typeof<float32> && abs a.[i] > float Single.MaxValue) then ok <- false
                dst.[i] <- v
            ok
        | data -> Functional.NN.Kernels.Layout.ColumnMajorToRowMajor(ReadOnlySpan data, m.RowCount, m.ColumnCount, dst)

    /// A new rows x cols float64 matrix from row-major 'T values, built on its own column-major
    /// array (filled by a tiled transpose; the matrix binds to it without another copy). For
    /// float64 values (and large float32 ones, widened first) the transpose is
    /// Layout.ColumnMajorToRowMajor's (the row-major rows x cols values are the column-major
    /// cols x rows matrix; split over the cores, 8 x 8 blocks).
    let matrixOfRowMajor<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (rows: int) (cols: int) (src: ReadOnlySpan<'T>) : Matrix<float> =
        let data = GC.AllocateUninitializedArray<float> (rows * cols)
        if typeof<'T> = typeof<float> then
            let values = MemoryMarshal.Cast<'T, float>(src).Slice(0, rows * cols)
            Functional.NN.Kernels.Layout.ColumnMajorToRowMajor(values, cols, rows, Span<float>(data)) |> ignore
        elif rows * cols >= 4096 then
            // Widened (exactly) into a pooled float64 copy first, then the same transpose.
            let wide = Buffers.ArrayPool<float>.Shared.Rent(rows * cols)
            Functional.NN.Kernels.Layout.Widen(src.Slice(0, rows * cols), Span<float>(wide, 0, rows * cols))
            Functional.NN.Kernels.Layout.ColumnMajorToRowMajor(ReadOnlySpan(wide, 0, rows * cols), cols, rows, Span<float>(data)) |> ignore
            Buffers.ArrayPool<float>.Shared.Return wide
        else
            for i0 in 0 .. 32 .. rows - 1 do
                for j0 in 0 .. 32 .. cols - 1 do
                    for i in i0 .. min (i0 + 32) rows - 1 do
                        for j in j0 .. min (j0 + 32) cols - 1 do
                            data.[j * rows + i] <- Double.CreateTruncating src.[i * cols + j]
        Matrix<float>.Build.Dense(rows, cols, data)

    /// A new rows x cols float64 matrix of the row-major float64 values each rounded to float32
    /// (`Precision.round Float32`), in one pass.
    let matrixOfRowMajorRounded (rows: int) (cols: int) (src: ReadOnlySpan<float>) : Matrix<float> =
        let data = Array.zeroCreate<float> (rows * cols)
        for i0 in 0 .. 32 .. rows - 1 do
            for j0 in 0 .. 32 .. cols - 1 do
                for i in i0 .. min (i0 + 32) rows - 1 do
                    for j in j0 .. min (j0 + 32) cols - 1 do
                        data.[j * rows + i] <- float (float32 src.[i * cols + j])
        Matrix<float>.Build.Dense(rows, cols, data)

    /// A new float64 vector of the 'T values.
    let vectorOf<'T when 'T : unmanaged and 'T : (new : unit -> 'T) and 'T : struct and 'T :> ValueType and 'T :> IFloatingPointIeee754<'T>>
            (src: ReadOnlySpan<'T>) : MathNet.Numerics.LinearAlgebra.Vector<float> =
        let data = Array.zeroCreate<float> src.Length
        for i in 0 .. src.Length - 1 do data.[i] <- Double.CreateTruncating src.[i]
        MathNet.Numerics.LinearAlgebra.Vector<float>.Build.Dense(data)

