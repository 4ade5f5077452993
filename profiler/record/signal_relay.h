#pragma once
// What `memopt record` (and `gate`) does with signals while the traced program runs. The
// rule: the program sees exactly the signals and dispositions it would see untraced, each
// signal once, and memopt outlives it to write the exit status.
//
// * The program stays in memopt's process group and session (the runner creates no group),
//   so what the terminal sends to the foreground group — Ctrl-C (INT), Ctrl-\ (QUIT),
//   Ctrl-Z (TSTP), WINCH, the HUP of a hang-up — reaches the program directly, once.
// * INT, QUIT and HUP are therefore never forwarded: they come to the group (a shell also
//   resends HUP to its jobs by process group). memopt catches them and waits for the
//   program, which alone decides whether they end it. A `kill -INT` to memopt's pid alone
//   does not reach the program; signal the process group (`kill -INT -PGID`) as a terminal does.
// * Every other signal whose default action would end memopt (TERM, USR1, USR2, ALRM, PIPE,
//   VTALRM, PROF, IO, PWR, SYS, XCPU, XFSZ, STKFLT, the real-time signals) is one sent to
//   memopt's pid by a process (kill, timeout(1), a supervisor): it is forwarded to the
//   program and memopt does not die of it. (A TERM sent to the whole group reaches the
//   program twice: once from the sender, once forwarded.) One that arrives before the
//   program has started is forwarded as soon as it has.
// * Job control (TSTP, TTIN, TTOU, CONT) keeps its default: memopt stops and continues
//   with the program's group, as a shell expects of a foreground job.
// * A signal memopt inherited as ignored (SIG_IGN, e.g. `trap "" INT` or nohup's HUP) is
//   left ignored: no handler is installed, so the program inherits SIG_IGN as it would
//   untraced. Caught signals are reset to SIG_DFL by exec, so the program starts with the
//   default disposition of every other signal. The signal mask is not changed.
// * KILL and STOP cannot be caught: a `kill -9` of memopt leaves the program running (its
//   trace stays readable up to the last flush).
#include <sys/types.h>

namespace memopt::recorder {

class SignalRelay {
  public:
    SignalRelay();  // installs the handlers; create it before starting the program
    ~SignalRelay(); // restores memopt's dispositions
    SignalRelay(const SignalRelay&) = delete;
    SignalRelay& operator=(const SignalRelay&) = delete;

    // Forwards to `pid` from now on (and what arrived before). `pid` must stay unreaped
    // until detach(), so that no forwarded signal can reach a reused pid.
    void attach(pid_t pid);
    void detach();
};

} // namespace memopt::recorder
