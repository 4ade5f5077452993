#include "common/output_file.h"

#include "common/error.h"
#include "common/write_all.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memopt {
namespace {

namespace fs = std::filesystem;

const char* file_kind(mode_t mode) {
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    return "not a regular file";
}

fs::path directory_of(const fs::path& path) {
    return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

// The path itself (lstat: a link is looked at, not followed). Returns false when absent.
bool existing_regular(const fs::path& path, bool force) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
        if (errno == ENOENT) return false;
        throw Error(fmt::format("cannot use output {}: {}", path, std::strerror(errno)));
    }
    if (!S_ISREG(info.st_mode))
        throw Error(fmt::format("output {} is {}; not writing there", path, file_kind(info.st_mode)));
    if (!force) throw Error(fmt::format("output {} already exists (use --force to replace it)", path));
    return true;
}

// Moves the finished temporary into place; without `force` never over an existing file.
void move_into_place(const fs::path& temporary, const fs::path& path, bool force) {
    if (force) {
        existing_regular(path, true); // a link or FIFO planted since the check is refused
        if (::rename(temporary.c_str(), path.c_str()) != 0)
            throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
        return;
    }
    // link() fails with EEXIST instead of replacing; works on every local file system.
    if (::link(temporary.c_str(), path.c_str()) != 0) {
        if (errno == EEXIST) existing_regular(path, false); // throws the usual message
        throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    }
    ::unlink(temporary.c_str());
}

} // namespace

void check_output_file(const fs::path& path, bool force) {
    if (path.empty()) throw Error("empty output path");
    existing_regular(path, force);
    const fs::path dir = directory_of(path);
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
        throw Error(fmt::format("output directory {} does not exist", dir));
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        throw Error(fmt::format("output directory {} is not writable", dir));
}

void write_output_file(const fs::path& path, std::string_view text, bool force, mode_t mode) {
    check_output_file(path, force);
    std::string pattern = (directory_of(path) / fmt::format(".{}.memopt-XXXXXX", path.filename().string())).string();
    const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd < 0) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    const fs::path temporary = pattern;
    bool open = true;
    try {
        if (::fchmod(fd, mode) != 0)
            throw Error(fmt::format("cannot set the mode of {}: {}", path, std::strerror(errno)));
        write_all(fd, text.data(), text.size(), path);
        open = false;
        if (::close(fd) != 0) {
            const int saved = errno;
            throw Error(fmt::format("cannot write {}: {}", path, std::strerror(saved)));
        }
        move_into_place(temporary, path, force);
    } catch (...) {
        if (open) ::close(fd);
        ::unlink(temporary.c_str());
        throw;
    }
}

} // namespace memopt
