#include <cstdio>
#include <vector>

int main() {
    std::vector<int> v(1000 * 1000 * 1000);  // 4 GB, zero-filled
    std::printf("%d\n", v[12345]);
    return 0;
}
