/* Programs for the tracer's hardening tests (hardening_test.cpp). Each mode prints a
 * deterministic result and exits with a known status, traced or not:
 *   exit-in-handler     allocates non-stop; a SIGALRM handler calls _exit(7) mid-allocation
 *   after-exec          allocates and frees 48 MiB, prints the fd its first open gets
 *   fork-close-exec     a child closes every fd >= 3, then execs after-exec
 *   fork-fork-exec      a grandchild (fork, fork) execs after-exec
 *   execl-self          allocates 32 MiB, then execl()s after-exec
 *   first-fd            prints the fd its first open gets
 *   dup2-everywhere F   dup2s its own file F onto every open fd >= 3, allocates 64 MiB,
 *                       writes to F and checks F holds exactly what it wrote
 *   fsize               limits RLIMIT_FSIZE to 256 KiB, then makes a large trace
 *   forks N             N forks one after the other, each child allocates and exits
 *   forks-taken N       the same, after taking (when traced) the trace names TRACE.PID of
 *                       the next pids, as earlier children of a long run would have
 *   threads N           N threads alive at once, each allocates 1000 bytes
 *   realloc-fail        holds 100 MiB, fails a realloc and a reallocarray of it, adds 100 MiB
 *   mremap-race         moves a mapping while another thread maps the range it left
 *                       (needs mremap_race_shim.so preloaded after the tracer) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* self;

static void on_alarm(int signal) {
    (void)signal;
    _exit(7);
}

static int exit_in_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_alarm;
    sigaction(SIGALRM, &action, NULL);
    struct itimerval timer = {{0, 0}, {0, 3000 + (getpid() % 17) * 137}};
    setitimer(ITIMER_REAL, &timer, NULL);
    for (unsigned long i = 0; i < 4000000000ul; ++i) {
        void* p = malloc(16 + i % 2000);
        free(p);
    }
    return 1;
}

static int after_exec(void) {
    char* p = malloc(48u << 20);
    memset(p, 1, 48u << 20);
    free(p);
    const int fd = open("/dev/null", O_RDONLY);
    printf("after exec: first fd %d\n", fd);
    return 0;
}

static int execl_self(void) {
    char* p = malloc(32u << 20);
    memset(p, 5, 32u << 20);
    fflush(stdout);
    execl(self, self, "after-exec", (char*)NULL);
    return 99;
}

static void exec_after_v(void) {
    char* argv[] = {(char*)self, "after-exec", NULL};
    execv(self, argv);
    _exit(99);
}

static int wait_status(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int fork_close_exec(void) {
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        for (int fd = 3; fd < 65536; ++fd) close(fd);
        exec_after_v();
    }
    printf("child status %d\n", wait_status(pid));
    return 0;
}

static int fork_fork_exec(void) {
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        const pid_t grandchild = fork();
        if (grandchild == 0) exec_after_v();
        _exit(wait_status(grandchild));
    }
    printf("child status %d\n", wait_status(pid));
    return 0;
}

static int dup2_everywhere(const char* path) {
    const int own = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (own < 0) return 90;
    for (int fd = 3; fd < 4096; ++fd)
        if (fd != own && fcntl(fd, F_GETFD) >= 0) dup2(own, fd);
    char* p = malloc(64u << 20);
    memset(p, 2, 64u << 20);
    usleep(100000); /* several RSS samples and flushes */
    static const char text[] = "the program's own bytes\n";
    if (write(own, text, sizeof text - 1) != (ssize_t)(sizeof text - 1)) return 91;
    free(p);
    char back[256];
    const ssize_t n = pread(own, back, sizeof back, 0);
    const int clean = n == (ssize_t)(sizeof text - 1) && memcmp(back, text, (size_t)n) == 0;
    printf("own file %s (%zd bytes)\n", clean ? "intact" : "CHANGED", n);
    return clean ? 0 : 1;
}

static int fsize(void) {
    struct rlimit limit = {256 * 1024, 256 * 1024};
    setrlimit(RLIMIT_FSIZE, &limit);
    unsigned long sum = 0;
    for (int i = 0; i < 400000; ++i) {
        char* p = malloc(16 + (size_t)(i % 3000));
        p[0] = (char)i;
        sum += (unsigned char)p[0];
        free(p);
    }
    printf("done %lu\n", sum);
    return 0;
}

static int forks(int count) {
    int failed = 0;
    for (int i = 0; i < count; ++i) {
        const pid_t pid = fork();
        if (pid < 0) return 90;
        if (pid == 0) {
            void* p = malloc(1000);
            memset(p, 1, 1000);
            free(p);
            exit(0);
        }
        if (wait_status(pid) != 0) ++failed;
    }
    printf("forks %d failed %d\n", count, failed);
    return 0;
}

/* The pid `ahead` after `first`, wrapping as the kernel does at pid_max (back to 300). */
static int pid_after(pid_t first, int ahead) {
    static int pid_max = 0;
    if (!pid_max) {
        FILE* file = fopen("/proc/sys/kernel/pid_max", "r");
        if (!file || fscanf(file, "%d", &pid_max) != 1) pid_max = 32768;
        if (file) fclose(file);
    }
    const int pid = (int)first + ahead;
    return pid < pid_max ? pid : 300 + (pid - pid_max);
}

/* Creates empty TRACE.PID files for the pids after the next one, removes them at the end. */
static int forks_taken(int count) {
    const char* base = getenv("MEMOPT_TRACE");
    const int ahead = 8000; /* other processes (threads too) take pids meanwhile */
    pid_t first = 0;
    if (base) {
        first = fork();
        if (first == 0) _exit(0);
        waitpid(first, NULL, 0);
        char path[4096];
        for (int i = 1; i <= ahead; ++i) {
            snprintf(path, sizeof path, "%s.%d", base, pid_after(first, i));
            close(open(path, O_WRONLY | O_CREAT | O_EXCL, 0600));
        }
    }
    const int status = forks(count);
    if (base) {
        char path[4096];
        struct stat st;
        for (int i = 0; i <= ahead; ++i) {
            snprintf(path, sizeof path, "%s.%d", base, pid_after(first, i));
            if (stat(path, &st) == 0 && (st.st_size == 0 || i == 0)) unlink(path);
        }
    }
    return status;
}

static pthread_barrier_t g_barrier;

static void* hold_block(void* arg) {
    char* p = malloc(1000);
    p[0] = (char)(size_t)arg;
    pthread_barrier_wait(&g_barrier); /* every thread alive at once */
    free(p);
    return NULL;
}

static int threads(int count) {
    pthread_t* ids = calloc((size_t)count, sizeof *ids);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, 64 * 1024);
    pthread_barrier_init(&g_barrier, NULL, (unsigned)count + 1);
    for (int i = 0; i < count; ++i)
        if (pthread_create(&ids[i], &attributes, hold_block, (void*)(size_t)i) != 0) return 90;
    pthread_barrier_wait(&g_barrier);
    for (int i = 0; i < count; ++i) pthread_join(ids[i], NULL);
    free(ids);
    printf("threads %d\n", count);
    return 0;
}

/* A failed realloc leaves p valid, which is the point; GCC assumes it freed p. */
#pragma GCC diagnostic ignored "-Wuse-after-free"
static int realloc_fail(void) {
    const size_t size = 100u << 20;
    volatile size_t too_large = SIZE_MAX / 2, overflowing = SIZE_MAX / 4;
    char* p = malloc(size);
    memset(p, 3, size);
    void* failed = realloc(p, too_large);
    void* failed_array = reallocarray(p, overflowing, 4);
    char* q = malloc(size);
    memset(q, 4, size);
    printf("realloc %s, reallocarray %s, block kept %d\n", failed ? "succeeded" : "failed",
           failed_array ? "succeeded" : "failed", p[size - 1] == 3);
    free(q);
    free(p);
    return 0;
}

/* mremap-race: the shim preloaded after the tracer calls this from inside mremap, after
 * the real call moved the mapping: another thread maps the range just left, so its mmap
 * event is recorded while the mremap is still in progress. */
static void* g_left_range;
static size_t g_left_length;
static void* g_remapped;
/* The helper thread starts before the race and makes a traced call first: a thread created
 * inside the mremap would map its stack, and its first traced call the tracer's buffer for
 * it, and either could land in the range just left, making the test's own mmap fail. */
static pthread_mutex_t g_race_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_race_cond = PTHREAD_COND_INITIALIZER;
static int g_race_state; /* 0 ready to start, 1 warmed up, 2 asked to map, 3 mapped */

static void set_race_state(int state) {
    pthread_mutex_lock(&g_race_lock);
    g_race_state = state;
    pthread_cond_broadcast(&g_race_cond);
    pthread_mutex_unlock(&g_race_lock);
}

static void wait_race_state(int state) {
    pthread_mutex_lock(&g_race_lock);
    while (g_race_state != state) pthread_cond_wait(&g_race_cond, &g_race_lock);
    pthread_mutex_unlock(&g_race_lock);
}

static void* map_left_range(void* arg) {
    (void)arg;
    free(malloc(64)); /* the tracer sets this thread up now, not during the race */
    set_race_state(1);
    wait_race_state(2);
    g_remapped = mmap(g_left_range, g_left_length, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    set_race_state(3);
    return NULL;
}

__attribute__((visibility("default"))) void memopt_test_inside_mremap(void* old_address, size_t old_length) {
    g_left_range = old_address;
    g_left_length = old_length;
    set_race_state(2);
    wait_race_state(3);
}

static int mremap_race(void) {
    const size_t length = 8u << 20;
    pthread_t helper;
    pthread_create(&helper, NULL, map_left_range, NULL);
    wait_race_state(1);
    char* first = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* a hole after it, so growing must move */
    char* blocker = mmap(first + length, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    char* moved = mremap(first, length, 2 * length, MREMAP_MAYMOVE);
    pthread_mutex_lock(&g_race_lock);
    const int raced = g_race_state >= 2;
    pthread_mutex_unlock(&g_race_lock);
    if (!raced) set_race_state(2); /* the shim never ran: let the helper finish (length 0 fails) */
    pthread_join(helper, NULL);
    const int ok = moved != MAP_FAILED && moved != first && g_remapped == first;
    printf("moved %d, old range mapped again %d\n", moved != first, g_remapped == first);
    /* both mappings stay mapped to the end: 8 + 16 MiB */
    (void)blocker;
    return ok ? 0 : 1;
}

int main(int argc, char** argv) {
    self = argv[0];
    const char* mode = argc > 1 ? argv[1] : "";
    const int number = argc > 2 ? atoi(argv[2]) : 0;
    if (!strcmp(mode, "exit-in-handler")) return exit_in_handler();
    if (!strcmp(mode, "after-exec")) return after_exec();
    if (!strcmp(mode, "fork-close-exec")) return fork_close_exec();
    if (!strcmp(mode, "fork-fork-exec")) return fork_fork_exec();
    if (!strcmp(mode, "first-fd")) return after_exec();
    if (!strcmp(mode, "dup2-everywhere") && argc > 2) return dup2_everywhere(argv[2]);
    if (!strcmp(mode, "fsize")) return fsize();
    if (!strcmp(mode, "forks")) return forks(number);
    if (!strcmp(mode, "forks-taken")) return forks_taken(number);
    if (!strcmp(mode, "threads")) return threads(number);
    if (!strcmp(mode, "realloc-fail")) return realloc_fail();
    if (!strcmp(mode, "mremap-race")) return mremap_race();
    if (!strcmp(mode, "execl-self")) return execl_self();
    fprintf(stderr, "usage: hardening_program MODE [N]\n");
    return 2;
}
