#include "profiler/probe/process_stats.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace memopt::probe {

namespace {
const auto kStart = std::chrono::steady_clock::now();
const long kPageSize = ::sysconf(_SC_PAGESIZE);

int statm_fd() noexcept {
    static const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    return fd;
}
} // namespace

double now_s() noexcept {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - kStart).count();
}

std::int64_t rss_bytes() noexcept {
    const int fd = statm_fd();
    if (fd < 0) return 0;
    char buffer[128];
    const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    if (n <= 0) return 0;
    buffer[n] = '\0';
    // "size resident shared ..." in pages
    char* end = nullptr;
    std::strtoll(buffer, &end, 10);
    const long long resident = std::strtoll(end, nullptr, 10);
    return static_cast<std::int64_t>(resident) * kPageSize;
}

std::int64_t vmhwm_bytes() noexcept {
    std::FILE* file = std::fopen("/proc/self/status", "re");
    if (!file) return 0;
    char line[256];
    std::int64_t kib = 0;
    while (std::fgets(line, sizeof line, file)) {
        if (std::strncmp(line, "VmHWM:", 6) == 0) {
            kib = std::strtoll(line + 6, nullptr, 10);
            break;
        }
    }
    std::fclose(file);
    return kib * 1024;
}

} // namespace memopt::probe
