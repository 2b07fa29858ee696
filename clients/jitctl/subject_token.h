// Finding the caller's own identity token (issue: jitctl), in this order: --subject-token-file,
// JITBROKER_SUBJECT_TOKEN, GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN), GitLab CI
// (the id_tokens variable named by --subject-token-env, default JITBROKER_ID_TOKEN), and the
// Kubernetes projected service-account token file.
#pragma once

#include <string>

#include "broker/core/status.h"
#include "clients/lib/args.h"

namespace jitb::jitctl {

core::StatusOr<std::string> findSubjectToken(const client::Args& args);

}  // namespace jitb::jitctl
