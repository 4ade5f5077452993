#include "profiler/record/launcher.h"

#include "common/error.h"
#include "common/runner.h"
#include "common/write_all.h"
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/format.h"
#include "profiler/trace/trace_files.h"
#include "profiler/record/signal_relay.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <optional>
#include <unistd.h>

namespace memopt::recorder {
namespace {

namespace fs = std::filesystem;

// A high descriptor number, unlikely to be taken by the program (inherited across exec).
constexpr int kTraceDescriptor = 987;

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

// The traced command: the trace on kTraceDescriptor, the tracer preloaded, its settings in
// the environment; streams, cwd and signal dispositions are memopt's (signal_relay.h).
runner::Command traced_command(const RecordOptions& options, int fd) {
    runner::Command command;
    command.argv = options.command;
    command.keep_fds = {{fd, kTraceDescriptor}};
    command.pid_variable = trace::kEnvRootPid; // the pid that writes TRACE itself
    command.env = {
        {trace::kEnvTracePath, fs::absolute(options.output).lexically_normal().string()},
        {trace::kEnvTraceFd, std::to_string(kTraceDescriptor)},
        {trace::kEnvStackBytes, std::to_string(options.stack_sample_bytes)},
        {trace::kEnvIntervalMs, std::to_string(options.interval_ms)},
        {"LD_PRELOAD", prepend_path("LD_PRELOAD", options.preload_library.string())},
    };
    if (options.stack_depth != 0) command.env[trace::kEnvStackDepth] = std::to_string(options.stack_depth);
    if (!options.python_dir.empty()) command.env["PYTHONPATH"] = prepend_path("PYTHONPATH", options.python_dir.string());
    return command;
}

runner::Outcome run_traced(const RecordOptions& options, int fd) {
    SignalRelay relay;
    std::optional<runner::Process> process;
    try {
        process.emplace(traced_command(options, fd));
    } catch (const Error&) {
        std::error_code ec;
        fs::remove(options.output, ec); // nothing ran: leave no trace file behind
        throw;
    }
    relay.attach(process->pid());
    if (options.on_start) options.on_start(process->pid());
    process->wait_until_ended();
    relay.detach();
    return process->reap();
}

void append_exit_status(int fd, RecordResult& result, const fs::path& path) {
    trace::ChunkBuilder exit_chunk(0, 0);
    exit_chunk.extended(trace::ExtendedType::kExitStatus)
        .varint(static_cast<std::uint64_t>(result.exit_code))
        .varint(static_cast<std::uint64_t>(result.wall_seconds * 1e9))
        .varint(result.max_rss_kib)
        .byte(result.signaled ? 1 : 0);
    try {
        write_all(fd, exit_chunk.finish(), path);
    } catch (const Error& e) {
        // The command ran; a full disk must not replace its status with ours.
        result.trace_warning = e.what();
    }
}

} // namespace

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
    if (runner::find_executable(options.command.front()).empty())
        throw Error(fmt::format("command '{}' not found or not executable", options.command.front()));
    if (!fs::exists(options.preload_library))
        throw Error(fmt::format("preload library {} not found", options.preload_library));
    const fs::path dir = options.output.parent_path().empty() ? fs::path(".") : options.output.parent_path();
    if (!fs::is_directory(dir)) throw Error(fmt::format("output directory {} does not exist", dir));
    if (::access(dir.c_str(), W_OK) != 0) throw Error(fmt::format("output directory {} is not writable", dir));

    const int fd = create_trace(options);
    runner::Outcome outcome;
    try {
        outcome = run_traced(options, fd);
    } catch (...) {
        ::close(fd);
        throw;
    }
    RecordResult result;
    result.signaled = outcome.signal != 0;
    result.exit_code = outcome.status();
    result.wall_seconds = outcome.wall_s;
    result.max_rss_kib = outcome.peak_rss_bytes / 1024;
    append_exit_status(fd, result, options.output);
    ::close(fd);
    result.child_traces = trace::child_trace_files(options.output);
    return result;
}

} // namespace memopt::recorder
