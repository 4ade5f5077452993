#pragma once
// Frames of the import machinery: importlib's bootstrap (frozen in 3.11: "<frozen
// importlib._bootstrap>", "<frozen importlib._bootstrap_external>", "<frozen zipimport>"),
// importlib/__init__.py (import_module) and the probe's own wrapper of _find_and_load
// (python/memopt/_probe.py). They stand between an `import` line and the module body it runs,
// 6-8 frames per nested import, and say nothing about who asked for the memory: the sampler
// leaves them out of its stacks, and the top-lines grouping passes over them.
#include <string>
#include <string_view>

namespace memopt::probe {

// The file of the probe's Python side, whose frames count as machinery. Set before the
// script runs.
void set_probe_python_file(std::string path);

bool is_import_machinery(std::string_view filename) noexcept;

} // namespace memopt::probe
