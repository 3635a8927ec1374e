#include <cstdio>
#include <unistd.h>

int main() {
    std::puts("sleeping");
    std::fflush(stdout);
    sleep(60);
    return 0;
}
