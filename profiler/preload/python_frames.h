#pragma once
// Python frames for hybrid stacks: at sample time the allocating thread reads its OWN
// CPython 3.11 frame chain by plain memory reads (no Python API that could allocate, take
// the GIL or run Python code), so each `_PyEval_EvalFrameDefault` native frame can be
// replaced by the Python frames it was running (stacks.cpp merges the two).
//
// Where the interpreter is: looked up with dlsym(RTLD_DEFAULT) at the first sampled stack
// (Debian links libpython into /usr/bin/python3 itself), and looked up again whenever the set
// of loaded objects changes (a program may dlopen libpython later). A process without Python
// stays native-only and silent; a Python other than a 3.11 release build stays native-only
// and says so once on stderr.
//
// Why this is safe without the GIL: a thread's frame chain is changed only by that thread,
// and the sampling thread is inside malloc, so its own chain is stable; every frame holds a
// strong reference to its code object, which holds its name, file name and line table.
// PyGILState_GetThisThreadState is a pthread_getspecific of the thread's own state (no lock,
// no allocation), valid with or without the GIL.
#include <cstdint>

namespace memopt::preload {

// Layout of the slots capture_stack leaves after the native instruction pointers: two per
// Python frame, innermost first. User-space addresses never have bit 63 set.
inline constexpr std::uintptr_t kPythonSlotTag = std::uintptr_t{1} << 63;
// In a frame's first slot (beside the code object's address, which is 16-aligned): this frame
// is the entry frame of one `_PyEval_EvalFrameDefault` call (the outermost frame it runs).
inline constexpr std::uintptr_t kPythonEntryBit = 1;
// First slot: tag | code object address | entry bit (code address 0: a frame not started yet,
// kept only for its entry bit). Second slot: the instruction index (code units) it is at.

// True once a supported interpreter was found; tries the lookup again when asked to.
bool python_frames_available() noexcept;
// The set of loaded objects changed: look for an interpreter again at the next sample.
void python_recheck_interpreter() noexcept;
// True for an instruction pointer inside `_PyEval_EvalFrameDefault`.
bool in_eval_loop(std::uintptr_t ip) noexcept;
void set_eval_loop_for_tests(std::uintptr_t begin, std::uintptr_t end) noexcept;

// Appends this thread's Python frames (innermost first, two slots each) to `slots`; returns
// the number of slots written (0: no interpreter, or this thread runs no Python). `*cut` is
// set when the chain had more frames than `capacity` allows.
int append_python_frames_signal_safe(std::uintptr_t* slots, int capacity, bool* cut) noexcept;

// Field offsets of CPython 3.11 (x86-64 and other LP64 targets), checked against Python's own
// headers by tests/preload/python_layout_test.cpp.
namespace py311 {
inline constexpr unsigned kThreadStateCFrame = 56;    // PyThreadState.cframe
inline constexpr unsigned kCFrameCurrentFrame = 8;    // _PyCFrame.current_frame
inline constexpr unsigned kFrameCode = 32;            // _PyInterpreterFrame.f_code
inline constexpr unsigned kFramePrevious = 48;        // .previous
inline constexpr unsigned kFramePrevInstr = 56;       // .prev_instr
inline constexpr unsigned kFrameIsEntry = 68;         // .is_entry (bool)
inline constexpr unsigned kFrameOwner = 69;           // .owner (char)
inline constexpr unsigned kFrameOwnedByGenerator = 1; // FRAME_OWNED_BY_GENERATOR
inline constexpr unsigned kObjectType = 8;            // PyObject.ob_type
inline constexpr unsigned kVarObjectSize = 16;        // PyVarObject.ob_size
inline constexpr unsigned kCodeFirstLine = 72;        // PyCodeObject.co_firstlineno (int)
inline constexpr unsigned kCodeFilename = 112;        // .co_filename
inline constexpr unsigned kCodeName = 120;            // .co_name
inline constexpr unsigned kCodeQualname = 128;        // .co_qualname
inline constexpr unsigned kCodeLinetable = 136;       // .co_linetable (bytes)
inline constexpr unsigned kCodeFirstTraceable = 168;  // ._co_firsttraceable (int)
inline constexpr unsigned kCodeAdaptive = 184;        // .co_code_adaptive (the instructions)
inline constexpr unsigned kBytesData = 32;            // PyBytesObject.ob_sval
inline constexpr unsigned kUnicodeLength = 16;        // PyASCIIObject.length
inline constexpr unsigned kUnicodeState = 32;         // PyASCIIObject.state (bit field)
inline constexpr unsigned kAsciiData = 48;            // sizeof(PyASCIIObject)
inline constexpr unsigned kCompactData = 72;          // sizeof(PyCompactUnicodeObject)
} // namespace py311

// The types a code object and its fields must have (resolved with the interpreter): a
// pointer that does not point at an object of the expected type is not followed.
struct PythonTypes {
    std::uintptr_t code = 0;
    std::uintptr_t unicode = 0;
    std::uintptr_t bytes = 0;
};
const PythonTypes& python_types() noexcept;

inline std::uintptr_t read_word(std::uintptr_t address) noexcept {
    return *reinterpret_cast<const std::uintptr_t*>(address);
}
inline int read_int(std::uintptr_t address) noexcept { return *reinterpret_cast<const int*>(address); }
inline bool is_object_of(std::uintptr_t object, std::uintptr_t type) noexcept {
    return object != 0 && (object & 7) == 0 && object < (std::uintptr_t{1} << 47) &&
           read_word(object + py311::kObjectType) == type;
}

} // namespace memopt::preload
