#include "csv_stream.h"

#include <cerrno>
#include <cstring>

#include "error.h"

namespace activity {

namespace {

constexpr char kHeader[] = "seq,x,y,z,label";

// Parses an integer field [begin, end); also accepts an integral decimal such as "12.0".
bool parse_integer(const char* begin, const char* end, long long& value) {
    while (begin < end && *begin == ' ') ++begin;
    while (end > begin && (end[-1] == ' ' || end[-1] == '\r')) --end;
    bool negative = false;
    if (begin < end && (*begin == '-' || *begin == '+')) negative = *begin++ == '-';
    if (begin == end) return false;
    long long result = 0;
    const char* p = begin;
    for (; p < end && *p >= '0' && *p <= '9'; ++p) {
        if (result > 100000000000LL) return false;
        result = result * 10 + (*p - '0');
    }
    if (p == begin) return false;
    if (p < end && *p == '.') {
        for (++p; p < end && *p == '0'; ++p) {}
    }
    if (p != end) return false;
    value = negative ? -result : result;
    return true;
}

}  // namespace

CsvStream::CsvStream(const std::string& path) : path_(path) {
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) throw Error(path + ": cannot open: " + std::strerror(errno));
    static char buffer[1 << 14];  // one small, fixed read buffer
    std::setvbuf(file_, buffer, _IOFBF, sizeof buffer);
}

CsvStream::~CsvStream() {
    if (file_) std::fclose(file_);
}

void CsvStream::fail(const std::string& what) const {
    throw Error(path_ + ":" + std::to_string(line_) + ": " + what);
}

bool CsvStream::read_line() {
    line_length_ = 0;
    int c = std::fgetc(file_);
    if (c == EOF) {
        if (std::ferror(file_)) throw Error(path_ + ": read error");
        return false;
    }
    ++line_;
    for (; c != EOF && c != '\n'; c = std::fgetc(file_)) {
        if (line_length_ + 1 >= line_buffer_.size()) fail("line too long");
        line_buffer_[line_length_++] = static_cast<char>(c);
    }
    if (line_length_ > 0 && line_buffer_[line_length_ - 1] == '\r') --line_length_;
    line_buffer_[line_length_] = '\0';
    return true;
}

bool CsvStream::next(Sample& sample) {
    while (read_line()) {
        const char* text = line_buffer_.data();
        if (line_length_ == 0) continue;  // blank lines are skipped, as pandas does
        if (line_ == 1 && std::strcmp(text, kHeader) == 0) continue;
        const char* fields[6];
        const char* ends[5];
        int count = 0;
        fields[0] = text;
        for (const char* p = text;; ++p) {
            if (*p == ',' || *p == '\0') {
                if (count < 5) ends[count] = p;
                ++count;
                if (*p == '\0') break;
                if (count < 6) fields[count] = p + 1;
            }
        }
        if (count != 5)
            fail("expected 5 fields seq,x,y,z,label, found " + std::to_string(count));
        static constexpr const char* kNames[5] = {"seq", "x", "y", "z", "label"};
        long long values[5];
        for (int i = 0; i < 5; ++i) {
            if (!parse_integer(fields[i], ends[i], values[i]))
                fail(std::string(kNames[i]) + " is not an integer: '" +
                     std::string(fields[i], ends[i]) + "'");
        }
        for (int i = 1; i <= 3; ++i) {
            if (values[i] < -(1LL << 30) || values[i] > (1LL << 30))
                fail(std::string(kNames[i]) + " is out of range");
        }
        sample = {static_cast<std::int32_t>(values[1]), static_cast<std::int32_t>(values[2]),
                  static_cast<std::int32_t>(values[3])};
        ++rows_;
        return true;
    }
    return false;
}

}  // namespace activity
