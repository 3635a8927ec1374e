// The same interactor as guess_interactor.py, in C++.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

static std::string feedback_dir;

[[noreturn]] static void verdict(int code, const std::string& message) {
    std::ofstream(feedback_dir + "/judgemessage.txt") << message << "\n";
    std::exit(code);
}

int main(int argc, char** argv) {
    if (argc < 4) return 1;
    std::signal(SIGPIPE, SIG_IGN);
    feedback_dir = argv[3];
    long secret = 0;
    std::ifstream(argv[1]) >> secret;
    for (int attempt = 1; attempt <= 10; ++attempt) {
        long guess;
        if (!(std::cin >> guess)) verdict(43, "no more guesses (or not an integer) after " + std::to_string(attempt - 1));
        const char* reply = guess == secret ? "=" : (secret < guess ? "<" : ">");
        std::cout << reply << std::endl;
        if (guess == secret) verdict(42, "found in " + std::to_string(attempt) + " guesses");
    }
    verdict(43, "no guesses left");
}
