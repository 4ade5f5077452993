// libFuzzer entry point (clang -fsanitize=fuzzer,address,undefined; see scripts/fuzz.sh).
// MEMOPT_FUZZ_TARGET selects the reader: trace (default), summary or profile.
#include "common/error.h"
#include "tests/trace/fuzz/fuzz_targets.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const memopt::fuzz::Target target = [] {
        const char* name = std::getenv("MEMOPT_FUZZ_TARGET");
        return memopt::fuzz::parse_target(name ? name : "trace");
    }();
    try {
        memopt::fuzz::run_one(target, data, size);
    } catch (const memopt::Error&) {
        // rejected with a clear error: fine. Anything else escapes and libFuzzer reports it.
    }
    return 0;
}
