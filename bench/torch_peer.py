#!/usr/bin/python3
"""The PyTorch (and numpy/OpenBLAS) peer of the Functional.NN benchmark.

Run by bench/Bench.CSharp as a child process: it reads one JSON command per line on stdin and
answers one JSON line on stdout, so the two sides can alternate in the same run. Each command
names a workload (W1..W4), a precision and a repetition count; the answer holds the measured
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


def w2_setup(dtype):
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


def handle(cmd):
    workload, dtype_name, reps = cmd["workload"], cmd["dtype"], int(cmd.get("reps", 1))
    tdtype, ndtype = DTYPES[dtype_name]
    key = (workload, dtype_name, cmd.get("size"))
    if key not in _cache:
        if workload == "W1":
            _cache[key] = w1_setup(tdtype)
        elif workload == "W2":
            _cache[key] = w2_setup(tdtype)
        elif workload == "W3":
            _cache[key] = w3_setup(tdtype)
        elif workload == "W4":
            _cache[key] = w4_setup(ndtype, int(cmd["size"]))
        else:
            raise ValueError("unknown workload " + workload)
    fn = _cache[key]
    times = []
    if workload == "W3":
        calls = int(cmd.get("calls", 2000))
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(calls)
            times.append((time.perf_counter() - t0) / calls)
    elif workload == "W4":
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
    return {"torch": torch.__version__, "numpy": np.__version__, "torch_threads": torch.get_num_threads(),
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
