#pragma once
// One ELF file opened with elfutils' libdwfl, for report-time symbolization: function names,
// source file:line and inlined frames from its DWARF, which libdwfl finds in the file itself,
// through its .gnu_debuglink, or by build-id under DEBUGDIR/.build-id/xx/yyyy.debug; without
// DWARF, the ELF symbol tables (.symtab, else .dynsym) still give function names.
#include <cstdint>
#include <elfutils/libdwfl.h>
#include <memory>
#include <string>
#include <vector>

namespace memopt::reports {

struct SourceFrame {
    std::string function; // demangled; empty when unknown
    std::string file;     // base name of the source file; empty when unknown
    int line = 0;         // 0 when unknown
};

// Where libdwfl looks for separate debug info (dwfl_standard_find_debuginfo's path): beside
// the file, in its .debug/ directory, in each directory of MEMOPT_DEBUG_DIRS (colon
// separated, laid out like /usr/lib/debug), then in /usr/lib/debug.
std::string debuginfo_search_path();

class DwarfFile {
  public:
    // Opens `path` if it is a regular file (a trace names arbitrary paths: a fifo must not
    // block). Never throws: a missing or non-ELF file is simply not opened().
    DwarfFile(const std::string& path, const std::string& debuginfo_path);
    ~DwarfFile();
    DwarfFile(const DwarfFile&) = delete;
    DwarfFile& operator=(const DwarfFile&) = delete;

    bool opened() const { return module_ != nullptr; }
    // Raw bytes of the file's GNU build-id; empty when it has none.
    const std::string& build_id() const { return build_id_; }

    // What is at `address` (a link-time address of the file: ip minus the module's load
    // bias), innermost first: the inlined functions, then the function that contains them,
    // each with its own source line. Empty when nothing is known.
    std::vector<SourceFrame> frames_at(std::uint64_t address) const;

  private:
    struct Symbol {
        std::uint64_t start; // libdwfl address
        std::uint64_t size;
        int rank; // which of several symbols at one address names it: global, weak, local
        const char* name; // mangled, owned by libdwfl
    };
    std::string symbol_at(std::uint64_t address) const;
    void load_symbols() const;

    std::string debuginfo_path_;
    char* debuginfo_path_pointer_ = nullptr; // libdwfl keeps a pointer to this pointer...
    Dwfl_Callbacks callbacks_{};             // ...and to these, for the session's lifetime
    Dwfl* dwfl_ = nullptr;
    Dwfl_Module* module_ = nullptr;
    std::uint64_t bias_ = 0; // libdwfl's address of the file's link-time address 0
    std::string build_id_;
    // The function symbols sorted by address, read on first use: libdwfl's own lookup
    // (dwfl_module_addrinfo) scans the whole table for each address.
    mutable std::vector<Symbol> symbols_;
    mutable bool symbols_loaded_ = false;
};

// The DwarfFile for `path`, opened once per thread: one report names the same modules in its
// summary, its flame graph and its exports, and opening a file with compressed DWARF (libc6-dbg)
// costs a tenth of a second. A file replaced since (other inode, size or mtime) is opened again;
// separate debug files added or removed later are not noticed by a file already open.
std::shared_ptr<const DwarfFile> open_dwarf_file(const std::string& path, const std::string& debuginfo_path);

} // namespace memopt::reports
