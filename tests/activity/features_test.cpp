// Unit tests of native/features.cpp against values known in closed form.
#include <catch2/catch.hpp>

#include <cmath>

#include "native/features.h"

using activity::kBlockSize;

TEST_CASE("a constant axis has its value as mean, no spread and zero AR coefficients") {
    std::array<double, kBlockSize> signal;
    signal.fill(2048.0);
    const auto f = activity::axis_features(signal.data());
    CHECK(f[0] == 2048.0);
    CHECK(f[1] == 0.0);
    CHECK(f[2] == 0.0);
    CHECK(f[3] == 0.0);
    CHECK(f[4] == 0.0);
}

TEST_CASE("mean and population standard deviation (ddof 0)") {
    std::array<double, kBlockSize> signal;
    for (std::size_t i = 0; i < kBlockSize; ++i) signal[i] = i % 2 ? 2002.0 : 1998.0;
    const auto f = activity::axis_features(signal.data());
    CHECK(f[0] == 2000.0);
    CHECK(f[1] == 2.0);  // ddof=1 would give 2.0078...
}

TEST_CASE("a signal that follows an AR(3) recurrence exactly gets its coefficients back") {
    // roots 1 and 0.97 e^(+-iw): x[t] = A + B 0.97^t cos(wt) satisfies it, also after the
    // mean is removed (the constant mode absorbs it)
    const double rho = 0.97, w = 2.0 * M_PI / 10.0, c = std::cos(w);
    const double a1 = 1.0 + 2.0 * rho * c, a2 = -(2.0 * rho * c + rho * rho), a3 = rho * rho;
    std::array<double, kBlockSize> signal;
    for (std::size_t i = 0; i < kBlockSize; ++i)
        signal[i] = 2000.0 + 300.0 * std::pow(rho, static_cast<double>(i)) * std::cos(w * i + 0.4);
    const auto f = activity::axis_features(signal.data());
    CHECK(f[2] == Approx(a1).epsilon(1e-7));
    CHECK(f[3] == Approx(a2).epsilon(1e-7));
    CHECK(f[4] == Approx(a3).epsilon(1e-7));
}

TEST_CASE("a pure sinusoid makes the AR(3) system singular: coefficients are 0 by definition") {
    std::array<double, kBlockSize> signal;
    const double w = 2.0 * M_PI / 16.0;  // x[t] = 2cos(w) x[t-1] - x[t-2]: rank 2
    for (std::size_t i = 0; i < kBlockSize; ++i) signal[i] = 100.0 * std::sin(w * i + 0.3);
    const auto f = activity::axis_features(signal.data());
    CHECK(std::abs(f[0]) < 1e-12);
    CHECK(f[1] == Approx(100.0 / std::sqrt(2.0)).epsilon(1e-12));
    CHECK(f[2] == 0.0);
    CHECK(f[3] == 0.0);
    CHECK(f[4] == 0.0);
}

TEST_CASE("block features are the axis features of x, y, z in that order") {
    std::array<std::array<double, kBlockSize>, activity::kAxes> block;
    block[0].fill(1.0);
    block[1].fill(2.0);
    block[2].fill(3.0);
    block[2][0] = 131.0;
    const auto f = activity::block_features(block);
    CHECK(f[0] == 1.0);
    CHECK(f[5] == 2.0);
    CHECK(f[10] == 4.0);  // (127 * 3 + 131) / 128
    CHECK(f[11] > 0.0);
    CHECK(f[1] == 0.0);
}
