// A picture of the smallest App Inventor program for a classifier, drawn as SVG in the look of App
// Inventor's blocks (event blocks with a "do" mouth, a method call, setters, a getter, a list block).
import {svg} from './core.js';

const FONT = 13;
const CHAR = 7.4;           // average width of a 13 px sans-serif character (a little more than most fonts need)
const BOLD = 1.12;          // bold text is this much wider
const PAD = 8;
const ROW = 26;
export const BLOCK_COLORS = {event: '#9a6d00', call: '#6a3d8f', set: '#1f6b3a', get: '#b04a00', value: '#3d5a99',
  list: '#2f6f6f', text: '#fff'};

const textWidth = (s) => s.length * CHAR;

/** A rounded block with words and inner parts: parts are strings (words) or {w, draw(x, y)} pieces. */
function piece(color, parts, {dark = false} = {}) {
  const widths = parts.map((p) => (typeof p === 'string' ? textWidth(p) : p.w));
  const w = widths.reduce((a, b) => a + b, 0) + PAD * (parts.length + 1);
  return {
    w,
    draw(x, y, h = ROW - 6) {
      const g = [svg('rect', {x, y, width: w, height: h, rx: 4, fill: color, stroke: dark ? '#00000040' : 'none'})];
      let at = x + PAD;
      parts.forEach((p, i) => {
        if (typeof p === 'string') {
          g.push(svg('text', {x: at, y: y + h / 2 + FONT / 2 - 2, fill: BLOCK_COLORS.text}, p));
        } else {
          g.push(...p.draw(at, y + 3, h - 6));
        }
        at += widths[i] + PAD;
      });
      return g;
    },
  };
}

const value = (text, color = BLOCK_COLORS.value) => piece(color, [text], {dark: true});
const get = (name) => piece(BLOCK_COLORS.get, ['get', name], {dark: true});

/** A statement block (a setter or a call): a notch on top, a tab below. */
function statement(color, parts) {
  const inner = piece(color, parts);
  return {
    w: inner.w,
    draw(x, y) {
      const h = ROW;
      const w = inner.w;
      const path = `M${x} ${y + 4} q0 -4 4 -4 h8 l4 4 h8 l4 -4 H${x + w - 4} q4 0 4 4 V${y + h - 4} q0 4 -4 4 ` +
        `H${x + 28} l-4 4 h-8 l-4 -4 H${x + 4} q-4 0 -4 -4 Z`;
      const g = [svg('path', {d: path, fill: color})];
      let at = x + PAD;
      for (const p of parts) {
        if (typeof p === 'string') {
          g.push(svg('text', {x: at, y: y + h / 2 + FONT / 2 - 2, fill: BLOCK_COLORS.text}, p));
          at += textWidth(p) + PAD;
        } else {
          g.push(...p.draw(at, y + 3, h - 6));
          at += p.w + PAD;
        }
      }
      return g;
    },
  };
}

/** An event block: "when Component.Event (params)" and a "do" mouth holding `body` statements. */
function event(title, params, body) {
  const head = `when ${title}`;
  const paramParts = params.map((p) => value(p, BLOCK_COLORS.get));
  const headW = textWidth(head) * BOLD + PAD * 2 + paramParts.reduce((a, p) => a + p.w + PAD, 0);
  const bodyW = Math.max(...body.map((b) => b.w));
  const w = Math.max(headW, bodyW + 40);
  const h = ROW + body.length * (ROW + 4) + 14;
  return {
    w, h,
    draw(x, y) {
      const mouthTop = y + ROW + 2;
      const mouthBottom = y + h - 12;
      const path = `M${x} ${y + 6} q0 -6 6 -6 H${x + w - 6} q6 0 6 6 V${mouthTop - 4} q0 4 -4 4 H${x + 44} ` +
        `l-4 4 h-8 l-4 -4 H${x + 18} V${mouthBottom} H${x + w - 40} q4 0 4 4 V${y + h - 6} q0 6 -6 6 H${x + 6} ` +
        `q-6 0 -6 -6 Z`;
      const g = [svg('path', {d: path, fill: BLOCK_COLORS.event}),
        svg('text', {x: x + PAD, y: y + ROW / 2 + FONT / 2 - 1, fill: BLOCK_COLORS.text, 'font-weight': '600'}, head),
        svg('text', {x: x + 2, y: mouthTop + ROW / 2 + FONT / 2 - 2, fill: BLOCK_COLORS.text}, 'do')];
      let at = x + PAD * 2 + textWidth(head) * BOLD;
      for (const p of paramParts) { g.push(...p.draw(at, y + 4, ROW - 8)); at += p.w + PAD; }
      body.forEach((b, i) => g.push(...b.draw(x + 18, mouthTop + 2 + i * (ROW + 4))));
      return g;
    },
  };
}

/** The four blocks every classifier app starts from (the picture's content, also as words). */
export const MINIMAL_PROGRAM = [
  'when PersonalAudioClassifier1.ClassifierReady: set Button1.Enabled to true',
  'when Button1.Click: call PersonalAudioClassifier1.RecordAndClassify with milliseconds 1000',
  'when PersonalAudioClassifier1.GotClassification (result): set Label1.Text to the first item of result ' +
    '(the best label and its confidence)',
  'when PersonalAudioClassifier1.Error (errorCode, errorMessage): set Label1.Text to errorMessage',
];

export function blocksPicture() {
  const blocks = [
    event('PersonalAudioClassifier1.ClassifierReady', [],
      [statement(BLOCK_COLORS.set, ['set Button1.Enabled to', value('true', '#3a7d2c')])]),
    event('Button1.Click', [],
      [statement(BLOCK_COLORS.call, ['call PersonalAudioClassifier1.RecordAndClassify', 'milliseconds',
        value('1000')])]),
    event('PersonalAudioClassifier1.GotClassification', ['result'],
      [statement(BLOCK_COLORS.set, ['set Label1.Text to',
        piece(BLOCK_COLORS.list, ['select list item', 'list', get('result'), 'index', value('1')], {dark: true})])]),
    event('PersonalAudioClassifier1.Error', ['errorCode', 'errorMessage'],
      [statement(BLOCK_COLORS.set, ['set Label1.Text to', get('errorMessage')])]),
  ];
  const width = Math.ceil(Math.max(...blocks.map((b) => b.w))) + 8;
  let y = 4;
  const parts = [];
  for (const b of blocks) {
    parts.push(...b.draw(4, y));
    y += b.h + 14;
  }
  return svg('svg', {class: 'blocks-picture', viewBox: `0 0 ${width} ${y}`, width, height: y, role: 'img',
    'aria-label': `App Inventor blocks: ${MINIMAL_PROGRAM.join('; ')}`, 'font-size': FONT,
    'font-family': 'system-ui, sans-serif'}, parts);
}
