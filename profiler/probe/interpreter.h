#pragma once
// Starting the embedded interpreter so that the script sees what `python3 SCRIPT` shows it:
// sys.executable and sys.prefix of Debian's /usr/bin/python3, its sys.path (site,
// dist-packages), the optimisation level and -X options given, and sys.argv.
#include "profiler/probe/probe.h"

namespace memopt::probe {

// Py_InitializeFromConfig with that configuration; throws memopt::Error on failure.
void start_interpreter(const ProbeOptions& options);
// Py_FinalizeEx; returns its status (non-zero when flushing stdout failed).
int stop_interpreter();

const char* python_executable();

} // namespace memopt::probe
