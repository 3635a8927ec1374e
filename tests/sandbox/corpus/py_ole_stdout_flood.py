import sys

line = "y" * 65535 + "\n"
while True:
    sys.stdout.write(line)
