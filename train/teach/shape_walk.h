#pragma once
// `charnn shapes`: one forward of a lesson model, each line of its source with the shapes of the
// tensors that line produced. The shapes are measured while the forward runs (OpRecorder gives
// every ATen operator it calls, with what it returned) and given to the lines whose calls made
// them (forward_lines.h reads which operators each line calls).
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/registry.h"
#include "train/teach/lesson_batch.h"
#include "train/teach/op_recorder.h"

namespace charnn::teach {

struct WalkLine {
  int64_t number = 0;  // in the source file
  std::string text;    // as written (indented as in the file)
  // Each time the line ran and bound or returned tensors: their shapes. A loop's header gives
  // its variable, one element per iteration; lines that bind nothing (a call for its effect, a
  // comparison, an int) give nothing, as in the Python twin's walk (notebooks-ref/shapes.py).
  std::vector<std::vector<Shape>> values;
};

struct ShapeWalk {
  std::string model;           // the registry's name
  std::string notebook_class;  // the class whose forward ran
  std::string source;          // "models/char_rnn.cpp"; empty when the source is not built in
  Shape input;                 // the batch's xs, [cs, bs]
  std::vector<WalkLine> lines; // signature to closing brace; without a source, one per operator
};

// Runs model.forward(xs) once (eval mode, no gradients) and walks it. Throws std::runtime_error
// naming the line when the operators the forward ran do not fit its source.
ShapeWalk walk_forward(const ModelSpec& spec, LessonModel& model, const torch::Tensor& xs);

// `charnn shapes`: the model as a run with these options starts (its initial weights follow the
// seed) walked on the run's first batch. Throws InputError as first_training_batch does.
ShapeWalk lesson_walk(const std::string& model, const LessonDataOptions& options);

// "8x512x256"; a 0-d tensor is "scalar".
std::string shape_text(const Shape& shape);
// What a line shows: "8x512x256, 1x512x256", with "(x8)" when every run gave the same.
std::string values_text(const std::vector<std::vector<Shape>>& values);
// The walk as the CLI prints it, and as JSON for the page and the tests.
std::string walk_text(const ShapeWalk& walk);
std::string walk_json(const ShapeWalk& walk);

}  // namespace charnn::teach
