#pragma once
// The one program runner of memopt: every program the product starts (the command of
// `memopt record`/`gate`, optimize's measured runs, the activity experiment's steps) is
// started here.
//
// Why not fork: a forked copy of memopt is the child until exec, and Linux keeps the
// high-water RSS of the image before exec in the child's ru_maxrss, so a forked memopt
// (4 MiB) was counted into the program's peak: `memopt gate --max-peak 3MB -- /bin/true`
// failed at 4.1 MiB. posix_spawn/vfork do not help on their own: the vfork child runs in
// memopt's address space, and exec records *memopt's* peak RSS into the child (a 100 MiB
// parent spawning /bin/true reads 103 MiB from wait4).
//
// How: memopt posix_spawns the small static helper `memopt-spawn` (common/spawn_helper.c;
// static, so it ignores LD_PRELOAD). The helper clones itself with CLONE_PARENT: the new
// process is memopt's own child, in memopt's process group (or the group asked for), starts
// from the helper's few hundred KB, and execs the program. ru_maxrss from wait4 of that
// child is therefore the launched program's: the maximum over its exec'd images (a shell
// that execs python reports python's peak) and over the children it waited for
// (RUSAGE_BOTH semantics of wait4), never memopt's. Below about 0.2 MiB the figure is the
// helper's copy, not the program's. docs/peak-rss.md says what every peak figure means.
//
// Signals: the runner changes no disposition or mask; the program inherits memopt's, minus
// handlers (exec resets them to SIG_DFL; an inherited SIG_IGN stays ignored). One exception
// inside memopt: an inherited SIG_IGN for SIGCHLD would let the kernel reap the program
// before wait4, so memopt resets its own to SIG_DFL and the program still gets SIG_IGN.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace memopt::runner {

// Where one of the program's standard streams goes.
struct Redirect {
    enum class Kind { inherit, null, file, capture, descriptor };
    Kind kind = Kind::inherit;
    std::filesystem::path path; // file: opened for reading (stdin) or truncated (outputs), 0644
    int fd = -1;                // descriptor: memopt's fd, e.g. STDERR_FILENO for stdout

    static Redirect inherit() { return {}; }
    static Redirect null() { return {Kind::null, {}, -1}; }
    static Redirect file(std::filesystem::path p) { return {Kind::file, std::move(p), -1}; }
    static Redirect capture() { return {Kind::capture, {}, -1}; } // output into Outcome::out/err
    static Redirect descriptor(int memopt_fd) { return {Kind::descriptor, {}, memopt_fd}; }
};

struct Command {
    std::vector<std::string> argv;          // argv[0] is searched in PATH when it has no '/'
    std::filesystem::path cwd;              // empty: memopt's current directory
    std::map<std::string, std::string> env; // added to (or replacing in) memopt's environment
    bool replace_env = false;               // true: `env` is the whole environment
    // When set, the program finds this variable set to its own pid (known only once started).
    std::string pid_variable;
    Redirect in = Redirect::inherit();      // stdin (capture is not allowed)
    Redirect out = Redirect::inherit();
    Redirect err = Redirect::inherit();
    std::vector<std::pair<int, int>> keep_fds; // {memopt's fd, fd number in the program}
    bool own_process_group = false;         // a new group led by the program (timeouts kill it)
    std::optional<std::chrono::milliseconds> timeout; // then SIGKILL (its group if it has one)
};

struct Outcome {
    int exit_code = 0;      // exit status when it exited
    int signal = 0;         // the signal that ended it, 0 when it exited
    bool timed_out = false; // killed by the runner after Command::timeout
    double wall_s = 0;      // spawn to end, steady clock
    std::uint64_t peak_rss_bytes = 0; // ru_maxrss of the program (see above)
    std::string out, err;   // captured streams

    int status() const { return signal ? 128 + signal : exit_code; } // the shell's $?
};

// A started program. The destructor kills (SIGKILL) and reaps one that was not reaped.
class Process {
  public:
    // Throws memopt::Error naming the program when it is not found or not executable, the
    // cwd does not exist, a redirect file cannot be opened, or exec fails.
    explicit Process(const Command& command);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }

    // Returns when the program has ended (killing it when the timeout expires), reading
    // captured output meanwhile. It is not reaped: pid() stays reserved, so a signal sent
    // to it until reap() cannot reach another process.
    void wait_until_ended();

    // Collects the exit status and rusage (waits first if needed). Once only.
    Outcome reap();

  private:
    void read_remaining();
    void kill_on_timeout();

    Command command_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
    int out_pipe_ = -1, err_pipe_ = -1;
    bool ended_ = false, reaped_ = false;
    std::chrono::steady_clock::time_point start_;
    Outcome outcome_;
};

// Starts, waits and reaps: the whole run.
Outcome run(const Command& command);

// Resolves a program name like execvp (PATH of memopt's environment); a name with '/' is
// taken relative to `cwd` when one is given. Empty when not found or not executable.
std::filesystem::path find_executable(const std::string& name, const std::filesystem::path& cwd = {});

// "a b 'c d'": a command line for messages.
std::string shell_words(const std::vector<std::string>& argv);

} // namespace memopt::runner
