#pragma once
// One phase of a trace on its own (`memopt report TRACE --phase NAME`, the pytest plugin's
// per-test traces): the events from the phase's begin mark to its end mark, cut out as a
// trace of their own (profiler/trace/trace_rewriter.h), which every report then reads like
// any trace. The one place that decides what belongs to a phase's window:
//
// - the window opens at the phase's kPhaseBegin and closes at its matching kPhaseEnd (a
//   phase of the same name begun inside it nests), at the process's exit or exec, or at the
//   end of the trace; the marks themselves are in it, so the slice lists the phase;
// - allocations made in the window are in it, and the frees, unmaps and moves of them;
// - blocks already live when the phase began are not: their frees are left out too, as in a
//   pytest-memray per-test file, which holds only that test's allocations. How much was live
//   at the start is said in one line (PhaseSlice::note);
// - RSS samples, forks, nested phases and the process's exit inside the window are in it.
//   The last RSS sample before the phase is repeated at its start (the phase's RSS is at
//   least that, as the whole trace's phase table says). The slice ends with an exit record at the window's end (VmHWM 0: not known), which is
//   how a trace says it is complete: its "leaked" is what the phase left allocated. It keeps
//   the program's exit status, with the window's length as the wall time.
//
// NAME#N picks the N-th phase called NAME (from 1); a bare NAME is the first. "#N" at the end
// of a name is always read this way: a phase whose own name ends in "#2" is "NAME#2#1".
#include "profiler/trace/reader.h"
#include "reports/analysis/live_blocks.h"
#include "reports/analysis/mappings.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace memopt::reports {

struct PhaseRequest {
    std::string name;
    unsigned occurrence = 1; // 1 = the first phase of that name
};

// "NAME" or "NAME#N" (N from 1). Throws memopt::Error on an empty name or a bad N.
PhaseRequest parse_phase_request(std::string_view text);

// Decides, event by event in the reader's order, which events belong to the window.
class PhaseWindow {
  public:
    enum class State { kBefore, kOpen, kClosed };

    explicit PhaseWindow(PhaseRequest request) : request_(std::move(request)) {}

    // Call with every event of the trace in order; true when it belongs to the window.
    bool admit(const trace::Event& event, const trace::TraceMetadata& meta);

    State state() const { return state_; }
    std::uint64_t begin_ns() const { return begin_ns_; }
    std::uint64_t end_ns() const { return end_ns_; }   // time of the last event in the window
    bool ended_by_exit() const { return ended_by_exit_; }
    std::uint32_t image() const { return window_image_; } // index into TraceMetadata::images
    std::uint64_t live_at_start_bytes() const { return live_at_start_; }
    std::uint64_t rss_at_start_bytes() const { return last_rss_; } // the last sample before it
    unsigned occurrences() const { return occurrences_; } // phases begun with the requested name
    // Distinct phase names, in the order they first began.
    const std::vector<std::string>& phase_names() const { return names_; }

  private:
    void track_before(const trace::Event& event);
    bool admit_open(const trace::Event& event, const trace::TraceMetadata& meta);
    void see_phase_name(const std::string& name);

    PhaseRequest request_;
    State state_ = State::kBefore;
    std::uint32_t image_ = 0, window_image_ = 0;
    unsigned occurrences_ = 0;
    unsigned depth_ = 0; // phases of the requested name open inside the window
    std::uint64_t begin_ns_ = 0, end_ns_ = 0, live_at_start_ = 0;
    bool ended_by_exit_ = false;
    // Before the window: the whole heap, for live_at_start_. Inside: the window's own blocks.
    LiveBlocks blocks_;
    Mappings mappings_;
    std::uint64_t heap_ = 0, last_rss_ = 0;
    std::vector<std::string> names_;
    std::unordered_set<std::string> known_names_;
};

struct PhaseSlice {
    bool found = false;
    PhaseRequest request;
    unsigned occurrences = 0;              // phases of that name in the trace
    std::vector<std::string> phase_names;  // every phase of the trace, in order of first begin
    double start_s = 0, end_s = 0;         // the window, from the trace's first process start
    std::uint64_t live_at_start_bytes = 0;
    std::vector<std::uint8_t> trace;       // the slice: a complete trace file (when found)
    std::vector<std::string> warnings;     // data losses of the whole trace (its report's warnings)

    // One line for the report: which phase, where in the trace, and what was live at its start.
    std::string note() const;
};

// Reads `trace` once. Throws memopt::Error for a file that is not a readable memopt trace;
// a phase that is not in it is `found == false` with the trace's phase names.
PhaseSlice slice_phase(const std::filesystem::path& trace, const PhaseRequest& request);

// The slice as a file the reports can open, for as long as this object lives (an anonymous
// memory file, nothing on disk). Throws memopt::Error when it cannot be made.
class SliceFile {
  public:
    explicit SliceFile(const std::vector<std::uint8_t>& bytes);
    ~SliceFile();
    SliceFile(const SliceFile&) = delete;
    SliceFile& operator=(const SliceFile&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    int fd_ = -1;
    std::filesystem::path path_;
};

} // namespace memopt::reports
