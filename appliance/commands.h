// appliance/commands.h — one function per command; each returns a Status
// whose message cli.cc prints on stderr. Private to appliance/.
#pragma once

#include <string>

#include "appliance/environment.h"
#include "base/status.h"

namespace strongroom::appliance {

Status RunInit(const CommonFlags& flags, const std::string& admin_password_file);
Status RunKeysList(const CommonFlags& flags);
Status RunBackup(const CommonFlags& flags, const std::string& to_dir);
Status RunRestore(const CommonFlags& flags, const std::string& from_dir);

}  // namespace strongroom::appliance
