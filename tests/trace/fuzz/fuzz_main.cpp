// fuzz_readers: a mutation fuzzer over memopt's readers (trace, summary JSON, profile JSON).
// No coverage feedback: byte-level and structure-aware (JSON tree, varint) mutations of
// valid seeds, keeping inputs that produced a new kind of error. A crash, hang (per-input
// alarm), other exception or unbounded memory (address-space limit) is a failure; the input
// is saved to --crash-dir. Usage:
//   fuzz_readers [--target all|trace|trace-resealed|summary|profile] [--seconds S] [--runs N] [--seed N]
//                [--crash-dir DIR] [--timeout S] [--max-len BYTES] [--write-seeds DIR] [FILE...]
// FILEs: replay those inputs instead of fuzzing.
#include "tests/trace/fuzz/fuzz_targets.h"

#include "common/error.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <array>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

using memopt::fuzz::Target;
using Bytes = std::vector<std::uint8_t>;

namespace {

// The input being run, for the crash handler.
const std::uint8_t* g_data = nullptr;
std::size_t g_size = 0;
char g_crash_path[4096] = "fuzz-crash.bin";

void on_fatal_signal(int signal) {
    const int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        [[maybe_unused]] ssize_t ignored = ::write(fd, g_data, g_size);
        ::close(fd);
    }
    const char* what = signal == SIGALRM ? "fuzz_readers: HANG (input ran past the timeout), input saved to "
                                         : "fuzz_readers: CRASH (fatal signal), input saved to ";
    [[maybe_unused]] ssize_t ignored = ::write(2, what, std::strlen(what));
    ignored = ::write(2, g_crash_path, std::strlen(g_crash_path));
    ignored = ::write(2, "\n", 1);
    ::signal(signal, SIG_DFL);
    ::raise(signal == SIGALRM ? SIGABRT : signal);
}

class Mutator {
  public:
    explicit Mutator(std::uint64_t seed) : rng_(seed) {}

    std::size_t below(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
    bool chance(unsigned one_in) { return below(one_in) == 0; }

    Bytes mutate(const Bytes& input, const std::vector<Bytes>& pool, bool json, std::size_t max_len) {
        Bytes out = input;
        if (json && chance(2)) {
            if (auto tree = mutate_json(out)) {
                out = *tree;
                if (chance(2)) return out; // well-formed JSON with odd values: reaches the readers' checks
            }
        }
        const std::size_t rounds = 1 + below(4);
        for (std::size_t i = 0; i < rounds; ++i) mutate_bytes(out, pool);
        if (out.size() > max_len) out.resize(max_len);
        return out;
    }

  private:
    static constexpr std::uint64_t kInteresting[] = {0, 1, 0x7f, 0x80, 0xff, 0x3fff, 0x4000, 0xffff, 0x7fffffff,
                                                     0x80000000ull, 0xffffffffull, 0x100000000ull, 16u << 20,
                                                     (16u << 20) + 1, 1ull << 62, 0x7fffffffffffffffull,
                                                     0x8000000000000000ull, ~0ull};

    void put_varint(Bytes& out, std::size_t at, std::uint64_t value) {
        Bytes encoded;
        do {
            encoded.push_back(static_cast<std::uint8_t>((value & 0x7f) | (value >= 0x80 ? 0x80 : 0)));
            value >>= 7;
        } while (value);
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(std::min(at, out.size())), encoded.begin(), encoded.end());
    }

    void mutate_bytes(Bytes& out, const std::vector<Bytes>& pool) {
        const std::size_t n = out.size();
        switch (below(11)) {
        case 0: if (n) out[below(n)] ^= static_cast<std::uint8_t>(1u << below(8)); break;
        case 1: if (n) out[below(n)] = std::array<std::uint8_t, 7>{0, 1, 0x7f, 0x80, 0xff, 0xC5, '"'}[below(7)]; break;
        case 2: if (n) out[below(n)] = static_cast<std::uint8_t>(below(256)); break;
        case 3: {
            const std::size_t at = below(n + 1), count = 1 + below(8);
            for (std::size_t i = 0; i < count; ++i) out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(below(256)));
            break;
        }
        case 4: if (n) {
            const std::size_t at = below(n), count = 1 + below(std::min<std::size_t>(n - at, 64));
            out.erase(out.begin() + static_cast<std::ptrdiff_t>(at), out.begin() + static_cast<std::ptrdiff_t>(at + count));
        } break;
        case 5: if (n) { // duplicate a range (repeated chunks, records)
            const std::size_t at = below(n), count = 1 + below(std::min<std::size_t>(n - at, 256));
            const Bytes slice(out.begin() + static_cast<std::ptrdiff_t>(at), out.begin() + static_cast<std::ptrdiff_t>(at + count));
            out.insert(out.begin() + static_cast<std::ptrdiff_t>(below(n + 1)), slice.begin(), slice.end());
        } break;
        case 6: if (n) out.resize(below(n)); break;
        case 7: put_varint(out, below(n + 1), kInteresting[below(std::size(kInteresting))]); break;
        case 8: if (!pool.empty()) { // splice: our head, another input's tail
            const Bytes& other = pool[below(pool.size())];
            const std::size_t cut = below(n + 1), from = below(other.size() + 1);
            out.resize(cut);
            out.insert(out.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        } break;
        case 9: if (n >= 2) { // overwrite a range with bytes from elsewhere in the input
            const std::size_t from = below(n), to = below(n), count = 1 + below(std::min(n - std::max(from, to), std::size_t{32}));
            std::memmove(out.data() + to, out.data() + from, count);
        } break;
        default: if (n) { // an ASCII digit run: JSON numbers, lengths
            const std::size_t at = below(n);
            const std::string digits = std::to_string(kInteresting[below(std::size(kInteresting))]);
            out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), digits.begin(), digits.end());
        }
        }
    }

    static void collect(nlohmann::json& node, std::vector<nlohmann::json*>& nodes) {
        nodes.push_back(&node);
        if (node.is_structured())
            for (auto& child : node) collect(child, nodes);
    }

    nlohmann::json random_value() {
        switch (below(16)) {
        case 0: return nullptr;
        case 1: return below(2) == 0;
        case 2: return -1;
        case 3: return kInteresting[below(std::size(kInteresting))];
        case 4: return -static_cast<std::int64_t>(below(1ull << 62)) - 1;
        case 5: return 1e308;
        case 6: return -1e308;
        case 7: return 0.5;
        case 8: return "";
        case 9: return std::string("<script>&\"'\x01\x7f\xff", 12);
        case 10: return nlohmann::json::array();
        case 11: return nlohmann::json::object();
        case 12: { // deep nesting
            nlohmann::json value = 1;
            for (std::size_t i = 0, depth = 1 + below(400); i < depth; ++i) value = nlohmann::json::array({value});
            return value;
        }
        case 13: return std::string(1 + below(5000), 'x');
        case 14: return "memopt.profile/1";
        default: return nlohmann::json::array({1, "a", nullptr, -5});
        }
    }

    std::optional<Bytes> mutate_json(const Bytes& input) {
        nlohmann::json tree = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
        if (tree.is_discarded()) return std::nullopt;
        const std::size_t edits = 1 + below(3);
        for (std::size_t e = 0; e < edits; ++e) {
            std::vector<nlohmann::json*> nodes;
            collect(tree, nodes);
            nlohmann::json& node = *nodes[below(nodes.size())];
            if (node.is_object() && !node.empty() && chance(3)) {
                auto it = node.begin();
                std::advance(it, static_cast<std::ptrdiff_t>(below(node.size())));
                node.erase(it.key());
            } else if (node.is_array() && !node.empty() && chance(3)) {
                const auto copy = node[below(node.size())];
                for (std::size_t i = 0, count = 1 + below(64); i < count; ++i) node.push_back(copy);
            } else {
                node = random_value();
            }
        }
        const std::string text = tree.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return Bytes(text.begin(), text.end());
    }

    std::mt19937_64 rng_;
};

struct Stats {
    std::uint64_t executions = 0;
    std::uint64_t errors = 0;   // inputs rejected with memopt::Error (counted by message kind)
    std::size_t error_kinds = 0;
    double seconds = 0;
};

// Error text with digits removed: "corrupt at byte 12: x" and "... byte 99: x" are one kind.
std::string error_kind(const std::string& message) {
    std::string kind;
    for (const char c : message)
        if (!(c >= '0' && c <= '9')) kind += c;
    return kind.substr(0, 120);
}

// Runs one input: true when it was accepted or rejected with memopt::Error (whose kind goes
// to `error_kind`), false (after saving it) on anything else.
bool run_checked(Target target, const Bytes& input, unsigned timeout_s, std::string* kind) {
    g_data = input.data();
    g_size = input.size();
    ::alarm(timeout_s);
    try {
        memopt::fuzz::run_one(target, input.data(), input.size());
    } catch (const memopt::Error& e) {
        if (kind) *kind = error_kind(e.what());
    } catch (const std::exception& e) {
        ::alarm(0);
        std::fprintf(stderr, "fuzz_readers: FAILURE on %s input: unexpected exception: %s\n",
                     std::string(memopt::fuzz::target_name(target)).c_str(), e.what());
        std::ofstream(g_crash_path, std::ios::binary).write(reinterpret_cast<const char*>(input.data()),
                                                             static_cast<std::streamsize>(input.size()));
        std::fprintf(stderr, "fuzz_readers: input saved to %s\n", g_crash_path);
        return false;
    }
    ::alarm(0);
    return true;
}

bool fuzz(Target target, double seconds, std::uint64_t max_runs, std::uint64_t seed, unsigned timeout_s,
          std::size_t max_len, const std::string& crash_dir, Stats& stats) {
    std::snprintf(g_crash_path, sizeof g_crash_path, "%s/crash-%s-%d.bin", crash_dir.c_str(),
                  std::string(memopt::fuzz::target_name(target)).c_str(), static_cast<int>(::getpid()));
    Mutator mutator(seed);
    std::vector<Bytes> pool = memopt::fuzz::seeds(target);
    const std::size_t seed_count = pool.size();
    std::set<std::string> kinds;
    const bool json = target == Target::kSummary || target == Target::kProfile;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& input : pool)
        if (!run_checked(target, input, timeout_s, nullptr)) return false;
    for (;;) {
        if (max_runs && stats.executions >= max_runs) break;
        if ((stats.executions & 63) == 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= seconds)
            break;
        const Bytes& parent = pool[mutator.below(pool.size())];
        Bytes input = mutator.mutate(parent, pool, json, max_len);
        std::string kind;
        if (!run_checked(target, input, timeout_s, &kind)) return false;
        ++stats.executions;
        bool keep = false;
        if (!kind.empty()) {
            ++stats.errors;
            keep = kinds.insert(kind).second; // a new kind of error: a cheap stand-in for coverage
        }
        if (keep || mutator.chance(512)) {
            if (pool.size() < 512) pool.push_back(std::move(input));
            else pool[seed_count + mutator.below(pool.size() - seed_count)] = std::move(input);
        }
    }
    stats.error_kinds = kinds.size();
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return true;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<Target> targets = {Target::kTrace, Target::kTraceResealed, Target::kSummary, Target::kProfile};
    double seconds = 10;
    std::uint64_t runs = 0, seed = 1;
    unsigned timeout_s = 10;
    std::size_t max_len = 1 << 20;
    std::string crash_dir = ".";
    std::vector<std::string> replay;
    std::string seed_dir;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--target") {
            const std::string name = value();
            targets = name == "all" ? targets : std::vector<Target>{memopt::fuzz::parse_target(name)};
        } else if (arg == "--seconds") seconds = std::stod(value());
        else if (arg == "--runs") runs = std::stoull(value());
        else if (arg == "--seed") seed = std::stoull(value());
        else if (arg == "--timeout") timeout_s = static_cast<unsigned>(std::stoul(value()));
        else if (arg == "--max-len") max_len = std::stoull(value());
        else if (arg == "--crash-dir") crash_dir = value();
        else if (arg == "--write-seeds") seed_dir = value();
        else replay.push_back(arg);
    }
    if (!seed_dir.empty()) { // the valid starting inputs, e.g. as a libFuzzer corpus
        for (Target target : targets) {
            const auto inputs = memopt::fuzz::seeds(target);
            for (std::size_t k = 0; k < inputs.size(); ++k)
                std::ofstream(seed_dir + "/seed-" + std::string(memopt::fuzz::target_name(target)) + "-" + std::to_string(k),
                              std::ios::binary)
                    .write(reinterpret_cast<const char*>(inputs[k].data()), static_cast<std::streamsize>(inputs[k].size()));
        }
        return 0;
    }
    for (int signal : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM}) ::signal(signal, on_fatal_signal);
#if !defined(__SANITIZE_ADDRESS__)
    // Unbounded memory shows as std::bad_alloc (a failure), not as an OOM-killed machine.
    const rlimit limit{4ull << 30, 4ull << 30};
    ::setrlimit(RLIMIT_AS, &limit);
#endif
    if (!replay.empty()) {
        for (const auto& file : replay) {
            std::ifstream in(file, std::ios::binary);
            const Bytes input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            for (Target target : targets)
                if (!run_checked(target, input, timeout_s, nullptr)) return 1;
        }
        std::printf("fuzz_readers: replayed %zu inputs, no failure\n", replay.size());
        return 0;
    }
    bool ok = true;
    std::uint64_t total = 0;
    for (Target target : targets) {
        Stats stats;
        const double share = seconds / static_cast<double>(targets.size());
        if (!fuzz(target, share, runs, seed, timeout_s, max_len, crash_dir, stats)) {
            ok = false;
            continue;
        }
        total += stats.executions;
        std::printf("fuzz %s: %llu executions in %.1f s, %llu rejected with a clear error (%zu kinds), 0 failures\n",
                    std::string(memopt::fuzz::target_name(target)).c_str(),
                    static_cast<unsigned long long>(stats.executions), stats.seconds,
                    static_cast<unsigned long long>(stats.errors), stats.error_kinds);
        std::fflush(stdout);
    }
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    std::printf("fuzz total: %llu executions, peak RSS %ld MiB, %s\n", static_cast<unsigned long long>(total),
                usage.ru_maxrss / 1024, ok ? "no crash, hang, unexpected exception or memory blow-up" : "FAILURES");
    return ok ? 0 : 1;
}
