#include <cstdio>

// Unbounded recursion: the stack overflows long before the heap is touched.
int down(int n) {
    volatile char frame[256];
    frame[0] = static_cast<char>(n);
    return down(n + 1) + frame[0];
}

int main() {
    std::printf("%d\n", down(0));
    return 0;
}
