#pragma once
// The GNU build-id of each loaded object, read from its PT_NOTE segments in memory (the
// loader has mapped them already), so a report can tell whether the file on disk is still
// the one that ran. No file is opened and nothing is allocated.
#include <link.h>

namespace memopt::preload {

struct ThreadBuffer;

// Appends a kBuildId record for the object `info` describes, after its kModule record; does
// nothing when the object has no NT_GNU_BUILD_ID note. Buffer lock held.
void append_build_id_record(ThreadBuffer& buffer, const dl_phdr_info& info) noexcept;

} // namespace memopt::preload
