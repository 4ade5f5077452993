#include "cli/commands.h"
#include "common/error.h"

namespace memopt::cli {

int run_report(const Args&) { throw Error("'report' is not implemented yet"); }

} // namespace memopt::cli
