x = float(input())
print(float("nan") if x >= 0 else x)
