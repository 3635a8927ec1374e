#include <cstdio>

int main() {
    std::printf("partial\n");
    return 3;
}
