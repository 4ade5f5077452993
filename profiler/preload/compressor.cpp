#include "profiler/preload/compressor.h"

#include "profiler/preload/thread_buffer.h"

#include <atomic>
#include <cstdlib>
#include <sys/mman.h>
#include <unistd.h>
// The static-only part of zstd's API (fixed workspaces), stable here because zstd is linked
// in statically (profiler/trace/CMakeLists.txt).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

// zstd calls these tracing hooks when someone defines them (weak references in libzstd.a).
// Defined here, hidden, they bind inside the library: a traced program that defines its own
// never gets called from the tracer's writing path.
extern "C" unsigned long long ZSTD_trace_compress_begin(const ZSTD_CCtx*) { return 0; }
extern "C" void ZSTD_trace_compress_end(unsigned long long, const void*) {}

namespace memopt::preload {

struct CompressionSlot {
    std::atomic<bool> busy{false};
    // Process of the thread holding the slot; 0 while it is being taken or given back.
    std::atomic<pid_t> holder{0};
    ZSTD_CCtx* context = nullptr; // made on first use, inside the slot's mapping
    int level = 0;                // the level the workspace was sized for
    std::uint8_t* out = nullptr;  // the compressed chunk, in the same mapping
};

namespace {

// A process makes as many contexts as it ever had threads flushing at the same moment;
// most of a context is touched only as far as a chunk needs.
// Room for the largest chunk a thread buffer sends, compressed.
constexpr std::size_t kOutCapacity = trace::kMaxCompressedHeaderSize + trace::kMaxChunkHeaderSize + kBufferCapacity;
// Smaller chunks go out plain: zstd's frame and block headers (about 10 bytes) rarely pay
// for themselves there, and the periodic flush sends many such chunks.
constexpr std::size_t kSmallestCompressed = 128;

CompressionSlot g_pool[kCompressionContexts];
std::atomic<int> g_level{trace::kDefaultCompressionLevel};

bool make_context(CompressionSlot& slot, int level) noexcept {
    const std::size_t workspace = (ZSTD_estimateCCtxSize(level) + 63) & ~std::size_t{63};
    void* memory = ::mmap(nullptr, workspace + kOutCapacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return false;
    ZSTD_CCtx* context = ZSTD_initStaticCCtx(memory, workspace);
    if (!context) {
        ::munmap(memory, workspace + kOutCapacity);
        return false;
    }
    // The context last: a forked child that takes over a slot half made sees no context.
    slot.out = static_cast<std::uint8_t*>(memory) + workspace;
    slot.level = level;
    slot.context = context;
    return true;
}

// A free slot, or one a thread of the process this one was forked from held at the fork.
CompressionSlot* take_slot(pid_t self) noexcept {
    for (CompressionSlot& slot : g_pool) {
        if (!slot.busy.exchange(true, std::memory_order_acquire)) {
            slot.holder.store(self, std::memory_order_relaxed);
            return &slot;
        }
        pid_t holder = slot.holder.load(std::memory_order_relaxed);
        if (holder != 0 && holder != self && slot.holder.compare_exchange_strong(holder, self)) return &slot;
    }
    return nullptr;
}

// MEMOPT_COMPRESS (format.h), read before the tracer's own constructor writes the first
// chunk (a lower priority number runs first).
__attribute__((constructor(101))) void read_compression_setting() noexcept {
    const char* value = ::getenv(trace::kEnvCompress);
    if (value && value[0] >= '0' && value[0] <= '9' && value[1] == '\0') compression_configure(value[0] - '0');
}

} // namespace

void compression_configure(int level) noexcept {
    g_level.store(level < 0 ? 0 : level > trace::kMaxCompressionLevel ? trace::kMaxCompressionLevel : level);
}

int compression_level() noexcept { return g_level.load(std::memory_order_relaxed); }

CompressionLease::~CompressionLease() {
    if (!slot_) return;
    slot_->holder.store(0, std::memory_order_relaxed);
    slot_->busy.store(false, std::memory_order_release);
}

trace::CompressedChunk CompressionLease::compress(const std::uint8_t* chunk, std::size_t size) noexcept {
    const int level = compression_level();
    trace::PlainChunk plain;
    if (slot_ || level == 0 || size < kSmallestCompressed || !trace::split_plain_chunk(chunk, size, plain)) return {};
    slot_ = take_slot(::getpid());
    if (!slot_ || (!slot_->context && !make_context(*slot_, level))) return {};
    return trace::compress_chunk(slot_->context, slot_->level, plain, size, slot_->out, kOutCapacity);
}

} // namespace memopt::preload
