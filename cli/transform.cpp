#include "cli/commands.h"
#include "common/error.h"

namespace memopt::cli {

// Not implemented yet: see the open issue for `memopt transform`.
int run_transform(const Args&) { throw Error("'transform' is not implemented yet"); }

} // namespace memopt::cli
