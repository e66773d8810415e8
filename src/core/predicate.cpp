#include "core/predicate.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace ride {

namespace {
bool ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
}  // namespace

/// @brief Recursive descent over the text, tokens read one at a time, emitting postfix steps.
class PredicateParser {
  using Step = Predicate::Step;
  using Kind = Step::Kind;
  using Cmp = Step::Cmp;

 public:
  PredicateParser(const std::string& text, const std::vector<std::string>& names)
      : text_(text), names_(names) {
    advance();
  }

  Predicate run() {
    if (tok_.type == T::kEnd) throw ConfigError("empty expression");
    parse_or();
    if (tok_.type == T::kRParen) fail("unbalanced parenthesis");
    if (tok_.type != T::kEnd) unexpected();
    Predicate p;
    p.text_ = text_;
    p.code_ = std::move(code_);
    return p;
  }

 private:
  enum class T { kName, kNumber, kCmp, kAnd, kOr, kNot, kTrue, kFalse, kLParen, kRParen, kEnd };
  struct Token {
    T type = T::kEnd;
    std::string text;  ///< as written
    int column = 0;    ///< 1-based; 0: no token (prev_ before the first)
    double number = 0;
    Cmp cmp = Cmp::kEq;
  };

  /// Reads the next token into tok_ (the current one moves to prev_).
  void advance() {
    prev_ = std::move(tok_);
    while (pos_ < text_.size() && space(text_[pos_])) ++pos_;
    tok_ = Token{};
    tok_.column = static_cast<int>(pos_) + 1;
    if (pos_ == text_.size()) return;
    const char* s = text_.c_str() + pos_;
    struct Symbol {
      const char* text;
      T type;
      Cmp cmp;
    };
    static constexpr Symbol kSymbols[] = {
        {"<=", T::kCmp, Cmp::kLe}, {">=", T::kCmp, Cmp::kGe}, {"==", T::kCmp, Cmp::kEq},
        {"!=", T::kCmp, Cmp::kNe}, {"<", T::kCmp, Cmp::kLt},  {">", T::kCmp, Cmp::kGt},
        {"&&", T::kAnd, Cmp::kEq}, {"||", T::kOr, Cmp::kEq},  {"!", T::kNot, Cmp::kEq},
        {"(", T::kLParen, Cmp::kEq}, {")", T::kRParen, Cmp::kEq}};
    std::size_t len = 0;
    for (const Symbol& sym : kSymbols) {
      if (std::strncmp(s, sym.text, std::strlen(sym.text)) == 0) {
        tok_.type = sym.type;
        tok_.cmp = sym.cmp;
        len = std::strlen(sym.text);
        break;
      }
    }
    if (len == 0 && ident_start(*s)) {
      while (ident_char(s[len])) ++len;
      const bool dotted = s[len] == '.' && ident_start(s[len + 1]);
      if (dotted) {
        for (++len; ident_char(s[len]);) ++len;
      }
      const std::string word(s, len);
      tok_.type = dotted            ? T::kName
                  : word == "and"   ? T::kAnd
                  : word == "or"    ? T::kOr
                  : word == "not"   ? T::kNot
                  : word == "true"  ? T::kTrue
                  : word == "false" ? T::kFalse
                                    : T::kName;
    } else if (len == 0) {
      char* end = nullptr;
      tok_.number = std::strtod(s, &end);
      len = static_cast<std::size_t>(end - s);
      if (len == 0) fail("unexpected '" + std::string(1, *s) + "'");
      tok_.type = T::kNumber;
    }
    tok_.text.assign(s, len);
    pos_ += len;
  }

  [[noreturn]] void fail_at(int column, const std::string& what, const std::string& tail = "") const {
    throw ConfigError(what + " at column " + std::to_string(column) + tail);
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(tok_.column, what); }
  [[noreturn]] void unexpected() const {
    fail(tok_.type == T::kEnd ? "unexpected end of expression" : "unexpected '" + tok_.text + "'");
  }
  /// `what` is missing where tok_ stands, after prev_.
  [[noreturn]] void expected(const std::string& what) const {
    if (prev_.column == 0) unexpected();
    fail("expected " + what + " after '" + prev_.text + "'");
  }

  void emit(const Step& step) {
    depth_ += step.kind == Kind::kNot ? 0 : step.kind == Kind::kAnd || step.kind == Kind::kOr ? -1 : 1;
    if (depth_ > Predicate::kMaxDepth) fail_at(prev_.column, "expression nested too deeply");
    code_.push_back(step);
  }
  void emit(Kind kind) { emit(Step{kind}); }

  int lookup(const Token& name) const {
    const auto it = std::find(names_.begin(), names_.end(), name.text);
    if (it != names_.end()) return static_cast<int>(it - names_.begin());
    std::string known;
    for (const auto& n : names_) {
      if (!n.empty()) known += (known.empty() ? "" : ", ") + n;  // "": a value that cannot be named
    }
    fail_at(name.column, "unknown scalar '" + name.text + "'",
            " (known: " + (known.empty() ? "none" : known) + ")");
  }

  // or := and ('or' and)* ; and := not ('and' not)* ; not := 'not' not | primary
  void parse_or() {
    parse_and();
    while (tok_.type == T::kOr) {
      advance();
      parse_and();
      emit(Kind::kOr);
    }
  }
  void parse_and() {
    parse_not();
    while (tok_.type == T::kAnd) {
      advance();
      parse_not();
      emit(Kind::kAnd);
    }
  }
  void parse_not() {
    if (tok_.type != T::kNot) return parse_primary();
    advance();
    parse_not();
    emit(Kind::kNot);
  }

  // primary := '(' or ')' | 'true' | 'false' | NAME OP NUMBER | NUMBER OP NAME
  void parse_primary() {
    switch (tok_.type) {
      case T::kLParen: {
        const int open = tok_.column;
        ++open_parens_;
        advance();
        parse_or();
        if (tok_.type == T::kEnd) fail_at(open, "unbalanced parenthesis");
        if (tok_.type != T::kRParen) unexpected();
        --open_parens_;
        advance();
        return;
      }
      case T::kTrue:
      case T::kFalse:
        emit(tok_.type == T::kTrue ? Kind::kTrue : Kind::kFalse);
        advance();
        return;
      case T::kName:
      case T::kNumber:
        return parse_comparison();
      default:
        if (tok_.type == T::kRParen && open_parens_ == 0) fail("unbalanced parenthesis");
        expected("a comparison");
    }
  }

  void parse_comparison() {
    Step step{Kind::kCompare};
    const bool name_first = tok_.type == T::kName;
    if (name_first) {
      step.index = lookup(tok_);
    } else {
      step.number = tok_.number;
    }
    advance();
    if (tok_.type != T::kCmp) expected("a comparison operator");
    // `1 < x` is `x > 1`: the comparison is stored with the scalar on the left.
    static constexpr Cmp kFlipped[] = {Cmp::kGt, Cmp::kGe, Cmp::kLt, Cmp::kLe, Cmp::kEq, Cmp::kNe};
    step.cmp = name_first ? tok_.cmp : kFlipped[static_cast<int>(tok_.cmp)];
    advance();
    if (name_first) {
      if (tok_.type != T::kNumber) expected("a number");
      step.number = tok_.number;
    } else {
      if (tok_.type != T::kName) expected("a scalar name");
      step.index = lookup(tok_);
    }
    advance();
    emit(step);
  }

  const std::string& text_;
  const std::vector<std::string>& names_;
  std::size_t pos_ = 0;
  Token tok_, prev_;
  std::vector<Step> code_;
  int depth_ = 0;        ///< evaluation stack depth after code_
  int open_parens_ = 0;  ///< '(' not yet closed
};

Predicate Predicate::parse(const std::string& text, const std::vector<std::string>& names) {
  return PredicateParser(text, names).run();
}

bool Predicate::operator()(const double* values) const {
  std::array<bool, kMaxDepth> stack{};
  int n = 0;
  for (const Step& s : code_) {
    switch (s.kind) {
      case Step::Kind::kCompare: {
        const double v = values[s.index];
        switch (s.cmp) {
          case Step::Cmp::kLt: stack[n++] = v < s.number; break;
          case Step::Cmp::kLe: stack[n++] = v <= s.number; break;
          case Step::Cmp::kGt: stack[n++] = v > s.number; break;
          case Step::Cmp::kGe: stack[n++] = v >= s.number; break;
          case Step::Cmp::kEq: stack[n++] = v == s.number; break;
          case Step::Cmp::kNe: stack[n++] = v != s.number; break;
        }
        break;
      }
      case Step::Kind::kTrue: stack[n++] = true; break;
      case Step::Kind::kFalse: stack[n++] = false; break;
      case Step::Kind::kNot: stack[n - 1] = !stack[n - 1]; break;
      case Step::Kind::kAnd: --n; stack[n - 1] = stack[n - 1] && stack[n]; break;
      case Step::Kind::kOr: --n; stack[n - 1] = stack[n - 1] || stack[n]; break;
    }
  }
  return n == 0 || stack[0];
}

bool Predicate::always_true() const {
  return code_.empty() || (code_.size() == 1 && code_[0].kind == Step::Kind::kTrue);
}

std::vector<int> Predicate::used() const {
  std::vector<int> out;
  for (const Step& s : code_) {
    if (s.kind == Step::Kind::kCompare) out.push_back(s.index);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace ride
