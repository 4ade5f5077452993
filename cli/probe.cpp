#include "cli/commands.h"
#include "common/error.h"

namespace memopt::cli {

// Not implemented yet: see the open issue for `memopt probe`.
int run_probe(const Args&) { throw Error("'probe' is not implemented yet"); }

} // namespace memopt::cli
