values = list(map(int, input().split()))
print(values[len(values)])
