#!/usr/bin/python3
"""Keeps the chart's `config` value honest against proto/idgate/config/v1/config.proto.

  config_schema.py --proto proto --schema values.schema.json --check
      The schema's definitions of the config messages ("idgate.*") must equal
      the ones generated from the proto (descriptions aside): a field added to
      config.proto without a schema update fails CI.
  config_schema.py --proto proto --schema values.schema.json --write
      Regenerates those definitions in place (the rest of the schema is kept).

--proto ROOT runs protoc on ROOT/idgate/config/v1/config.proto (or
--descriptors FDS reads a FileDescriptorSet made with --include_imports
--include_source_info). That a rendered config.json is one the gateway
accepts is checked by the gateway itself (idgate --check_config, in
tests/helm/validate.sh). Debian's /usr/bin/python3 with python3-protobuf and
protobuf-compiler; no other dependency.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

from google.protobuf import descriptor, descriptor_pb2, descriptor_pool, json_format
from google.protobuf import message_factory

ROOT = "idgate.config.v1.GatewayConfig"
PACKAGE = "idgate.config.v1"
# Fields the chart owns: present in the schema (so coverage holds) but refused.
CHART_OWNED = {
    ROOT: {"listenAddress", "metricsListenAddress"},
    "idgate.config.v1.ServerSettings": {"drainTimeout"},
    # From sharedState.redis (the mounted password Secret) and the replica count.
    "idgate.config.v1.RedisSettings": {"passwordFile", "expectedReplicas"},
}
CHART_OWNED_NOTE = "Set by the chart (see values.yaml); must not be set in config."
DURATION_PATTERN = r"^[0-9]+(\.[0-9]{1,9})?s$"
T = descriptor.FieldDescriptor


def load_pool(fds_path):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(fds_path, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    comments = {}
    for fdp in fds.file:
        pool.Add(fdp)
        comments.update(collect_comments(fdp))
    return pool, comments


def collect_comments(fdp):
    """Leading comments by full name, from the source info."""
    out = {}
    locs = {tuple(l.path): l for l in fdp.source_code_info.location}

    def text(path):
        loc = locs.get(tuple(path))
        if not loc or not loc.leading_comments.strip():
            return None
        return " ".join(line.strip() for line in loc.leading_comments.strip().splitlines())

    def walk_msg(msg, path, prefix):
        name = prefix + "." + msg.name
        out[name] = text(path)
        for i, f in enumerate(msg.field):
            out[name + "." + f.name] = text(path + [2, i])
        for i, nested in enumerate(msg.nested_type):
            walk_msg(nested, path + [3, i], name)

    for i, msg in enumerate(fdp.message_type):
        walk_msg(msg, [4, i], fdp.package)
    for i, enum in enumerate(fdp.enum_type):
        out[fdp.package + "." + enum.name] = text([5, i])
    return out


def adapter_messages(pool):
    fd = pool.FindFileByName("idgate/config/v1/config.proto")
    return [m for name, m in sorted(fd.message_types_by_name.items()) if name.endswith("AdapterConfig")]


def field_schema(f, comments, todo):
    if f.message_type is not None and f.message_type.GetOptions().map_entry:
        value = f.message_type.fields_by_name["value"]
        s = {"type": "object", "additionalProperties": scalar_schema(value, comments, todo)}
    elif f.label == T.LABEL_REPEATED:
        s = {"type": "array", "items": scalar_schema(f, comments, todo)}
    else:
        s = scalar_schema(f, comments, todo)
    c = comments.get(f.full_name)
    if c:
        s = dict(s, description=c)
    return s


def scalar_schema(f, comments, todo):
    t = f.type
    if t == T.TYPE_STRING:
        return {"type": "string"}
    if t == T.TYPE_BYTES:
        return {"type": "string", "contentEncoding": "base64"}
    if t == T.TYPE_BOOL:
        return {"type": "boolean"}
    if t in (T.TYPE_UINT32, T.TYPE_FIXED32):
        return {"type": "integer", "minimum": 0, "maximum": 4294967295}
    if t in (T.TYPE_INT32, T.TYPE_SINT32, T.TYPE_SFIXED32):
        return {"type": "integer", "minimum": -2147483648, "maximum": 2147483647}
    if t in (T.TYPE_UINT64, T.TYPE_FIXED64):
        return {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]+$"}]}
    if t in (T.TYPE_INT64, T.TYPE_SINT64, T.TYPE_SFIXED64):
        return {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]+$"}]}
    if t in (T.TYPE_DOUBLE, T.TYPE_FLOAT):
        return {"type": "number"}
    if t == T.TYPE_ENUM:
        todo.append(f.enum_type)
        return {"$ref": "#/definitions/" + f.enum_type.full_name}
    if t == T.TYPE_MESSAGE:
        name = f.message_type.full_name
        if name == "google.protobuf.Duration":
            return {"type": "string", "pattern": DURATION_PATTERN,
                    "description": "Duration in seconds with an \"s\" suffix, e.g. \"1.5s\"."}
        if name == "google.protobuf.Any":
            return {"$ref": "#/definitions/" + PACKAGE + ".AdapterConfig"}
        todo.append(f.message_type)
        return {"$ref": "#/definitions/" + name}
    raise SystemExit("unsupported field type %d of %s" % (t, f.full_name))


def message_schema(m, comments, todo, type_url=None):
    props = collections.OrderedDict()
    if type_url:
        props["@type"] = {"const": type_url}
    for f in m.fields:
        if f.json_name in CHART_OWNED.get(m.full_name, ()):
            props[f.json_name] = {"description": CHART_OWNED_NOTE, "not": {}}
        else:
            props[f.json_name] = field_schema(f, comments, todo)
    s = collections.OrderedDict()
    if comments.get(m.full_name):
        s["description"] = comments[m.full_name]
    s["type"] = "object"
    s["additionalProperties"] = False
    if type_url:
        s["required"] = ["@type"]
    s["properties"] = props
    exclusive = [[f.json_name for f in o.fields] for o in m.oneofs if len(o.fields) > 1]
    if exclusive:
        s["allOf"] = [{"not": {"required": [a, b]}} for names in exclusive
                      for i, a in enumerate(names) for b in names[i + 1:]]
    return s


def generate(pool, comments):
    defs = {}
    todo = [pool.FindMessageTypeByName(ROOT)]
    adapters = adapter_messages(pool)
    any_of = []
    for a in adapters:
        url = "type.googleapis.com/" + a.full_name
        defs[a.full_name] = message_schema(a, comments, todo, type_url=url)
        any_of.append({"$ref": "#/definitions/" + a.full_name})
    defs[PACKAGE + ".AdapterConfig"] = {
        "description": "Provider adapter config (google.protobuf.Any): \"@type\" selects the adapter.",
        "type": "object",
        "required": ["@type"],
        "oneOf": any_of,
    }
    while todo:
        t = todo.pop()
        if t.full_name in defs:
            continue
        if isinstance(t, descriptor.EnumDescriptor):
            s = {"type": "string", "enum": [v.name for v in t.values if v.number != 0]}
            if comments.get(t.full_name):
                s = dict(description=comments[t.full_name], **s)
            defs[t.full_name] = s
        else:
            defs[t.full_name] = message_schema(t, comments, todo)
    return defs


def strip_descriptions(v):
    if isinstance(v, dict):
        return {k: strip_descriptions(x) for k, x in v.items() if k != "description"}
    if isinstance(v, list):
        return [strip_descriptions(x) for x in v]
    return v


def generated_keys(defs):
    return {k for k in defs if k.startswith("idgate.") or k.startswith("google.")}


def check(schema_path, pool, comments):
    with open(schema_path) as f:
        schema = json.load(f)
    want = generate(pool, comments)
    have = {k: v for k, v in schema.get("definitions", {}).items() if k in generated_keys(schema.get("definitions", {}))}
    problems = []
    for k in sorted(set(want) | set(have)):
        if k not in have:
            problems.append("missing definition %s" % k)
        elif k not in want:
            problems.append("definition %s is not in config.proto any more" % k)
        elif strip_descriptions(have[k]) != strip_descriptions(want[k]):
            problems.append("definition %s differs from config.proto" % k)
    ref = schema.get("properties", {}).get("config", {}).get("$ref")
    if ref != "#/definitions/" + ROOT:
        problems.append("properties.config must be {\"$ref\": \"#/definitions/%s\"}" % ROOT)
    for p in problems:
        print("config schema: %s: %s" % (schema_path, p), file=sys.stderr)
    if problems:
        print("config schema: regenerate with tests/helm/config_schema.py --proto proto "
              "--schema helm/idgate/values.schema.json --write", file=sys.stderr)
    return not problems


def write(schema_path, pool, comments):
    with open(schema_path) as f:
        schema = json.load(f, object_pairs_hook=collections.OrderedDict)
    defs = schema.setdefault("definitions", collections.OrderedDict())
    for k in list(defs):
        if k in generated_keys(defs):
            del defs[k]
    for k, v in sorted(generate(pool, comments).items()):
        defs[k] = v
    with open(schema_path, "w") as f:
        json.dump(schema, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--descriptors")
    src.add_argument("--proto", metavar="ROOT")
    ap.add_argument("--schema", required=True)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fds = a.descriptors
        if a.proto:
            fds = os.path.join(tmp, "config.fds")
            subprocess.run(["protoc", "-I", a.proto, "--include_imports", "--include_source_info",
                            "--descriptor_set_out=" + fds,
                            os.path.join(a.proto, "idgate/config/v1/config.proto")], check=True)
        pool, comments = load_pool(fds)
    ok = check(a.schema, pool, comments) if a.check else write(a.schema, pool, comments)
    if ok and a.check:
        print("config schema: %s matches config.proto" % a.schema)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
