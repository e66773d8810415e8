// NcclGroup in builds without NCCL: nothing to build on; every use is an error the caller
// avoids by asking nccl_compiled() first.
#include "kernels/common/nccl_group.h"

#include "core/error.h"

namespace ride::kernels {

struct NcclGroup::Impl {};

bool nccl_compiled() { return false; }

std::vector<std::byte> nccl_unique_id() { throw Error("this build has no NCCL"); }

NcclGroup::NcclGroup(const std::vector<std::byte>&, int, int) { throw Error("this build has no NCCL"); }
NcclGroup::~NcclGroup() = default;
int NcclGroup::members() const { return 0; }
int NcclGroup::index() const { return 0; }
void NcclGroup::reduce(std::vector<double>&, std::vector<double>&, std::vector<double>&) {
  throw Error("this build has no NCCL");
}

}  // namespace ride::kernels
