// massif.out writer. The file layout is the one valgrind's massif writes and ms_print reads
// (valgrind/massif/ms_main.c, ms_print): header lines, then snapshots of the heap size over
// time; one "peak" snapshot carries the allocation tree, innermost frame at the top.
#include "reports/render/exports.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <memory>

namespace memopt::reports {
namespace {

constexpr std::size_t kMaxSnapshots = 60;
constexpr double kThreshold = 0.01; // massif's default --threshold=1.0 (%)
constexpr std::size_t kMaxDepth = 40;

struct Node {
    std::uint64_t bytes = 0;
    std::map<std::string, std::unique_ptr<Node>> children;
};

void write_node(std::string& out, const Node& node, const std::string& name, std::size_t depth,
                std::uint64_t total) {
    std::vector<std::pair<const std::string*, const Node*>> shown;
    std::uint64_t hidden_bytes = 0;
    std::size_t hidden = 0;
    if (depth < kMaxDepth) {
        for (const auto& [child_name, child] : node.children) {
            if (static_cast<double>(child->bytes) >= kThreshold * static_cast<double>(total))
                shown.emplace_back(&child_name, child.get());
            else {
                hidden_bytes += child->bytes;
                ++hidden;
            }
        }
    }
    std::sort(shown.begin(), shown.end(), [](const auto& a, const auto& b) { return a.second->bytes > b.second->bytes; });
    const std::size_t children = shown.size() + (hidden ? 1 : 0);
    out += fmt::format("{:>{}}n{}: {} {}\n", "", depth, children, node.bytes, name);
    for (const auto& [child_name, child] : shown) write_node(out, *child, *child_name, depth + 1, total);
    if (hidden)
        out += fmt::format("{:>{}}n0: {} in {} place{}, below massif's threshold (1.00%)\n", "", depth + 1,
                           hidden_bytes, hidden, hidden == 1 ? "" : "s");
}

std::string peak_tree(const StackProfile& stacks, std::uint64_t peak) {
    Node root;
    root.bytes = peak;
    // The sampled estimate can exceed the exact peak: scale it down so children never
    // outweigh their parent (ms_print checks that).
    const double scale = stacks.live_peak_bytes > peak
                             ? static_cast<double>(peak) / static_cast<double>(stacks.live_peak_bytes)
                             : 1.0;
    std::uint64_t assigned = 0;
    for (const auto& stack : stacks.live_at_peak) {
        const auto bytes = static_cast<std::uint64_t>(std::floor(static_cast<double>(stack.bytes) * scale));
        if (bytes == 0 || assigned + bytes > peak) continue;
        assigned += bytes;
        Node* node = &root;
        for (auto frame = stack.frames.rbegin(); frame != stack.frames.rend(); ++frame) {
            auto& child = node->children[fmt::format("0x0: {}", clean_frame(*frame))];
            if (!child) child = std::make_unique<Node>();
            child->bytes += bytes;
            node = child.get();
        }
    }
    if (assigned < peak && !stacks.live_at_peak.empty()) {
        auto& rest = root.children["0x0: (allocations without a sampled stack)"];
        rest = std::make_unique<Node>();
        rest->bytes = peak - assigned;
    }
    std::string out;
    write_node(out, root, "(heap allocation functions) malloc/new/new[], --alloc-fns, etc.", 0, peak);
    return out;
}

} // namespace

std::string to_massif(const Summary& summary, const StackProfile& stacks) {
    std::string command;
    for (const auto& word : summary.command) command += (command.empty() ? "" : " ") + clean_frame(word);
    std::string out = fmt::format("desc: memopt record{}\ncmd: {}\ntime_unit: ms\n",
                                  stacks.stack_sample_bytes ? fmt::format(" --stacks={}", stacks.stack_sample_bytes) : "",
                                  command.empty() ? "(unknown)" : command);
    // (time ms, heap bytes, is the peak), in time order, at most kMaxSnapshots + 2.
    struct Snap {
        std::uint64_t ms;
        std::uint64_t bytes;
        bool peak;
    };
    std::vector<Snap> snaps{{0, 0, false}};
    const auto& points = summary.timeline;
    const std::size_t group = std::max<std::size_t>(1, (points.size() + kMaxSnapshots - 1) / kMaxSnapshots);
    for (std::size_t i = 0; i < points.size(); i += group) {
        const std::size_t end = std::min(points.size(), i + group);
        std::uint64_t bytes = 0;
        for (std::size_t j = i; j < end; ++j) bytes = std::max(bytes, points[j].heap_bytes);
        snaps.push_back({static_cast<std::uint64_t>(std::llround(points[end - 1].t_s * 1000)), bytes, false});
    }
    const auto peak_ms = static_cast<std::uint64_t>(std::llround(summary.peak_heap_time_s * 1000));
    snaps.push_back({peak_ms, summary.peak_heap_bytes, true});
    std::stable_sort(snaps.begin(), snaps.end(), [](const Snap& a, const Snap& b) { return a.ms < b.ms; });
    for (std::size_t i = 0; i < snaps.size(); ++i) {
        const Snap& snap = snaps[i];
        out += fmt::format("#-----------\nsnapshot={}\n#-----------\ntime={}\nmem_heap_B={}\nmem_heap_extra_B=0\n"
                           "mem_stacks_B=0\n",
                           i, snap.ms, std::min(snap.bytes, summary.peak_heap_bytes));
        if (snap.peak) out += "heap_tree=peak\n" + peak_tree(stacks, summary.peak_heap_bytes);
        else out += "heap_tree=empty\n";
    }
    return out;
}

} // namespace memopt::reports
