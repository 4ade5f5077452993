#include "profiler/record/launcher.h"

#include "common/error.h"
#include "common/write_all.h"
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/format.h"
#include "profiler/trace/trace_files.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace memopt::recorder {
namespace {

namespace fs = std::filesystem;

// A high descriptor number, unlikely to be taken by the program (inherited across exec).
constexpr int kTraceDescriptor = 987;

volatile sig_atomic_t g_child_pid = 0;

void forward_signal(int signal) {
    if (g_child_pid > 0) ::kill(g_child_pid, signal);
}

void write_all(int fd, const std::vector<std::uint8_t>& bytes, const fs::path& path) {
    memopt::write_all(fd, bytes.data(), bytes.size(), path);
}

int create_trace(const RecordOptions& options) {
    const fs::path& path = options.output;
    std::error_code ec;
    const auto status = fs::symlink_status(path, ec);
    if (fs::exists(status)) {
        if (!options.force) throw Error(fmt::format("trace {} already exists (use --force to replace it)", path));
        if (!fs::is_regular_file(status))
            throw Error(fmt::format("{} exists and is not a regular file; not replacing it", path));
        fs::remove(path, ec);
    }
    const auto stale = trace::child_trace_files(path);
    if (!stale.empty()) {
        if (!options.force)
            throw Error(fmt::format("child traces of an earlier run exist ({} ...; use --force to replace them)", stale.front()));
        for (const auto& file : stale) fs::remove(file, ec);
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw Error(fmt::format("cannot create trace {}: {}", path, std::strerror(errno)));
    try {
        write_all(fd, trace::file_header(), path);
        trace::ChunkBuilder command(0, 0);
        command.extended(trace::ExtendedType::kCommand).varint(options.command.size());
        for (const auto& word : options.command) command.text(word);
        write_all(fd, command.finish(), path);
    } catch (...) {
        ::close(fd);
        fs::remove(path, ec);
        throw;
    }
    return fd;
}

std::string prepend_path(const char* variable, const std::string& entry) {
    const char* current = std::getenv(variable);
    if (!current || !*current) return entry;
    return entry + ":" + current;
}

[[noreturn]] void exec_child(const RecordOptions& options, int fd) {
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    if (::dup2(fd, kTraceDescriptor) < 0) {
        std::fprintf(stderr, "memopt record: cannot prepare the trace descriptor\n");
        ::_exit(127);
    }
    const std::string absolute = fs::absolute(options.output).lexically_normal().string();
    ::setenv(trace::kEnvTracePath, absolute.c_str(), 1);
    ::setenv(trace::kEnvTraceFd, std::to_string(kTraceDescriptor).c_str(), 1);
    ::setenv(trace::kEnvRootPid, std::to_string(::getpid()).c_str(), 1);
    ::setenv(trace::kEnvStackBytes, std::to_string(options.stack_sample_bytes).c_str(), 1);
    ::setenv(trace::kEnvIntervalMs, std::to_string(options.interval_ms).c_str(), 1);
    ::setenv("LD_PRELOAD", prepend_path("LD_PRELOAD", options.preload_library.string()).c_str(), 1);
    if (!options.python_dir.empty())
        ::setenv("PYTHONPATH", prepend_path("PYTHONPATH", options.python_dir.string()).c_str(), 1);
    std::vector<char*> argv;
    for (const auto& word : options.command) argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "memopt record: cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
}

} // namespace

fs::path find_executable(const std::string& name) {
    if (name.empty()) return {};
    auto runnable = [](const fs::path& p) {
        std::error_code ec;
        return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
    };
    if (name.find('/') != std::string::npos) return runnable(name) ? fs::path(name) : fs::path();
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        const fs::path candidate = fs::path(end == start ? "." : dirs.substr(start, end - start)) / name;
        if (runnable(candidate)) return candidate;
        start = end + 1;
    }
    return {};
}

fs::path default_trace_path(const std::vector<std::string>& command) {
    const std::string name = command.empty() ? "command" : fs::path(command.front()).filename().string();
    for (int attempt = 0;; ++attempt) {
        fs::path candidate = attempt == 0 ? fmt::format("memopt-{}-{}.trace", name, ::getpid())
                                          : fmt::format("memopt-{}-{}-{}.trace", name, ::getpid(), attempt);
        std::error_code ec;
        if (!fs::exists(fs::symlink_status(candidate, ec))) return candidate;
    }
}

RecordResult record(const RecordOptions& options) {
    if (options.command.empty()) throw Error("no command given (usage: memopt record [options] -- CMD ARGS...)");
    if (find_executable(options.command.front()).empty())
        throw Error(fmt::format("command '{}' not found or not executable", options.command.front()));
    if (!fs::exists(options.preload_library))
        throw Error(fmt::format("preload library {} not found", options.preload_library));
    const fs::path dir = options.output.parent_path().empty() ? fs::path(".") : options.output.parent_path();
    if (!fs::is_directory(dir)) throw Error(fmt::format("output directory {} does not exist", dir));
    if (::access(dir.c_str(), W_OK) != 0) throw Error(fmt::format("output directory {} is not writable", dir));

    const int fd = create_trace(options);
    const auto start = std::chrono::steady_clock::now();
    const pid_t child = ::fork();
    if (child < 0) {
        ::close(fd);
        throw Error(fmt::format("cannot start {}: {}", options.command.front(), std::strerror(errno)));
    }
    if (child == 0) exec_child(options, fd);

    g_child_pid = child;
    struct sigaction forward {};
    forward.sa_handler = forward_signal;
    sigemptyset(&forward.sa_mask);
    struct sigaction old_int {}, old_term {}, old_hup {};
    ::sigaction(SIGINT, &forward, &old_int);
    ::sigaction(SIGTERM, &forward, &old_term);
    ::sigaction(SIGHUP, &forward, &old_hup);

    int status = 0;
    rusage usage{};
    while (::wait4(child, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    const auto wall = std::chrono::steady_clock::now() - start;
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    ::sigaction(SIGHUP, &old_hup, nullptr);
    g_child_pid = 0;

    RecordResult result;
    result.signaled = WIFSIGNALED(status);
    result.exit_code = result.signaled ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    result.wall_seconds = std::chrono::duration<double>(wall).count();
    result.max_rss_kib = static_cast<std::uint64_t>(usage.ru_maxrss);

    trace::ChunkBuilder exit_chunk(0, 0);
    exit_chunk.extended(trace::ExtendedType::kExitStatus)
        .varint(static_cast<std::uint64_t>(result.exit_code))
        .varint(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count()))
        .varint(result.max_rss_kib)
        .byte(result.signaled ? 1 : 0);
    try {
        write_all(fd, exit_chunk.finish(), options.output);
    } catch (const Error& e) {
        // The command ran; a full disk must not replace its status with ours.
        result.trace_warning = e.what();
    }
    ::close(fd);
    result.child_traces = trace::child_trace_files(options.output);
    return result;
}

} // namespace memopt::recorder
