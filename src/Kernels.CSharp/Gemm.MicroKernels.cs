using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Functional.NN.Kernels;

public static unsafe partial class Gemm
{
    // How a micro-kernel writes its MR x NR tile: C = acc, C += acc, or C = beta C + acc.
    private const int Store = 0, Add = 1, Scale = 2;

    /// <summary>
    /// The AVX-512 micro-kernel: a 12 x (2 x 512-bit) tile of C in 24 registers, over kc steps of
    /// a packed A micro-panel (12 values per step, broadcast) and a B micro-panel (two vectors per
    /// step, <paramref name="bStep"/> values apart: packed, or B's own rows read in place).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512<T>(int kc, T* a, T* b, nint bStep, T* c, nint ldc, int mode, T beta) where T : unmanaged
    {
        int w = Vector512<T>.Count;
        PrefetchTile(c, ldc, 12, 2 * w * Unsafe.SizeOf<T>());
        Vector512<T> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default;
        Vector512<T> c3a = default, c3b = default, c4a = default, c4b = default, c5a = default, c5b = default;
        Vector512<T> c6a = default, c6b = default, c7a = default, c7b = default, c8a = default, c8b = default;
        Vector512<T> c9a = default, c9b = default, cAa = default, cAb = default, cBa = default, cBb = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b), b1 = Vector512.Load(b + w);
            Vector512<T> x;
            x = Vector512.Create(a[0]); c0a = Simd.Fma512(x, b0, c0a); c0b = Simd.Fma512(x, b1, c0b);
            x = Vector512.Create(a[1]); c1a = Simd.Fma512(x, b0, c1a); c1b = Simd.Fma512(x, b1, c1b);
            x = Vector512.Create(a[2]); c2a = Simd.Fma512(x, b0, c2a); c2b = Simd.Fma512(x, b1, c2b);
            x = Vector512.Create(a[3]); c3a = Simd.Fma512(x, b0, c3a); c3b = Simd.Fma512(x, b1, c3b);
            x = Vector512.Create(a[4]); c4a = Simd.Fma512(x, b0, c4a); c4b = Simd.Fma512(x, b1, c4b);
            x = Vector512.Create(a[5]); c5a = Simd.Fma512(x, b0, c5a); c5b = Simd.Fma512(x, b1, c5b);
            x = Vector512.Create(a[6]); c6a = Simd.Fma512(x, b0, c6a); c6b = Simd.Fma512(x, b1, c6b);
            x = Vector512.Create(a[7]); c7a = Simd.Fma512(x, b0, c7a); c7b = Simd.Fma512(x, b1, c7b);
            x = Vector512.Create(a[8]); c8a = Simd.Fma512(x, b0, c8a); c8b = Simd.Fma512(x, b1, c8b);
            x = Vector512.Create(a[9]); c9a = Simd.Fma512(x, b0, c9a); c9b = Simd.Fma512(x, b1, c9b);
            x = Vector512.Create(a[10]); cAa = Simd.Fma512(x, b0, cAa); cAb = Simd.Fma512(x, b1, cAb);
            x = Vector512.Create(a[11]); cBa = Simd.Fma512(x, b0, cBa); cBb = Simd.Fma512(x, b1, cBb);
            a += 12;
            b += bStep;
        }
        Put512(c, w, mode, beta, c0a, c0b); c += ldc;
        Put512(c, w, mode, beta, c1a, c1b); c += ldc;
        Put512(c, w, mode, beta, c2a, c2b); c += ldc;
        Put512(c, w, mode, beta, c3a, c3b); c += ldc;
        Put512(c, w, mode, beta, c4a, c4b); c += ldc;
        Put512(c, w, mode, beta, c5a, c5b); c += ldc;
        Put512(c, w, mode, beta, c6a, c6b); c += ldc;
        Put512(c, w, mode, beta, c7a, c7b); c += ldc;
        Put512(c, w, mode, beta, c8a, c8b); c += ldc;
        Put512(c, w, mode, beta, c9a, c9b); c += ldc;
        Put512(c, w, mode, beta, cAa, cAb); c += ldc;
        Put512(c, w, mode, beta, cBa, cBb);
    }

    /// <summary>
    /// The AVX-512 micro-kernel for the first 8 rows of a 12-row A micro-panel (a panel of op(A)
    /// with at most 8 rows left): a 8 x (2 x 512-bit) tile, reading rows 0..7 of each
    /// 12-value step of A. Each element of C is the same chain of FMAs as in the 12-row kernel, so
    /// the same bits; it spares the FMAs of the zero rows that the 12-row kernel would compute.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512Rows8<T>(int kc, T* a, T* b, nint bStep, T* c, nint ldc, int mode, T beta) where T : unmanaged
    {
        int w = Vector512<T>.Count;
        PrefetchTile(c, ldc, 8, 2 * w * Unsafe.SizeOf<T>());
        Vector512<T> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default, c3a = default, c3b = default, c4a = default, c4b = default, c5a = default, c5b = default, c6a = default, c6b = default, c7a = default, c7b = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b), b1 = Vector512.Load(b + w);
            Vector512<T> x;
            x = Vector512.Create(a[0]); c0a = Simd.Fma512(x, b0, c0a); c0b = Simd.Fma512(x, b1, c0b);
            x = Vector512.Create(a[1]); c1a = Simd.Fma512(x, b0, c1a); c1b = Simd.Fma512(x, b1, c1b);
            x = Vector512.Create(a[2]); c2a = Simd.Fma512(x, b0, c2a); c2b = Simd.Fma512(x, b1, c2b);
            x = Vector512.Create(a[3]); c3a = Simd.Fma512(x, b0, c3a); c3b = Simd.Fma512(x, b1, c3b);
            x = Vector512.Create(a[4]); c4a = Simd.Fma512(x, b0, c4a); c4b = Simd.Fma512(x, b1, c4b);
            x = Vector512.Create(a[5]); c5a = Simd.Fma512(x, b0, c5a); c5b = Simd.Fma512(x, b1, c5b);
            x = Vector512.Create(a[6]); c6a = Simd.Fma512(x, b0, c6a); c6b = Simd.Fma512(x, b1, c6b);
            x = Vector512.Create(a[7]); c7a = Simd.Fma512(x, b0, c7a); c7b = Simd.Fma512(x, b1, c7b);
            a += 12;
            b += bStep;
        }
        Put512(c, w, mode, beta, c0a, c0b); c += ldc;
        Put512(c, w, mode, beta, c1a, c1b); c += ldc;
        Put512(c, w, mode, beta, c2a, c2b); c += ldc;
        Put512(c, w, mode, beta, c3a, c3b); c += ldc;
        Put512(c, w, mode, beta, c4a, c4b); c += ldc;
        Put512(c, w, mode, beta, c5a, c5b); c += ldc;
        Put512(c, w, mode, beta, c6a, c6b); c += ldc;
        Put512(c, w, mode, beta, c7a, c7b);
    }

    /// <summary>
    /// The AVX-512 micro-kernel for the first 4 rows of a 12-row A micro-panel (a panel of op(A)
    /// with at most 4 rows left): a 4 x (2 x 512-bit) tile, reading rows 0..3 of each
    /// 12-value step of A. Each element of C is the same chain of FMAs as in the 12-row kernel, so
    /// the same bits; it spares the FMAs of the zero rows that the 12-row kernel would compute.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512Rows4<T>(int kc, T* a, T* b, nint bStep, T* c, nint ldc, int mode, T beta) where T : unmanaged
    {
        int w = Vector512<T>.Count;
        PrefetchTile(c, ldc, 4, 2 * w * Unsafe.SizeOf<T>());
        Vector512<T> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default, c3a = default, c3b = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b), b1 = Vector512.Load(b + w);
            Vector512<T> x;
            x = Vector512.Create(a[0]); c0a = Simd.Fma512(x, b0, c0a); c0b = Simd.Fma512(x, b1, c0b);
            x = Vector512.Create(a[1]); c1a = Simd.Fma512(x, b0, c1a); c1b = Simd.Fma512(x, b1, c1b);
            x = Vector512.Create(a[2]); c2a = Simd.Fma512(x, b0, c2a); c2b = Simd.Fma512(x, b1, c2b);
            x = Vector512.Create(a[3]); c3a = Simd.Fma512(x, b0, c3a); c3b = Simd.Fma512(x, b1, c3b);
            a += 12;
            b += bStep;
        }
        Put512(c, w, mode, beta, c0a, c0b); c += ldc;
        Put512(c, w, mode, beta, c1a, c1b); c += ldc;
        Put512(c, w, mode, beta, c2a, c2b); c += ldc;
        Put512(c, w, mode, beta, c3a, c3b);
    }

    /// <summary>
    /// The AVX-512 micro-kernel for a narrow panel (at most one vector of columns valid): a 12 x 1
    /// vector tile, reading the first vector of each step of a B micro-panel (<paramref name="bStep"/> values apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512Narrow<T>(int kc, T* a, T* b, nint bStep, T* c, nint ldc, int mode, T beta) where T : unmanaged
    {
        Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector512<T> c6 = default, c7 = default, c8 = default, c9 = default, cA = default, cB = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b);
            c0 = Simd.Fma512(Vector512.Create(a[0]), b0, c0);
            c1 = Simd.Fma512(Vector512.Create(a[1]), b0, c1);
            c2 = Simd.Fma512(Vector512.Create(a[2]), b0, c2);
            c3 = Simd.Fma512(Vector512.Create(a[3]), b0, c3);
            c4 = Simd.Fma512(Vector512.Create(a[4]), b0, c4);
            c5 = Simd.Fma512(Vector512.Create(a[5]), b0, c5);
            c6 = Simd.Fma512(Vector512.Create(a[6]), b0, c6);
            c7 = Simd.Fma512(Vector512.Create(a[7]), b0, c7);
            c8 = Simd.Fma512(Vector512.Create(a[8]), b0, c8);
            c9 = Simd.Fma512(Vector512.Create(a[9]), b0, c9);
            cA = Simd.Fma512(Vector512.Create(a[10]), b0, cA);
            cB = Simd.Fma512(Vector512.Create(a[11]), b0, cB);
            a += 12;
            b += bStep;
        }
        Put512One(c, mode, beta, c0); c += ldc;
        Put512One(c, mode, beta, c1); c += ldc;
        Put512One(c, mode, beta, c2); c += ldc;
        Put512One(c, mode, beta, c3); c += ldc;
        Put512One(c, mode, beta, c4); c += ldc;
        Put512One(c, mode, beta, c5); c += ldc;
        Put512One(c, mode, beta, c6); c += ldc;
        Put512One(c, mode, beta, c7); c += ldc;
        Put512One(c, mode, beta, c8); c += ldc;
        Put512One(c, mode, beta, c9); c += ldc;
        Put512One(c, mode, beta, cA); c += ldc;
        Put512One(c, mode, beta, cB);
    }

    /// <summary>
    /// Asks for the rows of a C tile (<paramref name="bytes"/> of C per row) to be brought into
    /// the cache while the micro-kernel computes: the tile is read (and written) only at the end,
    /// after thousands of cycles of FMAs, and for a large C it is then in neither L1 nor L2;
    /// without the prefetch the end of every micro-kernel waits for its rows' misses.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile<T>(T* c, nint ldc, int rows, int bytes) where T : unmanaged
    {
        if (!Sse.IsSupported) return;
        for (int r = 0; r < rows; r++)
        {
            byte* row = (byte*)(c + r * ldc);
            for (int off = 0; off < bytes; off += 64) Sse.Prefetch0(row + off);
            Sse.Prefetch0(row + bytes - 1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put512One<T>(T* c, int mode, T beta, Vector512<T> x0) where T : unmanaged
    {
        if (mode == Add) x0 += Vector512.Load(c);
        else if (mode == Scale) x0 = Simd.Fma512(Vector512.Create(beta), Vector512.Load(c), x0);
        Vector512.Store(x0, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put512<T>(T* c, int w, int mode, T beta, Vector512<T> x0, Vector512<T> x1) where T : unmanaged
    {
        if (mode == Add)
        {
            x0 += Vector512.Load(c);
            x1 += Vector512.Load(c + w);
        }
        else if (mode == Scale)
        {
            var vb = Vector512.Create(beta);
            x0 = Simd.Fma512(vb, Vector512.Load(c), x0);
            x1 = Simd.Fma512(vb, Vector512.Load(c + w), x1);
        }
        Vector512.Store(x0, c);
        Vector512.Store(x1, c + w);
    }

    /// <summary>The AVX2 micro-kernel: a 6 x (2 x 256-bit) tile of C in 12 registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256<T>(int kc, T* a, T* b, T* c, nint ldc, int mode, T beta) where T : unmanaged
    {
        int w = Vector256<T>.Count;
        PrefetchTile(c, ldc, 6, 2 * w * Unsafe.SizeOf<T>());
        Vector256<T> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default;
        Vector256<T> c3a = default, c3b = default, c4a = default, c4b = default, c5a = default, c5b = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> b0 = Vector256.Load(b), b1 = Vector256.Load(b + w);
            Vector256<T> x;
            x = Vector256.Create(a[0]); c0a = Simd.Fma256(x, b0, c0a); c0b = Simd.Fma256(x, b1, c0b);
            x = Vector256.Create(a[1]); c1a = Simd.Fma256(x, b0, c1a); c1b = Simd.Fma256(x, b1, c1b);
            x = Vector256.Create(a[2]); c2a = Simd.Fma256(x, b0, c2a); c2b = Simd.Fma256(x, b1, c2b);
            x = Vector256.Create(a[3]); c3a = Simd.Fma256(x, b0, c3a); c3b = Simd.Fma256(x, b1, c3b);
            x = Vector256.Create(a[4]); c4a = Simd.Fma256(x, b0, c4a); c4b = Simd.Fma256(x, b1, c4b);
            x = Vector256.Create(a[5]); c5a = Simd.Fma256(x, b0, c5a); c5b = Simd.Fma256(x, b1, c5b);
            a += 6;
            b += 2 * w;
        }
        Put256(c, w, mode, beta, c0a, c0b); c += ldc;
        Put256(c, w, mode, beta, c1a, c1b); c += ldc;
        Put256(c, w, mode, beta, c2a, c2b); c += ldc;
        Put256(c, w, mode, beta, c3a, c3b); c += ldc;
        Put256(c, w, mode, beta, c4a, c4b); c += ldc;
        Put256(c, w, mode, beta, c5a, c5b);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put256<T>(T* c, int w, int mode, T beta, Vector256<T> x0, Vector256<T> x1) where T : unmanaged
    {
        if (mode == Add)
        {
            x0 += Vector256.Load(c);
            x1 += Vector256.Load(c + w);
        }
        else if (mode == Scale)
        {
            var vb = Vector256.Create(beta);
            x0 = Simd.Fma256(vb, Vector256.Load(c), x0);
            x1 = Simd.Fma256(vb, Vector256.Load(c + w), x1);
        }
        Vector256.Store(x0, c);
        Vector256.Store(x1, c + w);
    }

    /// <summary>The portable micro-kernel (no fast SIMD): a 4 x 4 tile in scalars.</summary>
    private static void KernelScalar<T>(int kc, T* a, T* b, T* c, nint ldc, int mode, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* acc = stackalloc T[16];
        for (int i = 0; i < 16; i++) acc[i] = T.Zero;
        for (int p = 0; p < kc; p++)
        {
            for (int r = 0; r < 4; r++)
            {
                T x = a[r];
                for (int j = 0; j < 4; j++) acc[r * 4 + j] = T.FusedMultiplyAdd(x, b[j], acc[r * 4 + j]);
            }
            a += 4;
            b += 4;
        }
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 4; j++)
            {
                T* q = c + r * ldc + j;
                *q = mode == Store ? acc[r * 4 + j] : mode == Add ? *q + acc[r * 4 + j] : T.FusedMultiplyAdd(beta, *q, acc[r * 4 + j]);
            }
    }
}
