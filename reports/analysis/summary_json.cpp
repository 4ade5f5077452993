// The summary file, memopt.summary/1 (fields: docs/record.md): written by `report --format json` and
// `gate --save`, read by `gate --baseline` and `report SUMMARY.json`. Its reading and
// writing live here and nowhere else.
#include "common/error.h"
#include "common/output_file.h"
#include "reports/analysis/json_input.h"
#include "reports/analysis/summary_json.h"

#include <climits>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <fmt/std.h>
#include <optional>

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
    json children = json::array();
    for (const auto& c : s.children)
        children.push_back({{"trace", utf8(c.trace)}, {"pid", c.pid}, {"ppid", c.ppid}, {"command", utf8(c.command)},
                            {"forked", c.forked}, {"duration_s", c.duration_s}, {"peak_heap_bytes", c.peak_heap_bytes},
                            {"peak_rss_bytes", c.peak_rss_bytes}});
    json t = json::array(), heap = json::array(), rss = json::array();
    for (const auto& point : s.timeline) {
        t.push_back(point.t_s); // at 0.1 ms already (summary.cpp)
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
        {"reallocated_live", s.reallocated_live},
        {"stack_sample_bytes", s.stack_sample_bytes},
        {"phases", phases},
        {"top_sites", sites},
        {"timeline", {{"t_s", t}, {"heap_bytes", heap}, {"rss_bytes", rss}}},
        {"child_traces", utf8(s.child_traces)},
        {"children", children},
        {"warnings", utf8(s.warnings)},
        {"notes", utf8(s.notes)},
        {"events", s.events},
        {"trace_bytes", s.trace_bytes},
    };
}

namespace {

// Reads a summary someone else may have written: every field present is checked for its
// type and range (a negative or fractional byte count, 1e308 where an integer belongs, a
// string where a list belongs), and the message names the field: "phases[2].end_s".
class FieldReader {
  public:
    FieldReader(const json& object, std::string where) : object_(object), where_(std::move(where)) {
        if (!object_.is_object()) fail("", "must be a JSON object");
    }

    // Byte counts and counters: whole numbers from 0 to 2^62 (a 4 EiB bound far past any
    // real figure, so sums and differences cannot overflow).
    std::uint64_t count(const char* name, bool required = false) const {
        const json* value = find(name, required);
        if (!value) return 0;
        if (!value->is_number_unsigned() || value->get<std::uint64_t>() > kMaxCount)
            fail(name, "must be a whole number from 0 to 2^62");
        return value->get<std::uint64_t>();
    }
    double seconds(const char* name, bool required = false) const {
        const json* value = find(name, required);
        if (!value) return 0;
        if (!value->is_number() || !std::isfinite(value->get<double>()) || value->get<double>() < 0 ||
            value->get<double>() > kMaxSeconds)
            fail(name, "must be a number of seconds from 0 to 10^9");
        return value->get<double>();
    }
    std::optional<std::int64_t> status(const char* name) const {
        const json* value = find(name, false);
        if (!value) return std::nullopt;
        if (!value->is_number_integer() || value->get<std::int64_t>() < INT32_MIN || value->get<std::int64_t>() > INT32_MAX)
            fail(name, "must be null or a whole number (an exit status)");
        return value->get<std::int64_t>();
    }
    bool flag(const char* name) const {
        const json* value = find(name, false);
        if (!value) return false;
        if (!value->is_boolean()) fail(name, "must be true or false");
        return value->get<bool>();
    }
    std::string text(const char* name, bool required = false) const {
        const json* value = find(name, required);
        if (!value) return {};
        if (!value->is_string()) fail(name, "must be a string");
        return value->get<std::string>();
    }
    std::vector<std::string> texts(const char* name) const {
        std::vector<std::string> out;
        for (const json& item : array(name)) {
            if (!item.is_string()) fail(name, "must be a list of strings");
            out.push_back(item.get<std::string>());
        }
        return out;
    }
    const json& array(const char* name) const {
        static const json empty = json::array();
        const json* value = find(name, false);
        if (!value) return empty;
        if (!value->is_array()) fail(name, "must be a list");
        return *value;
    }
    const json& object(const char* name) const {
        static const json empty = json::object();
        const json* value = find(name, false);
        if (!value) return empty;
        if (!value->is_object()) fail(name, "must be an object");
        return *value;
    }
    std::string path(const char* name) const { return where_.empty() ? name : fmt::format("{}.{}", where_, name); }

  private:
    static constexpr std::uint64_t kMaxCount = std::uint64_t{1} << 62;
    static constexpr double kMaxSeconds = 1e9;

    // Absent and null are the same: the field's default.
    const json* find(const char* name, bool required) const {
        const auto it = object_.find(name);
        if (it == object_.end() || it->is_null()) {
            if (required) fail(name, "is missing");
            return nullptr;
        }
        return &*it;
    }
    [[noreturn]] void fail(const char* name, const char* problem) const {
        const std::string field = *name ? path(name) : where_;
        throw Error(field.empty() ? fmt::format("summary {}", problem)
                                  : fmt::format("summary field '{}' {}", field, problem));
    }

    const json& object_;
    std::string where_;
};

std::vector<PhaseSummary> read_phases(const FieldReader& summary) {
    std::vector<PhaseSummary> phases;
    const json& list = summary.array("phases");
    for (std::size_t i = 0; i < list.size(); ++i) {
        const FieldReader p(list[i], fmt::format("phases[{}]", i));
        phases.push_back({p.text("name", true), p.seconds("start_s"), p.seconds("end_s"), p.count("peak_heap_bytes"),
                          p.count("peak_rss_bytes")});
    }
    return phases;
}

std::vector<SiteSummary> read_sites(const FieldReader& summary) {
    std::vector<SiteSummary> sites;
    const json& list = summary.array("top_sites");
    for (std::size_t i = 0; i < list.size(); ++i) {
        const FieldReader site(list[i], fmt::format("top_sites[{}]", i));
        sites.push_back({site.texts("stack"), site.count("bytes"), site.count("count")});
    }
    return sites;
}

std::vector<TimelinePoint> read_timeline(const FieldReader& summary) {
    const FieldReader timeline(summary.object("timeline"), "timeline");
    const json& t = timeline.array("t_s");
    const json& heap = timeline.array("heap_bytes");
    const json& rss = timeline.array("rss_bytes");
    if (heap.size() != t.size() || rss.size() != t.size())
        throw Error("summary field 'timeline' has lists of different lengths");
    std::vector<TimelinePoint> points;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const json point = {{"t_s", t[i]}, {"heap_bytes", heap[i]}, {"rss_bytes", rss[i]}};
        const FieldReader p(point, fmt::format("timeline[{}]", i));
        points.push_back({p.seconds("t_s", true), p.count("heap_bytes", true), p.count("rss_bytes", true)});
    }
    return points;
}

std::vector<ChildSummary> read_children(const FieldReader& summary) {
    std::vector<ChildSummary> children;
    const json& list = summary.array("children");
    for (std::size_t i = 0; i < list.size(); ++i) {
        const FieldReader c(list[i], fmt::format("children[{}]", i));
        ChildSummary child;
        child.trace = c.text("trace", true);
        child.pid = c.count("pid");
        child.ppid = c.count("ppid");
        child.command = c.texts("command");
        child.forked = c.flag("forked");
        child.duration_s = c.seconds("duration_s");
        child.peak_heap_bytes = c.count("peak_heap_bytes");
        child.peak_rss_bytes = c.count("peak_rss_bytes");
        children.push_back(std::move(child));
    }
    return children;
}

} // namespace

Summary summary_from_json(const json& j) {
    const FieldReader r(j, "");
    const std::string schema = r.text("schema", true);
    if (schema != kSummarySchema) throw Error(fmt::format("summary: schema '{}' is not {}", schema, kSummarySchema));
    Summary s;
    s.command = r.texts("command");
    const auto exit_code = r.status("exit_code");
    s.exit_known = exit_code.has_value();
    s.exit_code = exit_code.value_or(0);
    s.killed_by_signal = r.flag("killed_by_signal");
    s.duration_s = r.seconds("duration_s", true);
    s.peak_heap_bytes = r.count("peak_heap_bytes", true);
    s.peak_heap_mapped_bytes = r.count("peak_heap_mapped_bytes");
    s.peak_heap_time_s = r.seconds("peak_heap_time_s");
    s.peak_rss_bytes = r.count("peak_rss_bytes", true);
    s.leaked_bytes = r.count("leaked_bytes", true);
    s.leaked_mapped_bytes = r.count("leaked_mapped_bytes");
    s.total_allocations = r.count("total_allocations", true);
    s.total_frees = r.count("total_frees", true);
    s.total_allocated_bytes = r.count("total_allocated_bytes", true);
    s.unmatched_frees = r.count("unmatched_frees");
    s.reallocated_live = r.count("reallocated_live");
    s.stack_sample_bytes = r.count("stack_sample_bytes");
    s.phases = read_phases(r);
    s.top_sites = read_sites(r);
    s.timeline = read_timeline(r);
    s.child_traces = r.texts("child_traces");
    s.children = read_children(r);
    s.warnings = r.texts("warnings");
    s.notes = r.texts("notes");
    s.events = r.count("events");
    s.trace_bytes = r.count("trace_bytes");
    return s;
}

Summary read_summary_file(const std::filesystem::path& path) {
    const auto json = read_json_file(path, "a memopt summary");
    try {
        return summary_from_json(json);
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", path, e.what()));
    }
}

void save_summary_file(const Summary& summary, const std::filesystem::path& path, bool force) {
    write_output_file(path, summary_to_json(summary).dump(2) + "\n", force);
}

} // namespace memopt::reports
