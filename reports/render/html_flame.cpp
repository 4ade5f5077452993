// Flame graphs for the HTML reports: the stacks are merged into a tree here and written as
// compact JSON (a name table and one [parent, name, bytes] triple per frame, in pre-order),
// which flame_script() draws as SVG in the browser, zoomable and searchable. Width is bytes,
// the outermost frame at the bottom.
#include "reports/render/html.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <unordered_map>

namespace memopt::reports::html {
namespace {

constexpr std::size_t kMaxDepth = 160;
// Frames under this share of the graph's bytes are left out: 0.11 px of the full graph, still
// 11 px after zooming into a frame of 1 %. It bounds the page's size whatever the trace.
constexpr double kMinShare = 1e-4;

struct Node {
    std::uint64_t before = 0; // the bytes of a plain flame graph
    std::uint64_t after = 0;  // a differential one's second trace
    std::map<std::string, std::unique_ptr<Node>> children;

    std::uint64_t weight() const { return std::max(before, after); }
};

void add_stack(Node& root, const std::vector<std::string>& frames, std::uint64_t before, std::uint64_t after) {
    root.before += before;
    root.after += after;
    Node* node = &root;
    for (std::size_t i = 0; i < frames.size() && i < kMaxDepth; ++i) {
        auto& child = node->children[frames[i]];
        if (!child) child = std::make_unique<Node>();
        child->before += before;
        child->after += after;
        node = child.get();
    }
}

class FlameData {
  public:
    FlameData(bool diff, std::uint64_t threshold) : diff_(diff), threshold_(threshold) {}

    // Pre-order, children largest first, so the script lays out each frame after its parent
    // and left of its later siblings.
    void add(const std::string& name, const Node& node, long parent) {
        const long index = count_++;
        nodes_.push_back(parent);
        nodes_.push_back(static_cast<long>(name_index(name)));
        nodes_.push_back(static_cast<long>(node.before));
        if (diff_) nodes_.push_back(static_cast<long>(node.after));
        std::vector<std::pair<const std::string*, const Node*>> children;
        for (const auto& [child_name, child] : node.children)
            if (child->weight() >= threshold_) children.emplace_back(&child_name, child.get());
        std::stable_sort(children.begin(), children.end(),
                         [](const auto& a, const auto& b) { return a.second->weight() > b.second->weight(); });
        for (const auto& [child_name, child] : children) add(*child_name, *child, index);
    }

    nlohmann::json json(const std::string& title) const {
        return {{"title", title}, {"diff", diff_}, {"names", names_}, {"nodes", nodes_}};
    }

  private:
    std::size_t name_index(const std::string& name) {
        const auto [it, inserted] = index_.emplace(name, names_.size());
        if (inserted) names_.push_back(name);
        return it->second;
    }

    bool diff_;
    std::uint64_t threshold_;
    long count_ = 0;
    std::vector<long> nodes_;
    std::vector<std::string> names_;
    std::unordered_map<std::string, std::size_t> index_;
};

std::string flame_box(const Node& root, bool diff, const std::string& title, int width) {
    if (root.weight() == 0) return "";
    const auto threshold = static_cast<std::uint64_t>(static_cast<double>(root.weight()) * kMinShare);
    FlameData data(diff, std::max<std::uint64_t>(threshold, 1));
    data.add("all", root, -1);
    return fmt::format(
        "<div class=\"flame\">\n<p style=\"margin:.4em 0\"><input type=\"search\" placeholder=\"Search frames\" "
        "aria-label=\"Search frames\" style=\"width:22em\"> <button type=\"button\">Reset zoom</button> "
        "<span class=\"flame-info muted\"></span></p>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} 40\" width=\"{0}\" height=\"40\" role=\"img\" "
        "aria-label=\"{1}\" font-size=\"11\"><title>{1}</title><text x=\"10\" y=\"18\" font-size=\"15\" "
        "font-weight=\"600\">{1}</text></svg>\n"
        "<noscript><p class=\"muted\">The flame graph is drawn by the page's script; allow scripts to see it.</p></noscript>\n"
        "<script type=\"application/json\" class=\"flame-data\">{2}</script>\n</div>\n",
        width, escape(title), script_safe_json(data.json(title)));
}

} // namespace

std::string script_safe_json(const nlohmann::json& value) {
    // Invalid UTF-8 from a symbol table is replaced, not thrown on.
    const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    // Inside JSON these bytes only occur in strings, where unicode escapes mean the same: the block
    // can then never close its <script> element or open a comment.
    for (const char c : text) {
        if (c == '<') out += "\\u003c";
        else if (c == '>') out += "\\u003e";
        else if (c == '&') out += "\\u0026";
        else out += c;
    }
    return out;
}

std::string flame_graph(const std::vector<WeightedStack>& stacks, const std::string& title, int width) {
    Node root;
    for (const auto& stack : stacks) add_stack(root, stack.frames, stack.bytes, 0);
    return flame_box(root, false, title, width);
}

std::string diff_flame_graph(const std::vector<StackChange>& stacks, const std::string& title, int width) {
    Node root;
    for (const auto& stack : stacks) add_stack(root, stack.frames, stack.before, stack.after);
    return flame_box(root, true, title, width);
}

} // namespace memopt::reports::html
