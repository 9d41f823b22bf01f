#include "probe/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/atomic_file.h"

namespace mert::probe {
namespace {


std::string num(double v, const char* fmt = "%.4f") {
  if (!std::isfinite(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// Layers in curve order: hidden states ascending, the weighted sum last.
bool layer_before(int a, int b) {
  if (a == kWeightedSum) return false;
  if (b == kWeightedSum) return true;
  return a < b;
}

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else o += c;
  }
  return o;
}

}  // namespace

std::string layer_label(int layer) { return layer == kWeightedSum ? "wsum" : std::to_string(layer); }

std::vector<PointResult> best_per_layer(const std::vector<PointResult>& points) {
  std::map<int, PointResult> best;  // ties: the first in sweep order
  for (const auto& p : points) {
    auto it = best.find(p.layer);
    if (it == best.end() || p.valid > it->second.valid) best[p.layer] = p;
  }
  std::vector<PointResult> out;
  for (auto& kv : best) out.push_back(kv.second);
  std::sort(out.begin(), out.end(), [](const PointResult& a, const PointResult& b) { return layer_before(a.layer, b.layer); });
  return out;
}

void write_sweep_csv(const std::string& path, const TaskSpec& task, const std::vector<PointResult>& points) {
  std::vector<std::string> names;
  if (!points.empty())
    for (const auto& kv : points.front().test) names.push_back(kv.first);
  std::ostringstream os;
  os << "lr,layer,valid_" << task.monitor << ",best_epoch,epochs,train_sec";
  for (const auto& n : names) os << ",test_" << n;
  os << "\n";
  for (const auto& p : points) {
    os << num(p.lr, "%g") << "," << layer_label(p.layer) << "," << num(p.valid, "%.6f") << "," << p.best_epoch << ","
       << p.epochs << "," << num(p.train_sec, "%.2f");
    for (const auto& n : names) os << "," << num(p.test.count(n) ? p.test.at(n) : NAN, "%.6f");
    os << "\n";
  }
  io::write_text_atomic(path, os.str());
}

void write_layer_curve_svg(const std::string& path, const TaskSpec& task, const std::string& source,
                           const std::vector<PointResult>& points, const PointResult& chosen) {
  const auto curve = best_per_layer(points);
  const std::string metric = task.monitor;
  const double W = 720, H = 400, L = 70, R = 150, T = 50, B = 60;
  const double pw = W - L - R, ph = H - T - B;
  double lo = 1e300, hi = -1e300;
  for (const auto& p : curve) {
    for (double v : {p.valid, p.test.count(metric) ? p.test.at(metric) : NAN})
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (!(lo <= hi)) lo = 0, hi = 1;
  const double pad = std::max(0.02, (hi - lo) * 0.1);
  lo -= pad, hi += pad;
  const size_t n = curve.size();
  auto xpos = [&](size_t i) { return L + (n > 1 ? pw * static_cast<double>(i) / static_cast<double>(n - 1) : pw / 2); };
  auto ypos = [&](double v) { return T + ph * (1 - (v - lo) / (hi - lo)); };
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << L << "\" y=\"22\" font-size=\"15\">" << xml_escape(task.name) << ": " << metric
    << " per layer (best learning rate of each layer)</text>\n"
    << "<text x=\"" << L << "\" y=\"38\" fill=\"#555\">"
    << xml_escape(source.size() > 95 ? source.substr(0, 92) + "..." : source) << "</text>\n";
  // Axes and grid.
  for (int k = 0; k <= 5; ++k) {
    const double v = lo + (hi - lo) * k / 5.0, y = ypos(v);
    s << "<line x1=\"" << L << "\" x2=\"" << L + pw << "\" y1=\"" << y << "\" y2=\"" << y << "\" stroke=\"#ddd\"/>\n"
      << "<text x=\"" << L - 8 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << num(v, "%.3f") << "</text>\n";
  }
  s << "<line x1=\"" << L << "\" x2=\"" << L << "\" y1=\"" << T << "\" y2=\"" << T + ph << "\" stroke=\"black\"/>\n"
    << "<line x1=\"" << L << "\" x2=\"" << L + pw << "\" y1=\"" << T + ph << "\" y2=\"" << T + ph << "\" stroke=\"black\"/>\n";
  for (size_t i = 0; i < n; ++i)
    s << "<text x=\"" << xpos(i) << "\" y=\"" << T + ph + 18 << "\" text-anchor=\"middle\">" << layer_label(curve[i].layer) << "</text>\n";
  s << "<text x=\"" << L + pw / 2 << "\" y=\"" << H - 15 << "\" text-anchor=\"middle\">layer (hidden state; wsum = learned weighted sum of 1..L)</text>\n";
  // The two curves.
  const struct {
    const char* name;
    const char* colour;
    const char* dash;
    bool test;
  } lines[] = {{"validation", "#1f77b4", "", false}, {"test", "#d62728", "6,4", true}};
  for (const auto& ln : lines) {
    std::ostringstream pts;
    for (size_t i = 0; i < n; ++i) {
      const double v = ln.test ? (curve[i].test.count(metric) ? curve[i].test.at(metric) : NAN) : curve[i].valid;
      if (!std::isfinite(v)) continue;
      pts << xpos(i) << "," << ypos(v) << " ";
      s << "<circle cx=\"" << xpos(i) << "\" cy=\"" << ypos(v) << "\" r=\"3.5\" fill=\"" << ln.colour << "\"/>\n";
    }
    s << "<polyline points=\"" << pts.str() << "\" fill=\"none\" stroke=\"" << ln.colour << "\" stroke-width=\"2\""
      << (*ln.dash ? std::string(" stroke-dasharray=\"") + ln.dash + "\"" : std::string()) << "/>\n";
  }
  // The chosen point.
  for (size_t i = 0; i < n; ++i)
    if (curve[i].layer == chosen.layer)
      s << "<circle cx=\"" << xpos(i) << "\" cy=\"" << ypos(chosen.valid) << "\" r=\"8\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>\n";
  const double lx = L + pw + 15;
  s << "<line x1=\"" << lx << "\" x2=\"" << lx + 25 << "\" y1=\"" << T + 10 << "\" y2=\"" << T + 10 << "\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
    << "<text x=\"" << lx + 30 << "\" y=\"" << T + 14 << "\">validation</text>\n"
    << "<line x1=\"" << lx << "\" x2=\"" << lx + 25 << "\" y1=\"" << T + 30 << "\" y2=\"" << T + 30 << "\" stroke=\"#d62728\" stroke-width=\"2\" stroke-dasharray=\"6,4\"/>"
    << "<text x=\"" << lx + 30 << "\" y=\"" << T + 34 << "\">test</text>\n"
    << "<circle cx=\"" << lx + 12 << "\" cy=\"" << T + 50 << "\" r=\"7\" fill=\"none\" stroke=\"black\"/>"
    << "<text x=\"" << lx + 30 << "\" y=\"" << T + 54 << "\">chosen</text>\n"
    << "<text x=\"" << lx << "\" y=\"" << T + 74 << "\">lr " << num(chosen.lr, "%g") << ", layer " << layer_label(chosen.layer) << "</text>\n"
    << "</svg>\n";
  io::write_text_atomic(path, s.str());
}

void write_results_md(const std::string& path, const TaskSpec& task, const std::string& source,
                      const std::string& summary, const std::vector<PointResult>& points, const PointResult& chosen,
                      double score) {
  std::ostringstream os;
  os << "# Probe: " << task.name << "\n\n" << task.summary << "\n\n"
     << "- features: " << source << "\n" << summary
     << "- chosen by validation " << task.monitor << ": lr " << num(chosen.lr, "%g") << ", layer "
     << layer_label(chosen.layer) << " (valid " << num(chosen.valid) << ", best epoch " << chosen.best_epoch << " of "
     << chosen.epochs << ")" << (chosen.key_strategy.empty() ? "" : ", clip ensemble " + chosen.key_strategy) << "\n"
     << "- score (MARBLE-style, " << (task.score_scale == 100 ? "x100" : "dB") << "): **" << num(score, "%.2f") << "**\n\n"
     << "## Test metrics of the chosen point\n\n| metric | value |\n|---|---|\n";
  for (const auto& kv : chosen.test) os << "| " << kv.first << " | " << num(kv.second, "%.6f") << " |\n";
  os << "\n## Per layer (best learning rate by validation)\n\n| layer | lr | valid " << task.monitor << " | test "
     << task.monitor << " |\n|---|---|---|---|\n";
  for (const auto& p : best_per_layer(points))
    os << "| " << layer_label(p.layer) << (p.layer == chosen.layer ? " (chosen)" : "") << " | " << num(p.lr, "%g") << " | "
       << num(p.valid) << " | " << num(p.test.count(task.monitor) ? p.test.at(task.monitor) : NAN) << " |\n";
  os << "\nEvery point: sweep.csv. Plot: layer_curve.svg. Predictions: test_scores.npy, test_targets.npy, test_ids.txt.\n";
  io::write_text_atomic(path, os.str());
}

void write_suite_summary(const std::string& dir, const std::vector<ProbeReport>& reports, const std::string& source) {
  std::ostringstream md;
  nlohmann::ordered_json j;
  j["features"] = source;
  md << "# Probe suite\n\nfeatures: " << source << "\n\n| task | chosen lr | layer | test metrics | score |\n|---|---|---|---|---|\n";
  double sum = 0;
  for (const auto& r : reports) {
    std::string metrics;
    for (const auto& kv : r.chosen.test)
      if (kv.first != "skipped_classes") metrics += (metrics.empty() ? "" : ", ") + kv.first + " " + num(kv.second);
    md << "| " << r.task << " | " << num(r.chosen.lr, "%g") << " | " << layer_label(r.chosen.layer) << " | " << metrics
       << " | " << num(r.score, "%.2f") << " |\n";
    sum += r.score;
    nlohmann::ordered_json t;
    t["task"] = r.task;
    t["score"] = r.score;
    t["lr"] = r.chosen.lr;
    t["layer"] = layer_label(r.chosen.layer);
    t["test"] = r.chosen.test;
    t["results"] = r.results_json_path;
    j["tasks"].push_back(t);
  }
  const double avg = reports.empty() ? 0 : sum / static_cast<double>(reports.size());
  md << "| **average** | | | | **" << num(avg, "%.2f") << "** |\n\n"
     << "Score per task: the mean of its test metrics x100 as MARBLE averages them (accuracy; ROC-AUC and AP;\n"
     << "mean R2; key weighted score; beat F; chord majmin; SDR in dB, not x100); the average is the mean over tasks (docs/PROBE.md).\n";
  j["average"] = avg;
  io::write_text_atomic(dir + "/summary.md", md.str());
  io::write_text_atomic(dir + "/summary.json", j.dump(2) + "\n");
}

}  // namespace mert::probe
