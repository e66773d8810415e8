#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
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

namespace {
constexpr int kControlGroupTag = 0x5c0;  ///< MPI_Comm_create_group tag of the control group
constexpr int kWelcomeTag = 0x7e11;      ///< root -> spawned process: its id and the id map
}  // namespace

struct Transport::Impl {
  /// A communicator and the peer ids of its ranks. Link 0 is MPI_COMM_WORLD (ids = world ranks)
  /// except in a spawned process; each replenish() adds the merged communicator of the control
  /// group and the new processes.
  struct Link {
    MPI_Comm comm = MPI_COMM_NULL;
    std::vector<int> id_of;  ///< rank in comm -> peer id
  };
  std::vector<Link> links;
  std::map<int, std::pair<int, int>> route;  ///< peer id -> (link index, rank in its comm)
  std::size_t next_link = 0;                 ///< probe start, rotated for fairness
  MPI_Comm control = MPI_COMM_NULL;
  /// A duplicate of MPI_COMM_WORLD for collectives (group reductions, start-up gathers): their
  /// internal messages must never meet the roles' probes for any tag on MPI_COMM_WORLD, which
  /// would take them as messages of their own (a group reduction hung that way).
  MPI_Comm collectives = MPI_COMM_NULL;
  std::vector<int> control_members;

  void add_link(MPI_Comm comm, std::vector<int> ids, int self) {
    const int index = static_cast<int>(links.size());
    for (std::size_t r = 0; r < ids.size(); ++r) {
      // A peer reachable twice (world and a merged link) keeps its first route.
      if (ids[r] != self) route.try_emplace(ids[r], index, static_cast<int>(r));
    }
    links.push_back({comm, std::move(ids)});
  }
  std::pair<MPI_Comm, int> to(int id) const {
    auto it = route.find(id);
    RIDE_EXPECTS(it != route.end(), "no route to peer " << id);
    return {links[static_cast<std::size_t>(it->second.first)].comm, it->second.second};
  }
  /// Probes every link once, starting at a rotating one; sets *id to the sender's peer id.
  bool improbe(int* flag, MPI_Message* handle, MPI_Status* status, int* id) {
    const std::size_t n = links.size();
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (next_link + k) % n;
      RIDE_MPI_TRY(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, links[i].comm, flag, handle, status),
                   "probe for messages");
      if (*flag) {
        next_link = (i + 1) % n;
        *id = links[i].id_of.at(static_cast<std::size_t>(status->MPI_SOURCE));
        return true;
      }
    }
    return false;
  }

  struct PendingSend {
    MPI_Request request;
    std::variant<Buffer, BufferPtr> body;  // kept alive until the send completes
    double deadline;
    int dest;
  };
  std::deque<PendingSend> sends;
  /// Sends given up on (MPI_Cancel): a rendezvous that already started cannot be cancelled and
  /// may still read its buffer, so request and buffer are kept until MPI completes them. (Freeing
  /// them at once crashed a rank inside MPI_Finalize, measured with 6.25 MB frames.)
  std::deque<PendingSend> cancelled;
  double send_timeout_s;

  void give_up(PendingSend&& s) {
    MPI_Cancel(&s.request);
    cancelled.push_back(std::move(s));
  }
  /// Receives matched but not complete, per source in matching order. A large message arrives
  /// in a rendezvous: if its sender dies half-way, a blocking MPI_Mrecv would never return
  /// (measured: a worker hung in Mrecv after its broker was SIGKILLed), so receives are
  /// nonblocking and a message is delivered only once complete, in order per source.
  struct PendingRecv {
    MPI_Request request;
    Message message;
    double deadline;
    bool done = false;
  };
  std::deque<PendingRecv> recvs;  ///< in matching (arrival) order, all sources
  /// Receives from dead senders, abandoned: their buffers must outlive the requests.
  std::vector<PendingRecv> abandoned;
  bool tolerate_dying_senders = false;
  bool peers_lost = false;  ///< a rank died: MPI_Finalize will not return
  std::atomic<std::int64_t> loop_alive_ns{0};  ///< last try_recv/progress call (watchdog)
  std::atomic<bool> finalizing{false};

  /// The heartbeat thread's own communicators (a duplicate of each link's, made while the
  /// link's members meet anyway), so its sends never wait behind the role's traffic. The
  /// duplicates are links too: try_recv() hears heartbeats on them.
  bool thread_multiple = false;
  std::mutex hb_mu;                                   ///< guards hb_route and hb_targets
  std::map<int, std::pair<MPI_Comm, int>> hb_route;   ///< peer id -> (heartbeat comm, rank)
  std::vector<int> hb_targets;
  std::thread hb_thread;
  std::atomic<bool> hb_stop{false};

  /// Duplicates `comm` for heartbeats (collective over comm) and routes its peers through it.
  void add_heartbeat_link(MPI_Comm comm, const std::vector<int>& ids, int self) {
    if (!thread_multiple) return;
    MPI_Comm dup = MPI_COMM_NULL;
    RIDE_MPI_TRY(MPI_Comm_dup(comm, &dup), "duplicate a communicator for heartbeats");
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    {
      std::lock_guard lock(hb_mu);
      for (std::size_t r = 0; r < ids.size(); ++r) {
        if (ids[r] != self) hb_route.try_emplace(ids[r], dup, static_cast<int>(r));
      }
    }
    add_link(dup, ids, self);
  }

  void heartbeat_loop(double interval_s, const std::function<Buffer()>& body) {
    struct InFlight {
      MPI_Request request = MPI_REQUEST_NULL;
      Buffer body;
    };
    std::map<int, InFlight> in_flight;
    while (!hb_stop.load()) {
      std::vector<std::pair<int, std::pair<MPI_Comm, int>>> to;
      {
        std::lock_guard lock(hb_mu);
        for (int t : hb_targets) {
          if (auto it = hb_route.find(t); it != hb_route.end()) to.emplace_back(t, it->second);
        }
      }
      Buffer b = body();
      for (const auto& [id, where] : to) {
        InFlight& f = in_flight[id];
        if (f.request != MPI_REQUEST_NULL) {
          int done = 0;
          MPI_Test(&f.request, &done, MPI_STATUS_IGNORE);
          if (!done) continue;  // the last one has not left: the target is dead or wedged
        }
        f.body = Buffer(b.size());
        if (b.size()) std::memcpy(f.body.data(), b.data(), b.size());
        MPI_Isend(f.body.data(), static_cast<int>(f.body.size()), MPI_BYTE, where.second,
                  static_cast<int>(Tag::heartbeat), where.first, &f.request);
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(interval_s));
    }
    // Finalize follows: what never left goes with the process (the buffers are not freed).
    for (auto& [id, f] : in_flight) {
      if (f.request != MPI_REQUEST_NULL) MPI_Cancel(&f.request);
    }
    new std::map<int, InFlight>(std::move(in_flight));
  }
};

void IdleBackoff::wait() {
  delay_us_ = delay_us_ == 0 ? 20 : std::min(delay_us_ * 2, 1000);
  std::this_thread::sleep_for(std::chrono::microseconds(delay_us_));
}

Transport::Transport(int* argc, char*** argv, double send_timeout_s) : impl_(new Impl) {
  impl_->send_timeout_s = send_timeout_s;
  impl_->loop_alive_ns.store(wall_ns());
  int provided = 0;
  // MPI_THREAD_MULTIPLE for the heartbeat thread alone (start_heartbeat); every other call is
  // made by the role's thread. RIDE_MPI_THREADS=funneled asks for less (an MPI whose
  // MPI_THREAD_MULTIPLE is slow or broken): the roles' loops then heartbeat themselves.
  const char* level = std::getenv("RIDE_MPI_THREADS");
  const bool funneled = level != nullptr && std::string(level) == "funneled";
  RIDE_MPI_TRY(MPI_Init_thread(argc, argv, funneled ? MPI_THREAD_FUNNELED : MPI_THREAD_MULTIPLE, &provided),
               "MPI start-up");
  impl_->thread_multiple = provided >= MPI_THREAD_MULTIPLE;
  // Errors come back as codes, so a failure is reported with context instead of aborting.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  std::vector<int> ids(static_cast<std::size_t>(size_));
  for (int r = 0; r < size_; ++r) ids[static_cast<std::size_t>(r)] = r;
  impl_->add_link(MPI_COMM_WORLD, ids, rank_);
  impl_->add_heartbeat_link(MPI_COMM_WORLD, ids, rank_);
  RIDE_MPI_TRY(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->collectives), "duplicating the world for collectives");
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(name, &len);
  host_.assign(name, static_cast<std::size_t>(len));
}

Transport::~Transport() { finalize(1); }

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
  const auto [comm, to] = impl_->to(dest);
  RIDE_MPI_TRY(MPI_Isend(b.data(), static_cast<int>(b.size()), MPI_BYTE, to,
                         static_cast<int>(tag), comm, &s.request),
               "send to rank " << dest);
  stats_.messages_sent++;
  stats_.bytes_sent += b.size();
  impl_->sends.push_back(std::move(s));
  progress();
}

void Transport::tolerate_dying_senders(bool on) { impl_->tolerate_dying_senders = on; }

void Transport::note_peers_lost() { impl_->peers_lost = true; }

void Transport::start_watchdog(double stuck_s, int exit_code) {
  impl_->loop_alive_ns.store(wall_ns());
  Impl* impl = impl_.get();
  const int rank = rank_;
  std::thread([impl, stuck_s, exit_code, rank] {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (impl->finalizing.load()) return;
      const double idle = static_cast<double>(wall_ns() - impl->loop_alive_ns.load()) / 1e9;
      if (idle > stuck_s) {
        std::fprintf(stderr,
                     "ride: rank %d: stuck in an MPI receive for %.0f s (its sender died "
                     "mid-message); exiting\n", rank, idle);
        std::_Exit(exit_code);
      }
    }
  }).detach();
}

void Transport::progress() {
  impl_->loop_alive_ns.store(wall_ns(), std::memory_order_relaxed);
  for (auto it = impl_->cancelled.begin(); it != impl_->cancelled.end();) {
    int done = 0;
    MPI_Test(&it->request, &done, MPI_STATUS_IGNORE);
    it = done ? impl_->cancelled.erase(it) : it + 1;
  }
  auto& q = impl_->sends;
  const double now = steady_s();
  for (auto it = q.begin(); it != q.end();) {
    int done = 0;
    MPI_Test(&it->request, &done, MPI_STATUS_IGNORE);
    if (done) {
      it = q.erase(it);
    } else if (now > it->deadline) {
      // The peer is silent (dead or wedged): give the send up rather than block forever.
      impl_->give_up(std::move(*it));
      stats_.sends_timed_out++;
      it = q.erase(it);
    } else {
      ++it;
    }
  }
}


std::optional<Message> Transport::try_recv() {
  impl_->loop_alive_ns.store(wall_ns(), std::memory_order_relaxed);
  if (!impl_->tolerate_dying_senders) {
    // Fast path: a matched message is received at once (2.4x the small-frame throughput of the
    // nonblocking path below, measured). A sender dying mid-message would block this call for
    // good; the watchdog (Transport()) ends such a rank instead of letting it hang.
    int flag = 0, source = -1;
    MPI_Message handle;
    MPI_Status status;
    if (!impl_->improbe(&flag, &handle, &status, &source)) return std::nullopt;
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    Message m;
    m.source = source;
    m.tag = static_cast<Tag>(status.MPI_TAG);
    m.body = Buffer(static_cast<std::size_t>(count));
    RIDE_MPI_TRY(MPI_Mrecv(m.body.data(), count, MPI_BYTE, &handle, MPI_STATUS_IGNORE),
                 "receive from rank " << m.source);
    stats_.messages_received++;
    stats_.bytes_received += static_cast<std::uint64_t>(count);
    return m;
  }
  // Match everything that has arrived (cheap: completion of large payloads goes on meanwhile).
  for (;;) {
    int flag = 0, source = -1;
    MPI_Message handle;
    MPI_Status status;
    if (!impl_->improbe(&flag, &handle, &status, &source)) break;
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    Impl::PendingRecv r;
    r.message.source = source;
    r.message.tag = static_cast<Tag>(status.MPI_TAG);
    r.message.body = Buffer(static_cast<std::size_t>(count));
    r.deadline = steady_s() + impl_->send_timeout_s;
    RIDE_MPI_TRY(MPI_Imrecv(r.message.body.data(), count, MPI_BYTE, &handle, &r.request),
                 "receive from rank " << r.message.source);
    // A live sender's message completes within microseconds of progress: drive it here (as a
    // blocking receive would) but never for longer than 2 ms, so a sender that died mid-message
    // cannot hold this rank. Leaving it to a later call cost half the small-frame throughput.
    const double spin_until = steady_s() + 0.002;
    for (int done = 0; !done;) {
      MPI_Test(&r.request, &done, MPI_STATUS_IGNORE);
      r.done = done != 0;
      if (!done && steady_s() > spin_until) break;
    }
    impl_->recvs.push_back(std::move(r));
  }
  // Deliver in arrival order (fair across sources: scanning sources in rank order starved
  // high ranks under load), skipping a message only while an earlier one from the same
  // source is incomplete: order per source is MPI's guarantee and the protocol's assumption.
  const double now = steady_s();
  auto& q = impl_->recvs;
  std::vector<int> blocked;  // sources with an incomplete message ahead
  for (auto it = q.begin(); it != q.end();) {
    const int src = it->message.source;
    if (std::find(blocked.begin(), blocked.end(), src) != blocked.end()) {
      ++it;
      continue;
    }
    if (!it->done) {
      int done = 0;
      MPI_Test(&it->request, &done, MPI_STATUS_IGNORE);
      it->done = done != 0;
    }
    if (it->done) {
      Message m = std::move(it->message);
      q.erase(it);
      stats_.messages_received++;
      stats_.bytes_received += m.body.size();
      return m;
    }
    if (now > it->deadline) {
      // The sender stopped half-way through a message: it is dead. Give up on its messages.
      for (auto j = q.begin(); j != q.end();) {
        if (j->message.source == src) {
          impl_->abandoned.push_back(std::move(*j));
          j = q.erase(j);
        } else {
          ++j;
        }
      }
      return std::nullopt;
    }
    blocked.push_back(src);
    ++it;
  }
  return std::nullopt;
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

bool Transport::drain_to(int dest, double timeout_s) {
  const double deadline = steady_s() + timeout_s;
  IdleBackoff backoff;
  auto pending = [&] {
    return std::any_of(impl_->sends.begin(), impl_->sends.end(),
                       [dest](const Impl::PendingSend& s) { return s.dest == dest; });
  };
  while (true) {
    progress();
    if (!pending()) return true;
    if (steady_s() >= deadline) return false;
    backoff.wait();
  }
}

void Transport::cancel_sends_to(int dest) {
  auto& q = impl_->sends;
  for (auto it = q.begin(); it != q.end();) {
    if (it->dest != dest) {
      ++it;
      continue;
    }
    impl_->give_up(std::move(*it));
    stats_.sends_timed_out++;
    it = q.erase(it);
  }
}

namespace {
/// Ends the process if `done` is still false after timeout_s: a collective that a dead member
/// never entered would otherwise block for good.
std::shared_ptr<std::atomic<bool>> guard(double timeout_s, int exit_code, std::string what) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread([done, timeout_s, exit_code, what] {
    const double until = steady_s() + timeout_s;
    while (!done->load()) {
      if (steady_s() > until) {
        std::fprintf(stderr, "ride: %s did not complete within %.0f s; exiting\n", what.c_str(), timeout_s);
        std::_Exit(exit_code);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }).detach();
  return done;
}
}  // namespace

bool Transport::join_if_spawned() {
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  if (parent == MPI_COMM_NULL) return false;
  spawned_ = true;
  // Its own MPI_COMM_WORLD holds only itself: every peer is reached through the merged link.
  impl_->links.clear();
  impl_->route.clear();
  {
    std::lock_guard lock(impl_->hb_mu);
    impl_->hb_route.clear();
  }
  auto done = guard(30.0, 4, "joining the job after MPI_Comm_spawn");
  MPI_Comm merged = MPI_COMM_NULL;
  RIDE_MPI_TRY(MPI_Intercomm_merge(parent, 1, &merged), "merge with the spawning ranks");
  MPI_Comm_set_errhandler(merged, MPI_ERRORS_RETURN);
  // The welcome: [my id, world size, peer id of every rank of `merged`].
  MPI_Status st;
  RIDE_MPI_TRY(MPI_Probe(0, kWelcomeTag, merged, &st), "wait for the welcome");
  int n = 0;
  MPI_Get_count(&st, MPI_INT, &n);
  std::vector<int> w(static_cast<std::size_t>(n));
  RIDE_MPI_TRY(MPI_Recv(w.data(), n, MPI_INT, 0, kWelcomeTag, merged, MPI_STATUS_IGNORE),
               "receive the welcome");
  RIDE_EXPECTS(n >= 3, "malformed welcome from the spawning ranks");
  rank_ = w[0];
  size_ = w[1];
  const std::vector<int> ids(w.begin() + 2, w.end());
  impl_->add_link(merged, ids, rank_);
  impl_->add_heartbeat_link(merged, ids, rank_);  // collective with the parents (replenish())
  done->store(true);
  return true;
}

void Transport::open_control_group(const std::vector<int>& members) {
  RIDE_EXPECTS(impl_->control == MPI_COMM_NULL, "the control group is already open");
  MPI_Group world = MPI_GROUP_NULL, group = MPI_GROUP_NULL;
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  MPI_Group_incl(world, static_cast<int>(members.size()), members.data(), &group);
  auto done = guard(60.0, 1, "opening the control group (a member never started?)");
  const int rc = MPI_Comm_create_group(MPI_COMM_WORLD, group, kControlGroupTag, &impl_->control);
  done->store(true);
  MPI_Group_free(&group);
  MPI_Group_free(&world);
  RIDE_EXPECTS(rc == MPI_SUCCESS && impl_->control != MPI_COMM_NULL,
               "MPI_Comm_create_group of the control group failed");
  MPI_Comm_set_errhandler(impl_->control, MPI_ERRORS_RETURN);
  impl_->control_members = members;
}

std::string Transport::replenish(const std::string& program, const std::vector<std::string>& args,
                                 int count, int first_id, double timeout_s, int exit_code) {
  RIDE_EXPECTS(impl_->control != MPI_COMM_NULL, "replenish() needs open_control_group() first");
  std::vector<std::string> store(args);
  std::vector<char*> argv;
  for (auto& a : store) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<int> codes(static_cast<std::size_t>(count), MPI_SUCCESS);
  MPI_Comm inter = MPI_COMM_NULL;
  auto done = guard(timeout_s, exit_code, "MPI_Comm_spawn over the control group");
  const int rc = MPI_Comm_spawn(program.c_str(), argv.data(), count, MPI_INFO_NULL, 0,
                                impl_->control, &inter, codes.data());
  if (rc != MPI_SUCCESS || inter == MPI_COMM_NULL) {
    done->store(true);
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return "MPI_Comm_spawn failed: " + std::string(msg, static_cast<std::size_t>(len)) +
           " (the launcher needs a free slot, or mpirun --oversubscribe)";
  }
  for (int c : codes) {
    if (c != MPI_SUCCESS) {
      done->store(true);
      return "a spawned process failed to start";
    }
  }
  // The merge is collective with the new processes too: still under the guard.
  MPI_Comm merged = MPI_COMM_NULL;
  const int merge_rc = MPI_Intercomm_merge(inter, 0, &merged);
  done->store(true);
  RIDE_EXPECTS(merge_rc == MPI_SUCCESS, "MPI_Intercomm_merge with the spawned processes failed");
  MPI_Comm_free(&inter);
  MPI_Comm_set_errhandler(merged, MPI_ERRORS_RETURN);
  // Parents come first in `merged` (high = 0), in control-group order, then the new processes.
  std::vector<int> ids = impl_->control_members;
  for (int j = 0; j < count; ++j) ids.push_back(first_id + j);
  int me = 0;
  MPI_Comm_rank(merged, &me);
  if (me == 0) {
    const int parents = static_cast<int>(impl_->control_members.size());
    for (int j = 0; j < count; ++j) {
      std::vector<int> w{first_id + j, size_};
      w.insert(w.end(), ids.begin(), ids.end());
      RIDE_MPI_TRY(MPI_Send(w.data(), static_cast<int>(w.size()), MPI_INT, parents + j, kWelcomeTag,
                            merged),
                   "welcome spawned process " << first_id + j);
    }
  }
  impl_->add_link(merged, ids, rank_);
  {
    auto dup_done = guard(timeout_s, exit_code, "duplicating the spawned link for heartbeats");
    impl_->add_heartbeat_link(merged, ids, rank_);  // collective with join_if_spawned()
    dup_done->store(true);
  }
  return {};
}

bool Transport::start_heartbeat(std::vector<int> targets, double interval_s,
                                std::function<Buffer()> body) {
  if (!impl_->thread_multiple || impl_->hb_thread.joinable()) return impl_->hb_thread.joinable();
  set_heartbeat_targets(std::move(targets));
  Impl* impl = impl_.get();
  impl_->hb_thread = std::thread([impl, interval_s, body = std::move(body)] {
    impl->heartbeat_loop(interval_s, body);
  });
  return true;
}

void Transport::set_heartbeat_targets(std::vector<int> targets) {
  std::lock_guard lock(impl_->hb_mu);
  impl_->hb_targets = std::move(targets);
}

double Transport::loop_idle_s() const {
  return static_cast<double>(wall_ns() - impl_->loop_alive_ns.load(std::memory_order_relaxed)) / 1e9;
}

void Transport::finalize(int exit_code, double timeout_s) {
  impl_->finalizing.store(true);
  impl_->hb_stop.store(true);
  if (impl_->hb_thread.joinable()) impl_->hb_thread.join();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  drain(1.0);  // what is still on its way to live peers gets a moment to arrive
  for (auto& snd : impl_->sends) impl_->give_up(std::move(snd));
  impl_->sends.clear();
  // Buffers of unfinished sends must outlive MPI_Finalize (which still progresses them): they
  // are handed over to a holder that is never freed; the process ends right after.
  new std::deque<Impl::PendingSend>(std::move(impl_->cancelled));
  std::fflush(nullptr);
  std::cout.flush();
  std::cerr.flush();
  const int rank = rank_;
  // After a death it hangs for good (every failure test showed the full wait): a moment only.
  if (impl_->peers_lost) timeout_s = std::min(timeout_s, 1.0);
  // Set once MPI_Finalize returns: a process that goes on after it (the master serving its
  // final status, status.linger_s) is not a hung finalize.
  static std::atomic<bool> returned{false};
  std::thread([exit_code, timeout_s, rank] {
    std::this_thread::sleep_for(std::chrono::duration<double>(timeout_s));
    if (returned.load()) return;
    std::fprintf(stderr, "ride: rank %d: MPI_Finalize did not return within %.0f s (a peer died); exiting\n",
                 rank, timeout_s);
    std::_Exit(exit_code);
  }).detach();
  MPI_Finalize();
  returned.store(true);
}

std::vector<int> Transport::allgather_int(int value) {
  std::vector<int> out(static_cast<std::size_t>(size_), 0);
  const int rc = MPI_Allgather(&value, 1, MPI_INT, out.data(), 1, MPI_INT, impl_->collectives);
  RIDE_EXPECTS(rc == MPI_SUCCESS, "MPI_Allgather failed (" << rc << ")");
  return out;
}

namespace {

class MpiGroup final : public Group {
 public:
  MpiGroup(MPI_Comm comm, std::size_t members) : comm_(comm), members_(members) {
    MPI_Comm_rank(comm_, &index_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiGroup() override { MPI_Comm_free(&comm_); }
  int index() const override { return index_; }
  int size() const override { return size_; }
  void reduce(std::vector<double>& sums, std::vector<double>& mins, std::vector<double>& maxs) override {
    auto one = [&](std::vector<double>& v, MPI_Op op) {
      const int n = static_cast<int>(v.size());
      const int r = index_ == 0 ? MPI_Reduce(MPI_IN_PLACE, v.data(), n, MPI_DOUBLE, op, 0, comm_)
                                : MPI_Reduce(v.data(), nullptr, n, MPI_DOUBLE, op, 0, comm_);
      RIDE_EXPECTS(r == MPI_SUCCESS, "MPI_Reduce over a group of " << members_ << " failed (" << r << ")");
    };
    one(sums, MPI_SUM);
    one(mins, MPI_MIN);
    one(maxs, MPI_MAX);
  }
  std::vector<std::vector<std::byte>> allgather(const std::vector<std::byte>& bytes) override {
    const int n = static_cast<int>(bytes.size());
    std::vector<std::byte> all(bytes.size() * static_cast<std::size_t>(size_));
    const int r = MPI_Allgather(bytes.data(), n, MPI_BYTE, all.data(), n, MPI_BYTE, comm_);
    RIDE_EXPECTS(r == MPI_SUCCESS, "MPI_Allgather over a group of " << members_ << " failed (" << r << ")");
    std::vector<std::vector<std::byte>> out;
    for (int i = 0; i < size_; ++i) {
      const auto at = all.begin() + static_cast<std::ptrdiff_t>(i) * n;
      out.emplace_back(at, at + n);
    }
    return out;
  }
  void broadcast(std::vector<std::byte>& bytes) override {
    const int r = MPI_Bcast(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, 0, comm_);
    RIDE_EXPECTS(r == MPI_SUCCESS, "MPI_Bcast over a group of " << members_ << " failed (" << r << ")");
  }

 private:
  MPI_Comm comm_;
  std::size_t members_;
  int index_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Group> Transport::open_group(const std::vector<int>& members, int tag) {
  RIDE_EXPECTS(!members.empty() && std::find(members.begin(), members.end(), rank_) != members.end(),
               "rank " << rank_ << " is not in the group it opens");
  MPI_Group world = MPI_GROUP_NULL, group = MPI_GROUP_NULL;
  MPI_Comm_group(impl_->collectives, &world);
  MPI_Group_incl(world, static_cast<int>(members.size()), members.data(), &group);
  MPI_Comm comm = MPI_COMM_NULL;
  const int rc = MPI_Comm_create_group(impl_->collectives, group, tag, &comm);
  MPI_Group_free(&group);
  MPI_Group_free(&world);
  RIDE_EXPECTS(rc == MPI_SUCCESS && comm != MPI_COMM_NULL, "MPI_Comm_create_group failed (" << rc << ")");
  return std::make_unique<MpiGroup>(comm, members.size());
}

void Transport::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace ride::transport
