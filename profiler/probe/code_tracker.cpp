#include "profiler/probe/code_tracker.h"

#include <Python.h>
#include <frameobject.h>
#include <unordered_map>
#include <vector>

namespace memopt::probe {

namespace {

struct CodeInfo {
    int module; // index into g_modules, -1 for module and class bodies
    bool after_import;
};

// Owned references to every code object seen, so that their addresses stay unique.
std::unordered_map<PyObject*, CodeInfo> g_seen;
std::vector<std::string> g_modules;
std::unordered_map<std::string, int> g_module_index;
int g_import_depth = 0;
bool g_paused = false;

int module_of(PyFrameObject* frame) {
    PyObject* globals = PyFrame_GetGlobals(frame);
    if (!globals) {
        PyErr_Clear();
        return -1;
    }
    std::string name = "<unknown>";
    if (PyDict_Check(globals)) {
        PyObject* value = PyDict_GetItemString(globals, "__name__"); // borrowed
        if (value && PyUnicode_Check(value)) {
            const char* utf8 = PyUnicode_AsUTF8(value);
            if (utf8) name = utf8;
            else PyErr_Clear();
        }
    }
    Py_DECREF(globals);
    auto [it, inserted] = g_module_index.try_emplace(name, static_cast<int>(g_modules.size()));
    if (inserted) g_modules.push_back(name);
    return it->second;
}

int on_profile_event(PyObject*, PyFrameObject* frame, int what, PyObject*) {
    if (what != PyTrace_CALL || g_paused) return 0;
    PyCodeObject* code = PyFrame_GetCode(frame); // new reference
    auto* key = reinterpret_cast<PyObject*>(code);
    auto it = g_seen.find(key);
    if (it != g_seen.end()) {
        if (g_import_depth == 0 && !it->second.after_import) it->second.after_import = true;
        Py_DECREF(code);
        return 0;
    }
    // Functions, lambdas and comprehensions have fresh locals; module and class bodies do not.
    const bool is_function = (code->co_flags & CO_NEWLOCALS) != 0;
    g_seen.emplace(key, CodeInfo{is_function ? module_of(frame) : -1, g_import_depth == 0});
    return 0; // the reference is kept
}

} // namespace

void code_tracking_start() { PyEval_SetProfile(on_profile_event, nullptr); }

void code_tracking_stop() { PyEval_SetProfile(nullptr, nullptr); }

void code_tracking_import_depth(int delta) { g_import_depth += delta; }

int code_tracking_import_depth_now() { return g_import_depth; }

void code_tracking_pause(bool paused) { g_paused = paused; }

std::map<std::string, FunctionCounts> code_tracking_stats() {
    std::map<std::string, FunctionCounts> stats;
    for (const auto& [code, info] : g_seen) {
        if (info.module < 0) continue;
        auto& counts = stats[g_modules[static_cast<std::size_t>(info.module)]];
        ++counts.run;
        if (info.after_import) ++counts.run_after_import;
    }
    return stats;
}

std::size_t code_tracking_memory_bytes() {
    return g_seen.size() * (sizeof(PyObject*) + sizeof(CodeInfo) + 2 * sizeof(void*)) +
           g_seen.bucket_count() * sizeof(void*);
}

} // namespace memopt::probe
