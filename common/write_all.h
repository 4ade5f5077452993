#pragma once
// Writes every byte to a descriptor (retrying short writes and EINTR) or throws
// memopt::Error naming `path`; the descriptor is left open for the caller to close.
#include <cstddef>
#include <filesystem>

namespace memopt {

void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& path);

} // namespace memopt
