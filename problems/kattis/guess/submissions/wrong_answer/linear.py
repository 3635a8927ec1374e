# Counts up from 1: the right protocol, but far more than 10 guesses for most secrets.
for guess in range(1, 1001):
    print(guess, flush=True)
    if input().strip() == "=":
        break
