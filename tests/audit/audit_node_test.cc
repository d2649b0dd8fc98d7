// Audit per node (issue 18): a named node's log carries its name on every
// line, checkpoints included; one log never changes node (Open refuses,
// the verifier fails); a log written before its node was named is named
// once, with a record saying so; single-node logs are unchanged; and nodes
// sharing one token keep separate trust anchors. Real AuditLog, real
// SoftHSM token, real files.
#include <gtest/gtest.h>

#include "tests/audit/audit_fixture.h"
#include "tests/support/status_matchers.h"

namespace strongroom::testing_support {
namespace {

using audit::AnchorMode;
using audit::ParsedLine;
using audit::RecordType;

class AuditNodeTest : public AuditFixture {
 protected:
  audit::AuditLogOptions NodeOptions(const std::string& node, const std::string& dir = "",
                                     AnchorMode mode = AnchorMode::kRequire) {
    audit::AuditLogOptions options = Options();
    if (!dir.empty()) options.dir = dir;
    options.node_name = node;
    options.anchor = audit::NewTokenAnchorKeeper(*service_, node);
    options.anchor_mode = mode;
    return options;
  }

  // WriteLog opens the log as `node`, records `events` events and closes it
  // (its final checkpoint is anchored).
  void WriteLog(const std::string& node, int events, const std::string& dir = "") {
    auto log = Open(NodeOptions(node, dir));
    ASSERT_OK(log);
    for (int i = 0; i < events; ++i) ASSERT_OK((*log)->Record(UserEvent("x:y")));
    ASSERT_OK((*log)->Close());
  }

  static void ExpectRefused(const StatusOr<std::unique_ptr<audit::AuditLog>>& log,
                            const std::string& says) {
    ASSERT_STATUS(log, StatusCode::kFailedPrecondition);
    EXPECT_NE(log.error().message().find(says), std::string::npos) << log.error();
  }

  // ChangeNode rewrites `line` to name node `to` instead of `from` and recomputes its own
  // hash, as someone who can write the files (but cannot sign) can.
  static std::string ChangeNode(const std::string& line, const std::string& from,
                                const std::string& to) {
    std::string body = line.substr(0, line.rfind(",\"hash\":"));
    const std::string old_member = "\"node\":\"" + from + "\"";
    std::size_t at = body.find(old_member);
    EXPECT_NE(at, std::string::npos) << line;
    body.replace(at, old_member.size(), "\"node\":\"" + to + "\"");
    std::string prev = body.substr(body.rfind(",\"prev\":\"") + 9, 64);
    return body + ",\"hash\":\"" + audit::ChainHash(prev, body) + "\"}";
  }
};

TEST_F(AuditNodeTest, ANamedNodesLogCarriesItsNameOnEveryLineAndVerifies) {
  WriteLog("node-1", 5);
  std::vector<ParsedLine> records = Records();
  ASSERT_GT(records.size(), 5u);
  bool saw_checkpoint = false;
  for (const ParsedLine& record : records) {
    EXPECT_EQ(record.node, "node-1") << "record " << record.seq;
    saw_checkpoint |= record.type == RecordType::kCheckpoint;
  }
  EXPECT_TRUE(saw_checkpoint);
  // The member sits right after "type", as record.h documents.
  EXPECT_NE(Lines().front().find("\"type\":\"event\",\"node\":\"node-1\",\"action\":"),
            std::string::npos)
      << Lines().front();
  audit::VerifyReport report = VerifyLog();
  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_EQ(report.node, "node-1");
  EXPECT_EQ(audit::NodeNameOfLog(LogDir()).value_or("?"), "node-1");
}

TEST_F(AuditNodeTest, ALogWithoutANodeNameIsWrittenAsBefore) {
  WriteLog("", 3);
  for (const std::string& line : Lines()) {
    EXPECT_EQ(line.find("\"node\""), std::string::npos) << line;
  }
  audit::VerifyReport report = VerifyLog();
  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_EQ(report.node, "");
  EXPECT_EQ(audit::NodeNameOfLog(LogDir()).value_or("?"), "");
  EXPECT_EQ(audit::NodeNameOfLog(dir_.Join("no-such-log")).value_or("?"), "");
}

TEST_F(AuditNodeTest, OpenRefusesAnotherNodesLogAndWritesNothing) {
  WriteLog("node-1", 2);
  const std::string before = ReadFileBytes(CurrentFile());
  ExpectRefused(Open(NodeOptions("node-2")), "belongs to node \"node-1\", not \"node-2\"");
  ExpectRefused(Open(NodeOptions("")), "set [cluster] node_name = \"node-1\"");
  EXPECT_EQ(ReadFileBytes(CurrentFile()), before) << "a refused start writes nothing";
  // Its own node opens it again.
  auto again = Open(NodeOptions("node-1"));
  EXPECT_OK(again);
}

TEST_F(AuditNodeTest, AnUnnamedLogIsNamedOnceWithARecordThatSaysSo) {
  WriteLog("", 2);
  const std::size_t unnamed = Records().size();
  // The single-node anchor is found by the named node (it falls back), so
  // an appliance that joins a cluster keeps its log.
  WriteLog("node-1", 2);
  std::vector<ParsedLine> records = Records();
  ASSERT_GT(records.size(), unnamed);
  for (std::size_t i = 0; i < unnamed; ++i) EXPECT_EQ(records[i].node, "") << i;
  EXPECT_EQ(records[unnamed].action, audit::kNodeNamedAction);
  for (std::size_t i = unnamed; i < records.size(); ++i) EXPECT_EQ(records[i].node, "node-1") << i;
  audit::VerifyReport report = VerifyLog();
  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_EQ(report.node, "node-1");
  // Once named, the name cannot be dropped.
  ExpectRefused(Open(NodeOptions("")), "belongs to node \"node-1\"");
  auto named_anchor = crypto::ReadTrustAnchor(*token_, "node-1");
  ASSERT_OK(named_anchor);
  EXPECT_TRUE(named_anchor->has_value()) << "the named node anchors under its own label";
}

TEST_F(AuditNodeTest, TheVerifierFailsALineThatNamesAnotherNode) {
  WriteLog("node-1", 6);
  std::vector<std::string> lines = Lines();
  ASSERT_GT(lines.size(), 4u);
  lines[3] = ChangeNode(lines[3], "node-1", "node-2");
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), text));
  audit::VerifyReport report = VerifyLog();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 4u);
  EXPECT_NE(report.problem.find("node \"node-2\""), std::string::npos) << report.problem;
  // Open refuses it as well (the chain walk applies the same rule).
  auto log = Open(NodeOptions("node-1"));
  ASSERT_STATUS(log, StatusCode::kIntegrityError);
}

TEST_F(AuditNodeTest, TheVerifierFailsAnUnnamedLineAfterNamedOnes) {
  WriteLog("node-1", 3);
  std::vector<std::string> lines = Lines();
  // An unnamed line appended (a log of another appliance spliced on): its
  // own hash and link are right.
  auto last = audit::ParseLine(lines.back());
  ASSERT_OK(last);
  audit::Event event = UserEvent("spliced:event");
  std::string hash;
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  text += audit::EncodeLine(last->seq + 1, "2026-12-06T00:00:00.000000Z", RecordType::kEvent,
                            &event, nullptr, std::nullopt, last->hash, &hash);
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), text));
  audit::VerifyReport report = VerifyLog();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, last->seq + 1);
  EXPECT_NE(report.problem.find("names no node"), std::string::npos) << report.problem;
}

TEST_F(AuditNodeTest, NodesSharingOneTokenKeepTheirOwnAnchors) {
  const std::string a = dir_.Join("a-audit"), b = dir_.Join("b-audit");
  WriteLog("node-a", 2, a);
  WriteLog("node-b", 4, b);
  auto anchor_a = crypto::ReadTrustAnchor(*token_, "node-a");
  auto anchor_b = crypto::ReadTrustAnchor(*token_, "node-b");
  auto single = crypto::ReadTrustAnchor(*token_);
  ASSERT_OK(anchor_a);
  ASSERT_OK(anchor_b);
  ASSERT_OK(single);
  ASSERT_TRUE(anchor_a->has_value());
  ASSERT_TRUE(anchor_b->has_value());
  EXPECT_NE((*anchor_a)->log_id, (*anchor_b)->log_id);
  EXPECT_FALSE(single->has_value()) << "the single-node label is not used by named nodes";
  // Each node's log opens again against its own anchor: had they shared
  // one, the second node's log id would not match.
  EXPECT_OK(Open(NodeOptions("node-a", a)));
  EXPECT_OK(Open(NodeOptions("node-b", b)));
  // And node-b does not take node-a's log.
  ExpectRefused(Open(NodeOptions("node-b", a)), "belongs to node \"node-a\"");
}

}  // namespace
}  // namespace strongroom::testing_support
