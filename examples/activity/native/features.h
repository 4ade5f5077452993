// The 15 block features of docs/activity-features.md: per axis x, y, z: mean, standard
// deviation and the three AR(3) least-squares coefficients, in that order.
#pragma once

#include <array>
#include <cstddef>

namespace activity {

constexpr std::size_t kBlockSize = 128;
constexpr std::size_t kAxes = 3;
constexpr std::size_t kFeaturesPerAxis = 5;
constexpr std::size_t kFeatures = kAxes * kFeaturesPerAxis;

using Features = std::array<double, kFeatures>;

// The five features of one axis of one block (kBlockSize values).
std::array<double, kFeaturesPerAxis> axis_features(const double* signal);

// All 15 features of one block; block[axis][i] is sample i of that axis.
Features block_features(const std::array<std::array<double, kBlockSize>, kAxes>& block);

}  // namespace activity
