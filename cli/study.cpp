#include "cli/commands.h"
#include "common/error.h"

namespace memopt::cli {

// Not implemented yet: see the open issue for `memopt study`.
int run_study(const Args&) { throw Error("'study' is not implemented yet"); }

} // namespace memopt::cli
