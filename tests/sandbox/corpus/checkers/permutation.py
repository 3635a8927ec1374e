"""testlib-style checker: argv = input output answer; exit 0 accepts, 1 rejects."""

import sys

with open(sys.argv[1]) as fh:
    n = int(fh.read())
with open(sys.argv[2]) as fh:
    got = fh.read().split()
if sorted(got) != [str(i) for i in range(1, n + 1)]:
    print(f"not a permutation of 1..{n}: {' '.join(got)[:60]}", file=sys.stderr)
    sys.exit(1)
print("valid permutation", file=sys.stderr)
sys.exit(0)
