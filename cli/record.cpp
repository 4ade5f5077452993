#include "cli/commands.h"
#include "common/error.h"

namespace memopt::cli {

int run_record(const Args&) { throw Error("'record' is not implemented yet"); }

} // namespace memopt::cli
