using FunctionalNN;

// The main job: with no arguments, train a small network on the embedded Iris data and print its
// test accuracy. Written against the facade only.
var data = Datasets.Iris();
int n = data.Labels.Length, d = data.Features.GetLength(1), classes = data.ClassNames.Length;

// A fixed split: every fifth sample is a test sample (Iris is ordered by class, so each class
// gives 10 test samples and 40 training samples).
var train = Enumerable.Range(0, n).Where(i => i % 5 != 0).ToArray();
var test = Enumerable.Range(0, n).Where(i => i % 5 == 0).ToArray();

// Standardise with the training samples' means and standard deviations.
var mean = new double[d];
var sd = new double[d];
for (int j = 0; j < d; j++)
{
    mean[j] = train.Average(i => data.Features[i, j]);
    sd[j] = Math.Sqrt(train.Average(i => Math.Pow(data.Features[i, j] - mean[j], 2)));
}
double[,] Rows(int[] idx)
{
    var x = new double[idx.Length, d];
    for (int r = 0; r < idx.Length; r++)
        for (int j = 0; j < d; j++)
            x[r, j] = (data.Features[idx[r], j] - mean[j]) / sd[j];
    return x;
}

var net = new NetworkBuilder(d).Dense(16, Activation.Tanh).Dense(classes, Activation.Identity).Seed(1).Build();
var y = Labels.OneHot(train.Select(i => data.Labels[i]).ToArray(), classes);
var trained = net.TrainGradientDescent(Rows(train), y, Loss.SoftmaxCrossEntropy, learningRate: 0.5, steps: 500);

var predicted = Labels.ArgMax(trained.Predict(Rows(test)));
double accuracy = test.Where((i, k) => predicted[k] == data.Labels[i]).Count() / (double)test.Length;
Console.WriteLine($"Iris: {net.InputSize}-16-{classes} network, 500 steps of gradient descent, {train.Length} training samples");
Console.WriteLine($"test accuracy: {accuracy:F3} ({test.Length} test samples)");
