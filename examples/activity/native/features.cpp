#include "features.h"

#include <cmath>

namespace activity {

namespace {

constexpr std::size_t kOrder = 3;

// sum over t = kOrder .. n-1 of d[t-j] * d[t-k], added left to right
double lagged(const double* d, std::size_t j, std::size_t k) {
    double sum = 0.0;
    for (std::size_t t = kOrder; t < kBlockSize; ++t) sum += d[t - j] * d[t - k];
    return sum;
}

}  // namespace

std::array<double, kFeaturesPerAxis> axis_features(const double* signal) {
    const double n = static_cast<double>(kBlockSize);
    double sum = 0.0;
    for (std::size_t i = 0; i < kBlockSize; ++i) sum += signal[i];
    const double mean = sum / n;
    std::array<double, kBlockSize> d;
    double squares = 0.0;
    for (std::size_t i = 0; i < kBlockSize; ++i) {
        d[i] = signal[i] - mean;
        squares += d[i] * d[i];
    }
    const double std_dev = std::sqrt(squares / n);

    // normal equations R a = r, solved with the adjugate of the symmetric R
    const double r11 = lagged(d.data(), 1, 1), r12 = lagged(d.data(), 1, 2),
                 r13 = lagged(d.data(), 1, 3), r22 = lagged(d.data(), 2, 2),
                 r23 = lagged(d.data(), 2, 3), r33 = lagged(d.data(), 3, 3);
    const double r1 = lagged(d.data(), 0, 1), r2 = lagged(d.data(), 0, 2),
                 r3 = lagged(d.data(), 0, 3);
    const double a11 = r22 * r33 - r23 * r23;
    const double a12 = r13 * r23 - r12 * r33;
    const double a13 = r12 * r23 - r13 * r22;
    const double a22 = r11 * r33 - r13 * r13;
    const double a23 = r12 * r13 - r11 * r23;
    const double a33 = r11 * r22 - r12 * r12;
    const double det = r11 * a11 + r12 * a12 + r13 * a13;
    double ar1 = 0.0, ar2 = 0.0, ar3 = 0.0;
    if (det > 1e-12 * (r11 * r22 * r33)) {
        ar1 = (a11 * r1 + a12 * r2 + a13 * r3) / det;
        ar2 = (a12 * r1 + a22 * r2 + a23 * r3) / det;
        ar3 = (a13 * r1 + a23 * r2 + a33 * r3) / det;
    }
    return {mean, std_dev, ar1, ar2, ar3};
}

Features block_features(const std::array<std::array<double, kBlockSize>, kAxes>& block) {
    Features features{};
    for (std::size_t axis = 0; axis < kAxes; ++axis) {
        const auto one = axis_features(block[axis].data());
        for (std::size_t k = 0; k < kFeaturesPerAxis; ++k)
            features[axis * kFeaturesPerAxis + k] = one[k];
    }
    return features;
}

}  // namespace activity
