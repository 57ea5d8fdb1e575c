/*
 * The MobileNet base, cut at the manifest's layer, as a function from input to activations.
 *
 * mobilenet/model.json is loaded with tf.loadLayersModel.  Run through the layers API, the cut
 * model costs three kernels per block (convolution, batch normalisation, ReLU6) plus the layers
 * API's bookkeeping; so when the layers up to the cut form a plain chain of Conv2D /
 * DepthwiseConv2D, BatchNormalization and Activation layers (as MobileNet's do), each block is
 * compiled into ONE fused TensorFlow.js kernel: the batch normalisation is folded into the
 * convolution's weights and bias (computed in float64, stored as float32) and the activation is
 * fused.  That is about 3x faster on the WASM backend and changes the activations only by float32
 * rounding (relative ~1e-5), well inside the parity tolerance with pac in Python.
 *
 * Anything else (another layer type, a branch, a batch normalisation that cannot be folded) uses
 * the plain cut layers model, tf.model({inputs, outputs: cutLayer.output}); so does the query
 * parameter ?base=layers.
 */
(function (root) {
  'use strict';

  const R = root.PacRuntime;
  const ACTIVATIONS = ['linear', 'relu', 'relu6'];

  function pair(value) {
    return Array.isArray(value) ? value : [value, value];
  }

  /** The single layer feeding `layer`, null for an input layer, undefined if it is not a chain link. */
  function inboundLayer(layer) {
    const nodes = layer.inboundNodes;
    if (!Array.isArray(nodes) || nodes.length !== 1) return undefined;
    const inbound = nodes[0].inboundLayers || [];
    if (inbound.length === 0) return null;
    return inbound.length === 1 ? inbound[0] : undefined;
  }

  /** Folded block -> {depthwise, filter, bias, strides, pad, activation} with tensors. */
  function finish(block) {
    return {
      depthwise: block.depthwise,
      filter: tf.tensor(block.kernel, block.shape, 'float32'),
      bias: block.bias ? tf.tensor1d(Float32Array.from(block.bias), 'float32') : undefined,
      strides: block.strides,
      pad: block.pad,
      activation: block.activation,
    };
  }

  /** Fold a BatchNormalization layer into the pending convolution block (in float64). */
  function foldBatchNorm(block, layer) {
    const cfg = layer.getConfig();
    const axis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis];
    if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 3)) return false;
    const weights = layer.getWeights().map((t) => t.dataSync());
    let at = 0;
    const gamma = cfg.scale === false ? null : weights[at++];
    const beta = cfg.center === false ? null : weights[at++];
    const mean = weights[at++];
    const variance = weights[at++];
    const channels = block.channels;
    if (!mean || !variance || mean.length !== channels) return false;
    const inv = new Float64Array(channels);
    const bias = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      inv[c] = (gamma ? gamma[c] : 1.0) / Math.sqrt(variance[c] + cfg.epsilon);
      bias[c] = ((block.bias ? block.bias[c] : 0.0) - mean[c]) * inv[c] + (beta ? beta[c] : 0.0);
    }
    const kernel = new Float32Array(block.kernel.length);
    for (let i = 0; i < kernel.length; i++) kernel[i] = block.kernel[i] * inv[i % channels];
    block.kernel = kernel;
    block.bias = bias;
    block.folded = true;
    return true;
  }

  /** The chain from the input to cutLayer as fused blocks, or null if it is not such a chain. */
  function compileChain(model, cutLayer) {
    const blocks = [];
    let block = null;
    let previous = null;
    for (const layer of model.layers) {
      const cls = layer.getClassName();
      const cfg = layer.getConfig();
      if (inboundLayer(layer) !== previous) return null;
      if (cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
        if (block) blocks.push(block);
        // tfjs-layers configs are camelCase: dataFormat 'channelsLast', dilationRate, useBias.
        const dilation = pair(cfg.dilationRate || 1);
        if ((cfg.dataFormat && cfg.dataFormat !== 'channelsLast') || dilation[0] !== 1 || dilation[1] !== 1 ||
            ACTIVATIONS.indexOf(cfg.activation) < 0) {
          return null;
        }
        const weights = layer.getWeights();
        const shape = weights[0].shape;
        block = {
          depthwise: cls === 'DepthwiseConv2D',
          kernel: Float32Array.from(weights[0].dataSync()),
          shape: shape,
          channels: cls === 'Conv2D' ? shape[3] : shape[2] * shape[3],
          bias: cfg.useBias ? Float64Array.from(weights[1].dataSync()) : null,
          strides: pair(cfg.strides),
          pad: cfg.padding,
          activation: cfg.activation,
          folded: false,
        };
      } else if (cls === 'BatchNormalization') {
        if (!block || block.folded || block.activation !== 'linear' || !foldBatchNorm(block, layer)) return null;
      } else if (cls === 'Activation') {
        if (!block || block.activation !== 'linear' || ACTIVATIONS.indexOf(cfg.activation) < 0) return null;
        block.activation = cfg.activation;
      } else if (cls !== 'InputLayer') {
        return null;
      }
      previous = layer;
      if (layer.name === cutLayer) {
        if (block) blocks.push(block);
        return blocks.length ? blocks.map(finish) : null;
      }
    }
    return null;
  }

  function runBlocks(blocks, x) {
    for (const b of blocks) {
      const args = {x: x, filter: b.filter, strides: b.strides, pad: b.pad, bias: b.bias, activation: b.activation};
      x = b.depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
    }
    return x;
  }

  /**
   * Load the base from `url`, cut at `cutLayer`.  Returns {predict(x) -> tensor, mode, outputShape}
   * where mode is 'fused' or 'layers'.  Throws a plain Error if the model or the layer is missing.
   */
  async function loadBase(url, cutLayer, options) {
    const full = await tf.loadLayersModel(url);
    let layer;
    try {
      layer = full.getLayer(cutLayer);
    } catch (e) {
      throw new Error(url + ': has no layer ' + cutLayer);
    }
    const outputShape = layer.outputShape.slice(1);
    if (!(options && options.mode === 'layers')) {
      let blocks = null;
      try {
        blocks = compileChain(full, cutLayer);
      } catch (e) {
        console.warn('pac: cannot compile the base into fused kernels (' + e + '); using the layers model');
      }
      if (blocks) {
        full.dispose();
        return {predict: (x) => runBlocks(blocks, x), mode: 'fused', outputShape: outputShape};
      }
    }
    const cut = tf.model({inputs: full.inputs, outputs: layer.output});
    return {predict: (x) => cut.predict(x), mode: 'layers', outputShape: outputShape};
  }

  R.base = {loadBase: loadBase};
})(window);
