#include "reports/analysis/summary.h"

#include "profiler/trace/reader.h"
#include "profiler/trace/trace_files.h"
#include "reports/analysis/live_blocks.h"
#include "reports/analysis/mappings.h"
#include "reports/analysis/loss_warnings.h"
#include "reports/analysis/reservations.h"
#include "reports/analysis/summary_notes.h"
#include "reports/analysis/symbolizer.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <unordered_map>

namespace memopt::reports {
namespace {

using trace::Event;
using trace::EventType;

struct OpenPhase {
    std::size_t index; // into Summary::phases
};

struct SiteTotals {
    double bytes = 0;
    double count = 0;
};

class Analysis {
  public:
    Analysis(const SummaryOptions& options, const trace::TraceMetadata& meta) : options_(options), meta_(meta) {}

    void consume(const Event& event, std::uint64_t stack_sample_bytes) {
        switch (event.type) {
        case EventType::kAllocation: {
            const std::uint64_t replaced = blocks_.insert(event.address, event.size, event.stack);
            heap_ += event.size;
            heap_ -= replaced;
            if (replaced) ++summary_.reallocated_live;
            count_allocation(event, stack_sample_bytes);
            break;
        }
        case EventType::kFree: {
            std::uint64_t size = 0;
            if (blocks_.erase(event.address, size)) {
                heap_ -= size;
                ++summary_.total_frees;
            } else {
                ++summary_.unmatched_frees;
            }
            break;
        }
        case EventType::kMmap:
            mappings_.add(event.address, event.size);
            large_mappings_.on_map(event.address, event.size, event.stack);
            count_allocation(event, stack_sample_bytes);
            break;
        case EventType::kMunmap:
            if (mappings_.remove(event.address, event.size) > 0) ++summary_.total_frees;
            large_mappings_.on_unmap(event.address, event.size);
            break;
        case EventType::kMremap:
            if (mappings_.remove(event.address, event.size) > 0) mappings_.add(event.new_address, event.new_size);
            large_mappings_.on_unmap(event.address, event.size);
            break;
        case EventType::kRss: rss(event); break;
        case EventType::kPhaseBegin: phase_begin(event); break;
        case EventType::kPhaseEnd: phase_end(event); break;
        case EventType::kProcessExit:
            see_time(event.time_ns);
            summary_.peak_rss_bytes = std::max(summary_.peak_rss_bytes, event.value);
            exit_ns_ = event.time_ns;
            break;
        case EventType::kFork: see_time(event.time_ns); break;
        case EventType::kImageStart:
            // exec replaced the image: its memory is gone, not leaked.
            blocks_.clear();
            mappings_.clear();
            large_mappings_.clear();
            heap_ = 0;
            see_time(event.time_ns);
            break;
        }
        update_peaks();
    }

    Summary finish(trace::TraceReader& reader) {
        const auto& meta = reader.metadata();
        summary_.command = meta.command;
        summary_.exit_known = meta.exit.known;
        summary_.exit_code = meta.exit.exit_code;
        summary_.killed_by_signal = meta.exit.signaled;
        summary_.stack_sample_bytes = meta.stack_sample_bytes;
        summary_.peak_rss_bytes = std::max(summary_.peak_rss_bytes, meta.exit.max_rss_kib * 1024);
        if (!start_ns_ && !meta.images.empty()) start_ns_ = meta.images.front().start_ns;
        const std::uint64_t end = exit_ns_ ? exit_ns_ : last_ns_;
        summary_.duration_s = meta.exit.wall_ns ? static_cast<double>(meta.exit.wall_ns) / 1e9 : seconds(end);
        blocks_.for_each([&](std::uint64_t, std::uint64_t size, std::uint64_t) { summary_.leaked_bytes += size; });
        summary_.leaked_mapped_bytes = mappings_.bytes();
        summary_.peak_heap_time_s = seconds(peak_time_ns_);
        for (const OpenPhase& open : open_phases_) summary_.phases[open.index].end_s = seconds(end);
        thin_timeline();
        summary_.warnings = data_loss_warnings(reader);
        StackNamer namer(meta, options_.resolve_symbols); // one per report: each module file is opened once
        top_sites(namer);
        if (auto note = large_mappings_.peak_note(namer, summary_.peak_heap_bytes, summary_.peak_rss_bytes))
            summary_.notes.push_back(std::move(*note));
        for (const auto& warning : namer.warnings()) summary_.warnings.push_back(warning);
        for (auto& note : tracer_note_texts(meta)) summary_.notes.push_back(std::move(note));
        summary_.events = reader.events_read();
        summary_.trace_bytes = reader.bytes_read();
        return std::move(summary_);
    }

  private:
    double seconds(std::uint64_t ns) const {
        return ns > start_ns_ ? static_cast<double>(ns - start_ns_) / 1e9 : 0.0;
    }

    // Times are reported from the first process image's start (or the first time seen).
    void see_time(std::uint64_t ns) {
        if (!start_ns_) start_ns_ = meta_.images.empty() ? ns : meta_.images.front().start_ns;
        last_ns_ = std::max(last_ns_, ns);
    }

    void count_allocation(const Event& event, std::uint64_t mean) {
        ++summary_.total_allocations;
        summary_.total_allocated_bytes += event.size;
        if (event.stack == 0 || mean == 0) return;
        // Each sampled allocation stands for size / P(sampled): unbiased under Poisson sampling.
        const double size = static_cast<double>(std::max<std::uint64_t>(event.size, 1));
        const double probability = mean <= 1 ? 1.0 : 1.0 - std::exp(-size / static_cast<double>(mean));
        SiteTotals& site = sites_[event.stack];
        site.bytes += size / probability;
        site.count += 1.0 / probability;
    }

    void update_peaks() {
        const std::uint64_t current = heap_ + mappings_.bytes();
        if (current > summary_.peak_heap_bytes) {
            summary_.peak_heap_bytes = current;
            summary_.peak_heap_mapped_bytes = mappings_.bytes();
            peak_time_ns_ = last_ns_;
            large_mappings_.on_new_peak();
        }
        interval_peak_ = std::max(interval_peak_, current);
        for (const OpenPhase& open : open_phases_) {
            auto& phase = summary_.phases[open.index];
            phase.peak_heap_bytes = std::max(phase.peak_heap_bytes, current);
        }
    }

    void rss(const Event& event) {
        see_time(event.time_ns);
        summary_.peak_rss_bytes = std::max(summary_.peak_rss_bytes, event.value);
        for (const OpenPhase& open : open_phases_) {
            auto& phase = summary_.phases[open.index];
            phase.peak_rss_bytes = std::max(phase.peak_rss_bytes, event.value);
        }
        last_rss_ = event.value;
        // at 0.1 ms, the resolution the JSON summary keeps: a report of the summary then
        // prints the very times a report of the trace prints
        summary_.timeline.push_back({std::round(seconds(event.time_ns) * 1e4) / 1e4, interval_peak_, event.value});
        interval_peak_ = heap_ + mappings_.bytes();
    }

    void phase_begin(const Event& event) {
        see_time(event.time_ns);
        PhaseSummary phase;
        phase.name = meta_.names[event.name];
        phase.start_s = seconds(event.time_ns);
        phase.peak_heap_bytes = heap_ + mappings_.bytes();
        phase.peak_rss_bytes = last_rss_;
        open_phases_.push_back({summary_.phases.size()});
        summary_.phases.push_back(std::move(phase));
    }

    void phase_end(const Event& event) {
        see_time(event.time_ns);
        const std::string& name = meta_.names[event.name];
        for (auto it = open_phases_.rbegin(); it != open_phases_.rend(); ++it) {
            if (summary_.phases[it->index].name != name) continue;
            summary_.phases[it->index].end_s = seconds(event.time_ns);
            summary_.phases[it->index].peak_rss_bytes = std::max(summary_.phases[it->index].peak_rss_bytes, last_rss_);
            open_phases_.erase(std::next(it).base());
            return;
        }
    }

    void thin_timeline() {
        auto& points = summary_.timeline;
        const std::size_t limit = std::max<std::size_t>(options_.max_timeline_points, 2);
        if (points.size() <= limit) return;
        const std::size_t group = (points.size() + limit - 1) / limit;
        std::vector<TimelinePoint> thinned;
        for (std::size_t i = 0; i < points.size(); i += group) {
            TimelinePoint merged = points[i];
            for (std::size_t j = i; j < std::min(points.size(), i + group); ++j) {
                merged.heap_bytes = std::max(merged.heap_bytes, points[j].heap_bytes);
                merged.rss_bytes = std::max(merged.rss_bytes, points[j].rss_bytes);
                merged.t_s = points[j].t_s;
            }
            thinned.push_back(merged);
        }
        points.swap(thinned);
    }

    void top_sites(StackNamer& namer) {
        if (sites_.empty()) return;
        std::vector<std::pair<std::uint64_t, SiteTotals>> ranked(sites_.begin(), sites_.end());
        std::sort(ranked.begin(), ranked.end(),
                  [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
        if (ranked.size() > options_.top_sites) ranked.resize(options_.top_sites);
        for (const auto& [leaf, totals] : ranked) {
            SiteSummary site;
            site.bytes = static_cast<std::uint64_t>(std::llround(totals.bytes));
            site.count = static_cast<std::uint64_t>(std::llround(totals.count));
            site.stack = namer.innermost_first(leaf);
            summary_.top_sites.push_back(std::move(site));
        }
    }

  private:
    SummaryOptions options_;
    const trace::TraceMetadata& meta_;
    Summary summary_;
    LiveBlocks blocks_;
    Mappings mappings_;
    LargeMappings large_mappings_;
    std::uint64_t heap_ = 0;
    std::uint64_t interval_peak_ = 0;
    std::uint64_t last_rss_ = 0;
    std::uint64_t last_ns_ = 0;
    std::uint64_t exit_ns_ = 0;
    std::uint64_t start_ns_ = 0;
    std::uint64_t peak_time_ns_ = 0;
    std::vector<OpenPhase> open_phases_;
    std::unordered_map<std::uint64_t, SiteTotals> sites_;
};

} // namespace

namespace {

Summary summarize_one(const std::filesystem::path& path, const SummaryOptions& options, trace::TraceMetadata* meta_out) {
    trace::TraceReader reader(path);
    Analysis analysis(options, reader.metadata());
    Event event;
    while (reader.next(event)) analysis.consume(event, reader.metadata().stack_sample_bytes);
    Summary summary = analysis.finish(reader);
    if (meta_out) *meta_out = reader.metadata();
    return summary;
}

// A child's line in its parent's report. A child trace that cannot be read is listed with
// what is known (its name) and a warning in the parent's summary.
ChildSummary summarize_child(const std::filesystem::path& path, const SummaryOptions& options, Summary& parent) {
    ChildSummary child;
    child.trace = path.string();
    SummaryOptions quick = options;
    quick.top_sites = 0;
    quick.children = false;
    quick.resolve_symbols = false;
    try {
        trace::TraceMetadata meta;
        const Summary s = summarize_one(path, quick, &meta);
        child.command = s.command;
        child.duration_s = s.duration_s;
        child.peak_heap_bytes = s.peak_heap_bytes;
        child.peak_rss_bytes = s.peak_rss_bytes;
        if (!meta.images.empty()) {
            child.pid = meta.images.front().pid;
            child.ppid = meta.images.front().ppid;
            child.forked = meta.images.front().origin == trace::ProcessOrigin::kForked && meta.images.size() == 1;
        }
    } catch (const std::exception& e) {
        parent.warnings.push_back(fmt::format("child trace {} could not be read: {}", path.string(), e.what()));
    }
    return child;
}

} // namespace

Summary summarize_trace(const std::filesystem::path& path, const SummaryOptions& options) {
    Summary summary = summarize_one(path, options, nullptr);
    for (const auto& child : trace::child_trace_files(path)) {
        summary.child_traces.push_back(child.string());
        if (options.children) summary.children.push_back(summarize_child(child, options, summary));
    }
    // A fork runs its parent's program: traces that do not name their command (written before
    // the tracer recorded it) take the parent's, the parent found by pid.
    for (auto& child : summary.children) {
        if (!child.command.empty() || !child.forked) continue;
        child.command = summary.command;
        for (const auto& other : summary.children)
            if (other.pid == child.ppid && !other.command.empty()) child.command = other.command;
    }
    return summary;
}

} // namespace memopt::reports
