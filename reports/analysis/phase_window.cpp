#include "reports/analysis/phase_window.h"

#include "common/error.h"
#include "common/sizes.h"
#include "common/write_all.h"
#include "profiler/trace/trace_rewriter.h"
#include "reports/analysis/loss_warnings.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <sys/mman.h>
#include <unistd.h>

namespace memopt::reports {

using trace::Event;
using trace::EventType;

PhaseRequest parse_phase_request(std::string_view text) {
    PhaseRequest request{std::string(text), 1};
    const auto hash = text.rfind('#');
    if (hash != std::string_view::npos && hash + 1 < text.size() &&
        text.find_first_not_of("0123456789", hash + 1) == std::string_view::npos) {
        const std::string_view digits = text.substr(hash + 1);
        unsigned n = 0;
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (error != std::errc() || end != digits.data() + digits.size() || n == 0)
            throw Error(fmt::format("--phase {}: the number after '#' counts from 1", text));
        request = {std::string(text.substr(0, hash)), n};
    }
    if (request.name.empty()) throw Error(fmt::format("--phase '{}' names no phase", text));
    return request;
}

void PhaseWindow::see_phase_name(const std::string& name) {
    if (known_names_.insert(name).second) names_.push_back(name);
}

bool PhaseWindow::admit(const Event& event, const trace::TraceMetadata& meta) {
    if (event.type == EventType::kPhaseBegin) {
        const std::string& name = meta.names.at(event.name);
        see_phase_name(name);
        if (name == request_.name) ++occurrences_;
        if (state_ == State::kBefore && name == request_.name && occurrences_ == request_.occurrence) {
            state_ = State::kOpen;
            window_image_ = image_;
            begin_ns_ = end_ns_ = event.time_ns;
            live_at_start_ = heap_ + mappings_.bytes();
            blocks_.clear(); // from here on: the window's own blocks only
            mappings_.clear();
            heap_ = 0;
            return true;
        }
    }
    if (event.type == EventType::kImageStart) {
        ++image_;
        if (state_ == State::kOpen) state_ = State::kClosed; // exec: the phase's process image is gone
    }
    if (state_ == State::kBefore) track_before(event);
    return state_ == State::kOpen && admit_open(event, meta);
}

// The whole heap up to the window, to say how much of it was live when the phase began.
void PhaseWindow::track_before(const Event& event) {
    std::uint64_t size = 0;
    switch (event.type) {
    case EventType::kAllocation: heap_ += event.size - blocks_.insert(event.address, event.size); break;
    case EventType::kFree:
        if (blocks_.erase(event.address, size)) heap_ -= size;
        break;
    case EventType::kMmap: mappings_.add(event.address, event.size); break;
    case EventType::kMunmap: mappings_.remove(event.address, event.size); break;
    case EventType::kMremap:
        if (mappings_.remove(event.address, event.size) > 0) mappings_.add(event.new_address, event.new_size);
        break;
    case EventType::kRss: last_rss_ = event.value; break;
    case EventType::kImageStart:
        blocks_.clear();
        mappings_.clear();
        heap_ = last_rss_ = 0;
        break;
    default: break;
    }
}

bool PhaseWindow::admit_open(const Event& event, const trace::TraceMetadata& meta) {
    std::uint64_t size = 0;
    switch (event.type) {
    case EventType::kAllocation: blocks_.insert(event.address, event.size); break;
    case EventType::kFree:
        if (!blocks_.erase(event.address, size)) return false; // made before the window
        break;
    case EventType::kMmap: mappings_.add(event.address, event.size); break;
    case EventType::kMunmap:
        if (mappings_.remove(event.address, event.size) == 0) return false;
        break;
    case EventType::kMremap:
        if (mappings_.remove(event.address, event.size) == 0) return false;
        mappings_.add(event.new_address, event.new_size);
        break;
    case EventType::kPhaseBegin:
        if (meta.names.at(event.name) == request_.name) ++depth_;
        break;
    case EventType::kPhaseEnd:
        if (meta.names.at(event.name) != request_.name) break;
        if (depth_ == 0) state_ = State::kClosed;
        else --depth_;
        break;
    case EventType::kProcessExit:
        ended_by_exit_ = true;
        state_ = State::kClosed;
        break;
    default: break;
    }
    if (event.time_ns) end_ns_ = std::max(end_ns_, event.time_ns);
    return true;
}

namespace {

double seconds_from(std::uint64_t start_ns, std::uint64_t ns) {
    return ns > start_ns ? static_cast<double>(ns - start_ns) / 1e9 : 0.0;
}

Event rss_sample(std::uint64_t time_ns, std::uint64_t bytes) {
    Event sample;
    sample.type = EventType::kRss;
    sample.time_ns = time_ns;
    sample.value = bytes;
    return sample;
}

// The window's end: an exit record at its last moment, unless the process's own is in it.
void close_slice(trace::TraceRewriter& writer, const PhaseWindow& window, const trace::TraceMetadata& meta) {
    if (window.ended_by_exit()) return;
    Event exit;
    exit.type = EventType::kProcessExit;
    exit.time_ns = window.end_ns();
    writer.add(exit, meta);
}

} // namespace

PhaseSlice slice_phase(const std::filesystem::path& path, const PhaseRequest& request) {
    trace::TraceReader reader(path);
    const auto& meta = reader.metadata();
    PhaseWindow window(request);
    std::optional<trace::TraceRewriter> writer;
    Event event;
    while (reader.next(event)) {
        const bool was_open = window.state() == PhaseWindow::State::kOpen;
        if (!window.admit(event, meta)) {
            if (was_open && window.state() == PhaseWindow::State::kClosed) close_slice(*writer, window, meta);
            continue;
        }
        if (!writer) {
            const auto& image = meta.images.at(window.image());
            writer.emplace(image, window.begin_ns(), meta.page_size, meta.stack_sample_bytes);
            writer->add(event, meta);
            if (window.rss_at_start_bytes()) writer->add(rss_sample(window.begin_ns(), window.rss_at_start_bytes()), meta);
            continue;
        }
        writer->add(event, meta);
        if (window.state() == PhaseWindow::State::kClosed) close_slice(*writer, window, meta);
    }
    if (window.state() == PhaseWindow::State::kOpen) close_slice(*writer, window, meta);

    PhaseSlice slice;
    slice.request = request;
    slice.found = writer.has_value();
    slice.occurrences = window.occurrences();
    slice.phase_names = window.phase_names();
    slice.warnings = data_loss_warnings(reader);
    if (!slice.found) return slice;
    const std::uint64_t origin = meta.images.empty() ? window.begin_ns() : meta.images.front().start_ns;
    slice.start_s = seconds_from(origin, window.begin_ns());
    slice.end_s = seconds_from(origin, window.end_ns());
    slice.live_at_start_bytes = window.live_at_start_bytes();
    if (meta.exit.known) { // the program's exit, with the window's length as its wall time
        trace::ExitStatus exit = meta.exit;
        exit.wall_ns = window.end_ns() - window.begin_ns();
        exit.max_rss_kib = 0; // the whole run's: not the phase's
        writer->set_exit_status(exit);
    }
    slice.trace = writer->finish(meta, window.image());
    return slice;
}

std::string PhaseSlice::note() const {
    std::string which = fmt::format("phase '{}'", request.name);
    if (occurrences > 1) which += fmt::format(" ({} of {} of that name; NAME#N picks another)", request.occurrence, occurrences);
    return fmt::format("{} only, {:.3f} s to {:.3f} s of the trace: {} already allocated when it began is left out "
                       "(its frees too); times count from the phase's start",
                       which, start_s, end_s, format_size(static_cast<double>(live_at_start_bytes)));
}

SliceFile::SliceFile(const std::vector<std::uint8_t>& bytes) {
    fd_ = memfd_create("memopt-phase.trace", MFD_CLOEXEC);
    if (fd_ < 0) throw Error(fmt::format("cannot make a memory file for the phase's slice: {}", std::strerror(errno)));
    path_ = fmt::format("/proc/self/fd/{}", fd_);
    try {
        write_all(fd_, bytes.data(), bytes.size(), path_);
    } catch (...) {
        ::close(fd_);
        throw;
    }
}

SliceFile::~SliceFile() {
    if (fd_ >= 0) ::close(fd_);
}

} // namespace memopt::reports
