#include "profiler/preload/descriptors.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memopt::preload {

int move_descriptor_high(int fd) noexcept {
    rlimit limit{};
    const rlim_t soft = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 1024;
    // 1000 when the limit leaves room above it; otherwise the upper half of what is allowed.
    const rlim_t floors[] = {1000, soft - soft / 4, soft / 2};
    for (const rlim_t floor : floors) {
        if (floor < 3 || floor >= soft) continue;
        const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, static_cast<int>(floor));
        if (high >= 0) {
            ::close(fd);
            return high;
        }
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

FileIdentity identity_of(int fd) noexcept {
    struct stat status{};
    if (fd < 0 || ::fstat(fd, &status) != 0) return {};
    return {status.st_dev, status.st_ino, true};
}

bool descriptor_is(int fd, const FileIdentity& identity) noexcept {
    const FileIdentity now = identity_of(fd);
    return now.known && identity.known && now.device == identity.device && now.inode == identity.inode;
}

char* put_decimal(char* out, unsigned long value) noexcept {
    char digits[24];
    int count = 0;
    do digits[count++] = static_cast<char>('0' + value % 10);
    while (value /= 10);
    while (count) *out++ = digits[--count];
    return out;
}

} // namespace memopt::preload
