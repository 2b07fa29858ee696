// The thread harness of the store's race tests (the conformance suite's and PgStore's own):
// calls started on several threads at the same moment, so that they overlap.
#pragma once

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

namespace jitb::store::conformance {

// Starts every thread's work at the same moment, so that the calls of a race test overlap.
class Gate {
 public:
  explicit Gate(int n) : waiting_(n) {}
  void arriveAndWait() {
    waiting_.fetch_sub(1);
    while (waiting_.load() > 0) std::this_thread::yield();
  }

 private:
  std::atomic<int> waiting_;
};

// Runs work(i) for each i below `n`, each on a thread of its own, all released together;
// returns once every one is done.
template <class Work>
void onThreads(int n, Work work) {
  Gate gate(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&gate, &work, i] {
      gate.arriveAndWait();
      work(i);
    });
  for (auto& t : threads) t.join();
}

// One round of a two-sided race: `other` on a thread of its own and `mine` on this one,
// released together; returns once both are done.
template <class Other, class Mine>
void race(Other other, Mine mine) {
  Gate gate(2);
  std::thread t([&] {
    gate.arriveAndWait();
    other();
  });
  gate.arriveAndWait();
  mine();
  t.join();
}

}  // namespace jitb::store::conformance
