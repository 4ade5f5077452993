#include "common/sizes.h"
#include "reports/analysis/stacks.h"
#include "reports/render/summary_format.h"

#include <fmt/format.h>

namespace memopt::reports {

namespace {

std::string size(std::uint64_t bytes) { return format_size(static_cast<double>(bytes)); }

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

} // namespace

std::string summary_to_text(const Summary& s) {
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
                size(s.peak_heap_bytes), size(s.peak_heap_bytes - s.peak_heap_mapped_bytes),
                size(s.peak_heap_mapped_bytes), s.peak_heap_time_s);
    append_line(out, "peak RSS     {}", size(s.peak_rss_bytes));
    append_line(out, "leaked       {} in malloc'd blocks, {} still mapped", size(s.leaked_bytes), size(s.leaked_mapped_bytes));
    append_line(out, "allocations  {} allocations, {} frees, {} allocated in total", s.total_allocations, s.total_frees,
         size(s.total_allocated_bytes));
    if (!s.phases.empty()) {
        append_line(out, "");
        append_line(out, "{:<24} {:>9} {:>9} {:>12} {:>12}", "phase", "start s", "end s", "peak heap", "peak RSS");
        for (const auto& p : s.phases)
            append_line(out, "{:<24} {:>9.3f} {:>9.3f} {:>12} {:>12}", p.name.substr(0, 24), p.start_s, p.end_s,
                 size(p.peak_heap_bytes), size(p.peak_rss_bytes));
    }
    if (!s.top_sites.empty()) {
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
    } else if (s.stack_sample_bytes == 0) {
        append_line(out, "");
        append_line(out, "(no stacks recorded: use `memopt record --stacks` to see allocation sites)");
    }
    for (const auto& child : s.child_traces) append_line(out, "child trace  {}", child);
    for (const auto& note : s.notes) append_line(out, "note: {}", note);
    return out;
}

} // namespace memopt::reports
