// The CPython 3.11 knowledge the tracer carries (profiler/preload/python_frames.h,
// python_code.h): its field offsets against Python's own headers, and its reading of the
// location table against the interpreter's own co_positions().
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_frame.h>

#include "profiler/preload/python_code.h"
#include "profiler/preload/python_frames.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <cstddef>
#include <sstream>

namespace py = memopt::preload::py311;

TEST_CASE("python frames: the 3.11 offsets are Python's own") {
    CHECK(py::kThreadStateCFrame == offsetof(PyThreadState, cframe));
    CHECK(py::kCFrameCurrentFrame == offsetof(_PyCFrame, current_frame));
    CHECK(py::kFrameCode == offsetof(_PyInterpreterFrame, f_code));
    CHECK(py::kFramePrevious == offsetof(_PyInterpreterFrame, previous));
    CHECK(py::kFramePrevInstr == offsetof(_PyInterpreterFrame, prev_instr));
    CHECK(py::kFrameIsEntry == offsetof(_PyInterpreterFrame, is_entry));
    CHECK(py::kFrameOwner == offsetof(_PyInterpreterFrame, owner));
    CHECK(py::kFrameOwnedByGenerator == FRAME_OWNED_BY_GENERATOR);
    CHECK(py::kObjectType == offsetof(PyObject, ob_type));
    CHECK(py::kVarObjectSize == offsetof(PyVarObject, ob_size));
    CHECK(py::kCodeFirstLine == offsetof(PyCodeObject, co_firstlineno));
    CHECK(py::kCodeFilename == offsetof(PyCodeObject, co_filename));
    CHECK(py::kCodeName == offsetof(PyCodeObject, co_name));
    CHECK(py::kCodeQualname == offsetof(PyCodeObject, co_qualname));
    CHECK(py::kCodeLinetable == offsetof(PyCodeObject, co_linetable));
    CHECK(py::kCodeFirstTraceable == offsetof(PyCodeObject, _co_firsttraceable));
    CHECK(py::kCodeAdaptive == offsetof(PyCodeObject, co_code_adaptive));
    CHECK(py::kBytesData == offsetof(PyBytesObject, ob_sval));
    CHECK(py::kUnicodeLength == offsetof(PyASCIIObject, length));
    CHECK(py::kAsciiData == sizeof(PyASCIIObject));
    CHECK(py::kCompactData == sizeof(PyCompactUnicodeObject));
    CHECK(PY_VERSION_HEX >> 16 == 0x030B);
}

TEST_CASE("python frames: lines from the location table match co_positions") {
    // Every instruction of a few code objects (one-line, multi-line, long-form and no-line
    // entries): "first_line hex(linetable) line line ..." with 0 for no line.
    const std::string program =
        "import dis, json, textwrap\n"
        "src = textwrap.dedent('''\n"
        "def f(x):\n"
        "    a = [x,\n"
        "         x + 1]\n"
        "    try:\n"
        "        b = {k: v for k, v in zip(a, a)}\n"
        "    except Exception:\n"
        "        raise\n"
        "\n" // long line jumps
        + std::string(300, '\n') +
        "    return (a,\n"
        "            b)\n"
        "''')\n"
        "ns = {}\n"
        "exec(compile(src, 'x.py', 'exec'), ns)\n"
        "for code in (ns['f'].__code__, dis.dis.__code__, textwrap.dedent.__code__):\n"
        "    lines = [p[0] or 0 for p in code.co_positions()]\n"
        "    print(code.co_firstlineno, code.co_linetable.hex(), *lines)\n";
    const auto r = memopt::test::run("/usr/bin/python3 -c " + memopt::test::quote(program));
    REQUIRE(r.status == 0);
    std::istringstream in(r.out);
    int checked = 0;
    for (std::string row; std::getline(in, row); ++checked) {
        std::istringstream fields(row);
        int first_line = 0;
        std::string hex;
        fields >> first_line >> hex;
        std::vector<std::uint8_t> table;
        for (std::size_t i = 0; i + 1 < hex.size(); i += 2) table.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
        int instruction = 0;
        for (std::uint32_t expected; fields >> expected; ++instruction) {
            INFO("row " << checked << " instruction " << instruction);
            CHECK(memopt::preload::line_of_instruction(table.data(), table.size(), first_line, instruction) == expected);
        }
        CHECK(instruction > 10);
    }
    CHECK(checked == 3);
}
