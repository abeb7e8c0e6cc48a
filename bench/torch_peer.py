#!/usr/bin/python3
"""The PyTorch (and numpy/OpenBLAS) peer of the Functional.NN benchmark.

Run by bench/Bench.CSharp as a child process: it reads one JSON command per line on stdin and
answers one JSON line on stdout, so the two sides can alternate in the same run. Each command
names a workload (W1..W4, U1..U4), a precision and a repetition count; the answer holds the measured
times in seconds (timed here with time.perf_counter, after a warm-up done when the workload is
first set up).

Set-up (Debian): apt-get install -y python3-torch python3-numpy libopenblas0-pthread
Run it with OMP_WAIT_POLICY=passive (the runner sets it): Debian's torch otherwise starts OpenMP
threads that spin while OpenBLAS's threads work, which on 2 cores is 3 to 12 times slower.

    echo '{"workload": "W4", "dtype": "float64", "size": 512, "reps": 3}' | python3 bench/torch_peer.py
"""
import json
import os
import sys
import time

import numpy as np
import torch

torch.set_num_threads(2)

DTYPES = {"float32": (torch.float32, np.float32), "float64": (torch.float64, np.float64)}

# Workload shapes (issue 7).
W1_SIZES = (784, 256, 128, 10)
W1_SAMPLES, W1_BATCH, W1_RATE = 8192, 128, 0.01
W2_SAMPLES, W2_STEPS, W2_RATE = 1000, 2000, 0.05

_cache = {}


def w1_model(dtype):
    d0, d1, d2, d3 = W1_SIZES
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(d0, d1), torch.nn.ReLU(),
        torch.nn.Linear(d1, d2), torch.nn.ReLU(),
        torch.nn.Linear(d2, d3)).to(dtype)
    return model


def w1_setup(dtype):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(W1_SAMPLES, W1_SIZES[0], generator=g, dtype=dtype)
    labels = torch.randint(0, W1_SIZES[-1], (W1_SAMPLES,), generator=g)
    model = w1_model(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=W1_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        for s in range(0, W1_SAMPLES, W1_BATCH):
            xb, yb = x[s:s + W1_BATCH], labels[s:s + W1_BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return float(loss)

    epoch()  # warm-up
    return epoch


def w2_setup(dtype, read_each_loss=False):
    """W2; with read_each_loss (U4: W2 through the library's trainer) the loss of every step is read
    out, as the trainer records each full-batch epoch's loss."""
    g = torch.Generator().manual_seed(3)
    x = torch.rand(W2_SAMPLES, 2, generator=g, dtype=dtype) * 2 - 1
    y = torch.sin(3 * x[:, :1]) * x[:, 1:]
    torch.manual_seed(4)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.Tanh(),
        torch.nn.Linear(16, 16), torch.nn.Tanh(),
        torch.nn.Linear(16, 1)).to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=W2_RATE)
    loss_fn = torch.nn.MSELoss()

    def run(steps=W2_STEPS):
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            if read_each_loss:
                float(loss)
        return float(loss)

    run(50)  # warm-up
    return run


def w3_setup(dtype):
    model = w1_model(dtype).eval()
    g = torch.Generator().manual_seed(5)
    xs = torch.rand(64, 1, W1_SIZES[0], generator=g, dtype=dtype)

    def predict(calls):
        with torch.no_grad():
            out = None
            for i in range(calls):
                out = model(xs[i & 63])
        return out

    predict(200)  # warm-up
    return predict


def w4_setup(dtype_np, n):
    rng = np.random.default_rng(6)
    a = rng.random((n, n)).astype(dtype_np)
    b = rng.random((n, n)).astype(dtype_np)
    c = a @ b  # warm-up

    def mm():
        np.matmul(a, b, out=c)

    return mm


# W1's matrix products (bench/Bench.CSharp/Program.cs, W1Products): op(A) transposed, op(B)
# transposed, m, n, k. numpy passes a transposed view to BLAS as a transposition flag, not a copy.
W1_PRODUCTS = ((False, False, 128, 256, 784), (False, False, 128, 128, 256), (False, True, 128, 256, 128),
               (True, False, 256, 128, 128), (True, False, 784, 256, 128))


def w1_gemm_setup(dtype_np, shape):
    ta, tb, m, n, k = W1_PRODUCTS[shape]
    rng = np.random.default_rng(6)
    a = rng.random((k, m) if ta else (m, k)).astype(dtype_np)
    b = rng.random((n, k) if tb else (k, n)).astype(dtype_np)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    c = opa @ opb  # warm-up

    def mm():
        np.matmul(opa, opb, out=c)

    return mm


# Issue 11's workloads (U1..U4): the same work as the library's public API does.
U1_ROWS, U1_FEATURES, U1_CLASSES, U1_EPOCHS, U1_BATCH, U1_RATE = 12000, 64, 10, 8, 128, 1e-3
U4_SAMPLES, U4_STEPS, U4_RATE = 1000, 2000, 0.05


def u1_table(dtype):
    """A seeded 12,000 x 64 table of 10 classes (class centres plus noise, columns of different scales)."""
    g = torch.Generator().manual_seed(11)
    centres = torch.rand(U1_CLASSES, U1_FEATURES, generator=g, dtype=dtype) * 2 - 1
    labels = torch.arange(U1_ROWS) % U1_CLASSES
    noise = torch.randn(U1_ROWS, U1_FEATURES, generator=g, dtype=dtype)
    scale = 10.0 ** (torch.arange(U1_FEATURES) % 4 - 1).to(dtype)
    x = (centres[labels] + 1.5 * noise) * scale
    return x, labels


def u1_model(dtype):
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Linear(U1_FEATURES, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, U1_CLASSES)).to(dtype)


def validation_loss(model, loss_fn, validation):
    """What the library's trainer records after every epoch besides the epoch's mean batch loss
    (which the steps compute anyway, as here: each batch's loss times its size, summed): the
    validation loss, when there is a validation set. (The trainer's default; the exact loss of the
    whole set and the gradient norm are options it does not take by default, so neither side does.)"""
    if validation is None:
        return None
    with torch.no_grad():
        return float(loss_fn(model(validation[0]), validation[1]))


def u1_setup(dtype):
    x_all, labels = u1_table(dtype)

    def fit(epochs=U1_EPOCHS):
        # Split 10 % for validation (stratified as the library does: 120 rows of each class).
        g = torch.Generator().manual_seed(1)
        val_idx = torch.cat([torch.nonzero(labels == c).flatten()[torch.randperm(U1_ROWS // U1_CLASSES, generator=g)[:U1_ROWS // U1_CLASSES // 10]]
                             for c in range(U1_CLASSES)])
        mask = torch.ones(U1_ROWS, dtype=torch.bool)
        mask[val_idx] = False
        xt, yt, xv, yv = x_all[mask], labels[mask], x_all[val_idx], labels[val_idx]
        # Standard scaling fitted on the training rows only (1/n standard deviation).
        mean, std = xt.mean(0), xt.std(0, unbiased=False)
        xt, xv = (xt - mean) / std, (xv - mean) / std
        model = u1_model(dtype)
        opt = torch.optim.Adam(model.parameters(), lr=U1_RATE)
        loss_fn = torch.nn.CrossEntropyLoss()
        n = xt.shape[0]
        gen = torch.Generator().manual_seed(2)
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            total = 0.0
            for s in range(0, n, U1_BATCH):
                idx = perm[s:s + U1_BATCH]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                total += float(loss) * len(idx)
            validation_loss(model, loss_fn, (xv, yv))
        return model

    fit(1)  # warm-up
    return fit


def u2_setup(dtype, variant):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(W1_SAMPLES, W1_SIZES[0], generator=g, dtype=dtype)
    labels = torch.randint(0, W1_SIZES[-1], (W1_SAMPLES,), generator=g)
    model = w1_model(dtype)
    params = model.parameters()
    opt = {"sgd": lambda: torch.optim.SGD(params, lr=0.01),
           "momentum": lambda: torch.optim.SGD(params, lr=0.01, momentum=0.9),
           "adam": lambda: torch.optim.Adam(params, lr=1e-3),
           "adamw": lambda: torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-2)}[variant]()
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(3)

    def epoch(steps=None):
        perm = torch.randperm(W1_SAMPLES, generator=gen)
        total = 0.0
        for i, s in enumerate(range(0, W1_SAMPLES, W1_BATCH)):
            if steps is not None and i >= steps:
                return
            idx = perm[s:s + W1_BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), labels[idx])
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        return total / W1_SAMPLES

    epoch()  # warm-up: one whole epoch, as ours ends its warm-up with one whole call
    return epoch


def u3_setup(dtype):
    x_all, _ = u1_table(dtype)
    mean, std = x_all.mean(0), x_all.std(0, unbiased=False)
    model = u1_model(dtype).eval()
    rows = x_all[:64].unsqueeze(1)

    def predict(calls):
        with torch.no_grad():
            out = None
            for i in range(calls):
                out = torch.softmax(model((rows[i & 63] - mean) / std), dim=1)
        return out

    predict(200)  # warm-up
    return predict


def u4_setup(dtype):
    # U4 is W2 (same sizes, data, rate and steps) through the library's trainer.
    assert (U4_SAMPLES, U4_STEPS, U4_RATE) == (W2_SAMPLES, W2_STEPS, W2_RATE)
    return w2_setup(dtype, read_each_loss=True)


def u1_blocks_setup(dtype):
    """Issue 12 must-show 3 (optional, for when the library has the blocks): U1 with dropout 0.1
    and batch normalisation after each hidden layer. Run by hand:
    echo '{"workload": "U1-blocks", "dtype": "float32", "reps": 1}' | python3 bench/torch_peer.py"""
    x_all, labels = u1_table(dtype)
    n_val = U1_ROWS // 10
    xt, yt, xv, yv = x_all[n_val:], labels[n_val:], x_all[:n_val], labels[:n_val]
    mean, std = xt.mean(0), xt.std(0, unbiased=False)
    xt, xv = (xt - mean) / std, (xv - mean) / std
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(U1_FEATURES, 128), torch.nn.BatchNorm1d(128), torch.nn.ReLU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(128, 64), torch.nn.BatchNorm1d(64), torch.nn.ReLU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(64, U1_CLASSES)).to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=U1_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(2)

    def fit(epochs=U1_EPOCHS):
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(xt.shape[0], generator=gen)
            for s in range(0, xt.shape[0], U1_BATCH):
                idx = perm[s:s + U1_BATCH]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                loss_fn(model(xv), yv)

    fit(1)  # warm-up
    return fit


def handle(cmd):
    workload, dtype_name, reps = cmd["workload"], cmd["dtype"], int(cmd.get("reps", 1))
    tdtype, ndtype = DTYPES[dtype_name]
    key = (workload, dtype_name, cmd.get("size"), cmd.get("variant"))
    if key not in _cache:
        if workload == "W1":
            _cache[key] = w1_setup(tdtype)
        elif workload == "W2":
            _cache[key] = w2_setup(tdtype)
        elif workload == "W3":
            _cache[key] = w3_setup(tdtype)
        elif workload == "W4":
            _cache[key] = w4_setup(ndtype, int(cmd["size"]))
        elif workload == "W1gemm":
            _cache[key] = w1_gemm_setup(ndtype, int(cmd["size"]))
        elif workload == "U1":
            _cache[key] = u1_setup(tdtype)
        elif workload == "U1-blocks":
            _cache[key] = u1_blocks_setup(tdtype)
        elif workload == "U2":
            _cache[key] = u2_setup(tdtype, cmd.get("variant", "sgd"))
        elif workload == "U3":
            _cache[key] = u3_setup(tdtype)
        elif workload == "U4":
            _cache[key] = u4_setup(tdtype)
        else:
            raise ValueError("unknown workload " + workload)
    fn = _cache[key]
    times = []
    if workload in ("W3", "U3"):
        calls = int(cmd.get("calls", 2000))
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(calls)
            times.append((time.perf_counter() - t0) / calls)
    elif workload in ("W4", "W1gemm"):
        inner = int(cmd.get("inner", 1))
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            times.append((time.perf_counter() - t0) / inner)
    else:
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return {"times": times}


def info():
    openblas = ""
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.25
        openblas = json.dumps(cfg.get("Build Dependencies", {}).get("blas", {}))
    except Exception:  # older numpy: no dict mode
        openblas = "numpy " + np.__version__
    try:
        from threadpoolctl import threadpool_info  # Debian: python3-threadpoolctl
        # Without the libraries' file paths (they name this machine's layout).
        pools = [{k: v for k, v in p.items() if k != "filepath"} for p in threadpool_info()]
        blas = [p for p in pools if p.get("internal_api") == "openblas"]
        openblas = ("OpenBLAS %s, kernel %s, %s threads (%s)" % (blas[0].get("version"), blas[0].get("architecture"), blas[0].get("num_threads"), blas[0].get("threading_layer"))
                    if blas else "no OpenBLAS loaded: " + json.dumps(pools))
    except ImportError:
        pools = None
        openblas = "unknown (install python3-threadpoolctl)"
    return {"openblas": openblas, "threadpool_info": pools, "torch": torch.__version__, "numpy": np.__version__, "torch_threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""), "blas": openblas}


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            if cmd.get("workload") == "info":
                answer = info()
            elif cmd.get("workload") == "quit":
                break
            else:
                answer = handle(cmd)
        except Exception as exc:  # report to the runner instead of dying silently
            answer = {"error": repr(exc)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
