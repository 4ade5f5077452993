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
#include "reports/analysis/live_memory.h"
#include "reports/analysis/mappings.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <map>
#include <memory>
#include <vector>

namespace memopt::reports {

struct PhaseRequest {
    std::string name;
    unsigned occurrence = 1; // 1 = the first phase of that name
};

// "NAME" or "NAME#N" (N from 1). Throws memopt::Error on an empty name or a bad N.
PhaseRequest parse_phase_request(std::string_view text);

// Decides, event by event in the reader's order, which events belong to which requested
// window; all of them are found in one pass (the pytest plugin cuts every test at once), at
// a cost per event of the windows open then (phases rarely overlap).
class PhaseWindows {
  public:
    enum class State { kBefore, kOpen, kClosed };
    struct Window {
        PhaseRequest request;
        State state = State::kBefore;
        std::uint32_t image = 0;                 // index into TraceMetadata::images
        std::uint64_t begin_ns = 0, end_ns = 0;  // end: time of the last event in it
        bool ended_by_exit = false;              // the process's own exit record is in it
        std::uint64_t live_at_start_bytes = 0;
        std::uint64_t rss_at_start_bytes = 0;    // the last RSS sample before it
        unsigned depth = 0;                      // phases of its name begun inside it
        std::unique_ptr<LiveBlocks> blocks;      // its own blocks, while it is open
        std::unique_ptr<Mappings> mappings;
    };

    explicit PhaseWindows(const std::vector<PhaseRequest>& requests);

    // Feeds the next event of the trace; admitted() then lists the windows it belongs to
    // and closed() those that closed at it.
    void feed(const trace::Event& event, const trace::TraceMetadata& meta);
    // At the end of the trace: closes the windows still open and lists them in closed().
    void finish();
    const std::vector<std::size_t>& admitted() const { return admitted_; }
    const std::vector<std::size_t>& closed() const { return closed_; }

    const Window& window(std::size_t index) const { return windows_[index]; }
    unsigned occurrences(const std::string& name) const; // phases begun with this name
    // Distinct phase names, in the order they first began.
    const std::vector<std::string>& phase_names() const { return names_; }

  private:
    void open(std::size_t index, const trace::Event& begin);
    bool admit_open(Window& window, const trace::Event& event, const trace::TraceMetadata& meta);
    void close(std::size_t index);
    void track_heap(const trace::Event& event);

    std::vector<Window> windows_;
    std::map<std::pair<std::string, unsigned>, std::vector<std::size_t>> waiting_; // by (name, occurrence)
    std::vector<std::size_t> open_, admitted_, closed_;
    std::uint32_t image_ = 0;
    std::map<std::string, unsigned> begun_; // phases begun, by name
    std::vector<std::string> names_;        // begun_'s keys in order of first begin
    // The whole heap of the current image, for what is live when a window opens.
    LiveMemory live_;
    std::uint64_t last_rss_ = 0;
};

struct PhaseSlice {
    bool found = false;
    PhaseRequest request;
    unsigned occurrences = 0;              // phases of that name in the trace
    std::vector<std::string> phase_names;  // when not found: the trace's phases, in order of first begin
    double start_s = 0, end_s = 0;         // the window, from the trace's first process start
    std::uint64_t live_at_start_bytes = 0;
    std::vector<std::uint8_t> trace;       // the slice: a complete trace file (when found)
    std::vector<std::string> warnings;     // data losses of the whole trace (its report's warnings)

    // One line for the report: which phase, where in the trace, and what was live at its start.
    std::string note() const;
};

// Reads `trace` once and cuts out every requested phase (one slice per request, in order).
// Throws memopt::Error for a file that is not a readable memopt trace; a phase that is not in
// it is `found == false`, with the trace's phase names.
std::vector<PhaseSlice> slice_phases(const std::filesystem::path& trace, const std::vector<PhaseRequest>& requests);

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
