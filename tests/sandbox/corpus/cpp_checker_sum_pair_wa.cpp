#include <cstdio>

int main() {
    int n;
    std::scanf("%d", &n);
    std::printf("%d %d\n", n, 1);
    return 0;
}
