// AudioWorklet processor: hands every block of the first input channel to the page.
class PacCapture extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input[0] && input[0].length) this.port.postMessage(input[0].slice(0));
    return true;
  }
}
registerProcessor('pac-capture', PacCapture);
