using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Functional.NN.Kernels;

/// <summary>
/// One half of <see cref="Layout.Fingerprint"/>: sixteen lanes' running values over values
/// [count * part / 2, count * (part + 1) / 2), lane l reading the values at l, l + 16, l + 32, ...
/// of the half, advanced in whole blocks of 16 values as far as asked, and folded into
/// <see cref="Result"/> once fewer than a block are left. However the advances are cut, and
/// whatever the machine's vectors (512-bit, 256-bit or none), the result is the same.
/// </summary>
internal unsafe struct FingerprintHalf
{
    private const ulong K = 0x9E3779B97F4A7C15UL;
    private readonly ulong _seed;
    // Lanes 0-7 (seeded with seed) and 8-15 (seed + 2).
    private Vector512<ulong> _a, _b;

    /// <summary>The next value to read.</summary>
    public long Position;
    /// <summary>The end of the half (exclusive).</summary>
    public readonly long End;
    /// <summary>True once the half is read and folded.</summary>
    public bool Done;
    /// <summary>The half's value, once <see cref="Done"/>.</summary>
    public ulong Result;

    public FingerprintHalf(long count, int part)
    {
        Position = count * part / 2;
        End = count * (part + 1) / 2;
        _seed = (ulong)part + 1;
        _a = Vector512.Create(_seed);
        _b = Vector512.Create(_seed + 2);
        Done = false;
        Result = 0;
    }

    /// <summary>Reads at most <paramref name="limit"/> more values of <paramref name="v"/> (whole blocks; the rest once fewer than a block are left).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Advance(ulong* v, long limit)
    {
        if (Done) return;
        long i = Position, stop = End - i <= limit ? End : i + limit;
        if (Vector512.IsHardwareAccelerated)
        {
            var k = Vector512.Create(K);
            var a = _a; var b = _b;
            for (; i + 16 <= stop; i += 16)
            {
                a = (a ^ Vector512.Load(v + i)) * k; a ^= Vector512.ShiftRightLogical(a, 29);
                b = (b ^ Vector512.Load(v + i + 8)) * k; b ^= Vector512.ShiftRightLogical(b, 29);
            }
            _a = a; _b = b;
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            // The same lanes, four to a vector.
            var k = Vector256.Create(K);
            Vector256<ulong> a0 = _a.GetLower(), a1 = _a.GetUpper(), b0 = _b.GetLower(), b1 = _b.GetUpper();
            for (; i + 16 <= stop; i += 16)
            {
                a0 = (a0 ^ Vector256.Load(v + i)) * k; a0 ^= Vector256.ShiftRightLogical(a0, 29);
                a1 = (a1 ^ Vector256.Load(v + i + 4)) * k; a1 ^= Vector256.ShiftRightLogical(a1, 29);
                b0 = (b0 ^ Vector256.Load(v + i + 8)) * k; b0 ^= Vector256.ShiftRightLogical(b0, 29);
                b1 = (b1 ^ Vector256.Load(v + i + 12)) * k; b1 ^= Vector256.ShiftRightLogical(b1, 29);
            }
            _a = Vector512.Create(a0, a1); _b = Vector512.Create(b0, b1);
        }
        else
        {
            // The same lanes, one value at a time.
            ulong* s = stackalloc ulong[16];
            _a.Store(s); _b.Store(s + 8);
            for (; i + 16 <= stop; i += 16)
                for (int l = 0; l < 16; l++)
                {
                    ulong x = (s[l] ^ v[i + l]) * K;
                    s[l] = x ^ (x >> 29);
                }
            _a = Vector512.Load(s); _b = Vector512.Load(s + 8);
        }
        Position = i;
        if (End - i >= 16) return;
        ulong h = _seed;
        for (int l = 0; l < 8; l++) h = Mix(Mix(h ^ _a.GetElement(l)) ^ _b.GetElement(l));
        for (; i < End; i++) h = Mix(h ^ v[i]);
        Position = End;
        Result = h;
        Done = true;
    }

    /// <summary>The fingerprint of <paramref name="count"/> values from its two halves' results (of none: a constant).</summary>
    public static ulong Combine(ulong h0, ulong h1, long count) =>
        count == 0 ? Mix(0) : Mix(Mix(h0 ^ (ulong)count) ^ h1);

    /// <summary>SplitMix64's finaliser (a bijection of 64-bit values).</summary>
    private static ulong Mix(ulong x)
    {
        x ^= x >> 30; x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27; x *= 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

/// <summary>
/// <see cref="Layout.Fingerprint"/> of an array's first values, read in chunks by threads that
/// would otherwise wait (<see cref="WorkerPool.SetIdle"/>) and finished by <see cref="Complete"/>:
/// a trainer that starts on its cached conversion of a matrix checks, while it trains, that the
/// matrix still has the values the copy was made from, and confirms it before anything of the run
/// leaves it. The array is pinned until <see cref="Dispose"/>. The result equals
/// <see cref="Layout.Fingerprint"/> of the same values, however the chunks fell.
/// </summary>
public sealed unsafe class PendingFingerprint : IIdleWork, IDisposable
{
    /// <summary>The number of values from which a fingerprint is read on two threads.</summary>
    public const int ParallelFrom = 1 << 16;

    /// <summary>Values read by one chunk: 16 KiB, about a microsecond.</summary>
    private const int Chunk = 2048;

    private sealed class Half(long count, int part)
    {
        public FingerprintHalf State = new(count, part);
        // 1 while a thread reads this half.
        public int Busy;
    }

    private GCHandle _pin;
    private ulong* _values;
    private readonly long _count;
    private readonly Half[] _halves;
    private readonly FinishJob _job;
    private bool _disposed;

    /// <summary>Starts the fingerprint of <paramref name="values"/>[0 .. <paramref name="count"/> - 1] (nothing is read yet).</summary>
    public PendingFingerprint(double[] values, int count)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (count < 0 || count > values.Length)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be 0 .. {values.Length}.");
        _count = count;
        _halves = [new Half(count, 0), new Half(count, 1)];
        _pin = GCHandle.Alloc(values, GCHandleType.Pinned);
        _values = (ulong*)_pin.AddrOfPinnedObject();
        _job = new FinishJob(this);
    }

    /// <summary>
    /// Reads one chunk of a half no other thread is reading (this thread's own half first: 0 for
    /// callers, 1 for the first worker); false when every half is done or taken.
    /// </summary>
    public bool RunChunk(int home)
    {
        for (int k = 0; k < 2; k++)
        {
            var half = _halves[(home + k) & 1];
            if (half.State.Done || Volatile.Read(ref half.Busy) != 0 || Interlocked.CompareExchange(ref half.Busy, 1, 0) != 0) continue;
            try
            {
                if (half.State.Done || _disposed) continue;
                half.State.Advance(_values, Chunk);
                return true;
            }
            finally { Volatile.Write(ref half.Busy, 0); }
        }
        return false;
    }

    /// <summary>Reads what is left (both halves at once on the worker pool when enough is left) and returns the fingerprint.</summary>
    public ulong Complete()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        WorkerPool.ClearIdle(this);
        long left = _halves[0].State.End - _halves[0].State.Position + _halves[1].State.End - _halves[1].State.Position;
        if (left >= ParallelFrom && !_halves[0].State.Done && !_halves[1].State.Done && WorkerPool.Threads > 1) WorkerPool.Run(_job, 2);
        else { Finish(0); Finish(1); }
        return FingerprintHalf.Combine(_halves[0].State.Result, _halves[1].State.Result, _count);
    }

    /// <summary>Takes half <paramref name="part"/> (waiting for a chunk under way) and reads the rest of it.</summary>
    private void Finish(int part)
    {
        var half = Take(part);
        try { half.State.Advance(_values, long.MaxValue); }
        finally { Volatile.Write(ref half.Busy, 0); }
    }

    private Half Take(int part)
    {
        var half = _halves[part];
        var spinner = new SpinWait();
        while (Interlocked.CompareExchange(ref half.Busy, 1, 0) != 0) spinner.SpinOnce(-1);
        return half;
    }

    private sealed class FinishJob(PendingFingerprint owner) : IParallelJob
    {
        public void Execute(int part, int parts) => owner.Finish(part);
    }

    /// <summary>Unpins the array of a fingerprint that was never disposed (no thread can be reading it then).</summary>
    ~PendingFingerprint()
    {
        if (_pin.IsAllocated) _pin.Free();
    }

    /// <summary>Stops the idle threads' reading (waiting for a chunk under way) and unpins the array.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        GC.SuppressFinalize(this);
        WorkerPool.ClearIdle(this);
        for (int part = 0; part < 2; part++)
        {
            var half = Take(part);
            _disposed = true;
            Volatile.Write(ref half.Busy, 0);
        }
        if (_pin.IsAllocated) _pin.Free();
        _values = null;
    }
}
