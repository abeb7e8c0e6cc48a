using FunctionalNN;

// XOR: four samples, one per row, and their targets.
double[,] x = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };
double[,] y = { { 0 }, { 1 }, { 1 }, { 0 } };

// A 2-3-1 network: tanh hidden layer, sigmoid output, weights drawn from seed 7.
Network net = new NetworkBuilder(inputs: 2)
    .Dense(3, Activation.Tanh)
    .Dense(1, Activation.Sigmoid)
    .Seed(7)
    .Build();

// Backpropagation against central differences over every weight and bias.
GradientCheckResult check = net.CheckGradients(x, y, Loss.BinaryCrossEntropy);
Console.WriteLine($"gradient check: largest relative error {check.MaxRelativeError:E1}");

// Gradient descent returns a new network; net itself never changes.
Network trained = net.TrainGradientDescent(x, y, Loss.BinaryCrossEntropy, learningRate: 2.0, steps: 2000);
double[,] p = trained.Predict(x);
Console.WriteLine($"loss {net.Loss(x, y, Loss.BinaryCrossEntropy):F3} -> {trained.Loss(x, y, Loss.BinaryCrossEntropy):F3}");
Console.WriteLine($"XOR predictions: {p[0, 0]:F2} {p[1, 0]:F2} {p[2, 0]:F2} {p[3, 0]:F2}");
