// Microphone recording: getUserMedia -> Web Audio -> mono Float32 samples of a fixed length.

/** A readable explanation for a failed getUserMedia. */
export function microphoneProblem(error) {
  const name = error && error.name;
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return 'This browser only allows the microphone on pages opened as http://localhost (or https). ' +
      'Open the studio at the address pac studio printed on this computer, or upload WAV files instead.';
  }
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return 'The browser did not allow the microphone. Allow microphone access for this page ' +
      '(click the icon at the left of the address bar) and record again, or upload WAV files instead.';
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    return 'No microphone was found. Plug one in (or choose one in the system settings) and try again, ' +
      'or upload WAV files instead.';
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return 'The microphone is busy or could not be started (another program may be using it).';
  }
  return 'The microphone could not be used' + (error && error.message ? ': ' + error.message : '.');
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(timer); reject(new DOMException('cancelled', 'AbortError')); }, {once: true});
  });
}

/**
 * Record `seconds` of mono audio.
 * options.countIn: seconds of "get ready" countdown before recording starts;
 * options.onStatus({phase: 'count-in'|'recording', remaining, fraction}) is called as time passes;
 * options.signal: an AbortSignal that cancels.
 * Resolves {samples: Float32Array, rate}.  Rejects with Error(message) a person can read.
 */
export async function recordClip(seconds, options = {}) {
  const {countIn = 0, onStatus = () => {}, signal} = options;
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error(microphoneProblem(null));
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: {channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false},
    });
  } catch (error) {
    throw new Error(microphoneProblem(error));
  }
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  const context = new AudioContextClass();
  const chunks = [];
  let captured = 0;
  let capturing = false;
  let node = null;
  try {
    if (context.state === 'suspended') await context.resume();
    const source = context.createMediaStreamSource(stream);
    const take = (block) => {
      if (!capturing) return;
      chunks.push(block);
      captured += block.length;
    };
    if (context.audioWorklet) {
      await context.audioWorklet.addModule('/static/recorder-worklet.js');
      node = new AudioWorkletNode(context, 'pac-capture', {numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1});
      node.port.onmessage = (event) => take(event.data);
    } else {
      node = context.createScriptProcessor(4096, 1, 1);
      node.onaudioprocess = (event) => take(new Float32Array(event.inputBuffer.getChannelData(0)));
    }
    // Keep the graph pulled (a silent gain to the speakers), so processing runs everywhere.
    const mute = context.createGain();
    mute.gain.value = 0;
    source.connect(node);
    node.connect(mute);
    mute.connect(context.destination);

    for (let left = countIn; left > 0; left -= 0.25) {
      onStatus({phase: 'count-in', remaining: left, fraction: 0});
      await sleep(250, signal);
    }
    const rate = context.sampleRate;
    const wanted = Math.round(seconds * rate);
    capturing = true;
    const started = performance.now();
    while (captured < wanted) {
      const fraction = Math.min(1, captured / wanted);
      onStatus({phase: 'recording', remaining: Math.max(0, seconds * (1 - fraction)), fraction});
      await sleep(50, signal);
      if (performance.now() - started > seconds * 1000 + 5000) {
        throw new Error('The microphone delivered no sound data. Check that it is connected and not muted.');
      }
    }
    capturing = false;
    onStatus({phase: 'recording', remaining: 0, fraction: 1});
    const samples = new Float32Array(wanted);
    let offset = 0;
    for (const chunk of chunks) {
      const part = chunk.subarray(0, Math.min(chunk.length, wanted - offset));
      samples.set(part, offset);
      offset += part.length;
      if (offset >= wanted) break;
    }
    return {samples, rate};
  } finally {
    capturing = false;
    try { if (node) node.disconnect(); } catch (e) { /* already gone */ }
    stream.getTracks().forEach((track) => track.stop());
    context.close().catch(() => {});
  }
}
