#pragma once
// Addresses of the libc functions the shim interposes, looked up with dlsym(RTLD_NEXT).
#include "profiler/preload/hook_list.h"

#include <sys/types.h>

namespace memopt::preload {

struct RealFunctions {
#define MEMOPT_DECLARE_REAL(ret, name, params, args) ret(*name) params noexcept = nullptr;
    MEMOPT_ALL_HOOKS(MEMOPT_DECLARE_REAL)
#undef MEMOPT_DECLARE_REAL
    void* (*mremap)(void*, size_t, size_t, int, ...) noexcept = nullptr;
    void (*exit_now)(int) = nullptr; // _exit
};

extern RealFunctions g_real;

// Looks the real functions up once. Returns false while the lookup is in progress on this
// thread (dlsym allocating): the caller then serves the request from the bootstrap arena.
bool real_functions_ready() noexcept;

} // namespace memopt::preload
