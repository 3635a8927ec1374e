// Stops the search one step early and then guesses 0.
#include <iostream>
#include <string>

int main() {
    int lo = 1, hi = 1000;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        std::cout << mid << std::endl;
        std::string reply;
        if (!(std::cin >> reply) || reply == "=") return 0;
        if (reply == "<") hi = mid - 1; else lo = mid + 1;
    }
    std::cout << 0 << std::endl;
}
