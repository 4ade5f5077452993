#include "common/input_file.h"

#include "common/error.h"
#include "common/sizes.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memopt {

InputFile::InputFile(const std::filesystem::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) {
        if (errno == ENOENT) throw Error(fmt::format("{} not found", path));
        throw Error(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    }
    struct stat info {};
    if (::fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode)) {
        const bool directory = S_ISDIR(info.st_mode);
        ::close(fd_);
        throw Error(fmt::format("{} is {}", path, directory ? "a directory" : "not a regular file"));
    }
    size_ = static_cast<std::uint64_t>(info.st_size);
}

InputFile::~InputFile() {
    if (fd_ >= 0) ::close(fd_);
}

std::string InputFile::read_up_to(std::size_t bytes) {
    std::string text;
    char buffer[65536];
    while (text.size() < bytes) {
        const ssize_t n = ::read(fd_, buffer, std::min(sizeof buffer, bytes - text.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error(fmt::format("cannot read {}: {}", path_, std::strerror(errno)));
        if (n == 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

std::string InputFile::head(std::size_t bytes) {
    if (::lseek(fd_, 0, SEEK_SET) != 0) throw Error(fmt::format("cannot read {}: {}", path_, std::strerror(errno)));
    return read_up_to(bytes);
}

std::string InputFile::read_all(std::size_t max_bytes, std::string_view what) {
    const auto too_large = [&] {
        return Error(fmt::format("{} is larger than {}, the limit for {}", path_,
                                 format_size(static_cast<double>(max_bytes)), what));
    };
    if (size_ > max_bytes) throw too_large();
    std::string text = head(max_bytes + 1); // +1: a file that grew since fstat is caught too
    if (text.size() > max_bytes) throw too_large();
    return text;
}

void check_input_file(const std::filesystem::path& path) { InputFile file(path); }

} // namespace memopt
