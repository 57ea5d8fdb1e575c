// 16-bit PCM mono WAV encoding of recorded samples (the format pac.audio reads exactly).

/** Encode mono float samples (nominally -1..1) at `rate` Hz as a 16-bit PCM WAV file (a Blob). */
export function encodeWav(samples, rate) {
  const n = samples.length;
  const buffer = new ArrayBuffer(44 + 2 * n);
  const view = new DataView(buffer);
  const text = (offset, s) => { for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); };
  text(0, 'RIFF');
  view.setUint32(4, 36 + 2 * n, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);        // fmt chunk size
  view.setUint16(20, 1, true);         // PCM
  view.setUint16(22, 1, true);         // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);  // byte rate
  view.setUint16(32, 2, true);         // block align
  view.setUint16(34, 16, true);        // bits per sample
  text(36, 'data');
  view.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) {
    const s = Math.max(-1, Math.min(1, samples[i] || 0));
    view.setInt16(44 + 2 * i, Math.round(s < 0 ? s * 32768 : s * 32767), true);
  }
  return new Blob([buffer], {type: 'audio/wav'});
}
