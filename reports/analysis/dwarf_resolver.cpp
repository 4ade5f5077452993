#include "reports/analysis/dwarf_resolver.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <tuple>
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

std::string base_name(const char* path) {
    if (!path) return {};
    const std::string text(path);
    return text.substr(text.find_last_of('/') + 1);
}

// A regular file opened without blocking, else -1.
int open_regular_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_size == 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// The name a function DIE (or an inlined instance, through its abstract origin) is known by:
// a C++ linkage name demangled, which says which overload, else its plain name. (A C
// function's linkage name is an assembler label such as glibc's __GI_memcpy or
// dlopen@GLIBC_2.2.5: not what its source calls it.)
std::string function_name(Dwarf_Die* die) {
    Dwarf_Attribute attribute;
    for (const int name : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name})
        if (dwarf_attr_integrate(die, name, &attribute))
            if (const char* text = dwarf_formstring(&attribute); text && std::strncmp(text, "_Z", 2) == 0)
                return demangle(text);
    if (dwarf_attr_integrate(die, DW_AT_name, &attribute))
        if (const char* text = dwarf_formstring(&attribute)) return text;
    return {};
}

// Where an inlined instance was inlined: a line of the function it was inlined into.
SourceFrame call_site(Dwarf_Die* cu, Dwarf_Die* inlined) {
    SourceFrame site;
    Dwarf_Attribute attribute;
    Dwarf_Word value = 0;
    if (dwarf_attr(inlined, DW_AT_call_line, &attribute) && dwarf_formudata(&attribute, &value) == 0)
        site.line = static_cast<int>(value);
    Dwarf_Files* files = nullptr;
    std::size_t count = 0;
    if (dwarf_attr(inlined, DW_AT_call_file, &attribute) && dwarf_formudata(&attribute, &value) == 0 &&
        dwarf_getsrcfiles(cu, &files, &count) == 0 && value < count)
        site.file = base_name(dwarf_filesrc(files, value, nullptr, nullptr));
    return site;
}

SourceFrame line_at(Dwfl_Module* module, Dwarf_Addr address) {
    SourceFrame here;
    if (Dwfl_Line* line = dwfl_module_getsrc(module, address))
        here.file = base_name(dwfl_lineinfo(line, nullptr, &here.line, nullptr, nullptr, nullptr));
    if (here.file.empty()) here.line = 0;
    return here;
}

} // namespace

std::string debuginfo_search_path() {
    std::string path = ":.debug";
    if (const char* extra = std::getenv("MEMOPT_DEBUG_DIRS"); extra && *extra) path += std::string(":") + extra;
    return path + ":/usr/lib/debug";
}

DwarfFile::DwarfFile(const std::string& path, const std::string& debuginfo_path) : debuginfo_path_(debuginfo_path) {
    const int fd = open_regular_file(path);
    if (fd < 0) return;
    debuginfo_path_pointer_ = debuginfo_path_.data();
    callbacks_.find_elf = dwfl_build_id_find_elf;
    callbacks_.find_debuginfo = dwfl_standard_find_debuginfo;
    callbacks_.debuginfo_path = &debuginfo_path_pointer_;
    dwfl_ = dwfl_begin(&callbacks_);
    if (!dwfl_) {
        ::close(fd);
        return;
    }
    // Placed at 0: libdwfl addresses are then the file's own, plus the bias read back below
    // (non-zero only for a prelinked object).
    dwfl_report_begin(dwfl_);
    module_ = dwfl_report_elf(dwfl_, base_name(path.c_str()).c_str(), path.c_str(), fd, 0, false);
    dwfl_report_end(dwfl_, nullptr, nullptr);
    if (!module_) {
        ::close(fd); // consumed only on success
        return;
    }
    Dwarf_Addr bias = 0;
    if (!dwfl_module_getelf(module_, &bias)) {
        module_ = nullptr;
        return;
    }
    bias_ = bias;
    const unsigned char* bits = nullptr;
    GElf_Addr note_address = 0;
    const int length = dwfl_module_build_id(module_, &bits, &note_address);
    if (length > 0) build_id_.assign(reinterpret_cast<const char*>(bits), static_cast<std::size_t>(length));
}

DwarfFile::~DwarfFile() {
    if (dwfl_) dwfl_end(dwfl_);
}

void DwarfFile::load_symbols() const {
    symbols_loaded_ = true;
    const int count = dwfl_module_getsymtab(module_);
    for (int i = 1; i < count; ++i) {
        GElf_Sym symbol;
        GElf_Addr address = 0;
        GElf_Word section = 0;
        const char* name = dwfl_module_getsym_info(module_, i, &symbol, &address, &section, nullptr, nullptr);
        const int type = GELF_ST_TYPE(symbol.st_info);
        if (!name || !*name || (type != STT_FUNC && type != STT_GNU_IFUNC) || section == SHN_UNDEF || address == 0)
            continue;
        const int binding = GELF_ST_BIND(symbol.st_info);
        const int rank = binding == STB_GLOBAL ? 0 : binding == STB_WEAK ? 1 : 2;
        symbols_.push_back({address, symbol.st_size, rank, name});
    }
    // At one address (aliases such as __GI_memcpy and memcpy) the first after sorting wins:
    // a global symbol, then the shorter name.
    std::sort(symbols_.begin(), symbols_.end(), [](const Symbol& a, const Symbol& b) {
        if (a.start != b.start) return a.start < b.start;
        if (a.rank != b.rank) return a.rank < b.rank;
        return std::strlen(a.name) < std::strlen(b.name);
    });
    symbols_.erase(std::unique(symbols_.begin(), symbols_.end(),
                               [](const Symbol& a, const Symbol& b) { return a.start == b.start; }),
                   symbols_.end());
}

std::string DwarfFile::symbol_at(std::uint64_t address) const {
    if (!symbols_loaded_) load_symbols();
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                               [](std::uint64_t value, const Symbol& symbol) { return value < symbol.start; });
    if (it == symbols_.begin()) return {};
    --it;
    if (address - it->start >= std::max<std::uint64_t>(it->size, 1)) return {};
    // "dlopen@GLIBC_2.2.5" in a .symtab is dlopen, as its .dynsym entry says.
    return demangle(std::string(it->name, ::strcspn(it->name, "@")).c_str());
}

std::vector<SourceFrame> DwarfFile::frames_at(std::uint64_t file_address) const {
    std::vector<SourceFrame> frames;
    if (!module_) return frames;
    const Dwarf_Addr address = file_address + bias_;
    SourceFrame location = line_at(module_, address);
    bool reached_function = false;
    Dwarf_Addr cu_bias = 0;
    if (Dwarf_Die* cu = dwfl_module_addrdie(module_, address, &cu_bias)) {
        Dwarf_Die* scopes = nullptr;
        const int count = dwarf_getscopes(cu, address - cu_bias, &scopes);
        for (int i = 0; i < count && !reached_function; ++i) {
            const int tag = dwarf_tag(&scopes[i]);
            if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
            SourceFrame frame = location;
            frame.function = function_name(&scopes[i]);
            frames.push_back(std::move(frame));
            if (tag == DW_TAG_subprogram) reached_function = true;
            else location = call_site(cu, &scopes[i]); // the next frame out is where it was inlined
        }
        std::free(scopes);
    }
    // No DWARF for this address (or it ends in an inlined frame): the ELF symbol names the
    // function that contains it.
    if (!reached_function) {
        location.function = symbol_at(address);
        if (!location.function.empty() || location.line != 0) frames.push_back(std::move(location));
    } else if (frames.back().function.empty()) {
        frames.back().function = symbol_at(address);
    }
    return frames;
}

std::shared_ptr<const DwarfFile> open_dwarf_file(const std::string& path, const std::string& debuginfo_path) {
    struct Cached {
        std::tuple<dev_t, ino_t, off_t, std::int64_t> identity;
        std::shared_ptr<const DwarfFile> file;
    };
    thread_local std::map<std::pair<std::string, std::string>, Cached> cache;
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return std::make_shared<const DwarfFile>(path, debuginfo_path); // not opened
    const auto identity = std::make_tuple(info.st_dev, info.st_ino, info.st_size,
                                          std::int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec);
    Cached& entry = cache[{path, debuginfo_path}];
    if (!entry.file || entry.identity != identity) entry = {identity, std::make_shared<const DwarfFile>(path, debuginfo_path)};
    return entry.file;
}

} // namespace memopt::reports
