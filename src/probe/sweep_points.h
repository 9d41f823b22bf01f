#pragma once
// A probe sweep's points on disk and their selection, shared by the clip-level and frame-level
// runs: each point's name (`lr<lr>_layer<layer>`), its JSON record in points/, and the choice of
// the point best on validation.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "probe/probe.h"

namespace mert::probe {

std::string read_text(const std::string& path);  // the whole file ("" when it cannot be read)
std::string point_name(double lr, int layer);     // "lr0.001_layer7", "lr0.001_layerwsum"
nlohmann::ordered_json point_json(const PointResult& p);
PointResult point_from_json(const nlohmann::json& j);  // marks the point as resumed
// The task's MARBLE-style score: the mean of its score_metrics in `test`, times score_scale
// (x100; SDR stays in dB).
double task_score(const TaskSpec& task, const std::map<std::string, double>& test);
// The point with the best validation monitor; ties go to the first in sweep order.
PointResult choose_point(const std::vector<PointResult>& points);
const char* task_type_name(TaskType t);  // "multiclass", ..., "beat", "chords", "stems"

// The settings every sweep records (probe-settings.json; a rerun with others is refused):
// format, task, features, cache dir, seed, batch, hidden width, dropout, epochs.
nlohmann::ordered_json sweep_settings(const std::string& format, const TaskSpec& task, const std::string& source,
                                      const std::string& cache_dir, const ProbeOptions& o, int max_epochs);

// Runs fn(k) for k in [0, count) on `jobs` threads (the caller's among them), each with one
// libtorch thread: heads train single-threaded, so a head's numbers do not depend on how many
// train at once. The caller's thread count is restored however it ends.
void train_heads_at_once(size_t count, int jobs, const std::function<void(size_t)>& fn);

}  // namespace mert::probe
