#include "reports/analysis/symbolizer.h"

#include "reports/analysis/stacks.h"

#include <algorithm>
#include <cstring>
#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memopt::reports {
namespace {

std::string demangle(const char* name) {
    int status = 0;
    char* text = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    if (status != 0 || !text) return name;
    std::string result(text);
    std::free(text);
    return result;
}

class MappedFile {
  public:
    explicit MappedFile(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK); // a fifo named in a trace must not block
        if (fd < 0) return;
        struct stat info {};
        if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
            void* data = ::mmap(nullptr, static_cast<std::size_t>(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
            if (data != MAP_FAILED) {
                data_ = static_cast<const unsigned char*>(data);
                size_ = static_cast<std::size_t>(info.st_size);
            }
        }
        ::close(fd);
    }
    ~MappedFile() {
        if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    // A bounds-checked view of `count` objects of T at `offset`; nullptr when out of range.
    template <typename T>
    const T* at(std::uint64_t offset, std::uint64_t count = 1) const {
        if (!data_ || offset > size_ || count > (size_ - offset) / sizeof(T)) return nullptr;
        return reinterpret_cast<const T*>(data_ + offset);
    }

  private:
    const unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
};

void collect_symbols(const MappedFile& file, const Elf64_Shdr& table, const Elf64_Shdr& strings,
                     std::vector<ElfSymbol>& out) {
    if (table.sh_entsize != sizeof(Elf64_Sym)) return;
    const std::uint64_t count = table.sh_size / sizeof(Elf64_Sym);
    const auto* symbols = file.at<Elf64_Sym>(table.sh_offset, count);
    const auto* names = file.at<char>(strings.sh_offset, strings.sh_size);
    if (!symbols || !names || strings.sh_size == 0) return;
    for (std::uint64_t i = 0; i < count; ++i) {
        const Elf64_Sym& symbol = symbols[i];
        if (ELF64_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_value == 0) continue;
        if (symbol.st_name >= strings.sh_size) continue;
        const char* name = names + symbol.st_name;
        const std::size_t length = ::strnlen(name, strings.sh_size - symbol.st_name);
        if (length == strings.sh_size - symbol.st_name) continue; // not terminated
        out.push_back({symbol.st_value, symbol.st_size, demangle(name)});
    }
}

} // namespace

std::vector<ElfSymbol> read_elf_function_symbols(const std::string& path) {
    std::vector<ElfSymbol> result;
    MappedFile file(path);
    const auto* header = file.at<Elf64_Ehdr>(0);
    if (!header || std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 ||
        header->e_ident[EI_CLASS] != ELFCLASS64 || header->e_shentsize != sizeof(Elf64_Shdr))
        return result;
    const auto* sections = file.at<Elf64_Shdr>(header->e_shoff, header->e_shnum);
    if (!sections) return result;
    for (unsigned i = 0; i < header->e_shnum; ++i) {
        const Elf64_Shdr& section = sections[i];
        if ((section.sh_type == SHT_SYMTAB || section.sh_type == SHT_DYNSYM) && section.sh_link < header->e_shnum)
            collect_symbols(file, section, sections[section.sh_link], result);
    }
    std::sort(result.begin(), result.end(), [](const ElfSymbol& a, const ElfSymbol& b) { return a.start < b.start; });
    return result;
}

Symbolizer::Symbolizer(const std::vector<trace::Module>& modules) {
    for (const auto& module : modules) {
        const std::size_t index = modules_.size();
        const std::string short_name = module.path.substr(module.path.find_last_of('/') + 1);
        modules_.push_back({module.base, module.path, short_name,
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

const std::vector<ElfSymbol>& Symbolizer::symbols_of(const std::string& path) {
    auto it = symbols_.find(path);
    if (it == symbols_.end()) it = symbols_.emplace(path, read_elf_function_symbols(path)).first;
    return it->second;
}

bool Symbolizer::is_tracer_frame(std::uint64_t ip, std::uint32_t image) const {
    const LoadedModule* module = module_for(ip, image);
    return module && module->tracer;
}

std::string Symbolizer::describe(std::uint64_t ip, bool return_address, std::uint32_t image) {
    const std::uint64_t lookup = return_address && ip > 0 ? ip - 1 : ip;
    const LoadedModule* module = module_for(lookup, image);
    if (!module) return fmt::format("0x{:x}", ip);
    const std::uint64_t offset = lookup - module->base;
    const auto& symbols = symbols_of(module->path);
    auto it = std::upper_bound(symbols.begin(), symbols.end(), offset,
                               [](std::uint64_t value, const ElfSymbol& symbol) { return value < symbol.start; });
    if (it != symbols.begin()) {
        --it;
        if (offset < it->start + std::max<std::uint64_t>(it->size, 1))
            return fmt::format("{} ({})", it->name, module->short_name);
    }
    return fmt::format("{}+0x{:x}", module->short_name, offset);
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
            stack.push_back(interpreter_frame_label(meta_, frame));
            innermost = false;
        } else if (!(innermost && symbolizer_.is_tracer_frame(frame.ip, frame.image))) {
            stack.push_back(name(frame, !stack.empty()));
            innermost = false;
        }
        node = frame.parent;
    }
    return stack;
}

const std::string& StackNamer::name(const trace::Frame& frame, bool return_address) {
    const auto key = std::make_tuple(frame.image, frame.ip, return_address);
    auto it = names_.find(key);
    if (it != names_.end()) return it->second;
    std::string text = resolve_symbols_ ? symbolizer_.describe(frame.ip, return_address, frame.image)
                                        : fmt::format("0x{:x}", frame.ip);
    return names_.emplace(key, std::move(text)).first->second;
}

} // namespace memopt::reports
