"""Integrated gradients through narrow layer normalisations, by a fine midpoint rule.

Run with /usr/bin/python3 (numpy). Prints, for the two networks of the fixed tests "integrated
gradients cut the path where a layer normalisation's variance is smallest" in AttributionTests.fs,
the attributions a_i = (x_i - b_i) int_0^1 df/dx_i(b + t (x - b)) dt by the midpoint rule on N and
2N points (N = 1,000,000), f(x) - f(b), and the largest change from N to 2N points; the test copies
the 2N values.

The networks, written here from their definitions (torch.nn.LayerNorm's formula, eps = 1e-5, scale
1, shift 0; no bias on the dense layer):
  simple: f(x) = LN(x)_0, a layer normalisation of 2 features, then the dense layer [[1], [0]]
          (x = (1, 0), b = (0, 1)). Exactly: f = d / sqrt(d^2 + eps) with d = (x_0 - x_1) / 2, so
          f(x) - f(b) = 1 / sqrt(0.25 + 1e-5) and each attribution is half of it, by symmetry.
  nested: f(x) = (x + LN2(LN1(x)))_0, a residual block of two layer normalisations of 2 features,
          then the same dense layer (x = (0.3709188562, -0.9615177582), b = (-0.7757982215,
          1.547325145)). The inner layer normalisation's output passes through zero where x_0 =
          x_1 on the path (t = 0.6356), and the outer one is a jump of width about 5e-6 in t there.

The gradient is the analytic vector-Jacobian product of layer normalisation, dLN/dx^T g =
r (g - mean(g) - xhat mean(g xhat)) with r = 1 / sqrt(var + eps), checked against central
differences of f at a few points of each path. The midpoint rule on a function analytic in a strip
of half-width w about the path converges like exp(-2 pi w / step) away from the ends, where the
error is O(step^2) (w = 5e-6 against a step of 5e-7 on the nested path); the change from N to 2N
points shows the accuracy.
"""
import numpy as np

EPS = 1e-5


def ln(x):
    """Layer normalisation of each row (scale 1, shift 0) and what its backward pass needs."""
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    r = 1.0 / np.sqrt(var + EPS)
    xhat = (x - mu) * r
    return xhat, (xhat, r)


def ln_back(g, memory):
    xhat, r = memory
    return r * (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True))


def simple(x):
    y, m = ln(x)
    g = np.zeros_like(x)
    g[:, 0] = 1.0
    return y[:, 0], ln_back(g, m)


def nested(x):
    y1, m1 = ln(x)
    y2, m2 = ln(y1)
    out = x + y2
    g = np.zeros_like(x)
    g[:, 0] = 1.0
    # d out / dx = I + J1^T J2^T g
    return out[:, 0], g + ln_back(ln_back(g, m2), m1)


def check_gradient(fn, x, b):
    for t in (0.1, 0.5, 0.9):
        p = b + t * (x - b)
        _, g = fn(p[None, :])
        for i in range(len(p)):
            h = np.zeros_like(p)
            h[i] = 1e-7
            numeric = (fn((p + h)[None, :])[0][0] - fn((p - h)[None, :])[0][0]) / 2e-7
            assert abs(numeric - g[0, i]) < 1e-5 * (1 + abs(numeric)), (t, i, numeric, g[0, i])


def midpoint(fn, x, b, n, chunk=250_000):
    total = np.zeros_like(x)
    for start in range(0, n, chunk):
        t = (np.arange(start, min(n, start + chunk)) + 0.5) / n
        _, g = fn(b[None, :] + t[:, None] * (x - b)[None, :])
        total += g.sum(axis=0)
    return (x - b) * total / n


CASES = [
    ("simple", simple, np.array([1.0, 0.0]), np.array([0.0, 1.0])),
    ("nested", nested, np.array([0.3709188562, -0.9615177582]), np.array([-0.7757982215, 1.547325145])),
]

N = 1_000_000
for name, fn, x, b in CASES:
    check_gradient(fn, x, b)
    a1 = midpoint(fn, x, b, N)
    a2 = midpoint(fn, x, b, 2 * N)
    fx, fb = fn(x[None, :])[0][0], fn(b[None, :])[0][0]
    print(f"{name}: a = [{a2[0]:.12f}, {a2[1]:.12f}] (2N points), sum {a2.sum():.12f}, "
          f"f(x) - f(b) = {fx - fb:.12f}, change N -> 2N {np.abs(a2 - a1).max():.2e}")
