namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// The least-squares and ridge costs on stacked weights theta = [b; W] ((1 + d) x k, intercept
/// row first when there is an intercept; see LinearModel.stacked), with X1 = [1 X]:
/// C(theta) = 1/(2n) ||X1 theta - Y||^2 + lambda/2 ||P theta||^2 and
/// grad C(theta) = X1^T (X1 theta - Y) / n + lambda P theta,
/// where P is the identity, except that P's intercept entry is 0 when the intercept is not
/// penalised. Lambda = 0 is the notes' least-squares cost (1.3) with gradient (1.5); lambda > 0
/// with the intercept penalised is the notes' ridge cost (1.9).
type LinearCost =
    { /// lambda >= 0 (0: least squares).
      Lambda: float
      /// Penalise the intercept too (the notes' ridge form); ignored when lambda = 0.
      PenalizeIntercept: bool
      /// The model has an intercept (X1 = [1 X]); without one, X1 = X.
      FitIntercept: bool }
    /// Least squares with an intercept: lambda = 0.
    static member Default = { Lambda = 0.0; PenalizeIntercept = false; FitIntercept = true }
    /// The least-squares cost (1.3), with or without an intercept.
    static member LeastSquares(fitIntercept: bool) = { Lambda = 0.0; PenalizeIntercept = false; FitIntercept = fitIntercept }
    /// The cost that Ridge.fit minimises with these options.
    static member Ridge(options: RidgeOptions) =
        { Lambda = options.Lambda; PenalizeIntercept = (options.Form = RidgeForm.PenalizeAll); FitIntercept = options.FitIntercept }
    /// A copy with Lambda changed.
    member this.WithLambda(lambda: float) = { this with Lambda = lambda }
    /// A copy with PenalizeIntercept changed.
    member this.WithPenalizeIntercept(penalize: bool) = { this with PenalizeIntercept = penalize }
    /// A copy with FitIntercept changed.
    member this.WithFitIntercept(fitIntercept: bool) = { this with FitIntercept = fitIntercept }

/// Values, gradients and curvature of a LinearCost.
module LinearCost =

    let internal check (cost: LinearCost) = NormalEquation.checkLambda "lambda" cost.Lambda

    /// P theta: theta with the intercept row zeroed when the intercept is not penalised.
    let internal penalised (cost: LinearCost) (theta: Matrix<float>) =
        if cost.FitIntercept && not cost.PenalizeIntercept then
            Matrix<float>.Build.Dense(theta.RowCount, theta.ColumnCount, fun i j -> if i = 0 then 0.0 else theta.[i, j])
        else theta

    /// C(theta) on a design X1 that already holds the column of ones (no checks).
    let internal valueOfDesign (cost: LinearCost) (design: Matrix<float>) (y: Matrix<float>) (theta: Matrix<float>) =
        let r = design * theta - y
        let p = penalised cost theta
        let fro (m: Matrix<float>) = let f = m.FrobeniusNorm() in f * f
        fro r / (2.0 * float design.RowCount) + cost.Lambda / 2.0 * fro p

    /// Raises ArgumentException (ParamName "y") when `startingCost`, the cost at W = 0 (where it is
    /// ||Y||^2 / (2n), whatever X and lambda), is not finite: the targets are too large to square and
    /// sum in double precision, so no iterative fit can evaluate its cost (the closed forms, which
    /// scale the data, can). Gradient descent and SGD check it before their first step.
    let internal checkStartingCost (startingCost: float) (y: Matrix<float>) =
        if not (Double.IsFinite startingCost) then
            Check.fail "y" (sprintf "The cost at the starting weights W = 0, ||y||^2 / (2n), overflows the double range (it is %s): y holds values up to %g in magnitude, too large to square and sum in double precision, so the iterative fit cannot evaluate its cost (this is not a matter of the learning rate; no step was taken). Rescale the data (for example divide y by a constant, or standardise it) before fitting, or use the closed form (least squares or ridge), which scales the data itself." (string startingCost) (Mat.maxAbs y))

    /// grad C(theta) on a design X1 that already holds the column of ones (no checks).
    let internal gradientOfDesign (cost: LinearCost) (design: Matrix<float>) (y: Matrix<float>) (theta: Matrix<float>) =
        let g = design.TransposeThisAndMultiply(design * theta - y) / float design.RowCount
        if cost.Lambda = 0.0 then g else g + cost.Lambda * penalised cost theta

    let private checkModel (cost: LinearCost) (x: Matrix<float>) (y: Matrix<float>) (model: LinearModel) =
        check cost
        LinearModel.checkTargets model x y
        if model.HasIntercept <> cost.FitIntercept then
            Check.fail "model" (sprintf "the model %s an intercept but the cost has FitIntercept = %b." (if model.HasIntercept then "has" else "has no") cost.FitIntercept)

    /// C at the model's weights on (X, Y).
    let value (cost: LinearCost) (x: Matrix<float>) (y: Matrix<float>) (model: LinearModel) : float =
        checkModel cost x y model
        valueOfDesign cost (LinearModel.design cost.FitIntercept x) y (LinearModel.stacked model)

    /// grad C at the model's weights on (X, Y), in the stacked shape ((1 + d) x k, intercept row
    /// first when the model has an intercept).
    let gradient (cost: LinearCost) (x: Matrix<float>) (y: Matrix<float>) (model: LinearModel) : Matrix<float> =
        checkModel cost x y model
        gradientOfDesign cost (LinearModel.design cost.FitIntercept x) y (LinearModel.stacked model)

    /// The Hessian of C, H = X1^T X1 / n + lambda P (the same for every output column).
    let hessian (cost: LinearCost) (x: Matrix<float>) : Matrix<float> =
        check cost
        Mat.checkBatch "x" x
        let design = LinearModel.design cost.FitIntercept x
        let h = design.TransposeThisAndMultiply design / float x.RowCount
        let p = Matrix<float>.Build.DenseIdentity h.RowCount
        if cost.FitIntercept && not cost.PenalizeIntercept then p.[0, 0] <- 0.0
        h + cost.Lambda * p

    /// The largest eigenvalue L of the Hessian: the gradient is L-Lipschitz, so gradient descent
    /// with a constant learning rate eta < 2 / L converges, and eta = 1 / L decreases C at every step.
    /// Raises ArgumentException (ParamName "x") when the Hessian overflows: a feature's squares
    /// or products sum beyond the double range (|x| above about 1e154), so no finite L exists.
    let smoothness (cost: LinearCost) (x: Matrix<float>) : float =
        let h = hessian cost x
        for i in 0 .. h.RowCount - 1 do
            for j in 0 .. h.ColumnCount - 1 do
                if not (Double.IsFinite h.[i, j]) then
                    let k = if cost.FitIntercept then max i j - 1 else max i j
                    Check.fail "x" (sprintf "The Hessian X^T X / n of the cost overflows (entry [%d, %d] is %s): feature %d of x holds values too large to square in double precision (about 1e154 or more; the largest is %g). Scale the features (for example standardise them) before fitting." i j (string h.[i, j]) k (Mat.maxAbs x))
        let l = NormalEquation.largestEigenvalue h
        if not (Double.IsFinite l) then
            Check.fail "x" (sprintf "The largest eigenvalue of the Hessian X^T X / n (%s) cannot be computed in double precision for x of largest value %g (it overflows, or the decomposition fails). Scale the features before fitting." (string l) (Mat.maxAbs x))
        l
