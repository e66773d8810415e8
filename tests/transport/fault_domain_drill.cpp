/// The ULFM-style primitives after a real failure, on the MPI we have. Under mpirun
/// --enable-recovery with 4 ranks: rank 3 SIGKILLs itself; rank 0 detects the silence with the
/// job's own LivenessMonitor and tells the others; the survivors shrink to a communicator of
/// their own and run a collective on it; rank 0 spawns a replacement process and exchanges a
/// message with it. Each rank writes its verdict to DIR/rank-N (mpirun's exit code says nothing
/// under --enable-recovery). usage: fault_domain_drill DIR  (spawned copies get --child)
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <string>

#include "core/clock.h"
#include "master/liveness.h"
#include "transport/fault_domain.h"
#include "transport/transport.h"

using ride::BodyReader;
using ride::Buffer;
using ride::Tag;
using ride::transport::Transport;

int main(int argc, char** argv) {
  Transport net(&argc, &argv);
  if (auto parent = ride::transport::parent_link()) {
    const std::string hello = parent->recv(0);
    parent->send(0, "replacement alive, got '" + hello + "'");
    parent.reset();
    net.finalize(0);
    return 0;
  }
  if (argc < 2 || net.size() != 4) {
    std::cerr << "usage: mpirun -np 4 fault_domain_drill DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  const int me = net.rank();
  if (me == 3) raise(SIGKILL);  // a real death, not a simulated one

  std::string verdict = "FAIL";
  try {
    auto fd = ride::transport::make_fault_domain();
    if (me == 0) {
      // Detect: everyone heartbeats; rank 3 stays silent and is declared dead.
      ride::LivenessMonitor live(4, 0.3, ride::steady_s());
      std::vector<int> dead;
      const double deadline = ride::steady_s() + 10;
      while (dead.empty() && ride::steady_s() < deadline) {
        while (auto m = net.try_recv()) live.heard(m->source, ride::steady_s());
        dead = live.newly_dead(ride::steady_s());
        ::usleep(10000);
      }
      if (dead != std::vector<int>{3}) throw std::runtime_error("rank 3 was not detected as dead");
      for (int r : {1, 2}) net.send(r, Tag::peer_dead, Buffer());
    } else {
      bool told = false;
      double next = 0;
      while (!told) {
        if (ride::steady_s() > next) {
          net.send(0, Tag::heartbeat, Buffer());
          next = ride::steady_s() + 0.05;
        }
        while (auto m = net.try_recv()) told = told || m->tag == Tag::peer_dead;
        ::usleep(5000);
      }
    }
    net.drain(2.0);
    // Shrink: the survivors' communicator, and a collective on it.
    auto group = fd->shrink({0, 1, 2});
    const double sum = group->allreduce_sum(me + 1.0);
    if (group->size() != 3 || sum != 6.0) throw std::runtime_error("allreduce over survivors gave " + std::to_string(sum));
    verdict = "PASS shrink size 3 sum 6";
    // Spawn: a replacement process, reached through an intercommunicator.
    if (me == 0) {
      const double t = ride::steady_s();
      auto spawned = fd->spawn(argv[0], {"--child"}, 1);
      spawned->send(0, "hello");
      const std::string reply = spawned->recv(0);
      if (reply.find("replacement alive") == std::string::npos) throw std::runtime_error("bad reply " + reply);
      verdict += "; PASS spawn in " + std::to_string(ride::steady_s() - t) + " s: " + reply;
    }
  } catch (const std::exception& e) {
    verdict = std::string("FAIL ") + e.what();
  }
  std::ofstream(dir + "/rank-" + std::to_string(me)) << verdict << "\n";
  std::cout << "rank " << me << ": " << verdict << std::endl;
  net.finalize(0);
  return 0;
}
