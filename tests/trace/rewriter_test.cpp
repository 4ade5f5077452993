// profiler/trace/trace_rewriter.h: the events and metadata a reader decoded, written back,
// read back the same (every record kind the reader hands out, stacks with native, Python and
// truncated frames, many chunks), in a file the reader verifies.
#include "common/error.h"
#include "profiler/trace/trace_rewriter.h"
#include "tests/support/run.h"
#include "tests/trace/trace_bytes.h"

#include <catch2/catch.hpp>
#include <tuple>

using namespace memopt::trace;
using namespace memopt::trace::test;

namespace {

// A trace with one of everything: stacks (native 0x1000 <- Python main.py:7 <- truncated root),
// an unaligned block, mappings cut and moved, RSS, nested phases, a fork, the exit; the module
// map twice (as the preload rewrites it at each load), the command and a tracer error.
void write_everything(const std::filesystem::path& path, std::size_t many) {
    ChunkBuilder meta(0, 0);
    meta.extended(ExtendedType::kProcessStart).varint(42).varint(1).varint(1000).byte(0).varint(4096).varint(1);
    ChunkBuilder events(42, 0);
    events.extended(ExtendedType::kPhaseBegin).varint(2000).text("outer");
    events.extended(ExtendedType::kStackRef).varint(3).event(RecordKind::kMalloc, 0x10000, 100);
    events.extended(ExtendedType::kUnaligned).byte(static_cast<std::uint8_t>(RecordKind::kMalloc)).varint(0x20008).varint(24);
    events.extended(ExtendedType::kRss).varint(2500).varint(300).varint(2);
    events.extended(ExtendedType::kPhaseBegin).varint(3000).text("inner");
    events.extended(ExtendedType::kStackRef).varint(2).event(RecordKind::kMmap, 0x7f0000000000, 1 << 20);
    events.event(RecordKind::kMunmap, 0x7f0000000000, 4096);
    events.extended(ExtendedType::kMremap).varint(0x7f0000001000).varint((1 << 20) - 4096).varint(0x7f1000000000).varint(2 << 20);
    events.extended(ExtendedType::kUnaligned).byte(static_cast<std::uint8_t>(RecordKind::kFree)).varint(0x20008);
    events.extended(ExtendedType::kPhaseEnd).varint(4000).text("inner");
    events.extended(ExtendedType::kFork).varint(4500).varint(43);
    for (std::size_t i = 0; i < many; ++i) events.event(RecordKind::kCalloc, 0x100000 + 32 * i, 32);
    events.event(RecordKind::kFree, 0x10000);
    events.extended(ExtendedType::kPhaseEnd).varint(5000).text("outer");
    events.extended(ExtendedType::kProcessExit).varint(6000).varint(2048);
    ChunkBuilder tables(42, 13 + many);
    for (int copy = 0; copy < 2; ++copy) {
        tables.extended(ExtendedType::kModule).varint(0x400000).text("/bin/prog").varint(1).varint(0).varint(0x2000);
        tables.extended(ExtendedType::kBuildId).varint(0x400000).text("\x01\x02\x03");
    }
    tables.extended(ExtendedType::kPythonCode).varint(5).varint(1).text("main.py").text("main");
    tables.extended(ExtendedType::kFrame).varint(1).varint(0).varint(0); // [truncated]
    tables.extended(ExtendedType::kPythonFrame).varint(2).varint(1).varint(5).varint(7);
    tables.extended(ExtendedType::kFrame).varint(3).varint(2).varint(0x401000);
    tables.extended(ExtendedType::kCommand).varint(2).text("prog").text("--x");
    tables.extended(ExtendedType::kTracerError).text("out of buffers");
    write_trace(path, {file_header(), meta.finish(), events.finish(), tables.finish()});
}

// A stack as what its frames say, leaf first (ids differ between the two files).
std::vector<std::tuple<int, std::uint64_t, std::string, std::uint32_t>> stack_of(const TraceMetadata& meta, std::uint64_t leaf) {
    std::vector<std::tuple<int, std::uint64_t, std::string, std::uint32_t>> frames;
    for (std::uint64_t id = leaf; id != 0;) {
        const Frame& frame = meta.frames.at(id);
        const std::string file = frame.kind == FrameKind::kPython ? meta.python_code.at(frame.code).file : "";
        frames.emplace_back(static_cast<int>(frame.kind), frame.ip, file, frame.line);
        id = frame.parent;
    }
    return frames;
}

} // namespace

TEST_CASE("trace rewriter: every event and table written back reads back the same, and verifies") {
    memopt::test::ScratchDir dir("trace-rewriter");
    const std::size_t many = 150'000; // more than one chunk of the rewritten file
    write_everything(dir / "in.trace", many);
    const ReadBack in = read_all(dir / "in.trace");
    REQUIRE(in.meta.skipped.empty());
    TraceRewriter writer(in.meta.images.at(0), in.meta.images[0].start_ns, in.meta.page_size, in.meta.stack_sample_bytes);
    for (const Event& event : in.events) writer.add(event, in.meta);
    write_bytes(dir / "out.trace", writer.finish(in.meta, distinct_modules(in.meta, 0)));

    const ReadBack out = read_all(dir / "out.trace");
    CHECK(out.meta.format_version == kFormatVersion);
    CHECK(out.meta.skipped.empty());
    CHECK(out.missing == 0);
    REQUIRE(out.events.size() == in.events.size());
    std::size_t differing = 0, first = 0;
    for (std::size_t i = 0; i < in.events.size(); ++i) {
        const Event& a = in.events[i];
        const Event& b = out.events[i];
        const bool phase = a.type == EventType::kPhaseBegin || a.type == EventType::kPhaseEnd;
        const bool same = a.type == b.type && a.address == b.address && a.size == b.size &&
                          a.new_address == b.new_address && a.new_size == b.new_size && a.time_ns == b.time_ns &&
                          a.value == b.value && (a.stack == 0) == (b.stack == 0) &&
                          (!a.stack || !b.stack || stack_of(in.meta, a.stack) == stack_of(out.meta, b.stack)) &&
                          (!phase || in.meta.names.at(a.name) == out.meta.names.at(b.name));
        if (!same && differing++ == 0) first = i;
    }
    INFO("first differing event: " << first);
    CHECK(differing == 0);
    std::size_t sampled = 0;
    for (const Event& event : out.events) sampled += event.stack != 0;
    CHECK(sampled == 2);
    CHECK(out.meta.command == in.meta.command);
    CHECK(out.meta.tracer_errors == in.meta.tracer_errors);
    REQUIRE(out.meta.modules.size() == 1); // the map's second, identical copy once
    CHECK(out.meta.modules[0].path == "/bin/prog");
    CHECK(out.meta.modules[0].build_id == "\x01\x02\x03");
    CHECK(out.meta.images.at(0).pid == 42);
    CHECK(out.meta.images[0].exited);
}

TEST_CASE("trace rewriter: an exec cannot be written into a one-image trace") {
    ProcessImage image;
    TraceRewriter writer(image, 0, 4096, 0);
    Event exec;
    exec.type = EventType::kImageStart;
    CHECK_THROWS_AS(writer.add(exec, TraceMetadata{}), memopt::Error);
}
