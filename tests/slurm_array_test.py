#!/usr/bin/env python3
"""The shard contract through a real Slurm: cluster/imgpipe.sbatch as a job array.

Usage: slurm_array_test.py IMGPIPE FIXTURE_SERVER SBATCH_SCRIPT

Needs the single-node cluster of .ci/slurm.sh (`.ci/slurm.sh start`, as root); without it, or
not as root, the test is skipped (exit 77). It finds the cluster through SLURM_CONF, else
.ci/slurm.sh's default $IMGPIPE_SLURM_DIR/slurm.conf.

A plan of 8 shards over 40 lines served by imgpipe-fixture-server on loopback (39 demo images
and one 404, so some tasks finish with failed lines: exit 1, which the sbatch script counts as
success); `sbatch --array=0-7%2`; one task cancelled while it runs. Then `imgpipe status` must
name exactly the cancelled task(s) that jobcomp/filetxt recorded as CANCELLED; resubmitting the
spec it prints completes the job (status exit 0); the shard manifests hold one row per input
line; and the thumbnails are byte-identical to one plain run of the same list. Last, the same
plan run as WORKERS=3 (three tasks, eight shards) leaves the same thumbnails.
"""

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
LINES = 40
SHARD_SIZE = 5  # 8 shards
CANCELLED_TASK = 3
# Each demo request waits this long in the server and each task fetches one at a time (-j 1),
# so a task runs ~SHARD_SIZE × 0.4 = 2 s: long enough to cancel it while it runs, short
# enough that 4 waves of 2 tasks take ~10 s.
LATENCY_MS = 400


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def slurm_conf():
    if os.environ.get("SLURM_CONF"):
        return os.environ["SLURM_CONF"]
    return os.path.join(os.environ.get("IMGPIPE_SLURM_DIR", "/tmp/imgpipe-slurm"), "slurm.conf")


def skip_unless_cluster():
    if os.geteuid() != 0:
        print("SKIP: not root (.ci/slurm.sh runs the cluster as root)")
        sys.exit(SKIP)
    if shutil.which("sbatch") is None or not os.path.exists(os.environ["SLURM_CONF"]):
        print("SKIP: no Slurm cluster (run .ci/slurm.sh start as root)")
        sys.exit(SKIP)
    # A stopped controller makes sinfo retry for ~9 s: look at its pid file first.
    with open(os.environ["SLURM_CONF"]) as f:
        pidfile = re.search(r"^SlurmctldPidFile=(\S+)", f.read(), re.M)
    try:
        with open(pidfile.group(1) if pidfile else "/run/slurmctld.pid") as f:
            with open("/proc/%d/stat" % int(f.read().strip())) as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    raise OSError("a zombie")
    except (OSError, ValueError) as e:
        print("SKIP: slurmctld is not running (%s); run .ci/slurm.sh start as root" % e)
        sys.exit(SKIP)
    states = run(["sinfo", "-h", "-o", "%T"], timeout=30)
    if states.returncode != 0 or not re.search(r"\b(idle|mixed|allocated)\b", states.stdout):
        print("SKIP: the Slurm cluster is not up (sinfo: %s%s)" % (states.stdout.strip(),
                                                                   states.stderr.strip()))
        sys.exit(SKIP)


def free_port():
    # The kernel picks a free port; the server binds it right after (a race only with another
    # program binding that same port in between).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(fixture_server):
    port = free_port()
    server = subprocess.Popen([fixture_server, "--port", str(port), "--latency-ms",
                               str(LATENCY_MS)], stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if "listening" not in line:
        server.kill()
        fail("fixture server did not start: %r" % line)
    return server, port


SUBMITTED = []  # cancelled on the way out, so a failure leaves nothing queued on the cluster


def sbatch(script, array, outdir, imgpipe, logdir, export="", run_args=("-j", "1")):
    result = run(["sbatch", "--parsable", "--array=" + array,
                  "--output=" + os.path.join(logdir, "%A_%a.out"),
                  "--export=ALL,OUTDIR=%s,IMGPIPE=%s%s" % (outdir, imgpipe, export), script]
                 + list(run_args), timeout=30)
    if result.returncode != 0:
        fail("sbatch --array=%s: %s" % (array, result.stderr))
    SUBMITTED.append(result.stdout.strip().split(";")[0])
    return SUBMITTED[-1]


def task_state(job, task):
    result = run(["squeue", "-h", "-j", "%s_%d" % (job, task), "-o", "%T"], timeout=30)
    return result.stdout.strip()


def wait_for_job(job, limit_s=120):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        result = run(["squeue", "-h", "-j", job, "-o", "%i %T"], timeout=30)
        # squeue -j of a job that has left the queue says "Invalid job id" and exits 1.
        if result.returncode != 0 or not result.stdout.strip():
            return
        time.sleep(0.2)
    fail("job %s still queued after %d s: %s" % (job, limit_s, result.stdout))


def jobcomp_records(job, expect=8):
    """jobcomp/filetxt's lines for the tasks of array job JOB, as {task: (state, exit)}."""
    path = run(["scontrol", "show", "config"], timeout=30).stdout
    match = re.search(r"^JobCompLoc\s*=\s*(\S+)", path, re.M)
    if not match:
        fail("scontrol show config names no JobCompLoc")
    records = {}
    # jobcomp writes a task's line when slurmctld learns it ended; give it a moment.
    deadline = time.monotonic() + 10
    while True:
        with open(match.group(1)) as f:
            for line in f:
                fields = dict(re.findall(r"(\w+)=(\S*)", line))
                if fields.get("ArrayJobId") == job:
                    records[int(fields["ArrayTaskId"])] = (fields["JobState"], fields["ExitCode"])
        if len(records) >= expect or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def status(imgpipe, outdir):
    result = run([imgpipe, "status", outdir, "--json"], timeout=60)
    if result.returncode not in (0, 1):
        fail("status: exit %d: %s" % (result.returncode, result.stderr))
    return result.returncode, json.loads(result.stdout)


def expand(spec):
    tasks = set()
    for part in spec.split(","):
        a, _, b = part.partition("-")
        tasks.update(range(int(a), int(b or a) + 1))
    return tasks


def files_under(root, skip_dirs=()):
    """Relative path → bytes of every thumbnail under root (not manifests, markers, locks)."""
    out = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip_dirs]
        for name in names:
            if name.startswith(".") or name.endswith((".jsonl", ".json", ".lock")):
                continue
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def main():
    imgpipe, fixture_server, script = (os.path.abspath(a) for a in sys.argv[1:4])
    os.environ.setdefault("SLURM_CONF", slurm_conf())
    skip_unless_cluster()

    # The jobs run as root on this node; slurmd starts them in the submit folder, and every
    # path they see is given absolute.
    work = tempfile.mkdtemp(prefix="imgpipe-slurm-test-")
    server, port = start_server(fixture_server)
    try:
        listing = os.path.join(work, "list.txt")
        with open(listing, "w") as f:
            for i in range(LINES):
                if i == 17:
                    # A failed line (line 18, in shard 3): that shard ends with exit 1.
                    f.write("http://127.0.0.1:%d/status/404\n" % port)
                else:
                    f.write("http://127.0.0.1:%d/demo/%03d.%s\n" % (port, i,
                                                                    "png" if i % 5 == 4 else "jpg"))
        outdir = os.path.join(work, "job")
        logs = os.path.join(work, "logs")
        os.mkdir(logs)
        planned = run([imgpipe, "plan", "-i", listing, "-o", outdir, "--shard-size",
                       str(SHARD_SIZE), "--quiet"], timeout=60)
        if planned.returncode != 0:
            fail("plan: " + planned.stderr)
        with open(os.path.join(outdir, "plan.json")) as f:
            shards = json.load(f)["shards"]
        if shards != 8:
            fail("plan made %d shards, not 8" % shards)

        started = time.monotonic()
        job = sbatch(script, "0-7%2", outdir, imgpipe, logs)
        # Cancel task 3 once its imgpipe has written a row: squeue says RUNNING as soon as the
        # task has its CPU, which on a loaded machine can be a second before the script starts,
        # so the shard's own manifest is what shows the cancel lands in the middle of the shard.
        manifest = os.path.join(outdir, "shards", "%05d" % CANCELLED_TASK, "manifest.jsonl")
        deadline = time.monotonic() + 60
        while not (os.path.exists(manifest) and os.path.getsize(manifest) > 0):
            if time.monotonic() > deadline:
                fail("task %d never wrote a row" % CANCELLED_TASK)
            time.sleep(0.02)
        if task_state(job, CANCELLED_TASK) != "RUNNING":
            fail("task %d is %r, not RUNNING, after its first row"
                 % (CANCELLED_TASK, task_state(job, CANCELLED_TASK)))
        cancel = run(["scancel", "%s_%d" % (job, CANCELLED_TASK)], timeout=30)
        if cancel.returncode != 0:
            fail("scancel: " + cancel.stderr)
        wait_for_job(job)
        print("array of 8 with one cancelled: %.1f s" % (time.monotonic() - started))

        records = jobcomp_records(job)
        cancelled = {t for t, (state, _) in records.items() if state == "CANCELLED"}
        others = {t: r for t, r in records.items() if t not in cancelled}
        if sorted(records) != list(range(8)):
            fail("jobcomp recorded tasks %s, not 0-7" % sorted(records))
        if cancelled != {CANCELLED_TASK}:
            fail("jobcomp records %s cancelled, not {%d}" % (sorted(cancelled), CANCELLED_TASK))
        bad = {t: r for t, r in others.items() if r != ("COMPLETED", "0:0")}
        if bad:
            fail("tasks that did not complete with 0:0: %s (logs in %s)" % (bad, logs))

        code, report = status(imgpipe, outdir)
        spec = report.get("array")
        if code != 1 or not spec:
            fail("status after the cancel: exit %d, no not-done spec: %s" % (code, report))
        if expand(spec) != cancelled:
            fail("status names %s not done; jobcomp cancelled %s" % (spec, sorted(cancelled)))
        # "failed" (started, no done.json), not "missing": the cancel hit a running imgpipe,
        # which left part of its shard for the resubmission to resume.
        if report["failed"] != sorted(cancelled) or report["missing"]:
            fail("the cancelled shard is not 'failed' (started): %s" % report)
        with open(os.path.join(outdir, "shards", "%05d" % CANCELLED_TASK, "manifest.jsonl")) as f:
            partial = sum(1 for _ in f)
        if not 1 <= partial < SHARD_SIZE:
            fail("the cancelled shard has %d rows, not 1 to %d" % (partial, SHARD_SIZE - 1))
        print("status: not done --array=%s (%d of %d rows before the cancel)"
              % (spec, partial, SHARD_SIZE))

        started = time.monotonic()
        again = sbatch(script, spec, outdir, imgpipe, logs)
        wait_for_job(again)
        print("resubmitted --array=%s: %.1f s" % (spec, time.monotonic() - started))
        # Shard 3 holds the 404 line: its imgpipe exits 1, which the sbatch script reports as
        # success.
        redone = jobcomp_records(again, expect=len(cancelled))
        if set(redone) != cancelled or any(r != ("COMPLETED", "0:0") for r in redone.values()):
            fail("the resubmitted tasks ended %s, not COMPLETED 0:0" % redone)
        code, report = status(imgpipe, outdir)
        if code != 0 or report["done"] != list(range(shards)):
            fail("status after the resubmission: exit %d: %s" % (code, report))

        # One row per input line over the union of the shard manifests.
        rows = {}
        for k in range(shards):
            with open(os.path.join(outdir, "shards", "%05d" % k, "manifest.jsonl")) as f:
                for line in f:
                    row = json.loads(line)
                    rows.setdefault(row["line"], []).append(row["status"])
        if sorted(rows) != list(range(1, LINES + 1)):
            fail("manifest rows cover lines %s, not 1-%d" % (sorted(rows), LINES))
        twice = {line: s for line, s in rows.items() if len(s) != 1}
        if twice:
            fail("lines with more than one row: %s" % twice)
        if rows[18] != ["http_error"] or sum(s == ["ok"] for s in rows.values()) != LINES - 1:
            fail("statuses: %s" % rows)

        # The same list and options in one plain run: the same files, byte for byte.
        plain = os.path.join(work, "plain")
        single = run([imgpipe, "-i", listing, "-o", plain, "--quiet"], timeout=120)
        if single.returncode != 1:  # the 404 line
            fail("plain run: exit %d: %s" % (single.returncode, single.stderr))
        expected = files_under(plain)
        got = {}
        for k in range(shards):
            for rel, data in files_under(os.path.join(outdir, "shards", "%05d" % k)).items():
                if rel in got:
                    fail("%s written by two shards" % rel)
                got[rel] = data
        if len(expected) != LINES - 1:
            fail("the plain run wrote %d files, not %d" % (len(expected), LINES - 1))
        if sorted(got) != sorted(expected):
            fail("file names differ: shards %s, plain %s" % (sorted(got), sorted(expected)))
        differ = [rel for rel in expected if got[rel] != expected[rel]]
        if differ:
            fail("thumbnails differ from the plain run's: %s" % differ)
        print("ok: %d lines, %d thumbnails identical to a plain run" % (LINES, len(expected)))

        # WORKERS=3 (more shards than an array may hold): 3 tasks run the 8 shards, task I every
        # shard s with s mod 3 = I, and leave the same files.
        workers = os.path.join(work, "workers")
        planned = run([imgpipe, "plan", "-i", listing, "-o", workers, "--shard-size",
                       str(SHARD_SIZE), "--quiet"], timeout=60)
        if planned.returncode != 0:
            fail("plan: " + planned.stderr)
        started = time.monotonic()
        job = sbatch(script, "0-2", workers, imgpipe, logs, export=",WORKERS=3",
                     run_args=("-j", str(SHARD_SIZE)))
        wait_for_job(job)
        records = jobcomp_records(job, expect=3)
        if records != {t: ("COMPLETED", "0:0") for t in range(3)}:
            fail("WORKERS=3 tasks ended %s, not 0-2 COMPLETED 0:0 (logs in %s)" % (records, logs))
        code, report = status(imgpipe, workers)
        if code != 0 or report["done"] != list(range(shards)):
            fail("status after WORKERS=3: exit %d: %s" % (code, report))
        got = {}
        for k in range(shards):
            got.update(files_under(os.path.join(workers, "shards", "%05d" % k)))
        if got != expected:
            fail("WORKERS=3 thumbnails differ from the plain run's")
        print("WORKERS=3: 8 shards in 3 tasks, %.1f s" % (time.monotonic() - started))
    finally:
        if SUBMITTED:
            run(["scancel"] + SUBMITTED, timeout=30)
        server.terminate()
        server.wait()
    shutil.rmtree(work, ignore_errors=True)  # kept on failure, for the logs
    return 0


if __name__ == "__main__":
    sys.exit(main())
