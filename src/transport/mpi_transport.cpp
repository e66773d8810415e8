#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <deque>
#include <thread>
#include <variant>

#include "core/clock.h"
#include "core/error.h"
#include "transport/transport.h"

#define RIDE_MPI_TRY(call, hint)                                                          \
  do {                                                                                    \
    const int ride_mpi_rc_ = (call);                                                      \
    if (ride_mpi_rc_ != MPI_SUCCESS) {                                                    \
      char ride_mpi_msg_[MPI_MAX_ERROR_STRING];                                           \
      int ride_mpi_len_ = 0;                                                              \
      MPI_Error_string(ride_mpi_rc_, ride_mpi_msg_, &ride_mpi_len_);                      \
      RIDE_FAIL(#call << " failed: " << std::string(ride_mpi_msg_, ride_mpi_len_) << " (" \
                      << hint << ")");                                                    \
    }                                                                                     \
  } while (0)

namespace ride::transport {

struct Transport::Impl {
  struct PendingSend {
    MPI_Request request;
    std::variant<Buffer, BufferPtr> body;  // kept alive until the send completes
    double deadline;
    int dest;
  };
  std::deque<PendingSend> sends;
  double send_timeout_s;
};

void IdleBackoff::wait() {
  delay_us_ = delay_us_ == 0 ? 20 : std::min(delay_us_ * 2, 1000);
  std::this_thread::sleep_for(std::chrono::microseconds(delay_us_));
}

Transport::Transport(int* argc, char*** argv, double send_timeout_s) : impl_(new Impl) {
  impl_->send_timeout_s = send_timeout_s;
  int provided = 0;
  RIDE_MPI_TRY(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI start-up");
  // Errors come back as codes, so a failure is reported with context instead of aborting.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(name, &len);
  host_.assign(name, static_cast<std::size_t>(len));
}

Transport::~Transport() {
  // Requests to peers that died stay pending; Open MPI still finalizes (measured), but cancel
  // them first so no buffer is read after it is freed.
  for (auto& s : impl_->sends) {
    MPI_Cancel(&s.request);
    MPI_Request_free(&s.request);
  }
  impl_->sends.clear();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

namespace {
const Buffer& view(const std::variant<Buffer, BufferPtr>& b) {
  return b.index() == 0 ? std::get<0>(b) : *std::get<1>(b);
}
}  // namespace

void Transport::send(int dest, Tag tag, Buffer body) {
  send(dest, tag, std::make_shared<const Buffer>(std::move(body)));
}

void Transport::send(int dest, Tag tag, BufferPtr body) {
  RIDE_EXPECTS(body->size() <= static_cast<std::size_t>(INT_MAX),
               "message of " << body->size() << " bytes exceeds MPI's int count; frames over 2 GiB "
                             "are not supported yet");
  Impl::PendingSend s{MPI_REQUEST_NULL, std::move(body), steady_s() + impl_->send_timeout_s, dest};
  const Buffer& b = view(s.body);
  RIDE_MPI_TRY(MPI_Isend(b.data(), static_cast<int>(b.size()), MPI_BYTE, dest,
                         static_cast<int>(tag), MPI_COMM_WORLD, &s.request),
               "send to rank " << dest);
  stats_.messages_sent++;
  stats_.bytes_sent += b.size();
  impl_->sends.push_back(std::move(s));
  progress();
}

void Transport::progress() {
  auto& q = impl_->sends;
  const double now = steady_s();
  for (auto it = q.begin(); it != q.end();) {
    int done = 0;
    MPI_Test(&it->request, &done, MPI_STATUS_IGNORE);
    if (done) {
      it = q.erase(it);
    } else if (now > it->deadline) {
      // The peer is silent (dead or wedged): give the send up rather than block forever.
      MPI_Cancel(&it->request);
      MPI_Request_free(&it->request);
      stats_.sends_timed_out++;
      it = q.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t Transport::pending_sends() const { return impl_->sends.size(); }

std::optional<Message> Transport::try_recv() {
  int flag = 0;
  MPI_Message handle;
  MPI_Status status;
  RIDE_MPI_TRY(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &handle, &status),
               "probe for messages");
  if (!flag) return std::nullopt;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  Message m;
  m.source = status.MPI_SOURCE;
  m.tag = static_cast<Tag>(status.MPI_TAG);
  m.body = Buffer(static_cast<std::size_t>(count));
  RIDE_MPI_TRY(MPI_Mrecv(m.body.data(), count, MPI_BYTE, &handle, MPI_STATUS_IGNORE),
               "receive from rank " << m.source);
  stats_.messages_received++;
  stats_.bytes_received += static_cast<std::uint64_t>(count);
  return m;
}

std::optional<Message> Transport::recv_for(double timeout_s) {
  const double deadline = steady_s() + timeout_s;
  IdleBackoff backoff;
  for (;;) {
    if (auto m = try_recv()) return m;
    progress();
    if (steady_s() >= deadline) return std::nullopt;
    backoff.wait();
  }
}

bool Transport::drain(double timeout_s) {
  const double deadline = steady_s() + timeout_s;
  IdleBackoff backoff;
  while (!impl_->sends.empty()) {
    progress();
    if (impl_->sends.empty()) break;
    if (steady_s() >= deadline) return false;
    backoff.wait();
  }
  return true;
}

void Transport::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace ride::transport
