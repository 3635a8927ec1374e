import time

# Over the memory limit first, then slow: MLE must win over TLE.
block = bytearray(300 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
time.sleep(60)
