#include "reports/analysis/summary_notes.h"

#include <fmt/format.h>

namespace memopt::reports {
namespace {

std::string note_text(const trace::TracerNoteRecord& note) {
    switch (static_cast<trace::TracerNote>(note.note)) {
    case trace::TracerNote::kStackTableFull:
        return fmt::format("the stack table filled up after {} sampled stacks; later stacks keep only their "
                           "outermost frames, so their sites are cut short (record with a smaller --stack-depth "
                           "or a larger --stacks=N)",
                           note.count);
    case trace::TracerNote::kCodeTableFull:
        return fmt::format("the Python code table filled up with {} code objects; frames of code objects seen "
                           "later show as [python] (record with a larger --stacks=N)",
                           note.count);
    }
    return fmt::format("the tracer noted something this memopt does not know (note {}, count {})", note.note,
                       note.count);
}

} // namespace

std::vector<std::string> tracer_note_texts(const trace::TraceMetadata& meta) {
    std::vector<std::string> out;
    for (const auto& note : meta.tracer_notes) {
        std::string text = note_text(note);
        // After exec a file holds several images: say which one it was.
        if (meta.images.size() > 1 && note.image < meta.images.size())
            text += fmt::format(" (in process {}, image {} of {})", meta.images[note.image].pid, note.image + 1,
                                meta.images.size());
        out.push_back(std::move(text));
    }
    // Not lost, so not a warning; but their order is the reader's guess.
    if (meta.late_events > 0)
        out.push_back(fmt::format("{} event{} reached the trace after more than {} later events (a thread's buffer was "
                                  "written that late, e.g. on a loaded machine) and {} handled out of order: figures "
                                  "near them may be off",
                                  meta.late_events, meta.late_events == 1 ? "" : "s", trace::TraceReader::kReorderWindow,
                                  meta.late_events == 1 ? "was" : "were"));
    return out;
}

} // namespace memopt::reports
