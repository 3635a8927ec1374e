#include <string>

int main() {
    std::string s = 42.5;
    return static_cast<int>(s.size());
}
