#include "transforms/measure.h"

#include "common/error.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace memopt::transforms {

namespace {

std::vector<std::string> environment(const std::map<std::string, std::string>& extra) {
    std::vector<std::string> out;
    for (char** e = environ; *e; ++e) {
        const std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq != std::string::npos && extra.count(entry.substr(0, eq))) continue;
        out.push_back(entry);
    }
    for (const auto& [key, value] : extra) out.push_back(key + "=" + value);
    return out;
}

int open_output(const std::filesystem::path& path) {
    return ::open(path.empty() ? "/dev/null" : path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

template <typename T> T median(std::vector<T> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

} // namespace

RunOutcome run_once(const RunSpec& spec) {
    if (spec.argv.empty()) throw Error("internal: empty command");
    std::vector<std::string> env = environment(spec.env);
    std::vector<char*> argv, envp;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int out = open_output(spec.stdout_file);
    const int err = open_output(spec.stderr_file);
    if (out < 0 || err < 0) throw Error(fmt::format("cannot open output file: {}", std::strerror(errno)));
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) throw Error("pipe failed");
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) throw Error(fmt::format("fork failed: {}", std::strerror(errno)));
    if (pid == 0) {
        ::dup2(out, 1);
        ::dup2(err, 2);
        const int in = ::open("/dev/null", O_RDONLY);
        if (in >= 0) ::dup2(in, 0);
        if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
            const int code = errno;
            (void)!::write(ready[1], &code, sizeof code);
            ::_exit(127);
        }
        ::execve(argv[0], argv.data(), envp.data());
        const int code = errno;
        (void)!::write(ready[1], &code, sizeof code);
        ::_exit(127);
    }
    ::close(ready[1]);
    ::close(out);
    ::close(err);
    int child_errno = 0;
    const bool failed = ::read(ready[0], &child_errno, sizeof child_errno) == sizeof child_errno;
    ::close(ready[0]);
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {}
    RunOutcome outcome;
    outcome.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed)
        throw Error(fmt::format("cannot run {}: {}", spec.argv[0], std::strerror(child_errno)));
    outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    outcome.max_rss_kib = usage.ru_maxrss;
    return outcome;
}

Measurement measure(const RunSpec& spec, int runs, const std::string& what) {
    Measurement m;
    for (int i = 0; i < runs; ++i) {
        const RunOutcome o = run_once(spec);
        if (o.status != 0)
            throw Error(fmt::format("{} exited with status {} in measured run {}", what, o.status, i + 1));
        m.peak_rss_runs.push_back(static_cast<std::uint64_t>(o.max_rss_kib) * 1024);
        m.wall_runs.push_back(o.wall_s);
    }
    m.peak_rss_bytes = median(m.peak_rss_runs);
    m.wall_s = median(m.wall_runs);
    return m;
}

} // namespace memopt::transforms
