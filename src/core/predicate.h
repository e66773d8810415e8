#pragma once
/// @brief A stage's `forward` expression (config key stage.NAME.forward): which frames go on to
/// the next stage, decided on the task's per-frame scalars. Pure.
#include <cstdint>
#include <string>
#include <vector>

namespace ride {

class PredicateParser;

/// @brief A boolean expression over one frame's scalars, e.g. `foreground_pct > 2 and not
/// (motion.count == 0)`.
///
/// Grammar: comparisons `NAME OP NUMBER` or `NUMBER OP NAME`, OP one of < <= > >= == !=;
/// combined with `and`, `or`, `not` (also &&, ||, !) and parentheses; `not` binds tightest, then
/// `and`, then `or`. Also the literals `true` and `false`. NAME: [A-Za-z_][A-Za-z0-9_]* optionally
/// followed by `.` and another such identifier (an upstream stage's scalar, e.g.
/// `motion.foreground_pct`). NUMBER: a decimal/float literal as strtod reads it (e.g. 1, -2.5,
/// 1e3, .5). A NaN value (a scalar the task did not produce for this frame) makes every
/// comparison false except `!=`, which is true (IEEE semantics).
class Predicate {
 public:
  Predicate() = default;  ///< empty: always true

  /// Parses `text` against the scalar names available (`names[i]` is read from values[i]).
  /// Throws ConfigError saying what is wrong and where (1-based column of the offending token;
  /// the end of the text is column size + 1), e.g. "unknown scalar 'fg' at column 1 (known:
  /// foreground_pct, motion.count)", "expected a number after '>' at column 16", "unbalanced
  /// parenthesis at column 3", "unexpected 'x' at column 20", "empty expression". The message
  /// does not name the config key (the caller prefixes it). An expression that would hold more
  /// than kMaxDepth values on the evaluation stack (about 60 nested parentheses) is rejected.
  static Predicate parse(const std::string& text, const std::vector<std::string>& names);

  /// Evaluates on one frame's values (values[i] for names[i] given to parse).
  bool operator()(const double* values) const;
  /// An empty predicate or the literal `true`.
  bool always_true() const;
  const std::string& text() const { return text_; }
  /// The indices (into names) the expression reads, ascending, unique.
  std::vector<int> used() const;

  /// Most values the evaluation stack holds at once (parse rejects deeper expressions).
  static constexpr int kMaxDepth = 64;

 private:
  friend class PredicateParser;
  /// One step of the postfix program: a comparison or a literal pushes a value, `not` replaces
  /// the top, `and`/`or` combine the top two.
  struct Step {
    enum class Kind : std::uint8_t { kCompare, kTrue, kFalse, kNot, kAnd, kOr };
    enum class Cmp : std::uint8_t { kLt, kLe, kGt, kGe, kEq, kNe };
    Kind kind = Kind::kTrue;
    Cmp cmp = Cmp::kEq;
    int index = -1;     ///< kCompare: values[index] is the left side
    double number = 0;  ///< kCompare: the right side
  };

  std::string text_;
  std::vector<Step> code_;  ///< postfix; empty: always true
};

}  // namespace ride
