// HTML page, tables and SVG charts shared by the trace, profile and study reports.
#include "common/sizes.h"
#include "reports/render/html.h"

#include <algorithm>
#include <fmt/format.h>

namespace memopt::reports::html {
namespace {

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px auto;max-width:1160px;color:#1b1f24;padding:0 16px}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.9em}
.muted{color:#57606a}.warn{color:#9a6700}.note{background:#f6f8fa;border-left:3px solid #0969da;padding:4px 8px}.bad{color:#cf222e}.good{color:#1a7f37}
svg{display:block;margin:.5em 0;max-width:100%;height:auto}svg text{font-family:inherit}
.stack{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.82em;white-space:pre-wrap;word-break:break-all}
ul.tree{list-style:none;padding-left:1.2em;margin:0}ul.tree li{margin:1px 0}
)";

double nice_step(double range, int ticks) {
    if (range <= 0) return 1;
    const double raw = range / ticks;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (raw <= m * magnitude) return m * magnitude;
    return 10 * magnitude;
}

std::string number(double value) {
    if (std::fabs(value) >= 100 || value == std::floor(value)) return fmt::format("{:.0f}", value);
    if (std::fabs(value) >= 10) return fmt::format("{:.1f}", value);
    return fmt::format("{:.2g}", value);
}

const char* kBandFills[] = {"#e8f0fe", "#fef3e2", "#e6f4ea", "#fce8e6", "#f3e8fd", "#e4f7fb"};

} // namespace

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default:
            // Control characters are not allowed in XML 1.0.
            if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') out += ' ';
            else out += c;
        }
    }
    return out;
}

std::string megabytes(double bytes, int decimals) { return format_mb(bytes, decimals); }

std::string page(const std::string& title, const std::string& body) {
    return fmt::format("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n{}\n</body>\n</html>\n",
                       escape(title), kStyle, body);
}

std::string table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows,
                  bool raw_cells) {
    auto is_numeric = [](const std::string& cell) {
        return !cell.empty() && (std::isdigit(static_cast<unsigned char>(cell[0])) || cell[0] == '-' || cell[0] == '+') &&
               cell.find(' ') == std::string::npos;
    };
    std::string out = "<table>\n<tr>";
    for (const auto& header : headers) out += "<th>" + escape(header) + "</th>";
    out += "</tr>\n";
    for (const auto& row : rows) {
        out += "<tr>";
        for (const auto& cell : row)
            out += fmt::format("<td{}>{}</td>", is_numeric(cell) ? " class=\"num\"" : "", raw_cells ? cell : escape(cell));
        out += "</tr>\n";
    }
    return out + "</table>\n";
}

std::string line_chart(const LineChart& chart) {
    const double left = 64, right = 16, top = 48, bottom = 46;
    const double w = chart.width, h = chart.height;
    const double plot_w = w - left - right, plot_h = h - top - bottom;
    double x_max = 0, y_max = 0;
    for (const auto& s : chart.series) {
        for (double x : s.x) x_max = std::max(x_max, x);
        for (double y : s.y) y_max = std::max(y_max, y * chart.y_scale);
    }
    for (const auto& band : chart.bands) x_max = std::max(x_max, band.end);
    if (x_max <= 0) x_max = 1;
    if (y_max <= 0) y_max = 1;
    const double x_step = nice_step(x_max, 8), y_step = nice_step(y_max, 5);
    x_max = std::ceil(x_max / x_step - 1e-9) * x_step;
    y_max = std::ceil(y_max / y_step - 1e-9) * y_step;
    auto px = [&](double x) { return left + x / x_max * plot_w; };
    auto py = [&](double y) { return top + plot_h - y / y_max * plot_h; };

    std::string svg = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" "
                                  "role=\"img\" aria-label=\"{2}\">\n<title>{2}</title>\n",
                                  chart.width, chart.height, escape(chart.title));
    svg += fmt::format("<text x=\"{}\" y=\"20\" font-size=\"15\" font-weight=\"600\">{}</text>\n", left, escape(chart.title));
    for (std::size_t i = 0; i < chart.bands.size(); ++i) {
        const auto& band = chart.bands[i];
        const double x0 = px(band.start), x1 = std::max(px(band.end), x0 + 1);
        svg += fmt::format("<g><title>{} ({:.2f}–{:.2f} s)</title><rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" "
                           "fill=\"{}\" stroke=\"#b6c2cf\" stroke-width=\"0.5\"/>",
                           escape(band.label), band.start, band.end, x0, top, x1 - x0, plot_h,
                           kBandFills[i % std::size(kBandFills)]);
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" fill=\"#444\" transform=\"rotate(-90 {:.1f} {})\" "
                           "text-anchor=\"end\">{}</text></g>\n",
                           x0 + 11, top + 4, x0 + 11, top + 4, escape(band.label));
    }
    for (double y = 0; y <= y_max + 1e-9; y += y_step) {
        svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e1e4e8\"/>"
                           "<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n",
                           left, left + plot_w, py(y), py(y), left - 6, py(y) + 4, number(y));
    }
    for (double x = 0; x <= x_max + 1e-9; x += x_step)
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n", px(x),
                           top + plot_h + 16, number(x));
    svg += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#57606a\"/>"
                       "<line x1=\"{0}\" x2=\"{3}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#57606a\"/>\n",
                       left, top, top + plot_h, left + plot_w);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n", left + plot_w / 2,
                       h - 8, escape(chart.x_label));
    svg += fmt::format("<text x=\"14\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1f})\">{}</text>\n",
                       top + plot_h / 2, top + plot_h / 2, escape(chart.y_label));
    double legend_x = left;
    for (const auto& s : chart.series) {
        svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{1:.1f}\" y1=\"34\" y2=\"34\" stroke=\"{2}\" stroke-width=\"2.5\"{3}/>"
                           "<text x=\"{4:.1f}\" y=\"38\" font-size=\"12\">{5}</text>\n",
                           legend_x, legend_x + 20, escape(s.color), s.dashed ? " stroke-dasharray=\"5 3\"" : "",
                           legend_x + 24, escape(s.name));
        legend_x += 40 + 7.0 * static_cast<double>(s.name.size());
    }
    for (const auto& s : chart.series) {
        if (s.x.empty()) continue;
        std::string points;
        const std::size_t n = std::min(s.x.size(), s.y.size());
        for (std::size_t i = 0; i < n; ++i) {
            if (s.step && i > 0) points += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i - 1] * chart.y_scale));
            points += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i] * chart.y_scale));
        }
        svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"{} points=\"{}\"><title>{}</title></polyline>\n",
                           escape(s.color), s.dashed ? " stroke-dasharray=\"5 3\"" : "", points, escape(s.name));
    }
    return svg + "</svg>\n";
}

std::string bar_chart(const BarChart& chart) {
    const double left = 64, right = 16, top = 44, bottom = 64;
    const double w = chart.width, h = chart.height;
    const double plot_w = w - left - right, plot_h = h - top - bottom;
    double y_max = 0;
    for (const auto& group : chart.groups)
        for (const auto& bar : group.bars) {
            if (bar.missing) continue;
            y_max = std::max(y_max, bar.value);
            if (!std::isnan(bar.high)) y_max = std::max(y_max, bar.high);
        }
    if (y_max <= 0) y_max = 1;
    const double y_step = nice_step(y_max * 1.08, 5);
    y_max = std::ceil(y_max * 1.08 / y_step - 1e-9) * y_step;
    auto py = [&](double y) { return top + plot_h - y / y_max * plot_h; };
    std::string svg = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" "
                                  "role=\"img\" aria-label=\"{2}\">\n<title>{2}</title>\n",
                                  chart.width, chart.height, escape(chart.title));
    svg += fmt::format("<text x=\"{}\" y=\"20\" font-size=\"15\" font-weight=\"600\">{}</text>\n", left, escape(chart.title));
    for (double y = 0; y <= y_max + 1e-9; y += y_step)
        svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e1e4e8\"/>"
                           "<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n",
                           left, left + plot_w, py(y), py(y), left - 6, py(y) + 4, number(y));
    svg += fmt::format("<text x=\"14\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1f})\">{}</text>\n",
                       top + plot_h / 2, top + plot_h / 2, escape(chart.y_label));
    double legend_x = left;
    for (std::size_t i = 0; i < chart.series.size(); ++i) {
        const std::string color = i < chart.colors.size() ? chart.colors[i] : "#888";
        svg += fmt::format("<rect x=\"{:.1f}\" y=\"28\" width=\"12\" height=\"12\" fill=\"{}\"/>"
                           "<text x=\"{:.1f}\" y=\"38\" font-size=\"12\">{}</text>\n",
                           legend_x, escape(color), legend_x + 16, escape(chart.series[i]));
        legend_x += 40 + 7.0 * static_cast<double>(chart.series[i].size());
    }
    const double group_w = chart.groups.empty() ? plot_w : plot_w / static_cast<double>(chart.groups.size());
    for (std::size_t g = 0; g < chart.groups.size(); ++g) {
        const auto& group = chart.groups[g];
        const double gx = left + group_w * static_cast<double>(g);
        const std::size_t n = std::max<std::size_t>(group.bars.size(), 1);
        const double bar_w = std::min(60.0, group_w * 0.8 / static_cast<double>(n));
        const double start = gx + (group_w - bar_w * static_cast<double>(n)) / 2;
        for (std::size_t b = 0; b < group.bars.size(); ++b) {
            const auto& bar = group.bars[b];
            const double x = start + bar_w * static_cast<double>(b);
            const std::string color = b < chart.colors.size() ? chart.colors[b] : "#888";
            const std::string name = b < chart.series.size() ? chart.series[b] : "";
            if (bar.missing) {
                svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#888\">n/a</text>\n",
                                   x + bar_w / 2, py(0) - 4);
                continue;
            }
            svg += fmt::format("<g><title>{}: {} {}: {}</title><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/></g>\n",
                               escape(group.label), escape(name), number(bar.value), escape(chart.y_label), x + 1,
                               py(bar.value), bar_w - 2, py(0) - py(bar.value), escape(color));
            if (!std::isnan(bar.low) && !std::isnan(bar.high))
                svg += fmt::format("<path d=\"M{0:.1f} {1:.1f}V{2:.1f}M{3:.1f} {1:.1f}H{4:.1f}M{3:.1f} {2:.1f}H{4:.1f}\" "
                                   "stroke=\"#24292f\" stroke-width=\"1\" fill=\"none\"/>\n",
                                   x + bar_w / 2, py(bar.low), py(bar.high), x + bar_w / 2 - 4, x + bar_w / 2 + 4);
            const double label_y = py(std::isnan(bar.high) ? bar.value : std::max(bar.high, bar.value)) - 4;
            svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"middle\">{}</text>\n",
                               x + bar_w / 2, label_y, escape(bar.note.empty() ? number(bar.value) : bar.note));
        }
        // Group label, split in two lines at the first space when long.
        std::string first = group.label, second;
        if (first.size() > 18) {
            const auto space = first.find(' ', 6);
            if (space != std::string::npos) {
                second = first.substr(space + 1);
                first = first.substr(0, space);
            }
        }
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
                           gx + group_w / 2, top + plot_h + 16, escape(first));
        if (!second.empty())
            svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
                               gx + group_w / 2, top + plot_h + 30, escape(second));
    }
    svg += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#57606a\"/>\n", left, left + plot_w,
                       py(0));
    return svg + "</svg>\n";
}

} // namespace memopt::reports::html
