// Bugs the fuzzer found in the readers and the summary, one test each (inputs in corpus/).
#include "common/error.h"
#include "profiler/trace/chunk_builder.h"
#include "reports/summary.h"
#include "reports/summary_format.h"
#include "tests/gate/fuzz/fuzz_targets.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using memopt::test::ScratchDir;

namespace {

void replay_corpus(memopt::fuzz::Target target, const std::string& prefix) {
    for (const auto& entry : std::filesystem::directory_iterator(GATE_CORPUS_DIR)) {
        if (entry.path().filename().string().rfind(prefix, 0) != 0) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        INFO(entry.path());
        try {
            memopt::fuzz::run_one(target, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        } catch (const memopt::Error&) {
            // a clear error is the right answer
        }
    }
}

} // namespace

TEST_CASE("summary JSON of a trace whose strings are not UTF-8 (fuzz: json type_error 316)") {
    memopt::reports::Summary s;
    s.command = {"python3", "caf\xe9.py", "\xff\xfe"};
    s.phases.push_back({"ph\xc3", 0, 1, 0, 0});
    s.warnings.push_back("\xed\xa0\x80 surrogate");
    std::string text;
    REQUIRE_NOTHROW(text = memopt::reports::summary_to_json(s).dump());
    CHECK(text.find("caf\xEF\xBF\xBD.py") != std::string::npos);
    const auto back = memopt::reports::summary_from_json(nlohmann::json::parse(text));
    CHECK(back.command.size() == 3);
}

TEST_CASE("every saved fuzz finding now gives a clear error or a result") {
    replay_corpus(memopt::fuzz::Target::kTrace, "trace-");
    replay_corpus(memopt::fuzz::Target::kSummary, "summary-");
    replay_corpus(memopt::fuzz::Target::kProfile, "profile-");
}
