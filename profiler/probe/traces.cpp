#include "profiler/probe/traces.h"

#include "profiler/probe/import_frames.h"

#include <Python.h>
#include <algorithm>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace py = pybind11;

namespace memopt::probe {

namespace {

struct Frame {
    PyObject* file = nullptr; // borrowed from the traces list, which outlives the grouping
    long line = 0;
    bool operator==(const Frame&) const = default;
};

struct Key {
    Frame user, inner;
    bool operator==(const Key&) const = default;
};

struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
        std::size_t h = std::hash<const void*>{}(k.user.file) * 31 + static_cast<std::size_t>(k.user.line);
        h = h * 1000003 ^ std::hash<const void*>{}(k.inner.file);
        return h * 31 + static_cast<std::size_t>(k.inner.line);
    }
};

struct Total {
    long long bytes = 0;
    long long count = 0;
};

struct FileInfo {
    PyObject* canonical; // one object per distinct file name, so keys compare by pointer
    bool user, machinery;
};

// File names as the traces hold them: tracemalloc shares one object per name, the sampler's
// rows bring a fresh string per frame; both are reduced to one object per name.
class Files {
  public:
    explicit Files(py::object is_user) : is_user_(std::move(is_user)) {}
    const FileInfo& info(PyObject* file) {
        if (auto it = by_object_.find(file); it != by_object_.end()) return it->second;
        Py_ssize_t size = 0;
        const char* utf8 = PyUnicode_Check(file) ? PyUnicode_AsUTF8AndSize(file, &size) : nullptr;
        if (!utf8) PyErr_Clear();
        std::string text = utf8 ? std::string(utf8, static_cast<std::size_t>(size)) : std::string("<unknown>");
        auto [named, inserted] = by_name_.try_emplace(text, FileInfo{file, false, false});
        if (inserted) {
            named->second.user = is_user_(py::handle(file)).cast<bool>();
            named->second.machinery = is_import_machinery(text);
        }
        return by_object_.emplace(file, named->second).first->second;
    }

  private:
    py::object is_user_;
    std::unordered_map<PyObject*, FileInfo> by_object_;
    std::unordered_map<std::string, FileInfo> by_name_;
};

struct TraceFrame {
    Frame frame;
    const FileInfo* file = nullptr;
};

TraceFrame frame_at(Files& files, PyObject* traceback, Py_ssize_t i) {
    PyObject* frame = PyTuple_GET_ITEM(traceback, i);
    if (!PyTuple_Check(frame) || PyTuple_GET_SIZE(frame) < 2) return {};
    const FileInfo& info = files.info(PyTuple_GET_ITEM(frame, 0));
    return {{info.canonical, PyLong_AsLong(PyTuple_GET_ITEM(frame, 1))}, &info};
}

// inner: the innermost frame outside the import machinery (the module body line an import
// is running), else the innermost; user: the most recent user frame, else inner.
Key key_of(Files& files, PyObject* traceback) {
    Key key;
    if (!PyTuple_Check(traceback) || PyTuple_GET_SIZE(traceback) == 0) return key;
    key.inner = frame_at(files, traceback, 0).frame;
    bool inner_found = false, user_found = false;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(traceback) && !user_found; ++i) {
        const TraceFrame f = frame_at(files, traceback, i);
        if (!f.file || f.file->machinery) continue;
        if (!inner_found) {
            key.inner = f.frame;
            inner_found = true;
        }
        if (f.file->user) {
            key.user = f.frame;
            user_found = true;
        }
    }
    if (!user_found) key.user = key.inner;
    return key;
}

} // namespace

py::list aggregate_traces(py::list traces, py::object is_user, int top_n, int count_index) {
    Files files(std::move(is_user));
    std::unordered_map<Key, Total, KeyHash> totals;
    for (py::handle trace : traces) {
        PyObject* t = trace.ptr();
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 3) continue;
        const long long size = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 1));
        Total& total = totals[key_of(files, PyTuple_GET_ITEM(t, 2))];
        total.bytes += size;
        if (count_index >= 0 && PyTuple_GET_SIZE(t) > count_index)
            total.count += PyLong_AsLongLong(PyTuple_GET_ITEM(t, count_index));
        else
            ++total.count;
    }
    std::vector<std::pair<Key, Total>> rows(totals.begin(), totals.end());
    const auto n = std::min<std::size_t>(rows.size(), static_cast<std::size_t>(std::max(top_n, 0)));
    std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n), rows.end(),
                      [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
    auto frame_tuple = [](const Frame& f) {
        return f.file ? py::make_tuple(py::reinterpret_borrow<py::object>(f.file), f.line)
                      : py::make_tuple("<unknown>", 0);
    };
    py::list out;
    for (std::size_t i = 0; i < n; ++i)
        out.append(py::make_tuple(frame_tuple(rows[i].first.user), frame_tuple(rows[i].first.inner),
                                  rows[i].second.bytes, rows[i].second.count));
    return out;
}

} // namespace memopt::probe
