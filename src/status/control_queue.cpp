#include "status/control_queue.h"

#include <chrono>

namespace ride::status {

std::string ControlCommand::describe() const {
  switch (kind) {
    case Kind::drain: return "drain";
    case Kind::pause: return "pause stream " + std::to_string(stream);
    case Kind::resume: return "resume stream " + std::to_string(stream);
    case Kind::workers: return "workers of stage " + stage + " = " + std::to_string(count);
  }
  return "?";
}

ControlReply ControlQueue::submit(ControlCommand c, double timeout_s) {
  std::future<ControlReply> answer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return {503, closed_why_};
    Entry e{std::move(c), {}};
    answer = e.reply.get_future();
    waiting_.push_back(std::move(e));
    pending_.store(true, std::memory_order_release);
  }
  if (answer.wait_for(std::chrono::duration<double>(timeout_s)) != std::future_status::ready) {
    // The entry stays queued: the loop still answers it (into a future nobody reads).
    return {503, "the job did not take the command within " + std::to_string(static_cast<int>(timeout_s)) +
                     " s; it may still be carried out"};
  }
  return answer.get();
}

void ControlQueue::close(const std::string& why) {
  std::deque<Entry> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    closed_why_ = why;
    left.swap(waiting_);
    pending_.store(false, std::memory_order_release);
  }
  for (auto& e : left) e.reply.set_value({503, why});
}

void ControlQueue::note(std::string line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (notes_.size() < 1000) notes_.push_back(std::move(line));  // a flood of bad requests stays bounded
}

std::vector<std::string> ControlQueue::take_notes() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.swap(notes_);
  return out;
}

}  // namespace ride::status
