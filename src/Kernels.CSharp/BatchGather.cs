using System.Runtime.InteropServices;

namespace Functional.NN.Kernels;

/// <summary>
/// The minibatches of an epoch gathered from two row-major tables (the inputs and the targets),
/// each batch while the one before it trains: <see cref="Next"/> returns the buffers holding the
/// batch asked for and posts the gather of the rows that follow it in the same order as the
/// pool's background work (<see cref="WorkerPool.Post"/>), so the worker copies them while it
/// would wait for the caller (batches of less than 32 KiB are gathered when asked for: their copy
/// is shorter than the hand-over). Two buffer pairs take turns. What the caller gets is the same
/// whether the rows came gathered ahead or were gathered on asking (rows whose indices differ
/// from those gathered ahead, as on a replay, are gathered on asking), so the bits of
/// training do not depend on it. The tables and buffers stay pinned until <see cref="Dispose"/>,
/// which waits for a gather under way: call it before the arrays are reused.
/// </summary>
public sealed unsafe class BatchGather<T> : IDisposable where T : unmanaged
{
    /// <summary>The bytes of rows that one background part copies (a few microseconds of copying).</summary>
    private const int PartBytes = 32 << 10;

    private readonly T[] _x, _y;
    private readonly int _xCols, _yCols, _tableRows, _capacity;
    private readonly T[][] _xb, _yb;
    private readonly int[] _ahead;
    private readonly GCHandle[] _pins;
    private T* _xp, _yp;
    private int* _aheadp;
    private T* _xDst, _yDst;
    private int _aheadCount, _aheadBuffer = -1, _current;
    private bool _posted, _disposed;
    // The background job (private, so that nothing else can run it, before or after Dispose).
    private readonly AheadJob _job;

    /// <summary>
    /// Gathers from the first <paramref name="rows"/> rows of <paramref name="x"/> (rows of
    /// <paramref name="xCols"/> values) and <paramref name="y"/> (rows of <paramref name="yCols"/>) into the
    /// buffer pairs (<paramref name="x0"/>, <paramref name="y0"/>) and (<paramref name="x1"/>,
    /// <paramref name="y1"/>), each room for <paramref name="capacity"/> rows.
    /// </summary>
    public BatchGather(T[] x, int xCols, T[] y, int yCols, int rows, int capacity, T[] x0, T[] y0, T[] x1, T[] y1)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (xCols < 1) throw new ArgumentOutOfRangeException(nameof(xCols), xCols, "xCols must be at least 1.");
        if (yCols < 1) throw new ArgumentOutOfRangeException(nameof(yCols), yCols, "yCols must be at least 1.");
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be at least 1.");
        if (rows < 0 || x.Length < (long)rows * xCols) throw new ArgumentException($"x must hold {rows} rows of {xCols} values.", nameof(x));
        if (y.Length < (long)rows * yCols) throw new ArgumentException($"y must hold {rows} rows of {yCols} values.", nameof(y));
        _tableRows = rows;
        foreach (var (b, cols, name) in new[] { (x0, xCols, nameof(x0)), (y0, yCols, nameof(y0)), (x1, xCols, nameof(x1)), (y1, yCols, nameof(y1)) })
            if (b is null || b.Length < (long)capacity * cols)
                throw new ArgumentException($"{name} must hold {capacity} rows of {cols} values.", name);
        _x = x; _y = y; _xCols = xCols; _yCols = yCols; _capacity = capacity;
        _xb = [x0, x1];
        _yb = [y0, y1];
        _ahead = new int[capacity];
        _pins = new GCHandle[7];
        object[] pinned = [x, y, x0, y0, x1, y1, _ahead];
        for (int i = 0; i < pinned.Length; i++) _pins[i] = GCHandle.Alloc(pinned[i], GCHandleType.Pinned);
        _xp = (T*)_pins[0].AddrOfPinnedObject();
        _yp = (T*)_pins[1].AddrOfPinnedObject();
        _aheadp = (int*)_pins[6].AddrOfPinnedObject();
        _job = new AheadJob(this);
    }

    /// <summary>The inputs of the batch <see cref="Next"/> returned last (rows x xCols values from the start).</summary>
    public T[] X => _xb[_current];

    /// <summary>The targets of the batch <see cref="Next"/> returned last.</summary>
    public T[] Y => _yb[_current];

    /// <summary>
    /// Makes <see cref="X"/> and <see cref="Y"/> hold the rows order[offset .. offset + count - 1]
    /// of the tables, then posts the gather of the next count rows of <paramref name="order"/>
    /// (fewer at its end; none past it). Every index read must be a row of the tables.
    /// </summary>
    public void Next(int[] order, int offset, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(order);
        if (count < 1 || count > _capacity) throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be 1 .. {_capacity}.");
        if (offset < 0 || offset > order.Length - count)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"offset + count ({offset} + {count}) must be within order's {order.Length} indices.");
        var rows = new ReadOnlySpan<int>(order, offset, count);
        // Taken before the wait, so that a gather that threw is never used.
        int gathered = _aheadBuffer;
        _aheadBuffer = -1;
        FinishAhead();
        if (gathered >= 0 && _aheadCount == count && rows.SequenceEqual(new ReadOnlySpan<int>(_ahead, 0, count)))
            _current = gathered;
        else
        {
            _current = gathered >= 0 ? gathered : _current;
            Layout.GatherRows(new ReadOnlySpan<T>(_x, 0, _tableRows * _xCols), _xCols, rows, _xb[_current]);
            Layout.GatherRows(new ReadOnlySpan<T>(_y, 0, _tableRows * _yCols), _yCols, rows, _yb[_current]);
        }
        int start = offset + count, next = Math.Min(count, order.Length - start);
        long bytes = (long)next * (_xCols + _yCols) * sizeof(T);
        if (next < 1 || bytes < PartBytes) return;
        var ahead = new ReadOnlySpan<int>(order, start, next);
        foreach (int r in ahead)
            if ((uint)r >= (uint)_tableRows) return; // gathered on asking, which names the bad index
        ahead.CopyTo(_ahead);
        _aheadCount = next;
        int buffer = 1 - _current;
        _xDst = (T*)_pins[buffer == 0 ? 2 : 4].AddrOfPinnedObject();
        _yDst = (T*)_pins[buffer == 0 ? 3 : 5].AddrOfPinnedObject();
        int parts = (int)Math.Clamp(bytes / PartBytes, 1, next);
        _posted = WorkerPool.Post(_job, parts);
        if (_posted) _aheadBuffer = buffer;
    }

    /// <summary>Waits for the gather posted last (running the parts no worker has taken).</summary>
    private void FinishAhead()
    {
        if (!_posted) return;
        _posted = false;
        WorkerPool.Finish(_job);
    }

    /// <summary>A background part: a slice of the rows gathered ahead.</summary>
    private void Part(int part, int parts)
    {
        int r0 = (int)((long)_aheadCount * part / parts), r1 = (int)((long)_aheadCount * (part + 1) / parts);
        Layout.Gather(_xp, _xDst, _aheadp, r0, r1, _xCols);
        Layout.Gather(_yp, _yDst, _aheadp, r0, r1, _yCols);
    }

    private sealed class AheadJob(BatchGather<T> owner) : IParallelJob
    {
        public void Execute(int part, int parts) => owner.Part(part, parts);
    }

    /// <summary>Waits for a gather under way, then unpins the tables and buffers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { FinishAhead(); }
        finally
        {
            foreach (var h in _pins) if (h.IsAllocated) h.Free();
            _xp = _yp = _xDst = _yDst = null;
            _aheadp = null;
        }
    }
}
