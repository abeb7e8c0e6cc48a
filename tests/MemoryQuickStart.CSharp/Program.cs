using FunctionalNN;

// From arrays: one row of features per sample and a label per row (int[] or string[] for classes,
// double[] for a regression target).
double[,] x =
{
    { 0.0, 0.1 }, { 0.2, 0.0 }, { 0.1, 0.3 }, { 0.9, 1.0 }, { 1.0, 0.7 }, { 0.8, 0.9 },
};
int[] labels = { 0, 0, 0, 1, 1, 1 };
Dataset small = Dataset.FromArrays(x, labels, featureNames: new[] { "width", "height" }, targetName: "kind");
Console.WriteLine($"from arrays: {small}; {small.TaskReason}");

// From objects, as ML.NET's LoadFromEnumerable: a selector for the features and one for the target.
House[] houses =
{
    new(50, 2, 150_000), new(65, 2, 190_000), new(80, 3, 230_000),
    new(100, 3, 280_000), new(120, 4, 330_000), new(140, 5, 400_000),
};
Dataset prices = Dataset.FromEnumerable(houses, h => new[] { h.Area, h.Rooms }, h => h.Price,
    featureNames: new[] { "area", "rooms" }, targetName: "price");
Console.WriteLine($"from objects: {prices}; {prices.TaskReason}");

// Both train like any data set (inputs and, for a regression, the target standardised inside the pipeline).
var options = new PipelineOptions
{
    HiddenLayers = new[] { 8 },
    Training = new TrainingOptions { Optimizer = Optimizer.Adam(), Schedule = Schedule.Constant(0.05), MaxEpochs = 300 },
};
Pipeline classifier = Pipeline.Fit(small, options).Model;
string[] kinds = classifier.PredictClassNames(new double[,] { { 0.1, 0.1 }, { 0.9, 0.8 } });
Console.WriteLine($"classifier predicts: {string.Join(" ", kinds)}");
Pipeline regressor = Pipeline.Fit(prices, options).Model;
double price = regressor.PredictValues(new double[,] { { 90, 3 } })[0];
Console.WriteLine($"regressor: a 90 m2 house with 3 rooms costs about {price:F0}");

record House(double Area, double Rooms, double Price);
