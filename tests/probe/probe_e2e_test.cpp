// End-to-end tests: `memopt probe` on small scripts written for the purpose, checked against
// what is known to be true (a 50 MB array, a module never used, exit statuses, python3 itself).
#include "probe_sandbox.h"

#include <catch2/catch.hpp>

using namespace memopt::probe_tests;

TEST_CASE("a known import shows up with a plausible cost") {
    Sandbox box;
    box.write("uses_json.py", "import json\nimport numpy\nprint(json.dumps([1, 2]))\n");
    const Run r = box.probe("-o p.json -- uses_json.py");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "[1, 2]\n");
    const json p = box.profile();
    CHECK(p["schema"] == "memopt.profile/1");
    const json& json_module = p["modules"]["json"];
    REQUIRE(!json_module["import_id"].is_null());
    CHECK(json_module["ran"] == true);
    CHECK(json_module["cumulative"]["time_s"].get<double>() > 0);
    // Sampled (one sample per ~256 KiB): json's ~100 kB may get no sample; numpy's MBs do.
    CHECK(json_module["cumulative"]["traced_bytes"].get<double>() >= 0);
    CHECK(json_module["cumulative"]["traced_bytes"].get<double>() < 10e6);
    CHECK(json_module["imported_by"] == "__main__");
    const json& numpy = p["modules"]["numpy"];
    CHECK(numpy["cumulative"]["rss_bytes"].get<double>() > 5e6);
    CHECK(numpy["cumulative"]["traced_bytes"].get<double>() > 1e6);
    CHECK(numpy["cumulative"]["rss_bytes"].get<double>() < 200e6);
    CHECK(p["modules"]["json.decoder"]["parent_import"] == "json");
    // Every allocation tracked: json's own bytes are seen.
    REQUIRE(box.probe("-f -o p.json --sample-bytes 1 -- uses_json.py").status == 0);
    const json exact = box.profile();
    CHECK(exact["modules"]["json"]["cumulative"]["traced_bytes"].get<double>() > 10e3);
    CHECK(exact["modules"]["json"]["cumulative"]["traced_bytes"].get<double>() < 10e6);
}

TEST_CASE("import totals add up to the growth during imports") {
    Sandbox box;
    box.write("imports.py", "import json, csv, decimal\n");
    // Every allocation tracked: these imports allocate a few hundred kB, which the default
    // sampling (one sample per ~256 KiB, random) can miss entirely (CI saw traced_bytes 0).
    REQUIRE(box.probe("-o p.json --sample-bytes 1 imports.py").status == 0);
    const json p = box.profile();
    double own_rss = 0, own_traced = 0, own_time = 0;
    for (const auto& node : p["imports"]["tree"]) {
        own_rss += node["own"]["rss_bytes"].get<double>();
        own_traced += node["own"]["traced_bytes"].get<double>();
        own_time += node["own"]["time_s"].get<double>();
    }
    const json& total = p["imports"]["total"];
    CHECK(own_rss == Approx(total["rss_bytes"].get<double>()).margin(1));
    CHECK(own_traced == Approx(total["traced_bytes"].get<double>()).margin(1));
    CHECK(own_time == Approx(total["time_s"].get<double>()).margin(1e-6));
    CHECK(total["traced_bytes"].get<double>() > 0);
}

TEST_CASE("a module imported and never used is listed as never run") {
    Sandbox box;
    box.write("unused.py", "import colorsys\nimport json\nprint(json.dumps({}))\n");
    REQUIRE(box.probe("-o p.json unused.py").status == 0);
    const json p = box.profile();
    CHECK(p["modules"]["colorsys"]["ran"] == false);
    CHECK(p["modules"]["colorsys"]["functions_run"] == 0);
    CHECK(p["modules"]["json"]["ran"] == true);
    bool listed = false;
    for (const auto& m : p["never_ran"]) {
        if (m["name"] == "colorsys") listed = true;
        CHECK(m["name"] != "json");
    }
    CHECK(listed);
}

TEST_CASE("a line allocating a 50 MB numpy array is the top line") {
    Sandbox box;
    box.write("big.py", "import numpy as np\nsmall = [bytes(100) for _ in range(1000)]\n"
                        "keep = np.ones(50_000_000 // 8)\nprint(keep.nbytes)\n");
    const Run r = box.probe("-o p.json big.py");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const json p = box.profile();
    const json& top = p["peak"]["top_lines"].at(0);
    CHECK(fs::path(top["file"].get<std::string>()).filename() == "big.py");
    CHECK(top["line"] == 3);
    CHECK(top["bytes"].get<double>() >= 50e6);
    CHECK(top["code"] == "keep = np.ones(50_000_000 // 8)");
    bool array_row = false;
    for (const auto& row : p["peak"]["census"]["types"])
        if (row["type"] == "numpy.ndarray") {
            array_row = true;
            CHECK(row["bytes"].get<double>() >= 50e6);
        }
    CHECK(array_row);
    CHECK(p["peak_rss_bytes"].get<double>() > 50e6);
}

TEST_CASE("an uncaught exception keeps its exit status and still yields a profile") {
    Sandbox box;
    box.write("fails.py", "print('before')\nraise ValueError('boom')\n");
    const Run r = box.probe("-o p.json fails.py");
    CHECK(r.status == 1);
    CHECK(r.out == "before\n");
    CHECK(r.err.find("Traceback (most recent call last)") != std::string::npos);
    CHECK(r.err.find("ValueError: boom") != std::string::npos);
    CHECK(r.err.find("_probe.py") == std::string::npos); // the probe's frames are not shown
    CHECK(box.profile()["exit_status"] == 1);
}

TEST_CASE("sys.exit(N) becomes memopt's exit status") {
    Sandbox box;
    box.write("exits.py", "import sys\nsys.exit(3)\n");
    CHECK(box.probe("-o p.json exits.py").status == 3);
    CHECK(box.profile()["exit_status"] == 3);
}

TEST_CASE("a missing script is a one-line error and exit 2") {
    Sandbox box;
    const Run r = box.probe("-o p.json -- nope.py");
    CHECK(r.status == 2);
    CHECK(r.err == "memopt probe: script 'nope.py' not found\n");
    CHECK(!fs::exists(box.dir() / "p.json"));
}

TEST_CASE("an interpreter given as the script is a one-line error and exit 2") {
    Sandbox box;
    box.write("ok.py", "pass\n");
    const Run r = box.probe("-o p.json -- /usr/bin/python3 ok.py");
    CHECK(r.status == 2);
    CHECK(r.err == "memopt probe: '/usr/bin/python3' is a compiled program, not a Python script: the probe runs "
                   "the script in its own Python (memopt probe [options] -- SCRIPT.py ARGS...)\n");
    CHECK(!fs::exists(box.dir() / "p.json"));
}

TEST_CASE("an existing profile is not overwritten without --force") {
    Sandbox box;
    box.write("ok.py", "pass\n");
    box.write("p.json", "{}");
    CHECK(box.probe("-o p.json ok.py").status == 2);
    CHECK(slurp(box.dir() / "p.json") == "{}");
    CHECK(box.probe("--force -o p.json ok.py").status == 0);
    CHECK(box.profile()["schema"] == "memopt.profile/1");
}

TEST_CASE("the script sees what python3 SCRIPT shows it") {
    Sandbox box;
    box.write("env.py", "import sys, json\nprint(json.dumps({'argv': sys.argv, 'exe': sys.executable, "
                        "'path': [p for p in sys.path if 'memopt' not in p and not p.endswith('/python')], "
                        "'opt': sys.flags.optimize, 'x': sorted(sys._xoptions), 'main': __name__, 'file': __file__}))\n");
    const Run r = box.probe("-o p.json --optimize 1 -X dev -- env.py a 'b c'");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const Run plain = box.run("/usr/bin/python3 -O -X dev env.py a 'b c'");
    REQUIRE(plain.status == 0);
    const json seen = json::parse(r.out), expected = json::parse(plain.out);
    CHECK(seen["argv"] == expected["argv"]);
    CHECK(seen["exe"] == "/usr/bin/python3");
    CHECK(seen["path"] == expected["path"]);
    CHECK(seen["opt"] == 1);
    CHECK(seen["x"] == expected["x"]);
    CHECK(seen["main"] == "__main__");
    CHECK(seen["file"] == expected["file"]);
    const Run hash = box.run("/usr/bin/python3 -O -X dev env.py a 'b c' | sha256sum | cut -c1-64");
    CHECK(box.profile()["stdout"]["sha256"] == hash.out.substr(0, 64));
}

TEST_CASE("phase markers give per-phase peaks") {
    Sandbox box;
    box.write("phases.py", "import memopt\nwith memopt.phase('alloc'):\n    data = bytearray(30_000_000)\n"
                           "    data[::4096] = b'x' * len(data[::4096])\ndel data\nwith memopt.phase('idle'):\n    pass\n");
    const Run r = box.probe("-o p.json phases.py");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const json p = box.profile();
    REQUIRE(p["phases"].size() == 2);
    const json& alloc = p["phases"][0];
    CHECK(alloc["name"] == "alloc");
    CHECK(alloc["peak_traced_bytes"].get<double>() >= 30e6);
    CHECK(alloc["peak_rss_bytes"].get<double>() >= alloc["rss_start_bytes"].get<double>() + 25e6);
    CHECK(p["phases"][1]["peak_traced_bytes"].get<double>() < 10e6);
    CHECK(!p["timeline"]["rss_bytes"].empty());
}

TEST_CASE("memopt report renders a profile as text and json") {
    Sandbox box;
    box.write("rep.py", "import colorsys, json\nx = [bytearray(1000) for _ in range(5000)]\n");
    REQUIRE(box.probe("-o p.json rep.py").status == 0);
    const Run text = box.run(std::string(MEMOPT_EXE) + " report p.json --format text");
    INFO(text.err);
    REQUIRE(text.status == 0);
    CHECK(text.out.find("Import tree") != std::string::npos);
    CHECK(text.out.find("never run") != std::string::npos);
    CHECK(text.out.find("colorsys") != std::string::npos);
    CHECK(text.out.find("Top allocating lines") != std::string::npos);
    CHECK(text.out.find("Object census") != std::string::npos);
    const Run js = box.run(std::string(MEMOPT_EXE) + " report p.json --format json");
    REQUIRE(js.status == 0);
    CHECK(json::parse(js.out)["schema"] == "memopt.profile/1");
}

namespace {

const json* line_of(const json& profile, const std::string& file, int line) {
    for (const auto& l : profile["peak"]["top_lines"])
        if (fs::path(l["file"].get<std::string>()).filename() == file && l["line"] == line) return &l;
    return nullptr;
}

} // namespace

TEST_CASE("every allocation (--sample-bytes 1) and exact tracemalloc modes find the 50 MB line") {
    Sandbox box;
    box.write("big.py", "import numpy as np\nsmall = [bytes(100) for _ in range(1000)]\n"
                        "keep = np.ones(50_000_000 // 8)\nprint(keep.nbytes)\n");
    for (const std::string mode : {"--sample-bytes 1", "--tracemalloc", "--tracemalloc=4"}) {
        INFO(mode);
        const Run r = box.probe("-f -o p.json " + mode + " big.py");
        INFO(r.err);
        REQUIRE(r.status == 0);
        const json p = box.profile();
        const bool exact_sampling = mode == "--sample-bytes 1";
        CHECK(p["interpreter"]["allocation_tracking"] == (exact_sampling ? "sampled" : "tracemalloc"));
        CHECK(p["interpreter"]["tracemalloc"] == !exact_sampling);
        if (exact_sampling) {
            CHECK(p["interpreter"]["sampling"]["mean_bytes"] == 1);
            CHECK(p["peak"]["top_lines_estimated"] == false);
        } else {
            CHECK(p["interpreter"]["tracemalloc_frames"] == (mode == "--tracemalloc" ? 16 : 4));
        }
        const json& top = p["peak"]["top_lines"].at(0);
        CHECK(fs::path(top["file"].get<std::string>()).filename() == "big.py");
        CHECK(top["line"] == 3);
        CHECK(top["bytes"].get<double>() >= 50e6);
        CHECK(top["bytes"].get<double>() < 50.1e6); // exact: the array's data (and its header)
        const json* small = line_of(p, "big.py", 2);
        REQUIRE(small != nullptr);
        CHECK(small->at("bytes").get<double>() >= 1000 * 100);
        CHECK(small->at("bytes").get<double>() < 1000 * 200);
    }
}

TEST_CASE("the sampled estimate of known allocations is within 20 percent at the default rate") {
    Sandbox box;
    // 200 numpy arrays of 1 MB (numpy data: PyTraceMalloc_Track) and 20 000 bytearrays of
    // 5 000 bytes (PyObject_Malloc), all kept alive until the end.
    box.write("known.py", "import numpy as np\n"
                          "arrays = [np.ones(125_000) for _ in range(200)]\n"
                          "buffers = [bytearray(5000) for _ in range(20_000)]\n"
                          "print(len(arrays), len(buffers))\n");
    const Run r = box.probe("-o p.json known.py");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const json p = box.profile();
    CHECK(p["interpreter"]["allocation_tracking"] == "sampled");
    CHECK(p["interpreter"]["sampling"]["mean_bytes"] == 256 * 1024);
    CHECK(p["peak"]["top_lines_estimated"] == true);
    const json* arrays = line_of(p, "known.py", 2);
    const json* buffers = line_of(p, "known.py", 3);
    REQUIRE(arrays != nullptr);
    REQUIRE(buffers != nullptr);
    CHECK(arrays->at("bytes").get<double>() == Approx(200e6).epsilon(0.20));
    CHECK(buffers->at("bytes").get<double>() == Approx(100e6).epsilon(0.20));
    CHECK(p["peak_traced_bytes"].get<double>() == Approx(300e6).epsilon(0.20));
}

TEST_CASE("allocation tracking options are checked") {
    Sandbox box;
    box.write("ok.py", "pass\n");
    Run r = box.probe("-o p.json --tracemalloc --sample-bytes 1MiB ok.py");
    CHECK(r.status == 2);
    CHECK(r.err.find("exclude each other") != std::string::npos);
    r = box.probe("-o p.json --sample-bytes 0 ok.py");
    CHECK(r.status == 2);
    r = box.probe("-o p.json --no-alloc-tracking ok.py");
    CHECK(r.status == 0);
    CHECK(box.profile()["interpreter"]["allocation_tracking"] == "none");
}
