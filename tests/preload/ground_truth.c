/* A program whose allocations are known exactly, traced by the end-to-end tests.
 * Usage: ground_truth leak|noleak|exit-flush
 * Prints "expected_peak_bytes=N deliberate_leak_bytes=N known_allocations=N known_frees=N".
 * Output goes through write(2) so stdio buffers add nothing to the heap. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MiB (1024UL * 1024UL)
#define THREADS 4
#define SMALL_PER_THREAD 250000

static void (*phase_begin)(const char*);
static void (*phase_end)(const char*);
static unsigned long known_allocations, known_frees;

static void phase(int begin, const char* name) {
    void (*marker)(const char*) = begin ? phase_begin : phase_end;
    if (marker) marker(name);
}

static void touch(void* p, size_t n) { memset(p, 1, n); }

static void* small_churn(void* arg) {
    (void)arg;
    for (int i = 0; i < SMALL_PER_THREAD; ++i) {
        void* volatile p = malloc(32 + (size_t)(i % 8) * 16);
        free(p);
    }
    return NULL;
}

/* exit-flush: threads whose records are written last by their exit handlers, all at once
 * (a barrier), so those flushes make compression contexts of their own: the tracer's
 * mappings, never the program's. The program itself maps nothing. */
#define EXIT_THREADS 12
static pthread_barrier_t exit_barrier;

static void* churn_then_exit_together(void* arg) {
    (void)arg;
    for (int i = 0; i < 3000; ++i) {
        void* volatile p = malloc(48 + (size_t)(i % 5) * 16);
        free(p);
    }
    pthread_barrier_wait(&exit_barrier);
    return NULL;
}

static int exit_flush(void) {
    for (int round = 0; round < 4; ++round) {
        pthread_t threads[EXIT_THREADS];
        pthread_barrier_init(&exit_barrier, NULL, EXIT_THREADS);
        for (int i = 0; i < EXIT_THREADS; ++i) pthread_create(&threads[i], NULL, churn_then_exit_together, NULL);
        for (int i = 0; i < EXIT_THREADS; ++i) pthread_join(threads[i], NULL);
        pthread_barrier_destroy(&exit_barrier);
    }
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1 && strcmp(argv[1], "exit-flush") == 0) return exit_flush();
    const int leak = argc > 1 && strcmp(argv[1], "leak") == 0;
    phase_begin = (void (*)(const char*))dlsym(RTLD_DEFAULT, "memopt_phase_begin");
    phase_end = (void (*)(const char*))dlsym(RTLD_DEFAULT, "memopt_phase_end");

    phase(1, "blocks");
    size_t held = 0;
    void* big = malloc(64 * MiB);                 touch(big, 64 * MiB); held += 64 * MiB;
    void* zeroed = calloc(32, MiB);               held += 32 * MiB;
    void* grow = malloc(1 * MiB);
    grow = realloc(grow, 2 * MiB);
    grow = realloc(grow, 4 * MiB);
    grow = realloc(grow, 8 * MiB);
    grow = realloc(grow, 16 * MiB);               touch(grow, 16 * MiB); held += 16 * MiB;
    void* page_aligned = NULL;
    if (posix_memalign(&page_aligned, 4096, 3 * MiB) != 0) return 3;
    held += 3 * MiB;
    void* line_aligned = aligned_alloc(64, 1 * MiB);  held += 1 * MiB;
    void* odd_aligned = memalign(256, 2 * MiB);       held += 2 * MiB;
    void* valloced = valloc(1 * MiB);                 held += 1 * MiB;
    void* pvalloced = pvalloc(1 * MiB);               held += 1 * MiB;
    void* array = reallocarray(NULL, 1000, 1000);     held += 1000 * 1000;
    char* mapped = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) return 3;
    touch(mapped, 8 * MiB);                           held += 8 * MiB;
    const size_t expected_peak = held;
    /* malloc, calloc, 1 malloc + 4 realloc, 5 aligned, reallocarray, mmap */
    known_allocations += 1 + 1 + 5 + 5 + 1 + 1;
    known_frees += 4; /* each realloc releases the previous block */

    munmap(mapped + 4 * MiB, 4 * MiB); /* a partial unmap, then the rest */
    munmap(mapped, 4 * MiB);
    free(big); free(zeroed); free(grow); free(page_aligned); free(line_aligned);
    free(odd_aligned); free(valloced); free(pvalloced); free(array);
    known_frees += 2 + 9;
    phase(0, "blocks");

    phase(1, "threads");
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; ++i) pthread_create(&threads[i], NULL, small_churn, NULL);
    for (int i = 0; i < THREADS; ++i) pthread_join(threads[i], NULL);
    known_allocations += THREADS * SMALL_PER_THREAD;
    known_frees += THREADS * SMALL_PER_THREAD;
    phase(0, "threads");

    void* leaks[3] = {malloc(1000), malloc(2000), malloc(3077)};
    known_allocations += 3;
    if (!leak) {
        for (int i = 0; i < 3; ++i) free(leaks[i]);
        known_frees += 3;
    }
    char line[256];
    const int n = snprintf(line, sizeof line,
                           "expected_peak_bytes=%zu deliberate_leak_bytes=%d known_allocations=%lu "
                           "known_frees=%lu\n",
                           expected_peak, 6077, known_allocations, known_frees);
    if (write(1, line, (size_t)n) != n) return 4;
    return 0;
}
