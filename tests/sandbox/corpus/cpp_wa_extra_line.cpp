#include <cstdio>

int main() {
    int a, b;
    std::scanf("%d %d", &a, &b);
    std::printf("%d\n%d\n0\n", a + b, a * b);
    return 0;
}
