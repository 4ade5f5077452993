// memopt report: renders a trace (or a probe profile) through the reports/ library.
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/suggest.h"
#include "common/error.h"
#include "common/input_file.h"
#include "common/output_file.h"
#include "reports/analysis/json_input.h"
#include "reports/analysis/profile_check.h"
#include "reports/render/diff_report.h"
#include "reports/render/exports.h"
#include "reports/render/html.h"
#include "reports/render/profile_report.h"
#include "reports/analysis/phase_window.h"
#include "reports/analysis/stacks.h"
#include "reports/render/summary_format.h"
#include "reports/steps/report.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/std.h>
#include <iostream>
#include <optional>

namespace memopt::cli {
namespace {

namespace fs = std::filesystem;

enum class InputKind { kTrace, kJson };

// The input is opened once here (a FIFO or device is refused without blocking) and
// recognised by its first bytes.
InputKind detect_input(const fs::path& input) {
    InputFile file(input);
    const std::string head = file.head(8);
    const std::string_view start = head;
    if (start.starts_with("MEMOPTTR")) return InputKind::kTrace;
    const auto first = start.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && start[first] == '{') return InputKind::kJson;
    if (start.empty()) throw Error(fmt::format("{} is empty", input));
    throw Error(fmt::format("{} is neither a memopt trace nor a JSON profile", input));
}

constexpr const char* kFormats = "text | json | html | folded | massif | speedscope | trace (with --phase)";

// Runs a check of the file's content; its error gets the file's name in front.
template <typename Check>
auto naming_file(const fs::path& input, Check check) {
    try {
        return check();
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", input, e.what()));
    }
}

std::string render_profile_json(const fs::path& input, const std::string& format, const reports::TextOptions& text) {
    const auto json = reports::read_json_file(input, "a memopt profile or summary");
    const auto schema_it = json.is_object() ? json.find("schema") : json.end();
    const std::string schema = schema_it != json.end() && schema_it->is_string() ? schema_it->get<std::string>() : "";
    if (schema.starts_with("memopt.profile/")) {
        naming_file(input, [&] { reports::check_profile(json); });
        if (format == "html") return reports::profile_report_html(json);
        return reports::render_profile(json, format);
    }
    // steps.json of memopt optimize: the per-step report (reports/steps/).
    if (schema == reports::steps::kStepsSchema) return reports::steps::render_steps_report(json, input, format);
    if (schema == reports::kSummarySchema) {
        const auto summary = naming_file(input, [&] { return reports::summary_from_json(json); });
        if (format == "json") return json.dump(2) + "\n";
        if (format == "text") return reports::summary_to_text(summary, text);
        if (format == "html") return reports::trace_report_html(summary, nullptr);
        throw Error(fmt::format("format '{}' needs the trace itself, not its JSON summary {}", format, input));
    }
    throw Error(fmt::format("{} is JSON but not a memopt profile or summary", input));
}

// What --phase adds to the report of its slice: the whole trace's warnings, one note on what
// the cut left out, and the name the speedscope file shows.
struct SliceContext {
    std::vector<std::string> warnings;
    std::string note;
    std::string name;
};

std::string render_trace(const fs::path& input, const std::string& format, std::size_t top, const reports::TextOptions& text,
                         const SliceContext& slice = {}) {
    const auto& extra_warnings = slice.warnings;
    const auto& note = slice.note;
    if (format == "folded" || format == "speedscope") {
        const auto stacks = reports::collect_stacks(input);
        if (stacks.stack_sample_bytes == 0)
            throw Error(fmt::format("{} has no stacks: record it with memopt record --stacks", input));
        for (const auto& warning : extra_warnings) fmt::print(stderr, "memopt report: warning: {}\n", warning);
        for (const auto& warning : stacks.warnings) fmt::print(stderr, "memopt report: warning: {}\n", warning);
        if (!note.empty()) fmt::print(stderr, "memopt report: note: {}\n", note);
        if (format == "folded") return reports::to_folded(stacks.allocated);
        return reports::to_speedscope(stacks, slice.name.empty() ? input.filename().string() : slice.name);
    }
    reports::SummaryOptions options;
    options.top_sites = top;
    auto summary = reports::summarize_trace(input, options);
    for (auto it = extra_warnings.rbegin(); it != extra_warnings.rend(); ++it) // the whole trace's, once
        if (std::find(summary.warnings.begin(), summary.warnings.end(), *it) == summary.warnings.end())
            summary.warnings.insert(summary.warnings.begin(), *it);
    if (!note.empty()) summary.notes.insert(summary.notes.begin(), note);
    const bool all_stacks = format != "json" && format != "text";
    const auto stacks = all_stacks && summary.stack_sample_bytes ? reports::collect_stacks(input) : reports::StackProfile{};
    // The flame graph names frames the top sites do not show: their warnings belong to it too.
    for (const auto& warning : stacks.warnings)
        if (std::find(summary.warnings.begin(), summary.warnings.end(), warning) == summary.warnings.end())
            summary.warnings.push_back(warning);
    for (const auto& warning : summary.warnings) fmt::print(stderr, "memopt report: warning: {}\n", warning);
    if (format == "json") return reports::summary_to_json(summary).dump(2) + "\n";
    if (format == "text") return reports::summary_to_text(summary, text);
    if (format == "html") return reports::trace_report_html(summary, &stacks);
    if (format == "massif") return reports::to_massif(summary, stacks);
    throw Error(fmt::format("unknown format '{}' (use {})", format, kFormats));
}

// "no phase 'x' in T; did you mean 'y'? (its phases: a, b, c, d, e and 7 more)"
std::string unknown_phase(const fs::path& input, const reports::PhaseSlice& slice) {
    const auto& request = slice.request;
    if (slice.occurrences > 0)
        return fmt::format("{} has {} phase{} called '{}', not {} (NAME#N counts from 1)", input, slice.occurrences,
                           slice.occurrences == 1 ? "" : "s", request.name, request.occurrence);
    const auto& names = slice.phase_names;
    if (names.empty()) return fmt::format("no phase '{}' in {}: it has no phases (memopt.phase() marks them)", request.name, input);
    std::string listed;
    for (std::size_t i = 0; i < names.size() && i < 5; ++i) listed += (i ? ", '" : "'") + names[i] + "'";
    if (names.size() > 5) listed += fmt::format(" and {} more", names.size() - 5);
    const auto suggestion = nearest(request.name, names);
    return fmt::format("no phase '{}' in {}{} (its phases: {})", request.name, input,
                       suggestion ? fmt::format("; did you mean '{}'?", *suggestion) : "", listed);
}

// One phase's window (reports/analysis/phase_window.h) in `format`: as a trace file of its
// own, or the report of that trace with what the cut left out said in a note.
std::string render_slice(const fs::path& input, const reports::PhaseSlice& slice, const std::string& format, std::size_t top,
                         const reports::TextOptions& text) {
    if (format == "trace") return std::string(slice.trace.begin(), slice.trace.end());
    const reports::SliceFile file(slice.trace);
    const std::string name = fmt::format("{} phase {}", input.filename().string(), slice.request.name);
    return render_trace(file.path(), format, top, text, {slice.warnings, slice.note(), name});
}

// --phase NAME [-o FILE], repeatable: each --phase goes with the -o in the same place (as
// curl pairs -o with URLs), and the trace is read once for all of them.
void run_phases(const po::variables_map& vm, const std::string& format, std::size_t top, const reports::TextOptions& text,
                bool force) {
    const fs::path input = vm["input"].as<std::string>();
    const auto phases = vm["phase"].as<std::vector<std::string>>();
    const auto outputs = vm.count("output") ? vm["output"].as<std::vector<std::string>>() : std::vector<std::string>{};
    if (outputs.size() > phases.size() || (phases.size() > 1 && outputs.size() != phases.size()))
        throw Error(fmt::format("{} --phase and {} -o given: each --phase NAME takes its own -o FILE, in order", phases.size(),
                                outputs.size()));
    if (format == "trace" && outputs.empty()) throw Error("--format trace writes a binary file: give -o FILE");
    for (const fs::path output : outputs) check_output_file(output, force); // before the work of cutting
    if (detect_input(input) != InputKind::kTrace) throw Error(fmt::format("--phase needs a trace; {} is a JSON file", input));
    std::vector<reports::PhaseRequest> requests;
    for (const auto& phase : phases) requests.push_back(reports::parse_phase_request(phase));
    const auto slices = reports::slice_phases(input, requests);
    for (const auto& slice : slices)
        if (!slice.found) throw Error(unknown_phase(input, slice));
    if (format == "trace")
        for (const auto& warning : slices.front().warnings) fmt::print(stderr, "memopt report: warning: {}\n", warning);
    for (std::size_t i = 0; i < slices.size(); ++i) {
        const std::string rendered = render_slice(input, slices[i], format, top, text);
        if (outputs.empty()) std::cout << rendered << std::flush;
        else write_output_file(outputs[i], rendered, force);
    }
}

std::string render(const fs::path& input, const std::string& format, std::size_t top, const reports::TextOptions& text) {
    if (detect_input(input) == InputKind::kJson) return render_profile_json(input, format, text);
    return render_trace(input, format, top, text);
}

CommandHelp report_help() {
    return {"report", "TRACE|PROFILE|SUMMARY.json|STEPS.json",
            "Summarize a trace of `memopt record`, a profile of `memopt probe`, a summary saved by\n"
            "`report --format json` or `gate --save`, or the steps.json of `memopt optimize`.\n"
            "Sizes: MB = 10^6 bytes, MiB = 2^20 bytes (docs/units.md).",
            {"memopt report train.trace", "memopt report train.trace --format html -o train.html",
             "memopt report train.trace --phase fit --format html -o fit.html",
             "memopt report --diff before.trace after.trace --format html -o diff.html"},
            "Exit status: 0 ok, 2 on a usage or input error."};
}

// memopt report --diff BEFORE AFTER: both must be traces (the same file twice is allowed).
std::string render_diff(const std::vector<std::string>& traces, const std::string& format, std::size_t top) {
    if (traces.size() != 2)
        throw Error(fmt::format("--diff takes two traces, BEFORE and AFTER ({} given)", traces.size()));
    if (format != "text" && format != "html")
        throw Error(fmt::format("--diff writes text or html, not '{}'", format));
    for (const fs::path trace : traces)
        if (detect_input(trace) != InputKind::kTrace) throw Error(fmt::format("{} is not a memopt trace", trace));
    const auto diff = reports::diff_traces(traces[0], traces[1]);
    for (const auto& warning : diff.before.warnings) fmt::print(stderr, "memopt report: warning: {}: {}\n", traces[0], warning);
    for (const auto& warning : diff.after.warnings) fmt::print(stderr, "memopt report: warning: {}: {}\n", traces[1], warning);
    return format == "html" ? reports::trace_diff_html(diff, top) : reports::trace_diff_text(diff, top);
}

} // namespace

int run_report(const Args& args) {
    po::options_description desc("options");
    desc.add_options()
        ("input", po::value<std::string>(), "trace (from memopt record) or profile (from memopt probe)")
        ("format", po::value<std::string>()->default_value("text")->value_name("FORMAT"), kFormats)
        ("output,o", po::value<std::vector<std::string>>()->composing()->value_name("FILE"),
         "write here instead of standard output (once per --phase when it is repeated)")
        ("force,f", "replace an existing output file")
        ("top", po::value<long long>()->default_value(10)->value_name("N"), "number of allocation sites to list (1 or more)")
        ("children", "text: add up the peaks of the process and all its children")
        ("phase", po::value<std::vector<std::string>>()->composing()->value_name("NAME"),
         "only what phase NAME allocated, in any format (NAME#2: the second phase of that name); "
         "--format trace -o FILE writes that window as a trace of its own; repeated, each with its "
         "own -o, the trace is read once for all")
        ("diff", po::value<std::vector<std::string>>()->multitoken()->value_name("BEFORE AFTER"),
         "compare two traces site by site (text or html)");
    po::positional_options_description positional;
    positional.add("input", 1);
    po::variables_map vm;
    if (!parse_options(args, report_help(), desc, positional, vm))
        return 0;
    if (!vm.count("input") && !vm.count("diff")) throw Error("no trace or profile given (usage: memopt report TRACE|PROFILE [--format FORMAT] [-o OUT])");
    if (vm.count("diff") && vm.count("input")) throw Error("--diff BEFORE AFTER takes no other input");
    const std::string format = vm["format"].as<std::string>();
    const std::vector<std::string> formats{"text", "json", "html", "folded", "massif", "speedscope", "trace"};
    if (std::find(formats.begin(), formats.end(), format) == formats.end()) {
        const auto suggestion = nearest(format, formats);
        throw Error(suggestion ? fmt::format("unknown format '{}'; did you mean '{}'? (use {})", format, *suggestion, kFormats)
                               : fmt::format("unknown format '{}' (use {})", format, kFormats));
    }
    const long long top = vm["top"].as<long long>();
    if (top < 1 || top > 100000) throw Error(fmt::format("--top {} is out of range (1 to 100000)", top));
    const bool phase = vm.count("phase") > 0;
    if (phase && vm.count("diff")) throw Error("--phase does not combine with --diff");
    if (format == "trace" && !phase) throw Error("--format trace writes one phase's window: give --phase NAME");
    const bool force = vm.count("force") > 0;
    reports::TextOptions text_options;
    text_options.add_children = vm.count("children") > 0;
    const std::size_t sites = static_cast<std::size_t>(top);
    if (phase) {
        run_phases(vm, format, sites, text_options, force);
        return 0;
    }
    const auto outputs = vm.count("output") ? vm["output"].as<std::vector<std::string>>() : std::vector<std::string>{};
    if (outputs.size() > 1) throw Error(fmt::format("-o given {} times: one output (or one per --phase)", outputs.size()));
    const fs::path output = outputs.empty() ? fs::path() : fs::path(outputs.front());
    if (!output.empty()) check_output_file(output, force); // before the work of rendering
    const std::string text = vm.count("diff") ? render_diff(vm["diff"].as<std::vector<std::string>>(), format, sites)
                                              : render(vm["input"].as<std::string>(), format, sites, text_options);
    if (output.empty()) {
        std::cout << text << std::flush;
        return 0;
    }
    write_output_file(output, text, force);
    return 0;
}

} // namespace memopt::cli
