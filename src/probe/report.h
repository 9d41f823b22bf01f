#pragma once
// What a probe run leaves for people and programs: results.md (a readable table), sweep.csv
// (every sweep point), layer_curve.svg (validation and test metric per layer) and, over several
// tasks, the suite summary with a MARBLE-style average.
#include <string>
#include <vector>

#include "probe/probe.h"

namespace mert::probe {

std::string layer_label(int layer);  // "7", or "wsum" for the weighted sum

// The best point of each layer (by validation), in layer order (weighted sum last).
std::vector<PointResult> best_per_layer(const std::vector<PointResult>& points);

void write_sweep_csv(const std::string& path, const TaskSpec& task, const std::vector<PointResult>& points);
void write_layer_curve_svg(const std::string& path, const TaskSpec& task, const std::string& source,
                           const std::vector<PointResult>& points, const PointResult& chosen);
void write_results_md(const std::string& path, const TaskSpec& task, const std::string& source,
                      const std::string& summary, const std::vector<PointResult>& points, const PointResult& chosen,
                      double score);
// summary.md and summary.json of a suite.
void write_suite_summary(const std::string& dir, const std::vector<ProbeReport>& reports, const std::string& source);

}  // namespace mert::probe
