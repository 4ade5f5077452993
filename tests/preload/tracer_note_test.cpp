// A full frame trie or Python code table leaves a note (kTracerNote) in the trace, once, and
// the report says so: driven through the tracer core with made-up stacks, and end to end with
// a program that has more distinct stacks than the trie holds.
#include "profiler/preload/python_code.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/stacks.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/trace/reader.h"
#include "reports/analysis/summary.h"
#include "tests/support/chunk_collector.h"
#include "tests/support/run.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <vector>

using namespace memopt;
using namespace memopt::preload;

namespace {

// `stacks` native stacks of `depth` frames that share no frame, interned one by one.
void intern_distinct_stacks(int stacks, int depth, std::uintptr_t base) {
    ReentrancyGuard guard;
    ThreadBuffer* buffer = current_thread_buffer();
    REQUIRE(buffer);
    std::vector<std::uintptr_t> slots(static_cast<std::size_t>(depth));
    for (int s = 0; s < stacks; ++s) {
        for (int f = 0; f < depth; ++f) slots[f] = base + (static_cast<std::uintptr_t>(s) * depth + f) * 16;
        buffer->owner_enter();
        intern_stack(*buffer, slots.data(), depth);
        buffer->owner_exit();
    }
}

// `count` distinct code objects (all-zero memory: no names, no line table) asked for a key.
void see_distinct_code_objects(std::size_t count) {
    constexpr std::size_t kWordsPerObject = 32; // past every field python_code.cpp reads
    std::vector<std::uintptr_t> objects(count * kWordsPerObject, 0);
    ReentrancyGuard guard;
    ThreadBuffer* buffer = current_thread_buffer();
    REQUIRE(buffer);
    buffer->owner_enter();
    for (std::size_t i = 0; i < count; ++i)
        python_frame_key(*buffer, reinterpret_cast<std::uintptr_t>(&objects[i * kWordsPerObject]), 0);
    buffer->owner_exit();
}

std::vector<trace::TracerNoteRecord> notes_of(const std::filesystem::path& path) {
    trace::TraceReader reader(path);
    trace::Event event;
    while (reader.next(event)) {
    }
    return reader.metadata().tracer_notes;
}

bool has_text(const std::vector<std::string>& texts, const std::string& part) {
    return std::any_of(texts.begin(), texts.end(), [&](const std::string& t) { return t.find(part) != std::string::npos; });
}

} // namespace

TEST_CASE("a full frame trie and a full code table each leave one note, and the report shows them") {
    test::begin_in_memory_trace({1, 10});
    // 700 stacks of 300 new frames each: 210,000 nodes, past the trie's 196,608; then more.
    intern_distinct_stacks(700, 300, 0x10000000);
    intern_distinct_stacks(10, 300, 0x80000000);
    // 65,536 code objects, past the table's 49,152; asked twice.
    see_distinct_code_objects(1u << 16);
    see_distinct_code_objects(1u << 16);
    test::end_in_memory_trace();
    reset_stacks_after_fork(); // leave empty tables to the other tests of this process

    test::ScratchDir dir("tracer-note");
    const auto path = test::ChunkCollector::save(dir / "note.trace");
    const auto notes = notes_of(path);
    REQUIRE(notes.size() == 2);
    CHECK(notes[0].note == static_cast<std::uint64_t>(trace::TracerNote::kStackTableFull));
    // The trie filled during the 656th stack (196,608 / 300 = 655.4).
    CHECK(notes[0].count == 656);
    CHECK(notes[1].note == static_cast<std::uint64_t>(trace::TracerNote::kCodeTableFull));
    CHECK(notes[1].count == 49152);

    reports::SummaryOptions options;
    options.resolve_symbols = false;
    const auto summary = reports::summarize_trace(path, options);
    CHECK(has_text(summary.notes, "the stack table filled up after 656 sampled stacks"));
    CHECK(has_text(summary.notes, "the Python code table filled up with 49152 code objects"));
    CHECK_FALSE(has_text(summary.warnings, "tracer stopped")); // tracing went on
}

TEST_CASE("after a fork the child's empty trie notes again, in its own trace") {
    test::ScratchDir dir("tracer-note-fork");
    for (const char* name : {"parent.trace", "child.trace"}) {
        test::begin_in_memory_trace({1, 10});
        intern_distinct_stacks(700, 300, 0x10000000);
        test::end_in_memory_trace();
        reset_stacks_after_fork(); // what a forked child does before its first record
        const auto notes = notes_of(test::ChunkCollector::save(dir / name));
        REQUIRE(notes.size() == 1);
        CHECK(notes[0].note == static_cast<std::uint64_t>(trace::TracerNote::kStackTableFull));
        CHECK(notes[0].count == 656); // counted from the child's first stack again
    }
}

TEST_CASE("a program with more distinct stacks than the trie holds: the report says its stacks were cut") {
    test::ScratchDir dir("tracer-note-e2e");
    const auto trace = dir / "deep.trace";
    const auto recorded = test::run(fmt::format("{} record -q --stacks=1 -o {} -- {}", MEMOPT_BINARY,
                                                test::quote(trace.string()), DISTINCT_STACKS_BINARY));
    REQUIRE(recorded.status == 0);
    const auto notes = notes_of(trace);
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].note == static_cast<std::uint64_t>(trace::TracerNote::kStackTableFull));
    // ~300 new nodes per path: the trie fills after roughly 640 of the 1024 paths.
    CHECK(notes[0].count > 500);
    CHECK(notes[0].count < 1024);

    const std::string report = fmt::format("{} report {}", MEMOPT_BINARY, test::quote(trace.string()));
    const auto text = test::run(report);
    REQUIRE(text.status == 0);
    CHECK(text.out.find("note: the stack table filled up after ") != std::string::npos);
    CHECK(text.out.find("WARNING") == std::string::npos);
    const auto json = test::run(report + " --format json");
    REQUIRE(json.status == 0);
    CHECK(json.out.find("\"notes\"") != std::string::npos);
    CHECK(json.out.find("the stack table filled up after ") != std::string::npos);
    const auto html = test::run(report + " --format html -o " + test::quote((dir / "r.html").string()));
    REQUIRE(html.status == 0);
    CHECK(test::read_file(dir / "r.html").find("the stack table filled up after ") != std::string::npos);
}
