namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN.Linear

/// Permutation importance: how much a score drops when one column's values are shuffled
/// across the rows (Breiman, 2001; scikit-learn's permutation_importance).
type PermutationImportance =
    { /// The columns' names.
      Names: string[]
      /// The scorer's name ("accuracy", "r2" or a given one).
      Scorer: string
      /// The score on the data as they are.
      BaselineScore: float
      /// Scores.[c].[r]: the score with column c shuffled by repeat r's permutation.
      Scores: float[][]
      /// The mean over repeats of BaselineScore - Scores.[c].[r], per column.
      Means: float[]
      /// The standard deviation over repeats (population form, 1/repeats, as numpy's std) of
      /// BaselineScore - Scores.[c].[r], per column.
      StandardDeviations: float[]
      /// The number of shuffles per column.
      Repeats: int }

/// Permutation importance of networks, pipelines and linear models.
module Importance =

    /// The most shuffles per column (`repeats`) permutation importance takes: 10,000. A larger
    /// `repeats` is an ArgumentOutOfRangeException (ParamName "repeats") before any scoring: the
    /// result keeps columns x repeats scores, and each repeat scores the whole data once per column
    /// (repeats = Int32.MaxValue ran out of memory). The mean drop's standard error falls as
    /// 1/sqrt(repeats): 10,000 repeats already make it 1% of one shuffle's spread.
    [<Literal>]
    let RepeatLimit = 10000

    /// The fewest rows permutation importance takes: 2. With one row every permutation is the
    /// identity, so no shuffle changes the data and every drop is 0 whatever the model does (and
    /// R^2, the default score of values, needs two rows: it is NaN for one); fewer rows are an
    /// ArgumentException before any scoring, for every scorer.
    [<Literal>]
    let MinRows = 2

    let private rowsMessage (name: string) (rows: int) =
        sprintf "%s has %d %s, but permutation importance needs at least %d: with one row every permutation is the identity, so shuffling a column changes nothing and measures nothing (and R^2 needs two rows)."
            name rows (if rows = 1 then "row" else "rows") MinRows

    /// The shape, row count and repeats checks, without the values' finiteness: a pipeline's raw
    /// features hold NaN where a cell is missing, and the pipeline itself judges them.
    let private checkCounts (x: Matrix<float>) (repeats: int) =
        Mat.checkShape "x" x
        if x.RowCount < MinRows then Check.fail "x" (rowsMessage "x" x.RowCount)
        if repeats < 1 then Check.fail "repeats" (sprintf "repeats must be at least 1, but is %d." repeats)
        if repeats > RepeatLimit then
            raise (ArgumentOutOfRangeException("repeats", sprintf "repeats is %d, above the limit of %d shuffles per column." repeats RepeatLimit))

    let private check (x: Matrix<float>) (repeats: int) =
        Mat.checkShape "x" x
        Mat.checkFinite "x" x
        checkCounts x repeats

    // withPermutations without the checks of x and repeats (its callers make them). `given`: the
    // score is the caller's, whose every value is checked to be finite (ParamName "score"); the
    // default scores (accuracy, and R^2 on the two or more rows `check` asks for) are finite.
    let private shuffled (given: bool) (scorer: string) (score: Matrix<float> -> float) (map: FeatureMap) (x: Matrix<float>) (repeats: int)
                         (permutationOf: int -> int -> int[]) : PermutationImportance =
        Check.notNull "score" (box score)
        Check.notNull "map" (box map)
        if map.ColumnOf.Length <> x.ColumnCount then
            Check.fail "map" (sprintf "The column table has %d inputs but x has shape %s." map.ColumnOf.Length (Mat.shapeOf x))
        let n, d = x.RowCount, x.ColumnCount
        // A NaN or infinite score would make every drop, mean and deviation NaN or infinite.
        let checkScore (s: float) (where: unit -> string) =
            if given && not (Double.IsFinite s) then
                Check.fail "score" (sprintf "score ('%s') gave %s %s; every score must be a finite number." scorer (string s) (where ()))
            s
        let baseline = checkScore (score x) (fun () -> "for the data as given (the baseline)")
        // The data once as a column-major array; each shuffle is a copy with the column's inputs
        // gathered by the permutation, handed to the score as a new matrix.
        let xa = x.ToColumnMajorArray()
        let seen = Array.zeroCreate<bool> n
        let isPermutation (perm: int[]) =
            if isNull perm || perm.Length <> n then false
            else
                Array.fill seen 0 n false
                let mutable ok = true
                for p in perm do
                    if p < 0 || p >= n || seen.[p] then ok <- false else seen.[p] <- true
                ok
        let scores =
            Array.init map.Columns.Length (fun c ->
                let inputs = FeatureMap.inputsOf map c
                Array.init repeats (fun r ->
                    let perm = permutationOf c r
                    if not (isPermutation perm) then
                        Check.fail "permutationOf" (sprintf "The permutation for column %d, repeat %d is not a permutation of 0 .. %d." c r (n - 1))
                    let a = Array.copy xa
                    for j in inputs do
                        let o = j * n
                        for i in 0 .. n - 1 do a.[o + i] <- xa.[o + perm.[i]]
                    checkScore (score (Matrix<float>.Build.Dense(n, d, a)))
                        (fun () -> sprintf "with column %d ('%s') shuffled by repeat %d (of 0 .. %d)" c map.Columns.[c] r (repeats - 1))))
        let drops = scores |> Array.map (Array.map (fun s -> baseline - s))
        let mean (d: float[]) = Array.average d
        let sd (d: float[]) = let m = mean d in sqrt (d |> Array.averageBy (fun v -> (v - m) * (v - m)))
        { Names = Array.copy map.Columns; Scorer = scorer; BaselineScore = baseline; Scores = scores
          Means = drops |> Array.map mean; StandardDeviations = drops |> Array.map sd; Repeats = repeats }

    /// Permutation importance with given permutations: for each column c of `map` (all its inputs
    /// together) and repeat r, the rows of those inputs are taken in the order `permutationOf c r`
    /// (row i gets row perm.[i]'s values) and the data are scored with `score`. For comparing with
    /// another implementation given the same permutations; `permutation` draws them from a seed.
    /// A score that is NaN or infinite, for the data as given or a shuffled copy, raises
    /// ArgumentException (ParamName "score", naming the column and the repeat).
    let withPermutations (scorer: string) (score: Matrix<float> -> float) (map: FeatureMap) (x: Matrix<float>) (repeats: int)
                         (permutationOf: int -> int -> int[]) : PermutationImportance =
        Check.notNull "score" (box score)
        Check.notNull "map" (box map)
        check x repeats
        shuffled true scorer score map x repeats permutationOf

    /// The permutations `permutation` uses: column by column, repeat by repeat, each drawn by
    /// Rng.permutation (Fisher-Yates) from one generator created from the seed.
    /// Negative counts raise ArgumentException naming "columns", "rows" or "repeats".
    let permutationsFromSeed (columns: int) (rows: int) (repeats: int) (seed: int64) : int[][][] =
        for name, v in [ "columns", columns; "rows", rows; "repeats", repeats ] do
            if v < 0 then Check.fail name (sprintf "%s must be at least 0, but is %d." name v)
        let mutable rng = Rng.create seed
        Array.init columns (fun _ ->
            Array.init repeats (fun _ ->
                let p, next = Rng.permutation rows rng
                rng <- next
                p))

    // permutation without the checks of x and repeats (its callers make them).
    let private seeded (given: bool) (scorer: string) (score: Matrix<float> -> float) (map: FeatureMap) (x: Matrix<float>) (repeats: int) (seed: int64) =
        // shuffled asks for each permutation once, column by column and repeat by repeat:
        // the order in which permutationsFromSeed draws them, so one generator gives the same ones
        // without holding columns x repeats x rows indices at once.
        let rng = ref (Rng.create seed)
        let next = ref (0, 0)
        let draw c r =
            if (c, r) <> next.Value then invalidOp (sprintf "Importance.permutation: permutation (%d, %d) asked for out of order." c r)
            let p, g = Rng.permutation x.RowCount rng.Value
            rng.Value <- g
            next.Value <- if r + 1 < repeats then (c, r + 1) else (c + 1, 0)
            p
        shuffled given scorer score map x repeats draw

    /// Permutation importance with a given score (of the whole data x, e.g. accuracy against fixed
    /// labels), `repeats` shuffles per column drawn from `seed` with the library's Rng (the
    /// permutations of `permutationsFromSeed`, each drawn when its shuffle is scored). Raises
    /// ArgumentException naming "repeats" (below 1; ArgumentOutOfRangeException above
    /// RepeatLimit), "x", or "score" (a NaN or infinite score, for the data as given or a
    /// shuffled copy, naming the column and the repeat).
    let permutation (scorer: string) (score: Matrix<float> -> float) (map: FeatureMap) (x: Matrix<float>) (repeats: int) (seed: int64) =
        check x repeats
        Check.notNull "map" (box map)
        seeded true scorer score map x repeats seed

    /// The class of each row of scores: the argmax, or for one column class 1 when the score is
    /// positive (a logit or margin). A score that is NaN (no class), or scores with no columns,
    /// raise ArgumentException naming "scores" and the row.
    let classesOfScores (scores: Matrix<float>) : int[] =
        Check.notNull "scores" (box scores)
        if scores.ColumnCount = 1 then
            Array.init scores.RowCount (fun i ->
                let v = scores.[i, 0]
                if Double.IsNaN v then Check.fail "scores" (sprintf "scores holds NaN at row %d; a NaN score has no class." i)
                if v > 0.0 then 1 else 0)
        else Mat.argmaxRowsNamed "scores" scores

    /// The default score of a model's outputs on a target (scikit-learn's default scorers):
    /// accuracy of `classesOfScores` for classes, R^2 (averaged over the columns) for values.
    /// A model of `outputs` outputs predicts classes 0 .. outputs - 1 (the argmax), or 0 and 1 for
    /// one output (`classesOfScores` of the output minus `threshold`: 1/2 for a probability, 0
    /// for a logit or margin); labels outside them are refused, as are non-finite values. Values
    /// are scored on the predictions as they are: the threshold is the classes' only.
    let private defaultScore (predict: Matrix<float> -> Matrix<float>) (threshold: float) (outputs: int) (target: Target) (rows: int) : string * (Matrix<float> -> float) =
        match target with
        | Target.Classes (labels, _) ->
            if labels.Length <> rows then Check.fail "target" (sprintf "target has %d labels but x has %d rows." labels.Length rows)
            let highest = max 1 (outputs - 1)
            labels |> Array.iteri (fun i l ->
                if l < 0 || l > highest then
                    Check.fail "target"
                        (if outputs = 1 then sprintf "target holds the label %d at row %d, but a model with one output predicts class 0 or 1." l i
                         else sprintf "target holds the label %d at row %d, but the model has %d outputs (classes 0 .. %d)." l i outputs (outputs - 1)))
            let classes (xp: Matrix<float>) = let p = predict xp in classesOfScores (if threshold = 0.0 then p else p - threshold)
            "accuracy", (fun xp -> ClassificationMetrics.accuracy (classes xp) labels)
        | Target.Values v ->
            if v.Length <> rows then Check.fail "target" (sprintf "target has %d values but x has %d rows." v.Length rows)
            if outputs <> 1 then
                Check.fail "target" (sprintf "target holds one value per row, but the model has %d outputs; numeric targets score a model with one output (R^2), class labels any model (accuracy)." outputs)
            v |> Array.iteri (fun i value ->
                if not (Double.IsFinite value) then Check.fail "target" (sprintf "target holds %g at row %d; every value must be finite." value i))
            let y = Matrix<float>.Build.Dense(v.Length, 1, fun i _ -> v.[i])
            "r2", (fun xp -> RegressionMetrics.r2 (predict xp) y)

    /// A data set of fewer than MinRows rows is refused naming "data" (see MinRows).
    let private checkDataRows (data: Dataset) =
        if data.Features.RowCount < MinRows then Check.fail "data" (rowsMessage "data" data.Features.RowCount)

    let private namesOr (names: string[]) (width: int) =
        if isNull names || names.Length <> width then Array.init width (sprintf "x%d") else names

    /// Whether a network's one output is a probability: its last block (dropout skipped) is a
    /// dense layer or an activation with the sigmoid, so class 1 is an output above 1/2.
    let private sigmoidOutput (net: Network) =
        net.OutputSize = 1 &&
            match net.Blocks |> List.filter (function Block.Dropout _ -> false | _ -> true) |> List.tryLast with
            | Some (Block.Dense d) -> d.Activation = Activation.Sigmoid
            | Some (Block.Activation a) -> a = Activation.Sigmoid
            | _ -> false

    /// A network's permutation importance on (x, target): accuracy for classes (argmax of the
    /// outputs; for one output, class 1 above 1/2 when it is a sigmoid, else above 0), R^2 for
    /// values (of the outputs as they are, a sigmoid's too).
    /// `names` are the inputs' names (null, or not one per input: x0, x1, ...); a null entry raises
    /// ArgumentException (ParamName "names", naming its index).
    let ofNetwork (net: Network) (names: string[]) (x: Matrix<float>) (target: Target) (repeats: int) (seed: int64) =
        Network.checkInput net "x" x
        check x repeats
        // A sigmoid output is a probability: class 1 above 1/2 (a logit's above 0). Values are
        // scored on the output itself (a sigmoid output shifted by 1/2 gave R^2 of -12 for a
        // network scored on its own predictions).
        let threshold = if sigmoidOutput net then 0.5 else 0.0
        let scorer, score = defaultScore (Network.predict net) threshold net.OutputSize target x.RowCount
        seeded false scorer score (FeatureMap.identity (namesOr names x.ColumnCount)) x repeats seed

    /// A linear model's permutation importance on (x, target): accuracy for classes (one output:
    /// class 1 when x w + b > 0), R^2 for values.
    let ofLinearModel (model: LinearModel) (x: Matrix<float>) (target: Target) (repeats: int) (seed: int64) =
        LinearModel.checkInput model "x" x
        check x repeats
        let scorer, score = defaultScore (LinearModel.predict model) 0.0 model.OutputSize target x.RowCount
        seeded false scorer score (FeatureMap.identity (namesOr model.FeatureNames x.ColumnCount)) x repeats seed

    /// A pipeline's permutation importance on a labelled data set, per original column: accuracy
    /// for a classifier (the data's classes must be the model's), R^2 in the target's units for a
    /// regressor. The rows are shuffled raw (a text column is one column of category codes), so a
    /// one-hot encoded column's inputs move together, as one column. A missing cell (NaN in the raw
    /// features) is taken when the pipeline fills missing values (a shuffled column carries it
    /// along, and the pipeline fills it where it lands); values the pipeline refuses (a missing
    /// cell it does not fill, an infinity, an unseen category it does not encode) are refused, before
    /// any shuffle, with the pipeline's own errors (Pipeline.outputs, ParamName "x"). A shuffle makes
    /// new rows of the same cells, so a row whose network output is not finite (cells that overflow
    /// together) can still arise during the shuffles, and raises the same error for that shuffled row.
    let ofPipeline (pipeline: Pipeline) (data: Dataset) (repeats: int) (seed: int64) =
        Check.notNull "pipeline" (box pipeline)
        Check.notNull "data" (box data)
        checkDataRows data
        Pipeline.checkTargetValues pipeline data
        let x = Pipeline.featuresOf pipeline data
        checkCounts x repeats
        // The pipeline's own checks of its raw features, once: a shuffle moves a column's values
        // between rows but changes none, so every shuffled copy passes the checks of single cells
        // too (not the network output's, which depends on how a row's cells combine).
        Pipeline.outputs pipeline x |> ignore
        let scorer, score =
            match data.Target with
            | Target.Classes (labels, names) ->
                if not pipeline.IsClassifier then Check.fail "data" "The model is a regressor but the data's target holds classes."
                if names <> pipeline.ClassNames then
                    Check.fail "data" (sprintf "The data's classes (%s) are not the model's (%s); load the data with the model's class names." (String.Join(", ", names)) (String.Join(", ", pipeline.ClassNames)))
                "accuracy", (fun xp -> ClassificationMetrics.accuracy (Pipeline.predictClasses pipeline xp) labels)
            | Target.Values v ->
                if pipeline.IsClassifier then Check.fail "data" "The model is a classifier but the data's target is numeric."
                let y = Matrix<float>.Build.Dense(v.Length, 1, fun i _ -> v.[i])
                "r2", (fun xp -> RegressionMetrics.r2 (Pipeline.predictValues pipeline xp) y)
        seeded false scorer score (FeatureMap.identity pipeline.FeatureNames) x repeats seed

    /// A pipeline's permutation importance with a given score of its raw features (NaN where a
    /// cell is missing). The raw features are checked as `ofPipeline` checks them: missing cells
    /// pass when the pipeline fills them, and what the pipeline refuses is refused with its own
    /// errors (Pipeline.outputs, ParamName "x") before the score is called (a shuffled row whose
    /// network output is not finite raises during the shuffles: see `ofPipeline`). A score that is
    /// NaN or infinite, for the data as given or a shuffled copy, raises ArgumentException
    /// (ParamName "score", naming the column and the repeat).
    let ofPipelineWith (scorer: string) (score: Matrix<float> -> float) (pipeline: Pipeline) (data: Dataset) (repeats: int) (seed: int64) =
        Check.notNull "pipeline" (box pipeline)
        Check.notNull "data" (box data)
        checkDataRows data
        let x = Pipeline.featuresOf pipeline data
        checkCounts x repeats
        Pipeline.outputs pipeline x |> ignore
        seeded true scorer score (FeatureMap.identity pipeline.FeatureNames) x repeats seed
