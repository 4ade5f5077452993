#pragma once
// numpy (and other extension modules) announce the data buffers they malloc themselves with
// PyTraceMalloc_Track/Untrack. The memopt executable exports its symbols (ENABLE_EXPORTS), so
// the definitions in tracemalloc_interpose.cpp come first in every extension module's lookup
// scope: the blocks go to the allocation sampler, then libpython's own functions are called
// (tracemalloc mode needs them; without tracemalloc they return -2 at once).
//
// The file does not include Python.h: 3.11's tracemalloc.h declares these two functions
// without extern "C".

namespace memopt::probe {

// Finds libpython's functions (dlsym RTLD_NEXT). Also what keeps the interposers linked in.
void tracemalloc_interpose_resolve();

} // namespace memopt::probe
