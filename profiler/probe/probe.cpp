// memopt probe: the run, in order. Native sampler and stdout tee start first; then the
// interpreter (configured like /usr/bin/python3), the Python side (python/memopt/_probe.py
// executed into a private namespace), allocation tracking (sampled hooks or tracemalloc),
// the import hook; then the script runs as __main__; then the final snapshot, the results,
// Py_FinalizeEx (atexit handlers still print through the tee) and the profile is written -
// also when the script failed. Exit status: the script's, as `python3 SCRIPT` would return it.
#include "profiler/probe/probe.h"

#include "common/error.h"
#include "common/output_file.h"
#include "common/paths.h"
#include "profiler/probe/alloc_sampler.h"
#include "profiler/probe/code_tracker.h"
#include "profiler/probe/import_frames.h"
#include "profiler/probe/interpreter.h"
#include "profiler/probe/native_module.h"
#include "profiler/probe/process_stats.h"
#include "profiler/probe/profile_builder.h"
#include "profiler/probe/sampler.h"
#include "profiler/probe/stdout_tee.h"

#include <Python.h>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <fmt/std.h>
#include <fstream>
#include <pybind11/embed.h>
#include <sstream>
#include <unistd.h>

namespace py = pybind11;
using nlohmann::json;

namespace memopt::probe {

namespace {

json to_json(py::handle object) {
    if (object.is_none()) return nullptr;
    if (PyBool_Check(object.ptr())) return object.cast<bool>();
    if (PyLong_Check(object.ptr())) return object.cast<long long>();
    if (PyFloat_Check(object.ptr())) return object.cast<double>();
    if (PyUnicode_Check(object.ptr())) {
        Py_ssize_t size = 0;
        const char* utf8 = PyUnicode_AsUTF8AndSize(object.ptr(), &size);
        if (!utf8) {
            PyErr_Clear();
            return "<undecodable>";
        }
        return std::string(utf8, static_cast<std::size_t>(size));
    }
    if (PyDict_Check(object.ptr())) {
        json out = json::object();
        for (auto [key, value] : py::reinterpret_borrow<py::dict>(object))
            out[py::str(key).cast<std::string>()] = to_json(value);
        return out;
    }
    if (PyList_Check(object.ptr()) || PyTuple_Check(object.ptr())) {
        json out = json::array();
        for (auto item : object) out.push_back(to_json(item));
        return out;
    }
    return py::str(object).cast<std::string>();
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("cannot read {}", path));
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

void write_profile(const std::filesystem::path& path, const json& profile, bool force) {
    write_output_file(path, profile.dump(1) + "\n", force);
}

// The Python side, executed into a namespace that is not in sys.modules.
py::dict load_python_side(const std::filesystem::path& package_dir) {
    const auto file = package_dir / "memopt" / "_probe.py";
    const std::string source = read_file(file);
    set_probe_python_file(file.string()); // its import wrapper's frames are import machinery
    py::dict ns;
    ns["__name__"] = "_memopt_probe_py";
    ns["__file__"] = file.string();
    ns["__builtins__"] = py::module_::import("builtins");
    py::object code = py::module_::import("builtins").attr("compile")(py::bytes(source), file.string(), "exec");
    py::module_::import("builtins").attr("exec")(code, ns);
    return ns;
}

} // namespace

std::filesystem::path default_output(const std::filesystem::path& script) {
    return std::filesystem::path(script.stem().string() + ".profile.json");
}

namespace {

// A compiled program given where the script belongs (`memopt probe -- python3 app.py`, the
// way `memopt record` is called) would otherwise be fed to the interpreter as source.
bool is_elf_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    return in.read(magic, sizeof magic) && std::memcmp(magic, "\x7f" "ELF", 4) == 0;
}

void check_script_options(const ProbeOptions& options) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(options.script, ec))
        throw Error(fmt::format("script '{}' not found", options.script.string()));
    if (::access(options.script.c_str(), R_OK) != 0)
        throw Error(fmt::format("script '{}' is not readable", options.script.string()));
    if (is_elf_file(options.script))
        throw Error(fmt::format("'{}' is a compiled program, not a Python script: the probe runs the script in "
                                "its own Python (memopt probe [options] -- SCRIPT.py ARGS...)",
                                options.script.string()));
    if (options.optimize < 0 || options.optimize > 2) throw Error("--optimize must be 0, 1 or 2");
}

void start_alloc_tracking(const ProbeOptions& options) {
    if (options.tracking == AllocTracking::kTracemalloc) {
        py::module_::import("_tracemalloc").attr("start")(options.frames);
        tracemalloc_light_imports(options.frames);
    } else if (options.tracking == AllocTracking::kSampled) {
        alloc_sampler_start(options.sample_bytes);
    }
}

void stop_alloc_sampler(NativeParts& parts) {
    alloc_sampler_stop(); // the hooks stay installed and only forward from now on
    const AllocSamplerStats stats = alloc_sampler_stats();
    parts.alloc_sampler = {{"samples", stats.samples},
                           {"live_samples", stats.live_samples},
                           {"stacks", stats.stacks},
                           {"peak_copies", stats.peak_copies},
                           {"table_bytes", stats.table_bytes}};
}

// Runs the script in the started interpreter with every probe on; returns the Python side's
// results and fills the native parts measured around it.
json run_script_probed(const ProbeOptions& options, const std::filesystem::path& package_dir, Sampler& sampler,
                       NativeParts& parts, int& status) {
    const bool tracemalloc = options.tracking == AllocTracking::kTracemalloc;
    const bool sampled = options.tracking == AllocTracking::kSampled;
    // Tracking starts once the Python side is loaded: its module body's allocations (its
    // imports run with no frame but importlib's) are the probe's, not the script's.
    py::dict side = load_python_side(package_dir);
    start_alloc_tracking(options);
    side["configure"](tracemalloc ? "tracemalloc" : sampled ? "sampled" : "none", options.top);
    parts.python_version = py::module_::import("sys").attr("version").cast<std::string>();
    sampler.start(std::chrono::milliseconds(std::max(1, options.interval_ms)), &sampler_tick,
                  std::max(1, 20 / std::max(1, options.interval_ms)));
    poller_start(sampler, side["peak_snapshot"], options.top, options.tracking);
    if (!options.track_code) side["native"].attr("start_code_tracking") = side["native"].attr("stop_code_tracking");

    parts.script_start_s = now_s();
    parts.rss_at_script_start = rss_bytes();
    parts.traced_at_script_start = side["allocated"]().cast<std::int64_t>();
    side["install_import_hook"]();
    status = side["run_script"](options.script.string(), package_dir.string()).cast<int>();
    side["wait_for_threads"]();
    code_tracking_stop();
    parts.duration_s = now_s() - parts.script_start_s;

    parts.poller = poller_finish();
    sampler.stop();
    if (sampled) stop_alloc_sampler(parts);
    json python;
    try {
        python = to_json(side["results"]());
    } catch (py::error_already_set& e) {
        throw Error(fmt::format("the probe could not collect its results: {}", e.what()));
    }
    parts.code_tracking_bytes = code_tracking_memory_bytes();
    if (tracemalloc) py::module_::import("_tracemalloc").attr("stop")();
    return python;
}

} // namespace

ProbeResult run(const ProbeOptions& options) {
    native_module_anchor();
    check_script_options(options);
    const auto package_dir = python_package_dir();
    check_output_file(options.output, options.force); // fails now, not after the script ran
    const auto output = std::filesystem::absolute(options.output); // the script may chdir

    NativeParts parts;
    parts.options = &options;
    parts.rss_before_python = rss_bytes();

    Sampler sampler;
    StdoutTee tee;
    const bool teeing = tee.start();
    start_interpreter(options);
    int status = 0;
    const json python = run_script_probed(options, package_dir, sampler, parts, status);
    parts.vmhwm = vmhwm_bytes();
    parts.rss = sampler.samples();
    parts.phases = sampler.phases();
    // Like python3: a failure to flush stdout at exit turns a 0 status into 120.
    if (stop_interpreter() < 0 && status == 0) status = 120;
    std::fflush(stdout);
    if (teeing) {
        parts.stdout_sha256 = tee.stop();
        parts.stdout_bytes = tee.bytes();
    }
    parts.exit_status = status;

    json profile = build_profile(python, parts);
    write_profile(output, profile, options.force);
    return {status, options.output};
}

} // namespace memopt::probe
