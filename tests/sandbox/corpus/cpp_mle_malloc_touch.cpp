#include <cstdlib>
#include <cstring>

int main() {
    long long total = 0;
    for (;;) {
        char* p = static_cast<char*>(std::malloc(1 << 20));
        if (p == nullptr) return 3;
        std::memset(p, 7, 1 << 20);
        total += p[100];
    }
}
