#!/usr/bin/env python3
"""docs/SCALE.md stays true to imgpipe: its Kubernetes manifest and AWS Batch job definition
parse and use the shard contract, and every flag its imgpipe commands pass is one the binary
accepts.

Usage: docs_scale_test.py IMGPIPE SCALE_MD
"""
import json
import re
import subprocess
import sys

import yaml


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def help_flags(imgpipe, *word):
    out = subprocess.run([imgpipe, *word, "--help"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        fail("%s --help: exit %d" % (" ".join(word) or "imgpipe", out.returncode))
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b", out.stdout))


def main():
    imgpipe, doc = sys.argv[1], sys.argv[2]
    with open(doc) as f:
        text = f.read()
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, re.S)

    manifests = [yaml.safe_load(body) for lang, body in blocks if lang == "yaml"]
    if len(manifests) != 1:
        fail("expected one yaml block (the Indexed Job), found %d" % len(manifests))
    job = manifests[0]
    spec = job["spec"]
    pod = spec["template"]["spec"]
    if job["kind"] != "Job" or spec["completionMode"] != "Indexed":
        fail("the manifest is not an Indexed Job")
    if pod["restartPolicy"] != "Never" and "backoffLimitPerIndex" in spec:
        fail("backoffLimitPerIndex needs restartPolicy: Never")
    commands = [" ".join(c["command"]) for c in pod["containers"]]

    definitions = [json.loads(body) for lang, body in blocks if lang == "json"]
    if len(definitions) != 1:
        fail("expected one json block (the AWS Batch job definition), found %d" % len(definitions))
    commands.append(" ".join(definitions[0]["containerProperties"]["command"]))
    for c in commands:
        if "--shard auto" not in c or "[ $? -eq 1 ]" not in c:
            fail("a scheduler's command does not run --shard auto with exit 1 as success: " + c)

    # Every `imgpipe WORD ...` in the text, code blocks and inline code alike.
    flags = {None: help_flags(imgpipe)}
    for word in ("plan", "run", "status"):
        flags[word] = help_flags(imgpipe, word)
    checked = 0
    for m in re.finditer(r"\bimgpipe (plan|run|status)?\s*([^`\n\"|;]*)", text):
        word, rest = m.group(1), m.group(2)
        before = text[:m.start()].split()
        if before and before[-1].startswith("--"):
            continue  # "--job-name imgpipe": a value, not the command
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?=[\s=]|$)", rest):
            if flag not in flags[word]:
                fail("`imgpipe %s` has no flag %s: %s" % (word or "", flag, m.group(0)))
            checked += 1
    if checked < 20:
        fail("only %d flags found in imgpipe commands: is the pattern still right?" % checked)
    print("ok: %d yaml, %d json blocks; %d flags of imgpipe commands" % (len(manifests),
                                                                       len(definitions), checked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
