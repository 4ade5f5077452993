#include "reports/study/process.h"

#include "common/error.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace memopt::reports::study {

namespace {

void redirect_or_die(const std::filesystem::path& path, int target) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::dup2(fd, target) < 0) _exit(127);
    ::close(fd);
}

} // namespace

RunResult run_program(const RunSpec& spec) {
    if (spec.argv.empty()) throw Error("run_program: empty command");
    std::vector<char*> argv;
    for (const auto& word : spec.argv) argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    int error_pipe[2];
    if (::pipe2(error_pipe, O_CLOEXEC) != 0) throw Error(fmt::format("pipe: {}", std::strerror(errno)));
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) throw Error(fmt::format("fork: {}", std::strerror(errno)));
    if (pid == 0) {
        ::close(error_pipe[0]);
        if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
            const int e = errno;
            (void)!::write(error_pipe[1], &e, sizeof e);
            _exit(127);
        }
        for (const auto& [name, value] : spec.env) ::setenv(name.c_str(), value.c_str(), 1);
        if (spec.stdout_file) redirect_or_die(*spec.stdout_file, STDOUT_FILENO);
        else if (spec.stdout_to_stderr) ::dup2(STDERR_FILENO, STDOUT_FILENO);
        if (spec.stderr_file) redirect_or_die(*spec.stderr_file, STDERR_FILENO);
        ::execvp(argv[0], argv.data());
        const int e = errno;
        (void)!::write(error_pipe[1], &e, sizeof e);
        _exit(127);
    }
    ::close(error_pipe[1]);
    int child_errno = 0;
    const bool exec_failed = ::read(error_pipe[0], &child_errno, sizeof child_errno) == sizeof child_errno;
    ::close(error_pipe[0]);
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0)
        if (errno != EINTR) throw Error(fmt::format("wait4: {}", std::strerror(errno)));
    const auto end = std::chrono::steady_clock::now();
    if (exec_failed)
        throw Error(fmt::format("cannot run {} (in {}): {}", spec.argv[0], spec.cwd.empty() ? "." : spec.cwd.string(),
                                std::strerror(child_errno)));
    RunResult result;
    result.wall_s = std::chrono::duration<double>(end - start).count();
    result.max_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

std::string shell_words(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& word : argv) {
        if (!out.empty()) out += ' ';
        if (!word.empty() && word.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos) out += word;
        else {
            out += '\'';
            for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
            out += '\'';
        }
    }
    return out;
}

} // namespace memopt::reports::study
