#pragma once
// Turns recorded instruction pointers into "function (library)" names at report time, from
// the module map in the trace and the ELF symbol tables (.symtab, else .dynsym) of the files.
// Each process image (exec starts a new one) has its own module map: an ip is looked up in
// the map of the image its frame was recorded in.
#include "profiler/trace/reader.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
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
    std::string describe(std::uint64_t ip, bool return_address, std::uint32_t image = 0);
    // True for frames inside memopt's own preload library (hidden from reports).
    bool is_tracer_frame(std::uint64_t ip, std::uint32_t image = 0) const;

  private:
    struct LoadedModule {
        std::uint64_t base;
        std::string path;
        std::string short_name;
        bool tracer;
    };
    using Ranges = std::map<std::uint64_t, std::pair<std::uint64_t, std::size_t>>; // start -> (end, module)
    const LoadedModule* module_for(std::uint64_t ip, std::uint32_t image) const;
    const std::vector<ElfSymbol>& symbols_of(const std::string& path);

    std::vector<Ranges> ranges_; // per process image
    std::vector<LoadedModule> modules_;
    std::unordered_map<std::string, std::vector<ElfSymbol>> symbols_;
};

// Names the frames of a recorded stack: `leaf` is a frame id of TraceMetadata::frames (the
// reader's ids, unique across images); each frame is named with its own image's modules.
// The tracer's own innermost frames are left out; a frame missing from the table ends the
// stack with "?".
class StackNamer {
  public:
    StackNamer(const trace::TraceMetadata& meta, bool resolve_symbols, std::size_t max_depth = 256);

    std::vector<std::string> innermost_first(std::uint64_t leaf);

  private:
    const std::string& name(const trace::Frame& frame, bool return_address);

    const trace::TraceMetadata& meta_;
    bool resolve_symbols_;
    std::size_t max_depth_;
    Symbolizer symbolizer_;
    std::map<std::tuple<std::uint32_t, std::uint64_t, bool>, std::string> names_;
};

} // namespace memopt::reports
