#include "examples/activity/study/process.h"

#include "common/error.h"

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <fstream>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace memopt::reports::study {

RunResult run_program(const RunSpec& spec) {
    if (spec.argv.empty()) throw Error("run_program: empty command");
    // ru_maxrss keeps the high-water mark of the image before exec too, i.e. of the forked
    // copy of this process. /usr/bin/time is a small process: the program it forks starts
    // from its few hundred KB, as the figures in docs/activity.md were measured.
    std::vector<std::string> words = spec.argv;
    std::filesystem::path rss_file;
    if (spec.measure_peak && ::access("/usr/bin/time", X_OK) == 0) {
        static int counter = 0;
        rss_file = std::filesystem::temp_directory_path() / fmt::format("memopt-study-{}-{}.rss", ::getpid(), ++counter);
        words.insert(words.begin(), {"/usr/bin/time", "-f", "%M", "-o", rss_file.string()});
    }
    std::vector<char*> argv;
    for (const auto& word : words) argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    // The child's environment: ours with spec.env added or replaced.
    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry; ++entry) {
        const std::string text = *entry;
        if (!spec.env.count(text.substr(0, text.find('=')))) env_strings.push_back(text);
    }
    for (const auto& [name, value] : spec.env) env_strings.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& text : env_strings) envp.push_back(text.data());
    envp.push_back(nullptr);

    // posix_spawn (clone with CLONE_VM|CLONE_VFORK in glibc), not fork: a forked copy of
    // this process would count towards the child's ru_maxrss before exec replaces it.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
    if (spec.stdout_file)
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, spec.stdout_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    else if (spec.stdout_to_stderr)
        posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    if (spec.stderr_file)
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, spec.stderr_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const auto start = std::chrono::steady_clock::now();
    pid_t pid = 0;
    const int error = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0)
        throw Error(fmt::format("cannot run {} (in {}): {}", spec.argv[0], spec.cwd.empty() ? "." : spec.cwd.string(),
                                std::strerror(error)));
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0)
        if (errno != EINTR) throw Error(fmt::format("wait4: {}", std::strerror(errno)));
    const auto end = std::chrono::steady_clock::now();
    RunResult result;
    result.wall_s = std::chrono::duration<double>(end - start).count();
    result.max_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!rss_file.empty()) {
        // The last line is %M (KiB); a line before it says "Command exited with non-zero status".
        std::ifstream file(rss_file);
        std::string line, last;
        while (std::getline(file, line))
            if (!line.empty()) last = line;
        std::error_code ec;
        std::filesystem::remove(rss_file, ec);
        if (!last.empty() && std::isdigit(static_cast<unsigned char>(last[0])))
            result.max_rss_bytes = std::stoull(last) * 1024;
    }
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
