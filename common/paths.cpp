#include "common/paths.h"

#include "common/error.h"

#include <fmt/format.h>
#include <fmt/std.h>
#include <unistd.h>

namespace memopt {

std::filesystem::path self_directory() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw Error("cannot locate the memopt executable through /proc/self/exe");
    return exe.parent_path();
}

std::filesystem::path find_beside_self(const std::string& what,
                                       std::initializer_list<const char*> relative_candidates) {
    const auto base = self_directory();
    for (const char* candidate : relative_candidates) {
        auto path = (base / candidate).lexically_normal();
        if (std::filesystem::exists(path)) return path;
    }
    throw Error(fmt::format("cannot find {} next to {} (is the build complete?)", what, base));
}

std::filesystem::path python_package_dir() {
    const auto installed = (self_directory() / "../share/memopt/python").lexically_normal();
    if (std::filesystem::exists(installed / "memopt")) return installed;
    const std::filesystem::path source = MEMOPT_SOURCE_PYTHON_DIR;
    if (std::filesystem::exists(source / "memopt")) return source;
    throw Error("cannot find the memopt Python package (python/memopt)");
}

void check_output_path(const std::filesystem::path& path, bool force) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw Error(fmt::format("output {} is a directory", path));
    if (std::filesystem::exists(std::filesystem::symlink_status(path, ec)) && !force)
        throw Error(fmt::format("output {} already exists (use --force to overwrite)", path));
    auto dir = path.parent_path();
    if (dir.empty()) dir = ".";
    if (!std::filesystem::is_directory(dir, ec))
        throw Error(fmt::format("output directory {} does not exist", dir));
    if (::access(dir.c_str(), W_OK) != 0)
        throw Error(fmt::format("output directory {} is not writable", dir));
}

} // namespace memopt
