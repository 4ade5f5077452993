#pragma once
// Test helpers: run a shell command, capture its output and status; scratch directories.
#include <filesystem>
#include <string>

namespace memopt::test {

struct RunResult {
    int status = -1; // exit status, or 128+signal
    std::string out;
    std::string err;
};

// Runs `command` with /bin/sh -c, stdout and stderr captured separately.
RunResult run(const std::string& command);

// A fresh empty directory under the system temp folder, removed by the destructor.
class ScratchDir {
  public:
    explicit ScratchDir(const std::string& name);
    ~ScratchDir();
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);
std::string quote(const std::string& text);

} // namespace memopt::test
