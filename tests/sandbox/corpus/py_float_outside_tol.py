r = float(input())
print(f"{3.14 * r * r:.5f}")  # pi rounded too early
