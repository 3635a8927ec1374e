#include <string>
#include <vector>

#include "validate.h"

bool is_answer(const std::vector<long long>& values, long long target, long long i, long long j, std::string& why) {
    if (i >= j) {
        why = "positions must satisfy i < j, got " + std::to_string(i) + " " + std::to_string(j);
        return false;
    }
    if (values[i - 1] + values[j - 1] != target) {
        why = "a_" + std::to_string(i) + " + a_" + std::to_string(j) + " = " +
              std::to_string(values[i - 1] + values[j - 1]) + ", not " + std::to_string(target);
        return false;
    }
    return true;
}
