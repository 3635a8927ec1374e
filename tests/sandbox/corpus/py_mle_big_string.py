s = "x" * (1 << 30)
print(len(s))
