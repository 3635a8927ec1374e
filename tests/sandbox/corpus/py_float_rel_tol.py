n = int(input())
# Large magnitude: only a relative tolerance accepts this rounding.
print(f"{n * 1.0000000001:.1f}")
