// fsync_probe DIR [COUNT]: how long one 4 KiB write plus fdatasync takes in DIR (the store's
// folder), as p50/p99/max. Every issuance waits for at least one of these, so this is the floor
// under the broker's issuance latency, and its tail is the tail of the p99 (bench/run).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fsync_probe DIR [COUNT]\n");
    return 2;
  }
  std::string path = std::string(argv[1]) + "/fsync_probe.tmp";
  int count = argc > 2 ? std::atoi(argv[2]) : 500;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || count < 1) {
    std::perror("fsync_probe");
    return 1;
  }
  std::vector<char> block(4096, 'x');
  std::vector<double> ms;
  for (int i = 0; i < count; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    // Appending, as a WAL or the audit log does, so each sync also carries a size change.
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      std::perror("fsync_probe");
      return 1;
    }
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  };
  std::printf("fsync_probe writes=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", count, pct(0.5),
              pct(0.99), ms.back());
  return 0;
}
