#pragma once
// The live heap blocks of a trace: address -> (size, stack). Report speed is bounded by this
// map (one insert or erase per event) and report memory by its size, so it is built for both:
//
// * A block costs one 12-byte Entry: the address in units of 16 bytes (malloc's alignment)
//   in 48 bits, the size in 16 bits and the stack id (reader frame id of the sampled
//   allocation, 0 = none) in 32 bits. The rare block that does not fit — at least 64 KiB,
//   an address that is not 16-aligned or beyond 2^52, a stack id past 2^32 — lives whole
//   in a side table (`others_`); 64 KiB or more, its ~60 bytes there are under 0.1 % of it.
// * Open addressing with linear probing and backward-shift deletion, split into 64 shards by
//   the hash's top bits. A shard grows by 1.5x at a load of 0.8, so it is between 53 % and
//   80 % full: 15-23 bytes per live block. Shards grow one at a time, so growing costs a
//   1/64 of the table more, not a second copy of it; their arrays are mapped directly
//   (mmap), so a shard given back is memory given back.
// Memory is the same whatever the number of events: only live blocks take room.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <unordered_map>
#include <utility>

namespace memopt::reports {

class LiveBlocks {
  public:
    struct Entry {
        std::uint32_t units_low = 0;  // address / 16, bits 0-31; units 0 = empty slot
        std::uint16_t units_high = 0; // address / 16, bits 32-47
        std::uint16_t size = 0;
        std::uint32_t stack = 0;
    };

    LiveBlocks() = default;
    LiveBlocks(const LiveBlocks&) = delete;
    LiveBlocks& operator=(const LiveBlocks&) = delete;

    // Inserts or replaces; returns the size previously stored for `address` (0 if none).
    std::uint64_t insert(std::uint64_t address, std::uint64_t size, std::uint64_t stack = 0) {
        std::uint64_t old = others_.empty() ? 0 : take_other(address);
        if (fits(address, size, stack)) {
            const std::uint64_t units = address >> kShift;
            Shard& shard = shard_of(hash(units));
            if ((shard.count + 1) * 5 > shard.capacity * 4) shard.grow();
            Entry* slot = shard.find(hash(units), units);
            if (!empty(*slot)) {
                old = slot->size;
                --shard.count;
            }
            *slot = make_entry(units, size, stack);
            ++shard.count;
            return old;
        }
        std::uint64_t compact = 0;
        if (erase_compact(address, compact)) old = compact;
        others_[address] = {size, stack};
        return old;
    }

    // Removes `address`; returns true and its size when it was live.
    bool erase(std::uint64_t address, std::uint64_t& size) {
        if (erase_compact(address, size)) return true;
        if (others_.empty()) return false;
        const auto it = others_.find(address);
        if (it == others_.end()) return false;
        size = it->second.size;
        others_.erase(it);
        return true;
    }

    std::size_t size() const {
        std::size_t count = others_.size();
        for (const Shard& shard : shards_) count += shard.count;
        return count;
    }

    // Bytes the map holds: its shards' arrays (the side table is not counted; it holds only
    // blocks of 64 KiB and more, or odd ones).
    std::size_t table_bytes() const {
        std::size_t bytes = 0;
        for (const Shard& shard : shards_) bytes += shard.capacity * sizeof(Entry);
        return bytes;
    }

    void clear() {
        for (Shard& shard : shards_) shard.reset();
        others_.clear();
    }

    // visit(address, size, stack) for every live block, in no particular order.
    template <typename Visit>
    void for_each(Visit&& visit) const {
        for (const Shard& shard : shards_)
            for (std::size_t i = 0; i < shard.capacity; ++i)
                if (!empty(shard.slots[i])) visit(address_of(shard.slots[i]), shard.slots[i].size, shard.slots[i].stack);
        for (const auto& [address, other] : others_) visit(address, other.size, other.stack);
    }

  private:
    static constexpr unsigned kShift = 4;
    static constexpr std::uint64_t kUnitsLimit = 1ull << 48;
    static constexpr std::uint64_t kSizeLimit = 1u << 16;
    static constexpr std::uint64_t kStackLimit = 1ull << 32;
    static constexpr unsigned kShardBits = 6;
    static constexpr std::size_t kFirstCapacity = 64;

    struct Other {
        std::uint64_t size;
        std::uint64_t stack;
    };

    struct Shard {
        Entry* slots = nullptr;
        std::size_t capacity = 0;
        std::size_t count = 0;

        Shard() = default;
        Shard(const Shard&) = delete;
        Shard& operator=(const Shard&) = delete;
        ~Shard() { unmap(slots, capacity); }

        std::size_t home(std::uint64_t h) const {
            // Bits below the shard bits, scaled to the capacity (any capacity, no modulo).
            return static_cast<std::size_t>((static_cast<unsigned __int128>(h << kShardBits) * capacity) >> 64);
        }
        std::size_t next(std::size_t i) const { return i + 1 == capacity ? 0 : i + 1; }

        // The slot holding `units`, or the empty slot where it would go.
        Entry* find(std::uint64_t h, std::uint64_t units) {
            std::size_t i = home(h);
            while (!empty(slots[i]) && units_of(slots[i]) != units) i = next(i);
            return &slots[i];
        }

        void remove_at(std::size_t hole) {
            for (std::size_t i = next(hole); !empty(slots[i]); i = next(i)) {
                const std::size_t h = home(hash(units_of(slots[i])));
                // Move the entry back unless its home lies in the (hole, i] range (cyclically).
                const bool between = hole <= i ? (h > hole && h <= i) : (h > hole || h <= i);
                if (!between) {
                    slots[hole] = slots[i];
                    hole = i;
                }
            }
            slots[hole] = Entry{};
            --count;
        }

        void grow() {
            Shard bigger;
            bigger.capacity = capacity ? capacity + capacity / 2 : kFirstCapacity;
            bigger.slots = map(bigger.capacity);
            for (std::size_t i = 0; i < capacity; ++i) {
                if (empty(slots[i])) continue;
                *bigger.find(hash(units_of(slots[i])), units_of(slots[i])) = slots[i];
                ++bigger.count;
            }
            std::swap(slots, bigger.slots);
            std::swap(capacity, bigger.capacity);
        }

        void reset() {
            unmap(slots, capacity);
            slots = nullptr;
            capacity = 0;
            count = 0;
        }
    };

    static Entry* map(std::size_t capacity) {
        // Fresh anonymous pages read as zero: every slot starts empty.
        void* memory = ::mmap(nullptr, capacity * sizeof(Entry), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) throw std::bad_alloc();
        return static_cast<Entry*>(memory);
    }
    static void unmap(Entry* slots, std::size_t capacity) {
        if (slots) ::munmap(slots, capacity * sizeof(Entry));
    }

    static std::uint64_t hash(std::uint64_t units) { return units * 0x9e3779b97f4a7c15ull; }
    static bool empty(const Entry& entry) { return entry.units_low == 0 && entry.units_high == 0; }
    static std::uint64_t units_of(const Entry& entry) {
        return entry.units_low | static_cast<std::uint64_t>(entry.units_high) << 32;
    }
    static std::uint64_t address_of(const Entry& entry) { return units_of(entry) << kShift; }
    static Entry make_entry(std::uint64_t units, std::uint64_t size, std::uint64_t stack) {
        return {static_cast<std::uint32_t>(units), static_cast<std::uint16_t>(units >> 32),
                static_cast<std::uint16_t>(size), static_cast<std::uint32_t>(stack)};
    }
    static bool representable(std::uint64_t address) {
        const std::uint64_t units = address >> kShift;
        return (address & ((1u << kShift) - 1)) == 0 && units != 0 && units < kUnitsLimit;
    }
    static bool fits(std::uint64_t address, std::uint64_t size, std::uint64_t stack) {
        return representable(address) && size < kSizeLimit && stack < kStackLimit;
    }

    Shard& shard_of(std::uint64_t h) { return shards_[h >> (64 - kShardBits)]; }

    bool erase_compact(std::uint64_t address, std::uint64_t& size) {
        if (!representable(address)) return false;
        const std::uint64_t units = address >> kShift;
        Shard& shard = shard_of(hash(units));
        if (shard.count == 0) return false;
        Entry* slot = shard.find(hash(units), units);
        if (empty(*slot)) return false;
        size = slot->size;
        shard.remove_at(static_cast<std::size_t>(slot - shard.slots));
        return true;
    }

    std::uint64_t take_other(std::uint64_t address) {
        const auto it = others_.find(address);
        if (it == others_.end()) return 0;
        const std::uint64_t size = it->second.size;
        others_.erase(it);
        return size;
    }

    Shard shards_[1u << kShardBits];
    std::unordered_map<std::uint64_t, Other> others_;
};

} // namespace memopt::reports
