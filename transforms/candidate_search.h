#pragma once
// The candidate-subset search of the optimize loop (docs/optimize.md, "Candidate-subset
// search"): a rewrite pass may list the independent edits it makes ("candidates", largest
// estimated saving first) and write a program applying only a chosen subset (--select). When
// the program applying every candidate fails the differential check, the loop looks for the
// largest subset that passes, by recursive bisection: try the first half (the larger savings)
// on top of what is kept; keep it when it passes, else split it again; then the second half
// the same way; a single candidate that fails on top of what is kept is dropped. Each try is
// one unmeasured check run; the search stops at `max_runs` tries (the candidates not yet
// decided are then dropped, and say so). With k failing candidates among N it makes at most
// about 2*k*log2(N)+2 tries.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace memopt::transforms {

struct PassCandidate {
    std::string id;
    std::uint64_t estimated_saving_bytes = 0;
    std::string what;
};

struct CandidateVerdict {
    PassCandidate candidate;
    bool kept = false;
    std::string reason; // "" when kept; else the difference it caused, or that the cap was reached
};

struct SubsetSearch {
    std::vector<std::string> kept;           // ids of the passing subset, in the pass's order
    std::vector<CandidateVerdict> verdicts;  // one per candidate, in the pass's order
    int tries = 0;                           // check runs made
    bool capped = false;                     // stopped at max_runs
};

// Tries ids (a subset, in the pass's order): "" when its program passes the check, else why not.
using TrySubset = std::function<std::string(const std::vector<std::string>&)>;

// `candidates` in the pass's order; the set of all of them is known to fail with `why_all`.
SubsetSearch search_passing_subset(const std::vector<PassCandidate>& candidates, const std::string& why_all,
                                   const TrySubset& try_subset, int max_runs);

} // namespace memopt::transforms
