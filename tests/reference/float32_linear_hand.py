# A linear model y = w x + b at x = 3 with w = 0.1, b = 0.2 (and b = 0), as the library's Float32
# linear model predicts: w, b and x rounded to float32, the output computed in float64 and rounded
# once (struct's 'f' format is IEEE binary32, round to nearest even). Used by PrecisionTests.
import struct

def f32(v):
    return struct.unpack('f', struct.pack('f', v))[0]

w, b, x = f32(0.1), f32(0.2), f32(3.0)
print("w =", repr(w), "b =", repr(b))
print("float32, with b:", repr(f32(x * w + b)), "without b:", repr(f32(x * w)))
print("float64, with b:", repr(3.0 * 0.1 + 0.2), "without b:", repr(3.0 * 0.1))
# Output:
# w = 0.10000000149011612 b = 0.20000000298023224
# float32, with b: 0.5 without b: 0.30000001192092896
# float64, with b: 0.5 without b: 0.30000000000000004
