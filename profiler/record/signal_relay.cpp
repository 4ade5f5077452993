#include "profiler/record/signal_relay.h"

#include <csignal>
#include <vector>

namespace memopt::recorder {
namespace {

constexpr int kMaxSignal = 65;

volatile sig_atomic_t g_program_pid = 0;
volatile sig_atomic_t g_pending[kMaxSignal] = {};

struct Saved {
    int signal;
    struct sigaction action;
};
std::vector<Saved> g_saved;

void forward(int signal) {
    const pid_t pid = g_program_pid;
    if (pid > 0) ::kill(pid, signal);
    else g_pending[signal] = 1;
}

void absorb(int) {} // the program got it through the process group

std::vector<int> forwarded_signals() {
    std::vector<int> out{SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, SIGVTALRM, SIGPROF,
                         SIGIO,   SIGPWR,  SIGSYS,  SIGXCPU, SIGXFSZ, SIGSTKFLT};
    for (int signal = SIGRTMIN; signal <= SIGRTMAX && signal < kMaxSignal; ++signal) out.push_back(signal);
    return out;
}

void install(int signal, void (*handler)(int)) {
    Saved saved{signal, {}};
    if (::sigaction(signal, nullptr, &saved.action) != 0) return;
    if (saved.action.sa_handler == SIG_IGN) return; // inherited ignored: the program inherits it too
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (::sigaction(signal, &action, nullptr) == 0) g_saved.push_back(saved);
}

} // namespace

SignalRelay::SignalRelay() {
    g_program_pid = 0;
    for (auto& pending : g_pending) pending = 0;
    for (int signal : {SIGINT, SIGQUIT, SIGHUP}) install(signal, absorb);
    for (int signal : forwarded_signals()) install(signal, forward);
}

SignalRelay::~SignalRelay() {
    detach();
    for (const Saved& saved : g_saved) ::sigaction(saved.signal, &saved.action, nullptr);
    g_saved.clear();
}

void SignalRelay::attach(pid_t pid) {
    g_program_pid = pid;
    for (int signal = 1; signal < kMaxSignal; ++signal)
        if (g_pending[signal]) {
            g_pending[signal] = 0;
            ::kill(pid, signal);
        }
}

void SignalRelay::detach() { g_program_pid = 0; }

} // namespace memopt::recorder
