#include "transforms/sandbox.h"

#include "common/error.h"
#include "common/sizes.h"

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace memopt::transforms {

namespace {

const std::set<std::string> kSkippedDirectories = {".git", ".hg", ".svn", "__pycache__"};

bool is_within(const fs::path& path, const fs::path& dir) {
    const auto rel = path.lexically_relative(dir);
    return !rel.empty() && *rel.begin() != "..";
}

bool same_bytes(const fs::path& a, const fs::path& b) {
    std::error_code ec;
    if (fs::file_size(a, ec) != fs::file_size(b, ec) || ec) return false;
    std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
    std::vector<char> ba(1 << 16), bb(1 << 16);
    while (fa && fb) {
        fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
        fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
        if (fa.gcount() != fb.gcount() || !std::equal(ba.begin(), ba.begin() + fa.gcount(), bb.begin())) return false;
    }
    return fa.eof() && fb.eof();
}

struct Stat {
    bool exists = false, directory = false, regular = false;
    std::uintmax_t size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
    std::uint64_t inode = 0;
};

Stat lstat_of(const fs::path& path) {
    struct stat st{};
    Stat s;
    if (::lstat(path.c_str(), &st) != 0) return s;
    s.exists = true;
    s.directory = S_ISDIR(st.st_mode);
    s.regular = S_ISREG(st.st_mode);
    s.size = static_cast<std::uintmax_t>(st.st_size);
    s.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    s.ctime_ns = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
    s.inode = st.st_ino;
    return s;
}

} // namespace

Sandbox::Sandbox(const fs::path& root, const fs::path& user_cwd, const std::vector<std::string>& args,
                 const std::vector<fs::path>& exclude, const SandboxLimits& limits)
    : root_(fs::absolute(root).lexically_normal()), user_cwd_(fs::absolute(user_cwd).lexically_normal()) {
    if (fs::exists(root_)) throw Error(fmt::format("internal: sandbox {} exists", root_.string()));
    for (const auto& e : exclude) exclude_.push_back(fs::absolute(e).lexically_normal());
    exclude_.push_back(root_);
    entries_["cwd"] = Entry{user_cwd_, true};
    plan_tree(user_cwd_, "cwd", limits);
    entries_["ext"] = Entry{{}, true};
    for (std::size_t i = 0; i < args.size(); ++i) args_.push_back(map_argument(args[i], i + 1, limits));
    fs::create_directories(root_);
    reset();
}

void Sandbox::plan_tree(const fs::path& from, const fs::path& to, const SandboxLimits& limits) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(from, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) throw Error(fmt::format("cannot read {}: {}", from.string(), ec.message()));
        const fs::path path = it->path();
        const bool excluded = std::any_of(exclude_.begin(), exclude_.end(), [&](const fs::path& x) { return path == x; });
        if (excluded || (it->is_directory() && !it->is_symlink() && kSkippedDirectories.count(path.filename().string()))) {
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
        }
        const fs::path target = to / path.lexically_relative(from);
        if (it->is_symlink() && it->is_directory()) { it.disable_recursion_pending(); continue; }
        if (it->is_directory()) entries_[target] = Entry{path, true};
        else if (it->is_regular_file()) add_file(path, target, limits);
    }
}

void Sandbox::add_file(const fs::path& from, const fs::path& to, const SandboxLimits& limits) {
    std::error_code ec;
    const std::uintmax_t size = fs::file_size(from, ec);
    if (ec) return; // vanished or unreadable: the program would not see it either
    bytes_ += size;
    ++files_;
    if (files_ > limits.max_files || bytes_ > limits.max_bytes)
        throw Error(fmt::format("{} holds more than {} files or {} to copy into each run's private copy (the sandbox "
                                "that keeps your files untouched); run memopt optimize from a smaller directory that "
                                "holds the program's inputs (with -o elsewhere), or raise --sandbox-max-mb",
                                user_cwd_.string(), limits.max_files, format_mb(static_cast<double>(limits.max_bytes))));
    entries_[to] = Entry{from, false, size};
}

// Existing files inside the working directory keep a relative argument as it is (it resolves
// to the copy) and an absolute one becomes the copy's path; files and directories outside it
// are copied to ext/N/; an output named by an absolute or ../ path lands in ext/N/ too.
std::string Sandbox::map_argument(const std::string& arg, std::size_t index, const SandboxLimits& limits) {
    if (arg.empty() || arg[0] == '-') return arg;
    std::string trimmed = arg;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    const fs::path given(trimmed);
    const fs::path absolute = (user_cwd_ / given).lexically_normal();
    std::error_code ec;
    const bool exists = fs::exists(absolute, ec);
    const fs::path relative = absolute.lexically_relative(user_cwd_);
    const fs::path copy = relative == "." ? fs::path("cwd") : "cwd" / relative;
    const bool inside = (relative == "." || is_within(absolute, user_cwd_)) && entries_.count(copy);
    if (exists && inside) return given.is_absolute() ? (root_ / copy).string() : arg;
    if (!exists && (!fs::is_directory(absolute.parent_path(), ec) ||
                    (!given.is_absolute() && is_within(absolute, user_cwd_))))
        return arg; // lands in the copy of the cwd, or fails as it would for the user
    const fs::path slot = fs::path("ext") / std::to_string(index);
    entries_[slot] = Entry{{}, true};
    ext_names_[slot] = given.parent_path().string(); // ext/N stands for the argument's directory
    ++outside_args_;
    const fs::path target = slot / absolute.filename();
    if (exists && fs::is_directory(absolute, ec)) {
        entries_[target] = Entry{absolute, true};
        plan_tree(absolute, target, limits);
    } else if (exists) {
        add_file(absolute, target, limits);
    }
    return (root_ / target).string();
}

std::string Sandbox::summary() const {
    return fmt::format("{} files ({}) copied from {}{}", files_, format_mb(static_cast<double>(bytes_)), user_cwd_.string(),
                       outside_args_ ? fmt::format(" and {} argument(s) outside it", outside_args_) : "");
}

void Sandbox::copy_entry(const fs::path& relative, Entry& entry) const {
    const fs::path target = root_ / relative;
    std::error_code ec;
    fs::remove_all(target, ec);
    if (entry.directory) {
        fs::create_directories(target);
    } else {
        fs::create_directories(target.parent_path());
        if (!fs::copy_file(entry.source, target, ec) || ec)
            throw Error(fmt::format("cannot copy {} into the sandbox: {}", entry.source.string(), ec.message()));
        fs::permissions(target, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add, ec);
    }
    const Stat s = lstat_of(target);
    entry.size = s.size;
    entry.mtime_ns = s.mtime_ns;
    entry.ctime_ns = s.ctime_ns;
    entry.inode = s.inode;
}

bool Sandbox::unchanged(const fs::path& relative, const Entry& entry) const {
    const Stat s = lstat_of(root_ / relative);
    if (entry.directory) return s.exists && s.directory;
    return s.exists && s.regular && s.size == entry.size && s.mtime_ns == entry.mtime_ns &&
           s.ctime_ns == entry.ctime_ns && s.inode == entry.inode;
}

void Sandbox::reset() {
    for (const char* scratch : {"tmp", "memopt"}) {
        fs::remove_all(root_ / scratch);
        fs::create_directories(root_ / scratch);
    }
    // what runs created: everything under cwd/ and ext/ that is not an entry
    std::vector<fs::path> extra;
    for (const char* top : {"cwd", "ext"}) {
        if (!fs::exists(root_ / top)) continue;
        for (auto it = fs::recursive_directory_iterator(root_ / top); it != fs::recursive_directory_iterator(); ++it) {
            const fs::path rel = it->path().lexically_relative(root_);
            const auto e = entries_.find(rel);
            if (e == entries_.end() || e->second.directory != (it->is_directory() && !it->is_symlink())) {
                extra.push_back(it->path());
                it.disable_recursion_pending();
            }
        }
    }
    for (const auto& p : extra) fs::remove_all(p);
    for (auto& [rel, entry] : entries_)
        if (!unchanged(rel, entry)) copy_entry(rel, entry);
}

std::string Sandbox::display_name(const fs::path& relative) const {
    auto it = relative.begin();
    if (*it == "cwd") return relative.lexically_relative("cwd").string();
    const fs::path slot = fs::path("ext") / *std::next(it);
    const auto dir = ext_names_.find(slot);
    if (dir == ext_names_.end()) return relative.string();
    return (fs::path(dir->second) / relative.lexically_relative(slot)).string();
}

std::vector<FileChange> Sandbox::changes() const {
    std::vector<FileChange> out;
    for (const char* top : {"cwd", "ext"}) {
        if (!fs::exists(root_ / top)) continue;
        for (auto it = fs::recursive_directory_iterator(root_ / top); it != fs::recursive_directory_iterator(); ++it) {
            if (it->is_directory() && !it->is_symlink()) {
                if (it->path().filename() == "__pycache__" && !entries_.count(it->path().lexically_relative(root_)))
                    it.disable_recursion_pending(); // the interpreter's, not the program's
                continue;
            }
            const fs::path rel = it->path().lexically_relative(root_);
            const auto e = entries_.find(rel);
            if (e == entries_.end()) out.push_back({display_name(rel), FileChange::Kind::created, it->path()});
            else if (!unchanged(rel, e->second) && !same_bytes(e->second.source, it->path()))
                out.push_back({display_name(rel), FileChange::Kind::modified, it->path()});
        }
    }
    for (const auto& [rel, entry] : entries_)
        if (!entry.directory && !fs::exists(fs::symlink_status(root_ / rel)))
            out.push_back({display_name(rel), FileChange::Kind::deleted, root_ / rel});
    std::sort(out.begin(), out.end(), [](const FileChange& a, const FileChange& b) { return a.name < b.name; });
    return out;
}

} // namespace memopt::transforms
