using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Functional.NN.Kernels;

/// <summary>A piece of work split into numbered parts that run at the same time.</summary>
public interface IParallelJob
{
    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/>.</summary>
    void Execute(int part, int parts);
}

/// <summary>
/// A persistent pool of worker threads (one fewer than the cores), for fork-join of kernels without
/// allocating: the caller runs part 0 itself, each worker one other part. Idle workers spin for a
/// short while (so back-to-back kernels start in well under a microsecond), then sleep on an event,
/// so an idle process leaves the cores to others. Only one job runs at a time: a caller that finds
/// the pool busy (another thread's job, or a job started from inside a job) runs all parts itself.
/// </summary>
public static class WorkerPool
{
    private sealed class Worker
    {
        public readonly ManualResetEventSlim Wake = new(false, 0);
        public volatile int Sleeping;
        public int Index;
    }

    private static readonly Worker[] s_workers;
    private static IParallelJob? s_job;
    private static int s_parts;
    private static int s_generation;
    private static int s_pending;
    private static int s_busy;
    private static readonly long s_spinTicks = Stopwatch.Frequency / 2000; // 0.5 ms
    [ThreadStatic] private static bool t_insideJob;

    static WorkerPool()
    {
        int cores = Environment.ProcessorCount;
        int workers = Math.Clamp(cores - 1, 0, 63);
        string? env = Environment.GetEnvironmentVariable("FNN_THREADS");
        if (env is not null && int.TryParse(env, out int t) && t >= 1) workers = Math.Min(workers, t - 1);
        s_workers = new Worker[workers];
        for (int i = 0; i < workers; i++)
        {
            var w = new Worker { Index = i + 1 };
            s_workers[i] = w;
            var thread = new Thread(() => Loop(w)) { IsBackground = true, Name = $"Functional.NN worker {i + 1}" };
            thread.Start();
        }
    }

    /// <summary>How many parts run at once: the workers plus the calling thread.</summary>
    public static int Threads => s_workers.Length + 1;

    /// <summary>
    /// Runs <paramref name="job"/> in <paramref name="parts"/> parts (at most <see cref="Threads"/>)
    /// and returns when all are done. Allocates nothing. Exceptions in a worker's part are not
    /// expected from kernels; one would end the process.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(IParallelJob job, int parts)
    {
        parts = Math.Min(parts, Threads);
        if (parts <= 1 || t_insideJob || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            for (int p = 0; p < parts; p++) job.Execute(p, parts);
            return;
        }
        try
        {
            s_job = job;
            s_parts = parts;
            Volatile.Write(ref s_pending, parts - 1);
            Interlocked.Increment(ref s_generation);
            for (int i = 0; i < parts - 1; i++)
            {
                var w = s_workers[i];
                if (w.Sleeping != 0) w.Wake.Set();
            }
            t_insideJob = true;
            try { job.Execute(0, parts); }
            finally { t_insideJob = false; }
            var spinner = new SpinWait();
            while (Volatile.Read(ref s_pending) != 0) spinner.SpinOnce(-1);
        }
        finally
        {
            s_job = null;
            Volatile.Write(ref s_busy, 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Loop(Worker w)
    {
        t_insideJob = true;
        // The generation was 0 when the worker was created; reading it here instead would lose a
        // job started before this thread first ran.
        int seen = 0;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref s_generation) == seen)
            {
                if (Stopwatch.GetTimestamp() - start < s_spinTicks)
                {
                    Pause();
                    continue;
                }
                Interlocked.Exchange(ref w.Sleeping, 1);
                if (Volatile.Read(ref s_generation) == seen) w.Wake.Wait();
                w.Wake.Reset();
                Interlocked.Exchange(ref w.Sleeping, 0);
                start = Stopwatch.GetTimestamp();
            }
            seen = Volatile.Read(ref s_generation);
            if (w.Index < s_parts)
            {
                s_job!.Execute(w.Index, s_parts);
                Interlocked.Decrement(ref s_pending);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pause()
    {
        if (System.Runtime.Intrinsics.X86.X86Base.IsSupported) System.Runtime.Intrinsics.X86.X86Base.Pause();
        else Thread.SpinWait(1);
    }
}
