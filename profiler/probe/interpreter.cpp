#include "profiler/probe/interpreter.h"

#include "common/error.h"

#include <Python.h>
#include <fmt/format.h>
#include <string>
#include <vector>

namespace memopt::probe {

namespace {

void check(PyStatus status, PyConfig& config, const char* what) {
    if (!PyStatus_Exception(status)) return;
    std::string message = status.err_msg ? status.err_msg : "unknown error";
    PyConfig_Clear(&config);
    throw Error(fmt::format("cannot start the Python interpreter ({}): {}", what, message));
}

void set_string(PyConfig& config, wchar_t** field, const std::string& value, const char* what) {
    check(PyConfig_SetBytesString(&config, field, value.c_str()), config, what);
}

} // namespace

const char* python_executable() { return MEMOPT_PYTHON_EXECUTABLE; }

void start_interpreter(const ProbeOptions& options) {
    PyConfig config;
    PyConfig_InitPythonConfig(&config); // reads PYTHON* variables like python3 does ...
    config.parse_argv = 0;              // ... but our argv is the script's, not python's
    config.install_signal_handlers = 1;
    config.optimization_level = options.optimize;
    // The real interpreter, not a PATH shim: sys.executable, and prefix/home so that a
    // PYTHONHOME left by pyenv cannot point the stdlib elsewhere.
    set_string(config, &config.program_name, MEMOPT_PYTHON_EXECUTABLE, "program name");
    set_string(config, &config.executable, MEMOPT_PYTHON_EXECUTABLE, "executable");
    set_string(config, &config.home, MEMOPT_PYTHON_PREFIX, "home");

    std::vector<std::string> argv{options.script.string()};
    argv.insert(argv.end(), options.args.begin(), options.args.end());
    std::vector<char*> raw;
    for (auto& arg : argv) raw.push_back(arg.data());
    check(PyConfig_SetBytesArgv(&config, static_cast<Py_ssize_t>(raw.size()), raw.data()), config, "argv");

    std::vector<std::string> orig{MEMOPT_PYTHON_EXECUTABLE};
    if (options.optimize > 0) orig.push_back(options.optimize == 1 ? "-O" : "-OO");
    for (const auto& x : options.xoptions) {
        orig.push_back("-X");
        orig.push_back(x);
    }
    orig.insert(orig.end(), argv.begin(), argv.end());
    for (const auto& arg : orig) {
        wchar_t* wide = Py_DecodeLocale(arg.c_str(), nullptr);
        if (!wide) continue;
        PyWideStringList_Append(&config.orig_argv, wide);
        PyMem_RawFree(wide);
    }
    for (const auto& x : options.xoptions) {
        wchar_t* wide = Py_DecodeLocale(x.c_str(), nullptr);
        if (!wide) throw Error(fmt::format("cannot decode -X option '{}'", x));
        check(PyWideStringList_Append(&config.xoptions, wide), config, "-X option");
        PyMem_RawFree(wide);
    }
    check(Py_InitializeFromConfig(&config), config, "initialisation");
    PyConfig_Clear(&config);
}

int stop_interpreter() { return Py_FinalizeEx(); }

} // namespace memopt::probe
