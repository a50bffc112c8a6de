#!/usr/bin/python3
"""Runs the chart commands README.md shows, so that they keep working.

  * every `helm lint` and `helm template` line of a ```sh block, as written
    (from a scratch directory where helm/ is the repository's), with the
    pinned helm; what `helm template` prints goes through kubeconform -strict
    like tests/helm/validate.sh's (Kubernetes 1.27 schemas);
  * every `helm install` / `helm upgrade` of the chart helm/idgate (a ```sh
    line, an inline one, or an inline `--set-file K=FILE` / `--set K=V` added
    to the development install), through tests/helm/validate.sh with the same values,
    --set and --set-file: lint, values schema, render, Kubernetes schemas, Pod
    Security, chart lint and the gateway's config check. Files that --set-file
    names and that do not exist (keys the README makes with openssl) are made
    as 32 random bytes in the scratch directory.

An option the translation does not know fails the test: the README and this
check stay in step.

usage: readme_commands.py --work DIR --idgate FILE [--readme README.md]
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.environ.get("IDGATE_TOOLS_DIR", os.path.join(ROOT, ".tools"))
CHART = "helm/idgate"

# helm install/upgrade options -> what validate.sh does with them.
VALUE_OPTIONS = {"-f": "values", "--values": "values", "--set": "--set",
                 "--set-string": "--set-string", "--set-file": "--set-file",
                 "-n": "--namespace", "--namespace": "--namespace",
                 "--api-versions": "--api-versions"}
IGNORED_FLAGS = {"--install", "--create-namespace", "--wait", "--atomic"}
IGNORED_WITH_VALUE = {"--timeout"}


def sh_commands(readme):
    """helm commands of the ```sh blocks, continuation lines joined, comments cut."""
    out = []
    for block in re.findall(r"^ *```sh\n(.*?)^ *```", readme, re.S | re.M):
        text = re.sub(r"\\\n\s*", " ", block)
        for line in text.splitlines():
            if line.strip().startswith("helm "):
                out.append((line.strip(), shlex.split(line, comments=True)))
    return out


def inline_sets(readme):
    """Inline `--set-file K=F` and `--set K=V` spans outside code blocks."""
    prose = re.sub(r"^ *```.*?^ *```", "", readme, flags=re.S | re.M)
    return [shlex.split(m) for m in re.findall(r"`(--set(?:-file|-string)? [^`]+)`", prose)]


def inline_helm(readme):
    """Inline `helm ...` commands outside code blocks."""
    prose = re.sub(r"^ *```.*?^ *```", "", readme, flags=re.S | re.M)
    return [shlex.split(m) for m in re.findall(r"`(helm [^`]+)`", prose)]


def to_validate_args(words):
    """helm install/upgrade words -> (release, validate.sh arguments)."""
    args, positional = [], []
    i = 2
    while i < len(words):
        w = words[i]
        opt, eq, val = w.partition("=")
        if opt in VALUE_OPTIONS:
            if not eq:
                i += 1
                val = words[i]
            kind = VALUE_OPTIONS[opt]
            args += [val] if kind == "values" else [kind, val]
        elif w in IGNORED_FLAGS:
            pass
        elif opt in IGNORED_WITH_VALUE:
            if not eq:
                i += 1
        elif w.startswith("-"):
            raise SystemExit("readme_commands.py: unknown helm option %s in: %s" % (w, " ".join(words)))
        else:
            positional.append(w)
        i += 1
    if len(positional) != 2 or positional[1] != CHART:
        raise SystemExit("readme_commands.py: expected RELEASE %s in: %s" % (CHART, " ".join(words)))
    return positional[0], args


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--idgate", required=True)
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    a = ap.parse_args()
    work = os.path.abspath(a.work)
    scratch = os.path.join(work, "readme")
    os.makedirs(scratch, exist_ok=True)
    link = os.path.join(scratch, "helm")
    if not os.path.islink(link):
        os.symlink(os.path.join(ROOT, "helm"), link)
    env = dict(os.environ, PATH=os.path.join(TOOLS, "bin") + os.pathsep + os.environ["PATH"],
               HELM_CACHE_HOME=os.path.join(work, "helm/cache"),
               HELM_CONFIG_HOME=os.path.join(work, "helm/config"),
               HELM_DATA_HOME=os.path.join(work, "helm/data"))
    with open(a.readme, encoding="utf-8") as f:
        readme = f.read()

    failures, ran = [], 0
    installs = []
    for line, words in sh_commands(readme):
        if words[:2] in (["helm", "lint"], ["helm", "template"]) and CHART in words:
            ran += 1
            print("== README: %s" % line, flush=True)
            r = subprocess.run(words, cwd=scratch, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                print(r.stdout)
                failures.append(line)
                continue
            if words[1] == "lint":
                print(r.stdout.strip())
                continue
            schemas = os.path.join(TOOLS, "kubernetes-json-schema")
            version = sorted(d for d in os.listdir(schemas) if d.endswith("-standalone-strict"))[0]
            k = subprocess.run(
                ["kubeconform", "-strict", "-summary",
                 "-kubernetes-version", version[1:-len("-standalone-strict")],
                 "-schema-location", schemas + "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json",
                 "-schema-location", schemas + "/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"],
                input=r.stdout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            print("kubeconform: " + k.stdout.strip())
            if k.returncode != 0:
                failures.append(line)
        elif words[:2] in (["helm", "install"], ["helm", "upgrade"]) and CHART in words:
            installs.append((line, words))
    for words in inline_helm(readme):
        if words[:2] in (["helm", "install"], ["helm", "upgrade"]) and CHART in words:
            installs.append((" ".join(words), words))
    for words in inline_sets(readme):
        line = "helm install idgate %s -n idgate %s" % (CHART, " ".join(words))
        installs.append((line, ["helm", "install", "idgate", CHART, "-n", "idgate"] + words))

    for n, (line, words) in enumerate(installs, 1):
        ran += 1
        release, args = to_validate_args(words)
        for i, w in enumerate(args):
            if i > 0 and args[i - 1] == "--set-file":
                path = os.path.join(scratch, w.partition("=")[2])
                if not os.path.exists(path):
                    with open(path, "wb") as f:
                        f.write(os.urandom(32))
        print("== README: %s" % line, flush=True)
        r = subprocess.run([os.path.join(HERE, "validate.sh"), "--work", work, "--idgate", a.idgate,
                            "--name", release, "--label", "readme-%d" % n] + args,
                           cwd=scratch, env=env)
        if r.returncode != 0:
            failures.append(line)

    if ran == 0:
        failures.append("no helm command found in %s" % a.readme)
    for f in failures:
        print("FAILED: %s" % f)
    print("%d README commands, %d failed" % (ran, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
