// `profile doctor`: checks what this machine lets this user profile and prints one line per
// check — a status word (ok, warn, fail), what was found, and the command that changes it —
// read from the live system (sysctls, capabilities, a real perf_event_open of what
// `profile -a` opens, tracefs, libc's code and debug files, seccomp and namespaces).
//
//   $ profile doctor
//   ok    system-wide sampling: 'profile -a' opened cycles on 2 CPUs with call graphs
//   warn  kernel symbols: /proc/kallsyms shows zero addresses (kernel.kptr_restrict=1) ...
//
// Exit status 0 when a plain `profile -a` would work for this user, 1 when it would not.
#pragma once

namespace prof::app {

int doctor_command(int argc, char** argv);

}  // namespace prof::app
