// Bugs the fuzzer found in the readers and the summary, one test each (inputs in corpus/).
#include "common/error.h"
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"
#include "reports/analysis/summary.h"
#include "reports/render/summary_format.h"
#include "tests/trace/fuzz/fuzz_targets.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sys/stat.h>

using memopt::test::ScratchDir;

namespace {

void replay_corpus(memopt::fuzz::Target target, const std::string& prefix) {
    for (const auto& entry : std::filesystem::directory_iterator(TRACE_CORPUS_DIR)) {
        if (entry.path().filename().string().rfind(prefix, 0) != 0) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        INFO(entry.path());
        try {
            memopt::fuzz::run_one(target, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        } catch (const memopt::Error&) {
            // a clear error is the right answer
        }
    }
}

// Inputs named TARGET-reject-*: the readers must refuse them (memopt::Error), not render them.
void require_rejected(memopt::fuzz::Target target, const std::string& prefix) {
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(TRACE_CORPUS_DIR)) {
        if (entry.path().filename().string().rfind(prefix, 0) != 0) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        INFO(entry.path());
        CHECK_THROWS_AS(memopt::fuzz::run_one(target, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                        memopt::Error);
        ++count;
    }
    CHECK(count > 0);
}

} // namespace

TEST_CASE("profiles and summaries out of type or range are refused (issue 12, item 16)") {
    // {"schema":"memopt.profile/1"} rendered as a profile; 1e308 in an integer field printed
    // as -2147483648; peak_rss_bytes -5 made a baseline of 16777216 TiB.
    require_rejected(memopt::fuzz::Target::kProfile, "profile-reject-");
    require_rejected(memopt::fuzz::Target::kSummary, "summary-reject-");
}

TEST_CASE("summary JSON of a trace whose strings are not UTF-8 (fuzz: json type_error 316)") {
    memopt::reports::Summary s;
    s.command = {"python3", "caf\xe9.py", "\xff\xfe"};
    s.phases.push_back({"ph\xc3", 0, 1, 0, 0});
    s.warnings.push_back("\xed\xa0\x80 surrogate");
    std::string text;
    REQUIRE_NOTHROW(text = memopt::reports::summary_to_json(s).dump());
    CHECK(text.find("caf\xEF\xBF\xBD.py") != std::string::npos);
    const auto back = memopt::reports::summary_from_json(nlohmann::json::parse(text));
    CHECK(back.command.size() == 3);
}

TEST_CASE("every saved fuzz finding now gives a clear error or a result") {
    replay_corpus(memopt::fuzz::Target::kTrace, "trace-");
    replay_corpus(memopt::fuzz::Target::kTraceResealed, "trace-");
    replay_corpus(memopt::fuzz::Target::kSummary, "summary-");
    replay_corpus(memopt::fuzz::Target::kProfile, "profile-");
}

TEST_CASE("reader: events that arrive after the reader stopped waiting are late, not lost (16-thread run)") {
    // A real 16-thread run reported "81317 events were never written" although every
    // allocation and free was in the trace: one thread's early chunk came after more than
    // kMaxPendingEvents (1 Mi) events of the others, the reader skipped the gap, then the
    // events arrived. They must not be counted as lost.
    using namespace memopt::trace;
    ScratchDir dir("late-events");
    constexpr std::uint64_t kEarly = 10, kLate = (1u << 20) + 100;
    ChunkBuilder others(2, kEarly);
    others.extended(ExtendedType::kProcessStart).varint(1).varint(0).varint(0).byte(0).varint(4096).varint(0);
    for (std::uint64_t i = 0; i < kLate; ++i) others.event(RecordKind::kMalloc, 0x100000 + 16 * i, 16);
    ChunkBuilder early(1, 0);
    for (std::uint64_t i = 0; i < kEarly; ++i) early.event(RecordKind::kMalloc, 0x10 + 16 * i, 32);
    {
        std::ofstream out(dir / "t.trace", std::ios::binary);
        for (const auto& part : {file_header(), others.finish(), early.finish()})
            out.write(reinterpret_cast<const char*>(part.data()), static_cast<std::streamsize>(part.size()));
    }
    TraceReader reader(dir / "t.trace");
    Event event;
    std::uint64_t count = 0;
    while (reader.next(event)) ++count;
    CHECK(count == kEarly + kLate);
    CHECK(reader.missing_events() == 0);
}

TEST_CASE("report: a module path in the trace naming a fifo does not hang the symbolizer") {
    // A trace is input, not trusted: its module paths name arbitrary files. open() of a fifo
    // without O_NONBLOCK waits for a writer forever.
    using namespace memopt::trace;
    ScratchDir dir("fifo-module");
    const auto fifo = dir / "module";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    ChunkBuilder chunk(1, 0);
    chunk.extended(ExtendedType::kProcessStart).varint(1).varint(0).varint(0).byte(0).varint(4096).varint(1);
    chunk.extended(ExtendedType::kModule).varint(0x400000).text(fifo.string()).varint(1).varint(0).varint(0x10000);
    chunk.extended(ExtendedType::kFrame).varint(1).varint(0).varint(0x401000);
    chunk.extended(ExtendedType::kStackRef).varint(1);
    chunk.event(RecordKind::kMalloc, 0x1000, 4096);
    {
        std::ofstream out(dir / "t.trace", std::ios::binary);
        for (const auto& part : {file_header(), chunk.finish()})
            out.write(reinterpret_cast<const char*>(part.data()), static_cast<std::streamsize>(part.size()));
    }
    const auto result = memopt::test::run(fmt::format("timeout 30 {} report {}", MEMOPT_BINARY, memopt::test::quote((dir / "t.trace").string())));
    CHECK(result.status == 0);
    CHECK(result.out.find("peak heap") != std::string::npos);
}
