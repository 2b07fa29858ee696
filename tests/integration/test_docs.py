"""Every documented command runs as written: the ```sh / ```bash blocks of the README and of
docs/getting-started.md, in order, in one bash session, against a fresh `jitbroker dev`.

The session runs in a temporary folder that looks like a checkout after `scripts/dev`: the
repository's folders linked in, `build` holding links to the binaries under test (JITBROKER_BIN,
JITCTL_BIN; also first on PATH) and the broker's data in `./var`. The one rewrite: the doc's
`127.0.0.1:8443` becomes the test broker's port, as tests must not take a fixed port.

A block preceded by `<!-- not run: REASON -->` is skipped (the install scripts themselves).
A command exits 0 unless it ends with a comment `# exit N`, which names the exit code it must
have. A failure names the file and line of the block, the command and its output."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from brokerproc import Broker

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN_DIR = os.path.dirname(os.path.abspath(os.environ.get("JITBROKER_BIN", os.path.join(ROOT, "build", "jitbroker"))))
DOCS = ["README.md", os.path.join("docs", "getting-started.md")]
DOC_PORT = "127.0.0.1:8443"

FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
NOT_RUN = re.compile(r"^\s*<!--\s*not run:\s*(.+?)\s*-->\s*$")
EXPECT = re.compile(r"#\s*exit\s+(\d+)\b[^\n]*$")
HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")


def extract_blocks(path):
    """[(line, text, skip_reason or None)] for each ```sh / ```bash block of a Markdown file."""
    blocks = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = len(m.group(1)), m.group(2), i
        i += 1
        body = []
        while i < len(lines) and not FENCE.match(lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        i += 1  # the closing fence
        if lang not in ("sh", "bash"):
            continue
        prev = start - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        skip = NOT_RUN.match(lines[prev]) if prev >= 0 else None
        blocks.append((start + 1, "\n".join(body), skip.group(1) if skip else None))
    return blocks


def split_commands(block):
    """[(command text, expected exit code)]: continuation lines and heredocs stay together."""
    cmds = []
    lines = block.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].strip() or lines[i].lstrip().startswith("#"):
            i += 1
            continue
        cmd = [lines[i]]
        while cmd[-1].endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd.append(lines[i])
        for h in HEREDOC.finditer("\n".join(cmd)):
            while i + 1 < len(lines):
                i += 1
                cmd.append(lines[i])
                if lines[i].strip() == h.group(1):
                    break
        m = EXPECT.search(cmd[0] if len(cmd) == 1 else cmd[-1]) or EXPECT.search(cmd[0])
        cmds.append(("\n".join(cmd), int(m.group(1)) if m else 0))
        i += 1
    return cmds


def run_docs(docs, cwd, env, replace=None, timeout=120):
    """Runs the docs' blocks in one bash session. Returns None, or a message naming the failing
    block, command, exit code and the output of the block so far."""
    script, index = ["set +e"], []
    for doc in docs:
        for line, text, skip in extract_blocks(doc):
            if skip:
                continue
            for cmd, expect in split_commands(text):
                n = len(index)
                index.append((doc, line, text, cmd, expect))
                for a, b in (replace or {}).items():
                    cmd = cmd.replace(a, b)
                script += ["printf '\\n@@doc-cmd %d\\n'" % n, cmd,
                           "__rc=$?; if [ $__rc -ne %d ]; then printf '\\n@@doc-fail %d %%s\\n' $__rc; exit 100; fi"
                           % (expect, n)]
    script.append("printf '\\n@@doc-done\\n'")
    # From a file, with no stdin: a command reading stdin must not eat the rest of the script.
    fd, path = tempfile.mkstemp(prefix="jitb-doc-", suffix=".sh")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(script) + "\n")
    # Its own process group: a command that never ends (a server started in the foreground) is
    # killed with everything it started, and reported like a failure.
    proc = subprocess.Popen(["bash", "--noprofile", "--norc", path], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = "timeout"
    finally:
        os.unlink(path)
    if "@@doc-done" in out and code == 0:
        return None
    m = re.search(r"@@doc-fail (\d+) (\d+)", out)
    started = [int(x) for x in re.findall(r"@@doc-cmd (\d+)", out)]
    n = int(m.group(1)) if m else (started[-1] if started else 0)
    doc, line, text, cmd, expect = index[n]
    rc = m.group(2) if m else ("no code: still running after %d s" % timeout if code == "timeout"
                               else "%s (the session ended)" % code)
    first = min(k for k, e in enumerate(index) if e[0] == doc and e[1] == line)
    pos = out.find("@@doc-cmd %d\n" % first)
    output = re.sub(r"\n?@@doc-(cmd|fail)[^\n]*\n", "\n", out[pos:] if pos >= 0 else out)
    return ("%s:%d: `%s` exited %s, the doc says %d\n--- the block:\n%s\n--- its output:\n%s"
            % (os.path.relpath(doc, ROOT), line, cmd, rc, expect, text, output.strip()[-4000:]))


def session_env(path_first):
    env = dict(os.environ, PATH=path_first + os.pathsep + os.environ.get("PATH", ""))
    for k in list(env):
        if k.startswith("JITBROKER_"):
            del env[k]
    return env


class DocsTest(unittest.TestCase):
    def test_documented_commands_run_as_written(self):
        b = Broker(data_dir=None)
        # A checkout after scripts/dev: the repository's folders, ./build and ./var.
        for name in os.listdir(ROOT):
            if name.startswith(("build", ".")) or name == "var":
                continue
            os.symlink(os.path.join(ROOT, name), os.path.join(b.tmp, name))
        # Only the two binaries: a build script run by mistake must not reconfigure the real tree.
        os.mkdir(os.path.join(b.tmp, "build"))
        for name in ("jitbroker", "jitctl"):
            os.symlink(os.path.join(BIN_DIR, name), os.path.join(b.tmp, "build", name))
        self.addCleanup(b.cleanup)
        b.start()
        port = "127.0.0.1:%d" % b.port
        err = run_docs([os.path.join(ROOT, d) for d in DOCS], b.tmp, session_env(BIN_DIR),
                       replace={DOC_PORT: port})
        self.assertIsNone(err, err)

    def test_every_doc_has_a_block_and_skips_say_why(self):
        for d in DOCS:
            blocks = extract_blocks(os.path.join(ROOT, d))
            self.assertTrue(blocks, d)
            for line, _, skip in blocks:
                self.assertTrue(skip is None or skip.strip(), "%s:%d" % (d, line))
        self.assertTrue(any(skip is None for _, _, skip in extract_blocks(os.path.join(ROOT, DOCS[1]))))

    def test_the_dev_banner_commands_leave_a_session_that_can_ask_again(self):
        """The banner's `try it` lines pasted into a shell, then one more `jitctl token`: the
        subject token must still be set (it was set for one command only: exit 2)."""
        b = Broker().start()
        self.addCleanup(b.cleanup)
        banner = b.banner.decode()
        lines = banner.split("try it:\n", 1)[1].split("\n\n", 1)[0].split("\n")
        lines = [l.strip() for l in lines if l.strip()]
        self.assertTrue(any("token --ticket CHG0001" in l for l in lines), banner)
        jitctl = [l for l in lines if "token --ticket CHG0001" in l][-1].split()[0]
        if "JITBROKER_SUBJECT_TOKEN=" in jitctl:  # the command's own assignment
            jitctl = os.path.join(BIN_DIR, "jitctl")
        script = "\n".join(["set -e"] + lines + ["%s token --ticket CHG0001 >/dev/null" % jitctl]) + "\n"
        r = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], cwd=b.tmp,
                           stdin=subprocess.DEVNULL,
                           env=session_env(BIN_DIR), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, "banner:\n%s\nstderr:\n%s" % (banner, r.stderr))


class RunnerTest(unittest.TestCase):
    """The runner itself: it must be able to fail, skip only what is marked, and check codes."""

    def run_md(self, text, timeout=30):
        d = tempfile.mkdtemp(prefix="jitb-doc-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "t.md")
        with open(path, "w") as f:
            f.write(text)
        return run_docs([path], d, session_env(BIN_DIR), timeout=timeout)

    def test_a_failing_command_fails_with_its_block_and_output(self):
        err = self.run_md("x\n\n```sh\nexport A=1\necho seen-$A\nfalse\necho never\n```\n")
        self.assertIsNotNone(err)
        self.assertIn("t.md:3: `false` exited 1, the doc says 0", err)
        self.assertIn("seen-1", err)
        self.assertNotIn("never", err.split("its output:")[1])

    def test_state_carries_over_and_exit_codes_are_checked(self):
        ok = "```bash\nexport A=1\n```\n\n   ```sh\n   [ \"$A\" = 1 ] && \\\n     (exit 5)   # exit 5\n   ```\n"
        self.assertIsNone(self.run_md(ok))
        err = self.run_md("```sh\n(exit 4)   # exit 5: closed\n```\n")
        self.assertIn("exited 4, the doc says 5", err)

    def test_only_marked_blocks_are_skipped(self):
        self.assertIsNone(self.run_md("<!-- not run: installs -->\n```sh\nfalse\n```\n```text\nfalse\n```\n"))
        self.assertIsNotNone(self.run_md("<!-- a comment -->\n```sh\nfalse\n```\n"))

    def test_a_command_that_never_ends_is_reported_and_killed(self):
        err = self.run_md("```sh\necho started\nsleep 300 & sleep 300\n```\n", timeout=2)
        self.assertIn("`sleep 300 & sleep 300` exited no code: still running after 2 s", err)
        self.assertIn("started", err)

    def test_heredocs_stay_one_command(self):
        self.assertIsNone(self.run_md("```sh\ncat > f.json <<'EOF'\n{\"a\": 1}\nEOF\ngrep -q '\"a\"' f.json\n```\n"))


class ExplainInputTest(unittest.TestCase):
    """getting-started step 4: what a newcomer passes to `jitctl policy explain`."""

    def explain(self, ticket, claims):
        d = tempfile.mkdtemp(prefix="jitb-explain-")
        self.addCleanup(shutil.rmtree, d, True)
        paths = []
        for name, text in (("ticket.json", ticket), ("claims.json", claims)):
            paths.append(os.path.join(d, name))
            if text is not None:
                with open(paths[-1], "w") as f:
                    f.write(text)
        return subprocess.run([os.path.join(BIN_DIR, "jitctl"), "policy", "explain", "--policies",
                               os.path.join(ROOT, "policies", "default"), "--ticket", paths[0],
                               "--claims", paths[1]], capture_output=True, text=True, timeout=30)

    TICKET = ('{"id":"CHG0001","state":"approved","kind":"normal","requested_by":"r@x",'
              '"approved_by":["a@x"],"subjects":["alice"],"access":["deploy"],'
              '"window":{"start":"2026-01-01T00:00:00Z","end":"2099-01-01T00:00:00Z"},'
              '"updated_at":"2026-01-01T00:00:00Z"%s}')
    CLAIMS = '{"iss": "jitbroker-dev", "sub": "alice"}'

    def test_a_missing_file_is_named_as_missing(self):
        r = self.explain(None, self.CLAIMS)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("ticket.json: cannot read it: No such file or directory", r.stderr)
        self.assertNotIn("must be JSON files", r.stderr)
        r = self.explain(self.TICKET % "", "{")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("claims.json: not JSON", r.stderr)

    def test_the_output_of_tickets_show_json_is_accepted(self):
        leases = ',"leases":[{"id":"l1"}],"leases_truncated":false'
        r = self.explain(self.TICKET % leases, self.CLAIMS)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("decision: allowed (grant deploy", r.stdout)
        r = self.explain(self.TICKET % ',"lease":[]', self.CLAIMS)  # other keys: still refused
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown key 'lease'", r.stderr)


class DevScriptTest(unittest.TestCase):
    """`scripts/dev` (not run by the doc-runner: it installs and builds) builds only the two
    binaries it runs. Played with stand-ins for setup, cmake and the broker it starts."""

    def test_scripts_dev_builds_only_what_it_runs(self):
        d = tempfile.mkdtemp(prefix="jitb-dev-")
        self.addCleanup(shutil.rmtree, d, True)
        os.makedirs(os.path.join(d, "scripts"))
        os.makedirs(os.path.join(d, "stand-ins"))
        for name in ("dev", "build"):
            shutil.copy(os.path.join(ROOT, "scripts", name), os.path.join(d, "scripts", name))
        log = os.path.join(d, "calls.log")
        stand_ins = {
            os.path.join(d, "scripts", "setup"): "exit 0",
            # cmake records its arguments; a build leaves a jitbroker that records its own.
            os.path.join(d, "stand-ins", "cmake"):
                ('echo "cmake $*" >> %s\n'
                 'if [ "$1" = --build ]; then\n'
                 '  mkdir -p "$2"\n'
                 '  printf \'#!/bin/sh\\necho "jitbroker $*" >> %s\\n\' > "$2/jitbroker"\n'
                 '  chmod +x "$2/jitbroker"\n'
                 'fi') % (log, log),
        }
        for path, body in stand_ins.items():
            with open(path, "w") as f:
                f.write("#!/bin/sh\n" + body + "\n")
            os.chmod(path, 0o755)
        env = dict(os.environ, PATH=os.path.join(d, "stand-ins") + os.pathsep + os.environ["PATH"])
        r = subprocess.run([os.path.join(d, "scripts", "dev"), "--listen", "127.0.0.1:9443"],
                           env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(log) as f:
            calls = f.read().splitlines()
        builds = [c for c in calls if c.startswith("cmake --build")]
        self.assertEqual(len(builds), 1, calls)
        self.assertTrue(builds[0].endswith("--target jitbroker jitctl"), builds[0])
        self.assertIn("jitbroker dev --listen 127.0.0.1:9443", calls)


if __name__ == "__main__":
    unittest.main()
