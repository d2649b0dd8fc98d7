// appliance/appliance.h — the `strongroom` command: CLI, wiring of the
// modules, process hardening. Read this first.
//
//   cli.cc           the command tree (CLI11) and its flags
//   environment.h    opening what a command needs: secure arena, data
//                    directory (owner check), token, store, keyring
//   init_command.cc  `strongroom init`
//   keys_command.cc  `strongroom keys list`
//   backup_command.cc `strongroom backup` / `strongroom restore`
//
// appliance/ is the only place that names concrete classes of the other
// modules and wires them together.
#pragma once

namespace strongroom::appliance {

// RunStrongroom runs the command line and returns the process exit status:
// 0 on success; 1 when the command failed (the reason is on stderr); 2 for
// a usage error.
int RunStrongroom(int argc, char** argv);

}  // namespace strongroom::appliance
