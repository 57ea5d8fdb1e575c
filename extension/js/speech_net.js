/*
 * The speech embedding network (Google's speech_embedding), run with plain TensorFlow.js ops.
 *
 * pac.speech_base.export_network writes it as two files in the asset folder: speech/graph.json (the
 * operations in order, NHWC, with their shapes) and speech/weights.bin (ONE little-endian blob that
 * every tensor of the graph points into: {dtype: 'float32' | 'uint8', shape, offset}).  The
 * operations, as in Python (pac/speech_base/):
 *
 *   conv        zero padding [[top, bottom], [left, right]], VALID convolution (HWIO kernel), + bias
 *   relu        max(x, 0)
 *   affine      x * scale + shift (a batch normalisation after a ReLU)
 *   leaky_relu  x >= 0 ? x : alpha * x
 *   maximum     max(x, value)
 *   max_pool    VALID max pooling
 *
 * 8-bit kernels (uint8 q with float32 min and scale per output channel, the last HWIO axis) are
 * dequantised once at load as w = min + q * scale in float32 with one rounding per operation,
 * exactly as numpy does in pac.speech_base.dequantize_kernel: q * scale (at most 8 + 24 significant
 * bits) is exact in a double and Math.fround rounds it once, as a float32 multiplication does; the
 * sum of two float32 values computed in a double and stored into a Float32Array rounds like a
 * float32 addition (53 >= 2 * 24 + 2).  So the page computes with the very float32 weights Python
 * trained with, bit for bit.
 *
 * load(graphUrl, weightsUrl) fetches only those two URLs, checks the graph strictly (format, every
 * key, dtype, shape, offset and the shapes along the chain; a plain Error naming the URL on
 * anything unexpected) and resolves to
 *   {embed(frames[, n]) -> tf.Tensor [n, 96], dispose(), graph, weights: 'uint8' | 'float32'}
 * where frames is a tf.Tensor [n, 76, 32, 1] (or [n, 76, 32]) or a Float32Array of n * 76 * 32
 * values, and embedSequence(frames, nFrames[, hopFrames]) -> tf.Tensor [windows, 96], one pass over
 * a whole sequence (see there; what the page uses).  The caller disposes the tensor embed or
 * embedSequence returns; intermediates are disposed (tf.tidy).
 * Works on the wasm, webgl and cpu backends.
 */
(function (root) {
  'use strict';

  const R = root.PacRuntime = root.PacRuntime || {};
  const FORMAT = 'pac-speech-net';
  const FORMAT_VERSION = 1;
  const NAME = 'speech_embedding';
  const INPUT_SHAPE = [76, 32, 1];
  const OUTPUT_SIZE = 96;
  const BYTES = {float32: 4, uint8: 1};
  const TOP_KEYS = ['format', 'format_version', 'input_shape', 'name', 'ops', 'output_shape', 'sha256',
                    'weights', 'weights_bytes', 'weights_sha256'];
  const COMMON_KEYS = ['input_shape', 'op', 'output_shape'];
  const OP_KEYS = {
    conv: ['bias', 'kernel', 'padding', 'strides'],
    relu: [],
    affine: ['scale', 'shift'],
    leaky_relu: ['alpha'],
    maximum: ['value'],
    max_pool: ['size', 'strides'],
  };

  function isInt(v, min) {
    return typeof v === 'number' && Number.isInteger(v) && v >= min;
  }

  function sameArray(a, b) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i]);
  }

  function intPair(v, min) {
    return Array.isArray(v) && v.length === 2 && isInt(v[0], min) && isInt(v[1], min);
  }

  function checkKeys(obj, keys, where) {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new Error(where + ' is not an object');
    }
    const have = Object.keys(obj).sort();
    const want = keys.slice().sort();
    if (!sameArray(have, want)) {
      throw new Error(where + ' has keys [' + have.join(', ') + '], expected [' + want.join(', ') + ']');
    }
  }

  /**
   * Decode and check a graph against its weights blob (ArrayBuffer).  Returns the operations as
   * {op, ...} with typed arrays (float32 kernels already dequantised), no tensors.  Throws a plain
   * Error starting with `url` on anything unexpected.
   */
  function decode(graph, buffer, url) {
    url = url || 'speech graph';
    const fail = (why) => { throw new Error(url + ': ' + why); };
    try {
      checkKeys(graph, TOP_KEYS, 'the graph');
    } catch (e) {
      fail(e.message);
    }
    if (graph.format !== FORMAT || graph.format_version !== FORMAT_VERSION) {
      fail('not a ' + FORMAT + ' version ' + FORMAT_VERSION + ' graph');
    }
    if (graph.name !== NAME || !sameArray(graph.input_shape, INPUT_SHAPE) ||
        !sameArray(graph.output_shape, [OUTPUT_SIZE])) {
      fail('not the ' + NAME + ' network [n, 76, 32, 1] -> [n, 96]');
    }
    if (!/^[0-9a-f]{64}$/.test(graph.sha256) || !/^[0-9a-f]{64}$/.test(graph.weights_sha256)) {
      fail('sha256 and weights_sha256 must be sha256 hex digests');
    }
    if (graph.weights !== 'uint8' && graph.weights !== 'float32') {
      fail('weights must be "uint8" or "float32", not ' + JSON.stringify(graph.weights));
    }
    if (!(buffer instanceof ArrayBuffer) || graph.weights_bytes !== buffer.byteLength) {
      fail('the weights file has ' + (buffer && buffer.byteLength) + ' bytes, the graph says ' +
           graph.weights_bytes);
    }
    if (!Array.isArray(graph.ops) || graph.ops.length === 0) {
      fail('ops must be a non-empty list');
    }

    /** The typed array a tensor reference points at (a copy), checked against `shape`. */
    function tensor(ref, where, dtypes, shape, quantized) {
      try {
        checkKeys(ref, quantized ? ['dtype', 'offset', 'quantization', 'shape'] : ['dtype', 'offset', 'shape'], where);
      } catch (e) {
        fail(e.message);
      }
      if (dtypes.indexOf(ref.dtype) < 0) fail(where + ' has dtype ' + ref.dtype);
      if (!sameArray(ref.shape, shape)) fail(where + ' has shape ' + JSON.stringify(ref.shape) +
                                                ', expected ' + JSON.stringify(shape));
      const count = shape.reduce((a, b) => a * b, 1);
      const bytes = count * BYTES[ref.dtype];
      if (!isInt(ref.offset, 0) || ref.offset % 4 !== 0 || ref.offset + bytes > buffer.byteLength) {
        fail(where + ' offset ' + ref.offset + ' (+' + bytes + ' bytes) is outside the weights or unaligned');
      }
      return ref.dtype === 'float32' ? new Float32Array(buffer.slice(ref.offset, ref.offset + bytes))
        : new Uint8Array(buffer.slice(ref.offset, ref.offset + bytes));
    }

    function kernel(ref, shape, where) {
      const dtypes = graph.weights === 'uint8' ? ['float32', 'uint8'] : ['float32'];
      const quantized = graph.weights === 'uint8' && !!ref && typeof ref === 'object' && ref.dtype === 'uint8';
      const data = tensor(ref, where, dtypes, shape, quantized);
      if (!quantized) return data;
      const q = ref.quantization;
      try {
        checkKeys(q, ['axis', 'min', 'scale'], where + '.quantization');
      } catch (e) {
        fail(e.message);
      }
      if (q.axis !== 3) fail(where + '.quantization.axis must be 3 (output channels)');
      const channels = shape[3];
      const min = tensor(q.min, where + '.quantization.min', ['float32'], [channels]);
      const scale = tensor(q.scale, where + '.quantization.scale', ['float32'], [channels]);
      for (let c = 0; c < scale.length; c++) {
        if (!Number.isFinite(min[c]) || !Number.isFinite(scale[c]) || scale[c] < 0) {
          fail(where + '.quantization has a bad min or scale');
        }
      }
      return dequantize(data, min, scale);
    }

    let shape = INPUT_SHAPE.slice();
    const ops = graph.ops.map((op, index) => {
      const where = 'ops[' + index + ']';
      if (!op || typeof op !== 'object' || !Object.prototype.hasOwnProperty.call(OP_KEYS, op.op)) {
        fail(where + ' has unknown op ' + JSON.stringify(op && op.op));
      }
      try {
        checkKeys(op, COMMON_KEYS.concat(OP_KEYS[op.op]), where + ' (' + op.op + ')');
      } catch (e) {
        fail(e.message);
      }
      if (!sameArray(op.input_shape, shape)) {
        fail(where + ' input_shape ' + JSON.stringify(op.input_shape) + ' does not follow ' + JSON.stringify(shape));
      }
      const [h, w, c] = shape;
      const out = {op: op.op};
      let next = shape;
      if (op.op === 'conv') {
        const ks = op.kernel && op.kernel.shape;
        if (!Array.isArray(ks) || ks.length !== 4 || !ks.every((v) => isInt(v, 1)) || ks[2] !== c) {
          fail(where + ' kernel shape ' + JSON.stringify(ks) + ' does not fit ' + c + ' channels');
        }
        if (!Array.isArray(op.padding) || op.padding.length !== 2 || !op.padding.every((p) => intPair(p, 0)) ||
            !intPair(op.strides, 1)) {
          fail(where + ' padding or strides are not [[t, b], [l, r]] and [sh, sw]');
        }
        out.kernel = kernel(op.kernel, ks, where + '.kernel');
        out.kernelShape = ks;
        out.bias = op.bias === null ? null : tensor(op.bias, where + '.bias', ['float32'], [ks[3]]);
        out.padding = op.padding;
        out.strides = op.strides;
        next = [Math.floor((h + op.padding[0][0] + op.padding[0][1] - ks[0]) / op.strides[0]) + 1,
                Math.floor((w + op.padding[1][0] + op.padding[1][1] - ks[1]) / op.strides[1]) + 1, ks[3]];
      } else if (op.op === 'affine') {
        out.scale = tensor(op.scale, where + '.scale', ['float32'], [c]);
        out.shift = tensor(op.shift, where + '.shift', ['float32'], [c]);
      } else if (op.op === 'leaky_relu') {
        if (typeof op.alpha !== 'number' || !Number.isFinite(op.alpha)) fail(where + ' alpha is not a number');
        out.alpha = op.alpha;
      } else if (op.op === 'maximum') {
        if (typeof op.value !== 'number' || !Number.isFinite(op.value)) fail(where + ' value is not a number');
        out.value = op.value;
      } else if (op.op === 'max_pool') {
        if (!intPair(op.size, 1) || !intPair(op.strides, 1)) fail(where + ' size or strides are not [a, b]');
        out.size = op.size;
        out.strides = op.strides;
        next = [Math.floor((h - op.size[0]) / op.strides[0]) + 1, Math.floor((w - op.size[1]) / op.strides[1]) + 1, c];
      }
      if (!(next[0] >= 1 && next[1] >= 1)) fail(where + ' leaves nothing of a ' + h + 'x' + w + ' input');
      if (!sameArray(op.output_shape, next)) {
        fail(where + ' output_shape ' + JSON.stringify(op.output_shape) + ', computed ' + JSON.stringify(next));
      }
      shape = next;
      return out;
    });
    if (!sameArray(shape, [1, 1, OUTPUT_SIZE])) {
      fail('the network ends in shape ' + JSON.stringify(shape) + ', not [1, 1, ' + OUTPUT_SIZE + ']');
    }
    return ops;
  }

  /**
   * w = min + q * scale per output channel (the last axis: min.length wide), in float32 with one
   * rounding per operation (see the top of this file).
   */
  function dequantize(q, min, scale) {
    const channels = min.length;
    const out = new Float32Array(q.length);
    for (let i = 0; i < q.length; i++) {
      const c = i % channels;
      out[i] = min[c] + Math.fround(q[i] * scale[c]);
    }
    return out;
  }

  /**
   * Decoded ops -> functions of a tensor, and the tensors they hold.  A convolution followed by a
   * leaky ReLU (or a ReLU) runs as ONE fused TensorFlow.js kernel (convolution, bias and activation:
   * the same arithmetic, one pass over memory instead of three).
   */
  function build(ops) {
    const held = [];
    const keep = (t) => { held.push(t); return t; };
    const layers = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const next = ops[i + 1];
      if (op.op === 'conv' && next && (next.op === 'leaky_relu' || next.op === 'relu')) {
        const filter = keep(tf.tensor4d(op.kernel, op.kernelShape, 'float32'));
        const bias = op.bias ? keep(tf.tensor1d(op.bias, 'float32')) : undefined;
        const pad = [[0, 0], op.padding[0].slice(), op.padding[1].slice(), [0, 0]];
        const strides = op.strides.slice();
        const activation = next.op === 'relu' ? 'relu' : 'leakyrelu';
        const alpha = next.op === 'relu' ? undefined : next.alpha;
        layers.push((x) => tf.fused.conv2d({x: x, filter: filter, strides: strides, pad: pad, bias: bias,
                                            activation: activation, leakyreluAlpha: alpha}));
        i++;
        continue;
      }
      layers.push(single(op, keep));
    }
    return {layers: layers, held: held};
  }

  /** One decoded op as a function of a tensor. */
  function single(op, keep) {
    if (op.op === 'conv') {
      const filter = keep(tf.tensor4d(op.kernel, op.kernelShape, 'float32'));
      const bias = op.bias ? keep(tf.tensor1d(op.bias, 'float32')) : null;
      const pad = [[0, 0], op.padding[0].slice(), op.padding[1].slice(), [0, 0]];
      const strides = op.strides.slice();
      return (x) => {
        const y = tf.conv2d(x, filter, strides, pad);
        return bias ? tf.add(y, bias) : y;
      };
    }
    if (op.op === 'relu') return (x) => tf.relu(x);
    if (op.op === 'affine') {
      const scale = keep(tf.tensor1d(op.scale, 'float32'));
      const shift = keep(tf.tensor1d(op.shift, 'float32'));
      return (x) => tf.add(tf.mul(x, scale), shift);
    }
    if (op.op === 'leaky_relu') return (x) => tf.leakyRelu(x, op.alpha);
    if (op.op === 'maximum') {
      const value = keep(tf.scalar(op.value, 'float32'));
      return (x) => tf.maximum(x, value);
    }
    if (op.op === 'max_pool') {
      const size = op.size.slice();
      const strides = op.strides.slice();
      return (x) => tf.maxPool(x, size, strides, 'valid');
    }
    throw new Error('speech network: unsupported op ' + op.op);
  }

  async function fetchOk(url, what) {
    let response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new Error(url + ': cannot load the speech network ' + what + ' (' + e.message + ')');
    }
    if (!response.ok) {
      throw new Error(url + ': cannot load the speech network ' + what + ' (HTTP ' + response.status + ')');
    }
    return response;
  }

  /** Fetch, check and build the network.  Resolves to {embed, dispose, graph, weights}. */
  async function load(graphUrl, weightsUrl) {
    const [graphResponse, weightsResponse] = await Promise.all([
      fetchOk(graphUrl, 'graph'), fetchOk(weightsUrl, 'weights')]);
    let graph;
    try {
      graph = JSON.parse(await graphResponse.text());
    } catch (e) {
      throw new Error(graphUrl + ': not valid JSON (' + e.message + ')');
    }
    const buffer = await weightsResponse.arrayBuffer();
    const ops = decode(graph, buffer, graphUrl);
    const net = build(ops);
    let disposed = false;
    const frameSize = INPUT_SHAPE[0] * INPUT_SHAPE[1];

    function embed(frames, n) {
      if (disposed) throw new Error('speech network: already disposed');
      return tf.tidy(() => {
        let x;
        if (frames instanceof tf.Tensor) {
          const s = frames.shape;
          const ok = (s.length === 4 && s[3] === 1) || s.length === 3;
          if (!ok || s[1] !== INPUT_SHAPE[0] || s[2] !== INPUT_SHAPE[1]) {
            throw new Error('speech network: frames must be [n, 76, 32, 1], not ' + JSON.stringify(s));
          }
          x = s.length === 3 ? tf.expandDims(frames, 3) : frames;
          if (x.dtype !== 'float32') x = tf.cast(x, 'float32');
        } else if (frames instanceof Float32Array) {
          if (!isInt(n, 0) || frames.length !== n * frameSize) {
            throw new Error('speech network: ' + frames.length + ' values are not n = ' + n + ' windows of 76 x 32');
          }
          x = tf.tensor4d(frames, [n].concat(INPUT_SHAPE), 'float32');
        } else {
          throw new Error('speech network: frames must be a tf.Tensor or a Float32Array');
        }
        for (const layer of net.layers) x = layer(x);
        return tf.reshape(x, [-1, OUTPUT_SIZE]);
      });
    }

    /**
     * One pass over a whole sequence: Float32Array of nFrames x 32 (nFrames >= 76) -> tf.Tensor
     * [windows, 96], the embeddings of the 76-frame windows at frames 0, 8, 16, ... that fit (the
     * network's stride in time is 8), every (hopFrames / 8)-th kept.  pac.speech_base
     * SpeechEmbedding.sequence computes the same.
     */
    // The network's stride in time: the product of its max-pools' strides along time (8).
    const timeStride = ops.filter((op) => op.op === 'max_pool').reduce((p, op) => p * op.strides[0], 1);

    function embedSequence(frames, nFrames, hopFrames) {
      if (disposed) throw new Error('speech network: already disposed');
      const stride = timeStride;
      const hop = hopFrames === undefined ? stride : hopFrames;
      if (!(frames instanceof Float32Array) || !isInt(nFrames, INPUT_SHAPE[0]) ||
          frames.length !== nFrames * INPUT_SHAPE[1]) {
        throw new Error('speech network: a sequence must be a Float32Array of n >= 76 frames x 32');
      }
      if (!isInt(hop, 1) || hop % stride !== 0) {
        throw new Error('speech network: hopFrames must be a positive multiple of ' + stride);
      }
      return tf.tidy(() => {
        let x = tf.tensor4d(frames, [1, nFrames, INPUT_SHAPE[1], 1], 'float32');
        for (const layer of net.layers) x = layer(x);
        const all = tf.reshape(x, [-1, OUTPUT_SIZE]);
        if (hop === stride) return all;
        const keep = [];
        for (let i = 0; i < all.shape[0]; i += hop / stride) keep.push(i);
        return tf.gather(all, tf.tensor1d(keep, 'int32'));
      });
    }

    function dispose() {
      if (!disposed) {
        net.held.forEach((t) => t.dispose());
        disposed = true;
      }
    }

    return {embed: embed, embedSequence: embedSequence, dispose: dispose, graph: graph, weights: graph.weights};
  }

  R.speechNet = {load: load, decode: decode, dequantize: dequantize};
})(window);
