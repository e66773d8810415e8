#include "transport/fault_domain.h"

#include <mpi.h>

#include <vector>

#include "core/error.h"

namespace ride::transport {
namespace {

constexpr int kShrinkTag = 0x5e1f;
constexpr int kControlTag = 77;

class MpiGroupComm final : public GroupComm {
 public:
  explicit MpiGroupComm(MPI_Comm c) : comm_(c) {}
  ~MpiGroupComm() override {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  int rank() const override {
    int r = 0;
    MPI_Comm_rank(comm_, &r);
    return r;
  }
  int size() const override {
    int n = 0;
    MPI_Comm_size(comm_, &n);
    return n;
  }
  double allreduce_sum(double value) override {
    double out = 0;
    RIDE_EXPECTS(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_SUM, comm_) == MPI_SUCCESS,
                 "allreduce over the survivors failed");
    return out;
  }

 private:
  MPI_Comm comm_;
};

class MpiSpawned final : public SpawnedGroup {
 public:
  explicit MpiSpawned(MPI_Comm inter) : inter_(inter) {}
  ~MpiSpawned() override {
    if (inter_ != MPI_COMM_NULL) MPI_Comm_disconnect(&inter_);
  }
  int size() const override {
    int n = 0;
    MPI_Comm_remote_size(inter_, &n);
    return n;
  }
  void send(int child, const std::string& text) override {
    RIDE_EXPECTS(MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, child, kControlTag,
                          inter_) == MPI_SUCCESS,
                 "send to spawned process " << child);
  }
  std::string recv(int child) override {
    MPI_Status st;
    RIDE_EXPECTS(MPI_Probe(child, kControlTag, inter_, &st) == MPI_SUCCESS, "probe spawned " << child);
    int n = 0;
    MPI_Get_count(&st, MPI_CHAR, &n);
    std::string out(static_cast<std::size_t>(n), '\0');
    MPI_Recv(out.data(), n, MPI_CHAR, child, kControlTag, inter_, MPI_STATUS_IGNORE);
    return out;
  }

 private:
  MPI_Comm inter_;
};

class MpiFaultDomain final : public FaultDomain {
 public:
  std::unique_ptr<GroupComm> shrink(const std::vector<int>& survivors) override {
    MPI_Group world = MPI_GROUP_NULL, group = MPI_GROUP_NULL;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    MPI_Group_incl(world, static_cast<int>(survivors.size()), survivors.data(), &group);
    MPI_Comm comm = MPI_COMM_NULL;
    const int rc = MPI_Comm_create_group(MPI_COMM_WORLD, group, kShrinkTag, &comm);
    MPI_Group_free(&group);
    MPI_Group_free(&world);
    RIDE_EXPECTS(rc == MPI_SUCCESS && comm != MPI_COMM_NULL,
                 "MPI_Comm_create_group over " << survivors.size() << " survivors failed");
    return std::make_unique<MpiGroupComm>(comm);
  }

  std::unique_ptr<SpawnedGroup> spawn(const std::string& program, const std::vector<std::string>& args,
                                      int count) override {
    std::vector<std::string> store(args);
    std::vector<char*> argv;
    for (auto& a : store) argv.push_back(a.data());
    argv.push_back(nullptr);
    MPI_Comm inter = MPI_COMM_NULL;
    std::vector<int> codes(static_cast<std::size_t>(count), 0);
    const int rc = MPI_Comm_spawn(program.c_str(), argv.data(), count, MPI_INFO_NULL, 0, MPI_COMM_SELF,
                                  &inter, codes.data());
    RIDE_EXPECTS(rc == MPI_SUCCESS && inter != MPI_COMM_NULL,
                 "MPI_Comm_spawn of " << count << " x '" << program << "' failed (the launcher must "
                                      << "allow it: slots free or --oversubscribe)");
    for (int c : codes) RIDE_EXPECTS(c == MPI_SUCCESS, "a spawned process failed to start");
    return std::make_unique<MpiSpawned>(inter);
  }
};

}  // namespace

std::unique_ptr<FaultDomain> make_fault_domain() { return std::make_unique<MpiFaultDomain>(); }

std::unique_ptr<SpawnedGroup> parent_link() {
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  if (parent == MPI_COMM_NULL) return nullptr;
  return std::make_unique<MpiSpawned>(parent);
}

}  // namespace ride::transport
