// Sampled allocation tracking: PyMem hooks, PyTraceMalloc_Track interposition, the sample
// table and the per-stack totals. See alloc_sampler.h for the method; hot-path rules
// (as on the tracer's hot path): the fast paths are noexcept, allocate nothing and take no lock.
#include "profiler/probe/alloc_sampler.h"

#include "profiler/probe/import_frames.h"
#include "profiler/probe/process_stats.h"
#include "profiler/probe/tracemalloc_interpose.h"

#include <Python.h>
#include <frameobject.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <string_view>
#include <unistd.h>
#include <unordered_map>

namespace memopt::probe {

namespace {

constexpr int kMaxFrames = kSampledMaxFrames;
constexpr int kMaxWalk = 256; // frames walked per sample, machinery included
constexpr std::size_t kFilterSize = 1 << 16;
constexpr double kPeakStep = 1.02;
constexpr std::int64_t kPeakMinStep = 1 << 20;

#define MEMOPT_TLS thread_local __attribute__((tls_model("initial-exec")))
MEMOPT_TLS std::int64_t t_countdown = 0;
MEMOPT_TLS std::uint64_t t_rng = 0;
MEMOPT_TLS bool t_reentrant = false;

std::atomic<bool> g_running{false};
std::atomic<bool> g_paused{false};
double g_mean = 256 * 1024;
bool g_exact = false;

// Counting filter over sampled addresses: a zero means "certainly not sampled", so a free
// costs one load unless its slot is shared with a sampled block.
std::atomic<std::uint32_t> g_filter[kFilterSize];

inline std::size_t slot_of(const void* p) noexcept {
    return static_cast<std::size_t>(((reinterpret_cast<std::uintptr_t>(p) >> 4) * 0x9E3779B97F4A7C15ull) >> 48);
}

struct Entry {
    std::int64_t weight;
    std::uint32_t stack;
};

struct StackInfo {
    std::vector<std::uint64_t> frames; // (function id << 32) | line, innermost first
    std::int64_t bytes = 0;
    std::int64_t samples = 0;
};

struct Function {
    std::string file, name;
};

struct PeakRow {
    std::uint32_t stack;
    std::int64_t bytes, samples;
};

// Everything below is guarded by g_mutex.
std::mutex g_mutex;
std::unordered_map<std::uintptr_t, Entry> g_table;
std::unordered_map<PyCodeObject*, std::uint32_t> g_codes; // owned references
std::vector<Function> g_functions;
std::unordered_map<std::string, std::uint32_t> g_stack_index; // frames as bytes -> id
std::vector<StackInfo> g_stacks;
std::int64_t g_samples = 0;
std::int64_t g_peak_copies = 0;
std::int64_t g_peak_next = kPeakMinStep;
double g_peak_t = -1;
std::int64_t g_peak_estimate = 0;
std::int64_t g_peak_rss = 0;
std::vector<PeakRow> g_peak_rows;

std::atomic<std::int64_t> g_current{0};
std::atomic<std::int64_t> g_interval_peak{0};

// ---- random countdown ------------------------------------------------------------------

inline std::uint64_t next_random() noexcept {
    if (t_rng == 0) t_rng = (reinterpret_cast<std::uintptr_t>(&t_rng) ^ 0x2545F4914F6CDD1Dull) | 1;
    t_rng ^= t_rng >> 12;
    t_rng ^= t_rng << 25;
    t_rng ^= t_rng >> 27;
    return t_rng * 0x2545F4914F6CDD1Dull;
}

inline std::int64_t draw_countdown() noexcept {
    if (g_exact) return 0;
    const double u = (static_cast<double>(next_random() >> 11) + 1.0) * (1.0 / 9007199254740992.0); // (0, 1]
    return static_cast<std::int64_t>(-std::log(u) * g_mean) + 1;
}

inline std::int64_t weight_of(std::size_t size) noexcept {
    if (g_exact) return static_cast<std::int64_t>(size);
    if (size == 0) return 0;
    const double s = static_cast<double>(size);
    return static_cast<std::int64_t>(s / -std::expm1(-s / g_mean));
}

// ---- Python stack (GIL held, t_reentrant set) ---------------------------------------

struct RawFrame {
    PyCodeObject* code; // new reference
    int line;
    const char* file;
    const char* name;
};

const char* utf8_or(PyObject* s, const char* fallback) noexcept {
    if (!s || !PyUnicode_Check(s)) return fallback;
    const char* utf8 = PyUnicode_AsUTF8(s);
    if (!utf8) {
        PyErr_Clear();
        return fallback;
    }
    return utf8;
}

// The innermost kMaxFrames frames outside the import machinery (import_frames.h), walking
// at most kMaxWalk frames: during nested imports most frames are importlib's, and without
// them the stack reaches the script's `import` line. A stack of machinery only keeps its innermost frame.
int capture_stack(RawFrame* out) noexcept {
    if (!PyGILState_Check()) return 0;
    PyThreadState* ts = _PyThreadState_UncheckedGet();
    if (!ts) return 0;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    const int gc_was_enabled = PyGC_Disable(); // creating frame objects must not run a collection
    int n = 0, walked = 0;
    RawFrame machinery{nullptr, 0, nullptr, nullptr}; // the innermost one, kept if nothing else is found
    PyFrameObject* frame = PyThreadState_GetFrame(ts);
    while (frame && n < kMaxFrames && walked++ < kMaxWalk) {
        PyCodeObject* code = PyFrame_GetCode(frame);
        const char* file = utf8_or(code->co_filename, "<unknown>");
        const RawFrame raw{code, PyFrame_GetLineNumber(frame), file, utf8_or(code->co_name, "?")};
        if (!is_import_machinery(file)) out[n++] = raw;
        else if (!machinery.code) machinery = raw;
        else Py_DECREF(code);
        PyFrameObject* back = PyFrame_GetBack(frame);
        Py_DECREF(frame);
        frame = back;
    }
    Py_XDECREF(frame);
    if (machinery.code) {
        if (n == 0) out[n++] = machinery;
        else Py_DECREF(machinery.code);
    }
    if (gc_was_enabled) PyGC_Enable();
    PyErr_Restore(type, value, traceback);
    return n;
}

std::uint32_t intern_stack_locked(const RawFrame* frames, int n) {
    std::uint64_t keys[kMaxFrames];
    for (int i = 0; i < n; ++i) {
        auto [it, inserted] = g_codes.try_emplace(frames[i].code, static_cast<std::uint32_t>(g_functions.size()));
        if (inserted) {
            Py_INCREF(frames[i].code); // keeps the address unique
            g_functions.push_back({frames[i].file, frames[i].name});
        }
        keys[i] = (static_cast<std::uint64_t>(it->second) << 32) | static_cast<std::uint32_t>(frames[i].line);
    }
    std::string key(reinterpret_cast<const char*>(keys), sizeof(std::uint64_t) * static_cast<std::size_t>(n));
    auto [it, inserted] = g_stack_index.try_emplace(std::move(key), static_cast<std::uint32_t>(g_stacks.size()));
    if (inserted) g_stacks.push_back({std::vector<std::uint64_t>(keys, keys + n), 0, 0});
    return it->second;
}

// ---- the table ----------------------------------------------------------------------

void remove_locked(std::uintptr_t address) {
    auto it = g_table.find(address);
    if (it == g_table.end()) return;
    StackInfo& stack = g_stacks[it->second.stack];
    stack.bytes -= it->second.weight;
    --stack.samples;
    g_current.fetch_sub(it->second.weight, std::memory_order_relaxed);
    g_filter[slot_of(reinterpret_cast<void*>(address))].fetch_sub(1, std::memory_order_relaxed);
    g_table.erase(it);
}

void copy_peak_locked(std::int64_t current) {
    g_peak_rows.clear();
    for (std::uint32_t i = 0; i < g_stacks.size(); ++i)
        if (g_stacks[i].bytes > 0) g_peak_rows.push_back({i, g_stacks[i].bytes, g_stacks[i].samples});
    g_peak_t = now_s();
    g_peak_estimate = current;
    g_peak_rss = rss_bytes();
    ++g_peak_copies;
    g_peak_next = std::max(static_cast<std::int64_t>(static_cast<double>(current) * kPeakStep), current + kPeakMinStep);
}

void record(void* ptr, std::size_t size) noexcept {
    t_reentrant = true;
    RawFrame frames[kMaxFrames];
    const int n = capture_stack(frames);
    const std::int64_t weight = weight_of(size);
    const auto address = reinterpret_cast<std::uintptr_t>(ptr);
    try {
        std::lock_guard lock(g_mutex);
        if (g_filter[slot_of(ptr)].load(std::memory_order_relaxed) != 0) remove_locked(address);
        const std::uint32_t stack = intern_stack_locked(frames, n);
        g_table.emplace(address, Entry{weight, stack});
        g_filter[slot_of(ptr)].fetch_add(1, std::memory_order_relaxed);
        g_stacks[stack].bytes += weight;
        ++g_stacks[stack].samples;
        ++g_samples;
        const std::int64_t current = g_current.fetch_add(weight, std::memory_order_relaxed) + weight;
        if (current > g_interval_peak.load(std::memory_order_relaxed))
            g_interval_peak.store(current, std::memory_order_relaxed);
        if (current >= g_peak_next) copy_peak_locked(current);
    } catch (...) {
        // Out of memory in the sampler's own tables: stop sampling, the program goes on.
        g_running = false;
        static const char message[] = "memopt probe: allocation sampling stopped (out of memory)\n";
        [[maybe_unused]] auto ignored = ::write(2, message, sizeof message - 1);
    }
    for (int i = 0; i < n; ++i) Py_DECREF(frames[i].code);
    t_reentrant = false;
}

void on_alloc_slow(void* ptr, std::size_t size) noexcept {
    if (t_reentrant) return; // the sampler's own allocations; the countdown stays due
    t_countdown = draw_countdown();
    if (!g_running.load(std::memory_order_relaxed) || g_paused.load(std::memory_order_relaxed)) return;
    record(ptr, size);
}

inline void on_alloc_fast(void* ptr, std::size_t size) noexcept {
    if (!ptr) return;
    t_countdown -= static_cast<std::int64_t>(size);
    if (t_countdown > 0) return;
    on_alloc_slow(ptr, size);
}

void on_free_slow(void* ptr) noexcept {
    std::lock_guard lock(g_mutex);
    remove_locked(reinterpret_cast<std::uintptr_t>(ptr));
}

inline void on_free_fast(void* ptr) noexcept {
    if (!ptr || g_filter[slot_of(ptr)].load(std::memory_order_relaxed) == 0) return;
    on_free_slow(ptr);
}

// ---- PyMem hooks --------------------------------------------------------------------

PyMemAllocatorEx g_original[3];
bool g_installed = false;

// pymalloc (MEM, OBJ) hands requests over 512 bytes to PyMem_RawMalloc: while a MEM/OBJ hook
// runs the original allocator, the RAW hook only forwards, so no block is counted twice.
MEMOPT_TLS bool t_in_pymem = false;

struct PymemScope {
    bool outer;
    PymemScope() noexcept : outer(t_in_pymem) { t_in_pymem = true; }
    ~PymemScope() { t_in_pymem = outer; }
};

template <bool Raw>
void* hook_malloc(void* ctx, std::size_t size) noexcept {
    auto* original = static_cast<PyMemAllocatorEx*>(ctx);
    if (Raw && t_in_pymem) return original->malloc(original->ctx, size);
    void* ptr;
    {
        PymemScope scope;
        ptr = original->malloc(original->ctx, size);
    }
    on_alloc_fast(ptr, size);
    return ptr;
}

template <bool Raw>
void* hook_calloc(void* ctx, std::size_t count, std::size_t size) noexcept {
    auto* original = static_cast<PyMemAllocatorEx*>(ctx);
    if (Raw && t_in_pymem) return original->calloc(original->ctx, count, size);
    void* ptr;
    {
        PymemScope scope;
        ptr = original->calloc(original->ctx, count, size);
    }
    on_alloc_fast(ptr, count * size);
    return ptr;
}

template <bool Raw>
void* hook_realloc(void* ctx, void* old, std::size_t size) noexcept {
    auto* original = static_cast<PyMemAllocatorEx*>(ctx);
    if (Raw && t_in_pymem) return original->realloc(original->ctx, old, size);
    on_free_fast(old); // before: once freed, the address may be handed out again
    void* ptr;
    {
        PymemScope scope;
        ptr = original->realloc(original->ctx, old, size);
    }
    on_alloc_fast(ptr, size);
    return ptr;
}

template <bool Raw>
void hook_free(void* ctx, void* ptr) noexcept {
    auto* original = static_cast<PyMemAllocatorEx*>(ctx);
    if (Raw && t_in_pymem) return original->free(original->ctx, ptr);
    on_free_fast(ptr);
    PymemScope scope;
    original->free(original->ctx, ptr);
}

void install_hooks() {
    if (g_installed) return;
    const PyMemAllocatorDomain domains[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};
    for (int i = 0; i < 3; ++i) PyMem_GetAllocator(domains[i], &g_original[i]);
    PyMemAllocatorEx raw{&g_original[0], hook_malloc<true>, hook_calloc<true>, hook_realloc<true>, hook_free<true>};
    PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &raw);
    for (int i = 1; i < 3; ++i) {
        PyMemAllocatorEx hook{&g_original[i], hook_malloc<false>, hook_calloc<false>, hook_realloc<false>,
                              hook_free<false>};
        PyMem_SetAllocator(domains[i], &hook);
    }
    g_installed = true;
    // The child of a fork may find the mutex held by a thread it does not have.
    pthread_atfork([] { g_mutex.lock(); }, [] { g_mutex.unlock(); },
                   [] {
                       g_mutex.unlock();
                       g_running = false;
                   });
}

SampledPeak resolve_locked(const std::vector<PeakRow>& rows, int top_n) {
    std::vector<PeakRow> sorted = rows;
    const auto n = std::min<std::size_t>(sorted.size(), static_cast<std::size_t>(std::max(top_n, 0)));
    std::partial_sort(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(n), sorted.end(),
                      [](const PeakRow& a, const PeakRow& b) { return a.bytes > b.bytes; });
    sorted.resize(n);
    SampledPeak peak;
    for (const auto& row : sorted) {
        SampledStack stack;
        stack.bytes = row.bytes;
        stack.samples = row.samples;
        for (std::uint64_t key : g_stacks[row.stack].frames) {
            const Function& f = g_functions[static_cast<std::size_t>(key >> 32)];
            stack.frames.push_back({f.file, f.name, static_cast<int>(key & 0xffffffffu)});
        }
        peak.stacks.push_back(std::move(stack));
    }
    return peak;
}

} // namespace

void alloc_sampler_on_alloc(void* ptr, std::size_t size) noexcept {
    on_free_fast(ptr); // a block announced again (numpy's realloc in place) replaces its entry
    on_alloc_fast(ptr, size);
}

void alloc_sampler_on_free(void* ptr) noexcept { on_free_fast(ptr); }

void alloc_sampler_start(std::int64_t mean_bytes) {
    g_exact = mean_bytes <= 1;
    g_mean = static_cast<double>(std::max<std::int64_t>(mean_bytes, 1));
    tracemalloc_interpose_resolve();
    t_countdown = draw_countdown();
    install_hooks();
    g_running = true;
}

void alloc_sampler_stop() { g_running = false; }

bool alloc_sampler_running() { return g_running.load(std::memory_order_relaxed); }

void alloc_sampler_pause(bool paused) { g_paused = paused; }

std::int64_t alloc_sampler_current() { return g_current.load(std::memory_order_relaxed); }

std::int64_t alloc_sampler_interval_peak() {
    return std::max(g_interval_peak.load(std::memory_order_relaxed), alloc_sampler_current());
}

void alloc_sampler_reset_peak() { g_interval_peak.store(alloc_sampler_current(), std::memory_order_relaxed); }

SampledPeak alloc_sampler_peak(int top_n) {
    std::lock_guard lock(g_mutex);
    SampledPeak peak = resolve_locked(g_peak_rows, top_n);
    peak.t = g_peak_t;
    peak.estimate = g_peak_estimate;
    peak.rss = g_peak_rss;
    return peak;
}

SampledPeak alloc_sampler_now(int top_n) {
    std::lock_guard lock(g_mutex);
    std::vector<PeakRow> rows;
    for (std::uint32_t i = 0; i < g_stacks.size(); ++i)
        if (g_stacks[i].bytes > 0) rows.push_back({i, g_stacks[i].bytes, g_stacks[i].samples});
    SampledPeak peak = resolve_locked(rows, top_n);
    peak.t = now_s();
    peak.estimate = alloc_sampler_current();
    peak.rss = rss_bytes();
    return peak;
}

AllocSamplerStats alloc_sampler_stats() {
    std::lock_guard lock(g_mutex);
    AllocSamplerStats stats;
    stats.samples = g_samples;
    stats.live_samples = static_cast<std::int64_t>(g_table.size());
    stats.stacks = static_cast<std::int64_t>(g_stacks.size());
    stats.peak_copies = g_peak_copies;
    std::int64_t bytes = static_cast<std::int64_t>(sizeof g_filter);
    bytes += static_cast<std::int64_t>(g_table.size() * (sizeof(Entry) + 4 * sizeof(void*)));
    for (const auto& s : g_stacks) bytes += static_cast<std::int64_t>(sizeof s + s.frames.size() * 8 + 64);
    for (const auto& f : g_functions) bytes += static_cast<std::int64_t>(sizeof f + f.file.size() + f.name.size());
    bytes += static_cast<std::int64_t>(g_peak_rows.capacity() * sizeof(PeakRow));
    stats.table_bytes = bytes;
    return stats;
}

} // namespace memopt::probe
