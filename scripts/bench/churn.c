/* Benchmark workload: native allocation churn, the tracer's worst case (nothing but
 * malloc/free). `churn [PAIRS [THREADS]]`: PAIRS malloc/free pairs (default 20 M) of sizes
 * 16..527 bytes, split over THREADS threads (default 1). Prints the pair count. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void* churn(void* arg) {
    const long pairs = (long)arg;
    for (long i = 0; i < pairs; ++i) free(malloc(16 + (size_t)(i % 512)));
    return NULL;
}

int main(int argc, char** argv) {
    const long pairs = argc > 1 ? atol(argv[1]) : 20000000L;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1 || threads > 64) threads = 1;
    pthread_t ids[64];
    for (int t = 1; t < threads; ++t) pthread_create(&ids[t], NULL, churn, (void*)(pairs / threads));
    churn((void*)(pairs / threads));
    for (int t = 1; t < threads; ++t) pthread_join(ids[t], NULL);
    printf("churned %ld\n", pairs / threads * threads);
    return 0;
}
