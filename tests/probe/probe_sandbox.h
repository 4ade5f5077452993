#pragma once
// A private directory for end-to-end tests of `memopt probe`: writes scripts (and packages)
// into it, runs memopt or python3 there, reads the profile back.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace memopt::probe_tests {

namespace fs = std::filesystem;
using nlohmann::json;

struct Run {
    int status = -1;
    std::string out, err;
};

inline std::string slurp(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class Sandbox {
  public:
    Sandbox() {
        char pattern[] = "/tmp/memopt-probe-test-XXXXXX";
        dir_ = ::mkdtemp(pattern);
    }
    ~Sandbox() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;
    // name may hold directories ("lib/pkg/__init__.py"); they are created.
    fs::path write(const std::string& name, const std::string& text) const {
        fs::create_directories((dir_ / name).parent_path());
        std::ofstream(dir_ / name) << text;
        return dir_ / name;
    }
    Run run(const std::string& command) const {
        const std::string line =
            "cd '" + dir_.string() + "' && MPLBACKEND=Agg " + command + " >out.txt 2>err.txt";
        Run r;
        const int raw = std::system(line.c_str());
        r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
        r.out = slurp(dir_ / "out.txt");
        r.err = slurp(dir_ / "err.txt");
        return r;
    }
    Run probe(const std::string& args) const {
        return run(std::string(MEMOPT_EXE) + " probe " + args);
    }
    json profile(const std::string& name = "p.json") const {
        return json::parse(slurp(dir_ / name));
    }
    const fs::path& dir() const { return dir_; }

  private:
    fs::path dir_;
};

} // namespace memopt::probe_tests
