// Streams a recording `seq,x,y,z,label` (header line optional) through a fixed buffer:
// one row at a time, nothing else kept. Malformed rows throw activity::Error naming the line.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

namespace activity {

struct Sample {
    std::int32_t x, y, z;
};

class CsvStream {
public:
    explicit CsvStream(const std::string& path);
    ~CsvStream();
    CsvStream(const CsvStream&) = delete;
    CsvStream& operator=(const CsvStream&) = delete;

    // Reads the next data row into `sample`; false at the end of the file.
    bool next(Sample& sample);
    long line() const { return line_; }
    long rows() const { return rows_; }

private:
    bool read_line();  // next line into line_buffer_ (without '\n'); false at EOF
    [[noreturn]] void fail(const std::string& what) const;

    std::string path_;
    std::FILE* file_ = nullptr;
    long line_ = 0;
    long rows_ = 0;
    std::array<char, 256> line_buffer_{};
    std::size_t line_length_ = 0;
};

}  // namespace activity
