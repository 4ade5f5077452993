#include "common/sizes.h"
#include "reports/analysis/stacks.h"
#include "reports/render/summary_format.h"

#include <algorithm>
#include <fmt/format.h>

namespace memopt::reports {

namespace {

std::string size(std::uint64_t bytes) { return format_size(static_cast<double>(bytes)); }
std::string both(std::uint64_t bytes) { return format_size_both(static_cast<double>(bytes)); }

template <typename... T>
void append_line(std::string& out, fmt::format_string<T...> format, T&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<T>(args)...);
    out += '\n';
}

std::string join_command(const std::vector<std::string>& command) {
    std::string text;
    for (const auto& word : command) {
        if (!text.empty()) text += ' ';
        text += word.find(' ') == std::string::npos ? word : "'" + word + "'";
    }
    return text;
}

// The phase column is as wide as the longest name: names are never cut.
void append_phases(std::string& out, const Summary& s) {
    if (s.phases.empty()) return;
    std::size_t width = 5;
    for (const auto& p : s.phases) width = std::max(width, p.name.size());
    append_line(out, "");
    append_line(out, "{:<{}} {:>9} {:>9} {:>12} {:>12}", "phase", width, "start s", "end s", "peak heap", "peak RSS");
    for (const auto& p : s.phases)
        append_line(out, "{:<{}} {:>9.3f} {:>9.3f} {:>12} {:>12}", p.name, width, p.start_s, p.end_s,
                    size(p.peak_heap_bytes), size(p.peak_rss_bytes));
}

void append_sites(std::string& out, const Summary& s) {
    if (s.top_sites.empty()) {
        if (s.stack_sample_bytes == 0) {
            append_line(out, "");
            append_line(out, "(no stacks recorded: use `memopt record --stacks` to see allocation sites)");
        }
        return;
    }
    append_line(out, "");
    append_line(out, "top allocation sites ({}):",
                s.stack_sample_bytes <= 1 ? "every allocation"
                                          : fmt::format("sampled about every {}, estimated", size(s.stack_sample_bytes)));
    int rank = 1;
    for (const auto& site : s.top_sites) {
        append_line(out, "{:>3}. {:>12} in {:>9} allocations", rank++, size(site.bytes), site.count);
        std::size_t next = 0; // the innermost frames, then the Python lines further out
        for (const std::size_t i : frames_to_list(site.stack, 8, 4)) {
            if (i > next) append_line(out, "       ... {} frames", i - next);
            append_line(out, "       {}", site.stack[i]);
            next = i + 1;
        }
        if (site.stack.size() > next) append_line(out, "       ... {} more frames", site.stack.size() - next);
    }
}

// Each child trace with its command and peaks; --children adds every process's peaks up.
void append_children(std::string& out, const Summary& s, const TextOptions& options) {
    if (s.children.empty()) {
        for (const auto& child : s.child_traces) append_line(out, "child trace  {}", child);
        return;
    }
    append_line(out, "");
    append_line(out, "{:>8} {:>12} {:>12}  {}", "child", "peak heap", "peak RSS", "command (trace)");
    std::uint64_t heap = s.peak_heap_bytes, rss = s.peak_rss_bytes;
    for (const auto& c : s.children) {
        std::string command = c.command.empty() ? "(command unknown)" : join_command(c.command);
        for (std::size_t at = command.find('\n'); at != std::string::npos; at = command.find('\n', at + 2))
            command.replace(at, 1, "\\n"); // one line per child
        append_line(out, "{:>8} {:>12} {:>12}  {}{} ({})", c.pid, size(c.peak_heap_bytes), size(c.peak_rss_bytes),
                    c.forked ? "fork of " : "", command, c.trace);
        heap += c.peak_heap_bytes;
        rss += c.peak_rss_bytes;
    }
    if (options.add_children)
        append_line(out, "all {} processes: peak heap {}, peak RSS {} (each process's peak added up: an upper bound "
                         "on what they held at once)",
                    s.children.size() + 1, both(heap), both(rss));
    else
        append_line(out, "(memopt report --children adds the {} processes' peaks up)", s.children.size() + 1);
}

} // namespace

std::string summary_to_text(const Summary& s, const TextOptions& options) {
    std::string out;
    // Losses first: every number after them may undercount.
    for (const auto& warning : s.warnings) append_line(out, "WARNING: {}", warning);
    if (!s.warnings.empty()) append_line(out, "");
    append_line(out, "command      {}", s.command.empty() ? "(unknown)" : join_command(s.command));
    if (s.exit_known)
        append_line(out, "exit         {}{}", s.killed_by_signal ? "killed by signal " : "status ",
                    s.killed_by_signal ? s.exit_code - 128 : s.exit_code);
    append_line(out, "duration     {:.3f} s", s.duration_s);
    append_line(out, "peak heap    {}  ({} malloc'd + {} anonymous mmap, requested bytes; at {:.3f} s)",
                both(s.peak_heap_bytes), size(s.peak_heap_bytes - s.peak_heap_mapped_bytes), size(s.peak_heap_mapped_bytes),
                s.peak_heap_time_s);
    append_line(out, "peak RSS     {}", both(s.peak_rss_bytes));
    append_line(out, "leaked       {} in malloc'd blocks, {} still mapped", size(s.leaked_bytes), size(s.leaked_mapped_bytes));
    append_line(out, "allocations  {} allocations, {} frees, {} allocated in total", s.total_allocations, s.total_frees,
                size(s.total_allocated_bytes));
    if (s.unmatched_frees) append_line(out, "             {} frees of blocks allocated before tracing began", s.unmatched_frees);
    if (s.reallocated_live)
        append_line(out, "             {} allocation{} at an address still live in the trace (its free is missing)",
                    s.reallocated_live, s.reallocated_live == 1 ? "" : "s");
    if (!s.timeline.empty())
        append_line(out, "timeline     {} samples of heap and RSS up to {:.3f} s (drawn by --format html)", s.timeline.size(),
                    s.timeline.back().t_s);
    append_phases(out, s);
    append_sites(out, s);
    append_children(out, s, options);
    for (const auto& note : s.notes) append_line(out, "note: {}", note);
    if (s.trace_bytes || s.events)
        append_line(out, "trace        {} events, {} read ({})", s.events, size(s.trace_bytes), kUnitsNote);
    return out;
}

} // namespace memopt::reports
