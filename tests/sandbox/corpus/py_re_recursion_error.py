def forever(n: int) -> int:
    return forever(n + 1) + 1


print(forever(0))
