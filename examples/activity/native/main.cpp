// activity_predict: the native version of examples/activity/app.py.
//
//   activity_predict [RECORDING.csv [MODEL.forest [PREDICTIONS.csv]]]
//                    [--batch N] [--features FEATURES.csv]
//
// Streams the recording row by row, computes the 15 features of each block of 128 rows,
// and classifies the blocks in batches of N (default 256): for each batch the forest file
// is read once, one tree at a time. Memory stays the same whatever the input size: one
// block of samples, N feature vectors and one tree. Writes `block,label` lines identical to
// app.py's. --features also writes every block's features (%.17g) for the tests.
// Errors: one line on stderr naming the file, exit status 2.
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "csv_stream.h"
#include "error.h"
#include "features.h"
#include "forest.h"

namespace {

using activity::Error;

struct Options {
    std::string recording = "recording.csv";
    std::string model = "model.forest";
    std::string output = "predictions.csv";
    std::string features;
    std::size_t batch = 256;
};

Options parse_options(int argc, char** argv) {
    Options options;
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "--batch" || arg == "--features") && i + 1 < argc) {
            const std::string value = argv[++i];
            if (arg == "--features") {
                options.features = value;
                continue;
            }
            char* end = nullptr;
            const long batch = std::strtol(value.c_str(), &end, 10);
            if (*end != '\0' || batch < 1 || batch > 1000000)
                throw Error("--batch: expected a number in 1..1000000, got '" + value + "'");
            options.batch = static_cast<std::size_t>(batch);
        } else if (arg == "-h" || arg == "--help") {
            std::puts("usage: activity_predict [RECORDING.csv [MODEL.forest [PREDICTIONS.csv]]]"
                      " [--batch N] [--features FEATURES.csv]");
            std::exit(0);
        } else if (!arg.empty() && arg[0] == '-') {
            throw Error("unknown option '" + arg + "' (see --help)");
        } else if (positional == 0) {
            options.recording = arg, ++positional;
        } else if (positional == 1) {
            options.model = arg, ++positional;
        } else if (positional == 2) {
            options.output = arg, ++positional;
        } else {
            throw Error("too many arguments (see --help)");
        }
    }
    return options;
}

class OutputFile {
public:
    OutputFile(const std::string& path) : path_(path) {
        if (path.empty()) return;
        file_ = std::fopen(path.c_str(), "w");
        if (!file_) throw Error(path + ": cannot write: " + std::strerror(errno));
    }
    ~OutputFile() {
        if (file_) std::fclose(file_);
    }
    std::FILE* get() const { return file_; }
    void close() {
        if (file_ && std::fclose(file_) != 0) {
            file_ = nullptr;
            throw Error(path_ + ": write failed");
        }
        file_ = nullptr;
    }

private:
    std::string path_;
    std::FILE* file_ = nullptr;
};

class Predictor {
public:
    Predictor(activity::ForestReader& forest, std::FILE* out) : forest_(forest), out_(out) {}

    // Classifies the feature vectors in `batch` and writes one line per block.
    void predict(const std::vector<activity::Features>& batch) {
        const std::size_t classes = forest_.n_classes();
        sums_.assign(batch.size() * classes, 0.0);
        forest_.rewind();
        while (forest_.next(tree_)) {
            for (std::size_t b = 0; b < batch.size(); ++b) {
                const double* leaf = tree_.leaf(batch[b]);
                for (std::size_t c = 0; c < classes; ++c) sums_[b * classes + c] += leaf[c];
            }
        }
        const double trees = static_cast<double>(forest_.n_trees());
        for (std::size_t b = 0; b < batch.size(); ++b) {
            std::size_t best = 0;
            for (std::size_t c = 0; c < classes; ++c) {
                sums_[b * classes + c] /= trees;
                if (sums_[b * classes + c] > sums_[b * classes + best]) best = c;
            }
            std::fprintf(out_, "%ld,%d\n", next_block_++, forest_.classes()[best]);
        }
    }

    long blocks() const { return next_block_; }

private:
    activity::ForestReader& forest_;
    std::FILE* out_;
    activity::Tree tree_;
    std::vector<double> sums_;
    long next_block_ = 0;
};

void write_features(std::FILE* out, const activity::Features& features) {
    for (std::size_t i = 0; i < features.size(); ++i)
        std::fprintf(out, i == 0 ? "%.17g" : ",%.17g", features[i]);
    std::fputc('\n', out);
}

int run(const Options& options) {
    activity::ForestReader forest(options.model);
    activity::CsvStream csv(options.recording);
    OutputFile output(options.output);
    OutputFile features_out(options.features);
    std::fputs("block,label\n", output.get());

    Predictor predictor(forest, output.get());
    std::vector<activity::Features> batch;
    batch.reserve(options.batch);
    std::array<std::array<double, activity::kBlockSize>, activity::kAxes> block;
    std::size_t filled = 0;
    activity::Sample sample{};
    while (csv.next(sample)) {
        block[0][filled] = sample.x;
        block[1][filled] = sample.y;
        block[2][filled] = sample.z;
        if (++filled < activity::kBlockSize) continue;
        filled = 0;
        batch.push_back(activity::block_features(block));
        if (features_out.get()) write_features(features_out.get(), batch.back());
        if (batch.size() == options.batch) {
            predictor.predict(batch);
            batch.clear();
        }
    }
    if (!batch.empty()) predictor.predict(batch);
    output.close();
    features_out.close();
    std::printf("predicted %ld blocks (%ld rows) into %s\n", predictor.blocks(), csv.rows(),
                options.output.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_options(argc, argv));
    } catch (const Error& error) {
        std::fprintf(stderr, "activity_predict: %s\n", error.what());
    } catch (const std::exception& error) {
        std::fprintf(stderr, "activity_predict: %s\n", error.what());
    }
    return 2;
}
