#pragma once
// Which ATen operators each line of a model's forward calls, read from its C++ text: the lines
// as statements (a loop's body nested under it), each statement's calls in the order they run
// (arguments before the call), and what each call dispatches to: torch::f(...) is aten::f,
// x.f(...) is aten::f unless f only reads sizes or options, x[i] is aten::select, a + b is
// aten::add when a and b are tensors; a call of one of the model's layers (e, l_out, rnn) runs
// the operators that read that layer's parameters (nn::Linear two or three, nn::RNN one), and a
// call of anything else (init_hidden, repackage_var) any operators no line names.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace charnn::teach {

struct Step {
  enum class Kind {
    Op,       // exactly this operator
    MaybeOp,  // this operator when the operands are tensors (a + b), nothing for numbers
    Layer,    // one of the model's layers: the operators that read its parameters, its value the last one's
    AnyOps,   // a function whose body is not read: whatever it runs, its value all they made
  };
  Kind kind;
  std::string op;  // Op and MaybeOp: the operator; Layer: the layer's name
};

struct Statement {
  enum class Kind { Plain, For, If };
  Kind kind = Kind::Plain;
  int64_t line = 0;   // index into the forward's lines
  bool binds = false; // assigns, declares or returns a value: the line shows what its outermost call made
  std::vector<Step> steps;  // Plain: the statement; For: the range; If: the condition
  int64_t value_step = -1;  // the step whose result is the line's value; -1: none is a tensor
  std::vector<Statement> body;  // For: the loop's statements; If: the one it guards
};

// The statements of lines[body_start..] up to the function's closing brace. `layers` are the
// names of the model's layers (its registered children). Throws std::runtime_error naming a
// line it cannot read.
std::vector<Statement> read_statements(const std::vector<std::string>& lines, int64_t body_start,
                                       const std::set<std::string>& layers);

}  // namespace charnn::teach
