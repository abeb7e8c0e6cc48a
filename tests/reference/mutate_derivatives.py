"""The hand check of issue 2: changing any one derivative formula of the core makes the gradient
property ("analytic gradients equal central differences") fail.

Copies the tracked files of the repository to a temporary folder, applies each mutation below
(one at a time: every activation's derivative and every loss gradient (in src/Kernels.CSharp/Formulas.cs, which
the core uses too), the bias sum, the backward product), builds the tests there and runs the property. Every line of output should end in
"0 passed, 1 failed". Slow (about 20 s a mutation); not part of the test run.
Run from the repository root: python3 tests/reference/mutate_derivatives.py
With the argument "blocks" it runs only the mutants of issue 12's blocks against the block
gradient properties of BlockTests.fs (the test cases named "block gradient check, ..."), whose last line
should then show at least one failure ("N passed, M failed" with M > 0).
"""
import os, subprocess, tempfile

muts = [
 ("src/Kernels.CSharp/Formulas.cs","ActivationKind.Sigmoid => a * (T.One - a),","ActivationKind.Sigmoid => a * (T.One - a) * T.CreateTruncating(1.001),"),
 ("src/Kernels.CSharp/Formulas.cs","ActivationKind.Tanh => T.One - a * a,","ActivationKind.Tanh => T.One - a * a * T.CreateTruncating(0.999),"),
 ("src/Kernels.CSharp/Formulas.cs","ActivationKind.ReLU => z > T.Zero ? T.One : T.Zero,","ActivationKind.ReLU => z > T.Zero ? T.CreateTruncating(1.001) : T.Zero,"),
 ("src/Kernels.CSharp/Formulas.cs","ActivationKind.LeakyReLU => z > T.Zero ? T.One : slope,","ActivationKind.LeakyReLU => z > T.Zero ? T.One : slope * T.CreateTruncating(1.01),"),
 ("src/Kernels.CSharp/Formulas.cs","ActivationKind.Softplus => Sigmoid(z),","ActivationKind.Softplus => Sigmoid(z * T.CreateTruncating(1.001)),"),
 ("src/Kernels.CSharp/Formulas.cs","ActivationKind.Identity => T.One,","ActivationKind.Identity => T.CreateTruncating(1.0001),"),
 ("src/Kernels.CSharp/Formulas.cs","case LossKind.HalfMeanSquaredError: return (p - y) / n;","case LossKind.HalfMeanSquaredError: return (p - y) / (n + T.CreateTruncating(0.001));"),
 ("src/Kernels.CSharp/Formulas.cs","case LossKind.MeanSquaredError: return T.CreateTruncating(2.0) * (p - y) / n;","case LossKind.MeanSquaredError: return T.CreateTruncating(1.999) * (p - y) / n;"),
 ("src/Kernels.CSharp/Formulas.cs","return (q - y) / (q * (T.One - q)) / n;","return (q - y) / (q * (T.CreateTruncating(1.001) - q)) / n;"),
 ("src/Kernels.CSharp/Formulas.cs","case LossKind.BinaryCrossEntropyWithLogits: return (Sigmoid(p) - y) / n;","case LossKind.BinaryCrossEntropyWithLogits: return (Sigmoid(p) - y * T.CreateTruncating(0.999)) / n;"),
 ("src/Core.FSharp/Loss.fs","(s.[i, j] * rowMass.[i] - target.[i, j]) / n)","(s.[i, j] * rowMass.[i] * 0.999 - target.[i, j]) / n)"),
 ("src/Kernels.CSharp/Formulas.cs","? -y / n : T.Zero;","? -y / n * T.CreateTruncating(1.001) : T.Zero;"),
 ("src/Kernels.CSharp/Formulas.cs","return -y * T.Max(T.Zero, T.One - y * p) / n;","return -y * T.Max(T.Zero, T.CreateTruncating(1.001) - y * p) / n;"),
 ("src/Kernels.CSharp/Formulas.cs","return -y * Sigmoid(-(y * p)) / n;","return -y * Sigmoid(-(y * p) * T.CreateTruncating(1.001)) / n;"),
 ("src/Core.FSharp/Blocks/Dense.fs","Option.map (fun _ -> Mat.columnSums d |>","Option.map (fun _ -> Mat.columnSums d * 1.001 |>"),
 ("src/Core.FSharp/Blocks/Dense.fs","let dA = d.TransposeAndMultiply layer.Weights","let dA = d.TransposeAndMultiply (layer.Weights * 1.001)"),
]

# Issue 12's blocks: each block's backward rule in the core's source, against the block gradient
# properties of BlockTests.fs (nine properties; a mutant should make at least one fail).
block_muts = [
 ("src/Core.FSharp/Blocks/Dense.fs","let dW = input.TransposeThisAndMultiply d |>","let dW = (input.TransposeThisAndMultiply d * 1.001) |>"),
 ("src/Core.FSharp/Blocks/Block.fs","Mat.hadamard g (Activation.derivativeOf a trace.Input trace.Output)","Mat.hadamard g (Activation.derivativeOf a trace.Input trace.Output * 1.001)"),
 ("src/Core.FSharp/Blocks/Block.fs","| Block.Dropout _, BlockMemory.Mask m -> BlockGradient.NoParameters, Dropout.apply p m g","| Block.Dropout _, BlockMemory.Mask m -> BlockGradient.NoParameters, Dropout.apply p (m.Map(fun v -> if v > 0.0 then 1.0 else 0.0)) g"),
 ("src/Core.FSharp/Blocks/Normalization.fs","- sumH.[j] - xhat.[i, j] * sumHX.[j]))","- sumH.[j] - 0.999 * xhat.[i, j] * sumHX.[j]))"),
 ("src/Core.FSharp/Blocks/Normalization.fs","else Matrix<float>.Build.Dense(n, w, fun i j -> g.[i, j] * bn.Scale.[j] * r.[j])","else Matrix<float>.Build.Dense(n, w, fun i j -> g.[i, j] * bn.Scale.[j] * r.[j] * 1.001)"),
 ("src/Core.FSharp/Blocks/Normalization.fs","s <- s + g.[i, j] * xhat.[i, j]); s)","s <- s + g.[i, j] * xhat.[i, j] * 1.001); s)"),
 ("src/Core.FSharp/Blocks/Normalization.fs","- sumH.[i] - xhat.[i, j] * sumHX.[i]))","- sumH.[i] * 0.999 - xhat.[i, j] * sumHX.[i]))"),
 ("src/Core.FSharp/Blocks/Block.fs","BlockGradient.Residual grads, g + dInner","BlockGradient.Residual grads, g * 0.999 + dInner"),
]

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
work = tempfile.mkdtemp(prefix="fnn-mutants-")
files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
for f in files:
    os.makedirs(os.path.join(work, os.path.dirname(f)), exist_ok=True)
    with open(os.path.join(root, f), "rb") as a, open(os.path.join(work, f), "wb") as b:
        b.write(a.read())
os.chdir(work)
import sys
if len(sys.argv) > 1 and sys.argv[1] == "blocks":
    runs = [(f, o, m, "block gradient check") for f, o, m in block_muts]
else:
    runs = [(f, o, m, "analytic gradients") for f, o, m in muts] + [(f, o, m, "block gradient check") for f, o, m in block_muts]
for f, o, m, which in runs:
    s = open(f).read()
    assert o in s, o
    open(f, "w").write(s.replace(o, m, 1))
    b = subprocess.run(["dotnet", "build", "tests/Functional.NN.Tests", "-c", "Release"], capture_output=True, text=True)
    if b.returncode != 0:
        res = "BUILD FAILED"
    else:
        r = subprocess.run(["dotnet", "run", "--project", "tests/Functional.NN.Tests", "-c", "Release", "--no-build", "--",
                            "--filter-test-case", which], capture_output=True, text=True)
        res = r.stdout.strip().splitlines()[-1]
    print(f"{m!r} => {res}", flush=True)
    open(f, "w").write(s)
