#include "profiler/probe/import_frames.h"

namespace memopt::probe {

namespace {

std::string g_probe_file = "<memopt-probe>";

} // namespace

void set_probe_python_file(std::string path) {
    g_probe_file = std::move(path);
}

bool is_import_machinery(std::string_view filename) noexcept {
    if (filename.starts_with("<frozen "))
        return filename.starts_with("<frozen importlib.") || filename == "<frozen zipimport>";
    return filename == g_probe_file || filename.ends_with("/importlib/__init__.py") ||
           filename.ends_with("/importlib/_bootstrap.py") ||
           filename.ends_with("/importlib/_bootstrap_external.py");
}

} // namespace memopt::probe
