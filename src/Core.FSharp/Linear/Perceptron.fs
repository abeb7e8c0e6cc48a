namespace Functional.NN.Linear

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN

/// Options of the perceptron.
type PerceptronOptions =
    { /// eta of W <- W + eta (y - yhat) x.
      LearningRate: float
      /// The epoch cap: the perceptron stops after this many passes over the data even when
      /// some samples are still misclassified (it never stops otherwise on data that is not
      /// linearly separable).
      MaxEpochs: int }
    /// eta = 1, at most 1000 epochs.
    static member Default = { LearningRate = 1.0; MaxEpochs = 1000 }
    /// A copy with LearningRate changed.
    member this.WithLearningRate(learningRate: float) = { this with LearningRate = learningRate }
    /// A copy with MaxEpochs changed.
    member this.WithMaxEpochs(epochs: int) = { this with MaxEpochs = epochs }

/// What the perceptron returns.
type PerceptronResult =
    { /// The weights and bias reached (a LinearModel with one output and an intercept).
      Model: LinearModel
      /// True when every sample is classified correctly ("converged"); false when it stopped at
      /// the epoch cap (the data may not be linearly separable).
      Converged: bool
      /// The number of passes over the data that made updates.
      Epochs: int
      /// The number of weight updates made.
      Updates: int
      /// The number of training samples misclassified by the returned model (0 when converged).
      Misclassified: int }

/// The perceptron as the notes state it (ch. 3.1): yhat = 1 when W^T x + b > 0, else -1 (the
/// sign/step activation on labels {-1, +1}). From W = 0, b = 0: while some sample is
/// misclassified, pass over the samples in order and, for each misclassified one, set
/// W <- W + eta (y - yhat) x and b <- b + eta (y - yhat) (that is, plus or minus 2 eta x).
///
/// A slip in the notes: they test y W^T x < 0 for "misclassified". From W = 0 every score is 0,
/// that test never holds and the weights never move; a sample with score exactly 0 is also
/// misclassified when y = +1 (yhat = -1). The library updates where yhat <> y, which is
/// y (W^T x + b) <= 0 for y = +1 and < 0 for y = -1 (and their update is zero otherwise anyway).
module Perceptron =

    /// Trains the perceptron on X (n x d) and labels in {-1, +1}. From zero weights the rate only
    /// scales the weights, so in exact arithmetic the decisions do not depend on it; in doubles a
    /// power-of-two rate scales every product and sum exactly and gives the same classifier bit for
    /// bit (W and b times the rate, barring overflow or underflow), while another rate may round a
    /// score of exactly 0 to +-1e-16 and so break a tie differently (other updates, another
    /// classifier). Raises ArgumentException when the weights overflow the double range: ParamName
    /// "learningRate" when the rate is above 1 (a power-of-two rate such as 1 or 0.5 avoids it),
    /// otherwise "x" (the features are too large: scale them).
    let fitNamed (options: PerceptronOptions) (featureNames: string[]) (x: Matrix<float>) (labels: int[]) : PerceptronResult =
        LinearClassifier.checkData x labels
        Check.positive "learningRate" options.LearningRate
        if options.MaxEpochs < 0 then Check.fail "maxEpochs" (sprintf "maxEpochs must not be negative, but is %d." options.MaxEpochs)
        let names = LinearModel.namesFor x.ColumnCount featureNames
        let n, d = x.RowCount, x.ColumnCount
        let w = Array.zeroCreate<float> d
        let mutable b = 0.0
        let predictOne i =
            let mutable z = b
            for j in 0 .. d - 1 do z <- z + w.[j] * x.[i, j]
            LinearClassifier.label z
        let misclassified () = Seq.init n id |> Seq.filter (fun i -> predictOne i <> labels.[i]) |> Seq.length
        let mutable epochs = 0
        let mutable updates = 0
        while misclassified () > 0 && epochs < options.MaxEpochs do
            epochs <- epochs + 1
            for i in 0 .. n - 1 do
                let yhat = predictOne i
                if yhat <> labels.[i] then
                    let s = options.LearningRate * float (labels.[i] - yhat)
                    for j in 0 .. d - 1 do w.[j] <- w.[j] + s * x.[i, j]
                    b <- b + s
                    updates <- updates + 1
                    if not (Double.IsFinite b && Array.forall Double.IsFinite w) then
                        let largest = Mat.maxAbs x
                        // From zero weights eta only scales the weights, so a rate above 1 can be lowered
                        // (to a power of two, which scales exactly: the same decisions as any power of two);
                        // at eta <= 1, or with features whose update 2 x alone overflows, the features are
                        // too large.
                        if options.LearningRate > 1.0 && Double.IsFinite (2.0 * largest) then
                            Check.fail "learningRate" (sprintf "The perceptron's weights overflow the double range at update %d (epoch %d, sample %d): learningRate %g times the features (largest %g) is too large. From zero weights learningRate only scales the weights, so the perceptron's decisions do not depend on it in exact arithmetic: use a power-of-two rate such as 1 or 0.5, which scales them exactly (another rate may break a tie at a score of 0 differently)." updates epochs i options.LearningRate largest)
                        else
                            Check.fail "x" (sprintf "The perceptron's weights overflow the double range at update %d (epoch %d, sample %d): the features are too large for learningRate %g (largest %g in magnitude; each update adds 2 learningRate x, and the weights sum such updates). Scale the features (for example divide x by a power of ten, or standardise it) before fitting, or lower learningRate: from zero weights the rate only scales the weights (exactly for a power of two such as 0.5; another rate may break a tie at a score of 0 differently)." updates epochs i options.LearningRate largest)
        let wrong = misclassified ()
        { Model =
            { Coefficients = Matrix<float>.Build.Dense(d, 1, fun j _ -> w.[j])
              Intercept = Vector<float>.Build.Dense(1, b)
              HasIntercept = true
              FeatureNames = names
              TargetNames = [||]
              Precision = Precision.Float64
              Fill = None }
          Converged = (wrong = 0)
          Epochs = epochs
          Updates = updates
          Misclassified = wrong }

    /// `fitNamed` without feature names.
    let fit (options: PerceptronOptions) (x: Matrix<float>) (labels: int[]) : PerceptronResult =
        fitNamed options [||] x labels
