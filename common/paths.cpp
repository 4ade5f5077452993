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
    // Installed: the site-packages directory of cmake/python_package.cmake, seen from bin/.
    const auto installed = (self_directory() / MEMOPT_PYTHONDIR_FROM_BIN).lexically_normal();
    if (std::filesystem::exists(installed / "memopt")) return installed;
    const std::filesystem::path source = MEMOPT_SOURCE_PYTHON_DIR;
    if (std::filesystem::exists(source / "memopt")) return source;
    throw Error("cannot find the memopt Python package (python/memopt)");
}

} // namespace memopt
