#pragma once
// What `memopt report` says about a trace: the JSON summary (memopt.summary/1, docs/record.md)
// as a struct, computed in one streaming pass over the trace.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace memopt::reports {

struct PhaseSummary {
    std::string name;
    double start_s = 0;
    double end_s = 0;
    std::uint64_t peak_heap_bytes = 0;
    std::uint64_t peak_rss_bytes = 0;
};

struct SiteSummary {
    std::vector<std::string> stack; // innermost frame first
    std::uint64_t bytes = 0;        // allocated at this stack (estimated when sampled)
    std::uint64_t count = 0;
};

struct TimelinePoint {
    double t_s = 0;
    std::uint64_t heap_bytes = 0; // highest heap since the previous point
    std::uint64_t rss_bytes = 0;
};

// A child process's trace (TRACE.PID, TRACE.PID.N), as the parent's report lists it.
struct ChildSummary {
    std::string trace;
    std::uint64_t pid = 0;
    std::uint64_t ppid = 0;
    std::vector<std::string> command; // what the child ran last (empty: the trace does not say)
    bool forked = false;              // a fork of its parent (running the parent's program)
    double duration_s = 0;
    std::uint64_t peak_heap_bytes = 0;
    std::uint64_t peak_rss_bytes = 0;
};

struct Summary {
    std::vector<std::string> command;
    std::int64_t exit_code = 0;
    bool exit_known = false;
    bool killed_by_signal = false;
    double duration_s = 0;
    std::uint64_t peak_heap_bytes = 0;  // requested bytes: malloc family + anonymous mmap
    std::uint64_t peak_heap_mapped_bytes = 0; // the anonymous-mmap part of peak_heap_bytes
    double peak_heap_time_s = 0;
    std::uint64_t peak_rss_bytes = 0;
    std::uint64_t leaked_bytes = 0;     // malloc-family bytes still allocated at exit
    std::uint64_t leaked_mapped_bytes = 0; // anonymous mappings still mapped at exit
    std::uint64_t total_allocations = 0;
    std::uint64_t total_frees = 0;
    std::uint64_t total_allocated_bytes = 0;
    std::uint64_t unmatched_frees = 0;  // frees of blocks allocated before tracing began
    // allocations at an address the trace still held live: that block's free is missing from
    // the trace (a lost record, or a free that bypassed the tracer); 0 in a whole trace
    std::uint64_t reallocated_live = 0;
    std::uint64_t stack_sample_bytes = 0;
    std::vector<PhaseSummary> phases;
    std::vector<SiteSummary> top_sites;
    std::vector<TimelinePoint> timeline;
    std::vector<std::string> child_traces;
    std::vector<ChildSummary> children; // one per child trace, in the order of child_traces
    std::vector<std::string> warnings; // every loss of data the tracer or the reader knows of
    std::vector<std::string> notes;    // explanations of the figures (untouched reservations)
    std::uint64_t events = 0;
    std::uint64_t trace_bytes = 0;
};

struct SummaryOptions {
    std::size_t top_sites = 10;
    bool children = true; // summarize each child trace too (Summary::children)
    std::size_t max_timeline_points = 2000;
    bool resolve_symbols = true;
};

// Throws memopt::Error for a file that is not a readable memopt trace.
Summary summarize_trace(const std::filesystem::path& trace, const SummaryOptions& options = {});

} // namespace memopt::reports
