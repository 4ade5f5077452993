// Allocation flame graph as inline SVG: one rectangle per frame, width proportional to bytes,
// the outermost frame at the bottom; names and byte counts in each rectangle's tooltip.
#include "reports/render/html.h"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <memory>

namespace memopt::reports::html {
namespace {

constexpr double kRow = 17;
constexpr std::size_t kMaxDepth = 160;

struct Node {
    std::uint64_t bytes = 0;
    std::map<std::string, std::unique_ptr<Node>> children;
};

std::string color_for(const std::string& name) {
    // Stable warm colour per name (the classic flame graph palette).
    const std::size_t h = std::hash<std::string>{}(name);
    const int r = 205 + static_cast<int>(h % 50);
    const int g = 80 + static_cast<int>((h >> 8) % 130);
    const int b = 40 + static_cast<int>((h >> 16) % 40);
    return fmt::format("rgb({},{},{})", r, g, b);
}

std::size_t depth_of(const Node& node) {
    std::size_t depth = 0;
    for (const auto& [_, child] : node.children) depth = std::max(depth, 1 + depth_of(*child));
    return depth;
}

} // namespace

std::string flame_graph(const std::vector<WeightedStack>& stacks, const std::string& title, int width) {
    Node root;
    for (const auto& stack : stacks) {
        root.bytes += stack.bytes;
        Node* node = &root;
        for (std::size_t i = 0; i < stack.frames.size() && i < kMaxDepth; ++i) {
            auto& child = node->children[stack.frames[i]];
            if (!child) child = std::make_unique<Node>();
            child->bytes += stack.bytes;
            node = child.get();
        }
    }
    if (root.bytes == 0) return "";
    const double total = static_cast<double>(root.bytes);
    const double margin = 10, plot_w = width - 2 * margin;
    const double min_w = 0.6;
    const std::size_t depth = depth_of(root) + 1;
    const double height = static_cast<double>(depth) * kRow + 40;
    std::string svg = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1:.0f}\" width=\"{0}\" "
                                  "height=\"{1:.0f}\" role=\"img\" aria-label=\"{2}\" font-size=\"11\">\n<title>{2}</title>\n"
                                  "<text x=\"{3}\" y=\"18\" font-size=\"15\" font-weight=\"600\">{2}</text>\n",
                                  width, height, escape(title), margin);
    std::function<void(const std::string&, const Node&, double, std::size_t)> draw =
        [&](const std::string& name, const Node& node, double x, std::size_t level) {
            const double w = static_cast<double>(node.bytes) / total * plot_w;
            if (w < min_w) return;
            const double y = height - 4 - static_cast<double>(level + 1) * kRow;
            const std::string label = level == 0 ? "all" : name;
            svg += fmt::format("<g><title>{} — {} ({:.1f} %)</title><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                               "height=\"{:.0f}\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"0.5\"/>",
                               escape(label), megabytes(static_cast<double>(node.bytes), 2),
                               100.0 * static_cast<double>(node.bytes) / total, x, y, w, kRow - 1,
                               level == 0 ? "rgb(230,150,90)" : color_for(name));
            const auto chars = static_cast<std::size_t>((w - 6) / 6.2);
            if (chars >= 3) {
                std::string text = label.size() > chars ? label.substr(0, chars - 2) + ".." : label;
                svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#1b1f24\">{}</text>", x + 3, y + kRow - 5,
                                   escape(text));
            }
            svg += "</g>\n";
            // Children left to right, largest first.
            std::vector<std::pair<const std::string*, const Node*>> children;
            for (const auto& [child_name, child] : node.children) children.emplace_back(&child_name, child.get());
            std::sort(children.begin(), children.end(),
                      [](const auto& a, const auto& b) { return a.second->bytes > b.second->bytes; });
            double cx = x;
            for (const auto& [child_name, child] : children) {
                draw(*child_name, *child, cx, level + 1);
                cx += static_cast<double>(child->bytes) / total * plot_w;
            }
        };
    draw("all", root, margin, 0);
    return svg + "</svg>\n";
}

} // namespace memopt::reports::html
