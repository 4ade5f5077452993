#pragma once
// Which functions ran: a C-level profile function (PyEval_SetProfile) that records each code
// object the first time it is called, far cheaper than a Python sys.setprofile callback, and
// each C function (PyTrace_C_CALL: builtins, extension modules' functions, methods of their
// types) by its PyMethodDef, so a compiled module counts as run when its functions are called.
// Calls made while an import is in progress are kept apart from later ones, so a module
// whose functions only ran while modules were being imported can be told apart.
// All functions need the GIL.
#include <cstddef>
#include <map>
#include <string>
#include <utility>

namespace memopt::probe {

void code_tracking_start();      // in the calling thread
void code_tracking_stop();       // in the calling thread
void code_tracking_import_depth(int delta);
int code_tracking_import_depth_now();
// While paused (the probe's own snapshot runs), calls are not recorded.
void code_tracking_pause(bool paused);

struct FunctionCounts {
    std::size_t run = 0;              // distinct functions (not module or class bodies) that ran
    std::size_t run_after_import = 0; // ... of which ran outside any import
};
// Module name -> counts. Python code: its globals' __name__; C functions: __module__, the
// module that is their self, or the module of the type defining the method. Names that are
// not sys.modules keys are mapped back by module object or file (code_tracker.cpp).
std::map<std::string, FunctionCounts> code_tracking_stats();
std::size_t code_tracking_memory_bytes();

} // namespace memopt::probe
