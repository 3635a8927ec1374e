#include <cstdio>

int main() {
    volatile int* p = nullptr;
    *p = 42;
    std::printf("unreachable\n");
    return 0;
}
