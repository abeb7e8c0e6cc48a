"""Reference numbers for tests/Functional.NN.Tests/OptimizerTests.fs.

Runs torch.optim (PyTorch 1.13, float64, single-tensor code path: foreach=False) on two small
problems and prints the parameters after a fixed number of full-batch steps, in the library's
flattening order. Run with:  OMP_WAIT_POLICY=passive python3 tests/reference/optimizers_torch.py

Problem Q (quadratic): f(t) = 1/2 t1^2 + 2 t2^2 from t = (1, 1); 300 steps.
Problem N (network): a 2-3-1 network, tanh hidden layer, identity output, loss 1/(2n) sum (yhat - y)^2
on four fixed samples, fixed starting weights; 300 steps. Layout as in the library: one sample per
row, W1 is 2x3 (inputs x outputs), parameters flattened as W1 row by row, b1, W2 (3x1), b2.

Centred RMSProp uses eps = 1e-4: with the default 1e-8 its denominator sqrt(s - a^2) + eps is a
difference of nearly equal numbers on problem N, and rounding differences of 1e-16 grow to 1e-3
in 300 steps (a re-implementation of the same formulas inside torch itself drifts that far from
torch.optim.RMSprop), so no implementation could be compared there.
"""
import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)

X = torch.tensor([[0.5, -1.0], [1.5, 0.25], [-0.75, 0.8], [0.1, 2.0]])
Y = torch.tensor([[0.3], [1.2], [-0.4], [0.9]])
W1_0 = [[0.2, -0.4, 0.7], [0.5, 0.1, -0.3]]
B1_0 = [0.05, -0.1, 0.0]
W2_0 = [[0.6], [-0.8], [0.3]]
B2_0 = [0.1]


def run(problem, make, steps=300, clip=0.0):
    if problem == "Q":
        params = [torch.tensor([1.0, 1.0], requires_grad=True)]
        loss_fn = lambda: 0.5 * params[0][0] ** 2 + 2.0 * params[0][1] ** 2
    else:
        params = [torch.tensor(W1_0, requires_grad=True), torch.tensor(B1_0, requires_grad=True),
                  torch.tensor(W2_0, requires_grad=True), torch.tensor(B2_0, requires_grad=True)]
        def loss_fn():
            h = torch.tanh(X @ params[0] + params[1])
            out = h @ params[2] + params[3]
            return ((out - Y) ** 2).sum() / (2 * X.shape[0])
    opt = make(params)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn().backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
    return torch.cat([p.detach().reshape(-1) for p in params]).tolist()


O = torch.optim
cases = [
    ("sgd", lambda p: O.SGD(p, lr=0.1, foreach=False), 0.0),
    ("momentum", lambda p: O.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, foreach=False), 0.0),
    ("nesterov", lambda p: O.SGD(p, lr=0.05, momentum=0.9, nesterov=True, foreach=False), 0.0),
    ("adagrad", lambda p: O.Adagrad(p, lr=0.1, foreach=False), 0.0),
    ("rmsprop", lambda p: O.RMSprop(p, lr=0.01, foreach=False), 0.0),
    ("rmsprop_centered_momentum", lambda p: O.RMSprop(p, lr=0.01, momentum=0.5, centered=True, eps=1e-4, foreach=False), 0.0),
    ("adam", lambda p: O.Adam(p, lr=0.01, foreach=False), 0.0),
    ("adamw", lambda p: O.AdamW(p, lr=0.01, weight_decay=0.1, foreach=False), 0.0),
    ("sgd_l2_clip", lambda p: O.SGD(p, lr=0.1, weight_decay=0.01, foreach=False), 0.5),
    ("adam_l2_clip", lambda p: O.Adam(p, lr=0.01, weight_decay=0.01, foreach=False), 1.0),
]
print("torch", torch.__version__)
for problem in ["Q", "N"]:
    for name, make, clip in cases:
        values = run(problem, make, clip=clip)
        print('%s %s [| %s |]' % (problem, name, "; ".join(repr(v) for v in values)))
