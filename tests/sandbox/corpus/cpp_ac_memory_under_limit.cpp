#include <cstdio>
#include <vector>

int main() {
    // 12M ints = 48 MB touched, under the 128 MB limit.
    std::vector<int> v(12 * 1000 * 1000, 1);
    long long s = 0;
    for (size_t i = 0; i < v.size(); i += 1024) s += v[i];
    std::printf("%lld\n", s);
    return 0;
}
