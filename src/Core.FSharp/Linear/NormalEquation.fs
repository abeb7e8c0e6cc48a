namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Solves a normal equation A W = B for a symmetric A (A = X^T X, or X^T X / n + lambda I for
/// ridge) by MathNet's Cholesky factorisation A = L L^T, never by forming an inverse.
///
/// Rank test (the documented relative tolerance): with A = X^T X, the pivot L_jj^2 divided by
/// A_jj is the fraction of the squared length of column j of X that lies outside the span of
/// the columns before it (sin^2 of the angle between them). It does not depend on the scale of
/// the column. When it is below `tolerance` (Default 1e-10) for some j, or A is not positive
/// definite at all, column j is treated as a linear combination of the earlier ones and
/// X^T X as singular.
module NormalEquation =

    /// The default relative tolerance of the rank test: 1e-10 (a column is dependent when less
    /// than 1e-10 of its squared length, about 1e-5 of its length, lies outside the span of the
    /// columns before it). Rounding of a duplicated column gives about 1e-16.
    [<Literal>]
    let DefaultRankTolerance = 1e-10

    /// The pivot ratios L_jj^2 / A_jj of A's Cholesky factor, or None when MathNet's factorisation
    /// rejects A (not positive definite).
    let private pivotRatios (a: Matrix<float>) =
        try
            let l = a.Cholesky().Factor
            Some (Array.init a.RowCount (fun j -> if a.[j, j] > 0.0 then l.[j, j] * l.[j, j] / a.[j, j] else 0.0))
        with :? ArgumentException -> None

    /// The first column j that is (numerically) a combination of columns 0 .. j-1, with its
    /// pivot ratio, by factorising the leading j+1 x j+1 blocks of A in turn (only run once the
    /// whole factorisation has failed, so its cost does not matter).
    let private firstDependentColumn (tolerance: float) (a: Matrix<float>) =
        let rec go j =
            if j >= a.RowCount then None
            else
                match pivotRatios (a.SubMatrix(0, j + 1, 0, j + 1)) with
                | None -> Some (j, 0.0)
                | Some r when r.[j] < tolerance || Double.IsNaN r.[j] -> Some (j, r.[j])
                | Some _ -> go (j + 1)
        go 0

    /// Solves A W = B by Cholesky. `columnName j` names column j of the design for the message
    /// (for example "distance_km" or "the intercept column"). Raises ArgumentException (ParamName
    /// "x") that says which column is dependent and points to ridge regression when A is
    /// singular or nearly so.
    let solve (tolerance: float) (columnName: int -> string) (a: Matrix<float>) (b: Matrix<float>) : Matrix<float> =
        Check.positive "tolerance" tolerance
        let singular (j: int) (ratio: float) =
            Check.fail "x" (sprintf "The design matrix is rank-deficient, so X^T X (%s) is singular and least squares has no unique solution: design column %d (%s) is a linear combination of the columns before it (%s; the relative tolerance is %g). This happens with a duplicated or constant feature, a feature that is a sum of others, or a constant column together with an intercept. Remove the dependent column, or use ridge regression (Ridge.fit with lambda > 0), whose matrix X^T X / n + lambda I is always invertible." (Mat.shapeOf a) j (columnName j) (if ratio > 0.0 then sprintf "only %.3g of its squared length lies outside their span" ratio else "no part of it lies outside their span, up to rounding") tolerance)
        match pivotRatios a with
        | Some ratios ->
            match ratios |> Array.tryFindIndex (fun r -> r < tolerance || Double.IsNaN r) with
            | Some j -> singular j ratios.[j]
            | None -> a.Cholesky().Solve b
        | None ->
            match firstDependentColumn tolerance a with
            | Some (j, r) -> singular j r
            | None -> singular (a.RowCount - 1) 0.0
