#pragma once
/// @brief Job control from the HTTP thread to the master's loop: a request becomes a command
/// value, the loop decides and carries it out between two of its steps (the only place the job
/// model changes), and the answer goes back to the waiting request. The HTTP thread never acts
/// on the job itself.
#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <vector>

namespace ride::status {

struct ControlCommand {
  enum class Kind { drain, pause, resume, workers };
  Kind kind = Kind::drain;
  std::uint32_t stream = 0;  ///< pause, resume
  std::string stage;         ///< workers
  int count = 0;             ///< workers: the group size wanted
  std::string caller;        ///< "ADDR:PORT (user agent)", for the log
  /// "drain", "pause stream 3", "workers of stage main = 4"
  std::string describe() const;
};

struct ControlReply {
  int http_status = 200;
  std::string message;
};

class ControlQueue {
 public:
  /// HTTP thread: hands `c` to the loop and waits for its answer; 503 when the loop does not
  /// answer within `timeout_s`, or once the job has ended (close()).
  ControlReply submit(ControlCommand c, double timeout_s);
  /// The loop: answers every waiting command with `decide(command)` (which carries it out).
  template <typename Decide>
  void serve(Decide&& decide) {
    if (!pending_.load(std::memory_order_acquire)) return;
    std::deque<Entry> batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(waiting_);
      pending_.store(false, std::memory_order_release);
    }
    for (auto& e : batch) e.reply.set_value(decide(e.command));
  }
  /// The job has ended: waiting and later commands are answered 503 with `why`.
  void close(const std::string& why);
  /// Whether a submitted command waits for the loop's answer (what serve() checks first).
  bool pending() const { return pending_.load(std::memory_order_acquire); }

  /// HTTP thread: a refused request (bad token, malformed), for the loop to log.
  void note(std::string line);
  /// The loop: the notes since the last call.
  std::vector<std::string> take_notes();

 private:
  struct Entry {
    ControlCommand command;
    std::promise<ControlReply> reply;
  };
  std::mutex mu_;
  std::deque<Entry> waiting_;
  std::vector<std::string> notes_;
  std::atomic<bool> pending_{false};
  bool closed_ = false;
  std::string closed_why_;
};

}  // namespace ride::status
