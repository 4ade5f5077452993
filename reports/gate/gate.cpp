#include "reports/gate/gate.h"

#include "common/write_all.h"

#include "common/error.h"
#include "common/sizes.h"
#include "reports/render/summary_format.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memopt::reports {
namespace {

std::string size_text(std::uint64_t bytes) { return format_size(static_cast<double>(bytes)); }

// Reads at most `max_bytes` (+1, to detect a longer file) without following a symlink into
// a device or fifo that would never end.
std::string read_bounded(const std::filesystem::path& path, std::size_t max_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw Error(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        ::close(fd);
        throw Error(fmt::format("{} is not a regular file", path));
    }
    std::string text;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int saved = errno;
            ::close(fd);
            throw Error(fmt::format("cannot read {}: {}", path, std::strerror(saved)));
        }
        if (n == 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.size() > max_bytes) {
            ::close(fd);
            throw Error(fmt::format("{} is larger than {}; not a memopt summary", path,
                                    size_text(max_bytes)));
        }
    }
    ::close(fd);
    return text;
}

} // namespace

GateMetric parse_gate_metric(std::string_view text) {
    if (text == "peak_rss") return GateMetric::kPeakRss;
    if (text == "peak_heap") return GateMetric::kPeakHeap;
    throw Error(fmt::format("unknown metric '{}' (use peak_rss or peak_heap)", text));
}

std::string_view gate_metric_name(GateMetric metric) {
    return metric == GateMetric::kPeakRss ? "peak_rss" : "peak_heap";
}

std::uint64_t gate_metric_value(const Summary& summary, GateMetric metric) {
    return metric == GateMetric::kPeakRss ? summary.peak_rss_bytes : summary.peak_heap_bytes;
}

GateLimit limit_from_size(std::uint64_t max_bytes, GateMetric metric, std::string_view text) {
    GateLimit limit;
    limit.metric = metric;
    limit.limit_bytes = max_bytes;
    limit.source = fmt::format("--max-peak {}", text.empty() ? size_text(max_bytes) : std::string(text));
    return limit;
}

GateLimit limit_from_baseline(const Summary& baseline, GateMetric metric, double tolerance_percent,
                              const std::string& baseline_name) {
    if (!std::isfinite(tolerance_percent) || tolerance_percent < 0 || tolerance_percent > 10000)
        throw Error(fmt::format("--tolerance {} is out of range (0 to 10000 percent)", tolerance_percent));
    const std::uint64_t base = gate_metric_value(baseline, metric);
    if (base == 0)
        throw Error(fmt::format("baseline {} has no {} value (0 bytes); record it again with --save",
                                baseline_name, gate_metric_name(metric)));
    GateLimit limit;
    limit.metric = metric;
    limit.baseline_bytes = base;
    limit.tolerance_percent = tolerance_percent;
    const long double scaled = static_cast<long double>(base) * (1.0L + tolerance_percent / 100.0L);
    limit.limit_bytes = scaled >= 1.8e19L ? ~0ull : static_cast<std::uint64_t>(scaled);
    limit.source = fmt::format("baseline {} ({}) +{:g}%", baseline_name, size_text(base), tolerance_percent);
    return limit;
}

GateVerdict evaluate_gate(const Summary& run, const GateLimit& limit) {
    GateVerdict verdict;
    verdict.metric = limit.metric;
    verdict.measured = gate_metric_value(run, limit.metric);
    verdict.limit = limit.limit_bytes;
    verdict.passed = verdict.measured <= verdict.limit;
    verdict.margin_bytes = static_cast<std::int64_t>(verdict.measured) - static_cast<std::int64_t>(verdict.limit);
    verdict.margin_percent = verdict.limit == 0 ? (verdict.measured == 0 ? 0.0 : 100.0)
                                                : 100.0 * static_cast<double>(verdict.margin_bytes) /
                                                      static_cast<double>(verdict.limit);
    const std::uint64_t distance = verdict.margin_bytes < 0 ? static_cast<std::uint64_t>(-verdict.margin_bytes)
                                                            : static_cast<std::uint64_t>(verdict.margin_bytes);
    if (verdict.passed)
        verdict.line = fmt::format("memopt gate: PASS {} {} within limit {} ({}), {} ({:.1f}%) to spare",
                                   gate_metric_name(limit.metric), size_text(verdict.measured),
                                   size_text(verdict.limit), limit.source, size_text(distance),
                                   -verdict.margin_percent);
    else
        verdict.line = fmt::format("memopt gate: FAIL {} {} exceeds limit {} ({}) by {} (+{:.1f}%)",
                                   gate_metric_name(limit.metric), size_text(verdict.measured),
                                   size_text(verdict.limit), limit.source, size_text(distance),
                                   verdict.margin_percent);
    return verdict;
}

nlohmann::json parse_bounded_json(std::string_view text, std::string_view what, std::size_t max_bytes,
                                  std::size_t max_depth) {
    if (text.size() > max_bytes)
        throw Error(fmt::format("{} is larger than {}", what, size_text(max_bytes)));
    // Nesting depth, counted outside strings: nlohmann's parser is iterative, but a value
    // nested thousands deep is not a summary and costs stack when destroyed.
    std::size_t depth = 0;
    bool in_string = false, escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                throw Error(fmt::format("{} is nested deeper than {} levels", what, max_depth));
        } else if ((c == ']' || c == '}') && depth > 0) --depth;
    }
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("{} is not valid JSON: {}", what, e.what()));
    }
}

Summary read_summary_file(const std::filesystem::path& path) {
    constexpr std::size_t kMaxSummaryBytes = 64u << 20;
    const std::string text = read_bounded(path, kMaxSummaryBytes);
    const std::string name = fmt::format("{}", path);
    const auto json = parse_bounded_json(text, name, kMaxSummaryBytes);
    try {
        return summary_from_json(json);
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", name, e.what()));
    }
}

void save_summary_file(const Summary& summary, const std::filesystem::path& path) {
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(path, ec);
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status) &&
        !std::filesystem::is_symlink(status))
        throw Error(fmt::format("{} exists and is not a regular file; not replacing it", path));
    const std::string text = summary_to_json(summary).dump(2) + "\n";
    const std::filesystem::path temporary = fmt::format("{}.tmp-{}", path.string(), ::getpid());
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    try {
        write_all(fd, text.data(), text.size(), path);
    } catch (const Error&) {
        ::close(fd);
        ::unlink(temporary.c_str());
        throw;
    }
    if (::close(fd) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(temporary.c_str());
        throw Error(fmt::format("cannot write {}: {}", path, std::strerror(saved)));
    }
}

std::string github_error_annotation(std::string_view title, std::string_view message) {
    auto escape = [](std::string_view text, bool property) {
        std::string out;
        for (const char c : text) {
            if (c == '%') out += "%25";
            else if (c == '\r') out += "%0D";
            else if (c == '\n') out += "%0A";
            else if (property && c == ':') out += "%3A";
            else if (property && c == ',') out += "%2C";
            else out += c;
        }
        return out;
    };
    return fmt::format("::error title={}::{}", escape(title, true), escape(message, false));
}

} // namespace memopt::reports
