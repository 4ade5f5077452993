#pragma once
// Merging a captured native stack with the thread's Python frames (the slot layout of
// python_frames.h), outermost frame first, for interning into the frame trie.
//
// Each `_PyEval_EvalFrameDefault` native frame ran one group of Python frames: the frames
// from an entry frame (is_entry, the first frame that eval call ran) inward up to the next
// entry frame. The k-th eval-loop frame from the innermost end is matched with the k-th group
// from the innermost end, so the frames nearest the allocation are right even when the two
// counts differ (an eval frame the unwinder did not reach, a frame pushed but not yet run):
// eval frames left without a group keep their native name; groups left without an eval frame
// (outermost ones) are put outermost, unless the native stack was cut, when they are dropped
// with the rest of the cut.
#include "profiler/preload/python_frames.h"

#include <cstdint>

namespace memopt::preload {

// A cut mark closes the slots when the native or the Python part had more frames than kept.
inline constexpr std::uintptr_t kCutSlot = kPythonSlotTag | 2;

struct StackView {
    const std::uintptr_t* natives = nullptr;
    int native_count = 0;
    const std::uintptr_t* python = nullptr; // two slots per frame, innermost first
    int python_count = 0;
    bool cut = false;
};

inline StackView view_of(const std::uintptr_t* slots, int count) noexcept {
    StackView view;
    view.natives = slots;
    while (view.native_count < count && !(slots[view.native_count] & kPythonSlotTag)) ++view.native_count;
    int end = count;
    if (end - view.native_count >= 2 && slots[end - 2] == kCutSlot) {
        view.cut = true;
        end -= 2;
    }
    view.python = slots + view.native_count;
    view.python_count = (end - view.native_count) / 2;
    return view;
}

struct HybridFrame {
    bool python;
    std::uintptr_t value; // native: instruction pointer; Python: code object address
    int instruction;      // Python: instruction index
};

class HybridWalk {
  public:
    explicit HybridWalk(const StackView& view) noexcept : view_(view) {
        for (int i = 0; i < view.native_count && view.python_count > 0; ++i) evals_ += in_eval_loop(view.natives[i]);
        for (int p = 0; p < view.python_count; ++p) groups_ += entry(p);
        if (view.python_count > 0 && !entry(view.python_count - 1)) ++groups_; // unterminated
    }

    // Calls visit(const HybridFrame&) for every frame, outermost first.
    template <typename Visit>
    void run(Visit&& visit) const noexcept {
        int p = view_.python_count - 1;
        int groups = groups_;
        for (; groups > evals_; --groups) emit_group(p, visit, !view_.cut);
        int eval = evals_;
        for (int i = view_.native_count - 1; i >= 0; --i) {
            const std::uintptr_t ip = view_.natives[i];
            const bool replaced = view_.python_count > 0 && in_eval_loop(ip) && --eval < groups;
            if (replaced) emit_group(p, visit, true);
            else visit(HybridFrame{false, ip, 0});
        }
    }

    bool matched() const noexcept { return evals_ == groups_; }

  private:
    bool entry(int p) const noexcept { return (view_.python[2 * p] & kPythonEntryBit) != 0; }

    // The group whose outermost frame is p, moving p past it.
    template <typename Visit>
    void emit_group(int& p, Visit& visit, bool shown) const noexcept {
        for (bool first = true; p >= 0 && (first || !entry(p)); --p, first = false) {
            const std::uintptr_t code = view_.python[2 * p] & ~(kPythonSlotTag | 0xf);
            if (shown && code != 0) visit(HybridFrame{true, code, static_cast<int>(view_.python[2 * p + 1])});
        }
    }

    StackView view_;
    int evals_ = 0;
    int groups_ = 0;
};

} // namespace memopt::preload
