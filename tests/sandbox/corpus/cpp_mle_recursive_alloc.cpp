#include <cstdio>
#include <cstring>

long long grab(int depth) {
    char* block = new char[1 << 20];
    std::memset(block, depth & 0x7f, 1 << 20);
    return grab(depth + 1) + block[depth % 1000];
}

int main() {
    std::printf("%lld\n", grab(0));
    return 0;
}
