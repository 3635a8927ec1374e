import sys


def add(a, b):
    print("inside the function", a, b)
    print("to stderr", file=sys.stderr)
    return a + b


print("module level")
print(add(20, 22))
