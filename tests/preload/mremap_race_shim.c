/* Preloaded after libmemopt_preload.so, so the tracer's dlsym(RTLD_NEXT, "mremap") finds
 * this mremap: it does the real call, then lets the program (hardening_program
 * mremap-race) map the range just left from another thread before returning. That is the
 * race a real program has when a second thread maps while the first one's mremap runs. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void* mremap(void* old_address, size_t old_length, size_t new_length, int flags, ...) {
    void* new_address = NULL;
    if (flags & MREMAP_FIXED) {
        va_list rest;
        va_start(rest, flags);
        new_address = va_arg(rest, void*);
        va_end(rest);
    }
    void* result = (void*)syscall(SYS_mremap, old_address, old_length, new_length, flags, new_address);
    void (*inside)(void*, size_t) = (void (*)(void*, size_t))dlsym(RTLD_DEFAULT, "memopt_test_inside_mremap");
    if (inside && result != MAP_FAILED && result != old_address) inside(old_address, old_length);
    return result;
}
