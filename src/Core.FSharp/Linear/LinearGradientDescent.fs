namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Options of full-batch gradient descent on a LinearCost (named apart from the trainer's
/// options: this is the plain loop of the notes' (2.1) with a gradient-norm stopping rule).
type LinearGradientDescentOptions =
    { /// eta of W <- W - eta grad C(W). Used when AutoLearningRate is false.
      LearningRate: float
      /// Use eta = 1 / L, with L the largest eigenvalue of the cost's Hessian
      /// (LinearCost.smoothness): the largest constant step for which every step decreases C.
      AutoLearningRate: bool
      /// Stop after this many steps at most.
      MaxSteps: int
      /// Stop when the norm of the gradient falls below this: an absolute tolerance on the
      /// Euclidean (for several targets, Frobenius) norm of grad C in its stacked shape, the
      /// intercept's entry included, in the data's units (the entry of feature j's weight is in
      /// y's units times x_j's), not scaled by the data. On badly scaled features the gradient is
      /// small everywhere and the fit can stop far from the minimum: with x = 1e-12 i (i = 0 .. 19)
      /// and y = 3e12 x + 1 + noise, it stops after 1 step at W = 3.8e-10, R^2 0. Scale the
      /// features first (for example standardise them), or lower the tolerance.
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

/// Why an iterative linear fit stopped.
type LinearStopReason =
    /// Gradient descent: the norm of the gradient fell below GradientTolerance, an absolute
    /// tolerance in the data's units (first-order optimality at that tolerance: the fit converged
    /// for well scaled features; on features of tiny scale it can stop far from the minimum, see
    /// LinearGradientDescentOptions.GradientTolerance).
    | GradientTolerance = 0
    /// SGD: the notes' rule (ch. 2.2.1) fired: one step moved no weight by StepTolerance or
    /// more, max_i |W_i(t+1) - W_i(t)| < tol. It says the steps became small, which with a
    /// decaying eta_t happens whether or not W is near the optimum; it is not convergence.
    | StepTolerance = 1
    /// The cap was reached: MaxSteps steps (gradient descent) or Epochs epochs (SGD).
    | StepCap = 2

/// What an iterative fit (gradient descent, SGD, a margin classifier) returns.
type LinearFitResult =
    { /// The fitted model.
      Model: LinearModel
      /// The number of weight updates made.
      Steps: int
      /// The rule that stopped the fit.
      StopReason: LinearStopReason
      /// The cost on the whole training data: Costs.[0] at the starting weights (before the
      /// first update), then one entry after each update (gradient descent: Steps + 1 entries)
      /// or after each epoch (SGD: when a stopping rule ends an epoch early, its last entry is
      /// the cost after that final update).
      Costs: float[]
      /// The learning rate of the first step (gradient descent: the constant eta, 1/L with
      /// AutoLearningRate; SGD: eta_1 of the schedule).
      LearningRate: float }

/// Full-batch gradient descent (notes, ch. 2.1, (2.1)) on the least-squares and ridge costs:
/// theta <- theta - eta grad C(theta), which for least squares is the notes'
/// W <- W - eta/n (X^T X W - X^T Y). A plain loop over LinearCost's gradient with a constant
/// step and the gradient-norm rule (which the general trainer does not have); it starts from
/// zero weights.
module LinearGradientDescent =

    /// Checks the options (ParamName "learningRate", "maxSteps", "gradientTolerance").
    let check (options: LinearGradientDescentOptions) =
        if options.MaxSteps < 0 then Check.fail "maxSteps" (sprintf "maxSteps must not be negative, but is %d." options.MaxSteps)
        Check.positive "gradientTolerance" options.GradientTolerance
        if not options.AutoLearningRate then Check.positive "learningRate" options.LearningRate

    /// Minimises the cost on (X, Y) from W = 0. Raises ArgumentException (ParamName "y") when the
    /// cost at W = 0 already overflows (LinearCost.checkStartingCost: targets too large to square),
    /// and TrainingDivergedException (with the last finite LinearModel in LastGood) when the cost
    /// or the weights stop being finite: a fixed learning rate above 2/L, or, with the automatic
    /// rate, data too large for the products (the message says which). With AutoLearningRate and L = 0 (no intercept, lambda = 0 and X all zeros) the
    /// cost is constant, its gradient is 0 at W = 0, and the fit stops there after no step,
    /// reporting LearningRate = 0 (there is no 1/L).
    let fitNamed (options: LinearGradientDescentOptions) (cost: LinearCost) (featureNames: string[]) (x: Matrix<float>) (y: Matrix<float>) : LinearFitResult =
        LinearCost.check cost
        LinearModel.checkData x y
        check options
        let eta =
            if options.AutoLearningRate then
                let l = LinearCost.smoothness cost x
                if l > 0.0 then 1.0 / l else 0.0
            else options.LearningRate
        let names = LinearModel.namesFor x.ColumnCount featureNames
        let design = LinearModel.design cost.FitIntercept x
        let costs = ResizeArray<float>()
        let rec loop (t: int) (theta: Matrix<float>) (lastGood: Matrix<float>) =
            let c = LinearCost.valueOfDesign cost design y theta
            let g = LinearCost.gradientOfDesign cost design y theta
            if not (Double.IsFinite c) || not (theta.ForAll(fun v -> Double.IsFinite v)) then
                let why =
                    if options.AutoLearningRate then
                        sprintf "The learning rate is the automatic 1/L = %g, with which every step lowers the cost in exact arithmetic, so the values overflowed the double range: the features or the targets are too large for the products of gradient descent. Rescale the data (for example standardise the features and divide the targets by a constant) before fitting, or use the closed form." eta
                    else sprintf "The learning rate %g is above 2/L for this cost; use AutoLearningRate or a smaller rate." eta
                raise (TrainingDivergedException(1, t, box (LinearModel.ofStacked cost.FitIntercept names lastGood),
                                                 sprintf "Gradient descent diverged at step %d: the cost became %g. %s" t c why))
            costs.Add c
            if g.FrobeniusNorm() < options.GradientTolerance || eta = 0.0 then theta, t, LinearStopReason.GradientTolerance
            elif t >= options.MaxSteps then theta, t, LinearStopReason.StepCap
            else loop (t + 1) (theta - eta * g) theta
        let theta0 = Matrix<float>.Build.Dense(design.ColumnCount, y.ColumnCount)
        LinearCost.checkStartingCost (LinearCost.valueOfDesign cost design y theta0) y
        let theta, steps, reason = loop 0 theta0 theta0
        { Model = LinearModel.ofStacked cost.FitIntercept names theta
          Steps = steps; StopReason = reason; Costs = costs.ToArray(); LearningRate = eta }

    /// `fitNamed` without feature names.
    let fit (options: LinearGradientDescentOptions) (cost: LinearCost) (x: Matrix<float>) (y: Matrix<float>) : LinearFitResult =
        fitNamed options cost [||] x y
