using System.Globalization;
using System.Runtime.Intrinsics;

namespace Functional.NN.Kernels;

/// <summary>
/// The data-cache sizes of the machine, per core for L1 and L2 and in all for L3, read once at run
/// time. On Linux they come from /sys/devices/system/cpu/cpu0/cache/index*/ (level, type, size);
/// where that cannot be read, a fallback of 32 KiB, 512 KiB and 8 MiB (a common x86-64 core) is
/// used and <see cref="Source"/> says so.
/// </summary>
public sealed record CacheSizes(long L1Data, long L2, long L3, string Source)
{
    /// <summary>The fallback: 32 KiB L1d, 512 KiB L2, 8 MiB L3.</summary>
    public static CacheSizes Fallback { get; } = new(32 * 1024, 512 * 1024, 8L * 1024 * 1024, "fallback");

    /// <summary>This machine's caches (read once).</summary>
    public static CacheSizes Current { get; } = Read("/sys/devices/system/cpu/cpu0/cache");

    /// <summary>
    /// Reads the cache sizes from a directory laid out as Linux's sysfs cache directory
    /// (index0, index1, ... each with level, type and size files, size as "48K", "1024K", "32M"
    /// or a number of bytes). A level that is missing or unreadable takes the fallback's value.
    /// </summary>
    public static CacheSizes Read(string directory)
    {
        long l1 = 0, l2 = 0, l3 = 0;
        try
        {
            if (Directory.Exists(directory))
            {
                foreach (var index in Directory.GetDirectories(directory, "index*"))
                {
                    string? level = ReadText(Path.Combine(index, "level"));
                    string? type = ReadText(Path.Combine(index, "type"));
                    long size = ParseSize(ReadText(Path.Combine(index, "size")));
                    if (level is null || type is null || size <= 0 || type == "Instruction") continue;
                    switch (level)
                    {
                        case "1": l1 = Math.Max(l1, size); break;
                        case "2": l2 = Math.Max(l2, size); break;
                        case "3": l3 = Math.Max(l3, size); break;
                    }
                }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        if (l1 == 0 && l2 == 0 && l3 == 0) return Fallback;
        bool complete = l1 > 0 && l2 > 0 && l3 > 0;
        return new CacheSizes(l1 > 0 ? l1 : Fallback.L1Data, l2 > 0 ? l2 : Fallback.L2, l3 > 0 ? l3 : Fallback.L3,
            complete ? directory : directory + " (missing levels from the fallback)");
    }

    private static string? ReadText(string path)
    {
        try { return File.Exists(path) ? File.ReadAllText(path).Trim() : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>"48K" = 49152, "2M" = 2097152, "1G", or plain bytes; 0 when unreadable.</summary>
    public static long ParseSize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return 0;
        text = text.Trim();
        long unit = 1;
        char last = char.ToUpperInvariant(text[^1]);
        if (last == 'K') unit = 1024;
        else if (last == 'M') unit = 1024 * 1024;
        else if (last == 'G') unit = 1024L * 1024 * 1024;
        string digits = unit == 1 ? text : text[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long v) && v > 0 && v <= (1L << 40) / unit ? v * unit : 0;
    }
}

/// <summary>
/// The cache blocking of the matrix product for one element type: a kc x nr micro-panel of packed
/// op(B) stays in L1, an mc x kc block of packed op(A) in L2, a kc x nc panel of packed op(B) in
/// the thread's share of L3.
/// </summary>
/// <param name="KC">Depth of a block (the k-step of the blocked sum; the only block size that
/// affects the bits of the result).</param>
/// <param name="MC">Rows of a packed block of op(A), a multiple of the micro-kernel's MR.</param>
/// <param name="NC">Columns of a packed panel of op(B), a multiple of the micro-kernel's NR.</param>
public readonly record struct GemmBlocking(int KC, int MC, int NC)
{
    /// <summary>
    /// KC set by the environment variable FNN_GEMM_KC (16 to 4096), for measurements only: it
    /// changes the k-steps of the blocked sums and so the last bits of the results.
    /// </summary>
    internal static int? KCOverride { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("FNN_GEMM_KC"), out int kc) && kc >= 16 && kc <= 4096 ? kc : null;

    /// <summary>MC set by the environment variable FNN_GEMM_MC (12 to 4096, down to a multiple of mr), for measurements (no effect on the bits).</summary>
    internal static int? MCOverride { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("FNN_GEMM_MC"), out int mc) && mc >= 12 && mc <= 4096 ? mc : null;

    /// <summary>NC set by the environment variable FNN_GEMM_NC (16 to 65536, rounded down to a multiple of nr, at least nr), for measurements (no effect on the bits).</summary>
    internal static int? NCOverride { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("FNN_GEMM_NC"), out int nc) && nc >= 16 && nc <= 65536 ? nc : null;

    /// <summary>
    /// The block sizes for caches of the given sizes, elements of <paramref name="elementSize"/>
    /// bytes, an mr x nr micro-kernel and <paramref name="threads"/> threads sharing L3:
    /// KC = 2 L1d / (nr x size), a B micro-panel of twice L1 (it streams from L2 with the A
    /// micro-panel: a 12 x 2-vector tile does 24 FMAs per 176 bytes of A and B, about 7 bytes a
    /// cycle, which L2 supplies; the longer k-step halves the passes over C against KC = L1d / (nr
    /// x size), measured 2 to 4 % faster on a Zen 4 core, no gain beyond), rounded down to a
    /// multiple of 16 within [64, 1024]; MC = L2 / 4 / (KC x size),
    /// rounded down to a multiple of mr within [mr, 1020]; NC = L3 / (4 threads) / (KC x size),
    /// rounded down to a multiple of nr within [nr, 16384]: the threads' packed panels of op(B)
    /// together take a quarter of L3. Half of L3 (a float64 panel of 8 MiB per thread on a Zen 4
    /// core with 2 threads) measured 9-11 % slower at n = 2048 than a quarter or an eighth, which
    /// measured alike (in one process, the sizes alternating); the likely cause is the panels
    /// falling out of L3, which C and A stream through as well.
    /// </summary>
    public static GemmBlocking For(CacheSizes caches, int elementSize, int mr, int nr, int threads)
    {
        ArgumentNullException.ThrowIfNull(caches);
        if (elementSize != 4 && elementSize != 8) throw new ArgumentOutOfRangeException(nameof(elementSize), elementSize, "elementSize must be 4 or 8.");
        if (mr < 1) throw new ArgumentOutOfRangeException(nameof(mr), mr, "mr must be >= 1.");
        if (nr < 1) throw new ArgumentOutOfRangeException(nameof(nr), nr, "nr must be >= 1.");
        threads = Math.Max(1, threads);
        long l1 = caches.L1Data > 0 ? caches.L1Data : CacheSizes.Fallback.L1Data;
        long l2 = caches.L2 > 0 ? caches.L2 : CacheSizes.Fallback.L2;
        long l3 = caches.L3 > 0 ? caches.L3 : CacheSizes.Fallback.L3;
        long kc = Math.Clamp(2 * l1 / ((long)nr * elementSize) / 16 * 16, 64, 1024);
        if (KCOverride is int forced) kc = forced;
        long mc = Math.Clamp(l2 / 4 / (kc * elementSize) / mr * mr, mr, 1020 / mr * mr);
        if (MCOverride is int forcedMc) mc = Math.Max(mr, forcedMc / mr * mr);
        long nc = Math.Clamp(l3 / (4L * threads) / (kc * elementSize) / nr * nr, nr, 16384 / nr * nr);
        if (NCOverride is int forcedNc) nc = Math.Max(nr, forcedNc / nr * nr);
        return new GemmBlocking((int)kc, (int)mc, (int)nc);
    }
}

public static partial class Gemm
{
    /// <summary>The blocking this machine's products of <typeparamref name="T"/> (float or double) use.</summary>
    public static GemmBlocking BlockingOf<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        Simd.CheckType<T>();
        return new GemmBlocking(Config<T>.KC, Config<T>.MC, Config<T>.NC);
    }

    /// <summary>The micro-kernels and blocking in use, for benchmark reports.</summary>
    public static string KernelDescription
    {
        get
        {
            string isa = Simd.Use512 ? "AVX-512 (Vector512)" : Simd.Use256 ? "AVX2+FMA (Vector256)" : "scalar";
            var f = BlockingOf<float>();
            var d = BlockingOf<double>();
            return $"{isa}: float {Config<float>.MR}x{Config<float>.NR} KC={f.KC} MC={f.MC} NC={f.NC}; " +
                   $"double {Config<double>.MR}x{Config<double>.NR} KC={d.KC} MC={d.MC} NC={d.NC}; " +
                   $"caches L1d {CacheSizes.Current.L1Data / 1024} KiB, L2 {CacheSizes.Current.L2 / 1024} KiB, L3 {CacheSizes.Current.L3 / 1024} KiB ({CacheSizes.Current.Source})";
        }
    }
}
