#pragma once
// Private to the trace reader (reader_records.cpp, reader_metadata.cpp): the chunk being
// decoded and the bounds-checked field readers its record decoders share.
#include "profiler/trace/encoding.h"
#include "profiler/trace/reader.h"

#include <string>

namespace memopt::trace {

// The chunk being decoded: its cursor and the running state its records are coded against.
struct TraceReader::Chunk {
    const TraceReader& reader;
    ByteCursor in;
    const std::uint8_t* data;
    std::size_t size;
    std::uint64_t offset; // file offset of the chunk, for error messages
    std::uint64_t tid = 0;
    std::uint64_t seq = 0;          // number of the next sequenced record
    std::uint64_t last_units = 0;   // address delta base, in units of 16 bytes
    std::uint64_t pending_stack = 0; // kStackRef for the next allocation event
    ExtendedType type{};            // of the extended record being decoded

    [[noreturn]] void fail(const char* what) const {
        reader.corrupt(offset + static_cast<std::uint64_t>(in.cursor - data), what);
    }
    void need(bool ok) const {
        if (!ok) fail("record cut short");
    }
    std::uint64_t varint() {
        std::uint64_t value = 0;
        need(in.varint(value));
        return value;
    }
    std::uint8_t byte() {
        std::uint8_t value = 0;
        need(in.byte(value));
        return value;
    }
    std::string text() {
        const std::uint64_t length = varint();
        if (length > size) fail("string longer than its chunk");
        const std::uint8_t* bytes = nullptr;
        need(in.bytes(static_cast<std::size_t>(length), bytes));
        return std::string(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(length));
    }
    // Numbers the event in the chunk's sequence.
    Event& sequenced(Event& event) {
        event.seq = seq++;
        event.tid = static_cast<std::uint32_t>(tid);
        return event;
    }
};

} // namespace memopt::trace
