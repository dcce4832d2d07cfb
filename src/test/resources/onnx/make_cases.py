#!/usr/bin/env python3
"""Converts ONNX's own Conv and ConvTranspose conformance cases into channels-last .npy files and
the conv4j command-line arguments that should reproduce them (see README.md beside this script).

Two sources in a checkout (or bare mirror) of github.com/onnx/onnx, read with `git show`:
  * onnx/backend/test/case/node/conv.py and convtranspose.py: the scripts that generate ONNX's
    backend node tests (test_conv_*, test_basic_conv_*, test_convtranspose_*). They are run here
    with a stand-in for the onnx package (make_node records the attributes, expect records the
    arrays), so the arrays are exactly those of onnx/backend/test/data/node/*/test_data_set_0.
  * onnx/backend/test/data/pytorch-converted/test_Conv*/ and test_ConvTranspose*/ and
    pytorch-operator/test_operator_convtranspose: model.onnx (weights and bias are initializers)
    and test_data_set_0/{input,output}_0.pb, parsed with a small protobuf reader below (no onnx
    package needed).

Usage: make_cases.py ONNX_GIT_DIR [COMMIT] > /dev/null   (writes next to this script)
Needs python3 and numpy only.
"""
import io
import os
import struct
import subprocess
import sys
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------------------- protobuf reading

def varint(buf, pos):
    result, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def fields(buf):
    """Yields (field number, wire type, value) of one message; value is int or bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = varint(buf, pos)
        elif wt == 1:
            v = buf[pos:pos + 8]
            pos += 8
        elif wt == 2:
            n, pos = varint(buf, pos)
            v = buf[pos:pos + n]
            pos += n
        elif wt == 5:
            v = buf[pos:pos + 4]
            pos += 4
        else:
            raise ValueError("wire type %d" % wt)
        yield num, wt, v


def signed64(v):
    return v - (1 << 64) if v >= (1 << 63) else v


def packed_varints(b):
    out, pos = [], 0
    while pos < len(b):
        v, pos = varint(b, pos)
        out.append(signed64(v))
    return out


DTYPES = {1: np.float32, 11: np.float64}  # TensorProto.DataType FLOAT, DOUBLE


def tensor(buf):
    """TensorProto -> (name, ndarray): dims 1, data_type 2, float_data 4, name 8, raw_data 9, double_data 10."""
    dims, dtype, name, raw, floats, doubles = [], 1, "", None, [], []
    for num, wt, v in fields(buf):
        if num == 1:
            dims += packed_varints(v) if wt == 2 else [signed64(v)]
        elif num == 2:
            dtype = v
        elif num == 4:
            floats += list(struct.unpack("<%df" % (len(v) // 4), v)) if wt == 2 else [struct.unpack("<f", v)[0]]
        elif num == 8:
            name = v.decode()
        elif num == 9:
            raw = v
        elif num == 10:
            doubles += list(struct.unpack("<%dd" % (len(v) // 8), v)) if wt == 2 else [struct.unpack("<d", v)[0]]
    dt = DTYPES[dtype]
    if raw is not None:
        arr = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<")).astype(dt)
    else:
        arr = np.array(floats if dtype == 1 else doubles, dtype=dt)
    return name, arr.reshape(dims)


def attribute(buf):
    """AttributeProto -> (name, value): name 1, f 2, i 3, s 4, ints 8."""
    name, val, ints = None, None, []
    for num, wt, v in fields(buf):
        if num == 1:
            name = v.decode()
        elif num == 3:
            val = signed64(v)
        elif num == 4:
            val = v.decode()
        elif num == 8:
            ints += packed_varints(v) if wt == 2 else [signed64(v)]
    return name, (ints if val is None else val)


def model(buf):
    """ModelProto -> (nodes [(op, inputs, attrs)], initializers {name: array}, graph input names)."""
    graph = next(v for num, _, v in fields(buf) if num == 7)
    nodes, inits, inputs = [], {}, []
    for num, _, v in fields(graph):
        if num == 1:
            op, ins, attrs = None, [], {}
            for n2, _, v2 in fields(v):
                if n2 == 1:
                    ins.append(v2.decode())
                elif n2 == 4:
                    op = v2.decode()
                elif n2 == 5:
                    k, val = attribute(v2)
                    attrs[k] = val
            nodes.append((op, ins, attrs))
        elif num == 5:
            k, arr = tensor(v)
            inits[k] = arr
        elif num == 11:
            inputs.append(next(v2.decode() for n2, _, v2 in fields(v) if n2 == 1))
    return nodes, inits, inputs


# ----------------------------------------------------------------------------- ONNX -> conv4j

def channels_last(a):
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


def filter_of(op, w):
    """Conv W (M, C/g, k..) and ConvTranspose W (C, M/g, k..) both become [k.., dim1, dim0]:
    conv4j's forward filter [K.., Cin/groups, Cout] (for ConvTranspose the forward convolution's)."""
    r = w.ndim - 2
    return np.ascontiguousarray(np.transpose(w, list(range(2, 2 + r)) + [1, 0]))


def csv_list(v):
    return ",".join(str(int(x)) for x in v)


def arguments(op, x, w, attrs):
    """The conv4j options (and, for ConvTranspose, the output size) of one ONNX node."""
    r = x.ndim - 2
    strides = attrs.get("strides", [1] * r)
    dil = attrs.get("dilations", [1] * r)
    group = attrs.get("group", 1)
    auto = attrs.get("auto_pad", "NOTSET")
    pads = attrs.get("pads", [0] * (2 * r))
    if "kernel_shape" in attrs:
        assert list(attrs["kernel_shape"]) == list(w.shape[2:]), attrs
    args = ["--strides", csv_list(strides), "--dilations", csv_list(dil), "--groups", str(group)]
    if op == "Conv":
        padding = {"VALID": "VALID", "SAME_UPPER": "SAME_UPPER", "SAME_LOWER": "SAME_LOWER"}.get(auto)
        if padding is None:
            padding = csv_list([v for a in range(r) for v in (pads[a], pads[a + r])])
        return args + ["--padding", padding]
    # ConvTranspose: ONNX's own rule (docs/Operators.md, onnx/reference/ops/op_conv_transpose.py)
    outpad = attrs.get("output_padding", [0] * r)
    keff = [(w.shape[2 + a] - 1) * dil[a] + 1 for a in range(r)]
    full = [strides[a] * (x.shape[2 + a] - 1) + keff[a] for a in range(r)]
    if auto in ("SAME_UPPER", "SAME_LOWER") and "output_shape" not in attrs:
        assert all(v == 0 for v in outpad), "output padding with SAME changes only ONNX's pads, not its size"
        return args + ["--padding", auto]
    if auto == "VALID":
        pads = [0] * (2 * r)
    if "output_shape" in attrs:
        shape = list(attrs["output_shape"])[-r:]
        total = [full[a] + outpad[a] - shape[a] for a in range(r)]
        if auto == "SAME_UPPER":
            begin = [t // 2 for t in total]
        else:  # SAME_LOWER and NOTSET: the odd pixel at the beginning; the pads attribute is ignored
            begin = [t - t // 2 for t in total]
        assert all(b >= 0 for b in begin), "an output starting before the first input pixel has no conv4j form"
        end = [max(full[a] - begin[a] - shape[a], 0) for a in range(r)]
        return args + ["--padding", csv_list([v for a in range(r) for v in (begin[a], end[a])]),
                       "--output-shape", csv_list([x.shape[0]] + shape + [w.shape[1] * group])]
    args += ["--padding", csv_list([v for a in range(r) for v in (pads[a], pads[a + r])])]
    if any(outpad):
        args += ["--output-padding", csv_list(outpad)]
    return args


# ----------------------------------------------------------------------------- the sources

def git_show(gitdir, commit, path, binary=False):
    out = subprocess.run(["git", "--git-dir", gitdir, "show", "%s:%s" % (commit, path)], check=True, capture_output=True).stdout
    return out if binary else out.decode()


def node_cases(gitdir, commit):
    """Runs conv.py and convtranspose.py with a stand-in onnx package; returns (name, op, attrs, inputs, output)."""
    found = []

    def make_node(op_type, inputs, outputs, name=None, **attrs):
        return types.SimpleNamespace(op_type=op_type, input=inputs, attrs=attrs)

    def expect(node, inputs, outputs, name, **kwargs):
        found.append((name, node.op_type, node.attrs, list(inputs), outputs[0]))

    onnx = types.ModuleType("onnx")
    onnx.helper = types.SimpleNamespace(make_node=make_node)
    mods = {"onnx": onnx}
    for m in ("onnx.backend", "onnx.backend.test", "onnx.backend.test.case", "onnx.backend.test.case.base",
              "onnx.backend.test.case.node"):
        mods[m] = types.ModuleType(m)
    mods["onnx.backend.test.case.base"].Base = object
    mods["onnx.backend.test.case.node"].expect = expect
    sys.modules.update(mods)
    for script in ("conv.py", "convtranspose.py"):
        src = git_show(gitdir, commit, "onnx/backend/test/case/node/" + script)
        ns = {"__name__": "onnx_case_" + script[:-3]}
        exec(compile(src, script, "exec"), ns)
        for cls in [v for v in ns.values() if isinstance(v, type) and v.__module__ == ns["__name__"]]:
            for attr in sorted(vars(cls)):
                if attr.startswith("export"):
                    getattr(cls, attr)()
    return found


def model_cases(gitdir, commit):
    ls = subprocess.run(["git", "--git-dir", gitdir, "ls-tree", "-r", "--name-only", commit, "onnx/backend/test/data/"],
                        check=True, capture_output=True, text=True).stdout.split()
    dirs = sorted({p.rsplit("/", 1)[0] for p in ls if p.endswith("/model.onnx")
                   and ("/pytorch-converted/test_Conv" in p or "/pytorch-operator/test_operator_convtranspose/" in p)})
    found = []
    for d in dirs:
        nodes, inits, graph_inputs = model(git_show(gitdir, commit, d + "/model.onnx", True))
        if len(nodes) != 1 or nodes[0][0] not in ("Conv", "ConvTranspose"):
            print("skipped (not a single Conv node):", d, [n[0] for n in nodes], file=sys.stderr)
            continue
        op, ins, attrs = nodes[0]
        _, x = tensor(git_show(gitdir, commit, d + "/test_data_set_0/input_0.pb", True))
        _, y = tensor(git_show(gitdir, commit, d + "/test_data_set_0/output_0.pb", True))
        arrays = [x] + [inits[n] for n in ins[1:] if n]
        found.append((d.rsplit("/", 1)[1], op, attrs, arrays, y))
    return found


def main():
    gitdir = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    commit = subprocess.run(["git", "--git-dir", gitdir, "rev-parse", commit], check=True, capture_output=True,
                            text=True).stdout.strip()
    rows = ["name,command,dtype,options"]
    for name, op, attrs, ins, y in node_cases(gitdir, commit) + model_cases(gitdir, commit):
        x, w = ins[0], ins[1]
        b = ins[2] if len(ins) > 2 else None
        if x.dtype != np.float32 and x.dtype != np.float64:
            continue
        dt = "float64" if x.dtype == np.float64 else "float32"
        os.makedirs(os.path.join(HERE, name), exist_ok=True)
        np.save(os.path.join(HERE, name, "input.npy"), channels_last(x))
        np.save(os.path.join(HERE, name, "filter.npy"), filter_of(op, w))
        if b is not None:
            np.save(os.path.join(HERE, name, "bias.npy"), b)
        np.save(os.path.join(HERE, name, "expected.npy"), channels_last(np.asarray(y, dtype=x.dtype)))
        cmd = "conv" if op == "Conv" else "transpose"
        rows.append("%s,%s,%s,%s" % (name, cmd, dt, " ".join(arguments(op, x, w, attrs))))
    with open(os.path.join(HERE, "cases.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(HERE, "PROVENANCE"), "w") as f:
        f.write("github.com/onnx/onnx commit %s\n" % commit)
        f.write("made by make_cases.py with numpy %s\n" % np.__version__)


if __name__ == "__main__":
    main()
