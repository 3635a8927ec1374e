n = int(input())
assert n < 0, "n must be negative"
