#include "common/write_all.h"

#include "common/error.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <unistd.h>

namespace memopt {

void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& path) {
    const auto* bytes = static_cast<const char*>(data);
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd, bytes + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int saved = n < 0 ? errno : ENOSPC;
            throw Error(fmt::format("cannot write {}: {}", path.string(), std::strerror(saved)));
        }
        done += static_cast<std::size_t>(n);
    }
}

} // namespace memopt
