#include <cstdio>

int main() {
    volatile int a = 7, b = 0;
    std::printf("%d\n", a / b);
    return 0;
}
