#include "cli/commands.h"
#include "common/error.h"

namespace memopt::cli {

// Not implemented yet: see the open issue for `memopt gate`.
int run_gate(const Args&) { throw Error("'gate' is not implemented yet"); }

} // namespace memopt::cli
