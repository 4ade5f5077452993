#pragma once
// Serves the few allocations dlsym makes while the real allocator's address is still being
// looked up. Its blocks are never freed; free/realloc recognise them by address.
#include <cstddef>

namespace memopt::preload {

void* bootstrap_allocate(std::size_t size) noexcept;
bool is_bootstrap_block(const void* ptr) noexcept;
// Usable size of a bootstrap block (for realloc out of it).
std::size_t bootstrap_block_size(const void* ptr) noexcept;

} // namespace memopt::preload
