// Interactor of Guess the Number: interactor INPUT ANSWER FEEDBACK_DIR, the program's output
// on stdin, the replies on stdout. The input file holds the secret.
#include <csignal>
#include <iostream>
#include <string>

#include "validate.h"

int main(int argc, char** argv) {
    if (argc < 4) return 1;
    std::signal(SIGPIPE, SIG_IGN);  // a program that leaves early is a wrong answer, not our crash
    validate::feedback_dir = argv[3];
    long long secret = 0;
    std::ifstream(argv[1]) >> secret;
    for (int attempt = 1; attempt <= 10; ++attempt) {
        std::string token;
        if (!(std::cin >> token)) validate::wrong_answer("the program stopped after " + std::to_string(attempt - 1) + " guesses");
        long long guess = 0;
        try {
            std::size_t used = 0;
            guess = std::stoll(token, &used);
            if (used != token.size()) throw 0;
        } catch (...) {
            validate::wrong_answer("guess " + std::to_string(attempt) + " is not an integer: " + token.substr(0, 40));
        }
        std::cout << (guess == secret ? "=" : secret < guess ? "<" : ">") << std::endl;
        if (guess == secret) validate::accept("found " + std::to_string(secret) + " in " + std::to_string(attempt) + " guesses");
    }
    validate::wrong_answer("no guesses left");
}
