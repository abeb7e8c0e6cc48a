// The machine's own yardstick (issue 17): an FMA peak probed in the same process and run as the
// workloads, and what the benchmark prints about the machine (CPU, instruction sets, caches).
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json.Nodes;
using Functional.NN.Kernels;

namespace Functional.NN.Bench
{
    /// <summary>
    /// The time a cache line takes to go from one core to another and back: this thread and one
    /// other spinning thread pass a counter between two cache lines of their own for a few
    /// milliseconds. On the hosts of bench/README.md it takes one of three values for seconds at a
    /// time, the host's placement of the two virtual cores: about 50 ns (two hardware threads of one
    /// physical core, which share its FMA pipes: a two-thread product runs at about one core's
    /// speed), about 120 ns (two cores that share a cache), about 500 ns (two cores far apart: a
    /// training step, whose threads read what the other wrote several times a step, is slower).
    /// The benchmark measures it beside each sample of the epoch workloads, so that a run says
    /// which placement each sample met.
    /// </summary>
    internal static class LatencyProbe
    {
        // Two counters, each on a cache line of its own, in a pinned array with a line's margin at both ends.
        private static readonly long[] s_words = GC.AllocateArray<long>(32, pinned: true);

        /// <summary>
        /// The round trips that separate the placements: below SharedCoreNs the two threads share
        /// a physical core, above FarNs the cores are far apart, between them they are near (the
        /// host's fast mode). Each about midway, on a logarithmic scale, between the values
        /// measured on these hosts (48-56, 105-140 and 490-570 ns). The samples' round trips are in
        /// the results, so that other cuts can be made from them.
        /// </summary>
        public const double SharedCoreNs = 80, FarNs = 250;

        /// <summary>The placement a round trip shows: "shared core", "near" or "far" (null for NaN).</summary>
        public static string? Placement(double ns) =>
            double.IsNaN(ns) ? null : ns < SharedCoreNs ? "shared core" : ns <= FarNs ? "near" : "far";

        /// <summary>
        /// Nanoseconds per round trip: the median of three valid probes of 0.6 ms each, NaN on one
        /// core or when twenty probes gave fewer than three valid ones. A probe is valid below 5 us a
        /// trip: while another thread holds the other core, the operating system runs both of the
        /// probe's threads on one core in turns, and a trip then takes a time slice (40 us or more).
        /// </summary>
        public static double RoundTripNs()
        {
            var valid = new List<double>(3);
            for (int attempt = 0; attempt < 20 && valid.Count < 3; attempt++)
            {
                double t = Probe(0.6);
                if (t < 5000) valid.Add(t);
                else Thread.Sleep(1);
            }
            if (valid.Count < 3) return double.NaN;
            valid.Sort();
            return valid[1];
        }

        private static double Probe(double milliseconds)
        {
            if (Environment.ProcessorCount < 2) return double.NaN;
            Volatile.Write(ref s_words[8], 0);
            Volatile.Write(ref s_words[16], 0);
            var echo = new Thread(() =>
            {
                long seen = 0;
                while (true)
                {
                    long v;
                    while ((v = Volatile.Read(ref s_words[8])) == seen) { }
                    if (v < 0) return;
                    seen = v;
                    Volatile.Write(ref s_words[16], v);
                }
            }) { IsBackground = true, Name = "latency probe" };
            echo.Start();
            long x = 0, trips = 0;
            long limit = (long)(milliseconds * 1e-3 * Stopwatch.Frequency);
            // The first round trip waits for the other thread to start; the timing begins after it.
            Volatile.Write(ref s_words[8], ++x);
            while (Volatile.Read(ref s_words[16]) != x) Thread.SpinWait(1);
            long t0 = Stopwatch.GetTimestamp(), t;
            do
            {
                for (int i = 0; i < 100; i++)
                {
                    Volatile.Write(ref s_words[8], ++x);
                    while (Volatile.Read(ref s_words[16]) != x) { }
                }
                trips += 100;
                t = Stopwatch.GetTimestamp() - t0;
            } while (t < limit);
            Volatile.Write(ref s_words[8], -1);
            echo.Join();
            return t * 1e9 / Stopwatch.Frequency / trips;
        }
    }

    /// <summary>
    /// The FMA peak: on every worker thread at once (as many threads as <see cref="WorkerPool.Threads"/>,
    /// started together at a barrier), ten independent chains of 512-bit FMAs (256-bit where 512 is
    /// not accelerated), so that neither the FMA latency nor anything but the FMA pipes limits them.
    /// GFLOP/s = threads x iterations x 10 chains x lanes x 2 / (wall time from the common start to
    /// the last thread's end).
    /// </summary>
    internal static class PeakProbe
    {
        private const int Chains = 10;
        private static double s_sink;

        public static bool Uses512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

        public static string Description =>
            $"{Chains} independent {(Uses512 ? "Vector512" : "Vector256")} FMA chains per thread on {WorkerPool.Threads} threads at once";

        /// <summary>The probe's GFLOP/s for float (f32) or double, run for about <paramref name="seconds"/>.</summary>
        public static double Measure(bool f32, double seconds = 0.15) => Measure(f32, Uses512, seconds);

        /// <summary>
        /// The same with 512-bit (<paramref name="wide"/>, where accelerated) or 256-bit vectors:
        /// on Zen 4, which runs a 512-bit FMA on its two 256-bit pipes, the two give the same
        /// GFLOP/s; where they differ, the wider micro-kernel is not the faster by default.
        /// </summary>
        public static double Measure(bool f32, bool wide, double seconds)
        {
            wide &= Uses512;
            int threads = WorkerPool.Threads;
            // Calibrate the iteration count on one thread.
            long iters = 1 << 16;
            while (true)
            {
                long t0 = Stopwatch.GetTimestamp();
                s_sink += Run(f32, wide, iters);
                double t = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
                if (t > 0.02) { iters = (long)(iters * seconds / t); break; }
                iters *= 4;
            }
            using var barrier = new Barrier(threads + 1);
            var ends = new long[threads];
            var workers = new Thread[threads];
            for (int i = 0; i < threads; i++)
            {
                int id = i;
                workers[i] = new Thread(() =>
                {
                    barrier.SignalAndWait();
                    double r = Run(f32, wide, iters);
                    ends[id] = Stopwatch.GetTimestamp();
                    Volatile.Write(ref s_sink, s_sink + r);
                }) { IsBackground = true, Name = "peak probe" };
                workers[i].Start();
            }
            barrier.SignalAndWait();
            long start = Stopwatch.GetTimestamp();
            foreach (var w in workers) w.Join();
            double wall = (ends.Max() - start) / (double)Stopwatch.Frequency;
            int lanes = (wide ? 64 : 32) / (f32 ? 4 : 8);
            return threads * (double)iters * Chains * lanes * 2 / wall / 1e9;
        }

        private static double Run(bool f32, bool wide, long iters) =>
            wide ? (f32 ? Run512<float>(iters) : Run512<double>(iters)) : (f32 ? Run256<float>(iters) : Run256<double>(iters));

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private static double Run512<T>(long iters) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var m = Vector512.Create(T.CreateTruncating(0.999999));
            var a = Vector512.Create(T.CreateTruncating(1e-7));
            Vector512<T> c0 = Vector512.Create(T.One), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0;
            for (long i = 0; i < iters; i++)
            {
                c0 = Fma(c0, m, a); c1 = Fma(c1, m, a); c2 = Fma(c2, m, a); c3 = Fma(c3, m, a); c4 = Fma(c4, m, a);
                c5 = Fma(c5, m, a); c6 = Fma(c6, m, a); c7 = Fma(c7, m, a); c8 = Fma(c8, m, a); c9 = Fma(c9, m, a);
            }
            var s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + (c8 + c9);
            return double.CreateTruncating(Vector512.Sum(s));

            static Vector512<T> Fma(Vector512<T> x, Vector512<T> y, Vector512<T> z) =>
                typeof(T) == typeof(double)
                    ? Avx512F.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>()
                    : Avx512F.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        }

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private static double Run256<T>(long iters) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var m = Vector256.Create(T.CreateTruncating(0.999999));
            var a = Vector256.Create(T.CreateTruncating(1e-7));
            Vector256<T> c0 = Vector256.Create(T.One), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0;
            for (long i = 0; i < iters; i++)
            {
                c0 = Fma(c0, m, a); c1 = Fma(c1, m, a); c2 = Fma(c2, m, a); c3 = Fma(c3, m, a); c4 = Fma(c4, m, a);
                c5 = Fma(c5, m, a); c6 = Fma(c6, m, a); c7 = Fma(c7, m, a); c8 = Fma(c8, m, a); c9 = Fma(c9, m, a);
            }
            var s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + (c8 + c9);
            return double.CreateTruncating(Vector256.Sum(s));

            static Vector256<T> Fma(Vector256<T> x, Vector256<T> y, Vector256<T> z)
            {
                if (!System.Runtime.Intrinsics.X86.Fma.IsSupported) return x * y + z;
                return typeof(T) == typeof(double)
                    ? System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>()
                    : System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
            }
        }
    }

    /// <summary>What the benchmark reports about the machine, so that a reader can tell machines apart.</summary>
    internal static class MachineInfo
    {
        /// <summary>lscpu's "Model name" (the same field of /proc/cpuinfo), else "unknown".</summary>
        public static string CpuModel() => Machine.CpuModel();

        public static JsonObject InstructionSets() => new()
        {
            ["vector512_hardware_accelerated"] = Vector512.IsHardwareAccelerated,
            ["vector256_hardware_accelerated"] = Vector256.IsHardwareAccelerated,
            ["avx512f"] = Avx512F.IsSupported,
            ["avx512bw"] = Avx512BW.IsSupported,
            ["avx512vl"] = Avx512F.VL.IsSupported,
            ["avx2"] = Avx2.IsSupported,
            ["fma"] = Fma.IsSupported,
            ["gemm_kernel"] = Gemm.KernelDescription,
        };

        public static string InstructionSetsLine() =>
            $"Vector512 accelerated {Vector512.IsHardwareAccelerated}, AVX-512F {Avx512F.IsSupported}, AVX2 {Avx2.IsSupported}, FMA {Fma.IsSupported}";

        public static JsonObject Caches()
        {
            var c = CacheSizes.Current;
            return new JsonObject
            {
                ["l1d_bytes"] = c.L1Data,
                ["l2_bytes"] = c.L2,
                ["l3_bytes"] = c.L3,
                ["source"] = c.Source,
            };
        }
    }
}
