namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// Batch normalisation of w features, as torch.nn.BatchNorm1d(w): in training mode each column j
/// of a batch X (n x w, n >= 2) is normalised by the batch's mean mu_j and biased variance var_j,
/// Y = gamma o (X - mu) / sqrt(var + eps) + beta; in inference mode by the running statistics.
/// The running statistics are state, not parameters: a training step returns a new value with
/// RunningMean' = (1 - m) RunningMean + m mu and RunningVariance' = (1 - m) RunningVariance +
/// m var n / (n - 1) (the unbiased variance, as PyTorch). Immutable by convention.
type BatchNorm =
    { /// gamma (w).
      Scale: Vector<float>
      /// beta (w).
      Shift: Vector<float>
      /// The running mean (w), used in inference mode.
      RunningMean: Vector<float>
      /// The running variance (w), used in inference mode.
      RunningVariance: Vector<float>
      /// m in [0, 1] (PyTorch's default 0.1).
      Momentum: float
      /// eps > 0 (PyTorch's default 1e-5).
      Epsilon: float }
    /// The number of features w.
    member this.Width = this.Scale.Count
    /// gamma and beta: 2 w.
    member this.ParameterCount = 2 * this.Scale.Count

/// Layer normalisation of w features, as torch.nn.LayerNorm(w): each row i of X is normalised by
/// its own mean mu_i and biased variance var_i over the w features,
/// Y = gamma o (X - mu) / sqrt(var + eps) + beta; the same in both modes, and no state.
type LayerNorm =
    { /// gamma (w).
      Scale: Vector<float>
      /// beta (w).
      Shift: Vector<float>
      /// eps > 0 (PyTorch's default 1e-5).
      Epsilon: float }
    /// The number of features w.
    member this.Width = this.Scale.Count
    /// gamma and beta: 2 w.
    member this.ParameterCount = 2 * this.Scale.Count

/// What a normalisation's forward keeps for its backward: Xhat = (X - mu) r, the factors
/// r = 1/sqrt(var + eps) (per column for batch normalisation, per row for layer normalisation),
/// and the batch's mean and biased variance (per column; empty for layer normalisation and in
/// inference mode).
type NormalizationMemory =
    { Normalized: Matrix<float>
      InverseStd: Vector<float>
      Mean: Vector<float>
      Variance: Vector<float> }

/// The formulas both normalisations share, over the rows of a matrix (layer normalisation) or
/// its columns (batch normalisation, which applies them to the transpose's rows).
module internal Normalize =

    /// gamma o Xhat + beta.
    let affine (p: Precision) (scale: Vector<float>) (shift: Vector<float>) (xhat: Matrix<float>) =
        Matrix<float>.Build.Dense(xhat.RowCount, xhat.ColumnCount, fun i j -> scale.[j] * xhat.[i, j] + shift.[j])
        |> Precision.roundMatrix p

    /// dgamma_j = sum_i G_ij Xhat_ij and dbeta_j = sum_i G_ij.
    let affineGradient (p: Precision) (xhat: Matrix<float>) (g: Matrix<float>) =
        let w = g.ColumnCount
        let dScale = Vector<float>.Build.Dense(w, fun j -> let mutable s = 0.0 in (for i in 0 .. g.RowCount - 1 do s <- s + g.[i, j] * xhat.[i, j]); s)
        let dShift = Vector<float>.Build.Dense(w, fun j -> let mutable s = 0.0 in (for i in 0 .. g.RowCount - 1 do s <- s + g.[i, j]); s)
        Precision.roundVector p dScale, Precision.roundVector p dShift

/// Batch normalisation: construction and its forward and backward rules (see `BatchNorm`).
module BatchNorm =

    /// Raises ArgumentException for a momentum outside [0, 1] or an epsilon that is not positive and finite.
    let checkSettings (momentum: float) (epsilon: float) =
        if not (momentum >= 0.0 && momentum <= 1.0) then
            Check.fail "momentum" (sprintf "momentum must lie in [0, 1], but is %s." (string momentum))
        if not (epsilon > 0.0) || Double.IsInfinity epsilon then
            Check.fail "epsilon" (sprintf "epsilon must be positive and finite, but is %s." (string epsilon))

    /// A batch normalisation of `width` features with PyTorch's start: gamma = 1, beta = 0,
    /// running mean 0 and running variance 1, momentum 0.1 and eps 1e-5.
    let create (width: int) : BatchNorm =
        Check.positiveInt "width" width
        { Scale = Vector<float>.Build.Dense(width, 1.0)
          Shift = Vector<float>.Build.Dense width
          RunningMean = Vector<float>.Build.Dense width
          RunningVariance = Vector<float>.Build.Dense(width, 1.0)
          Momentum = 0.1
          Epsilon = 1e-5 }

    /// Raises ArgumentException naming a vector of another length than scale (or an empty scale), a
    /// non-finite value, a negative running variance or a bad setting (`checkSettings`).
    /// `createWith` checks with it; `Block.checkValues` checks a block written as a record with
    /// it, without copying.
    let checkValues (scale: Vector<float>) (shift: Vector<float>) (runningMean: Vector<float>) (runningVariance: Vector<float>) (momentum: float) (epsilon: float) =
        Check.notNull "scale" scale
        if scale.Count = 0 then Check.fail "scale" "scale is empty; a normalisation needs at least one feature."
        for name, v in [ "scale", scale; "shift", shift; "runningMean", runningMean; "runningVariance", runningVariance ] do
            Check.notNull name v
            if v.Count <> scale.Count then
                Check.fail name (sprintf "%s has length %d but scale has length %d; every vector needs one entry per feature." name v.Count scale.Count)
            Check.finite2D name 1 v.Count (fun _ j -> v.[j])
        if runningVariance.Exists(fun v -> v < 0.0) then
            Check.fail "runningVariance" "runningVariance holds a negative value; a variance is at least 0."
        checkSettings momentum epsilon

    /// A batch normalisation from its values (copied); raises ArgumentException naming a vector of
    /// another length than scale, a non-finite value, a negative running variance or a bad setting
    /// (`checkValues`).
    let createWith (scale: Vector<float>) (shift: Vector<float>) (runningMean: Vector<float>) (runningVariance: Vector<float>) (momentum: float) (epsilon: float) : BatchNorm =
        checkValues scale shift runningMean runningVariance momentum epsilon
        { Scale = scale.Clone(); Shift = shift.Clone(); RunningMean = runningMean.Clone(); RunningVariance = runningVariance.Clone()
          Momentum = momentum; Epsilon = epsilon }

    /// Training mode (n >= 2 rows, checked by the caller): Y and what the backward pass needs.
    let forwardTraining (p: Precision) (bn: BatchNorm) (x: Matrix<float>) : Matrix<float> * NormalizationMemory =
        let n, w = x.RowCount, x.ColumnCount
        let mean = Vector<float>.Build.Dense(w, fun j -> let mutable s = 0.0 in (for i in 0 .. n - 1 do s <- s + x.[i, j]); s / float n)
        let var = Vector<float>.Build.Dense(w, fun j -> let mutable s = 0.0 in (for i in 0 .. n - 1 do let d = x.[i, j] - mean.[j] in s <- s + d * d); s / float n)
        let r = Vector<float>.Build.Dense(w, fun j -> 1.0 / sqrt (var.[j] + bn.Epsilon))
        let xhat = Matrix<float>.Build.Dense(n, w, fun i j -> (x.[i, j] - mean.[j]) * r.[j]) |> Precision.roundMatrix p
        Normalize.affine p bn.Scale bn.Shift xhat,
        { Normalized = xhat; InverseStd = Precision.roundVector p r; Mean = Precision.roundVector p mean; Variance = Precision.roundVector p var }

    /// Inference mode: X normalised by the running statistics.
    let forwardInference (p: Precision) (bn: BatchNorm) (x: Matrix<float>) : Matrix<float> * NormalizationMemory =
        let w = x.ColumnCount
        let r = Vector<float>.Build.Dense(w, fun j -> 1.0 / sqrt (bn.RunningVariance.[j] + bn.Epsilon))
        let xhat = Matrix<float>.Build.Dense(x.RowCount, w, fun i j -> (x.[i, j] - bn.RunningMean.[j]) * r.[j]) |> Precision.roundMatrix p
        let empty = Vector<float>.Build.Dense 0
        Normalize.affine p bn.Scale bn.Shift xhat, { Normalized = xhat; InverseStd = Precision.roundVector p r; Mean = empty; Variance = empty }

    /// The backward rule: (dgamma, dbeta, dX). Training mode (the batch's statistics depend on X):
    /// H = G o gamma, dX_ij = r_j / n (n H_ij - sum_k H_kj - Xhat_ij sum_k H_kj Xhat_kj);
    /// inference mode (the running statistics are constants): dX = G o gamma r.
    let backward (p: Precision) (training: bool) (bn: BatchNorm) (memory: NormalizationMemory) (g: Matrix<float>) =
        let xhat, r = memory.Normalized, memory.InverseStd
        let n, w = g.RowCount, g.ColumnCount
        let dScale, dShift = Normalize.affineGradient p xhat g
        let dx =
            if training then
                let sumH = Array.init w (fun j -> let mutable s = 0.0 in (for i in 0 .. n - 1 do s <- s + g.[i, j] * bn.Scale.[j]); s)
                let sumHX = Array.init w (fun j -> let mutable s = 0.0 in (for i in 0 .. n - 1 do s <- s + g.[i, j] * bn.Scale.[j] * xhat.[i, j]); s)
                Matrix<float>.Build.Dense(n, w, fun i j -> r.[j] / float n * (float n * g.[i, j] * bn.Scale.[j] - sumH.[j] - xhat.[i, j] * sumHX.[j]))
            else Matrix<float>.Build.Dense(n, w, fun i j -> g.[i, j] * bn.Scale.[j] * r.[j])
        dScale, dShift, Precision.roundMatrix p dx

    /// The block after a training step on a batch of n rows: its running statistics moved towards
    /// the batch's (RunningVariance with the unbiased variance var n / (n - 1)); gamma and beta kept.
    let updateRunning (p: Precision) (bn: BatchNorm) (memory: NormalizationMemory) (n: int) : BatchNorm =
        let m = bn.Momentum
        let unbiased = float n / float (n - 1)
        { bn with
            RunningMean = Vector<float>.Build.Dense(bn.Width, fun j -> (1.0 - m) * bn.RunningMean.[j] + m * memory.Mean.[j]) |> Precision.roundVector p
            RunningVariance = Vector<float>.Build.Dense(bn.Width, fun j -> (1.0 - m) * bn.RunningVariance.[j] + m * memory.Variance.[j] * unbiased) |> Precision.roundVector p }

/// Layer normalisation: construction and its forward and backward rules (see `LayerNorm`).
module LayerNorm =

    /// A layer normalisation of `width` features with PyTorch's start: gamma = 1, beta = 0, eps 1e-5.
    let create (width: int) : LayerNorm =
        Check.positiveInt "width" width
        { Scale = Vector<float>.Build.Dense(width, 1.0); Shift = Vector<float>.Build.Dense width; Epsilon = 1e-5 }

    /// Raises ArgumentException for vectors of different lengths (or an empty scale), a non-finite
    /// value or an epsilon that is not positive and finite. `createWith` checks with it;
    /// `Block.checkValues` checks a block written as a record with it, without copying.
    let checkValues (scale: Vector<float>) (shift: Vector<float>) (epsilon: float) =
        Check.notNull "scale" scale
        if scale.Count = 0 then Check.fail "scale" "scale is empty; a normalisation needs at least one feature."
        for name, v in [ "scale", scale; "shift", shift ] do
            Check.notNull name v
            if v.Count <> scale.Count then
                Check.fail name (sprintf "%s has length %d but scale has length %d; every vector needs one entry per feature." name v.Count scale.Count)
            Check.finite2D name 1 v.Count (fun _ j -> v.[j])
        BatchNorm.checkSettings 0.0 epsilon

    /// A layer normalisation from its values (copied); raises ArgumentException for vectors of
    /// different lengths, a non-finite value or an epsilon that is not positive and finite
    /// (`checkValues`).
    let createWith (scale: Vector<float>) (shift: Vector<float>) (epsilon: float) : LayerNorm =
        checkValues scale shift epsilon
        { Scale = scale.Clone(); Shift = shift.Clone(); Epsilon = epsilon }

    /// Y and what the backward pass needs (the same in both modes).
    let forward (p: Precision) (ln: LayerNorm) (x: Matrix<float>) : Matrix<float> * NormalizationMemory =
        let n, w = x.RowCount, x.ColumnCount
        let mean = Array.init n (fun i -> let mutable s = 0.0 in (for j in 0 .. w - 1 do s <- s + x.[i, j]); s / float w)
        let r =
            Vector<float>.Build.Dense(n, fun i ->
                let mutable s = 0.0
                for j in 0 .. w - 1 do
                    let d = x.[i, j] - mean.[i]
                    s <- s + d * d
                1.0 / sqrt (s / float w + ln.Epsilon))
        let xhat = Matrix<float>.Build.Dense(n, w, fun i j -> (x.[i, j] - mean.[i]) * r.[i]) |> Precision.roundMatrix p
        let empty = Vector<float>.Build.Dense 0
        Normalize.affine p ln.Scale ln.Shift xhat, { Normalized = xhat; InverseStd = Precision.roundVector p r; Mean = empty; Variance = empty }

    /// The backward rule: (dgamma, dbeta, dX) with H = G o gamma and
    /// dX_ij = r_i / w (w H_ij - sum_k H_ik - Xhat_ij sum_k H_ik Xhat_ik).
    let backward (p: Precision) (ln: LayerNorm) (memory: NormalizationMemory) (g: Matrix<float>) =
        let xhat, r = memory.Normalized, memory.InverseStd
        let n, w = g.RowCount, g.ColumnCount
        let dScale, dShift = Normalize.affineGradient p xhat g
        let sumH = Array.init n (fun i -> let mutable s = 0.0 in (for j in 0 .. w - 1 do s <- s + g.[i, j] * ln.Scale.[j]); s)
        let sumHX = Array.init n (fun i -> let mutable s = 0.0 in (for j in 0 .. w - 1 do s <- s + g.[i, j] * ln.Scale.[j] * xhat.[i, j]); s)
        let dx = Matrix<float>.Build.Dense(n, w, fun i j -> r.[i] / float w * (float w * g.[i, j] * ln.Scale.[j] - sumH.[i] - xhat.[i, j] * sumHX.[i]))
        dScale, dShift, Precision.roundMatrix p dx
