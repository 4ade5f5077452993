// Merging native and Python frames (profiler/preload/hybrid_stack.h) on made-up stacks: which
// eval-loop frame each group of Python frames replaces, when the counts agree and when not.
#include "profiler/preload/hybrid_stack.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

using namespace memopt::preload;

constexpr std::uintptr_t kEval = 0x5000; // inside the pretend eval loop [0x4000, 0x6000)

struct PyFrame {
    std::uintptr_t code; // 16-aligned, as code objects are; 0: not started
    bool entry;
};

// Natives innermost first, then Python frames innermost first, then the cut mark if asked.
std::vector<std::uintptr_t> slots(const std::vector<std::uintptr_t>& natives, const std::vector<PyFrame>& python,
                                  bool cut = false) {
    std::vector<std::uintptr_t> out = natives;
    for (const auto& frame : python) {
        out.push_back(kPythonSlotTag | frame.code | (frame.entry ? kPythonEntryBit : 0));
        out.push_back(7);
    }
    if (cut) out.insert(out.end(), {kCutSlot, 0});
    return out;
}

// Outermost first: "n<hex>" for a native frame, "p<hex>" for a Python frame.
std::string merged(const std::vector<std::uintptr_t>& s) {
    set_eval_loop_for_tests(0x4000, 0x6000);
    std::string out;
    const HybridWalk walk(view_of(s.data(), static_cast<int>(s.size())));
    walk.run([&](const HybridFrame& frame) {
        out += (frame.python ? "p" : "n") + std::to_string(frame.value) + " ";
        if (frame.python) CHECK(frame.instruction == 7);
    });
    set_eval_loop_for_tests(0, 0);
    return out;
}

} // namespace

TEST_CASE("hybrid stacks: each eval-loop frame is replaced by the Python frames it ran") {
    // main -> eval(module, f) -> C call -> eval(g) -> malloc
    const auto s = slots({1, kEval, 2, kEval, 3}, {{48, true}, {32, false}, {16, true}});
    CHECK(merged(s) == "n3 p16 p32 n2 p48 n1 ");
}

TEST_CASE("hybrid stacks: a frame pushed but not started keeps its group boundary only") {
    const auto s = slots({1, kEval, 2, kEval, 3}, {{0, true}, {16, true}});
    CHECK(merged(s) == "n3 p16 n2 n1 ");
}

TEST_CASE("hybrid stacks: more eval frames than groups leave the outer ones native") {
    const auto s = slots({1, kEval, 2, kEval, 3}, {{16, true}});
    CHECK(merged(s) == std::string("n3 n") + std::to_string(kEval) + " n2 p16 n1 ");
}

TEST_CASE("hybrid stacks: groups without an eval frame go outermost, or are dropped with a cut") {
    const auto s = slots({1, kEval, 3}, {{16, true}, {32, true}});
    CHECK(merged(s) == "p32 n3 p16 n1 ");
    CHECK(merged(slots({1, kEval, 3}, {{16, true}, {32, true}}, true)) == "n3 p16 n1 ");
    CHECK(view_of(s.data(), static_cast<int>(s.size())).cut == false);
}

TEST_CASE("hybrid stacks: without Python frames the native stack is untouched") {
    CHECK(merged(slots({1, kEval, 3}, {})) == std::string("n3 n") + std::to_string(kEval) + " n1 ");
}
