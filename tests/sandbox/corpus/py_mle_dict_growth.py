table = {}
i = 0
while True:
    table[i] = bytearray(4096)
    i += 1
