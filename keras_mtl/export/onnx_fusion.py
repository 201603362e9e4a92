"""Graph rewrites of the exported ONNX model that onnxruntime does not do itself.

tf2onnx writes each Keras `LayerNormalization` as the 13 elementary nodes of
TensorFlow's moments formula (two `GlobalAveragePool`s for the mean and the
variance, `Sqrt`, `Reciprocal`, five `Mul`/`Add`...). onnxruntime's own
layer-norm fusion looks for `ReduceMean` and never matches them, so every
layer norm runs as 13 kernels. `fuse_layer_norms` replaces each with one
opset-17 `LayerNormalization` node: the same function, up to float rounding.

`gemm_as_matmul` prepares a graph for dynamic int8 quantization (see there).
"""

import numpy as np

_PATTERN_SIZE = 13


def fuse_layer_norms(proto):
    """Rewrites every tf2onnx layer-norm pattern of `proto` (an `onnx.ModelProto`,
    opset >= 17) in place; returns how many were fused."""
    from onnx import helper, numpy_helper

    graph = proto.graph
    initializers = {init.name: init for init in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    consumers = {}
    for node in graph.node:
        for name in dict.fromkeys(node.input):  # a node reading a value twice counts once
            consumers.setdefault(name, []).append(node)
    graph_outputs = {value.name for value in graph.output}

    def constant(name):
        return numpy_helper.to_array(initializers[name]) if name in initializers else None

    def only_consumers(name, count):
        """The consumers of `name` if it has exactly `count` and is no graph output."""
        found = consumers.get(name, [])
        return found if len(found) == count and name not in graph_outputs else None

    def other_input(node, name):
        inputs = list(node.input)
        if len(inputs) != 2 or name not in inputs:
            return None
        return inputs[1] if inputs[0] == name else inputs[0]

    fused, removed, replacements = 0, set(), {}
    for mean in list(graph.node):
        if mean.op_type != "GlobalAveragePool" or id(mean) in removed:
            continue
        match = _match(mean, producers, only_consumers, other_input, constant)
        if match is None:
            continue
        nodes, x, gamma, beta, epsilon, output = match
        gamma_name, beta_name = (f"{mean.name}/fused_{role}" for role in ("scale", "bias"))
        graph.initializer.extend([
            numpy_helper.from_array(gamma.reshape(-1).astype(np.float32), gamma_name),
            numpy_helper.from_array(beta.reshape(-1).astype(np.float32), beta_name),
        ])
        replacements[id(nodes[-1])] = helper.make_node(
            "LayerNormalization", [x, gamma_name, beta_name], [output],
            name=f"{mean.name}/fused_layer_norm", axis=-1, epsilon=float(epsilon),
        )
        removed.update(id(node) for node in nodes)
        fused += 1
    if not fused:
        return 0
    kept = [replacements.get(id(node), node) for node in graph.node
            if id(node) not in removed or id(node) in replacements]
    del graph.node[:]
    graph.node.extend(kept)
    _drop_unused_initializers(graph)
    return fused


def _drop_unused_initializers(graph):
    used = {name for node in graph.node for name in node.input}
    for init in [init for init in graph.initializer if init.name not in used]:
        graph.initializer.remove(init)


def _match(mean, producers, only_consumers, other_input, constant):
    """`(nodes, x, gamma, beta, epsilon, output)` when `mean` starts the pattern
    (`nodes` in graph order, the final `Add` last), else `None`.

    mean = GAP(x); d = x - mean; var = GAP(d * d); r = 1 / sqrt(var + eps);
    m = r * gamma; out = x * m + (-mean * m + beta).
    """
    x = mean.input[0]
    # `GlobalAveragePool` averages every axis after the second: the last one
    # alone only for rank-3 inputs, which `gamma`'s shape (1, 1, H) confirms below.
    users = only_consumers(mean.output[0], 2)
    if users is None:
        return None
    by_type = {node.op_type: node for node in users}
    neg, sub = by_type.get("Neg"), by_type.get("Sub")
    if neg is None or sub is None or list(sub.input) != [x, mean.output[0]]:
        return None
    chain = []
    square = only_consumers(sub.output[0], 1)
    if not square or square[0].op_type != "Mul" or list(square[0].input) != [sub.output[0]] * 2:
        return None
    chain.append(square[0])
    expected = ["GlobalAveragePool", "Add", "Sqrt", "Reciprocal", "Mul"]
    node = square[0]
    for op_type in expected:
        following = only_consumers(node.output[0], 1)
        if not following or following[0].op_type != op_type:
            return None
        node = following[0]
        chain.append(node)
    variance, add_eps, sqrt, reciprocal, scale = chain[1:]
    epsilon = constant(other_input(add_eps, variance.output[0]) or "")
    gamma = constant(other_input(scale, reciprocal.output[0]) or "")
    if epsilon is None or epsilon.size != 1 or gamma is None or gamma.ndim != 3 \
            or gamma.shape[:2] != (1, 1):
        return None
    scaled = only_consumers(scale.output[0], 2)
    if scaled is None or any(node.op_type != "Mul" for node in scaled):
        return None
    x_scaled = next((node for node in scaled if other_input(node, scale.output[0]) == x), None)
    mean_scaled = next((node for node in scaled if other_input(node, scale.output[0]) == neg.output[0]), None)
    if x_scaled is None or mean_scaled is None or only_consumers(neg.output[0], 1) is None:
        return None
    add_beta = only_consumers(mean_scaled.output[0], 1)
    if not add_beta or add_beta[0].op_type != "Add":
        return None
    add_beta = add_beta[0]
    beta = constant(other_input(add_beta, mean_scaled.output[0]) or "")
    if beta is None or beta.shape != gamma.shape:
        return None
    final = only_consumers(x_scaled.output[0], 1)
    if not final or final[0].op_type != "Add" \
            or other_input(final[0], x_scaled.output[0]) != add_beta.output[0] \
            or only_consumers(add_beta.output[0], 1) is None:
        return None
    nodes = [mean, neg, sub, *chain, x_scaled, mean_scaled, add_beta, final[0]]
    assert len(nodes) == _PATTERN_SIZE
    return nodes, x, gamma, beta, epsilon.reshape(()), final[0].output[0]


def gemm_as_matmul(proto):
    """Rewrites every `Gemm` whose weight is a constant as `MatMul` (+ `Add` of
    the bias), in place; returns how many. onnxruntime's dynamic int8
    quantization quantizes `MatMul` but not `Gemm`, and tf2onnx writes the
    feed-forward and output `Dense` layers as `Gemm`: without this they would
    stay fp32 in an int8 model."""
    from onnx import helper, numpy_helper

    graph = proto.graph
    initializers = {init.name: init for init in graph.initializer}
    rewritten, nodes = 0, []
    for node in graph.node:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        has_bias = len(node.input) > 2 and bool(node.input[2])
        if node.op_type != "Gemm" or node.input[1] not in initializers \
                or attributes.get("transA", 0) or attributes.get("alpha", 1.0) != 1.0 \
                or (has_bias and attributes.get("beta", 1.0) != 1.0):
            nodes.append(node)
            continue
        weight = node.input[1]
        if attributes.get("transB", 0):
            transposed = numpy_helper.to_array(initializers[weight]).T
            weight = f"{node.name}/weight_transposed"
            graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(transposed), weight))
        product = f"{node.output[0]}/matmul" if has_bias else node.output[0]
        nodes.append(helper.make_node("MatMul", [node.input[0], weight], [product],
                                      name=f"{node.name}/matmul"))
        if has_bias:
            nodes.append(helper.make_node("Add", [product, node.input[2]], [node.output[0]],
                                          name=f"{node.name}/bias"))
        rewritten += 1
    del graph.node[:]
    graph.node.extend(nodes)
    _drop_unused_initializers(graph)
    return rewritten
