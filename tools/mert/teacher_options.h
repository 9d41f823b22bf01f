#pragma once
// Options shared by `mert features` and `mert label`: teacher parameters and the model frame grid
// (input lists and job counts: input_options.h).
#include <string>

#include "args.h"
#include "input_options.h"
#include "mert/teacher_features.h"

namespace mert::cli {

// Declares --params, --model, --jobs on `args`.
void declare_teacher_options(Args& args);
// --params: a JSON file or inline JSON object overriding the defaults (layout in docs/TEACHERS.md).
TeacherParams teacher_params_from(const Args& args);
// --model: take the conv stack (hence frame grid) from a model dir's config.json; default MERT's.
ModelGrid model_grid_from(const Args& args);

}  // namespace mert::cli
