#include "cli/commands.h"
#include "common/error.h"

namespace memopt::cli {

// Not implemented yet: see the open issue for `memopt optimize`.
int run_optimize(const Args&) { throw Error("'optimize' is not implemented yet"); }

} // namespace memopt::cli
