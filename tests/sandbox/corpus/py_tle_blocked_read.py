import os

# Read from a pipe whose write end stays open: blocks forever without using CPU.
r, w = os.pipe()
os.read(r, 1)
