#include "reports/render/exports.h"

#include <nlohmann/json.hpp>
#include <unordered_map>

namespace memopt::reports {
namespace {

using nlohmann::json;

class FrameTable {
  public:
    std::size_t index(const std::string& name) {
        auto [it, added] = index_.emplace(name, frames_.size());
        if (added) frames_.push_back({{"name", name}});
        return it->second;
    }
    json frames() const { return frames_; }

  private:
    std::unordered_map<std::string, std::size_t> index_;
    json frames_ = json::array();
};

json sampled_profile(const std::string& name, const std::vector<WeightedStack>& stacks, FrameTable& table) {
    json samples = json::array(), weights = json::array();
    std::uint64_t total = 0;
    for (const auto& stack : stacks) {
        json sample = json::array();
        for (const auto& frame : stack.frames) sample.push_back(table.index(frame));
        samples.push_back(std::move(sample));
        weights.push_back(stack.bytes);
        total += stack.bytes;
    }
    return {{"type", "sampled"}, {"name", name},          {"unit", "bytes"},       {"startValue", 0},
            {"endValue", total}, {"samples", samples}, {"weights", weights}};
}

} // namespace

std::string to_speedscope(const StackProfile& stacks, const std::string& name) {
    FrameTable table;
    json profiles = json::array();
    profiles.push_back(sampled_profile("bytes allocated (whole run)", stacks.allocated, table));
    profiles.push_back(sampled_profile("bytes live at the peak", stacks.live_at_peak, table));
    json file = {
        {"$schema", "https://www.speedscope.app/file-format-schema.json"},
        {"name", name},
        {"activeProfileIndex", 0},
        {"exporter", "memopt"},
        {"profiles", profiles},
        {"shared", {{"frames", table.frames()}}},
    };
    return file.dump() + "\n";
}

} // namespace memopt::reports
