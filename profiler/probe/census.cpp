#include "profiler/probe/census.h"

#include <Python.h>
#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace py = pybind11;

namespace memopt::probe {

namespace {

// Open-addressing set of object addresses: 8 bytes per slot, no node allocations, since the
// census runs at the program's peak and should add as little as it can.
class PointerSet {
  public:
    explicit PointerSet(std::size_t expected) {
        std::size_t capacity = 1024;
        while (capacity < expected * 2) capacity <<= 1;
        slots_.assign(capacity, 0);
    }
    bool insert(const void* pointer) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        return insert_into(slots_, reinterpret_cast<std::uintptr_t>(pointer));
    }
    std::size_t memory_bytes() const { return slots_.size() * sizeof(std::uintptr_t); }

  private:
    bool insert_into(std::vector<std::uintptr_t>& slots, std::uintptr_t value) {
        const std::size_t mask = slots.size() - 1;
        std::size_t i = (value >> 4) * 0x9E3779B97F4A7C15ull & mask;
        while (slots[i] != 0) {
            if (slots[i] == value) return false;
            i = (i + 1) & mask;
        }
        slots[i] = value;
        ++size_;
        return true;
    }
    void grow() {
        std::vector<std::uintptr_t> bigger(slots_.size() * 2, 0);
        size_ = 0;
        for (auto value : slots_)
            if (value) insert_into(bigger, value);
        slots_.swap(bigger);
    }
    std::vector<std::uintptr_t> slots_;
    std::size_t size_ = 0;
};

struct Walk {
    PointerSet seen;
    std::vector<PyObject*> untracked; // owned references
};

int visit(PyObject* object, void* arg) {
    auto* walk = static_cast<Walk*>(arg);
    if (!object) return 0;
    if (PyObject_IS_GC(object) && PyObject_GC_IsTracked(object)) return 0; // in gc.get_objects()
    if (walk->seen.insert(object)) {
        Py_INCREF(object);
        walk->untracked.push_back(object);
    }
    return 0;
}

struct TypeTotal {
    std::size_t count = 0;
    std::size_t bytes = 0;
};

std::string type_name(PyTypeObject* type) {
    if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE)) return type->tp_name;
    py::handle handle(reinterpret_cast<PyObject*>(type));
    try {
        auto module = py::str(handle.attr("__module__")).cast<std::string>();
        auto name = py::str(handle.attr("__qualname__")).cast<std::string>();
        return module == "builtins" ? name : module + "." + name;
    } catch (const py::error_already_set&) {
        return type->tp_name;
    }
}

PyObject* lookup_type(const char* module, const char* name) {
    PyObject* modules = PySys_GetObject("modules"); // borrowed
    PyObject* mod = modules ? PyDict_GetItemString(modules, module) : nullptr;
    if (!mod) return nullptr;
    PyObject* type = PyObject_GetAttrString(mod, name);
    if (!type) PyErr_Clear();
    return type; // new reference or null
}

} // namespace

py::dict take_census(int top_n) {
    // Objects held only by running functions' locals are reachable from frame objects, which
    // CPython 3.11 creates lazily: materialise every thread's stack before listing objects.
    py::list frames;
    for (auto item : py::module_::import("sys").attr("_current_frames")().cast<py::dict>()) {
        py::object frame = py::reinterpret_borrow<py::object>(item.second);
        while (!frame.is_none()) {
            frames.append(frame);
            frame = frame.attr("f_back");
        }
    }
    py::list objects = py::module_::import("gc").attr("get_objects")();
    const auto tracked = static_cast<std::size_t>(PyList_GET_SIZE(objects.ptr()));
    Walk walk{PointerSet(tracked * 2), {}};
    walk.seen.insert(objects.ptr());
    for (std::size_t i = 0; i < tracked; ++i) walk.seen.insert(PyList_GET_ITEM(objects.ptr(), i));
    // Referents of tracked objects that the collector does not track, then theirs.
    for (std::size_t i = 0; i < tracked; ++i) {
        PyObject* object = PyList_GET_ITEM(objects.ptr(), i);
        if (traverseproc traverse = Py_TYPE(object)->tp_traverse) traverse(object, visit, &walk);
    }
    PyObject* ndarray = lookup_type("numpy", "ndarray");
    for (std::size_t i = 0; i < walk.untracked.size(); ++i) {
        PyObject* object = walk.untracked[i];
        // Only GC objects may be traversed (static types have tp_traverse but are not GC).
        if (PyObject_IS_GC(object))
            if (traverseproc traverse = Py_TYPE(object)->tp_traverse) traverse(object, visit, &walk);
        if (ndarray && PyObject_TypeCheck(object, reinterpret_cast<PyTypeObject*>(ndarray))) {
            // An array's base (the array or buffer a view looks into) is not traversable.
            if (PyObject* base = PyObject_GetAttrString(object, "base")) {
                if (base != Py_None) visit(base, &walk);
                Py_DECREF(base);
            } else {
                PyErr_Clear();
            }
        }
    }
    PyObject* pandas_object = lookup_type("pandas.core.base", "PandasObject");

    std::unordered_map<PyTypeObject*, TypeTotal> totals;
    auto count = [&](PyObject* object) {
        std::size_t size;
        if (pandas_object && PyObject_TypeCheck(object, reinterpret_cast<PyTypeObject*>(pandas_object))) {
            // Not pandas' own __sizeof__ (memory_usage(deep=True)): that is Python code, run here at
            // any bytecode boundary of the program (inside to_csv, read_csv, ...), and it was seen
            // to spin for minutes on the activity example. The header only; the arrays a
            // DataFrame holds are counted as numpy.ndarray rows.
            size = static_cast<std::size_t>(Py_TYPE(object)->tp_basicsize);
        } else {
            size = _PySys_GetSizeOf(object);
        }
        if (size == static_cast<std::size_t>(-1)) {
            PyErr_Clear();
            size = 0;
        }
        auto& total = totals[Py_TYPE(object)];
        ++total.count;
        total.bytes += size;
    };
    for (std::size_t i = 0; i < tracked; ++i) count(PyList_GET_ITEM(objects.ptr(), i));
    for (PyObject* object : walk.untracked) count(object);

    struct Row {
        PyTypeObject* type;
        TypeTotal total;
        bool deep;
    };
    std::vector<Row> rows;
    std::size_t total_objects = 0, total_bytes = 0;
    for (const auto& [type, total] : totals) {
        const bool deep = false; // pandas objects are sized by their header only (see count)
        rows.push_back({type, total, deep});
        total_objects += total.count;
        if (!deep) total_bytes += total.bytes;
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.total.bytes > b.total.bytes; });
    py::list types;
    int listed = 0;
    for (const auto& row : rows) {
        if (listed++ >= top_n && !row.deep) continue; // pandas rows always listed
        py::dict entry;
        entry["type"] = type_name(row.type);
        entry["count"] = row.total.count;
        entry["bytes"] = row.total.bytes;
        entry["deep"] = row.deep;
        types.append(entry);
    }
    const std::size_t scratch = walk.seen.memory_bytes() + walk.untracked.capacity() * sizeof(PyObject*) +
                                tracked * sizeof(PyObject*);
    for (PyObject* object : walk.untracked) Py_DECREF(object);
    Py_XDECREF(ndarray);
    Py_XDECREF(pandas_object);

    py::dict result;
    result["types"] = types;
    result["total_objects"] = total_objects;
    result["total_bytes"] = total_bytes;
    result["scratch_bytes"] = scratch;
    return result;
}

} // namespace memopt::probe
