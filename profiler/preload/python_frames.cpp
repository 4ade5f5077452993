#include "profiler/preload/python_frames.h"

#include "profiler/preload/sink.h"
#include "profiler/trace/format.h"

#include <atomic>
#include <cstdlib>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>

namespace memopt::preload {
namespace {

enum class Lookup : int { kPending, kFound, kAbsent, kUnsupported };

using GetThisThreadState = void* (*)();

std::atomic<int> g_lookup{static_cast<int>(Lookup::kPending)};
std::atomic<bool> g_warned{false};
GetThisThreadState g_this_thread_state = nullptr;
std::uintptr_t g_eval_begin = 0;
std::uintptr_t g_eval_end = 0;
PythonTypes g_types;

// The interpreter's version as Py_Version encodes it (0x030B07F0 for 3.11.7), 0 when the
// symbol is missing (Python 3.10 and older have no Py_Version).
unsigned long interpreter_version() noexcept {
    const auto* version = static_cast<const unsigned long*>(::dlsym(RTLD_DEFAULT, "Py_Version"));
    return version ? *version : 0;
}

void warn_unsupported(unsigned long version) noexcept {
    if (g_warned.exchange(true)) return;
    char message[] = "Python ?.?? is not supported for Python frames (3.11 is): stacks show native frames only";
    if (version == 0) {
        say_signal_safe("this Python (older than 3.11, or a build without Py_Version) is not supported "
                        "for Python frames (3.11 is): stacks show native frames only");
        return;
    }
    const unsigned major = (version >> 24) & 0xff, minor = (version >> 16) & 0xff;
    message[7] = static_cast<char>('0' + major % 10);
    message[9] = static_cast<char>('0' + minor / 10 % 10);
    message[10] = static_cast<char>('0' + minor % 10);
    if (minor < 10) { // "3.9 " rather than "3.09"
        message[9] = message[10];
        message[10] = ' ';
    }
    say_signal_safe(message);
}

// The address range of _PyEval_EvalFrameDefault, from its dynamic symbol's size.
bool find_eval_loop() noexcept {
    void* start = ::dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
    if (!start) return false;
    Dl_info info{};
    void* entry = nullptr;
    if (!::dladdr1(start, &info, &entry, RTLD_DL_SYMENT) || !entry) return false;
    const auto* symbol = static_cast<const ElfW(Sym)*>(entry);
    if (symbol->st_size == 0) return false;
    g_eval_begin = reinterpret_cast<std::uintptr_t>(start);
    g_eval_end = g_eval_begin + symbol->st_size;
    return true;
}

Lookup look_up_interpreter() noexcept {
    auto* this_thread_state = reinterpret_cast<GetThisThreadState>(::dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState"));
    if (!this_thread_state) return Lookup::kAbsent; // not a Python process (yet)
    const unsigned long version = interpreter_version();
    // A debug build (Py_REF_DEBUG, Py_TRACE_REFS) lays objects out differently.
    const bool debug_build = ::dlsym(RTLD_DEFAULT, "_Py_RefTotal") != nullptr;
    if ((version >> 16) != 0x030B || debug_build) {
        warn_unsupported(debug_build ? 0 : version);
        return Lookup::kUnsupported;
    }
    g_types.code = reinterpret_cast<std::uintptr_t>(::dlsym(RTLD_DEFAULT, "PyCode_Type"));
    g_types.unicode = reinterpret_cast<std::uintptr_t>(::dlsym(RTLD_DEFAULT, "PyUnicode_Type"));
    g_types.bytes = reinterpret_cast<std::uintptr_t>(::dlsym(RTLD_DEFAULT, "PyBytes_Type"));
    if (!g_types.code || !g_types.unicode || !g_types.bytes || !find_eval_loop()) {
        warn_unsupported(version);
        return Lookup::kUnsupported;
    }
    g_this_thread_state = this_thread_state;
    return Lookup::kFound;
}

// The frame's instruction index, or -1 for a frame that has not started running its code
// (CPython's _PyFrame_IsIncomplete: its instruction pointer is before _co_firsttraceable).
int instruction_index(std::uintptr_t frame, std::uintptr_t code) noexcept {
    const std::uintptr_t first = code + py311::kCodeAdaptive;
    const auto prev_instr = read_word(frame + py311::kFramePrevInstr);
    const auto index = (static_cast<std::intptr_t>(prev_instr) - static_cast<std::intptr_t>(first)) / 2;
    const bool generator = *reinterpret_cast<const char*>(frame + py311::kFrameOwner) ==
                           static_cast<char>(py311::kFrameOwnedByGenerator);
    if (!generator && index < read_int(code + py311::kCodeFirstTraceable)) return -1;
    return index < 0 ? 0 : static_cast<int>(index);
}

// MEMOPT_PYTHON_FRAMES=0: native stacks only (to compare, or to rule the Python reading out).
__attribute__((constructor)) void read_python_frames_setting() noexcept {
    const char* setting = ::getenv(trace::kEnvPythonFrames);
    if (setting && setting[0] == '0' && setting[1] == '\0') g_lookup.store(static_cast<int>(Lookup::kUnsupported));
}

} // namespace

bool python_frames_available() noexcept {
    int state = g_lookup.load(std::memory_order_acquire);
    if (state == static_cast<int>(Lookup::kPending)) {
        // Two threads may look up at once: both find the same values.
        state = static_cast<int>(look_up_interpreter());
        g_lookup.store(state, std::memory_order_release);
    }
    return state == static_cast<int>(Lookup::kFound);
}

void python_recheck_interpreter() noexcept {
    int absent = static_cast<int>(Lookup::kAbsent);
    g_lookup.compare_exchange_strong(absent, static_cast<int>(Lookup::kPending));
}

bool in_eval_loop(std::uintptr_t ip) noexcept { return ip > g_eval_begin && ip <= g_eval_end; }

void set_eval_loop_for_tests(std::uintptr_t begin, std::uintptr_t end) noexcept {
    g_eval_begin = begin;
    g_eval_end = end;
}

const PythonTypes& python_types() noexcept { return g_types; }

int append_python_frames_signal_safe(std::uintptr_t* slots, int capacity, bool* cut) noexcept {
    *cut = false;
    if (!python_frames_available()) return 0;
    const auto tstate = reinterpret_cast<std::uintptr_t>(g_this_thread_state());
    if (tstate == 0) return 0; // a thread Python does not know (or interpreter not started)
    const std::uintptr_t cframe = read_word(tstate + py311::kThreadStateCFrame);
    if (cframe == 0) return 0;
    int used = 0;
    for (std::uintptr_t frame = read_word(cframe + py311::kCFrameCurrentFrame); frame != 0;
         frame = read_word(frame + py311::kFramePrevious)) {
        if (used + 2 > capacity) {
            *cut = true;
            break;
        }
        const std::uintptr_t code = read_word(frame + py311::kFrameCode);
        if (!is_object_of(code, g_types.code)) break; // not a frame we understand: stop here
        const bool entry = *reinterpret_cast<const bool*>(frame + py311::kFrameIsEntry);
        const int index = instruction_index(frame, code);
        slots[used++] = kPythonSlotTag | (index < 0 ? 0 : code) | (entry ? kPythonEntryBit : 0);
        slots[used++] = static_cast<std::uintptr_t>(index < 0 ? 0 : index);
    }
    return used;
}

} // namespace memopt::preload
