import bisect
import heapq
import itertools
import math
from collections import Counter, deque
from fractions import Fraction

values = list(map(int, input().split()))
heap = list(values)
heapq.heapify(heap)
smallest = heapq.heappop(heap)
ordered = sorted(values)
print(smallest, bisect.bisect_left(ordered, 5), math.gcd(*values), Counter(values).most_common(1)[0][0])
print(sum(1 for _ in itertools.combinations(values, 2)), len(deque(values, maxlen=2)), Fraction(1, 3) + Fraction(1, 6))
