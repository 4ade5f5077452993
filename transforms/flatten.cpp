// Pass flatten. Step 4: a heavy package's few used functions (pandas CSV I/O) and the application's helper modules inlined.
// The AST work is python/memopt/transforms/flatten.py.
#include "transforms/passes.h"

namespace memopt::transforms {

PassReport flatten(const PassInput& input) { return run_python_pass("flatten", input); }

} // namespace memopt::transforms
