// NcclGroup on NCCL (builds with NCCL only; nccl_group_stub.cpp otherwise).
#include <nccl.h>

#include <cstring>
#include <sstream>

#include "kernels/common/cuda_error.h"
#include "kernels/common/nccl_group.h"

namespace ride::kernels {
namespace {

[[noreturn]] void throw_nccl(ncclResult_t status, const char* call, const char* file, int line) {
  std::ostringstream os;
  os << "NCCL error " << ncclGetErrorString(status) << " in " << call;
  // An unhandled CUDA failure under NCCL may be a sticky one: say so as the CUDA check would.
  if (status == ncclUnhandledCudaError) {
    const cudaError_t cuda = cudaGetLastError();
    if (detail::cuda_error_is_sticky(cuda)) throw DeviceLost(os.str() + " (" + cudaGetErrorName(cuda) + ")");
  }
  detail::throw_error(file, line, os.str());
}

#define RIDE_NCCL_TRY(call) RIDE_CUDA_STATUS_TRY(call, #call, ncclSuccess, throw_nccl)

/// Device memory for one reduction's arrays.
struct DeviceDoubles {
  double* p = nullptr;
  explicit DeviceDoubles(std::size_t n) {
    if (n > 0) RIDE_CUDA_TRY(cudaMalloc(&p, n * sizeof(double)));
  }
  ~DeviceDoubles() {
    if (p) cudaFree(p);
  }
  DeviceDoubles(const DeviceDoubles&) = delete;
  DeviceDoubles& operator=(const DeviceDoubles&) = delete;
};

}  // namespace

struct NcclGroup::Impl {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int members = 0, index = 0;
};

bool nccl_compiled() { return true; }

std::vector<std::byte> nccl_unique_id() {
  ncclUniqueId id;
  RIDE_NCCL_TRY(ncclGetUniqueId(&id));
  static_assert(sizeof(id) == kNcclIdBytes);
  std::vector<std::byte> out(sizeof(id));
  std::memcpy(out.data(), &id, sizeof(id));
  return out;
}

NcclGroup::NcclGroup(const std::vector<std::byte>& id, int members, int index) : impl_(std::make_unique<Impl>()) {
  RIDE_EXPECTS(id.size() == kNcclIdBytes, "an NCCL id has " << kNcclIdBytes << " bytes, got " << id.size());
  RIDE_EXPECTS(members > 0 && index >= 0 && index < members, "member " << index << " of " << members);
  ncclUniqueId uid;
  std::memcpy(&uid, id.data(), sizeof(uid));
  impl_->members = members;
  impl_->index = index;
  RIDE_CUDA_TRY(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking));
  RIDE_NCCL_TRY(ncclCommInitRank(&impl_->comm, members, uid, index));
}

NcclGroup::~NcclGroup() {
  if (!impl_) return;
  if (impl_->comm) ncclCommDestroy(impl_->comm);
  if (impl_->stream) cudaStreamDestroy(impl_->stream);
}

int NcclGroup::members() const { return impl_->members; }
int NcclGroup::index() const { return impl_->index; }

void NcclGroup::reduce(std::vector<double>& sums, std::vector<double>& mins, std::vector<double>& maxs) {
  const std::pair<std::vector<double>*, ncclRedOp_t> parts[] = {{&sums, ncclSum}, {&mins, ncclMin}, {&maxs, ncclMax}};
  for (const auto& [v, op] : parts) {
    DeviceDoubles d(v->size());
    if (v->empty()) continue;
    const std::size_t bytes = v->size() * sizeof(double);
    RIDE_CUDA_TRY(cudaMemcpyAsync(d.p, v->data(), bytes, cudaMemcpyHostToDevice, impl_->stream));
    RIDE_NCCL_TRY(ncclReduce(d.p, d.p, v->size(), ncclDouble, op, 0, impl_->comm, impl_->stream));
    RIDE_CUDA_TRY(cudaMemcpyAsync(v->data(), d.p, bytes, cudaMemcpyDeviceToHost, impl_->stream));
    RIDE_CUDA_TRY(cudaStreamSynchronize(impl_->stream));
  }
}

}  // namespace ride::kernels
