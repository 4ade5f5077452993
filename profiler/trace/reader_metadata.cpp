// Decoding the records that describe the trace rather than events in it: frames and modules
// (scoped per process image), process starts, the command line, exit status, tracer errors
// and notes.
#include "profiler/trace/reader_chunk.h"

namespace memopt::trace {

// Writer frame ids restart at 1 in every process image: hand out reader ids that are unique
// across the file, so that a frame of one image is never looked up in another's table.
std::uint64_t TraceReader::scoped_frame_id(std::uint64_t writer_id) {
    if (writer_id == 0) return 0; // the root: no frame
    auto [it, inserted] = frame_ids_.try_emplace(writer_id, next_frame_id_);
    if (inserted) ++next_frame_id_;
    return it->second;
}

void TraceReader::decode_frame(Chunk& chunk) {
    const std::uint64_t id = scoped_frame_id(chunk.varint());
    Frame frame;
    frame.parent = scoped_frame_id(chunk.varint());
    frame.ip = chunk.varint();
    frame.image = current_image();
    if (frame.ip == 0) frame.kind = FrameKind::kTruncated;
    metadata_.frames[id] = frame;
}

std::uint64_t TraceReader::scoped_code_id(std::uint64_t writer_id) {
    if (writer_id == 0) return 0; // unknown code
    auto [it, inserted] = code_ids_.try_emplace(writer_id, next_code_id_);
    if (inserted) ++next_code_id_;
    return it->second;
}

void TraceReader::decode_python_code(Chunk& chunk) {
    const std::uint64_t id = scoped_code_id(chunk.varint());
    PythonCode code;
    code.first_line = static_cast<std::uint32_t>(chunk.varint());
    code.file = chunk.text();
    code.name = chunk.text();
    if (id != 0) metadata_.python_code[id] = std::move(code);
}

void TraceReader::decode_python_frame(Chunk& chunk) {
    const std::uint64_t id = scoped_frame_id(chunk.varint());
    Frame frame;
    frame.parent = scoped_frame_id(chunk.varint());
    frame.kind = FrameKind::kPython;
    frame.code = scoped_code_id(chunk.varint());
    frame.line = static_cast<std::uint32_t>(chunk.varint());
    frame.image = current_image();
    metadata_.frames[id] = frame;
}

void TraceReader::decode_module(Chunk& chunk) {
    Module module;
    module.image = current_image();
    module.base = chunk.varint();
    module.path = chunk.text();
    const std::uint64_t count = chunk.varint();
    if (count > chunk.size) chunk.fail("too many segments");
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t vaddr = chunk.varint();
        const std::uint64_t memsz = chunk.varint();
        module.segments.emplace_back(vaddr, memsz);
    }
    metadata_.modules.push_back(std::move(module));
}

// Belongs to the latest module of this image at that base (the module map is written again
// whenever the set of loaded objects changes; each copy is followed by its build-id).
void TraceReader::decode_build_id(Chunk& chunk) {
    const std::uint64_t base = chunk.varint();
    std::string id = chunk.text();
    const std::uint32_t image = current_image();
    for (auto it = metadata_.modules.rbegin(); it != metadata_.modules.rend() && it->image == image; ++it) {
        if (it->base != base) continue;
        it->build_id = std::move(id);
        return;
    }
}

void TraceReader::decode_process_start(Chunk& chunk) {
    ProcessImage image;
    image.pid = chunk.varint();
    image.ppid = chunk.varint();
    image.start_ns = chunk.varint();
    const std::uint8_t origin = chunk.byte();
    metadata_.page_size = chunk.varint();
    metadata_.stack_sample_bytes = chunk.varint();
    if (metadata_.page_size == 0 || metadata_.page_size > (1u << 30)) chunk.fail("bad page size");
    // The launched program adopts the file memopt record made and says kExeced: in a file's
    // first image that means launched. A child's own file says kForked or kSpawned.
    image.origin = static_cast<ProcessOrigin>(origin);
    if (metadata_.images.empty() && image.origin == ProcessOrigin::kExeced) image.origin = ProcessOrigin::kLaunched;
    if (!metadata_.images.empty()) { // exec: decoding waits until the old image's events are out
        next_image_ = std::make_unique<ProcessImage>(image);
        return;
    }
    metadata_.images.push_back(image);
}

// exec: everything of the previous image came first (next() saw to it), then numbering and
// frame ids restart.
void TraceReader::start_new_image() {
    emit_positioned_samples();
    Event event;
    event.type = EventType::kImageStart;
    event.time_ns = next_image_->start_ns;
    event.value = next_image_->pid;
    ready_.push_back(event);
    close_open_gaps();
    run_queue_ = kNoQueue;
    next_seq_ = 0;
    voids_ = {};
    voided_ = 0;
    frame_ids_.clear();
    code_ids_.clear();
    if (chunk_) chunk_->seq = 0; // the chunk the record came in goes on numbering from 0
    metadata_.images.push_back(*next_image_);
    next_image_.reset();
}

void TraceReader::decode_command(Chunk& chunk) {
    const std::uint64_t count = chunk.varint();
    if (count > chunk.size) chunk.fail("too many arguments");
    metadata_.command.clear();
    for (std::uint64_t i = 0; i < count; ++i) metadata_.command.push_back(chunk.text());
}

void TraceReader::decode_exit_status(Chunk& chunk) {
    const std::uint64_t code = chunk.varint();
    metadata_.exit.wall_ns = chunk.varint();
    metadata_.exit.max_rss_kib = chunk.varint();
    const std::uint8_t signaled = chunk.byte();
    metadata_.exit.known = true;
    metadata_.exit.exit_code = static_cast<std::int64_t>(code);
    metadata_.exit.signaled = signaled != 0;
}

void TraceReader::decode_tracer_error(Chunk& chunk) { metadata_.tracer_errors.push_back(chunk.text()); }

void TraceReader::decode_tracer_note(Chunk& chunk) {
    TracerNoteRecord note;
    note.image = current_image();
    note.note = chunk.varint();
    note.count = chunk.varint();
    // Once per note and image; a damaged or hostile trace repeating them costs nothing.
    auto& notes = metadata_.tracer_notes;
    constexpr std::size_t kMaxNotes = 64;
    for (const auto& seen : notes)
        if (seen.image == note.image && seen.note == note.note) return;
    if (notes.size() < kMaxNotes) notes.push_back(note);
}

} // namespace memopt::trace
