// What the summary and the reports say when the trace lacks data (issue 12, item 6), and
// frame ids scoped per process image (item 9).
#include "profiler/trace/chunk_builder.h"
#include "reports/analysis/summary.h"
#include "reports/render/html.h"
#include "reports/render/summary_format.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>

using namespace memopt::trace;
using memopt::reports::Summary;
using memopt::test::ScratchDir;

namespace {

using Bytes = std::vector<std::uint8_t>;

void write_parts(const std::filesystem::path& path, const std::vector<Bytes>& parts) {
    std::ofstream file(path, std::ios::binary);
    for (const auto& part : parts) file.write(reinterpret_cast<const char*>(part.data()), static_cast<std::streamsize>(part.size()));
}

ChunkBuilder& process_start(ChunkBuilder& chunk, std::uint64_t time_ns = 1000, std::uint8_t origin = 0,
                            std::uint64_t stack_bytes = 0) {
    return chunk.extended(ExtendedType::kProcessStart).varint(100).varint(1).varint(time_ns).byte(origin).varint(4096).varint(stack_bytes);
}

Bytes exit_record(std::uint64_t first_seq) {
    ChunkBuilder chunk(1, first_seq);
    chunk.extended(ExtendedType::kProcessExit).varint(9000).varint(1024);
    return chunk.finish();
}

Summary summarize(const std::filesystem::path& path) {
    memopt::reports::SummaryOptions options;
    options.resolve_symbols = false;
    return memopt::reports::summarize_trace(path, options);
}

bool has_warning(const Summary& summary, const std::string& text) {
    for (const auto& warning : summary.warnings)
        if (warning.find(text) != std::string::npos) return true;
    return false;
}

std::string all_warnings(const Summary& summary) {
    std::string out;
    for (const auto& warning : summary.warnings) out += warning + "\n";
    return out;
}

} // namespace

TEST_CASE("a complete trace has no warnings") {
    ScratchDir dir("loss-none");
    ChunkBuilder chunk(1, 0);
    process_start(chunk).event(RecordKind::kMalloc, 0x1000, 10);
    write_parts(dir / "t", {file_header(), chunk.finish(), exit_record(1)});
    const Summary summary = summarize(dir / "t");
    CHECK(summary.warnings.empty());
    CHECK(memopt::reports::summary_to_text(summary).find("WARNING") == std::string::npos);
}

TEST_CASE("a tracer-error record becomes a warning in the summary and at the top of the reports") {
    ScratchDir dir("loss-tracer-error");
    ChunkBuilder chunk(1, 0);
    process_start(chunk).event(RecordKind::kMalloc, 0x1000, 10);
    chunk.extended(ExtendedType::kTracerError).text("too many threads for the trace buffers; tracing stopped");
    write_parts(dir / "t", {file_header(), chunk.finish()});
    const Summary summary = summarize(dir / "t");
    INFO(all_warnings(summary));
    CHECK(has_warning(summary, "the tracer stopped: too many threads"));
    CHECK(has_warning(summary, "ended after its tracer stopped without writing its exit record"));
    const std::string text = memopt::reports::summary_to_text(summary);
    CHECK(text.rfind("WARNING: the tracer stopped", 0) == 0); // the first line
    const std::string html = memopt::reports::trace_report_html(summary, nullptr);
    const auto box = html.find("class=\"warnings\"");
    REQUIRE(box != std::string::npos);
    CHECK(box < html.find("peak RSS"));
    CHECK(html.find("too many threads") != std::string::npos);
}

TEST_CASE("a damaged chunk becomes a warning naming how many events were lost") {
    ScratchDir dir("loss-damaged");
    ChunkBuilder first(1, 0);
    process_start(first).event(RecordKind::kMalloc, 0x1000, 10);
    ChunkBuilder second(2, 1);
    second.event(RecordKind::kMalloc, 0x2000, 20).event(RecordKind::kMalloc, 0x3000, 30).event(RecordKind::kFree, 0x2000);
    Bytes damaged = second.finish();
    damaged.back() ^= 0x10;
    write_parts(dir / "t", {file_header(), first.finish(), damaged, exit_record(4)});
    const Summary summary = summarize(dir / "t");
    INFO(all_warnings(summary));
    REQUIRE(summary.warnings.size() == 1);
    CHECK(has_warning(summary, "failed its checksum and was skipped: 3 events lost"));
    CHECK(summary.total_allocations == 1); // the other chunks' values unchanged
    CHECK(summary.peak_heap_bytes == 10);
}

TEST_CASE("a cut-off tail and a missing exit record: warnings with estimates") {
    ScratchDir dir("loss-tail");
    ChunkBuilder first(1, 0);
    process_start(first);
    for (int i = 0; i < 100; ++i) first.event(RecordKind::kMalloc, 0x1000 + 16 * static_cast<std::uint64_t>(i), 10);
    ChunkBuilder last(1, 100);
    for (int i = 0; i < 100; ++i) last.event(RecordKind::kMalloc, 0x9000 + 16 * static_cast<std::uint64_t>(i), 10);
    Bytes cut = last.finish();
    cut.resize(cut.size() / 2);
    write_parts(dir / "t", {file_header(), first.finish(), cut});
    const Summary summary = summarize(dir / "t");
    INFO(all_warnings(summary));
    CHECK(has_warning(summary, "the trace ends inside a chunk"));
    CHECK(has_warning(summary, "without writing its exit record"));
    CHECK(summary.total_allocations == 100);
}

TEST_CASE("a command line without an exit status: memopt record was interrupted") {
    ScratchDir dir("loss-no-status");
    ChunkBuilder command(0, 0);
    command.extended(ExtendedType::kCommand).varint(1).text("prog");
    ChunkBuilder chunk(1, 0);
    process_start(chunk).event(RecordKind::kMalloc, 0x1000, 10);
    write_parts(dir / "t", {file_header(), command.finish(), chunk.finish(), exit_record(1)});
    const Summary summary = summarize(dir / "t");
    INFO(all_warnings(summary));
    REQUIRE(summary.warnings.size() == 1);
    CHECK(has_warning(summary, "did not write the program's exit status"));
}

TEST_CASE("sequence numbers that never arrived are counted as events that never reached the trace") {
    ScratchDir dir("loss-gap");
    ChunkBuilder chunk(1, 0);
    process_start(chunk).event(RecordKind::kMalloc, 0x1000, 10);
    ChunkBuilder later(1, 8); // 1..7 never written
    later.event(RecordKind::kMalloc, 0x2000, 10);
    write_parts(dir / "t", {file_header(), chunk.finish(), later.finish(), exit_record(9)});
    const Summary summary = summarize(dir / "t");
    INFO(all_warnings(summary));
    REQUIRE(summary.warnings.size() == 1);
    CHECK(has_warning(summary, "7 events never reached the trace"));
}

TEST_CASE("frame ids restart after exec: each image's sites are named with its own frames and modules") {
    ScratchDir dir("loss-frames");
    // Both images use frame id 1 at the same address, in different executables.
    ChunkBuilder first(1, 0);
    process_start(first, 1000, 0, 1);
    first.extended(ExtendedType::kModule).varint(0x400000).text("/nonexistent/first").varint(1).varint(0).varint(0x10000);
    first.extended(ExtendedType::kFrame).varint(1).varint(0).varint(0x401000);
    first.extended(ExtendedType::kStackRef).varint(1).event(RecordKind::kMalloc, 0x1000, 200 << 20);
    ChunkBuilder second(1, 0);
    process_start(second, 2000, 2, 1);
    second.extended(ExtendedType::kModule).varint(0x400000).text("/nonexistent/second").varint(1).varint(0).varint(0x10000);
    second.extended(ExtendedType::kFrame).varint(1).varint(0).varint(0x402000);
    second.extended(ExtendedType::kStackRef).varint(1).event(RecordKind::kMalloc, 0x1000, 100);
    second.extended(ExtendedType::kProcessExit).varint(3000).varint(10);
    write_parts(dir / "t", {file_header(), first.finish(), second.finish()});
    const Summary summary = memopt::reports::summarize_trace(dir / "t");
    REQUIRE(summary.top_sites.size() == 2);
    CHECK(summary.top_sites[0].bytes == 200u << 20);
    CHECK(summary.top_sites[0].stack == std::vector<std::string>{"first+0x1000"});
    CHECK(summary.top_sites[1].stack == std::vector<std::string>{"second+0x2000"});
}

TEST_CASE("record: 200 MB allocated before exec are named with the first image's frames") {
    // The first image allocates 200 MB early; the exec'd one allocates little but samples
    // enough stacks that its frame ids run past the first image's.
    ScratchDir dir("loss-exec-frames");
    const std::string script = "import os, sys\n"
                               "held = bytearray(200 * 2**20)\n"
                               "os.execv(sys.executable, [sys.executable, '-c', 'import json, decimal, email.parser, "
                               "argparse, collections, unittest; x = [str(i) * 20 for i in range(20000)]'])\n";
    {
        std::ofstream(dir / "first.py") << script;
    }
    const auto trace = dir / "t.trace";
    const auto result = memopt::test::run(fmt::format("{} record -q -o {} --stacks=256KiB -- /usr/bin/python3 {}", MEMOPT_BINARY,
                                                      memopt::test::quote(trace.string()),
                                                      memopt::test::quote((dir / "first.py").string())));
    REQUIRE(result.status == 0);
    const Summary summary = memopt::reports::summarize_trace(trace);
    REQUIRE(!summary.top_sites.empty());
    const auto& site = summary.top_sites[0];
    CHECK(site.bytes >= 200u << 20);
    std::string stack;
    for (const auto& frame : site.stack) stack += frame + "\n";
    INFO(stack);
    CHECK(stack.find("PyByteArray_Resize") != std::string::npos);
}

TEST_CASE("record: a process killed by SIGKILL is reported as killed, with what may be lost") {
    ScratchDir dir("loss-killed");
    const auto trace = dir / "t.trace";
    const auto result = memopt::test::run(fmt::format(
        "{} record -q -o {} -- /usr/bin/python3 -c 'import os; x = [bytearray(100) for _ in range(100000)]; os.kill(os.getpid(), 9)'",
        MEMOPT_BINARY, memopt::test::quote(trace.string())));
    REQUIRE(result.status == 128 + 9);
    const Summary summary = summarize(trace);
    INFO(all_warnings(summary));
    CHECK(has_warning(summary, "was killed by signal 9 without writing its exit record"));
    CHECK(has_warning(summary, "events)"));
}

TEST_CASE("tracer notes become notes of the summary and the reports, not warnings") {
    ScratchDir dir("tracer-notes");
    ChunkBuilder chunk(1, 0);
    process_start(chunk).event(RecordKind::kMalloc, 0x1000, 10);
    chunk.extended(ExtendedType::kTracerNote).varint(static_cast<std::uint64_t>(TracerNote::kStackTableFull)).varint(656);
    chunk.extended(ExtendedType::kTracerNote).varint(static_cast<std::uint64_t>(TracerNote::kCodeTableFull)).varint(49152);
    chunk.extended(ExtendedType::kTracerNote).varint(99).varint(1);
    write_parts(dir / "t", {file_header(), chunk.finish(), exit_record(1)});
    const Summary summary = summarize(dir / "t");
    INFO(all_warnings(summary));
    CHECK(summary.warnings.empty());
    REQUIRE(summary.notes.size() == 3);
    CHECK(summary.notes[0].starts_with("the stack table filled up after 656 sampled stacks; later stacks keep only "
                                       "their outermost frames"));
    CHECK(summary.notes[1].starts_with("the Python code table filled up with 49152 code objects"));
    CHECK(summary.notes[2].find("note 99") != std::string::npos);
    const std::string text = memopt::reports::summary_to_text(summary);
    CHECK(text.find("\nnote: the stack table filled up after 656 sampled stacks") != std::string::npos);
    const std::string html = memopt::reports::trace_report_html(summary, nullptr);
    CHECK(html.find("note: the Python code table filled up with 49152 code objects") != std::string::npos);
}

TEST_CASE("events that came after the reader's reordering window are a note, not a lost-data warning") {
    ScratchDir dir("loss-late");
    ChunkBuilder busy(2, 1);
    for (std::uint64_t i = 0; i < TraceReader::kReorderWindow + 10; ++i) busy.event(RecordKind::kFree, 0x1000);
    ChunkBuilder late(1, 0);
    process_start(late).event(RecordKind::kMalloc, 0x1000, 10);
    write_parts(dir / "t", {file_header(), busy.finish(), late.finish(),
                            exit_record(TraceReader::kReorderWindow + 11)});
    const Summary summary = summarize(dir / "t");
    INFO(all_warnings(summary));
    CHECK(summary.warnings.empty());
    REQUIRE(summary.notes.size() == 1);
    CHECK(summary.notes[0].starts_with("1 event reached the trace after more than 1048576 later events"));
    CHECK(summary.notes[0].find("was handled out of order") != std::string::npos);
}
