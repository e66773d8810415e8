#pragma once
/// @brief ULFM-style recovery operations on the MPI we have (Open MPI 4.1 has no
/// MPIX_Comm_shrink/revoke/agree; ../shared/notes/open-mpi-failures.md), behind one interface so
/// a native ULFM backend can be added where one builds and runs:
///   detect — heartbeats (master/liveness.h; a dead rank gives silence, never an error),
///   shrink — a communicator of the survivors (MPI_Comm_create_group: collective over the
///            survivors only, so a dead member cannot block it),
///   spawn  — new processes (MPI_Comm_spawn from this rank alone) to replenish spares.
/// No MPI type leaks out of this header.
#include <memory>
#include <string>
#include <vector>

namespace ride::transport {

/// @brief A communicator of some ranks of the job (the survivors), for group collectives.
class GroupComm {
 public:
  virtual ~GroupComm() = default;
  virtual int rank() const = 0;  ///< rank within the group
  virtual int size() const = 0;
  /// Sum over the group (a collective: every member must call it).
  virtual double allreduce_sum(double value) = 0;
};

/// @brief Processes started by spawn(), reached through an intercommunicator.
class SpawnedGroup {
 public:
  virtual ~SpawnedGroup() = default;
  virtual int size() const = 0;
  /// Blocking point-to-point with spawned process `child` (small control messages).
  virtual void send(int child, const std::string& text) = 0;
  virtual std::string recv(int child) = 0;
};

class FaultDomain {
 public:
  virtual ~FaultDomain() = default;
  /// The survivors' communicator. Collective over exactly the ranks in `survivors` (world
  /// ranks, the same list in the same order on every one of them); dead ranks take no part.
  virtual std::unique_ptr<GroupComm> shrink(const std::vector<int>& survivors) = 0;
  /// Starts `count` processes of `program` with `args` from this rank alone.
  virtual std::unique_ptr<SpawnedGroup> spawn(const std::string& program,
                                              const std::vector<std::string>& args, int count) = 0;
};

/// The backend for Open MPI 4.1 / MPICH without ULFM (MPI_Comm_create_group + MPI_Comm_spawn).
std::unique_ptr<FaultDomain> make_fault_domain();

/// In a process started by FaultDomain::spawn: the link to the parent (rank 0 of the spawning
/// side), or nullptr when this process was not spawned.
std::unique_ptr<SpawnedGroup> parent_link();

}  // namespace ride::transport
