#include <cstring>
#include <unistd.h>

int main() {
    static char buf[1 << 16];
    std::memset(buf, 'w', sizeof buf);
    for (;;) {
        if (write(1, buf, sizeof buf) < 0) return 4;  // EFBIG once the cap is hit
    }
}
