#pragma once
// Writes events the reader decoded back out as a trace of the current format: how a trace is
// cut down to one phase (`memopt report TRACE --phase NAME --format trace`, the pytest
// plugin's per-test traces; reports/analysis/phase_window.h picks the events).
//
// The file is what the preload library writes, in small: a header, the kProcessStart of the
// one process image the events belong to, the events in their program order under sequence
// numbers 0, 1, 2, ... (checksummed chunks, compressed where zstd makes them smaller), then
// the image's modules and build-ids (distinct_modules), the frames the events' stacks use with their Python code
// objects, the command and the tracer's errors (the reader accepts frames and modules after
// the events that refer to them, as it does from the preload). Frame and code ids are the
// reader's (unique across the source file); the reader of the new file numbers them again.
//
// What the reader does not hand out is not written: which malloc-family function made a
// block (every allocation is written as kMalloc; reports do not tell them apart) and the
// writing thread of each event. The exit status (kExitStatus) is the caller's to give: a
// slice is not the whole run. Everything is built in memory; the caller writes the bytes out.
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace memopt::trace {

// The modules of image `image` of `meta`, each distinct one once. The preload writes the
// whole module map again whenever a library is loaded; a report maps an address to the module
// written last at its start, so each module kept at its last place names every frame as all
// the copies did. Computed once per image, shared by the traces cut from it.
std::vector<const Module*> distinct_modules(const TraceMetadata& meta, std::uint32_t image);

class TraceRewriter {
  public:
    // `image` is the process image the events come from; the new file's image starts at
    // `start_ns` (a phase's slice starts where the phase began).
    TraceRewriter(const ProcessImage& image, std::uint64_t start_ns, std::uint64_t page_size,
                  std::uint64_t stack_sample_bytes);

    // Appends one event (phase names are looked up in meta.names). Throws memopt::Error on a
    // kImageStart: a rewritten trace holds one process image.
    void add(const Event& event, const TraceMetadata& meta);

    // Written after the metadata (as `memopt record` writes it after the program ended).
    void set_exit_status(const ExitStatus& exit) { exit_ = exit; }

    // The complete file: the events so far, then `modules` (distinct_modules of their image)
    // and what `meta` (complete: the reader's next() has returned false) knows of the frames.
    std::vector<std::uint8_t> finish(const TraceMetadata& meta, const std::vector<const Module*>& modules);

  private:
    void add_allocation(RecordKind kind, const Event& event);
    void add_extended_event(const Event& event, const TraceMetadata& meta);
    ChunkBuilder& chunk(std::size_t bytes); // the open chunk, with room for about `bytes`
    void flush(bool compress);
    void write_modules(const std::vector<const Module*>& modules);
    void write_frames(const TraceMetadata& meta);
    void write_program(const TraceMetadata& meta);

    std::vector<std::uint8_t> out_;
    std::optional<ChunkBuilder> chunk_;
    std::size_t chunk_bytes_ = 0; // an upper bound of the open chunk's payload
    std::uint64_t next_seq_ = 0;  // number of the next sequenced record
    std::uint64_t page_size_;
    std::unordered_set<std::uint64_t> stacks_; // leaf frame ids the events refer to
    ExitStatus exit_;
};

} // namespace memopt::trace
