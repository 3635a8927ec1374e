#include <cstdio>
#include <cstring>
#include <vector>

int main() {
    std::vector<char> v(200u << 20);
    std::memset(v.data(), 1, v.size());
    std::printf("%d\n", v[1234]);
    return 0;
}
