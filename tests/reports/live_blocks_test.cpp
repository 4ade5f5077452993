// The live-block map of `memopt report` (reports/analysis/live_blocks.h): 12 bytes a block,
// at most about 24 with the table's free slots, and exact whatever it holds.
#include "reports/analysis/live_blocks.h"

#include "profiler/trace/chunk_builder.h"
#include "reports/analysis/summary.h"
#include "tests/support/run.h"
#include "tests/trace/trace_bytes.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <random>

using memopt::reports::LiveBlocks;
using namespace memopt::trace;

static_assert(sizeof(LiveBlocks::Entry) == 12, "a live block costs 12 bytes in the table");

namespace {

struct Totals {
    std::size_t blocks = 0;
    std::uint64_t bytes = 0;
    std::uint64_t stacks = 0; // sum of the stack ids
};

Totals totals(const LiveBlocks& blocks) {
    Totals t;
    blocks.for_each([&](std::uint64_t, std::uint64_t size, std::uint64_t stack) {
        ++t.blocks;
        t.bytes += size;
        t.stacks += stack;
    });
    return t;
}

} // namespace

TEST_CASE("a million live blocks are counted exactly, in about 24 bytes each") {
    LiveBlocks blocks;
    std::mt19937_64 random(7);
    std::uint64_t bytes = 0, stacks = 0;
    constexpr std::uint64_t kBlocks = 1'000'000;
    for (std::uint64_t i = 0; i < kBlocks; ++i) {
        // Two heaps far apart, as brk and mmap'd arenas are; shuffled low bits.
        const std::uint64_t base = i % 2 ? 0x5555'5555'0000ull : 0x7f12'3400'0000ull;
        const std::uint64_t size = 1 + random() % 1000;
        CHECK(blocks.insert(base + i * 32, size, i % 5000) == 0);
        bytes += size;
        stacks += i % 5000;
    }
    REQUIRE(blocks.size() == kBlocks);
    const Totals t = totals(blocks);
    CHECK(t.blocks == kBlocks);
    CHECK(t.bytes == bytes);
    CHECK(t.stacks == stacks);
    CHECK(static_cast<double>(blocks.table_bytes()) / kBlocks <= 24.0);

    // Free every other block: exactly those go, with the sizes they were given.
    std::uint64_t freed = 0;
    for (std::uint64_t i = 0; i < kBlocks; i += 2) {
        std::uint64_t size = 0;
        REQUIRE(blocks.erase(0x7f12'3400'0000ull + i * 32, size));
        freed += size;
    }
    std::uint64_t size = 0;
    CHECK_FALSE(blocks.erase(0x7f12'3400'0000ull, size)); // already gone
    CHECK_FALSE(blocks.erase(0x1234'5670, size));          // never there
    CHECK(blocks.size() == kBlocks / 2);
    CHECK(totals(blocks).bytes == bytes - freed);
}

TEST_CASE("blocks the compact entry cannot hold are kept exactly too") {
    LiveBlocks blocks;
    const std::uint64_t big = 1ull << 40;       // past 16 bits of size
    const std::uint64_t odd = 0x5555'0000'0008; // not 16-aligned
    const std::uint64_t high = 1ull << 60;      // past 48 bits of units
    CHECK(blocks.insert(0x5555'0000'0000, big, 3) == 0);
    CHECK(blocks.insert(odd, 24, 1) == 0);
    CHECK(blocks.insert(high, 8) == 0);
    CHECK(blocks.insert(0x5555'0000'0010, 65535, 1ull << 33) == 0); // size fits, stack does not
    CHECK(blocks.insert(0x5555'0000'0020, 65534, 9) == 0);          // all fits
    CHECK(blocks.insert(8, 16) == 0);                               // address 0 in units
    CHECK(blocks.size() == 6);
    std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> seen;
    blocks.for_each([&](std::uint64_t address, std::uint64_t size, std::uint64_t stack) { seen[address] = {size, stack}; });
    CHECK(seen[0x5555'0000'0000] == std::pair<std::uint64_t, std::uint64_t>{big, 3});
    CHECK(seen[odd] == std::pair<std::uint64_t, std::uint64_t>{24, 1});
    CHECK(seen[high].first == 8);
    CHECK(seen[0x5555'0000'0010] == std::pair<std::uint64_t, std::uint64_t>{65535, 1ull << 33});
    CHECK(seen[0x5555'0000'0020] == std::pair<std::uint64_t, std::uint64_t>{65534, 9});
    CHECK(seen[8].first == 16);

    // Replacing moves a block between the table and the side table both ways.
    CHECK(blocks.insert(0x5555'0000'0000, 100) == big);
    CHECK(blocks.insert(0x5555'0000'0000, big + 1) == 100);
    CHECK(blocks.insert(0x5555'0000'0020, 1) == 65534);
    CHECK(blocks.size() == 6);
    std::uint64_t size = 0;
    CHECK(blocks.erase(0x5555'0000'0000, size));
    CHECK(size == big + 1);
    CHECK(blocks.erase(odd, size));
    CHECK(size == 24);
    CHECK(blocks.size() == 4);
    blocks.clear();
    CHECK(blocks.size() == 0);
    CHECK(totals(blocks).blocks == 0);
    CHECK(blocks.insert(0x5555'0000'0020, 5) == 0); // usable after clear
}

TEST_CASE("the map stays exact under random inserts and frees") {
    LiveBlocks blocks;
    std::map<std::uint64_t, std::uint64_t> reference;
    std::mt19937_64 random(11);
    for (int step = 0; step < 300000; ++step) {
        const std::uint64_t address = 0x7f00'0000'0000ull + (random() % 20000) * 16;
        if (random() % 3) {
            const std::uint64_t size = random() % 4 == 0 ? 70000 + random() % 10 : random() % 500;
            const auto it = reference.find(address);
            CHECK(blocks.insert(address, size) == (it == reference.end() ? 0 : it->second));
            reference[address] = size;
        } else {
            std::uint64_t size = 0;
            const bool live = reference.count(address) != 0;
            REQUIRE(blocks.erase(address, size) == live);
            if (live) {
                CHECK(size == reference[address]);
                reference.erase(address);
            }
        }
    }
    CHECK(blocks.size() == reference.size());
    std::uint64_t bytes = 0;
    for (const auto& [address, size] : reference) bytes += size;
    CHECK(totals(blocks).bytes == bytes);
}

TEST_CASE("memopt report counts a million blocks left live exactly") {
    // 1.2 M mallocs in chunks of 50 000 (every other chunk compressed, as the preload library
    // writes them), then 200 000 of them freed: 1 M live at the end.
    memopt::test::ScratchDir dir("million-live");
    std::ofstream file(dir / "t.trace", std::ios::binary);
    const auto put = [&](const std::vector<std::uint8_t>& bytes) {
        file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    };
    put(file_header());
    put(test::process_start());
    const auto address = [](std::uint64_t i) { return 0x5555'0000'0000ull + i * 48; };
    const auto size = [](std::uint64_t i) { return 8 + i % 120; };
    constexpr std::uint64_t kAllocated = 1'200'000, kFreed = 200'000, kPerChunk = 50'000;
    std::uint64_t live_bytes = 0, seq = 0;
    for (std::uint64_t first = 0; first < kAllocated; first += kPerChunk) {
        ChunkBuilder chunk(1, seq);
        for (std::uint64_t i = first; i < first + kPerChunk; ++i, ++seq) chunk.event(RecordKind::kMalloc, address(i), size(i));
        put(first / kPerChunk % 2 ? chunk.finish_compressed() : chunk.finish());
    }
    ChunkBuilder frees(1, seq);
    for (std::uint64_t i = 0; i < kAllocated; ++i)
        if (i % 6 == 0) frees.event(RecordKind::kFree, address(i));
        else live_bytes += size(i);
    put(frees.finish_compressed());
    file.close();

    const auto summary = memopt::reports::summarize_trace(dir / "t.trace");
    CHECK(summary.total_allocations == kAllocated);
    CHECK(summary.total_frees == kFreed);
    CHECK(summary.unmatched_frees == 0);
    CHECK(summary.leaked_bytes == live_bytes);
    for (const auto& warning : summary.warnings) { // only that this synthetic process never exited
        INFO(warning);
        CHECK(warning.find("skipped") == std::string::npos);
        CHECK(warning.find("missing") == std::string::npos);
    }
}

TEST_CASE("an allocation at a live address is counted: its free is missing from the trace") {
    memopt::test::ScratchDir dir("reallocated-live");
    ChunkBuilder chunk(1, 1);
    chunk.event(RecordKind::kMalloc, 0x5555'0000'1000ull, 100);
    chunk.event(RecordKind::kMalloc, 0x5555'0000'2000ull, 50);
    chunk.event(RecordKind::kMalloc, 0x5555'0000'1000ull, 30); // the free of the first is missing
    chunk.event(RecordKind::kFree, 0x5555'0000'2000ull);
    test::write_trace(dir / "t.trace", {file_header(), test::process_start(), chunk.finish()});

    const auto summary = memopt::reports::summarize_trace(dir / "t.trace");
    CHECK(summary.total_allocations == 3);
    CHECK(summary.total_frees == 1);
    CHECK(summary.reallocated_live == 1);
    CHECK(summary.leaked_bytes == 30); // the block at that address is the newer one
    const auto text = memopt::test::run(std::string(MEMOPT_BINARY) + " report " + (dir / "t.trace").string());
    CHECK(text.out.find("1 allocation at an address still live in the trace (its free is missing)") !=
          std::string::npos);
}
