namespace Functional.NN

open System
open System.Threading
open MathNet.Numerics.LinearAlgebra

/// A single-row predictor of a pipeline (`PipelinePredictor.create`): the row's features scaled as
/// the pipeline scales them, the network through its single-sample predictor (the kernels under
/// Backend.Auto), and a classifier's class probabilities as `Pipeline.probabilities` computes them
/// or a regressor's value in the target's units as `Pipeline.predictValues` does. It keeps
/// its own buffers and copies, so the pipeline is not changed; thread-safe (calls are serialised by
/// a lock). For a pipeline without text columns or imputation, on the kernels backend (the default),
/// the span overloads allocate nothing;
/// with them, each row goes through `Pipeline.outputs` (a text column's cell is then a category
/// index, -1 unseen, NaN missing, as `Pipeline.outputs` reads it).
[<Sealed>]
type PipelinePredictor internal (pipeline: Pipeline, backend: Backend) =
    let network = Network.predictorWith backend pipeline.Network
    let width = pipeline.FeatureNames.Length
    let direct = pipeline.Preprocessor.IsIdentity
    let offset : float[] = Array.copy pipeline.Scaler.Offset
    let scale : float[] = Array.copy pipeline.Scaler.Scale
    let scaled = Array.zeroCreate<float> network.InputSize
    let raw = Array.zeroCreate<float> network.OutputSize
    // The largest scaled value the network takes: float32's for a Float32 network.
    let limit = if pipeline.Network.Precision = Precision.Float32 then float Single.MaxValue else Double.MaxValue
    let gate = obj ()
    let softmaxed = pipeline.Loss = Loss.SoftmaxCrossEntropy && network.OutputSize > 1
    let binary = network.OutputSize = 1 && (pipeline.Loss = Loss.BinaryCrossEntropy || pipeline.Loss = Loss.BinaryCrossEntropyWithLogits)

    /// The network's outputs for the row into `raw` (the caller holds the lock).
    member private _.Outputs(row: ReadOnlySpan<float>) =
        if row.Length <> width then
            Check.fail "row" (sprintf "row has %d values, but the pipeline reads %d features (%s)." row.Length width (String.Join(", ", pipeline.FeatureNames)))
        if direct then
            for j in 0 .. width - 1 do
                let v = (row.[j] - offset.[j]) / scale.[j]
                if not (abs v <= limit) then
                    if not (Double.IsFinite row.[j]) then Check.fail "row" (sprintf "row holds %s at index %d (%s); every value must be finite." (string row.[j]) j pipeline.FeatureNames.[j])
                    let range = if Double.IsFinite v then ", beyond the range of float32 (about 3.4e38), the network's precision" else ""
                    Check.fail "row" (sprintf "row at index %d (%s) is %s, which the model's scaler (offset %s, scale %s) turns into %s%s: the value is far outside the range of the training data." j pipeline.FeatureNames.[j] (string row.[j]) (string offset.[j]) (string scale.[j]) (string v) range)
                scaled.[j] <- v
            network.Predict(ReadOnlySpan scaled, Span raw)
        else
            let x = Matrix<float>.Build.Dense(1, width)
            for j in 0 .. width - 1 do x.[0, j] <- row.[j]
            let out =
                try Pipeline.outputs pipeline x
                with :? ArgumentException as e when e.ParamName = "x" ->
                    // Pipeline.outputs speaks of row index 0 of a batch x; this is the caller's row.
                    Check.fail "row" (Pipeline.oneRowMessage "row" "index" e)
            for k in 0 .. raw.Length - 1 do raw.[k] <- out.[0, k]

    /// The backend of the network's predictor.
    member _.Backend = network.Backend
    /// The number of raw features a row has.
    member _.InputSize = width
    /// The number of classes of a classifier (0 for a regressor).
    member _.ClassCount = pipeline.ClassNames.Length
    /// The number of network outputs (logits, probabilities or scaled values).
    member _.OutputSize = raw.Length

    /// Writes the network's raw outputs (logits, probabilities or scaled values) for one row of
    /// raw features into `output` (OutputSize values), as `Pipeline.outputs` on a one-row matrix (to
    /// rounding on the kernels backend: the single-row products add in another order).
    member this.Predict(row: ReadOnlySpan<float>, output: Span<float>) =
        if output.Length <> raw.Length then
            Check.fail "output" (sprintf "output has %d values, but the network has %d outputs." output.Length raw.Length)
        Monitor.Enter gate
        try
            this.Outputs row
            ReadOnlySpan(raw).CopyTo(output)
        finally Monitor.Exit gate

    /// Writes a classifier's class probabilities for one row into `probabilities` (ClassCount
    /// values), as `Pipeline.probabilities` on a one-row matrix (softmax of the logits for softmax
    /// cross-entropy, [1 - p, p] for one binary output). Raises InvalidOperationException for a
    /// regressor or a loss without probabilities.
    member this.PredictProbabilities(row: ReadOnlySpan<float>, probabilities: Span<float>) =
        if not pipeline.IsClassifier then invalidOp "This pipeline is a regressor; it has no class probabilities (use PredictValue)."
        if not (softmaxed || binary) then invalidOp (sprintf "This classifier's loss (%s) gives no probabilities; use Predict for its outputs." (Loss.caseName pipeline.Loss))
        if probabilities.Length <> pipeline.ClassNames.Length then
            Check.fail "probabilities" (sprintf "probabilities has %d values, but the pipeline has %d classes." probabilities.Length pipeline.ClassNames.Length)
        Monitor.Enter gate
        try
            this.Outputs row
            if softmaxed then
                // Loss.softmax's order: the maximum, e^(z - max) summed left to right, each divided by the sum.
                let mutable m = Double.NegativeInfinity
                for k in 0 .. raw.Length - 1 do m <- max m raw.[k]
                let mutable s = 0.0
                for k in 0 .. raw.Length - 1 do
                    let e = exp (raw.[k] - m)
                    probabilities.[k] <- e
                    s <- s + e
                for k in 0 .. raw.Length - 1 do probabilities.[k] <- probabilities.[k] / s
            else
                let p = if pipeline.Loss = Loss.BinaryCrossEntropy then min 1.0 (max 0.0 raw.[0]) else Activation.sigmoid raw.[0]
                probabilities.[0] <- 1.0 - p
                probabilities.[1] <- p
        finally Monitor.Exit gate

    /// A classifier's class probabilities for one row, as a new array.
    member this.PredictProbabilities(row: float[]) : float[] =
        Check.notNull "row" row
        let p = Array.zeroCreate pipeline.ClassNames.Length
        this.PredictProbabilities(ReadOnlySpan row, Span p)
        p

    /// A classifier's predicted class index for one row (as `Pipeline.predictClasses`).
    member this.PredictClass(row: ReadOnlySpan<float>) : int =
        if not pipeline.IsClassifier then invalidOp "This pipeline is a regressor; use PredictValue."
        Monitor.Enter gate
        try
            this.Outputs row
            if raw.Length = 1 then
                let threshold = if pipeline.Loss = Loss.BinaryCrossEntropy then 0.5 else 0.0
                if raw.[0] > threshold then 1 else 0
            else
                let mutable best = 0
                for k in 1 .. raw.Length - 1 do
                    if raw.[k] > raw.[best] then best <- k
                best
        finally Monitor.Exit gate

    /// A regressor's prediction for one row in the target's units (the network's output through
    /// the target scaler's inverse), as `Pipeline.predictValues` on a one-row matrix. Raises
    /// InvalidOperationException for a classifier.
    member this.PredictValue(row: ReadOnlySpan<float>) : float =
        if pipeline.IsClassifier then invalidOp "This pipeline is a classifier; use PredictClass."
        Monitor.Enter gate
        try
            this.Outputs row
            Scaler.inverseValue pipeline.TargetScaler 0 raw.[0]
        finally Monitor.Exit gate

/// Making single-row predictors of pipelines.
[<RequireQualifiedAccess>]
module PipelinePredictor =

    /// A single-row predictor of the pipeline on the given backend.
    let createWith (backend: Backend) (pipeline: Pipeline) : PipelinePredictor =
        Check.notNull "pipeline" (box pipeline)
        PipelinePredictor(pipeline, backend)

    /// A single-row predictor of the pipeline (`createWith Backend.Auto`).
    let create (pipeline: Pipeline) : PipelinePredictor = createWith Backend.Auto pipeline
