/* More distinct stacks than the tracer's frame trie holds (profiler/preload/stacks.cpp):
 * ten outer frames, each one of two functions, pick one of 1024 paths down to the same
 * 300-frame recursion that allocates at its bottom. Paths differ near the root, so every
 * path adds about 300 trie nodes: 1024 paths need ~310,000, more than the trie's ~196,000.
 * Built -O1 without tail calls, so every frame stays on the stack. */
#include <stdlib.h>

static volatile int sink;

__attribute__((noinline)) static void deep(int n) {
    if (n == 0) {
        free(malloc(32));
        return;
    }
    deep(n - 1);
    sink += n;
}

__attribute__((noinline)) static void left(int path, int level);
__attribute__((noinline)) static void right(int path, int level);

static void branch(int path, int level) {
    if (level == 10) deep(300);
    else if ((path >> level) & 1) right(path, level + 1);
    else left(path, level + 1);
}

__attribute__((noinline)) static void left(int path, int level) {
    branch(path, level);
    sink += 1;
}

__attribute__((noinline)) static void right(int path, int level) {
    branch(path, level);
    sink += 2;
}

int main(void) {
    for (int path = 0; path < 1024; ++path) branch(path, 0);
    return 0;
}
