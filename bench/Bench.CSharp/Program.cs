// The Functional.NN benchmark (issues 7, 11 and 17): workloads W1..W4 and U1..U4 for
// Functional.NN and for the PyTorch / numpy (OpenBLAS) peer, alternated round by round in the same
// run, beside an FMA peak probed in the same process. Prints a table and writes
// bench/results/latest.json (a partial run, with --only, --no-peer, --quick or fewer rounds, writes
// bench/results/partial.json, which git ignores). See bench/README.md.
//
//   dotnet run -c Release --project bench/Bench.CSharp -- [--rounds N] [--quick] [--no-peer]
//       [--python PATH] [--out FILE] [--only W1,W4,U2] [--no-settle]
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
// A full run (every workload, the peer, at least the default rounds) replaces the tracked bench/results/latest.json; a
// partial one (--only, --no-peer, fewer rounds, --quick) writes bench/results/partial.json, which git ignores, unless
// --out names the file.
bool partial = options.Only is not null || options.NoPeer || options.Quick || options.Rounds < Options.DefaultRounds;
string outFile = Path.GetFullPath(options.Out ?? Path.Combine(root, "bench", "results", partial ? "partial.json" : "latest.json"));
if (partial && options.Out is null)
    Console.WriteLine($"A partial run (--only, --no-peer, --quick or fewer than {Options.DefaultRounds} rounds): it writes bench/results/partial.json (not tracked), not latest.json; --out FILE writes elsewhere.");

Console.WriteLine($"Functional.NN benchmark: {options.Rounds} rounds, {Environment.ProcessorCount} cores, .NET {Environment.Version}, worker threads {WorkerPool.Threads}");
Console.WriteLine($"CPU: {MachineInfo.CpuModel()}");
Console.WriteLine($"Instruction sets: {MachineInfo.InstructionSetsLine()}");
Console.WriteLine($"GEMM: {Gemm.KernelDescription}");
Console.WriteLine($"CPU busy before the run (other processes): {Machine.BusyFraction(500):P0}; load average {Machine.LoadAverage()}");

using Peer? peer = options.NoPeer ? null : Peer.Start(options.Python, Path.Combine(root, "bench", "torch_peer.py"));
JsonNode? peerInfo = peer?.Ask(new JsonObject { ["workload"] = "info" });
if (peerInfo is not null)
{
    Console.WriteLine($"Peer: torch {peerInfo["torch"]}, numpy {peerInfo["numpy"]}, {peerInfo["torch_threads"]} threads, OMP_WAIT_POLICY={peerInfo["omp_wait_policy"]}");
    Console.WriteLine($"Peer's OpenBLAS (threadpoolctl): {peerInfo["openblas"]}");
}

// The plan: every item runs once per round for each side, the order of the sides alternating.
var items = new List<Item>();
foreach (string dtype in new[] { "float32", "float64" })
{
    bool f32 = dtype == "float32";
    items.Add(new Item("W1", dtype, null, f32 ? new W1<float>() : new W1<double>(), options.Quick ? 1 : 2, flops: Flops.W1Epoch));
    // W1 through the core's public trainer: Trainer.train with plain SGD on the kernels backend (converting the data, the shuffled batches and the divergence checks included).
    items.Add(new Item("W1-api", dtype, null, new W1Api(f32), options.Quick ? 1 : 2, flops: Flops.W1Epoch));
    items.Add(new Item("W2", dtype, null, f32 ? new W2<float>() : new W2<double>(), 1));
    items.Add(new Item("W3-1core", dtype, null, f32 ? new W3<float>(false) : new W3<double>(false), options.Quick ? 1 : 3));
    // The same prediction with its largest layer split over both cores (Predict(..., parallel: true)).
    items.Add(new Item("W3-parallel", dtype, null, f32 ? new W3<float>(true) : new W3<double>(true), options.Quick ? 1 : 3));
    // W3 through the core's public single-sample predictor (Network.predictor, float64 spans in and out).
    items.Add(new Item("W3-api", dtype, null, new W3Api(f32), options.Quick ? 1 : 3));
}
// The wake-up and join cost of one fork-join on the worker pool (what W3-parallel pays per layer split).
items.Add(new Item("W3-forkjoin", "-", null, new ForkJoin(), options.Quick ? 1 : 3, peer: false));
foreach (string dtype in new[] { "float64", "float32" })
    foreach (int n in options.Quick ? new[] { 256, 1024 } : new[] { 256, 512, 1024, 2048 })
        items.Add(new Item("W4", dtype, n, dtype == "float32" ? new Product<float>(false, false, n, n, n) : new Product<double>(false, false, n, n, n), options.Quick ? 1 : 2, flops: 2.0 * n * n * n));
// Issue 17 must-show 4: W1's matrix products one by one (what limits W1 besides them is the rest of the step).
foreach (string dtype in new[] { "float32", "float64" })
    for (int s = 0; s < W1Products.Shapes.Length; s++)
    {
        var (_, ta, tb, m, n, k) = W1Products.Shapes[s];
        items.Add(new Item("W1-gemm", dtype, s, dtype == "float32" ? new Product<float>(ta, tb, m, n, k) : new Product<double>(ta, tb, m, n, k),
                           options.Quick ? 1 : 2, flops: 2.0 * m * n * k, peerWorkload: "W1gemm"));
    }
// Issue 11's workloads through the public API as it stands (Trainer.train, PipelineFit.fit,
// Pipeline.probabilities): they measure whatever the public path does.
foreach (string dtype in new[] { "float32", "float64" })
{
    bool f32 = dtype == "float32";
    items.Add(new Item("U1", dtype, null, new U1Fit(f32), 1));
    // Issue 12 must-show 3: U1's network with batch normalisation before and dropout 0.1 after each
    // hidden activation (what `--normalization batch --dropout 0.1` builds); the peer's "U1-blocks".
    items.Add(new Item("U1-blocks", dtype, null, new U1BlocksFit(f32), 1, peerWorkload: "U1-blocks"));
    foreach (string opt in U2Train.Optimizers)
        items.Add(new Item("U2-" + opt, dtype, null, new U2Train(f32, opt), 1, variant: opt, flops: Flops.W1Epoch));
    items.Add(new Item("U3", dtype, null, new U3Predict(f32), options.Quick ? 1 : 3));
    items.Add(new Item("U4", dtype, null, new U4Train(f32), 1));
}
items.RemoveAll(i => options.Only is not null && !options.Only.Contains(i.Workload) && !options.Only.Contains(i.Workload.Split('-')[0]));

foreach (var item in items) item.Ours.Setup();
var started = DateTime.UtcNow;
var busyPerRound = new JsonArray();
var tripPerRound = new JsonArray();
var peak = new Dictionary<string, List<double>> { ["float32"] = new(), ["float64"] = new() };
var peak256 = new Dictionary<string, List<double>> { ["float32"] = new(), ["float64"] = new() };
for (int round = 0; round < options.Rounds; round++)
{
    // The machine may be shared: wait (a bounded time) for other processes to go quiet.
    double busy = Machine.WaitForQuiet(0.15, TimeSpan.FromSeconds(options.QuietWaitSeconds));
    busyPerRound.Add(Math.Round(busy, 3));
    // The peak probe, every round, in this process: the largest is the machine's peak.
    // The best of three short runs, so that a moment when another process takes a core counts less.
    foreach (var dtype in new[] { "float32", "float64" })
    {
        peak[dtype].Add(Enumerable.Range(0, 3).Max(_ => PeakProbe.Measure(dtype == "float32", 0.1)));
        // The same with 256-bit vectors: whether 512-bit FMAs have more throughput here at all.
        if (PeakProbe.Uses512) peak256[dtype].Add(Enumerable.Range(0, 3).Max(_ => PeakProbe.Measure(dtype == "float32", false, 0.1)));
    }
    double trip = LatencyProbe.RoundTripNs();
    tripPerRound.Add(double.IsNaN(trip) ? null : Math.Round(trip));
    foreach (var item in items)
    {
        bool oursFirst = round % 2 == 0;
        if (oursFirst) item.RunOurs(peer, options.Settle);
        if (peer is not null) item.RunPeer(peer, options.Settle);
        if (!oursFirst) item.RunOurs(peer, options.Settle);
    }
    Console.WriteLine($"round {round + 1}/{options.Rounds} done ({(DateTime.UtcNow - started).TotalSeconds:F0} s; other processes {busy:P0} busy before it; " +
                      $"probe {peak["float32"][^1]:F0} / {peak["float64"][^1]:F0} GFLOP/s float32 / float64; cores' round trip {trip:F0} ns)");
}
var peakGflops = peak.ToDictionary(kv => kv.Key, kv => kv.Value.Count > 0 ? kv.Value.Max() : double.NaN);
Console.WriteLine();
Console.WriteLine($"Peak ({PeakProbe.Description}): {peakGflops["float32"]:F1} GFLOP/s float32, {peakGflops["float64"]:F1} GFLOP/s float64 (the largest of {options.Rounds} rounds)");
if (peak256["float32"].Count > 0)
    Console.WriteLine($"The same probe with Vector256: {peak256["float32"].Max():F1} GFLOP/s float32, {peak256["float64"].Max():F1} GFLOP/s float64");

var results = new JsonObject();
Console.WriteLine();
Console.WriteLine("workload        precision  size   Functional.NN       peer                ratio     best      paired    % of peak: ours (best) / peer   target            met");
foreach (var item in items)
{
    var r = item.Summarise(peakGflops.TryGetValue(item.Dtype, out double pk) ? pk : double.NaN);
    string key = item.Size is int s ? $"{item.Workload}/{item.Dtype}/{s}" : $"{item.Workload}/{item.Dtype}";
    results[key] = r;
    string pct = r["percent_of_peak"] is JsonNode pp
        ? $"{(double)pp:F0} %" + (r["percent_of_peak_best"] is JsonNode pb ? $" ({(double)pb:F0} %)" : "") + (r["peer_percent_of_peak"] is JsonNode qq ? $" / {(double)qq:F0} %" : "")
        : "-";
    Console.WriteLine($"{item.Workload,-15} {item.Dtype,-10} {(item.Size?.ToString() ?? "-"),-6} {r["ours_display"],-19} {r["peer_display"] ?? "-",-19} " +
                      $"{(r["ratio"] is JsonNode ra ? ((double)ra).ToString("F2") + "x" : "-"),-9} {(r["ratio_best"] is JsonNode rb ? ((double)rb).ToString("F2") + "x" : "-"),-9} " +
                      $"{(r["ratio_paired"] is JsonNode rp ? ((double)rp).ToString("F2") + "x" : "-"),-9} " +
                      $"{pct,-30} {r["target"]?.ToString() ?? "-",-17} {r["met"]?.ToString() ?? "-"}");
}

// The epoch workloads by the host's placement of the two cores (LatencyProbe): the samples met in each, and the ratio within each.
var byPlacement = results.Where(kv => kv.Value?["by_placement"] is not null).ToList();
if (byPlacement.Count > 0)
{
    Console.WriteLine();
    Console.WriteLine($"By the cores' round trip around each sample (the larger of the probes before and after it): near {LatencyProbe.SharedCoreNs:F0}-{LatencyProbe.FarNs:F0} ns, " +
                      $"far above {LatencyProbe.FarNs:F0} ns, shared core (two hardware threads of one core) below {LatencyProbe.SharedCoreNs:F0} ns; samples ours / peer, ratio of medians");
    foreach (var (key, r) in byPlacement)
    {
        string Place(string name) => r!["by_placement"]![name] is JsonNode m && ((int)m["samples_ours"]! > 0 || (int)m["samples_peer"]! > 0)
            ? $"{m["samples_ours"]} / {m["samples_peer"]}" + (m["ratio"] is JsonNode x ? $", {(double)x:F2}x" : "")
            : "-";
        Console.WriteLine($"  {key,-22} near {Place("near"),-16} far {Place("far"),-16} shared core {Place("shared core")}");
    }
}

var doc = new JsonObject
{
    ["command"] = "bash bench/run.sh" + (args.Length > 0 ? " " + string.Join(' ', args) : ""),
    ["date_utc"] = started.ToString("yyyy-MM-ddTHH:mm:ssZ"),
    ["duration_s"] = Math.Round((DateTime.UtcNow - started).TotalSeconds, 1),
    ["rounds"] = options.Rounds,
    ["settle"] = options.Settle,
    ["machine"] = new JsonObject
    {
        ["cores"] = Environment.ProcessorCount,
        ["cpu"] = MachineInfo.CpuModel(),
        ["os"] = RuntimeInformation.OSDescription,
        ["dotnet"] = Environment.Version.ToString(),
        ["avx512"] = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated,
        ["instruction_sets"] = MachineInfo.InstructionSets(),
        ["caches"] = MachineInfo.Caches(),
        ["functional_nn_threads"] = WorkerPool.Threads,
        ["load_average_at_end"] = Machine.LoadAverage(),
        ["cpu_busy_before_each_round"] = busyPerRound,
        ["core_round_trip_ns_each_round"] = tripPerRound,
        ["core_round_trip_shared_core_below_ns"] = LatencyProbe.SharedCoreNs,
        ["core_round_trip_far_above_ns"] = LatencyProbe.FarNs,
    },
    ["peak"] = new JsonObject
    {
        ["probe"] = PeakProbe.Description,
        ["float32_gflops"] = Math.Round(peakGflops["float32"], 1),
        ["float64_gflops"] = Math.Round(peakGflops["float64"], 1),
        ["float32_samples"] = new JsonArray(peak["float32"].Select(x => (JsonNode)Math.Round(x, 1)).ToArray()),
        ["float64_samples"] = new JsonArray(peak["float64"].Select(x => (JsonNode)Math.Round(x, 1)).ToArray()),
        // The probe with Vector256 (only where Vector512 is used above): equal figures mean that
        // 512-bit FMAs bring no more arithmetic throughput on this CPU than 256-bit ones.
        ["vector256_float32_samples"] = new JsonArray(peak256["float32"].Select(x => (JsonNode)Math.Round(x, 1)).ToArray()),
        ["vector256_float64_samples"] = new JsonArray(peak256["float64"].Select(x => (JsonNode)Math.Round(x, 1)).ToArray()),
    },
    ["peer"] = peerInfo?.DeepClone(),
    ["notes"] = "ratio: for W1-W3 and U1-U4 the peer's median time over Functional.NN's (higher is better for Functional.NN); " +
                "ratio_best: the peer's best (least) time over Functional.NN's, each side undisturbed (the host's slow mode, bench/README.md); " +
                "ratio_paired: the median of the peer's k-th time over Functional.NN's k-th, each pair from one round (the targets are judged on ratio); " +
                "for W4 Functional.NN's GFLOP/s over OpenBLAS's (numpy). percent_of_peak: the item's GFLOP/s over the probe's peak of its precision " +
                "(W1 and U2 count 1,007,104 flops per sample: forward, dW, and dX for every layer but the first); " +
                "percent_of_peak_best: the best sample's GFLOP/s over the same peak (both the fastest of the run). " +
                "Medians over all rounds; sides alternate within each round; with settle, each side starts only once the other process has stopped using CPU. " +
                "core_round_trip_ns: a cache line's trip between two cores and back, probed before and after each sample of the epoch workloads (the larger kept); " +
                "by_placement: near (round trip from core_round_trip_shared_core_below_ns to core_round_trip_far_above_ns), far (above), shared core (below: two hardware threads of one core), " +
                "each with the samples met in it, each side's median and their ratio (bench/README.md).",
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
    internal sealed class Item(string workload, string dtype, int? size, IWorkload ours, int reps, bool peer = true, string? variant = null, double? flops = null, string? peerWorkload = null)
    {
        public string Workload { get; } = workload;
        public string Dtype { get; } = dtype;
        public int? Size { get; } = size;
        public IWorkload Ours { get; } = ours;
        /// <summary>False for an item without a PyTorch counterpart (W1-api-prepare, W3-forkjoin).</summary>
        public bool HasPeer { get; } = peer;
        private readonly List<double> _ours = new(), _peer = new();
        // The cores' round trip (LatencyProbe) around each sample of an epoch workload: the larger
        // of the probes just before and just after it, so that a sample counts as met far apart
        // if the cores were far apart at either end (NaN, in no placement, if a probe found none).
        private readonly List<double> _oursTrip = new(), _peerTrip = new();
        private bool ProbesTrip => Workload.StartsWith("U2", StringComparison.Ordinal) || Workload is "W1" or "W1-api";

        /// <summary>
        /// The round trip now; after a sample, once the worker pool's threads have stopped spinning
        /// (0.5 ms, WorkerPool), so that the probe's second thread finds a core free.
        /// </summary>
        private static double Trip(bool afterSample)
        {
            if (afterSample) Thread.Sleep(2);
            return LatencyProbe.RoundTripNs();
        }
        private long _maxThreadBytesPerStep, _maxTotalBytesPerStep;
        private double _maxSettleOurs, _maxSettlePeer;
        private string? _peerError;

        private bool IsMicro => Workload.StartsWith("W3", StringComparison.Ordinal) || Workload == "U3";

        public void RunOurs(Peer? peer, bool settle)
        {
            // The peer's process may still be using CPU after its answer (OpenBLAS's threads spin
            // for about 0.1 s after each call): start only once it has stopped.
            if (settle && peer is not null) _maxSettleOurs = Math.Max(_maxSettleOurs, Machine.WaitForProcessIdle(peer.ProcessId));
            for (int i = 0; i < reps; i++)
            {
                double before = ProbesTrip ? Trip(false) : double.NaN;
                var m = Ours.Measure();
                if (ProbesTrip) _oursTrip.Add(Math.Max(before, Trip(true)));
                _ours.Add(m.Seconds);
                _maxThreadBytesPerStep = Math.Max(_maxThreadBytesPerStep, m.ThreadBytesPerStep);
                _maxTotalBytesPerStep = Math.Max(_maxTotalBytesPerStep, m.TotalBytesPerStep);
            }
        }

        public void RunPeer(Peer peer, bool settle)
        {
            if (!HasPeer) return;
            // Likewise our side: the worker pool spins up to 0.5 ms, a background GC or JIT may run.
            if (settle) _maxSettlePeer = Math.Max(_maxSettlePeer, Machine.WaitForProcessIdle(Environment.ProcessId));
            var cmd = new JsonObject { ["workload"] = peerWorkload ?? Workload.Split('-')[0], ["dtype"] = Dtype, ["reps"] = reps };
            if (variant is not null) cmd["variant"] = variant;
            if (Size is int s) { cmd["size"] = s; cmd["inner"] = Ours.Inner; }
            if (IsMicro) cmd["calls"] = Ours.Inner;
            double before = ProbesTrip ? Trip(false) : double.NaN;
            var answer = peer.Ask(cmd)!;
            // After the peer's sample its threads may spin on (OpenBLAS's, about 0.1 s): the
            // probe waits for its process to go idle first, as our side's next sample does.
            if (ProbesTrip) Machine.WaitForProcessIdle(peer.ProcessId);
            double trip = ProbesTrip ? Math.Max(before, Trip(false)) : double.NaN;
            if (answer["error"] is JsonNode err) { _peerError = err.ToString(); return; }
            foreach (var t in answer["times"]!.AsArray())
            {
                _peer.Add((double)t!);
                if (ProbesTrip) _peerTrip.Add(trip);
            }
        }

        /// <summary>The issue's targets: the least ratio to the peer and the least percentage of the peak (null: none).</summary>
        private (double? Ratio, double? Peak, string Source) Target()
        {
            bool f32 = Dtype == "float32";
            return Workload switch
            {
                "W1" => (1.2, null, "issue 7"),
                // Issue 17 must-show 2 (through the public trainer).
                "W1-api" => (1.8, f32 ? 55.0 : 60.0, "issue 17"),
                "W2" => (5.0, null, "issue 7"),
                "W3-1core" or "W3-parallel" => (5.0, null, "issue 7"),
                // Issue 17 must-show 3.
                "W3-api" => (f32 ? 8.0 : 5.0, null, "issue 17"),
                // Issue 17 must-show 1: >= 1.0x OpenBLAS for n = 256..2048, >= 85 % of the peak for n = 512..2048.
                "W4" => (1.0, Size >= 512 ? 85.0 : null, "issue 17"),
                // Issue 12 must-show 3.
                "U1-blocks" => (1.5, null, "issue 12"),
                _ => (null, null, ""),
            };
        }

        public JsonObject Summarise(double peakGflops)
        {
            double ours = Stats.Median(_ours);
            double? peer = _peer.Count > 0 ? Stats.Median(_peer) : null;
            var o = new JsonObject();
            bool micro = IsMicro;
            string unit = micro ? "us" : "ms";
            double scale = micro ? 1e6 : 1e3;
            var (ratioTarget, peakTarget, source) = Target();
            double? ratio = null;
            bool product = Workload is "W4" or "W1-gemm";
            o["unit"] = product ? "GFLOP/s" : unit;
            if (variant is not null) o["variant"] = variant;
            if (Workload == "W1-gemm" && Size is int shape)
            {
                var (name, ta, tb, m, n, k) = W1Products.Shapes[shape];
                o["product"] = $"{name}: m {m}, n {n}, k {k}{(ta ? ", A transposed" : "")}{(tb ? ", B transposed" : "")}";
            }
            if (product)
            {
                double g = flops!.Value / ours / 1e9;
                o["functional_nn_gflops"] = Math.Round(g, 1);
                o["functional_nn_median_ms"] = Math.Round(ours * 1e3, 3);
                o["functional_nn_samples_gflops"] = new JsonArray(_ours.Select(x => (JsonNode)Math.Round(flops.Value / x / 1e9, 1)).ToArray());
                o["ours_display"] = $"{g:F1} GFLOP/s";
                if (peer is double p)
                {
                    double pg = flops.Value / p / 1e9;
                    o["openblas_gflops"] = Math.Round(pg, 1);
                    o["openblas_median_ms"] = Math.Round(p * 1e3, 3);
                    o["openblas_samples_gflops"] = new JsonArray(_peer.Select(x => (JsonNode)Math.Round(flops.Value / x / 1e9, 1)).ToArray());
                    o["peer_display"] = $"{pg:F1} GFLOP/s";
                    ratio = g / pg;
                }
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
                    ratio = p / ours;
                }
                if (!micro && Workload != "W3-forkjoin")
                {
                    o["bytes_allocated_per_step_thread"] = _maxThreadBytesPerStep;
                    o["bytes_allocated_per_step_process"] = _maxTotalBytesPerStep;
                }
            }
            if (ratio is double r) o["ratio"] = Math.Round(r, 3);
            // The best sample of each side (the fastest time; for products the same ratio of
            // GFLOP/s): what each side does undisturbed. The host alternates between two speed
            // modes for seconds at a time (bench/README.md), and a median of 7 samples mixes them,
            // often one side's fast samples with the other's slow ones.
            if (peer is not null && _ours.Count > 0) o["ratio_best"] = Math.Round(_peer.Min() / _ours.Min(), 3);
            // The median of the rounds' own ratios (the k-th sample of each side, a pair measured in
            // the same round one side after the other, the order alternating; both sides take as many
            // samples a round): a mode that lasts seconds slows both sides
            // of a round alike, so this ratio moves less with the modes than the medians' ratio,
            // which may pair one side's fast rounds with the other's slow ones. Reported beside
            // it; the targets are judged on the medians' ratio.
            if (peer is not null && _ours.Count > 0 && _peer.Count == _ours.Count)
                o["ratio_paired"] = Math.Round(Stats.Median(_ours.Select((t, i) => _peer[i] / t).ToList()), 3);
            // By the host's placement of the two cores (LatencyProbe): each side's median over the
            // samples met in each placement, and their ratio.
            if (_oursTrip.Count == _ours.Count && _oursTrip.Count > 0)
            {
                o["core_round_trip_ns_ours"] = new JsonArray(_oursTrip.Select(x => double.IsNaN(x) ? null : (JsonNode)Math.Round(x)).ToArray());
                if (_peerTrip.Count == _peer.Count && _peer.Count > 0)
                    o["core_round_trip_ns_peer"] = new JsonArray(_peerTrip.Select(x => double.IsNaN(x) ? null : (JsonNode)Math.Round(x)).ToArray());
                var placements = new JsonObject();
                foreach (string place in new[] { "near", "far", "shared core" })
                {
                    var inPlace = _ours.Where((_, i) => LatencyProbe.Placement(_oursTrip[i]) == place).ToList();
                    var theirs = _peerTrip.Count == _peer.Count ? _peer.Where((_, i) => LatencyProbe.Placement(_peerTrip[i]) == place).ToList() : new List<double>();
                    var mode = new JsonObject { ["samples_ours"] = inPlace.Count, ["samples_peer"] = theirs.Count };
                    if (inPlace.Count > 0) mode["functional_nn_median"] = Math.Round(Stats.Median(inPlace) * scale, 3);
                    if (theirs.Count > 0) mode["pytorch_median"] = Math.Round(Stats.Median(theirs) * scale, 3);
                    if (inPlace.Count > 0 && theirs.Count > 0) mode["ratio"] = Math.Round(Stats.Median(theirs) / Stats.Median(inPlace), 3);
                    placements[place] = mode;
                }
                o["by_placement"] = placements;
            }
            double? percent = null;
            if (flops is double f && double.IsFinite(peakGflops) && peakGflops > 0)
            {
                o["gflops"] = Math.Round(f / ours / 1e9, 1);
                percent = 100 * f / ours / 1e9 / peakGflops;
                o["percent_of_peak"] = Math.Round(percent.Value, 1);
                // The best sample against the probe's best (both undisturbed): the kernels' rate
                // when the host is in its fast mode, beside the median's, which mixes the modes.
                if (_ours.Count > 0) o["percent_of_peak_best"] = Math.Round(100 * f / _ours.Min() / 1e9 / peakGflops, 1);
                if (peer is double p) o["peer_percent_of_peak"] = Math.Round(100 * f / p / 1e9 / peakGflops, 1);
            }
            var targetText = new List<string>();
            bool met = true, any = false;
            if (ratioTarget is double rt && HasPeer)
            {
                targetText.Add($">= {rt}x");
                if (ratio is double rr) { met &= rr >= rt; any = true; }
            }
            if (peakTarget is double pt)
            {
                targetText.Add($">= {pt} %");
                if (percent is double pc) { met &= pc >= pt; any = true; }
            }
            if (targetText.Count > 0) { o["target"] = string.Join(", ", targetText) + $" ({source})"; }
            if (any) o["met"] = met;
            if (_maxSettleOurs > 0 || _maxSettlePeer > 0)
            {
                o["settle_before_ours_max_ms"] = Math.Round(_maxSettleOurs * 1e3, 1);
                o["settle_before_peer_max_ms"] = Math.Round(_maxSettlePeer * 1e3, 1);
            }
            if (_peerError is not null) o["peer_error"] = _peerError;
            return o;
        }
    }

    /// <summary>Floating-point operations of the workloads, for the percentage of the peak.</summary>
    internal static class Flops
    {
        /// <summary>
        /// W1 per sample: forward 2 (784x256 + 256x128 + 128x10) = 469,504; dW the same; dX for
        /// every layer but the first 2 (256x128 + 128x10) = 68,096; 1,007,104 in all.
        /// </summary>
        public const double W1PerSample = 2.0 * (784 * 256 + 256 * 128 + 128 * 10) * 2 + 2.0 * (256 * 128 + 128 * 10);

        /// <summary>One epoch of W1: 8192 samples, 8.25 GFLOP.</summary>
        public const double W1Epoch = 8192 * W1PerSample;
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
                .WithSchedule(Functional.NN.Schedule.NewConstant(0.01)).WithMaxEpochs(1).WithSeed(3L)
                .WithOptimizer(Functional.NN.Optimizer.Sgd).WithoutEarlyStopping();
            WarmUp.Run(() => Functional.NN.Trainer.train(_options.WithMaxSteps(2), Functional.NN.Loss.SoftmaxCrossEntropy, _data, _net), () => Epoch());
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

    /// <summary>
    /// W1's matrix products, the ones that carry its flops (per step of 128 rows: the forward
    /// products of layers 1 and 2, dX of layer 2, dW of layers 2 and 1; layer 3's are 1 % of the
    /// flops): name, op(A) transposed, op(B) transposed, m, n, k. Timed alone, C = op(A) op(B).
    /// </summary>
    internal static class W1Products
    {
        public static readonly (string Name, bool TA, bool TB, int M, int N, int K)[] Shapes =
        {
            ("layer 1 forward X W1", false, false, 128, 256, 784),
            ("layer 2 forward A1 W2", false, false, 128, 128, 256),
            ("layer 2 dX D2 W2^T", false, true, 128, 256, 128),
            ("layer 2 dW A1^T D2", true, false, 256, 128, 128),
            ("layer 1 dW X^T D1", true, false, 784, 256, 128),
        };
    }

    /// <summary>W4: square matrix product C = A B of size n (and W1-gemm: W1's products), C = op(A) op(B).</summary>
    internal sealed class Product<T>(bool ta, bool tb, int m, int n, int k) : IWorkload where T : unmanaged, IFloatingPointIeee754<T>
    {
        private T[] _a = null!, _b = null!, _c = null!;
        public int Inner { get; private set; } = 1;

        public void Setup()
        {
            var rng = new Random(6);
            _a = new T[m * k];
            _b = new T[k * n];
            _c = new T[m * n];
            for (int i = 0; i < _a.Length; i++) _a[i] = T.CreateTruncating(rng.NextDouble());
            for (int i = 0; i < _b.Length; i++) _b[i] = T.CreateTruncating(rng.NextDouble());
            for (int i = 0; i < 3; i++) Multiply();
            long t0 = Stopwatch.GetTimestamp();
            Multiply();
            double t = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
            // About a quarter of a second per measurement.
            Inner = (int)Math.Clamp(0.25 / Math.Max(t, 1e-6), 1, 2000);
        }

        private void Multiply() => Gemm.Multiply<T>(ta, tb, m, n, k, _a, _b, _c);

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

        /// <summary>The peer's process id (to wait until it has stopped using CPU).</summary>
        public int ProcessId => _process.Id;

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

        /// <summary>
        /// CPU time (ns) used so far by all threads of a process: the sum of the first field of
        /// /proc/PID/task/*/schedstat (nanosecond resolution, where /proc/PID/stat counts 10 ms ticks);
        /// null when it cannot be read.
        /// </summary>
        public static long? ProcessCpuNanoseconds(int pid)
        {
            try
            {
                long sum = 0;
                foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
                {
                    try
                    {
                        string text = File.ReadAllText(Path.Combine(task, "schedstat"));
                        int space = text.IndexOf(' ');
                        sum += long.Parse(space > 0 ? text[..space] : text.Trim(), CultureInfo.InvariantCulture);
                    }
                    catch (IOException) { } // a thread that has just ended
                    catch (FormatException) { }
                }
                if (pid == Environment.ProcessId)
                {
                    // Not this (polling) thread's own time.
                    string self = File.ReadAllText("/proc/thread-self/schedstat");
                    int space = self.IndexOf(' ');
                    sum -= long.Parse(space > 0 ? self[..space] : self.Trim(), CultureInfo.InvariantCulture);
                }
                return sum;
            }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
        }

        /// <summary>
        /// Waits until process <paramref name="pid"/> uses less than 2 % of a core over 10 ms
        /// (at most 3 s); returns the seconds waited. For this process, the waiting thread's own
        /// time (its polling) is not counted.
        /// </summary>
        public static double WaitForProcessIdle(int pid)
        {
            var clock = Stopwatch.StartNew();
            long? before = ProcessCpuNanoseconds(pid);
            if (before is null) return 0;
            while (clock.Elapsed.TotalSeconds < 3)
            {
                Thread.Sleep(10);
                long? now = ProcessCpuNanoseconds(pid);
                if (now is null) break;
                if (now.Value - before.Value < 200_000) break;
                before = now;
            }
            return clock.Elapsed.TotalSeconds;
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
        /// <summary>The rounds of a full run, the one that writes bench/results/latest.json.</summary>
        public const int DefaultRounds = 7;
        public int Rounds = DefaultRounds;
        public int QuietWaitSeconds = 30;
        public bool Quick, NoPeer;
        /// <summary>Start each side only once the other process has stopped using CPU (--no-settle: off).</summary>
        public bool Settle = true;
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
                    case "--no-settle": o.Settle = false; break;
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
