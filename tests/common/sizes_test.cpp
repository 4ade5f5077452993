#include "common/error.h"
#include "common/sizes.h"

#include <catch2/catch.hpp>

TEST_CASE("parse_size understands binary and decimal units") {
    CHECK(memopt::parse_size("4096") == 4096);
    CHECK(memopt::parse_size("24 MB") == 24'000'000);
    CHECK(memopt::parse_size("1.5GiB") == 1610612736);
    CHECK(memopt::parse_size("512kib") == 524288);
    CHECK(memopt::parse_size("7B") == 7);
}

TEST_CASE("parse_size rejects junk with the offending text") {
    CHECK_THROWS_WITH(memopt::parse_size("12 parsecs"), Catch::Contains("parsecs"));
    CHECK_THROWS_AS(memopt::parse_size(""), memopt::Error);
    CHECK_THROWS_AS(memopt::parse_size("MB"), memopt::Error);
    CHECK_THROWS_AS(memopt::parse_size("1e999"), memopt::Error);
}

TEST_CASE("format_size picks a readable decimal unit, MiB beside it on request") {
    CHECK(memopt::format_size(512) == "512 B");
    CHECK(memopt::format_size(12'600) == "12.6 kB");
    CHECK(memopt::format_size(80'000'000) == "80.0 MB");
    CHECK(memopt::format_size(999'960) == "1.0 MB"); // never "1000.0 kB"
    CHECK(memopt::format_size(1.5e9) == "1.5 GB");
    CHECK(memopt::format_size(-2'500'000) == "-2.5 MB");
    CHECK(memopt::format_size_binary(80'000'000) == "76.3 MiB");
    CHECK(memopt::format_size_binary(1 << 20) == "1.0 MiB");
    CHECK(memopt::format_size_both(80'000'000) == "80.0 MB (76.3 MiB)");
    CHECK(memopt::format_size_both(100) == "100 B");
    CHECK(memopt::format_mb(92'800'000) == "92.8 MB");
    CHECK(memopt::format_mb(2'900'000, 2) == "2.90 MB");
    CHECK(memopt::to_mb(258e6) == 258.0);
}
