# Tries every pair: right answers, quadratic time.
import sys

data = sys.stdin.read().split()
n, target = int(data[0]), int(data[1])
values = list(map(int, data[2 : 2 + n]))
for i in range(n):
    for j in range(i + 1, n):
        if values[i] + values[j] == target:
            print(i + 1, j + 1)
            sys.exit(0)
