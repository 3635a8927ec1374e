#include <cstdio>

int main() {
    std::puts("1 2");
    return 0;
}
