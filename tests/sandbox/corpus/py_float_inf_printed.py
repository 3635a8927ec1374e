input()
print(float("inf"))
