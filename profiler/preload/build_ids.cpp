#include "profiler/preload/build_ids.h"

#include "profiler/preload/thread_buffer.h"
#include "profiler/trace/encoding.h"

#include <cstring>
#include <elf.h>

namespace memopt::preload {
namespace {

using namespace trace;

// SHA-1 build-ids are 20 bytes; anything past this is not a build-id we record.
constexpr std::size_t kMaxBuildIdSize = 64;

std::size_t align_up(std::size_t value, std::size_t alignment) noexcept {
    return (value + alignment - 1) & ~(alignment - 1);
}

// Walks the notes of one mapped PT_NOTE segment; returns the build-id's bytes or nullptr.
const std::uint8_t* build_id_in(const std::uint8_t* notes, std::size_t size, std::size_t alignment,
                                std::size_t& length) noexcept {
    std::size_t offset = 0;
    while (offset + sizeof(ElfW(Nhdr)) <= size) {
        ElfW(Nhdr) note;
        std::memcpy(&note, notes + offset, sizeof note);
        const std::size_t name_at = offset + sizeof note;
        const std::size_t desc_at = name_at + align_up(note.n_namesz, alignment);
        if (desc_at > size || note.n_descsz > size - desc_at) return nullptr; // malformed: stop
        if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(notes + name_at, "GNU", 4) == 0 &&
            note.n_descsz > 0 && note.n_descsz <= kMaxBuildIdSize) {
            length = note.n_descsz;
            return notes + desc_at;
        }
        offset = desc_at + align_up(note.n_descsz, alignment);
    }
    return nullptr;
}

// True when [vaddr, vaddr + size) lies inside a PT_LOAD segment, so reading it cannot fault
// (linkers put the notes in the first one; an odd object might not).
bool is_mapped(const dl_phdr_info& info, ElfW(Addr) vaddr, std::size_t size) noexcept {
    for (int i = 0; i < info.dlpi_phnum; ++i) {
        const auto& load = info.dlpi_phdr[i];
        if (load.p_type == PT_LOAD && vaddr >= load.p_vaddr && size <= load.p_memsz &&
            vaddr - load.p_vaddr <= load.p_memsz - size)
            return true;
    }
    return false;
}

const std::uint8_t* find_build_id(const dl_phdr_info& info, std::size_t& length) noexcept {
    for (int i = 0; i < info.dlpi_phnum; ++i) {
        const auto& header = info.dlpi_phdr[i];
        if (header.p_type != PT_NOTE || header.p_filesz == 0) continue;
        if (!is_mapped(info, header.p_vaddr, header.p_filesz)) continue;
        const auto* notes = reinterpret_cast<const std::uint8_t*>(info.dlpi_addr + header.p_vaddr);
        const std::size_t alignment = header.p_align == 8 ? 8 : 4;
        if (const std::uint8_t* id = build_id_in(notes, header.p_filesz, alignment, length)) return id;
    }
    return nullptr;
}

} // namespace

void append_build_id_record(ThreadBuffer& buffer, const dl_phdr_info& info) noexcept {
    std::size_t length = 0;
    const std::uint8_t* id = find_build_id(info, length);
    if (!id || !ensure_room(buffer, 3 * kMaxVarintSize + length)) return;
    std::uint8_t* out = put_extended_head(buffer.cursor(), ExtendedType::kBuildId);
    out = put_varint(out, info.dlpi_addr);
    out = put_varint(out, length);
    std::memcpy(out, id, length);
    out += length;
    buffer.used = static_cast<std::size_t>(out - buffer.payload());
}

} // namespace memopt::preload
