// Reads the binary forest written by export_model.py (layout in docs/activity.md) one tree
// at a time: only the current tree is in memory. Predicts exactly as scikit-learn's
// RandomForestClassifier.predict: per-tree leaf probabilities are added in tree order,
// divided by the number of trees, and the first class with the largest value wins;
// features are rounded to float32 before `x <= threshold`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "features.h"

namespace activity {

struct Node {
    std::int32_t feature;  // -1 for a leaf
    std::uint32_t link;    // internal: right child (left is this + 1); leaf: value index
    double threshold;
};
static_assert(sizeof(Node) == 16, "the file stores 16-byte nodes");

class Tree {
public:
    // The leaf probability vector (n_classes values) reached by `features`.
    const double* leaf(const Features& features) const;

    std::vector<Node> nodes;
    std::vector<double> values;  // n_values * n_classes
    std::uint32_t n_classes = 0;
};

class ForestReader {
public:
    explicit ForestReader(const std::string& path);
    ~ForestReader();
    ForestReader(const ForestReader&) = delete;
    ForestReader& operator=(const ForestReader&) = delete;

    std::uint32_t n_trees() const { return n_trees_; }
    std::uint32_t n_classes() const { return static_cast<std::uint32_t>(classes_.size()); }
    const std::vector<std::int32_t>& classes() const { return classes_; }

    // Back to the first tree.
    void rewind();
    // Reads the next tree into `tree` (reusing its memory); false after the last tree.
    bool next(Tree& tree);

private:
    void read(void* data, std::size_t size, const char* what);
    [[noreturn]] void fail(const std::string& what) const;

    std::string path_;
    std::FILE* file_ = nullptr;
    long first_tree_ = 0;
    std::uint32_t n_trees_ = 0;
    std::uint32_t tree_index_ = 0;
    std::vector<std::int32_t> classes_;
};

}  // namespace activity
