"""A real sshd from Debian's openssh-server on 127.0.0.1, run as OpenSSH's own regress tests
run it: a temp host key and config, the absolute path, -D -e, a free port, StrictModes no, as
the current user. It trusts the broker's SSH CA (TrustedUserCAKeys), admits the principals in
its AuthorizedPrincipalsFile, and refuses what the KRL file (RevokedKeys) lists; sshd reads
that file again on every authentication, so replacing it is a refresh.

As root, sshd wants its privilege-separation folder /run/sshd; rather than create it on the
machine, sshd runs in a private mount namespace with a tmpfs of its own on /run."""
import getpass
import os
import socket
import subprocess
import time

SSHD = "/usr/sbin/sshd"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    def __init__(self, directory, ca_pub, principals, krl_bytes):
        self.dir = os.path.join(directory, "sshd")
        os.makedirs(os.path.join(self.dir, "principals"), exist_ok=True)
        self.user = getpass.getuser()
        self.host_key = os.path.join(self.dir, "host_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.host_key],
                       check=True, capture_output=True)
        self.ca_file = os.path.join(self.dir, "user_ca.pub")
        with open(self.ca_file, "w") as f:
            f.write(ca_pub)
        with open(os.path.join(self.dir, "principals", self.user), "w") as f:
            f.write("".join(p + "\n" for p in principals))
        self.krl_file = os.path.join(self.dir, "revoked.krl")
        self.set_krl(krl_bytes)
        self.port = free_port()
        self.log = os.path.join(self.dir, "sshd.log")
        cfg = os.path.join(self.dir, "sshd_config")
        with open(cfg, "w") as f:
            f.write("\n".join([
                "Port %d" % self.port, "ListenAddress 127.0.0.1", "HostKey " + self.host_key,
                "PidFile " + os.path.join(self.dir, "sshd.pid"), "StrictModes no", "UsePAM no",
                "PermitRootLogin yes", "AuthorizedKeysFile none",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes", "TrustedUserCAKeys " + self.ca_file,
                "AuthorizedPrincipalsFile " + os.path.join(self.dir, "principals", "%u"),
                "RevokedKeys " + self.krl_file, "LogLevel VERBOSE", "MaxStartups 100",
                "MaxAuthTries 2", ""]))
        cmd = [SSHD, "-D", "-e", "-f", cfg]
        if os.geteuid() == 0:
            cmd = ["unshare", "--mount", "sh", "-c",
                   "mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && "
                   "exec \"$@\"", "sshd"] + cmd
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("sshd did not start: " + open(self.log).read())

    def set_krl(self, krl_bytes):
        """Replaces the KRL atomically, as a fetcher must: sshd refuses every key while the
        file is unreadable or half-written."""
        tmp = self.krl_file + ".tmp"
        with open(tmp, "wb") as f:
            f.write(krl_bytes)
        os.replace(tmp, self.krl_file)

    def ssh_args(self, key, cert=None, user=None):
        args = ["ssh", "-F", "/dev/null", "-p", str(self.port), "-i", key,
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "PasswordAuthentication=no", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=10"]
        if cert:
            args += ["-o", "CertificateFile=" + cert]
        return args + ["-l", user or self.user, "127.0.0.1"]

    def run(self, key, cert, command="echo hello-from-sshd"):
        return subprocess.run(self.ssh_args(key, cert) + [command], capture_output=True,
                              text=True, timeout=30)

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
