namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Which weights the ridge penalty acts on.
type RidgeForm =
    /// The notes' form (ch. 1.6, cost (1.9)): the intercept is the weight w_0 of the column of
    /// ones and is penalised like every other weight:
    /// C(W) = 1/(2n) ||X1 W - Y||^2 + lambda/2 ||W||^2 with X1 = [1 X] and W = [b; W],
    /// solved from (X1^T X1 / n + lambda I) W* = X1^T Y / n.
    | PenalizeAll = 0
    /// The common form (scikit-learn's Ridge): the intercept is not penalised.
    /// C(W, b) = 1/(2n) ||X W + 1 b - Y||^2 + lambda/2 ||W||^2, solved by centring: with the
    /// column means mx of X and my of Y, (Xc^T Xc / n + lambda I) W* = Xc^T Yc / n and
    /// b* = my - mx W*. scikit-learn's Ridge(alpha) minimises ||y - X w - b||^2 + alpha ||w||^2,
    /// which is 2n times this cost with alpha = n lambda.
    | InterceptUnpenalized = 1

/// Options of ridge regression.
type RidgeOptions =
    { /// lambda >= 0, the weight of lambda/2 ||W||^2 in the notes' scale (cost (1.9)).
      Lambda: float
      /// Which weights are penalised (the notes' form penalises the intercept too).
      Form: RidgeForm
      /// Fit an intercept. Without one, both forms are the same: (X^T X / n + lambda I) W = X^T Y / n.
      FitIntercept: bool }
    /// Lambda = 1, the notes' form (PenalizeAll), FitIntercept = true.
    static member Default = { Lambda = 1.0; Form = RidgeForm.PenalizeAll; FitIntercept = true }
    /// A copy with Lambda changed.
    member this.WithLambda(lambda: float) = { this with Lambda = lambda }
    /// A copy with Form changed.
    member this.WithForm(form: RidgeForm) = { this with Form = form }
    /// A copy with FitIntercept changed.
    member this.WithFitIntercept(fitIntercept: bool) = { this with FitIntercept = fitIntercept }

/// Ridge (regularised least-squares) regression, notes ch. 1.6, in both forms (see RidgeForm),
/// never by an inverse (NormalEquation.ridgeLeastSquares): by a Cholesky factorisation of the
/// regularised normal equation equilibrated to unit diagonal when its estimated condition number is
/// small enough that forming X^T X / n costs no accuracy, otherwise by a blocked Householder QR of
/// the stacked system [X; sqrt(n lambda) I] (the QR of least squares, with its power-of-two column
/// scaling: features of any finite size are fine). With lambda > 0 there is no rank
/// test: a duplicated or constant column is fine; a lambda is refused only when the QR's own error
/// bound exceeds about 1% (see NormalEquation.ridgeLeastSquares). Lambda = 0 is least squares,
/// solved by QR with its rank test.
///
/// A slip in the notes: the derivation of (1.9) writes the derivative of the penalty as 2W; the
/// derivative of lambda/2 ||W||^2 is lambda W, which is what the notes' final line and the
/// closed form W* = (X^T X / n + lambda I)^-1 (X^T Y / n) use, and what the library uses.
module Ridge =

    /// fitNamed with the penalty named as the caller names it: `lambdaName` the ParamName of a
    /// refusal, `lambdaText` the penalty in the message ("alpha = 0.05 (lambda = alpha / n = 0.0125)").
    let private fitWith (lambdaName: string) (lambdaText: string) (options: RidgeOptions) (featureNames: string[]) (x: Matrix<float>) (y: Matrix<float>) : LinearModel =
        LinearModel.checkData x y
        NormalEquation.checkLambda "lambda" options.Lambda
        if options.Form <> RidgeForm.PenalizeAll && options.Form <> RidgeForm.InterceptUnpenalized then
            Check.fail "form" (sprintf "form %d is not a RidgeForm." (int options.Form))
        let names = LinearModel.namesFor x.ColumnCount featureNames
        if options.Lambda = 0.0 then
            LeastSquares.checkEnoughSamples x.RowCount x.ColumnCount options.FitIntercept
        let solve (design: Matrix<float>) (target: Matrix<float>) (intercept: bool) =
            let columnName = LeastSquares.columnName intercept names
            if options.Lambda = 0.0 then
                if intercept then NormalEquation.leastSquaresCentred NormalEquation.DefaultRankTolerance columnName x target
                else NormalEquation.leastSquares NormalEquation.DefaultRankTolerance columnName design target
            else
                NormalEquation.ridgeLeastSquares lambdaName lambdaText options.Lambda columnName design target
            |> fun theta -> LinearModel.checkFitFinite "y" theta; theta
        if not options.FitIntercept then
            LinearModel.ofStacked false names (solve x y false)
        elif options.Form = RidgeForm.PenalizeAll || options.Lambda = 0.0 then
            // Lambda = 0 is least squares in both forms: the design with its column of ones (solved centred,
            // as LeastSquares.fitNamed), so that the rank test and its messages are those of least squares
            // (a constant feature is a multiple of the intercept column; X^T X has one row per unknown).
            LinearModel.ofStacked true names (solve (LinearModel.design true x) y true)
        else
            // The means on columns scaled by powers of two: a sum of features near 1e308 does not overflow.
            let mx, xc = NormalEquation.centredColumns "x" (fun j -> sprintf "feature %d (%s)" j names.[j]) x
            let my, yc = NormalEquation.centredColumns "y" (sprintf "target column %d") y
            let w = solve xc yc false
            let b = Vector<float>.Build.DenseOfArray my - w.TransposeThisAndMultiply(Vector<float>.Build.DenseOfArray mx)
            LinearModel.checkFitFinite "y" (Matrix<float>.Build.DenseOfRowVectors [| b |])
            { Coefficients = w; Intercept = b; HasIntercept = true; FeatureNames = Array.copy names; TargetNames = [||]; Precision = Precision.Float64; Fill = None }

    /// Fits ridge regression to X (n x d) and Y (n x k), with feature names for the model.
    /// Raises ArgumentException for bad arguments, when lambda = 0 for a rank-deficient design,
    /// and when lambda > 0 is too small for the data: the QR's relative error bound above about
    /// 1.1e-2 (ParamName "lambda", see NormalEquation.ridgeLeastSquares).
    let fitNamed (options: RidgeOptions) (featureNames: string[]) (x: Matrix<float>) (y: Matrix<float>) : LinearModel =
        fitWith "lambda" (sprintf "lambda = %g" options.Lambda) options featureNames x y

    /// `fitNamed` without feature names.
    let fit (options: RidgeOptions) (x: Matrix<float>) (y: Matrix<float>) : LinearModel =
        fitNamed options [||] x y

    /// scikit-learn's Ridge(alpha, fit_intercept=True): the InterceptUnpenalized form with
    /// lambda = alpha / n. A refusal of a too small penalty names alpha (ParamName "alpha").
    let fitLikeScikitLearn (alpha: float) (x: Matrix<float>) (y: Matrix<float>) : LinearModel =
        Mat.checkBatch "x" x
        NormalEquation.checkLambda "alpha" alpha
        let n = x.RowCount
        // alpha / n underflows to 0 for an alpha near the smallest double: that would be least squares, not ridge.
        if alpha > 0.0 && not (alpha / float n > 0.0) then
            Check.fail "alpha" (sprintf "alpha = %g is so small that lambda = alpha / n (n = %d) underflows to 0, which is least squares, not ridge; give a larger alpha." alpha n)
        fitWith "alpha" (sprintf "alpha = %g (lambda = alpha / n = %g with n = %d)" alpha (alpha / float n) n)
            { Lambda = alpha / float n; Form = RidgeForm.InterceptUnpenalized; FitIntercept = true } [||] x y
