#pragma once
// Address -> size map for live heap blocks: open addressing with linear probing and
// backward-shift deletion. Report speed is bounded by this map (one insert or erase per
// event), and std::unordered_map costs several times more per operation.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace memopt::reports {

class LiveBlocks {
  public:
    LiveBlocks() { slots_.resize(1024); }

    // Inserts or replaces; returns the size previously stored for `address` (0 if none).
    std::uint64_t insert(std::uint64_t address, std::uint64_t size) {
        if ((count_ + 1) * 4 > slots_.size() * 3) grow();
        std::size_t i = index_of(address);
        while (slots_[i].used) {
            if (slots_[i].address == address) {
                const std::uint64_t old = slots_[i].size;
                slots_[i].size = size;
                return old;
            }
            i = (i + 1) & (slots_.size() - 1);
        }
        slots_[i] = {address, size, true};
        ++count_;
        return 0;
    }

    // Removes `address`; returns true and its size when it was live.
    bool erase(std::uint64_t address, std::uint64_t& size) {
        std::size_t i = index_of(address);
        while (slots_[i].used) {
            if (slots_[i].address == address) {
                size = slots_[i].size;
                remove_at(i);
                return true;
            }
            i = (i + 1) & (slots_.size() - 1);
        }
        return false;
    }

    std::size_t size() const { return count_; }

    void clear() {
        slots_.assign(1024, Slot{});
        count_ = 0;
    }

    template <typename Visit>
    void for_each(Visit&& visit) const {
        for (const Slot& slot : slots_)
            if (slot.used) visit(slot.address, slot.size);
    }

  private:
    struct Slot {
        std::uint64_t address = 0;
        std::uint64_t size = 0;
        bool used = false;
    };

    std::size_t index_of(std::uint64_t address) const {
        std::uint64_t h = address * 0x9e3779b97f4a7c15ull;
        return static_cast<std::size_t>(h >> 20) & (slots_.size() - 1);
    }

    void remove_at(std::size_t hole) {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = hole;
        for (;;) {
            i = (i + 1) & mask;
            if (!slots_[i].used) break;
            const std::size_t home = index_of(slots_[i].address);
            // Move the entry back if its home is not in the (hole, i] range (cyclically).
            const bool between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
            if (!between) {
                slots_[hole] = slots_[i];
                hole = i;
            }
        }
        slots_[hole] = Slot{};
        --count_;
    }

    void grow() {
        std::vector<Slot> old;
        old.swap(slots_);
        slots_.resize(old.size() * 2);
        count_ = 0;
        for (const Slot& slot : old)
            if (slot.used) insert(slot.address, slot.size);
    }

    std::vector<Slot> slots_;
    std::size_t count_ = 0;
};

} // namespace memopt::reports
