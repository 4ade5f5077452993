#pragma once
// Every file memopt writes for the user (reports, profiles, JUnit XML, gate summaries) is
// created here, so one set of rules holds for all of them:
// - the directory must exist and be writable, and the path must not be a directory;
// - an existing file is replaced only with `force`, and only when it is a regular file: a
//   symlink, FIFO, socket or device at the path is refused, never written through (no write
//   into a link's target, no hang on a FIFO);
// - the text goes to a temporary file in the same directory (mkostemp: O_CREAT|O_EXCL,
//   never follows a link), which gets exactly `mode` whatever the umask, and is renamed
//   over the path once complete: a failure (full disk, kill) never leaves a half-written
//   output. Without `force` the rename refuses to replace a file created meanwhile.
// Traces are the exception: `memopt record` streams them (profiler/record/launcher.cpp,
// O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), by the same rules.
#include <filesystem>
#include <string_view>
#include <sys/types.h>

namespace memopt {

// Owner read/write only: outputs can hold command lines, paths and environment details.
inline constexpr mode_t kOutputFileMode = 0600;

// Throws memopt::Error naming `path` when write_output_file(path, ..., force) would refuse
// it. Call it before expensive work (running a command) so a bad output fails first.
void check_output_file(const std::filesystem::path& path, bool force);

// Writes `text` to `path` by the rules above. Throws memopt::Error naming `path`.
void write_output_file(const std::filesystem::path& path, std::string_view text, bool force,
                       mode_t mode = kOutputFileMode);

} // namespace memopt
