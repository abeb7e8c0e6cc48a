"""Independent reference for Functional.NN's generator (Rng.fs): xoshiro256** seeded by SplitMix64,
written from the algorithm's published description (Blackman and Vigna, 2018), not from the F# code.
Run: python3 tests/reference/xoshiro256.py ; the numbers it prints are pinned in RngTests.fs."""
M = (1 << 64) - 1

def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return x, z ^ (z >> 31)

def seed_state(seed):
    x = seed & M
    s = []
    for _ in range(4):
        x, z = splitmix(x)
        s.append(z)
    return s

def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M

def next_u64(s):
    result = (rotl((s[1] * 5) & M, 7) * 9) & M
    t = (s[1] << 17) & M
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return result

for seed in (0, 42):
    s = seed_state(seed)
    print("seed", seed, "uint64:", ", ".join("%dUL" % next_u64(s) for _ in range(4)))
    s = seed_state(seed)
    print("seed", seed, "float:", ", ".join(repr((next_u64(s) >> 11) * (1.0 / 9007199254740992.0)) for _ in range(3)))
