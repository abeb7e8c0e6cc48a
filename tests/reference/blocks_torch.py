"""Reference numbers for tests/Functional.NN.Tests/BlockTests.fs (issue 12's blocks against PyTorch).

Runs PyTorch's modules (PyTorch 1.13, float64) on small fixed inputs and prints each block's
forward output Y and, for the upstream gradient G (the loss sum(Y o G)), the gradients of the
input and of the block's parameters, in the library's layout (one sample per row; a dense
layer's W is inputs x outputs, torch's Linear.weight transposed). Run with:
    OMP_WAIT_POLICY=passive python3 tests/reference/blocks_torch.py

Blocks:
- dropout (rate 0.4) with the library's mask: the 0/1 pattern MASK below is what the library's
  Dropout.mask draws for key Formulas.DropoutKey(7, 3), block 0, rows 4, columns 3 (computed in
  the test, which checks it still is). PyTorch's own dropout draws its own masks, so the script
  first checks that torch.nn.functional.dropout computes Y = X o M / (1 - p) for the mask it
  drew, then applies that formula with the library's mask.
- torch.nn.BatchNorm1d(3) in training mode (and its running statistics after that step and after
  two more training forward passes on X2, X3), and in evaluation mode.
- torch.nn.LayerNorm(3).
- a residual block X + f(X), f = Linear(3, 3) -> tanh -> Linear(3, 3).
- a small network Linear(3, 4) -> tanh -> BatchNorm1d(4) -> Linear(4, 2) trained by plain SGD
  (lr 0.1) for 3 full-batch steps on the loss 1/(2n) sum (out - T)^2 (the library's half MSE):
  its parameters and running statistics after the steps, and its evaluation-mode output.
"""
import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)

X = torch.tensor([[0.5, -1.2, 0.3], [1.5, 0.25, -0.7], [-0.75, 0.8, 2.0], [0.1, 2.0, -0.4]])
G = torch.tensor([[0.3, -0.2, 0.5], [-0.6, 0.4, 0.1], [0.2, 0.7, -0.3], [0.9, -0.1, 0.25]])
X2 = torch.tensor([[1.0, 0.5, -0.5], [-0.3, 0.9, 1.1], [0.4, -1.5, 0.2]])
X3 = torch.tensor([[0.2, 0.3, 0.4], [2.0, -0.6, 0.1], [-1.1, 0.7, -0.9], [0.6, 0.6, 1.6], [0.0, -0.2, 0.5]])
MASK = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])


def fmt(t):
    """An F# list of lists (matrices) or list (vectors), 17 significant digits."""
    t = t.detach()
    if t.dim() == 1:
        return "[ " + "; ".join(repr(float(v)) for v in t) + " ]"
    return "[ " + "\n      ".join("[ " + "; ".join(repr(float(v)) for v in row) + " ]" for row in t) + " ]"


def show(name, t):
    print(f"// {name}\n    {fmt(t)}")


def grad_of(f, *tensors):
    """Y = f(), then the gradients of sum(Y o G) with respect to the tensors."""
    for t in tensors:
        t.grad = None
    y = f()
    (y * G).sum().backward()
    return y, [t.grad.clone() for t in tensors]


# Dropout.
p = 0.4
torch.manual_seed(0)
probe = torch.nn.functional.dropout(X, p, training=True)
kept = (probe != 0).double()
assert torch.allclose(probe, X * kept / (1 - p), rtol=0, atol=1e-15), "torch's dropout is X o M / (1 - p)"
x = X.clone().requires_grad_(True)
y, (dx,) = grad_of(lambda: x * MASK / (1 - p), x)
print("=== dropout p = 0.4, the library's mask")
show("Y", y)
show("dX", dx)

# Batch normalisation, training mode.
bn = torch.nn.BatchNorm1d(3, eps=1e-5, momentum=0.1)
with torch.no_grad():
    bn.weight.copy_(torch.tensor([1.2, 0.8, -0.5]))
    bn.bias.copy_(torch.tensor([0.1, -0.3, 0.2]))
    bn.running_mean.copy_(torch.tensor([0.2, -0.1, 0.5]))
    bn.running_var.copy_(torch.tensor([1.5, 0.7, 2.0]))
bn.train()
x = X.clone().requires_grad_(True)
y, (dx, dgamma, dbeta) = grad_of(lambda: bn(x), x, bn.weight, bn.bias)
print("=== batch normalisation, training mode")
show("Y", y)
show("dX", dx)
show("dgamma", dgamma)
show("dbeta", dbeta)
show("running mean after one step", bn.running_mean)
show("running variance after one step", bn.running_var)
with torch.no_grad():
    bn(X2)
    bn(X3)
show("running mean after three steps (X, X2, X3)", bn.running_mean)
show("running variance after three steps (X, X2, X3)", bn.running_var)

# Batch normalisation, evaluation mode (the running statistics of the start).
with torch.no_grad():
    bn.running_mean.copy_(torch.tensor([0.2, -0.1, 0.5]))
    bn.running_var.copy_(torch.tensor([1.5, 0.7, 2.0]))
bn.eval()
x = X.clone().requires_grad_(True)
y, (dx, dgamma, dbeta) = grad_of(lambda: bn(x), x, bn.weight, bn.bias)
print("=== batch normalisation, evaluation mode")
show("Y", y)
show("dX", dx)
show("dgamma", dgamma)
show("dbeta", dbeta)

# Layer normalisation.
ln = torch.nn.LayerNorm(3, eps=1e-5)
with torch.no_grad():
    ln.weight.copy_(torch.tensor([0.9, 1.1, -0.7]))
    ln.bias.copy_(torch.tensor([0.05, 0.2, -0.1]))
x = X.clone().requires_grad_(True)
y, (dx, dgamma, dbeta) = grad_of(lambda: ln(x), x, ln.weight, ln.bias)
print("=== layer normalisation")
show("Y", y)
show("dX", dx)
show("dgamma", dgamma)
show("dbeta", dbeta)

# Residual block X + lin2(tanh(lin1(X))); W in the library's layout is weight^T.
W1 = torch.tensor([[0.4, -0.6, 0.2], [0.3, 0.5, -0.8], [-0.7, 0.1, 0.9]])
B1 = torch.tensor([0.1, -0.2, 0.05])
W2 = torch.tensor([[0.6, 0.2, -0.4], [-0.3, 0.8, 0.5], [0.7, -0.5, 0.1]])
B2 = torch.tensor([-0.05, 0.15, 0.3])
lin1, lin2 = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
with torch.no_grad():
    lin1.weight.copy_(W1.t())
    lin1.bias.copy_(B1)
    lin2.weight.copy_(W2.t())
    lin2.bias.copy_(B2)
x = X.clone().requires_grad_(True)
y, (dx, dw1, db1, dw2, db2) = grad_of(lambda: x + lin2(torch.tanh(lin1(x))), x, lin1.weight, lin1.bias, lin2.weight, lin2.bias)
print("=== residual X + f(X), f = dense tanh, dense identity")
show("Y", y)
show("dX", dx)
show("dW1 (library layout)", dw1.t())
show("db1", db1)
show("dW2 (library layout)", dw2.t())
show("db2", db2)

# A network with batch normalisation trained by SGD for three full-batch steps.
V1 = torch.tensor([[0.5, -0.4, 0.3, 0.8], [-0.2, 0.6, 0.7, -0.5], [0.9, 0.1, -0.6, 0.4]])
C1 = torch.tensor([0.05, -0.1, 0.2, 0.0])
V2 = torch.tensor([[0.7, -0.3], [-0.5, 0.6], [0.4, 0.9], [-0.8, 0.2]])
C2 = torch.tensor([0.1, -0.2])
T = torch.tensor([[0.5, -1.0], [1.0, 0.2], [-0.4, 0.8], [0.3, 0.3]])
a, bnn, b = torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)
with torch.no_grad():
    a.weight.copy_(V1.t())
    a.bias.copy_(C1)
    b.weight.copy_(V2.t())
    b.bias.copy_(C2)
model = torch.nn.Sequential(a, torch.nn.Tanh(), bnn, b)
opt = torch.optim.SGD(model.parameters(), lr=0.1, foreach=False)
model.train()
for _ in range(3):
    opt.zero_grad()
    loss = ((model(X) - T) ** 2).sum() / (2 * X.shape[0])
    loss.backward()
    opt.step()
print("=== dense 3->4 tanh, batch normalisation, dense 4->2: 3 SGD steps (lr 0.1), full batch X, targets T")
show("W1 (library layout)", a.weight.t())
show("b1", a.bias)
show("gamma", bnn.weight)
show("beta", bnn.bias)
show("W2 (library layout)", b.weight.t())
show("b2", b.bias)
show("running mean", bnn.running_mean)
show("running variance", bnn.running_var)
model.eval()
show("evaluation-mode output on X", model(X))
