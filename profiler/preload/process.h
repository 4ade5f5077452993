#pragma once
// Process lifecycle of a traced program: start-up, fork, exec and exit.
//
// Start-up (library constructor): reads the MEMOPT_* environment set by `memopt record`.
//   The trace descriptor MEMOPT_TRACE_FD is inherited. If it is open and names this
//   process's own file (MEMOPT_TRACE for the root pid, MEMOPT_TRACE.PID otherwise), this is
//   the root program or an exec of a traced process: records are appended to that file and
//   the numbering restarts (a kProcessStart record marks the boundary). Otherwise the
//   process was spawned without fork handlers (posix_spawn, vfork+exec): it creates its own
//   MEMOPT_TRACE.PID (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600) on the same descriptor number.
// fork: the parent records kFork. The child, in the atfork child handler, drops the
//   parent's pending records, creates MEMOPT_TRACE.PID the same way, restarts numbering,
//   frame ids and module map, and starts its own sampler thread.
// exec (execve, execv, execvp, execvpe): all buffers are flushed first, so the new image
//   continues the file; a vfork child (whose pid differs from the one we recorded) does
//   nothing, since it shares the parent's memory. execl* and fexecve are not hooked: what
//   was buffered in the last 100 ms before them is lost.
// exit: the library destructor, and the _exit hook, record kProcessExit with VmHWM and
//   flush every buffer. SIGKILL loses only what was not flushed yet (at most ~20 ms).

namespace memopt::preload {

void before_exec() noexcept;
void before_exit_now() noexcept;

// RSS sampler thread (sampler.cpp): samples /proc/self/statm every interval and flushes
// all buffers at least every 20 ms.
void start_sampler() noexcept;
void forget_sampler_after_fork() noexcept;

} // namespace memopt::preload
