#pragma once
// An output directory that a failing command does not leave half-written. The constructor
// creates TARGET (its parent must exist: parents are never created) or adopts an existing
// empty directory. Destroyed before keep() - a failure, an exception - it removes what it
// created: TARGET itself when it made it, else the entries written into it; nothing that
// existed before. Files are written under their final name, so every path recorded along
// the way (steps.json, the probe's profile, traces) stays true. (A memopt killed by a signal
// cannot clean up: that TARGET then lacks steps.json.)
#include <filesystem>

namespace memopt::transforms {

class OutputDirectory {
public:
    // Throws memopt::Error (one line naming the path) when TARGET exists and is not an empty
    // directory, is a symbolic link, or its parent does not exist or cannot be written.
    explicit OutputDirectory(const std::filesystem::path& target);
    ~OutputDirectory();
    OutputDirectory(const OutputDirectory&) = delete;
    OutputDirectory& operator=(const OutputDirectory&) = delete;

    const std::filesystem::path& path() const { return path_; } // absolute, normalised
    void keep() { kept_ = true; }

private:
    std::filesystem::path path_;
    bool created_ = false;
    bool kept_ = false;
};

} // namespace memopt::transforms
