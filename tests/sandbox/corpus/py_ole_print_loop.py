i = 0
while True:
    print(i, "spam spam spam spam spam spam spam spam spam spam spam spam spam spam spam spam")
    i += 1
