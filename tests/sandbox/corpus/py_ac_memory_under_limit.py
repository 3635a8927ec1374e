# About 48 MB resident, well under the 128 MB limit.
block = bytearray(48 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
print(sum(block[::4096]))
