using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Functional.NN.Kernels;

/// <summary>A piece of work split into numbered parts that may run at the same time.</summary>
public interface IParallelJob
{
    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/>.</summary>
    void Execute(int part, int parts);
}

/// <summary>Work that threads of the pool do in short chunks while they would otherwise wait (<see cref="WorkerPool.SetIdle"/>).</summary>
public interface IIdleWork
{
    /// <summary>
    /// Runs one chunk of about a microsecond; false when there was none to take. <paramref name="home"/>
    /// is 0 on a caller, i on worker i. Must be safe to call from any thread at any time, also after
    /// the work is finished; it should not throw (work that throws is cleared and its exception dropped).
    /// </summary>
    bool RunChunk(int home);
}

/// <summary>
/// A persistent pool of worker threads (one fewer than the cores), for fork-join of kernels without
/// allocating. The parts of a job are claimed one at a time by the calling thread and the workers
/// alike, so a worker that the operating system has not scheduled yet (another process is busy)
/// delays nothing: the caller runs the parts left over itself. Idle workers spin for a short while
/// (so back-to-back kernels start in well under a microsecond), then sleep on an event, so an idle
/// process leaves the cores to others; the caller waits for the last part in a pause loop for at
/// most 50 us (plus a chunk of idle work under way, about a microsecond) before it yields (the benchmark's W3-forkjoin measures the round trip). One job runs at a time: a caller that finds the pool busy
/// (another thread's job, or a job started from inside a job) runs all parts itself.
/// <para>
/// Besides, one piece of background work may be posted (<see cref="Post"/>): idle workers run
/// its parts between jobs, one part at a time, and the thread that posted it finishes it
/// (<see cref="Finish"/>), running itself the parts no worker has taken. A trainer posts the
/// next batch's gather this way, so that the worker, which would wait while the caller runs a
/// layer on its own, copies rows instead.
/// </para>
/// <para>
/// And one piece of idle work may be set (<see cref="SetIdle"/>): a caller waiting for a job's
/// last part (in its pause loop) and a worker between jobs run chunks of it, so a check that
/// must read a large array (<see cref="PendingFingerprint"/>) takes time that would be spent waiting.
/// </para>
/// </summary>
public static class WorkerPool
{
    private sealed class Worker
    {
        public readonly ManualResetEventSlim Wake = new(false, 0);
        public volatile int Sleeping;
    }

    private static readonly long s_spinTicks = Stopwatch.Frequency / 2000; // 0.5 ms
    private static readonly long s_joinSpinTicks = Stopwatch.Frequency / 20000; // 50 us
    private static readonly Worker[] s_workers;
    // The job in hand, or the last one: written only when it changes (so that a worker finds it in
    // its cache when the same job runs again), it keeps the last job (a kernel's or a predictor's
    // small object, owned by them) until the next one.
    private static IParallelJob? s_job;
    // The job's generation (high 32 bits), its number of parts (bits 16-30) and the next part to
    // claim (bits 0-15): a part is claimed by compare-and-swap on the whole word, so a claim can
    // never land on a later job.
    //
    // The words that the threads share, each on a cache line of its own, in a pinned array of
    // their own with a line's margin at both ends: the caller's writes to one then do not take
    // from the workers a line they are reading, nor wait for it, and no other object shares their
    // lines. (A static struct with the same offsets, which the runtime boxes among other objects,
    // made two-thread products three times slower; the cause was not isolated.)
    private static readonly long[] s_words = GC.AllocateArray<long>(7 * 8, pinned: true);
    // The job's generation, parts and claims (see above); the workers wait for it to change.
    private static ref long State => ref s_words[8];
    // The parts done since the pool was made (never reset, so that no caller writes it).
    private static ref long Done => ref s_words[16];
    // 1 while a caller holds the pool; with Target and Generation, touched by the caller only.
    private static ref long Busy => ref s_words[24];
    // The value of Done when the job in hand has finished.
    private static ref long Target => ref s_words[25];
    // The generation of the last job started (State's high 32 bits).
    private static ref long Generation => ref s_words[26];
    // 1 while a caller's background work is posted and not finished; the value of BackgroundDone
    // when it has finished; its generation. Touched by callers only.
    private static ref long BackgroundBusy => ref s_words[27];
    private static ref long BackgroundTarget => ref s_words[28];
    private static ref long BackgroundGeneration => ref s_words[29];
    // The background work's generation, parts and next part to claim, as State (no affinity).
    private static ref long BackgroundState => ref s_words[32];
    // The background parts done since the pool was made.
    private static ref long BackgroundDone => ref s_words[40];
    private static IParallelJob? s_background;
    private static IIdleWork? s_idle;
    private static Exception? s_backgroundError;
    // Bit 31 set: a job run with affinity, whose bits 0-15 are the set of claimed parts.
    private const long AffinityBit = 1L << 31;
    private static Exception? s_error;
    [ThreadStatic] private static bool t_insideJob;
    // The part this thread prefers in a job run with affinity: 0 for callers, i for worker i.
    [ThreadStatic] private static int t_home;

    static WorkerPool()
    {
        int cores = Environment.ProcessorCount;
        int workers = Math.Clamp(cores - 1, 0, 63);
        string? env = Environment.GetEnvironmentVariable("FNN_THREADS");
        if (env is not null && int.TryParse(env, out int t) && t >= 1) workers = Math.Min(workers, t - 1);
        s_workers = new Worker[workers];
        for (int i = 0; i < workers; i++)
        {
            var w = new Worker();
            s_workers[i] = w;
            int home = i + 1;
            var thread = new Thread(() => Loop(w, home)) { IsBackground = true, Name = $"Functional.NN worker {i + 1}" };
            thread.Start();
        }
    }

    /// <summary>How many parts can run at once: the workers plus the calling thread.</summary>
    public static int Threads => s_workers.Length + 1;

    /// <summary>
    /// Runs <paramref name="job"/> in <paramref name="parts"/> parts (1 to 32767) and returns when
    /// all are done. Allocates nothing. An exception thrown by a part is rethrown here once every
    /// part has finished.
    /// </summary>
    public static void Run(IParallelJob job, int parts) => Run(job, parts, false);

    /// <summary>
    /// As <see cref="Run(IParallelJob, int)"/>; with <paramref name="affinity"/> (at most 16 parts)
    /// part 0 always runs on the calling thread and part i on worker i whenever that worker is running, so
    /// that a part which reads the same data on every call (a block of a layer's weights) finds it
    /// in the cache of the core it ran on last time. A part whose thread has not claimed it when
    /// another thread has finished its own is run by that thread, so a worker the operating system
    /// has not scheduled delays nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(IParallelJob job, int parts, bool affinity)
    {
        ArgumentNullException.ThrowIfNull(job);
        parts = Math.Clamp(parts, 1, affinity ? 16 : 0x7FFF);
        if (parts == 1 || s_workers.Length == 0 || t_insideJob || Interlocked.CompareExchange(ref Busy, 1, 0) != 0)
        {
            RunInline(job, parts);
            return;
        }
        try
        {
            if (!ReferenceEquals(s_job, job)) s_job = job;
            if (s_error is not null) s_error = null;
            long target = Target += parts;
            int generation = (int)++Generation;
            // With affinity, part 0 is the caller's from the start (bit 0 of the claimed set).
            Interlocked.Exchange(ref State, ((long)generation << 32) | ((long)parts << 16) | (affinity ? AffinityBit | 1 : 0));
            int wake = Math.Min(parts - 1, s_workers.Length);
            for (int i = 0; i < wake; i++)
            {
                var w = s_workers[i];
                if (w.Sleeping != 0) w.Wake.Set();
            }
            t_insideJob = true;
            try
            {
                if (affinity) RunPart(job, 0, parts);
                ClaimAndRun(generation);
            }
            finally { t_insideJob = false; }
            // The join: a pause loop first (a few-microsecond part ends well inside it, with no
            // system call on the way, where SpinWait soon yields the thread), for at most 50 us;
            // then SpinWait, which yields to other threads (a worker descheduled mid-part may need this core).
            if (Volatile.Read(ref Done) - target < 0)
            {
                long joinStart = Stopwatch.GetTimestamp();
                while (Volatile.Read(ref Done) - target < 0 && Stopwatch.GetTimestamp() - joinStart < s_joinSpinTicks)
                {
                    if (Volatile.Read(ref s_idle) is { } idle && RunIdleChunk(idle, 0)) continue;
                    Pause();
                }
                var spinner = new SpinWait();
                while (Volatile.Read(ref Done) - target < 0) spinner.SpinOnce(-1);
            }
            if (s_error is Exception e) ExceptionDispatchInfo.Capture(e).Throw();
        }
        finally
        {
            Volatile.Write(ref Busy, 0);
        }
    }

    /// <summary>All parts on the calling thread; as in parallel, every part runs even if one throws.</summary>
    private static void RunInline(IParallelJob job, int parts)
    {
        Exception? error = null;
        for (int p = 0; p < parts; p++)
        {
            try { job.Execute(p, parts); }
            catch (Exception e) { error ??= e; }
        }
        if (error is not null) ExceptionDispatchInfo.Capture(error).Throw();
    }

    /// <summary>Claims and runs parts of the job of this generation until none is left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ClaimAndRun(int generation)
    {
        while (true)
        {
            long st = Volatile.Read(ref State);
            if ((int)(st >> 32) != generation) return;
            int parts = (int)((st >> 16) & 0x7FFF), next;
            long claimed;
            if ((st & AffinityBit) != 0)
            {
                // Bits 0-15 are the claimed parts: this thread's own part first, then any other.
                int mask = (int)(st & 0xFFFF), home = t_home;
                if (home < parts && (mask & (1 << home)) == 0) next = home;
                else
                {
                    int free = ~mask & ((1 << parts) - 1);
                    if (free == 0) return;
                    next = BitOperations.TrailingZeroCount(free);
                }
                claimed = st | (1L << next);
            }
            else
            {
                next = (int)(st & 0xFFFF);
                if (next >= parts) return;
                claimed = st + 1;
            }
            if (Interlocked.CompareExchange(ref State, claimed, st) != st) continue;
            // Claimed: the job cannot finish (nor s_job change) before this part is done.
            RunPart(s_job!, next, parts);
        }
    }

    /// <summary>Runs one claimed part, keeps its exception for the caller, and counts it done.</summary>
    private static void RunPart(IParallelJob job, int part, int parts)
    {
        try { job.Execute(part, parts); }
        catch (Exception e) { Interlocked.CompareExchange(ref s_error, e, null); }
        Interlocked.Increment(ref Done);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Loop(Worker w, int home)
    {
        t_insideJob = true;
        t_home = home;
        int seen = 0; // the generation when the pool was created
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            while ((int)(Volatile.Read(ref State) >> 32) == seen)
            {
                // Between jobs: a part of the background work, if any is left (a job posted
                // meanwhile starts when that part is done).
                if (RunBackgroundPart() || Volatile.Read(ref s_idle) is { } idle && RunIdleChunk(idle, home))
                {
                    start = Stopwatch.GetTimestamp();
                    continue;
                }
                if (Stopwatch.GetTimestamp() - start < s_spinTicks)
                {
                    Pause();
                    continue;
                }
                Interlocked.Exchange(ref w.Sleeping, 1);
                if ((int)(Volatile.Read(ref State) >> 32) == seen && !BackgroundLeft()) w.Wake.Wait();
                w.Wake.Reset();
                Interlocked.Exchange(ref w.Sleeping, 0);
                start = Stopwatch.GetTimestamp();
            }
            seen = (int)(Volatile.Read(ref State) >> 32);
            ClaimAndRun(seen);
        }
    }

    /// <summary>
    /// Posts <paramref name="job"/> as background work in <paramref name="parts"/> parts (1 to
    /// 32767): idle workers run its parts between jobs, and <see cref="Finish"/> (which the posting
    /// thread must call, before it touches what the parts write or frees what they read) runs the
    /// rest and waits for the parts under way. Returns false, posting nothing, when there is no
    /// worker or background work is posted and not finished (this thread's or another's): the
    /// caller then runs the work itself. Wakes at most as many sleeping workers as there are
    /// parts. Allocates nothing.
    /// </summary>
    public static bool Post(IParallelJob job, int parts)
    {
        ArgumentNullException.ThrowIfNull(job);
        parts = Math.Clamp(parts, 1, 0x7FFF);
        if (s_workers.Length == 0 || Interlocked.CompareExchange(ref BackgroundBusy, 1, 0) != 0) return false;
        s_background = job;
        s_backgroundError = null;
        BackgroundTarget += parts;
        int generation = (int)++BackgroundGeneration;
        Interlocked.Exchange(ref BackgroundState, ((long)generation << 32) | ((long)parts << 16));
        int wake = Math.Min(parts, s_workers.Length);
        for (int i = 0; i < wake; i++)
        {
            var w = s_workers[i];
            if (w.Sleeping != 0) w.Wake.Set();
        }
        return true;
    }

    /// <summary>
    /// Finishes the background work <paramref name="job"/> that this thread posted: runs the parts
    /// no worker has taken, waits for those under way, and rethrows the first exception a part threw.
    /// Does nothing if <paramref name="job"/> is not the work posted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Finish(IParallelJob job)
    {
        if (Volatile.Read(ref BackgroundBusy) == 0 || !ReferenceEquals(s_background, job)) return;
        bool inside = t_insideJob;
        t_insideJob = true;
        try { while (RunBackgroundPart()) { } }
        finally { t_insideJob = inside; }
        long target = BackgroundTarget;
        if (Volatile.Read(ref BackgroundDone) - target < 0)
        {
            var spinner = new SpinWait();
            while (Volatile.Read(ref BackgroundDone) - target < 0) spinner.SpinOnce(-1);
        }
        var error = s_backgroundError;
        s_background = null;
        s_backgroundError = null;
        Volatile.Write(ref BackgroundBusy, 0);
        if (error is not null) ExceptionDispatchInfo.Capture(error).Throw();
    }

    /// <summary>
    /// Sets the idle work (replacing any other), which waiting threads run in chunks until it is
    /// cleared (<see cref="ClearIdle"/>) or replaced. It does not wake a sleeping worker.
    /// </summary>
    public static void SetIdle(IIdleWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Volatile.Write(ref s_idle, work);
    }

    /// <summary>Clears the idle work if it is <paramref name="work"/> (a thread may still be running a chunk of it).</summary>
    public static void ClearIdle(IIdleWork work) => Interlocked.CompareExchange(ref s_idle, null, work);

    /// <summary>A chunk of the idle work; work that throws (which it must not) is cleared and its exception dropped, so that it can neither end a worker nor leave a job unjoined.</summary>
    private static bool RunIdleChunk(IIdleWork work, int home)
    {
        try { return work.RunChunk(home); }
        catch (Exception)
        {
            ClearIdle(work);
            return false;
        }
    }

    /// <summary>Whether the background work has a part no thread has claimed.</summary>
    private static bool BackgroundLeft()
    {
        long st = Volatile.Read(ref BackgroundState);
        return (st & 0xFFFF) < ((st >> 16) & 0x7FFF);
    }

    /// <summary>Claims and runs one part of the background work; false if none was left.</summary>
    private static bool RunBackgroundPart()
    {
        while (true)
        {
            long st = Volatile.Read(ref BackgroundState);
            int parts = (int)((st >> 16) & 0x7FFF), next = (int)(st & 0xFFFF);
            if (next >= parts) return false;
            if (Interlocked.CompareExchange(ref BackgroundState, st + 1, st) != st) continue;
            // Claimed: the work cannot be finished (nor s_background change) before this part is done.
            try { s_background!.Execute(next, parts); }
            catch (Exception e) { Interlocked.CompareExchange(ref s_backgroundError, e, null); }
            Interlocked.Increment(ref BackgroundDone);
            return true;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pause()
    {
        if (System.Runtime.Intrinsics.X86.X86Base.IsSupported) System.Runtime.Intrinsics.X86.X86Base.Pause();
        else Thread.SpinWait(1);
    }
}
