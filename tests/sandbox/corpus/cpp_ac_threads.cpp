#include <cstdio>
#include <thread>
#include <vector>

int main() {
    long long parts[4] = {0, 0, 0, 0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
        pool.emplace_back([&parts, t] {
            for (int i = t; i < 1000; i += 4) parts[t] += i;
        });
    for (auto& th : pool) th.join();
    std::printf("%lld\n", parts[0] + parts[1] + parts[2] + parts[3]);
    return 0;
}
