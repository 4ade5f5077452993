#include "transforms/output_dir.h"

#include "common/error.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace memopt::transforms {

namespace {

fs::path normal_target(const fs::path& target) {
    fs::path p = fs::absolute(target).lexically_normal();
    if (p.filename().empty()) p = p.parent_path(); // "out/"
    return p;
}

// Whether `target` must be created (false: it is an empty directory already).
bool check_target(const fs::path& target) {
    std::error_code ec;
    const fs::file_status link = fs::symlink_status(target, ec);
    if (fs::is_symlink(link)) throw Error(fmt::format("{}: is a symbolic link (choose another -o)", target.string()));
    if (fs::exists(link) && !fs::is_directory(link))
        throw Error(fmt::format("{}: exists and is not a directory (choose another -o)", target.string()));
    if (fs::exists(link) && !fs::is_empty(target, ec))
        throw Error(fmt::format("{}: output directory exists and is not empty (choose another -o)", target.string()));
    const fs::path parent = target.parent_path();
    if (!fs::is_directory(parent, ec)) throw Error(fmt::format("output directory {} does not exist", parent.string()));
    if (::access(parent.c_str(), W_OK) != 0) throw Error(fmt::format("output directory {} is not writable", parent.string()));
    return !fs::exists(link);
}

} // namespace

OutputDirectory::OutputDirectory(const fs::path& target) : path_(normal_target(target)) {
    if (!check_target(path_)) return;
    // mkdir, not create_directories: no parent is made, and one that appeared meanwhile is not adopted
    if (::mkdir(path_.c_str(), 0777) != 0)
        throw Error(fmt::format("cannot create {}: {}", path_.string(), std::strerror(errno)));
    created_ = true;
}

OutputDirectory::~OutputDirectory() {
    if (kept_) return;
    std::error_code ec;
    if (created_) {
        fs::remove_all(path_, ec);
        return;
    }
    std::vector<fs::path> written; // listed first: removing while iterating may skip entries
    for (const auto& entry : fs::directory_iterator(path_, ec)) written.push_back(entry.path());
    for (const fs::path& path : written) fs::remove_all(path, ec);
}

} // namespace memopt::transforms
