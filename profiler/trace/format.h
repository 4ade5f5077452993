#pragma once
// The memopt trace format, version 4. This header is the single definition shared by the
// preload writer (profiler/preload) and the readers (profiler/trace/reader, reports/).
// docs/trace-format.md explains the same layout in prose; keep the two in step.
//
// File layout
// -----------
//   FileHeader (16 bytes, little endian)
//     char     magic[8]    "MEMOPTTR"
//     uint16   version     kFormatVersion (4); readers also read versions 3 (no record of
//                          type 21), 2 (no compressed chunk, no record of types 17-20) and 1
//                          (version 2 without the checksum field) and reject any other value
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
// Compressed chunk (the preload library writes one whenever zstd makes the chunk smaller;
// readers accept both kinds in any order, so traces without them read as before)
//     uint8    kCompressedChunkTag   0xC6
//     varint   payload_length   bytes after this field up to the end of the chunk
//     uint32   checksum         as above, over the stored (compressed) body
//   body:
//     varint   tid
//     varint   first_seq
//     varint   records_length   size of the Record* bytes once decompressed; at most
//                               kMaxChunkPayload, else the chunk is corrupt
//     bytes    one zstd frame (RFC 8878) holding the chunk's Record* bytes; frames are
//              independent (no dictionary or history across chunks), so a cut file still
//              reads up to its last complete chunk
// The checksum covers the bytes as stored, so it is verified before anything is
// decompressed: damaged bytes never reach the decompressor, and the reader skips a damaged
// compressed chunk exactly like a damaged plain one. A chunk that verifies but does not
// decompress to exactly records_length bytes is corrupt (an error, like a plain chunk that
// verifies but does not decode).
//
// A chunk whose checksum does not match is skipped whole; the reader looks for the next chunk
// that verifies (at the damaged chunk's stated end, else by scanning for a chunk tag), reports
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
//     kPythonCode    varint code_id, varint first_line, varint file_len, bytes file,
//                    varint name_len, bytes qualified_name: a Python code object seen in a
//                    sampled stack (written once per code object, before any frame using it)
//     kPythonFrame   varint id, varint parent_id, varint code_id, varint line: a trie node
//                    like kFrame for a Python frame (code_id 0: unknown code; line 0: none).
//                    It stands where the interpreter's _PyEval_EvalFrameDefault frame was.
//     kBuildId       varint base, varint id_len, bytes id: the GNU build-id (NT_GNU_BUILD_ID
//                    note) of the module with this base, written after its kModule record
//                    when the module has one. Reports compare it with the file on disk and do
//                    not name frames of a file that changed since. Traces without it still
//                    read (no check is possible then).
//     kSeqVoid       varint first, varint count: not sequenced; the numbers first ..
//                    first + count - 1 belong to no event. A thread reserves its numbers in
//                    blocks (profiler/preload/tracer.h) and gives back what it did not use;
//                    the reader counts these numbers as arrived, wherever in the file the
//                    record is, and leaves them out of Event::seq. Traces without it (older
//                    writers) number every event densely, as before.
//     kTracerNote    varint note (TracerNote), varint count: not sequenced; something the
//                    tracer could not keep, while tracing went on (unlike kTracerError).
//                    Written once per note and process image, when it first happens:
//                      kStackTableFull  the frame trie was full after `count` sampled stacks;
//                                       later stacks keep only their outermost frames (the
//                                       part already in the trie) or no stack at all
//                      kCodeTableFull   the Python code table was full with `count` code
//                                       objects; frames of later ones are "[python]"
//                    Readers keep notes of numbers they do not know (shown as such).
//
// A kFrame whose ip is 0 is the `[truncated]` root: the stack had more frames than the
// recording's depth limit (kEnvStackDepth) and its outermost ones were left out.
//
// Times are CLOCK_MONOTONIC nanoseconds. Sizes are what the program requested.
// A file cut anywhere (killed process, full disk) reads up to its last complete chunk.
//
// Frame ids (kFrame, kStackRef) and the module map (kModule) belong to one process image:
// after exec the new image numbers its frames from 1 again and loads other modules. The
// reader keeps them apart per image (reader.h: Frame::image, Module::image). Python code ids
// (kPythonCode, kPythonFrame) are per process image too.
#include <cstddef>
#include <cstdint>

namespace memopt::trace {

inline constexpr char kMagic[8] = {'M', 'E', 'M', 'O', 'P', 'T', 'T', 'R'};
inline constexpr std::uint16_t kFormatVersion = 4;
// Version 4 adds the record type 21 (kTracerNote: a table of the tracer filled up, tracing
// went on), which a version-3 reader would refuse mid-file as an unknown type.
// Version 3 adds compressed chunks (kCompressedChunkTag) and the record types 17-20 (Python
// frames, build-ids, void numbers): a version-2 reader would skip the compressed chunks as
// damaged, so it is told by the version and refuses the file instead. Version 2 is version 3
// without them, version 1 version 2 without the chunk checksum; readers accept both.
inline constexpr std::uint16_t kOldestReadableVersion = 1;
inline constexpr std::size_t kFileHeaderSize = 16;
inline constexpr std::uint8_t kChunkTag = 0xC5;
inline constexpr std::uint8_t kCompressedChunkTag = 0xC6;
// Upper bound of a chunk's fixed fields (tag, length, checksum, tid, first_seq), reserved in
// front of each buffer so a chunk goes out in a single write.
inline constexpr std::size_t kMaxChunkHeaderSize = 1 + 10 + 4 + 10 + 10;
// A reader refuses chunks larger than this, stored or (kCompressedChunkTag) decompressed: a
// corrupt length must not make it allocate gigabytes.
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
    kPythonCode = 17,
    kPythonFrame = 18,
    kBuildId = 19,
    kSeqVoid = 20,
    kTracerNote = 21,
};

// What a kTracerNote record says (its first field).
enum class TracerNote : std::uint8_t {
    kStackTableFull = 1,
    kCodeTableFull = 2,
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
inline constexpr const char* kEnvCompress = "MEMOPT_COMPRESS";      // zstd level 1-3; 0 = off
inline constexpr const char* kEnvStackDepth = "MEMOPT_STACK_DEPTH"; // frames kept per stack
inline constexpr const char* kEnvPythonFrames = "MEMOPT_PYTHON_FRAMES"; // 0: native frames only
// Frames a sampled stack keeps when kEnvStackDepth is unset, and the largest value it takes
// (innermost frames are kept; a cut stack gets a [truncated] root).
inline constexpr unsigned kDefaultStackDepth = 384;
inline constexpr unsigned kMaxStackDepthLimit = 480;

} // namespace memopt::trace
