#include <cstdio>
#include <vector>

int main() {
    std::vector<int> v(3);
    std::printf("%d\n", v.at(10));
    return 0;
}
