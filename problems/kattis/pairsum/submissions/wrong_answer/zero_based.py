# Prints 0-based positions.
import sys

data = sys.stdin.read().split()
n, target = int(data[0]), int(data[1])
values = list(map(int, data[2 : 2 + n]))
seen: dict[int, int] = {}
for j, value in enumerate(values):
    if target - value in seen:
        print(seen[target - value], j)
        break
    seen.setdefault(value, j)
