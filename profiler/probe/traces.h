#pragma once
// Groups raw tracemalloc traces (_tracemalloc._get_traces(): (domain, size, traceback,
// total_nframe), traceback = ((filename, lineno), ...) most recent call first), or the
// sampler's per-stack rows shaped alike, by the user's line - the most recent frame for which
// is_user(filename) is true - and the innermost frame outside the import machinery
// (import_frames.h; else the innermost frame); without a user frame, the user's line is that
// inner frame. File names are compared by text. In C++ because a Python loop takes ~1 s per
// 70 000 traces.
#include <pybind11/pybind11.h>

namespace memopt::probe {

// [((user_file, user_line), (inner_file, inner_line), bytes, count)] for the top_n by bytes.
// count_index >= 0: each trace stands for that many blocks (sampled stacks: their samples).
pybind11::list aggregate_traces(pybind11::list traces, pybind11::object is_user, int top_n, int count_index = -1);

} // namespace memopt::probe
