words = input().split()
for w in sorted(set(words), reverse=True):
    print(w, words.count(w))
