// testlib-style checker: argv = input output answer; exit 0 accepts, 1 rejects.
#include <cstdio>
#include <fstream>

int main(int argc, char** argv) {
    if (argc < 4) return 3;
    std::ifstream input(argv[1]), output(argv[2]);
    long long n, a, b;
    if (!(input >> n)) return 3;
    if (!(output >> a >> b)) {
        std::fprintf(stderr, "output is not two numbers\n");
        return 1;
    }
    if (a < 0 || b < 0 || a + b != n) {
        std::fprintf(stderr, "pair %lld %lld does not add up to %lld\n", a, b, n);
        return 1;
    }
    std::fprintf(stderr, "pair adds up\n");
    return 0;
}
