#pragma once
// tg::save / tg::load: checkpoints of state dicts in the safetensors format. Needs
// nlohmann-json (header-only; Debian: nlohmann-json3-dev) besides Eigen; the tensor,
// nn and optim headers do not include this one.
//
//   tg::save(model.state_dict(), "model.safetensors");
//   model.load_state_dict(tg::load<float>("model.safetensors"));

#include "io/state_dict.hpp"
#include "io/safetensors.hpp"
