// A checker that fails itself (exit 3 is neither accept nor reject): an infrastructure fault.
#include <cstdio>

int main() {
    std::fprintf(stderr, "checker bug: cannot parse the answer\n");
    return 3;
}
