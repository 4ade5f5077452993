/* Looks like a Python other than 3.11 to the tracer: it exports the symbols the tracer
 * looks up (profiler/preload/python_frames.h) with Py_Version saying 3.12. The tracer must
 * stay native-only and warn once. Allocates in a loop so many stacks are sampled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const unsigned long Py_Version = 0x030C01F0; /* 3.12.1 */

void* PyGILState_GetThisThreadState(void) {
    fputs("PyGILState_GetThisThreadState must not be called for an unsupported Python\n", stderr);
    abort();
}

void* _PyEval_EvalFrameDefault(void* tstate, void* frame, int throwflag) {
    (void)frame;
    (void)throwflag;
    return tstate;
}

__attribute__((noinline)) static void allocate_many(void) {
    for (int i = 0; i < 2000; ++i) {
        char* block = malloc(4096);
        memset(block, i, 4096);
        free(block);
    }
}

int main(void) {
    allocate_many();
    puts("done");
    return 0;
}
