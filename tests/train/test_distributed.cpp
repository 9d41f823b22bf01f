// Data-parallel communication: c10d Gloo collectives between forked processes, DistEnv parsing
// and the local launcher (which re-runs this test binary as its workers, see
// DistributedWorker.Body).
#include "train/distributed.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mert/error.h"

namespace {

using mert::train::DistEnv;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kWorkerModeVariable = "MERT_DIST_TEST_WORKER";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot pick a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

DistEnv loopback_env(int rank, int world_size, int port) {
  DistEnv env;
  env.rank = rank;
  env.world_size = world_size;
  env.local_rank = rank;
  env.master_addr = "127.0.0.1";
  env.master_port = port;
  return env;
}

// Exit status of a child as a shell would report it; -1 when the parent had to kill it.
struct ChildResult {
  int code = -1;
  bool timed_out = false;
};

// Waits for `pids` until `hard_timeout`, then SIGKILLs the stragglers, so that a hang fails the
// test instead of blocking it.
std::vector<ChildResult> wait_children(const std::vector<pid_t>& pids,
                                       std::chrono::seconds hard_timeout) {
  std::vector<ChildResult> results(pids.size());
  std::vector<bool> done(pids.size(), false);
  const auto deadline = Clock::now() + hard_timeout;
  std::size_t remaining = pids.size();
  while (remaining > 0) {
    for (std::size_t i = 0; i < pids.size(); ++i) {
      int status = 0;
      if (done[i] || ::waitpid(pids[i], &status, WNOHANG) != pids[i]) continue;
      done[i] = true;
      --remaining;
      results[i].code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (remaining > 0 && Clock::now() >= deadline) {
      for (std::size_t i = 0; i < pids.size(); ++i) {
        if (done[i]) continue;
        ::kill(pids[i], SIGKILL);
        ::waitpid(pids[i], nullptr, 0);
        results[i].timed_out = true;
      }
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  return results;
}

// Runs body(rank) in `world_size` forked children (exit code = its return value, 99 if it
// threw) and returns their results. Children report failures on stderr and by exit code only:
// gtest assertions in a child would not reach the parent.
std::vector<ChildResult> run_ranks(int world_size, const std::function<int(int)>& body,
                                   std::chrono::seconds hard_timeout = 20s) {
  std::vector<pid_t> pids;
  for (int rank = 0; rank < world_size; ++rank) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      int code = 99;
      try {
        code = body(rank);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d threw: %s\n", rank, e.what());
      }
      ::_exit(code);
    }
    pids.push_back(pid);
  }
  return wait_children(pids, hard_timeout);
}

void expect_all_succeeded(const std::vector<ChildResult>& results) {
  for (std::size_t rank = 0; rank < results.size(); ++rank) {
    EXPECT_FALSE(results[rank].timed_out) << "rank " << rank << " hung";
    EXPECT_EQ(results[rank].code, 0) << "rank " << rank;
  }
}

int fail(int rank, const char* what, int code) {
  std::fprintf(stderr, "rank %d: %s\n", rank, what);
  return code;
}

// ---- collectives between two forked processes ----

TEST(DistributedGloo, AllReduceBroadcastBarrierGiveExactResultsOnBothRanks) {
  const int port = free_port();
  const auto results = run_ranks(2, [port](int rank) {
    auto comm = mert::train::make_communicator(loopback_env(rank, 2, port), 10s);
    if (comm->backend() != "gloo" || comm->rank() != rank || comm->world_size() != 2) {
      return fail(rank, "wrong backend/rank/world_size", 1);
    }

    const at::Tensor base = at::arange(6, at::kFloat).reshape({2, 3});
    at::Tensor matrix = base * (rank + 1);                          // sum: 3 * base
    at::Tensor vector = at::full({4}, 0.25 * (rank + 1), at::kDouble);  // sum: 0.75
    at::Tensor storage = base + 10 * rank;
    at::Tensor transposed = storage.t();  // non-contiguous view, reduced through its base
    std::vector<at::Tensor> tensors{matrix, vector, transposed};
    comm->all_reduce_sum(tensors);
    if (!at::equal(matrix, base * 3)) return fail(rank, "float matrix sum wrong", 2);
    if (!at::equal(vector, at::full({4}, 0.75, at::kDouble))) return fail(rank, "double sum wrong", 3);
    if (!at::equal(storage, base * 2 + 10)) return fail(rank, "strided view sum wrong", 4);

    std::vector<at::Tensor> none;
    comm->all_reduce_sum(none);

    at::Tensor message = at::full({5}, rank == 1 ? 7.0 : -1.0, at::kFloat);
    comm->broadcast(message, /*root=*/1);
    if (!at::equal(message, at::full({5}, 7.0, at::kFloat))) return fail(rank, "broadcast wrong", 5);

    comm->barrier();
    comm.reset();  // the group and the store must shut down without hanging
    return 0;
  });
  expect_all_succeeded(results);
}

TEST(DistributedGloo, DeadPeerMakesTheNextCollectiveThrowInsteadOfHanging) {
  const int port = free_port();
  const auto results = run_ranks(2, [port](int rank) {
    auto comm = mert::train::make_communicator(loopback_env(rank, 2, port), 3s);
    comm->barrier();
    if (rank == 1) ::_exit(0);  // dies without any goodbye, like a crash
    std::vector<at::Tensor> tensors{at::ones({8})};
    const auto start = Clock::now();
    try {
      comm->all_reduce_sum(tensors);
    } catch (const mert::Error& e) {
      const std::string message = e.what();
      if (seconds_since(start) > 9.0) return fail(rank, "error came too late", 2);
      if (message.find("rank 0 of 2") == std::string::npos ||
          message.find("all_reduce_sum") == std::string::npos ||
          message.find("a peer died or is unreachable") == std::string::npos) {
        return fail(rank, ("error does not say what failed: " + message).c_str(), 3);
      }
      return 0;
    }
    return fail(rank, "all_reduce_sum with a dead peer did not throw", 1);
  });
  expect_all_succeeded(results);
}

TEST(DistributedGloo, SilentPeerMakesTheCollectiveTimeOut) {
  const int port = free_port();
  const auto results = run_ranks(2, [port](int rank) {
    // 3 s, not 1: the same timeout bounds the rendezvous, which took over 1 s on two cores
    // busy with the rest of the suite (ctest -j2) and failed the test spuriously.
    auto comm = mert::train::make_communicator(loopback_env(rank, 2, port), 3s);
    comm->barrier();
    if (rank == 1) {
      std::this_thread::sleep_for(8s);  // alive, connected, never joins the collective
      ::_exit(0);
    }
    std::vector<at::Tensor> tensors{at::ones({8})};
    const auto start = Clock::now();
    try {
      comm->all_reduce_sum(tensors);
    } catch (const mert::Error&) {
      const double elapsed = seconds_since(start);
      if (elapsed < 2.5 || elapsed > 12.0) return fail(rank, "timeout not honoured", 2);
      comm.reset();  // the group's shutdown is bounded by the timeout too (hard limit otherwise)
      return 0;
    }
    return fail(rank, "all_reduce_sum with a silent peer did not throw", 1);
  });
  expect_all_succeeded(results);
}

TEST(DistributedGloo, RendezvousWithoutPeersThrowsWithinTheTimeout) {
  // Each process is alone: rank 0 hosts a store nobody joins, rank 1 finds no store to join.
  const int lonely_master_port = free_port();
  const int unused_port = free_port();
  const auto results = run_ranks(2, [&](int rank) {
    const auto start = Clock::now();
    try {
      mert::train::make_communicator(loopback_env(rank, 2, rank == 0 ? lonely_master_port : unused_port),
                                     2s);
    } catch (const mert::Error& e) {
      if (seconds_since(start) > 10.0) return fail(rank, "rendezvous error came too late", 2);
      if (std::string(e.what()).find("rendezvous") == std::string::npos) {
        return fail(rank, e.what(), 3);
      }
      return 0;
    }
    return fail(rank, "rendezvous without peers did not throw", 1);
  });
  expect_all_succeeded(results);
}

TEST(DistributedSingleProcess, WorldOfOneIsANoOp) {
  auto comm = mert::train::make_communicator(DistEnv{}, 1s);
  EXPECT_EQ(comm->backend(), "none");
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->world_size(), 1);
  at::Tensor values = at::arange(4, at::kFloat);
  std::vector<at::Tensor> tensors{values};
  comm->all_reduce_sum(tensors);
  EXPECT_TRUE(at::equal(values, at::arange(4, at::kFloat)));
  comm->broadcast(values, 0);
  EXPECT_TRUE(at::equal(values, at::arange(4, at::kFloat)));
  comm->barrier();
  EXPECT_THROW(comm->broadcast(values, 1), mert::Error);
}

// ---- DistEnv ----

// Sets the rendezvous variables for one test and restores the previous values afterwards.
class ScopedRendezvousEnv {
 public:
  ScopedRendezvousEnv() {
    for (const char* name : kNames) {
      const char* value = std::getenv(name);
      saved_.push_back(value ? std::optional<std::string>(value) : std::nullopt);
      ::unsetenv(name);
    }
  }
  ~ScopedRendezvousEnv() {
    for (std::size_t i = 0; i < saved_.size(); ++i) {
      if (saved_[i]) {
        ::setenv(kNames[i], saved_[i]->c_str(), 1);
      } else {
        ::unsetenv(kNames[i]);
      }
    }
  }
  void set(const char* name, const char* value) { ::setenv(name, value, 1); }

 private:
  static constexpr const char* kNames[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                           "MASTER_PORT"};
  std::vector<std::optional<std::string>> saved_;
};

TEST(DistributedEnv, AbsentVariablesGiveTheSingleProcessDefaults) {
  ScopedRendezvousEnv scoped;
  const DistEnv env = DistEnv::from_environment();
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.local_rank, 0);
  EXPECT_EQ(env.master_addr, "127.0.0.1");
  EXPECT_EQ(env.master_port, 29500);
}

TEST(DistributedEnv, ReadsTheTorchrunVariables) {
  ScopedRendezvousEnv scoped;
  scoped.set("RANK", "3");
  scoped.set("WORLD_SIZE", "8");
  scoped.set("LOCAL_RANK", "1");
  scoped.set("MASTER_ADDR", "node07");
  scoped.set("MASTER_PORT", "23456");
  const DistEnv env = DistEnv::from_environment();
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "node07");
  EXPECT_EQ(env.master_port, 23456);
}

// Expects from_environment to throw mert::Error whose message contains `mention`.
void expect_env_error(const std::vector<std::pair<const char*, const char*>>& variables,
                      const std::string& mention) {
  ScopedRendezvousEnv scoped;
  for (const auto& [name, value] : variables) scoped.set(name, value);
  try {
    DistEnv::from_environment();
    ADD_FAILURE() << "no error for " << mention;
  } catch (const mert::Error& e) {
    EXPECT_NE(std::string(e.what()).find(mention), std::string::npos) << e.what();
  }
}

TEST(DistributedEnv, RejectsMalformedOrInconsistentValues) {
  expect_env_error({{"RANK", "abc"}, {"WORLD_SIZE", "2"}}, "RANK=\"abc\"");
  expect_env_error({{"RANK", "1x"}, {"WORLD_SIZE", "2"}}, "RANK=\"1x\"");
  expect_env_error({{"WORLD_SIZE", ""}}, "WORLD_SIZE=\"\"");
  expect_env_error({{"RANK", "2"}, {"WORLD_SIZE", "2"}}, "RANK=2");
  expect_env_error({{"RANK", "1"}}, "RANK=1");  // WORLD_SIZE absent means 1
  expect_env_error({{"RANK", "-1"}, {"WORLD_SIZE", "2"}}, "RANK=-1");
  expect_env_error({{"WORLD_SIZE", "0"}}, "WORLD_SIZE=0");
  expect_env_error({{"LOCAL_RANK", "4"}, {"WORLD_SIZE", "2"}}, "LOCAL_RANK=4");
  expect_env_error({{"MASTER_PORT", "70000"}}, "MASTER_PORT=70000");
  expect_env_error({{"MASTER_PORT", "0"}}, "MASTER_PORT=0");
  expect_env_error({{"MASTER_PORT", "99999999999"}}, "MASTER_PORT=\"99999999999\"");
  expect_env_error({{"MASTER_ADDR", ""}}, "MASTER_ADDR");
}

// ---- launcher ----

// The launcher re-runs this binary with --gtest_filter=DistributedWorker.Body; the mode in
// MERT_DIST_TEST_WORKER says what the worker does. Outside the launcher it is skipped.
TEST(DistributedWorker, Body) {
  const char* mode_text = std::getenv(kWorkerModeVariable);
  if (!mode_text) GTEST_SKIP() << "runs only as a worker of the launcher tests";
  const std::string mode = mode_text;
  const DistEnv env = DistEnv::from_environment();
  ASSERT_EQ(env.world_size, 2);
  ASSERT_EQ(env.local_rank, env.rank);
  ASSERT_EQ(env.master_addr, "127.0.0.1");

  if (mode == "allreduce") {
    auto comm = mert::train::make_communicator(env, 10s);
    at::Tensor value = at::full({3}, double(env.rank + 1), at::kFloat);
    std::vector<at::Tensor> tensors{value};
    comm->all_reduce_sum(tensors);
    EXPECT_TRUE(at::equal(value, at::full({3}, 3.0, at::kFloat)));
    comm.reset();  // before the last stderr text, so nothing can follow the partial line
    std::printf("stdout of worker %d\n", env.rank);
    std::fflush(stdout);
    std::fprintf(stderr, "worker %d reduced\npartial line without newline", env.rank);
  } else if (mode == "fail") {
    if (env.rank == 1) std::_Exit(3);
    std::this_thread::sleep_for(30s);  // must be terminated by the launcher
  } else if (mode == "stubborn") {
    if (env.rank == 0) std::signal(SIGTERM, SIG_IGN);
    try {
      // Rank 1 fails only once rank 0 ignores SIGTERM.
      auto comm = mert::train::make_communicator(env, 10s);
      comm->barrier();
    } catch (const mert::Error&) {
    }
    if (env.rank == 1) std::_Exit(3);
    std::this_thread::sleep_for(30s);  // only SIGKILL ends this
  } else if (mode == "sleep") {
    std::fprintf(stderr, "ready pid=%d\n", static_cast<int>(::getpid()));
    std::this_thread::sleep_for(30s);
  } else {
    FAIL() << "unknown " << kWorkerModeVariable << "=" << mode;
  }
}

class DistributedLauncher : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mert_dist_launcher_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Forks a child that runs launch_local_workers(2, ...) on this binary in `mode`, with its
  // stdout/stderr redirected to files in the temporary directory; the child exits with the
  // launcher's return code (200 if it threw).
  pid_t start_launcher(const std::string& mode) {
    const std::string out_path = (dir_ / "stdout.txt").string();
    const std::string err_path = (dir_ / "stderr.txt").string();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid != 0) return pid;
    ::setenv(kWorkerModeVariable, mode.c_str(), 1);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) ::_exit(201);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    int code = 200;
    try {
      code = mert::train::launch_local_workers(
          2, {"--gtest_filter=DistributedWorker.Body", "--gtest_brief=1"}, 0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "launcher threw: %s\n", e.what());
    }
    ::_exit(code);
  }

  std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::filesystem::path dir_;
};

TEST_F(DistributedLauncher, WorkersRendezvousAndPrefixTheirStderr) {
  const auto results = wait_children({start_launcher("allreduce")}, 20s);
  ASSERT_FALSE(results[0].timed_out);
  const std::string err = read("stderr.txt");
  const std::string out = read("stdout.txt");
  EXPECT_EQ(results[0].code, 0) << err << out;
  for (const std::string rank : {"0", "1"}) {
    EXPECT_NE(err.find("[rank " + rank + "] worker " + rank + " reduced\n"), std::string::npos) << err;
    EXPECT_NE(err.find("[rank " + rank + "] partial line without newline\n"), std::string::npos) << err;
    EXPECT_NE(out.find("stdout of worker " + rank + "\n"), std::string::npos) << out;
  }
  EXPECT_EQ(out.find("[rank"), std::string::npos) << "stdout passes through unprefixed: " << out;
}

TEST_F(DistributedLauncher, FailingWorkerStopsTheOthersAndGivesItsExitCode) {
  const auto start = Clock::now();
  const auto results = wait_children({start_launcher("fail")}, 20s);
  ASSERT_FALSE(results[0].timed_out);
  EXPECT_EQ(results[0].code, 3) << read("stderr.txt");
  EXPECT_LT(seconds_since(start), 10.0);  // rank 0 would sleep 30 s if not terminated
}

TEST_F(DistributedLauncher, WorkerIgnoringSigtermIsKilledAfterTheGracePeriod) {
  const auto start = Clock::now();
  const auto results = wait_children({start_launcher("stubborn")}, 20s);
  ASSERT_FALSE(results[0].timed_out);
  EXPECT_EQ(results[0].code, 3) << read("stderr.txt");
  const double elapsed = seconds_since(start);
  EXPECT_GT(elapsed, 4.5);  // the ~5 s grace period was granted
  EXPECT_LT(elapsed, 15.0);
}

TEST_F(DistributedLauncher, SigtermToTheLauncherReachesTheWorkers) {
  const pid_t launcher = start_launcher("sleep");
  // Wait until both workers report their pid.
  std::vector<int> worker_pids;
  const auto deadline = Clock::now() + 15s;
  while (worker_pids.size() < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    worker_pids.clear();
    std::istringstream lines(read("stderr.txt"));
    for (std::string line; std::getline(lines, line);) {
      int rank = -1;
      int pid = -1;
      if (std::sscanf(line.c_str(), "[rank %d] ready pid=%d", &rank, &pid) == 2) {
        worker_pids.push_back(pid);
      }
    }
  }
  ::kill(launcher, SIGTERM);
  const auto results = wait_children({launcher}, 15s);
  ASSERT_EQ(worker_pids.size(), 2u) << read("stderr.txt");
  ASSERT_FALSE(results[0].timed_out);
  EXPECT_EQ(results[0].code, 128 + SIGTERM);
  for (const int pid : worker_pids) {
    EXPECT_EQ(::kill(pid, 0), -1) << "worker " << pid << " still exists";
  }
}

}  // namespace
