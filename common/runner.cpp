#include "common/runner.h"

#include "common/error.h"
#include "common/paths.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace memopt::runner {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Closes a descriptor at the end of a scope unless released.
struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int value) : fd(value) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
    int release() { return std::exchange(fd, -1); }
};

fs::path spawn_helper() {
    static const fs::path path = [] {
        std::error_code ec;
        for (const char* candidate : {"memopt-spawn", "../lib/memopt/memopt-spawn"}) {
            const fs::path beside = (self_directory() / candidate).lexically_normal();
            if (fs::exists(beside, ec)) return beside;
        }
        const fs::path built = MEMOPT_BUILD_SPAWN_HELPER;
        if (fs::exists(built, ec)) return built;
        throw Error(fmt::format("cannot find memopt-spawn next to {} (is the build complete?)", self_directory()));
    }();
    return path;
}

std::vector<std::string> environment(const Command& command) {
    std::vector<std::string> out;
    if (!command.replace_env)
        for (char** entry = environ; *entry; ++entry) {
            const std::string text = *entry;
            if (!command.env.count(text.substr(0, text.find('=')))) out.push_back(text);
        }
    for (const auto& [name, value] : command.env) out.push_back(name + "=" + value);
    return out;
}

std::vector<char*> pointers(std::vector<std::string>& words) {
    std::vector<char*> out;
    for (auto& word : words) out.push_back(word.data());
    out.push_back(nullptr);
    return out;
}

int open_redirect(const Redirect& redirect, bool input) {
    const char* path = redirect.kind == Redirect::Kind::null ? "/dev/null" : redirect.path.c_str();
    const int flags = input ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC;
    const int fd = ::open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    return fd;
}

// posix_spawn file actions with the descriptors they need kept open until the spawn.
class Actions {
  public:
    Actions() { posix_spawn_file_actions_init(&actions_); }
    ~Actions() {
        close_opened();
        posix_spawn_file_actions_destroy(&actions_);
    }
    Actions(const Actions&) = delete;
    Actions& operator=(const Actions&) = delete;
    posix_spawn_file_actions_t* get() { return &actions_; }

    void dup(int from, int to) { posix_spawn_file_actions_adddup2(&actions_, from, to); }
    // Returns the read end of a capture pipe, or -1.
    int stream(const Redirect& redirect, int target) {
        using Kind = Redirect::Kind;
        if (redirect.kind == Kind::inherit || redirect.kind == Kind::descriptor) return -1;
        if (redirect.kind == Kind::capture) {
            int ends[2];
            if (::pipe2(ends, O_CLOEXEC) != 0) throw Error(fmt::format("pipe: {}", std::strerror(errno)));
            opened_.push_back(ends[1]);
            dup(ends[1], target);
            return ends[0];
        }
        opened_.push_back(open_redirect(redirect, target == STDIN_FILENO));
        dup(opened_.back(), target);
        return -1;
    }
    void close_opened() {
        for (int fd : opened_) ::close(fd);
        opened_.clear();
    }

  private:
    posix_spawn_file_actions_t actions_;
    std::vector<int> opened_; // our ends of what the program gets
};

// Descriptor redirects first: they name memopt's fds 0-2 before files replace them.
void add_descriptor_redirects(Actions& actions, const Command& command) {
    const std::array<std::pair<const Redirect*, int>, 3> streams{
        {{&command.in, STDIN_FILENO}, {&command.out, STDOUT_FILENO}, {&command.err, STDERR_FILENO}}};
    for (const auto& [redirect, target] : streams)
        if (redirect->kind == Redirect::Kind::descriptor) actions.dup(redirect->fd, target);
}

void check_command(const Command& command, fs::path& program) {
    if (command.argv.empty()) throw Error("internal error: empty command");
    std::error_code ec;
    if (!command.cwd.empty() && !fs::is_directory(command.cwd, ec))
        throw Error(fmt::format("cannot run {}: directory {} does not exist", command.argv[0], command.cwd));
    if (command.in.kind == Redirect::Kind::capture) throw Error("internal error: stdin cannot be captured");
    program = find_executable(command.argv[0], command.cwd);
    if (program.empty()) throw Error(fmt::format("command '{}' not found or not executable", command.argv[0]));
}

struct Report {
    pid_t pid = -1;
    int exec_errno = 0;
    int clone_errno = 0;
};

Report read_report(int fd) {
    Report report;
    int message[2];
    for (;;) {
        const ssize_t n = ::read(fd, message, sizeof message);
        if (n < 0 && errno == EINTR) continue;
        if (n != sizeof message) break;
        if (message[0] == 'P') report.pid = message[1];
        if (message[0] == 'E') report.exec_errno = message[1];
        if (message[0] == 'F') report.clone_errno = message[1];
    }
    return report;
}

int wait_status(pid_t pid, rusage* usage) {
    int status = 0;
    while (::wait4(pid, &status, 0, usage) < 0)
        if (errno != EINTR) throw Error(fmt::format("wait4: {}", std::strerror(errno)));
    return status;
}

// The pipe on which the helper reports; its write end above every descriptor the program
// gets, so that no redirect lands on it.
void report_pipe(const Command& command, Fd& read_end, Fd& write_end) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw Error(fmt::format("pipe: {}", std::strerror(errno)));
    read_end.fd = ends[0];
    write_end.fd = ends[1];
    int top = STDERR_FILENO;
    for (const auto& kept : command.keep_fds) top = std::max(top, kept.second);
    if (write_end.fd > top) return;
    Fd moved(::fcntl(write_end.fd, F_DUPFD_CLOEXEC, top + 1));
    if (moved.fd < 0) throw Error(fmt::format("fcntl: {}", std::strerror(errno)));
    std::swap(write_end.fd, moved.fd);
}

// Whether memopt was given SIGCHLD ignored. The kernel would then reap our children before
// wait4 could read their status, so memopt takes the default for itself (from then on) and
// the helper gives the program the SIG_IGN it would have inherited untraced.
bool program_ignores_sigchld() {
    static std::atomic<bool> ignored{false};
    struct sigaction current {};
    ::sigaction(SIGCHLD, nullptr, &current);
    if (current.sa_handler == SIG_IGN || (current.sa_flags & SA_NOCLDWAIT)) {
        struct sigaction standard {};
        standard.sa_handler = SIG_DFL;
        sigemptyset(&standard.sa_mask);
        ::sigaction(SIGCHLD, &standard, nullptr);
        ignored = true;
    }
    return ignored;
}

// posix_spawn of memopt-spawn with the program's environment, descriptors and group.
pid_t start_helper(const Command& command, const fs::path& program, Actions& actions, int report_fd) {
    actions.dup(report_fd, report_fd); // same number: clears close-on-exec for the helper
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    if (command.own_process_group) {
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attributes, 0);
    }
    std::vector<std::string> words{"memopt-spawn", std::to_string(report_fd), program_ignores_sigchld() ? "c" : "-",
                                   command.pid_variable, program.string()};
    words.insert(words.end(), command.argv.begin(), command.argv.end());
    std::vector<std::string> env = environment(command);
    const fs::path helper = spawn_helper();
    pid_t helper_pid = -1;
    const int error = ::posix_spawn(&helper_pid, helper.c_str(), actions.get(), &attributes, pointers(words).data(),
                                    pointers(env).data());
    posix_spawnattr_destroy(&attributes);
    if (error != 0) throw Error(fmt::format("cannot start {}: {}", helper, std::strerror(error)));
    return helper_pid;
}

// Starts the program as our own child (through the helper); returns its pid.
pid_t spawn_program(const Command& command, const fs::path& program, Actions& actions) {
    Fd read_end, write_end;
    report_pipe(command, read_end, write_end);
    const pid_t helper = start_helper(command, program, actions, write_end.fd);
    actions.close_opened();
    write_end.reset();
    const Report report = read_report(read_end.fd);
    wait_status(helper, nullptr);
    if (report.exec_errno) {
        if (report.pid > 0) wait_status(report.pid, nullptr);
        throw Error(fmt::format("cannot run {}: {}", command.argv[0], std::strerror(report.exec_errno)));
    }
    if (report.pid <= 0)
        throw Error(fmt::format("cannot start {}: {}", command.argv[0],
                                report.clone_errno ? std::strerror(report.clone_errno) : "memopt-spawn failed"));
    return report.pid;
}

bool read_some(int& fd, std::string& into) {
    char buffer[65536];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
        into.append(buffer, static_cast<std::size_t>(n));
        return true;
    }
    if (n < 0 && errno == EINTR) return true;
    ::close(fd);
    fd = -1;
    return false;
}

} // namespace

fs::path find_executable(const std::string& name, const fs::path& cwd) {
    if (name.empty()) return {};
    auto runnable = [](const fs::path& p) {
        std::error_code ec;
        return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
    };
    if (name.find('/') != std::string::npos) {
        const fs::path path = cwd.empty() || fs::path(name).is_absolute() ? fs::path(name) : cwd / name;
        return runnable(path) ? fs::absolute(path) : fs::path();
    }
    const char* path = std::getenv("PATH");
    const std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        const fs::path candidate = fs::path(end == start ? "." : dirs.substr(start, end - start)) / name;
        if (runnable(candidate)) return fs::absolute(candidate);
        start = end + 1;
    }
    return {};
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

Process::Process(const Command& command) : command_(command) {
    fs::path program;
    check_command(command_, program);
    Actions actions;
    if (!command_.cwd.empty()) posix_spawn_file_actions_addchdir_np(actions.get(), command_.cwd.c_str());
    add_descriptor_redirects(actions, command_);
    actions.stream(command_.in, STDIN_FILENO);
    Fd out(actions.stream(command_.out, STDOUT_FILENO));
    Fd err(actions.stream(command_.err, STDERR_FILENO));
    for (const auto& [from, to] : command_.keep_fds) actions.dup(from, to);
    start_ = Clock::now();
    pid_ = spawn_program(command_, program, actions);
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0) {
        const int code = errno;
        ::kill(pid_, SIGKILL);
        wait_status(pid_, nullptr);
        reaped_ = true;
        throw Error(fmt::format("pidfd_open for {}: {}", command_.argv[0], std::strerror(code)));
    }
    out_pipe_ = out.release();
    err_pipe_ = err.release();
}

Process::~Process() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        try {
            wait_status(pid_, nullptr);
        } catch (const Error&) {
        }
    }
    for (int fd : {pidfd_, out_pipe_, err_pipe_})
        if (fd >= 0) ::close(fd);
}

void Process::kill_on_timeout() {
    outcome_.timed_out = true;
    // The group is the helper's pid, kept alive by the program: no other process can have it.
    const pid_t group = ::getpgid(pid_);
    ::kill(command_.own_process_group && group > 0 ? -group : pid_, SIGKILL);
}

// Once the program has ended: what is left in the capture pipes, without waiting for EOF (a
// grandchild may keep a pipe open).
void Process::read_remaining() {
    pollfd fds[2] = {{out_pipe_, POLLIN, 0}, {err_pipe_, POLLIN, 0}};
    while ((out_pipe_ >= 0 || err_pipe_ >= 0) && ::poll(fds, 2, 0) > 0) {
        if (fds[0].revents && !read_some(out_pipe_, outcome_.out)) fds[0].fd = -1;
        if (fds[1].revents && !read_some(err_pipe_, outcome_.err)) fds[1].fd = -1;
    }
}

void Process::wait_until_ended() {
    if (ended_) return;
    const auto deadline = command_.timeout ? start_ + *command_.timeout : Clock::time_point::max();
    while (!ended_) {
        int wait_ms = -1;
        if (command_.timeout && !outcome_.timed_out) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
        }
        pollfd fds[3] = {{pidfd_, POLLIN, 0}, {out_pipe_, POLLIN, 0}, {err_pipe_, POLLIN, 0}};
        const int ready = ::poll(fds, 3, wait_ms);
        if (ready < 0 && errno != EINTR) throw Error(fmt::format("poll: {}", std::strerror(errno)));
        if (ready == 0 && wait_ms >= 0) kill_on_timeout();
        if (ready <= 0) continue;
        if (fds[1].revents) read_some(out_pipe_, outcome_.out);
        if (fds[2].revents) read_some(err_pipe_, outcome_.err);
        ended_ = fds[0].revents != 0;
    }
    outcome_.wall_s = std::chrono::duration<double>(Clock::now() - start_).count();
    read_remaining();
}

Outcome Process::reap() {
    if (reaped_) throw Error("internal error: a process reaped twice");
    wait_until_ended();
    rusage usage{};
    const int status = wait_status(pid_, &usage);
    reaped_ = true;
    outcome_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    outcome_.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    outcome_.peak_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
    return std::move(outcome_);
}

Outcome run(const Command& command) {
    Process process(command);
    return process.reap();
}

} // namespace memopt::runner
