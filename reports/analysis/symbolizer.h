#pragma once
// Turns recorded instruction pointers into "function (library)" names at report time, from
// the module map in the trace and the ELF symbol tables (.symtab, else .dynsym) of the files.
#include "profiler/trace/reader.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace memopt::reports {

struct ElfSymbol {
    std::uint64_t start;
    std::uint64_t size;
    std::string name; // demangled
};

// Function symbols of one ELF file (.symtab and .dynsym), sorted by address. Empty when the
// file is missing or not ELF: reports then show "library+0xOFFSET".
std::vector<ElfSymbol> read_elf_function_symbols(const std::string& path);

class Symbolizer {
  public:
    explicit Symbolizer(const std::vector<trace::Module>& modules);
    ~Symbolizer();

    // `return_address`: the ip came from a stack walk (not the leaf), so look up ip - 1.
    std::string describe(std::uint64_t ip, bool return_address);
    // True for frames inside memopt's own preload library (hidden from reports).
    bool is_tracer_frame(std::uint64_t ip) const;

  private:
    struct LoadedModule {
        std::uint64_t base;
        std::string path;
        std::string short_name;
        bool tracer;
    };
    const LoadedModule* module_for(std::uint64_t ip) const;
    const std::vector<ElfSymbol>& symbols_of(const std::string& path);

    std::map<std::uint64_t, std::pair<std::uint64_t, std::size_t>> ranges_; // start -> (end, module)
    std::vector<LoadedModule> modules_;
    std::unordered_map<std::string, std::vector<ElfSymbol>> symbols_;
};

} // namespace memopt::reports
