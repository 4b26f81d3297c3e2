#include "train/teach/forward_lines.h"

#include <fmt/format.h>

#include <cctype>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>

namespace charnn::teach {
namespace {

// ---- The expressions of one line: a small parser for the C++ the models' forwards are written in.

struct Token {
  enum class Kind { Name, Number, Punct } kind;
  std::string text;
};

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

std::vector<Token> tokenize(std::string_view s) {
  static const std::set<std::string_view> pairs = {"->", "!=", "==", "<=", ">=", "&&", "||"};
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      size_t j = i;
      while (j < s.size() && (name_char(s[j]) || s[j] == '.')) ++j;
      tokens.push_back({Token::Kind::Number, std::string(s.substr(i, j - i))});
      i = j;
    } else if (name_char(c)) {
      // A qualified name is one token: torch::log_softmax, std::get.
      size_t j = i;
      while (j < s.size() && (name_char(s[j]) || (s.substr(j, 2) == "::" && j + 2 < s.size() && name_char(s[j + 2])))) {
        j += s.substr(j, 2) == "::" ? 2 : 1;
      }
      tokens.push_back({Token::Kind::Name, std::string(s.substr(i, j - i))});
      i = j;
    } else if (i + 1 < s.size() && pairs.count(s.substr(i, 2)) != 0) {
      tokens.push_back({Token::Kind::Punct, std::string(s.substr(i, 2))});
      i += 2;
    } else {
      tokens.push_back({Token::Kind::Punct, std::string(1, c)});
      ++i;
    }
  }
  return tokens;
}

struct Node {
  enum class Kind { Name, Number, Call, Member, Index, Binary, Unary, List } kind;
  std::string text;  // Name: the name; Member: the member; Binary, Unary: the operator
  std::vector<Node> children;  // Call: callee then arguments; Member: object; Index: object, index; List: items
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Node expression(int min_precedence = 0) {
    Node left = unary();
    for (;;) {
      const int precedence = binary_precedence(peek());
      if (precedence < 0 || precedence < min_precedence) return left;
      const std::string op = next().text;
      Node right = expression(precedence + 1);
      left = Node{Node::Kind::Binary, op, {std::move(left), std::move(right)}};
    }
  }
  bool done() const { return pos_ == tokens_.size(); }

 private:
  static int binary_precedence(const Token* t) {
    if (t == nullptr || t->kind != Token::Kind::Punct) return -1;
    const auto& p = t->text;
    if (p == "||") return 1;
    if (p == "&&") return 2;
    if (p == "==" || p == "!=") return 3;
    if (p == "<" || p == ">" || p == "<=" || p == ">=") return 4;
    if (p == "+" || p == "-") return 5;
    if (p == "*" || p == "/" || p == "%") return 6;
    return -1;
  }

  Node unary() {
    if (accept("-") || accept("!") || accept("&") || accept("*")) {
      const auto op = tokens_[pos_ - 1].text;
      return Node{Node::Kind::Unary, op, {unary()}};
    }
    return postfix(primary());
  }

  Node primary() {
    if (accept("(")) {
      Node inner = expression();
      expect(")");
      return inner;
    }
    if (accept("{")) return Node{Node::Kind::List, "", arguments("}")};
    const Token t = next();
    if (t.kind == Token::Kind::Number) return Node{Node::Kind::Number, t.text, {}};
    if (t.kind != Token::Kind::Name) throw std::invalid_argument(fmt::format("unexpected '{}'", t.text));
    std::string name = t.text;
    // std::get<0>(h): template arguments of numbers only, as the models write them.
    if (peek() != nullptr && peek()->text == "<" && pos_ + 2 < tokens_.size() &&
        tokens_[pos_ + 1].kind == Token::Kind::Number && tokens_[pos_ + 2].text == ">") {
      name += "<" + tokens_[pos_ + 1].text + ">";
      pos_ += 3;
    }
    return Node{Node::Kind::Name, name, {}};
  }

  Node postfix(Node node) {
    for (;;) {
      if (accept("(")) {
        std::vector<Node> children{std::move(node)};
        for (auto& a : arguments(")")) children.push_back(std::move(a));
        node = Node{Node::Kind::Call, "", std::move(children)};
      } else if (accept("[")) {
        Node index = expression();
        expect("]");
        node = Node{Node::Kind::Index, "", {std::move(node), std::move(index)}};
      } else if (accept(".") || accept("->")) {
        const Token member = next();
        node = Node{Node::Kind::Member, member.text, {std::move(node)}};
      } else {
        return node;
      }
    }
  }

  std::vector<Node> arguments(const char* close) {
    std::vector<Node> args;
    if (accept(close)) return args;
    do {
      args.push_back(expression());
    } while (accept(","));
    expect(close);
    return args;
  }

  const Token* peek() const { return pos_ < tokens_.size() ? &tokens_[pos_] : nullptr; }
  Token next() {
    if (pos_ >= tokens_.size()) throw std::invalid_argument("the line ends too soon");
    return tokens_[pos_++];
  }
  bool accept(std::string_view punct) {
    if (peek() == nullptr || peek()->kind != Token::Kind::Punct || peek()->text != punct) return false;
    ++pos_;
    return true;
  }
  void expect(std::string_view punct) {
    if (!accept(punct)) throw std::invalid_argument(fmt::format("expected '{}'", punct));
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

Node parse_expression(std::string_view text) {
  Parser parser(tokenize(text));
  Node node = parser.expression();
  if (!parser.done()) throw std::invalid_argument(fmt::format("cannot read '{}' as one expression", text));
  return node;
}

// ---- From an expression to the operators it runs, innermost first.

// Methods that read a tensor's sizes or options, or fill a vector: no operator runs.
bool reads_no_tensor(const std::string& method) {
  static const std::set<std::string> methods = {"size",  "sizes",     "options", "dim",       "numel",
                                                "item",  "defined",   "device",  "dtype",     "scalar_type",
                                                "push_back", "emplace_back", "is_contiguous"};
  return methods.count(method) != 0;
}

// torch::nn::functional::relu -> relu
std::string last_part(const std::string& name) {
  const auto colon = name.rfind(':');
  return colon == std::string::npos ? name : name.substr(colon + 1);
}

class StepCompiler {
 public:
  explicit StepCompiler(const std::set<std::string>& layers) : layers_(layers) {}

  // Appends the steps of `node` and returns the index of the one that makes its value (-1: it
  // makes no tensor this walk can see, as an int or a size).
  int64_t compile(const Node& node, std::vector<Step>& steps) const {
    switch (node.kind) {
      case Node::Kind::Name:
      case Node::Kind::Number:
        return -1;
      case Node::Kind::List:
        for (const auto& item : node.children) compile(item, steps);
        return -1;
      case Node::Kind::Member:  // e->weight: a field, no call
      case Node::Kind::Unary:
        compile(node.children[0], steps);
        return -1;
      case Node::Kind::Index:
        compile(node.children[0], steps);
        compile(node.children[1], steps);
        return add(steps, {Step::Kind::Op, "aten::select"});
      case Node::Kind::Binary:
        return binary(node, steps);
      case Node::Kind::Call:
        return call(node, steps);
    }
    return -1;
  }

 private:
  static int64_t add(std::vector<Step>& steps, Step step) {
    steps.push_back(std::move(step));
    return static_cast<int64_t>(steps.size()) - 1;
  }

  int64_t binary(const Node& node, std::vector<Step>& steps) const {
    compile(node.children[0], steps);
    compile(node.children[1], steps);
    static const std::map<std::string, std::string> arithmetic = {
        {"+", "aten::add"}, {"-", "aten::sub"}, {"*", "aten::mul"}, {"/", "aten::div"}};
    const auto op = arithmetic.find(node.text);
    if (op == arithmetic.end()) return -1;  // a comparison of sizes
    return add(steps, {Step::Kind::MaybeOp, op->second});
  }

  int64_t call(const Node& node, std::vector<Step>& steps) const {
    const Node& callee = node.children[0];
    if (callee.kind == Node::Kind::Member) compile(callee.children[0], steps);
    for (size_t i = 1; i < node.children.size(); ++i) compile(node.children[i], steps);
    if (callee.kind == Node::Kind::Member) {
      if (reads_no_tensor(callee.text)) return -1;
      return add(steps, {Step::Kind::Op, "aten::" + callee.text});
    }
    if (callee.kind != Node::Kind::Name) return add(steps, {Step::Kind::AnyOps, ""});
    const auto& name = callee.text;
    if (name.rfind("torch::", 0) == 0) return add(steps, {Step::Kind::Op, "aten::" + last_part(name)});
    if (name.rfind("std::get<", 0) == 0) return -1;  // picks from a tuple: no operator
    if (layers_.count(name) != 0) return add(steps, {Step::Kind::Layer, name});
    return add(steps, {Step::Kind::AnyOps, ""});
  }

  const std::set<std::string>& layers_;
};

// ---- Lines to statements.

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

std::string without_comment(const std::string& line) { return trim(line.substr(0, line.find("//"))); }

int brace_balance(const std::string& code) {
  int n = 0;
  for (const char c : code) n += c == '{' ? 1 : c == '}' ? -1 : 0;
  return n;
}

// The position of the `=` that assigns, if any: at depth 0, not part of ==, !=, <=, >=.
size_t assignment_at(const std::string& code) {
  int depth = 0;
  for (size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (c != '=' || depth != 0) continue;
    const char before = i > 0 ? code[i - 1] : ' ';
    const char after = i + 1 < code.size() ? code[i + 1] : ' ';
    if (after != '=' && before != '=' && before != '!' && before != '<' && before != '>') return i;
  }
  return std::string::npos;
}

// The text inside the parentheses that open at `open`, and where they close.
std::pair<std::string, size_t> parenthesised(const std::string& code, size_t open) {
  int depth = 0;
  for (size_t i = open; i < code.size(); ++i) {
    depth += code[i] == '(' ? 1 : code[i] == ')' ? -1 : 0;
    if (depth == 0) return {code.substr(open + 1, i - open - 1), i};
  }
  throw std::invalid_argument("unbalanced parentheses");
}

class StatementReader {
 public:
  StatementReader(const std::vector<std::string>& lines, const std::set<std::string>& layers)
      : lines_(lines), compiler_(layers) {}

  // Statements from line `i` until the brace that closes the block they are in.
  std::vector<Statement> block(size_t& i) const {
    std::vector<Statement> out;
    while (i < lines_.size()) {
      const auto code = without_comment(lines_[i]);
      if (code.empty()) {
        ++i;
        continue;
      }
      if (code == "}") {
        ++i;
        return out;
      }
      out.push_back(statement(code, static_cast<int64_t>(i)));
      ++i;
      if (out.back().kind == Statement::Kind::For) out.back().body = block(i);
    }
    return out;
  }

 private:
  Statement statement(const std::string& code, int64_t line) const {
    try {
      if (code.rfind("for (", 0) == 0) return for_loop(code, line);
      if (code.rfind("if (", 0) == 0) return if_statement(code, line);
      return simple(code, line);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("cannot read line `{}`: {}", code, e.what()));
    }
  }

  Statement for_loop(const std::string& code, int64_t line) const {
    if (brace_balance(code) != 1) throw std::invalid_argument("a loop's body must open on its line");
    const auto [header, close] = parenthesised(code, code.find('('));
    // A range-for: the range follows the single ':' (not '::').
    size_t colon = std::string::npos;
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] != ':') continue;
      if (i + 1 < header.size() && header[i + 1] == ':') {
        ++i;
        continue;
      }
      colon = i;
      break;
    }
    if (colon == std::string::npos) throw std::invalid_argument("only range-for loops are read");
    Statement s{Statement::Kind::For, line, true, {}, -1, {}};
    s.value_step = compiler_.compile(parse_expression(header.substr(colon + 1)), s.steps);
    return s;
  }

  Statement if_statement(const std::string& code, int64_t line) const {
    const auto [condition, close] = parenthesised(code, code.find('('));
    Statement s{Statement::Kind::If, line, false, {}, -1, {}};
    compiler_.compile(parse_expression(condition), s.steps);
    const auto guarded = trim(code.substr(close + 1));
    if (guarded.empty() || guarded.back() == '{') throw std::invalid_argument("only one-line ifs are read");
    s.body.push_back(simple(guarded, line));
    return s;
  }

  Statement simple(std::string code, int64_t line) const {
    if (code.back() != ';') throw std::invalid_argument("a statement must end its line");
    code.pop_back();
    Statement s{Statement::Kind::Plain, line, false, {}, -1, {}};
    std::string expression;
    if (code.rfind("return ", 0) == 0) {
      s.binds = true;
      expression = code.substr(7);
    } else if (const auto eq = assignment_at(code); eq != std::string::npos) {
      s.binds = true;
      expression = code.substr(eq + 1);
    } else if (code.find('(') == std::string::npos) {
      return s;  // a declaration: std::vector<torch::Tensor> outp
    } else {
      expression = code;  // a call for its effect: outp.push_back(o), init_hidden(bs)
    }
    s.value_step = compiler_.compile(parse_expression(expression), s.steps);
    return s;
  }

  const std::vector<std::string>& lines_;
  StepCompiler compiler_;
};

}  // namespace

std::vector<Statement> read_statements(const std::vector<std::string>& lines, int64_t body_start,
                                       const std::set<std::string>& layers) {
  StatementReader reader(lines, layers);
  auto i = static_cast<size_t>(body_start);
  return reader.block(i);
}

}  // namespace charnn::teach
