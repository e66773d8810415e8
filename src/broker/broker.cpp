#include "broker/broker.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <vector>
#include <map>
#include <set>

#include "broker/partition_log.h"
#include "broker/replication.h"
#include "core/frame_batch.h"
#include "core/partition_map.h"
#include "core/clock.h"
#include "core/process_stats.h"

namespace ride {
namespace {

LogLimits limits_from(const JobConfig& c, int rank, std::uint32_t partition) {
  constexpr double kMB = 1024.0 * 1024.0;
  LogLimits l;
  l.ring_bytes = static_cast<std::uint64_t>(c.ring_mb * kMB);
  l.ring_frames = c.ring_frames;
  l.spill = c.spill;
  l.spill_dir = c.spill_dir;
  if (l.spill_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    l.spill_dir = tmp && *tmp ? tmp : "/tmp";
  }
  // pid and rank keep two jobs (or two brokers) on one node from sharing a file.
  l.spill_prefix = "ride-spill-" + std::to_string(::getpid()) + "-r" + std::to_string(rank) + "-p" +
                   std::to_string(partition);
  l.spill_max_bytes = static_cast<std::uint64_t>(c.spill_max_mb * kMB);
  l.spill_min_free_bytes = static_cast<std::uint64_t>(c.spill_min_free_mb * kMB);
  l.spill_segment_bytes = static_cast<std::uint64_t>(c.spill_segment_mb * kMB);
  l.drop = c.drop_policy;
  return l;
}

class Broker {
 public:
  explicit Broker(RoleContext& ctx) : ctx_(ctx), heartbeat_(ctx), start_rss_bytes_(peak_rss_bytes()) {
    fetch_batch_bytes_ = static_cast<std::size_t>(ctx_.cfg.fetch_batch_kb * 1024);
    metrics_interval_s_ = std::clamp(ctx.cfg.status_interval_s / 10, 0.05, 0.25);
    replicated_ = ctx.layout.replication > 1;
    // Enough to keep a follower streaming while its acks travel; bounded so that a copy being
    // rebuilt from a long (spilled) log is read back a window at a time, not all at once.
    replicate_window_ = std::max<std::uint64_t>(64, 4 * static_cast<std::uint64_t>(std::max(1, ctx.cfg.max_in_flight)));
  }

  int run() {
    send_hello(ctx_);
    heartbeat_.set_running();
    transport::IdleBackoff backoff;
    double next_metrics = steady_s();
    while (!stop_) {
      bool busy = heartbeat_.pump([this](transport::Message& m) { handle(m); }, stop_);
      if (stop_) {
        flush_acks();
        break;
      }
      const double now = steady_s();
      // This loop was away (a long frame, a stall): the followers' acks waited unread meanwhile.
      if (now - last_loop_s_ > 0.25) {
        for (auto& [p, leader] : leaders_) leader.forgive(now - last_loop_s_);
      }
      last_loop_s_ = now;
      expire_fetches(now);
      if (now >= next_metrics) {
        send_metrics();
        next_metrics = now + metrics_interval_s_;
        for (auto& [p, leader] : leaders_) {  // followers behind too long leave the ISR
          const auto changes = leader.tick(now);
          if (!changes.empty()) {
            report_isr(p, leader, changes);
            release_acks(p);
          }
        }
      }
      flush_acks();
      ctx_.net.progress();
      if (busy) backoff.reset();
      else backoff.wait();
    }
    send_metrics();
    nlohmann::json report = {{"rank", ctx_.net.rank()},
                             {"role", "broker"},
                             {"frames_appended", appended_},
                             {"frames_rejected", rejected_},
                             {"duplicates_dropped", duplicates_},
                             // topic.replication > 1: frames sent to followers / stored as one
                             {"replicated_frames_out", replicated_out_},
                             {"replicated_frames_in", replicated_in_},
                             {"fetches", fetches_},
                             // small frames several to a message: copied together, or uncopied runs
                             {"fetch_replies_inline", copied_replies_},
                             {"fetch_replies_in_runs", run_replies_},
                             {"fenced_requests", fenced_},
                             {"backpressure_s", backpressure_s_},
                             {"peak_ring_bytes", peak_ring_bytes_},
                             {"peak_spill_bytes", peak_spill_bytes_},
                             {"peak_rss_bytes", peak_rss_bytes()},
                             // What the process held before any frame (libraries, MPI): the
                             // part of the peak that the buffers did not cause.
                             {"start_rss_bytes", start_rss_bytes_}};
    nlohmann::json parts = nlohmann::json::array();
    for (auto& [p, log] : logs_) {
      if (!leads(p)) continue;  // a follower's copy is its leader's to report
      const auto& st = log.stats();
      parts.push_back({{"partition", p},
                       {"end_offset", log.end_offset()},
                       {"committed", log.committed()},
                       {"state", to_string(log.state())},
                       {"error", log.error()},
                       {"ring_bytes", log.ring_bytes()},
                       {"spill_bytes", log.spill_bytes()},
                       {"spill_files", log.spill_files()},
                       {"spilled_frames", st.spilled_frames},
                       {"dropped_oldest", st.dropped_oldest},
                       {"dropped_newest", st.dropped_newest},
                       {"peak_ring_bytes", st.peak_ring_bytes},
                       {"peak_spill_bytes", st.peak_spill_bytes},
                       {"held_frames", held_[p].size()}});
    }
    report["partitions"] = parts;
    send_final_report(ctx_, report);
    return 0;
  }

 private:
  struct PendingFetch {
    int worker;
    FetchRequest req;
    double deadline;
  };
  struct HeldProduce {  // accepted off the wire, waiting for room in its partition
    int source;
    BufferPtr frame;
  };

  void handle(transport::Message& m) {
    switch (m.tag) {
      case Tag::produce: on_produce(m); break;
      case Tag::produce_batch: on_produce_batch(m); break;
      case Tag::fetch: on_fetch(m.source, BodyReader(m.body).pod<FetchRequest>()); break;
      case Tag::commit: on_commit(m.source, BodyReader(m.body).pod<Commit>()); break;
      case Tag::assign: {
        const auto a = BodyReader(m.body).pod<Assign>();
        fence_.admit(a.partition, a.epoch);
        // Fetches parked by an owner that is now fenced will never be wanted.
        std::erase_if(pending_, [&](const PendingFetch& f) {
          return f.req.partition == a.partition && f.req.epoch < a.epoch;
        });
        // The committed offset the master knows (from the previous leader, #14) may be ahead
        // of this copy's: commits reach followers with the next replication message, and a
        // leader can die between a commit and that message. What the master knows committed is.
        if (auto it = logs_.find(a.partition); it != logs_.end() && leads(a.partition) &&
            a.start_offset > it->second.committed() && a.start_offset <= it->second.end_offset()) {
          it->second.commit(a.start_offset);
          maybe_done(a.partition);
        }
        break;
      }
      case Tag::peer_dead: {
        // The master declared this rank dead: what is queued for it would never be delivered.
        const int dead = BodyReader(m.body).pod<PeerDead>().rank;
        std::erase_if(pending_, [dead](const PendingFetch& f) { return f.worker == dead; });
        ctx_.net.cancel_sends_to(dead);
        rx_.erase(dead);  // a dead leader's headers wait for frames that will not come
        break;
      }
      case Tag::replenish: {
        // The master spawns replacement spares with the whole control group: a spare fetches
        // from and commits to the brokers, so each broker needs its own link to it.
        const auto r = BodyReader(m.body).pod<Replenish>();
        const std::string err = ctx_.net.replenish(ctx_.program, ctx_.args, r.count, r.first_id,
                                                   kSpawnTimeoutS, 1);
        if (!err.empty()) {
          std::cerr << "ride: broker rank " << ctx_.net.rank() << ": " << err << std::endl;
        }
        break;
      }
      case Tag::partition_map: on_partition_map(PartitionMap::decode(m.body)); break;
      case Tag::seal: on_seal(m.body); break;
      case Tag::replicate: on_replicate_header(m.source, BodyReader(m.body).pod<ReplicateHeader>()); break;
      case Tag::replicate_frame: on_replicate_frame(m.source, std::make_shared<const Buffer>(std::move(m.body))); break;
      case Tag::replicate_ack: on_replicate_ack(m.source, BodyReader(m.body).pod<ReplicateAck>()); break;
      case Tag::isr_confirm: {
        const auto c = BodyReader(m.body).pod<IsrConfirm>();
        auto l = leaders_.find(c.partition);
        if (l != leaders_.end() && l->second.epoch() == c.epoch) {
          l->second.confirm_shrink(c.replica);
          release_acks(c.partition);
          maybe_done(c.partition);
        }
        break;
      }
      case Tag::start: break;
      case Tag::shutdown: stop_ = true; break;
      default: break;  // unknown tags are ignored: a newer master may send more
    }
  }

  /// The master's placement: this broker hosts the partitions the map gives it. The first map
  /// comes before START, so before any frame or fetch; later ones (#14) follow a broker's death:
  /// a follower promoted to lead, copies lost, copies to rebuild.
  void on_partition_map(const PartitionMap& map) {
    const bool first = !have_map_;
    const PartitionMap old = map_;
    map_ = map;
    have_map_ = true;
    const int me = ctx_.net.rank();
    const double now = steady_s();
    // Copies this broker no longer holds (a failover never takes a live broker's copy away;
    // a newer master might).
    for (auto it = logs_.begin(); it != logs_.end();) {
      const auto reps = map.replicas(static_cast<int>(it->first));
      if (std::find(reps.begin(), reps.end(), me) != reps.end()) {
        ++it;
        continue;
      }
      forget_partition(it->first);
      it = logs_.erase(it);
    }
    for (int p : map.replicas_on(me)) {
      const auto part = static_cast<std::uint32_t>(p);
      const std::vector<int> reps = map.replicas(p);
      const bool leader = map.broker(p) == me;
      const bool held = logs_.count(part) > 0;
      if (!held) {
        logs_.emplace(part, PartitionLog(limits_from(ctx_.cfg, me, part)));
        // Every copy of a replicated topic keeps the keys it took: a frame sent again after a
        // failover (ingest's unacknowledged ones, a stage's replay) is stored once.
        track_keys(part);
        if (!leader) {
          // A copy from the start, or one rebuilt from its leader (re-replication).
          following_.insert_or_assign(part, ReplicationFollower(map.leader_epoch(p), 0));
          if (!first) rebuilding_.insert(part);
          continue;
        }
        if (replicated_) {
          ReplicationConfig rc;
          rc.replicas = reps;
          rc.leader_epoch = map.leader_epoch(p);
          leaders_.insert_or_assign(part, ReplicationLeader(me, rc, 0, 0, now));
          for (int r : reps) {
            if (r != me) cursors_[part][r] = ReplicationCursor();
          }
        }
        continue;
      }
      const bool was_leader = old.partitions() > 0 && old.broker(p) == me;
      if (leader && !was_leader) {
        promote(part, map, now);
      } else if (leader) {
        update_followers(part, reps, now);
      } else if (map.leader_epoch(p) != old.leader_epoch(p)) {
        rebuild_copy(part, map.leader_epoch(p));  // a new leader: this copy starts over from it
      }
    }
    if (first) {
      // The master starts the job only once every broker holds its partitions: frames from
      // ingest (another sender) could otherwise overtake the map.
      ctx_.net.send(0, Tag::partition_map, Buffer());
      return;
    }
    // Produces that reached this broker before the map that made it their leader.
    auto early = std::move(early_);
    early_.clear();
    for (auto& m : early) on_produce(m);
  }

  /// This broker's copy of p leads now (its leader died): it holds every frame the dead leader
  /// acknowledged (it was in sync), takes produces from here on, and serves the owner, which
  /// resumes at the committed offset. Other copies rebuild from it.
  void promote(std::uint32_t p, const PartitionMap& map, double now) {
    const int me = ctx_.net.rank();
    PartitionLog& log = logs_.at(p);
    following_.erase(p);
    follower_held_.erase(p);
    rebuilding_.erase(p);
    ReplicationConfig rc;
    rc.replicas = map.replicas(static_cast<int>(p));
    rc.leader_epoch = map.leader_epoch(static_cast<int>(p));
    leaders_.insert_or_assign(p, ReplicationLeader(me, rc, log.end_offset(), log.end_offset(), now));
    cursors_.erase(p);
    for (int r : rc.replicas) {
      if (r != me) cursors_[p][r] = ReplicationCursor(log.start_offset());
    }
    acks_.erase(p);
    served_hw_.erase(p);
    done_reported_[p] = false;
    // (A topic sealed before is sealed again by the master: SEAL follows the new map.)
    std::cout << "[ride] broker rank " << me << ": leads partition " << p << " from offset " << log.start_offset()
              << " to " << log.end_offset() << " (leader epoch " << rc.leader_epoch << ")" << std::endl;
    pump_replication(p);
    release_acks(p);
    serve_pending(p);
    maybe_done(p);
    send_metrics();
  }

  /// A led partition's replica set changed: a dead follower leaves, a new one is rebuilt.
  void update_followers(std::uint32_t p, const std::vector<int>& reps, double now) {
    auto l = leaders_.find(p);
    if (l == leaders_.end()) return;
    ReplicationLeader& leader = l->second;
    const std::vector<int> before = leader.replicas();
    std::vector<IsrChange> changes;
    for (int r : before) {
      if (r == leader.self() || std::find(reps.begin(), reps.end(), r) != reps.end()) continue;
      auto c = leader.remove_replica(r, now);
      changes.insert(changes.end(), c.begin(), c.end());
      cursors_[p].erase(r);
    }
    const std::uint64_t from = logs_.at(p).start_offset();
    for (int r : reps) {
      if (std::find(before.begin(), before.end(), r) != before.end()) continue;
      leader.add_replica(r, now);
      cursors_[p][r] = ReplicationCursor(from);
    }
    if (!changes.empty()) report_isr(p, leader, changes);
    release_acks(p);
    pump_replication(p);
    maybe_done(p);
  }

  /// This follower's leader changed: what it holds past the new leader's log may never have
  /// been acknowledged, so the copy starts over from the new leader (which sends from its
  /// log's start; everything before that is committed).
  void rebuild_copy(std::uint32_t p, std::uint32_t epoch) {
    // Frames the new leader sent before this map arrived stay (drain_follower kept them).
    std::deque<FollowerFrame> early;
    for (auto& e : follower_held_[p]) {
      if (e.header.epoch >= epoch) early.push_back(std::move(e));
    }
    forget_partition(p);
    logs_.erase(p);
    logs_.emplace(p, PartitionLog(limits_from(ctx_.cfg, ctx_.net.rank(), p)));
    following_.insert_or_assign(p, ReplicationFollower(epoch, 0));
    rebuilding_.insert(p);
    track_keys(p);
    if (!early.empty()) {
      follower_held_[p] = std::move(early);
      drain_follower(p);
    }
  }

  /// Everything this broker kept for a partition it no longer holds.
  void forget_partition(std::uint32_t p) {
    leaders_.erase(p);
    following_.erase(p);
    cursors_.erase(p);
    acks_.erase(p);
    follower_held_.erase(p);
    held_.erase(p);
    seal_when_drained_.erase(p);
    seen_.erase(p);
    marks_.erase(p);
    rebuilding_.erase(p);
  }

  /// Which keys a copy of p keeps, so that a frame sent twice is stored once: every key of a
  /// stage's topic (a replacement worker replays everything uncommitted; several workers feed a
  /// partition, out of order), each stream's next sequence for ingest's topics where a frame can
  /// come again (a broker failover: ingest sends what the dead leader had not acknowledged;
  /// several ingest ranks: a takeover resumes a stream).
  void track_keys(std::uint32_t p) {
    if (stage_fed(static_cast<int>(p))) {
      seen_.try_emplace(p);
    } else if (replicated_ || ctx_.layout.ingest.size() > 1) {
      marks_.try_emplace(p);
    }
  }

  /// False when partition p already took (stream, sequence); remembers it otherwise.
  bool take_key(std::uint32_t p, std::uint32_t stream, std::uint64_t sequence, bool rerouted) {
    if (auto s = seen_.find(p); s != seen_.end()) return s->second.insert(stream, sequence);
    if (auto m = marks_.find(p); m != marks_.end()) return m->second.insert(stream, sequence, rerouted);
    return true;
  }

  bool stage_fed(int p) const {
    return ctx_.cfg.stages.at(static_cast<std::size_t>(ctx_.layout.stage_of_partition(p))).input != "ingest";
  }

  /// What feeds these partitions has ended: nothing more will come (end of stream, stage by
  /// stage). The master seals ingest's topics once every ingest rank reported INGEST_DONE —
  /// sent after all its produces were acknowledged — or died with its streams resumed by
  /// another (#14), and a stage's topics once that stage drained — a stage commits only after
  /// its produces were acknowledged. Frames can still be held then: a worker that died while its
  /// forwards were held (ring full, spill off) left them here, they took their keys, and the
  /// worker that took over was told its copies were duplicates. They are the only copies, so the
  /// partition is sealed once they are in (drain_held), never before.
  void on_seal(const Buffer& body) {
    BodyReader r(body);
    const auto n = r.pod<std::uint32_t>();
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto p = r.pod<std::uint32_t>();
      if (!logs_.count(p)) continue;
      if (const auto h = held_.find(p); h != held_.end() && !h->second.empty()) {
        seal_when_drained_.insert(p);
        continue;
      }
      seal(p);
    }
  }

  void seal(std::uint32_t p) {
    logs_.at(p).seal();
    serve_pending(p);
    maybe_done(p);
  }

  /// Several PRODUCE bodies in one message (core/frame_batch.h): each is handled as its own
  /// PRODUCE, as a view of the message's buffer (stored, sent on and released with no copy).
  void on_produce_batch(transport::Message& m) {
    const auto body = std::make_shared<const Buffer>(std::move(m.body));
    const std::string defect = frame_batch_defect(*body);
    if (!defect.empty()) {
      ++rejected_;
      std::cerr << "ride: broker rank " << ctx_.net.rank() << ": rejected a frame batch from rank " << m.source
                << ": " << defect << std::endl;
      return;  // nothing in it can be acknowledged: its producer resends after a failover, or the job ends short
    }
    split_frame_batch(body, [&](Buffer frame) {
      transport::Message one{m.source, Tag::produce, std::move(frame)};
      on_produce(one);
    });
  }

  void on_produce(transport::Message& m) {
    const std::string defect = produce_defect(m.body);
    const auto ph = m.body.size() >= sizeof(ProduceHeader) ? m.body.read<ProduceHeader>(0) : ProduceHeader{};
    const auto fh = m.body.size() >= kPixelsAt ? m.body.read<FrameHeader>(kFrameHeaderAt) : FrameHeader{};
    auto it = logs_.find(ph.partition);
    if (defect.empty() && it != logs_.end() && !leads(ph.partition)) {
      // A follower's copy: its producer already heard of a failover that makes this broker the
      // leader, and the master's map is on its way here. Handled when it comes.
      early_.push_back(std::move(m));
      return;
    }
    // A malformed frame, or one sent to the wrong broker, is rejected and counted: storing it
    // would hand a worker a frame it cannot read.
    if (!defect.empty() || it == logs_.end() || it->second.sealed()) {
      ++rejected_;
      if (rejected_ <= 5) {
        std::cerr << "ride: broker rank " << ctx_.net.rank() << ": rejected frame (stream "
                  << fh.stream << ", sequence " << fh.sequence << ") from rank " << m.source << ": "
                  << (!defect.empty() ? defect : it == logs_.end() ? "partition not on this broker"
                                                                     : "partition sealed")
                  << std::endl;
      }
      ack(m.source, ph.partition, fh, ProduceStatus::rejected, 0);
      return;
    }
    // A stage forwards a frame again after a failure (its new worker replays what was not
    // committed): the partition keeps the first copy.
    if (!take_key(ph.partition, fh.stream, fh.sequence, (ph.flags & kFrameFlagRerouted) != 0)) {
      ++duplicates_;
      ack(m.source, ph.partition, fh, ProduceStatus::duplicate, 0);
      return;
    }
    auto& held = held_[ph.partition];
    held.push_back({m.source, std::make_shared<const Buffer>(std::move(m.body))});
    // Frames queue behind earlier held ones, so a partition's order is the order of arrival.
    if (held.size() == 1) drain_held(ph.partition);
  }

  /// Appends held frames of partition p while the log takes them. Frames it cannot take yet
  /// stay unacknowledged: the ingest rank's window fills and it slows down (backpressure).
  void drain_held(std::uint32_t p) {
    auto& held = held_[p];
    PartitionLog& log = logs_.at(p);
    bool appended = false;
    while (!held.empty()) {
      HeldProduce& h = held.front();
      const auto fh = h.frame->read<FrameHeader>(kFrameHeaderAt);
      const auto offset = log.try_append(h.frame, fh.capture_ns, kPixelsAt);
      if (!offset) {
        if (log.state() == LogState::spill_failed) {
          // Nothing more goes into this partition; ingest is told to send frames elsewhere.
          report_spill_failure(p, log);
          for (const auto& f : held) {
            ack(f.source, p, f.frame->read<FrameHeader>(kFrameHeaderAt), ProduceStatus::stopped, 0);
          }
          held.clear();
        } else if (!in_backpressure_) {
          in_backpressure_ = true;
          backpressure_since_ = steady_s();
        }
        break;
      }
      ++appended_;
      appended = true;
      if (auto l = leaders_.find(p); l != leaders_.end()) {
        // acks=all: acknowledged once every in-sync copy holds it (release_acks).
        l->second.on_append(log.end_offset(), steady_s());
        pump_replication(p, *offset, h.frame);
        acks_[p].push_back({h.source, fh, *offset});
      } else {
        ack(h.source, p, fh, ProduceStatus::accepted, *offset);
      }
      held.pop_front();
    }
    release_acks(p);
    if (in_backpressure_ && std::all_of(held_.begin(), held_.end(), [](const auto& kv) { return kv.second.empty(); })) {
      in_backpressure_ = false;
      backpressure_s_ += steady_s() - backpressure_since_;
    }
    peak_ring_bytes_ = std::max(peak_ring_bytes_, total([](const PartitionLog& l) { return l.ring_bytes(); }));
    peak_spill_bytes_ = std::max(peak_spill_bytes_, total([](const PartitionLog& l) { return l.spill_bytes(); }));
    if (appended) serve_pending(p);
    if (held.empty() && seal_when_drained_.erase(p) > 0) seal(p);
  }

  template <typename F>
  std::uint64_t total(F f) const {
    std::uint64_t t = 0;
    for (const auto& [p, log] : logs_) t += f(log);
    return t;
  }

  void ack(int dest, std::uint32_t partition, const FrameHeader& fh, ProduceStatus status,
           std::uint64_t offset) {
    ProduceAck a;
    a.partition = partition;
    a.status = status;
    a.offset = offset;
    a.stream = fh.stream;
    a.sequence = fh.sequence;
    // Sent at the end of this turn of the loop, with the producer's other acks (flush_acks).
    acks_out_[dest].push_back(a);
  }

  /// One PRODUCE_ACK message per producer for every ack of this turn of the loop: a batch of
  /// frames from ingest costs one ack message, not one per frame; a lone frame's ack waits for
  /// nothing but the end of the turn that stored it.
  void flush_acks() {
    for (auto& [dest, acks] : acks_out_) {
      if (acks.empty()) continue;
      ctx_.net.send(dest, Tag::produce_ack, encode_produce_acks(acks));
      acks.clear();
    }
  }

  void report_spill_failure(std::uint32_t p, const PartitionLog& log) {
    if (spill_failure_reported_[p]) return;
    spill_failure_reported_[p] = true;
    // Not fatal for the job: the master records it, ingest routes around the partition.
    nlohmann::json j = {{"kind", "spill_failed"}, {"partition", p}, {"error", log.error()}};
    ctx_.net.send(0, Tag::broker_event, json_body(j));
  }

  void on_fetch(int worker, FetchRequest req) {
    ++fetches_;
    auto it = logs_.find(req.partition);
    if (it == logs_.end()) {
      reply(worker, req, FetchStatus::out_of_range, {});
      return;
    }
    if (!fence_.admit(req.partition, req.epoch)) {
      ++fenced_;
      reply(worker, req, FetchStatus::fenced, {});
      return;
    }
    PartitionLog& log = it->second;
    if (!leads(req.partition)) {
      // A follower's copy: its owner heard of a failover before this broker did. It waits
      // (answered empty at its deadline) for the map that makes this broker its leader.
      pending_.push_back({worker, req, steady_s() + req.wait_ms / 1000.0});
      return;
    }
    if (req.offset == kFromCommitted) req.offset = log.committed();  // a new owner starts here
    // Workers read only what every in-sync copy holds (below the high watermark).
    const std::uint64_t readable = readable_end(req.partition, log);
    if (req.offset < log.start_offset() || req.offset > log.end_offset()) {
      reply(worker, req, FetchStatus::out_of_range, {});
    } else if (req.offset < readable) {
      const std::size_t n = log.frames_for_fetch(req.offset, readable, req.max_frames, std::uint64_t{req.max_kb} * 1024);
      reply(worker, req, FetchStatus::ok, log.read(req.offset, n));
    } else if (log.sealed() && readable == log.end_offset()) {
      reply(worker, req, FetchStatus::end_of_partition, {});
    } else {
      pending_.push_back({worker, req, steady_s() + req.wait_ms / 1000.0});
    }
  }

  void on_commit(int worker, const Commit& c) {
    CommitAck ack;
    ack.partition = c.partition;
    auto it = logs_.find(c.partition);
    if (it == logs_.end()) {
      ack.status = 2;
    } else if (!fence_.admit(c.partition, c.epoch)) {
      ack.status = 1;
      ++fenced_;
    } else if (!it->second.commit(c.offset)) {
      ack.status = 2;
    }
    if (it != logs_.end()) ack.committed = it->second.committed();
    ctx_.net.send(worker, Tag::commit_ack, pod_body(ack));
    if (auto l = leaders_.find(c.partition); l != leaders_.end() && ack.status == 0) {
      send_commit(c.partition, l->second);  // the followers release what was committed
    }
    if (it != logs_.end()) {
      drain_held(c.partition);  // the commit may have made room
      maybe_done(c.partition);
    }
  }

  void maybe_done(std::uint32_t p) {
    if (!leads(p)) return;
    const PartitionLog& log = logs_.at(p);
    if (!log.finished() || done_reported_[p]) return;
    done_reported_[p] = true;
    PartitionDone d;
    d.partition = p;
    d.end_offset = log.end_offset();
    send_metrics();  // the master's view of committed offsets is complete before "done"
    ctx_.net.send(0, Tag::partition_done, pod_body(d));
  }

  void reply(int worker, const FetchRequest& req, FetchStatus status,
             const std::vector<PartitionLog::Entry>& entries) {
    FetchReply rep;
    rep.partition = req.partition;
    rep.epoch = req.epoch;
    rep.first_offset = req.offset;
    auto it = logs_.find(req.partition);
    rep.end_offset = it == logs_.end() ? 0 : it->second.end_offset();
    rep.count = static_cast<std::uint32_t>(entries.size());
    rep.status = status;
    // The frames as few messages (core/frame_batch.h): a big frame alone, as ingest sent it;
    // small ones as the runs they lie in in ingest's batches, uncopied, or else copied together.
    fetched_.clear();
    for (const auto& e : entries) fetched_.push_back(e.frame);
    plan_fetch_runs(fetched_, fetch_batch_bytes_, runs_);
    rep.runs = static_cast<std::uint32_t>(runs_.runs.size());
    Buffer head(sizeof(FetchReply) + runs_.slots.size() * sizeof(RunSlot));
    std::byte* d = head.data();
    RIDE_EXPECTS(d != nullptr, "no memory for a fetch reply");
    std::memcpy(d, &rep, sizeof rep);
    if (!runs_.slots.empty()) std::memcpy(d + sizeof rep, runs_.slots.data(), runs_.slots.size() * sizeof(RunSlot));
    ctx_.net.send(worker, Tag::fetch_reply, std::move(head));
    for (const auto& r : runs_.runs) {
      const bool whole = r.begin == 0 && r.end == r.buffer->size();
      ctx_.net.send(worker, Tag::fetch_frame,
                    whole ? r.buffer : std::make_shared<const Buffer>(r.buffer, r.begin, r.end - r.begin));
    }
    if (runs_.copied) ++copied_replies_;
    else if (runs_.runs.size() < entries.size()) ++run_replies_;
  }

  void serve_pending(std::uint32_t p) {
    // Taken out first: a fetch that still finds nothing readable (replicated partitions: below
    // the high watermark) waits again, appended to pending_. (A member: no allocation per call
    // on the produce path; on_fetch never comes back here.)
    due_.clear();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->req.partition != p) {
        ++it;
        continue;
      }
      due_.push_back(*it);
      it = pending_.erase(it);
    }
    for (const PendingFetch& f : due_) {
      on_fetch(f.worker, f.req);  // re-evaluates: data now, end of partition, or waits again
      --fetches_;
    }
  }

  void expire_fetches(double now) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (now >= it->deadline) {
        reply(it->worker, it->req, FetchStatus::ok, {});
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // ---- replication (#14, broker/replication.h): this broker as leader and as follower ----

  bool leads(std::uint32_t p) const {
    return !have_map_ || (static_cast<int>(p) < map_.partitions() && map_.broker(static_cast<int>(p)) == ctx_.net.rank());
  }

  std::uint64_t readable_end(std::uint32_t p, const PartitionLog& log) const {
    const auto l = leaders_.find(p);
    return l == leaders_.end() ? log.end_offset() : std::min(log.end_offset(), l->second.high_watermark());
  }

  ReplicateHeader header_of(std::uint32_t p, const ReplicationLeader& leader, std::uint64_t offset, bool frame) {
    ReplicateHeader h;
    h.partition = p;
    h.epoch = leader.epoch();
    h.offset = offset;
    h.high_watermark = leader.high_watermark();
    h.committed = logs_.at(p).committed();
    h.has_frame = frame ? 1 : 0;
    return h;
  }

  /// Sends each follower of p the frames it lacks, from its cursor, at most replicate_window_
  /// past what it acknowledged. `frame` (at offset `offset`) is the one just appended: sent as
  /// the stored buffer itself, not read back. A follower being rebuilt is sent the leader's
  /// log from its start (spilled frames read back a window at a time).
  void pump_replication(std::uint32_t p, std::uint64_t offset = 0, const BufferPtr& frame = nullptr) {
    auto l = leaders_.find(p);
    auto c = cursors_.find(p);
    if (l == leaders_.end() || c == cursors_.end()) return;
    PartitionLog& log = logs_.at(p);
    for (auto& [r, cur] : c->second) {
      const auto due = cur.due(log.start_offset(), log.end_offset(), l->second.follower_end(r), replicate_window_);
      for (std::uint64_t o = due.first; o < due.last; ++o) {
        BufferPtr b;
        if (frame && o == offset) {
          b = frame;
        } else {
          auto e = log.read(o, 1);
          b = std::move(e.front().frame);
        }
        ctx_.net.send(r, Tag::replicate, pod_body(header_of(p, l->second, o, true)));
        ctx_.net.send(r, Tag::replicate_frame, b);  // the stored buffer itself: no copy
        ++replicated_out_;
        cur.sent(o);
      }
    }
  }

  /// Only the high watermark and committed offset, to every follower (lazily: with each commit).
  void send_commit(std::uint32_t p, const ReplicationLeader& leader) {
    const ReplicateHeader h = header_of(p, leader, 0, false);
    for (int r : leader.replicas()) {
      if (r != ctx_.net.rank()) ctx_.net.send(r, Tag::replicate, pod_body(h));
    }
  }

  /// Produces of p that every in-sync copy now holds are acknowledged; workers may read them.
  void release_acks(std::uint32_t p) {
    const auto l = leaders_.find(p);
    if (l == leaders_.end()) return;
    auto& q = acks_[p];
    while (!q.empty() && l->second.acknowledged(q.front().offset)) {
      ack(q.front().source, p, q.front().fh, ProduceStatus::accepted, q.front().offset);
      q.pop_front();
    }
    // Fetches waiting on p may read further only when the high watermark moved.
    std::uint64_t& served = served_hw_[p];
    if (l->second.high_watermark() > served) {
      served = l->second.high_watermark();
      serve_pending(p);
    }
  }

  void on_replicate_ack(int follower, const ReplicateAck& a) {
    auto l = leaders_.find(a.partition);
    if (l == leaders_.end()) return;
    if (a.gap && a.epoch == l->second.epoch()) {  // it lacks frames from `end` on: send them again
      auto c = cursors_.find(a.partition);
      if (c != cursors_.end() && c->second.count(follower)) {
        c->second.at(follower).rewind(a.end);
      }
    }
    std::vector<IsrChange> changes;
    l->second.on_follower_ack(follower, a.epoch, a.end, steady_s(), &changes);
    if (!changes.empty()) report_isr(a.partition, l->second, changes);
    release_acks(a.partition);
    pump_replication(a.partition);
    maybe_done(a.partition);
  }

  /// The master keeps each partition's in-sync replicas (its /status, and the election when a
  /// leader dies): told on every change, with the reason.
  void report_isr(std::uint32_t p, const ReplicationLeader& leader, const std::vector<IsrChange>& changes) {
    nlohmann::json why = nlohmann::json::array();
    for (const auto& c : changes) {
      why.push_back({{"replica", c.replica}, {"change", c.kind == IsrChange::Kind::shrink ? "shrink" : "expand"},
                     {"reason", c.reason}});
    }
    const nlohmann::json j = {{"kind", "isr"}, {"partition", p}, {"epoch", leader.epoch()},
                              {"isr", std::vector<int>(leader.isr().begin(), leader.isr().end())},
                              {"high_watermark", leader.high_watermark()}, {"changes", why}};
    ctx_.net.send(0, Tag::broker_event, json_body(j));
  }

  void on_replicate_header(int leader, const ReplicateHeader& h) {
    // A partition this broker does not follow (yet): a new leader may send a copy being rebuilt
    // here before the master's map reaches this broker. Dropped, header and frame; once the map
    // is in, the next frame finds a gap and the copy asks again from what it holds.
    if (!following_.count(h.partition)) return;
    if (h.has_frame) {
      rx_[leader].push_back(h);  // its frame is the next message from this leader
      return;
    }
    follower_commit(h.partition, h.committed);
  }

  void on_replicate_frame(int leader, BufferPtr frame) {
    auto& q = rx_[leader];
    if (q.empty()) return;  // a frame without its header: cannot be placed
    const ReplicateHeader h = q.front();
    q.pop_front();
    follower_commit(h.partition, h.committed);
    auto& held = follower_held_[h.partition];
    held.push_back({leader, h, std::move(frame)});
    if (held.size() == 1) drain_follower(h.partition);
  }

  /// Stores replicated frames in order while the follower's log takes them (a full ring with
  /// spill off waits for the leader's next commit: the leader's high watermark, and so ingest,
  /// wait with it — backpressure on every copy).
  void drain_follower(std::uint32_t p) {
    auto& held = follower_held_[p];
    ReplicationFollower& f = following_.at(p);
    PartitionLog& log = logs_.at(p);
    while (!held.empty()) {
      FollowerFrame& e = held.front();
      // From a new leader whose map has not reached this broker yet (#14): kept until it has.
      if (e.header.epoch > f.epoch()) break;
      std::uint64_t from = 0;
      auto verdict = f.on_replicate(e.header.epoch, e.header.offset, 1, e.header.high_watermark, &from,
                                    e.header.committed);
      if (verdict == ReplicationFollower::Accept::rebase) {
        // A copy being rebuilt: its leader's log starts here (everything before is committed).
        log.skip_to(from);
        f.rebased(from);
        verdict = ReplicationFollower::Accept::ok;
      }
      if (verdict == ReplicationFollower::Accept::ok) {
        const auto fh = e.frame->read<FrameHeader>(kFrameHeaderAt);
        if (!log.try_append(e.frame, fh.capture_ns, kPixelsAt)) break;  // no room yet
        f.appended(log.end_offset());
        take_key(p, fh.stream, fh.sequence, (e.frame->read<ProduceHeader>(0).flags & kFrameFlagRerouted) != 0);
        ++replicated_in_;
        if (rebuilding_.count(p) && f.end() >= e.header.high_watermark) {
          rebuilding_.erase(p);
          std::cout << "[ride] broker rank " << ctx_.net.rank() << ": copy of partition " << p
                    << " rebuilt from rank " << e.leader << " (offsets " << log.start_offset() << " to " << f.end()
                    << ")" << std::endl;
        }
      }
      if (verdict != ReplicationFollower::Accept::stale_epoch) {
        ReplicateAck a;
        a.partition = p;
        a.epoch = f.epoch();
        a.end = f.end();
        // Frames it lacks before this one (refused while its map was older): the leader sends
        // again from `end`.
        a.gap = verdict == ReplicationFollower::Accept::gap ? 1 : 0;
        ctx_.net.send(e.leader, Tag::replicate_ack, pod_body(a));
      }
      held.pop_front();
    }
  }

  void follower_commit(std::uint32_t p, std::uint64_t committed) {
    PartitionLog& log = logs_.at(p);
    const std::uint64_t c = std::min(committed, log.end_offset());
    if (c > log.committed()) log.commit(c);
    if (!follower_held_[p].empty()) drain_follower(p);
  }

  void send_metrics() {
    BodyWriter w;
    std::uint32_t led = 0;
    for (const auto& [p, log] : logs_) led += leads(p) ? 1 : 0;
    w.pod(led);
    const std::int64_t as_of = wall_ns();
    for (const auto& [p, log] : logs_) {
      if (!leads(p)) continue;  // the master hears of a partition from its leader alone
      PartitionMetrics pm;
      pm.partition = p;
      pm.sealed = log.sealed() ? 1 : 0;
      pm.end_offset = log.end_offset();
      pm.committed = log.committed();
      pm.ring_bytes = log.ring_bytes();
      pm.ring_frames = log.ring_frames();
      pm.ring_capacity_bytes = log.limits().ring_bytes;
      pm.spill_bytes = log.spill_bytes();
      pm.spilled_frames = log.stats().spilled_frames;
      pm.dropped_frames = log.stats().dropped_oldest + log.stats().dropped_newest;
      const auto h = held_.find(p);
      pm.held_frames = h == held_.end() ? 0 : h->second.size();
      pm.oldest_capture_ns = log.oldest_uncommitted_capture_ns();
      pm.state = static_cast<std::uint32_t>(log.state());
      pm.as_of_ns = as_of;
      w.pod(pm);
    }
    ctx_.net.send(0, Tag::broker_metrics, w.finish());
  }

  RoleContext& ctx_;
  Heartbeat heartbeat_;
  std::uint64_t start_rss_bytes_ = 0;
  PartitionMap map_;  ///< the master's placement: which partitions this broker leads, which it follows
  bool have_map_ = false;
  bool replicated_ = false;  ///< topic.replication > 1
  std::uint64_t replicate_window_ = 64;
  double last_loop_s_ = steady_s();
  /// Where each follower's next replication message starts (replication.h).
  std::map<std::uint32_t, std::map<int, ReplicationCursor>> cursors_;
  std::set<std::uint32_t> rebuilding_;          ///< copies being rebuilt from their leader
  std::vector<transport::Message> early_;       ///< produces that came before the map that makes this broker their leader
  std::map<int, std::vector<ProduceAck>> acks_out_;  ///< this turn's acks, by producer (flush_acks)
  /// Fetch replies of at most this many frame bytes send them several to a message (broker.fetch_batch_kb).
  std::size_t fetch_batch_bytes_ = 0;
  std::uint64_t copied_replies_ = 0, run_replies_ = 0;
  std::vector<BufferPtr> fetched_;  ///< reply's (members: no allocation per fetch once warm)
  FetchRuns runs_;
  // Replication (#14): partitions led with followers, partitions followed, produces waiting for
  // the high watermark, replicated frames waiting for their log, headers waiting for their frame.
  struct PendingAck {
    int source;
    FrameHeader fh;
    std::uint64_t offset;
  };
  struct FollowerFrame {
    int leader;
    ReplicateHeader header;
    BufferPtr frame;
  };
  std::map<std::uint32_t, ReplicationLeader> leaders_;
  std::map<std::uint32_t, ReplicationFollower> following_;
  std::map<std::uint32_t, std::deque<PendingAck>> acks_;
  std::map<std::uint32_t, std::uint64_t> served_hw_;  ///< the high watermark pending fetches last saw
  std::map<std::uint32_t, std::deque<FollowerFrame>> follower_held_;
  std::map<int, std::deque<ReplicateHeader>> rx_;
  std::map<std::uint32_t, PartitionLog> logs_;
  std::map<std::uint32_t, bool> done_reported_, spill_failure_reported_;
  std::map<std::uint32_t, SeenKeys> seen_;  ///< exactly the partitions fed by a stage: keys taken
  std::map<std::uint32_t, StreamWatermarks> marks_;  ///< ingest's partitions where a frame can come twice
  std::map<std::uint32_t, std::deque<HeldProduce>> held_;
  std::set<std::uint32_t> seal_when_drained_;  ///< sealed by the master while frames were held
  bool in_backpressure_ = false;
  double backpressure_since_ = 0, backpressure_s_ = 0;
  EpochFence fence_;
  std::vector<PendingFetch> pending_, due_;
  bool stop_ = false;
  double metrics_interval_s_ = 0.25;
  std::uint64_t appended_ = 0, rejected_ = 0, fetches_ = 0, fenced_ = 0, duplicates_ = 0;
  std::uint64_t replicated_out_ = 0, replicated_in_ = 0;
  std::uint64_t peak_ring_bytes_ = 0, peak_spill_bytes_ = 0;
};

}  // namespace

int run_broker(RoleContext& ctx) { return Broker(ctx).run(); }

}  // namespace ride
