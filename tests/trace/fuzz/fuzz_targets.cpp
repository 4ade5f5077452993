#include "tests/trace/fuzz/fuzz_targets.h"

#include "common/error.h"
#include "profiler/trace/chunk_builder.h"
#include "reports/analysis/json_input.h"
#include "reports/analysis/profile_check.h"
#include "reports/gate/gate.h"
#include "reports/render/html.h"
#include "reports/render/profile_report.h"
#include "reports/render/summary_format.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

namespace memopt::fuzz {
namespace {

using namespace trace;

// One memory-backed file reused for every trace input: the reader takes a path.
class MemoryFile {
  public:
    MemoryFile() : fd_(::memfd_create("memopt-fuzz-trace", MFD_CLOEXEC)), path_(fmt::format("/proc/self/fd/{}", fd_)) {
        if (fd_ < 0) throw std::runtime_error("memfd_create failed");
    }
    const std::string& hold(const std::uint8_t* data, std::size_t size) {
        if (::ftruncate(fd_, 0) != 0) throw std::runtime_error("ftruncate failed");
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
            if (n <= 0) throw std::runtime_error("pwrite failed");
            done += static_cast<std::size_t>(n);
        }
        return path_;
    }

  private:
    int fd_;
    std::string path_;
};

void fuzz_trace(const std::uint8_t* data, std::size_t size) {
    static MemoryFile file;
    const std::string& path = file.hold(data, size);
    reports::SummaryOptions options;
    options.resolve_symbols = false; // module paths in a fuzzed trace name arbitrary files
    const auto summary = reports::summarize_trace(path, options);
    (void)reports::summary_to_json(summary).dump();
    (void)reports::summary_to_text(summary);
    (void)reports::trace_report_html(summary, nullptr);
}

// Recomputes every chunk's checksum (scanning for chunk tags where the framing is broken).
void fuzz_resealed_trace(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> copy(data, data + size);
    for (std::size_t at = kFileHeaderSize; at < copy.size();) {
        const std::size_t chunk = reseal_chunk(copy.data() + at, copy.size() - at);
        at += chunk ? chunk : 1;
    }
    fuzz_trace(copy.data(), copy.size());
}

// A float converted out of an integer's range gives INT_MIN / INT64_MIN on x86 without any
// crash (undefined behaviour, seen only by UBSan): 1e308 in a profile once printed as
// -2147483648. Output showing those values where the input has none is a finding.
void check_no_overflowed_integers(std::string_view input, const std::string& output, const char* what) {
    for (const char* sentinel : {"-2147483648", "-9223372036854775808", "2147483647", "9223372036854775807"})
        if (output.find(sentinel) != std::string::npos && input.find(sentinel) == std::string_view::npos)
            throw std::logic_error(fmt::format("{} shows {}, an overflowed conversion to an integer", what, sentinel));
}

void fuzz_summary(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // What `gate --baseline` does (bounded reader) ...
    const auto json = reports::parse_bounded_json(text, "fuzz input");
    const auto summary = reports::summary_from_json(json);
    check_no_overflowed_integers(text, reports::summary_to_text(summary), "summary text");
    (void)reports::summary_to_json(summary).dump();
    (void)reports::trace_report_html(summary, nullptr);
    try {
        const auto limit = reports::limit_from_baseline(summary, reports::GateMetric::kPeakRss, 10, "fuzz");
        (void)reports::evaluate_gate(summary, limit);
    } catch (const Error&) {
    }
}

void fuzz_profile(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // What `memopt report PROFILE` does: parse (bounded), look at the schema, check, render.
    nlohmann::json json;
    try {
        json = reports::parse_bounded_json(text, "fuzz input");
    } catch (const Error&) {
        return;
    }
    const std::string schema = json.is_object() && json.contains("schema") && json["schema"].is_string()
                                   ? json["schema"].get<std::string>()
                                   : "";
    if (schema == reports::kSummarySchema) {
        const std::string rendered = reports::summary_to_text(reports::summary_from_json(json));
        check_no_overflowed_integers(text, rendered, "summary text");
        return;
    }
    reports::check_profile(json); // throws memopt::Error on what the CLI refuses
    // A profile that passed the check must render in every format.
    for (const char* format : {"json", "text"})
        check_no_overflowed_integers(text, reports::render_profile(json, format), format);
    check_no_overflowed_integers(text, reports::profile_report_html(json), "html");
}

std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
    std::vector<std::uint8_t> out;
    for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

std::vector<std::uint8_t> rich_trace(bool with_exec, std::uint16_t version = kFormatVersion) {
    ChunkBuilder command(0, 0);
    command.extended(ExtendedType::kCommand).varint(3).text("python3").text("train.py").text("--epochs=1");
    ChunkBuilder main_thread(100, 0);
    main_thread.extended(ExtendedType::kProcessStart).varint(100).varint(1).varint(1000).byte(0).varint(4096).varint(65536);
    main_thread.extended(ExtendedType::kModule).varint(0x400000).text("/usr/bin/python3").varint(2)
        .varint(0).varint(0x1000).varint(0x2000).varint(0x5000);
    main_thread.extended(ExtendedType::kFrame).varint(1).varint(0).varint(0x401234);
    main_thread.extended(ExtendedType::kFrame).varint(2).varint(1).varint(0x402345);
    main_thread.extended(ExtendedType::kPhaseBegin).varint(2000).text("load");
    main_thread.extended(ExtendedType::kStackRef).varint(2);
    main_thread.event(RecordKind::kMalloc, 0x10000, 1000);
    main_thread.event(RecordKind::kCalloc, 0x20000, 4096);
    main_thread.extended(ExtendedType::kRss).varint(2500).varint(300).varint(3);
    main_thread.event(RecordKind::kFree, 0x10000);
    main_thread.event(RecordKind::kRealloc, 0x30000, 8192);
    main_thread.extended(ExtendedType::kSeqSkip).varint(2); // seq 5, 6 come from thread 101
    main_thread.event(RecordKind::kAligned, 0x40000, 256);
    main_thread.extended(ExtendedType::kUnaligned).byte(0).varint(0x50008).varint(24);
    main_thread.event(RecordKind::kMmap, 0x7f0000000000, 1 << 20);
    main_thread.extended(ExtendedType::kMremap).varint(0x7f0000000000).varint(1 << 20).varint(0x7f1000000000).varint(2 << 20);
    main_thread.event(RecordKind::kMunmap, 0x7f1000000000, 2 << 20);
    main_thread.extended(ExtendedType::kPhaseEnd).varint(3000).text("load");
    main_thread.extended(ExtendedType::kFork).varint(3100).varint(102);
    ChunkBuilder worker(101, 5);
    worker.extended(ExtendedType::kThreadStart).varint(2100);
    worker.event(RecordKind::kMalloc, 0x60000, 64);
    worker.event(RecordKind::kFree, 0x60000);
    ChunkBuilder tail(100, 14);
    tail.extended(ExtendedType::kTracerError).text("example error");
    tail.extended(ExtendedType::kTracerNote).varint(1).varint(600);
    tail.extended(ExtendedType::kProcessExit).varint(4000).varint(2048);
    ChunkBuilder exit_status(0, 0);
    exit_status.extended(ExtendedType::kExitStatus).varint(0).varint(5000000).varint(2048).byte(0);
    if (!with_exec)
        return concat({file_header(version), command.finish(version), main_thread.finish(version), worker.finish(version), tail.finish(version), exit_status.finish(version)});
    ChunkBuilder exec_image(100, 0);
    exec_image.extended(ExtendedType::kProcessStart).varint(100).varint(1).varint(4500).byte(2).varint(4096).varint(0);
    exec_image.event(RecordKind::kMalloc, 0x90000, 123);
    exec_image.extended(ExtendedType::kProcessExit).varint(4600).varint(1024);
    return concat({file_header(version), command.finish(version), main_thread.finish(version), worker.finish(version), tail.finish(version),
                   exec_image.finish(version), exit_status.finish(version)});
}

std::vector<std::uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

nlohmann::json rich_summary() {
    reports::Summary s;
    s.command = {"python3", "serve.py"};
    s.exit_known = true;
    s.duration_s = 1.5;
    s.peak_heap_bytes = 123456789;
    s.peak_rss_bytes = 223456789;
    s.leaked_bytes = 1024;
    s.total_allocations = 10;
    s.total_frees = 9;
    s.total_allocated_bytes = 99999;
    s.phases.push_back({"load", 0.1, 0.5, 1000, 2000});
    s.phases.push_back({"predict \"<b>\"", 0.5, 1.4, 3000, 4000});
    s.top_sites.push_back({{"malloc", "numpy_alloc", "main"}, 5000, 3});
    s.timeline.push_back({0.1, 100, 200});
    s.timeline.push_back({0.2, 300, 400});
    s.warnings.push_back("a warning");
    return reports::summary_to_json(s);
}

nlohmann::json rich_profile() {
    // The probe's memopt.profile/1 fields (docs/probe.md), small: it passes check_profile.
    return nlohmann::json::parse(R"({
      "schema": "memopt.profile/1", "tool": {"name": "memopt", "version": "0.1.0"}, "script": "app.py",
      "argv": ["--n", "3"],
      "interpreter": {"executable": "/usr/bin/python3", "version": "3.11.2", "optimize": 0, "xoptions": {"dev": true},
                      "sys_path": ["/tmp"], "allocation_tracking": "sampled",
                      "sampling": {"mean_bytes": 262144, "every_allocation": false, "max_frames": 16},
                      "tracemalloc": false, "tracemalloc_frames": 0, "code_tracking": true, "sampling_interval_ms": 10},
      "exit_status": 0, "duration_s": 0.08, "stdout": {"sha256": "ab12", "bytes": 42},
      "peak_rss_bytes": 20000000, "peak_rss_time_s": 0.05, "vmhwm_bytes": 21000000, "peak_traced_bytes": 900000,
      "baseline": {"rss_at_script_start_bytes": 18341888, "rss_before_python_bytes": 8929280,
                   "traced_at_script_start_bytes": 0},
      "probe_overhead": {"native_before_python_bytes": 9000000, "tracemalloc_bytes": 0, "sampler_bytes": 300000,
                         "allocation_sampler": {"samples": 10, "live_samples": 3, "stacks": 4, "peak_copies": 1,
                                                "table_bytes": 4096},
                         "code_tracking_bytes": 1000, "census_scratch_bytes": 0, "snapshots": 1,
                         "snapshot_time_s": 0.01, "estimated_rss_bytes": 9500000},
      "timeline": {"t_s": [0.0, 0.01, 0.02], "rss_bytes": [1000, 2000, 1500]},
      "traced_timeline": {"t_s": [0.0, 0.01], "current_bytes": [10, 20], "interval_peak_bytes": [15, 25]},
      "phases": [{"name": "load", "start_s": 0.0, "end_s": 0.01, "rss_start_bytes": 1000, "rss_end_bytes": 2000,
                  "peak_rss_bytes": 2000, "peak_traced_bytes": 30}],
      "imports": {"total": {"count": 2, "rss_bytes": 3000000, "time_s": 0.02, "traced_bytes": 90},
        "tree": [{"id": 0, "name": "numpy", "parent": -1, "importer": "__main__", "thread": 1, "start_s": 0.001,
                  "children": [1], "failed": false,
                  "own": {"rss_bytes": 1000000, "time_s": 0.01, "traced_bytes": 50},
                  "cumulative": {"rss_bytes": 3000000, "time_s": 0.02, "traced_bytes": 90}},
                 {"id": 1, "name": "numpy.core", "parent": 0, "importer": "numpy", "thread": 1, "start_s": 0.002,
                  "children": [], "failed": false,
                  "own": {"rss_bytes": 2000000, "time_s": 0.01, "traced_bytes": 40},
                  "cumulative": {"rss_bytes": 2000000, "time_s": 0.01, "traced_bytes": 40}}]},
      "modules": {"numpy": {"file": "/usr/lib/numpy/__init__.py", "preloaded": false, "ran": true, "functions_run": 3,
                            "functions_run_after_import": 1, "import_id": 0, "imported_by": "__main__",
                            "parent_import": null, "own": {"rss_bytes": 1000000, "time_s": 0.01, "traced_bytes": 50},
                            "cumulative": {"rss_bytes": 3000000, "time_s": 0.02, "traced_bytes": 90}},
                  "numpy.core": {"file": null, "preloaded": false, "ran": false, "functions_run": 0,
                                 "functions_run_after_import": 0, "import_id": 1, "imported_by": "numpy",
                                 "parent_import": "numpy", "own": {"rss_bytes": 2000000, "time_s": 0.01, "traced_bytes": 40},
                                 "cumulative": {"rss_bytes": 2000000, "time_s": 0.01, "traced_bytes": 40}}},
      "never_ran": [{"name": "numpy.core", "own_rss_bytes": 2000000, "cumulative_rss_bytes": 2000000,
                     "own_traced_bytes": 40, "cumulative_traced_bytes": 40, "cumulative_time_s": 0.01}],
      "peak": {"time_s": 0.05, "traced_bytes": 900000, "rss_bytes": 20000000, "census_time_s": 0.05,
               "census_traced_bytes": 900000, "census_rss_bytes": 20000000, "lines_cost_s": 0.001,
               "census_cost_s": 0.01, "missed": false, "top_lines_estimated": true,
               "top_lines": [{"file": "app.py", "line": 12, "code": "x = [0] * n", "allocated_at": "app.py:12",
                              "user_code": true, "bytes": 4096, "count": 2}],
               "census": {"total_objects": 100, "total_bytes": 80000, "scratch_bytes": 0,
                          "types": [{"type": "numpy.ndarray", "count": 3, "bytes": 80000, "deep": false}]}}
    })");
}

} // namespace

Target parse_target(std::string_view name) {
    if (name == "trace") return Target::kTrace;
    if (name == "trace-resealed") return Target::kTraceResealed;
    if (name == "summary") return Target::kSummary;
    if (name == "profile") return Target::kProfile;
    throw std::invalid_argument(fmt::format("unknown fuzz target '{}' (trace, trace-resealed, summary, profile)", name));
}

std::string_view target_name(Target target) {
    switch (target) {
    case Target::kTrace: return "trace";
    case Target::kTraceResealed: return "trace-resealed";
    case Target::kSummary: return "summary";
    case Target::kProfile: return "profile";
    }
    return "?";
}

void run_one(Target target, const std::uint8_t* data, std::size_t size) {
    switch (target) {
    case Target::kTrace: fuzz_trace(data, size); break;
    case Target::kTraceResealed: fuzz_resealed_trace(data, size); break;
    case Target::kSummary: fuzz_summary(data, size); break;
    case Target::kProfile: fuzz_profile(data, size); break;
    }
}

std::vector<std::vector<std::uint8_t>> seeds(Target target) {
    switch (target) {
    case Target::kTrace:
    case Target::kTraceResealed: {
        auto plain = rich_trace(false);
        auto exec = rich_trace(true);
        auto damaged = plain;
        damaged[damaged.size() / 2] ^= 0x20; // one chunk fails its checksum
        ChunkBuilder many(101, 7); // large enough for zstd to shrink: a compressed chunk
        for (std::uint64_t i = 0; i < 300; ++i) many.event(RecordKind::kMalloc, 0x80000 + i * 32, 24 + i % 7);
        return {plain, exec, file_header(), std::vector<std::uint8_t>(plain.begin(), plain.begin() + plain.size() / 2),
                damaged, rich_trace(false, 1), concat({plain, many.finish_compressed()})};
    }
    case Target::kSummary: return {bytes_of(rich_summary().dump()), bytes_of(rich_summary().dump(1))};
    case Target::kProfile: return {bytes_of(rich_profile().dump()), bytes_of(rich_summary().dump())};
    }
    return {};
}

} // namespace memopt::fuzz
