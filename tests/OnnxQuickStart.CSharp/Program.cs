using FunctionalNN;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

// 1. Train in C#, export the whole pipeline (scaling, network, softmax, class index), run it in ONNX Runtime.
var model = Pipeline.Fit(Dataset.Embedded("iris")).Model;
var onnxPath = Path.Combine(Path.GetTempPath(), "iris.onnx");
model.ExportOnnx(onnxPath);

double[] flower = { 6.3, 2.9, 5.6, 1.8 };
using (var session = new InferenceSession(onnxPath))
using (var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("features", new DenseTensor<double>(flower, new[] { 1, 4 })) }))
{
    long index = results.First(r => r.Name == "class_index").AsTensor<long>()[0];
    Console.WriteLine($"ONNX Runtime: {model.ClassNames[index]}; Functional.NN: {model.PredictClassNames(new[,] { { 6.3, 2.9, 5.6, 1.8 } })[0]}");
}

// 2. Train in PyTorch (torch.onnx.export of an nn.Sequential), import, predict and train further in C#.
var torchPath = args.Length > 0 ? args[0] : "mlp.onnx";
ImportedNetwork imported = OnnxModel.Import(torchPath);
Network net = imported.Network;                      // dense layers; a trailing nn.Softmax is reported:
Console.WriteLine($"{imported.Producer}: {net.Layers.Count} layers, softmax at the end: {imported.TrailingSoftmax}");
double[,] logits = net.Predict(new double[,] { { 1, 2, 3, 4 } });
Console.WriteLine($"logits: {string.Join(" ", Enumerable.Range(0, net.OutputSize).Select(j => logits[0, j].ToString("F4")))}");

// The imported network is a network like any other: export it again and read it back.
var againPath = Path.Combine(Path.GetTempPath(), "mlp-again.onnx");
net.ExportOnnx(againPath);
Console.WriteLine($"read back: {Network.ImportOnnx(againPath).ParameterCount} parameters");
