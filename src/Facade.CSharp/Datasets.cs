using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>A labelled classification data set: one sample per row, class indices, class and feature names.</summary>
public sealed class ClassificationDataset
{
    internal ClassificationDataset(FN.ClassificationData data)
    {
        Features = data.Features.ToArray();
        Labels = (int[])data.Labels.Clone();
        ClassNames = (string[])data.ClassNames.Clone();
        FeatureNames = (string[])data.FeatureNames.Clone();
    }

    /// <summary>The features, n x d.</summary>
    public double[,] Features { get; }

    /// <summary>The class index of each sample.</summary>
    public int[] Labels { get; }

    /// <summary>The class names, in index order.</summary>
    public string[] ClassNames { get; }

    /// <summary>The feature names, in column order.</summary>
    public string[] FeatureNames { get; }
}

/// <summary>The data sets embedded in the library.</summary>
public static class Datasets
{
    /// <summary>Fisher's Iris data: 150 samples, 4 measurements in cm, 3 species.</summary>
    public static ClassificationDataset Iris() => new(FN.Datasets.iris());
}
