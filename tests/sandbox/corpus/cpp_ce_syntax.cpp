#include <cstdio>

int main() {
    std::printf("missing semicolon\n")
    return 0;
}
