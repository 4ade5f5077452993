#pragma once
// Large anonymous mappings live at the heap peak, and the note that explains them.
//
// Why: the heap counts requested bytes, RSS only the pages a program touched. Libraries
// reserve big mappings they may never fill: OpenBLAS maps a 128 MiB work buffer for each
// thread that runs BLAS (one at numpy import), so `import numpy` alone reports ~140 MiB of
// peak heap against ~40 MiB of RSS. The preload library records a stack for every anonymous
// mapping of kLargeMappingBytes or more, even with stacks off, so the report can say who
// reserved the memory instead of leaving a 3x gap between heap and RSS unexplained.
#include "profiler/trace/reader.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace memopt::reports {

class StackNamer; // symbolizer.h

inline constexpr std::uint64_t kLargeMappingBytes = 8u << 20; // keep in step with profiler/preload/tracer.cpp

class LargeMappings {
  public:
    void on_map(std::uint64_t address, std::uint64_t length, std::uint64_t stack);
    void on_unmap(std::uint64_t address, std::uint64_t length);
    void clear();
    // Called when the heap reaches a new peak: remembers the mappings live now.
    void on_new_peak();

    // The note for the report, when large mappings were live at the peak and the peak heap
    // exceeds the peak RSS (so not all of it was touched); nullopt otherwise. `namer` is the
    // summary's own, so each module file is opened once per report.
    std::optional<std::string> peak_note(StackNamer& namer, std::uint64_t peak_heap_bytes,
                                         std::uint64_t peak_rss_bytes) const;

  private:
    struct Mapping {
        std::uint64_t length;
        std::uint64_t stack;
    };
    std::map<std::uint64_t, Mapping> live_; // start address -> mapping
    std::map<std::uint64_t, Mapping> at_peak_;
    std::uint64_t version_ = 0;
    std::uint64_t peak_version_ = 0;
};

} // namespace memopt::reports
