#include "profiler/probe/stdout_tee.h"

#include <cerrno>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <unistd.h>

namespace memopt::probe {

namespace {

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

} // namespace

bool StdoutTee::start() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    saved_stdout_ = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
    if (saved_stdout_ < 0 || ::dup2(fds[1], 1) < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        if (saved_stdout_ >= 0) ::close(saved_stdout_);
        saved_stdout_ = -1;
        return false;
    }
    ::close(fds[1]); // fd 1 is now the only write end
    read_end_ = fds[0];
    auto* context = EVP_MD_CTX_new();
    EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
    context_ = context;
    active_ = true;
    thread_ = std::thread([this] { pump(); });
    return true;
}

void StdoutTee::pump() {
    auto* context = static_cast<EVP_MD_CTX*>(context_);
    char buffer[65536];
    bool output_ok = true;
    int idle_polls = 0;
    for (;;) {
        pollfd pfd{read_end_, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, 100);
        if (ready == 0) {
            // After stop(), wait at most 0.5 s for writers that still hold the pipe.
            if (stopping_.load() && ++idle_polls >= 5) break;
            continue;
        }
        if (ready < 0) {
            if (errno == EINTR) continue;
            break;
        }
        const ssize_t n = ::read(read_end_, buffer, sizeof buffer);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            break;
        }
        idle_polls = 0;
        EVP_DigestUpdate(context, buffer, static_cast<std::size_t>(n));
        bytes_ += static_cast<unsigned long long>(n);
        // A closed reader (e.g. `| head`) must not stop the hashing nor the script.
        if (output_ok) output_ok = write_all(saved_stdout_, buffer, static_cast<std::size_t>(n));
    }
}

std::string StdoutTee::stop() {
    if (!active_) return digest_;
    active_ = false;
    ::dup2(saved_stdout_, 1); // closes our write end on fd 1
    stopping_.store(true);
    thread_.join();
    ::close(read_end_);
    ::close(saved_stdout_);
    read_end_ = saved_stdout_ = -1;
    auto* context = static_cast<EVP_MD_CTX*>(context_);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context, digest, &length);
    EVP_MD_CTX_free(context);
    context_ = nullptr;
    static const char* hex = "0123456789abcdef";
    digest_.clear();
    for (unsigned int i = 0; i < length; ++i) {
        digest_ += hex[digest[i] >> 4];
        digest_ += hex[digest[i] & 15];
    }
    return digest_;
}

} // namespace memopt::probe
