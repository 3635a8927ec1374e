#include <atomic>
#include <thread>

std::atomic<unsigned long long> counter{0};

int main() {
    std::thread t([] {
        for (;;) counter++;
    });
    for (;;) counter++;
}
