namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Options of ordinary least squares.
type LeastSquaresOptions =
    { /// Add a column of ones to X (the notes' x_0 = 1) and fit its weight, the intercept b.
      FitIntercept: bool
      /// The relative tolerance of the rank test (see NormalEquation): 1e-10 by default. It must lie
      /// strictly between 0 and 1 (the test compares it with a fraction in [0, 1]); fitting raises
      /// ArgumentException (ParamName "RankTolerance") otherwise.
      RankTolerance: float }
    /// FitIntercept = true, RankTolerance = 1e-10.
    static member Default = { FitIntercept = true; RankTolerance = NormalEquation.DefaultRankTolerance }
    /// A copy with FitIntercept changed.
    member this.WithFitIntercept(fitIntercept: bool) = { this with FitIntercept = fitIntercept }
    /// A copy with RankTolerance changed.
    member this.WithRankTolerance(tolerance: float) = { this with RankTolerance = tolerance }

/// Ordinary least squares by the normal equation (notes, ch. 1.3). The cost is the notes' (1.3),
/// C(W) = 1/(2n) ||X W - Y||^2, its gradient (1.5) is (X^T X W - X^T Y) / n, and W* solves
/// X^T X W* = X^T Y (1.6). The notes write W* = (X^T X)^-1 X^T Y; the library never forms the
/// inverse (nor X^T X) but solves the least-squares problem by a blocked Householder QR factorisation
/// of the design X (NormalEquation.leastSquares), which keeps the condition number of X instead of
/// squaring it.
module LeastSquares =

    /// The name of column j of the design for error messages.
    let internal columnName (intercept: bool) (names: string[]) (j: int) =
        let k = if intercept then j - 1 else j
        if k < 0 then "the intercept column of ones"
        elif names.Length > k then sprintf "feature %d, %s" k names.[k]
        else sprintf "feature %d" k

    /// Raises the rank-deficiency error before factorising when there are fewer samples than
    /// unknowns (then X^T X has rank at most n < p whatever the data).
    let internal checkEnoughSamples (n: int) (d: int) (intercept: bool) =
        let p = d + (if intercept then 1 else 0)
        if n < p then
            let what = sprintf "%d feature%s%s" d (if d = 1 then "" else "s") (if intercept then " and the intercept" else "")
            NormalEquation.checkEnoughRows n p "the model" what "features" ", whose matrix X^T X / n + lambda I is always invertible"

    /// Fits W (and b) minimising 1/(2n) ||X W + 1 b - Y||^2 for X (n x d, one sample per row)
    /// and Y (n x k). With FitIntercept this is the notes' design [1 X] (the column of ones), solved
    /// as the equivalent centred problem (NormalEquation.leastSquaresCentred: the features and
    /// targets minus their means, so that a feature with a large offset and a small spread, such as
    /// a timestamp, is not refused by the rank test); without it, X itself. Raises ArgumentException
    /// for bad shapes or values, and for a rank-deficient design (a duplicated or constant feature,
    /// fewer samples than unknowns), saying why and pointing to ridge, and (ParamName
    /// "RankTolerance") for a rank tolerance outside (0, 1).
    let fitNamed (options: LeastSquaresOptions) (featureNames: string[]) (x: Matrix<float>) (y: Matrix<float>) : LinearModel =
        LinearModel.checkData x y
        NormalEquation.checkTolerance "RankTolerance" options.RankTolerance
        checkEnoughSamples x.RowCount x.ColumnCount options.FitIntercept
        let names = LinearModel.namesFor x.ColumnCount featureNames
        let columnName = columnName options.FitIntercept names
        let theta =
            if options.FitIntercept then NormalEquation.leastSquaresCentred options.RankTolerance columnName x y
            else NormalEquation.leastSquares options.RankTolerance columnName x y
        LinearModel.checkFitFinite "y" theta
        LinearModel.ofStacked options.FitIntercept names theta

    /// `fitNamed` without feature names.
    let fit (options: LeastSquaresOptions) (x: Matrix<float>) (y: Matrix<float>) : LinearModel =
        fitNamed options [||] x y
