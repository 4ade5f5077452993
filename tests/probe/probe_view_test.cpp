// End-to-end tests of what the probe says ran and where import-time memory goes: a package
// runs through its submodules, a compiled module through its C functions, and an allocation
// made by a library module's body while an import runs is charged to the script's `import`
// line, not to importlib's frames.
#include "probe_sandbox.h"

#include <catch2/catch.hpp>

using namespace memopt::probe_tests;

namespace {

const json* never_ran_entry(const json& profile, const std::string& name) {
    for (const auto& m : profile["never_ran"])
        if (m["name"] == name)
            return &m;
    return nullptr;
}

} // namespace

TEST_CASE("a package counts as run when a module under it ran a function") {
    Sandbox box;
    box.write("pkg/__init__.py", "");
    box.write("pkg/sub.py", "def work():\n    return 41 + 1\n");
    box.write("pkg/idle.py", "VALUE = 1\n");
    box.write("quiet/__init__.py", "from . import inner\n");
    box.write("quiet/inner.py", "def unused():\n    return 0\n");
    box.write("uses_pkg.py", "import pkg.sub, pkg.idle, quiet\nprint(pkg.sub.work())\n");
    const Run r = box.probe("-o p.json uses_pkg.py");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "42\n");
    const json p = box.profile();
    const json& pkg = p["modules"]["pkg"];
    CHECK(pkg["ran"] == false); // its own functions: none
    CHECK(pkg["functions_run"] == 0);
    CHECK(pkg["subtree_ran"] == true);
    CHECK(pkg["subtree_functions_run"] == 1);
    CHECK(p["modules"]["pkg.sub"]["subtree_ran"] == true);
    CHECK(p["modules"]["pkg.idle"]["subtree_ran"] == false);
    CHECK(never_ran_entry(p, "pkg") == nullptr);
    CHECK(never_ran_entry(p, "pkg.sub") == nullptr);
    const json* idle = never_ran_entry(p, "pkg.idle");
    REQUIRE(idle != nullptr);
    CHECK(idle->at("subtree_root") == true); // its package ran
    const json* quiet = never_ran_entry(p, "quiet");
    const json* inner = never_ran_entry(p, "quiet.inner");
    REQUIRE(quiet != nullptr);
    REQUIRE(inner != nullptr);
    CHECK(quiet->at("subtree_root") == true);  // no parent
    CHECK(inner->at("subtree_root") == false); // under a never-run package
}

TEST_CASE("a compiled module counts as run when its C functions are called") {
    Sandbox box;
    const Run where = box.run(
        "/usr/bin/python3 -c \"import _json, _uuid; print(_json.__file__, _uuid.__file__)\"");
    REQUIRE(where.status == 0);
    REQUIRE(where.out.find("_json.cpython") !=
            std::string::npos); // extension modules on this Python
    REQUIRE(where.out.find("_uuid.cpython") != std::string::npos);
    box.write("c_call.py", "import _json, _uuid\nprint(_json.encode_basestring_ascii('x'))\n");
    const Run r = box.probe("-o p.json c_call.py");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "\"x\"\n");
    const json p = box.profile();
    REQUIRE(p["modules"]["_json"]["preloaded"] == false);
    CHECK(p["modules"]["_json"]["ran"] == true);
    CHECK(p["modules"]["_json"]["functions_run"] == 1);
    CHECK(p["modules"]["_json"]["functions_run_after_import"] == 1);
    CHECK(never_ran_entry(p, "_json") == nullptr);
    CHECK(p["modules"]["_uuid"]["ran"] == false);
    CHECK(never_ran_entry(p, "_uuid") != nullptr);
}

TEST_CASE("memory allocated by a library's module body is charged to the script's import line") {
    Sandbox box;
    // A library (under site-packages, so not user code) whose import nests 12 modules deep,
    // the innermost allocating 8 MB in its body: ~90 frames with importlib's, 13 without.
    for (int i = 0; i < 12; ++i)
        box.write("site-packages/deeplib/m" + std::to_string(i) + ".py",
                  i < 11 ? "from . import m" + std::to_string(i + 1) + "\n"
                         : "import numpy\nBLOB = bytearray(8_000_000)\n");
    box.write("site-packages/deeplib/__init__.py", "from . import m0\n");
    box.write("deep_import.py", "import sys\nsys.path.insert(0, 'site-packages')\nimport "
                                "deeplib\nprint(len(deeplib.m0.m1.m2.m3.m4"
                                ".m5.m6.m7.m8.m9.m10.m11.BLOB))\n");
    const Run r = box.probe("-o p.json deep_import.py");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "8000000\n");
    const json p = box.profile();
    const json& top = p["peak"]["top_lines"].at(0);
    CHECK(fs::path(top["file"].get<std::string>()).filename() == "deep_import.py");
    CHECK(top["line"] == 3);
    CHECK(top["code"] == "import deeplib");
    CHECK(top["user_code"] == true);
    CHECK(top["allocated_at"].get<std::string>().ends_with("deeplib/m11.py:2"));
    CHECK(top["bytes"].get<double>() >= 7e6);
    for (const auto& line : p["peak"]["top_lines"]) {
        INFO(line.dump());
        CHECK(line["file"].get<std::string>().find("importlib") == std::string::npos);
        CHECK(line["allocated_at"].get<std::string>().find("<frozen importlib") ==
              std::string::npos);
    }
}

TEST_CASE("the probe's own start-up is not charged to the script") {
    // Every allocation recorded and every line listed: the probe's Python side, loaded before
    // the script, imports with no frame but importlib's; its rows used to show up (rarely at
    // the default rate, always here) as `<frozen importlib._bootstrap>` lines.
    for (const char* mode : {"--sample-bytes 1", "--tracemalloc"}) {
        Sandbox box;
        box.write("small.py", "DATA = [bytes(50_000) for _ in range(100)]\n");
        const Run r = box.probe(std::string("-o p.json --top 100000 ") + mode + " small.py");
        INFO(mode << "\n" << r.err);
        REQUIRE(r.status == 0);
        const json p = box.profile();
        REQUIRE(!p["peak"]["top_lines"].empty());
        for (const auto& line : p["peak"]["top_lines"]) {
            INFO(line.dump());
            CHECK(line["file"].get<std::string>().find("importlib") == std::string::npos);
        }
    }
}

TEST_CASE("the probe does not load a module that LazyLoader left lazy") {
    Sandbox box;
    box.write("lazy.py",
              "import atexit, importlib.util, sys\n"
              "spec = importlib.util.find_spec('colorsys')\n"
              "spec.loader = importlib.util.LazyLoader(spec.loader)\n"
              "module = importlib.util.module_from_spec(spec)\n"
              "sys.modules['colorsys'] = module\n"
              "spec.loader.exec_module(module)\n"
              "atexit.register(lambda: print(type(sys.modules['colorsys']).__name__))\n");
    const Run plain = box.run("/usr/bin/python3 lazy.py");
    REQUIRE(plain.status == 0);
    REQUIRE(plain.out == "_LazyModule\n");
    const Run r = box.probe("-o p.json lazy.py");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == plain.out); // still lazy when the results were collected
    CHECK(
        box.profile()["modules"]["colorsys"]["file"].get<std::string>().ends_with("/colorsys.py"));
}
