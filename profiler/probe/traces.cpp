#include "profiler/probe/traces.h"

#include <Python.h>
#include <algorithm>
#include <functional>
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

Frame frame_at(PyObject* traceback, Py_ssize_t i) {
    PyObject* frame = PyTuple_GET_ITEM(traceback, i);
    if (!PyTuple_Check(frame) || PyTuple_GET_SIZE(frame) < 2) return {};
    return {PyTuple_GET_ITEM(frame, 0), PyLong_AsLong(PyTuple_GET_ITEM(frame, 1))};
}

} // namespace

py::list aggregate_traces(py::list traces, py::object is_user, int top_n, int count_index) {
    std::unordered_map<PyObject*, bool> user_file; // filename object -> user code?
    std::unordered_map<Key, Total, KeyHash> totals;
    auto is_user_file = [&](PyObject* file) {
        auto it = user_file.find(file);
        if (it != user_file.end()) return it->second;
        const bool user = is_user(py::handle(file)).cast<bool>();
        user_file.emplace(file, user);
        return user;
    };
    for (py::handle trace : traces) {
        PyObject* t = trace.ptr();
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 3) continue;
        const long long size = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 1));
        PyObject* traceback = PyTuple_GET_ITEM(t, 2);
        Key key;
        if (PyTuple_Check(traceback) && PyTuple_GET_SIZE(traceback) > 0) {
            key.inner = frame_at(traceback, 0);
            key.user = key.inner;
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(traceback); ++i) {
                Frame f = frame_at(traceback, i);
                if (f.file && is_user_file(f.file)) {
                    key.user = f;
                    break;
                }
            }
        }
        Total& total = totals[key];
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
