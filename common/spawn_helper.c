/* memopt-spawn: the small first stage of memopt's program runner (common/runner.h says why).
 *
 *   memopt-spawn REPORT_FD FLAGS PID_VARIABLE PATH ARGV0 [ARGS...]
 *
 * Clones itself with CLONE_PARENT|CLONE_VFORK: the clone is a child of memopt (which waits
 * for it with wait4), not of this helper, and starts from this helper's small address space,
 * so its ru_maxrss is the program's own. The clone sets PID_VARIABLE (unless empty) to its
 * pid and execs PATH with argv ARGV0 ARGS... and the environment, descriptors, cwd, process
 * group, signal mask and ignored signals this helper got from memopt. FLAGS "c" (else "-"):
 * the clone ignores SIGCHLD before exec, as memopt's caller asked (memopt itself cannot: an
 * ignored SIGCHLD makes the kernel reap its children before wait4). Linked statically: a
 * static program ignores LD_PRELOAD, so `memopt record`'s tracer never loads into it.
 *
 * Reports on REPORT_FD (made close-on-exec), as pairs of ints {kind, value}:
 *   'E' errno  the clone could not exec PATH (it then exits 127; memopt reaps it)
 *   'P' pid    the clone's pid (after 'E' if any: CLONE_VFORK waits for exec or exit)
 *   'F' errno  the clone failed; there is no program
 * Exits 0 once it has reported, 125 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char** environ;

static void report(int fd, int kind, int value) {
    const int message[2] = {kind, value};
    while (write(fd, message, sizeof message) < 0 && errno == EINTR) {
    }
}

static void exec_program(int fd, const char* flags, const char* pid_variable, char** argv) {
    if (strchr(flags, 'c')) signal(SIGCHLD, SIG_IGN);
    if (*pid_variable) {
        char pid[24];
        snprintf(pid, sizeof pid, "%ld", (long)getpid());
        if (setenv(pid_variable, pid, 1) != 0) {
            report(fd, 'E', errno);
            _exit(127);
        }
    }
    execve(argv[0], argv + 1, environ);
    report(fd, 'E', errno);
    _exit(127);
}

int main(int argc, char** argv) {
    if (argc < 6) return 125;
    const int fd = atoi(argv[1]);
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return 125;
    /* Raw clone without a new stack: like fork, the clone runs on its own copy of ours. */
    const long pid = syscall(SYS_clone, CLONE_PARENT | CLONE_VFORK, 0, 0, 0, 0);
    if (pid < 0) {
        report(fd, 'F', errno);
        return 0;
    }
    if (pid == 0) exec_program(fd, argv[2], argv[3], argv + 4);
    report(fd, 'P', (int)pid);
    return 0;
}
