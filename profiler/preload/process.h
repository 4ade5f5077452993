#pragma once
// Process lifecycle of a traced program: start-up, fork, exec and exit.
//
// Descriptors: the tracer's descriptors (the trace, /proc/self/statm) sit at high numbers
// (>= 1000, see descriptors.h) with FD_CLOEXEC, so the program's first open returns 3 as
// untraced and a spawned program inherits nothing. The sink re-checks the trace descriptor
// before every chunk and reopens the file by path when the program closed or replaced it.
//
// Trace files: MEMOPT_TRACE for the launched program, MEMOPT_TRACE.PID for every other
// process; when that name is taken (the pid was used before by an earlier child of the same
// run), MEMOPT_TRACE.PID.1, .2, ... (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, first free name).
//
// Start-up (library constructor): reads the MEMOPT_* environment set by `memopt record`.
//   MEMOPT_TRACE_FD names a descriptor and MEMOPT_TRACE_OWNER (default: MEMOPT_ROOT_PID)
//   the pid it was handed to. If this process is that pid and the descriptor is open on a
//   trace of this run, this is the root program or an exec of a traced process: records are
//   appended to that file and the numbering restarts (a kProcessStart record marks the
//   boundary). Otherwise the process was spawned without fork handlers (posix_spawn,
//   vfork+exec): it creates its own trace file.
// fork: the parent records kFork. The child, in the atfork child handler, drops the
//   parent's pending records, creates its own trace file, closes its copy of the parent's
//   descriptor, restarts numbering, frame ids and module map, and starts its own sampler.
//   If it cannot create the file, it says so in the parent's trace (a TracerError record).
// exec (execve, execv, execvp, execvpe): all buffers are flushed; the trace descriptor is
//   checked (reopened if the program closed it, as subprocess and loky do between fork and
//   exec), loses FD_CLOEXEC just for the call, and the new image gets an environment with
//   MEMOPT_TRACE_FD / MEMOPT_TRACE_OWNER naming it; if exec fails, all is put back. A vfork
//   child (whose pid differs from the one we recorded) does nothing and touches nothing,
//   since it shares the parent's memory. execl, execlp and execle go through the same
//   hooks (shim.cpp). fexecve and a raw execve syscall are not hooked: what was buffered in
//   the last 20 ms before them is lost, and the new image writes a new file.
// exit: the library destructor, and the _exit hook, record kProcessExit with VmHWM and
//   flush every buffer, in the process that owns the tracer state only (a vfork child's
//   _exit leaves the parent's tracer alone). Both may run in a signal handler: they wait
//   for no lock without a bound (see flush_all_buffers). SIGKILL loses only what was not
//   flushed yet (at most ~20 ms).

namespace memopt::preload {

// True in the process whose pid the tracer state was set up for; false in a vfork child
// (which shares that state's memory and must not change it).
bool is_tracer_owner() noexcept;

// What prepare_exec changed, for after_failed_exec to put back.
struct ExecHandover {
    bool armed = false;
    int fd = -1;
    void* memory = nullptr; // the new environment (mmap'd: no malloc in a signal handler)
    unsigned long bytes = 0;
};
// Returns the environment to exec with (`envp` itself when nothing is handed over).
char* const* prepare_exec(char* const* envp, ExecHandover& handover) noexcept;
// Keeps errno.
void after_failed_exec(ExecHandover& handover) noexcept;
void before_exit_now() noexcept;

// RSS sampler thread (sampler.cpp): samples /proc/self/statm every interval and flushes
// all buffers at least every 20 ms.
void start_sampler() noexcept;
void forget_sampler_after_fork() noexcept;

} // namespace memopt::preload
