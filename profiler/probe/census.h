#pragma once
// The object census (Guppy-PE's heap view): every object the garbage collector tracks plus
// the untracked objects they refer to (str, int, float, numpy arrays, ...), counted and sized
// by type with sys.getsizeof. numpy arrays that own their data include it (ndarray.__sizeof__
// adds nbytes); views count their header only. pandas objects (DataFrame, Series, Index) are
// sized with memory_usage(deep=True) by their own __sizeof__, so their bytes overlap the
// arrays they hold: they are flagged `deep` and left out of the total. Needs the GIL.
#include <pybind11/pybind11.h>

namespace memopt::probe {

// {"types": [{"type", "count", "bytes", "deep"}...] (top_n by bytes), "total_objects",
//  "total_bytes", "scratch_bytes"}
pybind11::dict take_census(int top_n);

} // namespace memopt::probe
