#pragma once
// Training-loop utilities: a progress bar for epochs and batches, and a training log
// (CSV / JSON Lines). Standard library only (and tapegrad's error types); the tensor,
// nn and optim headers do not include this one.
//
//   #include <tapegrad/train.hpp>
//   tg::train::ProgressBar bar(loader.size());                 // train/progress.hpp
//   tg::train::TrainingLog log(tg::train::TrainingLogOptions().csv("run.csv"));   // train/log.hpp
//
// The data loading side is in <tapegrad/data/dataset.hpp> and <tapegrad/data/dataloader.hpp>.

#include "train/progress.hpp"
#include "train/log.hpp"
