#include "forest.h"

#include <bit>
#include <cerrno>
#include <cstring>

#include "error.h"

namespace activity {

namespace {

constexpr char kMagic[8] = {'M', 'O', 'F', 'O', 'R', 'E', 'S', 'T'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kMaxNodes = 1u << 28;

static_assert(std::endian::native == std::endian::little, "the model file is little-endian");

}  // namespace

const double* Tree::leaf(const Features& features) const {
    std::uint32_t node = 0;
    while (nodes[node].feature >= 0) {
        const Node& n = nodes[node];
        const float x = static_cast<float>(features[static_cast<std::size_t>(n.feature)]);
        node = static_cast<double>(x) <= n.threshold ? node + 1 : n.link;
    }
    return values.data() + static_cast<std::size_t>(nodes[node].link) * n_classes;
}

ForestReader::ForestReader(const std::string& path) : path_(path) {
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) throw Error(path + ": cannot open model: " + std::strerror(errno));
    char magic[8];
    read(magic, sizeof magic, "header");
    if (std::memcmp(magic, kMagic, sizeof magic) != 0)
        fail("not a memopt forest file (bad magic)");
    std::uint32_t header[4];
    read(header, sizeof header, "header");
    if (header[0] != kVersion)
        fail("unsupported model version " + std::to_string(header[0]));
    if (header[1] != kFeatures)
        fail("model expects " + std::to_string(header[1]) + " features, not " +
             std::to_string(kFeatures));
    if (header[2] == 0 || header[2] > 1024) fail("bad class count");
    if (header[3] == 0) fail("model has no trees");
    n_trees_ = header[3];
    classes_.resize(header[2]);
    read(classes_.data(), classes_.size() * sizeof(std::int32_t), "class labels");
    first_tree_ = std::ftell(file_);
}

ForestReader::~ForestReader() {
    if (file_) std::fclose(file_);
}

void ForestReader::fail(const std::string& what) const { throw Error(path_ + ": " + what); }

void ForestReader::read(void* data, std::size_t size, const char* what) {
    if (size != 0 && std::fread(data, 1, size, file_) != size)
        fail(std::string("truncated model file (while reading ") + what + ")");
}

void ForestReader::rewind() {
    if (std::fseek(file_, first_tree_, SEEK_SET) != 0) fail("cannot seek");
    tree_index_ = 0;
}

bool ForestReader::next(Tree& tree) {
    if (tree_index_ == n_trees_) return false;
    const std::string which = "tree " + std::to_string(tree_index_);
    std::uint32_t sizes[2];
    read(sizes, sizeof sizes, which.c_str());
    if (sizes[0] == 0 || sizes[0] > kMaxNodes || sizes[1] == 0 || sizes[1] > sizes[0])
        fail(which + ": bad node or value count");
    tree.n_classes = n_classes();
    tree.nodes.resize(sizes[0]);
    tree.values.resize(static_cast<std::size_t>(sizes[1]) * n_classes());
    read(tree.nodes.data(), tree.nodes.size() * sizeof(Node), which.c_str());
    read(tree.values.data(), tree.values.size() * sizeof(double), which.c_str());
    for (std::uint32_t i = 0; i < sizes[0]; ++i) {  // every path must end in a leaf
        const Node& node = tree.nodes[i];
        const bool ok = node.feature < 0
                            ? node.feature == -1 && node.link < sizes[1]
                            : static_cast<std::size_t>(node.feature) < kFeatures &&
                                  node.link > i + 1 && node.link < sizes[0] && i + 1 < sizes[0];
        if (!ok) fail(which + ": node " + std::to_string(i) + " is malformed");
    }
    ++tree_index_;
    return true;
}

}  // namespace activity
