#pragma once
// Hand-made traces for the reader tests: bytes of chunks built with ChunkBuilder, joined and
// written to a file.
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

namespace memopt::trace::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes concat(const std::vector<Bytes>& parts) {
    Bytes out;
    for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

inline void write_bytes(const std::filesystem::path& path, const Bytes& bytes) {
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The parts one after the other: a file header, then chunks (or any bytes).
inline void write_trace(const std::filesystem::path& path, const std::vector<Bytes>& parts) {
    write_bytes(path, concat(parts));
}

// A chunk holding the ProcessStart record of pid 100 (stacks off), written by thread `tid`.
inline Bytes process_start(std::uint16_t version = kFormatVersion, std::uint64_t tid = 1) {
    ChunkBuilder chunk(tid, 0);
    chunk.extended(ExtendedType::kProcessStart).varint(100).varint(1).varint(1000).byte(0).varint(4096).varint(0);
    return chunk.finish(version);
}

// Everything a trace gives back when read whole: its events in order, its metadata and the
// count of events it lost, whether it ended mid-chunk (a failure to verify throws, as the
// reader does).
struct ReadBack {
    std::vector<Event> events;
    TraceMetadata meta;
    std::uint64_t missing = 0;
    bool truncated = false;
};

inline ReadBack read_all(const std::filesystem::path& path) {
    TraceReader reader(path);
    ReadBack back;
    Event event;
    while (reader.next(event)) back.events.push_back(event);
    back.meta = reader.metadata();
    back.missing = reader.missing_events();
    back.truncated = reader.truncated();
    return back;
}

} // namespace memopt::trace::test
