// Unit tests of native/forest.cpp with small model files written here.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "native/error.h"
#include "native/forest.h"

namespace {

struct TempFile {
    std::string path;
    explicit TempFile(const std::string& name)
        : path((std::filesystem::temp_directory_path() /
                ("activity_forest_test_" + std::to_string(::getpid()) + "_" + name))
                   .string()) {}
    ~TempFile() { std::remove(path.c_str()); }
};

struct Writer {
    std::vector<unsigned char> bytes;
    template <typename T>
    void put(T value) {
        unsigned char raw[sizeof(T)];
        std::memcpy(raw, &value, sizeof(T));
        bytes.insert(bytes.end(), raw, raw + sizeof(T));
    }
    void save(const std::string& path) const {
        std::FILE* file = std::fopen(path.c_str(), "wb");
        REQUIRE(file != nullptr);
        std::fwrite(bytes.data(), 1, bytes.size(), file);
        std::fclose(file);
    }
};

// Two classes (labels 4 and 7), 15 features, the given trees: each one split on feature 0
// at `threshold`, left leaf probabilities `left`, right leaf `right`.
struct Stump {
    double threshold;
    double left[2];
    double right[2];
};

Writer forest(const std::vector<Stump>& stumps) {
    Writer w;
    for (char c : std::string("MOFOREST")) w.put(c);
    w.put<std::uint32_t>(1);
    w.put<std::uint32_t>(15);
    w.put<std::uint32_t>(2);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(stumps.size()));
    w.put<std::int32_t>(4);
    w.put<std::int32_t>(7);
    for (const Stump& s : stumps) {
        w.put<std::uint32_t>(3);  // nodes
        w.put<std::uint32_t>(2);  // values
        w.put<std::int32_t>(0), w.put<std::uint32_t>(2), w.put<double>(s.threshold);
        w.put<std::int32_t>(-1), w.put<std::uint32_t>(0), w.put<double>(0.0);
        w.put<std::int32_t>(-1), w.put<std::uint32_t>(1), w.put<double>(0.0);
        w.put(s.left[0]), w.put(s.left[1]), w.put(s.right[0]), w.put(s.right[1]);
    }
    return w;
}

std::string error_of(const std::string& path) {
    try {
        activity::ForestReader reader(path);
        activity::Tree tree;
        while (reader.next(tree)) {}
    } catch (const activity::Error& error) {
        return error.what();
    }
    return "";
}

}  // namespace

TEST_CASE("trees are read one after another and rewound") {
    TempFile file("two.forest");
    forest({{0.5, {1, 0}, {0, 1}}, {1.5, {0.25, 0.75}, {1, 0}}}).save(file.path);
    activity::ForestReader reader(file.path);
    CHECK(reader.n_trees() == 2);
    REQUIRE(reader.classes() == std::vector<std::int32_t>{4, 7});
    activity::Features x{};
    x[0] = 1.0;
    activity::Tree tree;
    REQUIRE(reader.next(tree));
    CHECK(tree.leaf(x)[1] == 1.0);  // 1.0 > 0.5: right leaf
    REQUIRE(reader.next(tree));
    CHECK(tree.leaf(x)[1] == 0.75);  // 1.0 <= 1.5: left leaf
    CHECK_FALSE(reader.next(tree));
    reader.rewind();
    CHECK(reader.next(tree));
}

TEST_CASE("features are rounded to float32 before `x <= threshold`, as scikit-learn does") {
    TempFile file("float.forest");
    forest({{0.1, {1, 0}, {0, 1}}}).save(file.path);
    activity::ForestReader reader(file.path);
    activity::Tree tree;
    REQUIRE(reader.next(tree));
    activity::Features x{};
    x[0] = 0.1;  // float(0.1) = 0.100000001490116 > 0.1: goes right
    CHECK(tree.leaf(x)[1] == 1.0);
    x[0] = 0.09999999;  // rounds to a float below 0.1: goes left
    CHECK(tree.leaf(x)[0] == 1.0);
}

TEST_CASE("missing, foreign, truncated and corrupt model files are named in the error") {
    CHECK(error_of("/nonexistent/model.forest") ==
          "/nonexistent/model.forest: cannot open model: No such file or directory");

    TempFile foreign("foreign.forest");
    Writer junk;
    for (char c : std::string("PK\x03\x04 not a forest at all")) junk.put(c);
    junk.save(foreign.path);
    CHECK(error_of(foreign.path) == foreign.path + ": not a memopt forest file (bad magic)");

    TempFile truncated("truncated.forest");
    Writer w = forest({{0.5, {1, 0}, {0, 1}}});
    w.bytes.resize(w.bytes.size() - 5);
    w.save(truncated.path);
    CHECK(error_of(truncated.path) ==
          truncated.path + ": truncated model file (while reading tree 0)");

    TempFile corrupt("corrupt.forest");
    Writer c = forest({{0.5, {1, 0}, {0, 1}}});
    c.bytes[44] = 1;  // root's right child -> 1 (must be > 1): a cycle risk
    c.save(corrupt.path);
    CHECK(error_of(corrupt.path) == corrupt.path + ": tree 0: node 0 is malformed");
}
