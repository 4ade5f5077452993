#pragma once
// The one list of interposed libc functions. shim.cpp generates the exported forwarders and
// the table of real functions from it, so a hook is never written out twice.
//
// X(return_type, name, parameter_list, argument_list). All are noexcept, as glibc declares
// them. mremap (variadic) and _exit (noreturn) are written out in shim.cpp.
#include <cstddef>
#include <sys/types.h>

#define MEMOPT_ALLOCATION_HOOKS(X)                                                            \
    X(void*, malloc, (size_t size), (size))                                                   \
    X(void, free, (void* ptr), (ptr))                                                         \
    X(void*, calloc, (size_t count, size_t size), (count, size))                              \
    X(void*, realloc, (void* ptr, size_t size), (ptr, size))                                  \
    X(void*, reallocarray, (void* ptr, size_t count, size_t size), (ptr, count, size))        \
    X(int, posix_memalign, (void** out, size_t alignment, size_t size), (out, alignment, size)) \
    X(void*, aligned_alloc, (size_t alignment, size_t size), (alignment, size))               \
    X(void*, memalign, (size_t alignment, size_t size), (alignment, size))                    \
    X(void*, valloc, (size_t size), (size))                                                   \
    X(void*, pvalloc, (size_t size), (size))                                                  \
    X(void*, mmap, (void* addr, size_t length, int prot, int flags, int fd, off_t offset),    \
      (addr, length, prot, flags, fd, offset))                                                \
    X(void*, mmap64, (void* addr, size_t length, int prot, int flags, int fd, off_t offset),  \
      (addr, length, prot, flags, fd, offset))                                                \
    X(int, munmap, (void* addr, size_t length), (addr, length))

// Process-lifecycle hooks: flush before the image is replaced or the process ends without
// running exit handlers, and note forks in the parent's trace.
#define MEMOPT_PROCESS_HOOKS(X)                                                               \
    X(int, execve, (const char* path, char* const argv[], char* const envp[]),                \
      (path, argv, envp))                                                                     \
    X(int, execv, (const char* path, char* const argv[]), (path, argv))                       \
    X(int, execvp, (const char* file, char* const argv[]), (file, argv))                      \
    X(int, execvpe, (const char* file, char* const argv[], char* const envp[]),               \
      (file, argv, envp))                                                                     \
    X(pid_t, fork, (void), ())

#define MEMOPT_ALL_HOOKS(X) MEMOPT_ALLOCATION_HOOKS(X) MEMOPT_PROCESS_HOOKS(X)
