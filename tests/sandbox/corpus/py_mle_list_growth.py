hoard = []
while True:
    hoard.append([0] * 100_000)
