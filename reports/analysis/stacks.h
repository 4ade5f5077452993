#pragma once
// Every sampled allocation stack of a trace with its weight, for the flame graph and the
// folded / speedscope / massif exports. One streaming pass over the trace (trace::TraceReader);
// memory is bounded by the live sampled blocks and the distinct stacks, not the trace length.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace memopt::reports {

struct WeightedStack {
    std::vector<std::string> frames; // outermost (main) first, allocation site last
    std::uint64_t bytes = 0;         // estimated from the sampled allocations
    std::uint64_t count = 0;
};

struct StackProfile {
    std::vector<std::string> command;
    std::uint64_t stack_sample_bytes = 0; // 0: the trace has no stacks (record without --stacks)
    // Bytes allocated at each stack over the whole run, largest first.
    std::vector<WeightedStack> allocated;
    // Sampled bytes still allocated at each stack when the sampled live total was highest
    // (within 1 % of it), largest first.
    std::vector<WeightedStack> live_at_peak;
    double live_peak_time_s = 0;
    std::uint64_t live_peak_bytes = 0; // estimated total of live_at_peak
    // Sampled bytes still allocated at each stack when the trace ended (blocks never freed,
    // mappings never unmapped: the leaks view), largest first.
    std::vector<WeightedStack> live_at_end;
    std::vector<std::string> warnings; // frames that could not be named (a module changed on disk)
};

struct StackOptions {
    bool resolve_symbols = true;
    std::size_t max_depth = 256;
};

// Throws memopt::Error for a file that is not a readable memopt trace.
StackProfile collect_stacks(const std::filesystem::path& trace, const StackOptions& options = {});

// A frame name made safe for line-based formats: no ';', '#', newline or control bytes.
std::string clean_frame(const std::string& frame);

} // namespace memopt::reports
