#pragma once
// Data-parallel communication for pre-training on libtorch's c10d: ProcessGroupGloo on the CPU
// (ProcessGroupNCCL when built against a CUDA libtorch), rendezvous through a c10d TCPStore
// configured by the torchrun variables, so torchrun, SLURM or mpirun can launch the workers.
#include <ATen/core/Tensor.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mert::train {

struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // From RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (each optional; absent = the
  // single-process defaults above). Throws mert::Error for malformed values or rank >= world.
  static DistEnv from_environment();
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend() const = 0;  // "none" (single process), "gloo" or "nccl"
  // Sums the tensors over all ranks, in place. The tensors are packed into one flat buffer per
  // dtype for a single collective. Throws mert::Error naming the peer problem (e.g. a dead peer)
  // once the timeout passes, instead of hanging.
  virtual void all_reduce_sum(std::vector<at::Tensor>& tensors) = 0;
  // Copies root's tensor to every rank, in place.
  virtual void broadcast(at::Tensor& tensor, int root = 0) = 0;
  virtual void barrier() = 0;
};

// world_size 1: a communicator that does nothing (no store, no sockets). Otherwise connects to
// the TCPStore at master_addr:master_port (rank 0 hosts it) and creates the process group.
// Throws mert::Error when the rendezvous does not complete within `timeout`.
std::unique_ptr<Communicator> make_communicator(const DistEnv& env, std::chrono::milliseconds timeout);

// `mert pretrain --nproc N`: runs N copies of this program (/proc/self/exe) with `args`
// (argv without --nproc) and RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR=127.0.0.1/MASTER_PORT set
// (port 0 = pick a free one). Worker output passes through, prefixed "[rank N] " on stderr
// lines. If a worker fails, the others are terminated. Returns the first non-zero exit code
// (or 0 when all succeed).
int launch_local_workers(int nproc, const std::vector<std::string>& args, int master_port = 0);

}  // namespace mert::train
