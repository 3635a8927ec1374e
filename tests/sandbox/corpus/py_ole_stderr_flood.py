import sys

print("the answer is on stdout")
line = "e" * 65535 + "\n"
while True:
    sys.stderr.write(line)
