#pragma once
// Files memopt reads that it did not write itself (traces, profiles, baselines) are opened
// here first: O_NONBLOCK, so a FIFO given as input cannot block the open, then fstat on the
// open descriptor (no race with a stat before): anything but a regular file is refused.
#include <cstdint>
#include <filesystem>
#include <string>

namespace memopt {

class InputFile {
  public:
    // Throws memopt::Error naming `path` (missing, unreadable, directory, FIFO, device).
    explicit InputFile(const std::filesystem::path& path);
    ~InputFile();
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    std::uint64_t size() const { return size_; }
    // Up to `bytes` bytes from the start (fewer when the file is shorter).
    std::string head(std::size_t bytes);
    // The whole file; throws memopt::Error when it is larger than `max_bytes` (`what` names
    // the kind of file in the message, e.g. "a memopt profile").
    std::string read_all(std::size_t max_bytes, std::string_view what);

  private:
    std::string read_up_to(std::size_t bytes);
    std::filesystem::path path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

// InputFile(path) and nothing else: for readers that open the path themselves.
void check_input_file(const std::filesystem::path& path);

} // namespace memopt
