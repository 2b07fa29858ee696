#!/usr/bin/env python3
"""Layering check: which module may include which (docs/architecture.md#layers).

Reads every tracked C++ file (git ls-files) and fails, naming file and line, when an include
crosses a layer the wrong way, or when the modules' includes form a cycle. The per-module
include folders make most such mistakes fail to compile; this names the rule that was broken,
and also covers headers that no target compiles yet.

Usage: check_layering.py [REPO_ROOT]
"""
import re
import subprocess
import sys
from pathlib import Path

# (module whose files are checked, forbidden include prefixes, why)
RULES = [
    ("ca/", ["broker/", "policies/"], "the CA depends on OpenSSL only"),
    ("policies/", ["broker/", "ca/"], "the policy engine is pure: no broker or CA code"),
    ("broker/core/", ["broker/", "ca/", "policies/", "clients/"],
     "core is the bottom layer (it may include only broker/core/)"),
    ("broker/store/", ["broker/leases/", "broker/tickets/", "broker/http/", "broker/api/",
                       "broker/issuing/"],
     "the store knows records, not the modules that write them"),
    ("broker/tickets/", ["broker/leases/"],
     "tickets reach their leases through tickets::LeaseEvents, which the lease side implements"),
    ("broker/issuing/", ["broker/http/", "broker/api/", "broker/server/"],
     "issuing knows no HTTP: the wire adapters in api/ call it"),
    ("broker/downstream/", ["broker/http/", "broker/api/", "broker/server/", "broker/issuing/",
                            "broker/leases/", "broker/tickets/"],
     "downstream reaches outside systems from the store's jobs; it knows no caller of it"),
    ("broker/acme/", ["broker/http/", "broker/api/", "broker/server/"],
     "ACME protocol state knows no HTTP server: its adapter, api/acme_api, calls it"),
    ("broker/keystore/", ["broker/http/", "broker/api/", "broker/server/", "broker/issuing/",
                          "broker/leases/", "broker/tickets/"],
     "the key store seals keys into the store; it knows no HTTP and no caller of it"),
    ("broker/operators/", ["broker/http/", "broker/api/", "broker/server/", "broker/issuing/"],
     "operator tokens know no HTTP (api/admin checks roles with them) and no issuance"),
]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE = re.compile(r"\.(h|hh|hpp|cc|cpp)$")


def module_of(path):
    """The module a path belongs to: broker/<name>/, clients/<name>/, policies/<name>/, ca/."""
    parts = path.split("/")
    if parts[0] in ("broker", "clients", "policies") and len(parts) > 2:
        return parts[0] + "/" + parts[1] + "/"
    if parts[0] == "ca" and len(parts) > 1:
        return "ca/"
    return None


def allowed_exception(rule_module, path, include):
    # core/ may include itself.
    return rule_module == "broker/core/" and include.startswith("broker/core/")


def find_cycle(edges):
    """A cycle in the module graph as a list of modules, or None."""
    state = {}
    stack = []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            if state.get(n) == "open":
                return stack[stack.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        state[m] = "done"
        stack.pop()
        return None

    for m in sorted(edges):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    files = subprocess.run(["git", "-C", str(root), "ls-files", "broker", "ca", "policies",
                            "clients"], check=True, capture_output=True, text=True).stdout.split()
    errors = []
    edges = {}
    for path in files:
        if not SOURCE.search(path):
            continue
        text = (root / path).read_text(encoding="utf-8", errors="replace")
        for lineno, line in enumerate(text.splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            include = m.group(1)
            for module, forbidden, why in RULES:
                if not path.startswith(module) or allowed_exception(module, path, include):
                    continue
                for prefix in forbidden:
                    if include.startswith(prefix):
                        errors.append(f"{path}:{lineno}: includes \"{include}\": {module} "
                                      f"must include nothing from {prefix} ({why})")
            src, dst = module_of(path), module_of(include)
            if src and dst and src != dst:
                edges.setdefault(src, set()).add(dst)
    cycle = find_cycle(edges)
    if cycle:
        errors.append("the modules' includes form a cycle: " + " -> ".join(cycle))
    for e in errors:
        print(e)
    if errors:
        return 1
    print(f"layering: {len(files)} files, {len(RULES)} rules, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
