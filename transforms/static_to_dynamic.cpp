// Pass static-to-dynamic. Step 2 of the paper: a tree model loaded whole becomes a per-tree store walked one tree at a time.
// The AST work is python/memopt/transforms/static_to_dynamic.py.
#include "transforms/passes.h"

namespace memopt::transforms {

PassReport static_to_dynamic(const PassInput& input) { return run_python_pass("static-to-dynamic", input); }

} // namespace memopt::transforms
