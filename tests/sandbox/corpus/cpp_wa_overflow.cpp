#include <cstdio>

int main() {
    int a, b;  // should have been long long
    std::scanf("%d %d", &a, &b);
    std::printf("%d\n", (int)((unsigned)a * (unsigned)b));
    return 0;
}
