#pragma once
// Turns recorded instruction pointers into frame names at report time, from the module map
// in the trace and the files it names, read with libdwfl (dwarf_resolver.h): function,
// source file:line and inlined frames where there is DWARF, the ELF symbol otherwise.
// Each process image (exec starts a new one) has its own module map: an ip is looked up in
// the map of the image its frame was recorded in.
//
// A module whose build-id was recorded (format.h: kBuildId) is checked against the file now
// at its path: when they differ, the file changed since the recording, so its frames stay
// "module+0xOFFSET" and one warning per file says why.
#include "profiler/trace/reader.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace memopt::reports {

class DwarfFile;       // dwarf_resolver.h
struct SourceFrame;

// The one frame label format of every report and export:
//   "function file.cpp:LINE (module)"  with source information
//   "function (module)"                with a symbol only
//   "module+0xOFFSET"                  with neither (OFFSET: ip minus the module's load bias)
std::string frame_label(const SourceFrame& frame, std::string_view module, std::uint64_t offset);

class Symbolizer {
  public:
    explicit Symbolizer(const std::vector<trace::Module>& modules);
    ~Symbolizer();

    // The frames at one recorded ip, innermost first: an ip inside inlined code gives one
    // frame per inlined function, then the function they were inlined into. Never empty.
    // `return_address`: the ip came from a stack walk (not the leaf), so look up ip - 1.
    std::vector<std::string> describe(std::uint64_t ip, bool return_address, std::uint32_t image = 0);
    // True for frames inside memopt's own preload library (hidden from reports).
    bool is_tracer_frame(std::uint64_t ip, std::uint32_t image = 0) const;
    // One sentence per module file that changed on disk since the recording (seen so far).
    const std::vector<std::string>& warnings() const { return warnings_; }

  private:
    struct LoadedModule {
        std::uint64_t base;
        std::string path;
        std::string short_name;
        std::string build_id; // as recorded; empty: unknown
        bool tracer;
    };
    using Ranges = std::map<std::uint64_t, std::pair<std::uint64_t, std::size_t>>; // start -> (end, module)
    const LoadedModule* module_for(std::uint64_t ip, std::uint32_t image) const;
    // The opened file for a module, nullptr when it is missing or is not the recorded one.
    const DwarfFile* file_for(const LoadedModule& module);

    std::string debuginfo_path_;
    std::vector<Ranges> ranges_; // per process image
    std::vector<LoadedModule> modules_;
    // (path, recorded build-id) -> the file, nullptr when it is not the recorded one
    std::map<std::pair<std::string, std::string>, std::shared_ptr<const DwarfFile>> files_;
    std::vector<std::string> warnings_;
};

// Names the frames of a recorded stack: `leaf` is a frame id of TraceMetadata::frames (the
// reader's ids, unique across images); each frame is named with its own image's modules.
// The tracer's own innermost frames are left out; a frame missing from the table ends the
// stack with "?". At most `max_depth` names (inlined frames count).
class StackNamer {
  public:
    StackNamer(const trace::TraceMetadata& meta, bool resolve_symbols, std::size_t max_depth = 256);

    std::vector<std::string> innermost_first(std::uint64_t leaf);
    const std::vector<std::string>& warnings() const { return symbolizer_.warnings(); }

  private:
    const std::vector<std::string>& names(const trace::Frame& frame, bool return_address);

    const trace::TraceMetadata& meta_;
    bool resolve_symbols_;
    std::size_t max_depth_;
    Symbolizer symbolizer_;
    std::map<std::tuple<std::uint32_t, std::uint64_t, bool>, std::vector<std::string>> names_;
};

} // namespace memopt::reports
