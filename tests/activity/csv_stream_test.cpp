// Unit tests of native/csv_stream.cpp.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "native/csv_stream.h"
#include "native/error.h"

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("activity_csv_test_" + std::to_string(::getpid()) + "_" + name))
                                 .string();
    std::FILE* file = std::fopen(path.c_str(), "wb");
    REQUIRE(file != nullptr);
    std::fputs(text.c_str(), file);
    std::fclose(file);
    return path;
}

std::string error_of(const std::string& path) {
    try {
        activity::CsvStream csv(path);
        activity::Sample sample{};
        while (csv.next(sample)) {}
    } catch (const activity::Error& error) {
        return error.what();
    }
    return "";
}

}  // namespace

TEST_CASE("rows are streamed after the optional header, blank lines and CRLF are accepted") {
    const std::string path =
        write_temp("ok.csv", "seq,x,y,z,label\r\n0,1,2,3,4\r\n\n1.0,-5,2048,4095,0\n");
    activity::CsvStream csv(path);
    activity::Sample s{};
    REQUIRE(csv.next(s));
    CHECK((s.x == 1 && s.y == 2 && s.z == 3));
    REQUIRE(csv.next(s));
    CHECK((s.x == -5 && s.y == 2048 && s.z == 4095));
    CHECK_FALSE(csv.next(s));
    CHECK(csv.rows() == 2);
    std::remove(path.c_str());
}

TEST_CASE("malformed rows are reported with file and line") {
    const std::string fields = write_temp("fields.csv", "seq,x,y,z,label\n0,1,2,3,4\n1,2,3,4\n");
    CHECK(error_of(fields) == fields + ":3: expected 5 fields seq,x,y,z,label, found 4");
    const std::string text = write_temp("text.csv", "0,1,2,3,4\n1,2,abc,4,1\n");
    CHECK(error_of(text) == text + ":2: y is not an integer: 'abc'");
    const std::string fraction = write_temp("fraction.csv", "0,1.5,2,3,4\n");
    CHECK(error_of(fraction) == fraction + ":1: x is not an integer: '1.5'");
    const std::string empty = write_temp("empty.csv", "0,1,2,,4\n");
    CHECK(error_of(empty) == empty + ":1: z is not an integer: ''");
    CHECK(error_of("/nonexistent/rec.csv") ==
          "/nonexistent/rec.csv: cannot open: No such file or directory");
    for (const auto& path : {fields, text, fraction, empty}) std::remove(path.c_str());
}
