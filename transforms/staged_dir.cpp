#include "transforms/staged_dir.h"

#include "common/error.h"

#include <fmt/format.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace memopt::transforms {

namespace {

fs::path normal_target(const fs::path& target) {
    fs::path p = fs::absolute(target).lexically_normal();
    if (p.filename().empty()) p = p.parent_path(); // "out/"
    return p;
}

void check_target(const fs::path& target) {
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
}

// A directory beside `target` that did not exist before (created with the umask's mode).
fs::path fresh_sibling(const fs::path& target) {
    const std::string stem = "." + target.filename().string() + ".partial-" + std::to_string(::getpid());
    for (int n = 0; n < 1000; ++n) {
        const fs::path candidate = target.parent_path() / (stem + "-" + std::to_string(n));
        std::error_code ec;
        if (fs::create_directory(candidate, ec)) return candidate;
        if (ec) throw Error(fmt::format("cannot create {}: {}", candidate.string(), ec.message()));
    }
    throw Error(fmt::format("cannot create a working directory beside {}", target.string()));
}

} // namespace

StagedDirectory::StagedDirectory(const fs::path& target) : target_(normal_target(target)) {
    check_target(target_);
    work_ = fresh_sibling(target_);
}

StagedDirectory::~StagedDirectory() {
    if (published_) return;
    std::error_code ec;
    fs::remove_all(work_, ec);
}

fs::path StagedDirectory::published(const fs::path& path) const { return target_ / path.lexically_relative(work_); }

void StagedDirectory::publish() {
    std::error_code ec;
    try {
        if (!fs::exists(fs::symlink_status(target_, ec))) {
            fs::rename(work_, target_);
        } else {
            check_target(target_); // still an empty directory of the user's: fill it
            for (const auto& entry : fs::directory_iterator(work_)) fs::rename(entry.path(), target_ / entry.path().filename());
            fs::remove(work_);
        }
    } catch (const fs::filesystem_error& e) {
        throw Error(fmt::format("cannot move the output into {}: {}", target_.string(), e.code().message()));
    }
    published_ = true;
}

} // namespace memopt::transforms
