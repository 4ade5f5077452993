#include "common/error.h"
#include "reports/render/summary_format.h"

#include <fmt/format.h>
#include <type_traits>

namespace memopt::reports {

using nlohmann::json;

namespace {

// Text from a trace (command words, phase names, symbols) may be any bytes; JSON strings
// must be UTF-8 or dump() throws. Invalid sequences become U+FFFD.
std::string utf8(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
        std::uint32_t code = length == 2 ? lead & 0x1F : length == 3 ? lead & 0x0F : lead & 0x07;
        bool valid = length != 0 && i + length <= text.size();
        for (std::size_t k = 1; valid && k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            valid = (next & 0xC0) == 0x80;
            code = (code << 6) | (next & 0x3F);
        }
        static constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
        if (valid && length > 1 && (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)))
            valid = false;
        if (!valid) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        out.append(text, i, length);
        i += length;
    }
    return out;
}

std::vector<std::string> utf8(const std::vector<std::string>& texts) {
    std::vector<std::string> out;
    out.reserve(texts.size());
    for (const auto& text : texts) out.push_back(utf8(text));
    return out;
}

} // namespace

json summary_to_json(const Summary& s) {
    json phases = json::array();
    for (const auto& p : s.phases)
        phases.push_back({{"name", utf8(p.name)}, {"start_s", p.start_s}, {"end_s", p.end_s},
                          {"peak_heap_bytes", p.peak_heap_bytes}, {"peak_rss_bytes", p.peak_rss_bytes}});
    json sites = json::array();
    for (const auto& site : s.top_sites)
        sites.push_back({{"stack", utf8(site.stack)}, {"bytes", site.bytes}, {"count", site.count}});
    json t = json::array(), heap = json::array(), rss = json::array();
    for (const auto& point : s.timeline) {
        t.push_back(std::round(point.t_s * 1e4) / 1e4);
        heap.push_back(point.heap_bytes);
        rss.push_back(point.rss_bytes);
    }
    return {
        {"schema", kSummarySchema},
        {"command", utf8(s.command)},
        {"exit_code", s.exit_known ? json(s.exit_code) : json(nullptr)},
        {"killed_by_signal", s.killed_by_signal},
        {"duration_s", s.duration_s},
        {"peak_heap_bytes", s.peak_heap_bytes},
        {"peak_heap_mapped_bytes", s.peak_heap_mapped_bytes},
        {"peak_heap_time_s", s.peak_heap_time_s},
        {"peak_rss_bytes", s.peak_rss_bytes},
        {"leaked_bytes", s.leaked_bytes},
        {"leaked_mapped_bytes", s.leaked_mapped_bytes},
        {"total_allocations", s.total_allocations},
        {"total_frees", s.total_frees},
        {"total_allocated_bytes", s.total_allocated_bytes},
        {"unmatched_frees", s.unmatched_frees},
        {"stack_sample_bytes", s.stack_sample_bytes},
        {"phases", phases},
        {"top_sites", sites},
        {"timeline", {{"t_s", t}, {"heap_bytes", heap}, {"rss_bytes", rss}}},
        {"child_traces", utf8(s.child_traces)},
        {"warnings", utf8(s.warnings)},
        {"notes", utf8(s.notes)},
        {"events", s.events},
        {"trace_bytes", s.trace_bytes},
    };
}

namespace {

template <typename T>
T field(const json& object, const char* name, const char* where) {
    auto it = object.find(name);
    if (it == object.end()) throw Error(fmt::format("{}: missing field '{}'", where, name));
    // A float converted to an integer type out of its range is undefined behaviour in
    // nlohmann's get<> (found by libFuzzer + UBSan with 1e33): integers must be integers.
    if constexpr (std::is_integral_v<T>)
        if (!it->is_number_integer()) throw Error(fmt::format("{}: field '{}' has the wrong type", where, name));
    try {
        return it->get<T>();
    } catch (const json::exception&) {
        throw Error(fmt::format("{}: field '{}' has the wrong type", where, name));
    }
}

template <typename T>
T optional_field(const json& object, const char* name, T fallback) {
    auto it = object.find(name);
    if (it == object.end() || it->is_null()) return fallback;
    if constexpr (std::is_integral_v<T>)
        if (!it->is_number_integer()) return fallback;
    try {
        return it->get<T>();
    } catch (const json::exception&) {
        return fallback;
    }
}

} // namespace

Summary summary_from_json(const json& j) {
    const char* where = "summary";
    if (!j.is_object()) throw Error("summary: not a JSON object");
    const auto schema = field<std::string>(j, "schema", where);
    if (schema != kSummarySchema)
        throw Error(fmt::format("summary: schema '{}' is not {}", schema, kSummarySchema));
    Summary s;
    s.command = optional_field<std::vector<std::string>>(j, "command", {});
    s.exit_known = j.contains("exit_code") && j["exit_code"].is_number_integer();
    s.exit_code = optional_field<std::int64_t>(j, "exit_code", 0);
    s.duration_s = field<double>(j, "duration_s", where);
    s.peak_heap_bytes = field<std::uint64_t>(j, "peak_heap_bytes", where);
    s.peak_rss_bytes = field<std::uint64_t>(j, "peak_rss_bytes", where);
    s.leaked_bytes = field<std::uint64_t>(j, "leaked_bytes", where);
    s.total_allocations = field<std::uint64_t>(j, "total_allocations", where);
    s.total_frees = field<std::uint64_t>(j, "total_frees", where);
    s.total_allocated_bytes = field<std::uint64_t>(j, "total_allocated_bytes", where);
    s.warnings = optional_field<std::vector<std::string>>(j, "warnings", {});
    s.notes = optional_field<std::vector<std::string>>(j, "notes", {});
    if (auto it = j.find("phases"); it != j.end() && it->is_array()) {
        for (const auto& p : *it) {
            if (!p.is_object()) throw Error("summary: a phase is not an object");
            s.phases.push_back({field<std::string>(p, "name", "summary phase"), optional_field(p, "start_s", 0.0),
                                optional_field(p, "end_s", 0.0), optional_field<std::uint64_t>(p, "peak_heap_bytes", 0),
                                optional_field<std::uint64_t>(p, "peak_rss_bytes", 0)});
        }
    }
    return s;
}

} // namespace memopt::reports
