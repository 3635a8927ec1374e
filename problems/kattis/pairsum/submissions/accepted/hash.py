import sys


def main() -> None:
    data = sys.stdin.buffer.read().split()
    n, target = int(data[0]), int(data[1])
    seen: dict[int, int] = {}
    for j in range(1, n + 1):
        value = int(data[1 + j])
        if target - value in seen:
            print(seen[target - value], j)
            return
        seen.setdefault(value, j)


main()
