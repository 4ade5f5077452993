#include "reports/analysis/phase_window.h"

#include "common/error.h"
#include "common/sizes.h"
#include "common/write_all.h"
#include "profiler/trace/trace_rewriter.h"
#include "reports/analysis/loss_warnings.h"

#include <algorithm>
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

PhaseWindows::PhaseWindows(const std::vector<PhaseRequest>& requests) {
    windows_.resize(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
        windows_[i].request = requests[i];
        waiting_[{requests[i].name, requests[i].occurrence}].push_back(i);
    }
}

unsigned PhaseWindows::occurrences(const std::string& name) const {
    const auto it = begun_.find(name);
    return it == begun_.end() ? 0 : it->second;
}

void PhaseWindows::feed(const Event& event, const trace::TraceMetadata& meta) {
    admitted_.clear();
    closed_.clear();
    if (event.type == EventType::kImageStart) {
        ++image_;
        while (!open_.empty()) close(open_.front()); // exec: the phases' process image is gone
    }
    // The windows open before this event see it; one it opens has its begin mark already.
    std::size_t already_open = open_.size();
    if (event.type == EventType::kPhaseBegin) {
        const std::string& name = meta.names.at(event.name);
        auto [it, first] = begun_.try_emplace(name, 0);
        if (first) names_.push_back(name);
        const auto waiting = waiting_.find({name, ++it->second});
        if (waiting != waiting_.end()) {
            for (std::size_t index : waiting->second) open(index, event);
            waiting_.erase(waiting);
        }
    }
    for (std::size_t i = 0; i < already_open;) {
        const std::size_t index = open_[i];
        Window& window = windows_[index];
        if (admit_open(window, event, meta)) admitted_.push_back(index);
        if (window.state != State::kClosed) {
            ++i;
            continue;
        }
        close(index);
        --already_open;
    }
    track_heap(event);
}

void PhaseWindows::open(std::size_t index, const Event& begin) {
    Window& window = windows_[index];
    window.state = State::kOpen;
    window.image = image_;
    window.begin_ns = window.end_ns = begin.time_ns;
    window.live_at_start_bytes = live_.bytes();
    window.rss_at_start_bytes = last_rss_;
    window.blocks = std::make_unique<LiveBlocks>();
    window.mappings = std::make_unique<Mappings>();
    open_.push_back(index);
    admitted_.push_back(index);
}

void PhaseWindows::close(std::size_t index) {
    Window& window = windows_[index];
    window.state = State::kClosed;
    window.blocks.reset();
    window.mappings.reset();
    open_.erase(std::find(open_.begin(), open_.end(), index));
    closed_.push_back(index);
}

void PhaseWindows::finish() {
    admitted_.clear();
    closed_.clear();
    while (!open_.empty()) close(open_.front());
}

// The whole heap of the current image, to say how much of it was live when a phase began.
void PhaseWindows::track_heap(const Event& event) {
    live_.consume(event);
    if (event.type == EventType::kRss) last_rss_ = event.value;
    if (event.type == EventType::kImageStart) {
        live_.clear();
        last_rss_ = 0;
    }
}

// An event after the window's begin: in it unless it frees what was made before the window.
bool PhaseWindows::admit_open(Window& window, const Event& event, const trace::TraceMetadata& meta) {
    std::uint64_t size = 0;
    switch (event.type) {
    case EventType::kAllocation: window.blocks->insert(event.address, event.size); break;
    case EventType::kFree:
        if (!window.blocks->erase(event.address, size)) return false; // made before the window
        break;
    case EventType::kMmap: window.mappings->add(event.address, event.size); break;
    case EventType::kMunmap:
        if (window.mappings->remove(event.address, event.size) == 0) return false;
        break;
    case EventType::kMremap:
        if (window.mappings->remove(event.address, event.size) == 0) return false;
        window.mappings->add(event.new_address, event.new_size);
        break;
    case EventType::kPhaseBegin:
        if (meta.names.at(event.name) == window.request.name) ++window.depth;
        break;
    case EventType::kPhaseEnd:
        if (meta.names.at(event.name) != window.request.name) break;
        if (window.depth == 0) window.state = State::kClosed;
        else --window.depth;
        break;
    case EventType::kProcessExit:
        window.ended_by_exit = true;
        window.state = State::kClosed;
        break;
    default: break;
    }
    if (event.time_ns) window.end_ns = std::max(window.end_ns, event.time_ns);
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

using Window = PhaseWindows::Window;

// A window's first event (its begin mark) starts its trace, with the RSS it started from.
trace::TraceRewriter start_slice(const Window& window, const Event& begin, const trace::TraceMetadata& meta) {
    // A trace whose process start was in damaged bytes has no image to copy: an empty one.
    const trace::ProcessImage image = window.image < meta.images.size() ? meta.images[window.image] : trace::ProcessImage{};
    trace::TraceRewriter writer(image, window.begin_ns, meta.page_size, meta.stack_sample_bytes);
    writer.add(begin, meta);
    if (window.rss_at_start_bytes) writer.add(rss_sample(window.begin_ns, window.rss_at_start_bytes), meta);
    return writer;
}

// The window's end: an exit record at its last moment, unless the process's own is in it.
void close_slice(trace::TraceRewriter& writer, const Window& window, const trace::TraceMetadata& meta) {
    if (window.ended_by_exit) return;
    Event exit;
    exit.type = EventType::kProcessExit;
    exit.time_ns = window.end_ns;
    writer.add(exit, meta);
}

PhaseSlice finish_slice(const Window& window, std::optional<trace::TraceRewriter>& writer, const trace::TraceMetadata& meta,
                        const std::vector<const trace::Module*>& modules) {
    PhaseSlice slice;
    slice.request = window.request;
    slice.found = writer.has_value();
    if (!slice.found) return slice;
    const std::uint64_t origin = meta.images.empty() ? window.begin_ns : meta.images.front().start_ns;
    slice.start_s = seconds_from(origin, window.begin_ns);
    slice.end_s = seconds_from(origin, window.end_ns);
    slice.live_at_start_bytes = window.live_at_start_bytes;
    if (meta.exit.known) { // the program's exit, with the window's length as its wall time
        trace::ExitStatus exit = meta.exit;
        exit.wall_ns = window.end_ns - window.begin_ns;
        exit.max_rss_kib = 0; // the whole run's: not the phase's
        writer->set_exit_status(exit);
    }
    slice.trace = writer->finish(meta, modules);
    writer.reset();
    return slice;
}

} // namespace

std::vector<PhaseSlice> slice_phases(const std::filesystem::path& path, const std::vector<PhaseRequest>& requests) {
    trace::TraceReader reader(path);
    const auto& meta = reader.metadata();
    PhaseWindows windows(requests);
    std::vector<std::optional<trace::TraceRewriter>> writers(requests.size());
    const auto close_slices = [&] {
        for (std::size_t index : windows.closed()) close_slice(*writers[index], windows.window(index), meta);
    };
    Event event;
    while (reader.next(event)) {
        windows.feed(event, meta);
        for (std::size_t index : windows.admitted()) {
            if (writers[index]) writers[index]->add(event, meta);
            else writers[index].emplace(start_slice(windows.window(index), event, meta));
        }
        close_slices();
    }
    windows.finish();
    close_slices();
    const auto warnings = data_loss_warnings(reader);
    std::vector<PhaseSlice> slices;
    std::map<std::uint32_t, std::vector<const trace::Module*>> modules; // by image, made once each
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const std::uint32_t image = windows.window(i).image;
        if (writers[i] && !modules.count(image)) modules[image] = trace::distinct_modules(meta, image);
        slices.push_back(finish_slice(windows.window(i), writers[i], meta, modules[image]));
        slices.back().occurrences = windows.occurrences(requests[i].name);
        if (!slices.back().found) slices.back().phase_names = windows.phase_names();
        slices.back().warnings = warnings;
    }
    return slices;
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
