import sys

SEEN = sys.stdin.read()  # module-level code finds stdin empty: the arguments were taken first


def seen_length(x):
    print("module-level stdin held", repr(SEEN))
    return len(SEEN) + x
