#include "reports/analysis/reservations.h"

#include "common/sizes.h"
#include "reports/analysis/symbolizer.h"

#include <fmt/format.h>
#include <vector>

namespace memopt::reports {
namespace {

// "blas_memory_alloc (libopenblas.so.0)": the innermost named frame among the first few
// (a leaf inside a static function prints as "lib+0x..."), else the leaf.
std::string who_mapped(StackNamer& namer, std::uint64_t stack) {
    constexpr std::size_t kFirstFew = 4;
    const std::vector<std::string> frames = namer.innermost_first(stack);
    for (std::size_t i = 0; i < frames.size() && i < kFirstFew; ++i)
        if (frames[i].find("+0x") == std::string::npos && frames[i] != "?") return frames[i];
    return frames.empty() ? "an unknown caller" : frames.front();
}

} // namespace

void LargeMappings::on_map(std::uint64_t address, std::uint64_t length, std::uint64_t stack) {
    on_unmap(address, length); // MAP_FIXED over an old mapping replaces it
    if (length < kLargeMappingBytes) return;
    live_[address] = {length, stack};
    ++version_;
}

void LargeMappings::on_unmap(std::uint64_t address, std::uint64_t length) {
    const std::uint64_t end = address + length;
    auto it = live_.upper_bound(address);
    if (it != live_.begin()) --it;
    while (it != live_.end() && it->first < end) {
        const std::uint64_t start = it->first;
        const std::uint64_t stop = start + it->second.length;
        if (stop <= address) {
            ++it;
            continue;
        }
        // A partly unmapped mapping keeps the bytes that stay mapped, at its old start.
        const std::uint64_t cut = std::min(end, stop) - std::max(address, start);
        it->second.length -= cut;
        it = it->second.length == 0 ? live_.erase(it) : std::next(it);
        ++version_;
    }
}

void LargeMappings::clear() {
    if (live_.empty()) return;
    live_.clear();
    ++version_;
}

void LargeMappings::on_new_peak() {
    if (version_ == peak_version_) return; // the set is unchanged since the last peak
    at_peak_ = live_;
    peak_version_ = version_;
}

std::optional<std::string> LargeMappings::peak_note(StackNamer& namer, std::uint64_t peak_heap_bytes,
                                                    std::uint64_t peak_rss_bytes) const {
    if (at_peak_.empty() || peak_heap_bytes <= peak_rss_bytes) return std::nullopt;
    std::map<std::string, std::pair<std::uint64_t, int>> by_caller; // name -> (bytes, mappings)
    std::uint64_t total = 0;
    for (const auto& [address, mapping] : at_peak_) {
        auto& entry = by_caller[mapping.stack ? who_mapped(namer, mapping.stack) : "an unknown caller"];
        entry.first += mapping.length;
        entry.second += 1;
        total += mapping.length;
    }
    std::vector<std::string> parts;
    bool openblas = false;
    for (const auto& [caller, entry] : by_caller) {
        parts.push_back(fmt::format("{} in {} mapping{} by {}", format_size_both(static_cast<double>(entry.first)),
                                    entry.second, entry.second == 1 ? "" : "s", caller));
        openblas = openblas || caller.find("openblas") != std::string::npos;
    }
    std::string note = fmt::format(
        "{} of the {} peak heap are large anonymous mappings: {}. The heap counts requested bytes, the RSS "
        "only touched pages: with a peak RSS of {}, much of this was reserved and never touched.",
        format_size(static_cast<double>(total)), format_size(static_cast<double>(peak_heap_bytes)),
        fmt::join(parts, "; "), format_size(static_cast<double>(peak_rss_bytes)));
    if (openblas)
        note += " OpenBLAS maps a 134.2 MB (128 MiB) work buffer for each thread that runs BLAS, one at import "
                "(OPENBLAS_NUM_THREADS caps the threads; reference BLAS reserves none).";
    return note;
}

} // namespace memopt::reports
