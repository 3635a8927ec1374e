import sys

sys.setrecursionlimit(1_000_000)


def grab(n: int) -> int:
    chunk = bytearray(1 << 20)
    chunk[::4096] = b"\x01" * len(range(0, 1 << 20, 4096))
    return grab(n + 1) + chunk[0]


grab(0)
