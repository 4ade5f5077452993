#include "profiler/preload/stacks.h"

#include "profiler/preload/build_ids.h"
#include "profiler/preload/hybrid_stack.h"
#include "profiler/preload/python_code.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/encoding.h"
#include "profiler/trace/format.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

namespace memopt::preload {
namespace {

using namespace trace;

thread_local std::uint64_t t_random_state __attribute__((tls_model("initial-exec"))) = 0;

std::uint64_t next_random() noexcept {
    if (t_random_state == 0)
        t_random_state = reinterpret_cast<std::uintptr_t>(&t_random_state) ^ 0x9e3779b97f4a7c15ull;
    std::uint64_t x = t_random_state; // xorshift64*
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t_random_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

std::int64_t exponential_bytes(std::uint64_t mean) noexcept {
    const double uniform = (static_cast<double>(next_random() >> 11) + 1.0) / 9007199254740993.0;
    return static_cast<std::int64_t>(-std::log(uniform) * static_cast<double>(mean)) + 1;
}

// Frame trie: open addressing over (parent id, ip) -> id, in memory mapped on first use.
struct TrieEntry {
    std::uint64_t parent;
    std::uint64_t ip; // or a Python frame's python_value(), or 0 for the [truncated] root
    std::uint64_t id; // 0 = empty
};
constexpr std::size_t kTrieCapacity = 1u << 18;
constexpr std::size_t kTrieLimit = kTrieCapacity / 4 * 3;

TrieEntry* g_trie = nullptr;
std::size_t g_trie_size = 0;
std::uint64_t g_next_node = 1;
std::atomic<bool> g_trie_lock{false};
unsigned long long g_modules_seen = ~0ull; // dlpi_adds + dlpi_subs at the last emission
std::uint64_t g_stacks_sampled = 0;         // intern_stack calls, for the note below
std::atomic<bool> g_trie_full_noted{false}; // the kStackTableFull note is written once

struct TrieLock {
    TrieLock() noexcept {
        while (g_trie_lock.exchange(true, std::memory_order_acquire)) __builtin_ia32_pause();
    }
    ~TrieLock() { g_trie_lock.store(false, std::memory_order_release); }
};

std::size_t slot_of(std::uint64_t parent, std::uint64_t ip) noexcept {
    std::uint64_t h = (parent * 0x9e3779b97f4a7c15ull) ^ (ip + 0x632be59bd9b4e019ull);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return static_cast<std::size_t>(h) & (kTrieCapacity - 1);
}

std::atomic<int> g_depth_limit{kDefaultStackDepth};

// A Python frame's key in the trie: the tag bit, its code id and its line.
constexpr unsigned kLineBits = 24;
std::uint64_t python_value(PythonFrameKey key) noexcept {
    const std::uint64_t line = key.line < (1u << kLineBits) ? key.line : 0;
    return kPythonSlotTag | (key.code_id << kLineBits) | line;
}

void append_frame_record(ThreadBuffer& buffer, std::uint64_t id, std::uint64_t parent,
                         std::uint64_t value) noexcept {
    if (!ensure_room(buffer, 5 * kMaxVarintSize)) return;
    const bool python = (value & kPythonSlotTag) != 0;
    std::uint8_t* out = put_extended_head(buffer.cursor(), python ? ExtendedType::kPythonFrame : ExtendedType::kFrame);
    out = put_varint(out, id);
    out = put_varint(out, parent);
    if (python) {
        out = put_varint(out, (value & ~kPythonSlotTag) >> kLineBits);
        out = put_varint(out, value & ((1u << kLineBits) - 1));
    } else {
        out = put_varint(out, value);
    }
    buffer.used = static_cast<std::size_t>(out - buffer.payload());
}

// The child of `node` for `value`, created (with its record) when new; 0 when the trie is full.
std::uint64_t child_node(ThreadBuffer& buffer, std::uint64_t node, std::uint64_t value) noexcept {
    std::size_t slot = slot_of(node, value);
    while (g_trie[slot].id != 0 && (g_trie[slot].parent != node || g_trie[slot].ip != value))
        slot = (slot + 1) & (kTrieCapacity - 1);
    if (g_trie[slot].id == 0) {
        if (g_trie_size >= kTrieLimit) {
            // Say so once: from here on stacks lose their inner frames (format.h, kTracerNote).
            if (!g_trie_full_noted.exchange(true, std::memory_order_relaxed))
                append_tracer_note_locked(buffer, TracerNote::kStackTableFull, g_stacks_sampled);
            return 0;
        }
        g_trie[slot] = {node, value, g_next_node++};
        ++g_trie_size;
        append_frame_record(buffer, g_trie[slot].id, node, value);
    }
    return g_trie[slot].id;
}

__attribute__((constructor)) void read_stack_depth_limit() noexcept {
    const char* text = ::getenv(kEnvStackDepth);
    if (text && *text) set_stack_depth_limit(static_cast<int>(std::strtol(text, nullptr, 10)));
}

int count_loaded_objects(dl_phdr_info* info, size_t size, void* data) noexcept {
    auto* counter = static_cast<unsigned long long*>(data);
    if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
        *counter = info->dlpi_adds + info->dlpi_subs;
    return 1; // the counters are the same in every entry: stop after the first
}

int emit_module(dl_phdr_info* info, size_t, void* data) noexcept {
    auto& buffer = *static_cast<ThreadBuffer*>(data);
    char exe_path[512];
    const char* name = info->dlpi_name;
    if (!name || !*name) {
        const ssize_t n = ::readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
        exe_path[n > 0 ? n : 0] = '\0';
        name = exe_path;
    }
    const std::size_t name_length = ::strnlen(name, 4096);
    int loads = 0;
    for (int i = 0; i < info->dlpi_phnum; ++i) loads += info->dlpi_phdr[i].p_type == PT_LOAD;
    const std::size_t need = 4 * kMaxVarintSize + name_length + 2 * kMaxVarintSize * loads;
    if (need > kBufferCapacity || !ensure_room(buffer, need)) return 0;
    std::uint8_t* out = put_extended_head(buffer.cursor(), ExtendedType::kModule);
    out = put_varint(out, info->dlpi_addr);
    out = put_varint(out, name_length);
    std::memcpy(out, name, name_length);
    out += name_length;
    out = put_varint(out, static_cast<std::uint64_t>(loads));
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const auto& header = info->dlpi_phdr[i];
        if (header.p_type != PT_LOAD) continue;
        out = put_varint(out, header.p_vaddr);
        out = put_varint(out, header.p_memsz);
    }
    buffer.used = static_cast<std::size_t>(out - buffer.payload());
    append_build_id_record(buffer, *info);
    return 0;
}

void emit_modules_if_changed(ThreadBuffer& buffer) noexcept {
    unsigned long long seen = 0;
    ::dl_iterate_phdr(count_loaded_objects, &seen);
    if (seen == g_modules_seen) return;
    g_modules_seen = seen;
    python_recheck_interpreter(); // libpython may have been loaded just now
    ::dl_iterate_phdr(emit_module, &buffer);
}

} // namespace

bool stack_sample_due(std::size_t size, std::uint64_t mean_bytes) noexcept {
    if (mean_bytes <= 1) return true;
    std::int64_t& left = t_thread.bytes_until_sample; // already lowered by `size`
    if (t_random_state == 0) { // the thread's first allocation: its countdown starts now
        left = exponential_bytes(mean_bytes) - static_cast<std::int64_t>(size);
        if (left > 0) return false;
    }
    left = exponential_bytes(mean_bytes);
    return true;
}

int stack_depth_limit() noexcept { return g_depth_limit.load(std::memory_order_relaxed); }

void set_stack_depth_limit(int frames) noexcept {
    g_depth_limit.store(frames < 2 ? 2 : frames > kMaxStackDepthLimit ? kMaxStackDepthLimit : frames);
}

int capture_stack(std::uintptr_t* slots, int max_slots) noexcept {
    // One frame more than kept, to know whether the stack was cut; half the slots at most,
    // so the Python frames (two slots each) have room.
    int native_room = stack_depth_limit() + 1;
    if (native_room > max_slots / 2) native_room = max_slots / 2;
    int used = ::unw_backtrace(reinterpret_cast<void**>(slots), native_room);
    if (used < 0) used = 0;
    bool cut = used == native_room;
    bool python_cut = false;
    used += append_python_frames_signal_safe(slots + used, max_slots - used - 2, &python_cut);
    if (cut || python_cut) {
        slots[used++] = kCutSlot;
        slots[used++] = 0;
    }
    return used;
}

std::uint64_t intern_stack(ThreadBuffer& buffer, const std::uintptr_t* slots, int count) noexcept {
    TrieLock lock;
    if (!g_trie) {
        void* memory = ::mmap(nullptr, kTrieCapacity * sizeof(TrieEntry), PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (memory == MAP_FAILED) return 0;
        g_trie = static_cast<TrieEntry*>(memory);
    }
    emit_modules_if_changed(buffer);
    ++g_stacks_sampled;
    const StackView view = view_of(slots, count);
    const HybridWalk walk(view);
    int frames = 0;
    walk.run([&](const HybridFrame&) { ++frames; });
    const int limit = stack_depth_limit();
    const bool truncated = view.cut || frames > limit;
    int skip = truncated && frames > limit - 1 ? frames - (limit - 1) : 0;
    std::uint64_t node = truncated ? child_node(buffer, 0, 0) : 0; // the [truncated] root
    bool full = truncated && node == 0;
    walk.run([&](const HybridFrame& frame) {
        if (skip > 0) return void(--skip);
        if (full) return; // keep the outer part of the stack
        const std::uint64_t value =
            frame.python ? python_value(python_frame_key(buffer, frame.value, frame.instruction)) : frame.value;
        const std::uint64_t child = child_node(buffer, node, value);
        full = child == 0;
        if (!full) node = child;
    });
    return node;
}

void reset_stacks_after_fork() noexcept {
    g_trie_lock.store(false);
    // Unmapping instead of clearing keeps the child from touching (and counting) every page.
    if (g_trie) ::munmap(g_trie, kTrieCapacity * sizeof(TrieEntry));
    g_trie = nullptr;
    g_trie_size = 0;
    g_modules_seen = ~0ull;
    g_stacks_sampled = 0;
    g_trie_full_noted.store(false); // the child's own trace gets its own note
    reset_python_code_after_fork();
}

} // namespace memopt::preload
