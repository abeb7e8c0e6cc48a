// The ONNX benchmark (issue 15, must-show 3): single-row prediction of a PyTorch 784-256-128-10
// ReLU model (float32) exported by torch.onnx.export, imported by Functional.NN.Onnx.loadNetwork
// and run through the library's public single-row predictor (Network.predictor), against ONNX
// Runtime on the same file and against PyTorch itself, alternated round by round in the same run.
//
//   bash bench/run.sh onnx [--rounds N] [--calls C] [--python PATH]
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;

namespace Functional.NN.Bench;

internal static class OnnxBench
{
    /// <summary>Runs the benchmark; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        int rounds = 5, calls = 2000;
        string python = Environment.GetEnvironmentVariable("PYTHON") ?? "python3";
        for (int i = 0; i < args.Length; i++)
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(args[++i]); break;
                case "--calls": calls = int.Parse(args[++i]); break;
                case "--python": python = args[++i]; break;
                case "--quick": rounds = 1; calls = 300; break;
                default: Console.Error.WriteLine($"onnx bench: unknown option {args[i]}"); return 2;
            }
        string root = Paths.RepositoryRoot();
        string dir = Path.Combine(Path.GetTempPath(), "fnn-onnx-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var peer = Peer.Start(python, Path.Combine(root, "bench", "onnx_peer.py"));
            var info = peer.Ask(new JsonObject { ["workload"] = "info" })!;
            string model = Path.Combine(dir, "mlp.onnx");
            Check(peer.Ask(new JsonObject { ["workload"] = "export", ["path"] = model })!);
            Console.WriteLine($"ONNX benchmark: 784-256-128-10 ReLU float32 from torch {info["torch"]} ({info["torch_threads"]} threads), {rounds} rounds of {calls} single-row calls per side; CPU {Machine.CpuModel()}");

            // The three sides, on the same 64 rows (the peer's, seed 5).
            var imported = Functional.NN.Onnx.loadNetwork(model);
            var predictor = Functional.NN.NetworkModule.predictor(Functional.NN.NetworkModule.withPrecision(Functional.NN.Precision.Float32, imported.Network));
            var reference = peer.Ask(new JsonObject { ["workload"] = "outputs" })!["y"]!.AsArray();
            var rows = RowsOf(peer, imported.Network);
            using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
            using var session = new InferenceSession(model, options);
            var ort = new OrtSide(session, "x", "y");

            // Agreement before timing: the library and ONNX Runtime against PyTorch's outputs.
            double worstOurs = 0, worstOrt = 0;
            var output = new double[10];
            for (int r = 0; r < 64; r++)
            {
                predictor.Predict(rows[r], output);
                var o = ort.Predict(rows[r]);
                for (int j = 0; j < 10; j++)
                {
                    double t = (double)reference[r]![j]!;
                    worstOurs = Math.Max(worstOurs, Math.Abs(output[j] - t) / Math.Max(1, Math.Abs(t)));
                    worstOrt = Math.Max(worstOrt, Math.Abs(o[j] - t) / Math.Max(1, Math.Abs(t)));
                }
            }
            Console.WriteLine($"largest difference from PyTorch (relative to max(|y|, 1)): Functional.NN {worstOurs:E1}, ONNX Runtime {worstOrt:E1}");

            var ours = new List<double>();
            var onnx = new List<double>();
            var torch = new List<double>();
            void TimeOurs()
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < calls; i++) predictor.Predict(rows[i & 63], output);
                ours.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / calls);
            }
            void TimeOrt()
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < calls; i++) ort.Predict(rows[i & 63]);
                onnx.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / calls);
            }
            void TimeTorch()
            {
                var a = peer.Ask(new JsonObject { ["workload"] = "predict", ["calls"] = calls, ["reps"] = 1 })!;
                Check(a);
                torch.Add((double)a["times"]![0]!);
            }
            for (int i = 0; i < 200; i++) { predictor.Predict(rows[i & 63], output); ort.Predict(rows[i & 63]); }
            for (int round = 0; round < rounds; round++)
            {
                Machine.WaitForQuiet(0.15, TimeSpan.FromSeconds(30));
                if (round % 2 == 0) { TimeOurs(); TimeOrt(); TimeTorch(); }
                else { TimeTorch(); TimeOrt(); TimeOurs(); }
            }
            double mo = Stats.Median(ours) * 1e6, mr = Stats.Median(onnx) * 1e6, mt = Stats.Median(torch) * 1e6;
            Console.WriteLine();
            Console.WriteLine("side                                   median us/call   PyTorch / side   ONNX Runtime / side");
            Console.WriteLine($"Functional.NN (Network.predictor)  {mo,14:F2}   {mt / mo,14:F2}x   {mr / mo,19:F2}x");
            Console.WriteLine($"ONNX Runtime 1 thread                  {mr,14:F2}   {mt / mr,14:F2}x   {1.0,19:F2}x");
            Console.WriteLine($"PyTorch (no_grad, eval)                {mt,14:F2}   {1.0,14:F2}x   {mr / mt,19:F2}x");
            Console.WriteLine($"Functional.NN is {mt / mo:F1}x PyTorch (issue 15 asks for at least 5x) and {mr / mo:F2}x ONNX Runtime (the goal is 1).");
            peer.Ask(new JsonObject { ["workload"] = "quit" }, expectAnswer: false);
            return 0;
        }
        finally { Directory.Delete(dir, true); }
    }

    private static void Check(JsonNode answer)
    {
        if (answer["error"] is JsonNode e) throw new InvalidOperationException("the PyTorch side failed: " + e);
    }

    /// <summary>The peer's 64 rows (seed 5), as float64 values of float32 numbers.</summary>
    private static double[][] RowsOf(Peer peer, Functional.NN.Network net)
    {
        // torch.rand with generator seed 5 is the peer's; ask it rather than re-implement it.
        var a = peer.Ask(new JsonObject { ["workload"] = "rows" });
        if (a?["rows"] is JsonArray rows) return rows.Select(r => r!.AsArray().Select(v => (double)v!).ToArray()).ToArray();
        throw new InvalidOperationException($"the PyTorch side sent no rows for a {net.InputSize}-input network");
    }

    /// <summary>ONNX Runtime's single-row call through pre-bound input and output buffers.</summary>
    private sealed class OrtSide
    {
        private readonly InferenceSession _session;
        private readonly float[] _in = new float[784], _out = new float[10];
        private readonly OrtValue _x, _y;
        private readonly string[] _inputs, _outputs;
        private readonly RunOptions _run = new();

        public OrtSide(InferenceSession session, string input, string output)
        {
            _session = session;
            _x = OrtValue.CreateTensorValueFromMemory(_in, new long[] { 1, 784 });
            _y = OrtValue.CreateTensorValueFromMemory(_out, new long[] { 1, 10 });
            _inputs = new[] { input };
            _outputs = new[] { output };
        }

        public float[] Predict(double[] row)
        {
            for (int j = 0; j < 784; j++) _in[j] = (float)row[j];
            _session.Run(_run, _inputs, new[] { _x }, _outputs, new[] { _y });
            return _out;
        }
    }
}
