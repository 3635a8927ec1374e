import sys

a, b = map(int, input().split())
sys.stdout.write(str(a * b))
