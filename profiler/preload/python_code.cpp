#include "profiler/preload/python_code.h"

#include "profiler/preload/python_frames.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/encoding.h"

#include <atomic>
#include <cstring>
#include <sys/mman.h>

namespace memopt::preload {
namespace {

using namespace trace;

struct CodeEntry {
    std::uintptr_t code; // 0 = empty
    std::uintptr_t filename;
    std::uintptr_t qualname;
    std::uintptr_t linetable;
    std::uint64_t id;
    int first_line;
    int last_instruction; // one-entry memo: most samples of a code object repeat its line
    std::uint32_t last_line;
};
constexpr std::size_t kCodeCapacity = 1u << 16;
constexpr std::size_t kCodeLimit = kCodeCapacity / 4 * 3;
constexpr std::size_t kMaxText = 512; // longer file or function names are cut

CodeEntry* g_codes = nullptr;
std::size_t g_code_count = 0;
std::uint64_t g_next_code = 1;
std::atomic<bool> g_full_noted{false}; // the kCodeTableFull note is written once

std::size_t slot_of(std::uintptr_t code) noexcept {
    std::uint64_t h = code * 0x9e3779b97f4a7c15ull;
    h ^= h >> 31;
    return static_cast<std::size_t>(h) & (kCodeCapacity - 1);
}

std::uint8_t* put_utf8(std::uint8_t* out, std::uint32_t c) noexcept {
    if (c < 0x80) {
        *out++ = static_cast<std::uint8_t>(c);
    } else if (c < 0x800) {
        *out++ = static_cast<std::uint8_t>(0xC0 | (c >> 6));
        *out++ = static_cast<std::uint8_t>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *out++ = static_cast<std::uint8_t>(0xE0 | (c >> 12));
        *out++ = static_cast<std::uint8_t>(0x80 | ((c >> 6) & 0x3F));
        *out++ = static_cast<std::uint8_t>(0x80 | (c & 0x3F));
    } else {
        *out++ = static_cast<std::uint8_t>(0xF0 | (c >> 18));
        *out++ = static_cast<std::uint8_t>(0x80 | ((c >> 12) & 0x3F));
        *out++ = static_cast<std::uint8_t>(0x80 | ((c >> 6) & 0x3F));
        *out++ = static_cast<std::uint8_t>(0x80 | (c & 0x3F));
    }
    return out;
}

// A str object's text as UTF-8 into `out` (at most kMaxText bytes); "?" when it is not a
// compact str (code objects' names always are).
std::size_t unicode_text(std::uintptr_t text, std::uint8_t* out) noexcept {
    if (!is_object_of(text, python_types().unicode)) return out[0] = '?', 1;
    const auto state = *reinterpret_cast<const std::uint32_t*>(text + py311::kUnicodeState);
    const unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
    if (!compact || (kind != 1 && kind != 2 && kind != 4)) return out[0] = '?', 1;
    const auto length = static_cast<std::size_t>(read_word(text + py311::kUnicodeLength));
    const std::uintptr_t data = text + (ascii ? py311::kAsciiData : py311::kCompactData);
    std::uint8_t* end = out;
    for (std::size_t i = 0; i < length && end + 4 <= out + kMaxText; ++i) {
        std::uint32_t c = kind == 1 ? reinterpret_cast<const std::uint8_t*>(data)[i]
                          : kind == 2 ? reinterpret_cast<const std::uint16_t*>(data)[i]
                                      : reinterpret_cast<const std::uint32_t*>(data)[i];
        end = put_utf8(end, c);
    }
    return static_cast<std::size_t>(end - out);
}

void append_text(std::uint8_t*& out, const std::uint8_t* text, std::size_t length) noexcept {
    out = put_varint(out, length);
    std::memcpy(out, text, length);
    out += length;
}

// kPythonCode: varint id, varint first_line, varint file_len, file, varint name_len, name.
bool append_code_record(ThreadBuffer& buffer, const CodeEntry& entry) noexcept {
    std::uint8_t filename[kMaxText], qualname[kMaxText];
    const std::size_t filename_length = unicode_text(entry.filename, filename);
    const std::size_t qualname_length = unicode_text(entry.qualname, qualname);
    if (!ensure_room(buffer, 6 * kMaxVarintSize + filename_length + qualname_length)) return false;
    std::uint8_t* out = put_extended_head(buffer.cursor(), ExtendedType::kPythonCode);
    out = put_varint(out, entry.id);
    out = put_varint(out, static_cast<std::uint64_t>(entry.first_line < 0 ? 0 : entry.first_line));
    append_text(out, filename, filename_length);
    append_text(out, qualname, qualname_length);
    buffer.used = static_cast<std::size_t>(out - buffer.payload());
    return true;
}

CodeEntry identity_of(std::uintptr_t code) noexcept {
    CodeEntry entry{};
    entry.code = code;
    entry.filename = read_word(code + py311::kCodeFilename);
    entry.qualname = read_word(code + py311::kCodeQualname);
    entry.linetable = read_word(code + py311::kCodeLinetable);
    entry.first_line = read_int(code + py311::kCodeFirstLine);
    entry.last_instruction = -1;
    return entry;
}

bool same_code(const CodeEntry& a, const CodeEntry& b) noexcept {
    return a.filename == b.filename && a.qualname == b.qualname && a.linetable == b.linetable &&
           a.first_line == b.first_line;
}

// The table entry of `code`, registering it (and writing its record) when new; null when
// the table is full or cannot be mapped.
CodeEntry* entry_for(ThreadBuffer& buffer, std::uintptr_t code) noexcept {
    if (!g_codes) {
        void* memory = ::mmap(nullptr, kCodeCapacity * sizeof(CodeEntry), PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (memory == MAP_FAILED) return nullptr;
        g_codes = static_cast<CodeEntry*>(memory);
    }
    const CodeEntry seen = identity_of(code);
    std::size_t slot = slot_of(code);
    while (g_codes[slot].code != 0 && g_codes[slot].code != code) slot = (slot + 1) & (kCodeCapacity - 1);
    CodeEntry& entry = g_codes[slot];
    if (entry.code == code && same_code(entry, seen)) return &entry;
    if (entry.code == 0 && g_code_count >= kCodeLimit) {
        if (!g_full_noted.exchange(true, std::memory_order_relaxed))
            append_tracer_note_locked(buffer, TracerNote::kCodeTableFull, g_code_count);
        return nullptr;
    }
    if (entry.code == 0) ++g_code_count;
    entry = seen; // new, or another code object now at a freed one's address
    entry.id = g_next_code++;
    // No room for its record (the tracer is failing): its frames show as "[python]".
    if (!append_code_record(buffer, entry)) entry.id = 0;
    return &entry;
}

std::uint64_t scan_varint(const std::uint8_t*& at, const std::uint8_t* end) noexcept {
    if (at >= end) return 0;
    std::uint64_t read = *at++, value = read & 63;
    for (unsigned shift = 6; (read & 64) && at < end && shift < 36; shift += 6) {
        read = *at++;
        value |= (read & 63) << shift;
    }
    return value;
}

} // namespace

std::uint32_t line_of_instruction(const std::uint8_t* table, std::uint64_t length, int first_line,
                                  int instruction) noexcept {
    const std::uint8_t* at = table;
    const std::uint8_t* end = table + length;
    std::int64_t line = first_line;
    std::int64_t range_end = 0;
    while (at < end) {
        const std::uint8_t head = *at;
        const unsigned code = (head >> 3) & 15;
        const std::uint8_t* fields = at + 1;
        if (code == 13 || code == 14) { // no columns / long form: signed varint line delta
            const std::uint64_t delta = scan_varint(fields, end);
            line += (delta & 1) ? -static_cast<std::int64_t>(delta >> 1) : static_cast<std::int64_t>(delta >> 1);
        } else if (code >= 10 && code <= 12) { // one-line forms: delta 0, 1 or 2
            line += code - 10;
        }
        range_end += (head & 7) + 1;
        if (instruction < range_end) return code == 15 || line <= 0 ? 0 : static_cast<std::uint32_t>(line);
        do ++at;
        while (at < end && (*at & 128) == 0);
    }
    return 0;
}

PythonFrameKey python_frame_key(ThreadBuffer& buffer, std::uintptr_t code, int instruction) noexcept {
    CodeEntry* entry = entry_for(buffer, code);
    if (!entry) return {};
    if (entry->last_instruction != instruction) {
        std::uint32_t line = 0;
        if (is_object_of(entry->linetable, python_types().bytes)) {
            const auto length = read_word(entry->linetable + py311::kVarObjectSize);
            const auto* table = reinterpret_cast<const std::uint8_t*>(entry->linetable + py311::kBytesData);
            line = line_of_instruction(table, length, entry->first_line, instruction);
        }
        entry->last_instruction = instruction;
        entry->last_line = line;
    }
    return {entry->id, entry->last_line};
}

void reset_python_code_after_fork() noexcept {
    if (g_codes) ::munmap(g_codes, kCodeCapacity * sizeof(CodeEntry));
    g_codes = nullptr;
    g_code_count = 0;
    g_full_noted.store(false); // the child's own trace gets its own note
    // Ids keep counting: the child's trace only needs them unique.
}

} // namespace memopt::preload
