// Finds a right pair but prints it as j i.
#include <cstdio>
#include <unordered_map>

int main() {
    int n;
    long long t;
    if (std::scanf("%d %lld", &n, &t) != 2) return 1;
    std::unordered_map<long long, int> seen;
    for (int j = 1; j <= n; ++j) {
        long long v;
        std::scanf("%lld", &v);
        auto it = seen.find(t - v);
        if (it != seen.end()) {
            std::printf("%d %d\n", j, it->second);
            return 0;
        }
        seen.emplace(v, j);
    }
}
