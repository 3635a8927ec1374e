// A small Kattis output-validator library for this package (written for codesolve).
// Protocol: validate INPUT ANSWER FEEDBACK_DIR < team_output; exit 42 accepts, 43 rejects.
#pragma once
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace validate {

inline std::string feedback_dir;

[[noreturn]] inline void verdict(int code, const std::string& message) {
    std::ofstream(feedback_dir + "/judgemessage.txt") << message << "\n";
    std::exit(code);
}

[[noreturn]] inline void accept(const std::string& message = "ok") { verdict(42, message); }
[[noreturn]] inline void wrong_answer(const std::string& message) { verdict(43, message); }

// Every whitespace-separated token of a stream.
inline std::vector<std::string> tokens(std::istream& in) {
    std::vector<std::string> out;
    for (std::string token; in >> token;) out.push_back(token);
    return out;
}

// A token as a whole integer in [lo, hi], or a rejection naming what it should be.
inline long long integer(const std::string& token, long long lo, long long hi, const std::string& what) {
    std::size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(token, &used);
    } catch (...) {
        wrong_answer(what + " is not an integer: '" + token.substr(0, 40) + "'");
    }
    if (used != token.size()) wrong_answer(what + " is not an integer: '" + token.substr(0, 40) + "'");
    if (value < lo || value > hi) wrong_answer(what + " out of range: " + token);
    return value;
}

}  // namespace validate

// The problem's own rule, in check_pair.cc.
bool is_answer(const std::vector<long long>& values, long long target, long long i, long long j, std::string& why);
