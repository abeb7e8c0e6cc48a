"""The hand check of issue 2: changing any one derivative formula of the core makes the gradient
property ("analytic gradients equal central differences") fail.

Copies the tracked files of the repository to a temporary folder, applies each mutation below
(one at a time: every activation's derivative, every loss gradient, the bias sum, the backward
product), builds the tests there and runs the property. Every line of output should end in
"0 passed, 1 failed". Slow (about 20 s a mutation); not part of the test run.
Run from the repository root: python3 tests/reference/mutate_derivatives.py
"""
import os, subprocess, tempfile

muts = [
 ("src/Core.FSharp/Activation.fs","| Activation.Sigmoid -> a * (1.0 - a)","| Activation.Sigmoid -> a * (1.0 - a) * 1.001"),
 ("src/Core.FSharp/Activation.fs","| Activation.Tanh -> 1.0 - a * a","| Activation.Tanh -> 1.0 - a * a * 0.999"),
 ("src/Core.FSharp/Activation.fs","| Activation.ReLU -> if z > 0.0 then 1.0 else 0.0","| Activation.ReLU -> if z > 0.0 then 1.001 else 0.0"),
 ("src/Core.FSharp/Activation.fs","| Activation.LeakyReLU slope -> if z > 0.0 then 1.0 else slope","| Activation.LeakyReLU slope -> if z > 0.0 then 1.0 else slope * 1.01"),
 ("src/Core.FSharp/Activation.fs","| Activation.Softplus -> sigmoid z","| Activation.Softplus -> sigmoid (z * 1.001)"),
 ("src/Core.FSharp/Activation.fs","| Activation.Identity -> 1.0","| Activation.Identity -> 1.0001"),
 ("src/Core.FSharp/Loss.fs","| Loss.HalfMeanSquaredError -> each (fun p y -> (p - y) / n)","| Loss.HalfMeanSquaredError -> each (fun p y -> (p - y) / (n + 0.001))"),
 ("src/Core.FSharp/Loss.fs","| Loss.MeanSquaredError -> each (fun p y -> 2.0 * (p - y) / n)","| Loss.MeanSquaredError -> each (fun p y -> 1.999 * (p - y) / n)"),
 ("src/Core.FSharp/Loss.fs","(p - y) / (p * (1.0 - p)) / n)","(p - y) / (p * (1.001 - p)) / n)"),
 ("src/Core.FSharp/Loss.fs","each (fun z y -> (Activation.sigmoid z - y) / n)","each (fun z y -> (Activation.sigmoid z - y * 0.999) / n)"),
 ("src/Core.FSharp/Loss.fs","(s.[i, j] * rowMass.[i] - target.[i, j]) / n)","(s.[i, j] * rowMass.[i] * 0.999 - target.[i, j]) / n)"),
 ("src/Core.FSharp/Loss.fs","then -y / n else 0.0)","then -y / n * 1.001 else 0.0)"),
 ("src/Core.FSharp/Loss.fs","-y * max 0.0 (1.0 - y * p) / n)","-y * max 0.0 (1.001 - y * p) / n)"),
 ("src/Core.FSharp/Loss.fs","-y * Activation.sigmoid (y * p * -1.0) / n)","-y * Activation.sigmoid (y * p * -1.001) / n)"),
 ("src/Core.FSharp/Network.fs","Option.map (fun _ -> Mat.columnSums d)","Option.map (fun _ -> Mat.columnSums d * 1.001)"),
 ("src/Core.FSharp/Network.fs","let dA = d.TransposeAndMultiply layer.Weights","let dA = d.TransposeAndMultiply (layer.Weights * 1.001)"),
]

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
work = tempfile.mkdtemp(prefix="fnn-mutants-")
files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
for f in files:
    os.makedirs(os.path.join(work, os.path.dirname(f)), exist_ok=True)
    with open(os.path.join(root, f), "rb") as a, open(os.path.join(work, f), "wb") as b:
        b.write(a.read())
os.chdir(work)
for f, o, m in muts:
    s = open(f).read()
    assert o in s, o
    open(f, "w").write(s.replace(o, m, 1))
    b = subprocess.run(["dotnet", "build", "tests/Functional.NN.Tests", "-c", "Release"], capture_output=True, text=True)
    if b.returncode != 0:
        res = "BUILD FAILED"
    else:
        r = subprocess.run(["dotnet", "run", "--project", "tests/Functional.NN.Tests", "-c", "Release", "--no-build", "--",
                            "--filter-test-case", "analytic gradients"], capture_output=True, text=True)
        res = r.stdout.strip().splitlines()[-1]
    print(f"{m!r} => {res}", flush=True)
    open(f, "w").write(s)
