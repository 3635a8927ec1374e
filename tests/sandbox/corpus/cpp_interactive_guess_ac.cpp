#include <iostream>
#include <string>

int main() {
    int lo = 1, hi = 1000;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        std::cout << mid << std::endl;  // endl flushes: the interactor sees the guess now
        std::string reply;
        if (!(std::cin >> reply) || reply == "=") break;
        if (reply == "<") hi = mid - 1; else lo = mid + 1;
    }
}
