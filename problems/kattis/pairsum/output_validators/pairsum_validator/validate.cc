// Output validator of Pair Sum: any pair i < j with a_i + a_j = t is accepted.
#include <iostream>
#include <string>
#include <vector>

#include "validate.h"

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: validate input answer feedback_dir < output\n";
        return 1;
    }
    validate::feedback_dir = argv[3];
    std::ifstream input(argv[1]);
    long long n = 0, target = 0;
    input >> n >> target;
    std::vector<long long> values(n);
    for (auto& v : values) input >> v;

    std::vector<std::string> out = validate::tokens(std::cin);
    if (out.size() != 2) validate::wrong_answer("expected two positions, got " + std::to_string(out.size()) + " tokens");
    long long i = validate::integer(out[0], 1, n, "i");
    long long j = validate::integer(out[1], 1, n, "j");
    std::string why;
    if (!is_answer(values, target, i, j, why)) validate::wrong_answer(why);
    validate::accept("a valid pair");
}
