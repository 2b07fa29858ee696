// jitctl completion bash|zsh: prints a completion script. Commands, their sub-command words and
// their flags come from one table, so both shells offer the same.
#include <cstdio>
#include <string>
#include <vector>

#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace {

constexpr const char* kHelp =
    "usage: jitctl completion bash|zsh\n"
    "  Prints a shell completion script for commands, sub-commands and flags.\n"
    "  bash:  source <(jitctl completion bash)     (or save it in\n"
    "         ~/.local/share/bash-completion/completions/jitctl)\n"
    "  zsh:   source <(jitctl completion zsh)      (or save it as _jitctl in a folder of $fpath)\n";

struct Entry {
  const char* command;
  const char* description;
  const char* words;  // sub-command words, space-separated
  const char* flags;
};

// Keep in step with each command's --help.
constexpr Entry kCommands[] = {
    {"token", "print an access token", "",
     "--ticket --audience --scope --grant --ttl --json"},
    {"cert", "get a certificate; the key is made here", "",
     "--ticket --cert-out --key-out --chain-out --grant --ttl --key-type --client-cert "
     "--client-key --json"},
    {"exec", "run a command with a token", "", "--ticket --audience --scope --grant --ttl"},
    {"db", "run a command (psql) with a PostgreSQL login", "", "--ticket --grant --ttl"},
    {"agent", "keep a certificate fresh", "",
     "--ticket --cert-out --key-out --chain-out --grant --ttl --key-type --client-cert "
     "--client-key --on-renew --signal --pid-file --ready-file --once --remove-on-exit --json"},
    {"ssh", "ssh with a certificate, revoked when ssh ends", "",
     "--ticket --key --grant --ttl --agent"},
    {"ssh-cert", "an SSH certificate for a public key", "",
     "--ticket --public-key --out --grant --ttl --agent --json"},
    {"leases", "list leases (admin)", "", "--ticket --state --subject --grant --json"},
    {"lease", "show one lease (admin)", "show", "--json"},
    {"revoke", "revoke leases (admin)", "", "--ticket --subject --grant --dry-run --json"},
    {"reviews", "break-glass leases to review (admin)", "", "--json"},
    {"tickets", "a ticket and its leases (admin)", "show", "--json"},
    {"introspect", "is a token active (admin)", "", "--json"},
    {"keys", "rotate the token-signing key (admin)", "rotate", "--json"},
    {"policy", "check, explain or reload policies", "check explain reload",
     "--policies --ticket --claims --kind --grant --audience --scope --ttl --at --json"},
    {"audit", "verify or export the audit log", "verify export", "--prev --config --json"},
    {"dev", "dev broker helpers", "ticket subject-token",
     "--id --state --subject --access --window --approver --requester --kind --no-approval "
     "--sub --claim --ttl --audience --json"},
    {"completion", "print a shell completion script", "bash zsh", ""},
    {"version", "print the version", "", "--json"},
};
constexpr const char* kGlobals =
    "--broker --ca-file --subject-token-file --subject-token-env --subject-audience --data-dir "
    "--help";

// "--broker|--ca-file|...": the global flags that take a value, as a shell case pattern.
std::string valueFlagsPattern() {
  std::string out;
  for (const auto& f : kGlobalFlags) out += (out.empty() ? "" : "|") + f;
  return out;
}

// One case arm per command, `    NAME) VAR=OPEN<list>CLOSE ;;`: the shells differ only in how
// a list is written. Commands with an empty list get an arm only when `empty_too`.
std::string caseArms(const char* var, const char* open, const char* close,
                     const char* Entry::*list, bool empty_too) {
  std::string out;
  for (const auto& e : kCommands)
    if (empty_too || *(e.*list))
      out += std::string("    ") + e.command + ") " + var + "=" + open + e.*list + close + " ;;\n";
  return out;
}

std::string bashScript() {
  std::string names;
  for (const auto& e : kCommands) names += std::string(names.empty() ? "" : " ") + e.command;
  const std::string subs = caseArms("subs", "\"", "\"", &Entry::words, false);
  const std::string flags = caseArms("flags", "\"", "\"", &Entry::flags, true);
  // The command is the first word that is not a global flag or a global flag's value.
  return "# bash completion for jitctl (jitctl completion bash)\n"
         "_jitctl() {\n"
         "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" subs=\"\" flags=\"\" at=0 i\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    case \"${COMP_WORDS[i]}\" in\n"
         "      " + valueFlagsPattern() + ") ((i++)) ;;\n"
         "      -*) ;;\n"
         "      *) at=$i; break ;;\n"
         "    esac\n"
         "  done\n"
         "  if [ \"$at\" -eq 0 ]; then\n"
         "    if [[ \"$cur\" == -* ]]; then\n"
         "      COMPREPLY=($(compgen -W \"" + kGlobals + " --version\" -- \"$cur\"))\n"
         "    else\n"
         "      COMPREPLY=($(compgen -W \"" + names + "\" -- \"$cur\"))\n"
         "    fi\n"
         "    return\n"
         "  fi\n"
         "  case \"${COMP_WORDS[at]}\" in\n" + subs + "  esac\n"
         "  if [ \"$COMP_CWORD\" -eq $((at + 1)) ] && [ -n \"$subs\" ] && [[ \"$cur\" != -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
         "    return\n"
         "  fi\n"
         "  if [[ \"$cur\" == -* ]]; then\n"
         "    case \"${COMP_WORDS[at]}\" in\n" + flags + "    esac\n"
         "    COMPREPLY=($(compgen -W \"$flags " + kGlobals + "\" -- \"$cur\"))\n"
         "    return\n"
         "  fi\n"
         "  COMPREPLY=($(compgen -f -- \"$cur\"))\n"
         "}\n"
         "complete -o filenames -F _jitctl jitctl\n";
}

std::string zshScript() {
  std::string described;
  for (const auto& e : kCommands)
    described += std::string("    '") + e.command + ":" + e.description + "'\n";
  const std::string subs = caseArms("subs", "(", ")", &Entry::words, false);
  const std::string flags = caseArms("flags", "(", ")", &Entry::flags, true);
  return "#compdef jitctl\n"
         "# zsh completion for jitctl (jitctl completion zsh)\n"
         "_jitctl() {\n"
         "  local -a commands subs flags\n"
         "  local at=0 i\n"
         "  commands=(\n" + described + "  )\n"
         "  for ((i = 2; i < CURRENT; i++)); do\n"
         "    case $words[i] in\n"
         "      " + valueFlagsPattern() + ") ((i++)) ;;\n"
         "      -*) ;;\n"
         "      *) at=$i; break ;;\n"
         "    esac\n"
         "  done\n"
         "  if (( at == 0 )); then\n"
         "    if [[ $words[CURRENT] == -* ]]; then compadd -- " + kGlobals + " --version\n"
         "    else _describe 'command' commands; fi\n"
         "    return\n"
         "  fi\n"
         "  case $words[at] in\n" + subs + "  esac\n"
         "  if (( CURRENT == at + 1 )) && (( ${#subs} )) && [[ $words[CURRENT] != -* ]]; then\n"
         "    compadd -- $subs\n"
         "    return\n"
         "  fi\n"
         "  if [[ $words[CURRENT] == -* ]]; then\n"
         "    case $words[at] in\n" + flags + "    esac\n"
         "    compadd -- $flags " + kGlobals + "\n"
         "    return\n"
         "  fi\n"
         "  _files\n"
         "}\n"
         "if [[ $funcstack[1] == _jitctl ]]; then _jitctl \"$@\"; else compdef _jitctl jitctl; fi\n";
}

}  // namespace

int cmdCompletion(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kHelp, {}, {}, a, code, /*json=*/false)) return code;
  if (a.positional().size() != 1) return usage("completion takes bash or zsh", kHelp);
  const std::string& shell = a.positional()[0];
  if (shell == "bash") std::fputs(bashScript().c_str(), stdout);
  else if (shell == "zsh") std::fputs(zshScript().c_str(), stdout);
  else return usage("completion takes bash or zsh, not '" + shell + "'", kHelp);
  return kOk;
}

}  // namespace jitb::jitctl
