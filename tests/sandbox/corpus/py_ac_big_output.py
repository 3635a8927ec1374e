import sys

n = int(input())
sys.stdout.write("".join(f"{i}\n" for i in range(n)))
