#include "profiler/probe/code_tracker.h"

#include <Python.h>
#include <frameobject.h>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace memopt::probe {

namespace {

struct CodeInfo {
    int module; // index into g_modules, -1 for module and class bodies
    bool after_import;
    PyObject* module_object = nullptr; // C functions of a module: that module (owned)
};

// Owned references to every code object seen, so that their addresses stay unique.
std::unordered_map<PyObject*, CodeInfo> g_seen;
// C functions (builtins, extension modules' functions and their types' methods) by their
// PyMethodDef: static tables that live as long as the module, so the address is the function's
// identity, also for the bound method objects CPython makes afresh for each traced method call.
std::unordered_map<const PyMethodDef*, CodeInfo> g_seen_c;
std::vector<std::string> g_modules;
std::unordered_map<std::string, int> g_module_index;
int g_import_depth = 0;
bool g_paused = false;

int module_index(std::string_view name) {
    auto [it, inserted] = g_module_index.try_emplace(std::string(name), static_cast<int>(g_modules.size()));
    if (inserted) g_modules.push_back(it->first);
    return it->second;
}

std::string_view utf8_view(PyObject* s) {
    if (!s || !PyUnicode_Check(s)) return {};
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(s, &size);
    if (!utf8) {
        PyErr_Clear();
        return {};
    }
    return {utf8, static_cast<std::size_t>(size)};
}

int module_of(PyFrameObject* frame) {
    PyObject* globals = PyFrame_GetGlobals(frame);
    if (!globals) {
        PyErr_Clear();
        return -1;
    }
    std::string_view name = "<unknown>";
    if (PyDict_Check(globals)) {
        std::string_view value = utf8_view(PyDict_GetItemString(globals, "__name__")); // borrowed
        if (!value.empty()) name = value;
    }
    const int index = module_index(name);
    Py_DECREF(globals);
    return index;
}

// The module a type was defined in: `__module__` of a heap type, the dotted prefix of a
// static type's tp_name ("numpy.ndarray" -> numpy), builtins when there is none.
int module_of_type(PyTypeObject* type) {
    if (type->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        std::string_view name = utf8_view(PyDict_GetItemString(type->tp_dict, "__module__")); // borrowed
        return module_index(name.empty() ? "<unknown>" : name);
    }
    const std::string_view name = type->tp_name;
    const auto dot = name.rfind('.');
    return module_index(dot == std::string_view::npos ? "builtins" : name.substr(0, dot));
}

// The type along self's MRO whose method table holds `def` (a subclass defined elsewhere
// inherits the method; the function belongs to the type that defines it).
PyTypeObject* defining_type(PyTypeObject* type, const PyMethodDef* def) {
    PyObject* mro = type->tp_mro;
    if (!mro || !PyTuple_Check(mro)) return type;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); ++i) {
        auto* base = reinterpret_cast<PyTypeObject*>(PyTuple_GET_ITEM(mro, i));
        for (const PyMethodDef* m = base->tp_methods; m && m->ml_name; ++m)
            if (m == def) return base;
    }
    return type;
}

// A C function's module: its __module__ (module-level functions), its self when that is a
// module, else the type that defines the method (self's type, or self for class methods).
int module_of_c_function(PyObject* function) {
    auto* f = reinterpret_cast<PyCFunctionObject*>(function);
    if (std::string_view name = utf8_view(f->m_module); !name.empty()) return module_index(name);
    PyObject* self = f->m_self;
    if (!self) return module_index("<unknown>");
    if (PyModule_Check(self)) {
        const char* name = PyModule_GetName(self);
        if (!name) PyErr_Clear();
        return module_index(name ? name : "<unknown>");
    }
    PyTypeObject* type = PyType_Check(self) ? reinterpret_cast<PyTypeObject*>(self) : Py_TYPE(self);
    return module_of_type(defining_type(type, f->m_ml));
}

void on_c_call(PyObject* function) {
    if (!function || !PyCFunction_Check(function)) return;
    const PyMethodDef* def = reinterpret_cast<PyCFunctionObject*>(function)->m_ml;
    auto it = g_seen_c.find(def);
    if (it != g_seen_c.end()) {
        if (g_import_depth == 0 && !it->second.after_import) it->second.after_import = true;
        return;
    }
    PyObject* self = reinterpret_cast<PyCFunctionObject*>(function)->m_self;
    PyObject* module = self && PyModule_Check(self) ? Py_NewRef(self) : nullptr;
    g_seen_c.emplace(def, CodeInfo{module_of_c_function(function), g_import_depth == 0, module});
}

int on_profile_event(PyObject*, PyFrameObject* frame, int what, PyObject* arg) {
    if (g_paused) return 0;
    if (what == PyTrace_C_CALL) {
        on_c_call(arg);
        return 0;
    }
    if (what != PyTrace_CALL) return 0;
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

// Module names as sys.modules has them. A function's module name can differ from its
// sys.modules key: an extension module whose PyModuleDef names it otherwise (scipy's
// "uarray._uarray" is scipy._lib._uarray._uarray), a module run under another __name__.
// Those are found again by their module object (C functions) or their file (Python code).
class SysModules {
  public:
    SysModules() {
        PyObject* modules = PyImport_GetModuleDict(); // borrowed
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(modules, &pos, &key, &value)) {
            const std::string_view name = utf8_view(key);
            if (name.empty()) continue;
            names_.emplace(name);
            by_object_.try_emplace(value, name);
            // From the module's dict: an attribute lookup would load a lazy module (LazyLoader).
            PyObject* dict = PyModule_Check(value) ? PyModule_GetDict(value) : nullptr; // borrowed
            PyObject* file = dict ? PyDict_GetItemString(dict, "__file__") : nullptr;      // borrowed
            if (std::string_view path = utf8_view(file); !path.empty()) by_file_.try_emplace(std::string(path), name);
        }
    }
    std::string name_of(const std::string& recorded, PyObject* code, PyObject* module_object) const {
        if (names_.count(recorded)) return recorded;
        if (module_object)
            if (auto it = by_object_.find(module_object); it != by_object_.end()) return it->second;
        if (code && PyCode_Check(code))
            if (auto it = by_file_.find(std::string(utf8_view(reinterpret_cast<PyCodeObject*>(code)->co_filename)));
                it != by_file_.end())
                return it->second;
        return recorded;
    }

  private:
    std::unordered_set<std::string> names_;
    std::unordered_map<PyObject*, std::string> by_object_;
    std::unordered_map<std::string, std::string> by_file_;
};

void count(std::map<std::string, FunctionCounts>& stats, const SysModules& sys_modules, const CodeInfo& info,
           PyObject* code) {
    if (info.module < 0) return;
    auto& counts = stats[sys_modules.name_of(g_modules[static_cast<std::size_t>(info.module)], code, info.module_object)];
    ++counts.run;
    if (info.after_import) ++counts.run_after_import;
}

} // namespace

void code_tracking_start() { PyEval_SetProfile(on_profile_event, nullptr); }

void code_tracking_stop() { PyEval_SetProfile(nullptr, nullptr); }

void code_tracking_import_depth(int delta) { g_import_depth += delta; }

int code_tracking_import_depth_now() { return g_import_depth; }

void code_tracking_pause(bool paused) { g_paused = paused; }

std::map<std::string, FunctionCounts> code_tracking_stats() {
    std::map<std::string, FunctionCounts> stats;
    const SysModules sys_modules;
    for (const auto& [code, info] : g_seen) count(stats, sys_modules, info, code);
    for (const auto& [def, info] : g_seen_c) count(stats, sys_modules, info, nullptr);
    return stats;
}

std::size_t code_tracking_memory_bytes() {
    const std::size_t node = sizeof(void*) + sizeof(CodeInfo) + 2 * sizeof(void*);
    return (g_seen.size() + g_seen_c.size()) * node + (g_seen.bucket_count() + g_seen_c.bucket_count()) * sizeof(void*);
}

} // namespace memopt::probe
