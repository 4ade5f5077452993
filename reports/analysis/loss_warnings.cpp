#include "reports/analysis/loss_warnings.h"

#include "common/sizes.h"

#include <fmt/format.h>

namespace memopt::reports {
namespace {

using trace::SkippedChunk;
using trace::TraceMetadata;

// What one thread's buffer holds at most before it is written (profiler/preload/thread_buffer.h).
constexpr std::uint64_t kThreadBufferBytes = 128 * 1024;
// Listed one by one up to this many; past it, one line sums them up.
constexpr std::size_t kMaxListedChunks = 5;

struct Rate {
    double events_per_byte;
    std::uint64_t events(std::uint64_t bytes) const {
        return static_cast<std::uint64_t>(static_cast<double>(bytes) * events_per_byte + 0.5);
    }
};

std::string events_lost(const SkippedChunk& chunk) {
    return chunk.lost_events_exact
               ? fmt::format("{} events lost (their sequence numbers never arrived)", chunk.lost_events)
               : fmt::format("about {} events lost (estimated from its size)", chunk.lost_events);
}

void damaged_chunks(const TraceMetadata& meta, std::vector<std::string>& out) {
    std::vector<const SkippedChunk*> damaged;
    for (const auto& chunk : meta.skipped)
        if (!chunk.truncated_tail) damaged.push_back(&chunk);
    if (damaged.size() <= kMaxListedChunks) {
        for (const SkippedChunk* chunk : damaged)
            out.push_back(fmt::format("damaged trace data at byte {} ({} bytes) failed its checksum and was skipped: {}",
                                      chunk->offset, chunk->bytes, events_lost(*chunk)));
        return;
    }
    std::uint64_t bytes = 0, events = 0;
    for (const SkippedChunk* chunk : damaged) {
        bytes += chunk->bytes;
        events += chunk->lost_events;
    }
    out.push_back(fmt::format("{} damaged stretches of the trace ({} bytes, the first at byte {}) failed their "
                              "checksum and were skipped: about {} events lost",
                              damaged.size(), bytes, damaged.front()->offset, events));
}

void cut_off_tail(const TraceMetadata& meta, std::vector<std::string>& out) {
    for (const auto& chunk : meta.skipped)
        if (chunk.truncated_tail)
            out.push_back(fmt::format("the trace ends inside a chunk (killed process or full disk): its last {} bytes "
                                      "were cut off, {}; everything before them was read",
                                      chunk.bytes, events_lost(chunk)));
}

// The last image is the process as it ended; earlier ones ended by exec.
void ended_without_exit(const TraceMetadata& meta, Rate rate, std::vector<std::string>& out) {
    if (meta.images.empty() || meta.images.back().exited) return;
    const trace::ProcessImage& image = meta.images.back();
    const std::string how = meta.exit.known && meta.exit.signaled
                                ? fmt::format("was killed by signal {}", meta.exit.exit_code - 128)
                                : std::string(meta.tracer_errors.empty() ? "ended (killed?)" : "ended after its tracer stopped");
    const std::uint64_t threads = std::max<std::uint64_t>(image.threads, 1);
    out.push_back(fmt::format("process {} {} without writing its exit record: what its {} thread{} had not yet "
                              "written is lost (at most {} each, about the last 20 ms; up to about {} events)",
                              image.pid, how, threads, threads == 1 ? "" : "s", format_size(static_cast<double>(kThreadBufferBytes)),
                              rate.events(threads * kThreadBufferBytes)));
}

void missing_numbers(const TraceMetadata& meta, std::vector<std::string>& out) {
    if (meta.unexplained_missing == 0) return;
    std::string cause;
    if (!meta.tracer_errors.empty()) cause = "the tracer stopped (see its error) after the program had taken them";
    else if (!meta.images.empty() && !meta.images.back().exited) cause = "buffers the process could not write before it ended";
    else cause = "buffers that were never written";
    out.push_back(fmt::format("{} events never reached the trace: their sequence numbers are missing ({})",
                              meta.unexplained_missing, cause));
}

} // namespace

std::vector<std::string> data_loss_warnings(const trace::TraceReader& reader) {
    const TraceMetadata& meta = reader.metadata();
    // Bytes per event of this trace, for estimates; a typical event record is 2 to 4 bytes.
    const Rate rate{reader.events_read() ? static_cast<double>(reader.events_read()) / static_cast<double>(reader.bytes_read())
                                         : 1.0 / 3.0};
    std::vector<std::string> out;
    for (const auto& error : meta.tracer_errors)
        out.push_back(fmt::format("the tracer stopped: {} (events after it were not recorded; totals undercount)", error));
    damaged_chunks(meta, out);
    cut_off_tail(meta, out);
    missing_numbers(meta, out);
    if (meta.images.empty() && meta.skipped.empty())
        out.push_back("the traced program never started tracing (not found, or statically linked?)");
    else if (meta.images.empty())
        out.push_back("the trace holds no process start (it was in the damaged or cut-off bytes)");
    ended_without_exit(meta, rate, out);
    // The launched command's trace starts with memopt record's command line and ends with its
    // exit status; a child's trace (TRACE.PID) has its command (written by the tracer) only.
    const bool launched = meta.images.empty() || meta.images.front().origin == trace::ProcessOrigin::kLaunched;
    if (launched && !meta.command.empty() && !meta.exit.known)
        out.push_back("memopt record did not write the program's exit status (it was interrupted): "
                      "the exit code and the kernel's peak RSS of the program are unknown");
    if (meta.format_version < trace::kFormatVersion)
        out.push_back(fmt::format("trace format version {}: its chunks carry no checksums, damage cannot be detected",
                                  meta.format_version));
    return out;
}

} // namespace memopt::reports
