#include "reports/analysis/profile_check.h"

#include "common/error.h"

#include <cmath>
#include <fmt/format.h>
#include <string>

namespace memopt::reports {

using nlohmann::json;

namespace {

constexpr double kMaxMagnitude = 9007199254740992.0; // 2^53: exact in a double and an int64

[[noreturn]] void fail(const std::string& field, std::string_view problem) {
    throw Error(fmt::format("profile field '{}' {}", field, problem));
}

// Every number anywhere, documented or not.
void check_numbers(const json& value, const std::string& where) {
    if (value.is_number_float()) {
        const double x = value.get<double>();
        if (!std::isfinite(x) || std::fabs(x) > kMaxMagnitude) fail(where, "is out of range (at most 2^53)");
    } else if (value.is_number_unsigned()) {
        if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxMagnitude)) fail(where, "is out of range (at most 2^53)");
    } else if (value.is_number_integer()) {
        const std::int64_t x = value.get<std::int64_t>();
        if (x < -static_cast<std::int64_t>(kMaxMagnitude) || x > static_cast<std::int64_t>(kMaxMagnitude))
            fail(where, "is out of range (at most 2^53)");
    } else if (value.is_object()) {
        for (const auto& [key, item] : value.items()) check_numbers(item, where.empty() ? key : where + "." + key);
    } else if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i) check_numbers(value[i], fmt::format("{}[{}]", where, i));
    }
}

// The documented fields of one object. Absent or null optional fields are skipped.
class Fields {
  public:
    Fields(const json& object, std::string where) : object_(object), where_(std::move(where)) {
        if (!object_.is_object()) fail(where_, "must be an object");
    }
    Fields& text(const char* name, bool required = false) { return check(name, required, &json::is_string, "must be a string"); }
    Fields& flag(const char* name) { return check(name, false, &json::is_boolean, "must be true or false"); }
    Fields& number(const char* name, bool required = false) { return check(name, required, &json::is_number, "must be a number"); }
    Fields& list(const char* name) { return check(name, false, &json::is_array, "must be a list"); }
    Fields& integer(const char* name, std::int64_t low, std::int64_t high, bool required = false) {
        const json* value = find(name, required);
        if (value && (!value->is_number_integer() || value->get<std::int64_t>() < low || value->get<std::int64_t>() > high))
            fail(path(name), fmt::format("must be a whole number from {} to {}", low, high));
        return *this;
    }
    Fields& numbers(const char* name) {
        const json* value = find(name, false);
        if (!value) return *this;
        if (!value->is_array()) fail(path(name), "must be a list of numbers");
        for (const json& item : *value)
            if (!item.is_number()) fail(path(name), "must be a list of numbers");
        return *this;
    }
    Fields& texts(const char* name, bool required = false) {
        const json* value = find(name, required);
        if (!value) return *this;
        if (!value->is_array()) fail(path(name), "must be a list of strings");
        for (const json& item : *value)
            if (!item.is_string()) fail(path(name), "must be a list of strings");
        return *this;
    }
    // Calls `each(item, where)` for every element of a list of objects.
    template <typename Each>
    Fields& objects(const char* name, Each each) {
        const json* value = find(name, false);
        if (!value) return *this;
        if (!value->is_array()) fail(path(name), "must be a list");
        for (std::size_t i = 0; i < value->size(); ++i) each(Fields((*value)[i], fmt::format("{}[{}]", path(name), i)));
        return *this;
    }
    template <typename Each>
    Fields& object(const char* name, Each each, bool required = false) {
        const json* value = find(name, required);
        if (value) each(Fields(*value, path(name)));
        return *this;
    }
    std::string path(const char* name) const { return where_.empty() ? name : where_ + "." + name; }
    const json& raw() const { return object_; }

  private:
    const json* find(const char* name, bool required) const {
        const auto it = object_.find(name);
        if (it == object_.end() || it->is_null()) {
            if (required) fail(path(name), "is missing");
            return nullptr;
        }
        return &*it;
    }
    Fields& check(const char* name, bool required, bool (json::*is)() const noexcept, const char* problem) {
        const json* value = find(name, required);
        if (value && !((*value).*is)()) fail(path(name), problem);
        return *this;
    }
    const json& object_;
    std::string where_;
};

constexpr std::int64_t kMaxCount = std::int64_t{1} << 53;

void measure(Fields f) { f.number("rss_bytes").number("time_s").number("traced_bytes"); }

void interpreter(Fields f) {
    f.text("executable").text("version").integer("optimize", 0, 2).texts("sys_path").text("allocation_tracking")
        .flag("tracemalloc").integer("tracemalloc_frames", 0, 1000).flag("code_tracking").number("sampling_interval_ms")
        .object("sampling", [](Fields s) { s.number("mean_bytes").flag("every_allocation").integer("max_frames", 0, 1000); });
    const auto mode = f.raw().find("allocation_tracking");
    if (mode != f.raw().end() && mode->is_string() && *mode != "sampled" && *mode != "tracemalloc" && *mode != "none")
        fail(f.path("allocation_tracking"), "must be sampled, tracemalloc or none");
}

void imports(Fields f) {
    f.object("total", [](Fields t) { t.integer("count", 0, kMaxCount).number("time_s").number("rss_bytes").number("traced_bytes"); });
    f.objects("tree", [](Fields node) {
        node.integer("id", 0, kMaxCount, true).text("name", true).integer("parent", -1, kMaxCount).text("importer")
            .number("start_s").flag("failed").numbers("children").object("own", measure).object("cumulative", measure);
    });
}

void modules(const json& all) {
    if (!all.is_object()) fail("modules", "must be an object");
    for (const auto& [name, module] : all.items()) {
        Fields(module, "modules." + name)
            .text("file").flag("preloaded").flag("ran").integer("functions_run", 0, kMaxCount)
            .integer("functions_run_after_import", 0, kMaxCount).integer("import_id", 0, kMaxCount)
            .text("imported_by").text("parent_import").object("own", measure).object("cumulative", measure);
    }
}

void peak(Fields f) {
    // The probe writes "census": [] when it took no census.
    const auto census = f.raw().find("census");
    const bool no_census = census != f.raw().end() && census->is_array() && census->empty();
    if (!no_census)
        f.object("census", [](Fields c) {
            c.integer("total_objects", 0, kMaxCount).number("total_bytes").objects("types", [](Fields t) {
                t.text("type").integer("count", 0, kMaxCount).number("bytes").flag("deep");
            });
        });
    f.number("time_s").number("traced_bytes").number("rss_bytes").flag("missed").flag("top_lines_estimated")
        .objects("top_lines", [](Fields l) {
            l.text("file").integer("line", 0, kMaxCount).text("code").text("allocated_at").flag("user_code")
                .number("bytes").integer("count", 0, kMaxCount);
        });
}

} // namespace

void check_profile(const json& profile) {
    if (!profile.is_object()) throw Error("not a memopt profile: not a JSON object");
    check_numbers(profile, "");
    Fields top(profile, "");
    top.text("schema", true);
    if (profile.at("schema") != "memopt.profile/1")
        fail("schema", fmt::format("is {}, this memopt reads memopt.profile/1", profile.at("schema").dump()));
    top.text("script").texts("argv", true).object("interpreter", interpreter, true)
        .integer("exit_status", -(1 << 30), 1 << 30, true).number("duration_s", true)
        .number("peak_rss_bytes", true).number("peak_rss_time_s").number("vmhwm_bytes").number("peak_traced_bytes")
        .object("stdout", [](Fields s) { s.text("sha256").integer("bytes", 0, kMaxCount); })
        .object("baseline", [](Fields) {})
        .object("probe_overhead", [](Fields o) { o.integer("snapshots", 0, kMaxCount).number("snapshot_time_s"); })
        .object("timeline", [](Fields t) { t.numbers("t_s").numbers("rss_bytes"); })
        .object("traced_timeline", [](Fields t) { t.numbers("t_s").numbers("current_bytes").numbers("interval_peak_bytes"); })
        .objects("phases", [](Fields p) {
            p.text("name", true).number("start_s").number("end_s").number("rss_start_bytes").number("rss_end_bytes")
                .number("peak_rss_bytes").number("peak_traced_bytes");
        })
        .object("imports", imports)
        .objects("never_ran", [](Fields m) {
            m.text("name", true).number("own_rss_bytes").number("cumulative_rss_bytes").number("own_traced_bytes")
                .number("cumulative_traced_bytes").number("cumulative_time_s");
        })
        .object("peak", peak);
    if (const auto it = profile.find("modules"); it != profile.end() && !it->is_null()) modules(*it);
}

} // namespace memopt::reports
