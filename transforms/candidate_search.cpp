#include "transforms/candidate_search.h"

#include <fmt/format.h>

namespace memopt::transforms {

namespace {

// The search's state: what is kept so far (indexes into the candidates) and the verdicts.
class Bisection {
  public:
    Bisection(const std::vector<PassCandidate>& candidates, const TrySubset& try_subset, int max_runs)
        : candidates_(candidates), try_subset_(try_subset), max_runs_(max_runs), result_{} {
        result_.verdicts.resize(candidates.size());
        for (std::size_t i = 0; i < candidates.size(); ++i) result_.verdicts[i].candidate = candidates[i];
    }

    // `group` (indexes, in order) is known to fail on top of what is kept, with `why`.
    void search(const std::vector<std::size_t>& group, const std::string& why) {
        if (group.size() == 1) return drop(group.front(), why);
        const auto middle = group.begin() + static_cast<std::ptrdiff_t>((group.size() + 1) / 2);
        const std::vector<std::size_t> first(group.begin(), middle), second(middle, group.end());
        const Attempt a = attempt(first);
        if (!a.tried) return give_up(group);
        if (a.why.empty()) {
            keep(first);
            return search(second, why); // kept + second is the group that failed: no need to try it
        }
        search(first, a.why);
        const Attempt b = attempt(second);
        if (!b.tried) give_up(second);
        else if (b.why.empty()) keep(second);
        else search(second, b.why);
    }

    SubsetSearch finish() {
        for (std::size_t i = 0; i < candidates_.size(); ++i)
            if (result_.verdicts[i].kept) result_.kept.push_back(candidates_[i].id);
        return result_;
    }

  private:
    struct Attempt {
        bool tried = false;
        std::string why;
    };

    // Tries what is kept plus `group`, unless the cap is reached.
    Attempt attempt(const std::vector<std::size_t>& group) {
        if (result_.tries >= max_runs_) {
            result_.capped = true;
            return {};
        }
        std::vector<bool> in(candidates_.size(), false);
        for (std::size_t i : kept_) in[i] = true;
        for (std::size_t i : group) in[i] = true;
        std::vector<std::string> ids;
        for (std::size_t i = 0; i < candidates_.size(); ++i)
            if (in[i]) ids.push_back(candidates_[i].id);
        ++result_.tries;
        return {true, try_subset_(ids)};
    }

    void keep(const std::vector<std::size_t>& group) {
        for (std::size_t i : group) {
            kept_.push_back(i);
            result_.verdicts[i].kept = true;
            result_.verdicts[i].reason.clear();
        }
    }

    void drop(std::size_t i, const std::string& why) {
        result_.verdicts[i].kept = false;
        result_.verdicts[i].reason = kept_.empty() ? "fails alone: " + why
                                                   : fmt::format("fails with the {} kept: {}", kept_.size(), why);
    }

    void give_up(const std::vector<std::size_t>& group) {
        for (std::size_t i : group)
            result_.verdicts[i].reason = fmt::format("not tried: the search's cap of {} check runs was reached", max_runs_);
    }

    const std::vector<PassCandidate>& candidates_;
    const TrySubset& try_subset_;
    int max_runs_;
    std::vector<std::size_t> kept_;
    SubsetSearch result_;
};

} // namespace

SubsetSearch search_passing_subset(const std::vector<PassCandidate>& candidates, const std::string& why_all,
                                   const TrySubset& try_subset, int max_runs) {
    Bisection bisection(candidates, try_subset, max_runs);
    std::vector<std::size_t> all(candidates.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    if (!all.empty()) bisection.search(all, why_all);
    return bisection.finish();
}

} // namespace memopt::transforms
