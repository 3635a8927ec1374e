#include <iostream>
#include <vector>

int main() {
    std::ios::sync_with_stdio(false);
    std::cin.tie(nullptr);
    int n;
    std::cin >> n;
    std::vector<long long> v(n);
    long long total = 0;
    for (auto& x : v) {
        std::cin >> x;
        total += x;
    }
    std::cout << total << '\n';
    for (int i = 0; i < n; ++i) std::cout << v[i] * 2 << (i + 1 < n ? ' ' : '\n');
    return 0;
}
