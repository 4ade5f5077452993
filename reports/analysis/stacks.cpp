#include "reports/analysis/stacks.h"

#include "profiler/trace/reader.h"
#include "reports/analysis/symbolizer.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <unordered_map>

namespace memopt::reports {
namespace {

using trace::Event;
using trace::EventType;

struct Weight {
    double bytes = 0;
    double count = 0;
};

struct LiveSample {
    std::uint64_t leaf;
    Weight weight;
};

// Unbiased estimate of what one sampled allocation stands for (Poisson sampling with mean
// `mean` bytes, as the tracer does): size / P(sampled). The same rule as summarize_trace.
Weight estimate(std::uint64_t size, std::uint64_t mean) {
    const double bytes = static_cast<double>(std::max<std::uint64_t>(size, 1));
    const double probability = mean <= 1 ? 1.0 : 1.0 - std::exp(-bytes / static_cast<double>(mean));
    return {bytes / probability, 1.0 / probability};
}

class StackPass {
  public:
    void consume(const Event& event, std::uint64_t mean) {
        if (event.time_ns) last_ns_ = std::max(last_ns_, event.time_ns);
        switch (event.type) {
        case EventType::kAllocation:
            release(event.address); // realloc in place / address reuse without a seen free
            [[fallthrough]];
        case EventType::kMmap:
            if (event.stack != 0 && mean != 0) allocate(event.address, event.stack, estimate(event.size, mean));
            break;
        case EventType::kFree:
        case EventType::kMunmap: release(event.address); break;
        case EventType::kMremap: {
            auto it = live_.find(event.address);
            if (it != live_.end() && event.new_address != event.address) {
                const LiveSample sample = it->second;
                live_.erase(it);
                live_.emplace(event.new_address, sample);
            }
            break;
        }
        case EventType::kImageStart:
            live_.clear();
            live_by_stack_.clear();
            live_total_ = 0;
            break;
        default: break;
        }
    }

    const std::unordered_map<std::uint64_t, Weight>& live_by_stack() const { return live_by_stack_; }

    std::unordered_map<std::uint64_t, Weight> allocated_;
    std::unordered_map<std::uint64_t, Weight> peak_by_stack_;
    double peak_total_ = 0;
    std::uint64_t peak_ns_ = 0;

  private:
    void allocate(std::uint64_t address, std::uint64_t leaf, Weight weight) {
        Weight& total = allocated_[leaf];
        total.bytes += weight.bytes;
        total.count += weight.count;
        live_[address] = {leaf, weight};
        Weight& live = live_by_stack_[leaf];
        live.bytes += weight.bytes;
        live.count += weight.count;
        live_total_ += weight.bytes;
        if (live_total_ > peak_total_ * 1.01) {
            peak_total_ = live_total_;
            peak_by_stack_ = live_by_stack_;
            peak_ns_ = last_ns_;
        }
    }

    void release(std::uint64_t address) {
        auto it = live_.find(address);
        if (it == live_.end()) return;
        Weight& live = live_by_stack_[it->second.leaf];
        live.bytes -= it->second.weight.bytes;
        live.count -= it->second.weight.count;
        if (live.count < 0.5) live_by_stack_.erase(it->second.leaf);
        live_total_ -= it->second.weight.bytes;
        live_.erase(it);
    }

    std::unordered_map<std::uint64_t, LiveSample> live_;
    std::unordered_map<std::uint64_t, Weight> live_by_stack_;
    double live_total_ = 0;
    std::uint64_t last_ns_ = 0;
};

// Outermost first (main at the left of a flame graph), "?" for a stack with no known frame.
std::vector<std::string> outermost_first(StackNamer& namer, std::uint64_t leaf) {
    std::vector<std::string> stack = namer.innermost_first(leaf);
    std::reverse(stack.begin(), stack.end());
    if (stack.empty()) stack.push_back("?");
    return stack;
}

std::vector<WeightedStack> ranked(const std::unordered_map<std::uint64_t, Weight>& weights, StackNamer& namer) {
    std::vector<WeightedStack> stacks;
    stacks.reserve(weights.size());
    for (const auto& [leaf, weight] : weights) {
        const auto bytes = static_cast<std::uint64_t>(std::llround(std::max(weight.bytes, 0.0)));
        if (bytes == 0) continue;
        stacks.push_back({outermost_first(namer, leaf), bytes, static_cast<std::uint64_t>(std::llround(std::max(weight.count, 0.0)))});
    }
    std::sort(stacks.begin(), stacks.end(), [](const WeightedStack& a, const WeightedStack& b) {
        return a.bytes != b.bytes ? a.bytes > b.bytes : a.frames < b.frames;
    });
    return stacks;
}

} // namespace

StackProfile collect_stacks(const std::filesystem::path& path, const StackOptions& options) {
    trace::TraceReader reader(path);
    StackPass pass;
    Event event;
    while (reader.next(event)) pass.consume(event, reader.metadata().stack_sample_bytes);
    const auto& meta = reader.metadata();
    StackProfile profile;
    profile.command = meta.command;
    profile.stack_sample_bytes = meta.stack_sample_bytes;
    StackNamer namer(meta, options.resolve_symbols, options.max_depth);
    profile.allocated = ranked(pass.allocated_, namer);
    profile.live_at_peak = ranked(pass.peak_by_stack_, namer);
    profile.warnings = namer.warnings();
    for (const auto& stack : profile.live_at_peak) profile.live_peak_bytes += stack.bytes;
    profile.live_at_end = ranked(pass.live_by_stack(), namer);
    const std::uint64_t start = meta.images.empty() ? 0 : meta.images.front().start_ns;
    profile.live_peak_time_s = pass.peak_ns_ > start ? static_cast<double>(pass.peak_ns_ - start) / 1e9 : 0.0;
    return profile;
}

namespace {

// "/usr/lib/python3/dist-packages/sklearn/svm/_base.py" -> "sklearn/svm/_base.py".
std::string short_python_file(const std::string& file) {
    for (const char* folder : {"/site-packages/", "/dist-packages/"}) {
        const auto at = file.rfind(folder);
        if (at != std::string::npos) return file.substr(at + std::char_traits<char>::length(folder));
    }
    const auto at = file.find("/lib/python3.");
    if (at != std::string::npos) {
        const auto slash = file.find('/', at + 13);
        if (slash != std::string::npos) return file.substr(slash + 1);
    }
    return file;
}

} // namespace

std::string interpreter_frame_label(const trace::TraceMetadata& meta, const trace::Frame& frame) {
    if (frame.kind == trace::FrameKind::kTruncated) return "[truncated]";
    const auto it = meta.python_code.find(frame.code);
    if (frame.kind != trace::FrameKind::kPython || it == meta.python_code.end()) return "[python]";
    const std::string file = short_python_file(it->second.file);
    return frame.line ? fmt::format("{}:{} {}", file, frame.line, it->second.name)
                      : fmt::format("{} {}", file, it->second.name);
}

bool is_python_frame_label(const std::string& label) {
    if (label == "[python]") return true;
    // "FILE:LINE NAME" with FILE a .py file or a <pseudo-file> such as "<frozen importlib._bootstrap>"
    // (interpreter_frame_label); a file name may hold spaces and colons of its own.
    for (auto colon = label.find(':'); colon != std::string::npos; colon = label.find(':', colon + 1)) {
        auto end = colon + 1;
        while (end < label.size() && label[end] >= '0' && label[end] <= '9') ++end;
        if (end == colon + 1 || end >= label.size() || label[end] != ' ') continue;
        const std::string_view file(label.data(), colon);
        if (file.ends_with(".py") || file.ends_with(">")) return true;
    }
    return false;
}

std::vector<std::size_t> frames_to_list(const std::vector<std::string>& innermost_first, std::size_t innermost,
                                        std::size_t python) {
    std::vector<std::size_t> shown;
    for (std::size_t i = 0; i < innermost_first.size(); ++i) {
        if (i < innermost) shown.push_back(i);
        else if (shown.size() < innermost + python && is_python_frame_label(innermost_first[i])) shown.push_back(i);
    }
    return shown;
}

std::string clean_frame(const std::string& frame) {
    std::string out;
    out.reserve(frame.size());
    for (const char c : frame) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == ';') out += ':';
        else if (c == '#') out += "No.";
        else if (byte < 0x20 || byte == 0x7f) out += ' ';
        else out += c;
    }
    return out;
}

} // namespace memopt::reports
