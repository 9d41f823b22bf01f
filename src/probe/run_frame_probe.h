#pragma once
// `mert probe` for frame-level tasks (beat tracking, chords): run_probe hands them here.
#include "probe/probe.h"

namespace mert::probe {

// As run_probe: reads the data, caches the frames the sweep needs, trains one frame head per
// (lr, layer) — a layer's features loaded once for all its learning rates — chooses by
// validation and writes results.json, results.md, sweep.csv, layer_curve.svg, and the chosen
// point's test estimates (test_estimates/) beside the references (test_reference/) as
// `mert metrics beat|chord` reads them. `o.lrs` is already resolved.
ProbeReport run_frame_probe(const TaskSpec& task, const ProbeOptions& o, ProbeObserver& obs);

}  // namespace mert::probe
