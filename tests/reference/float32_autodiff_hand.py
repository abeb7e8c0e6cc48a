# The notes' f = (x + y) z (004, ch. 4) with x = 0.1, y = 0.2, z = 3 in float32, as the library's
# Float32 autodiff computes it: each value in float64 from float32 inputs, rounded once to float32
# (struct's 'f' format is IEEE binary32, round to nearest even). Used by PrecisionTests.
import struct

def f32(v):
    return struct.unpack('f', struct.pack('f', v))[0]

x, y, z = f32(0.1), f32(0.2), f32(3.0)
s = f32(x + y)          # the node x + y
f = f32(s * z)          # the output
print("x =", repr(x), "y =", repr(y), "z =", repr(z))
print("x + y =", repr(s), "f =", repr(f))
print("df/dz = x + y =", repr(s), "; df/dx = df/dy = z =", repr(z))
print("float64: x + y =", repr(0.1 + 0.2), "f =", repr((0.1 + 0.2) * 3.0))
# Output:
# x = 0.10000000149011612 y = 0.20000000298023224 z = 3.0
# x + y = 0.30000001192092896 f = 0.9000000357627869
# df/dz = x + y = 0.30000001192092896 ; df/dx = df/dy = z = 3.0
# float64: x + y = 0.30000000000000004 f = 0.9000000000000001
