#pragma once
// Every sampled allocation stack of a trace with its weight, for the flame graph and the
// folded / speedscope / massif exports. One streaming pass over the trace (trace::TraceReader);
// memory is bounded by the live sampled blocks and the distinct stacks, not the trace length.
#include "profiler/trace/reader.h"

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
    std::size_t max_depth = 512; // above the recorder's largest depth limit, so a [truncated] root stays
};

// Throws memopt::Error for a file that is not a readable memopt trace.
StackProfile collect_stacks(const std::filesystem::path& trace, const StackOptions& options = {});

// The label of a frame that is not a native instruction pointer, the one place every report
// names them: a Python frame is "FILE:LINE FUNCTION" (the file relative to its
// site-packages / dist-packages / standard library folder), "[python]" when its code is
// unknown; the root of a stack cut at the depth limit is "[truncated]".
std::string interpreter_frame_label(const trace::TraceMetadata& meta, const trace::Frame& frame);

// True for a label interpreter_frame_label made for a Python frame.
bool is_python_frame_label(const std::string& label);

// Which frames of an innermost-first stack a short listing shows (indices, ascending): the
// `innermost` innermost frames, then up to `python` Python frames further out, so a site
// deep inside a C extension still names the Python lines that led to it.
std::vector<std::size_t> frames_to_list(const std::vector<std::string>& innermost_first, std::size_t innermost,
                                        std::size_t python);

// A frame name made safe for line-based formats: no ';', '#', newline or control bytes.
std::string clean_frame(const std::string& frame);

} // namespace memopt::reports
