#include "broker/http/metric_labels.h"

#include <gtest/gtest.h>

#include <set>

namespace jitb::http {
namespace {

TEST(MetricLabels, KnownMethodsAreThemselves) {
  for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
    EXPECT_EQ(methodLabel(m), m);
}

TEST(MetricLabels, AnyOtherMethodIsOther) {
  std::set<std::string_view> labels;
  for (int i = 0; i < 2000; ++i) labels.insert(methodLabel("FOO" + std::to_string(i)));
  labels.insert(methodLabel("get"));  // methods are case-sensitive
  labels.insert(methodLabel(""));
  labels.insert(methodLabel("CONNECT"));
  EXPECT_EQ(labels, std::set<std::string_view>{"other"});
}

TEST(MetricLabels, StatusIsAValidCodeOrOther) {
  EXPECT_EQ(statusLabel(200), "200");
  EXPECT_EQ(statusLabel(599), "599");
  EXPECT_EQ(statusLabel(99), "other");
  EXPECT_EQ(statusLabel(600), "other");
  EXPECT_EQ(statusLabel(-1), "other");
}

}  // namespace
}  // namespace jitb::http
