#include <cstdio>

int main() {
    int n;
    std::scanf("%d", &n);
    std::puts(n % 2 == 0 ? "Yes" : "No");
    return 0;
}
