namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Options of full-batch gradient descent on a LinearCost.
type GradientDescentOptions =
    { /// eta of W <- W - eta grad C(W). Used when AutoLearningRate is false.
      LearningRate: float
      /// Use eta = 1 / L, with L the largest eigenvalue of the cost's Hessian
      /// (LinearCost.smoothness): the largest constant step for which every step decreases C.
      AutoLearningRate: bool
      /// Stop after this many steps at most.
      MaxSteps: int
      /// Stop when the Euclidean norm of the gradient falls below this (first-order optimality).
      GradientTolerance: float }
    /// AutoLearningRate (eta = 1/L), at most 100000 steps, gradient tolerance 1e-10.
    static member Default = { LearningRate = 0.01; AutoLearningRate = true; MaxSteps = 100000; GradientTolerance = 1e-10 }
    /// A copy with a fixed learning rate (and AutoLearningRate false).
    member this.WithLearningRate(learningRate: float) = { this with LearningRate = learningRate; AutoLearningRate = false }
    /// A copy with AutoLearningRate changed.
    member this.WithAutoLearningRate(auto: bool) = { this with AutoLearningRate = auto }
    /// A copy with MaxSteps changed.
    member this.WithMaxSteps(steps: int) = { this with MaxSteps = steps }
    /// A copy with GradientTolerance changed.
    member this.WithGradientTolerance(tolerance: float) = { this with GradientTolerance = tolerance }

/// What an iterative fit returns.
type LinearFitResult =
    { /// The fitted model.
      Model: LinearModel
      /// The number of weight updates made.
      Steps: int
      /// True when the stopping rule was met before the step cap.
      Converged: bool
      /// The cost on the whole data before the first update and after each update
      /// (gradient descent) or after each epoch (SGD).
      Costs: float[]
      /// The (first) learning rate used.
      LearningRate: float }

/// Full-batch gradient descent (notes, ch. 2.1, (2.1)) on the least-squares and ridge costs:
/// theta <- theta - eta grad C(theta), which for least squares is the notes'
/// W <- W - eta/n (X^T X W - X^T Y). A plain loop over LinearCost's gradient; it starts from
/// zero weights. (The general trainer of the Training area could later run these costs too.)
module LinearGradientDescent =

    /// Minimises the cost on (X, Y) from W = 0. Raises TrainingDivergedException (with the last
    /// finite LinearModel in LastGood) when a fixed learning rate is too large and the weights blow up.
    let fitNamed (options: GradientDescentOptions) (cost: LinearCost) (featureNames: string[]) (x: Matrix<float>) (y: Matrix<float>) : LinearFitResult =
        LinearCost.check cost
        LinearModel.checkData x y
        if options.MaxSteps < 0 then Check.fail "maxSteps" (sprintf "maxSteps must not be negative, but is %d." options.MaxSteps)
        Check.positive "gradientTolerance" options.GradientTolerance
        let eta =
            if options.AutoLearningRate then 1.0 / LinearCost.smoothness cost x
            else Check.positive "learningRate" options.LearningRate; options.LearningRate
        let names = if isNull featureNames then [||] else featureNames
        let design = LinearModel.design cost.FitIntercept x
        let costs = ResizeArray<float>()
        let rec loop (t: int) (theta: Matrix<float>) (lastGood: Matrix<float>) =
            let c = LinearCost.valueOfDesign cost design y theta
            let g = LinearCost.gradientOfDesign cost design y theta
            if not (Double.IsFinite c) || not (theta.ForAll(fun v -> Double.IsFinite v)) then
                raise (TrainingDivergedException(1, t, box (LinearModel.ofStacked cost.FitIntercept names lastGood),
                                                 sprintf "Gradient descent diverged at step %d: the cost became %g. The learning rate %g is above 2/L for this cost; use AutoLearningRate or a smaller rate." t c eta))
            costs.Add c
            if g.FrobeniusNorm() < options.GradientTolerance then theta, t, true
            elif t >= options.MaxSteps then theta, t, false
            else loop (t + 1) (theta - eta * g) theta
        let theta0 = Matrix<float>.Build.Dense(design.ColumnCount, y.ColumnCount)
        let theta, steps, converged = loop 0 theta0 theta0
        { Model = LinearModel.ofStacked cost.FitIntercept names theta
          Steps = steps; Converged = converged; Costs = costs.ToArray(); LearningRate = eta }

    /// `fitNamed` without feature names.
    let fit (options: GradientDescentOptions) (cost: LinearCost) (x: Matrix<float>) (y: Matrix<float>) : LinearFitResult =
        fitNamed options cost [||] x y
