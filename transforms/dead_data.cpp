// Pass dead-data. Step 3: unused imports, objects alive after their last use, unread CSV columns.
// The AST work is python/memopt/transforms/dead_data.py.
#include "transforms/passes.h"

namespace memopt::transforms {

PassReport dead_data(const PassInput& input) { return run_python_pass("dead-data", input); }

} // namespace memopt::transforms
