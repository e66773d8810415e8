#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/predicate.h"

namespace ride {
namespace {

const std::vector<std::string> kNames = {"a", "b", "motion.count", "fg"};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Parses `text` against kNames and evaluates it on (a, b, motion.count, fg).
bool eval(const std::string& text, double a, double b = 0, double count = 0, double fg = 0) {
  const double values[] = {a, b, count, fg};
  return Predicate::parse(text, kNames)(values);
}

/// '1' or '0' per predicate of `texts`, each evaluated with a = `a` (the others 0).
std::string truths(const std::vector<std::string>& texts, double a) {
  std::string out;
  for (const auto& t : texts) out += eval(t, a) ? '1' : '0';
  return out;
}

/// The ConfigError message for `text`, or "no error".
std::string error(const std::string& text, const std::vector<std::string>& names = kNames) {
  try {
    Predicate::parse(text, names);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Predicate, EachComparisonOperator) {
  // Each operator once true, once false, at a = 2.
  EXPECT_EQ(truths({"a < 3", "a < 2", "a <= 2", "a <= 1", "a > 1", "a > 2", "a >= 2", "a >= 3", "a == 2", "a == 3",
                    "a != 3", "a != 2"},
                   2),
            "101010101010");
  // The other scalars are read from their own slots.
  EXPECT_TRUE(eval("b == 7", 0, 7));
  EXPECT_TRUE(eval("fg > 50", 0, 0, 0, 60));
  EXPECT_FALSE(eval("fg > 50", 60, 60, 60, 40));
}

TEST(Predicate, NumberOnTheLeftMirrorsTheComparison) {
  EXPECT_EQ(truths({"1 < a", "2 < a", "2 <= a", "3 <= a", "3 > a", "2 > a", "2 >= a", "1 >= a", "2 == a", "3 == a",
                    "3 != a", "2 != a"},
                   2),
            "101010101010");
}

TEST(Predicate, NumbersAsStrtodReadsThem) {
  EXPECT_TRUE(eval("a == -2.5", -2.5));
  EXPECT_TRUE(eval("a == +4", 4));
  EXPECT_TRUE(eval("a == 1e3", 1000));
  EXPECT_TRUE(eval("a == 2.5E-1", 0.25));
  EXPECT_TRUE(eval("a == .5", 0.5));
  EXPECT_TRUE(eval("a == 7.", 7));
  EXPECT_TRUE(eval("a>-1", 0));
  EXPECT_FALSE(eval("a>-1", -1));
  EXPECT_TRUE(eval("-1<a", 0));
}

TEST(Predicate, NotBindsTighterThanAndTighterThanOr) {
  // or(a > 0, and(b > 0, false)): true when a > 0, whatever b.
  EXPECT_TRUE(eval("a > 0 or b > 0 and false", 1, 1));
  EXPECT_TRUE(eval("false and b > 0 or a > 0", 1, 1));
  EXPECT_FALSE(eval("a > 0 or b > 0 and false", 0, 1));
  // and(not(a > 0), b > 0), not not(a > 0 and b > 0).
  EXPECT_FALSE(eval("not a > 0 and b > 0", 0, 0));
  EXPECT_TRUE(eval("not a > 0 and b > 0", 0, 1));
  // or(not(a > 0), b > 0), not not(a > 0 or b > 0).
  EXPECT_TRUE(eval("not a > 0 or b > 0", 1, 1));
  EXPECT_FALSE(eval("not a > 0 or b > 0", 1, 0));
  EXPECT_TRUE(eval("not not a > 0", 1));
  EXPECT_FALSE(eval("not not not a > 0", 1));
}

TEST(Predicate, ParenthesesOverridePrecedence) {
  EXPECT_TRUE(eval("a > 0 or b > 0 and false", 1));
  EXPECT_FALSE(eval("(a > 0 or b > 0) and false", 1));
  EXPECT_TRUE(eval("not (a > 0 and b > 0)", 1, 0));
  EXPECT_FALSE(eval("not (a > 0 or b > 0)", 1, 0));
  EXPECT_TRUE(eval("((((a > 0))))", 1));
  EXPECT_TRUE(eval("(a > 0) and ((b > 0) or (fg == 3))", 1, 0, 0, 3));
  EXPECT_FALSE(eval("(a > 0) and ((b > 0) or (fg == 3))", 1, 0, 0, 4));
}

TEST(Predicate, SymbolSynonymsMatchTheWords) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"a > 0 and b > 0", "a > 0 && b > 0"},
      {"a > 0 or b > 0", "a > 0 || b > 0"},
      {"not a > 0", "!a > 0"},
      {"not a > 0 and b > 0 or a == 1", "!a>0&&b>0||a==1"},
      {"not (a > 0 or b > 0) and not b == 2", "!(a > 0 || b > 0) && ! b == 2"},
  };
  for (const auto& [words, symbols] : pairs) {
    for (double a : {-1.0, 0.0, 1.0, 2.0}) {
      for (double b : {-1.0, 0.0, 1.0, 2.0}) {
        EXPECT_EQ(eval(words, a, b), eval(symbols, a, b)) << symbols << " at a=" << a << ", b=" << b;
      }
    }
  }
  EXPECT_TRUE(eval("!a > 0", 0));
  EXPECT_FALSE(eval("!a > 0", 1));
  // `!=` is a comparison, not `!` followed by `=`.
  EXPECT_TRUE(eval("a != 1 && !(b != 2)", 0, 2));
}

TEST(Predicate, DottedNamesReadUpstreamScalars) {
  EXPECT_TRUE(eval("motion.count >= 3", 0, 0, 3));
  EXPECT_FALSE(eval("motion.count >= 3", 9, 9, 2));
  EXPECT_TRUE(eval("3 <= motion.count and fg < 1", 0, 0, 4, 0));
  const Predicate p = Predicate::parse("motion.count > 0", kNames);
  EXPECT_EQ(p.used(), std::vector<int>{2});
}

TEST(Predicate, NaNComparesFalseExceptNotEqual) {
  EXPECT_FALSE(eval("a < 1", kNaN));
  EXPECT_FALSE(eval("a <= 1", kNaN));
  EXPECT_FALSE(eval("a > 1", kNaN));
  EXPECT_FALSE(eval("a >= 1", kNaN));
  EXPECT_FALSE(eval("a == 1", kNaN));
  EXPECT_TRUE(eval("a != 1", kNaN));
  EXPECT_FALSE(eval("1 < a", kNaN));
  EXPECT_FALSE(eval("1 == a", kNaN));
  EXPECT_TRUE(eval("1 != a", kNaN));
  // `not` negates the comparison's result, so a missing scalar passes `not a > 1`.
  EXPECT_TRUE(eval("not a > 1", kNaN));
  EXPECT_TRUE(eval("a > 1 or b > 1", kNaN, 2));
  EXPECT_FALSE(eval("a > 1 and b > 1", kNaN, 2));
}

TEST(Predicate, LiteralsAndTheEmptyPredicate) {
  const Predicate empty;
  EXPECT_TRUE(empty.always_true());
  EXPECT_TRUE(empty(nullptr));
  EXPECT_EQ(empty.text(), "");
  EXPECT_TRUE(empty.used().empty());

  const Predicate t = Predicate::parse("true", kNames);
  EXPECT_TRUE(t.always_true());
  EXPECT_TRUE(t(nullptr));
  const Predicate f = Predicate::parse("false", kNames);
  EXPECT_FALSE(f.always_true());
  EXPECT_FALSE(f(nullptr));
  EXPECT_FALSE(Predicate::parse("a > 1", kNames).always_true());

  EXPECT_TRUE(eval("true and a > 1", 2));
  EXPECT_FALSE(eval("false and a > 1", 2));
  EXPECT_TRUE(eval("false or a > 1", 2));
  EXPECT_TRUE(eval("not false", 0));
  EXPECT_FALSE(eval("!true", 0));
  // Keywords are whole words: `trueish` is a name, not `true`.
  EXPECT_NE(error("trueish").find("unknown scalar 'trueish'"), std::string::npos);
}

TEST(Predicate, UsedListsTheIndicesReadAscendingAndUnique) {
  EXPECT_EQ(Predicate::parse("fg > 1 or a < 2 and fg != 0 or 1 == a", kNames).used(),
            (std::vector<int>{0, 3}));
  EXPECT_EQ(Predicate::parse("motion.count > 1 and b < 2 and a > 0 and b > -1", kNames).used(),
            (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(Predicate::parse("true or false", kNames).used().empty());
}

TEST(Predicate, TextAndCopiesSurviveTheOriginal) {
  Predicate copy;
  {
    const Predicate p = Predicate::parse("  a > 1 and b < 2 ", kNames);
    EXPECT_EQ(p.text(), "  a > 1 and b < 2 ");
    copy = p;
  }
  const double yes[] = {2, 1, 0, 0}, no[] = {2, 3, 0, 0};
  EXPECT_TRUE(copy(yes));
  EXPECT_FALSE(copy(no));
  EXPECT_EQ(copy.text(), "  a > 1 and b < 2 ");
}

TEST(Predicate, WhitespaceDoesNotMatter) {
  for (const std::string text : {"a>1&&b<2", "a > 1 and b < 2", "   a   >   1   and   b   <   2   ",
                                 "\ta\n>\n1\tand\r\nb<2\t", "(a>1)and(b<2)", "a>1and b<2"}) {
    EXPECT_TRUE(eval(text, 2, 1)) << text;
    EXPECT_FALSE(eval(text, 2, 3)) << text;
    EXPECT_FALSE(eval(text, 1, 1)) << text;
  }
}

TEST(Predicate, LongChains) {
  // 500 alternatives: true exactly when a is a whole number in [0, 500).
  std::string any_of = "a == 0";
  for (int i = 1; i < 500; ++i) any_of += " or a == " + std::to_string(i);
  const Predicate p = Predicate::parse(any_of, kNames);
  for (double a : {0.0, 1.0, 250.0, 499.0}) {
    const double v[] = {a, 0, 0, 0};
    EXPECT_TRUE(p(v)) << a;
  }
  for (double a : {-1.0, 0.5, 500.0, kNaN}) {
    const double v[] = {a, 0, 0, 0};
    EXPECT_FALSE(p(v)) << a;
  }
  // 300 conjuncts mixing all scalars and both orders.
  std::string all_of = "a > 0";
  for (int i = 0; i < 300; ++i) all_of += i % 2 ? " and b < " + std::to_string(i + 10) : " && 0 <= fg";
  EXPECT_TRUE(eval(all_of, 1, 5, 0, 0));
  EXPECT_FALSE(eval(all_of, 1, 11, 0, 0));  // b < 11 is among them
  EXPECT_FALSE(eval(all_of, 1, 5, 0, -1));
  // Nesting to the right, 40 levels deep: stays within the evaluation stack.
  std::string nested = "a == 40";
  for (int i = 39; i >= 0; --i) nested = "a == " + std::to_string(i) + " or (" + nested + ")";
  EXPECT_TRUE(eval(nested, 40));
  EXPECT_TRUE(eval(nested, 17));
  EXPECT_FALSE(eval(nested, 41));
}

TEST(Predicate, ErrorsSayWhatAndWhere) {
  const std::vector<std::string> names = {"foreground_pct", "motion.count"};
  EXPECT_EQ(error("fg > 1", names), "unknown scalar 'fg' at column 1 (known: foreground_pct, motion.count)");
  EXPECT_EQ(error("foreground_pct > 1 and motion.cnt < 2", names),
            "unknown scalar 'motion.cnt' at column 24 (known: foreground_pct, motion.count)");
  EXPECT_EQ(error("1 < zz", names), "unknown scalar 'zz' at column 5 (known: foreground_pct, motion.count)");
  EXPECT_NE(error("a > 1", {}).find("unknown scalar 'a' at column 1 (known: none)"), std::string::npos);
  // A missing number: the column is where it should be.
  EXPECT_EQ(error("foreground_pct > motion.count", names), "expected a number after '>' at column 18");
  EXPECT_EQ(error("a >"), "expected a number after '>' at column 4");
  EXPECT_EQ(error("a >= and"), "expected a number after '>=' at column 6");
  EXPECT_EQ(error("1 < 2"), "expected a scalar name after '<' at column 5");
  EXPECT_EQ(error("a 1"), "expected a comparison operator after 'a' at column 3");
  EXPECT_EQ(error("a > 1 and b"), "expected a comparison operator after 'b' at column 12");
  EXPECT_EQ(error("a > 1 and"), "expected a comparison after 'and' at column 10");
  EXPECT_EQ(error("a > 1 || ) "), "unbalanced parenthesis at column 10");
  EXPECT_EQ(error("not"), "expected a comparison after 'not' at column 4");
  EXPECT_EQ(error("()"), "expected a comparison after '(' at column 2");
  // Parentheses: an unclosed '(' is named where it opens, a stray ')' where it stands.
  EXPECT_EQ(error("(a > 1"), "unbalanced parenthesis at column 1");
  EXPECT_EQ(error("((a > 1)"), "unbalanced parenthesis at column 1");
  EXPECT_EQ(error("(a > 1) and (b < 2"), "unbalanced parenthesis at column 13");
  EXPECT_EQ(error("a > 1)"), "unbalanced parenthesis at column 6");
  EXPECT_EQ(error(")"), "unbalanced parenthesis at column 1");
  // Stray tokens and characters.
  EXPECT_EQ(error("a > 1 b < 2"), "unexpected 'b' at column 7");
  EXPECT_EQ(error("a > 1 < 2"), "unexpected '<' at column 7");
  EXPECT_EQ(error("(a > 1 b < 2)"), "unexpected 'b' at column 8");
  EXPECT_EQ(error("and a > 1"), "unexpected 'and' at column 1");
  EXPECT_EQ(error("a > 1 # x"), "unexpected '#' at column 7");
  EXPECT_EQ(error("a = 1"), "unexpected '=' at column 3");
  EXPECT_EQ(error("a > 1 & b > 1"), "unexpected '&' at column 7");
  EXPECT_EQ(error("a. > 1"), "unexpected '.' at column 2");
  EXPECT_EQ(error("   fg >"), "expected a number after '>' at column 8");
  // Nothing at all.
  EXPECT_EQ(error(""), "empty expression");
  EXPECT_EQ(error(" \t "), "empty expression");
  // Nesting beyond the evaluation stack.
  std::string deep = "a == 0";
  for (int i = 0; i < 100; ++i) deep = "a == 1 or (" + deep + ")";
  EXPECT_NE(error(deep).find("expression nested too deeply at column"), std::string::npos);
  // A good expression parses.
  EXPECT_EQ(error("foreground_pct > 1 and not motion.count == 0", names), "no error");
}

}  // namespace
}  // namespace ride
