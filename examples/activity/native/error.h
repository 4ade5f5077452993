// The one error type of the native activity predictor: a one-line message that names the
// file (and line) at fault. Only main() prints it.
#pragma once

#include <stdexcept>
#include <string>

namespace activity {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace activity
