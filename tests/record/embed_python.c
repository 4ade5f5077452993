/* A native program that loads libpython with dlopen after it started, then runs Python code:
 * the tracer must find the interpreter then (it looks again when new modules load). */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
    void* lib = dlopen("libpython3.11.so.1.0", RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    void (*initialize)(void) = (void (*)(void))dlsym(lib, "Py_Initialize");
    int (*run)(const char*) = (int (*)(const char*))dlsym(lib, "PyRun_SimpleString");
    if (!initialize || !run) return 1;
    initialize();
    return run("def embedded():\n    return bytearray(100_000_000)\nkept = embedded()\n");
}
