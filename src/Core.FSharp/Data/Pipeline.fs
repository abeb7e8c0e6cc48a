namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// A trained model with everything needed to use it on raw data: the feature columns it reads,
/// the scaler fitted on its training data, the network, the loss it was trained with (which
/// says how to read the outputs) and the target: class names for a classifier (the network
/// has one output per class, or one output for two classes with a binary cross-entropy loss),
/// none for a regressor (whose outputs are mapped back through `TargetScaler`).
type Pipeline =
    { /// The feature columns, in the order the network reads them.
      FeatureNames: string[]
      /// Fitted on the training rows; applied to every input first.
      Scaler: Scaler
      /// The network, on scaled inputs.
      Network: Network
      /// The loss it was trained with.
      Loss: Loss
      /// The target column's name.
      TargetName: string
      /// The classes in index order; empty for a regressor.
      ClassNames: string[]
      /// For a regressor, maps the network's outputs back to the target's units (inverse
      /// transform); the identity of width 0 for a classifier.
      TargetScaler: Scaler
      /// Fitted on the training rows and applied first: fills missing values and one-hot
      /// encodes text columns (the identity for numeric data without imputation).
      Preprocessor: Preprocessor }
    /// True for a classifier (it has class names).
    member this.IsClassifier = this.ClassNames.Length > 0

/// What `Pipeline.evaluate` measured.
[<RequireQualifiedAccess>]
type Evaluation =
    /// A classifier's scores.
    | Classification of ClassificationReport
    /// A regressor's scores.
    | Regression of RegressionReport

/// Building, checking and applying pipelines.
module Pipeline =

    /// True when a classifier with this loss has one output for two classes (binary cross-entropy).
    let private isBinaryOutput (loss: Loss) (net: Network) =
        net.OutputSize = 1 && (loss = Loss.BinaryCrossEntropy || loss = Loss.BinaryCrossEntropyWithLogits)

    /// A pipeline from its parts, checked: the preprocessor reads one column per feature name
    /// and its output width is the scaler's and the network's input width; a classifier has one
    /// output per class (or one output for two classes with binary cross-entropy); a
    /// regressor's target scaler fits the network's outputs.
    let createWith (preprocessor: Preprocessor) (featureNames: string[]) (scaler: Scaler) (network: Network) (loss: Loss) (targetName: string)
                   (classNames: string[]) (targetScaler: Scaler) : Pipeline =
        Check.notNull "preprocessor" (box preprocessor)
        Check.notNull "featureNames" featureNames
        Check.notNull "scaler" (box scaler)
        Check.notNull "network" (box network)
        Check.notNull "classNames" classNames
        Check.notNull "targetScaler" (box targetScaler)
        let targetName = if isNull targetName then "" else targetName
        if preprocessor.Width <> featureNames.Length then
            Check.fail "preprocessor" (sprintf "The preprocessor reads %d columns but there are %d feature names." preprocessor.Width featureNames.Length)
        if preprocessor.OutputWidth <> network.InputSize then
            if preprocessor.IsIdentity then
                Check.fail "featureNames" (sprintf "featureNames holds %s but the network takes %s." (Check.counted featureNames.Length "name" "names") (Check.counted network.InputSize "input" "inputs"))
            else Check.fail "preprocessor" (sprintf "The preprocessor gives %d columns (text columns one-hot) but the network takes %d inputs." preprocessor.OutputWidth network.InputSize)
        if scaler.Width <> network.InputSize then
            Check.fail "scaler" (sprintf "The scaler has %d columns but the network takes %d inputs." scaler.Width network.InputSize)
        Check.distinctNames "featureNames" featureNames
        if classNames.Length > 0 then
            Check.distinctNames "classNames" classNames
            let ok = network.OutputSize = classNames.Length || (classNames.Length = 2 && isBinaryOutput loss network)
            if not ok then
                Check.fail "classNames" (sprintf "There %s %s but the network has %s; a classifier needs one output per class (or one output for two classes with binary cross-entropy)." (if classNames.Length = 1 then "is" else "are") (Check.counted classNames.Length "class" "classes") (Check.counted network.OutputSize "output" "outputs"))
            if targetScaler.Width <> 0 then
                Check.fail "targetScaler" "A classifier's target scaler must have width 0."
        elif targetScaler.Width <> network.OutputSize then
            Check.fail "targetScaler" (sprintf "The target scaler has %d columns but the network has %d outputs." targetScaler.Width network.OutputSize)
        { FeatureNames = Array.copy featureNames; Scaler = scaler; Network = network; Loss = loss
          TargetName = targetName; ClassNames = Array.copy classNames; TargetScaler = targetScaler; Preprocessor = preprocessor }

    /// A pipeline of numeric features without imputation (`createWith` and the identity preprocessor).
    let create (featureNames: string[]) (scaler: Scaler) (network: Network) (loss: Loss) (targetName: string)
               (classNames: string[]) (targetScaler: Scaler) : Pipeline =
        Check.notNull "featureNames" featureNames
        createWith (Preprocessor.identity featureNames.Length) featureNames scaler network loss targetName classNames targetScaler

    /// A copy whose unseen text categories are an error (Error) or all zeros (Zeros).
    let withUnknownCategory (unknown: UnknownCategory) (pipeline: Pipeline) : Pipeline =
        { pipeline with Preprocessor = Preprocessor.withUnknown unknown pipeline.Preprocessor }

    /// The message of an error about a one-row batch x ("x at row index 0, column j ...", "x holds ...")
    /// said of the caller's single row `name`, whose cells are called by `column` ("column", "index").
    let internal oneRowMessage (name: string) (column: string) (e: ArgumentException) =
        e.Message.Replace(" (Parameter 'x')", "").Replace("x at row index 0, column", sprintf "%s at %s" name column)
            .Replace("x holds", sprintf "%s holds" name).Replace(" at row index 0, column", sprintf " at %s" column)

    /// Raises ArgumentException (ParamName `name`) when a scaled value (`scaled`, the scaler's
    /// output for `encoded`, the preprocessor's encoding of the raw rows `raw`) is not finite, or
    /// lies beyond float32's range (|v| > 3.4e38) for a Float32 network: the message quotes the
    /// cell as given in `raw` (its row, its column among the raw columns and its name; a missing
    /// cell as missing and the value it was filled with), the scaler's offset and scale, and the
    /// scaled value. One raw row named other than "x" (an explained row) is quoted by column only.
    let internal checkScaled (pipeline: Pipeline) (name: string) (raw: Matrix<float>) (encoded: Matrix<float>) (scaled: Matrix<float>) =
        let limit = if pipeline.Network.Precision = Precision.Float32 then float Single.MaxValue else Double.MaxValue
        let mutable ok = true
        for i in 0 .. scaled.RowCount - 1 do
            for j in 0 .. scaled.ColumnCount - 1 do
                if not (abs scaled.[i, j] <= limit) then ok <- false
        if not ok then
            // The raw column of each encoded column: a text column spans its categories' one-hot inputs.
            let rawColumn =
                [| for c in 0 .. pipeline.Preprocessor.Categories.Length - 1 do
                     for _ in 1 .. max 1 pipeline.Preprocessor.Categories.[c].Length -> c |]
            for i in 0 .. scaled.RowCount - 1 do
                for j in 0 .. scaled.ColumnCount - 1 do
                    let v = scaled.[i, j]
                    if not (abs v <= limit) then
                        let c = rawColumn.[j]
                        let where =
                            if raw.RowCount = 1 && name <> "x" then sprintf "%s at column %d (%s)" name c pipeline.FeatureNames.[c]
                            else sprintf "%s at row index %d, column %d (%s)" name i c pipeline.FeatureNames.[c]
                        let categories = pipeline.Preprocessor.Categories.[c]
                        let category (index: float) =
                            if index >= 0.0 && index < float categories.Length then sprintf "'%s'" categories.[int index] else "unseen"
                        let given =
                            if categories.Length > 0 then
                                // A text column: the scaled value is one of its one-hot inputs.
                                let input = (Preprocessor.outputNames pipeline.Preprocessor pipeline.FeatureNames).[j]
                                let cell =
                                    if Double.IsNaN raw.[i, c] then sprintf "is missing, filled with category %s" (category pipeline.Preprocessor.Fill.[c])
                                    else sprintf "is category %s" (category raw.[i, c])
                                sprintf "%s; its one-hot input %s is %s," cell input (string encoded.[i, j])
                            elif Double.IsNaN raw.[i, c] then sprintf "is missing, filled with %s," (string encoded.[i, j])
                            else sprintf "is %s," (string raw.[i, c])
                        let range =
                            if Double.IsFinite v then ", beyond the range of float32 (about 3.4e38), the network's precision"
                            else ""
                        Check.fail name (sprintf "%s %s which the model's scaler (offset %s, scale %s) turns into %s%s: the value is far outside the range of the training data." where given (string pipeline.Scaler.Offset.[j]) (string pipeline.Scaler.Scale.[j]) (string v) range)

    /// The network's raw outputs (logits, probabilities or scaled values) for raw features x
    /// (one column per feature name; a text column's cells are category indices, -1 unseen, NaN
    /// missing). Raises ArgumentException (ParamName "x") when x has the wrong width, holds an
    /// infinity or a missing value that is not imputed, or when scaling a value overflows (a
    /// value far outside the range of the training data) or, for a Float32 network, gives a
    /// value beyond float32's range (the message quotes the value given and the scaled one).
    let outputs (pipeline: Pipeline) (x: Matrix<float>) : Matrix<float> =
        Check.notNull "x" x
        let encoded = Preprocessor.transform pipeline.Preprocessor pipeline.FeatureNames x
        let scaled = Scaler.transform pipeline.Scaler encoded
        checkScaled pipeline "x" x encoded scaled
        Network.predict pipeline.Network scaled

    /// Class probabilities (n x classes) of a classifier: softmax of the logits for softmax
    /// cross-entropy, [1 - p, p] for one binary output (p = sigmoid of the logit, or the output
    /// itself for binary cross-entropy on probabilities). None for other losses and for regressors.
    let probabilities (pipeline: Pipeline) (x: Matrix<float>) : Matrix<float> option =
        if not pipeline.IsClassifier then None
        else
            let out = outputs pipeline x
            let binary (p: int -> float) = Some (Mat.init out.RowCount 2 (fun i j -> if j = 1 then p i else 1.0 - p i))
            match pipeline.Loss with
            | Loss.SoftmaxCrossEntropy when out.ColumnCount > 1 -> Some (Loss.softmax out)
            | Loss.BinaryCrossEntropyWithLogits when out.ColumnCount = 1 -> binary (fun i -> Activation.sigmoid out.[i, 0])
            | Loss.BinaryCrossEntropy when out.ColumnCount = 1 -> binary (fun i -> min 1.0 (max 0.0 out.[i, 0]))
            | _ -> None

    /// The predicted class index of each row of raw features (argmax of the outputs; for one
    /// binary output, class 1 when the logit is positive or the probability above 1/2).
    let predictClasses (pipeline: Pipeline) (x: Matrix<float>) : int[] =
        if not pipeline.IsClassifier then invalidOp "This pipeline is a regressor; use predictValues."
        let out = outputs pipeline x
        if out.ColumnCount = 1 then
            let threshold = if pipeline.Loss = Loss.BinaryCrossEntropy then 0.5 else 0.0
            Array.init out.RowCount (fun i -> if out.[i, 0] > threshold then 1 else 0)
        else Mat.argmaxRows out

    /// The predicted values (n x outputs) of a regressor, in the target's units.
    let predictValues (pipeline: Pipeline) (x: Matrix<float>) : Matrix<float> =
        if pipeline.IsClassifier then invalidOp "This pipeline is a classifier; use predictClasses."
        Scaler.inverse pipeline.TargetScaler (outputs pipeline x)

    /// The pipeline's raw features taken from a data set by name (so the columns may be in any
    /// order); text columns as indices into the pipeline's categories (see Preprocessor.rawFeatures).
    let featuresOf (pipeline: Pipeline) (data: Dataset) : Matrix<float> =
        Preprocessor.rawFeatures pipeline.Preprocessor pipeline.FeatureNames data

    /// A copy of a data set whose text columns list the pipeline's categories first, in its order,
    /// so that its `Features` hold the codes the pipeline's array methods read (see
    /// Preprocessor.alignCategories); what the data set's rows mean is unchanged.
    let alignCategories (pipeline: Pipeline) (data: Dataset) : Dataset =
        Preprocessor.alignCategories pipeline.Preprocessor pipeline.FeatureNames data

    /// The options that read a CSV file's columns for the pipeline, from the file's format (its
    /// separator, quote, header, missing-value markers and policy, and text columns of its own; its
    /// target and feature settings are replaced): the pipeline's feature columns, its text columns
    /// read as text, its target (with its classes for a classifier) when the file has it, missing
    /// feature cells kept for its imputer when it has one and the format makes them an error, and
    /// the format's markers less any that spells one of the pipeline's categories (such a cell is
    /// that category, as when the pipeline was trained).
    let csvOptions (pipeline: Pipeline) (format: CsvOptions) : CsvOptions =
        Check.notNull "pipeline" (box pipeline)
        Check.notNull "format" (box format)
        let textColumns = pipeline.FeatureNames |> Array.indexed |> Array.filter (fun (k, _) -> k < pipeline.Preprocessor.Width && pipeline.Preprocessor.Categories.[k].Length > 0) |> Array.map snd
        // A cell spelled like one of the pipeline's own categories is that category, not missing,
        // whatever the markers (which ignore case and surrounding spaces): a model trained when
        // such a spelling was no marker (or with a list without it) predicts as it was trained.
        let known =
            Collections.Generic.HashSet<string>(
                pipeline.Preprocessor.Categories |> Seq.truncate pipeline.Preprocessor.Width |> Seq.concat |> Seq.map (fun c -> c.Trim()),
                StringComparer.OrdinalIgnoreCase)
        let markers =
            if isNull format.MissingMarkers then format.MissingMarkers
            else format.MissingMarkers |> Array.filter (fun m -> isNull m || not (known.Contains(m.Trim())))
        { format with
            MissingMarkers = markers
            Target = Some pipeline.TargetName
            TargetKind = if pipeline.IsClassifier then TargetKind.Classification else TargetKind.Regression
            Features = Some (Array.copy pipeline.FeatureNames)
            ClassNames = if pipeline.IsClassifier then Some (Array.copy pipeline.ClassNames) else None
            RequireTarget = false
            TextColumns = Array.append (if isNull format.TextColumns then [||] else format.TextColumns) textColumns
            Missing = if Preprocessor.imputes pipeline.Preprocessor.Missing && format.Missing = MissingPolicy.Error then MissingPolicy.Mean else format.Missing }

    // Data read for the pipeline. A column it reads as numbers that the reader took for text (numbers quoted in every
    // cell, or a text cell only in rows the Drop policy left out, or the format's TextColumns) holds numbers again;
    // one with a cell that is not a finite number is a DataFormatException naming its line (the array methods would
    // read the text's codes as numbers). Then aligned.
    let private forPipeline (pipeline: Pipeline) (options: CsvOptions) (data: Dataset) : Dataset =
        let lookup = Dataset.columnLookup data.FeatureNames
        let mutable x = data.Features
        let mutable categories = data.Categories
        let done' = Collections.Generic.HashSet<int>()
        for k in 0 .. min pipeline.FeatureNames.Length pipeline.Preprocessor.Width - 1 do
            match lookup pipeline.FeatureNames.[k] with
            | Ok j when pipeline.Preprocessor.Categories.[k].Length = 0 && Dataset.isText data j && done'.Add j ->
                let own = Dataset.categoriesOf data j
                let column = Csv.quoteText data.FeatureNames.[j]
                if obj.ReferenceEquals(x, data.Features) then
                    x <- data.Features.Clone()
                    categories <- Array.init data.FeatureCount (Dataset.categoriesOf data)
                for i in 0 .. data.SampleCount - 1 do
                    if not (Double.IsNaN data.Features.[i, j]) then
                        let text = own.[Dataset.categoryIndex data i j]
                        match Csv.finite text with
                        | Some v -> x.[i, j] <- v
                        | None ->
                            let line = if data.Lines.Length = data.SampleCount then data.Lines.[i] else 0
                            let place = if line > 0 then sprintf "Line %d" line else sprintf "Row index %d" i
                            raise (DataFormatException(sprintf "%s, column '%s': '%s' is not a finite number, but the model reads the column as numbers%s." place column (Csv.quoteText text) (Csv.numericCellAdvice options text), line, column))
                categories.[j] <- [||]
            | _ -> ()
        let data = if obj.ReferenceEquals(x, data.Features) then data else { data with Features = x; Categories = categories }
        alignCategories pipeline data

    /// Loads a CSV file for the pipeline (`csvOptions`), with the target when the file has it, for
    /// scoring: its text columns list the pipeline's categories first (`alignCategories`), so the data
    /// set's `Features` are what the pipeline's array methods read. A column the pipeline reads as
    /// numbers is read as numbers (even quoted in every cell); a cell there that is not a finite
    /// number is a DataFormatException naming its line and the column.
    let loadCsv (pipeline: Pipeline) (format: CsvOptions) (path: string) : Dataset =
        let options = csvOptions pipeline format
        Csv.load options path |> forPipeline pipeline options

    /// `loadCsv` with the target read from the column `target` (the pipeline's own or another),
    /// which the file must have (a DataFormatException naming it otherwise). A null or blank
    /// target, or one of the pipeline's feature columns, raises ArgumentException (ParamName "target").
    let loadCsvWithTarget (pipeline: Pipeline) (target: string) (format: CsvOptions) (path: string) : Dataset =
        Check.notNull "pipeline" (box pipeline)
        if String.IsNullOrWhiteSpace target then Check.fail "target" "target is null or blank; give the target column's name."
        if Array.contains target pipeline.FeatureNames then
            Check.fail "target" (sprintf "target is '%s', one of the model's feature columns; give the column of the target." (Csv.quoteText target))
        let options = (csvOptions pipeline format).WithTarget target
        Csv.load { options with RequireTarget = true } path |> forPipeline pipeline options

    /// `loadCsv` without the target: the target column, when the file has one, is not read at all
    /// (Csv.loadFeatures), so every row is kept for a prediction.
    let loadCsvFeatures (pipeline: Pipeline) (format: CsvOptions) (path: string) : Dataset =
        let options = csvOptions pipeline format
        Csv.loadFeatures options path |> forPipeline pipeline options

    /// `loadCsvFeatures` of CSV text (Csv.loadFeaturesText): the same columns, rules and errors, for
    /// rows held in memory (one row typed in, a request's body). Raises ArgumentNullException for a
    /// null text (ParamName "text").
    let loadCsvFeaturesText (pipeline: Pipeline) (format: CsvOptions) (text: string) : Dataset =
        let options = csvOptions pipeline format
        Csv.loadFeaturesText options text |> forPipeline pipeline options

    /// The targets a network is trained on: the one-hot classes (+1/-1 instead of 1/0 for the
    /// margin losses, one-vs-rest), the 0/1 column for one binary output, or the regression
    /// values through the target scaler.
    let trainingTargets (pipeline: Pipeline) (data: Dataset) : Matrix<float> =
        match data.Target with
        | Target.Classes (labels, _) when pipeline.Network.OutputSize = 1 ->
            Matrix<float>.Build.Dense(labels.Length, 1, fun i _ -> float labels.[i])
        | Target.Classes (labels, _) when Loss.isMargin pipeline.Loss ->
            Mat.map (fun v -> 2.0 * v - 1.0) (Mat.oneHot pipeline.ClassNames.Length labels)
        | Target.Classes (labels, _) -> Mat.oneHot pipeline.ClassNames.Length labels
        | Target.Values v -> Scaler.transform pipeline.TargetScaler (Matrix<float>.Build.Dense(v.Length, 1, fun i _ -> v.[i]))

    /// Raises ArgumentException (ParamName "data") when the data have rows but no target values
    /// (data read for prediction), naming the pipeline's target column: what scores a model needs.
    let checkTargetValues (pipeline: Pipeline) (data: Dataset) =
        let targetCount = match data.Target with Target.Classes (labels, _) -> labels.Length | Target.Values v -> v.Length
        if targetCount = 0 then
            Check.fail "data" (sprintf "The data have no target values (%d rows), so the model cannot be scored on them; load a file that has the model's target column '%s'." data.SampleCount pipeline.TargetName)

    /// The scores of the pipeline on a labelled data set. A classifier needs the data's classes
    /// to be its own (load the file with the model's class names: an unknown class is then an
    /// error naming its line).
    let evaluate (pipeline: Pipeline) (data: Dataset) : Evaluation =
        Check.notNull "data" (box data)
        checkTargetValues pipeline data
        let x = featuresOf pipeline data
        // The metrics name their own arguments (the predictions, the targets); evaluate has only the data.
        let onData (score: unit -> Evaluation) =
            try score ()
            with :? ArgumentException as e when e.ParamName = "predicted" || e.ParamName = "actual" ->
                let m = e.Message.Replace(sprintf " (Parameter '%s')" e.ParamName, "").Replace("of these predictions", "of the model's predictions on data")
                raise (ArgumentException(m, "data", e))
        onData (fun () ->
            match data.Target with
            | Target.Classes (labels, names) ->
                if not pipeline.IsClassifier then Check.fail "data" "The model is a regressor but the data's target holds classes."
                if names <> pipeline.ClassNames then
                    Check.fail "data" (sprintf "The data's classes (%s) are not the model's (%s); load the data with the model's class names." (String.Join(", ", names)) (String.Join(", ", pipeline.ClassNames)))
                let predicted = predictClasses pipeline x
                Evaluation.Classification (ClassificationMetrics.report pipeline.ClassNames predicted labels (probabilities pipeline x))
            | Target.Values v ->
                if pipeline.IsClassifier then Check.fail "data" "The model is a classifier but the data's target is numeric."
                let y = Matrix<float>.Build.Dense(v.Length, 1, fun i _ -> v.[i])
                Evaluation.Regression (RegressionMetrics.report (predictValues pipeline x) y))

    /// One line per layer and a total, for summaries: "total: 131 parameters; loss ...", with the
    /// running statistics after the parameters for a network with batch normalisation ("total: 171
    /// parameters and 32 running statistics; loss ...", as the per-block lines count them).
    let describe (pipeline: Pipeline) : string list =
        let pre = pipeline.Preprocessor
        [ yield sprintf "inputs: %d features (%s), scaling %s" pipeline.FeatureNames.Length (String.Join(", ", pipeline.FeatureNames |> Array.truncate 20)) (Scaler.kindName pipeline.Scaler.Kind)
          let text = [| for j in 0 .. pre.Width - 1 do let k = pre.Categories.[j].Length in if k > 0 then yield sprintf "%s (%d %s)" pipeline.FeatureNames.[j] k (if k = 1 then "category" else "categories") |]
          if text.Length > 0 then yield sprintf "text columns, one-hot (unseen category: %s): %s" (Preprocessor.unknownName pre.UnknownCategory) (String.Join(", ", text))
          if pre.Missing <> MissingPolicy.Error then yield sprintf "missing values: %s" (Preprocessor.missingName pre.Missing)
          yield! Network.describe pipeline.Network
          let state = if pipeline.Network.StateCount > 0 then sprintf " and %d running statistics" pipeline.Network.StateCount else ""
          yield sprintf "total: %d parameters%s; loss %s" pipeline.Network.ParameterCount state (Loss.name pipeline.Loss)
          if pipeline.IsClassifier then yield sprintf "target: %s, classes %s" pipeline.TargetName (String.Join(", ", pipeline.ClassNames))
          else yield sprintf "target: %s (regression)" pipeline.TargetName ]
