using MathNet.Numerics.LinearAlgebra;
using Microsoft.FSharp.Core;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>How the target column of a CSV file is read.</summary>
public enum TargetKind
{
    /// <summary>By the stated rule: text, or integers with at most 20 distinct values that each occur at least
    /// 3 times, are classes; other numbers are a regression target (see <see cref="Dataset.TaskReason"/>); integers
    /// of magnitude 9e15 or more (near 2^53, from which a double cannot hold every integer) count as numbers. Numbers
    /// quoted in every target cell, in a file with some unquoted feature cell, are class names (as
    /// <see cref="Dataset.SaveCsv"/> writes them).</summary>
    Auto,
    /// <summary>Numbers, one per row.</summary>
    Regression,
    /// <summary>Class names, whatever they look like ("0" .. "9" are class names too).</summary>
    Classification,
}

/// <summary>What happens to missing values (an empty field, a marker such as NA, N/A, NaN, null or ?; or NaN in memory).</summary>
public enum MissingValues
{
    /// <summary>A missing value is an error naming its line (or row) and column (the default).</summary>
    Error,
    /// <summary>Rows with a missing value are left out.</summary>
    Drop,
    /// <summary>Filled with the column's mean over the training rows (a text column: its most frequent category).</summary>
    Mean,
    /// <summary>Filled with the column's median over the training rows (a text column: its most frequent category).</summary>
    Median,
    /// <summary>Filled with the column's most frequent value over the training rows.</summary>
    MostFrequent,
}

/// <summary>What a pipeline does with a text category that its training rows did not have.</summary>
public enum UnknownCategory
{
    /// <summary>An ArgumentException naming the row, the column and the category (the default).</summary>
    Error,
    /// <summary>The category's one-hot columns are all zero.</summary>
    Zeros,
}

/// <summary>How a CSV file is written: its separator, quote, header and missing-value markers, and what to do
/// with missing values. Every property has a default that suits most files.</summary>
public sealed record CsvFormat
{
    /// <summary>The field separator, or null to detect it among ',', ';' and tab (the default).</summary>
    public char? Separator { get; init; }

    /// <summary>The quote character, or null for '"' (RFC 4180, Python's csv module; the default). It is never guessed
    /// from the file: an apostrophe in a field ('90s, rock 'n' roll) is a character of the field. Set it to '\'' for a
    /// file that quotes fields with apostrophes.</summary>
    public char? Quote { get; init; }

    /// <summary>False when the first line is data: the columns are then named column1 .. columnN (default true).</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>Texts that mean a missing value besides the empty field, compared ignoring case (null: pandas'
    /// default NA spellings but None, and ?: NA, N/A, NaN, -NaN, null, #N/A, #N/A N/A, #NA, &lt;NA&gt;, 1.#IND, -1.#IND, 1.#QNAN,
    /// -1.#QNAN, ?). A list replaces the default one (start from <see cref="DefaultMissingMarkers"/> to add or leave out one).</summary>
    public string[]? MissingMarkers { get; init; }

    /// <summary>The default markers of <see cref="MissingMarkers"/> (a new array on each call): for example
    /// <c>MissingMarkers = CsvFormat.DefaultMissingMarkers.Append("None").ToArray()</c>.</summary>
    public static string[] DefaultMissingMarkers => (string[])FN.CsvOptions.Default.MissingMarkers.Clone();

    /// <summary>What to do with missing values (default: an error that names this option).</summary>
    public MissingValues Missing { get; init; } = MissingValues.Error;

    /// <summary>Feature columns read as text categories even when they hold numbers, or null.</summary>
    public string[]? TextColumns { get; init; }
}

/// <summary>How features are scaled before the network sees them (fitted on training rows only).</summary>
public enum Scaling
{
    /// <summary>No scaling.</summary>
    None,
    /// <summary>Standardisation: (x - mean) / standard deviation, per column.</summary>
    Standard,
    /// <summary>Min-max scaling to [0, 1] on the training data, per column.</summary>
    MinMax,
}

/// <summary>A table of samples: feature columns (one sample per row; numbers, or text categories held as category
/// codes, see <see cref="Categories"/>) with their names, and a target that is either numbers (regression) or classes. Immutable; every property returns a copy.</summary>
/// <example><code>
/// var data = Dataset.LoadCsv("flowers.csv", target: "species");
/// var split = data.SplitStratified(testFraction: 0.2, seed: 1);
/// </code></example>
public sealed class Dataset
{
    internal Dataset(FN.Dataset core) => Core = core;

    internal FN.Dataset Core { get; }

    /// <summary>Loads a CSV file: a header row, feature columns (numbers, or text categories, which a pipeline one-hot
    /// encodes), and the target column <paramref name="target"/> (null: the last column). Column names are matched
    /// exactly, else after Unicode normalisation (NFC), else ignoring case when only one column matches.</summary>
    /// <param name="path">The file.</param>
    /// <param name="target">The target column's name, or null for the last column.</param>
    /// <param name="targetKind">How the target is read. Auto: text, numbers quoted in every target cell, and integers
    /// with few distinct values that each occur several times (at most 20 values, each at least 3 times) are classes;
    /// other numbers are a regression target (<see cref="TaskReason"/> says which and why).</param>
    /// <param name="features">The feature columns in order, or null for every column but the target.</param>
    /// <param name="classNames">Known class names in index order (a model's): another label is an error.</param>
    /// <exception cref="DataFormatException">A ragged row, a missing or non-numeric value, a missing target
    /// column, an empty file, an unknown class: the message names the line, the column and the text.</exception>
    /// <param name="format">The separator, quote, header and missing values, or null to detect them (missing values are then an error).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static Dataset LoadCsv(string path, string? target = null, TargetKind targetKind = TargetKind.Auto,
        string[]? features = null, string[]? classNames = null, CsvFormat? format = null)
    {
        FN.ModelFile.checkReadablePath(nameof(path), "data file", path);
        return new(CsvErrors(() => FN.Csv.load(Options(target, targetKind, features, classNames, true, format), path)));
    }

    /// <summary>Loads a CSV file for a trained model: the model's feature columns (its text columns as text), and
    /// the target when the file has it (read with the model's classes: an empty target cell leaves its row out, an
    /// unknown class is an error), for scoring the model. Missing values are kept for the model's imputer when it
    /// has one (unless the format says Drop). A text column lists the model's categories first, in the model's order
    /// (then any the model does not know), so <see cref="Dataset.Features"/> holds the codes the model's array methods
    /// read. A column the model reads as numbers is read as numbers, even quoted in every cell; a cell there that is not
    /// a finite number is a <see cref="DataFormatException"/> naming the line and the column. To predict, read with <see cref="LoadCsvForPrediction(string, Pipeline, CsvFormat?)"/>, which
    /// ignores the target column.</summary>
    /// <param name="path">The file.</param>
    /// <param name="model">The model whose columns are read.</param>
    /// <param name="format">The separator, quote and header, or null to detect them.</param>
    public static Dataset LoadCsvForModel(string path, Pipeline model, CsvFormat? format = null)
    {
        FN.ModelFile.checkReadablePath(nameof(path), "data file", path);
        ArgumentNullException.ThrowIfNull(model);
        var options = Options(null, TargetKind.Auto, null, null, false, format);
        return new(CsvErrors(() => FN.PipelineModule.loadCsv(model.Core, options, path), ModelNames, []));
    }

    /// <summary>Loads a CSV file for a trained model as <see cref="LoadCsvForModel(string, Pipeline, CsvFormat?)"/> does,
    /// with the target read from the column <paramref name="target"/> (which may be named otherwise than the model's),
    /// which the file must have.</summary>
    /// <param name="path">The file.</param>
    /// <param name="model">The model whose columns are read.</param>
    /// <param name="target">The target column's name.</param>
    /// <param name="format">The separator, quote and header, or null to detect them.</param>
    /// <exception cref="ArgumentNullException"><paramref name="path"/>, <paramref name="model"/> or <paramref name="target"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="target"/> is blank or one of the model's feature columns (ParamName "target").</exception>
    /// <exception cref="DataFormatException">The file has no column <paramref name="target"/>, a class the model does not
    /// have, or as for <see cref="LoadCsvForPrediction(string, Pipeline, CsvFormat?)"/>: the message names the line, the
    /// column and the text.</exception>
    public static Dataset LoadCsvForModel(string path, Pipeline model, string target, CsvFormat? format = null)
    {
        FN.ModelFile.checkReadablePath(nameof(path), "data file", path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(target);
        var options = Options(null, TargetKind.Auto, null, null, false, format);
        // The model's features are named as the model's; the target as the caller's target.
        return new(CsvErrors(() => FN.PipelineModule.loadCsvWithTarget(model.Core, target, options, path), [ModelNames[0]], []));
    }

    /// <summary>Loads a CSV file's rows to predict with a trained model: the model's feature columns, read as
    /// <see cref="LoadCsvForModel(string, Pipeline, CsvFormat?)"/> reads them (its text columns as text, missing values kept for its imputer),
    /// while the target column, when the file has one, is not read at all, whatever it holds (empty cells, a class
    /// the model never saw, text): every row is kept, so there is one prediction per row (but for rows the format's
    /// Drop leaves out for a missing feature). The data set's target is empty. A text column lists the model's
    /// categories first, in the model's order, so <see cref="Dataset.Features"/> holds the codes the model's array
    /// methods and predictors read. A category the model does not know comes after them: the array methods refuse its
    /// code; the methods that take the data set refuse it too, or, for a model that encodes unknown categories as
    /// zeros, encode it so (as <see cref="Pipeline.FeaturesOf(Dataset)"/> does, with the code -1). Rows held in memory as
    /// CSV text are read the same way by <see cref="ParseCsvForPrediction"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="model">The model whose feature columns are read.</param>
    /// <param name="format">The separator, quote and header, or null to detect them.</param>
    /// <exception cref="DataFormatException">A ragged row, a missing feature column, a bad or (for a model without
    /// imputation) missing feature value, a cell that is not a finite number in a column the model reads as numbers: the
    /// message names the line, the column and the text.</exception>
    public static Dataset LoadCsvForPrediction(string path, Pipeline model, CsvFormat? format = null)
    {
        FN.ModelFile.checkReadablePath(nameof(path), "data file", path);
        ArgumentNullException.ThrowIfNull(model);
        var options = Options(null, TargetKind.Auto, null, null, false, format);
        return new(CsvErrors(() => FN.PipelineModule.loadCsvFeatures(model.Core, options, path), ModelNames, []));
    }

    /// <summary>Parses CSV text of rows to predict with a trained model, as <see cref="LoadCsvForPrediction(string, Pipeline, CsvFormat?)"/>
    /// reads a file (the same columns, rules and errors): for rows held in memory, such as one row typed in, with
    /// text columns. The model says which columns are features and which are text, so a text holding only the feature
    /// columns (<c>"a,color\n1,red\n"</c>) reads them all, where <see cref="ParseCsv"/> would take its last column
    /// for the target; a target column, when the text has one, is not read.</summary>
    /// <param name="text">The CSV text, with a header row (unless the format says otherwise).</param>
    /// <param name="model">The model whose feature columns are read.</param>
    /// <param name="format">The separator, quote and header, or null to detect them.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> or <paramref name="model"/> is null.</exception>
    /// <exception cref="DataFormatException">As for <see cref="LoadCsvForPrediction(string, Pipeline, CsvFormat?)"/>: a
    /// ragged row, a missing feature column, a bad or (for a model without imputation) missing feature value; the message
    /// names the line, the column and the text.</exception>
    /// <example><code>
    /// var rows = Dataset.ParseCsvForPrediction("size,color\n2.5,red\n", model);
    /// string[] classes = model.PredictClassNames(rows);
    /// </code></example>
    public static Dataset ParseCsvForPrediction(string text, Pipeline model, CsvFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(model);
        var options = Options(null, TargetKind.Auto, null, null, false, format);
        return new(CsvErrors(() => FN.PipelineModule.loadCsvFeaturesText(model.Core, options, text), ModelNames, []));
    }

    /// <summary>Loads a CSV file to score a linear model: the model's features (by name, as numbers: a column of text
    /// is an error, as for <see cref="LoadCsvForPrediction(string, LinearModel, CsvFormat?)"/>, never categories) and
    /// the target <paramref name="target"/> (null: the target the model names, else the last column), read as numbers.
    /// Missing feature values are kept for the model's fill values when it has them (unless the format says Drop); for a
    /// model without fill values the format's policy applies (by default an error naming the line and the column).</summary>
    /// <param name="path">The file.</param>
    /// <param name="model">The model whose columns are read (a model without feature names reads every column but the target).</param>
    /// <param name="target">The target column's name, or null for the model's own target (else the last column).</param>
    /// <param name="format">The separator, quote, header and missing values, or null to detect them.</param>
    /// <exception cref="DataFormatException">A missing column, a feature cell that is not a finite number, a missing value
    /// the format makes an error: the message names the line, the column and the text.</exception>
    public static Dataset LoadCsvForModel(string path, LinearModel model, string? target = null, CsvFormat? format = null)
    {
        FN.ModelFile.checkReadablePath(nameof(path), "data file", path);
        ArgumentNullException.ThrowIfNull(model);
        var f = format ?? new CsvFormat();
        var imputes = model.Missing is MissingValues.Mean or MissingValues.Median or MissingValues.MostFrequent;
        if (imputes && f.Missing == MissingValues.Error) f = f with { Missing = MissingValues.Mean };
        var own = target ?? (model.TargetNames.Count == 1 ? model.TargetNames[0] : null);
        var features = model.FeatureNames.Count > 0 ? model.FeatureNames.ToArray() : null;
        var options = Options(own, TargetKind.Regression, features, null, true, f);
        return new(CsvErrors(() => FN.Csv.loadNumeric(options, path)));
    }

    /// <summary>Loads the feature columns of a CSV file for a linear model's predictions: the model's features (by
    /// name, as numbers), and no target (a target column in the file is not read, so a missing value in it drops no
    /// row; the data set's target is empty). Missing values are kept (NaN) for the model's fill values when it has
    /// them (<see cref="LinearModel.FillMissing"/>), unless the format says Drop; for a model without fill values the
    /// format's policy applies (by default an error naming the line and the column, as for <see cref="LoadCsv"/>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="model">The model whose columns are read; it needs feature names.</param>
    /// <param name="format">The separator, quote, header and missing values, or null to detect them.</param>
    /// <exception cref="ArgumentException">The model has no feature names (ParamName "model").</exception>
    /// <exception cref="DataFormatException">A missing column, a column of text, a missing value the format makes an
    /// error: the message names the line, the column and the text.</exception>
    public static Dataset LoadCsvForPrediction(string path, LinearModel model, CsvFormat? format = null)
    {
        FN.ModelFile.checkReadablePath(nameof(path), "data file", path);
        ArgumentNullException.ThrowIfNull(model);
        if (model.FeatureNames.Count == 0)
            throw new ArgumentException("The linear model has no feature names, so its columns cannot be found in the file; fit it with feature names.", nameof(model));
        var f = format ?? new CsvFormat();
        var imputes = model.Missing is MissingValues.Mean or MissingValues.Median or MissingValues.MostFrequent;
        if (imputes && f.Missing == MissingValues.Error) f = f with { Missing = MissingValues.Mean };
        var options = Options(null, TargetKind.Regression, model.FeatureNames.ToArray(), null, false, f);
        return new(CsvErrors(() => FN.Csv.loadNumericFeatures(options, path), ModelNames, []));
    }

    /// <summary>Parses CSV text as <see cref="LoadCsv"/> reads a file.</summary>
    /// <param name="text">The CSV text.</param>
    /// <param name="target">The target column's name, or null for the last column.</param>
    /// <param name="targetKind">How the target is read.</param>
    /// <param name="features">The feature columns in order, or null.</param>
    /// <param name="classNames">Known class names in index order, or null.</param>
    /// <param name="format">The separator, quote, header and missing values, or null to detect them.</param>
    public static Dataset ParseCsv(string text, string? target = null, TargetKind targetKind = TargetKind.Auto,
        string[]? features = null, string[]? classNames = null, CsvFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new(CsvErrors(() => FN.Csv.loadText(Options(target, targetKind, features, classNames, true, format), text)));
    }

    /// <summary>A classification data set from arrays in memory: one row of <paramref name="features"/> per sample
    /// (NaN marks a missing value) and its class name. Classes are compared after Unicode normalisation (NFC)
    /// and ordered numerically when every name is a number, else ordinally.</summary>
    /// <param name="features">n x d feature values.</param>
    /// <param name="labels">n class names.</param>
    /// <param name="featureNames">d names, or null for x1 .. xd.</param>
    /// <param name="targetName">The target's name (default "target").</param>
    /// <exception cref="ArgumentException">Shapes that do not match, an infinite value, an empty label, a null, empty or
    /// repeated feature name (ParamName the parameter's name; a label or name by its index).</exception>
    public static Dataset FromArrays(double[,] features, string[] labels, string[]? featureNames = null, string targetName = "target")
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        return new(FN.DatasetModule.ofClassNames(featureNames!, targetName, features, labels));
    }

    /// <summary>A classification data set with integer class labels (classes "0", "1", ... in increasing order).</summary>
    public static Dataset FromArrays(double[,] features, int[] labels, string[]? featureNames = null, string targetName = "target")
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        return new(FN.DatasetModule.ofClassLabels(featureNames!, targetName, features, labels));
    }

    /// <summary>A regression data set from arrays in memory: one row of <paramref name="features"/> per sample and
    /// its finite target value.</summary>
    public static Dataset FromArrays(double[,] features, double[] values, string[]? featureNames = null, string targetName = "target")
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(values);
        return new(FN.DatasetModule.ofValues(featureNames!, targetName, features, values));
    }

    /// <summary>A classification data set from objects (as ML.NET's LoadFromEnumerable): <paramref name="features"/>
    /// gives each row's feature values, one per name in <paramref name="featureNames"/>; <paramref name="label"/> its class.</summary>
    public static Dataset FromEnumerable<T>(IEnumerable<T> rows, Func<T, double[]> features, Func<T, string> label,
        string[] featureNames, string targetName = "target")
    {
        var (x, items) = Rows(rows, features, featureNames);
        ArgumentNullException.ThrowIfNull(label);
        return FromArrays(x, items.Select(label).ToArray(), featureNames, targetName);
    }

    /// <summary>A classification data set from objects with integer class labels.</summary>
    public static Dataset FromEnumerable<T>(IEnumerable<T> rows, Func<T, double[]> features, Func<T, int> label,
        string[] featureNames, string targetName = "target")
    {
        var (x, items) = Rows(rows, features, featureNames);
        ArgumentNullException.ThrowIfNull(label);
        return FromArrays(x, items.Select(label).ToArray(), featureNames, targetName);
    }

    /// <summary>A regression data set from objects: <paramref name="value"/> gives each row's target.</summary>
    public static Dataset FromEnumerable<T>(IEnumerable<T> rows, Func<T, double[]> features, Func<T, double> value,
        string[] featureNames, string targetName = "target")
    {
        var (x, items) = Rows(rows, features, featureNames);
        ArgumentNullException.ThrowIfNull(value);
        return FromArrays(x, items.Select(value).ToArray(), featureNames, targetName);
    }

    private static (double[,], T[]) Rows<T>(IEnumerable<T> rows, Func<T, double[]> features, string[] featureNames)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(featureNames);
        var items = rows.ToArray();
        if (items.Length == 0) throw new ArgumentException("rows is empty; a data set needs at least one row.", nameof(rows));
        var x = new double[items.Length, featureNames.Length];
        for (int i = 0; i < items.Length; i++)
        {
            var v = features(items[i]) ?? throw new ArgumentException($"The features of row index {i} are null.", nameof(features));
            if (v.Length != featureNames.Length)
                throw new ArgumentException($"Row index {i} has {v.Length} features but there are {featureNames.Length} feature names.", nameof(features));
            for (int j = 0; j < v.Length; j++) x[i, j] = v[j];
        }
        return (x, items);
    }

    /// <summary>What a pipeline fitted on these data does with missing values.</summary>
    public MissingValues Missing => DataInterop.FromCore(Core.Missing);

    /// <summary>A copy with another missing-value policy (Drop leaves rows out before fitting; Mean, Median and
    /// MostFrequent make the pipeline impute).</summary>
    public Dataset WithMissing(MissingValues missing) => new(FN.DatasetModule.withMissing(missing.ToCore(nameof(missing)), Core));

    /// <summary>A copy whose missing feature cells are filled as a pipeline fitted on <paramref name="trainingRows"/>
    /// fills them, by their policy (<see cref="Missing"/>): Mean or Median, the column's mean or median of the
    /// values present in those rows; MostFrequent (and every text column), the most frequent value, the smallest
    /// on a tie. For models that read the raw columns, such as <see cref="LinearRegression"/>: fill the training
    /// rows and the test rows from the training rows. The data as they are when the policy is Error or Drop. A text
    /// column without a missing cell is left as it is; one whose fill category (the training rows' most frequent)
    /// these rows lack gets it added to its <see cref="Categories"/> at its ordinal place.</summary>
    /// <param name="trainingRows">The rows the fill values are fitted on (often this data set itself).</param>
    /// <exception cref="ArgumentException">A column of <paramref name="trainingRows"/> has no value there, or a column
    /// of these rows is not one of theirs or is read otherwise, text against numbers (ParamName "data").</exception>
    public Dataset FillMissing(Dataset trainingRows)
    {
        ArgumentNullException.ThrowIfNull(trainingRows);
        return new(Errors.Run(() => FN.PreprocessorModule.fillMissing(FN.PreprocessorModule.fit(trainingRows.Core), trainingRows.Core.FeatureNames, Core)));
    }

    /// <summary>For each feature column, its categories when it is a text column (then <see cref="Features"/> holds
    /// the category's index), else an empty array.</summary>
    public string[][] Categories => Enumerable.Range(0, FeatureCount).Select(j => (string[])FN.DatasetModule.categoriesOf(Core, j).Clone()).ToArray();

    /// <summary>The task the target means and why, by the stated rule (e.g. "classification: the values are 4
    /// distinct integers, each occurring at least 3 times"; for numbers quoted in every target cell, "classification:
    /// every target cell is a number in quotes, so each is a class name as written (3 classes)"), or that it was set
    /// explicitly.</summary>
    public string TaskReason => FN.TargetRule.explain(Core);

    /// <summary>Warnings about how the file was read that are not errors, e.g. a header line whose every field is a
    /// number (probably a file without a header: read it with <see cref="CsvFormat.HasHeader"/> false). Empty for data
    /// from memory; <see cref="ToString"/> counts them.</summary>
    public IReadOnlyList<string> Warnings => Core.Warnings.Select(w => w.Replace(HeaderAdvice.Core, HeaderAdvice.Facade)).ToArray();

    // The reader's advice for a header of numbers, in the facade's words (in its warnings and its errors).
    private static readonly (string Core, string Facade) HeaderAdvice = ("with HasHeader = false", "with format." + nameof(CsvFormat.HasHeader) + " = false");

    /// <summary>The rows the CSV reader left out for a missing value (<see cref="CsvFormat.Missing"/> Drop, or a missing
    /// target under Mean, Median and MostFrequent) and the columns whose missing cells did, as the reading counted them;
    /// for every reader (<see cref="LoadCsv"/>, <see cref="ParseCsv"/>, <see cref="LoadCsvForModel(string, Pipeline, CsvFormat?)"/>,
    /// <see cref="LoadCsvForPrediction(string, Pipeline, CsvFormat?)"/>, the linear model's). No row (Count 0) for data from
    /// memory. It describes the reading: <see cref="SelectRows"/>, <see cref="SelectFeatures"/> and the splits keep it
    /// as it is.</summary>
    public DroppedRows Dropped => new(Core.Dropped);

    /// <summary>The text of a feature cell: a number, a text column's category, or "" when missing.</summary>
    public string CellText(int row, int column)
    {
        if (row < 0 || row >= SampleCount) throw new ArgumentOutOfRangeException(nameof(row), row, $"row must lie in 0 .. {SampleCount - 1}.");
        if (column < 0 || column >= FeatureCount) throw new ArgumentOutOfRangeException(nameof(column), column, $"column must lie in 0 .. {FeatureCount - 1}.");
        return FN.Csv.cellText(Core, row, column);
    }

    /// <summary>An embedded data set by name: "iris" (150 flowers, 3 species), "digits" (1797 8x8 images,
    /// 10 classes) or "commute" (the notes' 5-row regression example).</summary>
    /// <exception cref="ArgumentException">An unknown name (ParamName "name").</exception>
    public static Dataset Embedded(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new(FN.Datasets.load(name));
    }

    /// <summary>The names <see cref="Embedded"/> accepts.</summary>
    public static IReadOnlyList<string> EmbeddedNames => (string[])FN.Datasets.names.Clone();

    // The core's CsvOptions as given: Csv.checkOptions (in Csv.load and Csv.loadText) checks them, and CsvErrors maps
    // its option names to the C# parameters.
    internal static FN.CsvOptions Options(string? target, TargetKind kind, string[]? features, string[]? classNames, bool requireTarget,
        CsvFormat? format = null)
    {
        var f = format ?? new CsvFormat();
        return new FN.CsvOptions(target is null ? FSharpOption<string>.None : FSharpOption<string>.Some(target),
            kind switch
            {
                TargetKind.Auto => FN.TargetKind.Auto,
                TargetKind.Regression => FN.TargetKind.Regression,
                TargetKind.Classification => FN.TargetKind.Classification,
                _ => throw new ArgumentOutOfRangeException("targetKind", kind, $"targetKind is {(int)kind}, not a TargetKind (Auto, Regression or Classification)."),
            },
            features is null ? FSharpOption<string[]>.None : FSharpOption<string[]>.Some((string[])features.Clone()),
            classNames is null ? FSharpOption<string[]>.None : FSharpOption<string[]>.Some((string[])classNames.Clone()),
            requireTarget,
            f.Separator is char sep ? FSharpOption<char>.Some(sep) : FSharpOption<char>.None,
            f.Quote is char q ? FSharpOption<char>.Some(q) : FSharpOption<char>.None,
            f.HasHeader,
            f.MissingMarkers is { } m ? (string[])m.Clone() : FN.CsvOptions.Default.MissingMarkers,
            f.Missing.ToCore(),
            f.TextColumns is { } t ? (string[])t.Clone() : Array.Empty<string>());
    }

    /// <summary>The number of samples (rows).</summary>
    public int SampleCount => Core.SampleCount;

    /// <summary>The number of features (columns).</summary>
    public int FeatureCount => Core.FeatureCount;

    /// <summary>The features, SampleCount x FeatureCount. A text column's cell is the index of its category in this
    /// data set's <see cref="Categories"/>. That is the model's index only for data read for the model, with
    /// <see cref="LoadCsvForPrediction(string, Pipeline, CsvFormat?)"/> or <see cref="LoadCsvForModel(string, Pipeline, CsvFormat?)"/>.
    /// For other data sets, a test split included, give the model the data set itself, or
    /// <see cref="Pipeline.FeaturesOf(Dataset)"/>, which maps the categories by name.</summary>
    public double[,] Features => Core.Features.ToArray();

    /// <summary>The feature columns' names.</summary>
    public string[] FeatureNames => (string[])Core.FeatureNames.Clone();

    /// <summary>The target column's name.</summary>
    public string TargetName => Core.TargetName;

    /// <summary>True when the target holds classes.</summary>
    public bool IsClassification => Core.IsClassification;

    /// <summary>The class names in index order (empty for regression).</summary>
    public string[] ClassNames => Core.ClassNames;

    /// <summary>The class index of each sample (empty for regression).</summary>
    public int[] Labels => Core.IsClassification ? Core.Labels : Array.Empty<int>();

    // The number of target values: 0 for data read for prediction (no target).
    private int TargetLength => Core.Target switch { FN.Target.Classes c => c.labels.Length, FN.Target.Values v => v.values.Length, _ => 0 };

    /// <summary>The regression target of each sample (empty for classification).</summary>
    public double[] Values => Core.Target is FN.Target.Values v ? (double[])v.values.Clone() : Array.Empty<double>();

    /// <summary>The samples whose row indices are given, in that order.</summary>
    public Dataset SelectRows(int[] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new(Errors.Run(() => FN.DatasetModule.selectRows(rows, Core), new[] { ("indices", nameof(rows)) }, new[] { ("indices", nameof(rows)) }));
    }

    /// <summary>Writes the data as a CSV file: the feature columns, then the target column (class names, or numbers
    /// written so that they read back exactly; texts such as NA or 'a', numeric class names, and every cell of a text
    /// column with a category that reads as a number, such as 007, are written in quotes). <see cref="LoadCsv"/> reads
    /// back the same table (the same column names, numbers, categories, missing cells, and class or value of each row)
    /// when given what the file cannot say: <c>targetKind: TargetKind.Regression</c> for a regression target (under
    /// Auto, few integers that each repeat, such as 1, 2, 3 three times each, read as classes), and, for data with
    /// missing values (written as empty fields), a <see cref="CsvFormat.Missing"/> that keeps them (Mean, Median or
    /// MostFrequent; the default, Error, refuses them). With the default arguments it reads back so when no value is
    /// missing and the target is classes, or numbers that Auto reads as numbers.</summary>
    /// <param name="path">The file.</param>
    /// <param name="overwriteReadOnly">Replace a read-only file (otherwise refused with UnauthorizedAccessException).</param>
    /// <exception cref="ArgumentException">Every cell would be in quotes (only text columns with numeric-looking
    /// categories, and numeric class names): such a file reads back as one that quotes every field, whose quotes say
    /// nothing (ParamName "data").</exception>
    /// <remarks>Saved as model files are (<see cref="ModelFile"/>): atomically, through a symbolic link to its target,
    /// keeping the replaced file's permissions.</remarks>
    public void SaveCsv(string path, bool overwriteReadOnly = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        Errors.Run(() => FN.Csv.saveWith(FN.SaveOptions.Default.WithOverwriteReadOnly(overwriteReadOnly), path, Core));
    }

    /// <summary>CSV text of a header and rows of fields, by the library's own writing rules (those of
    /// <see cref="SaveCsv"/>): fields separated by ',', lines ending in \n, a field put in double quotes (its quotes
    /// doubled) when it holds a separator (',', ';' or tab), a quote, a line break, surrounding spaces, starts with
    /// a single quote, or is a default missing-value marker (NA, N/A, NaN, null, ?, ...), so that a text such as "NA" reads back as
    /// that text, not as a missing value. <see cref="ParseCsv"/> and <see cref="LoadCsv"/> (with the default
    /// markers) read it back to the same fields; an empty field reads as a missing value. A row of one empty field is
    /// written <c>""</c> (a bare one would be a blank line, which the reader skips), so it reads back as a row.</summary>
    /// <param name="header">The column names: at least one, none blank, no name twice (the reader refuses both).</param>
    /// <param name="rows">The rows, each with one field per column (null fields are refused; "" is a missing value).</param>
    /// <exception cref="ArgumentException">A blank or repeated name, a null name or field, or a row of another
    /// length (ParamName "header" or "rows", naming the index).</exception>
    public static string FormatCsv(IEnumerable<string> header, IEnumerable<IReadOnlyList<string>> rows)
        => FormatCsv(header, rows, null);

    /// <summary>As <see cref="FormatCsv(IEnumerable{string}, IEnumerable{IReadOnlyList{string}})"/>, with a field that
    /// is one of <paramref name="missingMarkers"/> (compared as the reader compares them: trimmed, ignoring case) also
    /// put in double quotes, so that the text reads back as the same fields with a <see cref="CsvFormat"/> whose
    /// <see cref="CsvFormat.MissingMarkers"/> are those markers: a quoted marker is text to the reader, a bare one a
    /// missing value.</summary>
    /// <param name="header">The column names: at least one, none blank, no name twice.</param>
    /// <param name="rows">The rows, each with one field per column ("" is a missing value).</param>
    /// <param name="missingMarkers">The markers the text will be read with besides the default ones, or null for none.</param>
    /// <exception cref="ArgumentException">A blank or repeated name, a null name, field or marker, or a row of another
    /// length (ParamName "header", "rows" or "missingMarkers", naming the index).</exception>
    public static string FormatCsv(IEnumerable<string> header, IEnumerable<IReadOnlyList<string>> rows, IEnumerable<string>? missingMarkers)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        var names = header.ToArray();
        if (names.Length == 0) throw new ArgumentException("header is empty; a CSV file needs at least one column.", nameof(header));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int j = 0; j < names.Length; j++)
        {
            if (names[j] is null) throw new ArgumentException($"header[{j}] is null; every column needs a name.", nameof(header));
            if (names[j].Trim().Length == 0) throw new ArgumentException($"header[{j}] is empty or blank; every column needs a name.", nameof(header));
            if (!seen.Add(names[j])) throw new ArgumentException($"header[{j}] = '{names[j]}' appears more than once; a CSV file needs distinct column names.", nameof(header));
        }
        var body = new List<string[]>();
        int i = 0;
        foreach (var row in rows)
        {
            if (row is null) throw new ArgumentException($"rows[{i}] is null.", nameof(rows));
            if (row.Count != names.Length) throw new ArgumentException($"rows[{i}] has {row.Count} fields but the header has {names.Length} columns.", nameof(rows));
            var fields = new string[row.Count];
            for (int j = 0; j < fields.Length; j++)
                fields[j] = row[j] ?? throw new ArgumentException($"rows[{i}][{j}] is null; write \"\" for a missing value.", nameof(rows));
            body.Add(fields);
            i++;
        }
        var markers = missingMarkers?.ToArray() ?? [];
        for (int m = 0; m < markers.Length; m++)
            if (markers[m] is null) throw new ArgumentException($"missingMarkers[{m}] is null.", nameof(missingMarkers));
        return FN.Csv.formatWithMarkers(markers, names, body);
    }

    /// <summary>The named feature columns only, in the given order.</summary>
    /// <exception cref="ArgumentException">An unknown column, or a null name (ParamName "names", naming the name or its
    /// index).</exception>
    public Dataset SelectFeatures(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return new(FN.DatasetModule.selectFeatures(names, Core));
    }

    /// <summary>Reads the named numeric columns of a CSV file (in that order), for prediction: the file need
    /// not have a target column. Every cell must be a finite number: an empty cell or a default missing-value marker (NA,
    /// N/A, NaN, null, ?, ..., as the reader takes them) is an error saying the value is missing, other text one saying it is not a finite
    /// number; errors name the line, the column and the text.</summary>
    /// <param name="path">The file.</param>
    /// <param name="features">The columns to read, e.g. a model's <see cref="Pipeline.FeatureNames"/>.</param>
    public static double[,] LoadCsvFeatures(string path, string[] features)
    {
        FN.ModelFile.checkReadablePath(nameof(path), "data file", path);
        ArgumentNullException.ThrowIfNull(features);
        return CsvErrors(() =>
        {
            // The core's check of the names before the file is read (Csv.numericColumns checks them again).
            FN.CsvOptions.CheckNames("names", features);
            return FN.Csv.numericColumns(features, FN.Csv.readFile(path)).ToArray();
        }, ("names", nameof(features)));
    }

    // The core's CSV option names (Csv.checkOptions, CsvOptions.CheckNames) -> the C# parameters; an option of the
    // format as the facade exposes it (format.MissingMarkers). extra: names of one call.
    internal static T CsvErrors<T>(Func<T> f, params (string Core, string Facade)[] extra) => CsvErrors(f, [], extra);

    // The reader's messages about a name the model gave (its features, its target), not a parameter of the call.
    private static readonly (string Core, string Facade)[] ModelNames =
    {
        ("Features: the column name '", "the model's feature '"),
        ("Target: the column name '", "the model's target '"),
    };

    private static T CsvErrors<T>(Func<T> f, (string Core, string Facade)[] words, (string Core, string Facade)[] extra) =>
        Errors.Run(f,
            extra.Concat(new[]
            {
                ("Target", "target"), ("Features", "features"), ("ClassNames", "classNames"),
                ("MissingMarkers", "format"), ("TextColumns", "format"), ("separator", "format"), ("quote", "format"),
            }).ToArray(),
            words.Concat(extra.Select(n => (n.Core + "[", n.Facade + "["))).Concat(extra.Select(n => (n.Core + ": the column name '", n.Facade + ": the column name '"))).Concat(new[]
            {
                // The option a name that matches several columns ignoring case came from (Csv's column lookup).
                ("Target: the column name '", "target: the column name '"),
                ("Features: the column name '", "features: the column name '"),
                ("TextColumns: the column name '", "format." + nameof(CsvFormat.TextColumns) + ": the column name '"),
                ("Features[", "features["), ("ClassNames[", "classNames["),
                ("MissingMarkers[", "format." + nameof(CsvFormat.MissingMarkers) + "["),
                ("TextColumns[", "format." + nameof(CsvFormat.TextColumns) + "["),
                ("(or None for the last column)", "(or null for the last column)"),
                ("The separator ", "The separator (format." + nameof(CsvFormat.Separator) + ") "),
                ("The quote character ", "The quote character (format." + nameof(CsvFormat.Quote) + ") "),
                // The reader's advice and messages that name an option (Csv.parseWith, Csv.toDataset): the C# parameter
                // or the member of format that sets it.
                ("TextColumns names the column '", "format." + nameof(CsvFormat.TextColumns) + " names the column '"),
                ("name it in TextColumns", "name it in format." + nameof(CsvFormat.TextColumns)),
                ("name the column in TextColumns", "name the column in format." + nameof(CsvFormat.TextColumns)),
                ("add it to MissingMarkers (CLI", "add it to format." + nameof(CsvFormat.MissingMarkers) + " (CLI"),
                ("missing with MissingMarkers (CLI", "missing with format." + nameof(CsvFormat.MissingMarkers) + " (CLI"),
                ("set MissingMarkers to a list without it (CLI", "set format." + nameof(CsvFormat.MissingMarkers) + " to a list without it (CLI"),
                HeaderAdvice,
                ("(Quote; CLI", "(format." + nameof(CsvFormat.Quote) + "; CLI"),
                ("leave it out with Features, CLI", "leave it out with features, CLI"),
                ("set TargetKind to Classification (CLI", "set targetKind to TargetKind.Classification (CLI"),
                ("or set TargetKind (CLI", "or set targetKind (CLI"),
            }).ToArray());

    /// <summary>A train/test split drawn from <paramref name="seed"/>: stratified by class for a classification
    /// (each class keeps its share in both parts), a plain shuffle for a regression or for data without target values
    /// (read for prediction).</summary>
    /// <param name="testFraction">The share of rows in the test part, strictly between 0 and 1.</param>
    /// <param name="seed">The seed of the library's generator.</param>
    /// <exception cref="ArgumentException">testFraction outside (0, 1), or a classification whose every class has one
    /// row, so that the test part would be empty (ParamName "testFraction").</exception>
    /// <exception cref="InvalidOperationException">The data set has fewer than 2 rows.</exception>
    public DatasetSplit SplitStratified(double testFraction, long seed)
    {
        // The core's split names its own argument (n, labels) for too few rows; here they are this data set's.
        if (SampleCount < 2)
            throw new InvalidOperationException($"A split needs at least 2 rows, but the data set has {SampleCount}.");
        var rng = FN.RngModule.create(seed);
        // Data read for prediction have no labels to stratify by: a plain shuffle of their rows.
        var split = IsClassification && TargetLength > 0
            ? FN.Split.stratified(testFraction, Core.Labels, rng).Item1
            : FN.Split.shuffled(testFraction, SampleCount, rng).Item1;
        return new DatasetSplit(SelectRows(split.Train), SelectRows(split.Test), split.Train, split.Test);
    }

    /// <summary>k folds drawn from <paramref name="seed"/> (stratified by class for a classification with target values): fold f's
    /// test part is its rows, its training part all the others.</summary>
    /// <param name="k">The number of folds (2 .. SampleCount).</param>
    /// <param name="seed">The seed of the library's generator.</param>
    public IReadOnlyList<DatasetSplit> KFold(int k, long seed)
    {
        var rng = FN.RngModule.create(seed);
        var folds = IsClassification && TargetLength > 0 ? FN.Split.stratifiedKFold(k, Core.Labels, rng).Item1 : FN.Split.kFold(k, SampleCount, rng).Item1;
        return folds.Select(f => new DatasetSplit(SelectRows(f.Train), SelectRows(f.Test), f.Train, f.Test)).ToArray();
    }

    /// <summary>A short description: rows, features, target.</summary>
    public override string ToString() =>
        $"{SampleCount} rows, {FeatureCount} features, " +
        (SampleCount > 0 && TargetLength == 0 ? "no target values" : $"target {TargetName} ({(IsClassification ? $"{ClassNames.Length} classes" : "numeric")})")
        + (Warnings switch { { Count: 0 } => "", { Count: 1 } w => "; 1 warning: " + w[0], var w => $"; {w.Count} warnings, the first: {w[0]}" });
}

/// <summary>The two parts of a split, with the row indices each came from.</summary>
public sealed class DatasetSplit
{
    internal DatasetSplit(Dataset train, Dataset test, int[] trainRows, int[] testRows)
    {
        Train = train;
        Test = test;
        TrainRows = (int[])trainRows.Clone();
        TestRows = (int[])testRows.Clone();
    }

    /// <summary>The training part.</summary>
    public Dataset Train { get; }

    /// <summary>The test part.</summary>
    public Dataset Test { get; }

    /// <summary>The rows of the original data in the training part, ascending.</summary>
    public int[] TrainRows { get; }

    /// <summary>The rows of the original data in the test part, ascending.</summary>
    public int[] TestRows { get; }
}

/// <summary>A column whose missing cells made the CSV reader leave rows out (<see cref="DroppedRows"/>).</summary>
/// <param name="Name">The column's name, as the file's header spells it.</param>
/// <param name="Rows">How many of the rows left out have a missing cell in this column (a row with missing cells in two
/// such columns is counted under both).</param>
/// <param name="IsTarget">True for the target column (a missing target leaves its row out under every policy but
/// <see cref="MissingValues.Error"/>); false for a feature column (only under <see cref="MissingValues.Drop"/>).</param>
public sealed record DroppedColumn(string Name, int Rows, bool IsTarget);

/// <summary>The rows the CSV reader left out of a data set for a missing value, by the format's
/// <see cref="CsvFormat.Missing"/>: under Drop every row with a missing cell in a column it reads (a feature, or the
/// target); under Mean, Median and MostFrequent every row whose target is missing. A missing cell is the reader's: an
/// empty field, or a marker not in quotes (in a file that quotes every field, in quotes too). The counts come from the
/// reading itself (<see cref="Dataset.Dropped"/>).</summary>
public sealed class DroppedRows
{
    internal DroppedRows(FN.DroppedRows core)
    {
        Count = core.Count;
        Columns = core.Columns.Select(c => new DroppedColumn(c.Name, c.Rows, c.IsTarget)).ToArray();
    }

    /// <summary>How many data rows of the file were left out (0: none).</summary>
    public int Count { get; }

    /// <summary>The columns whose missing cells left the rows out, each with how many of them miss a value there: the
    /// feature columns in the data set's order, then the target. A row counts under every such column it misses (so
    /// the counts may sum to more than <see cref="Count"/>); only columns with at least one such row are listed.</summary>
    public IReadOnlyList<DroppedColumn> Columns { get; }
}

/// <summary>Conversions of the data enums.</summary>
internal static class DataInterop
{
    // paramName: the C# parameter or property the value came from (the options' property by default).
    internal static FN.ScalingKind ToCore(this Scaling s, string paramName = nameof(PipelineOptions.Scaling)) => s switch
    {
        Scaling.None => FN.ScalingKind.Identity,
        Scaling.Standard => FN.ScalingKind.Standard,
        Scaling.MinMax => FN.ScalingKind.MinMax,
        _ => throw new ArgumentOutOfRangeException(paramName, s, $"{paramName} is {(int)s}, not a Scaling (None, Standard or MinMax)."),
    };

    internal static FN.MissingPolicy ToCore(this MissingValues m, string paramName = nameof(CsvFormat.Missing)) => m switch
    {
        MissingValues.Error => FN.MissingPolicy.Error,
        MissingValues.Drop => FN.MissingPolicy.Drop,
        MissingValues.Mean => FN.MissingPolicy.Mean,
        MissingValues.Median => FN.MissingPolicy.Median,
        MissingValues.MostFrequent => FN.MissingPolicy.MostFrequent,
        _ => throw new ArgumentOutOfRangeException(paramName, m, $"{paramName} is {(int)m}, not a MissingValues (Error, Drop, Mean, Median or MostFrequent)."),
    };

    internal static MissingValues FromCore(FN.MissingPolicy m) =>
        m.IsDrop ? MissingValues.Drop : m.IsMean ? MissingValues.Mean : m.IsMedian ? MissingValues.Median
        : m.IsMostFrequent ? MissingValues.MostFrequent : MissingValues.Error;

    internal static FN.UnknownCategory ToCore(this UnknownCategory u, string paramName = "unknownCategory") => u switch
    {
        UnknownCategory.Error => FN.UnknownCategory.Error,
        UnknownCategory.Zeros => FN.UnknownCategory.Zeros,
        _ => throw new ArgumentOutOfRangeException(paramName, u, $"{paramName} is {(int)u}, not an UnknownCategory."),
    };

    internal static Scaling FromCore(FN.ScalingKind s) =>
        s.IsStandard ? Scaling.Standard : s.IsMinMax ? Scaling.MinMax : Scaling.None;

    internal static Matrix<double> Column(double[] values) => Matrix<double>.Build.Dense(values.Length, 1, (i, _) => values[i]);
}

/// <summary>A per-column scaling fitted on training data: x' = (x - Offset) / Scale. Fit it on the training rows
/// only and apply it to everything else (a <see cref="Pipeline"/> does this itself).</summary>
public sealed class FeatureScaler
{
    private FeatureScaler(FN.Scaler core) => Core = core;

    internal FN.Scaler Core { get; }

    /// <summary>Fits a scaler on <paramref name="x"/> (n x d): standardisation (mean, standard deviation in the
    /// 1/n form), min-max (minimum, max - min) or none. A constant column gets scale 1.</summary>
    /// <exception cref="ArgumentException">x is empty or holds NaN or infinity (ParamName "x").</exception>
    public static FeatureScaler Fit(double[,] x, Scaling scaling = Scaling.Standard) =>
        new(FN.ScalerModule.fit(scaling.ToCore(nameof(scaling)), Interop.ToMatrix(x, nameof(x))));

    /// <summary>How it was fitted.</summary>
    public Scaling Scaling => DataInterop.FromCore(Core.Kind);

    /// <summary>The offset of each column.</summary>
    public double[] Offset => (double[])Core.Offset.Clone();

    /// <summary>The scale of each column (positive).</summary>
    public double[] Scale => (double[])Core.Scale.Clone();

    /// <summary>(x - Offset) / Scale, column by column, as a new array.</summary>
    /// <exception cref="ArgumentException">x has another number of columns (ParamName "x").</exception>
    public double[,] Transform(double[,] x) => FN.ScalerModule.transform(Core, Interop.ToMatrix(x, nameof(x))).ToArray();

    /// <summary>x' Scale + Offset: the inverse of <see cref="Transform"/>.</summary>
    public double[,] Inverse(double[,] x) => FN.ScalerModule.inverse(Core, Interop.ToMatrix(x, nameof(x))).ToArray();
}
