// The Functional.NN benchmark (issue 7): workloads W1..W4 for Functional.NN's kernels and for the
// PyTorch / numpy (OpenBLAS) peer, alternated round by round in the same run. Prints a table and
// writes bench/results/latest.json. See bench/README.md.
//
//   dotnet run -c Release --project bench/Bench.CSharp -- [--rounds N] [--quick] [--no-peer]
//       [--python PATH] [--out FILE] [--only W1,W4]
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Functional.NN.Bench;
using Functional.NN.Kernels;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "onnx") return OnnxBench.Run(args[1..]); // issue 15: bench/Bench.CSharp/OnnxBench.cs

var options = Options.Parse(args);
string root = Paths.RepositoryRoot();
string outFile = options.Out ?? Path.Combine(root, "bench", "results", "latest.json");

Console.WriteLine($"Functional.NN benchmark: {options.Rounds} rounds, {Environment.ProcessorCount} cores, .NET {Environment.Version}, " +
                  $"AVX-512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, worker threads {WorkerPool.Threads}");
Console.WriteLine($"CPU busy before the run (other processes): {Machine.BusyFraction(500):P0}; load average {Machine.LoadAverage()}");

using Peer? peer = options.NoPeer ? null : Peer.Start(options.Python, Path.Combine(root, "bench", "torch_peer.py"));
JsonNode? peerInfo = peer?.Ask(new JsonObject { ["workload"] = "info" });
if (peerInfo is not null) Console.WriteLine($"Peer: torch {peerInfo["torch"]}, numpy {peerInfo["numpy"]}, {peerInfo["torch_threads"]} threads, OMP_WAIT_POLICY={peerInfo["omp_wait_policy"]}");

// The plan: every item runs once per round for each side, the order of the sides alternating.
var items = new List<Item>();
foreach (string dtype in new[] { "float32", "float64" })
{
    bool f32 = dtype == "float32";
    items.Add(new Item("W1", dtype, null, f32 ? new W1<float>() : new W1<double>(), options.Quick ? 1 : 2));
    // W1 through the core's public trainer: Trainer.train with plain SGD on the kernels backend (converting the data, the shuffled batches and the divergence checks included).
    items.Add(new Item("W1-api", dtype, null, new W1Api(f32), options.Quick ? 1 : 2));
    items.Add(new Item("W2", dtype, null, f32 ? new W2<float>() : new W2<double>(), 1));
    items.Add(new Item("W3-1core", dtype, null, f32 ? new W3<float>(false) : new W3<double>(false), options.Quick ? 1 : 3));
    // The same prediction with its largest layer split over both cores (Predict(..., parallel: true)).
    items.Add(new Item("W3-parallel", dtype, null, f32 ? new W3<float>(true) : new W3<double>(true), options.Quick ? 1 : 3));
    // W3 through the core's public single-sample predictor (Network.predictor, float64 spans in and out).
    items.Add(new Item("W3-api", dtype, null, new W3Api(f32), options.Quick ? 1 : 3));
}
foreach (string dtype in new[] { "float64", "float32" })
    foreach (int n in options.Quick ? new[] { 256, 1024 } : new[] { 256, 512, 1024, 2048 })
        items.Add(new Item("W4", dtype, n, dtype == "float32" ? new W4<float>(n) : new W4<double>(n), options.Quick ? 1 : 2));
items.RemoveAll(i => options.Only is not null && !options.Only.Contains(i.Workload.Split('-')[0]));

foreach (var item in items) item.Ours.Setup();
var started = DateTime.UtcNow;
var busyPerRound = new JsonArray();
for (int round = 0; round < options.Rounds; round++)
{
    // The machine may be shared: wait (a bounded time) for other processes to go quiet.
    double busy = Machine.WaitForQuiet(0.15, TimeSpan.FromSeconds(options.QuietWaitSeconds));
    busyPerRound.Add(Math.Round(busy, 3));
    foreach (var item in items)
    {
        bool oursFirst = round % 2 == 0;
        if (oursFirst) item.RunOurs();
        if (peer is not null) item.RunPeer(peer);
        if (!oursFirst) item.RunOurs();
    }
    Console.WriteLine($"round {round + 1}/{options.Rounds} done ({(DateTime.UtcNow - started).TotalSeconds:F0} s; other processes {busy:P0} busy before it)");
}

var results = new JsonObject();
Console.WriteLine();
Console.WriteLine("workload  precision  size   Functional.NN       peer                ratio     target   met");
foreach (var item in items)
{
    var r = item.Summarise();
    string key = item.Size is int s ? $"{item.Workload}/{item.Dtype}/{s}" : $"{item.Workload}/{item.Dtype}";
    results[key] = r;
    Console.WriteLine($"{item.Workload,-9} {item.Dtype,-10} {(item.Size?.ToString() ?? "-"),-6} {r["ours_display"],-19} {r["peer_display"] ?? "-",-19} " +
                      $"{(r["ratio"] is JsonNode ra ? ((double)ra).ToString("F2") + "x" : "-"),-9} {r["target"]?.ToString() ?? "-",-8} {r["met"]?.ToString() ?? "-"}");
}

var doc = new JsonObject
{
    ["command"] = "bash bench/run.sh" + (args.Length > 0 ? " " + string.Join(' ', args) : ""),
    ["date_utc"] = started.ToString("yyyy-MM-ddTHH:mm:ssZ"),
    ["duration_s"] = Math.Round((DateTime.UtcNow - started).TotalSeconds, 1),
    ["rounds"] = options.Rounds,
    ["machine"] = new JsonObject
    {
        ["cores"] = Environment.ProcessorCount,
        ["cpu"] = Machine.CpuModel(),
        ["os"] = RuntimeInformation.OSDescription,
        ["dotnet"] = Environment.Version.ToString(),
        ["avx512"] = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated,
        ["functional_nn_threads"] = WorkerPool.Threads,
        ["load_average_at_end"] = Machine.LoadAverage(),
        ["cpu_busy_before_each_round"] = busyPerRound,
    },
    ["peer"] = peerInfo?.DeepClone(),
    ["notes"] = "ratio: for W1-W3 the peer's median time over Functional.NN's (higher is better for Functional.NN); " +
                "for W4 Functional.NN's GFLOP/s over OpenBLAS's (numpy). Medians over all rounds; sides alternate within each round.",
    ["results"] = results,
};
Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
File.WriteAllText(outFile, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
Console.WriteLine();
Console.WriteLine($"wrote {Path.GetRelativePath(Environment.CurrentDirectory, outFile)}");
peer?.Ask(new JsonObject { ["workload"] = "quit" }, expectAnswer: false);
return 0;

namespace Functional.NN.Bench
{
    /// <summary>One workload, precision and size: our side, the peer's side, their samples.</summary>
    internal sealed class Item(string workload, string dtype, int? size, IWorkload ours, int reps, bool peer = true)
    {
        public string Workload { get; } = workload;
        public string Dtype { get; } = dtype;
        public int? Size { get; } = size;
        public IWorkload Ours { get; } = ours;
        /// <summary>False for an item without a PyTorch counterpart (W1-api-prepare).</summary>
        public bool HasPeer { get; } = peer;
        private readonly List<double> _ours = new(), _peer = new();
        private long _maxThreadBytesPerStep, _maxTotalBytesPerStep;
        private string? _peerError;

        public void RunOurs()
        {
            for (int i = 0; i < reps; i++)
            {
                var m = Ours.Measure();
                _ours.Add(m.Seconds);
                _maxThreadBytesPerStep = Math.Max(_maxThreadBytesPerStep, m.ThreadBytesPerStep);
                _maxTotalBytesPerStep = Math.Max(_maxTotalBytesPerStep, m.TotalBytesPerStep);
            }
        }

        public void RunPeer(Peer peer)
        {
            if (!HasPeer) return;
            var cmd = new JsonObject { ["workload"] = Workload.Split('-')[0], ["dtype"] = Dtype, ["reps"] = reps };
            if (Size is int s) { cmd["size"] = s; cmd["inner"] = Ours.Inner; }
            if (Workload.StartsWith("W3", StringComparison.Ordinal)) cmd["calls"] = Ours.Inner;
            var answer = peer.Ask(cmd)!;
            if (answer["error"] is JsonNode err) { _peerError = err.ToString(); return; }
            foreach (var t in answer["times"]!.AsArray()) _peer.Add((double)t!);
        }

        public JsonObject Summarise()
        {
            double ours = Stats.Median(_ours);
            double? peer = _peer.Count > 0 ? Stats.Median(_peer) : null;
            var o = new JsonObject();
            bool w3 = Workload.StartsWith("W3", StringComparison.Ordinal);
            string unit = w3 ? "us" : "ms";
            double scale = w3 ? 1e6 : 1e3;
            o["unit"] = Workload == "W4" ? "GFLOP/s" : unit;
            if (Workload == "W4")
            {
                double flops = 2.0 * Size!.Value * Size.Value * Size.Value;
                double g = flops / ours / 1e9;
                o["functional_nn_gflops"] = Math.Round(g, 1);
                o["functional_nn_median_ms"] = Math.Round(ours * 1e3, 3);
                o["ours_display"] = $"{g:F1} GFLOP/s";
                if (peer is double p)
                {
                    double pg = flops / p / 1e9;
                    o["openblas_gflops"] = Math.Round(pg, 1);
                    o["openblas_median_ms"] = Math.Round(p * 1e3, 3);
                    o["peer_display"] = $"{pg:F1} GFLOP/s";
                    o["ratio"] = Math.Round(g / pg, 3);
                    o["met"] = g / pg >= 0.9;
                }
                o["target"] = ">= 0.9";
            }
            else
            {
                o["functional_nn_median"] = Math.Round(ours * scale, 3);
                o["functional_nn_samples"] = new JsonArray(_ours.Select(x => (JsonNode)Math.Round(x * scale, 3)).ToArray());
                o["ours_display"] = $"{ours * scale:F2} {unit}";
                if (peer is double p)
                {
                    o["pytorch_median"] = Math.Round(p * scale, 3);
                    o["pytorch_samples"] = new JsonArray(_peer.Select(x => (JsonNode)Math.Round(x * scale, 3)).ToArray());
                    o["peer_display"] = $"{p * scale:F2} {unit}";
                    o["ratio"] = Math.Round(p / ours, 3);
                }
                double target = Workload.StartsWith("W1", StringComparison.Ordinal) ? 1.2 : 5.0;
                // An item without a peer side (W1-api-prepare) has no ratio and so no target.
                if (HasPeer) o["target"] = $">= {target}";
                if (peer is double p2) o["met"] = p2 / ours >= target;
                if (!w3)
                {
                    o["bytes_allocated_per_step_thread"] = _maxThreadBytesPerStep;
                    o["bytes_allocated_per_step_process"] = _maxTotalBytesPerStep;
                }
            }
            if (_peerError is not null) o["peer_error"] = _peerError;
            return o;
        }
    }

    internal readonly record struct Measurement(double Seconds, long ThreadBytesPerStep, long TotalBytesPerStep)
    {
        /// <summary>Times one run of <paramref name="run"/> and the bytes it allocates per step, on this thread and in the process.</summary>
        public static Measurement Of(Action run, int steps)
        {
            long th = GC.GetAllocatedBytesForCurrentThread(), tot = GC.GetTotalAllocatedBytes(true);
            long t0 = Stopwatch.GetTimestamp();
            run();
            long t1 = Stopwatch.GetTimestamp();
            long th1 = GC.GetAllocatedBytesForCurrentThread(), tot1 = GC.GetTotalAllocatedBytes(true);
            return new Measurement((t1 - t0) / (double)Stopwatch.Frequency, (th1 - th) / steps, (tot1 - tot) / steps);
        }
    }

    internal interface IWorkload
    {
        /// <summary>W3: calls per measurement; W4: products per measurement.</summary>
        int Inner { get; }
        void Setup();
        Measurement Measure();
    }

    /// <summary>W1: one epoch of 784-256-128-10 ReLU, softmax cross-entropy, SGD, batch 128, 8192 samples.</summary>
    internal sealed class W1<T> : IWorkload where T : unmanaged, IFloatingPointIeee754<T>
    {
        private const int Samples = 8192, Batch = 128;
        private DenseTrainer<T> _trainer = null!;
        private T[] _x = null!, _y = null!;
        public int Inner => 1;

        public void Setup()
        {
            _trainer = new DenseTrainer<T>(784, new[] { new DenseLayerSpec(256, ActivationKind.ReLU), new DenseLayerSpec(128, ActivationKind.ReLU), new DenseLayerSpec(10, ActivationKind.Identity) },
                LossKind.SoftmaxCrossEntropy, Batch);
            _trainer.InitializeGlorot(1);
            var rng = new Random(2);
            _x = new T[Samples * 784];
            for (int i = 0; i < _x.Length; i++) _x[i] = T.CreateTruncating(rng.NextDouble());
            _y = new T[Samples * 10];
            for (int i = 0; i < Samples; i++) _y[i * 10 + rng.Next(10)] = T.One;
            Epoch();
            Epoch();
        }

        private double Epoch()
        {
            double loss = 0;
            T rate = T.CreateTruncating(0.01);
            for (int s = 0; s < Samples; s += Batch)
                loss = _trainer.Step(_x.AsSpan(s * 784, Batch * 784), _y.AsSpan(s * 10, Batch * 10), rate);
            return loss;
        }

        public Measurement Measure() => Measurement.Of(() => Epoch(), Samples / Batch);
    }

    /// <summary>
    /// W1 through the library's public trainer: one call of Functional.NN.Trainer.train for one epoch
    /// of plain minibatch SGD on the kernels backend, from the float64 matrices (converted in the call;
    /// made once), a new Network out. The time includes a fresh trainer holding a copy of the
    /// network, gathering the shuffled minibatches, the divergence checks (one parameter copy and
    /// one scan per epoch, the loss per step) and copying the network back out.
    /// </summary>
    internal sealed class W1Api(bool f32) : IWorkload
    {
        internal const int Samples = 8192, Batch = 128;
        private Functional.NN.Network _net = null!;
        private Functional.NN.TrainingData _data = null!;
        private Functional.NN.TrainingOptions _options = null!;
        internal Functional.NN.Precision Precision => f32 ? Functional.NN.Precision.Float32 : Functional.NN.Precision.Float64;
        public int Inner => 1;

        /// <summary>W1's network (784-256-128-10 ReLU, the core's default initialisation, seed 1).</summary>
        internal static Functional.NN.Network Network()
        {
            static Functional.NN.LayerSpec Spec(int units, Functional.NN.Activation a) => Functional.NN.LayerSpec.Of(units, a);
            return Functional.NN.NetworkModule.init(784, new[] { Spec(256, Functional.NN.Activation.ReLU), Spec(128, Functional.NN.Activation.ReLU), Spec(10, Functional.NN.Activation.Identity) }, 1L);
        }

        /// <summary>W1's data: 8192 x 784 uniform inputs, one-hot targets of 10 classes (seed 2).</summary>
        internal static (MathNet.Numerics.LinearAlgebra.Matrix<double> X, MathNet.Numerics.LinearAlgebra.Matrix<double> Y) Data()
        {
            var rng = new Random(2);
            var x = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(Samples, 784, (_, _) => rng.NextDouble());
            var y = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(Samples, 10);
            for (int i = 0; i < Samples; i++) y[i, rng.Next(10)] = 1.0;
            return (x, y);
        }

        public void Setup()
        {
            _net = Functional.NN.NetworkModule.withPrecision(Precision, Network());
            var (x, y) = Data();
            _data = Functional.NN.TrainingData.Of(x, y);
            _options = Functional.NN.TrainingOptions.Default.WithBatching(Functional.NN.BatchingModule.miniBatch(Batch))
                .WithSchedule(Functional.NN.Schedule.NewConstant(0.01)).WithMaxEpochs(1).WithSeed(3L);
            Epoch();
            Epoch();
        }

        private double Epoch() =>
            Functional.NN.Trainer.train(_options, Functional.NN.Loss.SoftmaxCrossEntropy, _data, _net).History.Head.TrainLoss;

        public Measurement Measure() => Measurement.Of(() => Epoch(), Samples / Batch);
    }

    /// <summary>W2: 2-16-16-1 tanh, MSE, full-batch gradient descent on 1000 samples, 2000 steps.</summary>
    internal sealed class W2<T> : IWorkload where T : unmanaged, IFloatingPointIeee754<T>
    {
        private const int Samples = 1000, Steps = 2000;
        private DenseTrainer<T> _trainer = null!;
        private T[] _x = null!, _y = null!;
        public int Inner => 1;

        public void Setup()
        {
            _trainer = new DenseTrainer<T>(2, new[] { new DenseLayerSpec(16, ActivationKind.Tanh), new DenseLayerSpec(16, ActivationKind.Tanh), new DenseLayerSpec(1, ActivationKind.Identity) },
                LossKind.MeanSquaredError, Samples);
            _trainer.InitializeGlorot(4);
            var rng = new Random(3);
            _x = new T[Samples * 2];
            _y = new T[Samples];
            for (int i = 0; i < Samples; i++)
            {
                double a = 2 * rng.NextDouble() - 1, b = 2 * rng.NextDouble() - 1;
                _x[2 * i] = T.CreateTruncating(a);
                _x[2 * i + 1] = T.CreateTruncating(b);
                _y[i] = T.CreateTruncating(Math.Sin(3 * a) * b);
            }
            Run(100);
        }

        private double Run(int steps)
        {
            double loss = 0;
            T rate = T.CreateTruncating(0.05);
            for (int s = 0; s < steps; s++) loss = _trainer.Step(_x, _y, rate);
            return loss;
        }

        public Measurement Measure() => Measurement.Of(() => Run(Steps), Steps);
    }

    /// <summary>W3: predict one sample through W1's network (latency per call).</summary>
    internal sealed class W3<T>(bool parallel) : IWorkload where T : unmanaged, IFloatingPointIeee754<T>
    {
        private DenseTrainer<T> _trainer = null!;
        private T[] _x = null!, _out = null!;
        public int Inner => 2000;

        public void Setup()
        {
            _trainer = new DenseTrainer<T>(784, new[] { new DenseLayerSpec(256, ActivationKind.ReLU), new DenseLayerSpec(128, ActivationKind.ReLU), new DenseLayerSpec(10, ActivationKind.Identity) },
                LossKind.SoftmaxCrossEntropy, 1);
            _trainer.InitializeGlorot(1);
            var rng = new Random(5);
            _x = new T[64 * 784];
            for (int i = 0; i < _x.Length; i++) _x[i] = T.CreateTruncating(rng.NextDouble());
            _out = new T[10];
            Run(2000);
        }

        private void Run(int calls)
        {
            for (int i = 0; i < calls; i++) _trainer.Predict(_x.AsSpan((i & 63) * 784, 784), _out, parallel);
        }

        public Measurement Measure()
        {
            long t0 = Stopwatch.GetTimestamp();
            Run(Inner);
            long t1 = Stopwatch.GetTimestamp();
            return new Measurement((t1 - t0) / (double)Stopwatch.Frequency / Inner, 0, 0);
        }
    }

    /// <summary>
    /// W3 through the library's public single-sample predictor (Network.predictor): W1's network,
    /// W3's 64 inputs (seed 5) cycled, float64 spans in and out (converted inside for float32).
    /// </summary>
    internal sealed class W3Api(bool f32) : IWorkload
    {
        private Functional.NN.Predictor _predictor = null!;
        private double[] _x = null!, _out = null!;
        public int Inner => 2000;

        public void Setup()
        {
            _predictor = Functional.NN.NetworkModule.predictor(Functional.NN.NetworkModule.withPrecision(f32 ? Functional.NN.Precision.Float32 : Functional.NN.Precision.Float64, W1Api.Network()));
            var rng = new Random(5);
            _x = new double[64 * 784];
            for (int i = 0; i < _x.Length; i++) _x[i] = rng.NextDouble();
            _out = new double[10];
            Run(2000);
        }

        private void Run(int calls)
        {
            for (int i = 0; i < calls; i++) _predictor.Predict(_x.AsSpan((i & 63) * 784, 784), _out);
        }

        public Measurement Measure()
        {
            long t0 = Stopwatch.GetTimestamp();
            Run(Inner);
            long t1 = Stopwatch.GetTimestamp();
            return new Measurement((t1 - t0) / (double)Stopwatch.Frequency / Inner, 0, 0);
        }
    }

    /// <summary>W4: square matrix product C = A B of size n.</summary>
    internal sealed class W4<T>(int n) : IWorkload where T : unmanaged, IFloatingPointIeee754<T>
    {
        private T[] _a = null!, _b = null!, _c = null!;
        public int Inner { get; private set; } = 1;

        public void Setup()
        {
            var rng = new Random(6);
            _a = new T[n * n];
            _b = new T[n * n];
            _c = new T[n * n];
            for (int i = 0; i < _a.Length; i++) { _a[i] = T.CreateTruncating(rng.NextDouble()); _b[i] = T.CreateTruncating(rng.NextDouble()); }
            for (int i = 0; i < 3; i++) Multiply();
            long t0 = Stopwatch.GetTimestamp();
            Multiply();
            double t = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
            // About a quarter of a second per measurement.
            Inner = (int)Math.Clamp(0.25 / Math.Max(t, 1e-6), 1, 2000);
        }

        private void Multiply() => Gemm.Multiply<T>(false, false, n, n, n, _a, _b, _c);

        public Measurement Measure()
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < Inner; i++) Multiply();
            long t1 = Stopwatch.GetTimestamp();
            return new Measurement((t1 - t0) / (double)Stopwatch.Frequency / Inner, 0, 0);
        }
    }

    /// <summary>The PyTorch / numpy side: a child process answering one JSON line per command.</summary>
    internal sealed class Peer : IDisposable
    {
        private readonly Process _process;

        private Peer(Process process) { _process = process; }

        public static Peer Start(string python, string script)
        {
            var psi = new ProcessStartInfo(python, new[] { script })
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = false,
                UseShellExecute = false,
            };
            // A fair, best-case PyTorch on 2 cores (see bench/README.md).
            psi.Environment["OMP_WAIT_POLICY"] = "passive";
            var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {python} {script}.");
            return new Peer(p);
        }

        public JsonNode? Ask(JsonObject command, bool expectAnswer = true)
        {
            _process.StandardInput.WriteLine(command.ToJsonString());
            _process.StandardInput.Flush();
            if (!expectAnswer) return null;
            string? line = _process.StandardOutput.ReadLine();
            if (line is null)
                throw new InvalidOperationException("The peer (bench/torch_peer.py) stopped; is python3-torch installed? See bench/README.md.");
            return JsonNode.Parse(line);
        }

        public void Dispose()
        {
            try
            {
                if (!_process.WaitForExit(5000)) _process.Kill();
            }
            catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }

    internal static class Stats
    {
        public static double Median(List<double> xs)
        {
            if (xs.Count == 0) return double.NaN;
            var s = xs.OrderBy(x => x).ToArray();
            return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
        }
    }

    internal static class Machine
    {
        public static string CpuModel()
        {
            try
            {
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return "unknown";
        }

        public static string LoadAverage()
        {
            try { return File.ReadAllText("/proc/loadavg").Trim(); }
            catch (IOException) { return "unknown"; }
        }

        /// <summary>Waits until the CPU is at most <paramref name="threshold"/> busy over half a second, or the time is up; returns the last busy fraction.</summary>
        public static double WaitForQuiet(double threshold, TimeSpan limit)
        {
            var until = DateTime.UtcNow + limit;
            double busy;
            do busy = BusyFraction(500);
            while (!(busy <= threshold) && DateTime.UtcNow < until);
            return busy;
        }

        /// <summary>The fraction of CPU time not idle over the next <paramref name="ms"/> milliseconds.</summary>
        public static double BusyFraction(int ms)
        {
            static (long idle, long total)? Read()
            {
                try
                {
                    var parts = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
                    return (parts[3] + parts[4], parts.Sum());
                }
                catch (IOException) { return null; }
            }
            var a = Read();
            Thread.Sleep(ms);
            var b = Read();
            if (a is null || b is null || b.Value.total == a.Value.total) return double.NaN;
            return 1.0 - (double)(b.Value.idle - a.Value.idle) / (b.Value.total - a.Value.total);
        }
    }

    internal static class Paths
    {
        /// <summary>The repository root: the nearest directory upwards holding bench/torch_peer.py.</summary>
        public static string RepositoryRoot()
        {
            foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            {
                var dir = new DirectoryInfo(start);
                while (dir is not null)
                {
                    if (File.Exists(Path.Combine(dir.FullName, "bench", "torch_peer.py"))) return dir.FullName;
                    dir = dir.Parent;
                }
            }
            throw new InvalidOperationException("Run the benchmark from inside the repository (bench/torch_peer.py not found).");
        }
    }

    internal sealed class Options
    {
        public int Rounds = 7;
        public int QuietWaitSeconds = 30;
        public bool Quick, NoPeer;
        public string Python = Environment.GetEnvironmentVariable("PYTHON") ?? "python3";
        public string? Out;
        public HashSet<string>? Only;

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--rounds": o.Rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--quick": o.Quick = true; o.Rounds = Math.Min(o.Rounds, 2); break;
                    case "--no-peer": o.NoPeer = true; break;
                    case "--quiet-wait": o.QuietWaitSeconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--python": o.Python = args[++i]; break;
                    case "--out": o.Out = args[++i]; break;
                    case "--only": o.Only = new HashSet<string>(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries)); break;
                    default: throw new ArgumentException($"Unknown option {args[i]}; see bench/README.md.");
                }
            }
            return o;
        }
    }
}
