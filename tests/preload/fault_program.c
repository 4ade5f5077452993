/* Programs that stress what a preloaded tracer must survive. Each mode prints a
 * deterministic result and exits with a known status, traced or not:
 *   fork50       50 children (each allocates, exits with i % 7); parent sums their statuses
 *   threads16    16 threads x 20000 malloc/realloc/free; prints the checksum
 *   exec         allocates, then execv()s itself in mode after-exec (exit 4)
 *   exit-thread  a thread calls exit(3) while the main thread keeps allocating
 *   sigkill      allocates, prints, then SIGKILLs itself (status 137)
 *   churn N      N malloc/free pairs of mixed sizes (a large trace); prints the count
 *   spawn-child  forks a child that runs `fault_program fork50` (fork + exec in children) */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void* work(void* arg) {
    unsigned long seed = (unsigned long)(size_t)arg, sum = 0;
    for (int i = 0; i < 20000; ++i) {
        seed = seed * 6364136223846793005ul + 1442695040888963407ul;
        size_t size = 16 + (seed >> 33) % 4096;
        char* p = malloc(size);
        p[0] = (char)i;
        p = realloc(p, size * 2);
        sum += (unsigned char)p[0];
        free(p);
    }
    return (void*)sum;
}

static void* exit_from_thread(void* arg) {
    (void)arg;
    usleep(20000);
    printf("thread calls exit(3)\n");
    fflush(stdout);
    exit(3);
}

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "fork50")) {
        int sum = 0;
        pid_t pids[50];
        for (int i = 0; i < 50; ++i) {
            pids[i] = fork();
            if (pids[i] < 0) return 90;
            if (pids[i] == 0) {
                void* p = malloc(1000 + (size_t)i * 100);
                memset(p, i, 1000);
                free(p);
                exit(i % 7);
            }
        }
        for (int i = 0; i < 50; ++i) {
            int status = 0;
            if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status)) return 91;
            sum += WEXITSTATUS(status);
        }
        printf("children=50 status_sum=%d\n", sum);
        return 0;
    }
    if (!strcmp(mode, "threads16")) {
        pthread_t threads[16];
        unsigned long total = 0;
        for (long i = 0; i < 16; ++i) pthread_create(&threads[i], NULL, work, (void*)(i + 1));
        for (int i = 0; i < 16; ++i) {
            void* result = NULL;
            pthread_join(threads[i], &result);
            total += (unsigned long)result;
        }
        printf("threads=16 checksum=%lu\n", total);
        return 0;
    }
    if (!strcmp(mode, "exec")) {
        char* p = malloc(1 << 20);
        memset(p, 1, 1 << 20);
        printf("before exec\n");
        fflush(stdout);
        char* args[] = {argv[0], "after-exec", NULL};
        execv("/proc/self/exe", args);
        return 92;
    }
    if (!strcmp(mode, "after-exec")) {
        char* p = malloc(2 << 20);
        memset(p, 2, 2 << 20);
        printf("after exec\n");
        return 4;
    }
    if (!strcmp(mode, "exit-thread")) {
        pthread_t thread;
        pthread_create(&thread, NULL, exit_from_thread, NULL);
        for (;;) {
            void* p = malloc(512);
            free(p);
        }
    }
    if (!strcmp(mode, "sigkill")) {
        for (int i = 0; i < 1000; ++i) free(malloc(100));
        void* keep = malloc(5 << 20);
        memset(keep, 3, 5 << 20);
        printf("about to be killed\n");
        fflush(stdout);
        /* The tracer flushes every 20 ms and promises at most ~100 ms lost to SIGKILL; with
         * 50 ms here, 2 of 140 runs on an overloaded 2-core machine lost the allocation. */
        usleep(250000);
        kill(getpid(), SIGKILL);
        return 93;
    }
    if (!strcmp(mode, "churn")) {
        long n = argc > 2 ? atol(argv[2]) : 100000;
        for (long i = 0; i < n; ++i) free(malloc(16 + (size_t)(i % 512)));
        printf("churned %ld\n", n);
        return 0;
    }
    if (!strcmp(mode, "spawn-child")) {
        pid_t pid = fork();
        if (pid == 0) {
            char* args[] = {argv[0], "fork50", NULL};
            execv("/proc/self/exe", args);
            _exit(94);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        printf("child status %d\n", WEXITSTATUS(status));
        return 0;
    }
    fprintf(stderr, "usage: fault_program MODE\n");
    return 64;
}
