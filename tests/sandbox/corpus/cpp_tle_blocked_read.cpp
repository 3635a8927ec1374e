#include <unistd.h>

int main() {
    int fds[2];
    if (pipe(fds) != 0) return 2;
    char c;
    // The write end stays open: this read never returns.
    return static_cast<int>(read(fds[0], &c, 1));
}
