"""Float32 semantics of the reference core on a hand example (tests/Functional.NN.Tests/PrecisionTests.fs).

One dense layer, 1 input -> 1 output, identity activation, half mean squared error, one sample:
w = 0.1, b = 0.2, x = 0.3, y = 0.5, then one SGD step with learning rate 0.5.
Float32 rule (docs/precision.md): every kept value is computed in float64 from the float32 values
before it and rounded once to float32 (round to nearest, ties to even). Python's struct packs a
float64 into a binary32 with exactly that rounding, so f32(v) below is float(float32 v).
Run: python3 tests/reference/float32_hand.py
"""
import struct


def f32(v):
    return struct.unpack('<f', struct.pack('<f', v))[0]


def show(name, v):
    print(f"{name:<8} {v!r:<24} {v.hex()}")


w, b, x, y = f32(0.1), f32(0.2), f32(0.3), f32(0.5)
z = f32(x * w + b)             # Z = X W + b, float64 product and sum, rounded once
a = z                          # identity activation
loss = f32((a - y) * (a - y) / 2.0)  # half mean squared error over n = 1 sample
g = f32((a - y) / 1.0)         # dL/dA = (A - Y) / n
d = f32(g * 1.0)               # D = G o s'(Z), s' = 1 for the identity
dw = f32(x * d)                # dW = X^T D
db = f32(d)                    # db = column sums of D
da = f32(d * w)                # dA = D W^T
w1 = f32(w - 0.5 * dw)         # SGD: w - eta dW, rounded once
b1 = f32(b - 0.5 * db)
for name, v in [("w", w), ("b", b), ("x", x), ("z", z), ("loss", loss), ("g", g), ("dW", dw),
                ("db", db), ("dA", da), ("w1", w1), ("b1", b1)]:
    show(name, v)
# The same example in float64, for comparison.
z64 = 0.3 * 0.1 + 0.2
show("z64", z64)
show("loss64", (z64 - 0.5) * (z64 - 0.5) / 2.0)
