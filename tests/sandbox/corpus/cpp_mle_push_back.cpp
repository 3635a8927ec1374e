#include <cstdio>
#include <vector>

int main() {
    std::vector<long long> v;
    for (long long i = 0;; ++i) v.push_back(i);
}
