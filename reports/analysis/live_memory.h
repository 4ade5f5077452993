#pragma once
// What a process holds right now, event by event: its live heap blocks and its anonymous
// mappings. One place for the bookkeeping the live status (`record --live`) and the phase
// windows (`report --phase`, what was live when a phase began) both need.
#include "profiler/trace/reader.h"
#include "reports/analysis/live_blocks.h"
#include "reports/analysis/mappings.h"

#include <cstdint>

namespace memopt::reports {

class LiveMemory {
  public:
    // Takes an allocation, free, mmap, munmap or mremap into account; other events are not
    // its business (the caller handles them), and a new image starts from clear().
    void consume(const trace::Event& event) {
        using trace::EventType;
        std::uint64_t size = 0;
        switch (event.type) {
        case EventType::kAllocation: heap_ += event.size - blocks_.insert(event.address, event.size); break;
        case EventType::kFree:
            if (blocks_.erase(event.address, size)) heap_ -= size;
            break;
        case EventType::kMmap: mappings_.add(event.address, event.size); break;
        case EventType::kMunmap: mappings_.remove(event.address, event.size); break;
        case EventType::kMremap:
            if (mappings_.remove(event.address, event.size) > 0) mappings_.add(event.new_address, event.new_size);
            break;
        default: break;
        }
    }
    void clear() {
        blocks_.clear();
        mappings_.clear();
        heap_ = 0;
    }
    // Heap blocks plus anonymous mappings, in bytes.
    std::uint64_t bytes() const { return heap_ + mappings_.bytes(); }

  private:
    LiveBlocks blocks_;
    Mappings mappings_;
    std::uint64_t heap_ = 0;
};

} // namespace memopt::reports
