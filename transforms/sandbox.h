#pragma once
// The sandbox every optimize run works in: a private copy of what the program may read and
// write by the paths it is given, so that the user's files are never written, moved or
// deleted, and relative paths work as they do for the user.
//
// Layout of ROOT (one per optimize run; every run is reset to the pristine copy first, so
// every run sees the same paths):
//   ROOT/cwd/        copy of the user's working directory: the run's cwd
//   ROOT/ext/N/NAME  copy of the N-th argument naming a file or directory outside the cwd, or
//                    the place for an output named by an absolute (or ../) path that does
//                    not exist yet
//   ROOT/tmp/        TMPDIR of the run (temporary files are not outputs)
//   ROOT/memopt/     what the runtime hook records (writes outside, figures); stdout, stderr
//
// What is copied from the working directory: regular files (symbolic links to regular files
// are copied as the files they point to), recursively, except the directories .git, .hg,
// .svn, __pycache__, the excluded paths (optimize's output directory) and symbolic links to
// directories; at most SandboxLimits files and bytes, else memopt::Error. Not copied (not
// sandboxed): files the program reaches by absolute paths it computes or has written in
// its code; those writes are detected by the runtime hook (outputs.h), not prevented.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace memopt::transforms {

struct SandboxLimits {
    std::size_t max_files = 5000;
    std::uintmax_t max_bytes = std::uintmax_t{512} << 20; // 512 MiB
};

// A file written, created or deleted by a run, relative to the pristine copy. `name` is how
// the user knows it: the path relative to the working directory, or the argument as given.
struct FileChange {
    enum class Kind { created, modified, deleted };
    std::string name;
    Kind kind = Kind::modified;
    std::filesystem::path path; // inside the sandbox
};

class Sandbox {
  public:
    // Copies the user's working directory `user_cwd` and the files named in `args` under
    // `root` (created; must not exist). Throws memopt::Error when the copy would exceed
    // `limits`, naming the directory and what to do.
    Sandbox(const std::filesystem::path& root, const std::filesystem::path& user_cwd, const std::vector<std::string>& args,
            const std::vector<std::filesystem::path>& exclude, const SandboxLimits& limits = {});

    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path cwd() const { return root_ / "cwd"; }
    std::filesystem::path tmp() const { return root_ / "tmp"; }
    std::filesystem::path records() const { return root_ / "memopt"; }
    // The arguments as the sandboxed program gets them (existing files mapped to copies).
    const std::vector<std::string>& args() const { return args_; }
    // One line: what was copied ("12 files, 3.1 MB from /home/u/proj; 1 argument outside it").
    std::string summary() const;
    // Bytes of the pristine copy (what a second copy would cost).
    std::uintmax_t bytes() const { return bytes_; }

    // Back to the pristine copy: removes what runs created, re-copies what they changed or
    // deleted, empties tmp/ and memopt/.
    void reset();
    // What the last run changed, by content (a file rewritten with the same bytes is not a change).
    std::vector<FileChange> changes() const;

  private:
    struct Entry {
        std::filesystem::path source;   // the user's file or directory (read only)
        bool directory = false;
        std::uintmax_t size = 0;
        std::int64_t mtime_ns = 0, ctime_ns = 0;
        std::uint64_t inode = 0;
    };
    void plan_tree(const std::filesystem::path& from, const std::filesystem::path& to, const SandboxLimits& limits);
    void add_file(const std::filesystem::path& from, const std::filesystem::path& to, const SandboxLimits& limits);
    std::string map_argument(const std::string& arg, std::size_t index, const SandboxLimits& limits);
    void copy_entry(const std::filesystem::path& relative, Entry& entry) const;
    std::string display_name(const std::filesystem::path& relative) const;
    bool unchanged(const std::filesystem::path& relative, const Entry& entry) const;

    std::filesystem::path root_, user_cwd_;
    std::vector<std::filesystem::path> exclude_;
    std::vector<std::string> args_;
    std::map<std::filesystem::path, Entry> entries_;           // relative to root_
    std::map<std::filesystem::path, std::string> ext_names_;   // ext/N -> the argument's directory, as given
    std::uintmax_t bytes_ = 0;
    std::size_t files_ = 0, outside_args_ = 0;
};

} // namespace memopt::transforms
