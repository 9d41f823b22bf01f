// `mert label apply`: fairseq/HuBERT label files for a manifest, one line per entry, one int per
// model frame. Work is split into blocks of entries; each finished block is a part file, so a
// killed or sharded run resumes block by block. When every part exists, the label files are
// assembled (under a lock, so concurrent shards assemble once) and the parts removed.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "mert/audio.h"
#include "mert/error.h"
#include "teachers/teacher_runs.h"
#include "util/ordered_pool.h"
#include "util/file_hash.h"

namespace fs = std::filesystem;

namespace mert {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Layout {
  int64_t entries, block, blocks;
  int64_t first(int64_t b) const { return b * block; }
  int64_t count(int64_t b) const { return std::min(block, entries - b * block); }
};

std::string part_path(const std::string& dir, int64_t b) { return (fs::path(dir) / ("part-" + std::to_string(b) + ".txt")).string(); }

void write_part(const std::string& path, int64_t first, const std::vector<EntryLabels>& labels, size_t streams) {
  std::string text = "# mert label part: first " + std::to_string(first) + " count " + std::to_string(labels.size()) +
                     " streams " + std::to_string(streams) + "\n";
  for (size_t s = 0; s < streams; ++s)
    for (const auto& e : labels) {
      const auto& v = e[s];
      for (size_t t = 0; t < v.size(); ++t) {
        if (t) text += ' ';
        text += std::to_string(v[t]);
      }
      text += '\n';
    }
  io::remove_stale_temps(path);
  io::write_text_atomic(path, text);
}

// Lines of stream s from a part file (checked against the expected layout).
std::vector<std::string> read_part_stream(const std::string& path, int64_t first, int64_t count, size_t streams,
                                          size_t s) {
  std::ifstream in(path);
  std::string header;
  if (!in || !std::getline(in, header)) throw Error(path + ": cannot read label part");
  const std::string want = "# mert label part: first " + std::to_string(first) + " count " + std::to_string(count) +
                           " streams " + std::to_string(streams);
  if (header != want) throw Error(path + ": unexpected label part header '" + header + "' (expected '" + want + "')");
  std::vector<std::string> lines;
  std::string line;
  for (size_t k = 0; k < streams * static_cast<size_t>(count) && std::getline(in, line); ++k)
    if (k / static_cast<size_t>(count) == s) lines.push_back(line);
  if (static_cast<int64_t>(lines.size()) != count) throw Error(path + ": truncated label part");
  return lines;
}

class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_CREAT | O_RDWR, 0644);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) throw Error(path + ": cannot lock");
  }
  ~FileLock() {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }
  }

 private:
  int fd_ = -1;
};
}  // namespace

std::vector<EntryLabels> Labeler::label_batch(const std::vector<const std::vector<float>*>& files,
                                              const ModelGrid& grid, int worker) {
  std::vector<EntryLabels> out;
  for (const auto* f : files) out.push_back(label(*f, grid, worker));
  return out;
}

LabelApplyStats apply_labels(Labeler& teacher, const Manifest& m, const LabelApplyOptions& o, RunObserver& obs) {
  if (o.name.empty() || o.name.find('/') != std::string::npos || o.name.find('.') != std::string::npos)
    throw Error("the label name must be a plain word such as km (got '" + o.name + "')");
  if (o.block_entries < 1) throw Error("block size must be >= 1");
  const std::vector<std::string> names = teacher.stream_names(o.name);
  const std::vector<int64_t> vocab = teacher.vocab_sizes();
  const size_t streams = names.size();
  const double sample_rate = static_cast<double>(teacher.sample_rate());

  std::error_code ec;
  fs::create_directories(o.label_dir, ec);
  if (ec || !fs::is_directory(o.label_dir)) throw Error("cannot create label dir '" + o.label_dir + "'");
  const std::string split = m.split();
  const std::string parts_dir = (fs::path(o.label_dir) / ".mert-parts" / (split + "." + o.name)).string();
  fs::create_directories(parts_dir, ec);
  if (ec) throw Error("cannot create '" + parts_dir + "'");

  nlohmann::ordered_json settings;
  settings["format"] = "mert-labels/2";
  settings["teacher"] = fs::absolute(teacher.teacher_path()).lexically_normal().string();
  settings["teacher_identity"] = nlohmann::ordered_json::parse(teacher.identity_json());
  settings["manifest_fingerprint"] = util::file_fingerprint(m.path);
  settings["names"] = names;
  settings["block_entries"] = o.block_entries;
  settings["conv_kernel"] = o.grid.conv_kernel;
  settings["conv_stride"] = o.grid.conv_stride;
  io::check_and_record_settings((fs::path(parts_dir) / "settings.json").string(), settings.dump(2) + "\n",
                                o.overwrite, {"teacher"}, o.label_dir + " (" + split + "." + o.name + ")");

  std::vector<std::string> finals;
  for (const auto& n : names) finals.push_back((fs::path(o.label_dir) / (split + "." + n)).string());
  LabelApplyStats st;
  st.entries = static_cast<int64_t>(m.entries.size());
  st.outputs = finals;
  auto all_final = [&] {
    for (const auto& f : finals)
      if (!fs::exists(f)) return false;
    return true;
  };
  if (o.overwrite) {
    for (const auto& f : finals) fs::remove(f, ec);
  } else if (all_final()) {
    st.skipped = st.entries;
    st.complete = true;
    return st;
  }

  const Layout L{st.entries, o.block_entries, (st.entries + o.block_entries - 1) / o.block_entries};
  // Entries of this shard's unfinished blocks, in manifest order.
  std::vector<int64_t> todo_blocks;
  for (int64_t b = 0; b < L.blocks; ++b) {
    if (b % o.shard_count != o.shard_index) continue;
    if (!o.overwrite && fs::exists(part_path(parts_dir, b))) {
      st.skipped += L.count(b);
      continue;
    }
    todo_blocks.push_back(b);
  }
  std::vector<int64_t> todo;
  for (int64_t b : todo_blocks)
    for (int64_t e = L.first(b); e < L.first(b) + L.count(b); ++e) todo.push_back(e);

  const int jobs = std::max(1, o.jobs);
  // A worker takes a group of consecutive entries: it decodes them and hands the readable ones to
  // the teacher together. A group has at most batch_files() entries, at most an even split of the
  // work over the jobs (so that a short run keeps every job busy), and at most group_audio_sec of
  // audio by the manifest unless it is a single entry (so that long files do not multiply the
  // memory of their decoded audio by the batch).
  const auto batch = std::min(static_cast<size_t>(std::max<int64_t>(1, teacher.batch_files())),
                              std::max<size_t>(1, (todo.size() + static_cast<size_t>(jobs) - 1) / static_cast<size_t>(jobs)));
  const auto group_samples = static_cast<int64_t>(o.group_audio_sec * sample_rate);
  std::vector<size_t> group_start;  // into todo; one past the last group's end at the back
  for (size_t k = 0; k < todo.size();) {
    group_start.push_back(k);
    int64_t samples = m.entries[static_cast<size_t>(todo[k])].n_samples;
    for (++k; k < todo.size() && k - group_start.back() < batch; ++k) {
      samples += m.entries[static_cast<size_t>(todo[k])].n_samples;
      if (samples > group_samples) break;
    }
  }
  const size_t groups = group_start.size();
  group_start.push_back(todo.size());
  using Group = std::vector<Outcome<EntryLabels>>;
  auto check_labels = [&](size_t e, const EntryLabels& labels) {
    const int64_t n = m.entries[e].n_samples;
    for (const auto& stream : labels)
      if (static_cast<int64_t>(stream.size()) != o.grid.frames(n))
        throw Error(m.audio_path(e) + ": the teacher gave " + std::to_string(stream.size()) + " labels for " +
                    std::to_string(o.grid.frames(n)) + " model frames");
  };
  std::function<Group(size_t, int)> work = [&](size_t g, int w) {
    const size_t first = group_start[g];
    Group out(group_start[g + 1] - first);
    std::vector<std::vector<float>> audio;
    std::vector<size_t> decoded;  // indexes into out
    for (size_t i = 0; i < out.size(); ++i) {
      const size_t e = static_cast<size_t>(todo[first + i]);
      const std::string path = m.audio_path(e);
      try {
        Audio a = decode_audio(path, teacher.sample_rate());
        const int64_t n = static_cast<int64_t>(a.samples.size());
        if (n != m.entries[e].n_samples)
          throw Error(path + ": the manifest says " + std::to_string(m.entries[e].n_samples) +
                      " samples but the file has " + std::to_string(n) + " at " + std::to_string(teacher.sample_rate()) +
                      " Hz; regenerate the manifest so labels line up with what training reads");
        audio.push_back(std::move(a.samples));
        decoded.push_back(i);
      } catch (const std::exception& ex) {
        out[i].error = ex.what();
      }
    }
    // One batch for all readable files; if the teacher refuses it, one call per file, so that
    // only the file it refuses fails.
    auto keep = [&](size_t k, const std::function<EntryLabels()>& labels) {
      const size_t i = decoded[k];
      try {
        EntryLabels l = labels();
        check_labels(static_cast<size_t>(todo[first + i]), l);
        out[i].value = std::move(l);
      } catch (const std::exception& ex) {
        out[i].error = ex.what();
      }
    };
    std::optional<std::vector<EntryLabels>> batch_labels;
    if (decoded.size() > 1) try {
        std::vector<const std::vector<float>*> files;
        for (const auto& a : audio) files.push_back(&a);
        batch_labels = teacher.label_batch(files, o.grid, w);
      } catch (const std::exception&) {
      }
    for (size_t k = 0; k < decoded.size(); ++k)
      keep(k, [&] { return batch_labels ? std::move((*batch_labels)[k]) : teacher.label_batch({&audio[k]}, o.grid, w)[0]; });
    return out;
  };

  std::vector<std::pair<std::string, std::string>> failures;
  const std::string fail_path = io::failures_path(o.label_dir, o.shard_index, o.shard_count);
  std::vector<EntryLabels> block_labels;
  bool block_failed = false;
  const auto t0 = Clock::now();
  obs.on_start(todo.size());
  auto consume_entry = [&](size_t k, Outcome<EntryLabels>& out) {
    const int64_t e = todo[k];
    const int64_t b = e / L.block;
    FileEvent ev;
    ev.path = m.audio_path(static_cast<size_t>(e));
    if (!out.error.empty()) {
      ev.kind = FileEvent::Kind::Failed;
      ev.reason = out.error;
      if (ev.reason.rfind(ev.path + ": ", 0) == 0) ev.reason = ev.reason.substr(ev.path.size() + 2);
      failures.emplace_back(ev.path, ev.reason);
      io::write_failures(fail_path, failures);
      block_failed = true;
      ++st.failed;
    } else {
      ev.kind = FileEvent::Kind::Ok;
      ev.audio_sec = static_cast<double>(m.entries[static_cast<size_t>(e)].n_samples) / sample_rate;
      ev.shape = {static_cast<int64_t>((*out.value)[0].size())};
      st.audio_sec += ev.audio_sec;
      ++st.computed;
      block_labels.push_back(std::move(*out.value));
    }
    obs.on_file(ev);
    if (e == L.first(b) + L.count(b) - 1) {  // last entry of its block
      if (!block_failed) write_part(part_path(parts_dir, b), L.first(b), block_labels, streams);
      block_labels.clear();
      block_failed = false;
    }
  };
  std::function<bool(size_t, Outcome<Group>&)> consume = [&](size_t g, Outcome<Group>& out) {
    if (!out.error.empty()) throw Error(out.error);  // only output errors escape a group's work
    for (size_t i = 0; i < out.value->size(); ++i) consume_entry(group_start[g] + i, (*out.value)[i]);
    return true;
  };
  run_ordered<Group>(groups, jobs, work, consume);
  st.compute_sec = seconds_since(t0);
  if (failures.empty() && fs::exists(fail_path)) fs::remove(fail_path, ec);

  // Assemble once every block of every shard is done.
  for (int64_t b = 0; b < L.blocks; ++b)
    if (!fs::exists(part_path(parts_dir, b))) {
      st.complete = all_final();  // parts gone but labels there: another shard assembled them
      return st;
    }
  FileLock lock((fs::path(parts_dir) / "assemble.lock").string());
  bool parts_left = L.blocks == 0 || fs::exists(part_path(parts_dir, 0));
  if (!parts_left && all_final()) {  // another shard assembled them while we waited
    st.complete = true;
    return st;
  }
  for (size_t s = 0; s < streams; ++s) {
    const int64_t classes = vocab[s];
    const std::string dict = (fs::path(o.label_dir) / ("dict." + names[s] + ".txt")).string();
    io::write_file_atomic(dict, [&](std::FILE* f) {
      for (int64_t i = 0; i < classes; ++i) std::fprintf(f, "%lld 1\n", static_cast<long long>(i));
    });
  }
  for (size_t s = 0; s < streams; ++s) {
    io::write_file_atomic(finals[s], [&](std::FILE* f) {
      for (int64_t b = 0; b < L.blocks; ++b)
        for (const auto& line : read_part_stream(part_path(parts_dir, b), L.first(b), L.count(b), streams, s)) {
          io::write_all(f, line.data(), line.size(), finals[s]);
          io::write_all(f, "\n", 1, finals[s]);
        }
    });
  }
  for (int64_t b = 0; b < L.blocks; ++b) fs::remove(part_path(parts_dir, b), ec);
  st.complete = true;
  return st;
}

}  // namespace mert
