#include "train/distributed.h"

#ifndef USE_C10D_GLOO
#error "distributed.cpp needs USE_C10D_GLOO, which libtorch's CMake target (Caffe2Targets) defines"
#endif

#include <ATen/ATen.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <optional>

#include "mert/error.h"

extern char** environ;

namespace mert::train {
namespace {

using Clock = std::chrono::steady_clock;

// What to tell the user whenever a collective or the rendezvous fails: nearly always the cause
// is on another rank, whose own log has the real error.
constexpr const char* kPeerHint =
    " (a peer died or is unreachable: check the other ranks' output, MASTER_ADDR/MASTER_PORT "
    "and that every rank was started)";

std::string errno_text() { return std::strerror(errno); }

// c10::Error::what() carries a C++ backtrace; users need only the message.
std::string describe_current_exception() {
  try {
    throw;
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// ---- world 1 ----

class SingleProcessCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "none"; }
  void all_reduce_sum(std::vector<at::Tensor>&) override {}
  void broadcast(at::Tensor&, int root) override {
    if (root != 0) {
      throw Error("broadcast: root rank " + std::to_string(root) +
                  " does not exist in a single-process run (expected 0)");
    }
  }
  void barrier() override {}
};

// ---- Gloo ----

// Binds Gloo's transport to the address the peers can reach: loopback for a single-machine run,
// otherwise GLOO_SOCKET_IFNAME (as torch.distributed honours it) or this host's name.
std::shared_ptr<::gloo::transport::Device> create_gloo_device(const std::string& master_addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
    return ::c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (master_addr == "localhost" || master_addr.rfind("127.", 0) == 0 || master_addr == "::1") {
    return ::c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return ::c10d::ProcessGroupGloo::createDefaultDevice();
}

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(const DistEnv& env, std::chrono::milliseconds timeout)
      : rank_(env.rank), world_size_(env.world_size), timeout_(timeout) {
    try {
      ::c10d::TCPStoreOptions store_options;
      store_options.port = static_cast<std::uint16_t>(env.master_port);
      store_options.isServer = env.rank == 0;
      store_options.numWorkers = static_cast<std::size_t>(env.world_size);
      // The group's own connection to every peer already waits for all ranks (within the
      // timeout); letting the store wait as well would double the time to report a missing one.
      store_options.waitWorkers = false;
      store_options.timeout = timeout;
      store_ = c10::make_intrusive<::c10d::TCPStore>(env.master_addr, store_options);

      auto group_options = ::c10d::ProcessGroupGloo::Options::create(timeout);
      group_options->devices.push_back(create_gloo_device(env.master_addr));
      group_ = c10::make_intrusive<::c10d::ProcessGroupGloo>(store_, env.rank, env.world_size,
                                                             group_options);
    } catch (...) {
      throw Error(where() + ": rendezvous at " + env.master_addr + ":" +
                  std::to_string(env.master_port) + " did not complete within " +
                  std::to_string(timeout.count()) + " ms: " + describe_current_exception() +
                  kPeerHint);
    }
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  std::string backend() const override { return "gloo"; }

  void all_reduce_sum(std::vector<at::Tensor>& tensors) override {
    // One flat buffer per dtype; std::map keeps the group order identical on every rank.
    std::map<at::ScalarType, std::vector<at::Tensor*>> by_dtype;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      at::Tensor& tensor = tensors[i];
      check_cpu_tensor(tensor, "all_reduce_sum tensor " + std::to_string(i));
      if (tensor.scalar_type() != at::kFloat && tensor.scalar_type() != at::kDouble) {
        throw Error(where() + ": all_reduce_sum tensor " + std::to_string(i) + " has dtype " +
                    std::string(c10::toString(tensor.scalar_type())) +
                    ", expected float32 or float64");
      }
      by_dtype[tensor.scalar_type()].push_back(&tensor);
    }

    // Gradients are reduced outside autograd; in-place writes into leaves must be allowed.
    at::NoGradGuard no_grad;
    for (auto& [dtype, group] : by_dtype) {
      std::vector<at::Tensor> parts;
      parts.reserve(group.size());
      for (const at::Tensor* tensor : group) parts.push_back(tensor->reshape({-1}));
      std::vector<at::Tensor> buffer{at::cat(parts)};
      // Every rank holds the same shapes, so all of them skip an empty group together.
      if (buffer[0].numel() == 0) continue;
      run("all_reduce_sum", [&] { return group_->allreduce(buffer); });
      std::int64_t offset = 0;
      for (at::Tensor* tensor : group) {
        const std::int64_t count = tensor->numel();
        tensor->copy_(buffer[0].narrow(0, offset, count).view(tensor->sizes()));
        offset += count;
      }
    }
  }

  void broadcast(at::Tensor& tensor, int root) override {
    check_cpu_tensor(tensor, "broadcast tensor");
    if (root < 0 || root >= world_size_) {
      throw Error(where() + ": broadcast root rank " + std::to_string(root) +
                  " is outside [0, " + std::to_string(world_size_) + ")");
    }
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> buffer{tensor.contiguous()};
    ::c10d::BroadcastOptions options;
    options.rootRank = root;
    run("broadcast", [&] { return group_->broadcast(buffer, options); });
    if (!buffer[0].is_same(tensor)) tensor.copy_(buffer[0]);
  }

  void barrier() override {
    run("barrier", [&] { return group_->barrier(); });
  }

 private:
  std::string where() const {
    return "distributed (gloo) rank " + std::to_string(rank_) + " of " +
           std::to_string(world_size_);
  }

  void check_cpu_tensor(const at::Tensor& tensor, const std::string& what) const {
    if (!tensor.defined()) throw Error(where() + ": " + what + " is undefined");
    // A CUDA libtorch build would use ProcessGroupNCCL for device tensors; this one has only Gloo.
    if (!tensor.device().is_cpu()) {
      throw Error(where() + ": " + what + " is on " + tensor.device().str() +
                  ", but the NCCL backend is not built (only CPU tensors are supported)");
    }
  }

  // Starts a collective and waits for it at most `timeout_`; c10d/Gloo failures (timeout,
  // connection refused or closed by a dead peer) become mert::Error.
  void run(const char* operation, const std::function<c10::intrusive_ptr<::c10d::Work>()>& start) {
    bool completed = false;
    try {
      completed = start()->wait(timeout_);
    } catch (...) {
      throw Error(where() + ": " + operation + " failed: " + describe_current_exception() +
                  kPeerHint);
    }
    if (!completed) throw Error(where() + ": " + operation + " was aborted" + kPeerHint);
  }

  int rank_;
  int world_size_;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<::c10d::Store> store_;  // declared first: outlives the group using it
  c10::intrusive_ptr<::c10d::ProcessGroupGloo> group_;
};

// ---- environment ----

// Parses the whole of `text` as a base-10 int; mert::Error naming `name` otherwise.
int parse_int_variable(const char* name, const char* text) {
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno == ERANGE || value < std::numeric_limits<int>::min() ||
      value > std::numeric_limits<int>::max()) {
    throw Error(std::string("environment variable ") + name + "=\"" + text +
                "\" is not an integer");
  }
  return static_cast<int>(value);
}

// ---- launcher ----

// 127.0.0.1 port the kernel considers free right now (it may be taken again before the workers
// bind it; the rendezvous then fails with a clear error).
int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error("cannot create a socket to pick a free port: " + errno_text());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string reason = errno_text();
    ::close(fd);
    throw Error("cannot bind 127.0.0.1:0 to pick a free port: " + reason);
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string self_executable() {
  std::vector<char> path(4096);
  const ssize_t length = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (length < 0) throw Error("cannot readlink /proc/self/exe: " + errno_text());
  return std::string(path.data(), static_cast<std::size_t>(length));
}

// Last SIGINT/SIGTERM the launcher received; the main loop forwards it to the workers.
volatile std::sig_atomic_t g_launcher_signal = 0;

void record_launcher_signal(int signal_number) { g_launcher_signal = signal_number; }

// Installs the forwarding handlers for the lifetime of one launch and restores the old ones.
class ForwardedSignals {
 public:
  ForwardedSignals() {
    g_launcher_signal = 0;
    struct sigaction action {};
    action.sa_handler = record_launcher_signal;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
  }
  ~ForwardedSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  ForwardedSignals(const ForwardedSignals&) = delete;
  ForwardedSignals& operator=(const ForwardedSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

void write_all_fd(int fd, const std::string& text) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // our own stderr is gone; nothing better to do with worker output
    written += static_cast<std::size_t>(n);
  }
}

struct Worker {
  int rank = 0;
  pid_t pid = -1;
  int stderr_fd = -1;  // read end of the worker's stderr pipe; -1 once at EOF
  std::string partial_line;
  bool running = false;
};

// Reads what is available on the worker's stderr pipe and writes complete lines with the
// "[rank N] " prefix; at EOF the unterminated remainder is written too.
void forward_stderr(Worker& worker) {
  char chunk[4096];
  while (true) {
    const ssize_t n = ::read(worker.stderr_fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN: nothing more for now
    if (n > 0) worker.partial_line.append(chunk, static_cast<std::size_t>(n));
    const std::string prefix = "[rank " + std::to_string(worker.rank) + "] ";
    std::size_t start = 0;
    for (std::size_t newline; (newline = worker.partial_line.find('\n', start)) != std::string::npos;
         start = newline + 1) {
      write_all_fd(STDERR_FILENO, prefix + worker.partial_line.substr(start, newline + 1 - start));
    }
    worker.partial_line.erase(0, start);
    if (n == 0) {
      if (!worker.partial_line.empty()) write_all_fd(STDERR_FILENO, prefix + worker.partial_line + "\n");
      worker.partial_line.clear();
      ::close(worker.stderr_fd);
      worker.stderr_fd = -1;
      return;
    }
  }
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

void signal_running(std::vector<Worker>& workers, int signal_number) {
  for (const Worker& worker : workers) {
    if (worker.running) ::kill(worker.pid, signal_number);
  }
}

// Everything execve needs, built before fork: the child may only call async-signal-safe code.
struct ExecPlan {
  std::vector<std::string> argv_storage;
  std::vector<std::vector<std::string>> env_storage;  // per rank
};

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

bool is_rendezvous_variable(const std::string& entry) {
  for (const char* name :
       {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=", "MASTER_PORT="}) {
    if (entry.rfind(name, 0) == 0) return true;
  }
  return false;
}

}  // namespace

DistEnv DistEnv::from_environment() {
  DistEnv env;
  if (const char* v = std::getenv("RANK")) env.rank = parse_int_variable("RANK", v);
  if (const char* v = std::getenv("WORLD_SIZE")) env.world_size = parse_int_variable("WORLD_SIZE", v);
  if (const char* v = std::getenv("LOCAL_RANK")) env.local_rank = parse_int_variable("LOCAL_RANK", v);
  if (const char* v = std::getenv("MASTER_ADDR")) env.master_addr = v;
  if (const char* v = std::getenv("MASTER_PORT")) env.master_port = parse_int_variable("MASTER_PORT", v);

  if (env.world_size < 1) {
    throw Error("WORLD_SIZE=" + std::to_string(env.world_size) + ": expected at least 1");
  }
  if (env.rank < 0 || env.rank >= env.world_size) {
    throw Error("RANK=" + std::to_string(env.rank) + ": expected 0 <= RANK < WORLD_SIZE=" +
                std::to_string(env.world_size));
  }
  if (env.local_rank < 0 || env.local_rank >= env.world_size) {
    throw Error("LOCAL_RANK=" + std::to_string(env.local_rank) +
                ": expected 0 <= LOCAL_RANK < WORLD_SIZE=" + std::to_string(env.world_size));
  }
  if (env.master_addr.empty()) throw Error("MASTER_ADDR is set but empty: expected a host name");
  if (env.master_port < 1 || env.master_port > 65535) {
    throw Error("MASTER_PORT=" + std::to_string(env.master_port) + ": expected 1..65535");
  }
  return env;
}

std::unique_ptr<Communicator> make_communicator(const DistEnv& env, std::chrono::milliseconds timeout) {
  if (env.world_size < 1 || env.rank < 0 || env.rank >= env.world_size) {
    throw Error("make_communicator: rank " + std::to_string(env.rank) + " / world size " +
                std::to_string(env.world_size) + ": expected 0 <= rank < world size");
  }
  if (env.world_size == 1) return std::make_unique<SingleProcessCommunicator>();
  if (env.master_port < 1 || env.master_port > 65535) {
    throw Error("make_communicator: master port " + std::to_string(env.master_port) +
                ": expected 1..65535");
  }
  // Gloo writes to its peers' sockets without MSG_NOSIGNAL: a write to a dead peer would raise
  // SIGPIPE and kill this worker silently (exit 141) instead of surfacing as a mert::Error.
  std::signal(SIGPIPE, SIG_IGN);
  return std::make_unique<GlooCommunicator>(env, timeout);
}

// Worker stdout is inherited unchanged (it may be machine-readable); only stderr, where logs and
// errors go, is piped through the launcher and prefixed per line.
int launch_local_workers(int nproc, const std::vector<std::string>& args, int master_port) {
  if (nproc < 1) throw Error("--nproc " + std::to_string(nproc) + ": expected at least 1");
  if (master_port < 0 || master_port > 65535) {
    throw Error("master port " + std::to_string(master_port) + ": expected 0 (pick) or 1..65535");
  }
  const int port = master_port == 0 ? pick_free_port() : master_port;

  ExecPlan plan;
  plan.argv_storage.push_back(self_executable());
  plan.argv_storage.insert(plan.argv_storage.end(), args.begin(), args.end());
  std::vector<std::string> inherited;
  for (char** entry = environ; *entry; ++entry) {
    if (!is_rendezvous_variable(*entry)) inherited.emplace_back(*entry);
  }
  for (int rank = 0; rank < nproc; ++rank) {
    std::vector<std::string> env = inherited;
    env.push_back("RANK=" + std::to_string(rank));
    env.push_back("LOCAL_RANK=" + std::to_string(rank));
    env.push_back("WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(port));
    plan.env_storage.push_back(std::move(env));
  }
  std::vector<char*> argv = pointers_to(plan.argv_storage);

  ForwardedSignals forwarded_signals;
  std::vector<Worker> workers(static_cast<std::size_t>(nproc));
  const pid_t launcher_pid = ::getpid();

  // On a spawn failure the workers already started are killed before the error propagates.
  auto abandon = [&](const std::string& message) {
    for (Worker& worker : workers) {
      if (worker.running) {
        ::kill(worker.pid, SIGKILL);
        ::waitpid(worker.pid, nullptr, 0);
      }
      if (worker.stderr_fd >= 0) ::close(worker.stderr_fd);
    }
    throw Error(message);
  };

  for (int rank = 0; rank < nproc; ++rank) {
    Worker& worker = workers[static_cast<std::size_t>(rank)];
    worker.rank = rank;
    std::vector<char*> envp = pointers_to(plan.env_storage[static_cast<std::size_t>(rank)]);
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) abandon("cannot create a pipe for worker stderr: " + errno_text());
    const pid_t pid = ::fork();
    if (pid < 0) {
      const std::string reason = errno_text();
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      abandon("cannot fork worker " + std::to_string(rank) + ": " + reason);
    }
    if (pid == 0) {
      // Child: only async-signal-safe calls until execve.
      ::dup2(pipe_fds[1], STDERR_FILENO);  // the duplicate does not inherit O_CLOEXEC
      struct sigaction default_action {};
      default_action.sa_handler = SIG_DFL;
      ::sigaction(SIGINT, &default_action, nullptr);
      ::sigaction(SIGTERM, &default_action, nullptr);
      // A launcher killed with SIGKILL cannot stop its workers; the kernel does it instead.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher_pid) ::_exit(1);
      ::execve(argv[0], argv.data(), envp.data());
      const char message[] = "launch_local_workers: execve failed\n";
      [[maybe_unused]] const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof(message) - 1);
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    ::fcntl(pipe_fds[0], F_SETFL, ::fcntl(pipe_fds[0], F_GETFL) | O_NONBLOCK);
    worker.pid = pid;
    worker.stderr_fd = pipe_fds[0];
    worker.running = true;
  }

  constexpr auto kGracePeriod = std::chrono::seconds(5);
  int result = 0;
  std::optional<Clock::time_point> kill_deadline;
  auto stop_all = [&](int signal_number) {
    signal_running(workers, signal_number);
    if (!kill_deadline) kill_deadline = Clock::now() + kGracePeriod;
  };

  std::size_t running = workers.size();
  while (running > 0) {
    std::vector<pollfd> watched;
    std::vector<Worker*> watched_workers;
    for (Worker& worker : workers) {
      if (worker.stderr_fd >= 0) {
        watched.push_back({worker.stderr_fd, POLLIN, 0});
        watched_workers.push_back(&worker);
      }
    }
    // The short timeout bounds how late an exit, a forwarded signal or the SIGKILL is handled.
    if (::poll(watched.data(), watched.size(), 100) > 0) {
      for (std::size_t i = 0; i < watched.size(); ++i) {
        if (watched[i].revents != 0) forward_stderr(*watched_workers[i]);
      }
    }

    if (const int signal_number = g_launcher_signal) {
      g_launcher_signal = 0;
      if (result == 0) result = 128 + signal_number;
      stop_all(signal_number);
    }

    for (Worker& worker : workers) {
      int status = 0;
      if (!worker.running || ::waitpid(worker.pid, &status, WNOHANG) != worker.pid) continue;
      worker.running = false;
      --running;
      const int code = exit_code_of(status);
      if (code != 0 && result == 0) {
        result = code;
        stop_all(SIGTERM);
      }
    }

    if (kill_deadline && Clock::now() >= *kill_deadline) signal_running(workers, SIGKILL);
  }

  // All workers are gone; write what is left in the pipes without waiting on any grandchild
  // that may still hold one open.
  for (Worker& worker : workers) {
    if (worker.stderr_fd < 0) continue;
    forward_stderr(worker);
    if (worker.stderr_fd >= 0) {
      if (!worker.partial_line.empty()) {
        write_all_fd(STDERR_FILENO, "[rank " + std::to_string(worker.rank) + "] " +
                                        worker.partial_line + "\n");
      }
      ::close(worker.stderr_fd);
    }
  }
  return result;
}

}  // namespace mert::train
