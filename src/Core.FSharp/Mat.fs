namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// The few F# helpers over MathNet.Numerics matrices that the core needs (MathNet.Numerics.FSharp
/// is not available here). Every function returns a new matrix and never changes its arguments.
module Mat =

    /// A rows x cols matrix of zeros.
    let zeros (rows: int) (cols: int) : Matrix<float> = Matrix<float>.Build.Dense(rows, cols)

    /// A matrix from a 2-D array (copied).
    let ofArray2D (a: float[,]) : Matrix<float> = Matrix<float>.Build.DenseOfArray a

    /// A matrix from rows (copied). ArgumentException (ParamName "rows") for no rows, a null or
    /// empty row, or rows of different lengths (naming the first row whose length differs from
    /// the first row's).
    let ofRows (rows: float[] seq) : Matrix<float> =
        Check.notNull "rows" rows
        let a = Seq.toArray rows
        if a.Length = 0 then Check.fail "rows" "rows is empty; give at least one row."
        a |> Array.iteri (fun i r ->
            if isNull r then Check.fail "rows" (sprintf "rows[%d] is null." i)
            if r.Length = 0 then Check.fail "rows" (sprintf "rows[%d] is empty; every row needs at least one value." i)
            if r.Length <> a.[0].Length then
                Check.fail "rows" (sprintf "rows[%d] has %s but rows[0] has %s; every row must have the same length." i (Check.counted r.Length "value" "values") (Check.counted a.[0].Length "value" "values")))
        Matrix<float>.Build.DenseOfRowArrays a

    /// A matrix from a function of (row, column).
    let init (rows: int) (cols: int) (f: int -> int -> float) : Matrix<float> =
        Matrix<float>.Build.Dense(rows, cols, fun i j -> f i j)

    /// A copy as a 2-D array.
    let toArray2D (m: Matrix<float>) : float[,] = m.ToArray()

    /// Shape as "rows x cols" text.
    let shapeOf (m: Matrix<float>) = Check.shape m.RowCount m.ColumnCount

    /// Element-wise map into a new matrix.
    let map (f: float -> float) (m: Matrix<float>) : Matrix<float> = m.Map(Func<float, float>(f))

    /// Element-wise map of two matrices of the same shape into a new matrix.
    let map2 (f: float -> float -> float) (a: Matrix<float>) (b: Matrix<float>) : Matrix<float> =
        a.Map2(Func<float, float, float>(f), b)

    /// Element-wise (Hadamard) product.
    let hadamard (a: Matrix<float>) (b: Matrix<float>) : Matrix<float> = a.PointwiseMultiply b

    /// Adds the row vector b to every row of m (the bias row of a dense layer). ArgumentException
    /// (ParamName "b") when b does not have one entry per column of m.
    let addRow (b: Vector<float>) (m: Matrix<float>) : Matrix<float> =
        Check.notNull "b" b
        Check.notNull "m" m
        if b.Count <> m.ColumnCount then
            Check.fail "b" (sprintf "b has %s but m has shape %dx%d; b needs one entry per column of m." (Check.counted b.Count "entry" "entries") m.RowCount m.ColumnCount)
        Matrix<float>.Build.Dense(m.RowCount, m.ColumnCount, fun i j -> m.[i, j] + b.[j])

    /// The sum of each column, as a vector (the gradient of a bias row).
    let columnSums (m: Matrix<float>) : Vector<float> = m.ColumnSums()

    /// The rows whose indices are given, in that order, as a new matrix. ArgumentException
    /// (ParamName "indices") for an index outside the rows of m, naming its place.
    let selectRows (indices: int[]) (m: Matrix<float>) : Matrix<float> =
        Check.notNull "indices" indices
        Check.notNull "m" m
        indices |> Array.iteri (fun k i ->
            if i < 0 || i >= m.RowCount then
                Check.fail "indices" (sprintf "indices[%d] = %d is outside 0 .. %d (m has %d rows)." k i (m.RowCount - 1) m.RowCount))
        Matrix<float>.Build.Dense(indices.Length, m.ColumnCount, fun i j -> m.[indices.[i], j])

    /// Checks that a matrix is non-empty and finite, naming the row and column of a bad value.
    let checkFinite (name: string) (m: Matrix<float>) =
        Check.notNull name m
        // One pass over a dense matrix's storage; the element-wise check, which names the row and
        // column of the bad value, runs only when that pass finds one (or for other storage).
        let data = m.AsColumnMajorArray()
        let mutable ok = not (isNull data)
        if ok then
            for v in data do
                if not (Double.IsFinite v) then ok <- false
        if not ok then Check.finite2D name m.RowCount m.ColumnCount (fun i j -> m.[i, j])

    /// The first value of m that `bad` holds for, by row then column, as (row, column, value).
    let firstWhere (bad: float -> bool) (m: Matrix<float>) : (int * int * float) option =
        let mutable found = None
        let mutable i = 0
        while found.IsNone && i < m.RowCount do
            let mutable j = 0
            while found.IsNone && j < m.ColumnCount do
                let v = m.[i, j]
                if bad v then found <- Some (i, j, v)
                j <- j + 1
            i <- i + 1
        found

    /// The first value of m that is NaN or infinite, by row then column, as (row, column, value);
    /// None when every value is finite. One pass over a dense matrix's storage; the search by row
    /// that names the place runs only when that pass finds one (or for other storage).
    let firstNonFinite (m: Matrix<float>) : (int * int * float) option =
        let data = m.AsColumnMajorArray()
        let mutable ok = not (isNull data)
        if ok then
            for v in data do
                if not (Double.IsFinite v) then ok <- false
        if ok then None else firstWhere (fun v -> not (Double.IsFinite v)) m

    /// Checks non-null and at least one row and one column (not the values).
    let checkShape (name: string) (m: Matrix<float>) =
        Check.notNull name m
        if m.RowCount = 0 || m.ColumnCount = 0 then
            Check.fail name (sprintf "%s is empty (shape %s); a batch needs at least one row and one column." name (shapeOf m))

    /// Checks non-null, at least one row, finite values.
    let checkBatch (name: string) (m: Matrix<float>) =
        checkShape name m
        checkFinite name m

    /// Largest absolute element (0 for an empty matrix).
    let maxAbs (m: Matrix<float>) = if m.RowCount = 0 || m.ColumnCount = 0 then 0.0 else m.Enumerate() |> Seq.map abs |> Seq.max

    /// One row per label with a 1 in the label's column: an n x classes one-hot matrix.
    let oneHot (classes: int) (labels: int[]) : Matrix<float> =
        Check.notNull "labels" labels
        Check.positiveInt "classes" classes
        if int64 (max 1 labels.Length) * int64 classes > int64 Array.MaxLength then
            Check.fail "classes" (sprintf "%d labels of %d classes would need a %d x %d matrix, more than the %d entries a matrix holds." labels.Length classes labels.Length classes Array.MaxLength)
        labels |> Array.iteri (fun i c ->
            if c < 0 || c >= classes then Check.fail "labels" (sprintf "labels[%d] = %d is outside 0 .. %d." i c (classes - 1)))
        init labels.Length classes (fun i j -> if labels.[i] = j then 1.0 else 0.0)

    /// The column of the largest value in each row (the first on a tie; +infinity is the
    /// largest value). Raises ArgumentException (ParamName `name`) naming the first row that
    /// holds NaN, which has no largest value, or when `m` has no columns (no row has a largest
    /// value then; column 0 would be an index out of range).
    let argmaxRowsNamed (name: string) (m: Matrix<float>) : int[] =
        Check.notNull name m
        if m.ColumnCount = 0 then
            Check.fail name (sprintf "%s has shape %s: with no columns, no row has a largest value." name (shapeOf m))
        Array.init m.RowCount (fun i ->
            let mutable best = 0
            for j in 0 .. m.ColumnCount - 1 do
                if Double.IsNaN m.[i, j] then
                    Check.fail name (sprintf "%s holds NaN at row %d, column %d; a row with NaN has no largest value." name i j)
                if m.[i, j] > m.[i, best] then best <- j
            best)

    /// `argmaxRowsNamed "m"`.
    let argmaxRows (m: Matrix<float>) : int[] = argmaxRowsNamed "m" m
