// fsync_probe DIR [COUNT] [SECONDS] [PAUSE_MS]: how long one 4 KiB append plus fdatasync takes in
// DIR (the store's folder), as p50/p99/max, over COUNT syncs or SECONDS, with PAUSE_MS between
// them. Every issuance waits for such syncs, so this is the floor under the broker's issuance
// latency; run beside a load test (with a pause, to add little load) it shows what the disk
// did meanwhile (bench/run).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fsync_probe DIR [COUNT] [SECONDS] [PAUSE_MS]\n");
    return 2;
  }
  std::string path = std::string(argv[1]) + "/fsync_probe.tmp";
  int count = argc > 2 ? std::atoi(argv[2]) : 500;
  double seconds = argc > 3 ? std::atof(argv[3]) : 1e9;
  int pause_ms = argc > 4 ? std::atoi(argv[4]) : 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || count < 1) {
    std::perror("fsync_probe");
    return 1;
  }
  std::vector<char> block(4096, 'x');
  std::vector<double> ms;
  for (int i = 0; i < count && std::chrono::steady_clock::now() < end; ++i) {
    if (pause_ms > 0 && i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
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
  if (ms.empty()) return 1;
  std::printf("fsync_probe writes=%zu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", ms.size(), pct(0.5),
              pct(0.99), ms.back());
  return 0;
}
