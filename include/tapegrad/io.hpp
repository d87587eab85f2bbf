#pragma once
// tg::save / tg::load: checkpoints of state dicts in the safetensors format. Needs
// nlohmann-json (header-only; Debian: nlohmann-json3-dev) besides Eigen; the tensor,
// nn and optim headers do not include this one.
//
//   tg::save(model.state_dict(), "model.safetensors");
//   model.load_state_dict(tg::load<float>("model.safetensors"));
//
// NumPy's formats (io/npy.hpp): one tensor as .npy (np.save / np.load), a state dict as
// .npz (np.savez; np.savez_compressed archives are read too).
//
//   tg::save_npy(t, "w.npy");                    auto w = tg::load_npy<float>("w.npy");
//   tg::save_npz(model.state_dict(), "m.npz");   model.load_state_dict(tg::load_npz<float>("m.npz"));

#include "io/state_dict.hpp"
#include "io/safetensors.hpp"
#include "io/npy.hpp"
