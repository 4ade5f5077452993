#pragma once
// An output directory that appears whole or not at all. Everything is written into a fresh
// sibling, TARGET's parent/.NAME.partial-PID-N; publish() renames it to TARGET (or, when
// TARGET is an existing empty directory, moves its entries in, so the user's directory
// stays). Destroyed unpublished (a failure, an exception), it removes the sibling and
// nothing else: nothing that existed before is ever deleted.
#include <filesystem>

namespace memopt::transforms {

class StagedDirectory {
public:
    // Throws memopt::Error (one line naming the path) when TARGET exists and is not an empty
    // directory, is a symbolic link, or its parent does not exist or cannot be written.
    explicit StagedDirectory(const std::filesystem::path& target);
    ~StagedDirectory();
    StagedDirectory(const StagedDirectory&) = delete;
    StagedDirectory& operator=(const StagedDirectory&) = delete;

    const std::filesystem::path& work() const { return work_; }     // write here
    const std::filesystem::path& target() const { return target_; } // where it will be
    // TARGET/relative(path, work()): where a path under work() will be once published.
    std::filesystem::path published(const std::filesystem::path& path) const;
    void publish();

private:
    std::filesystem::path target_;
    std::filesystem::path work_;
    bool published_ = false;
};

} // namespace memopt::transforms
