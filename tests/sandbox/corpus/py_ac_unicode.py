name = input().strip()
print(f"héllo {name} ✓")
