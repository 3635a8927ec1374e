def add(a, b):
    return a + b


if __name__ == "__main__":
    line = input()
    print("DEMO BLOCK RAN", line)
    raise SystemExit(3)
