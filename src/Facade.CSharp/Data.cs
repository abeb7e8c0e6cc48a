using MathNet.Numerics.LinearAlgebra;
using Microsoft.FSharp.Core;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>How the target column of a CSV file is read.</summary>
public enum TargetKind
{
    /// <summary>Numbers mean regression; any text in the column means classes.</summary>
    Auto,
    /// <summary>Numbers, one per row.</summary>
    Regression,
    /// <summary>Class names, whatever they look like ("0" .. "9" are class names too).</summary>
    Classification,
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

/// <summary>A table of samples: numeric features (one sample per row) with their names, and a target that is
/// either numbers (regression) or classes. Immutable; every property returns a copy.</summary>
/// <example><code>
/// var data = Dataset.LoadCsv("flowers.csv", target: "species");
/// var split = data.SplitStratified(testFraction: 0.2, seed: 1);
/// </code></example>
public sealed class Dataset
{
    internal Dataset(FN.Dataset core) => Core = core;

    internal FN.Dataset Core { get; }

    /// <summary>Loads a CSV file: a header row, numeric feature columns, and the target column
    /// <paramref name="target"/> (null: the last column).</summary>
    /// <param name="path">The file.</param>
    /// <param name="target">The target column's name, or null for the last column.</param>
    /// <param name="targetKind">How the target is read (Auto: numbers mean regression, text means classes).</param>
    /// <param name="features">The feature columns in order, or null for every column but the target.</param>
    /// <param name="classNames">Known class names in index order (a model's): another label is an error.</param>
    /// <exception cref="FN.DataFormatException">A ragged row, a missing or non-numeric value, a missing target
    /// column, an empty file, an unknown class: the message names the line, the column and the text.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static Dataset LoadCsv(string path, string? target = null, TargetKind targetKind = TargetKind.Auto,
        string[]? features = null, string[]? classNames = null)
    {
        FN.ModelFile.checkReadablePath(nameof(path), "data file", path);
        return new(FN.Csv.load(Options(target, targetKind, features, classNames, true), path));
    }

    /// <summary>Parses CSV text as <see cref="LoadCsv"/> reads a file.</summary>
    /// <param name="text">The CSV text.</param>
    /// <param name="target">The target column's name, or null for the last column.</param>
    /// <param name="targetKind">How the target is read.</param>
    /// <param name="features">The feature columns in order, or null.</param>
    /// <param name="classNames">Known class names in index order, or null.</param>
    public static Dataset ParseCsv(string text, string? target = null, TargetKind targetKind = TargetKind.Auto,
        string[]? features = null, string[]? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new(FN.Csv.loadText(Options(target, targetKind, features, classNames, true), text));
    }

    /// <summary>An embedded data set by name: "iris" (150 flowers, 3 species), "digits" (1797 8x8 images,
    /// 10 classes) or "commute" (the notes' 5-row regression example).</summary>
    /// <exception cref="ArgumentException">An unknown name (ParamName "name").</exception>
    public static Dataset Embedded(string name) => new(FN.Datasets.load(name));

    /// <summary>The names <see cref="Embedded"/> accepts.</summary>
    public static IReadOnlyList<string> EmbeddedNames => (string[])FN.Datasets.names.Clone();

    internal static FN.CsvOptions Options(string? target, TargetKind kind, string[]? features, string[]? classNames, bool requireTarget) =>
        new(target is null ? FSharpOption<string>.None : FSharpOption<string>.Some(target),
            kind switch
            {
                TargetKind.Auto => FN.TargetKind.Auto,
                TargetKind.Regression => FN.TargetKind.Regression,
                TargetKind.Classification => FN.TargetKind.Classification,
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown target kind."),
            },
            features is null ? FSharpOption<string[]>.None : FSharpOption<string[]>.Some((string[])features.Clone()),
            classNames is null ? FSharpOption<string[]>.None : FSharpOption<string[]>.Some((string[])classNames.Clone()),
            requireTarget);

    /// <summary>The number of samples (rows).</summary>
    public int SampleCount => Core.SampleCount;

    /// <summary>The number of features (columns).</summary>
    public int FeatureCount => Core.FeatureCount;

    /// <summary>The features, SampleCount x FeatureCount.</summary>
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

    /// <summary>The regression target of each sample (empty for classification).</summary>
    public double[] Values => Core.Target is FN.Target.Values v ? (double[])v.values.Clone() : Array.Empty<double>();

    /// <summary>The samples whose row indices are given, in that order.</summary>
    public Dataset SelectRows(int[] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new(FN.DatasetModule.selectRows(rows, Core));
    }

    /// <summary>Writes the data as a CSV file: the feature columns, then the target column (class names or
    /// numbers written so that they read back exactly).</summary>
    /// <param name="path">The file.</param>
    /// <param name="overwriteReadOnly">Replace a read-only file (otherwise refused with UnauthorizedAccessException).</param>
    /// <remarks>Saved as model files are (<see cref="ModelFile"/>): atomically, through a symbolic link to its target,
    /// keeping the replaced file's permissions.</remarks>
    public void SaveCsv(string path, bool overwriteReadOnly = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        FN.ModelFile.writeAtomicOptions(FN.SaveOptions.Default.WithOverwriteReadOnly(overwriteReadOnly), path,
            new System.Text.UTF8Encoding(false).GetBytes(FN.Csv.ofDataset(Core)));
    }

    /// <summary>The named feature columns only, in the given order.</summary>
    /// <exception cref="ArgumentException">An unknown column (ParamName "names").</exception>
    public Dataset SelectFeatures(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return new(FN.DatasetModule.selectFeatures(names, Core));
    }

    /// <summary>Reads the named numeric columns of a CSV file (in that order), for prediction: the file need
    /// not have a target column. Errors name the line, the column and the text.</summary>
    /// <param name="path">The file.</param>
    /// <param name="features">The columns to read, e.g. a model's <see cref="Pipeline.FeatureNames"/>.</param>
    public static double[,] LoadCsvFeatures(string path, string[] features)
    {
        FN.ModelFile.checkReadablePath(nameof(path), "data file", path);
        ArgumentNullException.ThrowIfNull(features);
        return FN.Csv.numericColumns(features, FN.Csv.readFile(path)).ToArray();
    }

    /// <summary>A train/test split drawn from <paramref name="seed"/>: stratified by class for a classification
    /// (each class keeps its share in both parts), a plain shuffle for a regression.</summary>
    /// <param name="testFraction">The share of rows in the test part, strictly between 0 and 1.</param>
    /// <param name="seed">The seed of the library's generator.</param>
    public DatasetSplit SplitStratified(double testFraction, long seed)
    {
        var rng = FN.RngModule.create(seed);
        var split = IsClassification
            ? FN.Split.stratified(testFraction, Core.Labels, rng).Item1
            : FN.Split.shuffled(testFraction, SampleCount, rng).Item1;
        return new DatasetSplit(SelectRows(split.Train), SelectRows(split.Test), split.Train, split.Test);
    }

    /// <summary>k folds drawn from <paramref name="seed"/> (stratified by class for a classification): fold f's
    /// test part is its rows, its training part all the others.</summary>
    /// <param name="k">The number of folds (2 .. SampleCount).</param>
    /// <param name="seed">The seed of the library's generator.</param>
    public IReadOnlyList<DatasetSplit> KFold(int k, long seed)
    {
        var rng = FN.RngModule.create(seed);
        var folds = IsClassification ? FN.Split.stratifiedKFold(k, Core.Labels, rng).Item1 : FN.Split.kFold(k, SampleCount, rng).Item1;
        return folds.Select(f => new DatasetSplit(SelectRows(f.Train), SelectRows(f.Test), f.Train, f.Test)).ToArray();
    }

    /// <summary>A short description: rows, features, target.</summary>
    public override string ToString() =>
        $"{SampleCount} rows, {FeatureCount} features, target {TargetName} ({(IsClassification ? $"{ClassNames.Length} classes" : "numeric")})";
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

/// <summary>Conversions of the data enums.</summary>
internal static class DataInterop
{
    internal static FN.ScalingKind ToCore(this Scaling s) => s switch
    {
        Scaling.None => FN.ScalingKind.Identity,
        Scaling.Standard => FN.ScalingKind.Standard,
        Scaling.MinMax => FN.ScalingKind.MinMax,
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, "Unknown scaling."),
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
        new(FN.ScalerModule.fit(scaling.ToCore(), Interop.ToMatrix(x, nameof(x))));

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
