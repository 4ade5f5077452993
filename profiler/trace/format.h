#pragma once
// The memopt trace format, version 2. This header is the single definition shared by the
// preload writer (profiler/preload) and the readers (profiler/trace/reader, reports/).
// docs/trace-format.md explains the same layout in prose; keep the two in step.
//
// File layout
// -----------
//   FileHeader (16 bytes, little endian)
//     char     magic[8]    "MEMOPTTR"
//     uint16   version     kFormatVersion (2); readers also read version 1 (the same
//                          layout without the checksum field) and reject any other value
//     uint16   flags       reserved, 0
//     uint32   reserved    0
//   Chunk*
//
// Chunk (one write(2) each, so concurrent appenders never interleave inside a chunk)
//     uint8    kChunkTag   0xC5
//     varint   payload_length   bytes after this field up to the end of the chunk
//     uint32   checksum         low 32 bits of XXH3-64 of the body (the bytes after this
//                               field), seeded with payload_length (checksum.h); version 2
//   body:
//     varint   tid              kernel thread id of the writer (0: written by `memopt record`)
//     varint   first_seq        sequence number of the chunk's first sequenced record
//     payload  Record*
//
// A chunk whose checksum does not match is skipped whole; the reader looks for the next chunk
// that verifies (at the damaged chunk's stated end, else by scanning for kChunkTag), reports
// how many events the skip may have cost and reads on.
//
// Every event that must be ordered across threads (allocation events, phase marks, fork,
// exit) takes a number from one per-process counter. Inside a chunk the numbers are
// implicit: each sequenced record has the number after the previous one, unless a kSeqSkip
// record says otherwise. The reader merges the chunks of all threads back into one total
// order by these numbers. A kProcessStart record (new process image after exec) restarts
// the numbering; records before it in the file belong to the previous image.
//
// Within a chunk, addresses are delta-coded against the previous address in that chunk
// (starting from 0), in units of 16 bytes (malloc's alignment), zigzag-encoded.
//
// Record = varint head; kind = head & 7, value = head >> 3
//   kind 0..6 (sequenced allocation events; value = zigzag(address/16 - previous/16)):
//     kMalloc  varint size
//     kFree    -
//     kCalloc  varint size          (nmemb * size)
//     kRealloc varint size          new block; the old block's release is a kFree record
//                                    that precedes it (taken before the real call)
//     kAligned varint size          posix_memalign, aligned_alloc, memalign, valloc, pvalloc
//     kMmap    varint length        anonymous mappings only (file mappings are not heap)
//     kMunmap  varint length        every munmap; the reader ignores unknown ranges
//   kind 7 (kExtended): value is an ExtendedType, followed by its fields:
//     kSeqSkip       varint n       the next sequenced record's number is previous + 1 + n
//     kUnaligned     uint8 kind, varint address (absolute), [varint size]: a sequenced
//                                    allocation event whose address is not 16-aligned
//     kStackRef      varint stack   the next allocation event was sampled with this stack
//                                    node id (see kFrame); it then counts for top sites
//     kRss           varint time_ns, varint resident_pages, varint position: not sequenced;
//                    `position` is the counter's value when sampled, so the reader puts the
//                    sample before the event numbered `position` (the sampler thread taking
//                    numbers would leave every program thread's chunks with gaps to wait for)
//     kPhaseBegin    varint time_ns, varint name_len, bytes name    (sequenced)
//     kPhaseEnd      varint time_ns, varint name_len, bytes name    (sequenced)
//     kThreadStart   varint time_ns
//     kFrame         varint id, varint parent_id (0 = root), varint ip
//     kModule        varint base, varint name_len, bytes name, varint segment_count,
//                    segment_count x (varint vaddr, varint memsz)
//     kProcessStart  varint pid, varint ppid, varint time_ns, uint8 ProcessOrigin,
//                    varint page_size, varint stack_sample_bytes (0 = stacks off)
//     kCommand       varint argc, argc x (varint len, bytes)   written by `memopt record`
//                    into the launched program's trace; the tracer writes one into each
//                    child's own trace (from /proc/self/cmdline, whole words up to 4 KiB) at
//                    its start and after each exec; the last one in a file is its command
//     kProcessExit   varint time_ns, varint vm_hwm_kib            (sequenced)
//     kExitStatus    varint exit_code, varint wall_ns, varint max_rss_kib, uint8 signaled
//                                    written by `memopt record` after the child ended
//     kTracerError   varint len, bytes message: the tracer turned itself off
//     kFork          varint time_ns, varint child_pid              (sequenced)
//     kMremap        varint old_address, varint old_length, varint new_address,
//                    varint new_length: moves a tracked anonymous mapping (sequenced)
//
// Times are CLOCK_MONOTONIC nanoseconds. Sizes are what the program requested.
// A file cut anywhere (killed process, full disk) reads up to its last complete chunk.
//
// Frame ids (kFrame, kStackRef) and the module map (kModule) belong to one process image:
// after exec the new image numbers its frames from 1 again and loads other modules. The
// reader keeps them apart per image (reader.h: Frame::image, Module::image).
#include <cstddef>
#include <cstdint>

namespace memopt::trace {

inline constexpr char kMagic[8] = {'M', 'E', 'M', 'O', 'P', 'T', 'T', 'R'};
inline constexpr std::uint16_t kFormatVersion = 2;
// Version 1 is version 2 without the chunk checksum; readers still accept it.
inline constexpr std::uint16_t kOldestReadableVersion = 1;
inline constexpr std::size_t kFileHeaderSize = 16;
inline constexpr std::uint8_t kChunkTag = 0xC5;
// Upper bound of a chunk's fixed fields (tag, length, checksum, tid, first_seq), reserved in
// front of each buffer so a chunk goes out in a single write.
inline constexpr std::size_t kMaxChunkHeaderSize = 1 + 10 + 4 + 10 + 10;
// A reader refuses chunks larger than this: a corrupt length must not make it allocate
// gigabytes.
inline constexpr std::uint64_t kMaxChunkPayload = 16u << 20;
inline constexpr unsigned kAddressShift = 4;

enum class RecordKind : std::uint8_t {
    kMalloc = 0,
    kFree = 1,
    kCalloc = 2,
    kRealloc = 3,
    kAligned = 4,
    kMmap = 5,
    kMunmap = 6,
    kExtended = 7,
};

enum class ExtendedType : std::uint8_t {
    kSeqSkip = 1,
    kUnaligned = 2,
    kStackRef = 3,
    kRss = 4,
    kPhaseBegin = 5,
    kPhaseEnd = 6,
    kThreadStart = 7,
    kFrame = 8,
    kModule = 9,
    kProcessStart = 10,
    kCommand = 11,
    kProcessExit = 12,
    kExitStatus = 13,
    kTracerError = 14,
    kFork = 15,
    kMremap = 16,
};

enum class ProcessOrigin : std::uint8_t {
    kLaunched = 0, // started by `memopt record`
    kForked = 1,   // a fork of a traced process, in its own TRACE.PID file
    kExeced = 2,   // a traced process called exec; same file, numbering restarts
    kSpawned = 3,  // started by a traced process without fork handlers (posix_spawn, vfork)
};

// Environment shared by `memopt record` and the preload library.
inline constexpr const char* kEnvTracePath = "MEMOPT_TRACE";        // root trace path
inline constexpr const char* kEnvTraceFd = "MEMOPT_TRACE_FD";       // inherited descriptor
inline constexpr const char* kEnvRootPid = "MEMOPT_ROOT_PID";       // pid writing TRACE
inline constexpr const char* kEnvStackBytes = "MEMOPT_STACK_BYTES"; // 0 = no stacks
inline constexpr const char* kEnvIntervalMs = "MEMOPT_INTERVAL_MS"; // RSS sampling period

} // namespace memopt::trace
