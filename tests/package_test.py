#!/usr/bin/env python3
"""The Debian package, for real: cpack builds it, apt-get installs it, the installed imgpipe runs.

Usage: IMGPIPE_PACKAGE_TEST=1 package_test.py CPACK BUILD_DIR FIXTURE_SERVER VERSION

It installs into /usr, so it runs only when asked (IMGPIPE_PACKAGE_TEST=1: .ci/run's release
phase), as root; otherwise it is skipped (exit 77). Asked and unable (not root, imgpipe already
installed, no dpkg-shlibdeps), it fails: CI must not pass without it.

1. `cpack -G DEB` makes imgpipe_VERSION_ARCH.deb; its Depends names the package of every shared
   library the binary links (read from the binary itself, so an empty dpkg-shlibdeps result fails).
2. `apt-get install ./imgpipe_....deb`, and nothing else: every dependency is already here.
3. /usr/bin/imgpipe is the package's own file (dpkg -S, same bytes as in the .deb, --version) and
   makes thumbnails of a small list served by imgpipe-fixture-server on loopback: exit 1 for the
   one 404 line, one manifest row per line, the ok rows' JPEGs on disk within the box.
4. `man -w imgpipe` finds the installed page, and `man imgpipe` shows it; the installed bash
   completion completes a command word with the installed binary.
5. `apt-get purge` takes it out again, on every way out: the installed packages are as before and
   none of its files is left.
"""

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
BOX = 64  # -s 64: thumbnails fit 64x64
IMAGES = ["/image/320x240.jpg", "/image/200x300.png", "/image/90x90.jpg", "/image/40x30.gif"]
FILES = ["/usr/bin/imgpipe", "/usr/share/man/man1/imgpipe.1.gz",
         "/usr/share/doc/imgpipe/README.md", "/usr/share/bash-completion/completions/imgpipe"]
# Other engineers' builds and tests share this machine: only one package test at a time.
LOCK = "/run/lock/imgpipe-package-test.lock"


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def run(args, check=True, **kwargs):
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)
    if check and out.returncode != 0:
        fail("%s: exit %d\n%s%s" % (" ".join(args), out.returncode, out.stdout, out.stderr))
    return out


def installed_packages():
    return run(["dpkg-query", "-W", "-f", "${Package}:${Architecture} ${Version} ${Status}\n"]
               ).stdout


def require_to_run():
    if os.environ.get("IMGPIPE_PACKAGE_TEST") != "1":
        print("SKIP: installs a package into /usr; run with IMGPIPE_PACKAGE_TEST=1, as root")
        sys.exit(SKIP)
    if os.geteuid() != 0:
        fail("IMGPIPE_PACKAGE_TEST=1, but apt-get install needs root")
    for tool in ("dpkg-shlibdeps", "file", "man", "readelf"):
        if shutil.which(tool) is None:
            fail("%s is missing (.ci/setup.sh installs it)" % tool)
    if run(["dpkg-query", "-W", "-f", "${Status}", "imgpipe"], check=False).stdout.startswith(
            "install"):
        fail("an imgpipe package is installed already; this test would remove it (apt-get purge "
             "imgpipe, if a killed run of this test left it)")
    if os.path.lexists("/usr/bin/imgpipe"):
        fail("/usr/bin/imgpipe exists and is no package's; the test would install over it")


def build_package(cpack, build_dir, work, version):
    run([cpack, "-G", "DEB", "--config", os.path.join(build_dir, "CPackConfig.cmake"), "-B", work])
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    debs = glob.glob(os.path.join(work, "*.deb"))
    want = os.path.join(work, "imgpipe_%s_%s.deb" % (version, arch))
    if debs != [want]:
        fail("cpack made %s, expected %s" % (debs, want))
    return want


# soname → the package that holds it for this architecture (libcurl.so.4 → libcurl4), as dpkg -S
# says (one call: each reads dpkg's whole file list); in the multiarch folder, since libc6-i386
# has a libm.so.6 too.
def owners(sonames):
    multiarch = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).stdout.strip()
    found = {}
    listing = run(["dpkg", "-S"] + ["*/" + s for s in sonames], check=False).stdout
    for line in listing.splitlines():
        package, path = line.split(": ", 1)
        folder, soname = os.path.split(path)
        if folder.endswith("/" + multiarch) and soname in sonames:
            found[soname] = package.split(":")[0]
    for soname in sonames:
        if soname not in found:
            fail("no package here holds %s for %s" % (soname, multiarch))
    return found


def check_depends(deb, root):
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout.strip()
    named = {d.strip().split(" ")[0] for d in depends.split(",") if d.strip()}
    elf = run(["readelf", "-d", os.path.join(root, "usr/bin/imgpipe")]).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", elf)
    if len(needed) < 10:  # curl, tbb, the codecs, libc...: far more than 10
        fail("the packaged binary links only %s" % needed)
    for soname, package in owners(needed).items():
        if package not in named:
            fail("the binary links %s (package %s) but Depends is: %s" % (soname, package, depends))
    print("Depends: " + depends)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(fixture_server):
    port = free_port()
    server = subprocess.Popen([fixture_server, "--port", str(port)], stdout=subprocess.PIPE,
                              text=True)
    if "listening" not in server.stdout.readline():
        server.kill()
        fail("the fixture server did not start")
    return server, port


def check_installed_binary(root, version):
    listed = run(["dpkg", "-S", "/usr/bin/imgpipe"]).stdout.strip()
    if listed != "imgpipe: /usr/bin/imgpipe":
        fail("dpkg -S /usr/bin/imgpipe: " + listed)
    digests = []
    for path in ("/usr/bin/imgpipe", os.path.join(root, "usr/bin/imgpipe")):
        with open(path, "rb") as f:
            digests.append(hashlib.sha256(f.read()).hexdigest())
    if digests[0] != digests[1]:
        fail("/usr/bin/imgpipe is not the file in the package")
    said = run(["/usr/bin/imgpipe", "--version"]).stdout.strip()
    if said != "imgpipe " + version:
        fail("/usr/bin/imgpipe --version: %r" % said)


def run_installed(fixture_server, work):
    server, port = start_server(fixture_server)
    try:
        listing = os.path.join(work, "list.txt")
        urls = ["http://127.0.0.1:%d%s" % (port, p) for p in IMAGES + ["/status/404"]]
        with open(listing, "w") as f:
            f.write("\n".join(urls) + "\n")
        out = os.path.join(work, "out")
        # The installed binary by its path, with nothing of the build on PATH.
        done = run(["/usr/bin/imgpipe", "-i", listing, "-o", out, "-s", str(BOX), "--quiet"],
                   check=False, env={"PATH": "/usr/bin:/bin"})
    finally:
        server.terminate()
        server.wait()
    if done.returncode != 1:
        fail("imgpipe: exit %d, expected 1 (one 404 line)\n%s" % (done.returncode, done.stderr))
    check_manifest(out, urls)


def check_manifest(out, urls):
    with open(os.path.join(out, "manifest.jsonl")) as f:
        rows = {r["line"]: r for r in map(json.loads, f)}
    if sorted(rows) != list(range(1, len(urls) + 1)):
        fail("manifest lines %s for %d list lines" % (sorted(rows), len(urls)))
    for line, row in rows.items():
        if row["url"] != urls[line - 1]:
            fail("row %d names %s" % (line, row["url"]))
        if line == len(urls):
            if row["status"] != "http_error" or row["http_status"] != 404:
                fail("the 404 line's row: %s" % row)
            continue
        with open(os.path.join(out, row["output"]), "rb") as f:
            head = f.read(3)
        if row["status"] != "ok" or head != b"\xff\xd8\xff":
            fail("line %d: %s, file starts %r" % (line, row, head))
        if max(row["output_width"], row["output_height"]) > BOX:
            fail("line %d's thumbnail is %dx%d, over %d" % (line, row["output_width"],
                                                             row["output_height"], BOX))


# Docker's slim Debian images tell dpkg to leave out /usr/share/man (path-exclude): say so, as
# man -w alone would only say it found nothing.
def excluded_man_pages():
    for conf in glob.glob("/etc/dpkg/dpkg.cfg.d/*"):
        with open(conf) as f:
            if re.search(r"^path-exclude[= ]/usr/share/man", f.read(), re.M):
                return conf
    return None


def check_man_and_completion(version):
    if not os.path.exists("/usr/share/man/man1/imgpipe.1.gz") and excluded_man_pages():
        fail("the man page was not installed: %s excludes /usr/share/man" % excluded_man_pages())
    where = run(["man", "-w", "imgpipe"]).stdout.strip()
    if where != "/usr/share/man/man1/imgpipe.1.gz":
        fail("man -w imgpipe: " + where)
    page = run(["man", "imgpipe"], env={"PATH": "/usr/bin:/bin", "MANWIDTH": "80",
                                        "MANPAGER": "cat", "LANG": "C.UTF-8"}).stdout
    for words in ("EXIT STATUS", "imgpipe " + version, "robots_disallowed"):
        if words not in page:
            fail("man imgpipe does not show %r" % words)
    script = ("source /usr/share/bash-completion/completions/imgpipe; COMP_WORDS=(imgpipe pl); "
              "COMP_CWORD=1; _imgpipe; echo \"${COMPREPLY[*]}\"")
    offered = run(["bash", "-c", script], env={"PATH": "/usr/bin:/bin"}).stdout.strip()
    if offered != "plan":
        fail("the installed completion offers %r for 'imgpipe pl'" % offered)


# apt-get install of the .deb alone: what it needs is here already (the build needed it), so
# purging it afterwards leaves the machine as it was. apt's --no-download would say so, but it
# refuses local .debs (apt 2.6: "Pathname to install is not absolute"): a dry run checks first.
def install(deb):
    apt = ["apt-get", "install", "-y", "--no-install-recommends", deb]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    would = re.findall(r"^Inst (\S+)", run(apt + ["--simulate"], env=env).stdout, re.M)
    if would != ["imgpipe"]:
        fail("apt-get would install %s, not imgpipe alone" % would)
    run(apt, env=env)


def purge(before):
    run(["apt-get", "purge", "-y", "imgpipe"])
    left = [p for p in FILES if os.path.lexists(p)]
    if left:
        fail("apt-get purge left " + ", ".join(left))
    if installed_packages() != before:
        fail("the installed packages differ from before the test")
    if run(["man", "-w", "imgpipe"], check=False).returncode == 0:
        fail("man -w still finds imgpipe after the purge")


def main():
    cpack, build_dir, fixture_server, version = sys.argv[1:5]
    require_to_run()
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="imgpipe-package-test-")
    os.chmod(work, 0o755)  # apt's _apt user reads the .deb from here
    try:
        deb = build_package(cpack, build_dir, work, version)
        root = os.path.join(work, "root")
        run(["dpkg-deb", "-x", deb, root])
        check_depends(deb, root)
        print("package built: %.1f s" % (time.monotonic() - started))
        before = installed_packages()
        install(deb)
        try:
            check_installed_binary(root, version)
            run_installed(fixture_server, work)
            check_man_and_completion(version)
        finally:
            purge(before)
        print("installed, run and purged: %.1f s in all" % (time.monotonic() - started))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
