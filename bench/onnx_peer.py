#!/usr/bin/python3
"""The PyTorch side of the ONNX benchmark (bench/Bench.CSharp/OnnxBench.cs, `bash bench/run.sh onnx`).

Reads one JSON command per line on stdin and answers one JSON line on stdout, as torch_peer.py:
  {"workload": "export", "path": P}   builds the 784-256-128-10 ReLU nn.Sequential (float32, seed 1)
                                       and writes it with torch.onnx.export (opset 17, dynamic batch)
  {"workload": "predict", "calls": C, "reps": R, "warm_s": W}
                                       R times: C single-row predictions (1 x 784, torch.no_grad,
                                       eval mode) cycling 64 rows; answers each rep's seconds per call;
                                       first, untimed, at least 200 calls and at least W seconds
                                       (0 if absent), the warm-up the runner gives its own two sides
  {"workload": "rows"}                 the 64 input rows (torch.rand, seed 5)
  {"workload": "outputs"}              the model's outputs for the 64 rows (to check the three sides agree)
  {"workload": "info"} / {"workload": "quit"}
Run with OMP_WAIT_POLICY=passive (the runner sets it) and 2 torch threads, as torch_peer.py.
"""
import json
import sys
import time

import torch

torch.set_num_threads(2)
torch.manual_seed(1)
MODEL = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, 128), torch.nn.ReLU(),
    torch.nn.Linear(128, 10)).eval()
ROWS = torch.rand(64, 784, generator=torch.Generator().manual_seed(5))


def handle(cmd):
    w = cmd["workload"]
    if w == "info":
        return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    if w == "export":
        torch.onnx.export(MODEL, ROWS[:1], cmd["path"], input_names=["x"], output_names=["y"], opset_version=17,
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
        return {"ok": True}
    if w == "rows":
        return {"rows": ROWS.double().tolist()}
    if w == "outputs":
        with torch.no_grad():
            return {"y": MODEL(ROWS).double().tolist()}
    if w == "predict":
        calls, times, warm_s = cmd["calls"], [], cmd.get("warm_s", 0.0)
        rows = [ROWS[i:i + 1].clone() for i in range(64)]
        with torch.no_grad():
            t0, i = time.perf_counter(), 0
            while i < 200 or time.perf_counter() - t0 < warm_s:
                MODEL(rows[i & 63])
                i += 1
            for _ in range(cmd["reps"]):
                t0 = time.perf_counter()
                for i in range(calls):
                    MODEL(rows[i & 63])
                times.append((time.perf_counter() - t0) / calls)
        return {"times": times}
    raise ValueError("unknown workload " + w)


def main():
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("workload") == "quit":
            break
        try:
            answer = handle(cmd)
        except Exception as e:  # reported to the runner, which prints it
            answer = {"error": repr(e)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
