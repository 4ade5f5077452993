#pragma once
// The one error type library code throws. Only the CLI boundary (cli/main.cpp) prints it and
// turns it into an exit status, so every failure reaches the user as one line.
#include <stdexcept>
#include <string>

namespace memopt {

// Bad input or usage: a missing file, a corrupt trace, a wrong flag. Exit status 2.
class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

} // namespace memopt
