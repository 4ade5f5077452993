// The preload library compresses its chunks (compressor.h, format.h kCompressedChunkTag):
// what it writes reads back exactly, it falls back to plain chunks when it must, and a
// traced program killed with SIGKILL leaves a compressed trace that reads.
#include "profiler/preload/compressor.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"
#include "reports/analysis/summary.h"
#include "tests/support/chunk_collector.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <memory>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace memopt;
using namespace memopt::preload;

namespace {

struct ChunkCounts {
    std::size_t plain = 0;
    std::size_t compressed = 0;
    bool well_framed = true;
};

// Walks the chunks of [bytes, bytes + size) by their tags and lengths.
ChunkCounts count_chunks(const std::uint8_t* bytes, std::size_t size) {
    ChunkCounts counts;
    trace::ByteCursor in{bytes, bytes + size};
    while (!in.at_end()) {
        std::uint8_t tag = 0;
        std::uint64_t length = 0;
        const std::uint8_t* skipped = nullptr;
        if (!in.byte(tag) || !in.varint(length) || !in.bytes(static_cast<std::size_t>(length), skipped)) {
            counts.well_framed = false;
            break;
        }
        if (tag == trace::kChunkTag) ++counts.plain;
        else if (tag == trace::kCompressedChunkTag) ++counts.compressed;
        else counts.well_framed = false;
    }
    return counts;
}

// 100 000 mallocs and frees through the tracer core into memory; the trace's chunk counts.
ChunkCounts trace_churn(const std::filesystem::path& path, std::size_t& bytes) {
    test::begin_in_memory_trace();
    {
        ReentrancyGuard guard;
        for (std::uint64_t i = 0; i < 50000; ++i) {
            const auto* address = reinterpret_cast<void*>(0x5555'0000'0000 + (i % 512) * 64);
            record_allocation(trace::RecordKind::kMalloc, address, 24 + i % 100, take_sequence());
            record_release(trace::RecordKind::kFree, address, 0, take_sequence());
        }
    }
    test::end_in_memory_trace();
    test::ChunkCollector::save(path);
    const std::string file = test::read_file(path);
    bytes = file.size();
    const auto* data = reinterpret_cast<const std::uint8_t*>(file.data());
    return count_chunks(data + trace::kFileHeaderSize, file.size() - trace::kFileHeaderSize);
}

std::size_t allocations_in(const std::filesystem::path& path) {
    trace::TraceReader reader(path);
    trace::Event event;
    std::size_t allocations = 0;
    while (reader.next(event)) allocations += event.type == trace::EventType::kAllocation;
    CHECK(reader.metadata().skipped.empty());
    CHECK(reader.missing_events() == 0);
    return allocations;
}

} // namespace

TEST_CASE("compression: the tracer core's chunks are compressed and read back exactly") {
    test::ScratchDir dir("compress-core");
    std::size_t packed_bytes = 0, plain_bytes = 0;
    const ChunkCounts packed = trace_churn(dir / "packed.trace", packed_bytes);
    CHECK(packed.well_framed);
    CHECK(packed.compressed >= 1);
    CHECK(allocations_in(dir / "packed.trace") == 50000);

    compression_configure(0);
    const ChunkCounts plain = trace_churn(dir / "plain.trace", plain_bytes);
    compression_configure(trace::kDefaultCompressionLevel);
    CHECK(plain.compressed == 0);
    CHECK(plain.plain >= 1);
    CHECK(allocations_in(dir / "plain.trace") == 50000);
    CHECK(packed_bytes * 2 < plain_bytes);
}

TEST_CASE("compression: with every context busy a chunk goes out plain") {
    trace::ChunkBuilder builder(1, 0);
    for (std::uint64_t i = 0; i < 2000; ++i) builder.event(trace::RecordKind::kMalloc, 0x10000 + i * 32, 40);
    const std::vector<std::uint8_t> chunk = builder.finish();
    {
        std::vector<std::unique_ptr<CompressionLease>> held;
        for (std::size_t i = 0; i < kCompressionContexts; ++i) {
            held.push_back(std::make_unique<CompressionLease>());
            CHECK(held.back()->compress(chunk.data(), chunk.size()).size > 0);
        }
        CompressionLease one_too_many;
        CHECK(one_too_many.compress(chunk.data(), chunk.size()).size == 0);
    }
    CompressionLease after; // the leases gave their contexts back
    const trace::CompressedChunk compressed = after.compress(chunk.data(), chunk.size());
    REQUIRE(compressed.size > 0);
    CHECK(compressed.size < chunk.size());
    CHECK(compressed.data[0] == trace::kCompressedChunkTag);
    // Not a plain chunk (or a tiny one): nothing to compress.
    CHECK(CompressionLease().compress(compressed.data, compressed.size).size == 0);
    CHECK(CompressionLease().compress(chunk.data(), 64).size == 0);
}

TEST_CASE("compression: a forked child takes back the contexts its parent's threads held") {
    trace::ChunkBuilder builder(1, 0);
    for (std::uint64_t i = 0; i < 2000; ++i) builder.event(trace::RecordKind::kMalloc, 0x10000 + i * 32, 40);
    const std::vector<std::uint8_t> chunk = builder.finish();
    std::vector<std::unique_ptr<CompressionLease>> held(kCompressionContexts);
    // Another thread holds every context across the fork, as threads flushing at that moment would.
    std::thread([&] {
        for (auto& lease : held) {
            lease = std::make_unique<CompressionLease>();
            lease->compress(chunk.data(), chunk.size());
        }
    }).join();
    CHECK(CompressionLease().compress(chunk.data(), chunk.size()).size == 0); // all busy here
    const pid_t child = ::fork();
    if (child == 0) {
        // Only async-signal-safe work here: the exit status says how many contexts it got.
        int compressed = 0;
        std::unique_ptr<CompressionLease> leases[kCompressionContexts];
        for (auto& lease : leases) {
            lease = std::make_unique<CompressionLease>();
            compressed += lease->compress(chunk.data(), chunk.size()).size > 0;
        }
        ::_exit(compressed);
    }
    REQUIRE(child > 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == static_cast<int>(kCompressionContexts));
    CHECK(CompressionLease().compress(chunk.data(), chunk.size()).size == 0); // the parent's stay held
    held.clear();
    CHECK(CompressionLease().compress(chunk.data(), chunk.size()).size > 0);
}

TEST_CASE("compression: a program killed with SIGKILL leaves a compressed trace that reads") {
    test::ScratchDir dir("compress-kill");
    const auto trace = dir / "k.trace";
    const auto pid_file = dir / "pid";
    // bytearrays above 512 bytes come from malloc, not from Python's own arenas.
    const std::string script = fmt::format(
        "import os, time\n"
        "keep = [bytearray(600 + i % 300) for i in range(200000)]\n"
        "open('{}', 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n",
        pid_file.string());
    const std::string command = fmt::format(
        "{} record -q -o {} -- /usr/bin/python3 -c {} & "
        "for i in $(seq 400); do [ -s {} ] && break; sleep 0.05; done; sleep 0.3; "
        "kill -KILL $(cat {}); wait $!",
        MEMOPT_BINARY, test::quote(trace.string()), test::quote(script), test::quote(pid_file.string()),
        test::quote(pid_file.string()));
    CHECK(test::run(command).status == 137);
    const std::string file = test::read_file(trace);
    REQUIRE(file.size() > trace::kFileHeaderSize);
    const ChunkCounts counts = count_chunks(reinterpret_cast<const std::uint8_t*>(file.data()) + trace::kFileHeaderSize,
                                            file.size() - trace::kFileHeaderSize);
    CHECK(counts.compressed >= 1);
    const auto summary = reports::summarize_trace(trace);
    CHECK(summary.killed_by_signal);
    CHECK(summary.total_allocations >= 200000); // flushed by the sampler before the kill
    CHECK(summary.leaked_bytes >= 200000ull * 600);
}
