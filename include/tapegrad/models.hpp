#pragma once
// The models researchers train with tapegrad (namespace tapegrad::models):
//   DeepFM                          <tapegrad/models/deepfm.hpp>
//   split DeepFM, Channel, Packet   <tapegrad/models/split.hpp>
//   preference model                <tapegrad/models/preference.hpp>
//   Fashion-MNIST MLP, CNN, contractive autoencoder, VAE   <tapegrad/models/vision.hpp>
// Inputs are tensors: the data readers are separate. The tensor and autograd headers
// never include this one.
#include "models/deepfm.hpp"
#include "models/split.hpp"
#include "models/preference.hpp"
#include "models/vision.hpp"
