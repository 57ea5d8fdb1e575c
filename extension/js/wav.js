/*
 * WAV decoding and the clip check, a line-by-line port of compiler/pac/audio.py.
 *
 * The decoding rules (sniffing, chunk walk, fmt, data, scaling, mixdown) and the error messages
 * are those of audio.py's module docstring; the messages read "<name>: <problem>" exactly like
 * pac's PacError.  The limits (file size, sample rate range, clip length, float sample magnitude)
 * are pac.limits.LIMITS, read from the page constants (constants.limits) when a clip is decoded,
 * and are checked at the same points and in the same order as in audio.py.  Each failure carries
 * the bridge.json error name:
 *   EMPTY_AUDIO      0 bytes, or no samples
 *   NOT_WAV          the bytes are another format (MP3, Ogg, 3GP/MP4, FLAC, AIFF, WebM, HTML, AVI...)
 *   UNSUPPORTED_WAV  RF64/RIFX, a truncated or inconsistent file, an unsupported encoding,
 *                    non-finite float samples, a limit exceeded (more bytes than the limit, a
 *                    sample rate outside the range, a clip too long, float samples too large)
 *   TOO_SHORT, SILENT_AUDIO   from checkClassifiable
 */
(function (root) {
  'use strict';

  const R = root.PacRuntime;
  const PacRuntimeError = R.PacRuntimeError;

  const RIFF_HEADER = 12;
  const CHUNK_HEADER = 8;
  const FMT_MIN = 16;
  const FMT_EXTENSIBLE_MIN = 40;
  const TAG_PCM = 0x0001;
  const TAG_FLOAT = 0x0003;
  const TAG_EXTENSIBLE = 0xFFFE;
  // Bytes 4..16 of the KSDATAFORMAT_SUBTYPE_* GUIDs.
  const GUID_TAIL = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
  const TAG_NAMES = {
    0x0002: 'Microsoft ADPCM',
    0x0006: 'A-law',
    0x0007: 'mu-law',
    0x0011: 'IMA ADPCM',
    0x0016: 'ITU G.723 ADPCM',
    0x0031: 'GSM 6.10',
    0x0040: 'ITU G.721 ADPCM',
    0x0050: 'MPEG',
    0x0055: 'MPEG Layer 3 (MP3)',
    0x00FF: 'AAC',
    0x1610: 'HE-AAC',
  };
  const PCM_BITS = [8, 16, 24, 32];
  const FLOAT_BITS = [32, 64];
  const SUPPORTED = 'supported: 8-, 16-, 24-, 32-bit integer PCM and 32-, 64-bit float';

  function fail(kind, name, message) {
    return new PacRuntimeError(kind, name + ': ' + message);
  }

  /** pac.limits.LIMITS from the page constants (a page without them cannot decode safely). */
  function limits() {
    const L = R.constants && R.constants.limits;
    if (!L) {
      throw new PacRuntimeError('CLASSIFICATION_FAILED', 'this page has no limits constants');
    }
    return L;
  }

  /** Python's format(n, ',d') for a non-negative integer. */
  function grouped(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }

  function hex2(b) {
    return (b < 16 ? '0' : '') + b.toString(16);
  }

  function hexBytes(data) {
    return Array.prototype.map.call(data, hex2).join(' ');
  }

  /** True if `data` holds the ASCII string `text` at `offset`. */
  function hasAscii(data, offset, text) {
    if (offset + text.length > data.length) {
      return false;
    }
    for (let i = 0; i < text.length; i++) {
      if (data[offset + i] !== text.charCodeAt(i)) {
        return false;
      }
    }
    return true;
  }

  function fourcc(tag) {
    let printable = true;
    for (let i = 0; i < tag.length; i++) {
      if (tag[i] < 32 || tag[i] >= 127) {
        printable = false;
      }
    }
    if (printable) {
      return "'" + String.fromCharCode.apply(null, tag) + "'";
    }
    return '0x' + Array.prototype.map.call(tag, hex2).join('');
  }

  /** Describe bytes that are not a RIFF/WAVE file (audio.py's _sniff). */
  function sniff(data, name) {
    const n = data.length;
    if (n === 0) {
      return fail('EMPTY_AUDIO', name, 'is empty (0 bytes)');
    }
    const head = data.subarray(0, 16);
    if (hasAscii(head, 0, 'RIFF')) {
      if (n < RIFF_HEADER) {
        return fail('UNSUPPORTED_WAV', name,
                    'truncated: shorter than the ' + RIFF_HEADER + '-byte RIFF header (' + n + ' bytes)');
      }
      return fail('NOT_WAV', name,
                  'is a RIFF file of type ' + fourcc(head.subarray(8, 12)) +
                  ' (for example AVI or WEBP), not WAVE');
    }
    if (hasAscii(head, 0, 'RF64')) {
      return fail('UNSUPPORTED_WAV', name,
                  'is an RF64 (64-bit WAV) file, which is not supported; save it as a plain WAV');
    }
    if (hasAscii(head, 0, 'RIFX')) {
      return fail('UNSUPPORTED_WAV', name,
                  'is a big-endian RIFX file, which is not supported; convert it to a normal WAV');
    }
    if (hasAscii(head, 0, 'ID3') || (n >= 2 && head[0] === 0xFF && (head[1] & 0xE0) === 0xE0)) {
      return fail('NOT_WAV', name, 'looks like an MP3 (MPEG audio) file, not WAV; convert it to WAV');
    }
    if (hasAscii(head, 0, 'OggS')) {
      return fail('NOT_WAV', name, 'looks like an Ogg (Vorbis/Opus) file, not WAV; convert it to WAV');
    }
    if (hasAscii(head, 4, 'ftyp')) {
      return fail('NOT_WAV', name,
                  "looks like a 3GP/MP4/M4A file, not WAV (App Inventor's SoundRecorder saves .3gp); " +
                  'convert it to WAV for this command');
    }
    if (hasAscii(head, 0, 'fLaC')) {
      return fail('NOT_WAV', name, 'looks like a FLAC file, not WAV; convert it to WAV');
    }
    if (hasAscii(head, 0, 'FORM')) {
      return fail('NOT_WAV', name, 'looks like an AIFF file, not WAV; convert it to WAV');
    }
    if (n >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
      return fail('NOT_WAV', name, 'looks like a WebM/Matroska file, not WAV; convert it to WAV');
    }
    let text = data.subarray(0, 512);
    if (text.length >= 3 && text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf) {
      text = text.subarray(3);
    }
    let start = 0;
    // ASCII whitespace as Python's bytes.lstrip(b" \t\r\n\x0b\x0c") strips it.
    while (start < text.length && [0x20, 0x09, 0x0d, 0x0a, 0x0b, 0x0c].indexOf(text[start]) >= 0) {
      start++;
    }
    let lower = '';
    for (let i = start; i < Math.min(text.length, start + 9); i++) {
      const c = text[i];
      lower += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
    }
    if (lower.startsWith('<!doctype') || lower.startsWith('<html') || lower.startsWith('<?xml')) {
      return fail('NOT_WAV', name, 'is an HTML/XML page, not a WAV file (perhaps a download error page)');
    }
    return fail('NOT_WAV', name, 'is not a WAV file (starts with bytes ' + hexBytes(data.subarray(0, 8)) + ')');
  }

  function guidText(raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const d1 = view.getUint32(0, true).toString(16).padStart(8, '0');
    const d2 = view.getUint16(4, true).toString(16).padStart(4, '0');
    const d3 = view.getUint16(6, true).toString(16).padStart(4, '0');
    const tail = (from, to) => Array.prototype.map.call(raw.subarray(from, to), hex2).join('');
    return d1 + '-' + d2 + '-' + d3 + '-' + tail(8, 10) + '-' + tail(10, 16);
  }

  /** Validate a fmt chunk body; return {code, channels, rate, bits} (audio.py's _parse_fmt). */
  function parseFmt(body, name) {
    if (body.length < FMT_MIN) {
      throw fail('UNSUPPORTED_WAV', name,
                 'the fmt chunk is too short (' + body.length + ' bytes, needs at least ' + FMT_MIN + ')');
    }
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const tag = view.getUint16(0, true);
    const channels = view.getUint16(2, true);
    const rate = view.getUint32(4, true);
    const blockAlign = view.getUint16(12, true);
    const bits = view.getUint16(14, true);
    let code = tag;
    if (tag === TAG_EXTENSIBLE) {
      if (body.length < FMT_EXTENSIBLE_MIN) {
        throw fail('UNSUPPORTED_WAV', name,
                   'the WAVE_FORMAT_EXTENSIBLE fmt chunk is too short (' + body.length +
                   ' bytes, needs at least ' + FMT_EXTENSIBLE_MIN + ')');
      }
      const guid = body.subarray(24, 40);
      const sub = view.getUint32(24, true);
      let tailOk = true;
      for (let i = 0; i < GUID_TAIL.length; i++) {
        if (guid[4 + i] !== GUID_TAIL[i]) {
          tailOk = false;
        }
      }
      if (!tailOk || (sub !== TAG_PCM && sub !== TAG_FLOAT)) {
        const what = tailOk ? TAG_NAMES[sub] : undefined;
        const label = what ? what + ' ' : '';
        throw fail('UNSUPPORTED_WAV', name,
                   'uses unsupported WAVE_FORMAT_EXTENSIBLE sub-format ' + label + '(' + guidText(guid) +
                   '); ' + SUPPORTED);
      }
      code = sub;
    }
    if (code !== TAG_PCM && code !== TAG_FLOAT) {
      const what = TAG_NAMES[code] || 'unknown encoding';
      throw fail('UNSUPPORTED_WAV', name,
                 'uses unsupported WAV encoding ' + what + ' (format tag 0x' +
                 code.toString(16).padStart(4, '0') + '); ' + SUPPORTED + '; convert it to 16-bit PCM WAV');
    }
    if (channels === 0) {
      throw fail('UNSUPPORTED_WAV', name, 'the fmt chunk declares 0 channels');
    }
    const L = limits();
    if (rate < L.rate_min || rate > L.rate_max) {
      throw fail('UNSUPPORTED_WAV', name,
                 'sample rate ' + grouped(rate) + ' Hz is outside the supported ' + grouped(L.rate_min) +
                 ' to ' + grouped(L.rate_max) + ' Hz');
    }
    const table = code === TAG_PCM ? PCM_BITS : FLOAT_BITS;
    if (table.indexOf(bits) < 0) {
      const kind = code === TAG_PCM ? 'integer PCM' : 'float';
      throw fail('UNSUPPORTED_WAV', name, 'uses unsupported ' + bits + '-bit ' + kind + ' samples; ' + SUPPORTED);
    }
    const expected = channels * bits / 8;
    if (blockAlign !== expected) {
      throw fail('UNSUPPORTED_WAV', name,
                 "the fmt chunk's block align is " + blockAlign + ' bytes, inconsistent with ' + channels +
                 ' channel(s) x ' + bits + ' bits (expected ' + expected + ')');
    }
    return {code: code, channels: channels, rate: rate, bits: bits};
  }

  /** Refuse a clip longer than the limit, from its frame count alone (audio.py's _check_length). */
  function checkLength(frames, rate, name) {
    const L = limits();
    if (frames <= L.clip_max_seconds * rate) {
      return;
    }
    // Tenths of a second rounded up, in exact integer arithmetic (frames * 10 < 2^53).
    const a = frames * 10;
    const tenths = (a - a % rate) / rate + (a % rate ? 1 : 0);
    throw fail('UNSUPPORTED_WAV', name,
               'is ' + grouped((tenths - tenths % 10) / 10) + '.' + (tenths % 10) + ' s long, more than the ' +
               formatG(L.clip_max_seconds) + ' s limit for a clip');
  }

  /** Refuse float samples that are NaN, infinite or too large (audio.py's _float_samples). */
  function checkFloats(values, name) {
    const L = limits();
    let huge = false;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        throw fail('UNSUPPORTED_WAV', name, 'contains non-finite float samples (NaN or infinity)');
      }
      if (Math.abs(v) > L.float_max_abs) {
        huge = true;
      }
    }
    if (huge) {
      throw fail('UNSUPPORTED_WAV', name,
                 'contains a float sample of magnitude above ' + formatG(L.float_max_abs) +
                 ' (full scale is 1); it is not a usable recording');
    }
  }

  /** Interleaved sample bytes (whole frames) -> scaled float64 (audio.py's _samples). */
  function scaleSamples(raw, fmt, name) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const bytes = fmt.bits / 8;
    const count = raw.byteLength / bytes;
    const out = new Float64Array(count);
    let i;
    if (fmt.code === TAG_FLOAT) {
      if (fmt.bits === 32) {
        for (i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      } else {
        for (i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      }
      checkFloats(out, name);
      return out;
    }
    switch (fmt.bits) {
      case 8:
        for (i = 0; i < count; i++) out[i] = (raw[i] - 128.0) / 128.0;
        break;
      case 16:
        for (i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true) / 32768.0;
        break;
      case 24:
        for (i = 0; i < count; i++) {
          const j = 3 * i;
          // Sign-extend the 24-bit little-endian integer.
          out[i] = (((raw[j + 2] << 24) | (raw[j + 1] << 16) | (raw[j] << 8)) >> 8) / 8388608.0;
        }
        break;
      default:
        for (i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true) / 2147483648.0;
    }
    return out;
  }

  /**
   * Refuse n bytes of audio over the WAV limit (audio.py's words), before a byte is decoded:
   * `what` names the clip; `kind` ends the message ('WAV file' unless given) and `error` is the
   * bridge error name (UNSUPPORTED_WAV unless given).
   */
  function checkSize(n, what, kind, error) {
    const L = limits();
    if (n > L.wav_max_bytes) {
      throw fail(error || 'UNSUPPORTED_WAV', what,
                 'is ' + grouped(n) + ' bytes, larger than the ' + grouped(L.wav_max_bytes) +
                 '-byte limit for a ' + (kind || 'WAV file'));
    }
  }

  /**
   * Decode the bytes of a RIFF/WAVE file: {samples: Float64Array (mono), rate, channels, source}.
   * Throws PacRuntimeError (with a bridge error name) for anything audio.decode_wav refuses.
   */
  function decodeWav(data, name) {
    const n = data.length;
    checkSize(n, name);
    if (n < RIFF_HEADER || !hasAscii(data, 0, 'RIFF') || !hasAscii(data, 8, 'WAVE')) {
      throw sniff(data, name);
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let fmt = null;
    let pos = RIFF_HEADER;
    while (pos < n) {
      if (pos + CHUNK_HEADER > n) {
        throw fail('UNSUPPORTED_WAV', name,
                   'truncated: the chunk header at byte ' + pos + ' is cut off (' + (n - pos) + ' of ' +
                   CHUNK_HEADER + ' bytes present)');
      }
      const cid = data.subarray(pos, pos + 4);
      let size = view.getUint32(pos + 4, true);
      const bodyStart = pos + CHUNK_HEADER;
      const present = n - bodyStart;
      if (hasAscii(cid, 0, 'data')) {
        if (fmt === null) {
          throw fail('UNSUPPORTED_WAV', name, 'the data chunk at byte ' + pos + ' comes before any fmt chunk');
        }
        if (size > present) {
          if (size === 0 || size === 0xFFFFFFFF) {
            size = present;
          } else {
            throw fail('UNSUPPORTED_WAV', name,
                       'truncated: the data chunk declares ' + size + ' bytes but only ' + present +
                       ' are present');
          }
        } else if (size === 0 && present > 0) {
          size = present;  // streaming writer: data runs to the end of the file
        }
        const blockAlign = fmt.channels * fmt.bits / 8;
        const frames = Math.floor(size / blockAlign);
        checkLength(frames, fmt.rate, name);
        const interleaved = scaleSamples(data.subarray(bodyStart, bodyStart + frames * blockAlign), fmt, name);
        const samples = fmt.channels > 1 ? mixdown(interleaved, fmt.channels) : interleaved;
        return {samples: samples, rate: fmt.rate, channels: fmt.channels, source: name};
      }
      if (size > present) {
        throw fail('UNSUPPORTED_WAV', name,
                   'truncated: the ' + fourcc(cid) + ' chunk declares ' + size + ' bytes but only ' +
                   present + ' are present');
      }
      if (hasAscii(cid, 0, 'fmt ') && fmt === null) {
        fmt = parseFmt(data.subarray(bodyStart, bodyStart + size), name);
      }
      pos = bodyStart + size + (size & 1);
    }
    if (fmt === null) {
      throw fail('UNSUPPORTED_WAV', name, 'is not a usable WAV file: it has no fmt chunk');
    }
    throw fail('UNSUPPORTED_WAV', name, 'is not a usable WAV file: it has no data chunk');
  }

  /** numpy's float64 add.reduce of a[lo:lo+n] (pairwise summation, 8 accumulators). */
  function pairwiseSum(a, lo, n) {
    let res;
    let i;
    if (n < 8) {
      res = -0.0;
      for (i = 0; i < n; i++) res += a[lo + i];
      return res;
    }
    if (n <= 128) {
      const r = [a[lo], a[lo + 1], a[lo + 2], a[lo + 3], a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]];
      for (i = 8; i < n - (n % 8); i += 8) {
        r[0] += a[lo + i]; r[1] += a[lo + i + 1]; r[2] += a[lo + i + 2]; r[3] += a[lo + i + 3];
        r[4] += a[lo + i + 4]; r[5] += a[lo + i + 5]; r[6] += a[lo + i + 6]; r[7] += a[lo + i + 7];
      }
      res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++) res += a[lo + i];
      return res;
    }
    let n2 = Math.floor(n / 2);
    n2 -= n2 % 8;
    return pairwiseSum(a, lo, n2) + pairwiseSum(a, lo + n2, n - n2);
  }

  /** Mean of each frame's channels, as numpy's reshape(frames, channels).mean(axis=1). */
  function mixdown(interleaved, channels) {
    const frames = interleaved.length / channels;
    const out = new Float64Array(frames);
    for (let f = 0; f < frames; f++) {
      out[f] = (0.0 + pairwiseSum(interleaved, f * channels, channels)) / channels;
    }
    return out;
  }

  /** Python's format(x, 'g'): 6 significant digits, trailing zeros removed. */
  function formatG(x) {
    if (!Number.isFinite(x)) {
      return Number.isNaN(x) ? 'nan' : (x > 0 ? 'inf' : '-inf');
    }
    if (x === 0) {
      return Object.is(x, -0) ? '-0' : '0';
    }
    const [mantissa, exponentText] = x.toExponential(5).split('e');
    const exponent = parseInt(exponentText, 10);
    const strip = (s) => (s.indexOf('.') >= 0 ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
    if (exponent < -4 || exponent >= 6) {
      const sign = exponent < 0 ? '-' : '+';
      return strip(mantissa) + 'e' + sign + String(Math.abs(exponent)).padStart(2, '0');
    }
    return strip(x.toFixed(Math.max(0, 5 - exponent)));
  }

  /** Two durations with 2 decimals, or more if 2 would make them look equal (audio.py's _seconds). */
  function seconds(value, limit) {
    let a;
    let b;
    for (let digits = 2; digits < 7; digits++) {
      a = value.toFixed(digits);
      b = limit.toFixed(digits);
      if (a !== b) {
        break;
      }
    }
    return [a, b];
  }

  /** Refuse clips that cannot be classified (audio.py's check_classifiable). */
  function checkClassifiable(clip, minDuration, silenceDbfs) {
    const samples = clip.samples;
    if (samples.length === 0) {
      throw fail('EMPTY_AUDIO', clip.source, 'has no audio samples');
    }
    const duration = samples.length / clip.rate;
    if (duration < minDuration) {
      const [got, need] = seconds(duration, minDuration);
      throw fail('TOO_SHORT', clip.source,
                 'is too short to classify: ' + got + ' s, needs at least ' + need + ' s');
    }
    let peak = 0.0;
    for (let i = 0; i < samples.length; i++) {
      const v = Math.abs(samples[i]);
      if (v > peak) peak = v;
    }
    const threshold = Math.pow(10.0, silenceDbfs / 20.0);
    if (peak < threshold) {
      const peakDb = peak === 0.0 ? '-inf' : (20.0 * Math.log10(peak)).toFixed(1);
      throw fail('SILENT_AUDIO', clip.source,
                 'is silent (peak ' + peakDb + ' dBFS, below ' + formatG(silenceDbfs) + ' dBFS)');
    }
  }

  R.wav = {
    decodeWav: decodeWav,
    checkSize: checkSize,
    checkClassifiable: checkClassifiable,
    pairwiseSum: pairwiseSum,
    formatG: formatG,
  };
})(window);
