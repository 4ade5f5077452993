#pragma once
// The tracer's own file descriptors live far above the program's (a program's first open
// still returns 3) and are close-on-exec, so the program never reaches them by accident.
// All of this is async-signal-safe (plain syscalls).
#include <sys/types.h>

namespace memopt::preload {

// Moves `fd` to a high number (>= 1000, or as high as RLIMIT_NOFILE allows) with
// FD_CLOEXEC set, closing the original. Returns the new number (the old one, close-on-exec,
// when no high number is free).
int move_descriptor_high(int fd) noexcept;

// The identity of an open file, to tell later whether a number still names it.
struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    bool known = false;
};
FileIdentity identity_of(int fd) noexcept;
bool descriptor_is(int fd, const FileIdentity& identity) noexcept;

// Writes `value` in decimal at `out` (no terminator); returns the end.
char* put_decimal(char* out, unsigned long value) noexcept;

} // namespace memopt::preload
