#include "reports/analysis/symbolizer.h"

#include "reports/analysis/dwarf_resolver.h"
#include "reports/analysis/stacks.h"

#include <fmt/format.h>

namespace memopt::reports {
namespace {

std::string hex(const std::string& bytes) {
    std::string text;
    for (const char byte : bytes) text += fmt::format("{:02x}", static_cast<unsigned char>(byte));
    return text;
}

} // namespace

std::string frame_label(const SourceFrame& frame, std::string_view module, std::uint64_t offset) {
    const std::string function = frame.function.empty() ? fmt::format("{}+0x{:x}", module, offset) : frame.function;
    if (frame.line != 0) {
        if (frame.function.empty()) return fmt::format("{} {}:{}", function, frame.file, frame.line);
        return fmt::format("{} {}:{} ({})", function, frame.file, frame.line, module);
    }
    if (frame.function.empty()) return function;
    return fmt::format("{} ({})", function, module);
}

Symbolizer::Symbolizer(const std::vector<trace::Module>& modules) : debuginfo_path_(debuginfo_search_path()) {
    for (const auto& module : modules) {
        const std::size_t index = modules_.size();
        const std::string short_name = module.path.substr(module.path.find_last_of('/') + 1);
        modules_.push_back({module.base, module.path, short_name, module.build_id,
                            short_name.find("libmemopt_preload") != std::string::npos});
        if (module.image >= ranges_.size()) ranges_.resize(module.image + std::size_t{1});
        for (const auto& [vaddr, memsz] : module.segments)
            ranges_[module.image][module.base + vaddr] = {module.base + vaddr + memsz, index};
    }
}

Symbolizer::~Symbolizer() = default;

const Symbolizer::LoadedModule* Symbolizer::module_for(std::uint64_t ip, std::uint32_t image) const {
    if (image >= ranges_.size()) return nullptr;
    const Ranges& ranges = ranges_[image];
    auto it = ranges.upper_bound(ip);
    if (it == ranges.begin()) return nullptr;
    --it;
    if (ip >= it->second.first) return nullptr;
    return &modules_[it->second.second];
}

const DwarfFile* Symbolizer::file_for(const LoadedModule& module) {
    const auto key = std::make_pair(module.path, module.build_id);
    auto it = files_.find(key);
    if (it == files_.end()) {
        auto file = open_dwarf_file(module.path, debuginfo_path_);
        if (file->opened() && !module.build_id.empty() && file->build_id() != module.build_id) {
            warnings_.push_back(fmt::format(
                "{} changed on disk since the trace was recorded (build-id {} then, {} now): its frames are "
                "shown as {}+0xOFFSET, not with names from the new file",
                module.path, hex(module.build_id), file->build_id().empty() ? "none" : hex(file->build_id()),
                module.short_name));
            file.reset();
        }
        it = files_.emplace(key, std::move(file)).first;
    }
    return it->second && it->second->opened() ? it->second.get() : nullptr;
}

bool Symbolizer::is_tracer_frame(std::uint64_t ip, std::uint32_t image) const {
    const LoadedModule* module = module_for(ip, image);
    return module && module->tracer;
}

std::vector<std::string> Symbolizer::describe(std::uint64_t ip, bool return_address, std::uint32_t image) {
    const std::uint64_t lookup = return_address && ip > 0 ? ip - 1 : ip;
    const LoadedModule* module = module_for(lookup, image);
    if (!module) return {fmt::format("0x{:x}", ip)};
    const std::uint64_t offset = lookup - module->base;
    const DwarfFile* file = file_for(*module);
    std::vector<std::string> labels;
    if (file)
        for (const SourceFrame& frame : file->frames_at(offset)) labels.push_back(frame_label(frame, module->short_name, offset));
    if (labels.empty()) labels.push_back(frame_label({}, module->short_name, offset));
    return labels;
}

StackNamer::StackNamer(const trace::TraceMetadata& meta, bool resolve_symbols, std::size_t max_depth)
    : meta_(meta), resolve_symbols_(resolve_symbols), max_depth_(max_depth), symbolizer_(meta.modules) {}

std::vector<std::string> StackNamer::innermost_first(std::uint64_t leaf) {
    std::vector<std::string> stack;
    bool innermost = true;
    for (std::uint64_t node = leaf; node != 0 && stack.size() < max_depth_;) {
        auto it = meta_.frames.find(node);
        if (it == meta_.frames.end()) {
            stack.push_back("?");
            break;
        }
        const trace::Frame& frame = it->second;
        if (frame.kind != trace::FrameKind::kNative) { // Python, [truncated]: stacks.h names them
            if (stack.size() < max_depth_) stack.push_back(interpreter_frame_label(meta_, frame));
            innermost = false;
        } else if (!(innermost && symbolizer_.is_tracer_frame(frame.ip, frame.image))) {
            // Every frame but the recorded leaf (always inside the tracer) is a return address.
            for (const std::string& name : names(frame, node != leaf)) {
                if (stack.size() == max_depth_) break;
                stack.push_back(name);
            }
            innermost = false;
        }
        node = frame.parent;
    }
    return stack;
}

const std::vector<std::string>& StackNamer::names(const trace::Frame& frame, bool return_address) {
    const auto key = std::make_tuple(frame.image, frame.ip, return_address);
    auto it = names_.find(key);
    if (it != names_.end()) return it->second;
    std::vector<std::string> names = resolve_symbols_ ? symbolizer_.describe(frame.ip, return_address, frame.image)
                                                      : std::vector<std::string>{fmt::format("0x{:x}", frame.ip)};
    return names_.emplace(key, std::move(names)).first->second;
}

} // namespace memopt::reports
