#include "profiler/preload/bootstrap_allocator.h"

#include "profiler/preload/fast_gate.h"

#include <atomic>
#include <cstdint>
#include <cstring>

namespace memopt::preload {
namespace {

constexpr std::size_t kArenaSize = 64 * 1024;
constexpr std::size_t kAlignment = 16;
alignas(kAlignment) unsigned char g_arena[kArenaSize];
std::atomic<std::size_t> g_used{0};

} // namespace

// Each block is preceded by a 16-byte header holding its size.
// free's inline path checks for these blocks only once the gate says there are some.
void* bootstrap_allocate(std::size_t size) noexcept {
    fast_gate_set(kGateBootstrapBlocks, true);
    const std::size_t rounded = (size + kAlignment - 1) / kAlignment * kAlignment;
    const std::size_t need = rounded + kAlignment;
    const std::size_t offset = g_used.fetch_add(need);
    if (offset + need > kArenaSize) return nullptr;
    unsigned char* block = g_arena + offset;
    std::memcpy(block, &size, sizeof size);
    return block + kAlignment;
}

bool is_bootstrap_block(const void* ptr) noexcept {
    const auto* p = static_cast<const unsigned char*>(ptr);
    return p >= g_arena && p < g_arena + kArenaSize;
}

std::size_t bootstrap_block_size(const void* ptr) noexcept {
    std::size_t size = 0;
    std::memcpy(&size, static_cast<const unsigned char*>(ptr) - kAlignment, sizeof size);
    return size;
}

} // namespace memopt::preload
