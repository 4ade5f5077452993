// Report-side symbolization (reports/analysis/symbolizer.h, dwarf_resolver.h): source lines
// and inlined frames from DWARF, debug info split out behind a .gnu_debuglink or under a
// .build-id directory, and build-ids that keep a library rebuilt after recording from
// lending its names to the old trace. Each test compiles its program with the system compiler.
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"
#include "reports/analysis/dwarf_resolver.h"
#include "reports/analysis/summary.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

using memopt::test::quote;
using memopt::test::run;
using memopt::test::ScratchDir;
namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// The 1-based line of `source` that holds `marker`.
int line_of(const std::string& source, const std::string& marker) {
    const auto at = source.find(marker);
    REQUIRE(at != std::string::npos);
    return 1 + static_cast<int>(std::count(source.begin(), source.begin() + static_cast<long>(at), '\n'));
}

void shell(const std::string& command) {
    const auto result = run(command + " 2>&1");
    INFO(command << "\n" << result.out);
    REQUIRE(result.status == 0);
}

// Records `program` with every allocation's stack and returns the text report.
memopt::test::RunResult record_and_report(const ScratchDir& dir, const std::string& program) {
    const auto trace = (dir / "t.trace").string();
    shell(fmt::format("cd {} && {} record -o {} --stacks=1 -- {}", quote(dir.path().string()), quote(MEMOPT_BINARY),
                      quote(trace), program));
    return run(fmt::format("{} report {}", quote(MEMOPT_BINARY), quote(trace)));
}

std::string top_site(const fs::path& trace) {
    memopt::reports::SummaryOptions options;
    options.top_sites = 1;
    const auto summary = memopt::reports::summarize_trace(trace, options);
    REQUIRE(summary.top_sites.size() == 1);
    std::string frames;
    for (const auto& frame : summary.top_sites[0].stack) frames += frame + "\n";
    return frames;
}

// A library whose allocating function is static: once stripped, only its debug info names it.
const std::string kLibrarySource = R"(#include <stdlib.h>
void* volatile keep;
static __attribute__((noinline)) void* hidden_allocate(size_t n) {
    void* p = malloc(n); /* ALLOCATE */
    keep = p;
    return p;
}
void lib_entry(void) { hidden_allocate(48u << 20); keep = 0; }
)";

// dlopens LIB and calls its lib_entry: the library need not exist when this is linked. The
// tests give LIB as an absolute path: the module map records the name given to dlopen.
const std::string kLoaderSource = R"(#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char** argv) {
    void* handle = dlopen(argv[1], RTLD_NOW);
    if (!handle) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    void (*entry)(void) = (void (*)(void))dlsym(handle, "lib_entry");
    if (!entry) return 1;
    entry();
    return 0;
}
)";

void build_loader(const ScratchDir& dir) {
    write_file(dir / "loader.c", kLoaderSource);
    shell(fmt::format("cc -O1 -o {} {} -ldl", quote((dir / "loader").string()), quote((dir / "loader.c").string())));
}

} // namespace

TEST_CASE("symbols: an always-inline allocating helper is its own frame with its source line") {
    ScratchDir dir("symbols-inline");
    const std::string source = R"(#include <cstdlib>
#include <cstddef>
char* volatile keep;
static inline __attribute__((always_inline)) char* make_block(std::size_t n) {
    char* p = static_cast<char*>(std::malloc(n)); // ALLOCATE
    if (p) p[0] = 1;
    return p;
}
__attribute__((noinline)) char* build(std::size_t n) {
    char* p = make_block(n); // INLINED HERE
    return p;
}
int main(int argc, char**) {
    keep = build(std::size_t{64} << 20 << (argc - 1)); // CALL BUILD
    return keep[0] == 1 ? 0 : 1;
}
)";
    write_file(dir / "inline_site.cpp", source);
    shell(fmt::format("c++ -g -O2 -o {} {}", quote((dir / "inline_site").string()), quote((dir / "inline_site.cpp").string())));
    const auto report = record_and_report(dir, "./inline_site");
    INFO(report.out << report.err);
    REQUIRE(report.status == 0);
    const std::string allocate = fmt::format("inline_site.cpp:{}", line_of(source, "ALLOCATE"));
    const std::string inlined_at = fmt::format("inline_site.cpp:{}", line_of(source, "INLINED HERE"));
    // make_block has internal linkage: no linkage name in its DWARF, so no parameter list.
    CHECK(report.out.find("make_block " + allocate + " (inline_site)") != std::string::npos);
    CHECK(report.out.find(inlined_at) != std::string::npos);

    // Innermost first: the inlined helper, then the function it was inlined into, then main.
    const std::string frames = top_site(dir / "t.trace");
    INFO(frames);
    const auto helper = frames.find("make_block " + allocate);
    const auto caller = frames.find("build(unsigned long) " + inlined_at);
    const auto outer = frames.find(fmt::format("main inline_site.cpp:{}", line_of(source, "CALL BUILD")));
    CHECK(helper == 0);
    CHECK(caller != std::string::npos);
    CHECK(outer != std::string::npos);
    CHECK(caller < outer);

    // The tracer read each module's build-id from memory: the program's is its file's.
    memopt::trace::TraceReader reader(dir / "t.trace");
    memopt::trace::Event event;
    while (reader.next(event)) {}
    const memopt::reports::DwarfFile program((dir / "inline_site").string(), "");
    REQUIRE(program.build_id().size() >= 8);
    int with_id = 0, matching = 0;
    for (const auto& module : reader.metadata().modules) {
        with_id += !module.build_id.empty();
        matching += module.path == (dir / "inline_site").string() && module.build_id == program.build_id();
    }
    CHECK(matching >= 1);
    CHECK(with_id >= 3); // the program, libc, the loader at least
}

TEST_CASE("symbols: a library rebuilt after recording warns and keeps module+offset frames") {
    ScratchDir dir("symbols-changed");
    build_loader(dir);
    write_file(dir / "lib.c", kLibrarySource);
    const std::string build_library =
        fmt::format("cd {} && cc -g -O1 -shared -fPIC -Wl,--build-id -o libchanged.so lib.c", quote(dir.path().string()));
    shell(build_library);
    const auto before = record_and_report(dir, "./loader " + quote((dir / "libchanged.so").string()));
    INFO(before.out << before.err);
    REQUIRE(before.status == 0);
    REQUIRE(before.out.find(fmt::format("hidden_allocate lib.c:{} (libchanged.so)", line_of(kLibrarySource, "ALLOCATE"))) !=
            std::string::npos);

    // Other code at the old addresses: a function in front that the old offsets now fall in.
    write_file(dir / "lib.c", "static volatile int sink;\nvoid unrelated_function(int n) {\n" +
                                  std::string(200, ' ') + "for (int i = 0; i < n; ++i) sink += i * n;\n"
                                  "    for (int i = 0; i < n; ++i) sink ^= i;\n}\n" + kLibrarySource);
    shell(build_library);
    const auto after = run(fmt::format("{} report {}", quote(MEMOPT_BINARY), quote((dir / "t.trace").string())));
    INFO(after.out << after.err);
    CHECK(after.status == 0);
    CHECK(after.err.find("libchanged.so changed on disk since the trace was recorded") != std::string::npos);
    CHECK(after.out.find("changed on disk") != std::string::npos); // the report's own warnings
    CHECK(after.out.find("libchanged.so+0x") != std::string::npos);
    CHECK(after.out.find("hidden_allocate") == std::string::npos);
    CHECK(after.out.find("unrelated_function") == std::string::npos);
    // Once per module, however many frames it has.
    const std::string warning = "libchanged.so changed on disk";
    CHECK(after.err.find(warning) == after.err.rfind(warning));
    // The HTML page (whose flame graph names every stack) and the folded export say it too.
    const auto html = run(fmt::format("{} report --format html {}", quote(MEMOPT_BINARY), quote((dir / "t.trace").string())));
    CHECK(html.out.find(warning) != std::string::npos);
    CHECK(html.out.find("unrelated_function") == std::string::npos);
    const auto folded = run(fmt::format("{} report --format folded {}", quote(MEMOPT_BINARY), quote((dir / "t.trace").string())));
    CHECK(folded.err.find(warning) != std::string::npos);
    CHECK(folded.out.find("libchanged.so+0x") != std::string::npos);
}

TEST_CASE("symbols: a stripped library is named from its split-out debug info") {
    ScratchDir dir("symbols-split");
    build_loader(dir);
    write_file(dir / "lib.c", kLibrarySource);
    shell(fmt::format("cd {} && cc -g -O1 -shared -fPIC -Wl,--build-id -o libsplit.so lib.c && "
                      "objcopy --only-keep-debug libsplit.so libsplit.so.debug && strip --strip-all libsplit.so && "
                      "objcopy --add-gnu-debuglink=libsplit.so.debug libsplit.so",
                      quote(dir.path().string())));
    const std::string named = fmt::format("hidden_allocate lib.c:{} (libsplit.so)", line_of(kLibrarySource, "ALLOCATE"));
    const auto trace = dir / "t.trace";

    SECTION("through .gnu_debuglink, beside the library") {
        const auto report = record_and_report(dir, "./loader " + quote((dir / "libsplit.so").string()));
        INFO(report.out << report.err);
        CHECK(report.out.find(named) != std::string::npos);
        // Without the debug file only the exported caller has a name (a new process: files
        // stay open for the life of the thread that read them).
        fs::remove(dir / "libsplit.so.debug");
        const auto stripped = run(fmt::format("{} report {}", quote(MEMOPT_BINARY), quote(trace.string())));
        INFO(stripped.out);
        CHECK(stripped.out.find("hidden_allocate") == std::string::npos);
        CHECK(stripped.out.find("lib_entry (libsplit.so)") != std::string::npos);
    }
    SECTION("by build-id, under a /usr/lib/debug-style directory named by MEMOPT_DEBUG_DIRS") {
        const auto report = record_and_report(dir, "./loader " + quote((dir / "libsplit.so").string()));
        REQUIRE(report.status == 0);
        const memopt::reports::DwarfFile library((dir / "libsplit.so").string(), "");
        REQUIRE(library.build_id().size() > 1);
        std::string id;
        for (const char byte : library.build_id()) id += fmt::format("{:02x}", static_cast<unsigned char>(byte));
        const auto debug_dir = dir / "debug";
        fs::create_directories(debug_dir / ".build-id" / id.substr(0, 2));
        fs::rename(dir / "libsplit.so.debug", debug_dir / ".build-id" / id.substr(0, 2) / (id.substr(2) + ".debug"));
        CHECK(top_site(trace).find("hidden_allocate") == std::string::npos); // not found without the directory
        ::setenv("MEMOPT_DEBUG_DIRS", debug_dir.c_str(), 1);
        const std::string frames = top_site(trace);
        ::unsetenv("MEMOPT_DEBUG_DIRS");
        INFO(frames);
        CHECK(frames.find(named) == 0);
    }
}

TEST_CASE("symbols: a recorded build-id that the file on disk does not have is a warning, once, none recorded, no check") {
    // A synthetic trace naming this test's own binary with a build-id it never had.
    using namespace memopt::trace;
    ScratchDir dir("symbols-synthetic");
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    // Without a BuildId record (a trace from before them) nothing can be checked: no warning.
    const bool recorded = GENERATE(true, false);
    ChunkBuilder chunk(1, 0);
    chunk.extended(ExtendedType::kProcessStart).varint(1).varint(0).varint(0).byte(0).varint(4096).varint(1);
    chunk.extended(ExtendedType::kModule).varint(0x10000000).text(self).varint(1).varint(0).varint(0x100000);
    if (recorded) chunk.extended(ExtendedType::kBuildId).varint(0x10000000).text(std::string("\x01\x02\x03\x04", 4));
    chunk.extended(ExtendedType::kBuildId).varint(0x20000000).text("no module here"); // ignored
    for (std::uint64_t i = 1; i <= 3; ++i) {
        chunk.extended(ExtendedType::kFrame).varint(i).varint(i - 1).varint(0x10001000 + i * 16);
        chunk.extended(ExtendedType::kStackRef).varint(i);
        chunk.event(RecordKind::kMalloc, 0x1000 * i, 4096);
    }
    {
        std::ofstream out(dir / "t.trace", std::ios::binary);
        for (const auto& part : {file_header(), chunk.finish()})
            out.write(reinterpret_cast<const char*>(part.data()), static_cast<std::streamsize>(part.size()));
    }
    TraceReader reader(dir / "t.trace");
    Event event;
    while (reader.next(event)) {}
    REQUIRE(reader.metadata().modules.size() == 1);
    CHECK(reader.metadata().modules[0].build_id == (recorded ? std::string("\x01\x02\x03\x04", 4) : ""));

    const auto summary = memopt::reports::summarize_trace(dir / "t.trace");
    int warnings = 0;
    for (const auto& warning : summary.warnings) warnings += warning.find("changed on disk") != std::string::npos;
    CHECK(warnings == (recorded ? 1 : 0));
    REQUIRE(!summary.top_sites.empty());
    if (recorded)
        for (const auto& frame : summary.top_sites[0].stack) CHECK(frame.find("+0x") != std::string::npos);
}
