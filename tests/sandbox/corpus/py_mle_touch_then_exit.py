# 200 MB touched, then a clean exit: over the 128 MB limit even though it finished.
block = bytearray(200 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
print("done")
