#include "transforms/differential.h"

#include "common/error.h"

#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace memopt::transforms {

namespace {

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string tail(const std::string& text, std::size_t lines) {
    std::size_t pos = text.size();
    while (pos > 0 && (text[pos - 1] == '\n')) --pos;
    std::size_t end = pos;
    for (std::size_t n = 0; n < lines && pos > 0; ++n) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) { pos = 0; break; }
    }
    std::string out = text.substr(pos, end - pos);
    while (!out.empty() && out.front() == '\n') out.erase(out.begin());
    for (auto& c : out) if (c == '\n') c = ' ';
    return out;
}

std::string first_difference(const std::string& a, const std::string& b) {
    std::istringstream sa(a), sb(b);
    std::string la, lb;
    for (int line = 1;; ++line) {
        const bool ga = static_cast<bool>(std::getline(sa, la));
        const bool gb = static_cast<bool>(std::getline(sb, lb));
        if (!ga && !gb) return "differs";
        if (!ga || !gb || la != lb)
            return fmt::format("line {}: expected \"{}\", got \"{}\"", line, ga ? la.substr(0, 80) : "<end>",
                               gb ? lb.substr(0, 80) : "<end>");
    }
}

} // namespace

std::vector<std::string> command_line(const Program& program, const std::vector<std::string>& args, bool relative) {
    std::vector<std::string> argv;
    if (!program.env.empty()) {
        argv.push_back("/usr/bin/env");
        for (const auto& [k, v] : program.env) argv.push_back(k + "=" + v);
    }
    argv.push_back(kPython);
    argv.insert(argv.end(), program.python_flags.begin(), program.python_flags.end());
    argv.push_back(relative ? program.path.filename().string() : program.path.string());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

RunSpec run_spec(const Program& program, const std::vector<std::string>& args, const fs::path& cwd) {
    RunSpec spec;
    spec.argv = command_line(program, args);
    spec.cwd = cwd;
    spec.env["MPLBACKEND"] = "Agg";
    return spec;
}

std::vector<std::string> resolve_args(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (const auto& a : args) {
        std::error_code ec;
        out.push_back(!a.empty() && a[0] != '-' && fs::exists(a, ec) ? fs::absolute(a).lexically_normal().string() : a);
    }
    return out;
}

Snapshot capture(const Program& program, const std::vector<std::string>& args, const fs::path& dir) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    RunSpec spec = run_spec(program, args, dir);
    spec.stdout_file = dir.string() + ".stdout";
    spec.stderr_file = dir.string() + ".stderr";
    Snapshot snap;
    snap.status = run_once(spec).status;
    snap.out = slurp(spec.stdout_file);
    snap.err_tail = tail(slurp(spec.stderr_file), 2);
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
        if (it->is_directory() && it->path().filename() == "__pycache__") { it.disable_recursion_pending(); continue; }
        if (it->is_regular_file()) snap.files[fs::relative(it->path(), dir).string()] = slurp(it->path());
    }
    return snap;
}

std::string difference(const Snapshot& reference, const Snapshot& candidate) {
    if (candidate.status != reference.status)
        return fmt::format("exit status {} instead of {}{}", candidate.status, reference.status,
                           candidate.err_tail.empty() ? "" : ": " + candidate.err_tail);
    if (candidate.out != reference.out) return "stdout " + first_difference(reference.out, candidate.out);
    for (const auto& [name, bytes] : reference.files) {
        const auto it = candidate.files.find(name);
        if (it == candidate.files.end()) return fmt::format("did not write {}", name);
        if (it->second != bytes) return fmt::format("{} {}", name, first_difference(bytes, it->second));
    }
    for (const auto& [name, bytes] : candidate.files)
        if (!reference.files.count(name)) return fmt::format("wrote {} (the original does not)", name);
    return "";
}

std::string run_check(const std::string& check, const fs::path& dir) {
    RunSpec spec;
    spec.argv = {"/bin/sh", "-c", check};
    spec.cwd = dir;
    spec.env["MEMOPT_RUN_DIR"] = dir.string();
    spec.env["MEMOPT_STDOUT"] = dir.string() + ".stdout";
    spec.stderr_file = dir.string() + ".check";
    const int status = run_once(spec).status;
    if (status == 0) return "";
    return fmt::format("--check command failed with status {}{}", status,
                       [&] { const auto t = tail(slurp(spec.stderr_file), 1); return t.empty() ? "" : ": " + t; }());
}

} // namespace memopt::transforms
