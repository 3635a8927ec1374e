import sys


def add(a, b):
    print("inside the function")
    print("noise on stderr", file=sys.stderr)
    return a + b


print("module level", add(1, 1))
if __name__ == "__main__":
    raise SystemExit("the demo block must not run in a check test")
