using FunctionalNN;

// A CSV file with a header row and a text target column: here Iris, written out from the
// library's embedded copy; in your program, your own file.
string folder = Directory.CreateTempSubdirectory("fnn-quickstart").FullName;
string csv = Path.Combine(folder, "iris.csv");
Dataset.Embedded("iris").SaveCsv(csv);

// Load it: numeric features, classes from the text column "species". Split 80/20, stratified.
Dataset data = Dataset.LoadCsv(csv, target: "species");
DatasetSplit split = data.SplitStratified(testFraction: 0.2, seed: 1);

// Train: inputs standardised on the training rows, a 4-16-3 tanh network, Adam on minibatches.
var options = new PipelineOptions
{
    HiddenLayers = new[] { 16 },
    Training = new TrainingOptions
    {
        Optimizer = Optimizer.Adam(), Schedule = Schedule.Constant(0.01),
        Batching = Batching.MiniBatch(16), MaxEpochs = 100, Seed = 1,
    },
};
Pipeline model = Pipeline.Fit(split.Train, options).Model;

// Evaluate on the test rows.
ClassificationReport report = model.Evaluate(split.Test).Classification;
Console.WriteLine($"test accuracy {report.Accuracy:F3}, macro F1 {report.MacroF1:F3}");

// Save, load, predict: the loaded model predicts exactly what the trained one does.
string path = Path.Combine(folder, "iris.fnn");
model.Save(path);
Pipeline loaded = Pipeline.Load(path);
double[,] x = loaded.FeaturesOf(split.Test); // the model's inputs, by column name (a text column's categories as the model's indices)
string[] predicted = loaded.PredictClassNames(x);
bool same = predicted.SequenceEqual(model.PredictClassNames(x));
Console.WriteLine($"first test flower: {predicted[0]}; loaded model agrees: {same}");
Directory.Delete(folder, recursive: true);
