import sys

sys.setrecursionlimit(100_000)


def depth(n: int) -> int:
    return 0 if n == 0 else 1 + depth(n - 1)


print(depth(int(input())))
