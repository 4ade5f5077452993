// Finding chunks in the file: framing, checksum verification, decompression, and skipping
// damaged bytes up to the next chunk that verifies (format.h, version 2). Version-1 traces
// have no checksums: any damage there is an error, as it always was.
#include "profiler/trace/reader.h"

#include "common/error.h"
#include "profiler/trace/checksum.h"
#include "profiler/trace/encoding.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fmt/std.h>
#include <unistd.h>
#include <zstd.h>

namespace memopt::trace {
namespace {

bool is_chunk_tag(std::uint8_t byte) { return byte == kChunkTag || byte == kCompressedChunkTag; }

// The first byte in [from, end) that may start a chunk, or `end`.
const std::uint8_t* find_chunk_tag(const std::uint8_t* from, const std::uint8_t* end) {
    return std::find_if(from, end, is_chunk_tag);
}

} // namespace

void TraceReader::FreeDecompressor::operator()(ZSTD_DCtx_s* context) const { ZSTD_freeDCtx(context); }

// Where the chunk starting at buffer_[at] ends. kNeedMore: not all of it is in the buffer
// yet (`header` + `length` then say how much is needed, as far as known).
TraceReader::Framing TraceReader::frame_at(std::size_t at, std::size_t& header, std::uint64_t& length) const {
    header = 1 + kMaxVarintSize;
    length = 0;
    if (at >= buffer_end_) return Framing::kNeedMore;
    ByteCursor cursor{buffer_.data() + at, buffer_.data() + buffer_end_};
    std::uint8_t tag = 0;
    cursor.byte(tag);
    // Compressed chunks came with checksums (version 2): a version-1 file has none.
    if (tag != kChunkTag && !(checksummed_ && tag == kCompressedChunkTag)) return Framing::kInvalid;
    if (!cursor.varint(length)) {
        length = 0;
        return buffer_end_ - at >= 1 + kMaxVarintSize ? Framing::kInvalid : Framing::kNeedMore;
    }
    // The smallest body is two one-byte varints (tid, first_seq).
    const std::uint64_t smallest = 2 + (checksummed_ ? kChecksumSize : 0);
    if (length > kMaxChunkPayload || (checksummed_ && length < smallest)) return Framing::kInvalid;
    header = static_cast<std::size_t>(cursor.cursor - (buffer_.data() + at));
    return buffer_end_ - at >= header + length ? Framing::kComplete : Framing::kNeedMore;
}

bool TraceReader::verifies(std::size_t at, std::size_t header, std::uint64_t length) const {
    if (!checksummed_) return true;
    const std::uint8_t* field = buffer_.data() + at + header;
    return get_checksum(field) == chunk_checksum(length, field + kChecksumSize, static_cast<std::size_t>(length) - kChecksumSize);
}

void TraceReader::advance(std::size_t bytes) {
    buffer_begin_ += bytes;
    offset_ += bytes;
}

// Makes at least `needed` bytes available from buffer_begin_; false when the file ends first.
bool TraceReader::fill_buffer(std::size_t needed) {
    while (buffer_end_ - buffer_begin_ < needed) {
        if (eof_) return false;
        const std::size_t available = buffer_end_ - buffer_begin_;
        std::memmove(buffer_.data(), buffer_.data() + buffer_begin_, available);
        buffer_begin_ = 0;
        buffer_end_ = available;
        if (needed > buffer_.size()) buffer_.resize(needed);
        const ssize_t n = ::read(fd_, buffer_.data() + buffer_end_, buffer_.size() - buffer_end_);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(fmt::format("cannot read trace {}: {}", path_, std::strerror(errno)));
        }
        if (n == 0) eof_ = true;
        buffer_end_ += static_cast<std::size_t>(n);
    }
    return true;
}

// Finds the next chunk that verifies and makes it the one being decoded. False at end of file.
bool TraceReader::read_chunk() {
    for (;;) {
        std::size_t header = 0;
        std::uint64_t length = 0;
        Framing framing = frame_at(buffer_begin_, header, length);
        while (framing == Framing::kNeedMore) {
            const bool filled = fill_buffer(header + static_cast<std::size_t>(length));
            framing = frame_at(buffer_begin_, header, length);
            if (!filled) break; // the file ends: look at what is there
        }
        if (framing == Framing::kComplete && verifies(buffer_begin_, header, length)) {
            if (skipping_) end_skip(false);
            const std::size_t body = header + (checksummed_ ? kChecksumSize : 0);
            const std::size_t size = header + static_cast<std::size_t>(length);
            const std::uint8_t* start = buffer_.data() + buffer_begin_;
            if (*start == kCompressedChunkTag)
                decode_compressed_chunk(start + body, size - body, offset_);
            else
                start_chunk(start + body, size - body, offset_);
            decoded_bytes_ += size;
            advance(size);
            return true;
        }
        if (buffer_begin_ == buffer_end_) { // end of file, between chunks
            if (skipping_) end_skip(true);
            return false;
        }
        const bool incomplete = framing == Framing::kNeedMore; // the file ends inside it
        if (!checksummed_) {
            if (incomplete) {
                truncated_ = true;
                return false;
            }
            corrupt(offset_, "not a valid chunk (bad tag or length)");
        }
        if (!skipping_) {
            begin_skip(incomplete);
            // A bad checksum with an intact length (a flipped payload bit, the usual damage):
            // the next chunk starts at the stated end.
            const std::size_t size = header + static_cast<std::size_t>(length);
            if (framing == Framing::kComplete && verified_chunk_follows(size)) {
                advance(size);
                end_skip(false);
                continue;
            }
        }
        // Resynchronise: the next chunk tag after this byte is the next candidate.
        const std::uint8_t* here = buffer_.data() + buffer_begin_;
        advance(static_cast<std::size_t>(find_chunk_tag(here + 1, buffer_.data() + buffer_end_) - here));
    }
}

// A verified compressed chunk's body: tid, first_seq, the records' size and their zstd frame.
// It is decoded as the plain body it stands for (tid, first_seq, records), inflated into one
// reused buffer; error offsets inside it count from the chunk's start as if it were plain.
void TraceReader::decode_compressed_chunk(const std::uint8_t* data, std::size_t size, std::uint64_t chunk_offset) {
    ByteCursor in{data, data + size};
    std::uint64_t tid = 0, first_seq = 0, records_size = 0;
    if (!in.varint(tid) || !in.varint(first_seq)) corrupt(chunk_offset, "bad chunk header");
    const std::size_t ids_size = static_cast<std::size_t>(in.cursor - data);
    if (!in.varint(records_size)) corrupt(chunk_offset, "bad chunk header");
    if (records_size > kMaxChunkPayload) corrupt(chunk_offset, "compressed chunk larger than any chunk may be");
    if (!decompressor_) decompressor_.reset(ZSTD_createDCtx());
    if (!decompressor_) throw Error(fmt::format("cannot read trace {}: out of memory for decompression", path_));
    inflated_.resize(ids_size + static_cast<std::size_t>(records_size));
    std::memcpy(inflated_.data(), data, ids_size);
    const std::size_t got = ZSTD_decompressDCtx(decompressor_.get(), inflated_.data() + ids_size,
                                                static_cast<std::size_t>(records_size), in.cursor,
                                                static_cast<std::size_t>(in.end - in.cursor));
    if (ZSTD_isError(got) || got != records_size) corrupt(chunk_offset, "compressed chunk does not decompress");
    start_chunk(inflated_.data(), inflated_.size(), chunk_offset);
}

// True when, `size` bytes after buffer_begin_, a chunk begins that verifies, or one the file
// ends inside, or the file ends.
bool TraceReader::verified_chunk_follows(std::size_t size) {
    for (;;) {
        std::size_t header = 0;
        std::uint64_t length = 0;
        const Framing framing = frame_at(buffer_begin_ + size, header, length);
        if (framing == Framing::kComplete) return verifies(buffer_begin_ + size, header, length);
        if (framing == Framing::kInvalid) return false;
        if (!fill_buffer(size + header + static_cast<std::size_t>(length)))
            return frame_at(buffer_begin_ + size, header, length) == Framing::kNeedMore; // cut off, or the end
    }
}

void TraceReader::begin_skip(bool incomplete) {
    skipping_ = true;
    skip_started_incomplete_ = incomplete;
    SkippedChunk skipped;
    skipped.offset = offset_;
    skipped.image = current_image();
    // The damaged chunk's own thread and first number, when its header parses: they bound
    // which sequence numbers went missing with it (a hint, not trusted for anything else).
    std::size_t header = 0;
    std::uint64_t length = 0;
    if (frame_at(buffer_begin_, header, length) != Framing::kInvalid && length > kChecksumSize) {
        const std::size_t body = std::min(buffer_begin_ + header + kChecksumSize, buffer_end_);
        ByteCursor in{buffer_.data() + body, buffer_.data() + buffer_end_};
        skipped.header_known = in.varint(skipped.tid) && in.varint(skipped.first_seq);
    }
    metadata_.skipped.push_back(skipped);
    skip_range_end_.push_back(~0ull);
}

void TraceReader::end_skip(bool at_eof) {
    skipping_ = false;
    SkippedChunk& skipped = metadata_.skipped.back();
    skipped.bytes = offset_ - skipped.offset;
    skipped.truncated_tail = at_eof && skip_started_incomplete_;
    if (skipped.truncated_tail) truncated_ = true;
}

// A verified chunk of thread `tid` starting at `first_seq`: the earlier skipped chunks of the
// same thread and image held numbers below it.
void TraceReader::bound_skipped_ranges(std::uint64_t tid, std::uint64_t first_seq) {
    const std::uint32_t image = current_image();
    for (std::size_t i = 0; i < metadata_.skipped.size(); ++i) {
        const SkippedChunk& skipped = metadata_.skipped[i];
        if (skip_range_end_[i] != ~0ull || !skipped.header_known || skipped.image != image) continue;
        if (skipped.tid == tid && first_seq > skipped.first_seq) skip_range_end_[i] = first_seq;
    }
}

} // namespace memopt::trace
