// Sorts positions by value and walks two pointers: often a different pair than hash.py's.
#include <algorithm>
#include <cstdio>
#include <vector>

int main() {
    int n;
    long long t;
    if (std::scanf("%d %lld", &n, &t) != 2) return 1;
    std::vector<std::pair<long long, int>> a(n);
    for (int i = 0; i < n; ++i) {
        std::scanf("%lld", &a[i].first);
        a[i].second = i + 1;
    }
    std::sort(a.begin(), a.end());
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        long long sum = a[lo].first + a[hi].first;
        if (sum == t) {
            std::printf("%d %d\n", std::min(a[lo].second, a[hi].second), std::max(a[lo].second, a[hi].second));
            return 0;
        }
        if (sum < t) ++lo; else --hi;
    }
    return 0;
}
