# Guesses upwards one by one: right protocol, too many guesses for most secrets.
import sys

print("debug output on stderr is fine", file=sys.stderr)
for guess in range(1, 1001):
    print(guess, flush=True)
    if input().strip() == "=":
        break
