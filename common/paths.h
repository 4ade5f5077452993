#pragma once
#include <filesystem>
#include <string>

namespace memopt {

// Directory holding the running `memopt` executable (/proc/self/exe), used to find the
// preload library and the Python package both in build/ and after `cmake --install`.
std::filesystem::path self_directory();

// First existing candidate among paths relative to self_directory(); throws memopt::Error
// naming `what` when none exists.
std::filesystem::path find_beside_self(const std::string& what,
                                       std::initializer_list<const char*> relative_candidates);

// Directory that contains the `memopt` Python package (python/ in the source tree, or the
// site-packages directory it was installed into, cmake/python_package.cmake). Put it on
// PYTHONPATH for traced/probed scripts.
std::filesystem::path python_package_dir();

} // namespace memopt
