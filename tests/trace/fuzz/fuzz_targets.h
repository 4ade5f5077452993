#pragma once
// The inputs memopt reads from files it did not write itself, as fuzz targets: each takes
// arbitrary bytes and must either succeed or throw memopt::Error (a clear one-line error).
// Anything else (another exception, a crash, a hang, unbounded memory) is a finding.
// The same functions back the bounded in-test fuzzer (fuzz_main.cpp) and, built with
// clang -fsanitize=fuzzer, libFuzzer (libfuzzer_entry.cpp, scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memopt::fuzz {

// kTraceResealed: a trace whose chunks get their checksums recomputed after mutation, so
// that mutated bytes reach the record decoders instead of stopping at the checksum.
enum class Target { kTrace, kTraceResealed, kSummary, kProfile };

Target parse_target(std::string_view name);
std::string_view target_name(Target target);

// Runs one input: returns on success, throws memopt::Error on input it rejects (expected);
// any other exception escaping is a finding.
void run_one(Target target, const std::uint8_t* data, std::size_t size);

// Valid inputs that exercise every record type / field: the mutation starting points.
std::vector<std::vector<std::uint8_t>> seeds(Target target);

} // namespace memopt::fuzz
