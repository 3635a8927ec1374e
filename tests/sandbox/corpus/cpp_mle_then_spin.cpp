#include <cstring>
#include <vector>

int main() {
    // 300 MB touched, then an endless loop: MLE must win over TLE.
    std::vector<char> v(300u << 20);
    std::memset(v.data(), 1, v.size());
    volatile unsigned long long x = 0;
    for (;;) x += v[x % v.size()];
}
