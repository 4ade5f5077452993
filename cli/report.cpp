// memopt report: renders a trace (or a probe profile) through the reports/ library.
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/paths.h"
#include "reports/render/exports.h"
#include "reports/render/html.h"
#include "reports/render/profile_report.h"
#include "reports/analysis/stacks.h"
#include "reports/render/summary_format.h"
#include "reports/steps/report.h"

#include <fmt/format.h>
#include <fmt/std.h>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace memopt::cli {
namespace {

namespace fs = std::filesystem;

enum class InputKind { kTrace, kJson };

InputKind detect_input(const fs::path& input) {
    std::ifstream file(input, std::ios::binary);
    if (!file) throw Error(fmt::format("cannot open {}", input));
    char head[8] = {};
    file.read(head, sizeof head);
    const std::string_view start(head, static_cast<std::size_t>(file.gcount()));
    if (start.starts_with("MEMOPTTR")) return InputKind::kTrace;
    const auto first = start.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && start[first] == '{') return InputKind::kJson;
    if (start.empty()) throw Error(fmt::format("{} is empty", input));
    throw Error(fmt::format("{} is neither a memopt trace nor a JSON profile", input));
}

nlohmann::json read_json(const fs::path& input) {
    std::ifstream file(input);
    try {
        return nlohmann::json::parse(file);
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("{} is not valid JSON: {}", input, e.what()));
    }
}

constexpr const char* kFormats = "text | json | html | folded | massif | speedscope";

std::string render_profile_json(const fs::path& input, const std::string& format) {
    const auto json = read_json(input);
    const std::string schema = json.is_object() ? json.value("schema", "") : "";
    if (schema.starts_with("memopt.profile/")) {
        if (format == "html") return reports::profile_report_html(json);
        return reports::render_profile(json, format);
    }
    // steps.json of memopt optimize: the per-step report (reports/steps/).
    if (schema == reports::steps::kStepsSchema) return reports::steps::render_steps_report(json, input, format);
    if (schema == reports::kSummarySchema) {
        const auto summary = reports::summary_from_json(json);
        if (format == "json") return json.dump(2) + "\n";
        if (format == "text") return reports::summary_to_text(summary);
        if (format == "html") return reports::trace_report_html(summary, nullptr);
        throw Error(fmt::format("format '{}' needs the trace itself, not its JSON summary {}", format, input));
    }
    throw Error(fmt::format("{} is JSON but not a memopt profile or summary", input));
}

std::string render_trace(const fs::path& input, const std::string& format, std::size_t top) {
    if (format == "folded" || format == "speedscope") {
        const auto stacks = reports::collect_stacks(input);
        if (stacks.stack_sample_bytes == 0)
            throw Error(fmt::format("{} has no stacks: record it with memopt record --stacks", input));
        if (format == "folded") return reports::to_folded(stacks.allocated);
        return reports::to_speedscope(stacks, input.filename().string());
    }
    reports::SummaryOptions options;
    options.top_sites = top;
    const auto summary = reports::summarize_trace(input, options);
    for (const auto& warning : summary.warnings) fmt::print(stderr, "memopt report: warning: {}\n", warning);
    if (format == "json") return reports::summary_to_json(summary).dump(2) + "\n";
    if (format == "text") return reports::summary_to_text(summary);
    const auto stacks = summary.stack_sample_bytes ? reports::collect_stacks(input) : reports::StackProfile{};
    if (format == "html") return reports::trace_report_html(summary, &stacks);
    if (format == "massif") return reports::to_massif(summary, stacks);
    throw Error(fmt::format("unknown format '{}' (use {})", format, kFormats));
}

std::string render(const fs::path& input, const std::string& format, std::size_t top) {
    if (detect_input(input) == InputKind::kJson) return render_profile_json(input, format);
    return render_trace(input, format, top);
}

} // namespace

int run_report(const Args& args) {
    po::options_description desc("options");
    desc.add_options()
        ("input", po::value<std::string>(), "trace (from memopt record) or profile (from memopt probe)")
        ("format", po::value<std::string>()->default_value("text"), kFormats)
        ("output,o", po::value<std::string>(), "write here instead of standard output")
        ("force,f", "replace an existing output file")
        ("top", po::value<std::size_t>()->default_value(10), "number of allocation sites to list");
    po::positional_options_description positional;
    positional.add("input", 1);
    po::variables_map vm;
    if (!parse_options(args, "report", "memopt report TRACE|PROFILE [--format text|json|html|folded|massif|speedscope] [-o OUT]", desc,
                       positional, vm))
        return 0;
    if (!vm.count("input")) throw Error("no trace or profile given (usage: memopt report TRACE|PROFILE [--format FORMAT] [-o OUT])");
    const fs::path input = vm["input"].as<std::string>();
    if (!fs::exists(input)) throw Error(fmt::format("{} not found", input));
    if (fs::is_directory(input)) throw Error(fmt::format("{} is a directory, not a trace", input));
    const std::string format = vm["format"].as<std::string>();
    if (!std::set<std::string>{"text", "json", "html", "folded", "massif", "speedscope"}.count(format))
        throw Error(fmt::format("unknown format '{}' (use {})", format, kFormats));
    fs::path output;
    if (vm.count("output")) {
        output = vm["output"].as<std::string>();
        check_output_path(output, vm.count("force") > 0);
    }
    const std::string text = render(input, format, vm["top"].as<std::size_t>());
    if (output.empty()) {
        std::cout << text << std::flush;
        return 0;
    }
    std::ofstream file(output, std::ios::trunc);
    file << text;
    file.close();
    if (!file) throw Error(fmt::format("cannot write {}", output));
    return 0;
}

} // namespace memopt::cli
