#pragma once
// Assembles the memopt.profile/1 document from what the Python side collected (imports,
// modules, top lines, census) and what the native side measured (RSS timeline, traced
// memory samples, phases, exit status, stdout hash). Pure JSON in, JSON out.
#include "profiler/probe/native_module.h"
#include "profiler/probe/probe.h"
#include "profiler/probe/sampler.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace memopt::probe {

struct NativeParts {
    const ProbeOptions* options = nullptr;
    int exit_status = 0;
    double duration_s = 0;
    double script_start_s = 0;
    std::string stdout_sha256;
    unsigned long long stdout_bytes = 0;
    std::vector<RssSample> rss;
    std::vector<PhaseEvent> phases;
    PollerStats poller;
    std::int64_t rss_before_python = 0;
    std::int64_t rss_at_script_start = 0;
    std::int64_t traced_at_script_start = 0;
    std::int64_t vmhwm = 0;
    std::size_t code_tracking_bytes = 0;
    std::string python_version;
    nlohmann::json alloc_sampler = nlohmann::json::object(); // the allocation sampler's counters (sampled mode)
};

nlohmann::json build_profile(const nlohmann::json& python, const NativeParts& native);

} // namespace memopt::probe
