#include "polc/diagnostics/catalogue.h"
#include "polc/diagnostics/diagnostics.h"
#include "polc/diagnostics/warning_options.h"

#include "polc/support/internal_error.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <set>

namespace polc {
namespace {

TEST(DiagnosticCatalogue, NamesAreUniqueLowercaseDashedAndDescribed) {
  std::set<std::string_view> seen;
  for (const auto& info : diagnosticCatalogue()) {
    EXPECT_TRUE(seen.insert(info.name).second) << "duplicate name " << info.name;
    ASSERT_FALSE(info.name.empty());
    EXPECT_NE(info.name.front(), '-') << info.name;
    EXPECT_NE(info.name.back(), '-') << info.name;
    EXPECT_EQ(info.name.find("--"), std::string_view::npos) << info.name;
    for (char c : info.name)
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
          << info.name << " has '" << c << "'";
    EXPECT_FALSE(info.description.empty()) << info.name << " has no description";
    EXPECT_EQ(info.description.find('\n'), std::string_view::npos) << info.name;
    EXPECT_EQ(&diagnosticInfo(info.id), &info);
    EXPECT_EQ(findDiagnostic(info.name), info.id);
  }
  EXPECT_FALSE(findDiagnostic("no-such-diagnostic"));
}

TEST(DiagnosticCatalogue, KeepsTheNamesPolcAlwaysPrinted) {
  EXPECT_EQ(diagnosticName(DiagnosticId::UnknownLet), "unknown-let");
  EXPECT_EQ(diagnosticName(DiagnosticId::UnknownGroup), "unknown-group");
  EXPECT_EQ(diagnosticName(DiagnosticId::UnknownService), "unknown-service");
  EXPECT_EQ(diagnosticInfo(DiagnosticId::ShadowedRule).severity, Severity::Warning);
  EXPECT_EQ(diagnosticInfo(DiagnosticId::Syntax).severity, Severity::Error);
}

TEST(WarningOptions, ChangeWarningsOnly) {
  WarningOptions options;
  EXPECT_EQ(options.severityOf(DiagnosticId::ShadowedRule), Severity::Warning);
  ASSERT_TRUE(options.apply("error=shadowed-rule"));
  EXPECT_EQ(options.severityOf(DiagnosticId::ShadowedRule), Severity::Error);
  ASSERT_TRUE(options.apply("no-dead-allow"));
  EXPECT_EQ(options.severityOf(DiagnosticId::DeadAllow), std::nullopt);
  ASSERT_TRUE(options.apply("dead-allow")); // later wins: back to its default
  EXPECT_EQ(options.severityOf(DiagnosticId::DeadAllow), Severity::Warning);
  ASSERT_TRUE(options.apply("error=syntax")); // already one
  EXPECT_EQ(options.severityOf(DiagnosticId::Syntax), Severity::Error);

  auto refused = options.apply("no-syntax");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), "'syntax' is an error, which cannot be suppressed; only warnings can");
}

TEST(WarningOptions, ErrorTurnsEveryWarningUnlessNamedLater) {
  WarningOptions options;
  ASSERT_TRUE(options.apply("error"));
  ASSERT_TRUE(options.apply("empty-selector"));
  EXPECT_EQ(options.severityOf(DiagnosticId::UnknownLabel), Severity::Error);
  EXPECT_EQ(options.severityOf(DiagnosticId::EmptySelector), Severity::Warning);
}

TEST(WarningOptions, UnknownNamesSuggestTheClosest) {
  WarningOptions options;
  auto unknown = options.apply("error=shadowd-rule");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), "unknown diagnostic 'shadowd-rule'; did you mean 'shadowed-rule'? "
                             "(polc check --list-diagnostics lists them)");
  auto farOff = options.apply("no-xyzzy-plugh");
  ASSERT_FALSE(farOff);
  EXPECT_EQ(farOff.error(),
            "unknown diagnostic 'xyzzy-plugh' (polc check --list-diagnostics lists them)");
}

TEST(Diagnostics, AppliesWarningOptions) {
  WarningOptions options;
  ASSERT_TRUE(options.apply("error=shadowed-rule"));
  ASSERT_TRUE(options.apply("no-dead-allow"));
  Diagnostics diagnostics;
  diagnostics.setWarningOptions(options);
  diagnostics.warning(DiagnosticId::ShadowedRule, {"a.pol", 1, 1}, "shadowed").hint("move it");
  diagnostics.warning(DiagnosticId::DeadAllow, {"a.pol", 2, 1}, "dead").hint("remove it");
  diagnostics.warning(DiagnosticId::EmptySelector, {"a.pol", 3, 1}, "empty");
  ASSERT_EQ(diagnostics.all().size(), 2u);
  EXPECT_EQ(diagnostics.errorCount(), 1u);
  EXPECT_EQ(diagnostics.warningCount(), 1u);
  EXPECT_EQ(diagnostics.all()[0].name, "shadowed-rule");
  EXPECT_EQ(diagnostics.all()[0].severity, Severity::Error);
  ASSERT_EQ(diagnostics.suppressed().size(), 1u);
  EXPECT_EQ(diagnostics.suppressed()[0].id, DiagnosticId::DeadAllow);
  EXPECT_EQ(diagnostics.render(), "a.pol:1:1: error: shadowed [shadowed-rule]\n"
                                  "  hint: move it\n"
                                  "a.pol:3:1: warning: empty [empty-selector]\n");
}

TEST(DiagnosticsDeathTest, ReportingAgainstTheCatalogueIsABug) {
  Diagnostics diagnostics;
  EXPECT_DEATH(diagnostics.warning(DiagnosticId::Syntax, {"a.pol", 1, 1}, "odd"),
               "internal error: diagnostic 'syntax' is catalogued as error but reported as "
               "warning \\(a bug in polc, please report\\)");
}

// What the ctest fixture internal_errors.none reads (tests/CMakeLists.txt).
TEST(InternalErrors, AreAppendedToTheLogTestsCheck) {
  auto log = std::filesystem::path(::testing::TempDir()) / "polc-internal-errors.log";
  std::filesystem::remove(log);
  const char* before = std::getenv("POLC_INTERNAL_ERROR_LOG");
  std::string saved = before ? before : "";
  ::setenv("POLC_INTERNAL_ERROR_LOG", log.c_str(), 1);
  recordInternalError("first");
  recordInternalError("second");
  if (before)
    ::setenv("POLC_INTERNAL_ERROR_LOG", saved.c_str(), 1);
  else
    ::unsetenv("POLC_INTERNAL_ERROR_LOG");
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "internal error: first (a bug in polc, please report)\n"
                        "internal error: second (a bug in polc, please report)\n");
  std::filesystem::remove(log);
}

// A binary file or an escape sequence in a policy must not reach the
// terminal through the source excerpt or a message quoting it: controls
// are quoted as \xHH, the caret still under the column, a CRLF line's CR
// dropped.
TEST(Diagnostics, EscapeControlCharactersInExcerpts) {
  Diagnostics diagnostics;
  diagnostics.addSource("a.pol", std::string("x\x1b[31my\0z\r\nsecond\r\n", 19));
  diagnostics.error(DiagnosticId::Syntax, {"a.pol", 1, 7}, "bad '\x1b'");
  EXPECT_EQ(diagnostics.render(), "a.pol:1:7: error: bad '\\x1b' [syntax]\n"
                                  " 1 | x\\x1b[31my\\x00z\n"
                                  "   |          ^\n");
}

} // namespace
} // namespace polc
