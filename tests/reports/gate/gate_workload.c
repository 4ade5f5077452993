/* A program of known memory use for the gate tests:
 *   gate_workload MIB [STATUS]  allocates MIB MiB in 1 MiB blocks, touches every page,
 *   prints "allocated MIB MiB", frees everything and exits with STATUS (default 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
    if (argc < 2) return 64;
    const int mib = atoi(argv[1]);
    const int status = argc > 2 ? atoi(argv[2]) : 0;
    char** blocks = calloc((size_t)(mib > 0 ? mib : 1), sizeof *blocks);
    for (int i = 0; i < mib; ++i) {
        blocks[i] = malloc(1 << 20);
        memset(blocks[i], i & 0xff, 1 << 20);
    }
    printf("allocated %d MiB\n", mib);
    for (int i = 0; i < mib; ++i) free(blocks[i]);
    free(blocks);
    return status;
}
