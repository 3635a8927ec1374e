#include <cstdio>
#include <cstdlib>

int main() {
    std::fprintf(stderr, "giving up\n");
    std::abort();
}
